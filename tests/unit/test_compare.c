/*
 * hvbench compare on synthetic results with known truth.
 *
 * In memory (the engine): the false-positive rate over many identical-
 * distribution comparisons with many metrics, and the power to flag a 5%
 * change in either direction for both kinds of metric.
 * End to end (result directories written with the sink API, then the
 * hvbench binary): exit statuses, mismatched units, one-sided metrics,
 * skipped and failed cells, pooled directories, output formats.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compare.h"
#include "results.h"
#include "sink.h"
#include "stats.h"
#include "tap.h"
#include "util.h"

#define diag(...) (printf("# "), printf(__VA_ARGS__), printf("\n"))

/* ------------------------------------------------------- synthetic data */

/* A per-repetition value: lognormal noise of coefficient of variation cv,
 * and now and then an outlier repetition in the bad direction (a noisy
 * neighbour), as real runs on a shared host have. */
static double outlier_rate = 0.05;

static double draw(struct hvb_rng *r, double truth, double cv, int better)
{
	double v = truth * exp(cv * hvb_rng_normal(r));

	if (hvb_rng_uniform(r) < outlier_rate) {
		double k = 1.1 + 0.4 * hvb_rng_uniform(r);
		v = better == HVB_LOWER_IS_BETTER ? v * k : v / k;
	}
	return v;
}

static void add_row(struct hvb_cmp_result *res, int m, int better, unsigned n, double truth,
		    double effect, double cv, struct hvb_rng *r)
{
	struct hvb_cmp_row *row;

	res->rows = realloc(res->rows, (res->n_rows + 1) * sizeof(*res->rows));
	row = &res->rows[res->n_rows++];
	memset(row, 0, sizeof(*row));
	row->runner = xstrdup("native");
	row->workload = xasprintf("synthetic/w%d", m);
	row->metric = xstrdup(better == HVB_LOWER_IS_BETTER ? "ns_per_op" : "bandwidth");
	row->unit = xstrdup(better == HVB_LOWER_IS_BETTER ? "ns" : "MB/s");
	row->better = better;
	/* as the engine's rows start: nothing computed yet */
	row->ratio = row->ci_lo = row->ci_hi = row->p = row->q = NAN;
	row->n_base = row->n_cand = n;
	row->base = xmalloc(n * sizeof(double));
	row->cand = xmalloc(n * sizeof(double));
	for (unsigned i = 0; i < n; i++) {
		row->base[i] = draw(r, truth, cv, better);
		row->cand[i] = draw(r, truth * (1 + effect), cv, better);
	}
}

static void eval_all(struct hvb_cmp_result *res, const struct hvb_cmp_opts *o)
{
	for (size_t i = 0; i < res->n_rows; i++)
		hvb_cmp_row_eval(&res->rows[i], o);
}

static bool flagged(const struct hvb_cmp_row *row)
{
	return row->verdict == HVB_V_REGRESSION || row->verdict == HVB_V_IMPROVEMENT;
}

/*
 * K comparisons of identical distributions, M metrics each (half lower-,
 * half higher-is-better, CV 1-3%, outliers), 10 repetitions per side.
 * Under the global null, BH's FDR is the probability of any flag, so the
 * per-comparison rate must stay <= alpha; the default threshold makes it
 * smaller still.
 */
static void test_false_positive_rate(void)
{
	enum { K = 500, M = 10, N = 10 };
	unsigned cmp_flag[2] = { 0 }, metric_flag[2] = { 0 }, raw_p = 0;
	struct hvb_cmp_opts o;
	struct hvb_rng r;

	hvb_cmp_opts_init(&o);
	o.iters = 1000; /* min p 1/1001: far below alpha/M */
	hvb_rng_seed(&r, 12345);
	for (int k = 0; k < K; k++) {
		struct hvb_cmp_result res = { 0 };
		for (int m = 0; m < M; m++)
			add_row(&res, m, m % 2 ? HVB_HIGHER_IS_BETTER : HVB_LOWER_IS_BETTER, N,
				100 + 50 * m, 0, 0.01 + 0.02 * hvb_rng_uniform(&r), &r);
		o.seed = (uint64_t)k;
		eval_all(&res, &o);
		for (size_t i = 0; i < res.n_rows; i++)
			raw_p += res.rows[i].p < o.alpha;
		for (int t = 0; t < 2; t++) {
			bool any = false;
			o.threshold = t ? 0.02 : 0;
			hvb_cmp_finish(&res, &o);
			for (size_t i = 0; i < res.n_rows; i++) {
				metric_flag[t] += flagged(&res.rows[i]);
				any |= flagged(&res.rows[i]);
			}
			cmp_flag[t] += any;
		}
		hvb_cmp_result_free(&res);
	}
	double margin = 3 * sqrt(0.05 * 0.95 / K);
	diag("identical distributions, %d comparisons x %d metrics, 10 reps, CV 1-3%%, 5%% "
	     "outlier reps:", K, M);
	diag("  raw p < 0.05: %.4f of metrics", (double)raw_p / (K * M));
	diag("  threshold 0%%: %.4f of metrics flagged, %.4f of comparisons with any flag",
	     (double)metric_flag[0] / (K * M), (double)cmp_flag[0] / K);
	diag("  threshold 2%%: %.4f of metrics flagged, %.4f of comparisons with any flag",
	     (double)metric_flag[1] / (K * M), (double)cmp_flag[1] / K);
	TAP_OK((double)raw_p / (K * M) <= 0.05 + 3 * sqrt(0.05 * 0.95 / (K * M)),
	       "unadjusted permutation p < alpha in <= alpha of identical metrics");
	TAP_OK((double)cmp_flag[0] / K <= 0.05 + margin,
	       "threshold 0: comparisons with any false flag <= alpha (+3 sigma)");
	TAP_OK((double)cmp_flag[1] / K <= 0.05 + margin,
	       "default threshold: comparisons with any false flag <= alpha (+3 sigma)");
}

