/* Thresholds from a baseline history: see thresholds_derive.h. */
#include "thresholds_derive.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "compare_context.h"
#include "results.h"
#include "stats.h"
#include "util.h"

void hvb_thresh_opts_init(struct hvb_thresh_opts *o)
{
	*o = (struct hvb_thresh_opts){ .k = 3, .floor_pct = 1 };
}

/*
 * d2(n) = integral over x of 1 - Phi(x)^n - (1 - Phi(x))^n, the mean of
 * max - min of n standard normals.  The integrand is below 1e-30 past
 * |x| = 12; the trapezoid rule on a 1e-3 grid is exact to 1e-9 for a
 * smooth integrand this flat at its ends.
 */
double hvb_normal_range_mean(unsigned n)
{
	const double h = 1e-3, lim = 12;
	double sum = 0;

	if (n < 2)
		return 0;
	for (double x = -lim; x <= lim; x += h) {
		double phi = 0.5 * erfc(-x / M_SQRT2);
		sum += 1 - pow(phi, n) - pow(1 - phi, n);
	}
	return sum * h;
}

/* One key's history: the median of each run that measured it. */
struct hkey {
	char *runner, *workload, *metric;
	size_t n_runs;
	double *med;  /* one per run that measured it */
	unsigned reps;
	size_t n_cur, cap_cur;
	double *cur;  /* the values of the run being read */
};

struct derive {
	const struct hvb_thresh_opts *o;
	size_t n_keys;
	struct hkey *keys;
	size_t n_dirs;
	char **run_ids;
	char *date; /* the newest started_utc */
	struct hvb_cmp_context ctx;
	char *err;
	size_t errlen;
};

