/*
 * The compare command's options and output, shared by `hvbench compare` and
 * `hvbench ab` (which runs both sides, then compares them the same way).
 */
#ifndef HVB_COMPARE_CLI_H
#define HVB_COMPARE_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "compare_junit.h"
#include "compare_render.h"
#include "opt.h"

/* Option targets as the option parser fills them, then hvb_cmp_opts_parse()
 * turns them into opts / fmt. */
struct hvb_cmp_cli {
	const char *cmd; /* for messages */
	struct hvb_cmp_opts opts;
	const char *format;
	enum hvb_cmp_format fmt;
	double threshold_pct;
	uint64_t iters, min_reps, seed;
	bool gate, no_gate; /* hvb_cmp_gate_mode() makes opts.gate of them */
	struct hvb_ci_opts ci; /* --junit, --annotations */
};

#define HVB_CMP_OPTS(c)                                                                           \
	OPT_STR("metrics", 'm', &(c).opts.metrics, "GLOBS",                                       \
		"metrics to compare, comma-separated globs (default: the primary ones, "          \
		HVB_CMP_DEFAULT_METRICS "; '*' adds the .pNN percentiles)"),                      \
	OPT_STR("runner", 'r', &(c).opts.runners, "GLOBS", "only these runners"),                 \
	OPT_STR("base-runner", 0, &(c).opts.base_runner, "RUNNER",                                \
		"runner against runner: the base side's rows of RUNNER ..."),                     \
	OPT_STR("cand-runner", 0, &(c).opts.cand_runner, "RUNNER",                                \
		"... against the cand side's rows of RUNNER (e.g. --base-runner kvm "            \
		"--cand-runner xen-pvh; one run may be both sides)"),                             \
	OPT_STR("workload", 'w', &(c).opts.workloads, "GLOBS",                                    \
		"only these workloads; boot (boot_ms of VM runners) stays unless "                \
		"--no-boot, and '-w boot' compares boot alone"),                                  \
	OPT_FLAG("no-boot", 0, &(c).opts.no_boot, "leave out boot_ms (workload boot)"),           \
	OPT_DOUBLE("threshold", 't', &(c).threshold_pct, 0, 100, "PCT",                           \
		   "minimum effect in percent: smaller changes are 'no change' (default 2)"),     \
	OPT_STR("thresholds", 0, &(c).opts.thresholds, "FILE",                                   \
		"per-metric minimum effects, the first matching line's (hvbench thresholds "      \
		"writes one); --threshold where no line matches"),                                \
	OPT_DOUBLE("alpha", 'a', &(c).opts.alpha, 1e-6, 0.5, "A",                                 \
		   "false discovery rate for the q-values (default 0.05)"),                       \
	OPT_DOUBLE("confidence", 0, &(c).opts.confidence, 0.5, 0.9999, "C",                       \
		   "confidence of the bootstrap interval (default 0.95)"),                        \
	OPT_UINT("iters", 0, &(c).iters, 100, 10000000, "N",                                      \
		 "bootstrap resamples and Monte Carlo permutations (default 10000)"),             \
	OPT_UINT("seed", 0, &(c).seed, 0, 1e18, "N",                                              \
		 "random seed: the same seed gives the same numbers (default 1)"),                \
	OPT_UINT("min-reps", 0, &(c).min_reps, 2, 100000, "N",                                    \
		 "fewer repetitions (pairs) per side = inconclusive, and no interval "           \
		 "(default 3)"),                        \
	OPT_STR("format", 'f', &(c).format, "FMT", "table (default), csv, json or markdown"),     \
	OPT_FLAG("allow-partial", 0, &(c).opts.allow_partial,                                     \
		 "accept runs that did not complete (interrupted, or the writer died); "         \
		 "the output says the comparison is partial"),                                   \
	OPT_STR("junit", 0, &(c).ci.junit, "FILE",                                                \
		"also write the verdicts as JUnit XML to FILE (atomically), one test case per "  \
		"runner, workload and metric"),                                                   \
	OPT_STR("annotations", 0, &(c).ci.annotations, "MODE",                                    \
		"github: print GitHub Actions ::error/::warning lines after the table "          \
		"(default under GITHUB_ACTIONS=true), none"),                                     \
	HVB_CMP_OPTS_GATE(c)

/* The gate (compare_gate.h) and what it compares. */
#define HVB_CMP_OPTS_GATE(c)                                                                      \
	OPT_FLAG("gate", 0, &(c).gate,                                                            \
		 "gate mode: a gated metric that cannot be judged (too few reps, an interval "   \
		 "past the threshold, one side only, a partial run, nothing compared) fails "    \
		 "with exit 3 (default when CI=true)"),                                          \
	OPT_FLAG("no-gate", 0, &(c).no_gate, "no gate mode, even with CI=true"),                 \
	OPT_STR("ratio-to", 0, &(c).opts.ratio_to, "RUNNER",                                      \
		"compare every other runner's ratio to RUNNER (e.g. native) of the same "        \
		"repetition of the same run: cancels what slowed the whole host")

/* compare only: ab pairs its rounds by default (ab --unpaired). */
#define HVB_CMP_OPT_PAIRED(c)                                                                     \
	OPT_FLAG("paired", 0, &(c).opts.paired,                                                   \
		 "the i-th base and cand directories ran back to back: compare per pair")

void hvb_cmp_cli_init(struct hvb_cmp_cli *c, const char *cmd);

/* Check and convert the parsed options; -1 after printing an error. */
int hvb_cmp_opts_parse(struct hvb_cmp_cli *c);

/* Parse "table", "csv", "json", "markdown": 0 or -EINVAL. */
int hvb_cmp_format_parse(const char *s, enum hvb_cmp_format *out);

void hvb_cmp_args_free(struct hvb_cmp_args *a);

/* Compare and print in fmt to out, then the CI outputs ci asks for;
 * returns the exit status (0, 1, 2 after printing why the input is invalid
 * or the JUnit file could not be written, 3 when the gate could not judge). */
int hvb_cmp_run(const struct hvb_cmp_args *a, const struct hvb_cmp_opts *o,
		enum hvb_cmp_format fmt, const struct hvb_ci_opts *ci, FILE *out);

#endif
