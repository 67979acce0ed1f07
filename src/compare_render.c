/*
 * The four output formats of `hvbench compare` and `hvbench ab`: an aligned
 * table, CSV, JSON and Markdown.  Every number comes from the comparison
 * (compare.c); this file only lays it out.
 */
#include "compare_render.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare_context.h"
#include "csvfile.h"
#include "json_out.h"
#include "thresholds.h"
#include "util.h"

/* ------------------------------------------------------------ numbers */

static const char *fmt_num(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (fabs(v) >= 10000)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.4g", v);
	return buf;
}

/* "1.015× slower", "0.980× faster", "1.000×": a slowdown, > 1 is worse. */
static const char *fmt_slowdown(char *buf, size_t len, double s)
{
	if (isnan(s))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.3f×%s", s,
			 s > 1.0005 ? " slower" : s < 0.9995 ? " faster" : "");
	return buf;
}

static const char *fmt_ci(char *buf, size_t len, double lo, double hi)
{
	if (isnan(lo) || isnan(hi))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "[%.3f, %.3f]", lo, hi);
	return buf;
}

static const char *fmt_p(char *buf, size_t len, double p)
{
	if (isnan(p))
		snprintf(buf, len, "-");
	else if (p < 0.0001)
		snprintf(buf, len, "%.1e", p);
	else
		snprintf(buf, len, "%.4f", p);
	return buf;
}

/* --------------------------------------------------------------- table */

enum { C_RUNNER, C_WORKLOAD, C_METRIC, C_UNIT, C_N, C_BASE, C_CAND, C_SLOWDOWN, C_CI, C_P,
       C_Q, C_THRESH, C_VERDICT, NCOLS };

/* Paired, the slowdown is the median of the per-pair ratios: the two
 * sides' medians are shown for reference only (their quotient is another
 * figure), and their headers say so. */
static const char *const col_names[2][NCOLS] = {
	{ "runner", "workload", "metric", "unit", "reps", "base median", "cand median",
	  "slowdown", "CI", "p", "q", "threshold", "verdict" },
	{ "runner", "workload", "metric", "unit", "pairs", "base median*", "cand median*",
	  "median pair slowdown", "CI", "p", "q", "threshold", "verdict" },
};

struct cells {
	char s[NCOLS][64];
};

/* Column headers; the interval's says its level and what it brackets. */
static void head_cells(struct cells *c, const struct hvb_cmp_opts *o)
{
	for (int i = 0; i < NCOLS; i++)
		hvb_strlcpy(c->s[i], col_names[o->paired][i], sizeof(c->s[0]));
	snprintf(c->s[C_CI], sizeof(c->s[0]), "%g%% CI of slowdown", o->confidence * 100);
}

static void row_cells(const struct hvb_cmp_row *r, struct cells *c)
{
	double s, lo, hi;

	hvb_strlcpy(c->s[C_RUNNER], r->runner, sizeof(c->s[0]));
	hvb_strlcpy(c->s[C_WORKLOAD], r->workload, sizeof(c->s[0]));
	hvb_strlcpy(c->s[C_METRIC], r->metric, sizeof(c->s[0]));
	hvb_strlcpy(c->s[C_UNIT], r->unit, sizeof(c->s[0]));
	if (r->paired)
		snprintf(c->s[C_N], sizeof(c->s[0]), "%zu pairs", r->n_base);
	else
		snprintf(c->s[C_N], sizeof(c->s[0]), "%zu/%zu", r->n_base, r->n_cand);
	fmt_num(c->s[C_BASE], sizeof(c->s[0]), r->med_base);
	fmt_num(c->s[C_CAND], sizeof(c->s[0]), r->med_cand);
	hvb_cmp_row_slowdown(r, &s, &lo, &hi);
	fmt_slowdown(c->s[C_SLOWDOWN], sizeof(c->s[0]), s);
	fmt_ci(c->s[C_CI], sizeof(c->s[0]), lo, hi);
	fmt_p(c->s[C_P], sizeof(c->s[0]), r->p);
	fmt_p(c->s[C_Q], sizeof(c->s[0]), r->q);
	if (r->threshold_line)
		snprintf(c->s[C_THRESH], sizeof(c->s[0]), "%g%% (line %ld)", r->threshold * 100,
			 r->threshold_line);
	else
		snprintf(c->s[C_THRESH], sizeof(c->s[0]), "%g%% (default)", r->threshold * 100);
	/* a changed workload's verdict is not the hypervisor's: say so on the row */
	if (r->not_comparable)
		hvb_strlcpy(c->s[C_VERDICT], "not comparable (params)", sizeof(c->s[0]));
	else if (r->params)
		snprintf(c->s[C_VERDICT], sizeof(c->s[0]), "%s (params differ)",
			 hvb_verdict_name(r->verdict));
	else
		hvb_strlcpy(c->s[C_VERDICT], hvb_verdict_name(r->verdict), sizeof(c->s[0]));
}

