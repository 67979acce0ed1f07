/*
 * Loss accounting in the harness (rt_lost / rt_reordered, counts_loss):
 * lost, loss_pct and reordered per repetition (zeros included), metrics
 * per delivered operation, calibration and warm-up not counted, counts
 * from after_batch, a batch that delivered nothing fails the cell, no
 * effect without counts_loss.  The harness runs for real over workloads
 * defined here; its records are read back from a file.  tsc_khz=1000000:
 * one cycle is one ns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "native/rt_native.h"
#include "harness_capture.h"
#include "tap.h"

#define MAX_RECS 4096
#define SPIN	 20000 /* cycles per operation of the spinning workloads */

static struct hvb_record recs[MAX_RECS];
static unsigned n_recs;
static uint64_t lose_per_batch, reorder_per_batch, batches_run;

/* Each batch: says it lost lose_per_batch and reordered reorder_per_batch. */
static void run_lossy(struct hvb_ctx *c, uint64_t n)
{
	(void)n;
	batches_run++;
	rt_lost(c, lose_per_batch);
	rt_reordered(c, reorder_per_batch);
}

/* SPIN cycles per operation, and half of them lost. */
static void run_spin_half(struct hvb_ctx *c, uint64_t n)
{
	uint64_t t0 = rt_tsc_begin();

	while (rt_tsc_end() - t0 < n * SPIN)
		;
	rt_lost(c, n / 2);
}

static void run_spin(struct hvb_ctx *c, uint64_t n)
{
	uint64_t t0 = rt_tsc_begin();

	(void)c;
	while (rt_tsc_end() - t0 < n * SPIN)
		;
}

/* Calibrated (a little work per operation), one loss per batch. */
static void run_calibrated(struct hvb_ctx *c, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		for (volatile int k = 0; k < 200; k++)
			;
	batches_run++;
	rt_lost(c, 1);
}

static void run_nothing(struct hvb_ctx *c, uint64_t n)
{
	(void)c, (void)n;
}

/* Loss counted after the timed part, as net/tx-* do from the STATS. */
static void after_lossy(struct hvb_ctx *c, uint64_t n)
{
	(void)n;
	rt_lost(c, 3);
	rt_reordered(c, 1);
}

/* Everything lost from batch all_lost_from on (the warm-up is batch 1),
 * or in batch all_lost_only alone. */
static uint64_t all_lost_from, all_lost_only;
static void run_dies(struct hvb_ctx *c, uint64_t n)
{
	++batches_run;
	if ((all_lost_from && batches_run >= all_lost_from) || batches_run == all_lost_only)
		rt_lost(c, n);
}

/* Per-request: each operation times itself 100 cycles, one in 4 lost. */
static void run_req(struct hvb_ctx *c, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (i % 4 == 3)
			rt_lost(c, 1);
		else
			rt_req_time(c, 100);
}

static const struct hvb_workload w_fixed = {
    .name = "test/loss-fixed",
    .desc = "rt_lost(lose_per_batch), rt_reordered(reorder_per_batch)",
    .kind = HVB_KIND_RATE,
    .run = run_lossy,
    .fixed_ops = 100,
    .counts_loss = true,
    .note = "cell note",
};
static const struct hvb_workload w_half = {
    .name = "test/loss-half",
    .desc = "SPIN cycles per op, half lost",
    .kind = HVB_KIND_TIME_PER_OP,
    .run = run_spin_half,
    .fixed_ops = 50,
    .counts_loss = true,
};
static const struct hvb_workload w_whole = {
    .name = "test/loss-whole",
    .desc = "SPIN cycles per op, nothing lost",
    .kind = HVB_KIND_TIME_PER_OP,
    .run = run_spin,
    .fixed_ops = 50,
    .counts_loss = true,
};
static const struct hvb_workload w_calibrated = {
    .name = "test/loss-calibrated",
    .desc = "calibrated, one lost per batch",
    .kind = HVB_KIND_TIME_PER_OP,
    .run = run_calibrated,
    .counts_loss = true,
};
static const struct hvb_workload w_after = {
    .name = "test/loss-after",
    .desc = "loss counted in after_batch",
    .kind = HVB_KIND_BANDWIDTH,
    .bytes_per_op = 1000,
    .run = run_nothing,
    .after_batch = after_lossy,
    .fixed_ops = 10,
    .counts_loss = true,
};
static const struct hvb_workload w_dies = {
    .name = "test/loss-dies",
    .desc = "every operation lost from a batch on",
    .kind = HVB_KIND_RATE,
    .run = run_dies,
    .fixed_ops = 10,
    .counts_loss = true,
};
static const struct hvb_workload w_plain = {
    .name = "test/loss-plain",
    .desc = "rt_lost without counts_loss",
    .kind = HVB_KIND_RATE,
    .run = run_lossy,
    .fixed_ops = 100,
};
static const struct hvb_workload w_req = {
    .name = "test/loss-req",
    .desc = "per_request and counts_loss",
    .kind = HVB_KIND_TIME_PER_OP,
    .run = run_req,
    .fixed_ops = 40,
    .per_request = true,
    .counts_loss = true,
};
HVB_WORKLOAD(w_fixed);
HVB_WORKLOAD(w_half);
HVB_WORKLOAD(w_whole);
HVB_WORKLOAD(w_calibrated);
HVB_WORKLOAD(w_after);
HVB_WORKLOAD(w_dies);
HVB_WORKLOAD(w_plain);
HVB_WORKLOAD(w_req);

