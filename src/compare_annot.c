/*
 * GitHub Actions annotations of a comparison (`--annotations github`, on by
 * default under GITHUB_ACTIONS=true): after the table, one workflow command
 * per row that fails (::error) or cannot be judged (::warning), which
 * GitHub shows on the run's summary and the pull request.
 */
#include "compare_junit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "csvfile.h"
#include "util.h"

/*
 * GitHub's escaping of workflow commands (actions/toolkit command.ts):
 * in the message '%', CR and LF are percent-encoded; in a property value
 * ':' and ',' too, since they end the property.  Nothing else is special,
 * so a hostile note cannot start a command of its own on a new line.
 */
static void annot_put(FILE *f, const char *s, bool property)
{
	for (; *s; s++) {
		if (*s == '%')
			fputs("%25", f);
		else if (*s == '\r')
			fputs("%0D", f);
		else if (*s == '\n')
			fputs("%0A", f);
		else if (property && *s == ':')
			fputs("%3A", f);
		else if (property && *s == ',')
			fputs("%2C", f);
		else
			fputc(*s, f);
	}
}

static void annot_line(FILE *f, enum hvb_ci_outcome out, const char *title, const char *msg)
{
	fputs(out == HVB_CI_FAIL ? "::error title=" : "::warning title=", f);
	annot_put(f, title, true);
	fputs("::", f);
	annot_put(f, msg, false);
	fputc('\n', f);
}

static void annot_row(FILE *f, const struct hvb_ci_opts *ci, const struct hvb_cmp_row *x,
		      enum hvb_ci_outcome out, const char *type, const char *gate_why)
{
	char fig[512], b[64], c[64], params[600], *title, *msg;
	/* without a ratio the figures are the reason already */
	const char *why = gate_why ? gate_why : isnan(x->ratio) ? NULL : x->why;

	hvb_ci_row_figures(fig, sizeof(fig), x);
	hvb_ci_row_params(params, sizeof(params), x);
	hvb_ci_value(b, sizeof(b), x->med_base, x->unit);
	hvb_ci_value(c, sizeof(c), x->med_cand, x->unit);
	title = xasprintf("hvbench %s: %s %s %s %s", ci->cmd,
			  type ? type : hvb_verdict_name(x->verdict), x->runner, x->workload,
			  x->metric);
	msg = xasprintf("%s; base median %s, cand median %s (%s is better)%s%s%s", fig, b, c,
			hvb_better_name(x->better), why ? "; " : "", why ? why : "", params);
	annot_line(f, out, title, msg);
	free(title);
	free(msg);
}

void hvb_annot_print(FILE *f, const struct hvb_ci_opts *ci, const struct hvb_cmp_result *res)
{
	if (ci->annot != HVB_ANNOT_GITHUB)
		return;
	for (size_t i = 0; i < res->n_rows; i++) {
		const char *type, *gate_why;
		enum hvb_ci_outcome out =
			hvb_ci_row_outcome(res, &res->rows[i], &type, &gate_why);
		/* a pass of a changed workload says so too (a ::warning) */
		if (out != HVB_CI_PASS || res->rows[i].params)
			annot_row(f, ci, &res->rows[i], out, type, gate_why);
	}
	for (size_t i = 0; i < res->gate.n; i++)
		if (hvb_ci_gate_extra(res, i)) {
			char *title = xasprintf("hvbench %s: inconclusive %s", ci->cmd,
						res->gate.items[i].what);
			annot_line(f, HVB_CI_FAIL, title, res->gate.items[i].why);
			free(title);
		}
	fflush(f);
}

/*
 * The table holds notes from the result files: a line break in one
 * followed by "::" would be a command to GitHub.  Between
 * ::stop-commands::TOKEN and ::TOKEN:: GitHub reads none, and the token is
 * random, so the notes cannot end the pause themselves.
 */
void hvb_annot_pause(FILE *f, const struct hvb_ci_opts *ci, char *token, size_t len)
{
	unsigned char r[16];

	token[0] = '\0';
	if (ci->annot != HVB_ANNOT_GITHUB || len < 2 * sizeof(r) + 1)
		return;
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		uint64_t t = hvb_now_ns();
		memcpy(r, &t, sizeof(t));
		memcpy(r + sizeof(t), &t, sizeof(t));
	}
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(token + 2 * i, len - 2 * i, "%02x", r[i]);
	fprintf(f, "::stop-commands::hvbench-%s\n", token);
}

void hvb_annot_resume(FILE *f, const char *token)
{
	if (token[0])
		fprintf(f, "::hvbench-%s::\n", token);
}