/* Width on a terminal: UTF-8 continuation bytes take no column (×). */
static size_t display_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* The threshold column only with a thresholds file: without one, every
 * row has --threshold, which the summary states once. */
static bool col_shown(int c, const struct hvb_cmp_result *res)
{
	return c != C_THRESH || res->thresholds;
}

static bool col_right(int c)
{
	return c >= C_N && c <= C_Q;
}

static void print_cell(FILE *f, int c, size_t w, const char *s)
{
	int pad = (int)(w - display_width(s));

	if (c == NCOLS - 1) /* no trailing blanks */
		fprintf(f, "  %s", s);
	else if (col_right(c))
		fprintf(f, "%s%*s%s", c ? "  " : "", pad, "", s);
	else
		fprintf(f, "%s%s%*s", c ? "  " : "", s, pad, "");
}

/* What every table's numbers mean, stated above it. */
static void print_legend(FILE *f, const struct hvb_cmp_result *res, const struct hvb_cmp_opts *o,
			 const char *emph)
{
	fprintf(f, "%sslowdown: > 1 is worse%s (cand/base for lower-is-better metrics, "
		   "base/cand for higher-is-better ones)\n",
		emph, emph);
	if (o->ratio_to)
		fprintf(f, "%sratio to %s:%s each value is the runner's over %s's in the same "
			   "repetition of the same run (unit ratio; another unit: %s has no "
			   "analogue, absolute values); %s itself is not compared\n",
			emph, o->ratio_to, emph, o->ratio_to, o->ratio_to, o->ratio_to);
	if (o->paired)
		fprintf(f, "%spaired:%s the slowdown is the median of the per-pair slowdowns; "
			   "* base and cand medians are unpaired, for reference: their "
			   "quotient is not the paired figure\n",
			emph, emph);
	if (res->thresholds)
		fprintf(f, "%sthreshold:%s per metric, the first matching line of %s; "
			   "--threshold %g%% (default) where no line matches\n",
			emph, emph, res->thresholds->path, o->threshold * 100);
}

static void print_table(FILE *f, const struct hvb_cmp_result *res, const struct hvb_cmp_opts *o)
{
	struct cells *cells = xcalloc(res->n_rows ? res->n_rows : 1, sizeof(*cells)), head;
	size_t w[NCOLS];

	head_cells(&head, o);
	for (int c = 0; c < NCOLS; c++)
		w[c] = display_width(head.s[c]);
	for (size_t i = 0; i < res->n_rows; i++) {
		row_cells(&res->rows[i], &cells[i]);
		for (int c = 0; c < NCOLS; c++)
			if (display_width(cells[i].s[c]) > w[c])
				w[c] = display_width(cells[i].s[c]);
	}
	print_legend(f, res, o, "");
	for (int c = 0; c < NCOLS; c++)
		if (col_shown(c, res))
			print_cell(f, c, w[c], head.s[c]);
	fputc('\n', f);
	for (size_t i = 0; i < res->n_rows; i++) {
		for (int c = 0; c < NCOLS; c++)
			if (col_shown(c, res))
				print_cell(f, c, w[c], cells[i].s[c]);
		fputc('\n', f);
	}
	free(cells);
}

