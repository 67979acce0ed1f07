/*
 * svc/: service-style workloads.  svc/open-loop is a latency probe whose
 * requests arrive on a fixed schedule (open-loop.rate per second, from the
 * TSC), whatever the worker is doing: a stalled VM shows up as latency of
 * the requests that arrived meanwhile, not as fewer requests (no
 * coordinated omission).  The accounting is sched.c; this file is the
 * environment around it: the clock (TSC), how an idle worker waits, the
 * work one request costs, the injected stall.
 *
 * Waiting, one of (the note says which):
 *   native       rt_sleep_until: clock_nanosleep(TIMER_ABSTIME)
 *   guest + IRQ  the one-shot timer (rt_timer_arm) and a halt with
 *                interrupts on (rt_irq_wait), after a check at setup that
 *                the timer fires
 *   otherwise    a pause loop on the TSC
 * Whatever wakes the worker late is part of the request's queue time.
 */
#include "sched.h"
#include "workload.h"

#define BATCH_MS       100	/* a batch covers this much schedule, whatever the rate */
#define CAL_ROUNDS     4096	/* work rounds timed per calibration pass */
#define CAL_PASSES     32	/* the fastest pass counts: 32 x ~18 us spans a sibling's burst */
#define TIMER_CHECK_US 100	/* setup: the timer must fire this far ahead ... */
#define TIMER_CHECK_MS 2000	/* ... within this long (rt_irq_wait's spin bound) */

enum wait_mode { WAIT_SLEEP, WAIT_TIMER, WAIT_SPIN };

static struct {
	enum wait_mode wait;
	uint64_t rounds;	/* work rounds per request (calibrated) */
	uint64_t seq;		/* requests served in this cell: the stall counter */
	struct svc_stall stall;
	uint64_t rate;
	uint64_t sink;		/* the work's result, kept */
	char note[HVB_TEXT_MAX];
	struct hvb_ctx *ctx;	/* of the batch being served (record) */
} ol;

static uint64_t us_ticks(uint64_t us)
{
	return us * rt_tsc_khz() / 1000;
}

/* ------------------------------------------------------------ the work */

/* One request's computation: rounds of xorshift64*, the same instructions
 * everywhere (no memory traffic, no exits). */
static uint64_t work(uint64_t rounds, uint64_t x)
{
	for (uint64_t i = 0; i < rounds; i++)
		x = rt_rand(&x) | 1;
	return x;
}

/* Rounds that take work_ns here: the fastest of CAL_PASSES timed passes. */
static uint64_t calibrate_rounds(uint64_t work_ns)
{
	uint64_t best = ~0ull, x = 0x9e3779b97f4a7c15ull;

	if (!work_ns)
		return 0;
	for (unsigned p = 0; p < CAL_PASSES; p++) {
		uint64_t t0 = rt_tsc_begin();

		x = work(CAL_ROUNDS, x);
		t0 = rt_tsc_end() - t0;
		if (t0 < best)
			best = t0;
	}
	rt_keep(x);
	if (!best)
		best = 1;
	/* rounds = work_ns / (ns per round), ns per round = best / khz * 1e6 / CAL_ROUNDS */
	return (uint64_t)((unsigned __int128)work_ns * CAL_ROUNDS * rt_tsc_khz() /
			  ((unsigned __int128)best * 1000000u)) ?: 1;
}

/* ------------------------------------------------------------ waiting */

static void spin_until(uint64_t deadline)
{
	while (rt_tsc_end() < deadline)
		__asm__ volatile("pause" ::: "memory");
}

static void timer_wait(uint64_t deadline)
{
	uint64_t seen = rt_irq_count(0, RT_IRQ_TIMER);

	rt_timer_arm(deadline);
	rt_irq_wait(RT_IRQ_TIMER, seen, true);
}

/* A guest's one-shot timer, if it fires here: armed TIMER_CHECK_US ahead,
 * it must arrive within TIMER_CHECK_MS (a spinning wait, which ends). */
static bool timer_works(const char **why)
{
	struct rt_irq_info info;
	uint64_t seen;

	if (rt_irq_open(&info, why) < 0)
		return false;
	if (!info.timer) {
		*why = "no one-shot timer that counts";
		return false;
	}
	rt_irq_enable(true);
	seen = rt_irq_count(0, RT_IRQ_TIMER);
	rt_timer_arm(rt_tsc_begin() + us_ticks(TIMER_CHECK_US));
	rt_irq_wait(RT_IRQ_TIMER, seen, false);
	rt_irq_enable(false);
	if (rt_irq_count(0, RT_IRQ_TIMER) > seen)
		return true;
	*why = "the one-shot timer did not fire within 2000 ms";
	return false;
}

static enum wait_mode choose_wait(const struct hvb_ctx *c, const char **how)
{
	const char *why = 0;

	if (c->native) {
		*how = "wait clock_nanosleep";
		return WAIT_SLEEP;
	}
	if (rt_has(HVB_CAP_IRQ, &why) && timer_works(&why)) {
		*how = "wait timer+hlt";
		return WAIT_TIMER;
	}
	*how = "wait spin (no HVB_CAP_IRQ)";
	if (rt_has(HVB_CAP_IRQ, 0)) { /* granted, yet the timer check failed */
		rt_log(why);
		*how = "wait spin (timer failed at setup)";
	}
	return WAIT_SPIN;
}

