/*
 * A latency histogram with bounded relative error (HdrHistogram's idea at
 * 4 bits of precision): values below 16 have a bucket each, every power of
 * two above is split into 16 equal sub-buckets, so a bucket is at most
 * 1/16 (6.25 %) of its values wide.  Adding is a shift and an increment,
 * nothing is allocated, so it can sit on the path it measures.  Count,
 * sum, min and max are exact; quantiles are the middle of the bucket that
 * holds the rank, clamped to [min, max], so within 1/32 of the true value
 * relative to it.
 *
 * Units are the caller's (cycles on the hot path, converted once at the
 * end).  Values at or above 2^HVB_LATHIST_MAX_EXP go into the last bucket
 * (max stays exact).
 */
#ifndef HVB_LATHIST_H
#define HVB_LATHIST_H

#include <stdint.h>

#define HVB_LATHIST_SUB_BITS 4
#define HVB_LATHIST_SUB	     (1u << HVB_LATHIST_SUB_BITS)
#define HVB_LATHIST_MAX_EXP  44 /* 2^44 cycles: over an hour at 4 GHz */
#define HVB_LATHIST_BUCKETS                                                                   \
	(HVB_LATHIST_SUB + (HVB_LATHIST_MAX_EXP - HVB_LATHIST_SUB_BITS) * HVB_LATHIST_SUB)

struct hvb_lathist {
	uint64_t n, sum, min, max;
	uint32_t bucket[HVB_LATHIST_BUCKETS];
};

void hvb_lathist_reset(struct hvb_lathist *h);

/* Bucket index of v (exposed for the tests). */
static inline unsigned hvb_lathist_index(uint64_t v)
{
	unsigned e, i;

	if (v < HVB_LATHIST_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);
	if (e >= HVB_LATHIST_MAX_EXP)
		return HVB_LATHIST_BUCKETS - 1;
	i = (unsigned)(v >> (e - HVB_LATHIST_SUB_BITS)) & (HVB_LATHIST_SUB - 1);
	return HVB_LATHIST_SUB + (e - HVB_LATHIST_SUB_BITS) * HVB_LATHIST_SUB + i;
}

static inline void hvb_lathist_add(struct hvb_lathist *h, uint64_t v)
{
	h->bucket[hvb_lathist_index(v)]++;
	h->sum += v;
	if (!h->n || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->n++;
}

/* dst += src (vCPUs merged at the end of a repetition). */
void hvb_lathist_merge(struct hvb_lathist *dst, const struct hvb_lathist *src);

/* The smallest and the largest value bucket i holds. */
void hvb_lathist_bounds(unsigned i, uint64_t *lo, uint64_t *hi);

/* The q-quantile (0 <= q <= 1) by the nearest-rank rule: the value of rank
 * ceil(q * n), as the middle of its bucket clamped to [min, max]; q = 1 is
 * max exactly.  0 when the histogram is empty. */
uint64_t hvb_lathist_quantile(const struct hvb_lathist *h, double q);

#endif
