/*
 * Machine-readable views of a result directory (results/FORMAT.md "JSON
 * output"): the run document `hvbench run --format json` and `hvbench
 * export --format json` print, and the JSON Lines sample export of
 * `hvbench export --format jsonl`.  Both read a run hvb_run_read() read.
 */
#ifndef HVB_EXPORT_H
#define HVB_EXPORT_H

#include <stdio.h>

#include "json_out.h"
#include "results.h"

#define HVB_RUN_DOC_SCHEMA    "hvbench-run/1"
#define HVB_SAMPLE_LINE_SCHEMA "hvbench-sample/1"

/* The run's status in a document: complete, interrupted, or partial (a run
 * whose writer failed or died: meta status failed or running). */
const char *hvb_export_status(const struct hvb_run *run);

/* Write one run document (schema hvbench-run/1) to j: the run, and per
 * cell (runner, workload) its status and the median of its primary metric
 * with unit, direction and slowdown vs native. */
void hvb_export_run_doc(struct hvb_json *j, const struct hvb_run *run);

/* Read the run in dir (incomplete ones too) and write its run document,
 * pretty, to f: what `hvbench run --format json` prints at its end.  A run
 * that cannot be read back still gets a document (status partial, no
 * cells, the reader's error in warnings), so the caller's standard output
 * is always one document.  0, or -1 if it could not be read. */
int hvb_export_run_dir(FILE *f, const char *dir, const char *run_id);

/* Write one JSON line (schema hvbench-sample/1) per samples.csv row to f.
 * Returns the number of lines. */
size_t hvb_export_samples(FILE *f, const struct hvb_run *run);

#endif
