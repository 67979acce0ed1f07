/*
 * The interrupt micro-benchmarks natively (workloads/micro/irq.c over
 * workloads/native/irq.c) and the harness's request parts (rt_req_part):
 *   - a part's <name>.p50/.p99 are over the measured batches' values only,
 *     reset per repetition; a part without a name is ignored
 *   - micro/ipi-self, micro/ipi, micro/ipi-halted, micro/timer-latency run
 *     through the real harness with signals between pinned threads: ok
 *     rows, deliver_ns <= req_ns, the note names the mechanism
 *   - exactly once: a signal nobody sent (another thread sends SELF to the
 *     harness's thread meanwhile) fails the cell with the counts; a send
 *     that never arrives (its signal ignored) fails it as lost, no hang
 *   - the skips: one CPU (ipi), no native analogue (apic-read, io-kick)
 * The real TSC frequency is measured here: the workloads wait in TSC time.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "native/rt_native.h"
#include "harness_capture.h"
#include "tap.h"

#define MAX_RECS 8192

static struct hvb_record recs[MAX_RECS];
static unsigned n_recs;
static uint64_t counter;
static uint64_t tsc_khz;

/* Request i: req i, part 0 = 2i, part 1 (unnamed) = 7. */
static void run_parts(struct hvb_ctx *c, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++, counter++) {
		rt_req_time(c, counter);
		rt_req_part(c, 0, 2 * counter);
		rt_req_part(c, 1, 7);
	}
}

static const struct hvb_workload w_parts = {
	.name = "test/req-parts",
	.desc = "rt_req_part(0, 2i), part 1 unnamed",
	.run = run_parts,
	.fixed_ops = 100,
	.per_request = true,
	.req_parts = { "double_ns" },
};
HVB_WORKLOAD(w_parts);

static uint64_t measure_tsc_khz(void)
{
	struct timespec a, b;
	uint64_t t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &a);
	t0 = rt_tsc_begin();
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 50000000L);
	t1 = rt_tsc_end();
	return (t1 - t0) * 1000000u /
	       (uint64_t)((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec));
}

static int harness_khz(const char *words, uint64_t khz)
{
	char cmdline[512];

	snprintf(cmdline, sizeof(cmdline), "env=native tsc_khz=%llu goal_us=2000 %s",
		 (unsigned long long)khz, words);
	return harness_capture(cmdline, recs, MAX_RECS, &n_recs);
}

static int harness(const char *words)
{
	return harness_khz(words, tsc_khz);
}

static double value(const char *w, const char *metric, unsigned rep)
{
	const struct hvb_record *r = capture_sample(recs, n_recs, w, metric, rep);

	return r ? r->value : -1;
}

static const char *status_text(const char *w, enum hvb_status st)
{
	const struct hvb_record *r = capture_status(recs, n_recs, w);

	return r && r->status == (int32_t)st ? r->text : NULL;
}

/* 4 batches of 100 after a warm-up of 100: rep 0 holds requests
 * 100..499, rep 1 500..899. */
static void test_parts(void)
{
	counter = 0;
	TAP_EQ_INT(harness_khz("w=test/req-parts batches=4 reps=2", 1000000), HVB_EXIT_OK,
		   "harness ran test/req-parts");
	TAP_OK(value("test/req-parts", "double_ns.p50", 0) == 2 * 299.5,
	       "part p50 over the measured batches only (warm-up not kept)");
	TAP_OK(value("test/req-parts", "double_ns.p99", 0) == 2 * (100 + 0.99 * 399),
	       "part p99 interpolated like req_ns");
	TAP_OK(value("test/req-parts", "double_ns.p50", 1) == 2 * 699.5,
	       "parts reset per repetition");
	TAP_OK(value("test/req-parts", "req_ns.p50", 0) == 299.5, "req_ns unchanged beside parts");
	TAP_OK(!capture_sample(recs, n_recs, "test/req-parts", "(null).p50", 0),
	       "an unnamed part emits nothing");
}

static void check_ok_ipi(const char *w, bool split)
{
	double req = value(w, "req_ns.p50", 0), del = value(w, "deliver_ns.p50", 0);
	const struct hvb_record *r = capture_sample(recs, n_recs, w, "ns_per_op", 0);
	char what[96];

	snprintf(what, sizeof(what), "%s: ok, req_ns.p50 %.0f ns", w, req);
	TAP_OK(r && req > 0 && !capture_status(recs, n_recs, w), what);
	TAP_OK(r && strstr(r->text, "native: signals (tgkill)"), "... the note names the mechanism");
	if (split) {
		snprintf(what, sizeof(what), "... deliver_ns.p50 %.0f <= req_ns.p50, p99 too", del);
		TAP_OK(del > 0 && del <= req &&
			       value(w, "deliver_ns.p99", 0) <= value(w, "req_ns.p99", 0),
		       what);
	}
}

