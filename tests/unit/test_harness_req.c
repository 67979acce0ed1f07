/*
 * Per-request latency in the harness (rt_req_time): which request times
 * count (the measured batches only), the percentiles over them, the reset
 * per repetition, dropped values past HVB_REQ_MAX, no effect on workloads
 * without per_request, and rt_fail.  The harness runs for real
 * (hvb_harness_main) over workloads defined here, and its records are
 * read back from a file.  tsc_khz=1000000: one cycle is one ns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "native/rt_native.h"
#include "harness_capture.h"
#include "tap.h"

#define MAX_RECS 4096

static struct hvb_record recs[MAX_RECS];
static unsigned n_recs;
static uint64_t counter; /* the next request time the test workloads report */
static uint64_t fail_at; /* test/fail: rt_fail at this request (0: never) */

/* Request i reports i cycles: which values the harness kept shows which
 * batches counted. */
static void run_counting(struct hvb_ctx *c, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		if (fail_at && counter == fail_at)
			rt_fail(c, "test: request failed");
		rt_req_time(c, counter++);
	}
}

/* Calibrated: a little work per operation so calibration takes steps. */
static void run_counting_slow(struct hvb_ctx *c, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		for (volatile int k = 0; k < 200; k++)
			;
		rt_req_time(c, counter++);
	}
}

/* The first request ever is slower than a whole batch's goal (a cold
 * device path), the others cheap. */
static bool cold_done;
static void run_cold_first(struct hvb_ctx *c, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = rt_tsc_begin(), spin = cold_done ? 1000 : 30000000;

		cold_done = true;
		while (rt_tsc_end() - t0 < spin)
			;
		rt_req_time(c, counter++);
	}
}

/* Each request 5000 cycles: ~60 per batch meet the test's goal of 300 us,
 * fewer than the floor of HVB_REQ_MIN_PER_REP per repetition over 2
 * batches. */
static void run_5k(struct hvb_ctx *c, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = rt_tsc_begin();

		while (rt_tsc_end() - t0 < 5000)
			;
		rt_req_time(c, counter++);
	}
}

static const struct hvb_workload w_5k = {
    .name = "test/req-5k",
    .desc = "5000 cycles per request",
    .kind = HVB_KIND_TIME_PER_OP,
    .run = run_5k,
    .per_request = true,
};
HVB_WORKLOAD(w_5k);

static const struct hvb_workload w_cold = {
    .name = "test/req-cold",
    .desc = "first request slower than the goal",
    .kind = HVB_KIND_TIME_PER_OP,
    .run = run_cold_first,
    .per_request = true,
};
HVB_WORKLOAD(w_cold);

static const struct hvb_workload w_fixed = {
    .name = "test/req-fixed",
    .desc = "rt_req_time(counter++)",
    .kind = HVB_KIND_TIME_PER_OP,
    .run = run_counting,
    .fixed_ops = 100,
    .per_request = true,
    .note = "cell note",
};
static const struct hvb_workload w_calibrated = {
    .name = "test/req-calibrated",
    .desc = "rt_req_time(counter++), calibrated",
    .kind = HVB_KIND_TIME_PER_OP,
    .run = run_counting_slow,
    .per_request = true,
};
static const struct hvb_workload w_rate = {
    .name = "test/req-rate",
    .desc = "rt_req_time, kind RATE",
    .kind = HVB_KIND_RATE,
    .run = run_counting,
    .fixed_ops = 10,
    .per_request = true,
};
static const struct hvb_workload w_many = {
    .name = "test/req-many",
    .desc = "more request times than HVB_REQ_MAX",
    .kind = HVB_KIND_TIME_PER_OP,
    .run = run_counting,
    .fixed_ops = 40000,
    .per_request = true,
    .note = "cell note",
};
static const struct hvb_workload w_plain = {
    .name = "test/req-plain",
    .desc = "rt_req_time without per_request",
    .kind = HVB_KIND_TIME_PER_OP,
    .run = run_counting,
    .fixed_ops = 10,
};
static const struct hvb_workload w_fail = {
    .name = "test/req-fail",
    .desc = "rt_fail in a measured batch",
    .kind = HVB_KIND_RATE,
    .run = run_counting,
    .fixed_ops = 10,
    .per_request = true,
};
HVB_WORKLOAD(w_fixed);
HVB_WORKLOAD(w_calibrated);
HVB_WORKLOAD(w_rate);
HVB_WORKLOAD(w_many);
HVB_WORKLOAD(w_plain);
HVB_WORKLOAD(w_fail);