/*
 * A 5% change on four metrics among six unchanged ones, 10 repetitions.  A
 * verdict needs the whole 95% interval beyond 2%, so the power is bounded
 * by the noise: at 1% CV it is ~100%; at 2% CV the median's interval is
 * about +-2.3% wide and ~75% of 5% changes clear it (a t interval on means
 * would give ~87%, the price of robustness to outlier repetitions).
 */
static void power_run(const char *label, double cv_lo, double cv_hi, double outliers,
		      double min_power)
{
	enum { K = 100, N = 10 };
	static const struct {
		int better;
		double effect;
		enum hvb_verdict want;
		const char *what;
	} cases[] = {
		{ HVB_LOWER_IS_BETTER, +0.05, HVB_V_REGRESSION, "5% more ns/op is a regression" },
		{ HVB_HIGHER_IS_BETTER, -0.05, HVB_V_REGRESSION, "5% less MB/s is a regression" },
		{ HVB_LOWER_IS_BETTER, -0.05, HVB_V_IMPROVEMENT, "5% less ns/op is an improvement" },
		{ HVB_HIGHER_IS_BETTER, +0.05, HVB_V_IMPROVEMENT, "5% more MB/s is an improvement" },
	};
	unsigned hit[4] = { 0 }, wrong_way = 0, null_flags = 0;
	struct hvb_cmp_opts o;
	struct hvb_rng r;
	char desc[160];

	hvb_cmp_opts_init(&o);
	o.iters = 1000;
	outlier_rate = outliers;
	hvb_rng_seed(&r, 777);
	for (int k = 0; k < K; k++) {
		struct hvb_cmp_result res = { 0 };
		for (int c = 0; c < 4; c++)
			add_row(&res, c, cases[c].better, N, 100, cases[c].effect,
				cv_lo + (cv_hi - cv_lo) * hvb_rng_uniform(&r), &r);
		for (int m = 4; m < 10; m++)
			add_row(&res, m, m % 2 ? HVB_HIGHER_IS_BETTER : HVB_LOWER_IS_BETTER, N, 100,
				0, cv_lo + (cv_hi - cv_lo) * hvb_rng_uniform(&r), &r);
		o.seed = (uint64_t)k;
		eval_all(&res, &o);
		hvb_cmp_finish(&res, &o);
		for (int c = 0; c < 4; c++) {
			hit[c] += res.rows[c].verdict == cases[c].want;
			wrong_way += flagged(&res.rows[c]) && res.rows[c].verdict != cases[c].want;
		}
		for (int m = 4; m < 10; m++)
			null_flags += flagged(&res.rows[m]);
		hvb_cmp_result_free(&res);
	}
	outlier_rate = 0.05;
	for (int c = 0; c < 4; c++) {
		snprintf(desc, sizeof(desc), "%s: %s in >= %.0f%% (%u of %d)", label, cases[c].what,
			 min_power * 100, hit[c], K);
		TAP_OK(hit[c] >= min_power * K, desc);
	}
	snprintf(desc, sizeof(desc), "%s: no change reported in the wrong direction", label);
	TAP_EQ_INT(wrong_way, 0, desc);
	snprintf(desc, sizeof(desc), "%s: unchanged metrics beside them stay quiet (%u of %d)",
		 label, null_flags, 6 * K);
	TAP_OK(null_flags <= 0.05 * 6 * K, desc);
}

static void test_power_and_direction(void)
{
	power_run("CV 1%", 0.01, 0.01, 0, 0.95);
	power_run("CV 1-2%, 5% outlier reps", 0.01, 0.02, 0.05, 0.70);
}

/* How the detection rate grows with the slowdown (CV 2%, with outliers). */
static void test_detection_curve(void)
{
	static const double effects[] = { 0.03, 0.04, 0.05, 0.06 };
	unsigned hit[ARRAY_SIZE(effects)] = { 0 };
	struct hvb_cmp_opts o;
	struct hvb_rng r;

	hvb_cmp_opts_init(&o);
	o.iters = 1000;
	hvb_rng_seed(&r, 99);
	for (size_t e = 0; e < ARRAY_SIZE(effects); e++) {
		for (int k = 0; k < 100; k++) {
			struct hvb_cmp_result res = { 0 };
			add_row(&res, 0, HVB_LOWER_IS_BETTER, 10, 100, effects[e], 0.02, &r);
			o.seed = (uint64_t)k;
			eval_all(&res, &o);
			hvb_cmp_finish(&res, &o);
			hit[e] += res.rows[0].verdict == HVB_V_REGRESSION;
			hvb_cmp_result_free(&res);
		}
		diag("slowdown %.1f%%, CV 2%%, 10 reps, threshold 2%%: flagged in %u of 100",
		     effects[e] * 100, hit[e]);
	}
	TAP_OK(hit[0] < hit[2] && hit[2] <= hit[3] && hit[3] >= 70,
	       "detection grows with the slowdown: 6% at CV 2% is flagged in >= 70%");
}

/*
 * Paired rounds on a host whose speed swings from round to round (log sd
 * 0.2, the same for both runs of a round), 1-3% noise of their own.
 * Identical truth: flags stay <= alpha.  A 5% slowdown: the paired analysis
 * finds it; the same values taken as independent samples hide it.
 */
static void make_pairs(struct hvb_cmp_result *res, int m, int better, double effect, double cv,
		       struct hvb_rng *r, bool paired)
{
	struct hvb_cmp_row *row;

	add_row(res, m, better, 10, 100, effect, cv, r);
	row = &res->rows[res->n_rows - 1];
	for (unsigned i = 0; i < row->n_base; i++) {
		double drift = exp(0.2 * hvb_rng_normal(r));
		row->base[i] *= drift;
		row->cand[i] *= drift;
	}
	row->paired = paired;
}