static void test_native_ipis(void)
{
	TAP_EQ_INT(harness("w=micro/ipi-self,micro/ipi,micro/ipi-halted,micro/timer-latency,"
			   "micro/timer-arm reps=1 batches=3 quick=1 vcpus=2 cpus=0,1"),
		   HVB_EXIT_OK, "harness ran the native interrupt benchmarks");
	check_ok_ipi("micro/ipi-self", true);
	check_ok_ipi("micro/ipi", true);
	check_ok_ipi("micro/ipi-halted", true);
	TAP_OK(value("micro/timer-latency", "req_ns.p50", 0) >= 0 &&
		       value("micro/timer-latency", "req_ns.p99", 0) >=
			       value("micro/timer-latency", "req_ns.p50", 0),
	       "micro/timer-latency: req_ns p50 <= p99");
	TAP_OK(value("micro/timer-arm", "ns_per_op", 0) > 0 &&
		       !capture_status(recs, n_recs, "micro/timer-arm"),
	       "micro/timer-arm: ok (each far deadline fired exactly once, untimed)");
	rt_native_cpus_end();
}

static void test_skips(void)
{
	const char *t;

	harness("w=micro/ipi,micro/apic-read,micro/io-kick,micro/virq-inject reps=1 batches=2 "
		"quick=1");
	t = status_text("micro/ipi", HVB_ST_SKIPPED);
	TAP_OK(t && strstr(t, "second CPU") && strstr(t, "--vcpus 2"),
	       "micro/ipi on one CPU: skipped, saying to run with --vcpus 2");
	t = status_text("micro/apic-read", HVB_ST_SKIPPED);
	TAP_OK(t && !strncmp(t, "no native analogue", 18), "micro/apic-read: no native analogue");
	t = status_text("micro/io-kick", HVB_ST_SKIPPED);
	TAP_OK(t && !strncmp(t, "no native analogue", 18), "micro/io-kick: no native analogue");
	t = status_text("micro/virq-inject", HVB_ST_SKIPPED);
	TAP_OK(t && !strncmp(t, "no native analogue", 18), "micro/virq-inject: no native analogue");
}

/* ------------------------------------------------------------ exactly once */

static volatile int storm_stop;
static pid_t harness_tid;

/* SELF signals the harness thread never sent, every 50 us. */
static void *storm(void *arg)
{
	(void)arg;
	while (!storm_stop) {
		syscall(SYS_tgkill, getpid(), harness_tid, SIGRTMIN + RT_IRQ_SELF);
		usleep(50);
	}
	return NULL;
}

static void test_unsent_fails(void)
{
	pthread_t t;
	const char *why;

	harness_tid = (pid_t)syscall(SYS_gettid);
	storm_stop = 0;
	pthread_create(&t, NULL, storm, NULL);
	harness("w=micro/ipi-self reps=1 batches=3 quick=1");
	storm_stop = 1;
	pthread_join(t, NULL);
	rt_irq_enable(true); /* what the storm left pending arrives now, not in a later cell */
	rt_irq_enable(false);
	why = status_text("micro/ipi-self", HVB_ST_FAILED);
	TAP_OK(why && strstr(why, "CPU 0 SELF"), "SELF signals nobody sent fail the cell, naming them");
	if (why)
		printf("# %s\n", why);
	TAP_OK(!capture_sample(recs, n_recs, "micro/ipi-self", "req_ns.p50", 0),
	       "... and it has no samples");
}

static void test_lost_fails(void)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	struct timespec a, b;
	const char *why;

	sigaction(SIGRTMIN + RT_IRQ_SELF, &ign, &old); /* the handlers are installed by now */
	clock_gettime(CLOCK_MONOTONIC, &a);
	harness("w=micro/ipi-self reps=1 batches=3 quick=1");
	clock_gettime(CLOCK_MONOTONIC, &b);
	sigaction(SIGRTMIN + RT_IRQ_SELF, &old, NULL);
	why = status_text("micro/ipi-self", HVB_ST_FAILED);
	TAP_OK(why && strstr(why, "did not arrive") && strstr(why, "lost"),
	       "a self-IPI that never arrives fails the cell as lost");
	TAP_OK(b.tv_sec - a.tv_sec < 10, "... after its bounded wait, not a hang");
	harness("w=micro/ipi-self reps=1 batches=3 quick=1");
	TAP_OK(value("micro/ipi-self", "req_ns.p50", 0) > 0, "the next run measures again");
}

int main(void)
{
	tsc_khz = measure_tsc_khz();
	printf("# TSC %llu kHz\n", (unsigned long long)tsc_khz);
	test_parts();
	test_native_ipis();
	test_skips();
	test_unsent_fails();
	test_lost_fails();
	return tap_done();
}
