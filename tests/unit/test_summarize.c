/*
 * hvbench summarize's engine on small hand-written result directories:
 * medians, slowdowns and their orientation against hand-computed values, no
 * interval below 3 repetitions, byte-identical output for the same seed,
 * file:line errors for malformed input, and the same ratio interval as
 * compare for the same pair and seed (one engine).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compare.h"
#include "hvb/abi.h"
#include "stats.h"
#include "summarize.h"
#include "tap.h"
#include "util.h"

static char tmp[] = "/tmp/hvb-test-summarize-XXXXXX";

static void put(const char *dir, const char *file, const char *text)
{
	char *p = xasprintf("%s/%s", dir, file);
	FILE *f = fopen(p, "w");

	if (!f || fputs(text, f) < 0 || fclose(f))
		abort();
	free(p);
}

/* A complete run named id under tmp with these samples.csv rows. */
static char *make_run(const char *id, const char *rows)
{
	char *dir = xasprintf("%s/%s", tmp, id), *meta, *samples;

	hvb_mkdir_p(dir);
	meta = xasprintf("key,value\nrun_id,%s\nstatus,complete\nformat_version,1\n"
			 "primary.cpu/x,ns_per_op\nprimary.mem/bw,bandwidth\n", id);
	samples = xasprintf("run_id,runner,workload,metric,unit,better,rep,value,status,note\n%s",
			    rows);
	put(dir, "meta.csv", meta);
	put(dir, "samples.csv", samples);
	free(meta), free(samples);
	return dir;
}

/* The samples.csv rows of one series of run id. */
static char *rows(const char *id, const char *runner, const char *wl, const char *metric, const char *unit,
		  const char *better, const double *v, size_t n)
{
	char *out = xstrdup("");

	for (size_t i = 0; i < n; i++) {
		char *line = xasprintf("%s%s,%s,%s,%s,%s,%s,%zu,%.17g,ok,\n", out, id, runner, wl,
				       metric, unit, better, i, v[i]);
		free(out);
		out = line;
	}
	return out;
}

/* summarize(dirs) with this many threads (0: the default) into a string,
 * or NULL with err set. */
