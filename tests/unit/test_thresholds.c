/*
 * Thresholds files and their derivation (src/thresholds.c,
 * src/thresholds_derive.c), and their use in the verdict (compare.c).
 *
 * 1. The reader: a good file with every column, a minimal one, first match
 *    wins, globs, and each malformed case refused with FILE:LINE.
 * 2. The writer: atomic, names escaped so a line matches only its key,
 *    read back to the same figures.
 * 3. d2(n) against its tabulated values.
 * 4. The derivation on tests/fixtures/thresholds/ (make_history.py): two
 *    histories of known noise, a key in too few runs, refusals.
 * 5. hvb_cmp_finish with a thresholds file: the same interval is a
 *    regression under 2% and no change under a matching 10% line.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compare.h"
#include "hvb/abi.h"
#include "tap.h"
#include "thresholds.h"
#include "thresholds_derive.h"
#include "util.h"

static char tmpdir[] = "/tmp/hvb-test-thresholds-XXXXXX";
static char fixture_dir[512];

static const char *put(const char *name, const char *text)
{
	static char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static bool near(double a, double b, double tol)
{
	return fabs(a - b) <= tol;
}

/* ------------------------------------------------------------ reader */

static void test_read_good(void)
{
	struct hvb_thresholds t;
	const struct hvb_thresh_line *l;
	char err[512] = "";
	const char *p = put("good.csv",
			    "runner,workload,metric,threshold_pct,runs,reps,noise_pct,k,floor_pct,"
			    "host,date\n"
			    "kvm,cpu/crc32c,ns_per_op,4.5,5,25,1.5,3,1,\"fixhost (id 1)\",2026-12-01\n"
			    "kvm,cpu/*,ns_per_op,9,,,,,,,\n"
			    "*,mem/stream-*,bandwidth,0,3,15,0.1,3,0,,\n"
			    "*,*,*,20,,,,,,,\n");

	TAP_EQ_INT(hvb_thresholds_read(p, &t, err, sizeof(err)), 0, "a good file is read");
	TAP_EQ_INT(t.n, 4, "... four lines");
	l = hvb_thresholds_find(&t, "kvm", "cpu/crc32c", "ns_per_op");
	TAP_OK(l && l->line == 2 && l->pct == 4.5, "first match wins: the exact line 2, not line 3");
	TAP_OK(l && l->runs == 5 && l->reps == 25 && l->noise_pct == 1.5 && l->k == 3 &&
		       l->floor_pct == 1 && !strcmp(l->host, "fixhost (id 1)") &&
		       !strcmp(l->date, "2026-12-01"),
	       "... with its provenance");
	l = hvb_thresholds_find(&t, "kvm", "cpu/sha256", "ns_per_op");
	TAP_OK(l && l->line == 3 && isnan(l->noise_pct) && l->runs == 0,
	       "a glob line (cpu/*) matches another workload; empty provenance is 'not given'");
	l = hvb_thresholds_find(&t, "native", "mem/stream-copy", "bandwidth");
	TAP_OK(l && l->line == 4 && l->pct == 0, "runner '*' and a workload glob: line 4, 0%");
	l = hvb_thresholds_find(&t, "native", "cpu/crc32c", "ns_per_op");
	TAP_OK(l && l->line == 5, "the catch-all line last matches the rest");
	hvb_thresholds_free(&t);

	p = put("min.csv", "metric,threshold_pct,workload,runner\nns_per_op,3,cpu/*,native\n");
	TAP_EQ_INT(hvb_thresholds_read(p, &t, err, sizeof(err)), 0,
		   "the four required columns alone, in any order");
	TAP_OK(hvb_thresholds_find(&t, "native", "cpu/x", "ns_per_op") &&
		       !hvb_thresholds_find(&t, "kvm", "cpu/x", "ns_per_op") &&
		       !hvb_thresholds_find(&t, "native", "cpu/x", "bandwidth"),
	       "... matched by column name, not position; no line: NULL (the default)");
	hvb_thresholds_free(&t);
	p = put("empty-lines.csv", "runner,workload,metric,threshold_pct\n");
	TAP_OK(!hvb_thresholds_read(p, &t, err, sizeof(err)) && t.n == 0,
	       "a header alone is a file with no lines");
	hvb_thresholds_free(&t);
}

struct bad_case {
	const char *name, *text, *want; /* want: in the message after FILE: */
};