static void print_notes(FILE *f, const struct hvb_cmp_result *res, const char *bullet)
{
	bool head = false;

	for (size_t i = 0; i < res->n_rows; i++) {
		const struct hvb_cmp_row *r = &res->rows[i];
		if (!r->why)
			continue;
		if (!head)
			fprintf(f, "\nnot compared (%s):\n", "why");
		head = true;
		fprintf(f, "%s%s %s %s: %s: %s\n", bullet, r->runner, r->workload, r->metric,
			hvb_verdict_name(r->verdict), r->why);
	}
	head = false;
	for (size_t i = 0; i < res->n_rows; i++) {
		const struct hvb_cmp_row *r = &res->rows[i];
		if (!r->params || r->not_comparable || (i && res->rows[i - 1].params &&
							!strcmp(res->rows[i - 1].runner, r->runner) &&
							!strcmp(res->rows[i - 1].workload, r->workload)))
			continue;
		if (!head)
			fprintf(f, "\nparams differ (the verdict measures the changed workload, not "
				   "the hypervisor):\n");
		head = true;
		fprintf(f, "%s%s %s: %s\n", bullet, r->runner, r->workload, r->params);
	}
	head = false;
	for (size_t i = 0; i < res->n_gaps; i++) {
		const struct hvb_cmp_gap *g = &res->gaps[i];
		if (!head)
			fprintf(f, "\nnot measured (cells or metrics without a value):\n");
		head = true;
		fprintf(f, "%s%s: %s %s%s%s: %s: %s\n", bullet, g->side, g->runner, g->workload,
			g->metric[0] ? " " : "", g->metric, g->status, g->note);
	}
}

/* "PARTIAL comparison (--allow-partial): base DIR is interrupted at rep 2,
 * runner kvm; ..." (one line), or "" when every directory is complete. */
static void partial_line(char *buf, size_t len, const struct hvb_cmp_result *res)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < res->n_incomplete && o < len; i++) {
		const struct hvb_cmp_partial *p = &res->incomplete[i];
		o += (size_t)snprintf(buf + o, len - o, "%s%s %s is %s%s%s",
				      i ? "; " : "PARTIAL comparison (--allow-partial): ", p->side,
				      p->dir, p->status, p->where[0] ? " at " : "", p->where);
	}
	if (res->n_incomplete && o < len)
		snprintf(buf + o, len - o, ": only the repetitions they hold are compared");
}

/* "kvm mem/stream-copy (bandwidth, ns_per_op); native cpu/crc32c (ns_per_op)" */
static void print_workloads(FILE *f, const struct hvb_cmp_result *res, enum hvb_verdict v)
{
	const char *sep = ": ";

	for (size_t i = 0; i < res->n_workloads; i++) {
		const struct hvb_cmp_workload *w = &res->workloads[i];
		if (w->verdict != v)
			continue;
		fprintf(f, "%s%s %s (%s)", sep, w->runner, w->workload, w->metrics);
		sep = "; ";
	}
}

/*
 * The verdicts counted per workload (one slowdown seen in ns_per_op,
 * cycles_per_op and bandwidth is one regression), naming the workloads
 * and the metrics that carried a regression or an improvement; then the
 * per-metric counts and the settings.  Each line starts with prefix.
 */
static void print_summary(FILE *f, const struct hvb_cmp_result *res,
			  const struct hvb_cmp_opts *o, const char *prefix)
{
	const unsigned *w = res->wcount, *n = res->count;

	fprintf(f, "%s%u workload(s) regressed", prefix, w[HVB_V_REGRESSION]);
	print_workloads(f, res, HVB_V_REGRESSION);
	fprintf(f, "\n%s%u workload(s) improved", prefix, w[HVB_V_IMPROVEMENT]);
	print_workloads(f, res, HVB_V_IMPROVEMENT);
	fprintf(f,
		"\n%s%u workload(s) no change, %u inconclusive, %u only in base, %u only in "
		"cand (a workload regressed if one of its metrics did, improved if one did and "
		"none regressed)\n",
		prefix, w[HVB_V_NO_CHANGE], w[HVB_V_INCONCLUSIVE], w[HVB_V_ONLY_BASE],
		w[HVB_V_ONLY_CAND]);
	fprintf(f,
		"%sper metric: %u regression(s), %u improvement(s), %u no change, %u "
		"inconclusive; %u only in base, %u only in cand; %zu not measured "
		"(alpha %g with Benjamini-Hochberg FDR, threshold %s%g%%, %g%% CI%s)\n",
		prefix, n[HVB_V_REGRESSION], n[HVB_V_IMPROVEMENT], n[HVB_V_NO_CHANGE],
		n[HVB_V_INCONCLUSIVE], n[HVB_V_ONLY_BASE], n[HVB_V_ONLY_CAND], res->n_gaps,
		o->alpha, res->thresholds ? "per metric from --thresholds, else " : "",
		o->threshold * 100, o->confidence * 100,
		o->paired ? ", paired rounds" : "");
}

