/*
 * svc/open-loop's accounting (workloads/svc/sched.c) against a synthetic
 * clock: every request is served on its schedule, none is skipped, and an
 * injected stall of S at request k gives k the latency S + W and the
 * backlog behind it exactly the latencies an open-loop client sees
 * (coordinated omission would count fewer requests, or count the backlog
 * from when the worker got to it).
 *
 * Clock: 1 tick = 1 ns (hz 1e9).  rate 2000/s: period P = 500000.  Work W
 * = 200000 per request, stall S = 1200000 (> 2P): the stall at request k
 * delays k and the next requests until the backlog is worked off.
 */
#include <stdio.h>
#include <string.h>

#include "svc/sched.h"
#include "tap.h"

#define HZ 1000000000ull
#define RATE 2000ull
#define P (HZ / RATE)
#define W 200000ull
#define S 1200000ull
#define N 40
#define K 9 /* the stalled request: seq 9 with every = 10 */

struct fake {
	uint64_t t;		/* the synthetic clock */
	uint64_t waits;		/* wait_until calls */
	uint64_t stalls;	/* stall calls */
	uint64_t served[N];	/* seq of each request served, in order */
	unsigned n_served;
	struct svc_req rec[N];	/* what was recorded, in order */
	unsigned n_rec;
	bool early;		/* wait_until wakes 1 tick early once per wait */
};

static uint64_t f_now(void *a)
{
	return ((struct fake *)a)->t;
}

static void f_wait(void *a, uint64_t deadline)
{
	struct fake *f = a;

	f->waits++;
	if (f->early && f->t + 1 < deadline && !(f->waits & 1)) {
		f->t = deadline - 1; /* an early wake-up: the loop must wait again */
		return;
	}
	if (f->t < deadline)
		f->t = deadline;
}

static void f_stall(void *a, uint64_t ticks)
{
	struct fake *f = a;

	f->stalls++;
	f->t += ticks;
}

static void f_serve(void *a, uint64_t seq)
{
	struct fake *f = a;

	if (f->n_served < N)
		f->served[f->n_served++] = seq;
	f->t += W;
}

static void f_record(void *a, const struct svc_req *r)
{
	struct fake *f = a;

	if (f->n_rec < N)
		f->rec[f->n_rec++] = *r;
}

static uint64_t run(struct fake *f, uint64_t t0, const struct svc_stall *st, uint64_t seq0)
{
	const struct svc_env env = { f_now, f_wait, f_stall, f_serve, f_record, f };
	const struct svc_sched s = { .t0 = t0, .hz = HZ, .rate = RATE };

	f->t = t0;
	return svc_serve(&s, st, seq0, N, &env);
}

/* Expected latency of request i with a stall S before every 10th request
 * (seq 9, 19, ...): the worker is done with a request at start + W; each
 * request starts when the previous one is done, or at its arrival if the
 * backlog is gone, plus S if it is stalled. */
static uint64_t expected_latency(unsigned i)
{
	uint64_t done = 0;

	for (unsigned j = 0;; j++) {
		uint64_t arrival = j * P, start = done > arrival ? done : arrival;

		if ((j + 1) % 10 == 0)
			start += S;
		done = start + W;
		if (j == i)
			return done - arrival;
	}
}

static void test_schedule(void)
{
	struct svc_sched s = { .t0 = 1000, .hz = HZ, .rate = RATE };
	struct svc_sched odd = { .t0 = 0, .hz = 2400000000ull, .rate = 7 };

	TAP_EQ_INT(svc_arrival(&s, 0), 1000, "request 0 arrives at t0");
	TAP_EQ_INT(svc_arrival(&s, 3), 1000 + 3 * P, "request i arrives at t0 + i/rate");
	TAP_EQ_INT(svc_period(&s), P, "period: hz / rate");
	/* 2.4 GHz / 7 is not whole: arrival(i) is i * hz / rate, not i * period */
	TAP_EQ_INT(svc_arrival(&odd, 7000000), 2400000000ull * 1000000ull,
		   "no accumulated rounding: 1e6 s of 7/s arrives at exactly 1e6 s");
}

static void test_no_stall(void)
{
	const struct svc_stall none = { 0, 0 };
	struct fake f = { 0 };
	bool all_w = true, on_time = true;

	TAP_EQ_INT(run(&f, 5000, &none, 0), 0, "no stall: no request late");
	TAP_EQ_INT(f.n_rec, N, "no stall: every request recorded");
	for (unsigned i = 0; i < N; i++) {
		all_w &= svc_latency(&f.rec[i]) == W && svc_service(&f.rec[i]) == W;
		on_time &= svc_queue(&f.rec[i]) == 0 && f.rec[i].arrival == 5000 + i * P;
	}
	TAP_OK(all_w, "no stall: latency = service = W for every request");
	TAP_OK(on_time, "no stall: each request starts at its arrival (queue 0)");
	TAP_EQ_INT(f.stalls, 0, "no stall: the hook never ran");
	TAP_EQ_INT(f.t, 5000 + N * P, "no stall: the batch lasts N periods (ends at arrival N)");
}

