/*
 * CSV rows (libcsv) and the status and direction names of result files
 * (results/FORMAT.md): shared by the result writer (sink.c) and the reader
 * (results.c).
 */
#include "csvfile.h"

#include <csv.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *const hvb_samples_header[HVB_SAMPLES_COLS] = { "run_id", "runner", "workload", "metric", "unit",
					      "better", "rep",    "value",    "status", "note" };
const char *const hvb_counters_header[HVB_COUNTERS_COLS] = { "run_id",       "runner", "workload", "rep",
					       "event",        "value",  "time_enabled",
					       "time_running", "source", "status",   "note" };
const char *const hvb_exits_header[HVB_EXITS_COLS] = { "run_id", "runner", "workload", "rep",
					    "reason", "count",  "total_ns", "source" };

const char *hvb_status_name(enum hvb_status st)
{
	switch (st) {
	case HVB_ST_OK:
		return "ok";
	case HVB_ST_SKIPPED:
		return "skipped";
	case HVB_ST_UNSUPPORTED:
		return "unsupported";
	case HVB_ST_FAILED:
		return "failed";
	}
	return "failed";
}

int hvb_status_parse(const char *s, enum hvb_status *out)
{
	static const enum hvb_status all[] = { HVB_ST_OK, HVB_ST_SKIPPED, HVB_ST_UNSUPPORTED,
					       HVB_ST_FAILED };
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		if (!strcmp(s, hvb_status_name(all[i]))) {
			*out = all[i];
			return 0;
		}
	return -EINVAL;
}

const char *hvb_better_name(int better)
{
	return better == HVB_HIGHER_IS_BETTER ? "higher" : better == HVB_LOWER_IS_BETTER ? "lower"
											: "";
}

static bool needs_quotes(const char *s)
{
	return strpbrk(s, ",\"\r\n") != NULL || (*s && (s[0] == ' ' || s[strlen(s) - 1] == ' '));
}

/* -errno of a failed stdio write (-EIO if errno says nothing). */
static int write_error(void)
{
	return errno ? -errno : -EIO;
}

int hvb_csv_write_row(FILE *f, const char *const *fields, size_t n)
{
	errno = 0;
	for (size_t i = 0; i < n; i++) {
		const char *v = fields[i] ? fields[i] : "";
		if (i && fputc(',', f) == EOF)
			return write_error();
		if (needs_quotes(v) ? csv_fwrite(f, v, strlen(v)) != 0 : fputs(v, f) == EOF)
			return write_error();
	}
	return fputc('\n', f) == EOF ? write_error() : 0;
}

char *hvb_csv_format_row(const char *const *fields, size_t n, size_t *len)
{
	char *text = NULL;
	FILE *m = open_memstream(&text, len);

	if (!m || hvb_csv_write_row(m, fields, n) || fclose(m))
		abort(); /* only memory exhaustion: as xmalloc */
	return text;
}

struct csv_state {
	int (*row)(void *arg, char **fields, size_t n, long line);
	void *arg;
	char **fields;
	size_t n, cap;
	long line, row_line;
	int stop;
};

static void on_field(void *data, size_t len, void *arg)
{
	struct csv_state *st = arg;

	if (st->n == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 16;
		st->fields = realloc(st->fields, st->cap * sizeof(char *));
		if (!st->fields)
			abort();
	}
	if (st->n == 0)
		st->row_line = st->line;
	st->fields[st->n] = xmalloc(len + 1);
	memcpy(st->fields[st->n], data ? data : "", data ? len : 0);
	st->fields[st->n++][data ? len : 0] = '\0';
}

static void on_row(int c, void *arg)
{
	struct csv_state *st = arg;

	(void)c;
	if (!st->stop && st->n)
		st->stop = st->row(st->arg, st->fields, st->n, st->row_line);
	for (size_t i = 0; i < st->n; i++)
		free(st->fields[i]);
	st->n = 0;
}

int hvb_csv_read(const char *path, int (*row)(void *arg, char **fields, size_t n, long line),
		 void *arg, char *err, size_t errlen)
{
	struct csv_state st = { .row = row, .arg = arg };
	struct csv_parser p;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	int r = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
	while (!st.stop && (len = getline(&buf, &cap, f)) > 0) {
		st.line++;
		if (csv_parse(&p, buf, (size_t)len, on_field, on_row, &st) != (size_t)len) {
			snprintf(err, errlen, "%s:%ld: malformed CSV (%s)", path, st.line,
				 csv_strerror(csv_error(&p)));
			r = -EINVAL;
			break;
		}
	}
	if (!r && !st.stop && csv_fini(&p, on_field, on_row, &st)) {
		snprintf(err, errlen, "%s:%ld: malformed CSV at end of file (%s)", path, st.line,
			 csv_strerror(csv_error(&p)));
		r = -EINVAL;
	}
	if (!r && st.stop)
		r = st.stop;
	for (size_t i = 0; i < st.n; i++)
		free(st.fields[i]);
	free(st.fields);
	csv_free(&p);
	free(buf);
	fclose(f);
	return r;
}
