/*
 * Xen trace files (written by xentrace in dom0) → the VM exits of one
 * domain, per measured repetition, by exit reason.  What xenalyze does for
 * its "Exit reasons" summary, for the records hvbench needs.
 *
 * File format (tools/xentrace/xentrace.c, xen/include/public/trace.h): a
 * sequence of windows, each a TRC_TRACE_CPU_CHANGE record (header word,
 * pcpu, byte count) followed by that many bytes copied from the pcpu's trace
 * buffer.  Those bytes are t_rec records: a header word (event id in bits
 * 0-27, number of extra data words in bits 28-30, bit 31 = a 64-bit TSC
 * follows), the TSC if flagged, then the data words.  Records of one pcpu
 * are in time order; records without a TSC happened at the previous TSC.
 *
 * Attribution: a VMEXIT record has no domain.  Which domain/vCPU is running
 * on each pcpu comes from the scheduler's runstate-change records (a vCPU
 * entering "running" on that pcpu), so the trace must include the scheduler
 * class as well as the HVM class (XT_EVENT_MASK_HVM).
 *
 * Repetitions: the guest brackets each measured repetition with a cpuid of
 * HVB_CPUID_MARK_BEGIN / _END (include/hvb/abi.h), subleaf = repetition
 * index; Xen traces leaf and subleaf (TRC_HVM_CPUID).  Exits between the two
 * markers of one vCPU belong to that repetition; the marker exits themselves
 * are not counted.
 *
 *	struct xt_trace t;
 *	if (!xt_parse(buf, len, domid, &t)) {
 *		for (size_t i = 0; i < t.n_reps; i++) ... t.reps[i].reasons ...
 *		xt_trace_free(&t);
 *	} else
 *		puts(t.error);
 */
#ifndef HVB_XENTRACE_H
#define HVB_XENTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lathist.h"

/* xentrace -e: TRC_HVM (entry/exit and handler subclasses) and the
 * scheduler's runstate changes.  Xen matches class and subclass bits
 * separately, so this also lets scheduler-specific records through (small). */
#define XT_EVENT_MASK_HVM 0x000a3000u
/* For PV domUs: TRC_PV entry records (hypercalls, bounced traps, faults,
 * emulations) and the runstate changes.  Also carries a PV dom0's own. */
#define XT_EVENT_MASK_PV  0x00221000u

/*
 * A PV domU has no VM exits: its entries into Xen are counted instead, with
 * codes outside both exit-code spaces: XT_PV_HYPERCALL(op) for each
 * hypercall (TRC_PV_HYPERCALL_V2), XT_PV_EVENT(n) for the other TRC_PV_ENTRY
 * events (n = low byte of the event: 3 trap, 4 page fault, 5 forced invalid
 * op, 6 privileged-op emulation, 8 FPU state restore, 11/12 page-table write
 * emulation, ...).  They have no VMENTRY, so no cycles.  The PV guest marks
 * repetitions with vcpu_op(cmd = HVB_CPUID_MARK_*, vcpuid = rep) (Xen
 * traces vcpu_op's cmd and vcpuid; it answers an unknown cmd with -ENOSYS).
 */
#define XT_PV_EVENT(n)      (0x01000000u | (n))
#define XT_PV_HYPERCALL(op) (0x01010000u | (op))
#define XT_IS_PV(code)      (((code) & 0xff000000u) == 0x01000000u)

/* Whose exit codes the VMEXIT records hold. */
enum xt_vendor {
	XT_SVM, /* AMD SVM exit codes (VMEXIT_*), also QEMU TCG's SVM emulation */
	XT_VMX, /* Intel VMX basic exit reasons (EXIT_REASON_*) */
};

struct xt_reason {
	uint32_t code;   /* exit code as traced (SVM exit code / VMX basic reason) */
	uint64_t count;  /* exits */
	uint64_t cycles; /* TSC cycles from VMEXIT to the next VMENTRY (or until
			  * Xen switched the vCPU out), summed */
	struct hvb_lathist h; /* the same per exit, for p50/p90/p99/max */
};

/* Exits of one domain over one interval. */
struct xt_counts {
	uint64_t exits;            /* all VMEXITs */
	uint64_t cycles;           /* sum of the reasons' cycles */
	struct hvb_lathist h;      /* every exit's cycles */
	struct xt_reason *reasons; /* by code, ascending */
	size_t n_reasons;
};

/* One repetition, bracketed by the guest's markers. */
struct xt_rep {
	uint32_t rep;          /* repetition index from the begin marker */
	bool closed;           /* an end marker with the same index followed */
	uint16_t vcpu;         /* the vCPU that placed the markers */
	uint64_t begin_tsc, end_tsc;
	uint64_t lost;         /* records Xen lost (any domain, any pcpu) while it was open */
	struct xt_counts c;
};

struct xt_trace {
	/* The file. */
	unsigned long windows;      /* cpu-change windows */
	unsigned long records;      /* records, all domains */
	unsigned long unknown;      /* records of events this parser ignores */
	unsigned ncpus;             /* highest pcpu seen + 1 */
	uint64_t lost;              /* TRC_LOST_RECORDS: records Xen dropped (all) */
	unsigned long lost_events;  /* TRC_LOST_RECORDS records */
	uint64_t first_tsc, last_tsc;
	/* The domain. */
	bool domain_seen;           /* one of its vCPUs ran while traced */
	struct xt_counts domain;    /* every exit of the domain */
	struct xt_rep *reps;        /* in marker order */
	size_t n_reps;
	unsigned long stray_marks;  /* end markers without a matching begin */
	char error[200];            /* why xt_parse failed */
};

/*
 * Parse a whole xentrace file and summarise the exits of domain `domid`.
 * 0, or -EPROTO for a malformed file (bad cpu-change record, a record that
 * runs past its window, a truncated file: t->error says where) or -ENOMEM.
 * On error, t holds nothing to free.
 */
int xt_parse(const void *buf, size_t len, uint16_t domid, struct xt_trace *t);

/* Read FILE and xt_parse() it (-errno from reading, with t->error set). */
int xt_parse_file(const char *path, uint16_t domid, struct xt_trace *t);

void xt_trace_free(struct xt_trace *t);

/*
 * Name of an exit code as exits.csv writes it: "svm.cpuid",
 * "svm.exception_pf", "vmx.vmcall", or "svm.0x..." for codes without a name;
 * PV codes (whatever v): "pv.hypercall.xen_version", "pv.trap", ...
 * Returns buf.
 */
const char *xt_exit_name(enum xt_vendor v, uint32_t code, char *buf, size_t len);

#endif
