/*
 * The CI outputs of a comparison on hand-made results (compare_junit.c,
 * compare_annot.c): the outcome of every verdict with and without the
 * gate mode, the one-line figures, the JUnit file's escaping of what
 * XML cannot carry, and GitHub's escaping of workflow commands.
 * tests/integration/test_junit.sh checks the same outputs of the hvbench
 * binary with tests/lib/check_junit.py.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compare_gate.h"
#include "compare_junit.h"
#include "hvb/abi.h"
#include "tap.h"
#include "util.h"

static struct hvb_cmp_row *row_add(struct hvb_cmp_result *res, const char *runner,
				   const char *metric, enum hvb_verdict v)
{
	struct hvb_cmp_row *row;

	res->rows = realloc(res->rows, (res->n_rows + 1) * sizeof(*res->rows));
	row = &res->rows[res->n_rows++];
	memset(row, 0, sizeof(*row));
	row->runner = xstrdup(runner);
	row->workload = xstrdup("cpu/crc32c");
	row->metric = xstrdup(metric);
	row->unit = xstrdup("MB/s");
	row->better = HVB_HIGHER_IS_BETTER;
	row->verdict = v;
	row->ratio = row->ci_lo = row->ci_hi = row->p = row->q = NAN;
	row->base = xmalloc(sizeof(double));
	row->cand = xmalloc(sizeof(double));
	return row;
}

static void gap_add(struct hvb_cmp_result *res, const char *side, const char *runner,
		    const char *status)
{
	struct hvb_cmp_gap *g;

	res->gaps = realloc(res->gaps, (res->n_gaps + 1) * sizeof(*res->gaps));
	g = &res->gaps[res->n_gaps++];
	g->side = side;
	g->runner = xstrdup(runner);
	g->workload = xstrdup("cpu/crc32c");
	g->metric = xstrdup("");
	g->status = xstrdup(status);
	g->note = xstrdup("boom");
}

static enum hvb_ci_outcome outcome(const struct hvb_cmp_result *res, size_t i, const char **type,
				   const char **why)
{
	return hvb_ci_row_outcome(res, &res->rows[i], type, why);
}

/* Every verdict's outcome, and what the gate mode changes: the gate's own
 * judgement (compare_gate.c) decides which rows fail as inconclusive. */
static void test_outcomes(void)
{
	struct hvb_cmp_result res = { 0 };
	struct hvb_cmp_opts o;
	struct hvb_cmp_row *r;
	const char *type, *why;

	hvb_cmp_opts_init(&o);
	row_add(&res, "a", "bandwidth", HVB_V_REGRESSION);
	row_add(&res, "a", "ns_per_op", HVB_V_IMPROVEMENT);
	row_add(&res, "a", "ops", HVB_V_NO_CHANGE);
	row_add(&res, "a", "x", HVB_V_INCONCLUSIVE)->why = xstrdup("2 repetition(s)");
	row_add(&res, "failed", "bandwidth", HVB_V_ONLY_BASE);
	row_add(&res, "skipped", "bandwidth", HVB_V_ONLY_BASE);
	row_add(&res, "new", "bandwidth", HVB_V_ONLY_CAND);
	/* no change, but the interval reaches 10% past a 2% threshold */
	r = row_add(&res, "a", "wide", HVB_V_NO_CHANGE);
	r->ratio = 1, r->ci_lo = 0.9, r->ci_hi = 1.1, r->p = r->q = 0.5, r->threshold = 0.02;
	gap_add(&res, "cand", "failed", "failed");
	gap_add(&res, "cand", "skipped", "skipped");
	gap_add(&res, "base", "new", "failed");

	TAP_EQ_INT(outcome(&res, 0, &type, &why), HVB_CI_FAIL, "regression fails");
	TAP_EQ_STR(type, "regression", "... of type regression");
	TAP_EQ_INT(outcome(&res, 1, &type, &why), HVB_CI_PASS, "improvement passes");
	TAP_OK(!type && !why, "... without a type or a gate reason");
	TAP_EQ_INT(outcome(&res, 2, &type, &why), HVB_CI_PASS, "no change passes");
	TAP_EQ_INT(outcome(&res, 3, &type, &why), HVB_CI_SKIP, "inconclusive is skipped");
	TAP_EQ_INT(outcome(&res, 4, &type, &why), HVB_CI_FAIL,
		   "only in base, the cell failed in cand: fails (exit status 1 too)");
	TAP_EQ_STR(type, "cand-failed", "... of type cand-failed");
	TAP_EQ_INT(outcome(&res, 5, &type, &why), HVB_CI_SKIP,
		   "only in base, skipped in cand: skipped");
	TAP_EQ_INT(outcome(&res, 6, &type, &why), HVB_CI_SKIP,
		   "only in cand (failed in base): skipped, base failing is no regression");
	TAP_EQ_INT(outcome(&res, 7, &type, &why), HVB_CI_PASS,
		   "no gate: a wide interval without a verdict passes as no change");

	o.gate = true, o.gate_why = "--gate";
	hvb_cmp_gate_eval(&res, &o);
	TAP_EQ_INT(outcome(&res, 3, &type, &why), HVB_CI_FAIL, "gate: inconclusive fails");
	TAP_EQ_STR(type, "inconclusive", "... of type inconclusive");
	TAP_OK(why && strstr(why, "2 repetition(s)"), "... with the gate's reason");
	TAP_EQ_INT(outcome(&res, 5, &type, &why), HVB_CI_FAIL, "gate: only in base fails");
	TAP_EQ_INT(outcome(&res, 6, &type, &why), HVB_CI_FAIL, "gate: only in cand fails");
	TAP_EQ_INT(outcome(&res, 7, &type, &why), HVB_CI_FAIL,
		   "gate: the wide interval fails as inconclusive, as exit 3 does");
	TAP_OK(why && strstr(why, "reaches past the 2% threshold"), "... saying why");
	TAP_EQ_INT(outcome(&res, 4, &type, &why), HVB_CI_FAIL, "gate: cand failed still fails");
	TAP_EQ_STR(type, "cand-failed", "... as cand-failed");
	TAP_EQ_INT(outcome(&res, 1, &type, &why), HVB_CI_PASS, "gate: improvement passes");
	TAP_EQ_INT(outcome(&res, 2, &type, &why), HVB_CI_PASS, "gate: a judged no change passes");
	for (size_t i = 0; i < res.gate.n; i++)
		TAP_OK(!hvb_ci_gate_extra(&res, i), "gate: every item is a row's");
	hvb_cmp_result_free(&res);
}