/* ------------------------------------------------------------ the sched.c environment */

static uint64_t env_now(void *arg)
{
	(void)arg;
	return rt_tsc_end();
}

static void env_wait(void *arg, uint64_t deadline)
{
	(void)arg;
	switch (ol.wait) {
	case WAIT_SLEEP:
		(void)rt_sleep_until(deadline);
		return;
	case WAIT_TIMER:
		timer_wait(deadline);
		return;
	case WAIT_SPIN:
		break;
	}
	spin_until(deadline);
}

static void env_stall(void *arg, uint64_t ticks)
{
	(void)arg;
	spin_until(rt_tsc_end() + ticks);
}

static void env_serve(void *arg, uint64_t seq)
{
	(void)arg;
	ol.sink ^= work(ol.rounds, seq | 1);
}

static void env_record(void *arg, const struct svc_req *r)
{
	(void)arg;
	rt_req_time(ol.ctx, svc_latency(r));
	rt_req_part(ol.ctx, 0, svc_queue(r));
	rt_req_part(ol.ctx, 1, svc_service(r));
}

/* ------------------------------------------------------------ the workload */

static size_t note_num(size_t at, const char *label, uint64_t v, const char *unit)
{
	at = rt_text_str(ol.note, sizeof(ol.note), at, label);
	at = rt_text_dec(ol.note, sizeof(ol.note), at, v);
	return rt_text_str(ol.note, sizeof(ol.note), at, unit);
}

/* "2000/s; work 2000ns=448r; wait timer+hlt; stall 2000us/500": short, the
 * request count goes before it in a 96-byte note (HVB_TEXT_MAX). */
static void make_note(uint64_t work_ns, const char *how)
{
	size_t at = note_num(0, "", ol.rate, "/s; work ");

	at = note_num(at, "", work_ns, "ns=");
	at = note_num(at, "", ol.rounds, "r; ");
	at = rt_text_str(ol.note, sizeof(ol.note), at, how);
	if (ol.stall.every) {
		at = note_num(at, "; stall ", ol.stall.ticks * 1000 / rt_tsc_khz(), "us/");
		note_num(at, "", ol.stall.every, "");
	}
}

static int setup_open_loop(struct hvb_ctx *c, const char **why)
{
	const char *how = "";
	uint64_t work_ns = rt_param(c, "work_ns");

	(void)why;
	ol.rate = rt_param(c, "rate");
	ol.stall.every = rt_param(c, "stall_every");
	ol.stall.ticks = us_ticks(rt_param(c, "stall_us"));
	if (!ol.stall.ticks)
		ol.stall.every = 0;
	ol.seq = 0;
	ol.wait = choose_wait(c, &how);
	ol.rounds = calibrate_rounds(work_ns);
	/* A fixed schedule per batch: the rate decides n, not the speed. */
	c->fixed_ops = ol.rate * BATCH_MS / 1000 ?: 1;
	make_note(work_ns, how);
	c->note = ol.note;
	return 0;
}

static void before_open_loop(struct hvb_ctx *c, uint64_t n)
{
	(void)c, (void)n;
	if (ol.wait == WAIT_TIMER)
		rt_irq_enable(true);
}

static void after_open_loop(struct hvb_ctx *c, uint64_t n)
{
	(void)c, (void)n;
	if (ol.wait == WAIT_TIMER)
		rt_irq_enable(false);
}

static void run_open_loop(struct hvb_ctx *c, uint64_t n)
{
	const struct svc_env env = {
		.now = env_now, .wait_until = env_wait, .stall = env_stall,
		.serve = env_serve, .record = env_record,
	};
	struct svc_sched s = { .t0 = rt_tsc_end(), .hz = rt_tsc_khz() * 1000, .rate = ol.rate };

	ol.ctx = c;
	rt_req_count(c, svc_serve(&s, &ol.stall, ol.seq, n, &env));
	ol.seq += n;
	rt_keep(ol.sink);
}

static const struct hvb_workload w_open_loop = {
	.name = "svc/open-loop",
	.desc = "one request on a fixed schedule (open-loop.rate/s), latency from its "
		"scheduled arrival: no coordinated omission",
	.kind = HVB_KIND_RATE,
	/* Asks the runners to probe interrupt delivery (the timer wait);
	 * without it the worker spins, and the note says so. */
	.needs = HVB_CAP_IRQ,
	.setup = setup_open_loop,
	.before_batch = before_open_loop,
	.run = run_open_loop,
	.after_batch = after_open_loop,
	.per_request = true,
	.req_parts = { "queue_ns", "service_ns" },
	.req_count = "late",
	.params = {
		{ "rate", 2000, 1, 1000000, "req/s", "requests per second, on a fixed schedule" },
		{ "work_ns", 2000, 0, 10000000, "ns",
		  "service work per request, calibrated at setup to take this long here" },
		{ "stall_us", 0, 0, 10000000, "us",
		  "test hook: the worker busy-waits this long before every stall_every-th request" },
		{ "stall_every", 0, 0, 100000000, "requests",
		  "test hook: period of the injected stall in requests (0: none)" },
	},
};
HVB_WORKLOAD(w_open_loop);