/* Said once, not per row: an interval from so few values would mislead. */
static void print_no_interval(FILE *f, const struct hvb_cmp_result *res,
			      const struct hvb_cmp_opts *o, const char *prefix)
{
	if (res->n_no_interval)
		fprintf(f, "%sno interval for %zu row(s): fewer than --min-reps %u %s per side\n",
			prefix, res->n_no_interval, o->min_reps,
			o->paired ? "pairs" : "repetitions");
}

/*
 * Which mode ran and why, then the gate's outcome: in gate mode every
 * gated metric that could not be judged, named with what to do.  Each
 * line starts with prefix, each listed item with bullet.
 */
static void print_gate(FILE *f, const struct hvb_cmp_result *res, const struct hvb_cmp_opts *o,
		       const char *prefix, const char *bullet)
{
	int st = hvb_cmp_exit_status(res);

	fprintf(f, "%sgate: %s (%s)\n", prefix, o->gate ? "on" : "off", o->gate_why);
	if (!o->gate) {
		if (res->count[HVB_V_INCONCLUSIVE] + res->count[HVB_V_ONLY_BASE] +
		    res->count[HVB_V_ONLY_CAND])
			fprintf(f, "%sgate: off: inconclusive metrics do not change the exit "
				   "status; --gate fails on them\n",
				prefix);
		return;
	}
	if (st == 1)
		fprintf(f, "%sgate: FAIL: %s (exit 1)%s\n", prefix,
			res->count[HVB_V_REGRESSION] ? "regression"
						     : "a cell base measured failed in cand",
			res->gate.n ? "; besides, these could not be judged:" : "");
	else if (st)
		fprintf(f, "%sgate: INCONCLUSIVE (exit %d): %zu gated metric(s) or run(s) could "
			   "not be judged, so the gate cannot pass:\n",
			prefix, st, res->gate.n);
	else
		fprintf(f, "%sgate: PASS: all %zu gated metric(s) judged, none regressed\n", prefix,
			res->n_rows);
	for (size_t i = 0; i < res->gate.n; i++)
		fprintf(f, "%s%s: %s\n", bullet, res->gate.items[i].what, res->gate.items[i].why);
}

static void print_text(FILE *f, const struct hvb_cmp_result *res, const struct hvb_cmp_opts *o)
{
	char part[4096];

	partial_line(part, sizeof(part), res);
	if (part[0])
		fprintf(f, "%s\n\n", part);
	for (size_t i = 0; i < res->n_warnings; i++)
		fprintf(f, "WARNING: %s\n%s", res->warnings[i],
			i + 1 < res->n_warnings ? "" : "\n");
	print_table(f, res, o);
	print_notes(f, res, "  ");
	fputc('\n', f);
	print_no_interval(f, res, o, "");
	print_summary(f, res, o, "summary: ");
	if (res->cand_failed)
		fprintf(f, "cand failed where base measured: see 'only in base' above\n");
	print_gate(f, res, o, "", "  ");
}

/* ----------------------------------------------------------------- CSV */

static void csv_num(char *buf, size_t len, double v)
{
	if (isnan(v))
		buf[0] = '\0';
	else
		snprintf(buf, len, "%.17g", v);
}

