/*
 * Result files: writer (sink) and reader.  See results/FORMAT.md.
 *
 * Atomicity: data files are appended as <name>.partial and renamed at the
 * end; meta.csv is always replaced through meta.csv.tmp + fsync + rename, so
 * a reader sees either the old or the new meta, and a crashed run keeps
 * status=running with its data in *.partial.
 */
#include "results.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

enum { F_SAMPLES, F_COUNTERS, F_EXITS, F_LOG, F_COUNT };

static const char *const file_names[F_COUNT] = { "samples.csv", "counters.csv", "exits.csv",
						 "log.txt" };

static const char *const samples_header[] = { "run_id", "runner", "workload", "metric", "unit",
					      "better", "rep",    "value",    "status", "note" };
static const char *const counters_header[] = { "run_id",       "runner", "workload", "rep",
					       "event",        "value",  "time_enabled",
					       "time_running", "source", "status",   "note" };
static const char *const exits_header[] = { "run_id", "runner", "workload", "rep",
					    "reason", "count",  "total_ns", "source" };

struct hvb_sink {
	char *dir;
	char *run_id;
	FILE *f[F_COUNT];
	size_t n_meta;
	char **keys, **values;
	unsigned long ok_rows, other_rows;
};

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

int hvb_csv_write_row(FILE *f, const char *const *fields, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *v = fields[i] ? fields[i] : "";
		if (i && fputc(',', f) == EOF)
			return -EIO;
		if (needs_quotes(v) ? csv_fwrite(f, v, strlen(v)) != 0 : fputs(v, f) == EOF)
			return -EIO;
	}
	return fputc('\n', f) == EOF ? -EIO : 0;
}

/* ------------------------------------------------------------------ writer */

static int write_file_atomic(const char *dir, const char *name,
			     int (*fill)(FILE *f, const struct hvb_sink *s), const struct hvb_sink *s)
{
	char *tmp = xasprintf("%s/%s.tmp", dir, name), *dst = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(tmp, "w");
	int r = f ? 0 : -errno;

	if (!r)
		r = fill(f, s);
	if (!r && (fflush(f) || fsync(fileno(f))))
		r = -errno;
	if (f && fclose(f) && !r)
		r = -errno;
	if (!r && rename(tmp, dst))
		r = -errno;
	if (r)
		unlink(tmp);
	free(tmp);
	free(dst);
	return r;
}

static int fill_meta(FILE *f, const struct hvb_sink *s)
{
	static const char *const header[] = { "key", "value" };
	int r = hvb_csv_write_row(f, header, 2);

	for (size_t i = 0; !r && i < s->n_meta; i++) {
		const char *row[] = { s->keys[i], s->values[i] };
		r = hvb_csv_write_row(f, row, 2);
	}
	return r;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		r = -errno;
	close(fd);
	return r;
}

static FILE *open_partial(const char *dir, int idx)
{
	char *p = xasprintf("%s/%s.partial", dir, file_names[idx]);
	FILE *f = fopen(p, "wx");

	free(p);
	return f;
}

static void sink_free(struct hvb_sink *s)
{
	for (int i = 0; i < F_COUNT; i++)
		if (s->f[i])
			fclose(s->f[i]);
	for (size_t i = 0; i < s->n_meta; i++) {
		free(s->keys[i]);
		free(s->values[i]);
	}
	free(s->keys);
	free(s->values);
	free(s->dir);
	free(s->run_id);
	free(s);
}

/* Undo a half-created run directory (only the files this writer creates),
 * so a failed start leaves nothing that looks like a run. */
static void remove_partial_run(struct hvb_sink *s)
{
	static const char *const extra[] = { "meta.csv", "meta.csv.tmp" };

	for (int i = 0; i < F_COUNT; i++) {
		char *p = xasprintf("%s/%s.partial", s->dir, file_names[i]);
		if (s->f[i]) {
			fclose(s->f[i]);
			s->f[i] = NULL;
			unlink(p);
		}
		free(p);
	}
	for (size_t i = 0; i < ARRAY_SIZE(extra); i++) {
		char *p = xasprintf("%s/%s", s->dir, extra[i]);
		unlink(p);
		free(p);
	}
	rmdir(s->dir); /* fails, harmlessly, if it held anything else */
}

