/*
 * hvbench export: result directories as data for other tools.  jsonl: one
 * JSON object per sample (schema hvbench-sample/1, results/FORMAT.md "JSON
 * output"), for a time-series database or BigQuery; json: one run document
 * per directory (hvbench-run/1, what `hvbench run --format json` prints),
 * in a JSON array when given more than one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "export.h"
#include "opt.h"
#include "outfile.h"
#include "results.h"
#include "util.h"

static const char export_usage[] =
	"export [--format jsonl|json] [--out FILE] [--allow-partial]\n"
	"                      RUN_DIR...\n\n"
	"Write result directories as data: one JSON line per sample (schema\n"
	"hvbench-sample/1) or one run document per directory (hvbench-run/1);\n"
	"the schemas are results/schema/*.schema.json (results/FORMAT.md).";

struct export_opts {
	const char *format, *out;
	bool allow_partial;
};

/* Every directory read before anything is written: a bad one leaves no
 * half export behind.  0, or the exit status. */
static int read_runs(char **dirs, int n, bool allow_partial, struct hvb_run *runs)
{
	char err[1024];

	for (int i = 0; i < n; i++) {
		int r = hvb_run_read(dirs[i], allow_partial, &runs[i], err, sizeof(err));

		if (r) {
			hvb_err("export: %s", err);
			while (i--)
				hvb_run_free(&runs[i]);
			return HVB_EXIT_USAGE; /* as compare: the input is the caller's */
		}
		for (size_t w = 0; w < runs[i].n_warnings; w++)
			hvb_warn("export: %s", runs[i].warnings[w]);
	}
	return 0;
}

static void write_runs(FILE *f, const struct export_opts *o, struct hvb_run *runs, int n)
{
	struct hvb_json j;

	if (!strcmp(o->format, "jsonl")) {
		for (int i = 0; i < n; i++)
			hvb_export_samples(f, &runs[i]);
		return;
	}
	hvb_json_init(&j, f, true);
	if (n > 1)
		hvb_json_arr_begin(&j);
	for (int i = 0; i < n; i++)
		hvb_export_run_doc(&j, &runs[i]);
	if (n > 1)
		hvb_json_arr_end(&j);
	hvb_json_end(&j);
}

static int write_out(const struct export_opts *o, struct hvb_run *runs, int n)
{
	struct hvb_outfile of;
	char err[1024];

	if (!o->out) {
		write_runs(stdout, o, runs, n);
		if (fflush(stdout) || ferror(stdout)) {
			hvb_err("export: cannot write to standard output: %s", strerror(errno));
			return HVB_EXIT_FAILURE;
		}
		return HVB_EXIT_SUCCESS;
	}
	if (hvb_outfile_open(&of, o->out, err, sizeof(err))) {
		hvb_err("export: %s", err);
		return HVB_EXIT_FAILURE;
	}
	write_runs(of.f, o, runs, n);
	if (hvb_outfile_commit(&of, err, sizeof(err))) {
		hvb_err("export: %s", err);
		return HVB_EXIT_FAILURE;
	}
	return HVB_EXIT_SUCCESS;
}

static int export_main(int argc, char **argv)
{
	struct export_opts o = { .format = "jsonl" };
	const struct hvb_opt opts[] = {
		OPT_STR("format", 'f', &o.format, "jsonl|json",
			"jsonl: one JSON object per sample (default); json: the run "
			"document of each directory (as `hvbench run --format json`)"),
		OPT_STR("out", 'o', &o.out, "FILE",
			"write to FILE (atomically: a temporary file renamed over it) instead "
			"of standard output"),
		OPT_FLAG("allow-partial", 0, &o.allow_partial,
			 "export incomplete runs (interrupted, failed, running) too; their "
			 "run_status says partial or interrupted"),
		OPT_END(),
	};
	struct hvb_run *runs;
	int npos, r = hvb_opt_parse("export", export_usage, opts, argc, argv, &npos);

	if (r)
		return r > 0 ? HVB_EXIT_SUCCESS : HVB_EXIT_USAGE;
	if (strcmp(o.format, "jsonl") && strcmp(o.format, "json")) {
		hvb_err("export: --format must be jsonl or json, not '%s'", o.format);
		return HVB_EXIT_USAGE;
	}
	if (!npos) {
		hvb_err("export: give at least one result directory (see 'hvbench export "
			"--help')");
		return HVB_EXIT_USAGE;
	}
	runs = xcalloc((size_t)npos, sizeof(*runs));
	r = read_runs(argv + 1, npos, o.allow_partial, runs);
	if (!r) {
		r = write_out(&o, runs, npos);
		for (int i = 0; i < npos; i++)
			hvb_run_free(&runs[i]);
	}
	free(runs);
	return r;
}

static const struct hvb_cmd export_cmd = {
	.name = "export",
	.summary = "export result directories as JSON Lines samples or JSON run documents",
	.main = export_main,
	.order = 9,
};
HVB_CMD(export_cmd);