static void test_figures(void)
{
	struct hvb_cmp_result res = { 0 };
	struct hvb_cmp_row *r;
	char buf[512];

	r = row_add(&res, "kvm", "ns_per_op", HVB_V_REGRESSION);
	r->better = HVB_LOWER_IS_BETTER;
	r->ratio = 1.12, r->ci_lo = 1.08, r->ci_hi = 1.15, r->q = 0.003, r->threshold = 0.02;
	hvb_ci_row_figures(buf, sizeof(buf), r);
	TAP_EQ_STR(buf, "ratio 1.12 [1.08, 1.15], q=0.003, threshold 2%",
		   "lower is better: ratio, interval, q, threshold");
	r = row_add(&res, "kvm", "bandwidth", HVB_V_REGRESSION);
	r->ratio = 0.5, r->ci_lo = 0.4, r->ci_hi = 0.625, r->q = 0.01, r->threshold = 0.05;
	hvb_ci_row_figures(buf, sizeof(buf), r);
	TAP_EQ_STR(buf, "ratio 0.5 [0.4, 0.625] (slowdown 2 [1.6, 2.5]), q=0.01, threshold 5%",
		   "higher is better: the slowdown beside the raw ratio");
	r = row_add(&res, "kvm", "x", HVB_V_INCONCLUSIVE);
	r->ratio = 1.01, r->threshold = 0.1271, r->threshold_line = 4;
	hvb_ci_row_figures(buf, sizeof(buf), r);
	TAP_EQ_STR(buf, "ratio 1.01 [no interval] (slowdown 0.99 [no interval]), q=-, "
			"threshold 12.71% (line 4)",
		   "no interval, no q: said, not printed as nan; a thresholds file's line named");
	r = row_add(&res, "kvm", "y", HVB_V_ONLY_BASE);
	r->why = xstrdup("not in cand's results");
	hvb_ci_row_figures(buf, sizeof(buf), r);
	TAP_EQ_STR(buf, "no ratio: not in cand's results", "no ratio: why");
	hvb_cmp_result_free(&res);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = xcalloc(1, 1 << 16);

	if (f) {
		if (fread(s, 1, (1 << 16) - 1, f) == 0)
			s[0] = '\0';
		fclose(f);
	}
	return s;
}

/* Hostile names and notes: markup, quotes, a line break, a control byte,
 * invalid UTF-8; valid UTF-8 is kept. */
