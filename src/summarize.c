/*
 * Summary engine: see summarize.h.  Names are interned once (a run of 10^6
 * rows has a few thousand distinct names), each series keeps only its
 * (repetition, value) pairs, and each run's parsed rows are freed as soon
 * as they are folded in, so memory follows the values, not the rows.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json_out.h"
#include "results.h"
#include "stats.h"
#include "summarize.h"
#include "summary.h"
#include "util.h"

#define NONE UINT32_MAX

static unsigned default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > HVB_SUM_MAX_THREADS ? HVB_SUM_MAX_THREADS : (unsigned)n;
}

void hvb_sum_opts_init(struct hvb_sum_opts *o)
{
	/* compare's defaults (hvb_cmp_opts_init): one engine, one answer */
	*o = (struct hvb_sum_opts){
		.seed = 1,
		.confidence = 0.95,
		.iters = 10000,
		.max_exact = 20000,
		.min_reps = 3,
		.threads = default_threads(),
	};
}

/* ------------------------------------------------- tuple -> id map */

/* Open addressing over 4 x uint32 keys; values are indexes. */
struct tmap {
	size_t cap, n;
	uint32_t (*key)[4];
	uint32_t *val; /* NONE: empty slot */
};

static uint64_t tuple_hash(const uint32_t k[4])
{
	uint64_t h = 0x9e3779b97f4a7c15ull;

	for (int i = 0; i < 4; i++)
		h = (h ^ k[i]) * 0xff51afd7ed558ccdull, h ^= h >> 32;
	return h;
}

static void tmap_grow(struct tmap *m);

static uint32_t *tmap_slot(struct tmap *m, const uint32_t k[4], bool *found)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap)
		tmap_grow(m);
	for (i = tuple_hash(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->val[i] == NONE) {
			*found = false;
			memcpy(m->key[i], k, sizeof(m->key[i]));
			return &m->val[i];
		}
		if (!memcmp(m->key[i], k, sizeof(m->key[i]))) {
			*found = true;
			return &m->val[i];
		}
	}
}

static void tmap_grow(struct tmap *m)
{
	struct tmap old = *m;
	bool found;

	m->cap = old.cap ? 2 * old.cap : 64;
	m->n = 0;
	m->key = xcalloc(m->cap, sizeof(*m->key));
	m->val = xmalloc(m->cap * sizeof(*m->val));
	memset(m->val, 0xff, m->cap * sizeof(*m->val));
	for (size_t i = 0; i < old.cap; i++)
		if (old.val[i] != NONE) {
			*tmap_slot(m, old.key[i], &found) = old.val[i];
			m->n++;
		}
	free(old.key), free(old.val);
}

/* Value of k, or NONE. */
static uint32_t tmap_get(struct tmap *m, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	const uint32_t k[4] = { a, b, c, d };
	bool found;
	uint32_t *v = tmap_slot(m, k, &found);

	return found ? *v : NONE;
}

/* Value of k; when absent, k gets next (returned) and *added is set. */
static uint32_t tmap_put(struct tmap *m, const uint32_t k[4], uint32_t next, bool *added)
{
	bool found;
	uint32_t *v = tmap_slot(m, k, &found);

	*added = !found;
	if (!found) {
		*v = next;
		m->n++;
	}
	return *v;
}

static void tmap_free(struct tmap *m)
{
	free(m->key), free(m->val);
}

/* ------------------------------------------------------- interning */

