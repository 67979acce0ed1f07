/* Comparison engine: see compare.h for the contracts. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "cmd.h"
#include "compare_context.h"
#include "results.h"
#include "stats.h"
#include "thresholds.h"
#include "util.h"
#include "workload.h"

void hvb_cmp_opts_init(struct hvb_cmp_opts *o)
{
	*o = (struct hvb_cmp_opts){
		.threshold = 0.02,
		.alpha = 0.05,
		.confidence = 0.95,
		.iters = 10000,
		.max_exact = 20000,
		.seed = 1,
		.min_reps = 3,
		.gate_why = "the default",
	};
}

const char *hvb_verdict_name(enum hvb_verdict v)
{
	switch (v) {
	case HVB_V_REGRESSION:
		return "regression";
	case HVB_V_IMPROVEMENT:
		return "improvement";
	case HVB_V_INCONCLUSIVE:
		return "inconclusive";
	case HVB_V_ONLY_BASE:
		return "only in base";
	case HVB_V_ONLY_CAND:
		return "only in cand";
	case HVB_V_NO_CHANGE:
		break;
	}
	return "no change";
}

/* ----------------------------------------------------------- one side */

/* Every value of one key on one side, with where it came from. */
struct side_key {
	char *runner, *workload, *metric, *unit;
	int better;
	size_t n, cap;
	double *v;
	long *unit_id; /* dir index * 2^32 + rep: one value per repetition */
	char *why;     /* --ratio-to: why a directory's values could not be divided */
	/* --ratio-to: the reference has no analogue of the cell (skipped it,
	 * or has no row of it), so its values are compared as they are;
	 * abs_why says why they could not be divided. */
	bool absolute;
	char *abs_why;
};

/* The page size a runner's mem/ workloads workloads ran with on one side. */
struct side_page {
	char *runner, *page; /* page: "4k", "2m" or a legacy description */
};

struct side {
	const char *name;
	const char *label; /* runner against runner: "base->cand", the rows' runner */
	size_t n_keys;
	struct side_key *keys;
	size_t n_pages;
	struct side_page *pages;
	struct hvb_cmp_context ctx; /* compare_context.c: host, settings, image, ... */
};

static bool match_list(const char *globs, const char *name)
{
	char *copy, *save = NULL;
	bool hit = false;

	if (!globs)
		return true;
	copy = xstrdup(globs);
	for (char *t = strtok_r(copy, ",", &save); t && !hit; t = strtok_r(NULL, ",", &save))
		hit = hvb_glob_match(t, name);
	free(copy);
	return hit;
}

bool hvb_cmp_match_list(const char *globs, const char *name)
{
	return match_list(globs, name);
}

/*
 * Every booting runner writes a boot row next to whatever workloads ran:
 * a change that slows the boot must not vanish from the verdict because
 * --workload named what the guest ran.  Only no_boot leaves it out; a
 * --workload list that names boot alone keeps only boot.
 */
bool hvb_cmp_workload_selected(const struct hvb_cmp_opts *o, const char *workload)
{
	if (!strcmp(workload, HVB_BOOT_WORKLOAD))
		return !o->no_boot;
	return match_list(o->workloads, workload);
}

static struct side_key *side_find(struct side *s, const char *runner, const char *workload,
				  const char *metric)
{
	for (size_t i = 0; i < s->n_keys; i++) {
		struct side_key *k = &s->keys[i];
		if (!strcmp(k->runner, runner) && !strcmp(k->workload, workload) &&
		    !strcmp(k->metric, metric))
			return k;
	}
	return NULL;
}

static struct side_key *side_add(struct side *s, const struct hvb_sample_row *r,
				  const char *runner)
{
	struct side_key *k;

	s->keys = realloc(s->keys, (s->n_keys + 1) * sizeof(*s->keys));
	if (!s->keys)
		abort();
	k = &s->keys[s->n_keys++];
	*k = (struct side_key){ .runner = xstrdup(runner),
				.workload = xstrdup(r->workload),
				.metric = xstrdup(r->metric),
				.unit = xstrdup(r->unit),
				.better = r->better };
	return k;
}

static void side_free(struct side *s)
{
	for (size_t i = 0; i < s->n_keys; i++) {
		struct side_key *k = &s->keys[i];
		free(k->runner), free(k->workload), free(k->metric), free(k->unit);
		free(k->v), free(k->unit_id), free(k->why), free(k->abs_why);
	}
	free(s->keys);
	for (size_t i = 0; i < s->n_pages; i++)
		free(s->pages[i].runner), free(s->pages[i].page);
	free(s->pages);
	hvb_cmp_context_free(&s->ctx);
}

static void fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static int key_push(struct side_key *k, const struct hvb_sample_row *r, size_t dir_i,
		    const char *dir, const char *side, char *err, size_t len)
{
	long id = (long)dir_i << 32 | (r->rep < 0 ? 0xffffffffL : r->rep);

	if (strcmp(k->unit, r->unit) || k->better != r->better) {
		fail(err, len,
		     "%s %s %s: unit or direction differs within %s (%s, %s vs %s, %s in %s)",
		     r->runner, r->workload, r->metric, side, k->unit, hvb_better_name(k->better),
		     r->unit, hvb_better_name(r->better), dir);
		return -EINVAL;
	}
	for (size_t i = 0; i < k->n; i++)
		if (k->unit_id[i] == id) {
			fail(err, len, "%s: %s %s %s: repetition %ld appears twice", dir,
			     r->runner, r->workload, r->metric, r->rep);
			return -EINVAL;
		}
	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 16;
		k->v = realloc(k->v, k->cap * sizeof(*k->v));
		k->unit_id = realloc(k->unit_id, k->cap * sizeof(*k->unit_id));
		if (!k->v || !k->unit_id)
			abort();
	}
	k->v[k->n] = r->value;
	k->unit_id[k->n++] = id;
	return 0;
}