static int harness(const char *words)
{
	char cmdline[512];

	snprintf(cmdline, sizeof(cmdline), "tsc_khz=1000000 goal_us=300 %s", words);
	return harness_capture(cmdline, recs, MAX_RECS, &n_recs);
}

static const struct hvb_record *sample(const char *workload, const char *metric, unsigned rep)
{
	return capture_sample(recs, n_recs, workload, metric, rep);
}

static double value(const char *workload, const char *metric, unsigned rep)
{
	const struct hvb_record *r = sample(workload, metric, rep);

	return r ? r->value : -1;
}

static const struct hvb_record *status(const char *workload)
{
	return capture_status(recs, n_recs, workload);
}

/* 4 batches of 100, 5 lost and 2 reordered each: the sums per repetition,
 * the percentage of all operations, ops_per_s over the delivered ones. */
static void test_counts(void)
{
	const struct hvb_record *r;

	lose_per_batch = 5, reorder_per_batch = 2;
	TAP_EQ_INT(harness("w=test/loss-fixed batches=4 reps=2"), HVB_EXIT_OK, "harness ran");
	TAP_OK(value("test/loss-fixed", "lost", 0) == 20 &&
		   value("test/loss-fixed", "lost", 1) == 20,
	       "lost: the sum over the repetition's batches, warm-up not counted");
	TAP_OK(value("test/loss-fixed", "loss_pct", 0) == 5.0,
	       "loss_pct: percent of the operations");
	TAP_OK(value("test/loss-fixed", "reordered", 1) == 8, "reordered: the sum, per repetition");
	r = sample("test/loss-fixed", "lost", 0);
	TAP_OK(r && r->better == HVB_LOWER_IS_BETTER && !strcmp(r->unit, "datagrams") &&
		   !strcmp(r->text, "cell note"),
	       "lost: datagrams, lower is better, the cell's note");
	r = sample("test/loss-fixed", "loss_pct", 0);
	TAP_OK(r && r->better == HVB_LOWER_IS_BETTER && !strcmp(r->unit, "%"),
	       "loss_pct: %, lower");
	r = sample("test/loss-fixed", "ops_per_s", 0);
	TAP_OK(r && value("test/loss-fixed", "ns_per_op", 0) > 0 &&
		   r->value * value("test/loss-fixed", "ns_per_op", 0) > 0.999e9 &&
		   r->value * value("test/loss-fixed", "ns_per_op", 0) < 1.001e9,
	       "ops_per_s and ns_per_op describe the same delivered operations");

	lose_per_batch = 0, reorder_per_batch = 0;
	harness("w=test/loss-fixed batches=2");
	TAP_OK(sample("test/loss-fixed", "lost", 0) && value("test/loss-fixed", "lost", 0) == 0 &&
		   value("test/loss-fixed", "loss_pct", 0) == 0 &&
		   value("test/loss-fixed", "reordered", 0) == 0,
	       "no loss: the rows are there with zeros (a zero is a measurement)");
}

/* Half lost: ns_per_op is per delivered operation, at least 2 * SPIN,
 * where the same spin without loss gives at least SPIN and less than 2x
 * the lossy one. */
static void test_per_delivered(void)
{
	double half, whole;

	harness("w=test/loss-half,test/loss-whole batches=3");
	half = value("test/loss-half", "ns_per_op", 0);
	whole = value("test/loss-whole", "ns_per_op", 0);
	TAP_OK(half >= 2.0 * SPIN, "half lost: ns_per_op >= 2 x the spin per operation");
	TAP_OK(whole >= SPIN && whole < half, "nothing lost: ns_per_op of every operation");
	TAP_OK(value("test/loss-half", "loss_pct", 0) == 50.0, "half lost: loss_pct 50");
	TAP_OK(value("test/loss-half", "ns_per_op.p50", 0) >= 2.0 * SPIN,
	       "batch percentiles are per delivered operation too");
	TAP_OK(value("test/loss-half", "cycles_per_op", 0) >= 2.0 * SPIN,
	       "cycles_per_op per delivered operation");
}

