/*
 * hvbench thresholds: per-metric minimum effects for `compare --thresholds`
 * from a history of baseline runs (the derivation is thresholds_derive.c,
 * the file thresholds.c; this file is the command).
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "compare.h"
#include "opt.h"
#include "thresholds_derive.h"
#include "util.h"

static const char thresholds_usage[] =
	"thresholds --out FILE [options] RUN_DIR...\n\n"
	"Derive per-metric thresholds for 'hvbench compare/ab --thresholds FILE' from\n"
	"at least 3 complete baseline runs of one configuration on one host.  Per\n"
	"runner, workload and metric: the median of each run, the noise of a change\n"
	"between two runs, noise_pct = 100 * sqrt(2) * R / d2(n) (R: the range of the\n"
	"log run medians over n runs, d2(n): the expected range of n normal values),\n"
	"and threshold_pct = max(--floor, --k * noise_pct), at most 100.  FILE gets\n"
	"one line per key with how many runs and repetitions went into it, the\n"
	"noise, k, the floor, the host and the newest run's start.  Keys measured in\n"
	"fewer than 3 runs are listed and left out (compare uses --threshold there).\n"
	"Exit status: 0 written, 1 FILE could not be written, 2 usage or invalid\n"
	"input (fewer than 3 runs, an incomplete run, a run given twice, runs of\n"
	"different hosts without --mixed-hosts).";

static void history_print(FILE *f, const struct hvb_thresh_history *h,
			  const struct hvb_thresh_opts *o, const char *out)
{
	fprintf(f, "thresholds from %zu baseline runs: max(floor %g%%, k %g x noise)\n", h->n_runs,
		o->floor_pct, o->k);
	fprintf(f, "%-10s %-26s %-14s %5s %5s %8s %10s\n", "runner", "workload", "metric", "runs",
		"reps", "noise", "threshold");
	for (size_t i = 0; i < h->n_lines; i++) {
		const struct hvb_thresh_line *l = &h->lines[i];
		fprintf(f, "%-10s %-26s %-14s %5u %5u %7.3g%% %9.4g%%%s\n", l->runner, l->workload,
			l->metric, l->runs, l->reps, l->noise_pct, l->pct,
			l->pct == o->floor_pct ? " (floor)" : "");
	}
	if (h->n_skipped)
		fprintf(f, "\nnot derived (compare uses --threshold for them):\n");
	for (size_t i = 0; i < h->n_skipped; i++)
		fprintf(f, "  %s\n", h->skipped[i]);
	fprintf(f, "\nwrote %zu line(s) to %s\n", h->n_lines, out);
}

static int thresholds_main(int argc, char **argv)
{
	struct hvb_thresh_opts o;
	struct hvb_thresh_history h;
	const char *out = NULL;
	char err[1024];
	hvb_thresh_opts_init(&o);
	const struct hvb_opt opts[] = {
		OPT_STR("out", 'o', &out, "FILE", "the thresholds file to write (replaced atomically)"),
		OPT_DOUBLE("k", 'k', &o.k, 0.1, 100, "K",
			   "threshold = max(floor, K x noise) (default 3)"),
		OPT_DOUBLE("floor", 0, &o.floor_pct, 0, 100, "PCT",
			   "the smallest threshold written, in percent (default 1)"),
		OPT_STR("metrics", 'm', &o.metrics, "GLOBS",
			"metrics, comma-separated globs (default: compare's, "
			HVB_CMP_DEFAULT_METRICS ")"),
		OPT_STR("runner", 'r', &o.runners, "GLOBS", "only these runners"),
		OPT_STR("workload", 'w', &o.workloads, "GLOBS", "only these workloads"),
		OPT_FLAG("mixed-hosts", 0, &o.mixed_hosts,
			 "accept runs of different hosts (host_identity) with a warning"),
		OPT_END(),
	};
	int npos, r = hvb_opt_parse("thresholds", thresholds_usage, opts, argc, argv, &npos);

	if (r)
		return r > 0 ? HVB_EXIT_SUCCESS : HVB_EXIT_USAGE;
	if (!out) {
		hvb_err("thresholds: give --out FILE (see 'hvbench thresholds --help')");
		return HVB_EXIT_USAGE;
	}
	if (hvb_thresh_derive((const char *const *)argv + 1, (size_t)npos, &o, &h, err,
			      sizeof(err))) {
		hvb_err("thresholds: %s", err);
		return HVB_EXIT_USAGE;
	}
	for (size_t i = 0; i < h.n_warnings; i++)
		hvb_warn("thresholds: %s", h.warnings[i]);
	r = hvb_thresholds_write(out, h.lines, h.n_lines, err, sizeof(err));
	if (r)
		hvb_err("thresholds: %s", err);
	else
		history_print(stdout, &h, &o, out);
	hvb_thresh_history_free(&h);
	return r ? HVB_EXIT_FAILURE : HVB_EXIT_SUCCESS;
}

static const struct hvb_cmd thresholds_cmd = {
	.name = "thresholds",
	.summary = "per-metric noise thresholds for compare/ab from a history of baseline runs",
	.main = thresholds_main,
	.order = 6,
};
HVB_CMD(thresholds_cmd);
