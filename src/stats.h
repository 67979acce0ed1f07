/*
 * Small-sample statistics for comparing benchmark results.
 *
 * The statistical unit is one value per repetition: samples inside a
 * repetition are correlated (same process, same boot, same cache state), so
 * they are summarised by the harness and never pooled here.  Everything that
 * draws random numbers takes an explicit generator, so a given seed gives
 * the same answer on every machine.
 */
#ifndef HVB_STATS_H
#define HVB_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ PRNG */

/* xoshiro256** seeded through splitmix64 (Blackman & Vigna). */
struct hvb_rng {
	uint64_t s[4];
};

/* Seed r; any seed (including 0) gives a valid, distinct stream. */
void hvb_rng_seed(struct hvb_rng *r, uint64_t seed);

/* Next 64 random bits. */
uint64_t hvb_rng_next(struct hvb_rng *r);

/* Uniform double in [0, 1), 53 random bits. */
double hvb_rng_uniform(struct hvb_rng *r);

/* Uniform integer in [0, n), without modulo bias; n > 0. */
uint64_t hvb_rng_below(struct hvb_rng *r, uint64_t n);

/* Standard normal deviate (Marsaglia polar method). */
double hvb_rng_normal(struct hvb_rng *r);

/* ---------------------------------------------------- order statistics */

/*
 * Median of x[0..n) (mean of the two middle values when n is even).  x is
 * not modified.  n must be > 0; returns NAN for n == 0.
 */
double hvb_median(const double *x, size_t n);

/* The same, reordering x in place (no allocation, for inner loops). */
double __hvb_median_inplace(double *x, size_t n);

/*
 * Quantile q in [0, 1] of sorted[0..n), linear interpolation between order
 * statistics (Hyndman & Fan type 7, the default of R and numpy).  NAN for
 * n == 0.
 */
double hvb_quantile_sorted(const double *sorted, size_t n, double q);

/* Quantile q of x[0..n) (x not modified). */
double hvb_quantile(const double *x, size_t n, double q);

/* Median absolute deviation from the median, unscaled (multiply by 1.4826
 * for a normal-consistent estimate of sigma).  NAN for n == 0. */
double hvb_mad(const double *x, size_t n);

/* -------------------------------------------------------------- tests */

/*
 * Percentile bootstrap confidence interval of median(b) / median(a):
 * `iters` times, resample a and b independently with replacement and take
 * the ratio of the resampled medians; [*lo, *hi] are the (1-conf)/2 and
 * (1+conf)/2 quantiles of those ratios.  0, or -EINVAL when na or nb is 0,
 * conf is not in (0, 1), iters < 2, or a resampled median of a is 0 (the
 * ratio is undefined: the caller reports no interval).
 */
int hvb_bootstrap_ratio_ci(const double *a, size_t na, const double *b, size_t nb, double conf,
			   unsigned iters, struct hvb_rng *rng, double *lo, double *hi);

/* How a permutation p-value was obtained. */
struct hvb_perm_result {
	double p;        /* two-sided p-value, in (0, 1] */
	bool exact;      /* every relabelling was enumerated */
	uint64_t count;  /* relabellings evaluated */
	double min_p;    /* smallest p this test can give at these sizes (no ties) */
};

/*
 * Two-sided permutation test of "a and b come from the same distribution"
 * (Wilcoxon-Mann-Whitney by permutation): the statistic is |rank sum of a -
 * its expectation| over the pooled midranks, robust to the odd outlier
 * repetition and nearly as efficient as a t-test on normal data.  When
 * C(na+nb, na) <= max_exact every relabelling is enumerated and p is exact
 * (ties included); otherwise `iters` random relabellings are drawn and
 * p = (1 + #{T* >= T}) / (1 + iters), a valid, slightly conservative
 * p-value.  0, or -EINVAL when na or nb is 0, or iters is 0 when needed.
 */
int hvb_permutation_test(const double *a, size_t na, const double *b, size_t nb,
			 uint64_t max_exact, unsigned iters, struct hvb_rng *rng,
			 struct hvb_perm_result *res);

/*
 * Paired (one-sample) counterpart: two-sided sign-flip permutation test of
 * "d is symmetric about 0" with the Wilcoxon signed-rank statistic
 * |sum of sign(d_i) * rank(|d_i|)| (midranks; zeros are dropped, as
 * Wilcoxon does).  Exact over the 2^n sign vectors when 2^n <= max_exact,
 * else `iters` random flips with p = (1 + hits) / (1 + iters).  With no
 * non-zero d, p = 1.  0, or -EINVAL when n is 0, or iters is 0 when needed.
 */
int hvb_signflip_test(const double *d, size_t n, uint64_t max_exact, unsigned iters,
		      struct hvb_rng *rng, struct hvb_perm_result *res);

/*
 * Percentile bootstrap interval of median(x) (resampling x with
 * replacement `iters` times).  0, or -EINVAL when n is 0, conf is not in
 * (0, 1) or iters < 2.
 */
int hvb_bootstrap_median_ci(const double *x, size_t n, double conf, unsigned iters,
			    struct hvb_rng *rng, double *lo, double *hi);

/* Midranks (1-based; tied values share the mean of their ranks) of x[0..n). */
void hvb_midranks(const double *x, size_t n, double *rank);

/* C(n, k), saturating at UINT64_MAX. */
uint64_t hvb_binomial(unsigned n, unsigned k);

/*
 * Benjamini-Hochberg step-up adjustment: q[i] = min over p(j) >= p(i) of
 * p(j) * m / rank(j), capped at 1, for the m p-values p[0..m).  Rejecting
 * every q < alpha controls the false discovery rate at alpha (independent or
 * positively dependent tests).  NAN entries are not tests: they are left out
 * of m and get q = NAN.  q may alias p.
 */
void hvb_bh_adjust(const double *p, size_t m, double *q);

#endif
