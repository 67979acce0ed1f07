/*
 * probes/lathist: bucket layout (every value falls in the bucket whose
 * bounds hold it, buckets are contiguous), quantiles against an exact sort
 * within the promised 1/32, merging, and the edges (empty, overflow).
 */
#include <stdlib.h>
#include <string.h>

#include "lathist.h"
#include "tap.h"

static struct hvb_lathist h, h2;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_buckets(void)
{
	uint64_t lo, hi, prev_hi = 0;
	int bad_cover = 0, bad_width = 0;

	for (unsigned i = 0; i < HVB_LATHIST_BUCKETS - 1; i++) {
		hvb_lathist_bounds(i, &lo, &hi);
		if (i && lo != prev_hi + 1)
			bad_cover++;
		if (hvb_lathist_index(lo) != i || hvb_lathist_index(hi) != i)
			bad_cover++;
		if (lo >= 16 && (hi - lo + 1) * 16 > lo)
			bad_width++;
		prev_hi = hi;
	}
	TAP_EQ_INT(bad_cover, 0, "buckets are contiguous and hold their bounds");
	TAP_EQ_INT(bad_width, 0, "no bucket is wider than 1/16 of its lower bound");
	TAP_EQ_INT(hvb_lathist_index(UINT64_MAX), HVB_LATHIST_BUCKETS - 1,
		   "huge values go to the overflow bucket");
	TAP_EQ_INT(hvb_lathist_index(7), 7, "small values are exact");
}

static int within(uint64_t got, uint64_t want)
{
	double d = (double)got - (double)want;
	return (d < 0 ? -d : d) <= (double)want / 32.0 + 1.0;
}

static void test_quantiles(void)
{
	enum { N = 10007 };
	static uint64_t v[N];
	double qs[] = { 0.5, 0.9, 0.99 };
	int bad = 0;

	srand(42);
	hvb_lathist_reset(&h);
	for (int i = 0; i < N; i++) {
		/* a long tail: mostly ~50k cycles, some 10x */
		v[i] = 40000 + (uint64_t)(rand() % 20000) + (i % 97 == 0 ? 500000 : 0);
		hvb_lathist_add(&h, v[i]);
	}
	qsort(v, N, sizeof(v[0]), cmp_u64);
	for (unsigned k = 0; k < 3; k++) {
		size_t rank = (size_t)((qs[k] * N) + 0.999999);
		if (!within(hvb_lathist_quantile(&h, qs[k]), v[rank - 1]))
			bad++;
	}
	TAP_EQ_INT(bad, 0, "p50/p90/p99 within 1/32 of the exact nearest rank");
	TAP_EQ_INT(hvb_lathist_quantile(&h, 1.0), v[N - 1], "q=1 is max, exactly");
	TAP_EQ_INT(h.min, v[0], "min is exact");
	TAP_EQ_INT(h.n, N, "count");
}

static void test_merge_and_edges(void)
{
	hvb_lathist_reset(&h);
	hvb_lathist_reset(&h2);
	TAP_EQ_INT(hvb_lathist_quantile(&h, 0.5), 0, "empty: 0");
	hvb_lathist_add(&h, 100);
	hvb_lathist_add(&h2, 1000);
	hvb_lathist_add(&h2, 1000);
	hvb_lathist_merge(&h, &h2);
	TAP_EQ_INT(h.n, 3, "merged count");
	TAP_EQ_INT(h.sum, 2100, "merged sum");
	TAP_EQ_INT(h.min, 100, "merged min");
	TAP_OK(within(hvb_lathist_quantile(&h, 0.5), 1000), "merged median is the 1000s");
	TAP_OK(within(hvb_lathist_quantile(&h, 0.1), 100), "lowest rank is the 100");
	hvb_lathist_reset(&h2);
	hvb_lathist_add(&h2, 1000); /* bucket [992, 1023], middle 1007 */
	TAP_EQ_INT(hvb_lathist_quantile(&h2, 0.5), 1000, "a bucket's middle is clamped to [min, max]");
	hvb_lathist_reset(&h2);
	hvb_lathist_merge(&h, &h2);
	TAP_EQ_INT(h.n, 3, "merging an empty one changes nothing");
	hvb_lathist_reset(&h);
	hvb_lathist_add(&h, 1ull << 50);
	TAP_EQ_INT(hvb_lathist_quantile(&h, 0.5), 1ull << 50, "overflow bucket clamps to max");
}

int main(void)
{
	test_buckets();
	test_quantiles();
	test_merge_and_edges();
	return tap_done();
}
