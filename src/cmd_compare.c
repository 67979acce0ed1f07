/*
 * hvbench compare: is the candidate slower than the base, beyond noise?
 *
 * The statistics are in compare.c / stats.c, the output formats in
 * compare_render.c, the options shared with `hvbench ab` in compare_cli.c;
 * this file is the command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "compare_cli.h"
#include "opt.h"
#include "runfolder.h"
#include "util.h"

/* Split comma-separated lists of run directories or folders of runs into
 * v, appending, each folder as its runs (runfolder.h).  -1 after saying
 * which one is neither. */
static int dirs_add(char ***v, size_t *n, const char *list)
{
	char *copy = xstrdup(list), *save = NULL, err[4400];
	int r = 0;

	for (char *t = strtok_r(copy, ",", &save); t && !r; t = strtok_r(NULL, ",", &save))
		if (hvb_runs_expand(t, v, n, err, sizeof(err))) {
			hvb_err("compare: %s", err);
			r = -1;
		}
	free(copy);
	return r;
}

static const char compare_usage[] =
	"compare [options] BASE CAND\n\n"
	"Compare two result directories (or comma-separated sets of them, pooled per\n"
	"repetition; or --base/--cand).  A folder of runs (an --out parent, an\n"
	"hvbench merge folder) stands for every run in it; runs of several hosts\n"
	"pooled on one side get a warning.  Per runner, workload and metric: the\n"
	"slowdown, > 1 is worse (medians cand/base for lower-is-better metrics,\n"
	"base/cand for higher-is-better ones; --paired: the median pair slowdown)\n"
	"with a bootstrap CI (none below --min-reps), a permutation p-value and\n"
	"BH-adjusted q.  A regression needs q < alpha AND a CI beyond the threshold\n"
	"in the bad direction (--thresholds FILE: per metric, the first matching line\n"
	"of FILE; 'hvbench thresholds' derives one from baseline runs).  The summary\n"
	"counts workloads (regressed if any of its metrics is; improved if one is\n"
	"and none regresses) and names the metrics.  csv/json keep the raw ratio\n"
	"cand/base and add slowdown.\n"
	"A run that did not complete is refused unless --allow-partial.\n"
	"--ratio-to RUNNER (e.g. native): each other runner's value is divided by\n"
	"RUNNER's of the same repetition of the same run (by the median of RUNNER's\n"
	"repetitions in that run if it lacks that one) and those ratios are compared\n"
	"(unit ratio; RUNNER's rows are not): what slowed the whole host cancels.\n"
	"Cells RUNNER has no analogue of (it skipped them, or never writes them:\n"
	"boot) are compared as absolute values in their own unit, with a warning.\n"
	"Gate mode (--gate; the default when CI=true, --no-gate turns it off; the\n"
	"output says which ran and why): every compared metric must be judged.\n"
	"Too few repetitions, an interval reaching past the threshold without a\n"
	"verdict, a metric on one side only, a ratio that cannot be formed, a\n"
	"partial run, or nothing compared at all fail it, each named with what to\n"
	"do (e.g. 'rerun with --reps 4').\n"
	"Workload parameters (run --param, meta param.*) that differ between the\n"
	"sides, or that one side ran the workload without, are named in a warning\n"
	"with both values; that workload's rows say 'params differ' (the figures\n"
	"measure the changed workload, not the hypervisor) and in gate mode are\n"
	"'not comparable' (inconclusive: exit 3, even where the figures regressed).\n"
	"Exit status: 0 no regression (in gate mode: every gated metric judged),\n"
	"1 regression (or a cell that failed in cand only; it wins over 3),\n"
	"2 usage or invalid input (an incomplete run without --allow-partial;\n"
	"nothing compared, without the gate), 3 gate mode only: inconclusive.";

static int compare_main(int argc, char **argv)
{
	struct hvb_cmp_cli c;
	const char *base = NULL, *cand = NULL;
	struct hvb_cmp_args a = { 0 };
	hvb_cmp_cli_init(&c, "compare");
	const struct hvb_opt opts[] = {
		OPT_STR("base", 0, &base, "DIRS", "base result directories, comma-separated"),
		OPT_STR("cand", 0, &cand, "DIRS", "candidate result directories, comma-separated"),
		HVB_CMP_OPTS(c),
		HVB_CMP_OPT_PAIRED(c),
		OPT_END(),
	};
	int npos, r = hvb_opt_parse("compare", compare_usage, opts, argc, argv, &npos);

	if (r)
		return r > 0 ? HVB_EXIT_SUCCESS : HVB_EXIT_USAGE;
	if (hvb_cmp_opts_parse(&c))
		return HVB_EXIT_USAGE;
	if (!base && npos > 0)
		base = argv[1], argv++, npos--;
	if (!cand && npos > 0)
		cand = argv[1], argv++, npos--;
	if (!base || !cand || npos) {
		hvb_err("compare: %s (see 'hvbench compare --help')",
			npos ? "too many arguments" : "give a base and a candidate directory");
		return HVB_EXIT_USAGE;
	}
	if (dirs_add(&a.base, &a.n_base, base) || dirs_add(&a.cand, &a.n_cand, cand)) {
		hvb_cmp_args_free(&a);
		return HVB_EXIT_USAGE;
	}
	if (!a.n_base || !a.n_cand) {
		hvb_err("compare: empty directory list (give result directories, comma-separated)");
		hvb_cmp_args_free(&a);
		return HVB_EXIT_USAGE;
	}
	r = hvb_cmp_run(&a, &c.opts, c.fmt, &c.ci, stdout);
	hvb_cmp_args_free(&a);
	return r;
}

static const struct hvb_cmd compare_cmd = {
	.name = "compare",
	.summary = "compare two sets of results: regressions beyond noise (exit 1; --gate: 3 "
		   "if one cannot be judged)",
	.main = compare_main,
	.order = 4,
};
HVB_CMD(compare_cmd);
