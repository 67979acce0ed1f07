/*
 * hvbench summarize: every statistic the report shows, computed once, in C,
 * by the engine compare uses (stats.c), and written as one JSON document
 * (schema "hvbench-summary/1", reports/README.md).
 */
#ifndef HVB_SUMMARIZE_H
#define HVB_SUMMARIZE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define HVB_SUMMARY_SCHEMA "hvbench-summary/1"

struct hvb_sum_opts {
	uint64_t seed;     /* compare's --seed scheme: seed ^ hash(runner, workload, metric) */
	double confidence; /* of every interval */
	unsigned iters;    /* bootstrap resamples (compare's) */
	uint64_t max_exact; /* compare's permutation budget: keeps its random stream */
	unsigned min_reps; /* no interval below this many repetitions */
	unsigned threads;  /* bootstrapping the pairs; the output does not depend on it */
	bool allow_partial;
};

/* Threads hvb_sum_opts_init picks: the online CPUs, at most this many. */
#define HVB_SUM_MAX_THREADS 8

void hvb_sum_opts_init(struct hvb_sum_opts *o);

/*
 * Read the result directories dirs[0..n) (lib/results.c validates them),
 * compute the series, ratios and problems and write the JSON document to
 * out.  0, or -errno / -EINVAL with a message naming the file and line in
 * err.
 */
int hvb_summarize(const char *const *dirs, size_t n, const struct hvb_sum_opts *o, FILE *out,
		  char *err, size_t errlen);

/* The order-statistic interval of the median of sorted[0..n): the widest
 * [x(k), x(n-k+1)] (1-based) whose coverage 1 - 2 P(Bin(n, 1/2) < k) is at
 * least conf, or [min, max] when even that covers less.  Returns the exact
 * coverage of the interval chosen; n > 0. */
double hvb_median_os_ci(const double *sorted, size_t n, double conf, double *lo, double *hi);

#endif