struct names {
	size_t n;
	char **s;
	struct tmap by_hash; /* (hash lo, hash hi, probe, 0) -> id */
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* The id of s, adding it; equal strings have equal ids. */
static uint32_t intern(struct names *t, const char *s)
{
	uint64_t h = str_hash(s ? s : "");
	bool added;

	s = s ? s : "";
	/* colliding hashes take the next probe number */
	for (uint32_t probe = 0;; probe++) {
		const uint32_t k[4] = { (uint32_t)h, (uint32_t)(h >> 32), probe, 0 };
		uint32_t id = tmap_put(&t->by_hash, k, (uint32_t)t->n, &added);
		if (added) {
			t->s = realloc(t->s, (t->n + 1) * sizeof(*t->s));
			if (!t->s)
				abort();
			t->s[t->n++] = xstrdup(s);
			return id;
		}
		if (!strcmp(t->s[id], s))
			return id;
	}
}

/* ------------------------------------------------------------ model */

struct series {
	uint32_t run, runner, workload, metric, unit;
	int better;
	long line; /* of its first row, for errors across runs */
	size_t n, cap;
	long *rep;
	double *v;
	size_t n_notes;
	uint32_t *notes; /* distinct non-empty notes of its rows */
};

struct problem {
	uint32_t run, runner, workload, metric, note;
	long rep, line;
	enum hvb_status status;
};

/* The workloads one (run, runner) has rows for, in order of appearance. */
struct cells {
	uint32_t run, runner;
	size_t n;
	uint32_t *workload;
};

struct run_info {
	char *dir, *run_id, *status, *samples_file;
	size_t n_warnings;
	char **warnings;
};

struct summary {
	struct names names;
	size_t n_runs;
	struct run_info *runs;
	size_t n_series, n_problems, n_cells;
	struct series *series;
	struct problem *problems;
	struct cells *cells;
	struct tmap series_by_key, cell_seen, cells_by_runner, primary;
	size_t n_workloads;
	uint32_t *workloads; /* distinct, in order of appearance */
};

/* Room for element n of v, whose capacity is the power of two >= n:
 * appends are amortized O(1) without storing a capacity. */
static void *grow(void *v, size_t n, size_t size)
{
	if (n & (n - 1))
		return v;
	v = realloc(v, (n ? 2 * n : 1) * size);
	if (!v)
		abort();
	return v;
}

static void fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static void note_add(struct summary *s, struct series *x, const char *note)
{
	uint32_t id;

	if (!note || !*note)
		return;
	id = intern(&s->names, note);
	for (size_t i = 0; i < x->n_notes; i++)
		if (x->notes[i] == id)
			return;
	x->notes = grow(x->notes, x->n_notes, sizeof(*x->notes));
	x->notes[x->n_notes++] = id;
}

static int series_push(struct summary *s, const struct run_info *ri, uint32_t run,
		       const struct hvb_sample_row *r, char *err, size_t len)
{
	uint32_t k[4] = { run, intern(&s->names, r->runner), intern(&s->names, r->workload),
			  intern(&s->names, r->metric) };
	uint32_t unit = intern(&s->names, r->unit);
	bool added;
	uint32_t i = tmap_put(&s->series_by_key, k, (uint32_t)s->n_series, &added);
	struct series *x;

	if (added) {
		s->series = grow(s->series, s->n_series, sizeof(*s->series));
		s->series[s->n_series++] = (struct series){ .run = run, .runner = k[1],
							    .workload = k[2], .metric = k[3],
							    .unit = unit, .better = r->better,
							    .line = r->line };
	}
	x = &s->series[i];
	/* worded as the report's check across series (load.py check_units) */
	if (x->unit != unit) {
		fail(err, len, "%s:%ld: %s %s is in unit '%s' but %s:%ld has '%s': units disagree "
		     "for the same metric", ri->samples_file, r->line, r->workload, r->metric,
		     r->unit, ri->samples_file, x->line, s->names.s[x->unit]);
		return -EINVAL;
	}
	if (x->better != r->better) {
		fail(err, len, "%s:%ld: %s %s says better=%s but %s:%ld says better=%s",
		     ri->samples_file, r->line, r->workload, r->metric, hvb_better_name(r->better),
		     ri->samples_file, x->line, hvb_better_name(x->better));
		return -EINVAL;
	}
	for (size_t j = 0; j < x->n; j++)
		if (x->rep[j] == r->rep) {
			fail(err, len, "%s:%ld: %s %s %s: repetition %ld appears twice",
			     ri->samples_file, r->line, r->runner, r->workload, r->metric, r->rep);
			return -EINVAL;
		}
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 4;
		x->rep = realloc(x->rep, x->cap * sizeof(*x->rep));
		x->v = realloc(x->v, x->cap * sizeof(*x->v));
		if (!x->rep || !x->v)
			abort();
	}
	x->rep[x->n] = r->rep;
	x->v[x->n++] = r->value;
	note_add(s, x, r->note);
	return 0;
}

