/*
 * The result writer ("sink") of one run directory (results/FORMAT.md), and
 * struct hvb_out, the view of it bound to one runner that runners write
 * through.
 *
 * Rows are built with designated initialisers, so a call names what it
 * sets and the rest is zero: status ok, no note, no value, no time.
 *
 *	hvb_out_counter(out, .workload = w, .rep = rep, .event = "kvm-stats",
 *			.source = "kvm-stats", .status = HVB_ST_UNSUPPORTED, .note = why);
 *
 * Atomicity: data files are appended as <name>.partial and renamed at the
 * end; meta.csv is always replaced through meta.csv.tmp + fsync + rename, so
 * a reader sees either the old or the new meta, and a crashed run keeps
 * status=running with its data in *.partial.  Writes happen from one thread
 * at a time (the runner's), never from a signal handler.
 *
 * Write errors: rows are kept in memory and written whole at a flush; the
 * first write that fails (disk full, I/O error, the run directory gone) is
 * cut back to the file's last complete row and makes the sink fail for good:
 * later rows are dropped, hvb_sink_flush and hvb_sink_error return it, and
 * closing keeps the *.partial files and writes status=failed with
 * failed_reason.  The row functions stay void: the caller checks once per
 * job.
 */
#ifndef HVB_SINK_H
#define HVB_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csvfile.h"
#include "hvb/abi.h"

struct hvb_sink;

/* One observation (samples.csv).  value is ignored unless status is ok. */
struct hvb_sample_out {
	const char *workload, *metric, *unit;
	int better; /* HVB_LOWER_IS_BETTER / HVB_HIGHER_IS_BETTER */
	unsigned rep;
	double value;
	enum hvb_status status;
	const char *note;
};

/* A counter delta over one repetition (counters.csv).  has_value false: no
 * value, and status says why (unsupported, or failed to read; ok is written
 * as unsupported, never as a zero); note gives the reason. */
struct hvb_counter_out {
	const char *workload;
	unsigned rep;
	const char *event;
	bool has_value;
	double value;
	uint64_t time_enabled, time_running;
	const char *source; /* pmu, software, kvm-stats, xentrace, ... */
	enum hvb_status status;
	const char *note;
};

/* Exits by reason over one repetition (exits.csv).  total_ns only if timed.
 * source: who counted them ("kvm-stats", "vmm", "xentrace"; FORMAT.md).
 * ops: the operations the guest performed in the interval the exits were
 * counted over (so count / ops is exits per operation), only if has_ops:
 * the column stays empty when the runner does not know it.
 * has_latency: p50/p90/p99/max_ns are the distribution of the time per
 * exit (over the timed exits); false (the default) leaves them empty. */
struct hvb_exit_out {
	const char *workload;
	unsigned rep;
	const char *reason;
	uint64_t count;
	bool timed;
	double total_ns;
	const char *source;
	bool has_ops;
	uint64_t ops;
	bool has_latency;
	double p50_ns, p90_ns, p99_ns, max_ns;
};

/*
 * Create run directory <parent>/<run_id>/ (parent is created if missing) and
 * open its files; meta.csv is written with status=running.  0 or -errno
 * (the directory exists, parent unwritable, ...).
 */
int hvb_sink_open(struct hvb_sink **out, const char *parent, const char *run_id);

/* Rewrite meta.csv now with the keys set so far (status unchanged), so that a
 * run killed later still says what it was asked to do.  0 or -errno (then
 * the sink has failed: see hvb_sink_error). */
int hvb_sink_write_meta(struct hvb_sink *s);

/* Path of the run directory, and its id. */
const char *hvb_sink_dir(const struct hvb_sink *s);
const char *hvb_sink_run_id(const struct hvb_sink *s);

/* Set a meta.csv key (a later set of the same key replaces the value). */
void hvb_sink_meta(struct hvb_sink *s, const char *key, const char *value);
void hvb_sink_metaf(struct hvb_sink *s, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void hvb_sink_sample(struct hvb_sink *s, const char *runner, const struct hvb_sample_out *row);
void hvb_sink_counter(struct hvb_sink *s, const char *runner, const struct hvb_counter_out *row);
void hvb_sink_exit(struct hvb_sink *s, const char *runner, const struct hvb_exit_out *row);

/* A cell that did not produce samples: one row with the reason. */
void hvb_sink_cell_status(struct hvb_sink *s, const char *runner, const char *workload,
			  enum hvb_status status, const char *reason);

/* Free text to log.txt (never parsed); runner NULL = hvbench itself. */
void hvb_sink_log(struct hvb_sink *s, const char *runner, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Write and fdatasync everything so far (after each job), and check that the
 * run directory is still there.  0 or the sink's failure, -errno (sticky). */
int hvb_sink_flush(struct hvb_sink *s);

/* The sink's failure (0 if none); if buf, what failed, e.g. "cannot write
 * DIR/samples.csv.partial: No space left on device (errno 28)". */
int hvb_sink_error(const struct hvb_sink *s, char *buf, size_t len);

/* Number of sample rows with status ok / non-ok so far (for progress). */
void hvb_sink_counts(const struct hvb_sink *s, unsigned long *ok, unsigned long *not_ok);

/*
 * Finish: status is "complete", "interrupted" or "failed".  Data files are
 * fsync'ed and renamed to their final names (the directory fsync'ed), then
 * meta.csv is rewritten atomically with the status.  If the sink failed (or
 * status is "failed") the data files keep their *.partial names and meta.csv
 * says status=failed (with failed_reason).  Frees s.  0 or -errno (the
 * sink's failure first); msg (if not NULL) then says what failed.
 */
int hvb_sink_finish(struct hvb_sink *s, const char *status, char *msg, size_t len);
int hvb_sink_close(struct hvb_sink *s, const char *status); /* msg NULL */

/* ------------------------------------------------------- a runner's view */

/* The run's sink bound to one runner: every row it writes names that
 * runner, and its meta keys are runner.<name>.<key>. */
struct hvb_out {
	struct hvb_sink *sink;
	const char *runner;
};

#define hvb_out_sample(o, ...)                                                             \
	hvb_sink_sample((o)->sink, (o)->runner, &(const struct hvb_sample_out){__VA_ARGS__})
#define hvb_out_counter(o, ...)                                                            \
	hvb_sink_counter((o)->sink, (o)->runner, &(const struct hvb_counter_out){__VA_ARGS__})
#define hvb_out_exit(o, ...)                                                               \
	hvb_sink_exit((o)->sink, (o)->runner, &(const struct hvb_exit_out){__VA_ARGS__})
#define hvb_out_log(o, ...) hvb_sink_log((o)->sink, (o)->runner, __VA_ARGS__)

static inline void hvb_out_status(const struct hvb_out *o, const char *workload,
				  enum hvb_status status, const char *reason)
{
	hvb_sink_cell_status(o->sink, o->runner, workload, status, reason);
}

/* meta.csv key runner.<runner>.<key>. */
void hvb_out_meta(const struct hvb_out *o, const char *key, const char *value);
void hvb_out_metaf(const struct hvb_out *o, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