/* Run the harness with `words` and read its records into recs[]. */
static int harness(const char *words)
{
	char cmdline[512];

	snprintf(cmdline, sizeof(cmdline), "tsc_khz=1000000 goal_us=300 %s", words);
	return harness_capture(cmdline, recs, MAX_RECS, &n_recs);
}

static const struct hvb_record *sample(const char *metric, unsigned rep)
{
	for (unsigned i = 0; i < n_recs; i++)
		if (recs[i].type == HVB_REC_SAMPLE && recs[i].rep == rep &&
		    !strcmp(recs[i].metric, metric))
			return &recs[i];
	return NULL;
}

static double value(const char *metric, unsigned rep)
{
	const struct hvb_record *r = sample(metric, rep);

	return r ? r->value : -1;
}

static unsigned count(uint16_t type)
{
	unsigned n = 0;

	for (unsigned i = 0; i < n_recs; i++)
		n += recs[i].type == type;
	return n;
}

/* fixed_ops 100, 4 batches: warm-up reports 0..99, rep 0 100..499, rep 1
 * 500..899: percentiles over exactly those. */
static void test_fixed(void)
{
	counter = 0;
	TAP_EQ_INT(harness("w=test/req-fixed batches=4 reps=2"), HVB_EXIT_OK, "harness ran");
	TAP_OK(value("req_ns.max", 0) == 499, "rep 0: max is its last request (warm-up not kept)");
	TAP_OK(value("req_ns.p50", 0) == 299.5, "rep 0: median of 100..499");
	TAP_OK(value("req_ns.p99", 0) == 100 + 0.99 * 399, "rep 0: p99 interpolated");
	TAP_OK(value("req_ns.p999", 0) == 100 + 0.999 * 399, "rep 0: p99.9 interpolated");
	TAP_OK(value("req_ns.p50", 1) == 699.5 && value("req_ns.max", 1) == 899,
	       "rep 1: its own requests only (reset per repetition)");
	TAP_OK(value("ops_per_s", 0) > 0, "ops_per_s for a TIME_PER_OP per_request workload");
	TAP_OK(sample("req_ns.p50", 0) && sample("req_ns.p50", 0)->better == HVB_LOWER_IS_BETTER &&
		   !strcmp(sample("req_ns.p50", 0)->unit, "ns"),
	       "req_ns rows: ns, lower is better");
	TAP_EQ_STR(sample("req_ns.p99", 0)->text, "400 request times; cell note",
		   "nothing dropped: the count, then the cell's note");
}

/* Calibration batches are not kept either: the values of a repetition
 * are the last batches * n the workload reported. */
static void test_calibrated(void)
{
	const struct hvb_record *begin = NULL;
	uint64_t kept;

	counter = 0;
	harness("w=test/req-calibrated batches=3");
	for (unsigned i = 0; i < n_recs; i++)
		if (recs[i].type == HVB_REC_CELL_BEGIN)
			begin = &recs[i];
	if (!TAP_OK(begin && begin->u64[0] > 1, "calibration grew n"))
		return;
	kept = 3 * begin->u64[0];
	TAP_OK(value("req_ns.max", 0) == (double)(counter - 1), "max is the last request");
	TAP_OK(value("req_ns.p50", 0) == (double)(counter - kept) + (double)(kept - 1) / 2,
	       "median over the measured batches only (calibration and warm-up not kept)");
}

static void test_rate(void)
{
	unsigned ops_rows = 0;

	counter = 0;
	harness("w=test/req-rate batches=2");
	for (unsigned i = 0; i < n_recs; i++)
		ops_rows += recs[i].type == HVB_REC_SAMPLE && !strcmp(recs[i].metric, "ops_per_s");
	TAP_EQ_INT(ops_rows, 1, "RATE: ops_per_s once (the kind's own)");
	TAP_OK(value("req_ns.max", 0) == 29, "RATE: request percentiles too");
}

/* 80000 request times in a repetition: the first HVB_REQ_MAX kept, the
 * rest counted and named in the note. */