int hvb_sink_open(struct hvb_sink **out, const char *parent, const char *run_id)
{
	struct hvb_sink *s = xcalloc(1, sizeof(*s));
	int r = hvb_mkdir_p(parent);
	bool made;

	s->run_id = xstrdup(run_id);
	s->dir = xasprintf("%s/%s", parent, run_id);
	if (!r && mkdir(s->dir, 0755))
		r = -errno;
	made = !r; /* only a directory this call created is ever cleaned up */
	for (int i = 0; !r && i < F_COUNT; i++)
		if (!(s->f[i] = open_partial(s->dir, i)))
			r = -errno;
	if (!r)
		r = hvb_csv_write_row(s->f[F_SAMPLES], samples_header, ARRAY_SIZE(samples_header));
	if (!r)
		r = hvb_csv_write_row(s->f[F_COUNTERS], counters_header,
				      ARRAY_SIZE(counters_header));
	if (!r)
		r = hvb_csv_write_row(s->f[F_EXITS], exits_header, ARRAY_SIZE(exits_header));
	if (!r) {
		hvb_sink_meta(s, "format_version", "1");
		hvb_sink_meta(s, "run_id", run_id);
		hvb_sink_meta(s, "status", "running");
		r = write_file_atomic(s->dir, "meta.csv", fill_meta, s);
	}
	if (r) {
		if (made)
			remove_partial_run(s);
		sink_free(s);
		return r;
	}
	*out = s;
	return 0;
}

const char *hvb_sink_dir(const struct hvb_sink *s)
{
	return s->dir;
}

const char *hvb_sink_run_id(const struct hvb_sink *s)
{
	return s->run_id;
}

void hvb_sink_meta(struct hvb_sink *s, const char *key, const char *value)
{
	for (size_t i = 0; i < s->n_meta; i++)
		if (!strcmp(s->keys[i], key)) {
			free(s->values[i]);
			s->values[i] = xstrdup(value ? value : "");
			return;
		}
	s->keys = realloc(s->keys, (s->n_meta + 1) * sizeof(char *));
	s->values = realloc(s->values, (s->n_meta + 1) * sizeof(char *));
	if (!s->keys || !s->values)
		abort();
	s->keys[s->n_meta] = xstrdup(key);
	s->values[s->n_meta++] = xstrdup(value ? value : "");
}

void hvb_sink_metaf(struct hvb_sink *s, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *v;

	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		abort();
	va_end(ap);
	hvb_sink_meta(s, key, v);
	free(v);
}

static void fmt_double(char *buf, size_t len, double v)
{
	snprintf(buf, len, "%.17g", v);
}

void hvb_sink_sample(struct hvb_sink *s, const char *runner, const char *workload,
		     const char *metric, const char *unit, int better, unsigned rep, double value,
		     enum hvb_status status, const char *note)
{
	char rep_s[16], val_s[40] = "";
	const char *row[10];

	if (status == HVB_ST_OK && !isfinite(value)) {
		status = HVB_ST_FAILED;
		note = "non-finite value from the workload";
	}
	snprintf(rep_s, sizeof(rep_s), "%u", rep);
	if (status == HVB_ST_OK)
		fmt_double(val_s, sizeof(val_s), value);
	row[0] = s->run_id, row[1] = runner, row[2] = workload, row[3] = metric, row[4] = unit;
	row[5] = hvb_better_name(better), row[6] = rep_s, row[7] = val_s;
	row[8] = hvb_status_name(status), row[9] = note;
	hvb_csv_write_row(s->f[F_SAMPLES], row, 10);
	if (status == HVB_ST_OK)
		s->ok_rows++;
	else
		s->other_rows++;
}

void hvb_sink_cell_status(struct hvb_sink *s, const char *runner, const char *workload,
			  enum hvb_status status, const char *reason)
{
	const char *row[10] = { s->run_id, runner, workload, "", "", "", "", "",
				hvb_status_name(status), reason };

	hvb_csv_write_row(s->f[F_SAMPLES], row, 10);
	s->other_rows++;
}

void hvb_sink_counter(struct hvb_sink *s, const char *runner, const char *workload, unsigned rep,
		      const char *event, bool has_value, double value, uint64_t time_enabled,
		      uint64_t time_running, const char *source, enum hvb_status status,
		      const char *note)
{
	char rep_s[16], val_s[40] = "", en_s[24] = "", run_s[24] = "";
	const char *row[11];

	snprintf(rep_s, sizeof(rep_s), "%u", rep);
	if (has_value) {
		fmt_double(val_s, sizeof(val_s), value);
		snprintf(en_s, sizeof(en_s), "%llu", (unsigned long long)time_enabled);
		snprintf(run_s, sizeof(run_s), "%llu", (unsigned long long)time_running);
	}
	row[0] = s->run_id, row[1] = runner, row[2] = workload, row[3] = rep_s, row[4] = event;
	row[5] = val_s, row[6] = en_s, row[7] = run_s, row[8] = source;
	/* No value with status ok would be a zero in disguise: unsupported. */
	if (!has_value && status == HVB_ST_OK)
		status = HVB_ST_UNSUPPORTED;
	row[9] = hvb_status_name(status), row[10] = note;
	hvb_csv_write_row(s->f[F_COUNTERS], row, 11);
}