static void problem_add(struct summary *s, uint32_t run, const struct hvb_sample_row *r)
{
	s->problems = grow(s->problems, s->n_problems, sizeof(*s->problems));
	s->problems[s->n_problems++] = (struct problem){
		.run = run,
		.runner = intern(&s->names, r->runner),
		.workload = intern(&s->names, r->workload),
		.metric = intern(&s->names, r->metric),
		.note = intern(&s->names, r->note),
		.rep = r->rep,
		.line = r->line,
		.status = r->status,
	};
}

/* Remember that (run, runner) has a row of workload; and its primary metric. */
static void cell_add(struct summary *s, const struct hvb_run *hr, uint32_t run,
		     const struct hvb_sample_row *r)
{
	uint32_t runner = intern(&s->names, r->runner), wl = intern(&s->names, r->workload);
	const uint32_t seen[4] = { run, runner, wl, 0 }, group[4] = { run, runner, 0, 1 };
	const uint32_t wkey[4] = { NONE, wl, 0, 2 };
	bool added;
	uint32_t g;
	struct cells *c;

	tmap_put(&s->cell_seen, seen, 0, &added);
	if (!added)
		return;
	g = tmap_put(&s->cells_by_runner, group, (uint32_t)s->n_cells, &added);
	if (added) {
		s->cells = grow(s->cells, s->n_cells, sizeof(*s->cells));
		s->cells[s->n_cells++] = (struct cells){ .run = run, .runner = runner };
	}
	c = &s->cells[g];
	c->workload = grow(c->workload, c->n, sizeof(*c->workload));
	c->workload[c->n++] = wl;
	tmap_put(&s->cell_seen, wkey, 0, &added);
	if (added) {
		s->workloads = grow(s->workloads, s->n_workloads, sizeof(*s->workloads));
		s->workloads[s->n_workloads++] = wl;
	}
	const uint32_t pkey[4] = { run, wl, 0, 0 };
	const char *m = hvb_primary_metric(hr, r->workload);
	tmap_put(&s->primary, pkey, m ? intern(&s->names, m) : NONE, &added);
}

static int fold_run(struct summary *s, const struct hvb_run *hr, uint32_t run, char *err,
		    size_t len)
{
	struct run_info *ri = &s->runs[run];
	const char *id = hvb_run_meta(hr, "run_id");

	ri->dir = xstrdup(hr->dir);
	ri->run_id = xstrdup(id ? id : "");
	ri->status = xstrdup(hr->status ? hr->status : "");
	ri->samples_file = xasprintf("%s/samples.csv%s", hr->dir, hr->partial ? ".partial" : "");
	ri->n_warnings = hr->n_warnings;
	ri->warnings = xcalloc(hr->n_warnings + 1, sizeof(char *));
	for (size_t i = 0; i < hr->n_warnings; i++)
		ri->warnings[i] = xstrdup(hr->warnings[i]);
	for (size_t i = 0; i < hr->n_samples; i++) {
		const struct hvb_sample_row *r = &hr->samples[i];
		cell_add(s, hr, run, r);
		if (r->status != HVB_ST_OK || !r->has_value)
			problem_add(s, run, r);
		else if (series_push(s, ri, run, r, err, len))
			return -EINVAL;
	}
	return 0;
}