/* Calibration takes several batches, warm-up one: only the measured
 * batches' losses count. */
static void test_calibration(void)
{
	batches_run = 0;
	harness("w=test/loss-calibrated batches=3 reps=2");
	TAP_OK(batches_run > 3 * 2 + 1, "calibration ran batches of its own");
	TAP_OK(value("test/loss-calibrated", "lost", 0) == 3 &&
		   value("test/loss-calibrated", "lost", 1) == 3,
	       "lost counts the measured batches only (not calibration or warm-up)");
}

static void test_after_batch(void)
{
	harness("w=test/loss-after batches=2");
	TAP_OK(value("test/loss-after", "lost", 0) == 6 &&
		   value("test/loss-after", "reordered", 0) == 2,
	       "rt_lost / rt_reordered from after_batch count for the batch");
	TAP_OK(value("test/loss-after", "loss_pct", 0) == 30.0, "loss_pct 6 of 20");
}

/* From the fourth batch of the cell on (warm-up, rep 0's two, rep 1's
 * first) everything is lost: rep 0 stands, rep 1 and 2 have no samples,
 * the cell fails with the reason, the next cell runs. */
static void test_all_lost(void)
{
	const struct hvb_record *st;

	batches_run = 0;
	all_lost_from = 4;
	harness("w=test/loss-dies,test/loss-plain batches=2 reps=3");
	st = status("test/loss-dies");
	TAP_OK(sample("test/loss-dies", "ops_per_s", 0) && value("test/loss-dies", "lost", 0) == 0,
	       "the repetition before stands");
	TAP_OK(!sample("test/loss-dies", "ops_per_s", 1) && !sample("test/loss-dies", "lost", 1),
	       "nothing delivered in a batch: no samples of its repetition");
	TAP_OK(!sample("test/loss-dies", "ops_per_s", 2), "... nor of the repetitions after it");
	TAP_OK(st && st->status == HVB_ST_FAILED && strstr(st->text, "delivered none"),
	       "the cell fails, saying that nothing was delivered");
	TAP_OK(sample("test/loss-plain", "ops_per_s", 0) != NULL, "the next cell runs");

	batches_run = 0;
	all_lost_from = 2; /* warm-up is batch 1: the first measured batch */
	harness("w=test/loss-dies batches=2");
	TAP_OK(status("test/loss-dies") && !sample("test/loss-dies", "lost", 0),
	       "the first measured batch delivering nothing fails the cell too");

	batches_run = 0;
	all_lost_from = 0;
	all_lost_only = 1; /* the warm-up alone loses everything: not measured */
	harness("w=test/loss-dies batches=2");
	all_lost_only = 0;
	TAP_OK(!status("test/loss-dies") && value("test/loss-dies", "lost", 0) == 0,
	       "a warm-up that delivered nothing neither fails nor counts");
}

static void test_plain(void)
{
	lose_per_batch = 7;
	harness("w=test/loss-plain batches=2");
	TAP_OK(sample("test/loss-plain", "ops_per_s", 0) && !sample("test/loss-plain", "lost", 0) &&
		   !sample("test/loss-plain", "loss_pct", 0) &&
		   !sample("test/loss-plain", "reordered", 0),
	       "without counts_loss: rt_lost is ignored, no loss rows");
	lose_per_batch = 0;
}

/* per_request + counts_loss (net/udp-rr-64): request times of the
 * delivered ones, ops_per_s over the delivered ones. */
static void test_per_request(void)
{
	harness("w=test/loss-req batches=2");
	TAP_OK(value("test/loss-req", "lost", 0) == 20, "per_request: 10 of 40 lost per batch");
	TAP_OK(value("test/loss-req", "req_ns.max", 0) == 100, "request times of the delivered");
	TAP_OK(sample("test/loss-req", "req_ns.p50", 0) &&
		   !strncmp(sample("test/loss-req", "req_ns.p50", 0)->text, "60 request times", 16),
	       "req_ns note counts the delivered requests");
	TAP_OK(value("test/loss-req", "ops_per_s", 0) * value("test/loss-req", "ns_per_op", 0) >
			   0.999e9 &&
		   value("test/loss-req", "ops_per_s", 0) * value("test/loss-req", "ns_per_op", 0) <
			   1.001e9,
	       "ops_per_s of the requests over the delivered ones");
}

int main(void)
{
	test_counts();
	test_per_delivered();
	test_calibration();
	test_after_batch();
	test_all_lost();
	test_plain();
	test_per_request();
	return tap_done();
}
