/* TSC frequency, measured (not taken from model names or cpufreq). */
#ifndef HVB_TSC_H
#define HVB_TSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Measure the TSC frequency in kHz against CLOCK_MONOTONIC_RAW: three
 * windows of `window_ms`, median of the three.  0 if the TSC is unusable
 * (not monotonic across the windows).
 */
uint64_t hvb_tsc_khz_measure(unsigned window_ms);

/*
 * Whether Linux trusts this host's TSC (a "tsc" word in
 * available_clocksource; see tsc.c for why that is the verdict KVM acts
 * on).  why: the evidence read, either way.  Unreadable: false.
 */
bool hvb_tsc_stable(char *why, size_t len);
/* The same verdict on the text of available_clocksource. */
bool hvb_tsc_stable_in(const char *available);

#endif