static void summary_free(struct summary *s)
{
	for (size_t i = 0; i < s->names.n; i++)
		free(s->names.s[i]);
	free(s->names.s);
	tmap_free(&s->names.by_hash);
	for (size_t i = 0; i < s->n_runs; i++) {
		struct run_info *ri = &s->runs[i];
		for (size_t j = 0; j < ri->n_warnings; j++)
			free(ri->warnings[j]);
		free(ri->warnings), free(ri->dir), free(ri->run_id), free(ri->status);
		free(ri->samples_file);
	}
	free(s->runs);
	for (size_t i = 0; i < s->n_series; i++)
		free(s->series[i].rep), free(s->series[i].v), free(s->series[i].notes);
	free(s->series);
	free(s->problems);
	for (size_t i = 0; i < s->n_cells; i++)
		free(s->cells[i].workload);
	free(s->cells);
	free(s->workloads);
	tmap_free(&s->series_by_key), tmap_free(&s->cell_seen);
	tmap_free(&s->cells_by_runner), tmap_free(&s->primary);
}

/* ------------------------------------------------------- statistics */

/* P(Bin(n, 1/2) = j) */
static double half_binom_pmf(size_t n, size_t j)
{
	return exp(lgamma(n + 1.0) - lgamma(j + 1.0) - lgamma(n - j + 1.0) - (double)n * M_LN2);
}

double hvb_median_os_ci(const double *sorted, size_t n, double conf, double *lo, double *hi)
{
	double tail = half_binom_pmf(n, 0), best = 1 - 2 * tail; /* k = 1: [min, max] */
	size_t k = 1;

	/* narrow while the next interval still covers conf: tail is P(X < k + 1) */
	while (k + 1 <= (n + 1) / 2) {
		double cover = 1 - 2 * (tail + half_binom_pmf(n, k));
		if (cover < conf)
			break;
		tail += half_binom_pmf(n, k);
		best = cover;
		k++;
	}
	*lo = sorted[k - 1];
	*hi = sorted[n - k];
	return best;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* compare.c's key_hash: FNV-1a over runner, workload, metric.  It must stay
 * the same so that a pair gets compare's random stream (test_summarize
 * checks that both give the same interval). */
static uint64_t cmp_key_hash(const char *runner, const char *workload, const char *metric)
{
	const char *parts[] = { runner, workload, metric };
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		for (const char *c = parts[i]; *c; c++)
			h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
		h = (h ^ 0xff) * 0x100000001b3ull;
	}
	return h;
}

/* ------------------------------------------------------------- JSON */

/* lib/json_out's escaping, the one every JSON output of hvbench uses. */
static void json_str(FILE *f, const char *s)
{
	hvb_json_write_string(f, s);
}

/* Shortest of %.15g / %.17g that reads back exactly; null if not finite. */
static void json_num(FILE *f, double v)
{
	char buf[40];

	if (!isfinite(v)) {
		fputs("null", f);
		return;
	}
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	fputs(buf, f);
}

static void json_ci(FILE *f, bool have, double lo, double hi, const char *why)
{
	if (have) {
		fputs("\"ci\": [", f);
		json_num(f, lo);
		fputs(", ", f);
		json_num(f, hi);
		fputs("], \"ci_why\": null", f);
		return;
	}
	fputs("\"ci\": null, \"ci_why\": ", f);
	json_str(f, why);
}

static const char *name(const struct summary *s, uint32_t id)
{
	return s->names.s[id];
}

