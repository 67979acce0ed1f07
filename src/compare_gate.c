/* Gate mode of compare and ab: see compare_gate.h. */
#include "compare_gate.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "results.h"
#include "stats.h"
#include "util.h"

int hvb_cmp_gate_mode(bool gate, bool no_gate, bool *on, const char **why)
{
	const char *ci = getenv("CI");

	if (gate && no_gate)
		return -EINVAL;
	if (gate || no_gate) {
		*on = gate;
		*why = gate ? "--gate" : "--no-gate";
	} else if (ci && (!strcasecmp(ci, "true") || !strcmp(ci, "1"))) {
		*on = true;
		*why = "CI=true in the environment; --no-gate turns it off";
	} else {
		*on = false;
		*why = "the default; --gate, or CI=true in the environment, turns it on";
	}
	return 0;
}

double hvb_cmp_min_p(const struct hvb_cmp_opts *o, bool paired, unsigned n)
{
	double *a = xmalloc(2 * (n ? n : 1) * sizeof(*a));
	struct hvb_perm_result perm = { .min_p = 1 };
	struct hvb_rng rng;

	/* every pair one way / every cand value above every base value */
	for (unsigned i = 0; i < 2 * n; i++)
		a[i] = 1 + i;
	hvb_rng_seed(&rng, o->seed);
	if (n && paired)
		hvb_signflip_test(a, n, o->max_exact, o->iters, &rng, &perm);
	else if (n)
		hvb_permutation_test(a, n, a + n, n, o->max_exact, o->iters, &rng, &perm);
	free(a);
	return perm.min_p;
}

unsigned hvb_cmp_reps_needed(const struct hvb_cmp_opts *o, bool paired, unsigned max)
{
	double floor_mc = 1.0 / ((double)o->iters + 1);

	for (unsigned n = 1; n <= max; n++) {
		double p = hvb_cmp_min_p(o, paired, n);
		if (p < o->alpha)
			return n > o->min_reps ? n : o->min_reps;
		/* Monte Carlo regime and its floor reached: more n cannot help */
		if (p <= floor_mc)
			return 0;
	}
	return 0;
}

/* ------------------------------------------------------------- items */

static void item_add(struct hvb_cmp_gate *g, char *what, char *why)
{
	g->items = realloc(g->items, (g->n + 1) * sizeof(*g->items));
	if (!g->items)
		abort();
	g->items[g->n++] = (struct hvb_cmp_gate_item){ what, why };
}

/* What to do about too few repetitions (pairs) for a verdict. */
static char *more_reps(const struct hvb_cmp_result *res, const struct hvb_cmp_opts *o,
		       unsigned need)
{
	const char *quick = res->n_quick ? " (not --quick: it runs 2 repetitions)" : "";

	if (!need)
		return xasprintf("no number of repetitions reaches alpha=%g with --iters %u: "
				 "raise --iters or --alpha",
				 o->alpha, o->iters);
	if (o->paired)
		return xasprintf("run at least %u rounds (ab --reps %u)%s", need, need, quick);
	return xasprintf("rerun with --reps %u or more on each side%s", need, quick);
}

/* The multiple-testing part of a straddle: p below alpha but q not, as
 * Benjamini-Hochberg over m tested metrics has it; "" otherwise. */
static char *bh_note(const struct hvb_cmp_row *r, const struct hvb_cmp_opts *o, size_t m)
{
	struct hvb_cmp_opts one = *o;
	unsigned need;

	if (!(r->p < o->alpha) || r->q < o->alpha || m < 2)
		return xstrdup("");
	/* a change in this metric alone is significant when p * m < alpha */
	one.alpha = o->alpha / (double)m;
	need = hvb_cmp_reps_needed(&one, o->paired, 100000);
	if (!need)
		return xasprintf(" (p=%.3g is below alpha, but Benjamini-Hochberg over %zu tested "
				 "metrics makes it q=%.3g)",
				 r->p, m, r->q);
	return xasprintf(" (p=%.3g is below alpha, but Benjamini-Hochberg over %zu tested "
			 "metrics makes it q=%.3g: a change in this metric alone needs p below "
			 "%.3g, at least %u %s, or fewer metrics: --metrics, --workload)",
			 r->p, m, r->q, one.alpha, need, o->paired ? "rounds" : "repetitions");
}

