/*
 * What `hvbench compare` and `hvbench ab` share: their comparison options
 * and "compare these directories and print the result" (compare_cli.h).
 */
#include "compare_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "compare_gate.h"
#include "thresholds.h"
#include "util.h"
#include "workload.h"

void hvb_cmp_args_free(struct hvb_cmp_args *a)
{
	for (size_t i = 0; i < a->n_base; i++)
		free(a->base[i]);
	for (size_t i = 0; i < a->n_cand; i++)
		free(a->cand[i]);
	free(a->base);
	free(a->cand);
}

int hvb_cmp_format_parse(const char *s, enum hvb_cmp_format *out)
{
	static const char *const names[] = { "table", "csv", "json", "markdown" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i])) {
			*out = (enum hvb_cmp_format)i;
			return 0;
		}
	return -EINVAL;
}

/* The CI outputs, after the comparison is printed: the annotations, then
 * the JUnit file.  0, or -errno if the JUnit file could not be written. */
static int ci_emit(const struct hvb_ci_opts *ci, FILE *out, const struct hvb_cmp_result *res,
		   const struct hvb_cmp_opts *o, const struct hvb_cmp_args *a)
{
	hvb_annot_print(out, ci, res);
	return ci->junit ? hvb_junit_write(ci, res, o, a) : 0;
}

int hvb_cmp_run(const struct hvb_cmp_args *a, const struct hvb_cmp_opts *o,
		enum hvb_cmp_format fmt, const struct hvb_ci_opts *ci, FILE *out)
{
	struct hvb_cmp_result res;
	char err[1024], token[40];
	int r = hvb_cmp_dirs((const char *const *)a->base, a->n_base,
			     (const char *const *)a->cand, a->n_cand, o, &res, err, sizeof(err));

	if (r) {
		hvb_err("compare: %s", err);
		return HVB_EXIT_USAGE;
	}
	if (!res.n_rows) {
		/* a gate that compared nothing must not pass, nor look like a typo */
		hvb_err("compare: no metric matches on either side (metrics '%s'%s%s); see "
			"--metrics, --runner, --workload%s",
			o->metrics ? o->metrics : HVB_CMP_DEFAULT_METRICS,
			o->ratio_to ? ", other than those of --ratio-to " : "",
			o->ratio_to ? o->ratio_to : "",
			o->gate ? "; gate: INCONCLUSIVE, nothing was compared" : "");
		hvb_cmp_result_free(&res);
		return o->gate ? HVB_EXIT_INCONCLUSIVE : HVB_EXIT_USAGE;
	}
	hvb_cmp_gate_eval(&res, o);
	/* On stderr too, in every format: a pipe into a file must not hide it. */
	for (size_t i = 0; i < res.n_warnings; i++)
		hvb_warn("compare: %s", res.warnings[i]);
	hvb_annot_pause(out, ci, token, sizeof(token));
	hvb_cmp_render(out, &res, o, a, fmt);
	hvb_annot_resume(out, token);
	fflush(out);
	r = hvb_cmp_exit_status(&res);
	if (r == HVB_EXIT_INCONCLUSIVE)
		hvb_err("compare: gate: INCONCLUSIVE (exit %d): %zu gated metric(s) or run(s) "
			"could not be judged, each named with what to do in the output",
			r, res.gate.n);
	if (ci_emit(ci, out, &res, o, a))
		r = HVB_EXIT_USAGE;
	hvb_cmp_result_free(&res);
	return r;
}

/* A bad thresholds file is refused before ab runs anything; the
 * comparison reads it again (hvb_cmp_dirs). */
static int thresholds_check(const struct hvb_cmp_cli *c)
{
	struct hvb_thresholds t;
	char err[1024];

	if (hvb_thresholds_read(c->opts.thresholds, &t, err, sizeof(err))) {
		hvb_err("%s: --thresholds %s", c->cmd, err);
		return -1;
	}
	hvb_thresholds_free(&t);
	return 0;
}

/* Options shared with `hvbench ab`. */
int hvb_cmp_opts_parse(struct hvb_cmp_cli *c)
{
	struct hvb_cmp_opts *o = &c->opts;

	if (hvb_cmp_format_parse(c->format, &c->fmt)) {
		hvb_err("%s: unknown --format '%s' (table, csv, json or markdown)", c->cmd,
			c->format);
		return -1;
	}
	if (o->no_boot && o->workloads && !strcmp(o->workloads, HVB_BOOT_WORKLOAD)) {
		hvb_err("%s: --workload boot with --no-boot leaves nothing to compare: give "
			"one of them", c->cmd);
		return -1;
	}
	if (hvb_cmp_gate_mode(c->gate, c->no_gate, &o->gate, &o->gate_why)) {
		hvb_err("%s: --gate and --no-gate contradict each other: give one", c->cmd);
		return -1;
	}
	if (o->ratio_to && !o->ratio_to[0]) {
		hvb_err("%s: --ratio-to needs a runner name (e.g. --ratio-to native)", c->cmd);
		return -1;
	}
	o->threshold = c->threshold_pct / 100;
	o->iters = (unsigned)c->iters;
	o->min_reps = (unsigned)c->min_reps;
	o->seed = c->seed;
	if (o->thresholds && thresholds_check(c))
		return -1;
	return hvb_ci_opts_parse(&c->ci, c->fmt);
}

void hvb_cmp_cli_init(struct hvb_cmp_cli *c, const char *cmd)
{
	memset(c, 0, sizeof(*c));
	hvb_cmp_opts_init(&c->opts);
	c->cmd = cmd;
	c->format = "table";
	c->threshold_pct = c->opts.threshold * 100;
	c->iters = c->opts.iters;
	c->min_reps = c->opts.min_reps;
	c->seed = c->opts.seed;
	hvb_ci_opts_init(&c->ci, cmd);
}

