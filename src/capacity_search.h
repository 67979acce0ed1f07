/*
 * The capacity search of `hvbench capacity` (README "Capacity"), as pure
 * functions: no processes, no files, so the tests can drive them with
 * synthetic load curves whose edge is known.
 *
 * Search: measure N = 1, 2, 4, 8, ... (capped at max_vms) until a step
 * fails the SLO, then bisect between the last N that passed and the first
 * that failed until they are adjacent.  N_max is the last pass, failed_at
 * the first fail above it (both measured, never inferred).  Every N is
 * measured at most once; on a noisy curve the answer is an adjacent
 * measured pass/fail pair, which is what the repetitions and intervals of
 * those two steps then qualify.
 *
 * SLO of a step: the per-repetition aggregate of the probe VMs is the
 * worst probe VM's figure of that repetition (its req_ns.p99: the highest;
 * its ops_per_s: the lowest: percentiles of different VMs cannot be
 * merged, and a fleet is as good as its worst VM).  Repetitions combine by
 * their median; the interval reported beside it is [min, max] over the
 * repetitions.  A step passes when median p99 <= slo_p99_us and, for
 * N > 1 with slo_tput_pct > 0, median throughput >= slo_tput_pct % of the
 * N = 1 step's median.  A step without figures fails (VMs that cannot run
 * do not fit), saying why.
 */
#ifndef HVB_CAPACITY_SEARCH_H
#define HVB_CAPACITY_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

/* More steps than a 1..4096 sweep and bisection can take. */
#define HVB_CAP_MAX_STEPS 32

struct hvb_cap_verdict {
	bool pass;
	char why[256]; /* one sentence: the figures against the SLO */
};

/* Measure step n (n VMs at once) and judge it.  0, or a negative errno to
 * stop the search there (-EINTR on Ctrl-C, or the step could not run). */
typedef int (*hvb_cap_measure_fn)(void *arg, unsigned n, struct hvb_cap_verdict *v);

struct hvb_cap_result {
	unsigned n_max;     /* largest passing N; 0 if N = 1 failed (or nothing ran) */
	unsigned failed_at; /* first failing N above n_max; 0 if none failed up to max */
	char why[256];      /* failed_at's verdict ("" if none) */
	bool done;          /* the search ended by its own rule, not stopped */
	int stopped;        /* 0, or the callback's error that stopped it */
	unsigned n_steps;   /* steps in the order measured */
	unsigned step_n[HVB_CAP_MAX_STEPS];
	bool step_pass[HVB_CAP_MAX_STEPS];
};

/*
 * Run the sweep and the bisection for 1 <= N <= max_vms (max_vms >= 1).
 * Returns 0 when the search ended by its rule, else the callback's error
 * (res then holds the steps measured so far and the best answer they give).
 */
int hvb_cap_search(unsigned max_vms, hvb_cap_measure_fn measure, void *arg,
		   struct hvb_cap_result *res);

/* "1:pass 2:pass 4:fail 3:pass" (the steps in the order measured). */
void hvb_cap_steps_str(const struct hvb_cap_result *res, char *buf, size_t len);

/* Median and [min, max] of some per-repetition figures. */
struct hvb_cap_figure {
	size_t n; /* repetitions with a figure; 0: none (the rest is NAN) */
	double median, min, max;
};

void hvb_cap_figure_of(const double *x, size_t n, struct hvb_cap_figure *f);

struct hvb_cap_slo {
	double p99_us;   /* > 0 */
	double tput_pct; /* 0: not checked */
};

/*
 * Parse an SLO expression, e.g. "p99<=500us" or "p99<=2ms,tput>=80%":
 * comma-separated terms, `p99<=X` with unit ns, us (default) or ms, and
 * `tput>=Y%` (Y in 0..100).  Terms not given keep slo's values.  0, or
 * -EINVAL with err saying which term is wrong and what is accepted.
 */
int hvb_cap_slo_parse(const char *expr, struct hvb_cap_slo *slo, char *err, size_t len);

/*
 * Judge one step: p99_ns[] and tput[] are the per-repetition aggregates
 * (worst probe VM), base_tput the N = 1 step's median throughput (NAN when
 * unknown: then the throughput rule cannot pass for n > 1).  Fills v and
 * the two figures (for the report); never fails.
 */
void hvb_cap_judge(const struct hvb_cap_slo *slo, unsigned n, const double *p99_ns, size_t np,
		   const double *tput, size_t nt, double base_tput, struct hvb_cap_figure *p99,
		   struct hvb_cap_figure *thr, struct hvb_cap_verdict *v);

#endif
