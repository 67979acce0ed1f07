/*
 * JUnit XML of a comparison (`--junit FILE`), in the dialect Jenkins,
 * GitLab and GitHub's test reporters read: <testsuites> holding one
 * <testsuite> (this comparison), one <testcase> per (runner, workload,
 * metric) with classname "runner.workload" and name the metric.  A
 * regression is a <failure>, a row that cannot be judged is <skipped> (or,
 * in gate mode, a <failure type="inconclusive">), the rest pass with their
 * figures in <system-out>.  Also the outcome of a row for every CI output,
 * figures in <system-out>.  How a row reads is decided in compare_ci.c.
 */
#include "compare_junit.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "csvfile.h"
#include "outfile.h"
#include "thresholds.h"
#include "util.h"

static size_t utf8_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c < 0xe0)
		return 2;
	if (c >= 0xe0 && c < 0xf0)
		return 3;
	if (c >= 0xf0 && c < 0xf5)
		return 4;
	return 0;
}

/* Length of the valid UTF-8 sequence XML allows at s, or 0. */
static size_t utf8_char(const unsigned char *s)
{
	size_t n = utf8_len(s[0]);
	uint32_t cp = n == 1 ? s[0] : s[0] & (0x7f >> n);

	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (!n || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	/* XML 1.0 Char: no C0 control but tab, LF, CR; no surrogates, FFFE, FFFF */
	if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
	    (cp >= 0xd800 && cp < 0xe000) || cp == 0xfffe || cp == 0xffff)
		return 0;
	return n;
}

/*
 * s as XML character data, or as an attribute value (attr: quotes, and
 * tab, LF, CR as references, which attribute normalisation would turn into
 * blanks).  What XML cannot carry (control bytes, invalid UTF-8) becomes
 * '?', so a hostile note cannot make the file unreadable.
 */
static void xml_put(FILE *f, const char *s, bool attr)
{
	for (const unsigned char *c = (const unsigned char *)s; *c;) {
		size_t n = utf8_char(c);
		if (!n) {
			fputc('?', f), c++;
			continue;
		}
		if (*c == '&')
			fputs("&amp;", f);
		else if (*c == '<')
			fputs("&lt;", f);
		else if (*c == '>')
			fputs("&gt;", f);
		else if (attr && *c == '"')
			fputs("&quot;", f);
		else if (attr && (*c == '\t' || *c == '\n' || *c == '\r'))
			fprintf(f, "&#%d;", *c);
		else
			fwrite(c, 1, n, f);
		c += n;
	}
}

static void xml_attr(FILE *f, const char *name, const char *value)
{
	fprintf(f, " %s=\"", name);
	xml_put(f, value, true);
	fputc('"', f);
}

static void xml_attr_num(FILE *f, const char *name, double v, const char *fmt)
{
	char buf[64];

	snprintf(buf, sizeof(buf), fmt, v);
	xml_attr(f, name, buf);
}

/* ---------------------------------------------------------------- JUnit */

struct junit_counts {
	unsigned tests, failures, skipped;
};

static void count_rows(const struct hvb_cmp_result *res, struct junit_counts *n)
{
	const char *type;

	memset(n, 0, sizeof(*n));
	for (size_t i = 0; i < res->n_rows; i++) {
		enum hvb_ci_outcome out = hvb_ci_row_outcome(res, &res->rows[i], &type, NULL);
		n->tests++;
		n->failures += out == HVB_CI_FAIL;
		n->skipped += out == HVB_CI_SKIP;
	}
	for (size_t i = 0; i < res->gate.n; i++)
		if (hvb_ci_gate_extra(res, i))
			n->tests++, n->failures++;
}

/* The figures a reader of the CI page wants without opening the table. */
static void case_details(FILE *f, const struct hvb_cmp_row *x)
{
	char fig[512], b[64], c[64], params[600];
	/* without a ratio the figures are the reason already */
	const char *why = isnan(x->ratio) ? NULL : x->why;
	char *s;

	hvb_ci_value(b, sizeof(b), x->med_base, x->unit);
	hvb_ci_value(c, sizeof(c), x->med_cand, x->unit);
	hvb_ci_row_figures(fig, sizeof(fig), x);
	hvb_ci_row_params(params, sizeof(params), x);
	s = xasprintf("%s\nbase median %s, cand median %s (%zu and %zu %s%s; %s is better)\n"
		      "verdict %s%s%s%s\n",
		      fig, b, c, x->n_base, x->n_cand, x->paired ? "pairs" : "repetitions",
		      x->paired ? ": side medians are unpaired references" : "",
		      hvb_better_name(x->better), hvb_verdict_name(x->verdict), why ? ": " : "",
		      why ? why : "", params);
	xml_put(f, s, false);
	free(s);
}

