/*
 * The capability probe: which privileged operations (cpuid, MSRs, the null
 * hypercall, halt) really work for the guest image on this host under one
 * VMM.  Nothing is assumed: under nested PVM guest ring 0 is emulated and
 * an instruction may fault or hang KVM_RUN, on VMX/SVM it simply exits, and
 * the VMM decides the rest.  So the guest is booted with the workload that
 * shows each capability, the capability offered, and it is granted only if
 * that workload delivered an ok sample.
 *
 * One engine for every runner that probes (kvm, qemu-kvm): the runner
 * supplies "boot once with these words and caps" and feeds the records of
 * that boot to hvb_probe_boot_record(); the engine chooses what to try.
 * One boot tries every pending capability in turn.  The first one without
 * a sample failed (its status record, a guest fault, the VMM dying, or a
 * hang the runner's watchdog ended); the ones before it worked; the ones
 * after it are tried again in the next boot without the failed one, so
 * every answer was obtained with the capabilities the run itself grants
 * before it, in hvb_probes[] order (cpuid first: it decides the guest's
 * hypercall instruction).  Only capabilities a selected workload needs
 * (struct hvb_workload .needs) are probed.  The answer is kept in a
 * struct hvb_caps_cache that the command keeps per runner for the run.
 */
#ifndef HVB_RUNNERS_CAPS_PROBE_H
#define HVB_RUNNERS_CAPS_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvb/abi.h"
#include "job.h"
#include "sink.h"

#define HVB_N_PROBES 4

/* What a probe can grant, and the workload that shows it. */
struct hvb_probe {
	uint32_t cap;
	const char *name;     /* in runner.<name>.caps_probe */
	const char *workload; /* must deliver an ok sample for the capability */
};
extern const struct hvb_probe hvb_probes[HVB_N_PROBES];

/* Capabilities a probe may grant (the rest are fixed by the VMM). */
#define HVB_PROBED_CAPS (HVB_CAP_CPUID | HVB_CAP_MSR | HVB_CAP_HYPERCALL | HVB_CAP_HLT)

/* One probe boot: what to try, and what the runner saw. */
struct hvb_probe_boot {
	uint32_t offer;     /* caps= of this boot */
	const char *words;  /* the harness words: pending probe workloads, short and quick */
	bool pending[HVB_N_PROBES];
	/* Filled by hvb_probe_boot_record() from the boot's records ... */
	bool hello;
	bool ran[HVB_N_PROBES];
	char status[HVB_N_PROBES][HVB_TEXT_MAX + 1];
	char fault[HVB_TEXT_MAX + 80];
	/* the guest's interrupt self-test (selftest=smp words, LOG records;
	 * hvb_caps_probe_irq): which checks passed, the first that failed */
	bool irq_self_ok, irq_timer_ok;
	char irq_fail[HVB_TEXT_MAX + 1];
	/* ... and by the runner: why the boot ended where it did. */
	char why[600];
};

/* The runner's boot: boot the image once with b->words and b->offer, feed
 * every record to hvb_probe_boot_record(b, rec), set b->why. */
typedef void (*hvb_probe_boot_fn)(void *arg, struct hvb_probe_boot *b);

struct hvb_caps_cache {
	bool done;
	uint32_t granted;
	unsigned boots;
	double seconds;
	struct {
		enum { HVB_PROBE_NOT_NEEDED, HVB_PROBE_GRANTED, HVB_PROBE_FAILED,
		       HVB_PROBE_NOT_PROBED } outcome;
		char why[200];
	} res[HVB_N_PROBES];
	char desc[1200]; /* runner.<name>.caps_probe */
	/* hvb_caps_probe_irq's answer, once per run */
	struct {
		bool done, ok;
		char why[300]; /* why granted or not (meta runner.<name>.irq) */
	} irq;
};

/* Run the probe for the job's workloads once per cache; later calls return
 * the cached answer.  base: what the VMM offers anyway.  The run that
 * probes records the outcome: meta runner.<name>.caps_probe and .caps
 * (base + granted), and a log line.  Returns the granted probed
 * capabilities (without base). */
uint32_t hvb_caps_probe(struct hvb_caps_cache *cache, const struct hvb_job *job,
			const struct hvb_out *out, uint32_t base, hvb_probe_boot_fn boot, void *arg);

/*
 * Interrupt delivery for a VMM whose LAPIC hvbench does not emulate itself
 * (QEMU's in-kernel one under KVM, which nested PVM serves with emulated
 * ring 0): one boot of the image offered base | HVB_CAP_IRQ | HVB_CAP_HLT
 * with the guest's own interrupt self-test (selftest=smp: each self-IPI and
 * each LAPIC timer must arrive exactly once, or the check reports FAILED
 * after its wait) and micro/hlt-wake, which with HVB_CAP_IRQ halts with
 * interrupts on and only a timer interrupt wakes it.  HVB_CAP_IRQ is
 * granted if both checks passed and hlt-wake delivered an ok sample; then
 * HVB_CAP_HLT too (the hlt probe's question, answered by the same sample,
 * so hvb_caps_probe does not ask it again).  Only for jobs that need it:
 * a workload needing IRQ/VIRQ/HLT, or more than one vCPU (the APs halt
 * between work with interrupts, else they spin).  Cached in cache->irq;
 * the outcome goes to meta runner.<name>.irq and the log.  Call before
 * hvb_caps_probe, with base as it passes it.  Returns HVB_CAP_IRQ or 0.
 */
uint32_t hvb_caps_probe_irq(struct hvb_caps_cache *cache, const struct hvb_job *job,
			    const struct hvb_out *out, uint32_t base, hvb_probe_boot_fn boot,
			    void *arg);

/* The capability names of caps, e.g. "PIO_USER|MMIO_USER|IRQ" ("none"),
 * for meta.csv; unknown bits as 0x... */
const char *hvb_caps_names(uint32_t caps, char *buf, size_t len);

/* A record of a probe boot (not validated: only its header and the fields
 * used here are looked at; text is made printable). */
void hvb_probe_boot_record(struct hvb_probe_boot *b, const struct hvb_record *rec);

/* Why the capability that workload (an unterminated record field is fine)
 * needs was not granted, in buf; NULL if it was or it needs none probed. */
const char *hvb_caps_probe_failure(const struct hvb_caps_cache *cache, const char *workload,
				   char *buf, size_t len);

/* A workload the guest skipped for want of a capability that failed the
 * probe: a copy of rec whose text also says what the probe found, or rec. */
const struct hvb_record *hvb_caps_note_skip(const struct hvb_caps_cache *cache,
					    const struct hvb_record *rec, struct hvb_record *copy);

#endif