static void test_paired(void)
{
	enum { K = 300, M = 10 };
	unsigned any_flag = 0, hit = 0, hit_unpaired = 0, wrong = 0;
	struct hvb_cmp_opts o;
	struct hvb_rng r;

	hvb_cmp_opts_init(&o);
	o.iters = 1000;
	outlier_rate = 0;
	hvb_rng_seed(&r, 4242);
	for (int k = 0; k < K; k++) {
		struct hvb_cmp_result res = { 0 };
		bool any = false;
		for (int m = 0; m < M; m++)
			make_pairs(&res, m, m % 2 ? HVB_HIGHER_IS_BETTER : HVB_LOWER_IS_BETTER, 0,
				   0.01 + 0.02 * hvb_rng_uniform(&r), &r, true);
		o.seed = (uint64_t)k;
		o.threshold = 0;
		eval_all(&res, &o);
		hvb_cmp_finish(&res, &o);
		for (size_t i = 0; i < res.n_rows; i++)
			any |= flagged(&res.rows[i]);
		any_flag += any;
		hvb_cmp_result_free(&res);
	}
	o.threshold = 0.02;
	for (int k = 0; k < 100; k++) {
		for (int paired = 0; paired < 2; paired++) {
			struct hvb_cmp_result res = { 0 };
			struct hvb_rng rr = r; /* the same values both ways */
			make_pairs(&res, 0, HVB_LOWER_IS_BETTER, 0.05, 0.01, &rr, paired);
			make_pairs(&res, 1, HVB_HIGHER_IS_BETTER, -0.05, 0.01, &rr, paired);
			o.seed = (uint64_t)k;
			eval_all(&res, &o);
			hvb_cmp_finish(&res, &o);
			for (int i = 0; i < 2; i++) {
				bool reg = res.rows[i].verdict == HVB_V_REGRESSION;
				if (paired)
					hit += reg;
				else
					hit_unpaired += reg;
				wrong += res.rows[i].verdict == HVB_V_IMPROVEMENT;
			}
			hvb_cmp_result_free(&res);
			if (paired)
				r = rr;
		}
	}
	outlier_rate = 0.05;
	diag("paired, drifting host (log sd 0.2), threshold 0: %u of %d identical comparisons "
	     "x %d metrics with any flag",
	     any_flag, K, M);
	diag("paired, 5%% slowdown, 1%% noise, drift 0.2: flagged %u of 200; as independent "
	     "samples: %u of 200",
	     hit, hit_unpaired);
	TAP_OK(any_flag <= (0.05 + 3 * sqrt(0.05 * 0.95 / K)) * K,
	       "paired: comparisons with any false flag <= alpha (+3 sigma)");
	TAP_OK(hit >= 190, "paired: a 5% slowdown under large drift is flagged (>= 95%)");
	TAP_OK(hit_unpaired < hit / 2, "unpaired, the same drift hides most of it");
	TAP_EQ_INT(wrong, 0, "paired: never the wrong direction");
}

/* ------------------------------------------- orientation and counting */

/* Slowdown, > 1 is worse, whichever way the metric points. */
static void test_slowdown(void)
{
	struct hvb_cmp_row row = { .better = HVB_HIGHER_IS_BETTER, .ratio = 0.8,
				   .ci_lo = 0.75, .ci_hi = 0.9 };
	double s, lo, hi;

	TAP_OK(fabs(hvb_slowdown(1.25, HVB_LOWER_IS_BETTER) - 1.25) < 1e-12,
	       "lower is better: slowdown = cand/base");
	TAP_OK(fabs(hvb_slowdown(0.8, HVB_HIGHER_IS_BETTER) - 1.25) < 1e-12,
	       "higher is better, cand 20% lower: slowdown 1.25 (> 1, worse)");
	TAP_OK(isnan(hvb_slowdown(1.1, 0)), "no direction: no slowdown");
	TAP_OK(isnan(hvb_slowdown(NAN, HVB_LOWER_IS_BETTER)), "undefined ratio: no slowdown");
	hvb_cmp_row_slowdown(&row, &s, &lo, &hi);
	TAP_OK(fabs(s - 1.25) < 1e-12 && fabs(lo - 1 / 0.9) < 1e-12 && fabs(hi - 1 / 0.75) < 1e-12,
	       "higher is better: the interval is inverted and its ends swapped");
	row.ci_lo = row.ci_hi = NAN;
	hvb_cmp_row_slowdown(&row, &s, &lo, &hi);
	TAP_OK(isnan(lo) && isnan(hi), "no interval stays no interval");
}

static void rename_metric(struct hvb_cmp_result *res, const char *metric)
{
	struct hvb_cmp_row *row = &res->rows[res->n_rows - 1];

	free(row->metric);
	row->metric = xstrdup(metric);
}

/*
 * One slowdown seen by two metrics of a workload is one regressed
 * workload; a workload with a regressed and an improved metric is a
 * regression; too few repetitions give no interval.
 */
