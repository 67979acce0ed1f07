/* Small-sample statistics: see stats.h for the contracts. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "util.h"

/* ------------------------------------------------------------------ PRNG */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void hvb_rng_seed(struct hvb_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t hvb_rng_next(struct hvb_rng *r)
{
	uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

double hvb_rng_uniform(struct hvb_rng *r)
{
	return (double)(hvb_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Lemire's multiply-and-reject: unbiased for every n. */
uint64_t hvb_rng_below(struct hvb_rng *r, uint64_t n)
{
	unsigned __int128 m = (unsigned __int128)hvb_rng_next(r) * n;
	uint64_t lo = (uint64_t)m;

	if (lo < n) {
		uint64_t t = -n % n;
		while (lo < t) {
			m = (unsigned __int128)hvb_rng_next(r) * n;
			lo = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

double hvb_rng_normal(struct hvb_rng *r)
{
	double u, v, s;

	do {
		u = 2 * hvb_rng_uniform(r) - 1;
		v = 2 * hvb_rng_uniform(r) - 1;
		s = u * u + v * v;
	} while (s >= 1 || s == 0);
	return u * sqrt(-2 * log(s) / s);
}

/* ---------------------------------------------------- order statistics */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sort x in place: insertion sort for the small arrays of the resampling
 * loops (a handful of repetitions), qsort otherwise. */
static void sort_doubles(double *x, size_t n)
{
	if (n > 32) {
		qsort(x, n, sizeof(*x), cmp_double);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		double v = x[i];
		size_t j = i;
		while (j > 0 && x[j - 1] > v) {
			x[j] = x[j - 1];
			j--;
		}
		x[j] = v;
	}
}

double __hvb_median_inplace(double *x, size_t n)
{
	if (!n)
		return NAN;
	sort_doubles(x, n);
	if (n % 2)
		return x[n / 2];
	return x[n / 2 - 1] + (x[n / 2] - x[n / 2 - 1]) / 2;
}

double hvb_median(const double *x, size_t n)
{
	double buf[64], *t, m;

	if (!n)
		return NAN;
	t = n <= ARRAY_SIZE(buf) ? buf : xmalloc(n * sizeof(*t));
	memcpy(t, x, n * sizeof(*t));
	m = __hvb_median_inplace(t, n);
	if (t != buf)
		free(t);
	return m;
}

double hvb_quantile_sorted(const double *sorted, size_t n, double q)
{
	double h, f;
	size_t i;

	if (!n)
		return NAN;
	if (q <= 0)
		return sorted[0];
	if (q >= 1)
		return sorted[n - 1];
	h = (double)(n - 1) * q;
	i = (size_t)h;
	f = h - (double)i;
	if (i + 1 >= n)
		return sorted[n - 1];
	return sorted[i] + f * (sorted[i + 1] - sorted[i]);
}

double hvb_quantile(const double *x, size_t n, double q)
{
	double *t, v;

	if (!n)
		return NAN;
	t = xmalloc(n * sizeof(*t));
	memcpy(t, x, n * sizeof(*t));
	qsort(t, n, sizeof(*t), cmp_double);
	v = hvb_quantile_sorted(t, n, q);
	free(t);
	return v;
}

double hvb_mad(const double *x, size_t n)
{
	double *d, m, mad;

	if (!n)
		return NAN;
	m = hvb_median(x, n);
	d = xmalloc(n * sizeof(*d));
	for (size_t i = 0; i < n; i++)
		d[i] = fabs(x[i] - m);
	mad = __hvb_median_inplace(d, n);
	free(d);
	return mad;
}

/* -------------------------------------------------------------- tests */

/*
 * Median of a resample (with replacement) of sorted[0..n) without sorting
 * it: draw how often each order statistic is picked, then walk the counts
 * to the middle.  cnt has room for n counters.
 */
static double resample_median(const double *sorted, size_t n, unsigned *cnt, struct hvb_rng *rng)
{
	size_t lo_k = (n - 1) / 2, hi_k = n / 2, cum = 0;
	double lo = NAN;

	memset(cnt, 0, n * sizeof(*cnt));
	for (size_t i = 0; i < n; i++)
		cnt[hvb_rng_below(rng, n)]++;
	for (size_t j = 0; j < n; j++) {
		cum += cnt[j];
		if (isnan(lo) && cum > lo_k)
			lo = sorted[j];
		if (cum > hi_k)
			return lo + (sorted[j] - lo) / 2;
	}
	return NAN; /* not reached: the counts add up to n */
}

int hvb_bootstrap_ratio_ci(const double *a, size_t na, const double *b, size_t nb, double conf,
			   unsigned iters, struct hvb_rng *rng, double *lo, double *hi)
{
	double *sa, *sb, *ratio;
	unsigned *cnt;
	int ret = 0;

	if (!na || !nb || !(conf > 0 && conf < 1) || iters < 2)
		return -EINVAL;
	sa = xmalloc(na * sizeof(*sa));
	sb = xmalloc(nb * sizeof(*sb));
	cnt = xmalloc((na > nb ? na : nb) * sizeof(*cnt));
	ratio = xmalloc(iters * sizeof(*ratio));
	memcpy(sa, a, na * sizeof(*sa));
	memcpy(sb, b, nb * sizeof(*sb));
	sort_doubles(sa, na);
	sort_doubles(sb, nb);
	for (unsigned it = 0; it < iters; it++) {
		double ma = resample_median(sa, na, cnt, rng);
		double mb = resample_median(sb, nb, cnt, rng);
		if (ma == 0) {
			ret = -EINVAL;
			goto out;
		}
		ratio[it] = mb / ma;
	}
	qsort(ratio, iters, sizeof(*ratio), cmp_double);
	*lo = hvb_quantile_sorted(ratio, iters, (1 - conf) / 2);
	*hi = hvb_quantile_sorted(ratio, iters, (1 + conf) / 2);
out:
	free(ratio);
	free(cnt);
	free(sb);
	free(sa);
	return ret;
}

int hvb_bootstrap_median_ci(const double *x, size_t n, double conf, unsigned iters,
			    struct hvb_rng *rng, double *lo, double *hi)
{
	double *sx, *med;
	unsigned *cnt;

	if (!n || !(conf > 0 && conf < 1) || iters < 2)
		return -EINVAL;
	sx = xmalloc(n * sizeof(*sx));
	cnt = xmalloc(n * sizeof(*cnt));
	med = xmalloc(iters * sizeof(*med));
	memcpy(sx, x, n * sizeof(*sx));
	sort_doubles(sx, n);
	for (unsigned it = 0; it < iters; it++)
		med[it] = resample_median(sx, n, cnt, rng);
	qsort(med, iters, sizeof(*med), cmp_double);
	*lo = hvb_quantile_sorted(med, iters, (1 - conf) / 2);
	*hi = hvb_quantile_sorted(med, iters, (1 + conf) / 2);
	free(med);
	free(cnt);
	free(sx);
	return 0;
}

uint64_t hvb_binomial(unsigned n, unsigned k)
{
	unsigned __int128 c = 1;

	if (k > n)
		return 0;
	if (k > n - k)
		k = n - k;
	for (unsigned i = 1; i <= k; i++) {
		/* c * (n - k + i) / i stays exact: c is C(n-k+i-1, i-1) */
		c = c * (n - k + i) / i;
		if (c > UINT64_MAX)
			return UINT64_MAX;
	}
	return (uint64_t)c;
}

/*
 * The statistic is |sum of group a's ranks - its expectation|, ranks taken
 * once over the pooled values (midranks for ties), so a relabelling only
 * re-sums ranks.  Midranks are multiples of 1/2: the sums are exact in
 * double, and "as extreme" needs no tolerance.
 */
struct perm_ctx {
	const double *rank;
	size_t na, n;
	double expect, observed;
};

static double stat_split(const struct perm_ctx *c, const unsigned char *in_a)
{
	double s = 0;

	for (size_t i = 0; i < c->n; i++)
		if (in_a[i])
			s += c->rank[i];
	return fabs(s - c->expect);
}

/* Enumerate every na-subset of n in lexicographic order; returns hits. */
static uint64_t perm_exact(const struct perm_ctx *c, unsigned char *in_a, uint64_t *count)
{
	size_t *idx = xmalloc(c->na * sizeof(*idx));
	uint64_t hits = 0;

	for (size_t i = 0; i < c->na; i++)
		idx[i] = i;
	*count = 0;
	for (;;) {
		memset(in_a, 0, c->n);
		for (size_t i = 0; i < c->na; i++)
			in_a[idx[i]] = 1;
		if (stat_split(c, in_a) >= c->observed)
			hits++;
		(*count)++;
		/* next combination: bump the rightmost index that can move */
		size_t i = c->na;
		while (i > 0 && idx[i - 1] == c->n - c->na + i - 1)
			i--;
		if (i == 0)
			break;
		idx[i - 1]++;
		for (size_t j = i; j < c->na; j++)
			idx[j] = idx[j - 1] + 1;
	}
	free(idx);
	return hits;
}

/* Random relabellings: a partial Fisher-Yates shuffle picks group a, whose
 * rank sum is added up on the way. */
static uint64_t perm_monte_carlo(const struct perm_ctx *c, unsigned iters, struct hvb_rng *rng)
{
	size_t *order = xmalloc(c->n * sizeof(*order));
	uint64_t hits = 0;

	for (size_t i = 0; i < c->n; i++)
		order[i] = i;
	for (unsigned it = 0; it < iters; it++) {
		double s = 0;
		for (size_t i = 0; i < c->na; i++) {
			size_t j = i + hvb_rng_below(rng, c->n - i), t = order[i];
			order[i] = order[j];
			order[j] = t;
			s += c->rank[order[i]];
		}
		if (fabs(s - c->expect) >= c->observed)
			hits++;
	}
	free(order);
	return hits;
}

struct ranked {
	double v;
	size_t i;
};

static int cmp_ranked(const void *x, const void *y)
{
	const struct ranked *a = x, *b = y;

	return (a->v > b->v) - (a->v < b->v);
}

void hvb_midranks(const double *x, size_t n, double *rank)
{
	struct ranked *r = xmalloc((n ? n : 1) * sizeof(*r));

	for (size_t i = 0; i < n; i++)
		r[i] = (struct ranked){ x[i], i };
	qsort(r, n, sizeof(*r), cmp_ranked);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && r[j].v == r[i].v)
			j++;
		/* positions i..j-1 (1-based i+1..j) share their mean rank */
		for (size_t k = i; k < j; k++)
			rank[r[k].i] = (double)(i + 1 + j) / 2;
		i = j;
	}
	free(r);
}

int hvb_permutation_test(const double *a, size_t na, const double *b, size_t nb,
			 uint64_t max_exact, unsigned iters, struct hvb_rng *rng,
			 struct hvb_perm_result *res)
{
	size_t n = na + nb;
	uint64_t total = n <= UINT32_MAX ? hvb_binomial((unsigned)n, (unsigned)na) : UINT64_MAX;
	struct perm_ctx c = { .na = na, .n = n };
	double *pooled, *rank;
	unsigned char *in_a;
	uint64_t hits;

	if (!na || !nb)
		return -EINVAL;
	if (total > max_exact && !iters)
		return -EINVAL;
	pooled = xmalloc(n * sizeof(*pooled));
	rank = xmalloc(n * sizeof(*rank));
	memcpy(pooled, a, na * sizeof(*a));
	memcpy(pooled + na, b, nb * sizeof(*b));
	hvb_midranks(pooled, n, rank);
	c.rank = rank;
	c.expect = (double)na * (double)(n + 1) / 2;
	in_a = xmalloc(n);
	memset(in_a, 0, n);
	memset(in_a, 1, na);
	c.observed = stat_split(&c, in_a);
	/* both extreme orderings give the same |statistic| */
	res->min_p = 2.0 / (double)total;
	if (total <= max_exact) {
		hits = perm_exact(&c, in_a, &res->count);
		res->exact = true;
		res->p = (double)hits / (double)res->count;
	} else {
		hits = perm_monte_carlo(&c, iters, rng);
		res->exact = false;
		res->count = iters;
		res->p = (double)(hits + 1) / ((double)iters + 1);
		res->min_p = fmax(res->min_p, 1.0 / ((double)iters + 1));
	}
	free(in_a);
	free(rank);
	free(pooled);
	return 0;
}

int hvb_signflip_test(const double *d, size_t n, uint64_t max_exact, unsigned iters,
		      struct hvb_rng *rng, struct hvb_perm_result *res)
{
	double *abs_d, *rank, observed = 0;
	size_t m = 0;
	uint64_t hits = 0, total;

	if (!n)
		return -EINVAL;
	abs_d = xmalloc(n * sizeof(*abs_d));
	rank = xmalloc(n * sizeof(*rank));
	for (size_t i = 0; i < n; i++)
		if (d[i] != 0)
			abs_d[m++] = fabs(d[i]);
	hvb_midranks(abs_d, m, rank);
	/* signed ranks of the observation, in the order of abs_d */
	for (size_t i = 0, j = 0; i < n; i++)
		if (d[i] != 0)
			observed += d[i] > 0 ? rank[j++] : -rank[j++];
	observed = fabs(observed);
	total = m < 64 ? 1ull << m : UINT64_MAX;
	res->min_p = m ? 2.0 / (double)total : 1;
	if (!m) {
		res->p = 1;
		res->exact = true;
		res->count = 1;
	} else if (total <= max_exact) {
		/* every sign vector: bit i of s set = rank i negative */
		for (uint64_t s = 0; s < total; s++) {
			double t = 0;
			for (size_t i = 0; i < m; i++)
				t += s >> i & 1 ? -rank[i] : rank[i];
			hits += fabs(t) >= observed;
		}
		res->exact = true;
		res->count = total;
		res->p = (double)hits / (double)total;
	} else if (iters) {
		for (unsigned it = 0; it < iters; it++) {
			double t = 0;
			uint64_t bits = 0;
			for (size_t i = 0; i < m; i++) {
				if (i % 64 == 0)
					bits = hvb_rng_next(rng);
				t += bits >> (i % 64) & 1 ? -rank[i] : rank[i];
			}
			hits += fabs(t) >= observed;
		}
		res->exact = false;
		res->count = iters;
		res->p = (double)(hits + 1) / ((double)iters + 1);
		res->min_p = fmax(res->min_p, 1.0 / ((double)iters + 1));
	} else {
		free(rank);
		free(abs_d);
		return -EINVAL;
	}
	free(rank);
	free(abs_d);
	return 0;
}

struct bh_item {
	double p;
	size_t i;
};

static int cmp_bh(const void *x, const void *y)
{
	const struct bh_item *a = x, *b = y;

	return (a->p > b->p) - (a->p < b->p);
}

void hvb_bh_adjust(const double *p, size_t m, double *q)
{
	struct bh_item *it = xmalloc((m ? m : 1) * sizeof(*it));
	size_t k = 0;
	double run = 1;

	for (size_t i = 0; i < m; i++)
		if (!isnan(p[i]))
			it[k++] = (struct bh_item){ p[i], i };
	for (size_t i = 0; i < m; i++)
		if (isnan(p[i]))
			q[i] = NAN;
	qsort(it, k, sizeof(*it), cmp_bh);
	/* step up from the largest p: q(j) = min(q(j+1), p(j) * k / j) */
	for (size_t j = k; j > 0; j--) {
		double v = it[j - 1].p * (double)k / (double)j;
		run = fmin(run, v);
		q[it[j - 1].i] = run;
	}
	free(it);
}