static void write_series(FILE *f, const struct summary *s, const struct series *x,
			 const struct hvb_sum_opts *o)
{
	double *v = xmalloc(x->n * sizeof(*v)), lo = 0, hi = 0, cover = NAN;
	char why[120] = "";
	bool have = x->n >= o->min_reps;

	memcpy(v, x->v, x->n * sizeof(*v));
	qsort(v, x->n, sizeof(*v), cmp_double);
	if (have)
		cover = hvb_median_os_ci(v, x->n, o->confidence, &lo, &hi);
	else
		snprintf(why, sizeof(why), "%zu repetition%s: fewer than %u, no interval", x->n,
			 x->n == 1 ? "" : "s", o->min_reps);
	fprintf(f, "    {\"run\": %u, \"runner\": ", x->run);
	json_str(f, name(s, x->runner));
	fputs(", \"workload\": ", f);
	json_str(f, name(s, x->workload));
	fputs(", \"metric\": ", f);
	json_str(f, name(s, x->metric));
	fputs(", \"unit\": ", f);
	json_str(f, name(s, x->unit));
	fputs(", \"better\": ", f);
	json_str(f, x->better ? hvb_better_name(x->better) : "");
	fprintf(f, ", \"line\": %ld, \"n\": %zu, \"median\": ", x->line, x->n);
	json_num(f, hvb_quantile_sorted(v, x->n, 0.5));
	fputs(", ", f);
	json_ci(f, have, lo, hi, why);
	fputs(", \"ci_coverage\": ", f);
	json_num(f, cover);
	fputs(", \"notes\": [", f);
	for (size_t i = 0; i < x->n_notes; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, name(s, x->notes[i]));
	}
	fputs("], \"values\": [", f);
	for (size_t i = 0; i < x->n; i++) {
		if (x->rep[i] < 0)
			fprintf(f, "%s[null, ", i ? ", " : "");
		else
			fprintf(f, "%s[%ld, ", i ? ", " : "", x->rep[i]);
		json_num(f, x->v[i]);
		fputc(']', f);
	}
	fputs("]}", f);
	free(v);
}

/* Slowdown of cand against base, oriented by the metric's direction. */
struct ratio {
	double slowdown, lo, hi;
	bool have_ci;
	char why[160];
};

static void ratio_ci(const struct summary *s, const struct series *b, const struct series *c,
		     const struct hvb_sum_opts *o, struct ratio *r)
{
	bool lower = b->better == HVB_LOWER_IS_BETTER;
	char label[300];
	struct hvb_rng rng;
	struct hvb_perm_result perm;
	double lo, hi;

	if (b->n < o->min_reps || c->n < o->min_reps) {
		snprintf(r->why, sizeof(r->why), "%zu repetition(s) in base, %zu in cand: fewer "
			 "than %u on a side, no interval", b->n, c->n, o->min_reps);
		return;
	}
	/* compare's stream: runner against runner is labelled "base->cand" */
	if (b->runner == c->runner)
		snprintf(label, sizeof(label), "%s", name(s, b->runner));
	else
		snprintf(label, sizeof(label), "%s->%s", name(s, b->runner), name(s, c->runner));
	hvb_rng_seed(&rng, o->seed ^ cmp_key_hash(label, name(s, b->workload),
						  name(s, b->metric)));
	/* compare draws its permutation test from the stream first; an exact
	 * one draws nothing */
	if (hvb_binomial((unsigned)(b->n + c->n), (unsigned)b->n) > o->max_exact)
		hvb_permutation_test(b->v, b->n, c->v, c->n, o->max_exact, o->iters, &rng, &perm);
	if (hvb_bootstrap_ratio_ci(b->v, b->n, c->v, c->n, o->confidence, o->iters, &rng, &lo,
				   &hi)) {
		snprintf(r->why, sizeof(r->why), "a resampled base median is 0: ratio undefined");
		return;
	}
	if (!lower && !(lo > 0)) {
		snprintf(r->why, sizeof(r->why), "a resampled cand median is 0: ratio undefined");
		return;
	}
	r->lo = lower ? lo : 1 / hi;
	r->hi = lower ? hi : 1 / lo;
	r->have_ci = true;
}