static void gap_add(struct hvb_cmp_result *res, const char *side, const struct hvb_sample_row *r,
		    const char *runner)
{
	const char *metric = r->metric ? r->metric : "", *note = r->note ? r->note : "";

	for (size_t i = 0; i < res->n_gaps; i++) {
		struct hvb_cmp_gap *g = &res->gaps[i];
		if (strcmp(g->runner, runner) || strcmp(g->workload, r->workload) ||
		    strcmp(g->metric, metric) || strcmp(g->status, hvb_status_name(r->status)) ||
		    strcmp(g->note, note))
			continue;
		/* the same reason on both sides is listed once */
		if (strcmp(g->side, side))
			g->side = "both";
		return;
	}
	res->gaps = realloc(res->gaps, (res->n_gaps + 1) * sizeof(*res->gaps));
	if (!res->gaps)
		abort();
	res->gaps[res->n_gaps++] = (struct hvb_cmp_gap){
		.side = side,
		.runner = xstrdup(runner),
		.workload = xstrdup(r->workload),
		.metric = xstrdup(metric),
		.status = xstrdup(hvb_status_name(r->status)),
		.note = xstrdup(note),
	};
}

/* Distinct metric names that --metrics left out (counted, so the summary
 * can say that more exists). */
struct name_set {
	size_t n;
	char **v;
};

static void name_set_add(struct name_set *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], name))
			return;
	s->v = realloc(s->v, (s->n + 1) * sizeof(*s->v));
	if (!s->v)
		abort();
	s->v[s->n++] = xstrdup(name);
}

static void warning_add(struct hvb_cmp_result *res, char *msg)
{
	res->warnings = realloc(res->warnings, (res->n_warnings + 1) * sizeof(char *));
	if (!res->warnings)
		abort();
	res->warnings[res->n_warnings++] = msg;
}

/*
 * The page size of workload memory of `runner` in a run: meta page_size
 * (--page-size).  A run from before the option had none: then natively 4
 * KiB pages (MADV_NOHUGEPAGE or THP off), Xen PV 4 KiB, other guests 2 MiB
 * guest page tables.
 */
static const char *run_page_size(const struct hvb_run *run, const char *runner)
{
	const char *p = hvb_run_meta(run, "page_size");

	if (p)
		return p;
	if (!strcmp(runner, "native"))
		return "4k (run without page_size: native 4 KiB)";
	if (!strcmp(runner, "xen-pv"))
		return "4k (run without page_size: Xen PV)";
	return "2m (run without page_size: 2 MiB guest page tables)";
}

/* Note the page size of a runner's mem/ rows on side s; two directories
 * of one side that disagree get a warning. */
static void side_page_note(struct side *s, struct hvb_cmp_result *res, const char *dir,
			   const char *runner, const char *page)
{
	struct side_page *sp;

	for (size_t i = 0; i < s->n_pages; i++) {
		sp = &s->pages[i];
		if (strcmp(sp->runner, runner))
			continue;
		if (strncmp(sp->page, page, 2))
			warning_add(res, xasprintf("%s: mem/* under %s ran with page size %s in one "
						   "directory and %s in %s: the repetitions mix "
						   "TLB regimes",
						   s->name, runner, sp->page, page, dir));
		return;
	}
	s->pages = realloc(s->pages, (s->n_pages + 1) * sizeof(*s->pages));
	if (!s->pages)
		abort();
	s->pages[s->n_pages++] = (struct side_page){ xstrdup(runner), xstrdup(page) };
}

/* mem/ rows of a runner that ran with different page sizes in base and
 * cand: the difference would include the page size, say so. */
static void pages_compare(const struct side *base, const struct side *cand,
			  struct hvb_cmp_result *res)
{
	for (size_t i = 0; i < base->n_pages; i++) {
		const struct side_page *b = &base->pages[i];
		for (size_t j = 0; j < cand->n_pages; j++) {
			const struct side_page *c = &cand->pages[j];
			if (strcmp(b->runner, c->runner) || !strncmp(b->page, c->page, 2))
				continue;
			warning_add(res,
				    xasprintf("page size differs for mem/* under %s: base %s, cand "
					      "%s; those rows measure the page size (TLB reach, "
					      "walk depth) as well as the change (rerun with the "
					      "same --page-size)",
					      b->runner, b->page, c->page));
		}
	}
}

/* "param.crc32c.passes: base '1', cand '4'" for every differing parameter of
 * workload (or, NULL, of no compared workload), "; "-separated; NULL if none. */
static char *params_of(const struct hvb_cmp_result *res, const char *workload)
{
	char *list = NULL, *n;

	for (size_t i = 0; i < res->n_params; i++) {
		const struct hvb_cmp_param *p = &res->params[i];
		bool of = false;
		if (workload)
			of = hvb_cmp_param_of(p->key, workload);
		else
			for (size_t r = 0; r < res->n_rows && !of; r++)
				of = hvb_cmp_param_of(p->key, res->rows[r].workload);
		if (workload ? !of : of)
			continue;
		n = xasprintf("%s%s%s: base '%s', cand '%s'", list ? list : "", list ? "; " : "",
			      p->key, p->base, p->cand);
		free(list);
		list = n;
	}
	return list;
}

/* The warning's list: per compared workload its parameters, then those of
 * workloads not compared. */
static char *params_by_workload(const struct hvb_cmp_result *res)
{
	char *list = NULL, *n, *of;

	for (size_t i = 0; i < res->n_rows; i++) {
		const struct hvb_cmp_row *r = &res->rows[i];
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = !strcmp(res->rows[k].workload, r->workload);
		if (seen || !r->params)
			continue;
		n = xasprintf("%s%s%s (%s)", list ? list : "", list ? "; " : "", r->workload,
			      r->params);
		free(list);
		list = n;
	}
	if ((of = params_of(res, NULL))) {
		n = xasprintf("%s%sno workload compared (%s)", list ? list : "", list ? "; " : "",
			      of);
		free(list);
		free(of);
		list = n;
	}
	return list;
}

/*
 * Workload parameters (param.* meta keys, `run --param`) that differ
 * between the sides: a "regression" there is the workload doing more
 * work.  Named in a warning and on each row of those workloads; ab's
 * sides differ in them by design (o->params_expected), said as such.
 */
