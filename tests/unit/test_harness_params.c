/*
 * Workload parameters in the harness (rt_param, workload.h struct
 * hvb_param): the default when no param.* word is given, the word's value
 * when it is, a malformed or out-of-range word failing the cell with a
 * reason that names it, another workload's words ignored, an undeclared
 * name failing the cell; and rt_req_count's per-repetition row (measured
 * batches only).  The harness runs for real (hvb_harness_main).
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "harness_capture.h"
#include "tap.h"

#define MAX_RECS 1024

static struct hvb_record recs[MAX_RECS];
static unsigned n_recs;
static uint64_t got_size, got_other;
static bool ask_undeclared;

static int setup_params(struct hvb_ctx *c, const char **why)
{
	(void)why;
	got_size = rt_param(c, "size");
	got_other = rt_param(c, "other");
	if (ask_undeclared)
		(void)rt_param(c, "nope");
	return 0;
}

/* Each request counts 1 (rt_req_count): the row shows the measured ones. */
static void run_params(struct hvb_ctx *c, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		rt_req_time(c, 100);
		rt_req_count(c, 1);
	}
}

static const struct hvb_workload w_params = {
	.name = "test/with-params",
	.desc = "reads two parameters",
	.kind = HVB_KIND_RATE,
	.setup = setup_params,
	.run = run_params,
	.fixed_ops = 7,
	.per_request = true,
	.req_count = "counted",
	.params = {
		{ "size", 16, 1, 64, "items", "a size" },
		{ "other", 0, 0, 5, "things", "another" },
	},
};
HVB_WORKLOAD(w_params);

static int harness(const char *words)
{
	char cmdline[512];

	snprintf(cmdline, sizeof(cmdline), "tsc_khz=1000000 goal_us=100 batches=3 w=test/with-params %s",
		 words);
	got_size = got_other = 999;
	return harness_capture(cmdline, recs, MAX_RECS, &n_recs);
}

static const struct hvb_record *status(void)
{
	return capture_status(recs, n_recs, "test/with-params");
}

int main(void)
{
	const struct hvb_record *r;

	TAP_EQ_INT(harness(""), HVB_EXIT_OK, "harness ran without param words");
	TAP_EQ_INT(got_size, 16, "no word: the default");
	TAP_EQ_INT(got_other, 0, "no word: the default (0)");
	TAP_OK(!status(), "no word: the cell is measured");
	r = capture_sample(recs, n_recs, "test/with-params", "counted", 0);
	TAP_OK(r && r->value == 21 && !strcmp(r->unit, "requests") &&
		       r->better == HVB_LOWER_IS_BETTER,
	       "rt_req_count: 3 measured batches x 7 (warm-up not counted), requests, lower");

	harness("param.with-params.size=64 param.with-params.other=0x3");
	TAP_EQ_INT(got_size, 64, "the word's value (the maximum)");
	TAP_EQ_INT(got_other, 3, "the word's value (hex)");

	harness("param.other-workload.size=2 param.size=3");
	TAP_EQ_INT(got_size, 16, "another workload's key and a bare key are not ours");

	harness("param.with-params.size=65");
	r = status();
	TAP_OK(r && r->status == HVB_ST_FAILED, "above the maximum: the cell fails");
	TAP_EQ_STR(r ? r->text : NULL,
		   "param.with-params.size=65: not a whole number from 1 to 64",
		   "... saying which word and the range");
	TAP_EQ_INT(got_size, 999, "... before setup runs");

	harness("param.with-params.size=0");
	r = status();
	TAP_OK(r && r->status == HVB_ST_FAILED, "below the minimum: the cell fails");
	harness("param.with-params.other=x1");
	r = status();
	TAP_OK(r && r->status == HVB_ST_FAILED, "not a number: the cell fails");

	ask_undeclared = true;
	harness("");
	r = status();
	TAP_OK(r && r->status == HVB_ST_FAILED && strstr(r->text, "does not declare"),
	       "rt_param of an undeclared name fails the cell (a workload bug)");
	ask_undeclared = false;
	return tap_done();
}