/* A no-change row whose interval reaches past the threshold in the bad
 * direction: a regression of that size is not ruled out. */
static char *straddle_why(const struct hvb_cmp_row *r, const struct hvb_cmp_opts *o, size_t m)
{
	bool lower = r->better == HVB_LOWER_IS_BETTER;
	double s, lo, hi;
	char *bh, *why;

	if (lower ? !(r->ci_hi > 1 + r->threshold) : !(r->ci_lo < 1 - r->threshold))
		return NULL;
	hvb_cmp_row_slowdown(r, &s, &lo, &hi);
	bh = bh_note(r, o, m);
	why = xasprintf("no verdict: the %g%% CI of the slowdown [%.3f, %.3f] reaches past the "
			"%g%% threshold and q=%.3g %s%s, so a slowdown of up to %.1f%% is not "
			"ruled out; add %s to narrow the interval",
			o->confidence * 100, lo, hi, r->threshold * 100, r->q,
			r->q < o->alpha ? "is below alpha (a change, of unknown size)"
					: "is not below alpha",
			bh, (hi - 1) * 100, o->paired ? "rounds" : "repetitions (--reps)");
	free(bh);
	return why;
}

/* Why row r keeps the gate from passing, with what to do; NULL if judged. */
static char *row_why(const struct hvb_cmp_result *res, const struct hvb_cmp_row *r,
		     const struct hvb_cmp_opts *o, unsigned need, size_t m)
{
	char *todo, *why;

	if (r->not_comparable) /* its why says what to do */
		return xstrdup(r->why);
	switch (r->verdict) {
	case HVB_V_REGRESSION:
	case HVB_V_IMPROVEMENT:
		return NULL;
	case HVB_V_NO_CHANGE:
		return straddle_why(r, o, m);
	case HVB_V_ONLY_BASE:
	case HVB_V_ONLY_CAND:
		return xasprintf("%s (%s): measure it on both sides, or leave it out (--runner, "
				 "--workload, --metrics)",
				 hvb_verdict_name(r->verdict), r->why ? r->why : "");
	case HVB_V_INCONCLUSIVE:
		break;
	}
	if (isnan(r->med_base) || (need && r->n_base >= need && r->n_cand >= need))
		return xstrdup(r->why ? r->why : "inconclusive");
	todo = more_reps(res, o, need);
	why = xasprintf("%s; %s", r->why ? r->why : "too few repetitions", todo);
	free(todo);
	return why;
}

void hvb_cmp_gate_eval(struct hvb_cmp_result *res, const struct hvb_cmp_opts *o)
{
	unsigned need;
	size_t m = 0; /* tested rows: Benjamini-Hochberg's m */

	res->gate.on = o->gate;
	if (!o->gate)
		return;
	need = hvb_cmp_reps_needed(o, o->paired, 100000);
	for (size_t i = 0; i < res->n_rows; i++)
		m += !isnan(res->rows[i].p);
	for (size_t i = 0; i < res->n_incomplete; i++) {
		const struct hvb_cmp_partial *p = &res->incomplete[i];
		item_add(&res->gate, xasprintf("%s %s", p->side, p->dir),
			 xasprintf("a partial run (status %s%s%s): it holds only some "
				   "repetitions; rerun it to completion",
				   p->status, p->where[0] ? " at " : "", p->where));
	}
	for (size_t i = 0; i < res->n_rows; i++) {
		const struct hvb_cmp_row *r = &res->rows[i];
		char *why = row_why(res, r, o, need, m);
		if (why)
			item_add(&res->gate,
				 xasprintf("%s %s %s", r->runner, r->workload, r->metric), why);
	}
}