void hvb_sink_exit(struct hvb_sink *s, const char *runner, const char *workload, unsigned rep,
		   const char *reason, uint64_t count, double total_ns, const char *source)
{
	char rep_s[16], cnt_s[24], ns_s[40] = "";
	const char *row[8];

	snprintf(rep_s, sizeof(rep_s), "%u", rep);
	snprintf(cnt_s, sizeof(cnt_s), "%llu", (unsigned long long)count);
	if (total_ns >= 0)
		fmt_double(ns_s, sizeof(ns_s), total_ns);
	row[0] = s->run_id, row[1] = runner, row[2] = workload, row[3] = rep_s;
	row[4] = reason, row[5] = cnt_s, row[6] = ns_s, row[7] = source;
	hvb_csv_write_row(s->f[F_EXITS], row, 8);
}

void hvb_sink_log(struct hvb_sink *s, const char *runner, const char *fmt, ...)
{
	va_list ap;

	fprintf(s->f[F_LOG], "[%s] ", runner ? runner : "hvbench");
	va_start(ap, fmt);
	vfprintf(s->f[F_LOG], fmt, ap);
	va_end(ap);
	fputc('\n', s->f[F_LOG]);
}

void hvb_sink_flush(struct hvb_sink *s)
{
	for (int i = 0; i < F_COUNT; i++)
		fflush(s->f[i]);
}

void hvb_sink_counts(const struct hvb_sink *s, unsigned long *ok, unsigned long *not_ok)
{
	*ok = s->ok_rows;
	*not_ok = s->other_rows;
}

static int finish_file(struct hvb_sink *s, int idx)
{
	char *from = xasprintf("%s/%s.partial", s->dir, file_names[idx]);
	char *to = xasprintf("%s/%s", s->dir, file_names[idx]);
	FILE *f = s->f[idx];
	int r = 0;

	s->f[idx] = NULL;
	if (fflush(f) || fsync(fileno(f)))
		r = -errno;
	if (fclose(f) && !r)
		r = -errno;
	if (!r && rename(from, to))
		r = -errno;
	free(from);
	free(to);
	return r;
}

int hvb_sink_close(struct hvb_sink *s, const char *status)
{
	int r = 0;

	for (int i = 0; i < F_COUNT; i++) {
		int e = finish_file(s, i);
		r = r ? r : e;
	}
	if (!r) {
		r = fsync_dir(s->dir);
		hvb_sink_meta(s, "status", status);
		r = r ? r : write_file_atomic(s->dir, "meta.csv", fill_meta, s);
	}
	if (!r)
		r = fsync_dir(s->dir);
	sink_free(s);
	return r;
}

/* ------------------------------------------------------------------ reader */

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

struct read_ctx {
	struct hvb_run *run;
	const char *path;
	char *err;
	size_t errlen;
	long header_seen;
};

static int bad(struct read_ctx *c, long line, const char *what)
{
	snprintf(c->err, c->errlen, "%s:%ld: %s", c->path, line, what);
	return -EINVAL;
}

static int meta_row(void *arg, char **f, size_t n, long line)
{
	struct read_ctx *c = arg;
	struct hvb_run *run = c->run;

	if (!c->header_seen++) {
		if (n < 2 || strcmp(f[0], "key") || strcmp(f[1], "value"))
			return bad(c, line, "expected header 'key,value'");
		return 0;
	}
	if (n != 2)
		return bad(c, line, "expected 2 fields (key,value)");
	run->meta_keys = realloc(run->meta_keys, (run->n_meta + 1) * sizeof(char *));
	run->meta_values = realloc(run->meta_values, (run->n_meta + 1) * sizeof(char *));
	if (!run->meta_keys || !run->meta_values)
		abort();
	run->meta_keys[run->n_meta] = xstrdup(f[0]);
	run->meta_values[run->n_meta++] = xstrdup(f[1]);
	return 0;
}