/* The verdict of the workload a row belongs to (struct hvb_cmp_workload). */
static enum hvb_verdict workload_verdict(const struct hvb_cmp_result *res,
					 const struct hvb_cmp_row *row)
{
	for (size_t i = 0; i < res->n_workloads; i++) {
		const struct hvb_cmp_workload *w = &res->workloads[i];
		if (!strcmp(w->runner, row->runner) && !strcmp(w->workload, row->workload))
			return w->verdict;
	}
	return row->verdict;
}

/* "line 3" of the thresholds file, or "default" (--threshold). */
static void threshold_source(char *buf, size_t len, const struct hvb_cmp_row *x)
{
	if (x->threshold_line)
		snprintf(buf, len, "line %ld", x->threshold_line);
	else
		snprintf(buf, len, "default");
}

static int print_csv(FILE *f, const struct hvb_cmp_result *res)
{
	double sd[3];
	static const char *const head[] = {
		"runner",  "workload",  "metric",    "unit",      "better", "n_base", "n_cand",
		"base_median", "cand_median", "ratio", "change_pct", "ci_lo_pct", "ci_hi_pct",
		"p",       "q",         "exact",     "verdict",   "reason", "side",   "paired",
		"slowdown", "slowdown_lo", "slowdown_hi", "workload_verdict",
		"threshold_pct", "threshold_source",
	};
	/* the threshold columns only with a thresholds file (col_shown) */
	size_t ncols = ARRAY_SIZE(head) - (res->thresholds ? 0 : 2);
	char num[13][40], thr[40], src[40];
	int r = hvb_csv_write_row(f, head, ncols);

	for (size_t i = 0; i < res->n_rows && !r; i++) {
		const struct hvb_cmp_row *x = &res->rows[i];
		snprintf(num[0], sizeof(num[0]), "%zu", x->n_base);
		snprintf(num[1], sizeof(num[1]), "%zu", x->n_cand);
		csv_num(num[2], sizeof(num[2]), x->med_base);
		csv_num(num[3], sizeof(num[3]), x->med_cand);
		csv_num(num[4], sizeof(num[4]), x->ratio);
		csv_num(num[5], sizeof(num[5]), (x->ratio - 1) * 100);
		csv_num(num[6], sizeof(num[6]), (x->ci_lo - 1) * 100);
		csv_num(num[7], sizeof(num[7]), (x->ci_hi - 1) * 100);
		csv_num(num[8], sizeof(num[8]), x->p);
		csv_num(num[9], sizeof(num[9]), x->q);
		hvb_cmp_row_slowdown(x, &sd[0], &sd[1], &sd[2]);
		for (int k = 0; k < 3; k++)
			csv_num(num[10 + k], sizeof(num[0]), sd[k]);
		snprintf(thr, sizeof(thr), "%.17g", x->threshold * 100);
		threshold_source(src, sizeof(src), x);
		const char *fields[] = {
			x->runner, x->workload, x->metric, x->unit, hvb_better_name(x->better),
			num[0], num[1], num[2], num[3], num[4], num[5], num[6], num[7], num[8],
			num[9], isnan(x->p) ? "" : x->exact ? "1" : "0",
			hvb_verdict_name(x->verdict), x->why ? x->why : "", "",
			x->paired ? "1" : "0", num[10], num[11], num[12],
			hvb_verdict_name(workload_verdict(res, x)), thr, src,
		};
		r = hvb_csv_write_row(f, fields, ncols);
	}
	/* cells without values: verdict column = their status */
	for (size_t i = 0; i < res->n_gaps && !r; i++) {
		const struct hvb_cmp_gap *g = &res->gaps[i];
		const char *fields[] = { g->runner, g->workload, g->metric, "", "", "", "", "", "", "",
					 "", "", "", "", "", "", g->status, g->note, g->side, "",
					 "", "", "", "", "", "" };
		r = hvb_csv_write_row(f, fields, ncols);
	}
	return r;
}

/* ---------------------------------------------------------------- JSON */

/* lib/json_out's escaping, the one every JSON output of hvbench uses. */
static void json_str(FILE *f, const char *s)
{
	hvb_json_write_string(f, s);
}

