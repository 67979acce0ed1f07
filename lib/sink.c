/* The result writer (sink.h; results/FORMAT.md is the contract). */
#include "sink.h"

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

struct hvb_sink {
	char *dir;
	char *run_id;
	FILE *f[F_COUNT];
	size_t n_meta;
	char **keys, **values;
	unsigned long ok_rows, other_rows;
};

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
		r = hvb_csv_write_row(s->f[F_SAMPLES], hvb_samples_header, ARRAY_SIZE(hvb_samples_header));
	if (!r)
		r = hvb_csv_write_row(s->f[F_COUNTERS], hvb_counters_header,
				      ARRAY_SIZE(hvb_counters_header));
	if (!r)
		r = hvb_csv_write_row(s->f[F_EXITS], hvb_exits_header, ARRAY_SIZE(hvb_exits_header));
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

void hvb_sink_sample(struct hvb_sink *s, const char *runner, const struct hvb_sample_out *x)
{
	char rep_s[16], val_s[40] = "", why[96];
	enum hvb_status status = x->status;
	const char *note = x->note;

	if (status == HVB_ST_OK && !isfinite(x->value)) {
		status = HVB_ST_FAILED;
		note = "non-finite value from the workload";
	} else if (status == HVB_ST_OK && !hvb_value_valid(x->unit, x->value)) {
		snprintf(why, sizeof(why), "value %g %s from the workload: must be %s", x->value,
			 x->unit ? x->unit : "", hvb_unit_positive(x->unit) ? "> 0" : ">= 0");
		status = HVB_ST_FAILED;
		note = why;
	}
	snprintf(rep_s, sizeof(rep_s), "%u", x->rep);
	if (status == HVB_ST_OK)
		fmt_double(val_s, sizeof(val_s), x->value);
	const char *row[10] = { s->run_id, runner, x->workload, x->metric, x->unit,
				hvb_better_name(x->better), rep_s, val_s, hvb_status_name(status),
				note };
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

void hvb_sink_counter(struct hvb_sink *s, const char *runner, const struct hvb_counter_out *x)
{
	char rep_s[16], val_s[40] = "", en_s[24] = "", run_s[24] = "";
	/* No value with status ok would be a zero in disguise: unsupported. */
	enum hvb_status status =
		!x->has_value && x->status == HVB_ST_OK ? HVB_ST_UNSUPPORTED : x->status;

	snprintf(rep_s, sizeof(rep_s), "%u", x->rep);
	if (x->has_value) {
		fmt_double(val_s, sizeof(val_s), x->value);
		snprintf(en_s, sizeof(en_s), "%llu", (unsigned long long)x->time_enabled);
		snprintf(run_s, sizeof(run_s), "%llu", (unsigned long long)x->time_running);
	}
	const char *row[11] = { s->run_id, runner, x->workload, rep_s, x->event, val_s, en_s,
				run_s, x->source, hvb_status_name(status), x->note };
	hvb_csv_write_row(s->f[F_COUNTERS], row, 11);
}

void hvb_sink_exit(struct hvb_sink *s, const char *runner, const struct hvb_exit_out *x)
{
	char rep_s[16], cnt_s[24], ns_s[40] = "";

	snprintf(rep_s, sizeof(rep_s), "%u", x->rep);
	snprintf(cnt_s, sizeof(cnt_s), "%llu", (unsigned long long)x->count);
	if (x->timed)
		fmt_double(ns_s, sizeof(ns_s), x->total_ns);
	const char *row[8] = { s->run_id, runner,	 x->workload, rep_s,
			       x->reason, cnt_s, ns_s, x->source };
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

void hvb_out_meta(const struct hvb_out *o, const char *key, const char *value)
{
	char *k = xasprintf("runner.%s.%s", o->runner, key);

	hvb_sink_meta(o->sink, k, value);
	free(k);
}

void hvb_out_metaf(const struct hvb_out *o, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *v;

	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		abort();
	va_end(ap);
	hvb_out_meta(o, key, v);
	free(v);
}