static int parse_sample(struct read_ctx *c, char **f, long line, struct hvb_sample_row *s)
{
	char *end;

	memset(s, 0, sizeof(*s));
	s->rep = -1;
	if (hvb_status_parse(f[8], &s->status))
		return bad(c, line, "status must be ok, skipped, unsupported or failed");
	if (*f[5])
		s->better = !strcmp(f[5], "higher") ? HVB_HIGHER_IS_BETTER
			    : !strcmp(f[5], "lower") ? HVB_LOWER_IS_BETTER
						     : 0;
	if (*f[5] && !s->better)
		return bad(c, line, "better must be 'lower' or 'higher'");
	if (*f[6]) {
		s->rep = strtol(f[6], &end, 10);
		if (*end || s->rep < 0)
			return bad(c, line, "rep is not a non-negative integer");
	}
	if (*f[7]) {
		s->value = strtod(f[7], &end);
		if (*end || !isfinite(s->value))
			return bad(c, line, "value is not a finite number");
		s->has_value = true;
	}
	if (s->status == HVB_ST_OK && (!s->has_value || !*f[3] || !*f[4] || !s->better))
		return bad(c, line, "an ok sample needs metric, unit, better and value");
	s->run_id = xstrdup(f[0]), s->runner = xstrdup(f[1]), s->workload = xstrdup(f[2]);
	s->metric = xstrdup(f[3]), s->unit = xstrdup(f[4]), s->note = xstrdup(f[9]);
	return 0;
}

static int sample_row(void *arg, char **f, size_t n, long line)
{
	struct read_ctx *c = arg;
	struct hvb_run *run = c->run;
	int r;

	if (!c->header_seen++) {
		if (n != ARRAY_SIZE(samples_header) || strcmp(f[0], "run_id") ||
		    strcmp(f[9], "note"))
			return bad(c, line, "unexpected header (see results/FORMAT.md)");
		return 0;
	}
	if (n != ARRAY_SIZE(samples_header))
		return bad(c, line, "expected 10 fields");
	run->samples = realloc(run->samples, (run->n_samples + 1) * sizeof(*run->samples));
	if (!run->samples)
		abort();
	r = parse_sample(c, f, line, &run->samples[run->n_samples]);
	if (!r)
		run->n_samples++;
	return r;
}

const char *hvb_run_meta(const struct hvb_run *run, const char *key)
{
	for (size_t i = 0; i < run->n_meta; i++)
		if (!strcmp(run->meta_keys[i], key))
			return run->meta_values[i];
	return NULL;
}

static int read_csv(const char *dir, const char *name, int (*row)(void *, char **, size_t, long),
		    struct hvb_run *run, char *err, size_t errlen)
{
	char *path = xasprintf("%s/%s", dir, name);
	struct read_ctx c = { .run = run, .path = path, .err = err, .errlen = errlen };
	int r = hvb_csv_read(path, row, &c, err, errlen);

	if (!r && !c.header_seen)
		r = bad(&c, 1, "empty file (no header)");
	free(path);
	return r;
}

int hvb_run_read(const char *dir, bool allow_partial, struct hvb_run *run, char *err,
		 size_t errlen)
{
	const char *st;
	int r;

	memset(run, 0, sizeof(*run));
	run->dir = xstrdup(dir);
	r = read_csv(dir, "meta.csv", meta_row, run, err, errlen);
	if (r == -ENOENT)
		snprintf(err, errlen, "%s: not a result directory (no meta.csv)", dir);
	if (r)
		goto fail;
	st = hvb_run_meta(run, "status");
	run->status = xstrdup(st ? st : "running");
	if (!strcmp(run->status, "running")) {
		if (!allow_partial) {
			snprintf(err, errlen,
				 "%s: incomplete run (status=running: the writer stopped before "
				 "finishing); accept it with --allow-partial",
				 dir);
			r = -EINVAL;
			goto fail;
		}
		run->partial = true;
	}
	r = read_csv(dir, run->partial ? "samples.csv.partial" : "samples.csv", sample_row, run,
		     err, errlen);
	if (r)
		goto fail;
	return 0;
fail:
	hvb_run_free(run);
	return r;
}

void hvb_run_free(struct hvb_run *run)
{
	for (size_t i = 0; i < run->n_meta; i++) {
		free(run->meta_keys[i]);
		free(run->meta_values[i]);
	}
	for (size_t i = 0; i < run->n_samples; i++) {
		struct hvb_sample_row *s = &run->samples[i];
		free(s->run_id), free(s->runner), free(s->workload);
		free(s->metric), free(s->unit), free(s->note);
	}
	free(run->meta_keys);
	free(run->meta_values);
	free(run->samples);
	free(run->dir);
	free(run->status);
	memset(run, 0, sizeof(*run));
}
