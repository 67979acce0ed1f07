/*
 * migrate/dirty natively, through the real harness: its rows (dirty rate,
 * heartbeat gaps, lost pages) for every pattern, and its check of the
 * working set failing the cell, naming the page, when a page does not
 * hold what was written (dirty.lose_page, the check's self-test), and
 * dirty.batch_ms setting the schedule of a batch.
 * Correctness only: no figure is compared with a speed.
 */
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "harness_capture.h"

#define MAX_RECS 256
static struct hvb_record recs[MAX_RECS];
static unsigned n_recs;

static int harness(const char *words)
{
	char cmdline[512];

	snprintf(cmdline, sizeof(cmdline),
		 "tsc_khz=1000000 goal_us=300 w=migrate/dirty batches=2 reps=1 "
		 "param.dirty.rate=128 param.dirty.wss_mib=1 %s",
		 words);
	return harness_capture(cmdline, recs, MAX_RECS, &n_recs);
}

static const struct hvb_record *row(const char *metric)
{
	return capture_sample(recs, n_recs, "migrate/dirty", metric, 0);
}

static void test_pattern(unsigned pat)
{
	char words[64], what[120];
	const struct hvb_record *bw, *gap, *lost;

	snprintf(words, sizeof(words), "param.dirty.pattern=%u", pat);
	TAP_EQ_INT(harness(words), HVB_EXIT_OK, "harness ran");
	bw = row("bandwidth"), gap = row("req_ns.max"), lost = row("lost_pages");
	snprintf(what, sizeof(what), "pattern %u: dirty rate achieved, MB/s, higher is better", pat);
	TAP_OK(bw && bw->value > 0 && !strcmp(bw->unit, "MB/s") && bw->better == HVB_HIGHER_IS_BETTER,
	       what);
	snprintf(what, sizeof(what), "pattern %u: the largest heartbeat gap, ns", pat);
	TAP_OK(gap && gap->value > 0 && !strcmp(gap->unit, "ns"), what);
	snprintf(what, sizeof(what), "pattern %u: no page lost (a zero is a row)", pat);
	TAP_OK(lost && lost->value == 0 && !strcmp(lost->unit, "pages"), what);
	TAP_OK(!capture_status(recs, n_recs, "migrate/dirty") ||
		   capture_status(recs, n_recs, "migrate/dirty")->status != HVB_ST_FAILED,
	       "the cell did not fail");
}

static void test_lost_page_fails_loudly(void)
{
	const struct hvb_record *st;

	harness("param.dirty.lose_page=5");
	st = capture_status(recs, n_recs, "migrate/dirty");
	TAP_OK(st && st->status == HVB_ST_FAILED, "a spoilt page fails the cell");
	TAP_OK(st && strstr(st->text, "memory lost: page 4 ") != NULL,
	       "the reason names the first bad page");
	if (st)
		printf("# %.*s\n", (int)sizeof(st->text), st->text);
}

/* The CELL_BEGIN record's iterations per batch: rate x 256 pages x the
 * batch's share of a second. */
static uint64_t ops_per_batch(void)
{
	for (unsigned i = 0; i < n_recs; i++)
		if (recs[i].type == HVB_REC_CELL_BEGIN && !strcmp(recs[i].workload, "migrate/dirty"))
			return recs[i].u64[0];
	return 0;
}

static void test_batch_ms(void)
{
	harness("");
	TAP_EQ_INT((int)ops_per_batch(), 128 * 256 / 10, "a batch is 100 ms of schedule by default");
	TAP_EQ_INT(harness("param.dirty.batch_ms=20"), HVB_EXIT_OK, "harness ran, batch_ms=20");
	TAP_EQ_INT((int)ops_per_batch(), 128 * 256 * 20 / 1000,
		   "dirty.batch_ms=20: a batch is 20 ms of schedule");
	TAP_OK(row("lost_pages") && row("lost_pages")->value == 0, "and every page verified");
}

int main(void)
{
	for (unsigned p = 0; p < 3; p++)
		test_pattern(p);
	test_lost_page_fails_loudly();
	test_batch_ms();
	return tap_done();
}
