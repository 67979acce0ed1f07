/* Latency histogram (lathist.h). */
#include "lathist.h"

#include <math.h>
#include <string.h>

void hvb_lathist_reset(struct hvb_lathist *h)
{
	memset(h, 0, sizeof(*h));
}

void hvb_lathist_merge(struct hvb_lathist *dst, const struct hvb_lathist *src)
{
	if (!src->n)
		return;
	for (unsigned i = 0; i < HVB_LATHIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	if (!dst->n || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->n += src->n;
	dst->sum += src->sum;
}

void hvb_lathist_bounds(unsigned i, uint64_t *lo, uint64_t *hi)
{
	unsigned e, sub;

	if (i < HVB_LATHIST_SUB) {
		*lo = *hi = i;
		return;
	}
	e = (i - HVB_LATHIST_SUB) / HVB_LATHIST_SUB + HVB_LATHIST_SUB_BITS;
	sub = (i - HVB_LATHIST_SUB) % HVB_LATHIST_SUB;
	*lo = ((uint64_t)(HVB_LATHIST_SUB + sub)) << (e - HVB_LATHIST_SUB_BITS);
	*hi = *lo + (1ull << (e - HVB_LATHIST_SUB_BITS)) - 1;
	if (i == HVB_LATHIST_BUCKETS - 1)
		*hi = UINT64_MAX; /* the overflow bucket */
}

static uint64_t clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

uint64_t hvb_lathist_quantile(const struct hvb_lathist *h, double q)
{
	uint64_t rank, seen = 0, lo, hi;

	if (!h->n)
		return 0;
	if (q >= 1.0)
		return h->max;
	rank = (uint64_t)ceil(q * (double)h->n);
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < HVB_LATHIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen < rank)
			continue;
		hvb_lathist_bounds(i, &lo, &hi);
		return clamp(lo + (hi - lo) / 2, h->min, h->max);
	}
	return h->max;
}
