/*
 * The run document (schema hvbench-run/1): what `hvbench run` prints as
 * its summary table, as data.  One entry per cell, in the order cells
 * first appear in samples.csv, with the figures of summary.c's table.
 */
#include "export.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "stats.h"
#include "summary.h"
#include "util.h"

const char *hvb_export_status(const struct hvb_run *run)
{
	if (!strcmp(run->status, "complete") || !strcmp(run->status, "interrupted"))
		return run->status;
	return "partial";
}

struct cell_fig {
	const char *status, *note, *metric, *unit;
	int better;
	size_t n;      /* ok values of the primary metric */
	double median; /* NAN without one */
};

/* What one cell (runner, workload) shows: failed if any row failed, else ok
 * if it has values, else the status of its first row. */
static void cell_figure(const struct hvb_run *run, const char *runner, const char *workload,
			struct cell_fig *c)
{
	double *v = xcalloc(run->n_samples + 1, sizeof(double));
	bool any_ok = false, any_failed = false;

	*c = (struct cell_fig){ .metric = hvb_primary_metric(run, workload), .median = NAN };
	for (size_t i = 0; i < run->n_samples; i++) {
		const struct hvb_sample_row *s = &run->samples[i];

		if (strcmp(s->runner, runner) || strcmp(s->workload, workload))
			continue;
		if (s->status == HVB_ST_OK) {
			any_ok = true;
			if (c->metric && !strcmp(s->metric, c->metric) && s->has_value) {
				v[c->n++] = s->value;
				c->unit = s->unit, c->better = s->better;
			}
			continue;
		}
		if (!c->status || (s->status == HVB_ST_FAILED && !any_failed)) {
			c->status = hvb_status_name(s->status);
			c->note = s->note;
		}
		any_failed |= s->status == HVB_ST_FAILED;
	}
	if (!any_failed && any_ok)
		c->status = "ok", c->note = NULL;
	if (c->n)
		c->median = __hvb_median_inplace(v, c->n);
	free(v);
}

static double native_median(const struct hvb_run *run, const char *workload)
{
	struct cell_fig c;

	cell_figure(run, "native", workload, &c);
	return c.median;
}

static void put_str_or_null(struct hvb_json *j, const char *key, const char *s)
{
	hvb_json_kv_str(j, key, s && *s ? s : NULL);
}

static void put_cell(struct hvb_json *j, const struct hvb_run *run, const char *runner,
		     const char *workload)
{
	struct cell_fig c;
	double nat = strcmp(runner, "native") ? native_median(run, workload) : NAN;

	cell_figure(run, runner, workload, &c);
	hvb_json_obj_begin(j);
	hvb_json_kv_str(j, "runner", runner);
	hvb_json_kv_str(j, "workload", workload);
	hvb_json_kv_str(j, "status", c.status);
	put_str_or_null(j, "note", c.note);
	put_str_or_null(j, "metric", c.n ? c.metric : NULL);
	put_str_or_null(j, "unit", c.n ? c.unit : NULL);
	hvb_json_kv_str(j, "better", c.n && c.better ? hvb_better_name(c.better) : NULL);
	hvb_json_kv_int(j, "n", (long long)c.n);
	hvb_json_kv_num(j, "median", c.median);
	/* > 1 is worse, as the summary table's (N×) */
	hvb_json_kv_num(j, "vs_native",
			nat > 0 && c.n ? hvb_slowdown(c.median / nat, c.better) : NAN);
	hvb_json_obj_end(j);
}

/* Cells in the order they first appear. */
static void put_cells(struct hvb_json *j, const struct hvb_run *run)
{
	hvb_json_key(j, "cells");
	hvb_json_arr_begin(j);
	for (size_t i = 0; i < run->n_samples; i++) {
		const struct hvb_sample_row *s = &run->samples[i];
		size_t k = 0;

		while (k < i && (strcmp(run->samples[k].runner, s->runner) ||
				 strcmp(run->samples[k].workload, s->workload)))
			k++;
		if (k == i)
			put_cell(j, run, s->runner, s->workload);
	}
	hvb_json_arr_end(j);
}

static void put_meta(struct hvb_json *j, const struct hvb_run *run, const char *key)
{
	put_str_or_null(j, key, hvb_run_meta(run, key));
}

void hvb_export_run_doc(struct hvb_json *j, const struct hvb_run *run)
{
	static const char *const keys[] = { "run_id",	   "started_utc",   "finished_utc",
					    "host_name",   "host_identity", "hvbench_version",
					    "runners",	   "workloads" };
	const char *reps = hvb_run_meta(run, "reps");
	unsigned long failed = 0;

	hvb_json_obj_begin(j);
	hvb_json_kv_str(j, "schema", HVB_RUN_DOC_SCHEMA);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		put_meta(j, run, keys[i]);
	hvb_json_key(j, "reps");
	if (reps && *reps)
		hvb_json_int(j, strtoll(reps, NULL, 10));
	else
		hvb_json_null(j);
	hvb_json_kv_str(j, "dir", run->dir);
	hvb_json_kv_str(j, "status", hvb_export_status(run));
	hvb_json_kv_str(j, "meta_status", run->status);
	hvb_json_kv_int(j, "rows", (long long)run->n_samples);
	for (size_t i = 0; i < run->n_samples; i++)
		failed += run->samples[i].status == HVB_ST_FAILED;
	hvb_json_kv_int(j, "failed_rows", (long long)failed);
	put_cells(j, run);
	hvb_json_key(j, "warnings");
	hvb_json_arr_begin(j);
	for (size_t i = 0; i < run->n_warnings; i++)
		hvb_json_str(j, run->warnings[i]);
	hvb_json_arr_end(j);
	hvb_json_obj_end(j);
}

int hvb_export_run_dir(FILE *f, const char *dir, const char *run_id)
{
	char err[1024], *warn = err, *key = (char *)"run_id", *val = (char *)run_id;
	struct hvb_run run;
	struct hvb_json j;
	int r = hvb_run_read(dir, true, &run, err, sizeof(err));

	hvb_json_init(&j, f, true);
	if (r) {
		/* what is known without the files */
		run = (struct hvb_run){ .dir = (char *)dir, .status = (char *)"failed",
					.n_meta = 1, .meta_keys = &key, .meta_values = &val,
					.n_warnings = 1, .warnings = &warn };
		hvb_export_run_doc(&j, &run);
	} else {
		hvb_export_run_doc(&j, &run);
		hvb_run_free(&run);
	}
	hvb_json_end(&j);
	return r ? -1 : 0;
}
