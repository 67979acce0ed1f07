/*
 * Thresholds from a baseline history: N complete runs of one configuration
 * on one host, and per (runner, workload, metric) the run-to-run noise of
 * the per-run median, turned into a minimum effect for `compare`.
 *
 * Noise.  Let m_i be run i's median over its repetitions and L_i = ln m_i.
 * The spread of the L_i is estimated from their range, R = max L - min L,
 * as sigma = R / d2(n): d2(n) is the expected range of n standard normal
 * values (d2(3) = 1.693, d2(5) = 2.326, d2(10) = 3.078), the classical
 * small-sample estimator of quality control, nearly as efficient as the
 * standard deviation for n <= 10 and meaningful from n = 3, where a MAD
 * of three values is the smaller of two gaps and often 0.  A comparison
 * sets one run (or set) against another, so what it must not call a
 * change is the difference of two runs, whose log ratio has standard
 * deviation sqrt(2) sigma: noise_pct = 100 sqrt(2) R / d2(n) (a log ratio
 * in percent: for changes of a few percent, the percent change).  An
 * outlier run widens R, and so the threshold: on purpose, a host that
 * has such runs will have them again.
 *
 * Threshold: max(floor_pct, k x noise_pct), at most 100%.  The per-run
 * median is already robust to outlier repetitions within a run.
 */
#ifndef HVB_THRESHOLDS_DERIVE_H
#define HVB_THRESHOLDS_DERIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "thresholds.h"

#define HVB_THRESH_MIN_RUNS 3

struct hvb_thresh_opts {
	const char *metrics, *runners, *workloads; /* globs as compare takes them */
	double k;          /* threshold = max(floor, k x noise); default 3 */
	double floor_pct;  /* default 1 */
	bool mixed_hosts;  /* accept runs of different hosts (a warning), else refuse */
};

void hvb_thresh_opts_init(struct hvb_thresh_opts *o);

struct hvb_thresh_history {
	size_t n_runs;
	size_t n_lines;
	struct hvb_thresh_line *lines; /* sorted by runner, workload, metric */
	/* Keys not derived (too few runs, a median of 0) and context that
	 * differs between the runs, one sentence each. */
	size_t n_skipped, n_warnings;
	char **skipped, **warnings;
};

/*
 * Derive a line per key from the runs in dirs.  0, or -EINVAL / -errno
 * with err saying why: fewer than HVB_THRESH_MIN_RUNS runs, an unreadable
 * or incomplete run, a run given twice (the same run_id), runs of
 * different hosts (host_identity) without o->mixed_hosts, no key measured
 * in enough runs.
 */
int hvb_thresh_derive(const char *const *dirs, size_t n, const struct hvb_thresh_opts *o,
		      struct hvb_thresh_history *h, char *err, size_t errlen);

void hvb_thresh_history_free(struct hvb_thresh_history *h);

/* d2(n): the expected range of n independent standard normal values. */
double hvb_normal_range_mean(unsigned n);

#endif
