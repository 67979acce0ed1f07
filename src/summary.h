/* The table `hvbench run` prints at the end: medians per workload and runner. */
#ifndef HVB_SUMMARY_H
#define HVB_SUMMARY_H

#include <stdio.h>

#include "results.h"

/* The metric that stands for the workload in this run: meta.csv's
 * primary.<workload> (written from the workload's kind, workload.h), else,
 * for older runs, the first of bandwidth, ops_per_s, ns_per_op, boot_ms it
 * has.  NULL if none. */
const char *hvb_primary_metric(const struct hvb_run *run, const char *workload);

/*
 * Print, for every workload, the median over repetitions of its primary
 * metric (hvb_primary_metric) under each runner, with the
 * ratio to native where native ran, then the failed cells with reasons and
 * a count of skipped ones.  Returns the number of failed cells.
 */
unsigned long hvb_summary_print(FILE *f, const struct hvb_run *run);

#endif