static void test_read_malformed(void)
{
	static const struct bad_case cases[] = {
		{ "empty", "", ": empty: no header line" },
		{ "unknown-col", "runner,workload,metric,threshold_pct,thresh\n",
		  ":1: unknown column 'thresh'" },
		{ "twice", "runner,workload,metric,threshold_pct,runner\n",
		  ":1: column 'runner' given twice" },
		{ "no-pct", "runner,workload,metric\n", ":1: no column 'threshold_pct'" },
		{ "fields", "runner,workload,metric,threshold_pct\nkvm,cpu/*,ns_per_op\n",
		  ":2: 3 field(s), the header has 4" },
		{ "empty-glob", "runner,workload,metric,threshold_pct\nkvm,,ns_per_op,2\n",
		  ":2: empty workload glob (write '*' for any workload)" },
		{ "pct-text", "runner,workload,metric,threshold_pct\nkvm,*,*,2\nkvm,*,*,two\n",
		  ":3: threshold_pct 'two' is not a percentage from 0 to 100" },
		{ "pct-range", "runner,workload,metric,threshold_pct\nkvm,*,*,101\n",
		  ":2: threshold_pct '101'" },
		{ "pct-neg", "runner,workload,metric,threshold_pct\nkvm,*,*,-1\n",
		  ":2: threshold_pct '-1'" },
		{ "pct-suffix", "runner,workload,metric,threshold_pct\nkvm,*,*,2%\n",
		  ":2: threshold_pct '2%'" },
		{ "runs", "runner,workload,metric,threshold_pct,runs\nkvm,*,*,2,3.5\n",
		  ":2: runs '3.5' is not a count" },
		{ "noise", "runner,workload,metric,threshold_pct,noise_pct\nkvm,*,*,2,nan\n",
		  ":2: noise_pct 'nan' is not a number >= 0" },
		{ "csv", "runner,workload,metric,threshold_pct\nkvm,\"cpu,*,2\n",
		  ":2: malformed CSV" },
	};
	struct hvb_thresholds t;
	char err[512], desc[160];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *p = put(cases[i].name, cases[i].text);
		char *want = xasprintf("%s%s", p, cases[i].want);
		int r = hvb_thresholds_read(p, &t, err, sizeof(err));
		snprintf(desc, sizeof(desc), "malformed (%s) refused: FILE%s", cases[i].name,
			 cases[i].want);
		if (!TAP_OK(r == -EINVAL && !strncmp(err, want, strlen(want)), desc))
			printf("#   r=%d err: %s\n", r, err);
		free(want);
	}
	snprintf(desc, sizeof(desc), "%s/missing.csv", tmpdir);
	TAP_OK(hvb_thresholds_read(desc, &t, err, sizeof(err)) == -ENOENT,
	       "a missing file: -ENOENT");
}

/* ------------------------------------------------------------ writer */

static void test_write(void)
{
	struct hvb_thresh_line v[2] = {
		{ .runner = "kvm", .workload = "cpu/weird[1]*", .metric = "ns_per_op", .pct = 12.71,
		  .runs = 5, .reps = 25, .noise_pct = 4.237, .k = 3, .floor_pct = 1,
		  .host = "fixhost, rack 2", .date = "2026-12-02T04:00:00Z" },
		{ .runner = "native", .workload = "mem/stream-copy", .metric = "bandwidth",
		  .pct = 1, .runs = 3, .reps = 9, .noise_pct = NAN, .k = NAN, .floor_pct = NAN },
	};
	char *path = xasprintf("%s/out.csv", tmpdir), err[512] = "";
	struct hvb_thresholds t;
	const struct hvb_thresh_line *l;

	TAP_EQ_INT(hvb_thresholds_write(path, v, 2, err, sizeof(err)), 0, "the writer writes");
	TAP_EQ_INT(hvb_thresholds_read(path, &t, err, sizeof(err)), 0, "... a file the reader reads");
	l = hvb_thresholds_find(&t, "kvm", "cpu/weird[1]*", "ns_per_op");
	TAP_OK(l && l->line == 2 && l->pct == 12.71 && l->runs == 5 && l->reps == 25 &&
		       l->noise_pct == 4.237 && !strcmp(l->host, "fixhost, rack 2"),
	       "... the same figures back (a comma in the host quoted)");
	TAP_OK(!hvb_thresholds_find(&t, "kvm", "cpu/weird1x", "ns_per_op"),
	       "... a name with glob characters matches only itself");
	l = hvb_thresholds_find(&t, "native", "mem/stream-copy", "bandwidth");
	TAP_OK(l && isnan(l->noise_pct) && !l->host[0], "... and what was not given stays empty");
	hvb_thresholds_free(&t);
	snprintf(err, sizeof(err), "%s.tmp-%d", path, (int)getpid());
	TAP_OK(access(err, F_OK) != 0, "... no temporary file left");
	free(path);
	path = xasprintf("%s/no/such/dir/out.csv", tmpdir);
	TAP_OK(hvb_thresholds_write(path, v, 2, err, sizeof(err)) == -ENOENT &&
		       strstr(err, "no/such/dir"),
	       "an unwritable path: -ENOENT naming it");
	free(path);
}