/* {"key": "value", ...} of n string pairs */
static void json_strings(FILE *f, const char *const kv[][2], size_t n)
{
	fputc('{', f);
	for (size_t k = 0; k < n; k++) {
		fprintf(f, "%s\"%s\": ", k ? ", " : "", kv[k][0]);
		json_str(f, kv[k][1]);
	}
	fputc('}', f);
}

static void json_num(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		fputs("null", f);
	else
		fprintf(f, "%.17g", v);
}

static void json_dirs(FILE *f, const char *key, char *const *dirs, size_t n)
{
	fprintf(f, "  \"%s\": [", key);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, dirs[i]);
	}
	fputs("],\n", f);
}

static void json_row(FILE *f, const struct hvb_cmp_row *x, bool thresholds)
{
	double sd, lo, hi;

	fputs("    {\"runner\": ", f);
	json_str(f, x->runner);
	fputs(", \"workload\": ", f);
	json_str(f, x->workload);
	fputs(", \"metric\": ", f);
	json_str(f, x->metric);
	fputs(", \"unit\": ", f);
	json_str(f, x->unit);
	fputs(", \"better\": ", f);
	json_str(f, hvb_better_name(x->better));
	fprintf(f, ", \"n_base\": %zu, \"n_cand\": %zu, \"base_median\": ", x->n_base, x->n_cand);
	json_num(f, x->med_base);
	fputs(", \"cand_median\": ", f);
	json_num(f, x->med_cand);
	fputs(", \"ratio\": ", f);
	json_num(f, x->ratio);
	fputs(", \"ci\": [", f);
	json_num(f, x->ci_lo);
	fputs(", ", f);
	json_num(f, x->ci_hi);
	hvb_cmp_row_slowdown(x, &sd, &lo, &hi);
	fputs("], \"slowdown\": ", f);
	json_num(f, sd);
	fputs(", \"slowdown_ci\": [", f);
	json_num(f, lo);
	fputs(", ", f);
	json_num(f, hi);
	fputs("], \"p\": ", f);
	json_num(f, x->p);
	fputs(", \"q\": ", f);
	json_num(f, x->q);
	fprintf(f, ", \"exact\": %s, \"paired\": %s, \"verdict\": ", x->exact ? "true" : "false",
		x->paired ? "true" : "false");
	json_str(f, hvb_verdict_name(x->verdict));
	fputs(", \"reason\": ", f);
	if (x->why)
		json_str(f, x->why);
	else
		fputs("null", f);
	fputs(", \"params_differ\": ", f);
	if (x->params)
		json_str(f, x->params);
	else
		fputs("null", f);
	fprintf(f, ", \"not_comparable\": %s", x->not_comparable ? "true" : "false");
	if (thresholds) {
		char src[40];
		threshold_source(src, sizeof(src), x);
		fputs(", \"threshold_pct\": ", f);
		json_num(f, x->threshold * 100);
		fputs(", \"threshold_source\": ", f);
		json_str(f, src);
	}
	fputs("}", f);
}

/* Verdicts per (runner, workload), counted as the summary counts them. */
static void json_workloads(FILE *f, const struct hvb_cmp_result *res,
			   const enum hvb_verdict *order, size_t n_order)
{
	fputs("  \"workload_summary\": {", f);
	for (size_t i = 0; i < n_order; i++)
		fprintf(f, "%s\"%s\": %u", i ? ", " : "", hvb_verdict_name(order[i]),
			res->wcount[order[i]]);
	fputs("},\n  \"workloads\": [\n", f);
	for (size_t i = 0; i < res->n_workloads; i++) {
		const struct hvb_cmp_workload *w = &res->workloads[i];
		fputs("    {\"runner\": ", f);
		json_str(f, w->runner);
		fputs(", \"workload\": ", f);
		json_str(f, w->workload);
		fputs(", \"verdict\": ", f);
		json_str(f, hvb_verdict_name(w->verdict));
		fputs(", \"metrics\": ", f);
		json_str(f, w->metrics);
		fputs(i + 1 < res->n_workloads ? "},\n" : "}\n", f);
	}
	fputs("  ]\n", f);
}

/* "params_differ": [{"key", "base", "cand"}]: the workload parameters
 * (param.* meta keys) that differ between the sides, as the warning names them. */
