/*
 * hvbench summarize: the statistics of result directories as one JSON
 * document (schema in reports/README.md), for `hvbench report` and for
 * anyone who wants the numbers without parsing samples.csv.  The engine is
 * summarize.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "opt.h"
#include "summarize.h"
#include "util.h"

static const char summarize_usage[] =
	"summarize [options] DIR...\n\n"
	"Write every statistic `hvbench report` shows as one JSON document (schema\n"
	"hvbench-summary/1, reports/README.md): per run, runner, workload and metric\n"
	"the values, median and an order-statistic interval of the median; for each\n"
	"workload's primary metric the slowdown of every series against every other,\n"
	"with compare's bootstrap interval (same seed scheme and resamples); every\n"
	"row without a value.  No interval below 3 repetitions.  Same input and seed\n"
	"give the same bytes, whatever --threads.  A run that did not complete is\n"
	"refused unless --allow-partial.  Exit status: 0 ok, 1 cannot write, 2 usage\n"
	"or invalid input.";

static int write_out(const char *const *dirs, size_t n, const struct hvb_sum_opts *o,
		     const char *path)
{
	char err[4400] = "";
	FILE *f = path ? fopen(path, "w") : stdout;
	int r;

	if (!f) {
		hvb_err("summarize: cannot write %s: %s", path, strerror(errno));
		return HVB_EXIT_FAILURE;
	}
	r = hvb_summarize(dirs, n, o, f, err, sizeof(err));
	if (r)
		hvb_err("summarize: %s", err);
	if ((path ? fclose(f) : fflush(f)) && !r) {
		hvb_err("summarize: cannot write %s: %s", path ? path : "standard output",
			strerror(errno));
		return HVB_EXIT_FAILURE;
	}
	return r ? HVB_EXIT_USAGE : HVB_EXIT_SUCCESS;
}

static int summarize_main(int argc, char **argv)
{
	struct hvb_sum_opts o;
	uint64_t seed = 1, threads;
	bool partial = false;
	const char *out = NULL;
	hvb_sum_opts_init(&o);
	threads = o.threads;
	const struct hvb_opt opts[] = {
		OPT_UINT("seed", 0, &seed, 0, 1e18, "N", "random seed (default 1, as compare)"),
		OPT_FLAG("allow-partial", 0, &partial, "accept runs that did not complete"),
		OPT_STR("out", 'o', &out, "FILE", "write to FILE (default: standard output)"),
		OPT_UINT("threads", 0, &threads, 1, 256, "N",
			 "threads for the bootstraps (default: the online CPUs, at most 8); the "
			 "output is the same for any N"),
		OPT_END(),
	};
	int npos, r = hvb_opt_parse("summarize", summarize_usage, opts, argc, argv, &npos);

	if (r)
		return r > 0 ? HVB_EXIT_SUCCESS : HVB_EXIT_USAGE;
	if (npos < 1) {
		hvb_err("summarize: no result directory given (see hvbench summarize --help)");
		return HVB_EXIT_USAGE;
	}
	o.seed = seed;
	o.threads = (unsigned)threads;
	o.allow_partial = partial;
	return write_out((const char *const *)argv + 1, (size_t)npos, &o, out);
}

static const struct hvb_cmd summarize_cmd = {
	.name = "summarize",
	.summary = "the statistics of result directories as one JSON document",
	.main = summarize_main,
	.order = 6,
};
HVB_CMD(summarize_cmd);