static void write_case(FILE *f, const struct hvb_cmp_result *res, const struct hvb_cmp_row *x)
{
	char *classname = xasprintf("%s.%s", x->runner, x->workload), msg[1800], fig[512];
	char params[600];
	const char *type, *gate_why;
	enum hvb_ci_outcome out = hvb_ci_row_outcome(res, x, &type, &gate_why);

	fputs("    <testcase", f);
	xml_attr(f, "classname", classname);
	xml_attr(f, "name", x->metric);
	fputs(" time=\"0\">\n", f);
	hvb_ci_row_figures(fig, sizeof(fig), x);
	hvb_ci_row_params(params, sizeof(params), x);
	if (gate_why)
		snprintf(msg, sizeof(msg), "%s (gate): %s%s%s", type, gate_why,
			 isnan(x->ratio) ? "" : "; ", isnan(x->ratio) ? "" : fig);
	else if (x->why && !isnan(x->ratio))
		snprintf(msg, sizeof(msg), "%s: %s; %s%s", hvb_verdict_name(x->verdict), x->why,
			 fig, params);
	else if (x->why)
		snprintf(msg, sizeof(msg), "%s: %s%s", hvb_verdict_name(x->verdict), x->why,
			 params);
	else
		snprintf(msg, sizeof(msg), "%s%s", fig, params);
	if (out == HVB_CI_FAIL) {
		fputs("      <failure", f);
		xml_attr(f, "message", msg);
		xml_attr(f, "type", type);
		fputs(">", f);
		case_details(f, x);
		fputs("</failure>\n", f);
	} else {
		if (out == HVB_CI_SKIP) {
			fputs("      <skipped", f);
			xml_attr(f, "message", msg);
			fputs("/>\n", f);
		}
		fputs("      <system-out>", f);
		case_details(f, x);
		fputs("</system-out>\n", f);
	}
	fputs("    </testcase>\n", f);
	free(classname);
}

/* A gate item that is no row (a partial run) as a failed case of its own,
 * so the file fails where the exit status (3) does. */
static void write_gate_case(FILE *f, const struct hvb_cmp_gate_item *it)
{
	fputs("    <testcase classname=\"gate\"", f);
	xml_attr(f, "name", it->what);
	fputs(" time=\"0\">\n      <failure type=\"inconclusive\"", f);
	xml_attr(f, "message", it->why);
	fputs("/>\n    </testcase>\n", f);
}

static void write_property(FILE *f, const char *name, const char *value)
{
	fputs("      <property", f);
	xml_attr(f, "name", name);
	xml_attr(f, "value", value);
	fputs("/>\n", f);
}

static void write_dirs_property(FILE *f, const char *name, char *const *dirs, size_t n)
{
	char *s = xstrdup("");

	for (size_t i = 0; i < n; i++) {
		char *t = xasprintf("%s%s%s", s, i ? "," : "", dirs[i]);
		free(s);
		s = t;
	}
	write_property(f, name, s);
	free(s);
}

static void write_properties(FILE *f, const struct hvb_cmp_result *res, const struct hvb_cmp_opts *o,
			     const struct hvb_cmp_args *a)
{
	char buf[64];

	fputs("    <properties>\n", f);
	write_dirs_property(f, "base", a->base, a->n_base);
	write_dirs_property(f, "cand", a->cand, a->n_cand);
	snprintf(buf, sizeof(buf), "%g", o->alpha);
	write_property(f, "alpha", buf);
	snprintf(buf, sizeof(buf), "%g%%", o->threshold * 100);
	write_property(f, "threshold", buf);
	/* per metric from a file, the line in each case's message */
	if (res->thresholds)
		write_property(f, "thresholds", res->thresholds->path);
	snprintf(buf, sizeof(buf), "%g", o->confidence);
	write_property(f, "confidence", buf);
	snprintf(buf, sizeof(buf), "%u", o->min_reps);
	write_property(f, "min_reps", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)o->seed);
	write_property(f, "seed", buf);
	write_property(f, "paired", o->paired ? "true" : "false");
	write_property(f, "gate", o->gate ? o->gate_why : "off: inconclusive rows are skipped");
	write_property(f, "hvbench_version", hvb_version);
	fputs("    </properties>\n", f);
}