static void json_params(FILE *f, const struct hvb_cmp_result *res)
{
	fputs("  \"params_differ\": [", f);
	for (size_t i = 0; i < res->n_params; i++) {
		const struct hvb_cmp_param *p = &res->params[i];
		const char *kv[][2] = { { "key", p->key }, { "base", p->base }, { "cand", p->cand } };
		fputs(i ? ", " : "", f);
		json_strings(f, kv, ARRAY_SIZE(kv));
	}
	fputs("],\n", f);
}

/* "gate": {"on", "why", "inconclusive": [{"what", "why"}]} */
static void json_gate(FILE *f, const struct hvb_cmp_result *res, const struct hvb_cmp_opts *o)
{
	fprintf(f, "  \"gate\": {\"on\": %s, \"why\": ", o->gate ? "true" : "false");
	json_str(f, o->gate_why);
	fputs(", \"inconclusive\": [", f);
	for (size_t i = 0; i < res->gate.n; i++) {
		fputs(i ? ", {\"what\": " : "{\"what\": ", f);
		json_str(f, res->gate.items[i].what);
		fputs(", \"why\": ", f);
		json_str(f, res->gate.items[i].why);
		fputs("}", f);
	}
	fputs("]},\n", f);
}

static void print_json(FILE *f, const struct hvb_cmp_result *res, const struct hvb_cmp_opts *o,
		       const struct hvb_cmp_args *a)
{
	static const enum hvb_verdict order[] = { HVB_V_REGRESSION, HVB_V_IMPROVEMENT,
						  HVB_V_NO_CHANGE, HVB_V_INCONCLUSIVE,
						  HVB_V_ONLY_BASE, HVB_V_ONLY_CAND };

	fprintf(f, "{\n  \"format_version\": 1,\n");
	json_dirs(f, "base", a->base, a->n_base);
	json_dirs(f, "cand", a->cand, a->n_cand);
	fprintf(f,
		"  \"alpha\": %g, \"threshold\": %g, \"confidence\": %g, \"seed\": %llu, "
		"\"min_reps\": %u, \"paired\": %s, \"rows_without_interval\": %zu,\n",
		o->alpha, o->threshold, o->confidence, (unsigned long long)o->seed, o->min_reps,
		o->paired ? "true" : "false", res->n_no_interval);
	if (res->thresholds) {
		fputs("  \"thresholds\": ", f);
		json_str(f, res->thresholds->path);
		fputs(",\n", f);
	}
	fputs("  \"ratio_to\": ", f);
	if (o->ratio_to)
		json_str(f, o->ratio_to);
	else
		fputs("null", f);
	fputs(",\n", f);
	fputs("  \"rows\": [\n", f);
	for (size_t i = 0; i < res->n_rows; i++) {
		json_row(f, &res->rows[i], res->thresholds);
		fputs(i + 1 < res->n_rows ? ",\n" : "\n", f);
	}
	fputs("  ],\n  \"not_measured\": [\n", f);
	for (size_t i = 0; i < res->n_gaps; i++) {
		const struct hvb_cmp_gap *g = &res->gaps[i];
		const char *kv[][2] = { { "side", g->side },         { "runner", g->runner },
					{ "workload", g->workload }, { "metric", g->metric },
					{ "status", g->status },     { "reason", g->note } };
		fputs("    ", f);
		json_strings(f, kv, ARRAY_SIZE(kv));
		fputs(i + 1 < res->n_gaps ? ",\n" : "\n", f);
	}
	fputs("  ],\n  \"partial\": [", f);
	for (size_t i = 0; i < res->n_incomplete; i++) {
		const struct hvb_cmp_partial *p = &res->incomplete[i];
		fprintf(f, "%s{\"side\": \"%s\", \"dir\": ", i ? ", " : "", p->side);
		json_str(f, p->dir);
		fputs(", \"status\": ", f);
		json_str(f, p->status);
		fputs(", \"interrupted_at\": ", f);
		json_str(f, p->where);
		fputs("}", f);
	}
	fputs("],\n  \"warnings\": [", f);
	for (size_t i = 0; i < res->n_warnings; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, res->warnings[i]);
	}
	fputs("],\n", f);
	json_params(f, res);
	json_gate(f, res, o);
	fputs("  \"summary\": {", f);
	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		fprintf(f, "%s\"%s\": %u", i ? ", " : "", hvb_verdict_name(order[i]),
			res->count[order[i]]);
	fprintf(f,
		", \"not measured\": %zu, \"metrics not selected\": %zu, \"cand_failed\": %s, "
		"\"exit_status\": %d},\n",
		res->n_gaps, res->n_unselected, res->cand_failed ? "true" : "false",
		hvb_cmp_exit_status(res));
	json_workloads(f, res, order, ARRAY_SIZE(order));
	fputs("}\n", f);
}

