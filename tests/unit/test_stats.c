/* Statistics: known answers (hand-computed, or the published reference
 * values), and the calibration of the permutation test and the bootstrap. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "tap.h"
#include "util.h"

/* A TAP comment line: shown in the log, not counted. */
#define diag(...) (printf("# "), printf(__VA_ARGS__), printf("\n"))

static bool near(double a, double b, double tol)
{
	return fabs(a - b) <= tol;
}

static void test_rng(void)
{
	/* xoshiro256** reference output for the state {1, 2, 3, 4} */
	static const uint64_t expect[] = { 11520ull, 0ull, 1509978240ull, 1215971899390074240ull };
	struct hvb_rng r = { { 1, 2, 3, 4 } }, r2;
	bool ok = true;
	double sum = 0, sum2 = 0;
	unsigned hist[7] = { 0 };

	for (size_t i = 0; i < ARRAY_SIZE(expect); i++)
		ok &= hvb_rng_next(&r) == expect[i];
	TAP_OK(ok, "xoshiro256** matches its reference output");
	hvb_rng_seed(&r, 0);
	TAP_OK(r.s[0] == 0xe220a8397b1dcdafull, "seeding uses splitmix64 (reference first output)");
	hvb_rng_seed(&r, 42);
	hvb_rng_seed(&r2, 42);
	ok = true;
	for (int i = 0; i < 100; i++)
		ok &= hvb_rng_next(&r) == hvb_rng_next(&r2);
	TAP_OK(ok, "the same seed gives the same stream");
	hvb_rng_seed(&r2, 43);
	TAP_OK(hvb_rng_next(&r) != hvb_rng_next(&r2), "another seed gives another stream");
	ok = true;
	for (int i = 0; i < 70000; i++) {
		uint64_t k = hvb_rng_below(&r, 7);
		ok &= k < 7;
		if (k < 7)
			hist[k]++;
	}
	double chi2 = 0;
	for (int k = 0; k < 7; k++)
		chi2 += (hist[k] - 10000.0) * (hist[k] - 10000.0) / 10000.0;
	/* chi-square, 6 degrees of freedom: P(> 22.46) = 0.001 */
	TAP_OK(ok && chi2 < 22.46, "rng_below(7) stays in range and is uniform (chi-square)");
	for (int i = 0; i < 100000; i++) {
		double z = hvb_rng_normal(&r);
		sum += z, sum2 += z * z;
	}
	TAP_OK(near(sum / 1e5, 0, 0.02) && near(sum2 / 1e5, 1, 0.02),
	       "normal deviates have mean 0 and variance 1");
}