/* What has no test case: warnings, partial runs, cells without values. */
static void write_suite_out(FILE *f, const struct hvb_cmp_result *res)
{
	char *s = xstrdup("");

	for (size_t i = 0; i < res->n_warnings; i++) {
		char *t = xasprintf("%sWARNING: %s\n", s, res->warnings[i]);
		free(s), s = t;
	}
	for (size_t i = 0; i < res->n_incomplete; i++) {
		const struct hvb_cmp_partial *p = &res->incomplete[i];
		char *t = xasprintf("%sPARTIAL: %s %s is %s%s%s\n", s, p->side, p->dir, p->status,
				    p->where[0] ? " at " : "", p->where);
		free(s), s = t;
	}
	for (size_t i = 0; i < res->n_gaps; i++) {
		const struct hvb_cmp_gap *g = &res->gaps[i];
		char *t = xasprintf("%snot measured: %s: %s %s%s%s: %s: %s\n", s, g->side,
				    g->runner, g->workload, g->metric[0] ? " " : "", g->metric,
				    g->status, g->note);
		free(s), s = t;
	}
	fputs("    <system-out>", f);
	xml_put(f, s, false);
	fputs("</system-out>\n", f);
	free(s);
}

static void junit_print(FILE *f, const struct hvb_ci_opts *ci, const struct hvb_cmp_result *res,
			const struct hvb_cmp_opts *o, const struct hvb_cmp_args *a)
{
	double secs = (double)(hvb_now_ns() - ci->t0_ns) / 1e9;
	struct junit_counts n;
	char stamp[32], host[256] = "localhost", *name = xasprintf("hvbench %s", ci->cmd);
	time_t now = time(NULL);
	struct tm tm;

	count_rows(res, &n);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	if (gethostname(host, sizeof(host) - 1))
		hvb_strlcpy(host, "localhost", sizeof(host));
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites", f);
	xml_attr(f, "name", "hvbench");
	fprintf(f, " tests=\"%u\" failures=\"%u\" errors=\"0\" skipped=\"%u\"", n.tests,
		n.failures, n.skipped);
	xml_attr_num(f, "time", secs, "%.3f");
	fputs(">\n  <testsuite", f);
	xml_attr(f, "name", name);
	fprintf(f, " tests=\"%u\" failures=\"%u\" errors=\"0\" skipped=\"%u\"", n.tests,
		n.failures, n.skipped);
	xml_attr_num(f, "time", secs, "%.3f");
	xml_attr(f, "timestamp", stamp);
	xml_attr(f, "hostname", host);
	fputs(">\n", f);
	write_properties(f, res, o, a);
	for (size_t i = 0; i < res->n_rows; i++)
		write_case(f, res, &res->rows[i]);
	for (size_t i = 0; i < res->gate.n; i++)
		if (hvb_ci_gate_extra(res, i))
			write_gate_case(f, &res->gate.items[i]);
	write_suite_out(f, res);
	fputs("  </testsuite>\n</testsuites>\n", f);
	free(name);
}

int hvb_junit_write(const struct hvb_ci_opts *ci, const struct hvb_cmp_result *res,
		    const struct hvb_cmp_opts *o, const struct hvb_cmp_args *a)
{
	struct hvb_outfile out;
	char err[512];
	int r = hvb_outfile_open(&out, ci->junit, err, sizeof(err));

	if (!r) {
		junit_print(out.f, ci, res, o, a);
		r = hvb_outfile_commit(&out, err, sizeof(err));
	}
	/* outfile's messages name its own option: say ours */
	if (r)
		hvb_err("%s: cannot write the JUnit file %s: %s (check the path and free space "
			"of --junit)",
			ci->cmd, ci->junit, strerror(-r));
	return r;
}