static void params_compare(const struct side *base, const struct side *cand,
			   const struct hvb_cmp_opts *o, struct hvb_cmp_result *res)
{
	char *list;

	res->n_params = hvb_cmp_context_params(&base->ctx, &cand->ctx, &res->params);
	if (!res->n_params)
		return;
	for (size_t i = 0; i < res->n_rows; i++)
		res->rows[i].params = params_of(res, res->rows[i].workload);
	list = params_by_workload(res);
	if (o->params_expected)
		warning_add(res, xasprintf("workload parameters differ between base (A) and cand "
					   "(B), as the sides were set up (--a-args/--b-args "
					   "--param, or their builds): %s; the verdicts of these "
					   "workloads measure that change of the workload",
					   list));
	else
		warning_add(res, xasprintf("workload parameters differ between base and cand: %s; "
					   "the rows of these workloads measure the changed "
					   "workload, not the hypervisor (%s; rerun with the same "
					   "--param on both sides)",
					   list,
					   o->gate ? "gate mode: they are not comparable"
						   : "their verdicts say so"));
	free(list);
}

/*
 * A run that did not complete (interrupted, or its writer died) holds only
 * some repetitions: refused unless o->allow_partial, else listed in the
 * result so every output format says the comparison is partial (as
 * `hvbench report` does).
 */
static int partial_add(struct hvb_cmp_result *res, const char *side, const char *dir,
		       const struct hvb_run *run, const struct hvb_cmp_opts *o, char *err,
		       size_t len)
{
	const char *at = hvb_run_meta(run, "interrupted_at");
	struct hvb_cmp_partial *p;

	if (!o->allow_partial) {
		fail(err, len,
		     "%s: run is incomplete: meta.csv status is '%s'%s%s; pass --allow-partial "
		     "to compare the repetitions it has (the output will say it is partial)",
		     dir, run->status, at ? " at " : "", at ? at : "");
		return -EINVAL;
	}
	res->incomplete = realloc(res->incomplete, (res->n_incomplete + 1) * sizeof(*p));
	if (!res->incomplete)
		abort();
	p = &res->incomplete[res->n_incomplete++];
	p->side = side;
	p->dir = xstrdup(dir);
	p->status = xstrdup(run->status);
	p->where = xstrdup(at ? at : "");
	return 0;
}

/* The directories read so far, on either side: a run given twice would
 * count twice (pooled with itself, or compared with itself). */
struct seen {
	size_t n;
	struct seen_run {
		char *dir, *real, *run_id;
	} *v;
};

static int seen_add(struct seen *s, const char *dir, const struct hvb_run *run, char *err,
		    size_t len)
{
	const char *id = hvb_run_meta(run, "run_id"); /* the reader checked it is there */
	char *real = realpath(dir, NULL);

	if (!real)
		real = xstrdup(dir);
	for (size_t i = 0; i < s->n; i++) {
		const struct seen_run *p = &s->v[i];
		if (!strcmp(p->real, real))
			fail(err, len,
			     "%s and %s are the same directory (%s): a run given more than once "
			     "would count twice",
			     p->dir, dir, real);
		else if (!strcmp(p->run_id, id))
			fail(err, len,
			     "%s and %s hold the same run (run_id %s; a copy?): a run given more "
			     "than once would count twice",
			     p->dir, dir, id);
		else
			continue;
		free(real);
		return -EINVAL;
	}
	s->v = realloc(s->v, (s->n + 1) * sizeof(*s->v));
	if (!s->v)
		abort();
	s->v[s->n++] = (struct seen_run){ xstrdup(dir), real, xstrdup(id) };
	return 0;
}

static void seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].dir), free(s->v[i].real), free(s->v[i].run_id);
	free(s->v);
}

/* The runner a row is keyed by: its own, or, runner against runner, the
 * pair's label when the row is of this side's runner (NULL: not compared). */
static const char *cross_key(const struct hvb_cmp_opts *o, const struct side *s,
			     const char *runner)
{
	const char *mine = !strcmp(s->name, "base") ? o->base_runner : o->cand_runner;

	if (!o->base_runner)
		return runner;
	return strcmp(runner, mine) ? NULL : s->label;
}

/* --------------------------------------------------------- --ratio-to */

/* The reference runner's values in one run (rows of the run, not copies). */
struct ref_rows {
	size_t n;
	const struct hvb_sample_row **v;
};

static void ref_collect(const struct hvb_run *run, const struct hvb_cmp_opts *o,
			struct ref_rows *ref)
{
	ref->n = 0;
	ref->v = xmalloc((run->n_samples ? run->n_samples : 1) * sizeof(*ref->v));
	for (size_t i = 0; i < run->n_samples; i++) {
		const struct hvb_sample_row *r = &run->samples[i];
		if (!strcmp(r->runner, o->ratio_to) && r->status == HVB_ST_OK && r->has_value)
			ref->v[ref->n++] = r;
	}
}

/*
 * What a value of row r is divided by: the reference's value of the same
 * repetition (it ran next to it: runners are interleaved repetition by
 * repetition), else the median of the reference's repetitions of that
 * (workload, metric) in the run.  0, or -ENOENT when the run has none.
 */
static int ref_divisor(const struct ref_rows *ref, const struct hvb_sample_row *r, double *div,
		       bool *by_median)
{
	double *v = xmalloc((ref->n ? ref->n : 1) * sizeof(*v));
	size_t n = 0;

	*by_median = false;
	for (size_t i = 0; i < ref->n; i++) {
		const struct hvb_sample_row *x = ref->v[i];
		if (strcmp(x->workload, r->workload) || strcmp(x->metric, r->metric))
			continue;
		if (x->rep == r->rep) {
			*div = x->value;
			free(v);
			return 0;
		}
		v[n++] = x->value;
	}
	if (n) {
		*div = hvb_median(v, n);
		*by_median = true;
	}
	free(v);
	return n ? 0 : -ENOENT;
}

/* Why the reference cannot divide a value of r in dir: its own status row
 * for the cell, if the run has one. */