static void test_order_statistics(void)
{
	const double odd[] = { 3, 1, 2 }, even[] = { 4, 1, 3, 2 };
	const double ten[] = { 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
	const double mad[] = { 1, 1, 2, 2, 4, 6, 9 };
	double big[101];

	TAP_OK(hvb_median(odd, 3) == 2, "median of an odd count is the middle value");
	TAP_OK(hvb_median(even, 4) == 2.5, "median of an even count is the mean of the middle two");
	TAP_OK(isnan(hvb_median(odd, 0)), "median of nothing is NAN");
	TAP_OK(odd[0] == 3 && even[0] == 4, "median leaves its input alone");
	for (int i = 0; i < 101; i++)
		big[i] = (i * 37) % 101; /* a permutation of 0..100 */
	TAP_OK(hvb_median(big, 101) == 50, "median of 101 shuffled values (qsort path)");
	TAP_OK(near(hvb_quantile(ten, 10, 0.25), 3.25, 1e-12), "type-7 quantile 0.25 of 1..10 = 3.25");
	TAP_OK(near(hvb_quantile(ten, 10, 0.9), 9.1, 1e-12), "type-7 quantile 0.9 of 1..10 = 9.1");
	TAP_OK(hvb_quantile(ten, 10, 0) == 1 && hvb_quantile(ten, 10, 1) == 10,
	       "quantiles 0 and 1 are the extremes");
	TAP_OK(hvb_mad(mad, 7) == 1, "MAD of {1,1,2,2,4,6,9} is 1");
}

static void test_ranks_binomial_bh(void)
{
	const double x[] = { 20, 10, 30, 20 };
	double rank[4];
	const double p[] = { 0.01, 0.04, 0.03, 0.005 }, pn[] = { 0.01, NAN, 0.04 };
	double q[4], qn[3];

	hvb_midranks(x, 4, rank);
	TAP_OK(rank[0] == 2.5 && rank[1] == 1 && rank[2] == 4 && rank[3] == 2.5,
	       "midranks share the mean rank between ties");
	TAP_EQ_INT(hvb_binomial(10, 5), 252, "C(10,5)");
	TAP_EQ_INT(hvb_binomial(20, 10), 184756, "C(20,10)");
	TAP_EQ_INT(hvb_binomial(5, 6), 0, "C(5,6) = 0");
	TAP_OK(hvb_binomial(100, 50) == UINT64_MAX, "C(100,50) saturates");
	hvb_bh_adjust(p, 4, q);
	/* R: p.adjust(c(.01,.04,.03,.005), "BH") = 0.02 0.04 0.04 0.02 */
	TAP_OK(near(q[0], 0.02, 1e-12) && near(q[1], 0.04, 1e-12) && near(q[2], 0.04, 1e-12) &&
		       near(q[3], 0.02, 1e-12),
	       "Benjamini-Hochberg matches R's p.adjust");
	hvb_bh_adjust(pn, 3, qn);
	TAP_OK(near(qn[0], 0.02, 1e-12) && isnan(qn[1]) && near(qn[2], 0.04, 1e-12),
	       "BH leaves NAN out of the count of tests");
}

static void test_permutation_known(void)
{
	const double a3[] = { 1, 2, 3 }, b3[] = { 4, 5, 6 };
	const double a5[] = { 1, 2, 3, 4, 5 }, b5[] = { 6, 7, 8, 9, 10 };
	const double c[] = { 1, 2, 4 }, d[] = { 3, 5, 6 };
	const double same[] = { 5, 5, 5 };
	struct hvb_perm_result res;
	struct hvb_rng rng;

	hvb_rng_seed(&rng, 7);
	hvb_permutation_test(a3, 3, b3, 3, 1000, 0, &rng, &res);
	TAP_OK(res.exact && res.count == 20 && near(res.p, 0.1, 1e-12),
	       "separated 3 vs 3: exact p = 2/20");
	hvb_permutation_test(a5, 5, b5, 5, 1000, 0, &rng, &res);
	TAP_OK(res.exact && near(res.p, 2.0 / 252, 1e-12) && near(res.min_p, 2.0 / 252, 1e-12),
	       "separated 5 vs 5: exact p = 2/252, the smallest possible");
	hvb_permutation_test(c, 3, d, 3, 1000, 0, &rng, &res);
	/* R: wilcox.test(c(1,2,4), c(3,5,6))$p.value = 0.2 */
	TAP_OK(near(res.p, 0.2, 1e-12), "{1,2,4} vs {3,5,6}: p = 0.2 (as R's wilcox.test)");
	hvb_permutation_test(same, 3, same, 3, 1000, 0, &rng, &res);
	TAP_OK(near(res.p, 1, 1e-12), "all values tied: p = 1");
	TAP_EQ_INT(hvb_permutation_test(a3, 0, b3, 3, 1000, 0, &rng, &res), -EINVAL,
		   "an empty side is refused");
}

/* Ten-and-ten samples: Monte Carlo agrees with full enumeration. */
static void test_permutation_mc(void)
{
	double a[10], b[10];
	struct hvb_perm_result ex, mc;
	struct hvb_rng rng;

	hvb_rng_seed(&rng, 11);
	for (int i = 0; i < 10; i++) {
		a[i] = 100 + hvb_rng_normal(&rng);
		b[i] = 100.8 + hvb_rng_normal(&rng);
	}
	hvb_permutation_test(a, 10, b, 10, 200000, 0, &rng, &ex);
	hvb_permutation_test(a, 10, b, 10, 1000, 20000, &rng, &mc);
	diag("exact p %.5f over %llu relabellings, Monte Carlo p %.5f", ex.p,
	     (unsigned long long)ex.count, mc.p);
	TAP_OK(ex.exact && ex.count == 184756 && !mc.exact, "exact enumerates C(20,10)");
	TAP_OK(near(ex.p, mc.p, 0.01), "Monte Carlo p within 0.01 of the exact p");
	TAP_OK(mc.min_p >= 1.0 / 20001, "Monte Carlo p is never below 1/(iters+1)");
}

/* Under the null (same distribution), P(p < alpha) <= alpha. */
static void test_permutation_null(void)
{
	const int trials = 2000;
	int rejected = 0;
	struct hvb_rng rng;

	hvb_rng_seed(&rng, 2024);
	for (int t = 0; t < trials; t++) {
		double a[10], b[10];
		struct hvb_perm_result res;
		for (int i = 0; i < 10; i++) {
			a[i] = exp(0.02 * hvb_rng_normal(&rng));
			b[i] = exp(0.02 * hvb_rng_normal(&rng));
		}
		hvb_permutation_test(a, 10, b, 10, 1000, 1000, &rng, &res);
		rejected += res.p < 0.05;
	}
	double rate = (double)rejected / trials, margin = 3 * sqrt(0.05 * 0.95 / trials);
	diag("null rejection rate at alpha 0.05: %.4f over %d trials", rate, trials);
	TAP_OK(rate <= 0.05 + margin, "permutation test: false-positive rate <= alpha (+3 sigma)");
	TAP_OK(rate >= 0.05 - margin, "permutation test is not needlessly conservative");
}

static void test_bootstrap(void)
{
	const double one[] = { 1, 1, 1, 1 }, two[] = { 2, 2, 2, 2 }, zero[] = { 0, 0, 0 };
	const int trials = 400;
	int covered = 0;
	struct hvb_rng rng;
	double lo, hi, lo2, hi2;

	hvb_rng_seed(&rng, 5);
	TAP_OK(!hvb_bootstrap_ratio_ci(one, 4, two, 4, 0.95, 1000, &rng, &lo, &hi) && lo == 2 &&
		       hi == 2,
	       "constant samples: the ratio interval is the point");
	TAP_EQ_INT(hvb_bootstrap_ratio_ci(zero, 3, two, 4, 0.95, 1000, &rng, &lo, &hi), -EINVAL,
		   "a zero base median is refused (ratio undefined)");
	TAP_EQ_INT(hvb_bootstrap_ratio_ci(one, 4, two, 4, 1.0, 1000, &rng, &lo, &hi), -EINVAL,
		   "confidence 1 is refused");
	for (int t = 0; t < trials; t++) {
		double a[10], b[10];
		for (int i = 0; i < 10; i++) {
			a[i] = 100 * exp(0.02 * hvb_rng_normal(&rng));
			b[i] = 105 * exp(0.02 * hvb_rng_normal(&rng));
		}
		hvb_bootstrap_ratio_ci(a, 10, b, 10, 0.95, 1000, &rng, &lo, &hi);
		covered += lo <= 1.05 && 1.05 <= hi;
	}
	diag("95%% interval covered the true ratio 1.05 in %d of %d trials", covered, trials);
	/* the percentile bootstrap of a median under-covers a little at n = 10 */
	TAP_OK(covered >= 0.88 * trials, "bootstrap interval coverage >= 88% at nominal 95%");
	double a[] = { 10, 11, 12, 13, 14 }, b[] = { 20, 21, 22, 23, 24 };
	struct hvb_rng r1, r2;
	hvb_rng_seed(&r1, 9);
	hvb_rng_seed(&r2, 9);
	hvb_bootstrap_ratio_ci(a, 5, b, 5, 0.9, 2000, &r1, &lo, &hi);
	hvb_bootstrap_ratio_ci(a, 5, b, 5, 0.9, 2000, &r2, &lo2, &hi2);
	TAP_OK(lo == lo2 && hi == hi2, "the same seed gives the same interval");
	TAP_OK(lo >= 20.0 / 14 && hi <= 24.0 / 10 && lo < 22.0 / 12 && 22.0 / 12 < hi,
	       "interval lies within the possible ratios and holds the observed one");
}

static void test_signflip(void)
{
	const double up[] = { 1, 2, 3, 4, 5 }, mixed[] = { 1, -2, 3, 4, 5 };
	const double zeros[] = { 0, 0, 0 }, with0[] = { 0, 1, 2, 3, 4, 5 };
	struct hvb_perm_result res, mc;
	struct hvb_rng rng;
	double d[16], lo, hi;
	const double one[] = { 3, 3, 3 };
	int rejected = 0;

	hvb_rng_seed(&rng, 3);
	hvb_signflip_test(up, 5, 1000, 0, &rng, &res);
	/* R: wilcox.test(1:5)$p.value = 0.0625 */
	TAP_OK(res.exact && res.count == 32 && near(res.p, 0.0625, 1e-12),
	       "signed-rank, all 5 positive: exact p = 2/32 (as R's wilcox.test)");
	hvb_signflip_test(mixed, 5, 1000, 0, &rng, &res);
	/* R: wilcox.test(c(1,-2,3,4,5))$p.value = 0.1875 */
	TAP_OK(near(res.p, 0.1875, 1e-12), "signed-rank {1,-2,3,4,5}: p = 6/32");
	hvb_signflip_test(zeros, 3, 1000, 0, &rng, &res);
	TAP_OK(res.p == 1, "no non-zero difference: p = 1");
	hvb_signflip_test(with0, 6, 1000, 0, &rng, &res);
	TAP_OK(near(res.p, 0.0625, 1e-12), "zero differences are dropped");
	for (int i = 0; i < 16; i++)
		d[i] = 0.3 + hvb_rng_normal(&rng);
	hvb_signflip_test(d, 16, 1 << 16, 0, &rng, &res);
	hvb_signflip_test(d, 16, 1000, 20000, &rng, &mc);
	printf("# 16 pairs: exact p %.5f, Monte Carlo p %.5f\n", res.p, mc.p);
	TAP_OK(res.exact && !mc.exact && near(res.p, mc.p, 0.01),
	       "sign flips: Monte Carlo p within 0.01 of the exact p");
	for (int t = 0; t < 2000; t++) {
		for (int i = 0; i < 10; i++)
			d[i] = 0.02 * hvb_rng_normal(&rng);
		hvb_signflip_test(d, 10, 1024, 0, &rng, &res);
		rejected += res.p < 0.05;
	}
	printf("# sign-flip null rejection rate at 0.05: %.4f\n", rejected / 2000.0);
	TAP_OK(rejected / 2000.0 <= 0.05 + 3 * sqrt(0.05 * 0.95 / 2000) && rejected / 2000.0 >= 0.025,
	       "sign-flip test: false-positive rate <= alpha, not needlessly conservative");
	TAP_OK(!hvb_bootstrap_median_ci(one, 3, 0.95, 500, &rng, &lo, &hi) && lo == 3 && hi == 3,
	       "bootstrap of a constant median is the point");
	TAP_EQ_INT(hvb_bootstrap_median_ci(one, 0, 0.95, 500, &rng, &lo, &hi), -EINVAL,
		   "bootstrap of nothing is refused");
}

int main(void)
{
	test_rng();
	test_order_statistics();
	test_ranks_binomial_bh();
	test_permutation_known();
	test_permutation_mc();
	test_permutation_null();
	test_bootstrap();
	test_signflip();
	return tap_done();
}
