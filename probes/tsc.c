#include "tsc.h"

#include <time.h>

static uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t raw_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t one_window(unsigned window_ms)
{
	uint64_t t0 = raw_ns(), c0 = rdtsc_ordered(), t1, c1;
	struct timespec d = { .tv_sec = window_ms / 1000, .tv_nsec = (window_ms % 1000) * 1000000L };

	nanosleep(&d, NULL);
	c1 = rdtsc_ordered();
	t1 = raw_ns();
	if (c1 <= c0 || t1 <= t0)
		return 0;
	return (uint64_t)((double)(c1 - c0) * 1e6 / (double)(t1 - t0) + 0.5);
}

uint64_t hvb_tsc_khz_measure(unsigned window_ms)
{
	uint64_t v[3], t;

	for (int i = 0; i < 3; i++)
		if (!(v[i] = one_window(window_ms)))
			return 0;
	if (v[0] > v[1])
		t = v[0], v[0] = v[1], v[1] = t;
	if (v[1] > v[2])
		t = v[1], v[1] = v[2], v[2] = t;
	if (v[0] > v[1])
		t = v[0], v[0] = v[1], v[1] = t;
	return v[1];
}
