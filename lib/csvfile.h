/*
 * CSV rows of result files (libcsv quoting) and the names of the status and
 * direction columns (results/FORMAT.md).  Shared by the writer (sink.h) and
 * the reader (results.h), and by commands that print CSV.
 */
#ifndef HVB_CSVFILE_H
#define HVB_CSVFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "hvb/abi.h"

/* The header rows of the data files (FORMAT.md). */
#define HVB_SAMPLES_COLS  10
#define HVB_COUNTERS_COLS 11
#define HVB_EXITS_COLS	  13
extern const char *const hvb_samples_header[HVB_SAMPLES_COLS];
extern const char *const hvb_counters_header[HVB_COUNTERS_COLS];
extern const char *const hvb_exits_header[HVB_EXITS_COLS];

/* Write one CSV row of n fields (libcsv quoting) to f.  0 or -errno of the
 * failed write (buffered: an error may also only show at fflush). */
int hvb_csv_write_row(FILE *f, const char *const *fields, size_t n);

/* The same row as text (malloc'ed, *len bytes, NUL-terminated), so that it
 * can be written whole with one write (sink.c). */
char *hvb_csv_format_row(const char *const *fields, size_t n, size_t *len);

/*
 * Parse a CSV file with libcsv (results/FORMAT.md, What readers accept),
 * calling row(arg, fields, n, line) for every record (line = 1-based line
 * where the record starts).  A non-zero return from row stops parsing and
 * is returned.  -errno on I/O errors, -EINVAL on malformed CSV (err says
 * where).  torn_line NULL: a last record without its line break is read
 * (or malformed, if a quote is open); else such a record is the torn tail
 * of a file whose writer died, dropped, and *torn_line is the line it
 * starts on (0 if there was none).
 */
int hvb_csv_read(const char *path, int (*row)(void *arg, char **fields, size_t n, long line),
		 void *arg, long *torn_line, char *err, size_t errlen);

/* Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF),
 * as Python decodes it: what every field of a result file must be. */
bool hvb_utf8_valid(const void *s, size_t n);

/*
 * The values a sample's unit allows (FORMAT.md): a time or a rate (ns,
 * cycles, ms, MB/s, ops/s) is finite and > 0; any other unit (a count,
 * bytes) finite and >= 0.  Shared by the writer, the record validator and
 * the reader.
 */
bool hvb_unit_positive(const char *unit);
bool hvb_value_valid(const char *unit, double v);

const char *hvb_status_name(enum hvb_status st);
int hvb_status_parse(const char *s, enum hvb_status *out);
const char *hvb_better_name(int better);

#endif
