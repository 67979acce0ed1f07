/*
 * What every CI output of a comparison shares (compare_junit.h): the
 * options that choose them (--junit, --annotations) and the one decision
 * of how each row reads to CI, so the JUnit file, the annotations and the
 * exit status never disagree about what failed.
 */
#include "compare_junit.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csvfile.h"
#include "thresholds.h"
#include "util.h"

void hvb_ci_opts_init(struct hvb_ci_opts *ci, const char *cmd)
{
	memset(ci, 0, sizeof(*ci));
	ci->cmd = cmd;
	ci->t0_ns = hvb_now_ns();
}

static int annot_parse(struct hvb_ci_opts *ci, enum hvb_cmp_format fmt)
{
	const char *env = getenv("GITHUB_ACTIONS");
	bool machine = fmt == HVB_FMT_CSV || fmt == HVB_FMT_JSON;

	if (!ci->annotations) {
		if (!env || strcmp(env, "true"))
			return 0;
		if (machine) {
			hvb_err("%s: GITHUB_ACTIONS=true, but no annotations with --format %s "
				"(they would break the document; --junit FILE carries the verdicts)",
				ci->cmd, fmt == HVB_FMT_CSV ? "csv" : "json");
			return 0;
		}
		hvb_err("%s: GITHUB_ACTIONS=true: GitHub annotations follow the table "
			"(--annotations none turns them off)",
			ci->cmd);
		ci->annot = HVB_ANNOT_GITHUB;
		return 0;
	}
	if (!strcmp(ci->annotations, "none"))
		return 0;
	if (strcmp(ci->annotations, "github")) {
		hvb_err("%s: unknown --annotations '%s' (github or none)", ci->cmd,
			ci->annotations);
		return -1;
	}
	if (machine) {
		hvb_err("%s: --annotations github prints after the table on stdout: not with "
			"--format csv or json (use the table or markdown, or --junit FILE)",
			ci->cmd);
		return -1;
	}
	ci->annot = HVB_ANNOT_GITHUB;
	return 0;
}

/* Refuse a --junit path that cannot be written now, before ab's rounds. */
static int junit_check_path(const struct hvb_ci_opts *ci)
{
	char *copy = xstrdup(ci->junit), *dir = dirname(copy);
	struct stat st;
	int r = 0;

	if (!ci->junit[0] || ci->junit[strlen(ci->junit) - 1] == '/') {
		hvb_err("%s: --junit '%s' is not a file name (give e.g. --junit junit.xml)",
			ci->cmd, ci->junit);
		r = -1;
	} else if (!stat(ci->junit, &st) && S_ISDIR(st.st_mode)) {
		hvb_err("%s: --junit %s is a directory (give a file name in it, e.g. %s/junit.xml)",
			ci->cmd, ci->junit, ci->junit);
		r = -1;
	} else if (access(dir, W_OK | X_OK)) {
		hvb_err("%s: --junit %s: cannot write in %s: %s (create the directory or "
			"choose another path)",
			ci->cmd, ci->junit, dir, strerror(errno));
		r = -1;
	}
	free(copy);
	return r;
}

int hvb_ci_opts_parse(struct hvb_ci_opts *ci, enum hvb_cmp_format fmt)
{
	if (annot_parse(ci, fmt))
		return -1;
	return ci->junit ? junit_check_path(ci) : 0;
}

/* Mirrors compare.c's cand_failed: a cell or metric that failed in cand. */
static bool cand_failed(const struct hvb_cmp_result *res, const struct hvb_cmp_row *row)
{
	for (size_t i = 0; i < res->n_gaps; i++) {
		const struct hvb_cmp_gap *g = &res->gaps[i];
		if (!strcmp(g->side, "base") || strcmp(g->runner, row->runner) ||
		    strcmp(g->workload, row->workload))
			continue;
		if ((!g->metric[0] || !strcmp(g->metric, row->metric)) &&
		    !strcmp(g->status, "failed"))
			return true;
	}
	return false;
}

/* The gate's item for key "runner workload metric" (compare_gate.c names
 * a row's item so), or NULL: judged, or no gate. */
