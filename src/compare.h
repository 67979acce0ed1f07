/*
 * Comparison of two sets of result directories (base and candidate): the
 * engine behind `hvbench compare` and `hvbench ab`.
 *
 * Per (runner, workload, metric) measured on both sides, the unit is the
 * per-repetition value (one per repetition of every directory of a side,
 * pooled).  The effect is the ratio of medians cand/base with a percentile
 * bootstrap confidence interval; significance is a two-sided permutation
 * test, adjusted for the number of metrics with Benjamini-Hochberg.  A
 * verdict needs both: q < alpha and an interval beyond the minimum effect
 * (threshold) in one direction; the direction (`better`) decides whether
 * that is a regression or an improvement.
 *
 * Paired (rounds of `hvbench ab`): the i-th base directory and the i-th
 * cand directory ran back to back, so their repetitions share the host's
 * state at that time.  The unit is then the pair's log ratio
 * log(cand/base): the effect is the median pair ratio, its interval a
 * bootstrap of the pairs, p a sign-flip (Wilcoxon signed-rank) test.  Drift
 * common to both sides of a round cancels out.
 */
#ifndef HVB_COMPARE_H
#define HVB_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Metrics compared unless --metrics says otherwise: the per-repetition
 * primary metrics (not the within-repetition .pNN percentiles). */
#define HVB_CMP_DEFAULT_METRICS "ns_per_op,cycles_per_op,bandwidth,ops_per_s,boot_ms"

struct hvb_thresholds;
struct hvb_cmp_param;

struct hvb_cmp_opts {
	const char *metrics;   /* comma-separated globs; NULL = the default list */
	const char *runners;   /* globs; NULL = all */
	const char *workloads; /* globs; NULL = all (boot is in any case, see no_boot) */
	bool no_boot;          /* leave out the boot rows (boot_ms) that --workload keeps */
	double threshold;      /* minimum effect, fraction (0.02 = 2%) */
	double alpha;          /* FDR level for q */
	double confidence;     /* of the bootstrap interval, e.g. 0.95 */
	unsigned iters;        /* bootstrap resamples and Monte Carlo permutations */
	uint64_t max_exact;    /* enumerate permutations when there are at most this many */
	uint64_t seed;
	unsigned min_reps;     /* fewer per side = inconclusive */
	bool allow_partial;    /* accept runs that did not complete (status running or
				* interrupted); the result lists them (incomplete) */
	bool paired;           /* the i-th base and cand directories are one round */
	/* Runner against runner: base rows of base_runner against cand rows of
	 * cand_runner (both set, or neither), keyed "base_runner->cand_runner".
	 * The same run may then stand on both sides (one run of kvm and
	 * xen-pvh); each side still refuses a run given twice. */
	const char *base_runner, *cand_runner;
	/* A thresholds file (thresholds.h): per-metric minimum effects, the
	 * first matching line's; threshold where none matches.  NULL: none. */
	const char *thresholds;
	/* Gate mode (compare_gate.h): a gated metric that cannot be judged
	 * fails the gate (HVB_EXIT_INCONCLUSIVE).  gate_why says why the mode
	 * is what it is ("--gate", "CI=true in the environment", ...). */
	bool gate;
	const char *gate_why;
	/* Ratio to a reference runner (e.g. "native"): every other runner's
	 * value of a (workload, metric) is divided by this runner's value of
	 * the same repetition of the same run (the runners of a run are
	 * interleaved repetition by repetition, so the two shared the host's
	 * state), or by the median of its repetitions in that run when it
	 * lacks that repetition.  The rows compare those ratios (unit
	 * "ratio", direction kept); the reference's own rows are not
	 * compared.  NULL: compare the values themselves. */
	const char *ratio_to;
	/* The sides differ in workload parameters (param.* in meta.csv) by
	 * design: `hvbench ab`, whose B side may inject a change with
	 * --param.  The output still names them; the verdicts stand, gate
	 * mode too.  false (compare): in gate mode a workload whose
	 * parameters differ is not comparable (see struct hvb_cmp_row). */
	bool params_expected;
};

/* Defaults: 2%, alpha 0.05, 95%, 10000 iterations, exact up to 20000,
 * seed 1, at least 3 repetitions per side. */
void hvb_cmp_opts_init(struct hvb_cmp_opts *o);

/* Whether rows of workload are compared: boot (boot_ms) unless no_boot,
 * any other workload when it matches the workloads globs. */
bool hvb_cmp_workload_selected(const struct hvb_cmp_opts *o, const char *workload);

enum hvb_verdict {
	HVB_V_NO_CHANGE,
	HVB_V_REGRESSION,
	HVB_V_IMPROVEMENT,
	HVB_V_INCONCLUSIVE, /* too few repetitions, no direction, ratio undefined */
	HVB_V_ONLY_BASE,    /* measured in base only (why says what cand has) */
	HVB_V_ONLY_CAND,
};

const char *hvb_verdict_name(enum hvb_verdict v);