/* ---------------------------------------------------------- derivation */

static void test_d2(void)
{
	/* Tabulated (e.g. ASTM E2587): d2(2) = 2/sqrt(pi). */
	TAP_OK(near(hvb_normal_range_mean(2), 1.128379, 1e-6), "d2(2) = 1.128379");
	TAP_OK(near(hvb_normal_range_mean(3), 1.692569, 1e-6), "d2(3) = 1.692569");
	TAP_OK(near(hvb_normal_range_mean(5), 2.325929, 1e-6), "d2(5) = 2.325929");
	TAP_OK(near(hvb_normal_range_mean(10), 3.077505, 1e-6), "d2(10) = 3.077505");
}

/* The runs of one history of the fixture, a NULL-terminated list. */
static size_t history(const char *name, char **dirs, size_t max)
{
	static const char *const ids[] = { "000000", "010000", "020000", "030000", "040000" };
	int day = !strcmp(name, "quiet") ? 1 : 2;
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(ids) && n < max; i++)
		dirs[n++] = xasprintf("%s/%s/202612%02d-%s-fixhost-%s%zu", fixture_dir, name, day,
				      ids[i], name, i);
	return n;
}

static const struct hvb_thresh_line *line_of(const struct hvb_thresh_history *h,
					     const char *runner, const char *workload,
					     const char *metric)
{
	for (size_t i = 0; i < h->n_lines; i++)
		if (!strcmp(h->lines[i].runner, runner) && !strcmp(h->lines[i].workload, workload) &&
		    !strcmp(h->lines[i].metric, metric))
			return &h->lines[i];
	return NULL;
}

/* Derive from dirs (err: 512 bytes). */
static int derive(char **dirs, size_t n, const struct hvb_thresh_opts *o,
		  struct hvb_thresh_history *h, char *err)
{
	return hvb_thresh_derive((const char *const *)dirs, n, o, h, err, 512);
}

static void free_dirs(char **dirs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(dirs[i]);
}

static void test_derive_noisy(void)
{
	/* make_history.py: factors 0.97 .. 1.04 over 5 runs */
	double noise = 100 * M_SQRT2 * log(1.04 / 0.97) / 2.325929;
	char *dirs[5], err[512] = "";
	size_t n = history("noisy", dirs, 5);
	struct hvb_thresh_history h;
	const struct hvb_thresh_line *l;
	struct hvb_thresh_opts o;

	hvb_thresh_opts_init(&o);
	if (!TAP_EQ_INT(derive(dirs, n, &o, &h, err),
			0, "noisy history: derived"))
		printf("#   %s\n", err);
	TAP_EQ_INT(h.n_lines, 8, "... 8 lines: 2 runners x (crc32c ns, cycles; stream bw, ns)");
	l = line_of(&h, "kvm", "mem/stream-copy", "bandwidth");
	TAP_OK(l && near(l->noise_pct, noise, 1e-4),
	       "... noise_pct = 100 sqrt(2) ln(1.04/0.97) / d2(5) = 4.2367 (higher-is-better too)");
	TAP_OK(l && near(l->pct, 3 * noise, 1e-4), "... threshold = k 3 x noise = 12.71%");
	TAP_OK(l && l->runs == 5 && l->reps == 25 && l->k == 3 && l->floor_pct == 1,
	       "... from 5 runs and 25 repetitions, with k and the floor");
	TAP_OK(l && strstr(l->host, "5eed0f1a2b3c4d5e") && !strcmp(l->date, "2026-12-02T04:00:00Z"),
	       "... the host's identity and the newest run's start");
	TAP_OK(!line_of(&h, "native", "cpu/crc32c", "ns_per_op.p50"),
	       "... only compare's default metrics (no .p50)");
	TAP_OK(!line_of(&h, "kvm", "boot", "boot_ms") && h.n_skipped == 1 &&
		       strstr(h.skipped[0], "kvm boot boot_ms: measured in 2 of 5 runs"),
	       "... boot_ms, in 2 runs only, not derived and said why");
	TAP_OK(h.n_lines && !strcmp(h.lines[0].runner, "kvm") &&
		       !strcmp(h.lines[h.n_lines - 1].runner, "native"),
	       "... lines sorted by key");
	hvb_thresh_history_free(&h);

	o.k = 1;
	o.floor_pct = 5;
	o.metrics = "*";
	o.runners = "native";
	derive(dirs, n, &o, &h, err);
	l = line_of(&h, "native", "cpu/crc32c", "ns_per_op.p50");
	TAP_OK(h.n_lines == 5 && l && l->pct == 5,
	       "--metrics '*' --runner native, k 1: 5 lines, the floor 5% above 1 x 4.24");
	hvb_thresh_history_free(&h);
	free_dirs(dirs, n);
}