static void ratio_eval(const struct summary *s, const struct series *b, const struct series *c,
		       const struct hvb_sum_opts *o, struct ratio *r)
{
	double mb = hvb_median(b->v, b->n), mc = hvb_median(c->v, c->n);

	*r = (struct ratio){ .slowdown = NAN };
	if (b->better != HVB_LOWER_IS_BETTER && b->better != HVB_HIGHER_IS_BETTER) {
		snprintf(r->why, sizeof(r->why), "the metric has no direction (better column)");
		return;
	}
	if (b->better == HVB_LOWER_IS_BETTER ? mb == 0 : mc == 0) {
		snprintf(r->why, sizeof(r->why), "a median is 0: ratio undefined");
		return;
	}
	r->slowdown = b->better == HVB_LOWER_IS_BETTER ? mc / mb : mb / mc;
	ratio_ci(s, b, c, o, r);
}

/* The pair the other way round: the reciprocal slowdown and interval (the
 * percentile interval of 1/x is the reciprocal of x's), half the bootstraps. */
static void ratio_reverse(const struct ratio *fwd, struct ratio *r)
{
	*r = *fwd;
	r->slowdown = 1 / fwd->slowdown;
	r->lo = 1 / fwd->hi, r->hi = 1 / fwd->lo;
	if (!isfinite(r->slowdown)) {
		r->have_ci = false;
		snprintf(r->why, sizeof(r->why), "a median is 0: ratio undefined");
	}
}

static void write_ratio(FILE *f, const struct summary *s, size_t bi, size_t ci,
			const struct ratio *r, bool *first)
{
	const struct series *b = &s->series[bi], *c = &s->series[ci];

	fprintf(f, "%s    {\"base\": %zu, \"cand\": %zu, \"workload\": ", *first ? "" : ",\n",
		bi, ci);
	json_str(f, name(s, b->workload));
	fputs(", \"metric\": ", f);
	json_str(f, name(s, b->metric));
	fputs(", \"slowdown\": ", f);
	json_num(f, r->slowdown);
	fputs(", ", f);
	json_ci(f, r->have_ci, r->lo, r->hi, r->why);
	fprintf(f, ", \"n_base\": %zu, \"n_cand\": %zu}", b->n, c->n);
	*first = false;
}

/* The series of workload w whose metric is their run's primary one. */
static size_t primary_series(struct summary *s, uint32_t w, size_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_series; i++) {
		const struct series *x = &s->series[i];
		if (x->workload == w && tmap_get(&s->primary, x->run, w, 0, 0) == x->metric)
			out[n++] = i;
	}
	return n;
}

/* One unordered pair of a workload's primary series, the earlier as base:
 * each is bootstrapped once, the reverse pair gets the reciprocal. */
struct pair_job {
	size_t base, cand;
	struct ratio r;
};

struct pair_work {
	const struct summary *s;
	const struct hvb_sum_opts *o;
	struct pair_job *jobs;
	size_t n_jobs, stride, first;
};

/* Jobs first, first + stride, ...: every pair seeds its own random stream,
 * so which thread computes it does not change a byte of the output. */
static void *pair_worker(void *arg)
{
	struct pair_work *w = arg;

	for (size_t k = w->first; k < w->n_jobs; k += w->stride) {
		struct pair_job *j = &w->jobs[k];
		ratio_eval(w->s, &w->s->series[j->base], &w->s->series[j->cand], w->o, &j->r);
	}
	return NULL;
}

/* The bootstraps are nearly all of summarize's time on a large run (10000
 * resamples per pair): spread them over o->threads threads. */
static void eval_pairs(const struct summary *s, const struct hvb_sum_opts *o,
		       struct pair_job *jobs, size_t n_jobs)
{
	size_t n_threads = o->threads ? o->threads : 1;
	struct pair_work *work;
	pthread_t *tid;
	size_t started = 1;