static void test_xml_escaping(void)
{
	struct hvb_cmp_result res = { 0 };
	struct hvb_cmp_opts o;
	struct hvb_cmp_args a = { 0 };
	struct hvb_ci_opts ci;
	char dir[] = "/tmp/hvb-junit-unit-XXXXXX", *path, *xml;
	char *base[] = { "b&<dir>" }, *cand[] = { "c\"dir" };
	struct hvb_cmp_row *r;

	hvb_cmp_opts_init(&o);
	a.base = base, a.n_base = 1, a.cand = cand, a.n_cand = 1;
	r = row_add(&res, "k<v>&m", "bandwidth", HVB_V_INCONCLUSIVE);
	r->why = xstrdup("said \"no\" & 'left'\nthen\x01 \xff\xfe µs");
	r = row_add(&res, "kvm", "ns_per_op", HVB_V_INCONCLUSIVE);
	r->why = xstrdup("\xe0\x80\x80|\xed\xa0\x80|\xf0\x9f\x98\x80");
	TAP_OK(mkdtemp(dir), "temporary directory");
	path = xasprintf("%s/junit.xml", dir);
	hvb_ci_opts_init(&ci, "compare");
	ci.junit = path;
	TAP_EQ_INT(hvb_junit_write(&ci, &res, &o, &a), 0, "JUnit written");
	xml = slurp(path);
	TAP_OK(strstr(xml, "classname=\"k&lt;v&gt;&amp;m.cpu/crc32c\""), "runner escaped in classname");
	TAP_OK(strstr(xml, "<skipped message=\"inconclusive: said &quot;no&quot; &amp; 'left'&#10;"
			   "then? ?? µs\"/>"),
	       "message: quotes, & and the line break as references, control byte and invalid "
	       "UTF-8 as '?', valid UTF-8 kept");
	TAP_OK(strstr(xml, "message=\"inconclusive: ???|???|\xf0\x9f\x98\x80\""),
	       "an overlong form and a surrogate as '?' byte by byte, a 4-byte character kept");
	TAP_OK(strstr(xml, "value=\"b&amp;&lt;dir&gt;\""), "directories escaped in properties");
	TAP_OK(strstr(xml, "value=\"c&quot;dir\""), "... quotes too");
	TAP_OK(!strchr(xml, '\x01') && !strstr(xml, "\xff"), "no byte XML cannot carry");
	TAP_OK(access(path, F_OK) == 0 && strstr(xml, "</testsuites>\n"), "the whole file, renamed");
	unlink(path);
	rmdir(dir);
	free(xml);
	free(path);
	hvb_cmp_result_free(&res);
}

static void test_annotations(void)
{
	struct hvb_cmp_result res = { 0 };
	struct hvb_ci_opts ci;
	struct hvb_cmp_row *r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	hvb_ci_opts_init(&ci, "ab");
	ci.annot = HVB_ANNOT_GITHUB;
	r = row_add(&res, "a,b:c", "bandwidth", HVB_V_REGRESSION);
	r->ratio = 0.5, r->ci_lo = 0.4, r->ci_hi = 0.625, r->q = 0.01, r->threshold = 0.02;
	r->med_base = 100, r->med_cand = 50;
	r = row_add(&res, "kvm", "ns_per_op", HVB_V_INCONCLUSIVE);
	r->why = xstrdup("100% sure\r\n::error::injected");
	row_add(&res, "kvm", "ops", HVB_V_NO_CHANGE);
	hvb_annot_print(f, &ci, &res);
	fclose(f);
	TAP_OK(strstr(buf, "::error title=hvbench ab%3A regression a%2Cb%3Ac cpu/crc32c "
			   "bandwidth::ratio 0.5 [0.4, 0.625] (slowdown 2 [1.6, 2.5]), q=0.01, "
			   "threshold 2%25; base median 100 MB/s, cand median 50 MB/s (higher is "
			   "better)\n"),
	       "regression: ::error, ':' and ',' escaped in the title, '%' in the message");
	TAP_OK(strstr(buf, "::warning title=hvbench ab%3A inconclusive kvm cpu/crc32c ns_per_op::"),
	       "inconclusive: ::warning");
	TAP_OK(strstr(buf, "::no ratio: 100%25 sure%0D%0A::error::injected; "), "CR and LF percent-encoded");
	TAP_OK(!strstr(buf, "\n::error::injected"), "a note cannot start a command of its own");
	TAP_OK(!strstr(buf, " ops::"), "no annotation for a row that passes");
	free(buf);
	hvb_cmp_result_free(&res);
}

int main(void)
{
	test_outcomes();
	test_figures();
	test_xml_escaping();
	test_annotations();
	return tap_done();
}
