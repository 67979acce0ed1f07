#include "summary.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "stats.h"
#include "util.h"

/* Runs written before primary.<workload> existed: the first of these the
 * workload has (reports/hvbreport/model.py falls back the same way). */
static const char *const legacy_primary[] = { "bandwidth", "ops_per_s", "ns_per_op", "boot_ms" };

/* Median of the ok values of (runner, workload, metric), with their unit
 * and direction; false if none. */
static bool cell_median(const struct hvb_run *run, const char *runner, const char *workload,
			const char *metric, double *out, const char **unit, int *better)
{
	double *v = xcalloc(run->n_samples, sizeof(double));
	size_t n = 0;

	for (size_t i = 0; i < run->n_samples; i++) {
		const struct hvb_sample_row *s = &run->samples[i];
		if (s->status == HVB_ST_OK && !strcmp(s->runner, runner) &&
		    !strcmp(s->workload, workload) && !strcmp(s->metric, metric)) {
			v[n++] = s->value;
			*unit = s->unit;
			*better = s->better;
		}
	}
	if (n)
		*out = __hvb_median_inplace(v, n);
	free(v);
	return n > 0;
}

/* The metric that stands for the workload: meta primary.<workload>, which
 * `hvbench run` writes from the workload's kind (workload.h). */
const char *hvb_primary_metric(const struct hvb_run *run, const char *workload)
{
	char *key = xasprintf("primary.%s", workload);
	const char *m = hvb_run_meta(run, key);

	free(key);
	if (m && *m)
		return m;
	for (size_t k = 0; k < ARRAY_SIZE(legacy_primary); k++)
		for (size_t i = 0; i < run->n_samples; i++)
			if (!strcmp(run->samples[i].workload, workload) &&
			    !strcmp(run->samples[i].metric, legacy_primary[k]))
				return legacy_primary[k];
	return NULL;
}

/* Distinct values of a sample column, in order of first appearance. */
static size_t distinct(const struct hvb_run *run, size_t field_off, const char **out)
{
	size_t n = 0;

	for (size_t i = 0; i < run->n_samples; i++) {
		const char *v = *(char *const *)((const char *)&run->samples[i] + field_off);
		size_t j = 0;
		while (j < n && strcmp(out[j], v))
			j++;
		if (j == n)
			out[n++] = v;
	}
	return n;
}

/* What stands in a cell without a value: its status ("failed", "skipped",
 * ...), or "-" when the runner has no row for the workload at all. */
static const char *cell_word(const struct hvb_run *run, const char *runner, const char *workload)
{
	for (size_t i = 0; i < run->n_samples; i++) {
		const struct hvb_sample_row *s = &run->samples[i];
		if (s->status != HVB_ST_OK && !strcmp(s->runner, runner) &&
		    !strcmp(s->workload, workload))
			return hvb_status_name(s->status);
	}
	return "-";
}

/* Terminal width of a cell: UTF-8 continuation bytes (of ×) take none. */
static int display_width(const char *s)
{
	int w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static void print_cell(FILE *f, const char *cell)
{
	fprintf(f, " %*s%s", 18 - display_width(cell), "", cell);
}

/* "1234 (1.02×)": the slowdown vs native (hvb_slowdown, > 1 is worse), or
 * the bare median where there is no native figure or no direction. */
static void value_cell(char *cell, size_t len, double v, double native, bool have_native,
		       int better)
{
	double slow = have_native && native > 0 ? hvb_slowdown(v / native, better) : NAN;

	if (isnan(slow))
		snprintf(cell, len, "%.4g", v);
	else
		snprintf(cell, len, "%.4g (%.2f×)", v, slow);
}

static void print_row(FILE *f, const struct hvb_run *run, const char *workload,
		      const char **runners, size_t nr)
{
	const char *metric = hvb_primary_metric(run, workload), *unit = "";
	double native = 0, v;
	bool have_native = false;
	int better = 0; /* no direction until a value says */

	if (!metric)
		return;
	fprintf(f, "  %-24s", workload);
	for (size_t r = 0; r < nr; r++) {
		bool is_native = !strcmp(runners[r], "native");
		char cell[48];
		snprintf(cell, sizeof(cell), "%s", cell_word(run, runners[r], workload));
		if (cell_median(run, runners[r], workload, metric, &v, &unit, &better)) {
			if (is_native)
				native = v, have_native = true;
			value_cell(cell, sizeof(cell), v, native, have_native && !is_native,
				   better);
		}
		print_cell(f, cell);
	}
	/* The unit comes from a value: a row of failed cells has none. */
	fprintf(f, *unit ? "  %s [%s]\n" : "  %s\n", metric, unit);
}

unsigned long hvb_summary_print(FILE *f, const struct hvb_run *run)
{
	const char **runners = xcalloc(run->n_samples + 1, sizeof(char *));
	const char **workloads = xcalloc(run->n_samples + 1, sizeof(char *));
	size_t nr = distinct(run, offsetof(struct hvb_sample_row, runner), runners);
	size_t nw = distinct(run, offsetof(struct hvb_sample_row, workload), workloads);
	unsigned long failed = 0, skipped = 0;

	/* native first, so ratios can refer to it */
	for (size_t r = 1; r < nr; r++)
		if (!strcmp(runners[r], "native")) {
			const char *t = runners[0];
			runners[0] = runners[r], runners[r] = t;
		}
	fprintf(f, "\n  %-24s", "median over repetitions");
	for (size_t r = 0; r < nr; r++)
		fprintf(f, " %18s", runners[r]);
	fprintf(f, "\n");
	for (size_t w = 0; w < nw; w++)
		print_row(f, run, workloads[w], runners, nr);
	for (size_t i = 0; i < run->n_samples; i++) {
		const struct hvb_sample_row *s = &run->samples[i];
		if (s->status == HVB_ST_FAILED)
			failed++, fprintf(f, "  FAILED  %-9s %-24s %s\n", s->runner, s->workload,
					  s->note);
		else if (s->status != HVB_ST_OK)
			skipped++;
	}
	if (nr > 1 && !strcmp(runners[0], "native"))
		fprintf(f, "\n  (N×) = slowdown vs native, > 1 is worse: median / native median for\n"
			   "  lower-is-better metrics (ns), native / median for higher-is-better\n"
			   "  ones (MB/s, ops/s)\n");
	fprintf(f, "\n%zu rows: %lu skipped or unsupported (reasons in samples.csv), %lu failed\n",
		run->n_samples, skipped, failed);
	free(runners);
	free(workloads);
	return failed;
}
