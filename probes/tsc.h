/* TSC frequency, measured (not taken from model names or cpufreq). */
#ifndef HVB_TSC_H
#define HVB_TSC_H

#include <stdint.h>

/*
 * Measure the TSC frequency in kHz against CLOCK_MONOTONIC_RAW: three
 * windows of `window_ms`, median of the three.  0 if the TSC is unusable
 * (not monotonic across the windows).
 */
uint64_t hvb_tsc_khz_measure(unsigned window_ms);

#endif