static void test_workload_counting(void)
{
	struct hvb_cmp_result res = { 0 };
	struct hvb_cmp_opts o;
	struct hvb_rng r;
	const struct hvb_cmp_workload *w;

	hvb_cmp_opts_init(&o);
	o.iters = 2000;
	hvb_rng_seed(&r, 77);
	outlier_rate = 0;
	add_row(&res, 0, HVB_LOWER_IS_BETTER, 10, 100, 0.2, 0.005, &r);
	add_row(&res, 0, HVB_LOWER_IS_BETTER, 10, 200, 0.2, 0.005, &r);
	rename_metric(&res, "cycles_per_op");
	add_row(&res, 1, HVB_HIGHER_IS_BETTER, 10, 9000, 0.2, 0.005, &r);
	add_row(&res, 2, HVB_LOWER_IS_BETTER, 10, 100, -0.2, 0.005, &r);
	add_row(&res, 2, HVB_HIGHER_IS_BETTER, 10, 9000, -0.2, 0.005, &r);
	add_row(&res, 3, HVB_LOWER_IS_BETTER, 2, 100, 0.2, 0.005, &r);
	outlier_rate = 0.05;
	eval_all(&res, &o);
	hvb_cmp_finish(&res, &o);
	TAP_EQ_INT(res.count[HVB_V_REGRESSION], 3, "per metric: 3 regressed rows");
	TAP_EQ_INT(res.n_workloads, 4, "4 workloads");
	TAP_EQ_INT(res.wcount[HVB_V_REGRESSION], 2,
		   "per workload: 2 regressions (w0 counted once for two metrics)");
	TAP_EQ_INT(res.wcount[HVB_V_IMPROVEMENT], 1, "per workload: 1 improvement");
	TAP_EQ_INT(res.wcount[HVB_V_INCONCLUSIVE], 1, "per workload: 1 inconclusive");
	w = &res.workloads[0];
	TAP_OK(!strcmp(w->workload, "synthetic/w0") && w->verdict == HVB_V_REGRESSION &&
		       !strcmp(w->metrics, "ns_per_op, cycles_per_op"),
	       "w0: regression carried by ns_per_op and cycles_per_op");
	diag("w0 metrics: %s", w->metrics);
	w = &res.workloads[2];
	TAP_OK(w->verdict == HVB_V_REGRESSION && !strcmp(w->metrics, "bandwidth"),
	       "w2: a regressed and an improved metric = regression, by bandwidth");
	diag("w2 metrics: %s", w->metrics);
	TAP_EQ_INT(hvb_cmp_exit_status(&res), 1, "exit status 1 as before");
	TAP_EQ_INT(res.count[HVB_V_INCONCLUSIVE], 1, "per metric: the 2-repetition row inconclusive");
	TAP_EQ_INT(res.n_no_interval, 1, "the 2-repetition row is counted as without interval");
	TAP_OK(isnan(res.rows[5].ci_lo) && isnan(res.rows[5].ci_hi),
	       "2 repetitions (< min_reps 3): no interval");
	hvb_cmp_result_free(&res);
}

/* Two pairs, too few to test, still show the paired figure: pair ratios 2
 * and 1 give a median pair ratio of sqrt(2), while the medians 5.5 and 6
 * would imply 1.09. */
static void test_paired_figure(void)
{
	struct hvb_cmp_result res = { 0 };
	struct hvb_cmp_opts o;
	struct hvb_rng r;
	struct hvb_cmp_row *row;

	hvb_cmp_opts_init(&o);
	hvb_rng_seed(&r, 5);
	add_row(&res, 0, HVB_LOWER_IS_BETTER, 2, 100, 0, 0, &r);
	row = &res.rows[0];
	row->paired = true;
	row->base[0] = 1, row->cand[0] = 2;
	row->base[1] = 10, row->cand[1] = 10;
	eval_all(&res, &o);
	hvb_cmp_finish(&res, &o);
	TAP_OK(fabs(row->ratio - sqrt(2)) < 1e-12,
	       "paired, 2 pairs: the ratio is the median pair ratio, not the medians' quotient");
	TAP_OK(row->verdict == HVB_V_INCONCLUSIVE && isnan(row->ci_lo) && res.n_no_interval == 1,
	       "paired, 2 pairs: inconclusive, without an interval");
	row->base[1] = 0;
	free(row->why);
	row->why = NULL;
	eval_all(&res, &o);
	TAP_OK(isnan(row->ratio), "paired, a zero value: no ratio rather than another figure");
	hvb_cmp_result_free(&res);
}

/* ------------------------------------------------------------ end to end */

static char tmpdir[] = "/tmp/hvb-test-compare-XXXXXX";
static const char *hvbench;

struct spec {
	const char *workload, *metric, *unit;
	int better;
	double truth, cv;
};

/* A complete run directory <tmpdir>/<name>/r-<name> with `reps` repetitions of each
 * spec (values scaled by scale[i]), plus optional extra rows. */
static char *write_run(const char *name, const struct spec *s, size_t n, unsigned reps,
		       const double *scale, uint64_t seed,
		       void (*extra)(struct hvb_sink *), const char *status)
{
	char *parent = xasprintf("%s/%s", tmpdir, name), *dir, *id = xasprintf("r-%s", name);
	struct hvb_sink *sink;
	struct hvb_rng r;

	hvb_rng_seed(&r, seed);
	if (hvb_sink_open(&sink, parent, id)) /* a run id of its own, as every run has */
		abort();
	free(id);
	for (unsigned rep = 0; rep < reps; rep++)
		for (size_t i = 0; i < n; i++)
			hvb_sink_sample(sink, "native",
					&(struct hvb_sample_out){
						.workload = s[i].workload, .metric = s[i].metric,
						.unit = s[i].unit, .better = s[i].better, .rep = rep,
						.value = s[i].truth * (scale ? scale[i] : 1) *
							 exp(s[i].cv * hvb_rng_normal(&r)) });
	if (extra)
		extra(sink);
	dir = xstrdup(hvb_sink_dir(sink));
	if (status) {
		hvb_sink_close(sink, status);
	} else {
		hvb_sink_flush(sink);
		_exit(0); /* a writer that died: status=running, *.partial */
	}
	free(parent);
	return dir;
}

/* The same, by a child process that dies before closing the run. */
static char *write_dead_run(const char *name, const struct spec *s, size_t n, unsigned reps)
{
	pid_t pid = fork();

	if (pid == 0)
		write_run(name, s, n, reps, NULL, 9, NULL, NULL);
	waitpid(pid, NULL, 0);
	return xasprintf("%s/%s/r-%s", tmpdir, name, name);
}