	if (n_threads > n_jobs)
		n_threads = n_jobs ? n_jobs : 1;
	work = xcalloc(n_threads, sizeof(*work));
	tid = xcalloc(n_threads, sizeof(*tid));
	for (size_t t = 0; t < n_threads; t++)
		work[t] = (struct pair_work){ .s = s, .o = o, .jobs = jobs, .n_jobs = n_jobs,
					      .stride = n_threads, .first = t };
	/* a thread that cannot start leaves its share to the calling one */
	for (size_t t = 1; t < n_threads; t++, started++)
		if (pthread_create(&tid[t], NULL, pair_worker, &work[t]))
			break;
	pair_worker(&work[0]);
	for (size_t t = started; t < n_threads; t++)
		for (size_t k = work[t].first; k < n_jobs; k += n_threads)
			ratio_eval(s, &s->series[jobs[k].base], &s->series[jobs[k].cand], o,
				   &jobs[k].r);
	for (size_t t = 1; t < started; t++)
		pthread_join(tid[t], NULL);
	free(tid), free(work);
}

/* The pairs of workload w's primary series with the same metric, appended
 * to *jobs (grown as needed) in (i, j > i) order; idx holds the series. */
static size_t add_pairs(const struct summary *s, const size_t *idx, size_t n,
			struct pair_job **jobs, size_t n_jobs)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			if (s->series[idx[i]].metric != s->series[idx[j]].metric)
				continue;
			*jobs = grow(*jobs, n_jobs, sizeof(**jobs));
			(*jobs)[n_jobs++] = (struct pair_job){ .base = idx[i], .cand = idx[j] };
		}
	return n_jobs;
}

/* Workloads are bootstrapped in batches of at least this many pairs: enough
 * to keep the threads busy, while memory stays that of a batch. */
#define RATIO_BATCH 1024

/* The ratios of workload w, both ways, from its pairs' results jobs[*next..). */
static void write_workload_ratios(FILE *f, struct summary *s, uint32_t w, size_t *idx,
				  const struct pair_job *jobs, size_t *next, bool *first)
{
	size_t n = primary_series(s, w, idx);
	struct ratio *r = xcalloc(n * n + 1, sizeof(*r));

	/* in add_pairs' order */
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			if (s->series[idx[i]].metric != s->series[idx[j]].metric)
				continue;
			r[i * n + j] = jobs[(*next)++].r;
			ratio_reverse(&r[i * n + j], &r[j * n + i]);
		}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			if (i != j && s->series[idx[i]].metric == s->series[idx[j]].metric)
				write_ratio(f, s, idx[i], idx[j], &r[i * n + j], first);
	free(r);
}

static void write_ratios(FILE *f, struct summary *s, const struct hvb_sum_opts *o)
{
	size_t *idx = xcalloc(s->n_series + 1, sizeof(*idx));
	bool first = true;

	fputs("  \"ratios\": [\n", f);
	for (size_t w = 0, end; w < s->n_workloads; w = end) {
		struct pair_job *jobs = NULL;
		size_t n_jobs = 0, next = 0;

		for (end = w; end < s->n_workloads && n_jobs < RATIO_BATCH; end++)
			n_jobs = add_pairs(s, idx, primary_series(s, s->workloads[end], idx), &jobs,
					   n_jobs);
		eval_pairs(s, o, jobs, n_jobs);
		for (size_t k = w; k < end; k++)
			write_workload_ratios(f, s, s->workloads[k], idx, jobs, &next, &first);
		free(jobs);
	}
	fputs("\n  ],\n", f);
	free(idx);
}

static void write_problems(FILE *f, const struct summary *s)
{
	char where[4200];

	fputs("  \"problems\": [\n", f);
	for (size_t i = 0; i < s->n_problems; i++) {
		const struct problem *p = &s->problems[i];
		fprintf(f, "%s    {\"run\": %u, \"runner\": ", i ? ",\n" : "", p->run);
		json_str(f, name(s, p->runner));
		fputs(", \"workload\": ", f);
		json_str(f, name(s, p->workload));
		fputs(", \"metric\": ", f);
		json_str(f, name(s, p->metric));
		if (p->rep < 0)
			fputs(", \"rep\": null", f);
		else
			fprintf(f, ", \"rep\": %ld", p->rep);
		fputs(", \"status\": ", f);
		json_str(f, hvb_status_name(p->status));
		fputs(", \"note\": ", f);
		json_str(f, name(s, p->note));
		snprintf(where, sizeof(where), "%s:%ld", s->runs[p->run].samples_file, p->line);
		fputs(", \"where\": ", f);
		json_str(f, where);
		fputc('}', f);
	}
	fputs("\n  ],\n", f);
}