/* ------------------------------------------------------------ Markdown */

static void md_cell(FILE *f, const char *s)
{
	fputs("| ", f);
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", f);
		else if (*s == '\n')
			fputc(' ', f);
		else
			fputc(*s, f);
	}
	fputc(' ', f);
}

static void print_markdown(FILE *f, const struct hvb_cmp_result *res,
			   const struct hvb_cmp_opts *o)
{
	struct cells head;
	char part[4096];

	partial_line(part, sizeof(part), res);
	if (part[0])
		fprintf(f, "**%s**\n\n", part);
	for (size_t i = 0; i < res->n_warnings; i++)
		fprintf(f, "**WARNING: %s**\n\n", res->warnings[i]);
	print_legend(f, res, o, "**");
	fputc('\n', f);
	head_cells(&head, o);
	for (int c = 0; c < NCOLS; c++)
		if (col_shown(c, res))
			md_cell(f, head.s[c]);
	fputs("|\n", f);
	for (int c = 0; c < NCOLS; c++)
		if (col_shown(c, res))
			fputs(col_right(c) ? "| ---: " : "| --- ", f);
	fputs("|\n", f);
	for (size_t i = 0; i < res->n_rows; i++) {
		struct cells cells;
		row_cells(&res->rows[i], &cells);
		for (int c = 0; c < NCOLS; c++) {
			if (!col_shown(c, res))
				continue;
			bool bold = c == C_VERDICT && (res->rows[i].verdict == HVB_V_REGRESSION ||
						       res->rows[i].verdict == HVB_V_IMPROVEMENT);
			char buf[80];
			snprintf(buf, sizeof(buf), bold ? "**%s**" : "%s", cells.s[c]);
			md_cell(f, buf);
		}
		fputs("|\n", f);
	}
	print_notes(f, res, "- ");
	fputc('\n', f);
	print_no_interval(f, res, o, "- ");
	fputs("**Summary:**\n\n", f);
	print_summary(f, res, o, "- ");
	fputc('\n', f);
	print_gate(f, res, o, "", "- ");
}

static void print_unselected(FILE *f, const struct hvb_cmp_result *res)
{
	if (res->n_unselected)
		fprintf(f, "(%zu more metric name(s) not compared: --metrics '*' includes them)\n",
			res->n_unselected);
}

void hvb_cmp_render(FILE *out, const struct hvb_cmp_result *res, const struct hvb_cmp_opts *o,
		    const struct hvb_cmp_args *a, enum hvb_cmp_format fmt)
{
	char part[4096];

	switch (fmt) {
	case HVB_FMT_TABLE:
		print_text(out, res, o);
		print_unselected(out, res);
		break;
	case HVB_FMT_CSV:
		/* The CSV holds rows only: what a reader must know goes to stderr. */
		print_csv(out, res);
		partial_line(part, sizeof(part), res);
		if (part[0])
			fprintf(stderr, "hvbench: compare: %s\n", part);
		print_no_interval(stderr, res, o, "hvbench: compare: ");
		print_summary(stderr, res, o, "hvbench: compare: ");
		print_gate(stderr, res, o, "hvbench: compare: ", "hvbench: compare:   ");
		break;
	case HVB_FMT_JSON:
		print_json(out, res, o, a);
		break;
	case HVB_FMT_MARKDOWN:
		print_markdown(out, res, o);
		print_unselected(out, res);
		break;
	}
}
