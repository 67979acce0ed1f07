/*
 * Gate mode of `hvbench compare` and `hvbench ab` (compare_gate.c): a CI
 * gate must not pass on what it did not test.  In gate mode, every gated
 * metric (a compared row) that could not be judged fails the gate with
 * HVB_EXIT_INCONCLUSIVE (cmd.h): too few repetitions for any p below
 * alpha, an interval reaching past the threshold without a verdict, a
 * metric on one side only, a ratio that could not be formed, a partial
 * run, or nothing compared at all.
 */
#ifndef HVB_COMPARE_GATE_H
#define HVB_COMPARE_GATE_H

#include <stdbool.h>

#include "compare.h"

/*
 * The mode: --gate, --no-gate (both: -EINVAL), else on when the
 * environment has CI=true (GitHub Actions, GitLab CI and most others set
 * it).  *why: a static phrase saying why, for the output.
 */
int hvb_cmp_gate_mode(bool gate, bool no_gate, bool *on, const char **why);

/*
 * The smallest p the comparison's own test can give with n repetitions per
 * side (paired: n pairs, the sign-flip test; else the rank permutation test
 * of n against n), from running that test on n values that all point one
 * way.  Benjamini-Hochberg does not raise that floor: when every gated
 * metric reaches it, each q equals it.
 */
double hvb_cmp_min_p(const struct hvb_cmp_opts *o, bool paired, unsigned n);

/* The smallest n, at least o->min_reps, whose min p is below o->alpha; 0
 * when none up to max can (alpha below the Monte Carlo floor 1/(iters+1)). */
unsigned hvb_cmp_reps_needed(const struct hvb_cmp_opts *o, bool paired, unsigned max);

/* After hvb_cmp_dirs(): fill res->gate (on, and what could not be judged,
 * each with what to do). */
void hvb_cmp_gate_eval(struct hvb_cmp_result *res, const struct hvb_cmp_opts *o);

#endif
