/*
 * Reading a result directory (results/FORMAT.md): meta.csv and samples.csv,
 * for compare, the run summary and tests.  The writer is sink.h.
 */
#ifndef HVB_RESULTS_H
#define HVB_RESULTS_H

#include <stdbool.h>
#include <stddef.h>

#include "csvfile.h"
#include "hvb/abi.h"

/* The format_version this reader reads (FORMAT.md). */
#define HVB_FORMAT_VERSION "1"

struct hvb_sample_row {
	char *run_id, *runner, *workload, *metric, *unit, *note;
	int better; /* HVB_LOWER_IS_BETTER / HVB_HIGHER_IS_BETTER, 0 if empty */
	long rep;   /* -1 if empty */
	bool has_value;
	double value;
	enum hvb_status status;
	long line; /* in samples.csv */
};

struct hvb_run {
	char *dir;
	char *status;   /* meta status: complete, interrupted or running (incomplete) */
	bool partial;   /* samples were read from *.partial */
	size_t n_meta;
	char **meta_keys, **meta_values;
	long *meta_lines; /* in meta.csv */
	size_t n_samples;
	struct hvb_sample_row *samples;
	/* What the reader tolerated (e.g. a torn last row of a .partial file),
	 * one sentence each naming the file: the caller must show them. */
	size_t n_warnings;
	char **warnings;
};

/*
 * Read a run directory (meta.csv + samples.csv, or samples.csv.partial when
 * the run is incomplete and allow_partial is set).  On error returns -errno
 * or -EINVAL and writes a message naming the file and line into err.
 */
int hvb_run_read(const char *dir, bool allow_partial, struct hvb_run *run, char *err,
		 size_t errlen);
void hvb_run_free(struct hvb_run *run);

/* A run id (meta run_id, the directory name): 1 to HVB_RUN_ID_MAX of
 * [A-Za-z0-9._-], not "." or "..", so it is one safe path component. */
#define HVB_RUN_ID_MAX 128
bool hvb_run_id_valid(const char *id);

/* A new run id for a run started now by this process (FORMAT.md):
 * YYYYmmdd-HHMMSS-<host>-<pid>, UTC, the host name cut at its first dot
 * and made a valid id.  buf of at least 96 bytes. */
void hvb_run_id_make(char *buf, size_t len);

/* One exits.csv row (FORMAT.md).  Columns added after the first version
 * may be missing from a file: source is then "" (unknown), has_ops and
 * has_latency false. */
struct hvb_exit_row {
	char *runner, *workload, *reason, *source;
	long rep;
	double count;
	bool has_total, has_ops, has_latency;
	double total_ns, ops;
	double p50_ns, p90_ns, p99_ns, max_ns;
	long line; /* in exits.csv */
};

/*
 * Read the exits of a run hvb_run_read() read: exits.csv, or
 * exits.csv.partial when the samples came from *.partial.  Rows in file
 * order into *rows (malloc'ed, *n of them).  On error -errno or -EINVAL
 * and err names the file and line; a missing file is -ENOENT.
 */
int hvb_run_read_exits(const struct hvb_run *run, struct hvb_exit_row **rows, size_t *n,
		       char *err, size_t errlen);
void hvb_exit_rows_free(struct hvb_exit_row *rows, size_t n);

/* Value of a meta key, or NULL. */
const char *hvb_run_meta(const struct hvb_run *run, const char *key);

#endif