static void write_runs(FILE *f, const struct summary *s)
{
	fputs("  \"runs\": [\n", f);
	for (size_t i = 0; i < s->n_runs; i++) {
		const struct run_info *ri = &s->runs[i];
		fprintf(f, "%s    {\"index\": %zu, \"dir\": ", i ? ",\n" : "", i);
		json_str(f, ri->dir);
		fputs(", \"run_id\": ", f);
		json_str(f, ri->run_id);
		fputs(", \"status\": ", f);
		json_str(f, ri->status);
		fputs(", \"samples\": ", f);
		json_str(f, ri->samples_file);
		fputs(", \"warnings\": [", f);
		for (size_t j = 0; j < ri->n_warnings; j++) {
			fputs(j ? ", " : "", f);
			json_str(f, ri->warnings[j]);
		}
		fputs("]}", f);
	}
	fputs("\n  ],\n", f);
}

static void write_cells(FILE *f, const struct summary *s)
{
	fputs("  \"cells\": [\n", f);
	for (size_t i = 0; i < s->n_cells; i++) {
		const struct cells *c = &s->cells[i];
		fprintf(f, "%s    {\"run\": %u, \"runner\": ", i ? ",\n" : "", c->run);
		json_str(f, name(s, c->runner));
		fputs(", \"workloads\": [", f);
		for (size_t j = 0; j < c->n; j++) {
			fputs(j ? ", " : "", f);
			json_str(f, name(s, c->workload[j]));
		}
		fputs("]}", f);
	}
	fputs("\n  ]\n", f);
}

static void write_doc(FILE *f, struct summary *s, const struct hvb_sum_opts *o)
{
	fputs("{\n  \"schema\": \"" HVB_SUMMARY_SCHEMA "\",\n", f);
	fprintf(f, "  \"seed\": %llu,\n  \"confidence\": ", (unsigned long long)o->seed);
	json_num(f, o->confidence);
	fprintf(f, ",\n  \"resamples\": %u,\n  \"min_reps\": %u,\n", o->iters, o->min_reps);
	fputs("  \"median_ci\": \"order-statistic (distribution-free)\",\n", f);
	fputs("  \"ratio_ci\": \"percentile bootstrap (compare's engine)\",\n", f);
	write_runs(f, s);
	fputs("  \"series\": [\n", f);
	for (size_t i = 0; i < s->n_series; i++) {
		fputs(i ? ",\n" : "", f);
		write_series(f, s, &s->series[i], o);
	}
	fputs("\n  ],\n", f);
	write_ratios(f, s, o);
	write_problems(f, s);
	write_cells(f, s);
	fputs("}\n", f);
}

int hvb_summarize(const char *const *dirs, size_t n, const struct hvb_sum_opts *o, FILE *out,
		  char *err, size_t errlen)
{
	struct summary s = { 0 };
	int r = 0;

	s.runs = xcalloc(n ? n : 1, sizeof(*s.runs));
	for (size_t i = 0; i < n && !r; i++) {
		struct hvb_run run;
		r = hvb_run_read(dirs[i], o->allow_partial, &run, err, errlen);
		if (r)
			break;
		s.n_runs++;
		r = fold_run(&s, &run, (uint32_t)i, err, errlen);
		hvb_run_free(&run);
	}
	if (!r)
		write_doc(out, &s, o);
	summary_free(&s);
	return r;
}
