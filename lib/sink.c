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

static const char *const file_names[F_COUNT] = { "samples.csv.partial", "counters.csv.partial",
						 "exits.csv.partial", "log.txt.partial" };

/* Rows wait here until a flush (or BUF_MAX) and leave with one pwrite at
 * `end`, the end of the file's last complete row: a write that fails or
 * stops short is cut back to `end`, so a file never holds a torn row. */
#define BUF_MAX (64 * 1024)

struct sink_file {
	int fd;
	char *buf;
	size_t len, cap;
	off_t end;
	bool dirty; /* written since the last fdatasync */
};

struct hvb_sink {
	char *dir;
	char *run_id;
	int dirfd;
	struct sink_file f[F_COUNT];
	size_t n_meta;
	char **keys, **values;
	unsigned long ok_rows, other_rows;
	int err; /* the first failure, -errno: nothing is written after it */
	const char *err_op, *err_file; /* "cannot write", "samples.csv.partial" */
};

#define DIR_GONE "is gone (removed, moved or its file system unmounted)"

/* Record the first failure (sticky); returns s->err.  file NULL: the
 * directory itself. */
static int sink_fail(struct hvb_sink *s, int e, const char *op, const char *file)
{
	if (!s->err) {
		s->err = e;
		s->err_op = op;
		s->err_file = file;
	}
	return s->err;
}

/* What failed: "cannot write <dir>/samples.csv.partial: <strerror> (errno
 * N)"; with dir NULL the file is named alone (for meta.csv, in the dir). */
static void describe_failure(const struct hvb_sink *s, const char *dir, char *buf, size_t len)
{
	const char *sep = dir ? (s->err_file ? "/" : " ") : "";

	if (s->err_file)
		snprintf(buf, len, "%s %s%s%s: %s (errno %d)", s->err_op, dir ? dir : "", sep,
			 s->err_file, strerror(-s->err), -s->err);
	else
		snprintf(buf, len, "the run directory%s%s %s: %s (errno %d)", sep, dir ? dir : "",
			 s->err_op, strerror(-s->err), -s->err);
}

static int write_all(int fd, const char *p, size_t n, off_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w, n -= (size_t)w, off += w;
	}
	return 0;
}

static int file_write(struct hvb_sink *s, int i)
{
	struct sink_file *f = &s->f[i];
	int r;

	if (s->err || !f->len)
		return s->err;
	r = write_all(f->fd, f->buf, f->len, f->end);
	if (r) {
		if (ftruncate(f->fd, f->end))
			return sink_fail(s, r, "cannot write (nor cut back to its last row)",
					 file_names[i]);
		return sink_fail(s, r, "cannot write", file_names[i]);
	}
	f->end += (off_t)f->len;
	f->len = 0;
	f->dirty = true;
	return 0;
}

/* Queue whole rows for file i; dropped once the sink has failed. */
static void file_add(struct hvb_sink *s, int i, const char *text, size_t len)
{
	struct sink_file *f = &s->f[i];

	if (s->err)
		return;
	if (f->len + len > f->cap) {
		f->cap = (f->len + len) * 2;
		f->buf = realloc(f->buf, f->cap);
		if (!f->buf)
			abort();
	}
	memcpy(f->buf + f->len, text, len);
	f->len += len;
	if (f->len >= BUF_MAX)
		file_write(s, i);
}

static void file_add_row(struct hvb_sink *s, int i, const char *const *fields, size_t n)
{
	size_t len;
	char *text = hvb_csv_format_row(fields, n, &len);

	file_add(s, i, text, len);
	free(text);
}

static char *meta_text(const struct hvb_sink *s, size_t *len)
{
	static const char *const header[] = { "key", "value" };
	char *text = NULL;
	FILE *m = open_memstream(&text, len);
	int r = m ? hvb_csv_write_row(m, header, 2) : -ENOMEM;

	for (size_t i = 0; !r && i < s->n_meta; i++) {
		const char *row[] = { s->keys[i], s->values[i] };
		r = hvb_csv_write_row(m, row, 2);
	}
	if (r || fclose(m))
		abort(); /* only memory exhaustion */
	return text;
}

/*
 * meta.csv through meta.csv.tmp: written in place over the space reserved
 * for it (reserve_meta: no O_TRUNC, so a full file system still takes it),
 * cut to length, fsync'ed, renamed, and the directory fsync'ed.
 */
