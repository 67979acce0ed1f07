/*
 * migrate/dirty natively, through the real harness: its rows (dirty rate,
 * heartbeat gaps, lost pages) for every pattern and both store widths, and
 * its check of the working set failing the cell, naming the page and what
 * it holds instead, when a page does not hold what was written
 * (dirty.lose_page and dirty.lose_how, the check's self-test: each kind of
 * damage a migration can leave is named as such), and dirty.batch_ms
 * setting the schedule of a batch.
 * Correctness only: no figure is compared with a speed.
 */
#include <stdio.h>
#include <stdlib.h>
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

static void test_pattern(unsigned pat, unsigned store)
{
	char words[64], what[120];
	const struct hvb_record *bw, *gap, *lost;

	snprintf(words, sizeof(words), "param.dirty.pattern=%u param.dirty.store=%u", pat, store);
	TAP_EQ_INT(harness(words), HVB_EXIT_OK, "harness ran");
	bw = row("bandwidth"), gap = row("req_ns.max"), lost = row("lost_pages");
	snprintf(what, sizeof(what), "pattern %u: dirty rate achieved, MB/s, higher is better", pat);
	TAP_OK(bw && bw->value > 0 && !strcmp(bw->unit, "MB/s") && bw->better == HVB_HIGHER_IS_BETTER,
	       what);
	snprintf(what, sizeof(what), "pattern %u: the largest heartbeat gap, ns", pat);
	TAP_OK(gap && gap->value > 0 && !strcmp(gap->unit, "ns"), what);
	snprintf(what, sizeof(what), "pattern %u, %u-byte stores: no page lost (a zero is a row)",
		 pat, store);
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

/* dirty.lose_how's spoils, each named by the verdict as the kind of damage
 * it is (workloads/migrate/dirty.c loss_kind). */
static void test_loss_kinds(void)
{
	static const char *const kind[] = {
		"holds none of its generations", "holds an older generation",
		"is torn between two generations", "is zeros",
		"has 32-byte stores with their top half zero",
	};
	const struct hvb_record *st;
	char words[80], what[160];

	for (unsigned how = 0; how < sizeof(kind) / sizeof(kind[0]); how++) {
		snprintf(words, sizeof(words), "param.dirty.lose_page=5 param.dirty.lose_how=%u",
			 how);
		harness(words);
		st = capture_status(recs, n_recs, "migrate/dirty");
		snprintf(what, sizeof(what), "lose_how=%u: the verdict says page 4 %s", how,
			 kind[how]);
		TAP_OK(st && st->status == HVB_ST_FAILED && strstr(st->text, "page 4 (") &&
			       strstr(st->text, kind[how]),
		       what);
		if (st && !strstr(st->text, kind[how]))
			printf("# got: %.*s\n", (int)sizeof(st->text), st->text);
	}
}

static void test_store_width_checked(void)
{
	const struct hvb_record *st;

	harness("param.dirty.store=16");
	st = capture_status(recs, n_recs, "migrate/dirty");
	TAP_OK(st && strstr(st->text, "dirty.store is the bytes per store: 8 or 32"),
	       "dirty.store=16 is refused, saying the widths there are");
}

/* The HVB_REC_LOG line starting with prefix, or NULL. */
static const char *log_line(const char *prefix)
{
	for (unsigned i = 0; i < n_recs; i++)
		if (recs[i].type == HVB_REC_LOG && !strncmp(recs[i].text, prefix, strlen(prefix)))
			return recs[i].text;
	return NULL;
}

/* The writes slice k's log line counts (-1: no line). */
static long slice_writes(unsigned k)
{
	char prefix[40];
	const char *l, *comma;

	snprintf(prefix, sizeof(prefix), "slice of vCPU %u: ", k);
	l = log_line(prefix);
	comma = l ? strstr(l, ", ") : NULL;
	return comma ? strtol(comma + 2, NULL, 10) : -1;
}

/* vcpus=2: a writer on each CPU, each on its own slice, every page of
 * both verified; a lost page names the slice's vCPU. */
static void test_two_vcpus(void)
{
	const struct hvb_record *st;

	TAP_EQ_INT(harness("vcpus=2 param.dirty.pattern=1"), HVB_EXIT_OK, "vcpus=2: harness ran");
	TAP_OK(row("lost_pages") && row("lost_pages")->value == 0,
	       "vcpus=2: every page of both slices verified");
	TAP_OK(log_line("slice of vCPU 0: pages 0+128, ") && log_line("slice of vCPU 1: pages 128+128, "),
	       "vcpus=2: the working set split in two slices of 128 pages");
	TAP_OK(slice_writes(0) > 0 && slice_writes(1) > 0,
	       "vcpus=2: both vCPUs wrote their slice (counted from the pages' generations)");
	harness("vcpus=2 param.dirty.lose_page=200");
	st = capture_status(recs, n_recs, "migrate/dirty");
	TAP_OK(st && st->status == HVB_ST_FAILED && strstr(st->text, "page 199 (") &&
		       strstr(st->text, "of vCPU 1's slice"),
	       "vcpus=2: a page lost in slice 1 fails the cell naming vCPU 1");
	harness("vcpus=2 param.dirty.lose_page=5");
	st = capture_status(recs, n_recs, "migrate/dirty");
	TAP_OK(st && strstr(st->text, "page 4 (") && strstr(st->text, "of vCPU 0's slice"),
	       "vcpus=2: a page lost in slice 0 names vCPU 0");
	harness("vcpus=1");
	TAP_OK(!log_line("slice of vCPU"), "one vCPU: no slices, as before");
}

int main(void)
{
	for (unsigned p = 0; p < 3; p++)
		test_pattern(p, 8);
	test_pattern(0, 32);
	test_lost_page_fails_loudly();
	test_batch_ms();
	test_loss_kinds();
	test_store_width_checked();
	test_two_vcpus();
	return tap_done();
}