static char *ref_missing(const struct hvb_run *run, const char *ref, const char *dir,
			 const struct hvb_sample_row *r)
{
	for (size_t i = 0; i < run->n_samples; i++) {
		const struct hvb_sample_row *x = &run->samples[i];
		if (!strcmp(x->runner, ref) && !strcmp(x->workload, r->workload) &&
		    x->status != HVB_ST_OK)
			return xasprintf("--ratio-to %s: %s has no %s value of %s %s to divide by "
					 "(%s: %s); measure %s in every run, or leave the "
					 "workload out (--workload)",
					 ref, dir, ref, r->workload, r->metric,
					 hvb_status_name(x->status), x->note ? x->note : "", ref);
	}
	return xasprintf("--ratio-to %s: %s has no %s row of %s %s to divide by; run %s in "
			 "every run (--runner %s,...), or leave the workload out (--workload)",
			 ref, dir, ref, r->workload, r->metric, ref, ref);
}

/*
 * Whether the reference has no analogue of r's cell in run: it ran (has
 * values in the run) but skipped the workload or marked it unsupported,
 * or has no row of it at all (rows only VM runners write: boot, the bound
 * of a bare KVM_RUN), or has the workload without r's metric.  A failed
 * cell of the reference is no such thing: that is a missing value.
 */
static bool ref_has_no_analogue(const struct hvb_run *run, const struct ref_rows *ref,
				const char *name, const struct hvb_sample_row *r)
{
	if (!ref->n)
		return false; /* the reference did not run: nothing says it has none */
	for (size_t i = 0; i < run->n_samples; i++) {
		const struct hvb_sample_row *x = &run->samples[i];
		if (!strcmp(x->runner, name) && !strcmp(x->workload, r->workload) &&
		    x->status == HVB_ST_FAILED)
			return false;
	}
	return true;
}

/* A key divided in some of a side's runs and not in dir (or the reverse). */
static char *mixed_why(const struct hvb_cmp_opts *o, const struct side_key *k, const char *dir)
{
	return xasprintf("--ratio-to %s: %s %s is divided by %s's value in some runs of this "
			 "side and not in %s (%s); measure %s in every run, or leave the "
			 "workload out (--workload)",
			 o->ratio_to, k->workload, k->metric, o->ratio_to, dir,
			 k->absolute ? "divided there" : "no value to divide by there", o->ratio_to);
}

/* The per-repetition value as compared: r itself, or --ratio-to its ratio
 * to the reference (unit "ratio").  false (with k->why set by the caller
 * from *why) when the ratio is undefined.  Where the reference has no
 * analogue of the cell, r itself (*absolute, *why saying why not divided):
 * a gate then still sees boot_ms and the exits native cannot make, as
 * absolute values, instead of calling them inconclusive. */
static bool value_of(const struct hvb_cmp_opts *o, const struct ref_rows *ref,
		     const struct hvb_run *run, const char *dir, const struct hvb_sample_row *r,
		     struct hvb_sample_row *x, size_t *n_by_median, char **why, bool *absolute)
{
	double div;
	bool by_median;

	*x = *r;
	*why = NULL;
	*absolute = false;
	if (!o->ratio_to)
		return true;
	x->unit = "ratio";
	if (ref_divisor(ref, r, &div, &by_median)) {
		*why = ref_missing(run, o->ratio_to, dir, r);
		if (!ref_has_no_analogue(run, ref, o->ratio_to, r))
			return false;
		x->unit = r->unit;
		*absolute = true;
		return true;
	}
	if (!(div > 0)) {
		*why = xasprintf("--ratio-to %s: %s's %s %s is %g in %s: the ratio is undefined",
				 o->ratio_to, o->ratio_to, r->workload, r->metric, div, dir);
		return false;
	}
	*n_by_median += by_median;
	x->value = r->value / div;
	return true;
}

static int side_read_dir(struct side *s, size_t dir_i, const char *dir,
			 const struct hvb_cmp_opts *o, struct hvb_cmp_result *res,
			 struct name_set *unselected, struct seen *seen, char *err, size_t len)
{
	struct hvb_run run;
	struct ref_rows ref = { 0 };
	size_t n_by_median = 0;
	const char *quick;
	char rerr[512];
	int r = hvb_run_read(dir, o->allow_partial, &run, rerr, sizeof(rerr));

	if (r) {
		fail(err, len, "%s", rerr);
		return r;
	}
	if ((r = seen_add(seen, dir, &run, err, len))) {
		hvb_run_free(&run);
		return r;
	}
	hvb_cmp_context_note(&s->ctx, &run,
			     !o->base_runner ? NULL
			     : !strcmp(s->name, "base") ? o->base_runner : o->cand_runner);
	for (size_t i = 0; i < run.n_warnings; i++) /* e.g. a torn last row, dropped */
		warning_add(res, xstrdup(run.warnings[i]));
	quick = hvb_run_meta(&run, "quick");
	res->n_quick += quick && !strcmp(quick, "1");
	if (strcmp(run.status, "complete")) {
		r = partial_add(res, s->name, dir, &run, o, err, len);
		if (r) {
			hvb_run_free(&run);
			return r;
		}
	}
	if (o->ratio_to)
		ref_collect(&run, o, &ref);
	for (size_t i = 0; i < run.n_samples && !r; i++) {
		const struct hvb_sample_row *row = &run.samples[i];
		const char *key_runner = cross_key(o, s, row->runner);
		struct hvb_sample_row x;
		struct side_key *k;
		char *why;
		if (!key_runner || !match_list(o->runners, row->runner) ||
		    !hvb_cmp_workload_selected(o, row->workload))
			continue;
		if (!strncmp(row->workload, "mem/", 4))
			side_page_note(s, res, dir, row->runner, run_page_size(&run, row->runner));
		if (row->status != HVB_ST_OK || !row->has_value) {
			gap_add(res, s->name, row, key_runner);
			continue;
		}
		if (!match_list(o->metrics ? o->metrics : HVB_CMP_DEFAULT_METRICS, row->metric)) {
			name_set_add(unselected, row->metric);
			continue;
		}
		/* --ratio-to: the reference divides the others, it is not compared */
		if (o->ratio_to && !strcmp(row->runner, o->ratio_to))
			continue;
		bool absolute, have = value_of(o, &ref, &run, dir, row, &x, &n_by_median, &why,
					       &absolute);
		k = side_find(s, key_runner, row->workload, row->metric);
		if (!k) {
			k = side_add(s, &x, key_runner);
			k->absolute = absolute;
		}
		if (have && k->absolute != absolute) /* a ratio in one run, not in another */
			have = false, why = why ? why : mixed_why(o, k, dir);
		if (have) {
			r = key_push(k, &x, dir_i, dir, s->name, err, len);
			if (why && !k->abs_why)
				k->abs_why = why, why = NULL;
			free(why);
		} else if (!k->why)
			k->why = why;
		else
			free(why);
	}
	if (n_by_median)
		warning_add(res, xasprintf("--ratio-to %s: %zu value(s) of %s divided by the "
					   "median of %s's repetitions in that run: %s lacked "
					   "the same repetition",
					   o->ratio_to, n_by_median, dir, o->ratio_to,
					   o->ratio_to));
	free(ref.v);
	hvb_run_free(&run);
	return r;
}