static int fail(struct derive *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct derive *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, d->errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static struct hkey *key_get(struct derive *d, const struct hvb_sample_row *r)
{
	struct hkey *k;

	for (size_t i = 0; i < d->n_keys; i++) {
		k = &d->keys[i];
		if (!strcmp(k->runner, r->runner) && !strcmp(k->workload, r->workload) &&
		    !strcmp(k->metric, r->metric))
			return k;
	}
	d->keys = realloc(d->keys, (d->n_keys + 1) * sizeof(*d->keys));
	if (!d->keys)
		abort();
	k = &d->keys[d->n_keys++];
	*k = (struct hkey){ .runner = xstrdup(r->runner), .workload = xstrdup(r->workload),
			    .metric = xstrdup(r->metric),
			    .med = xmalloc((d->n_dirs ? d->n_dirs : 1) * sizeof(double)) };
	return k;
}

static void key_push(struct hkey *k, double v)
{
	if (k->n_cur == k->cap_cur) {
		k->cap_cur = k->cap_cur ? 2 * k->cap_cur : 16;
		k->cur = realloc(k->cur, k->cap_cur * sizeof(*k->cur));
		if (!k->cur)
			abort();
	}
	k->cur[k->n_cur++] = v;
}

/* End of a run: each key it measured gets that run's median. */
static void keys_close_run(struct derive *d)
{
	for (size_t i = 0; i < d->n_keys; i++) {
		struct hkey *k = &d->keys[i];
		if (!k->n_cur)
			continue;
		k->med[k->n_runs++] = hvb_median(k->cur, k->n_cur);
		k->reps += (unsigned)k->n_cur;
		k->n_cur = 0;
	}
}

static bool selected(const struct hvb_thresh_opts *o, const struct hvb_sample_row *r)
{
	return r->status == HVB_ST_OK && r->has_value && hvb_cmp_match_list(o->runners, r->runner) &&
	       hvb_cmp_match_list(o->workloads, r->workload) &&
	       hvb_cmp_match_list(o->metrics ? o->metrics : HVB_CMP_DEFAULT_METRICS, r->metric);
}

/* A complete run, not seen before (a copy has the same run_id). */
static int run_check(struct derive *d, const char *dir, const struct hvb_run *run, size_t i)
{
	const char *id = hvb_run_meta(run, "run_id"), *started = hvb_run_meta(run, "started_utc");

	if (strcmp(run->status, "complete"))
		return fail(d, "%s: status %s: a baseline run must be complete (leave it out)",
			    dir, run->status);
	for (size_t j = 0; j < i; j++)
		if (!strcmp(d->run_ids[j], id))
			return fail(d, "%s: run %s is given twice (the same directory or a copy): "
				       "it would hide the noise between runs",
				    dir, id);
	d->run_ids[i] = xstrdup(id);
	if (started && (!d->date || strcmp(started, d->date) > 0)) {
		free(d->date);
		d->date = xstrdup(started);
	}
	return 0;
}

static int run_add(struct derive *d, const char *dir, size_t i)
{
	struct hvb_run run;
	char rerr[512];
	int r = hvb_run_read(dir, false, &run, rerr, sizeof(rerr));

	if (r)
		return fail(d, "%s", rerr), r;
	r = run_check(d, dir, &run, i);
	if (!r) {
		hvb_cmp_context_note(&d->ctx, &run, NULL);
		for (size_t s = 0; s < run.n_samples; s++)
			if (selected(d->o, &run.samples[s]))
				key_push(key_get(d, &run.samples[s]), run.samples[s].value);
		keys_close_run(d);
	}
	hvb_run_free(&run);
	return r;
}

static const char *ctx_value(const struct derive *d, const char *key)
{
	for (size_t i = 0; i < d->ctx.n; i++)
		if (!strcmp(d->ctx.key[i], key))
			return d->ctx.value[i];
	return "(not recorded)";
}

static void list_add(size_t *n, char ***v, char *s)
{
	*v = realloc(*v, (*n + 1) * sizeof(**v));
	if (!*v)
		abort();
	(*v)[(*n)++] = s;
}

/* One host (host_identity, FORMAT.md): the noise of one machine.  Other
 * context that differs (kernel, settings) is part of the noise: said. */
static int context_check(struct derive *d, struct hvb_thresh_history *h)
{
	for (size_t i = 0; i < d->ctx.n; i++) {
		const char *k = d->ctx.key[i], *v = d->ctx.value[i];
		bool host = !strcmp(k, "host_identity");
		if (!strstr(v, " | "))
			continue;
		if (host && !d->o->mixed_hosts)
			return fail(d, "the runs are of different hosts (host_identity '%s'): "
				       "derive thresholds per host, or accept the mix with "
				       "--mixed-hosts",
				    v);
		list_add(&h->n_warnings, &h->warnings,
			 xasprintf("the baseline runs differ in %s ('%s'): the noise includes "
				   "that difference",
				   k, v));
	}
	return 0;
}

/* The noise and threshold of a key measured in enough runs (see .h). */
static void line_make(const struct derive *d, const struct hkey *k, const char *host,
		      struct hvb_thresh_line *l)
{
	double lo = INFINITY, hi = -INFINITY, noise;

	for (size_t i = 0; i < k->n_runs; i++) {
		lo = fmin(lo, log(k->med[i]));
		hi = fmax(hi, log(k->med[i]));
	}
	noise = 100 * M_SQRT2 * (hi - lo) / hvb_normal_range_mean((unsigned)k->n_runs);
	*l = (struct hvb_thresh_line){
		.runner = xstrdup(k->runner),
		.workload = xstrdup(k->workload),
		.metric = xstrdup(k->metric),
		.pct = fmin(100, fmax(d->o->floor_pct, d->o->k * noise)),
		.runs = (unsigned)k->n_runs,
		.reps = k->reps,
		.noise_pct = noise,
		.k = d->o->k,
		.floor_pct = d->o->floor_pct,
		.host = xstrdup(host),
		.date = xstrdup(d->date ? d->date : ""),
	};
}

/* Why a key gets no line, or NULL. */
static char *key_unusable(const struct hkey *k, size_t n_runs)
{
	if (k->n_runs < HVB_THRESH_MIN_RUNS)
		return xasprintf("%s %s %s: measured in %zu of %zu runs, need at least %d",
				 k->runner, k->workload, k->metric, k->n_runs, n_runs,
				 HVB_THRESH_MIN_RUNS);
	for (size_t i = 0; i < k->n_runs; i++)
		if (!(k->med[i] > 0))
			return xasprintf("%s %s %s: a run's median is %g: no ratio between runs",
					 k->runner, k->workload, k->metric, k->med[i]);
	return NULL;
}

static int cmp_lines(const void *x, const void *y)
{
	const struct hvb_thresh_line *a = x, *b = y;
	int c = strcmp(a->runner, b->runner);

	if (!c)
		c = strcmp(a->workload, b->workload);
	return c ? c : strcmp(a->metric, b->metric);
}

static void lines_make(struct derive *d, struct hvb_thresh_history *h)
{
	const char *name = ctx_value(d, "host_name"), *id = ctx_value(d, "host_identity");
	char *host = xasprintf("%s (host_identity %s)", name, id);

	h->lines = xcalloc(d->n_keys ? d->n_keys : 1, sizeof(*h->lines));
	for (size_t i = 0; i < d->n_keys; i++) {
		char *why = key_unusable(&d->keys[i], d->n_dirs);
		if (why)
			list_add(&h->n_skipped, &h->skipped, why);
		else
			line_make(d, &d->keys[i], host, &h->lines[h->n_lines++]);
	}
	qsort(h->lines, h->n_lines, sizeof(*h->lines), cmp_lines);
	free(host);
}

static void derive_free(struct derive *d)
{
	for (size_t i = 0; i < d->n_keys; i++) {
		struct hkey *k = &d->keys[i];
		free(k->runner), free(k->workload), free(k->metric), free(k->med), free(k->cur);
	}
	free(d->keys);
	for (size_t i = 0; i < d->n_dirs; i++)
		free(d->run_ids[i]);
	free(d->run_ids);
	free(d->date);
	hvb_cmp_context_free(&d->ctx);
}

int hvb_thresh_derive(const char *const *dirs, size_t n, const struct hvb_thresh_opts *o,
		      struct hvb_thresh_history *h, char *err, size_t errlen)
{
	struct derive d = { .o = o, .n_dirs = n, .err = err, .errlen = errlen };
	int r = 0;

	memset(h, 0, sizeof(*h));
	if (n < HVB_THRESH_MIN_RUNS)
		return fail(&d, "%zu baseline run(s): the noise between runs needs at least %d "
				"runs of the same configuration",
			    n, HVB_THRESH_MIN_RUNS);
	d.run_ids = xcalloc(n, sizeof(*d.run_ids));
	for (size_t i = 0; i < n && !r; i++)
		r = run_add(&d, dirs[i], i);
	if (!r)
		r = context_check(&d, h);
	if (!r) {
		lines_make(&d, h);
		h->n_runs = n;
		if (!h->n_lines)
			r = fail(&d, "no metric of the selection (--metrics, --runner, "
				     "--workload) was measured in at least %d of the %zu runs",
				 HVB_THRESH_MIN_RUNS, n);
	}
	derive_free(&d);
	if (r)
		hvb_thresh_history_free(h);
	return r;
}

void hvb_thresh_history_free(struct hvb_thresh_history *h)
{
	for (size_t i = 0; i < h->n_lines; i++)
		hvb_thresh_line_free(&h->lines[i]);
	free(h->lines);
	for (size_t i = 0; i < h->n_skipped; i++)
		free(h->skipped[i]);
	free(h->skipped);
	for (size_t i = 0; i < h->n_warnings; i++)
		free(h->warnings[i]);
	free(h->warnings);
	memset(h, 0, sizeof(*h));
}