static const struct hvb_cmp_gate_item *gate_item(const struct hvb_cmp_result *res,
						 const char *key)
{
	for (size_t i = 0; res->gate.on && i < res->gate.n; i++)
		if (!strcmp(res->gate.items[i].what, key))
			return &res->gate.items[i];
	return NULL;
}

static const struct hvb_cmp_gate_item *row_gate_item(const struct hvb_cmp_result *res,
						     const struct hvb_cmp_row *row)
{
	char *key = xasprintf("%s %s %s", row->runner, row->workload, row->metric);
	const struct hvb_cmp_gate_item *it = gate_item(res, key);

	free(key);
	return it;
}

enum hvb_ci_outcome hvb_ci_row_outcome(const struct hvb_cmp_result *res,
				       const struct hvb_cmp_row *row, const char **type,
				       const char **gate_why)
{
	const struct hvb_cmp_gate_item *it;

	*type = NULL;
	if (gate_why)
		*gate_why = NULL;
	if (row->verdict == HVB_V_REGRESSION) {
		*type = "regression";
		return HVB_CI_FAIL;
	}
	if (row->verdict == HVB_V_ONLY_BASE && cand_failed(res, row)) {
		*type = "cand-failed";
		return HVB_CI_FAIL;
	}
	if ((it = row_gate_item(res, row))) {
		*type = row->not_comparable ? "not-comparable" : "inconclusive";
		if (gate_why)
			*gate_why = it->why;
		return HVB_CI_FAIL;
	}
	if (row->verdict == HVB_V_NO_CHANGE || row->verdict == HVB_V_IMPROVEMENT)
		return HVB_CI_PASS;
	return HVB_CI_SKIP;
}

/* Gate items that are no row (a partial run): they fail the gate too. */
bool hvb_ci_gate_extra(const struct hvb_cmp_result *res, size_t i)
{
	for (size_t k = 0; k < res->n_rows; k++)
		if (row_gate_item(res, &res->rows[k]) == &res->gate.items[i])
			return false;
	return true;
}

static void fmt_interval(char *buf, size_t len, double lo, double hi)
{
	if (isnan(lo) || isnan(hi))
		snprintf(buf, len, "[no interval]");
	else
		snprintf(buf, len, "[%.3g, %.3g]", lo, hi);
}

void hvb_ci_row_params(char *buf, size_t len, const struct hvb_cmp_row *row)
{
	buf[0] = '\0';
	if (row->params && !row->not_comparable)
		snprintf(buf, len, "; workload parameters differ (%s): not a hypervisor change",
			 row->params);
}

void hvb_ci_row_figures(char *buf, size_t len, const struct hvb_cmp_row *row)
{
	char ci[64], sci[64], slow[96] = "", q[32] = "q=-", line[32] = "";
	double s, lo, hi;

	if (isnan(row->ratio)) {
		snprintf(buf, len, "no ratio: %s", row->why ? row->why : "undefined");
		return;
	}
	fmt_interval(ci, sizeof(ci), row->ci_lo, row->ci_hi);
	hvb_cmp_row_slowdown(row, &s, &lo, &hi);
	/* The ratio is cand/base as CSV and JSON have it; where more is
	 * better the suite's slowdown (> 1 is worse) is its inverse. */
	if (row->better == HVB_HIGHER_IS_BETTER && !isnan(s)) {
		fmt_interval(sci, sizeof(sci), lo, hi);
		snprintf(slow, sizeof(slow), " (slowdown %.3g %s)", s, sci);
	}
	if (!isnan(row->q))
		snprintf(q, sizeof(q), "q=%.2g", row->q);
	/* the row's own minimum effect: a thresholds file's line, or --threshold */
	if (row->threshold_line)
		snprintf(line, sizeof(line), " (line %ld)", row->threshold_line);
	snprintf(buf, len, "ratio %.3g %s%s, %s, threshold %g%%%s", row->ratio, ci, slow, q,
		 row->threshold * 100, line);
}

/* ------------------------------------------------------------ XML text */

/* Bytes of the UTF-8 sequence lead byte c starts: 0 for a continuation
 * byte or the lead of an overlong two-byte form. */
void hvb_ci_value(char *buf, size_t len, double v, const char *unit)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.6g %s", v, unit);
}