/* --------------------------------------------------------------- rows */

static double *copy_values(const double *v, size_t n)
{
	double *c = xmalloc((n ? n : 1) * sizeof(*c));

	if (n)
		memcpy(c, v, n * sizeof(*c));
	return c;
}

static struct hvb_cmp_row *row_add(struct hvb_cmp_result *res, const struct side_key *k)
{
	struct hvb_cmp_row *row;

	res->rows = realloc(res->rows, (res->n_rows + 1) * sizeof(*res->rows));
	if (!res->rows)
		abort();
	row = &res->rows[res->n_rows++];
	*row = (struct hvb_cmp_row){
		.runner = xstrdup(k->runner),
		.workload = xstrdup(k->workload),
		.metric = xstrdup(k->metric),
		.unit = xstrdup(k->unit),
		.better = k->better,
		.med_base = NAN,
		.med_cand = NAN,
		.ratio = NAN,
		.ci_lo = NAN,
		.ci_hi = NAN,
		.p = NAN,
		.q = NAN,
	};
	return row;
}

/* Why a key has no values on `side`: the cell's own status row if any. */
static char *missing_reason(struct hvb_cmp_result *res, const char *side, const char *runner,
			    const char *workload, const char *metric, bool *failed)
{
	const struct hvb_cmp_gap *best = NULL;

	for (size_t i = 0; i < res->n_gaps; i++) {
		const struct hvb_cmp_gap *g = &res->gaps[i];
		if ((strcmp(g->side, side) && strcmp(g->side, "both")) || strcmp(g->runner, runner) ||
		    strcmp(g->workload, workload))
			continue;
		if (!g->metric[0] || !strcmp(g->metric, metric)) {
			best = g;
			if (!strcmp(g->status, "failed"))
				break;
		}
	}
	*failed = best && !strcmp(best->status, "failed");
	if (best)
		return xasprintf("%s in %s: %s", best->status, side, best->note);
	return xasprintf("not in %s's results", side);
}

static int cmp_rows(const void *x, const void *y)
{
	const struct hvb_cmp_row *a = x, *b = y;
	int c = strcmp(a->runner, b->runner);

	if (!c)
		c = strcmp(a->workload, b->workload);
	if (!c)
		c = strcmp(a->metric, b->metric);
	return c;
}

/* Keep the values whose repetition exists on both sides, in pair order. */
static void pair_values(struct hvb_cmp_row *row, const struct side_key *a,
			const struct side_key *b)
{
	size_t n = 0;

	row->cand = xmalloc((a->n ? a->n : 1) * sizeof(double));
	for (size_t i = 0; i < a->n; i++)
		for (size_t j = 0; j < b->n; j++)
			if (a->unit_id[i] == b->unit_id[j]) {
				row->base[n] = a->v[i];
				row->cand[n++] = b->v[j];
				break;
			}
	row->paired = true;
	row->n_unpaired = a->n + b->n - 2 * n;
	row->n_base = row->n_cand = n;
}

/* A row decided before its statistics: inconclusive, for why. */
static void set_undividable(struct hvb_cmp_row *row, const char *why)
{
	row->verdict = HVB_V_INCONCLUSIVE;
	row->why = xstrdup(why);
}

static int merge_sides(struct side *base, struct side *cand, bool paired,
		       struct hvb_cmp_result *res, char *err, size_t len)
{
	for (size_t i = 0; i < base->n_keys; i++) {
		struct side_key *a = &base->keys[i];
		struct side_key *b = side_find(cand, a->runner, a->workload, a->metric);
		struct hvb_cmp_row *row;
		bool failed;

		if (b && a->absolute == b->absolute &&
		    (strcmp(a->unit, b->unit) || a->better != b->better)) {
			fail(err, len,
			     "%s %s %s: base has unit '%s' (%s is better), cand has '%s' (%s is "
			     "better); the results are not comparable",
			     a->runner, a->workload, a->metric, a->unit, hvb_better_name(a->better),
			     b->unit, hvb_better_name(b->better));
			return -EINVAL;
		}
		row = row_add(res, a);
		row->n_base = a->n;
		row->base = copy_values(a->v, a->n);
		if (b && paired) {
			pair_values(row, a, b);
		} else if (b) {
			row->n_cand = b->n;
			row->cand = copy_values(b->v, b->n);
		} else {
			row->cand = copy_values(NULL, 0);
			row->verdict = HVB_V_ONLY_BASE;
			row->why = missing_reason(res, "cand", a->runner, a->workload, a->metric,
						  &failed);
			res->cand_failed |= failed;
		}
		if (b && (a->why || b->why)) /* --ratio-to could not divide */
			set_undividable(row, a->why ? a->why : b->why);
		else if (b && a->absolute != b->absolute) /* divided on one side only */
			set_undividable(row, a->absolute ? a->abs_why : b->abs_why);
	}
	for (size_t i = 0; i < cand->n_keys; i++) {
		struct side_key *b = &cand->keys[i];
		struct hvb_cmp_row *row;
		bool failed;

		if (side_find(base, b->runner, b->workload, b->metric))
			continue;
		row = row_add(res, b);
		row->n_cand = b->n;
		row->cand = copy_values(b->v, b->n);
		row->base = copy_values(NULL, 0);
		row->verdict = HVB_V_ONLY_CAND;
		row->why = missing_reason(res, "base", b->runner, b->workload, b->metric, &failed);
	}
	if (res->n_rows) /* rows is NULL then, which qsort must not get */
		qsort(res->rows, res->n_rows, sizeof(*res->rows), cmp_rows);
	return 0;
}

