/*
 * CSV rows (libcsv) and the status and direction names of result files
 * (results/FORMAT.md): shared by the result writer (sink.c) and the reader
 * (results.c).
 */
#include "csvfile.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
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
					    "reason", "count",  "total_ns", "source", "ops",
					    "p50_ns", "p90_ns", "p99_ns", "max_ns" };

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

bool hvb_unit_positive(const char *unit)
{
	static const char *const positive[] = { "ns", "cycles", "ms", "MB/s", "ops/s" };

	for (size_t i = 0; unit && i < ARRAY_SIZE(positive); i++)
		if (!strcmp(unit, positive[i]))
			return true;
	return false;
}

bool hvb_value_valid(const char *unit, double v)
{
	return isfinite(v) && (hvb_unit_positive(unit) ? v > 0 : v >= 0);
}

const char *hvb_better_name(int better)
{
	return better == HVB_HIGHER_IS_BETTER ? "higher" : better == HVB_LOWER_IS_BETTER ? "lower"
											: "";
}

/* libcsv trims spaces and tabs (its default is_space) at both ends of an
 * unquoted field, so a value starting or ending with one is quoted. */
static bool trimmed(char c)
{
	return c == ' ' || c == '\t';
}

static bool needs_quotes(const char *s)
{
	return strpbrk(s, ",\"\r\n") != NULL ||
	       (*s && (trimmed(s[0]) || trimmed(s[strlen(s) - 1])));
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

/*
 * Reading (results/FORMAT.md, "What readers accept"): RFC 4180 as libcsv's
 * strict mode parses it, fields verbatim (no space trimming), a UTF-8 BOM
 * at the start skipped, every record valid UTF-8 without NUL bytes.
 */
struct csv_state {
	int (*row)(void *arg, char **fields, size_t n, long line);
	void *arg;
	const char *path;
	char *err;
	size_t errlen;
	char **fields;
	size_t n, cap;
	long line, row_line;
	const char *bad; /* why a field of the current record is refused */
	int stop;
};

/* Length of the UTF-8 sequence a lead byte starts, 0 if it cannot lead one. */
static unsigned utf8_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		return 2;
	if ((c & 0xf0) == 0xe0)
		return 3;
	return (c & 0xf8) == 0xf0 ? 4 : 0;
}

bool hvb_utf8_valid(const void *text, size_t n)
{
	const unsigned char *s = text;
	static const unsigned min_cp[] = { 0, 0, 0x80, 0x800, 0x10000 };

	for (size_t i = 0; i < n;) {
		unsigned len = utf8_len(s[i]), cp = s[i] & (len == 1 ? 0x7f : 0xff >> (len + 1));

		if (!len || i + len > n)
			return false;
		for (unsigned k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static void on_field(void *data, size_t len, void *arg)
{
	struct csv_state *st = arg;

	if (st->n == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 16;
		st->fields = realloc(st->fields, st->cap * sizeof(char *));
		if (!st->fields)
			abort();
	}
	if (!data)
		len = 0;
	if (!st->bad && len && memchr(data, '\0', len))
		st->bad = "NUL byte in a field";
	if (!st->bad && !hvb_utf8_valid(data, len))
		st->bad = "not UTF-8";
	st->fields[st->n] = xmalloc(len + 1);
	memcpy(st->fields[st->n], data ? data : "", len);
	st->fields[st->n++][len] = '\0';
}

static void drop_fields(struct csv_state *st)
{
	for (size_t i = 0; i < st->n; i++)
		free(st->fields[i]);
	st->n = 0;
	st->bad = NULL;
}

static void on_row(int c, void *arg)
{
	struct csv_state *st = arg;

	(void)c;
	if (!st->stop && st->bad) {
		snprintf(st->err, st->errlen, "%s:%ld: %s", st->path, st->row_line, st->bad);
		st->stop = -EINVAL;
	}
	if (!st->stop && st->n)
		st->stop = st->row(st->arg, st->fields, st->n, st->row_line);
	drop_fields(st);
}

/* libcsv's default trims spaces and tabs around unquoted fields. */
static int no_space(unsigned char c)
{
	(void)c;
	return 0;
}

/* Feed one line; a record starts on it unless a quoted field is open. */
static int feed_line(struct csv_parser *p, struct csv_state *st, char *buf, size_t len)
{
	static const char bom[] = "\xef\xbb\xbf";

	st->line++;
	if (st->line == 1 && len >= 3 && !memcmp(buf, bom, 3))
		buf += 3, len -= 3;
	if (!p->quoted)
		st->row_line = st->line;
	if (csv_parse(p, buf, len, on_field, on_row, st) != len && !st->stop) {
		snprintf(st->err, st->errlen, "%s:%ld: malformed CSV (%s)", st->path, st->line,
			 csv_strerror(csv_error(p)));
		return -EINVAL;
	}
	return st->stop;
}

/* At the end of the file: a record has begun that no line break ended (an
 * open quote, a field, or fields without their newline). */
static bool tail_pending(const struct csv_parser *p, const struct csv_state *st)
{
	return p->quoted || st->n || p->entry_pos;
}

int hvb_csv_read(const char *path, int (*row)(void *arg, char **fields, size_t n, long line),
		 void *arg, long *torn_line, char *err, size_t errlen)
{
	struct csv_state st = { .row = row, .arg = arg, .path = path, .err = err, .errlen = errlen };
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
	csv_set_space_func(&p, no_space);
	while (!r && (len = getline(&buf, &cap, f)) > 0)
		r = feed_line(&p, &st, buf, (size_t)len);
	if (torn_line)
		*torn_line = 0;
	if (!r && torn_line && tail_pending(&p, &st))
		*torn_line = st.row_line; /* dropped: the caller says so */
	else if (!r && csv_fini(&p, on_field, on_row, &st) && !st.stop) {
		snprintf(err, errlen, "%s:%ld: malformed CSV at end of file (%s)", path, st.row_line,
			 csv_strerror(csv_error(&p)));
		r = -EINVAL;
	}
	if (!r)
		r = st.stop;
	drop_fields(&st);
	free(st.fields);
	csv_free(&p);
	free(buf);
	fclose(f);
	return r;
}