/* Append text to file name of run directory dir. */
static void append_text(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "a");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
	free(path);
}

static void append_line(const char *dir, const char *name, const char *line)
{
	char *text = xasprintf("%s\n", line);

	append_text(dir, name, text);
	free(text);
}

/* Run hvbench with args (a shell word list); stdout+stderr to *out. */
static int run_hvbench(const char *args, char **out)
{
	char *log = xasprintf("%s/out.txt", tmpdir);
	char *cmd = xasprintf("%s %s >%s 2>&1", hvbench, args, log);
	int st = system(cmd);
	FILE *f = fopen(log, "r");
	size_t len = 0;

	*out = xcalloc(1, 1 << 16);
	if (f) {
		len = fread(*out, 1, (1 << 16) - 1, f);
		fclose(f);
	}
	(*out)[len] = '\0';
	free(cmd);
	free(log);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const struct spec base_specs[] = {
	{ "micro/syscall", "ns_per_op", "ns", HVB_LOWER_IS_BETTER, 120, 0.015 },
	{ "micro/syscall", "cycles_per_op", "cycles", HVB_LOWER_IS_BETTER, 250, 0.015 },
	{ "mem/stream-copy", "bandwidth", "MB/s", HVB_HIGHER_IS_BETTER, 9000, 0.015 },
	{ "micro/syscall", "ns_per_op.p99", "ns", HVB_LOWER_IS_BETTER, 130, 0.03 },
};

static void extra_skipped(struct hvb_sink *s)
{
	hvb_sink_cell_status(s, "native", "micro/cpuid", HVB_ST_SKIPPED, "needs a VM");
}

static void extra_failed(struct hvb_sink *s)
{
	hvb_sink_cell_status(s, "native", "mem/stream-copy", HVB_ST_FAILED, "child killed by SIGSEGV");
}

static void extra_interrupted(struct hvb_sink *s)
{
	hvb_sink_meta(s, "interrupted_at", "rep 4, runner native");
}

static void extra_write_failed(struct hvb_sink *s)
{
	hvb_sink_meta(s, "failed_reason",
		      "cannot write samples.csv.partial: No space left on device (errno 28)");
}

static bool has(const char *out, const char *s)
{
	return strstr(out, s) != NULL;
}

/* The table line of a workload/metric (first match), or "". */
static const char *line_of(const char *out, const char *workload, const char *metric)
{
	static char line[512];
	const char *p = out;

	while ((p = strstr(p, workload))) {
		const char *b = p, *e = strchr(p, '\n');
		while (b > out && b[-1] != '\n')
			b--;
		size_t len = e ? (size_t)(e - b) : strlen(b);
		snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) ? len : sizeof(line) - 1), b);
		if (strstr(line, metric) && !strstr(line, ".p99"))
			return line;
		p = e ? e : p + strlen(p);
	}
	return "";
}

/* A check whose failure shows the command's output. */
static void dump(const char *out)
{
	for (const char *p = out; *p;) {
		const char *e = strchr(p, '\n');
		int len = e ? (int)(e - p) : (int)strlen(p);
		printf("#   | %.*s\n", len, p);
		p += len + (e ? 1 : 0);
	}
}

#define CHECK_OUT(cond, desc)                                                                   \
	do {                                                                                   \
		if (!TAP_OK(cond, desc))                                                       \
			dump(out);                                                             \
	} while (0)
#define CHECK_RC(rc, want, desc)                                                                \
	do {                                                                                   \
		if (!TAP_EQ_INT(rc, want, desc))                                               \
			dump(out);                                                             \
	} while (0)

/* The first number after "key": in out, NAN if none. */
static double json_number(const char *out, const char *key)
{
	char *k = xasprintf("\"%s\": ", key);
	const char *p = strstr(out, k);
	double v = NAN;

	if (p)
		v = strtod(p + strlen(k), NULL);
	free(k);
	return v;
}

/* The slowdown, the missing interval, the paired basis and the per-workload
 * count, in every output format. */