struct hvb_cmp_row {
	char *runner, *workload, *metric, *unit;
	int better;
	size_t n_base, n_cand;  /* repetitions with a value */
	double *base, *cand;    /* the per-repetition values */
	double med_base, med_cand;
	double ratio;           /* med_cand / med_base; NAN if undefined */
	double ci_lo, ci_hi;    /* of the ratio; NAN if not computed */
	double p, q;            /* NAN when not tested */
	bool exact;             /* p from full enumeration */
	bool paired;            /* base[i] and cand[i] are one pair (see below) */
	size_t n_unpaired;      /* values left out for want of a partner */
	enum hvb_verdict verdict;
	char *why;              /* reason for inconclusive / one-sided rows, else NULL */
	double threshold;       /* the minimum effect the verdict used, fraction */
	long threshold_line;    /* its line in the thresholds file, 0: the default */
	/* The workload ran with different parameters in base and cand
	 * ("param.crc32c.passes: base '1', cand '4'"), else NULL: the figures
	 * measure the workload's change, not the hypervisor's.  In gate mode
	 * (without params_expected) the row is then not_comparable: verdict
	 * inconclusive, why "not comparable: ...", and the gate cannot pass. */
	char *params;
	bool not_comparable;
};

/*
 * The suite's one orientation of a change: the slowdown, > 1 is worse.
 * ratio is cand/base; for a lower-is-better metric (ns) the slowdown is
 * that ratio, for a higher-is-better one (MB/s, ops/s) its inverse
 * base/cand.  NAN for a metric without a direction or an undefined ratio.
 */
double hvb_slowdown(double ratio, int better);

/* A row's slowdown and its interval (NAN where the row has none). */
void hvb_cmp_row_slowdown(const struct hvb_cmp_row *row, double *s, double *lo, double *hi);

/*
 * The verdict of a (runner, workload): its metrics are not independent
 * (ns_per_op and cycles_per_op come from the same TSC, bandwidth from the
 * same time), so one slowdown is counted once.  A workload is a regression
 * if any of its metrics is, an improvement if one is and none regresses,
 * else the first of no change, inconclusive, only in base, only in cand
 * that one of its metrics has.
 */
struct hvb_cmp_workload {
	char *runner, *workload;
	enum hvb_verdict verdict;
	char *metrics; /* the metrics with that verdict, ", "-separated */
};

/* A cell or metric that produced no value on one side. */
struct hvb_cmp_gap {
	const char *side; /* "base", "cand" or "both" (same status and reason) */
	char *runner, *workload, *metric; /* metric "" for a whole cell */
	char *status, *note;
};

struct hvb_cmp_result {
	size_t n_rows;
	struct hvb_cmp_row *rows;
	size_t n_gaps;
	struct hvb_cmp_gap *gaps;
	size_t n_unselected;  /* distinct metrics left out by opts->metrics */
	unsigned count[HVB_V_ONLY_CAND + 1]; /* per metric row */
	size_t n_workloads;   /* per (runner, workload), in row order */
	struct hvb_cmp_workload *workloads;
	unsigned wcount[HVB_V_ONLY_CAND + 1];
	size_t n_no_interval; /* rows with fewer than min_reps per side: no interval */
	bool cand_failed;     /* a cell measured in base has failed rows in cand */
	size_t n_incomplete;  /* directories read with status != complete (allow_partial) */
	struct hvb_cmp_partial {
		const char *side; /* "base" or "cand" */
		char *dir, *status;
		char *where;      /* interrupted_at, or "" */
	} *incomplete;
	/* What a reader must know before trusting a verdict, one sentence
	 * each: e.g. mem/ rows of a runner ran with different page sizes
	 * (meta page_size) in base and cand. */
	size_t n_warnings;
	char **warnings;
	/* Workload parameters that differ between the sides (compare_context.h),
	 * each also in warnings and in its workload's rows (row->params). */
	size_t n_params;
	struct hvb_cmp_param *params;
	struct hvb_thresholds *thresholds; /* read from opts->thresholds, or NULL */
	size_t n_quick;       /* directories that are --quick runs (meta quick=1) */
	/* Gate mode: what keeps the gate from passing (compare_gate.c fills it). */
	struct hvb_cmp_gate {
		bool on;
		size_t n;
		struct hvb_cmp_gate_item {
			char *what; /* "kvm cpu/crc32c ns_per_op", or a directory */
			char *why;  /* the reason and what to do */
		} *items;
	} gate;
};

/*
 * Read the directories of both sides and compare them.  0 on success; on
 * invalid input (unreadable directory, an incomplete one without
 * o->allow_partial, a run given more than once on either side (the same
 * real path or the same run_id), a key whose unit or direction differs
 * between or within the sides, a repetition seen twice) -EINVAL or -errno
 * with a message naming the directories or the key in err.
 */
int hvb_cmp_dirs(const char *const *base, size_t n_base, const char *const *cand, size_t n_cand,
		 const struct hvb_cmp_opts *o, struct hvb_cmp_result *res, char *err,
		 size_t errlen);

/*
 * Statistics of one row whose values are set (row->base/cand, n_*): medians,
 * ratio, interval, p.  The random stream is derived from o->seed and the
 * row's key, so a row's numbers do not depend on which other rows exist.
 */
void hvb_cmp_row_eval(struct hvb_cmp_row *row, const struct hvb_cmp_opts *o);

/* After every row is evaluated: BH q-values over the tested rows, verdicts
 * and counts, per metric row and per workload. */
void hvb_cmp_finish(struct hvb_cmp_result *res, const struct hvb_cmp_opts *o);

/* Does name match one of the comma-separated globs (NULL: any name)? */
bool hvb_cmp_match_list(const char *globs, const char *name);

/* Exit status for a result: 1 if a regression (a workload with a regressed
 * metric, or a cell that failed in cand only), else, in gate mode,
 * HVB_EXIT_INCONCLUSIVE (3) if res->gate lists anything, else 0.  A
 * regression wins: it is a finding, whatever else could not be judged. */
int hvb_cmp_exit_status(const struct hvb_cmp_result *res);

void hvb_cmp_result_free(struct hvb_cmp_result *res);

#endif