static void test_stall(void)
{
	const struct svc_stall st = { .every = 10, .ticks = S };
	struct fake f = { 0 };
	bool exact = true, parts = true, order = true;
	uint64_t late = run(&f, 0, &st, 0), want_late = 0;

	TAP_EQ_INT(f.n_rec, N, "stall: no request dropped (all 40 recorded)");
	TAP_EQ_INT(f.n_served, N, "stall: every request served");
	TAP_EQ_INT(f.stalls, N / 10, "stall: at seq 9, 19, 29, 39");
	TAP_OK(svc_latency(&f.rec[K]) >= S, "stalled request: latency >= the stall");
	TAP_EQ_INT(svc_latency(&f.rec[K]), S + W, "stalled request: latency S + W exactly");
	TAP_EQ_INT(svc_queue(&f.rec[K]), S, "stalled request: the stall is queue time");
	/* The backlog: K+1 arrived at (K+1)P, starts at KP + S + W. */
	TAP_EQ_INT(svc_latency(&f.rec[K + 1]), S + 2 * W - P, "K+1: S + 2W - P");
	TAP_EQ_INT(svc_latency(&f.rec[K + 2]), S + 3 * W - 2 * P, "K+2: S + 3W - 2P");
	TAP_EQ_INT(svc_latency(&f.rec[K + 3]), S + 4 * W - 3 * P, "K+3: S + 4W - 3P");
	TAP_EQ_INT(svc_latency(&f.rec[K + 4]), W, "K+4: backlog gone, latency W again");
	TAP_EQ_INT(svc_latency(&f.rec[K - 1]), W, "before the stall: latency W");
	for (unsigned i = 0; i < N; i++) {
		exact &= svc_latency(&f.rec[i]) == expected_latency(i);
		parts &= svc_queue(&f.rec[i]) + svc_service(&f.rec[i]) == svc_latency(&f.rec[i]);
		order &= f.rec[i].i == i && f.served[i] == i;
		want_late += svc_queue(&f.rec[i]) > P;
	}
	TAP_OK(exact, "every request's latency as the open-loop model says");
	TAP_OK(parts, "queue + service == latency for every request");
	TAP_OK(order, "requests served and recorded in order, none skipped");
	/* late: K (queue S), K+1 (S+W-P), K+2 (S+2W-2P = 600000 > P); K+3
	 * (300000) not; the stall at seq 39 ends the batch: no backlog. */
	TAP_EQ_INT(late, 3 + 3 + 3 + 1, "late (queue > one period): 3 per stall, 1 for the last");
	TAP_EQ_INT(late, want_late, "late agrees with the recorded queue times");
	TAP_EQ_INT(f.t, 39 * P + S + W, "stalled last request: the batch ends when it is done");
}

/* seq0 carries the stall count over batches: with every 10 and batches
 * of 40 starting at seq 35, the stalls fall at batch index 4, 14, ... */
static void test_seq0(void)
{
	const struct svc_stall st = { .every = 10, .ticks = S };
	struct fake f = { 0 };

	(void)run(&f, 0, &st, 35);
	TAP_EQ_INT(svc_queue(&f.rec[4]), S, "seq0 35: the stall at index 4 (seq 39)");
	TAP_EQ_INT(svc_queue(&f.rec[3]), 0, "seq0 35: index 3 (seq 38) on time");
	TAP_OK(svc_stalled(&st, 9) && !svc_stalled(&st, 10) && !svc_stalled(&st, 0),
	       "svc_stalled: every 10th (seq 9, 19, ...)");
}

/* A wait that wakes early is waited again: no request starts before its
 * arrival. */
static void test_early_wake(void)
{
	const struct svc_stall none = { 0, 0 };
	struct fake f = { .early = true };
	bool never_early = true;

	(void)run(&f, 0, &none, 0);
	for (unsigned i = 0; i < N; i++)
		never_early &= f.rec[i].start >= f.rec[i].arrival && svc_queue(&f.rec[i]) == 0;
	TAP_OK(never_early, "early wake-ups: each request still starts at its arrival");
	TAP_OK(f.waits > N, "early wake-ups: the loop waited again");
}

int main(void)
{
	test_schedule();
	test_no_stall();
	test_stall();
	test_seq0();
	test_early_wake();
	return tap_done();
}
