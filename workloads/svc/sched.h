/*
 * The open-loop schedule and its latency accounting (svc/open-loop), kept
 * apart from every clock so that a host unit test can drive it with a
 * synthetic one (tests/unit/test_svc_sched.c).
 *
 * Requests arrive on a fixed schedule, not when the worker is ready for
 * them: request i of a batch arrives at t0 + i * hz / rate.  A request's
 * latency is counted from its scheduled arrival, so a worker that stalls
 * (a descheduled vCPU, an injected stall) shows the stall as latency of
 * every request that arrived meanwhile, and serves that backlog back to
 * back; none is skipped (no coordinated omission).
 *
 * Freestanding: compiled with the workloads (WORKLOAD_CFLAGS).
 */
#ifndef HVB_SVC_SCHED_H
#define HVB_SVC_SCHED_H

#include <stdbool.h>
#include <stdint.h>

/* The schedule of one batch. */
struct svc_sched {
	uint64_t t0;   /* clock value at which request 0 arrives */
	uint64_t hz;   /* clock ticks per second (TSC: tsc_khz * 1000) */
	uint64_t rate; /* requests per second, >= 1 */
};

/* The injected stall (a test hook): before serving every `every`-th
 * request of the cell (counted over batches: seq0 + i + 1 a multiple of
 * `every`), the worker is busy for `ticks`.  every == 0: never. */
struct svc_stall {
	uint64_t every, ticks;
};

/* One request's stamps (clock ticks). */
struct svc_req {
	uint64_t i;	  /* index in its batch */
	uint64_t arrival; /* scheduled arrival */
	uint64_t start;	  /* the worker began it (after any wait and stall) */
	uint64_t done;	  /* completion */
	bool late;	  /* began more than one period after its arrival */
};

/* What the serving loop needs from its environment; arg is passed back. */
struct svc_env {
	uint64_t (*now)(void *arg);
	/* Return at or after `deadline`, or earlier (the loop waits again). */
	void (*wait_until)(void *arg, uint64_t deadline);
	void (*stall)(void *arg, uint64_t ticks); /* busy for ticks */
	void (*serve)(void *arg, uint64_t seq);	  /* one request's work */
	void (*record)(void *arg, const struct svc_req *r);
	void *arg;
};

/* Scheduled arrival of request i (exact: no accumulated rounding). */
uint64_t svc_arrival(const struct svc_sched *s, uint64_t i);

/* Ticks between two arrivals (rounded down). */
uint64_t svc_period(const struct svc_sched *s);

/* Is the request with cell sequence number seq (0-based) stalled? */
bool svc_stalled(const struct svc_stall *st, uint64_t seq);

/*
 * Serve requests 0..n-1 of the batch s (the cell's seq0..seq0+n-1): wait
 * for each one's arrival unless it is already due, stall where st says,
 * serve it, and record its stamps; then wait until the arrival of request n
 * (the batch lasts n periods at least).  Returns how many were late.
 */
uint64_t svc_serve(const struct svc_sched *s, const struct svc_stall *st, uint64_t seq0,
		   uint64_t n, const struct svc_env *env);

/* The latency of r and its two parts: queue (arrival -> start) and service
 * (start -> completion); queue + service == latency. */
static inline uint64_t svc_latency(const struct svc_req *r)
{
	return r->done - r->arrival;
}

static inline uint64_t svc_queue(const struct svc_req *r)
{
	return r->start - r->arrival;
}

static inline uint64_t svc_service(const struct svc_req *r)
{
	return r->done - r->start;
}

#endif
