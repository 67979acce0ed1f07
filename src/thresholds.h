/*
 * Per-metric noise thresholds (results/FORMAT.md, "Thresholds files"): the
 * minimum effect `compare` and `ab --thresholds FILE` require of each
 * (runner, workload, metric), with where each figure came from.
 *
 * A CSV file with a header; each line is (runner glob, workload glob,
 * metric glob, threshold_pct) and optional provenance (baseline runs and
 * repetitions, the observed noise, k and the floor, host, date).  The
 * first line that matches a key wins; a key no line matches keeps
 * --threshold.  `hvbench thresholds` derives such a file from a baseline
 * history (thresholds_derive.h); people may write one by hand.
 */
#ifndef HVB_THRESHOLDS_H
#define HVB_THRESHOLDS_H

#include <stddef.h>

struct hvb_thresh_line {
	char *runner, *workload, *metric; /* fnmatch globs */
	double pct;                       /* minimum effect, percent */
	long line;                        /* in the file (1 is the header) */
	/* Provenance, as the file has it: 0 / NAN / NULL where it has none. */
	unsigned runs, reps;
	double noise_pct, k, floor_pct;
	char *host, *date;
};

struct hvb_thresholds {
	char *path;
	size_t n;
	struct hvb_thresh_line *v;
};

/*
 * Read a thresholds file.  0, or -errno / -EINVAL with err saying
 * "FILE:LINE: what is wrong" and what to do (unknown or missing column, a
 * field count that differs from the header's, an empty glob, a threshold
 * outside 0-100%, a provenance field that is not a number).
 */
int hvb_thresholds_read(const char *path, struct hvb_thresholds *t, char *err, size_t errlen);

/* The first line matching the key, or NULL. */
const struct hvb_thresh_line *hvb_thresholds_find(const struct hvb_thresholds *t,
						  const char *runner, const char *workload,
						  const char *metric);

/*
 * Write n lines to path atomically (a temporary file in the same
 * directory, fsync'ed, renamed over path): a reader sees the old file or
 * the whole new one.  Names are written as globs that match only
 * themselves (fnmatch metacharacters escaped).  0 or -errno, err says why.
 */
int hvb_thresholds_write(const char *path, const struct hvb_thresh_line *v, size_t n, char *err,
			 size_t errlen);

/* Free what a line owns (hvb_thresholds_free does it for a file's). */
void hvb_thresh_line_free(struct hvb_thresh_line *l);
void hvb_thresholds_free(struct hvb_thresholds *t);

#endif
