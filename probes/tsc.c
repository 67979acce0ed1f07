#include "tsc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
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

/*
 * Linux registers the TSC as a clocksource only while it trusts it: a TSC
 * marked unstable early (unsynchronized between CPUs, stopping in deep idle)
 * is never registered, and one marked later loses CLOCK_SOURCE_VALID_FOR_HRES
 * and leaves available_clocksource (kernel/time/clocksource.c).  KVM keys
 * off the same verdict (check_tsc_unstable): on such a host it re-offsets a
 * guest's TSC at every vCPU load, so a guest's TSC is not the host's even
 * with its offset set to 0 ("kvm: SMP vm created on host with unstable TSC;
 * guest TSC will not be reliable").
 */
bool hvb_tsc_stable_in(const char *available)
{
	for (const char *p = available; (p = strstr(p, "tsc")); p += 3) {
		bool starts = p == available || isspace((unsigned char)p[-1]);
		bool ends = !p[3] || isspace((unsigned char)p[3]);

		if (starts && ends)
			return true;
	}
	return false;
}

#define CLOCKSOURCES "/sys/devices/system/clocksource/clocksource0/available_clocksource"

bool hvb_tsc_stable(char *why, size_t len)
{
	char buf[256] = "";
	FILE *f = fopen(CLOCKSOURCES, "r");
	bool stable;

	if (!f) {
		snprintf(why, len, "unknown: cannot read " CLOCKSOURCES ": %s", strerror(errno));
		return false;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	stable = hvb_tsc_stable_in(buf);
	snprintf(why, len, "%s: available clocksources '%s'%s",
		 stable ? "stable" : "unstable", buf,
		 stable ? "" : " (no tsc: Linux marked the TSC unstable)");
	return stable;
}