static void test_dropped(void)
{
	char expect[HVB_TEXT_MAX];

	counter = 0;
	harness("w=test/req-many batches=2");
	TAP_OK(value("req_ns.max", 0) == 40000 + HVB_REQ_MAX - 1, "max of the kept values");
	snprintf(expect, sizeof(expect),
		 "%u request times kept of 80000 (HVB_REQ_MAX); cell note", HVB_REQ_MAX);
	TAP_EQ_STR(sample("req_ns.p50", 0)->text, expect, "dropped values are named in the note");
	TAP_EQ_STR(sample("ns_per_op", 0)->text, "cell note", "other rows keep the cell's note");
}

static void test_plain(void)
{
	counter = 0;
	harness("w=test/req-plain batches=2");
	TAP_OK(sample("ns_per_op", 0) != NULL, "a workload without per_request is measured");
	TAP_OK(!sample("req_ns.p50", 0) && !sample("ops_per_s", 0),
	       "... and gets no req_ns or ops_per_s rows (rt_req_time is ignored)");
}

/* rt_fail in rep 1 (warm-up 0..9, rep 0 10..29, rep 1 30..49): rep 0's
 * samples stand, rep 1 has none, the cell ends failed with the reason. */
static void test_fail(void)
{
	const struct hvb_record *st = NULL;

	counter = 0;
	fail_at = 35;
	harness("w=test/req-fail,test/req-plain batches=2 reps=3");
	fail_at = 0;
	for (unsigned i = 0; i < n_recs; i++)
		if (recs[i].type == HVB_REC_STATUS)
			st = &recs[i];
	TAP_OK(sample("ops_per_s", 0) && !sample("ops_per_s", 1) && !sample("ops_per_s", 2),
	       "rt_fail: samples of the repetitions before it, none after");
	TAP_OK(st && st->status == HVB_ST_FAILED && !strcmp(st->text, "test: request failed") &&
		   !strcmp(st->workload, "test/req-fail"),
	       "rt_fail: the cell fails with the reason");
	TAP_EQ_INT(count(HVB_REC_REP_BEGIN), count(HVB_REC_REP_END), "every REP_BEGIN has its END");
	TAP_OK(n_recs && recs[n_recs - 2].type == HVB_REC_SAMPLE &&
		   !strcmp(recs[n_recs - 2].workload, "test/req-plain") &&
		   recs[n_recs - 1].type == HVB_REC_DONE,
	       "the next cell is measured as usual");
}

/* A cold first request must not end calibration at one request per batch. */
static void test_cold_first(void)
{
	const struct hvb_record *begin = NULL;

	harness("w=test/req-cold batches=2");
	for (unsigned i = 0; i < n_recs; i++)
		if (recs[i].type == HVB_REC_CELL_BEGIN)
			begin = &recs[i];
	TAP_OK(begin && begin->u64[0] > 1, "cold first request: calibrated past n=1");
}

static uint64_t cell_n(void)
{
	for (unsigned i = 0; i < n_recs; i++)
		if (recs[i].type == HVB_REC_CELL_BEGIN)
			return recs[i].u64[0];
	return 0;
}

/* A repetition stands on at least HVB_REQ_MIN_PER_REP requests when the
 * time goal alone would give fewer; --quick's floor is lower. */
static void test_floor(void)
{
	uint64_t n;

	harness("w=test/req-5k batches=2");
	n = cell_n();
	TAP_OK(n * 2 >= HVB_REQ_MIN_PER_REP && n * 2 < HVB_REQ_MIN_PER_REP + 2,
	       "floor: 2 batches x n = the floor of requests per repetition");
	TAP_OK(sample("req_ns.p50", 0) && !strncmp(sample("req_ns.p50", 0)->text, "256 request", 11),
	       "floor: the note counts them");
	harness("w=test/req-5k batches=2 quick=1");
	n = cell_n();
	TAP_OK(n > 0 && n * 2 < HVB_REQ_MIN_PER_REP, "quick: the time goal's n (above its floor)");
}

int main(void)
{
	test_fixed();
	test_cold_first();
	test_calibrated();
	test_rate();
	test_dropped();
	test_plain();
	test_fail();
	test_floor();
	return tap_done();
}