/* FNV-1a over the key, so each row has its own reproducible stream. */
static uint64_t key_hash(const struct hvb_cmp_row *row)
{
	const char *parts[] = { row->runner, row->workload, row->metric };
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		for (const char *c = parts[i]; *c; c++)
			h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
		h = (h ^ 0xff) * 0x100000001b3ull;
	}
	return h;
}

static void set_inconclusive(struct hvb_cmp_row *row, char *why)
{
	row->verdict = HVB_V_INCONCLUSIVE;
	row->why = why;
}

/* Paired rounds: statistics of the per-pair log ratios. */
static void eval_paired(struct hvb_cmp_row *row, const struct hvb_cmp_opts *o,
			struct hvb_rng *rng)
{
	double *d = xmalloc(row->n_base * sizeof(*d)), lo, hi;
	struct hvb_perm_result perm;

	for (size_t i = 0; i < row->n_base; i++) {
		if (!(row->base[i] > 0 && row->cand[i] > 0)) {
			set_inconclusive(row, xstrdup("paired ratios need positive values"));
			goto out;
		}
		d[i] = log(row->cand[i] / row->base[i]);
	}
	row->ratio = exp(hvb_median(d, row->n_base));
	hvb_signflip_test(d, row->n_base, o->max_exact, o->iters, rng, &perm);
	row->exact = perm.exact;
	if (perm.min_p >= o->alpha) {
		set_inconclusive(row, xasprintf("with %zu pairs no p-value can be below alpha=%g: "
						"add rounds",
						row->n_base, o->alpha));
		goto out;
	}
	if (row->better != HVB_LOWER_IS_BETTER && row->better != HVB_HIGHER_IS_BETTER) {
		set_inconclusive(row, xstrdup("the metric has no direction (better column)"));
		goto out;
	}
	hvb_bootstrap_median_ci(d, row->n_base, o->confidence, o->iters, rng, &lo, &hi);
	row->ci_lo = exp(lo);
	row->ci_hi = exp(hi);
	row->p = perm.p;
out:
	free(d);
}

/* The median pair ratio of a paired row, the figure its table shows even
 * when there are too few pairs to test: NAN unless every value is positive. */
static double paired_ratio(const struct hvb_cmp_row *row)
{
	double *d = xmalloc((row->n_base ? row->n_base : 1) * sizeof(*d)), m = NAN;
	size_t i;

	for (i = 0; i < row->n_base && row->base[i] > 0 && row->cand[i] > 0; i++)
		d[i] = log(row->cand[i] / row->base[i]);
	if (row->n_base && i == row->n_base)
		m = exp(hvb_median(d, row->n_base));
	free(d);
	return m;
}

void hvb_cmp_row_eval(struct hvb_cmp_row *row, const struct hvb_cmp_opts *o)
{
	struct hvb_perm_result perm;
	struct hvb_rng rng;

	if (row->verdict == HVB_V_ONLY_BASE || row->verdict == HVB_V_ONLY_CAND ||
	    (row->verdict == HVB_V_INCONCLUSIVE && row->why))
		return;
	row->med_base = hvb_median(row->base, row->n_base);
	row->med_cand = hvb_median(row->cand, row->n_cand);
	/* Paired, the change is the median pair ratio, never the quotient of
	 * the medians (another figure) */
	if (row->paired)
		row->ratio = paired_ratio(row);
	else if (row->med_base != 0)
		row->ratio = row->med_cand / row->med_base;
	if (row->n_base < o->min_reps || row->n_cand < o->min_reps) {
		if (row->paired)
			set_inconclusive(row, xasprintf("%zu pair(s) (%zu value(s) without a "
							"partner): need at least %u",
							row->n_base, row->n_unpaired, o->min_reps));
		else
			set_inconclusive(row, xasprintf("%zu repetition(s) in base, %zu in cand: "
							"need at least %u per side",
							row->n_base, row->n_cand, o->min_reps));
		return;
	}
	hvb_rng_seed(&rng, o->seed ^ key_hash(row));
	if (row->paired) {
		eval_paired(row, o, &rng);
		return;
	}
	hvb_permutation_test(row->base, row->n_base, row->cand, row->n_cand, o->max_exact,
			     o->iters, &rng, &perm);
	row->exact = perm.exact;
	if (perm.min_p >= o->alpha) {
		set_inconclusive(row, xasprintf("with %zu and %zu repetitions no p-value can be "
						"below alpha=%g: add repetitions",
						row->n_base, row->n_cand, o->alpha));
		return;
	}
	if (row->better != HVB_LOWER_IS_BETTER && row->better != HVB_HIGHER_IS_BETTER) {
		set_inconclusive(row, xstrdup("the metric has no direction (better column)"));
		return;
	}
	if (hvb_bootstrap_ratio_ci(row->base, row->n_base, row->cand, row->n_cand, o->confidence,
				   o->iters, &rng, &row->ci_lo, &row->ci_hi)) {
		row->ci_lo = row->ci_hi = NAN;
		set_inconclusive(row, xstrdup("ratio undefined: a base median is 0"));
		return;
	}
	row->p = perm.p;
}

double hvb_slowdown(double ratio, int better)
{
	if (isnan(ratio) || ratio <= 0)
		return NAN;
	if (better == HVB_LOWER_IS_BETTER)
		return ratio;
	if (better == HVB_HIGHER_IS_BETTER)
		return 1 / ratio;
	return NAN;
}

void hvb_cmp_row_slowdown(const struct hvb_cmp_row *row, double *s, double *lo, double *hi)
{
	double a = hvb_slowdown(row->ci_lo, row->better), b = hvb_slowdown(row->ci_hi, row->better);

	*s = hvb_slowdown(row->ratio, row->better);
	/* inverting a higher-is-better interval swaps its ends */
	*lo = a < b ? a : b;
	*hi = a < b ? b : a;
	if (isnan(a) || isnan(b))
		*lo = *hi = NAN;
}

