/*
 * rt_sleep_until natively: clock_nanosleep to an absolute CLOCK_MONOTONIC
 * time, so an idle svc/ worker gives its CPU away as a real server does and
 * wakes when the kernel's timer says (the wake-up delay is then part of a
 * request's queue time, natively as in a guest that halts).
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <time.h>

#include "workload.h"

static uint64_t tsc_now(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* The default 50 us of timer slack would add itself to every wake-up. */
static void tight_timer_slack(void)
{
	static bool done;

	if (!done)
		prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	done = true;
}

int rt_sleep_until(uint64_t deadline)
{
	uint64_t now = tsc_now(), ns;
	struct timespec ts;

	if (deadline <= now || !rt_tsc_khz())
		return 0;
	tight_timer_slack();
	ns = (uint64_t)((unsigned __int128)(deadline - now) * 1000000u / rt_tsc_khz());
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns += (uint64_t)ts.tv_nsec;
	ts.tv_sec += (time_t)(ns / 1000000000u);
	ts.tv_nsec = (long)(ns % 1000000000u);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		; /* a signal (micro/ workloads' handlers): the deadline stands */
	return 0;
}