static void test_numbers_end_to_end(const char *base, const char *slower, const char *few,
				    const char *h1, const char *h2, const char *h3,
				    const char *h4)
{
	const double slow_bw[] = { 1, 1, 0.9, 1 };
	char *bwslow = write_run("bwslow", base_specs, ARRAY_SIZE(base_specs), 10, slow_bw, 21,
				 NULL, "complete");
	char *args, *out;
	int rc;

	args = xasprintf("compare %s %s", base, bwslow);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 1 && has(line_of(out, "mem/stream-copy", "bandwidth"), " 1.1") &&
			  has(line_of(out, "mem/stream-copy", "bandwidth"), "× slower") &&
			  has(line_of(out, "mem/stream-copy", "bandwidth"), "regression"),
		  "10% less MB/s: slowdown 1.1x× slower in the table");
	free(args), free(out);
	args = xasprintf("compare --format csv -w mem/stream-copy %s %s", base, bwslow);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 1 && has(out, ",slowdown,slowdown_lo,slowdown_hi,workload_verdict") &&
			  has(out, "mem/stream-copy,bandwidth,MB/s,higher,10,10,") &&
			  has(out, ",0,1.") && has(out, ",regression\n"),
		  "csv: raw ratio kept, slowdown > 1 added");
	free(args), free(out);
	args = xasprintf("compare --format json -w mem/stream-copy %s %s", base, bwslow);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 1 && json_number(out, "ratio") < 0.95 &&
			  json_number(out, "slowdown") > 1.05 && has(out, "\"slowdown_ci\": [1.") &&
			  has(out, "\"workload_summary\": {\"regression\": 1"),
		  "json: ratio cand/base < 1, slowdown > 1 and its interval");
	free(args), free(out);
	args = xasprintf("compare --format markdown %s %s", base, bwslow);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 1 && has(out, "**slowdown: > 1 is worse**") &&
			  has(out, "| slowdown | 95% CI of slowdown |") && has(out, "× slower"),
		  "markdown: the convention above the table, slowdown column");
	free(args), free(out);

	/* ns_per_op and cycles_per_op of micro/syscall: one workload */
	args = xasprintf("compare %s %s", base, slower);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 1 &&
			  has(out, "1 workload(s) regressed: native micro/syscall "
				   "(cycles_per_op, ns_per_op)\n") &&
			  has(out, "per metric: 2 regression(s)"),
		  "two metrics of one workload regressed = 1 workload, naming both");
	free(args), free(out);

	args = xasprintf("compare %s %s", base, few);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 0 && has(line_of(out, "micro/syscall", "ns_per_op"), "  -  ") &&
			  has(out, "no interval for 3 row(s): fewer than --min-reps 3 "
				   "repetitions per side"),
		  "2 repetitions: no interval in the table, the reason once");
	free(args), free(out);
	args = xasprintf("compare --format json %s %s", base, few);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 0 && has(out, "\"ci\": [null, null], \"slowdown\": ") &&
			  has(out, "\"slowdown_ci\": [null, null]") &&
			  !has(out, "\"slowdown_ci\": [0") && !has(out, "\"slowdown_ci\": [1") &&
			  has(out, "\"rows_without_interval\": 3"),
		  "2 repetitions: json intervals are null");
	free(args), free(out);
	args = xasprintf("compare --format csv %s %s", base, few);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 0 && has(out, "no interval for 3 row(s)") &&
			  has(out, ",,,,,,inconclusive,\"10 repetition(s) in base, 2 in cand") &&
			  has(out, "per side\",,0,0.9839760613197841,,,inconclusive"),
		  "csv: no slowdown interval for 2 repetitions, the reason on stderr");
	free(args), free(out);
	args = xasprintf("compare --min-reps 2 %s %s", base, few);
	rc = run_hvbench(args, &out);
	CHECK_OUT(!has(out, "no interval for") &&
			  has(line_of(out, "micro/syscall", "ns_per_op"), "["),
		  "--min-reps 2: the same rows get an interval (the check can fail)");
	free(args), free(out);

	args = xasprintf("compare --paired --base %s,%s --cand %s,%s", h1, h2, h3, h4);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 0 && has(out, "pairs  base median*  cand median*  median pair slowdown") &&
			  has(out, "unpaired, for reference: their quotient is not the paired"),
		  "--paired: the slowdown is labelled as the median pair slowdown, the medians "
		  "as unpaired references");
	free(args), free(out);
	free(bwslow);
}