static void test_derive_quiet(void)
{
	struct hvb_thresh_opts o;
	struct hvb_thresh_history h;
	char *dirs[5], err[512] = "";
	size_t n = history("quiet", dirs, 5);
	const struct hvb_thresh_line *l;
	double noise = 100 * M_SQRT2 * log(1.002 / 0.998) / 2.325929;

	hvb_thresh_opts_init(&o);
	o.floor_pct = 0.5;
	TAP_EQ_INT(derive(dirs, n, &o, &h, err), 0,
		   "quiet history, floor 0.5: derived");
	l = line_of(&h, "native", "cpu/crc32c", "ns_per_op");
	TAP_OK(l && near(l->noise_pct, noise, 1e-5) && near(l->pct, 3 * noise, 1e-5),
	       "... noise 0.2432%, threshold 0.7296%: tighter than the 2% default");
	l = line_of(&h, "kvm", "boot", "boot_ms");
	TAP_OK(l && l->noise_pct == 0 && l->pct == 0.5, "... a key without noise gets the floor");
	hvb_thresh_history_free(&h);

	TAP_EQ_INT(derive(dirs, 2, &o, &h, err),
		   -EINVAL, "2 runs: refused");
	TAP_OK(strstr(err, "2 baseline run(s)") && strstr(err, "at least 3"), "... saying 3 needed");
	free(dirs[2]);
	dirs[2] = xstrdup(dirs[0]);
	TAP_EQ_INT(derive(dirs, 3, &o, &h, err),
		   -EINVAL, "a run given twice: refused");
	TAP_OK(strstr(err, "is given twice"), "... saying so");
	o.runners = "xen-*";
	TAP_EQ_INT(derive(dirs, n, &o, &h, err),
		   -EINVAL, "a selection nothing matches: refused");
	free_dirs(dirs, n);
}

/* ----------------------------------------------------------- verdicts */

/* One lower-is-better row whose interval is [1.05, 1.07]: q 0.001. */
static void row_make(struct hvb_cmp_row *row, const char *workload)
{
	memset(row, 0, sizeof(*row));
	row->runner = xstrdup("kvm");
	row->workload = xstrdup(workload);
	row->metric = xstrdup("ns_per_op");
	row->unit = xstrdup("ns");
	row->better = HVB_LOWER_IS_BETTER;
	row->n_base = row->n_cand = 10;
	row->base = xmalloc(sizeof(double));
	row->cand = xmalloc(sizeof(double));
	row->ratio = 1.06;
	row->ci_lo = 1.05;
	row->ci_hi = 1.07;
	row->p = 0.001;
}

static void test_verdict(void)
{
	struct hvb_cmp_result res = { 0 };
	struct hvb_cmp_opts o;
	char err[512];
	const char *p = put("verdict.csv", "runner,workload,metric,threshold_pct\n"
					   "kvm,cpu/noisy,*,10\n");

	hvb_cmp_opts_init(&o);
	res.rows = xcalloc(2, sizeof(*res.rows));
	res.n_rows = 2;
	row_make(&res.rows[0], "cpu/noisy");
	row_make(&res.rows[1], "cpu/quiet");
	res.thresholds = xcalloc(1, sizeof(*res.thresholds));
	hvb_thresholds_read(p, res.thresholds, err, sizeof(err));
	hvb_cmp_finish(&res, &o);
	TAP_OK(res.rows[0].verdict == HVB_V_NO_CHANGE && res.rows[0].threshold == 0.10 &&
		       res.rows[0].threshold_line == 2,
	       "a 5-7% slowdown under its line's 10%: no change, threshold from line 2");
	TAP_OK(res.rows[1].verdict == HVB_V_REGRESSION && res.rows[1].threshold == 0.02 &&
		       res.rows[1].threshold_line == 0,
	       "the same interval, no line matching: the 2% default, regression");
	TAP_EQ_INT(hvb_cmp_exit_status(&res), 1, "... exit status 1");
	hvb_cmp_result_free(&res);
}

static void rm_tmpdir(void)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);

	if (system(cmd))
		printf("# could not remove %s\n", tmpdir);
	free(cmd);
}

int main(void)
{
	const char *src = __FILE__, *cut = strstr(src, "tests/unit/");

	snprintf(fixture_dir, sizeof(fixture_dir), "%.*stests/fixtures/thresholds",
		 (int)(cut ? cut - src : 0), src);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_read_good();
	test_read_malformed();
	test_write();
	test_d2();
	test_derive_noisy();
	test_derive_quiet();
	test_verdict();
	rm_tmpdir();
	return tap_done();
}