static int write_meta(struct hvb_sink *s)
{
	size_t len;
	char *text = meta_text(s, &len);
	int fd = openat(s->dirfd, "meta.csv.tmp", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	int r = fd < 0 ? -errno : write_all(fd, text, len, 0);

	if (!r && (ftruncate(fd, (off_t)len) || fsync(fd)))
		r = -errno;
	if (fd >= 0 && close(fd) && !r)
		r = -errno;
	if (!r && renameat(s->dirfd, "meta.csv.tmp", s->dirfd, "meta.csv"))
		r = -errno;
	if (!r && fsync(s->dirfd))
		r = -errno;
	if (r)
		unlinkat(s->dirfd, "meta.csv.tmp", 0);
	free(text);
	return r;
}

/* Keep room for the next meta.csv (with the verdict) in meta.csv.tmp, so a
 * run that fills its file system can still say so.  Best effort. */
static void reserve_meta(struct hvb_sink *s)
{
	size_t len;
	char *text = meta_text(s, &len);
	off_t want = ((off_t)len * 2 + 8192 + 4095) & ~(off_t)4095;
	int fd = openat(s->dirfd, "meta.csv.tmp", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	free(text);
	if (fd < 0)
		return;
	posix_fallocate(fd, 0, want);
	close(fd);
}

/* Is dir still the run directory (not removed, moved, or unmounted)? */
static int check_dir(struct hvb_sink *s)
{
	struct stat a, b;

	if (s->err)
		return s->err;
	if (fstat(s->dirfd, &a) || stat(s->dir, &b))
		return sink_fail(s, -errno, DIR_GONE, NULL);
	if (a.st_nlink == 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return sink_fail(s, -ENOENT, DIR_GONE, NULL);
	return 0;
}

static void sink_free(struct hvb_sink *s)
{
	for (int i = 0; i < F_COUNT; i++) {
		if (s->f[i].fd >= 0)
			close(s->f[i].fd);
		free(s->f[i].buf);
	}
	if (s->dirfd >= 0)
		close(s->dirfd);
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

	if (s->dirfd < 0)
		return;
	for (int i = 0; i < F_COUNT; i++)
		if (s->f[i].fd >= 0)
			unlinkat(s->dirfd, file_names[i], 0);
	for (size_t i = 0; i < ARRAY_SIZE(extra); i++)
		unlinkat(s->dirfd, extra[i], 0);
	rmdir(s->dir); /* fails, harmlessly, if it held anything else */
}

static int open_files(struct hvb_sink *s)
{
	s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0)
		return -errno;
	for (int i = 0; i < F_COUNT; i++) {
		s->f[i].fd = openat(s->dirfd, file_names[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
				    0644);
		if (s->f[i].fd < 0)
			return -errno;
	}
	file_add_row(s, F_SAMPLES, hvb_samples_header, ARRAY_SIZE(hvb_samples_header));
	file_add_row(s, F_COUNTERS, hvb_counters_header, ARRAY_SIZE(hvb_counters_header));
	file_add_row(s, F_EXITS, hvb_exits_header, ARRAY_SIZE(hvb_exits_header));
	for (int i = 0; i < F_COUNT; i++)
		if (file_write(s, i))
			return s->err;
	return 0;
}

int hvb_sink_open(struct hvb_sink **out, const char *parent, const char *run_id)
{
	struct hvb_sink *s = xcalloc(1, sizeof(*s));
	int r = hvb_mkdir_p(parent);
	bool made;

	s->dirfd = -1;
	for (int i = 0; i < F_COUNT; i++)
		s->f[i].fd = -1;
	s->run_id = xstrdup(run_id);
	s->dir = xasprintf("%s/%s", parent, run_id);
	if (!r && mkdir(s->dir, 0755))
		r = -errno;
	made = !r; /* only a directory this call created is ever cleaned up */
	if (!r)
		r = hvb_fsync_parent(s->dir);
	if (!r)
		r = open_files(s);
	if (!r) {
		hvb_sink_meta(s, "format_version", "1");
		hvb_sink_meta(s, "run_id", run_id);
		hvb_sink_meta(s, "status", "running");
		r = write_meta(s); /* fsyncs the directory: the files' entries too */
	}
	if (r) {
		if (made)
			remove_partial_run(s);
		sink_free(s);
		return r;
	}
	reserve_meta(s);
	*out = s;
	return 0;
}

int hvb_sink_write_meta(struct hvb_sink *s)
{
	int r = s->err ? s->err : write_meta(s);

	if (r)
		return sink_fail(s, r, "cannot write", "meta.csv");
	reserve_meta(s); /* the rename took the reserved space */
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

static void sink_vmetaf(struct hvb_sink *s, const char *key, const char *fmt, va_list ap)
{
	char *v = xvasprintf(fmt, ap);

	hvb_sink_meta(s, key, v);
	free(v);
}

void hvb_sink_metaf(struct hvb_sink *s, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sink_vmetaf(s, key, fmt, ap);
	va_end(ap);
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
	file_add_row(s, F_SAMPLES, row, 10);
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

	file_add_row(s, F_SAMPLES, row, 10);
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
	file_add_row(s, F_COUNTERS, row, 11);
}

void hvb_sink_exit(struct hvb_sink *s, const char *runner, const struct hvb_exit_out *x)
{
	char rep_s[16], cnt_s[24], ns_s[40] = "", ops_s[24] = "";
	char lat[4][40] = { "", "", "", "" };

	snprintf(rep_s, sizeof(rep_s), "%u", x->rep);
	snprintf(cnt_s, sizeof(cnt_s), "%llu", (unsigned long long)x->count);
	if (x->timed)
		fmt_double(ns_s, sizeof(ns_s), x->total_ns);
	if (x->has_ops)
		snprintf(ops_s, sizeof(ops_s), "%llu", (unsigned long long)x->ops);
	if (x->has_latency) {
		fmt_double(lat[0], sizeof(lat[0]), x->p50_ns);
		fmt_double(lat[1], sizeof(lat[1]), x->p90_ns);
		fmt_double(lat[2], sizeof(lat[2]), x->p99_ns);
		fmt_double(lat[3], sizeof(lat[3]), x->max_ns);
	}
	const char *row[HVB_EXITS_COLS] = { s->run_id, runner, x->workload, rep_s, x->reason,
					    cnt_s,     ns_s,   x->source,   ops_s, lat[0],
					    lat[1],    lat[2], lat[3] };
	file_add_row(s, F_EXITS, row, HVB_EXITS_COLS);
}

void hvb_sink_log(struct hvb_sink *s, const char *runner, const char *fmt, ...)
{
	va_list ap;
	char *msg, *line;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	line = xasprintf("[%s] %s\n", runner ? runner : "hvbench", msg);
	file_add(s, F_LOG, line, strlen(line));
	free(line);
	free(msg);
}

int hvb_sink_flush(struct hvb_sink *s)
{
	for (int i = 0; i < F_COUNT; i++)
		file_write(s, i);
	check_dir(s);
	for (int i = 0; i < F_COUNT && !s->err; i++) {
		if (!s->f[i].dirty)
			continue;
		if (fdatasync(s->f[i].fd))
			return sink_fail(s, -errno, "cannot sync", file_names[i]);
		s->f[i].dirty = false;
	}
	return s->err;
}

int hvb_sink_error(const struct hvb_sink *s, char *buf, size_t len)
{
	if (s->err && buf)
		describe_failure(s, s->dir, buf, len);
	return s->err;
}

void hvb_sink_counts(const struct hvb_sink *s, unsigned long *ok, unsigned long *not_ok)
{
	*ok = s->ok_rows;
	*not_ok = s->other_rows;
}

/* Rename the (synced) data files to their final names, then make the
 * renames durable before meta.csv may say so. */
static int publish(struct hvb_sink *s)
{
	for (int i = 0; i < F_COUNT && !s->err; i++) {
		char *to = xstrdup(file_names[i]);

		*strrchr(to, '.') = '\0'; /* samples.csv.partial -> samples.csv */
		if (renameat(s->dirfd, file_names[i], s->dirfd, to))
			sink_fail(s, -errno, "cannot rename", file_names[i]);
		free(to);
	}
	if (!s->err && fsync(s->dirfd))
		sink_fail(s, -errno, "cannot be synced", NULL);
	return s->err;
}

/* What finish did, for the user: see hvb_sink_finish. */
static void finish_msg(const struct hvb_sink *s, int meta_err, char *msg, size_t len)
{
	char why[512] = "", kept[600] = "", meta[400] = "";

	if (s->err)
		hvb_sink_error(s, why, sizeof(why));
	if (s->err && s->err_file)
		snprintf(kept, sizeof(kept), "; the run stopped there: the rows written before are "
			 "kept in %s/*.partial", s->dir);
	else if (s->err)
		snprintf(kept, sizeof(kept), "; the run stopped there");
	/* (A directory that is gone took its meta.csv with it: nothing to say.) */
	if (meta_err && (!s->err || s->err_file))
		snprintf(meta, sizeof(meta), "%scannot write %s/meta.csv: %s (errno %d): it still "
			 "says status=running", s->err ? "; " : "", s->dir, strerror(-meta_err),
			 -meta_err);
	else if (s->err && !meta_err)
		snprintf(meta, sizeof(meta), "; meta.csv says status=failed");
	snprintf(msg, len, "%s%s%s", why, kept, meta);
}

int hvb_sink_finish(struct hvb_sink *s, const char *status, char *msg, size_t len)
{
	bool failed = !strcmp(status, "failed");
	int r;

	if (!hvb_sink_flush(s) && !failed)
		publish(s);
	if (s->err) {
		char why[512];

		describe_failure(s, NULL, why, sizeof(why));
		hvb_sink_meta(s, "failed_reason", why);
		failed = true;
	}
	hvb_sink_meta(s, "status", failed ? "failed" : status);
	r = write_meta(s);
	if (msg)
		finish_msg(s, r, msg, len);
	r = s->err ? s->err : r;
	sink_free(s);
	return r;
}

int hvb_sink_close(struct hvb_sink *s, const char *status)
{
	return hvb_sink_finish(s, status, NULL, 0);
}

void hvb_out_meta(const struct hvb_out *o, const char *key, const char *value)
{
	char *k = xasprintf("runner.%s.%s", o->runner, key);

	hvb_sink_meta(o->sink, k, value);
	free(k);
}

void hvb_out_metaf(const struct hvb_out *o, const char *key, const char *fmt, ...)
{
	char *k = xasprintf("runner.%s.%s", o->runner, key);
	va_list ap;

	va_start(ap, fmt);
	sink_vmetaf(o->sink, k, fmt, ap);
	va_end(ap);
	free(k);
}
