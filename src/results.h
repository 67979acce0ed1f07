/*
 * Result files (results/FORMAT.md is the contract): the writer ("sink") used
 * by `hvbench run` and the runners, and the reader used by compare/report.
 */
#ifndef HVB_RESULTS_H
#define HVB_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hvb/abi.h"

/* ------------------------------------------------------------------ writer */

struct hvb_sink;

/*
 * Create run directory <parent>/<run_id>/ (parent is created if missing) and
 * open its files; meta.csv is written with status=running.  0 or -errno
 * (the directory exists, parent unwritable, ...).
 */
int hvb_sink_open(struct hvb_sink **out, const char *parent, const char *run_id);

/* Path of the run directory. */
const char *hvb_sink_dir(const struct hvb_sink *s);
const char *hvb_sink_run_id(const struct hvb_sink *s);

/* Set a meta.csv key (a later set of the same key replaces the value). */
void hvb_sink_meta(struct hvb_sink *s, const char *key, const char *value);
void hvb_sink_metaf(struct hvb_sink *s, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One observation (samples.csv).  value is ignored unless status == HVB_ST_OK. */
void hvb_sink_sample(struct hvb_sink *s, const char *runner, const char *workload,
		     const char *metric, const char *unit, int better, unsigned rep, double value,
		     enum hvb_status status, const char *note);

/* A cell that did not produce samples: one row with the reason. */
void hvb_sink_cell_status(struct hvb_sink *s, const char *runner, const char *workload,
			  enum hvb_status status, const char *reason);

/* A counter delta (counters.csv).  has_value false: no value, and status says
 * why (unsupported, or failed to read; ok is written as unsupported); note
 * gives the reason. */
void hvb_sink_counter(struct hvb_sink *s, const char *runner, const char *workload, unsigned rep,
		      const char *event, bool has_value, double value, uint64_t time_enabled,
		      uint64_t time_running, const char *source, enum hvb_status status,
		      const char *note);

/* Exits by reason (exits.csv).  total_ns < 0 = unknown.  source: who counted
 * them ("kvm-stats", "vmm", ...; see results/FORMAT.md). */
void hvb_sink_exit(struct hvb_sink *s, const char *runner, const char *workload, unsigned rep,
		   const char *reason, uint64_t count, double total_ns, const char *source);

/* Free text to log.txt (never parsed). */
void hvb_sink_log(struct hvb_sink *s, const char *runner, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Make everything written so far durable (after each cell). */
void hvb_sink_flush(struct hvb_sink *s);

/* Number of sample rows with status ok / non-ok so far (for progress). */
void hvb_sink_counts(const struct hvb_sink *s, unsigned long *ok, unsigned long *not_ok);

/*
 * Finish: status is "complete" or "interrupted".  Data files are fsync'ed and
 * renamed to their final names, then meta.csv is rewritten atomically with
 * the status.  Frees s.  0 or -errno.
 */
int hvb_sink_close(struct hvb_sink *s, const char *status);

/* Async-signal-unsafe paths never run in signal handlers: callers set a flag
 * and close with "interrupted" from normal context. */

/* ------------------------------------------------------------------ reader */

struct hvb_sample_row {
	char *run_id, *runner, *workload, *metric, *unit, *note;
	int better; /* HVB_LOWER_IS_BETTER / HVB_HIGHER_IS_BETTER, 0 if empty */
	long rep;   /* -1 if empty */
	bool has_value;
	double value;
	enum hvb_status status;
};

struct hvb_run {
	char *dir;
	char *status;   /* meta status; "running" = incomplete */
	bool partial;   /* samples were read from *.partial */
	size_t n_meta;
	char **meta_keys, **meta_values;
	size_t n_samples;
	struct hvb_sample_row *samples;
};

/*
 * Read a run directory (meta.csv + samples.csv, or samples.csv.partial when
 * the run is incomplete and allow_partial is set).  On error returns -errno
 * or -EINVAL and writes a message naming the file and line into err.
 */
int hvb_run_read(const char *dir, bool allow_partial, struct hvb_run *run, char *err,
		 size_t errlen);
void hvb_run_free(struct hvb_run *run);

/* Value of a meta key, or NULL. */
const char *hvb_run_meta(const struct hvb_run *run, const char *key);

/* ------------------------------------------------------- CSV row helpers */

/* Write one CSV row of n fields (libcsv quoting) to f.  0 or -EIO. */
int hvb_csv_write_row(FILE *f, const char *const *fields, size_t n);

/*
 * Parse a CSV file with libcsv, calling row(arg, fields, n, line) for every
 * record (line = 1-based line where the record starts).  A non-zero return
 * from row stops parsing and is returned.  -errno on I/O errors, -EINVAL on
 * malformed CSV (err says where).
 */
int hvb_csv_read(const char *path, int (*row)(void *arg, char **fields, size_t n, long line),
		 void *arg, char *err, size_t errlen);

const char *hvb_status_name(enum hvb_status st);
int hvb_status_parse(const char *s, enum hvb_status *out);
const char *hvb_better_name(int better);

#endif