static void test_end_to_end(void)
{
	const size_t n = ARRAY_SIZE(base_specs);
	const double slow[] = { 1.10, 1.10, 1.0, 1.0 }, fast_bw[] = { 1, 1, 1.10, 1 };
	char *base = write_run("base", base_specs, n, 10, NULL, 1, extra_skipped, "complete");
	char *same = write_run("same", base_specs, n, 10, NULL, 2, extra_skipped, "complete");
	char *slower = write_run("slower", base_specs, n, 10, slow, 3, NULL, "complete");
	char *faster = write_run("faster", base_specs, n, 10, fast_bw, 4, NULL, "complete");
	char *half1 = write_run("half1", base_specs, n, 5, NULL, 5, NULL, "complete");
	char *half2 = write_run("half2", base_specs, n, 5, NULL, 6, NULL, "complete");
	char *few = write_run("few", base_specs, n, 2, NULL, 7, NULL, "complete");
	char *failed = write_run("failed", base_specs, 2, 10, NULL, 8, extra_failed, "complete");
	char *died = write_dead_run("died", base_specs, n, 10);
	char *intr = write_run("intr", base_specs, n, 4, NULL, 11, extra_interrupted, "interrupted");
	char *dup = write_run("dup", base_specs, n, 10, NULL, 12, NULL, "complete");
	char *few3a = write_run("few3a", base_specs, n, 3, NULL, 13, NULL, "complete");
	char *few3b = write_run("few3b", base_specs, n, 3, slow, 14, NULL, "complete");
	char *half3 = write_run("half3", base_specs, n, 5, NULL, 15, NULL, "complete");
	char *half4 = write_run("half4", base_specs, n, 5, NULL, 16, NULL, "complete");
	char *wfail = write_run("wfail", base_specs, n, 4, NULL, 17, extra_write_failed, "failed");
	struct spec us[ARRAY_SIZE(base_specs)];
	char *args, *out;
	int rc;

	memcpy(us, base_specs, sizeof(us));
	us[0].unit = "us";
	char *units = write_run("units", us, n, 10, NULL, 10, NULL, "complete");

	args = xasprintf("compare %s %s", base, same);
	rc = run_hvbench(args, &out);
	CHECK_RC(rc, 0, "identical distributions: exit 0");
	CHECK_OUT(has(out, "0 regression(s), 0 improvement(s), 3 no change"),
	       "identical distributions: 3 primary metrics, no change");
	CHECK_OUT(has(out, "0 workload(s) regressed\n") && has(out, "2 workload(s) no change"),
		  "... counted per workload: 2 workloads, no change");
	CHECK_OUT(has(out, "slowdown: > 1 is worse") && !has(out, "no interval for"),
		  "the table states the slowdown convention; every row has an interval");
	CHECK_OUT(!has(out, "ns_per_op.p99  "), "the .p99 metric is left out by default");
	CHECK_OUT(has(out, "1 more metric name(s) not compared"), "and the summary says so");
	CHECK_OUT(has(out, "both: native micro/cpuid: skipped: needs a VM"),
	       "a cell skipped on both sides is listed once, with its reason");
	free(args), free(out);

	args = xasprintf("compare %s %s", base, slower);
	rc = run_hvbench(args, &out);
	CHECK_RC(rc, 1, "10% slower: exit 1");
	CHECK_OUT(has(line_of(out, "micro/syscall", "ns_per_op"), "regression"),
	       "10% more ns/op: regression");
	CHECK_OUT(has(line_of(out, "mem/stream-copy", "bandwidth"), "no change"),
	       "unchanged bandwidth: no change");
	free(args), free(out);

	args = xasprintf("compare %s %s", base, faster);
	rc = run_hvbench(args, &out);
	CHECK_RC(rc, 0, "10% more bandwidth: exit 0");
	CHECK_OUT(has(line_of(out, "mem/stream-copy", "bandwidth"), "improvement"),
	       "10% more MB/s: improvement (higher is better)");
	free(args), free(out);

	args = xasprintf("compare %s %s", faster, base);
	rc = run_hvbench(args, &out);
	CHECK_RC(rc, 1, "10% less bandwidth: exit 1");
	CHECK_OUT(has(line_of(out, "mem/stream-copy", "bandwidth"), "regression"),
	       "10% less MB/s: regression");
	free(args), free(out);

	args = xasprintf("compare %s %s", slower, base);
	rc = run_hvbench(args, &out);
	CHECK_RC(rc, 0, "10% faster: exit 0, never a regression");
	CHECK_OUT(has(line_of(out, "micro/syscall", "ns_per_op"), "improvement"),
	       "10% less ns/op: improvement");
	free(args), free(out);

	args = xasprintf("compare %s %s", base, units);
	rc = run_hvbench(args, &out);
	CHECK_RC(rc, 2, "mismatched units: exit 2");
	CHECK_OUT(has(out, "native micro/syscall ns_per_op") && has(out, "'us'"),
	       "the message names the key and both units");
	free(args), free(out);

	args = xasprintf("compare %s %s", base, failed);
	rc = run_hvbench(args, &out);
	CHECK_RC(rc, 1, "a cell failed in cand that base measured: exit 1");
	CHECK_OUT(has(out, "only in base") && has(out, "failed in cand: child killed by SIGSEGV"),
	       "the missing metric is listed with the cand's reason");
	free(args), free(out);

	args = xasprintf("compare %s %s", failed, base);
	rc = run_hvbench(args, &out);
	CHECK_RC(rc, 0, "a metric new in cand: exit 0");
	CHECK_OUT(has(line_of(out, "mem/stream-copy", "bandwidth"), "only in cand"),
	       "the new metric is listed as only in cand");
	free(args), free(out);

	args = xasprintf("compare --base %s,%s --cand %s", half1, half2, same);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 0 && has(line_of(out, "micro/syscall", "ns_per_op"), "10/10"),
	       "two 5-repetition directories pool into 10 repetitions");
	free(args), free(out);

	append_line(dup, "samples.csv", "r-dup,native,micro/syscall,ns_per_op,ns,lower,3,1,ok,");
	args = xasprintf("compare %s %s", base, dup);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 2 && has(out, "/dup/r-dup/samples.csv:42: duplicate row native micro/syscall "
				      "ns_per_op rep 3 (first at line 14)"),
		  "a repetition written twice: exit 2, naming the file, line and key");
	free(args), free(out);

	/* A run given twice would be pooled with itself: 3 vs 3 repetitions
	 * (inconclusive: the smallest p is 0.1) would pass for 9 vs 9. */
	args = xasprintf("compare --base %s,%s,%s --cand %s,%s,%s", few3a, few3a, few3a, few3b,
			 few3b, few3b);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 2 && has(out, "are the same directory") && has(out, "more than once") &&
			  !has(out, "regression"),
		  "a directory given more than once: exit 2, not a pooled verdict");
	free(args), free(out);
	args = xasprintf("compare --base %s,%s/../r-few3a --cand %s", few3a, few3a, few3b);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 2 && has(out, "are the same directory"),
		  "... also when spelled differently (by real path)");
	free(args), free(out);
	char *copy = xasprintf("%s/copy/r-few3a", tmpdir);
	args = xasprintf("mkdir -p %s/copy && cp -r %s %s", tmpdir, few3a, copy);
	if (system(args))
		diag("cannot copy %s", few3a);
	free(args);
	args = xasprintf("compare --base %s,%s --cand %s", few3a, copy, few3b);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 2 && has(out, "hold the same run (run_id r-few3a") && has(out, copy) &&
			  has(out, few3a),
		  "a copy of a directory (same run_id): exit 2, naming both");
	free(args), free(out);
	args = xasprintf("compare %s %s", few3a, few3a);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 2 && has(out, "are the same directory"),
		  "the same run as base and cand: exit 2");
	free(args), free(out), free(copy);

	args = xasprintf("compare %s %s", few, same);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 0 && has(line_of(out, "micro/syscall", "ns_per_op"), "inconclusive") &&
		       has(out, "need at least 3 per side"),
	       "2 repetitions: inconclusive, and it says why");
	free(args), free(out);

	args = xasprintf("compare %s %s", base, died);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 2 && has(out, "--allow-partial"), "an incomplete run is refused (exit 2)");
	free(args), free(out);
	args = xasprintf("compare --allow-partial %s %s", base, died);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 0 && has(out, "PARTIAL comparison (--allow-partial): cand ") &&
			  has(out, "/died/r-died is running"),
		  "--allow-partial reads it and says so");
	free(args), free(out);

	/* A killed writer can leave the last row of a .partial file half written:
	 * the damage FORMAT.md anticipates, tolerated with a warning. */
	append_text(died, "samples.csv.partial", "r-died,native,micro/syscall,ns_per_op,ns,lo");
	args = xasprintf("compare --allow-partial %s %s", base, died);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 0 && has(out, "/died/r-died/samples.csv.partial: dropped a torn last row at "
				      "line 42") &&
			  has(line_of(out, "micro/syscall", "ns_per_op"), "10/10"),
		  "--allow-partial: a torn last row of samples.csv.partial is dropped, and said");
	free(args), free(out);
	args = xasprintf("compare %s %s", base, died);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 2 && has(out, "--allow-partial"), "... and without it still refused");
	free(args), free(out);

	/* Interrupted runs too, as `hvbench report` refuses them. */
	args = xasprintf("compare %s %s", base, intr);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 2 && has(out, "status is 'interrupted' at rep 4, runner native") &&
			  has(out, "pass --allow-partial"),
		  "an interrupted run is refused (exit 2), saying where it stopped");
	free(args), free(out);
	args = xasprintf("compare --allow-partial %s %s", intr, base);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 0 && has(out, "PARTIAL comparison (--allow-partial): base ") &&
			  has(out, "/intr/r-intr is interrupted at rep 4, runner native") &&
			  has(line_of(out, "micro/syscall", "ns_per_op"), "4/10"),
		  "--allow-partial: the table says PARTIAL and compares the 4 repetitions held");
	free(args), free(out);
	args = xasprintf("compare --allow-partial --format json %s %s", base, intr);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 0 && has(out, "\"partial\": [{\"side\": \"cand\", \"dir\": ") &&
			  has(out, "\"status\": \"interrupted\", \"interrupted_at\": \"rep 4, "),
		  "--allow-partial --format json lists the partial run");
	free(args), free(out);
	args = xasprintf("compare --allow-partial --format markdown %s %s", base, intr);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 0 && has(out, "**PARTIAL comparison (--allow-partial): cand "),
		  "--allow-partial --format markdown says so in bold");
	free(args), free(out);
	/* A run stopped by a failed write (status=failed, data in *.partial). */
	args = xasprintf("compare %s %s", base, wfail);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 2 && has(out, "status=failed: cannot write samples.csv.partial: No space") &&
			  has(out, "--allow-partial"),
		  "a run whose writes failed is refused (exit 2), saying why");
	free(args), free(out);
	args = xasprintf("compare --allow-partial %s %s", base, wfail);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 0 && has(out, "/wfail/r-wfail is failed") &&
			  has(line_of(out, "micro/syscall", "ns_per_op"), "10/4"),
		  "--allow-partial reads its *.partial rows and says it is partial");
	free(args), free(out);
	args = xasprintf("compare --allow-partial --format json %s %s", base, same);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 0 && has(out, "\"partial\": []") && !has(out, "PARTIAL"),
		  "complete runs: nothing said about partial runs, even with --allow-partial");
	free(args), free(out);

	args = xasprintf("compare --metrics '*' --format csv %s %s", base, slower);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 1 && has(out, "runner,workload,metric,unit,better,n_base,n_cand") &&
		       has(out, "ns_per_op.p99,ns,lower,10,10"),
	       "--format csv with --metrics '*' includes the percentiles");
	free(args), free(out);

	args = xasprintf("compare --format json %s %s", base, slower);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 1 && has(out, "\"verdict\": \"regression\"") &&
		       has(out, "\"exit_status\": 1"),
	       "--format json carries verdicts and the exit status");
	free(args), free(out);

	args = xasprintf("compare --format markdown %s %s", base, slower);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 1 && has(out, "| runner | workload |") && has(out, "**regression**"),
	       "--format markdown is a table with the verdict in bold");
	free(args), free(out);

	args = xasprintf("compare --paired --base %s,%s --cand %s,%s", half1, half2, half3,
			 half4);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 0 && has(line_of(out, "micro/syscall", "ns_per_op"), "10 pairs"),
		  "--paired pairs the i-th directories' repetitions");
	free(args), free(out);
	args = xasprintf("compare --paired --base %s,%s --cand %s", half1, half2, same);
	rc = run_hvbench(args, &out);
	CHECK_OUT(rc == 2 && has(out, "give as many of each"),
		  "--paired with unequal directory counts: exit 2, says why");
	free(args), free(out);

	test_numbers_end_to_end(base, slower, few, half1, half2, half3, half4);

	args = xasprintf("compare --format yaml %s %s", base, same);
	TAP_EQ_INT(run_hvbench(args, &out), 2, "an unknown format: exit 2");
	free(args), free(out);
	args = xasprintf("compare %s", base);
	TAP_EQ_INT(run_hvbench(args, &out), 2, "one directory only: exit 2");
	free(args), free(out);
	args = xasprintf("compare %s %s/nonexistent", base, tmpdir);
	TAP_EQ_INT(run_hvbench(args, &out), 2, "a missing directory: exit 2");
	free(args), free(out);

	free(base), free(same), free(slower), free(faster), free(half1), free(half2);
	free(few), free(failed), free(died), free(intr), free(units), free(dup), free(wfail);
	free(few3a), free(few3b), free(half3), free(half4);
}

int main(void)
{
	test_false_positive_rate();
	test_power_and_direction();
	test_detection_curve();
	test_paired();
	test_slowdown();
	test_workload_counting();
	test_paired_figure();
	hvbench = getenv("HVBENCH");
	if (!hvbench || access(hvbench, X_OK)) {
		TAP_SKIP("HVBENCH is not set to the hvbench binary (run through tests/run)");
	} else if (!mkdtemp(tmpdir)) {
		TAP_OK(false, "create a temporary directory");
	} else {
		test_end_to_end();
		char *rm = xasprintf("rm -rf %s", tmpdir);
		if (system(rm))
			diag("could not remove %s", tmpdir);
		free(rm);
	}
	return tap_done();
}
