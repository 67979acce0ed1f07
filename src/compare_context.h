/*
 * The context of the runs on each side of a comparison (host, host kind
 * and identity, kernel, microcode, settings, guest memory, image, hvbench
 * version): when base and cand differ in it, the comparison measures that
 * difference as well as the change, so `compare` and `ab` say so in one
 * warning that lists every differing key with both values.
 */
#ifndef HVB_COMPARE_CONTEXT_H
#define HVB_COMPARE_CONTEXT_H

#include <stddef.h>

#include "results.h"

/* Meta keys compared as they are, and per-runner ones (runner.<r>.KEY). */
extern const char *const hvb_ctx_run_keys[];
extern const char *const hvb_ctx_runner_keys[];

struct hvb_cmp_context {
	size_t n;
	char **key, **value; /* distinct values of a side joined by " | " */
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

void hvb_cmp_context_free(struct hvb_cmp_context *c);

#endif
