/* The table `hvbench run` prints at the end: medians per workload and runner. */
#ifndef HVB_SUMMARY_H
#define HVB_SUMMARY_H

#include <stdio.h>

#include "results.h"

/*
 * Print, for every workload, the median over repetitions of its primary
 * metric (bandwidth, ops_per_s, else ns_per_op) under each runner, with the
 * ratio to native where native ran, then the failed cells with reasons and
 * a count of skipped ones.  Returns the number of failed cells.
 */
unsigned long hvb_summary_print(FILE *f, const struct hvb_run *run);

#endif
