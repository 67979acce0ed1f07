/*
 * KVM tracepoints read through perf_event_open, the way `perf kvm stat`
 * reads them, for the host side of exit latency (exits.csv source
 * kvm-trace, FORMAT.md).
 *
 * Three layers, each testable alone:
 *  - the tracefs `format` file of an event (events/kvm/<name>/format):
 *    its id and its fields' offsets and sizes, so records are decoded by
 *    what the running kernel says, never by hard-coded offsets;
 *  - one perf record of a ring buffer opened with sample_type
 *    TID | TIME | CPU | RAW: a sample, or PERF_RECORD_LOST;
 *  - the accounting of a repetition: kvm_exit paired with the next
 *    kvm_entry of the same vCPU thread, per exit reason, timed into a
 *    histogram (vmx.<name>/svm.<name>, the raw code vmx.0x.. where the
 *    table has no name; a kvm_pio or kvm_mmio between the two splits the
 *    reason as perf kvm stat's ioport/mmio events do: vmx.io_instruction
 *    .pio_out, vmx.ept_misconfig.mmio_write, ...), and every other event
 *    counted by kind (kvm_pio.out, kvm_userspace_exit.io, kvm_msr.read,
 *    ...) where kvm_exit/kvm_entry do not fire (nested PVM: README).
 */
#ifndef HVB_KVM_TRACE_H
#define HVB_KVM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "lathist.h"

/* ------------------------------------------------------ format files */

#define KVM_TRACE_MAX_FIELDS 24
#define KVM_TRACE_NAME	     48

struct kvm_trace_field {
	char name[KVM_TRACE_NAME];
	uint32_t offset, size;
	bool is_signed;
};

struct kvm_trace_format {
	char name[KVM_TRACE_NAME];
	uint32_t id;
	unsigned n;
	struct kvm_trace_field f[KVM_TRACE_MAX_FIELDS];
};

/* Parse the text of a tracefs format file.  0, or -EINVAL with err saying
 * what is wrong (no name or ID line, a field line that does not parse, a
 * field past 64 KiB, too many fields). */
int kvm_trace_format_parse(const char *text, size_t len, struct kvm_trace_format *fmt,
			   char *err, size_t errlen);

/* The field called name, or NULL. */
const struct kvm_trace_field *kvm_trace_field(const struct kvm_trace_format *fmt,
					      const char *name);

/* Integer value of field f (1, 2, 4 or 8 bytes, little-endian, sign-
 * extended if signed) in raw data of len bytes; false if f is NULL, not an
 * integer size or outside the data. */
bool kvm_trace_get(const struct kvm_trace_field *f, const void *raw, size_t len, uint64_t *out);

/* ----------------------------------------------------- perf records */

struct kvm_trace_sample {
	uint32_t pid, tid, cpu;
	uint64_t time; /* perf clock, ns */
	const uint8_t *raw;
	uint32_t raw_size;
};

enum { KVM_TRACE_REC_OTHER, KVM_TRACE_REC_SAMPLE, KVM_TRACE_REC_LOST };

/*
 * Decode one record (perf_event_header first) of len bytes from a buffer
 * opened with sample_type PERF_SAMPLE_TID | TIME | CPU | RAW.  Returns
 * KVM_TRACE_REC_SAMPLE (*s filled; raw points into rec), KVM_TRACE_REC_LOST
 * (*lost = records the kernel dropped), KVM_TRACE_REC_OTHER, or -EINVAL when
 * the record's sizes do not hold together.
 */
int kvm_trace_decode(const void *rec, size_t len, struct kvm_trace_sample *s, uint64_t *lost);

/* --------------------------------------------------------- accounting */

#define KVM_TRACE_MAX_REASONS 64
#define KVM_TRACE_MAX_VCPUS   64

struct kvm_trace_reason {
	char name[KVM_TRACE_NAME];
	uint64_t count;
	bool timed;		/* paired exit..entry: h holds the times (ns) */
	struct hvb_lathist h;
};

/* The formats the accounting knows; NULL where tracefs has no such event. */
struct kvm_trace_events {
	const struct kvm_trace_format *exit, *entry, *pio, *mmio, *userspace_exit, *msr;
	const struct kvm_trace_format *counted[8]; /* counted by name only */
	unsigned n_counted;
};

struct kvm_trace_pending {
	uint32_t tid, cpu;
	bool open;  /* an exit waits for its entry */
	bool split; /* its reason already names the access (pio/mmio) */
	uint64_t t;
	char reason[KVM_TRACE_NAME];
};

struct kvm_trace_acct {
	const struct kvm_trace_events *ev;
	struct kvm_trace_reason r[KVM_TRACE_MAX_REASONS];
	unsigned n;
	struct kvm_trace_pending v[KVM_TRACE_MAX_VCPUS];
	unsigned nv;
	/* what did not pair, and why (counters.csv kvm-trace.* rows) */
	uint64_t lost_records;	    /* PERF_RECORD_LOST: records the kernel dropped */
	uint64_t dropped_pending;   /* open exits dropped because records were lost */
	uint64_t exit_without_entry; /* an exit followed by another exit */
	uint64_t entry_without_exit;
	uint64_t migrations;	    /* the vCPU thread changed CPU between exit and entry */
	uint64_t backwards;	    /* an entry stamped before its exit: not timed */
	uint64_t undecodable;	    /* a sample whose fields were not in its data */
	uint64_t overflow;	    /* reasons or vCPUs past the tables */
};

void kvm_trace_acct_init(struct kvm_trace_acct *a, const struct kvm_trace_events *ev);
/* Start a repetition: counts cleared, open exits forgotten. */
void kvm_trace_acct_reset(struct kvm_trace_acct *a);
void kvm_trace_acct_sample(struct kvm_trace_acct *a, const struct kvm_trace_sample *s);
void kvm_trace_acct_lost(struct kvm_trace_acct *a, uint64_t lost);
/* Decode and account every record in buf (len bytes, whole records). */
int kvm_trace_acct_buffer(struct kvm_trace_acct *a, const void *buf, size_t len);

/* --------------------------------------------------------------- live */

struct kvm_trace;

/*
 * Open the events by name (e.g. "kvm_exit", "kvm_pio") on thread tid,
 * every CPU, into one ring buffer; tracefs is looked for at
 * /sys/kernel/tracing and /sys/kernel/debug/tracing, and mounted at
 * /sys/kernel/tracing when absent (root).  Events tracefs lacks are left
 * out (kvm_trace_events says which are there).  Counting is disabled until
 * kvm_trace_enable.  0 or -errno, err saying why (no tracefs, no
 * permission, perf_event_open refused).
 */
int kvm_trace_open(struct kvm_trace **out, pid_t tid, const char *const *names, unsigned n,
		   char *err, size_t errlen);
const struct kvm_trace_events *kvm_trace_events(const struct kvm_trace *t);
int kvm_trace_enable(struct kvm_trace *t, bool on);
/* Account every record the ring holds now (a may be NULL: discard). */
int kvm_trace_drain(struct kvm_trace *t, struct kvm_trace_acct *a);
/* Also append every drained record, as read, to f (NULL: stop): how
 * tests/fixtures/kvm_trace/ was recorded. */
void kvm_trace_record_to(struct kvm_trace *t, FILE *f);
void kvm_trace_close(struct kvm_trace *t);

#endif