/* Which verdict of a workload's metrics stands for the workload: the first
 * of these (see struct hvb_cmp_workload). */
static int verdict_rank(enum hvb_verdict v)
{
	static const enum hvb_verdict order[] = { HVB_V_REGRESSION, HVB_V_IMPROVEMENT,
						  HVB_V_NO_CHANGE,  HVB_V_INCONCLUSIVE,
						  HVB_V_ONLY_BASE,  HVB_V_ONLY_CAND };
	int i = 0;

	while (i < (int)ARRAY_SIZE(order) - 1 && order[i] != v)
		i++;
	return i;
}

static struct hvb_cmp_workload *workload_of(struct hvb_cmp_result *res,
					    const struct hvb_cmp_row *row)
{
	struct hvb_cmp_workload *w;

	for (size_t i = res->n_workloads; i-- > 0;) {
		w = &res->workloads[i];
		if (!strcmp(w->runner, row->runner) && !strcmp(w->workload, row->workload))
			return w;
	}
	res->workloads = realloc(res->workloads, (res->n_workloads + 1) * sizeof(*w));
	if (!res->workloads)
		abort();
	w = &res->workloads[res->n_workloads++];
	*w = (struct hvb_cmp_workload){ xstrdup(row->runner), xstrdup(row->workload),
					row->verdict, xstrdup("") };
	return w;
}

static void workloads_free(struct hvb_cmp_result *res)
{
	for (size_t i = 0; i < res->n_workloads; i++) {
		struct hvb_cmp_workload *w = &res->workloads[i];
		free(w->runner), free(w->workload), free(w->metrics);
	}
	free(res->workloads);
	res->workloads = NULL;
	res->n_workloads = 0;
}

/* Fold a verdicted row into its workload's verdict and metric list. */
static void workload_note(struct hvb_cmp_result *res, const struct hvb_cmp_row *row)
{
	struct hvb_cmp_workload *w = workload_of(res, row);
	char *m;

	if (verdict_rank(row->verdict) > verdict_rank(w->verdict))
		return;
	if (verdict_rank(row->verdict) < verdict_rank(w->verdict)) {
		w->verdict = row->verdict;
		w->metrics[0] = '\0';
	}
	m = xasprintf("%s%s%s", w->metrics, w->metrics[0] ? ", " : "", row->metric);
	free(w->metrics);
	w->metrics = m;
}

static void count_workloads(struct hvb_cmp_result *res)
{
	workloads_free(res);
	memset(res->wcount, 0, sizeof(res->wcount));
	for (size_t i = 0; i < res->n_rows; i++)
		workload_note(res, &res->rows[i]);
	for (size_t i = 0; i < res->n_workloads; i++)
		res->wcount[res->workloads[i].verdict]++;
}

/* The minimum effect of a row: its thresholds file line's, or the default. */
static void row_threshold(struct hvb_cmp_row *row, const struct hvb_cmp_result *res,
			  const struct hvb_cmp_opts *o)
{
	const struct hvb_thresh_line *l =
		res->thresholds ? hvb_thresholds_find(res->thresholds, row->runner,
						      row->workload, row->metric)
				: NULL;

	row->threshold = l ? l->pct / 100 : o->threshold;
	row->threshold_line = l ? l->line : 0;
}

/*
 * Gate mode, a workload whose parameters differ (compare, not ab): its
 * figures measure the changed workload, so the gate can judge neither a
 * regression nor its absence there.  Inconclusive, saying why, keeps exit
 * 3 (cmd.h: could not be judged) and every output's verdict set as it is.
 */
static void row_not_comparable(struct hvb_cmp_row *row)
{
	if (!row->not_comparable) {
		free(row->why);
		row->why = xasprintf("not comparable: the workload ran with different parameters "
				     "(%s), so its figures measure the changed workload, not the "
				     "hypervisor; rerun with the same --param on both sides, or "
				     "leave it out (--workload)",
				     row->params);
		row->not_comparable = true;
	}
	row->verdict = HVB_V_INCONCLUSIVE;
}

void hvb_cmp_finish(struct hvb_cmp_result *res, const struct hvb_cmp_opts *o)
{
	double *p = xmalloc((res->n_rows ? res->n_rows : 1) * sizeof(*p));

	for (size_t i = 0; i < res->n_rows; i++)
		p[i] = res->rows[i].p;
	hvb_bh_adjust(p, res->n_rows, p);
	memset(res->count, 0, sizeof(res->count));
	res->n_no_interval = 0;
	for (size_t i = 0; i < res->n_rows; i++) {
		struct hvb_cmp_row *row = &res->rows[i];
		row->q = p[i];
		row_threshold(row, res, o);
		if (!isnan(row->q)) {
			bool lower = row->better == HVB_LOWER_IS_BETTER;
			bool up = row->ci_lo > 1 + row->threshold;
			bool down = row->ci_hi < 1 - row->threshold;
			row->verdict = HVB_V_NO_CHANGE;
			if (row->q < o->alpha && (up || down))
				row->verdict = up == lower ? HVB_V_REGRESSION : HVB_V_IMPROVEMENT;
		}
		if (o->gate && !o->params_expected && row->params &&
		    row->verdict != HVB_V_ONLY_BASE && row->verdict != HVB_V_ONLY_CAND)
			row_not_comparable(row);
		res->count[row->verdict]++;
		if (row->verdict != HVB_V_ONLY_BASE && row->verdict != HVB_V_ONLY_CAND &&
		    (row->n_base < o->min_reps || row->n_cand < o->min_reps))
			res->n_no_interval++;
	}
	free(p);
	count_workloads(res);
}

int hvb_cmp_exit_status(const struct hvb_cmp_result *res)
{
	if (res->count[HVB_V_REGRESSION] || res->cand_failed)
		return 1;
	return res->gate.on && res->gate.n ? HVB_EXIT_INCONCLUSIVE : HVB_EXIT_SUCCESS;
}