static char *summarize_threads(const char *const *dirs, size_t n, uint64_t seed,
			       unsigned threads, char *err, size_t len)
{
	struct hvb_sum_opts o;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	hvb_sum_opts_init(&o);
	o.seed = seed;
	if (threads)
		o.threads = threads;
	if (hvb_summarize(dirs, n, &o, f, err, len)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

static char *summarize(const char *const *dirs, size_t n, uint64_t seed, char *err, size_t len)
{
	return summarize_threads(dirs, n, seed, 0, err, len);
}

/* The number after `"key": ` in the first object at or after from that
 * contains needle. */
static double field(const char *doc, const char *needle, const char *key)
{
	const char *at = strstr(doc, needle), *k;
	char *pat = xasprintf("\"%s\": ", key);

	if (!at) {
		free(pat);
		return NAN;
	}
	while (at > doc && *at != '{')
		at--;
	k = strstr(at, pat);
	free(pat);
	if (!k || strchr(at, '}') < k)
		return NAN;
	k = strchr(k, ':') + 2;
	if (*k == '[')
		k++;
	return strncmp(k, "null", 4) ? strtod(k, NULL) : NAN;
}

/* The second element of `"ci": [lo, hi]` of that object. */
static double ci_hi(const char *doc, const char *needle)
{
	const char *at = strstr(doc, needle), *k;

	if (!at)
		return NAN;
	while (at > doc && *at != '{')
		at--;
	k = strstr(at, "\"ci\": [");
	if (!k || strchr(at, '}') < k)
		return NAN;
	k = strchr(k, ',');
	return strtod(k + 1, NULL);
}

static char *dir_a, *dir_b;
static const double nat[] = { 10, 12, 11, 13, 9 };      /* median 11 */
static const double kvm[] = { 22, 20, 21, 25, 23 };     /* median 22 */
static const double bw_nat[] = { 100, 104, 96, 101, 99 }; /* median 100 */
static const double bw_kvm[] = { 50, 48, 52, 51, 49 };  /* median 50 */
static const double two[] = { 30, 34 };                  /* median 32 */

#define A "20260101-000000-a-1"
#define B "20260101-000000-b-2"

static void setup(void)
{
	char *r[6], *all;

	if (!mkdtemp(tmp))
		abort();
	r[0] = rows(A, "native", "cpu/x", "ns_per_op", "ns", "lower", nat, 5);
	r[1] = rows(A, "kvm", "cpu/x", "ns_per_op", "ns", "lower", kvm, 5);
	r[2] = rows(A, "native", "mem/bw", "bandwidth", "MB/s", "higher", bw_nat, 5);
	r[3] = rows(A, "kvm", "mem/bw", "bandwidth", "MB/s", "higher", bw_kvm, 5);
	r[4] = rows(A, "qemu-kvm", "cpu/x", "ns_per_op", "ns", "lower", two, 2);
	r[5] = xstrdup(A ",xen-pv,cpu/x,,,,,,skipped,no PV here\n");
	all = xasprintf("%s%s%s%s%s%s", r[0], r[1], r[2], r[3], r[4], r[5]);
	dir_a = make_run(A, all);
	free(all);
	for (int i = 0; i < 6; i++)
		free(r[i]);
	r[0] = rows(B, "kvm", "cpu/x", "ns_per_op", "ns", "lower", nat, 5);
	dir_b = make_run(B, r[0]);
	free(r[0]);
}

static void test_values(void)
{
	const char *dirs[] = { dir_a, dir_b };
	char err[512];
	char *doc = summarize(dirs, 2, 1, err, sizeof(err));

	TAP_OK(doc != NULL, "two runs summarize");
	if (!doc)
		return;
	TAP_OK(strstr(doc, "\"schema\": \"hvbench-summary/1\""), "schema named");
	TAP_OK(field(doc, "\"runner\": \"native\", \"workload\": \"cpu/x\"", "median") == 11,
	       "median of 10 12 11 13 9 is 11");
	TAP_OK(field(doc, "\"runner\": \"qemu-kvm\"", "median") == 32,
	       "median of two values is their mean");
	TAP_OK(strstr(doc, "\"ci\": null, \"ci_why\": \"2 repetitions: fewer than 3, no interval\""),
	       "no median interval below 3 repetitions, and why");
	/* series 0 native cpu, 1 kvm cpu, 4 qemu-kvm, 5 = run B kvm cpu */
	TAP_OK(field(doc, "\"base\": 0, \"cand\": 1,", "slowdown") == 2,
	       "lower is better: kvm 22 vs native 11 is a slowdown of 2");
	TAP_OK(field(doc, "\"base\": 1, \"cand\": 0,", "slowdown") == 0.5,
	       "the reverse pair is 0.5");
	TAP_OK(field(doc, "\"base\": 2, \"cand\": 3,", "slowdown") == 2,
	       "higher is better: 50 MB/s vs 100 MB/s is a slowdown of 2");
	TAP_OK(field(doc, "\"base\": 2, \"cand\": 3,", "ci") <= 2 &&
	       ci_hi(doc, "\"base\": 2, \"cand\": 3,") >= 2, "its interval holds it");
	TAP_OK(field(doc, "\"base\": 1, \"cand\": 5,", "slowdown") == 0.5,
	       "across runs: run B's kvm (11) against run A's kvm (22)");
	TAP_OK(strstr(doc, "\"base\": 0, \"cand\": 4, \"workload\": \"cpu/x\", \"metric\": "
		      "\"ns_per_op\", \"slowdown\": 2.9090909090909092, \"ci\": null"),
	       "32/11 with no interval: qemu-kvm has 2 repetitions");
	TAP_OK(strstr(doc, "\"status\": \"skipped\", \"note\": \"no PV here\", \"where\": \""),
	       "the skipped row is a problem with its reason");
	TAP_OK(strstr(doc, "samples.csv:24\"}"),
	       "... and its file:line");
	TAP_OK(strstr(doc, "\"runner\": \"xen-pv\", \"workloads\": [\"cpu/x\"]"),
	       "the cells list a runner that has only a skipped row");
	free(doc);
}

static void test_deterministic(void)
{
	const char *dirs[] = { dir_a, dir_b };
	char err[512];
	char *x = summarize(dirs, 2, 7, err, sizeof(err)), *y = summarize(dirs, 2, 7, err, sizeof(err));
	char *z = summarize(dirs, 2, 8, err, sizeof(err));

	TAP_OK(x && y && !strcmp(x, y), "same input and seed: the same bytes");
	TAP_OK(x && z && strcmp(x, z), "another seed moves the bootstrap intervals");
	free(x), free(y), free(z);
}

/* The pairs are bootstrapped on several threads; each seeds its own stream,
 * so the thread count must not change a byte (7 pairs here: some threads
 * get two, one gets none at 8). */
static void test_threads(void)
{
	const char *dirs[] = { dir_a, dir_b };
	char err[512];
	char *one = summarize_threads(dirs, 2, 5, 1, err, sizeof(err));
	char *three = summarize_threads(dirs, 2, 5, 3, err, sizeof(err));
	char *eight = summarize_threads(dirs, 2, 5, 8, err, sizeof(err));

	TAP_OK(one && three && !strcmp(one, three), "1 thread and 3 threads: the same bytes");
	TAP_OK(one && eight && !strcmp(one, eight), "... and 8 threads, more than the pairs");
	free(one), free(three), free(eight);
}

/* More pairs than one batch of bootstraps (RATIO_BATCH, 1024): each
 * workload's ratios must still be its own, in the later batches too.
 * kvm is native x (1 + w % 5) in workload w, so its slowdown says which
 * workload's pair it came from. */
static void test_batches(void)
{
	enum { W = 1100 };
	const char *id = "20260101-000000-many-4";
	size_t size = 0;
	char *rows_text = NULL, *dir, *doc, err[512];
	FILE *f = open_memstream(&rows_text, &size);
	const char *dirs[1];
	size_t wrong = 0, n = 0;

	for (int w = 0; w < W; w++)
		for (int rep = 0; rep < 3; rep++) {
			fprintf(f, "%s,native,batch/w%04d,ns_per_op,ns,lower,%d,%g,ok,\n", id, w, rep,
				nat[rep]);
			fprintf(f, "%s,kvm,batch/w%04d,ns_per_op,ns,lower,%d,%g,ok,\n", id, w, rep,
				nat[rep] * (1 + w % 5));
		}
	fclose(f);
	dir = make_run(id, rows_text);
	dirs[0] = dir;
	doc = summarize_threads(dirs, 1, 1, 2, err, sizeof(err));
	TAP_OK(doc != NULL, "1100 workloads of one pair each summarize");
	/* series 2w is native in workload w, 2w + 1 kvm; ratios in file order */
	for (const char *p = doc ? strstr(doc, "\"ratios\": [") : NULL; p && (p = strstr(p, "{\"base\": "));
	     p++) {
		unsigned b, c;
		double slow, want;

		if (sscanf(p, "{\"base\": %u, \"cand\": %u, \"workload\": \"batch/w%*d\", "
			      "\"metric\": \"ns_per_op\", \"slowdown\": %lf", &b, &c, &slow) != 3) {
			wrong++;
			continue;
		}
		n++;
		want = 1 + (b / 2) % 5;
		wrong += b % 2 ? c != b - 1 || fabs(slow - 1 / want) > 1e-12
			       : c != b + 1 || slow != want;
	}
	printf("# %zu ratios, %zu wrong\n", n, wrong);
	TAP_OK(doc && n == 2 * W, "every workload has its two ratios");
	TAP_OK(doc && !wrong, "each is its own workload's slowdown, in every batch");
	free(doc), free(dir), free(rows_text);
}

/* Each run names the samples file its series' lines are in (the report
 * points at them without reading samples.csv). */
static void test_samples_named(void)
{
	const char *dirs[] = { dir_a, dir_b };
	char err[512];
	char *doc = summarize(dirs, 2, 1, err, sizeof(err));
	char *a = xasprintf("\"run_id\": \"%s\", \"status\": \"complete\", \"samples\": "
			    "\"%s/samples.csv\"", A, dir_a);

	TAP_OK(doc && strstr(doc, a), "a run names its samples.csv");
	TAP_OK(doc && field(doc, "\"runner\": \"kvm\", \"workload\": \"cpu/x\"", "line") == 7,
	       "a series names the line of its first row");
	free(a), free(doc);
}

/* compare's interval for native -> kvm cpu/x and summarize's (seed 3), with
 * 5 + 5 repetitions (an exact permutation test, which draws nothing) and
 * 12 + 12 (a sampled one, drawn from the same stream before the bootstrap). */
static void one_engine(const char *dir, const double *a, const double *b, size_t n)
{
	struct hvb_cmp_opts o;
	struct hvb_cmp_row row = { 0 };
	const char *dirs[] = { dir };
	const char *pair = "\"base\": 0, \"cand\": 1,";
	char err[512];
	char *doc = summarize(dirs, 1, 3, err, sizeof(err));

	hvb_cmp_opts_init(&o);
	o.seed = 3;
	row.runner = "native->kvm", row.workload = "cpu/x", row.metric = "ns_per_op";
	row.better = HVB_LOWER_IS_BETTER;
	row.base = (double *)a, row.n_base = n;
	row.cand = (double *)b, row.n_cand = n;
	hvb_cmp_row_eval(&row, &o);
	TAP_OK(isfinite(row.ci_lo) && doc && field(doc, pair, "ci") == row.ci_lo &&
	       ci_hi(doc, pair) == row.ci_hi,
	       "summarize's ratio interval is compare's for the same pair and seed");
	if (doc)
		printf("# %zu reps: compare [%.17g, %.17g], summarize [%.17g, %.17g]\n", n,
		       row.ci_lo, row.ci_hi, field(doc, pair, "ci"), ci_hi(doc, pair));
	free(row.why);
	free(doc);
}

static void test_one_engine(void)
{
	double a[12], b[12];
	char *ra, *rb, *all, *dir;

	one_engine(dir_a, nat, kvm, 5);
	struct hvb_rng rng;

	/* spread values: the interval's ends then depend on the stream */
	hvb_rng_seed(&rng, 42);
	for (int i = 0; i < 12; i++)
		a[i] = 100 * exp(0.3 * hvb_rng_normal(&rng)),
		b[i] = 130 * exp(0.3 * hvb_rng_normal(&rng));
	ra = rows("20260101-000000-c-3", "native", "cpu/x", "ns_per_op", "ns", "lower", a, 12);
	rb = rows("20260101-000000-c-3", "kvm", "cpu/x", "ns_per_op", "ns", "lower", b, 12);
	all = xasprintf("%s%s", ra, rb);
	dir = make_run("20260101-000000-c-3", all);
	one_engine(dir, a, b, 12);
	free(ra), free(rb), free(all), free(dir);
}

static void expect_error(const char *samples, const char *needle, const char *desc)
{
	char *dir = make_run("20260101-000000-bad-9", samples);
	const char *dirs[] = { dir };
	char err[512] = "";
	char *doc = summarize(dirs, 1, 1, err, sizeof(err));

	TAP_OK(!doc && strstr(err, needle), desc);
	if (doc || !strstr(err, needle))
		printf("# got: %s\n", err);
	free(doc);
	free(dir);
}

static void test_errors(void)
{
	const char *id = "20260101-000000-bad-9";
	char *dup = xasprintf("%s,kvm,cpu/x,ns_per_op,ns,lower,0,1,ok,\n"
			      "%s,kvm,cpu/x,ns_per_op,ns,lower,0,2,ok,\n", id, id);
	char *nan = xasprintf("%s,kvm,cpu/x,ns_per_op,ns,lower,0,nan,ok,\n", id);
	char *cols = xasprintf("%s,kvm,cpu/x\n", id);

	expect_error(dup, "samples.csv:3", "a repetition given twice: file and line");
	expect_error(nan, "samples.csv:2", "a value that is not a number: file and line");
	expect_error(cols, "samples.csv:2", "a short row: file and line");
	free(dup), free(nan), free(cols);
	dup = xasprintf("%s,kvm,cpu/x,ns_per_op,ns,lower,0,1,ok,\n"
			"%s,kvm,cpu/x,ns_per_op,us,lower,1,2,ok,\n", id, id);
	nan = xasprintf("%s,kvm,cpu/x,ns_per_op,ns,lower,0,1,ok,\n"
			"%s,kvm,cpu/x,ns_per_op,ns,higher,1,2,ok,\n", id, id);
	expect_error(dup, "samples.csv:3: cpu/x ns_per_op is in unit 'us' but ",
		     "a unit that changes within a series: the row that changes it ...");
	expect_error(dup, "samples.csv:2 has 'ns': units disagree for the same metric",
		     "... and the first row, worded as the report's check across series");
	expect_error(nan, "samples.csv:3: cpu/x ns_per_op says better=higher but ",
		     "a direction that changes within a series ...");
	expect_error(nan, "samples.csv:2 says better=lower", "... and the first row");
	free(dup), free(nan);
}

int main(void)
{
	char *cmd;

	setup();
	test_values();
	test_deterministic();
	test_threads();
	test_batches();
	test_samples_named();
	test_one_engine();
	test_errors();
	cmd = xasprintf("rm -rf '%s'", tmp);
	if (system(cmd))
		printf("# could not remove %s\n", tmp);
	free(cmd);
	free(dir_a), free(dir_b);
	return tap_done();
}
