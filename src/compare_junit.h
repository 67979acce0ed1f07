/*
 * What a comparison says to a CI system (compare_ci.c: the options and each
 * row's outcome; compare_junit.c, compare_annot.c: the two outputs):
 * a JUnit XML file (--junit FILE) and GitHub workflow annotations
 * (--annotations github), for `hvbench compare` and `hvbench ab`.
 *
 * Every (runner, workload, metric) row is one test case.  Its outcome is
 * decided once, here, so the JUnit file, the annotations and the exit
 * status of the command never disagree about what failed.
 */
#ifndef HVB_COMPARE_JUNIT_H
#define HVB_COMPARE_JUNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "compare.h"
#include "compare_render.h"

enum hvb_ci_annot { HVB_ANNOT_NONE, HVB_ANNOT_GITHUB };

/* The CI outputs of one command, as its options set them. */
struct hvb_ci_opts {
	const char *cmd;         /* "compare" or "ab": the suite's name, messages */
	const char *junit;       /* --junit FILE, or NULL */
	const char *annotations; /* --annotations MODE as given, or NULL */
	enum hvb_ci_annot annot; /* resolved by hvb_ci_opts_parse */
	uint64_t t0_ns;          /* when the command started: the suite's time */
};

enum hvb_ci_outcome { HVB_CI_PASS, HVB_CI_FAIL, HVB_CI_SKIP };

void hvb_ci_opts_init(struct hvb_ci_opts *ci, const char *cmd);

/*
 * Resolve --annotations (github, none; unset: github when the environment
 * has GITHUB_ACTIONS=true, said on stderr) against the output format, and
 * check that --junit can be written before anything runs.  0, or -1 after
 * printing what to do.
 */
int hvb_ci_opts_parse(struct hvb_ci_opts *ci, enum hvb_cmp_format fmt);

/*
 * How row reads to CI, and the failure's type ("regression", "cand-failed",
 * "inconclusive") in *type, or NULL when it does not fail.  In gate mode
 * (res->gate.on) a row the gate could not judge fails as inconclusive, as
 * the exit status 3 does, and *gate_why (if not NULL) is the gate's reason
 * with what to do; without the gate such a row is skipped.
 */
enum hvb_ci_outcome hvb_ci_row_outcome(const struct hvb_cmp_result *res,
				       const struct hvb_cmp_row *row, const char **type,
				       const char **gate_why);

/* Whether gate item i of res is no row (a partial run): it fails as a
 * case of its own. */
bool hvb_ci_gate_extra(const struct hvb_cmp_result *res, size_t i);

/* A row's figures in one line: "ratio 1.12 [1.08, 1.15], q=0.003,
 * threshold 2%" (plus the slowdown where more is better, and the
 * thresholds file's line where the threshold came from one), or why it
 * has none. */
void hvb_ci_row_figures(char *buf, size_t len, const struct hvb_cmp_row *row);

/* "; workload parameters differ (param.crc32c.passes: base '1', cand '4'):
 * not a hypervisor change" for a row whose workload's parameters differ
 * and that is not already not_comparable (its why says so), else "". */
void hvb_ci_row_params(char *buf, size_t len, const struct hvb_cmp_row *row);

/* A median with its unit, "-" when there is none. */
void hvb_ci_value(char *buf, size_t len, double v, const char *unit);

/* Write the JUnit XML of res to ci->junit atomically (temporary file,
 * fsync, rename).  0, or -errno after printing why. */
int hvb_junit_write(const struct hvb_ci_opts *ci, const struct hvb_cmp_result *res,
		    const struct hvb_cmp_opts *o, const struct hvb_cmp_args *a);

/* Print the GitHub annotations of res to f (nothing with HVB_ANNOT_NONE). */
void hvb_annot_print(FILE *f, const struct hvb_ci_opts *ci, const struct hvb_cmp_result *res);

/* Around the table, with annotations on: GitHub reads no command from
 * the text between (a note of a result file cannot issue one).  token
 * (at least 33 bytes) is set by pause, "" when annotations are off. */
void hvb_annot_pause(FILE *f, const struct hvb_ci_opts *ci, char *token, size_t len);
void hvb_annot_resume(FILE *f, const char *token);

#endif