static int thresholds_load(struct hvb_cmp_result *res, const char *path, char *err,
			   size_t errlen)
{
	struct hvb_thresholds *t = xcalloc(1, sizeof(*t));
	int r = hvb_thresholds_read(path, t, err, errlen);

	if (r)
		free(t);
	else
		res->thresholds = t;
	return r;
}

/* --ratio-to: which workloads were compared as absolute values (the
 * reference has no analogue), said once so no reader takes them as ratios. */
static void absolute_warn(const struct side *sb, const struct side *sc,
			  const struct hvb_cmp_opts *o, struct hvb_cmp_result *res)
{
	struct name_set wl = { 0 };
	const struct side *sides[] = { sb, sc };
	size_t len = 1;
	char *list;

	for (size_t i = 0; i < 2; i++)
		for (size_t j = 0; j < sides[i]->n_keys; j++)
			if (sides[i]->keys[j].absolute && !sides[i]->keys[j].why)
				name_set_add(&wl, sides[i]->keys[j].workload);
	if (!wl.n)
		return;
	for (size_t i = 0; i < wl.n; i++)
		len += strlen(wl.v[i]) + 2;
	list = xmalloc(len);
	list[0] = '\0';
	for (size_t i = 0; i < wl.n; i++) {
		strcat(list, i ? ", " : "");
		strcat(list, wl.v[i]);
		free(wl.v[i]);
	}
	free(wl.v);
	warning_add(res, xasprintf("--ratio-to %s: %s has no analogue of %s (no row, or skipped): "
				   "their metrics are compared as absolute values, in their own "
				   "units, not as ratios to %s",
				   o->ratio_to, o->ratio_to, list, o->ratio_to));
	free(list);
}

int hvb_cmp_dirs(const char *const *base, size_t n_base, const char *const *cand, size_t n_cand,
		 const struct hvb_cmp_opts *o, struct hvb_cmp_result *res, char *err,
		 size_t errlen)
{
	struct side sb = { .name = "base" }, sc = { .name = "cand" };
	struct name_set unselected = { 0 };
	struct seen seen = { 0 }, seen_cand = { 0 };
	char label[200] = "";
	int r = 0;

	memset(res, 0, sizeof(*res));
	if (o->thresholds && (r = thresholds_load(res, o->thresholds, err, errlen)))
		return r;
	if (!o->base_runner != !o->cand_runner) {
		fail(err, errlen, "runner against runner needs both --base-runner and --cand-runner");
		return -EINVAL;
	}
	if (o->base_runner) {
		snprintf(label, sizeof(label), "%s->%s", o->base_runner, o->cand_runner);
		sb.label = sc.label = label;
	}
	if (o->ratio_to && o->base_runner) {
		fail(err, errlen,
		     "--ratio-to and --base-runner/--cand-runner do not go together: the first "
		     "divides every runner by one, the second sets one runner against another");
		return -EINVAL;
	}
	if (o->paired && n_base != n_cand) {
		fail(err, errlen,
		     "paired comparison of %zu base and %zu cand directories: the i-th of each "
		     "side form a round, give as many of each",
		     n_base, n_cand);
		return -EINVAL;
	}
	for (size_t i = 0; i < n_base && !r; i++)
		r = side_read_dir(&sb, i, base[i], o, res, &unselected, &seen, err, errlen);
	/* Runner against runner, one run may be on both sides: a side of its own. */
	for (size_t i = 0; i < n_cand && !r; i++)
		r = side_read_dir(&sc, i, cand[i], o, res, &unselected,
				  o->base_runner ? &seen_cand : &seen, err, errlen);
	seen_free(&seen);
	seen_free(&seen_cand);
	if (!r)
		pages_compare(&sb, &sc, res);
	if (!r) {
		char *ctx = hvb_cmp_context_diff(&sb.ctx, &sc.ctx, o->base_runner, o->cand_runner);
		if (ctx)
			warning_add(res, ctx);
		if ((ctx = hvb_cmp_context_pooled(&sb.ctx, "base")))
			warning_add(res, ctx);
		if ((ctx = hvb_cmp_context_pooled(&sc.ctx, "cand")))
			warning_add(res, ctx);
	}
	if (!r)
		r = merge_sides(&sb, &sc, o->paired, res, err, errlen);
	if (!r && o->ratio_to)
		absolute_warn(&sb, &sc, o, res);
	if (!r)
		params_compare(&sb, &sc, o, res);
	if (!r) {
		for (size_t i = 0; i < res->n_rows; i++)
			hvb_cmp_row_eval(&res->rows[i], o);
		hvb_cmp_finish(res, o);
	}
	res->n_unselected = unselected.n;
	for (size_t i = 0; i < unselected.n; i++)
		free(unselected.v[i]);
	free(unselected.v);
	side_free(&sb);
	side_free(&sc);
	if (r)
		hvb_cmp_result_free(res);
	return r;
}

void hvb_cmp_result_free(struct hvb_cmp_result *res)
{
	for (size_t i = 0; i < res->n_rows; i++) {
		struct hvb_cmp_row *row = &res->rows[i];
		free(row->runner), free(row->workload), free(row->metric), free(row->unit);
		free(row->base), free(row->cand), free(row->why), free(row->params);
	}
	hvb_cmp_params_free(res->params, res->n_params);
	for (size_t i = 0; i < res->n_gaps; i++) {
		struct hvb_cmp_gap *g = &res->gaps[i];
		free(g->runner), free(g->workload), free(g->metric), free(g->status), free(g->note);
	}
	for (size_t i = 0; i < res->n_incomplete; i++) {
		struct hvb_cmp_partial *p = &res->incomplete[i];
		free(p->dir), free(p->status), free(p->where);
	}
	workloads_free(res);
	free(res->rows);
	free(res->gaps);
	free(res->incomplete);
	for (size_t i = 0; i < res->n_warnings; i++)
		free(res->warnings[i]);
	free(res->warnings);
	if (res->thresholds)
		hvb_thresholds_free(res->thresholds);
	free(res->thresholds);
	for (size_t i = 0; i < res->gate.n; i++)
		free(res->gate.items[i].what), free(res->gate.items[i].why);
	free(res->gate.items);
	memset(res, 0, sizeof(*res));
}
