/*
 * Host side of the record channel: validates struct hvb_record values that
 * arrive from a guest or a native child (never trusted) and turns them into
 * result rows.  Every runner feeds its records through one consumer per job.
 */
#ifndef HVB_RECORDS_H
#define HVB_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvb/abi.h"
#include "sink.h"

struct hvb_job;

struct hvb_rec_consumer {
	const struct hvb_out *out; /* the runner's view of the run's sink */
	const struct hvb_job *job;
	/* Called at REP_BEGIN (begin=true) and REP_END with the record, so a
	 * runner can bracket its probes (KVM stats, perf counters).  The record
	 * is a validated copy: its workload is the job's own terminated name,
	 * its rep one of the job's, its other strings empty.  May be NULL. */
	void (*on_rep)(void *arg, const struct hvb_record *rec, bool begin);
	void *arg;
	/* Set by the consumer. */
	bool hello, done;
	uint64_t hello_entry_tsc, hello_first_tsc;
	unsigned long n_records;
	unsigned char *delivered; /* per job workload: a sample or status arrived */
	char **seen;              /* keys of rows written: a repeat is a protocol error */
	size_t n_seen;
	int current;              /* index of the workload being measured, -1 none */
	uint64_t cell_ops;        /* its CELL_BEGIN: iterations per batch x batches, 0 if that overflows */
	/* While on_rep runs: the operations in that repetition (what the
	 * samples divide by), or 0 if unknown (no CELL_BEGIN for its workload),
	 * so a probe can say how many operations its counts cover. */
	uint64_t rep_ops;
	char error[160];          /* first protocol error */
};

/* Prepare a consumer for one job. */
void hvb_rec_init(struct hvb_rec_consumer *c, const struct hvb_out *out, const struct hvb_job *job);

/*
 * Validate and deliver one record.  0, or -EPROTO for a record that breaks
 * the ABI (bad magic/version/size/type, a workload not in the job, a
 * repetition the job did not ask for, a non-finite value, ...): c->error
 * says what; the caller should stop the
 * guest and call hvb_rec_finish with that error.
 */
int hvb_rec_deliver(struct hvb_rec_consumer *c, const struct hvb_record *rec);

/* Operations in one repetition announced by a CELL_BEGIN record (iterations
 * per batch x batches), or 0 when the product does not fit in 64 bits. */
uint64_t hvb_rec_cell_ops(const struct hvb_record *rec);

/*
 * End of the job: every workload of the job that delivered nothing gets a
 * "failed" row whose reason is `why` (e.g. "guest timed out after 60 s",
 * "child killed by signal 11"), or "the guest stopped before running it" when
 * why is NULL.  Frees the consumer's memory.
 */
void hvb_rec_finish(struct hvb_rec_consumer *c, const char *why);

#endif
