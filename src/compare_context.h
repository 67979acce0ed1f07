/*
 * The context of the runs on each side of a comparison (host, host kind
 * and identity, kernel, microcode, settings, guest memory, image, hvbench
 * version): when base and cand differ in it, the comparison measures that
 * difference as well as the change, so `compare` and `ab` say so in one
 * warning that lists every differing key with both values.
 */
#ifndef HVB_COMPARE_CONTEXT_H
#define HVB_COMPARE_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "results.h"

/* Meta keys compared as they are, and per-runner ones (runner.<r>.KEY). */
extern const char *const hvb_ctx_run_keys[];
extern const char *const hvb_ctx_runner_keys[];

struct hvb_cmp_context {
	size_t n;
	char **key, **value; /* distinct values of a side joined by " | " */
	/* What the side's runs selected (meta workloads, names or globs), for
	 * the param.* keys: a side lacks a parameter only where it ran the
	 * workload.  ran_any: a run without the key (it may have run any). */
	size_t n_ran;
	char **ran;
	bool ran_any;
};

/*
 * Note the context of one run of a side.  runner: with --base-runner /
 * --cand-runner, this side's runner (its runner.<r>.* keys are then noted
 * as runner.*.KEY so the two runners line up); NULL: every runner's keys.
 */
void hvb_cmp_context_note(struct hvb_cmp_context *c, const struct hvb_run *run,
			  const char *runner);

/* The warning (malloc'ed) listing what differs between base and cand, or
 * NULL when nothing does.  Per-runner keys count only where both sides
 * have them (a runner that ran on one side only is not a context change). */
char *hvb_cmp_context_diff(const struct hvb_cmp_context *base, const struct hvb_cmp_context *cand,
			   const char *base_runner, const char *cand_runner);

/* A warning (malloc'ed) when one side's runs come from several hosts by
 * host_identity or host_name (a folder of a fleet's runs), else NULL. */
char *hvb_cmp_context_pooled(const struct hvb_cmp_context *c, const char *side);

/*
 * A workload parameter (meta param.<short>.<name>, `hvbench run --param`)
 * whose value differs between base and cand, or that one side recorded
 * and the other did not although it ran that workload (a run from before
 * the parameter): the workload itself changed, not what runs it.
 */
struct hvb_cmp_param {
	char *key;         /* param.<short>.<name> */
	char *base, *cand; /* the sides' values, "(not recorded)" where absent */
};

/* The parameters that differ (malloc'ed array in *out, in base's key
 * order, then cand's own); returns how many. */
size_t hvb_cmp_context_params(const struct hvb_cmp_context *base,
			      const struct hvb_cmp_context *cand, struct hvb_cmp_param **out);

/* Does a param.<short>.<name> key belong to workload (family/short)? */
bool hvb_cmp_param_of(const char *key, const char *workload);

void hvb_cmp_params_free(struct hvb_cmp_param *p, size_t n);

void hvb_cmp_context_free(struct hvb_cmp_context *c);

#endif
