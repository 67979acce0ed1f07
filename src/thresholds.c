/* Thresholds files: reader, lookup and writer (see thresholds.h). */
#include "thresholds.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csvfile.h"
#include "util.h"

/* The columns, in the order the writer puts them; the first four are
 * required, the others are provenance a hand-written file may leave out. */
enum { T_RUNNER, T_WORKLOAD, T_METRIC, T_PCT, T_RUNS, T_REPS, T_NOISE, T_K, T_FLOOR, T_HOST,
       T_DATE, T_NCOLS, T_REQUIRED = T_PCT + 1 };

static const char *const col_names[T_NCOLS] = {
	"runner", "workload", "metric", "threshold_pct", "runs", "reps",
	"noise_pct", "k", "floor_pct", "host", "date",
};

#define T_HINT "(see results/FORMAT.md, Thresholds files; 'hvbench thresholds' writes one)"

struct reader {
	struct hvb_thresholds *t;
	int col[T_NCOLS]; /* column index of each name in the file, -1 if absent */
	size_t n_cols;    /* 0 until the header is read */
	char *err;
	size_t errlen;
};

/* A malformed line of the file rd reads: "PATH:LINE: ..." into rd->err, -EINVAL. */
#define bad(rd, line, ...) hvb_file_line_errf((rd)->err, (rd)->errlen, (rd)->t->path, line, __VA_ARGS__)

static int col_index(const char *name)
{
	for (int i = 0; i < T_NCOLS; i++)
		if (!strcmp(name, col_names[i]))
			return i;
	return -1;
}

static int read_header(struct reader *rd, char **fields, size_t n, long line)
{
	for (int i = 0; i < T_NCOLS; i++)
		rd->col[i] = -1;
	for (size_t i = 0; i < n; i++) {
		int c = col_index(fields[i]);
		if (c < 0)
			return bad(rd, line,
				   "unknown column '%s' (columns: runner, workload, metric, "
				   "threshold_pct, runs, reps, noise_pct, k, floor_pct, host, date) "
				   T_HINT,
				   fields[i]);
		if (rd->col[c] >= 0)
			return bad(rd, line, "column '%s' given twice", fields[i]);
		rd->col[c] = (int)i;
	}
	for (int i = 0; i < T_REQUIRED; i++)
		if (rd->col[i] < 0)
			return bad(rd, line,
				   "no column '%s' in the header: a thresholds file starts with "
				   "runner,workload,metric,threshold_pct " T_HINT,
				   col_names[i]);
	rd->n_cols = n;
	return 0;
}

/* A whole finite number within [lo, hi]. */
static bool parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	*out = strtod(s, &end);
	return !*end && !errno && isfinite(*out) && *out >= lo && *out <= hi;
}

static const char *field(const struct reader *rd, char **fields, int c)
{
	return rd->col[c] < 0 ? "" : fields[rd->col[c]];
}

/* The optional numbers of a line: empty is "not given". */
static int read_provenance(struct reader *rd, char **fields, long line, struct hvb_thresh_line *l)
{
	static const int uints[] = { T_RUNS, T_REPS }, nums[] = { T_NOISE, T_K, T_FLOOR };
	unsigned *uv[] = { &l->runs, &l->reps };
	double *nv[] = { &l->noise_pct, &l->k, &l->floor_pct };
	uint64_t u;

	for (size_t i = 0; i < ARRAY_SIZE(uints); i++) {
		const char *s = field(rd, fields, uints[i]);
		if (*s && hvb_parse_uint(s, 0, 1u << 30, &u))
			return bad(rd, line, "%s '%s' is not a count (a whole number, or empty)",
				   col_names[uints[i]], s);
		*uv[i] = *s ? (unsigned)u : 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(nums); i++) {
		const char *s = field(rd, fields, nums[i]);
		*nv[i] = NAN;
		if (*s && !parse_num(s, 0, 1e9, nv[i]))
			return bad(rd, line, "%s '%s' is not a number >= 0 (or empty)",
				   col_names[nums[i]], s);
	}
	l->host = xstrdup(field(rd, fields, T_HOST));
	l->date = xstrdup(field(rd, fields, T_DATE));
	return 0;
}

static int read_line(struct reader *rd, char **fields, size_t n, long line)
{
	struct hvb_thresholds *t = rd->t;
	struct hvb_thresh_line l = { .line = line };
	const char *pct;
	int r;

	if (n != rd->n_cols)
		return bad(rd, line, "%zu field(s), the header has %zu", n, rd->n_cols);
	for (int c = T_RUNNER; c <= T_METRIC; c++)
		if (!*field(rd, fields, c))
			return bad(rd, line, "empty %s glob (write '*' for any %s)", col_names[c],
				   col_names[c]);
	pct = field(rd, fields, T_PCT);
	if (!parse_num(pct, 0, 100, &l.pct))
		return bad(rd, line, "threshold_pct '%s' is not a percentage from 0 to 100", pct);
	r = read_provenance(rd, fields, line, &l);
	if (r) {
		hvb_thresh_line_free(&l);
		return r;
	}
	l.runner = xstrdup(field(rd, fields, T_RUNNER));
	l.workload = xstrdup(field(rd, fields, T_WORKLOAD));
	l.metric = xstrdup(field(rd, fields, T_METRIC));
	t->v = realloc(t->v, (t->n + 1) * sizeof(*t->v));
	if (!t->v)
		abort();
	t->v[t->n++] = l;
	return 0;
}

static int on_row(void *arg, char **fields, size_t n, long line)
{
	struct reader *rd = arg;

	return rd->n_cols ? read_line(rd, fields, n, line) : read_header(rd, fields, n, line);
}

int hvb_thresholds_read(const char *path, struct hvb_thresholds *t, char *err, size_t errlen)
{
	struct reader rd = { .t = t, .err = err, .errlen = errlen };
	int r;

	memset(t, 0, sizeof(*t));
	t->path = xstrdup(path);
	r = hvb_csv_read(path, on_row, &rd, NULL, err, errlen);
	if (!r && !rd.n_cols) {
		snprintf(err, errlen, "%s: empty: no header line " T_HINT, path);
		r = -EINVAL;
	}
	if (r)
		hvb_thresholds_free(t);
	return r;
}

const struct hvb_thresh_line *hvb_thresholds_find(const struct hvb_thresholds *t,
						  const char *runner, const char *workload,
						  const char *metric)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct hvb_thresh_line *l = &t->v[i];
		if (hvb_glob_match(l->runner, runner) && hvb_glob_match(l->workload, workload) &&
		    hvb_glob_match(l->metric, metric))
			return l;
	}
	return NULL;
}

/* ------------------------------------------------------------- writer */

/* name as a glob matching only itself: fnmatch's metacharacters escaped. */
static char *glob_literal(const char *name)
{
	char *out = xmalloc(2 * strlen(name) + 1), *o = out;

	for (const char *c = name; *c; c++) {
		if (strchr("*?[]\\", *c))
			*o++ = '\\';
		*o++ = *c;
	}
	*o = '\0';
	return out;
}

static void fmt_opt(char *buf, size_t len, double v)
{
	if (isnan(v))
		buf[0] = '\0';
	else
		snprintf(buf, len, "%.4g", v);
}

static int write_line(FILE *f, const struct hvb_thresh_line *l)
{
	char num[T_NCOLS][40];
	char *g[3] = { glob_literal(l->runner), glob_literal(l->workload), glob_literal(l->metric) };
	int r;

	snprintf(num[T_PCT], sizeof(num[0]), "%.4g", l->pct);
	snprintf(num[T_RUNS], sizeof(num[0]), "%u", l->runs);
	snprintf(num[T_REPS], sizeof(num[0]), "%u", l->reps);
	fmt_opt(num[T_NOISE], sizeof(num[0]), l->noise_pct);
	fmt_opt(num[T_K], sizeof(num[0]), l->k);
	fmt_opt(num[T_FLOOR], sizeof(num[0]), l->floor_pct);
	const char *fields[T_NCOLS] = {
		g[0], g[1], g[2], num[T_PCT], num[T_RUNS], num[T_REPS], num[T_NOISE], num[T_K],
		num[T_FLOOR], l->host ? l->host : "", l->date ? l->date : "",
	};
	r = hvb_csv_write_row(f, fields, T_NCOLS);
	for (int i = 0; i < 3; i++)
		free(g[i]);
	return r;
}

static int write_all(FILE *f, const struct hvb_thresh_line *v, size_t n)
{
	int r = hvb_csv_write_row(f, col_names, T_NCOLS);

	for (size_t i = 0; i < n && !r; i++)
		r = write_line(f, &v[i]);
	if (!r && fflush(f))
		r = errno ? -errno : -EIO;
	if (!r && fsync(fileno(f)))
		r = -errno;
	return r;
}

/* The rename is durable once the directory holding path is on disk. */
static int dir_sync(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0 || fsync(fd))
		r = -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	return r;
}

int hvb_thresholds_write(const char *path, const struct hvb_thresh_line *v, size_t n, char *err,
			 size_t errlen)
{
	char *tmp = xasprintf("%s.tmp-%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644), r = 0;
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");

	if (!f) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "%s: %s", tmp, strerror(-r));
		free(tmp);
		return r;
	}
	r = write_all(f, v, n);
	if (fclose(f) && !r)
		r = errno ? -errno : -EIO;
	if (!r && rename(tmp, path))
		r = -errno;
	if (!r)
		r = dir_sync(path);
	if (r) {
		snprintf(err, errlen, "%s: %s (nothing written)", path, strerror(-r));
		unlink(tmp);
	}
	free(tmp);
	return r;
}

void hvb_thresh_line_free(struct hvb_thresh_line *l)
{
	free(l->runner), free(l->workload), free(l->metric), free(l->host), free(l->date);
	memset(l, 0, sizeof(*l));
}

void hvb_thresholds_free(struct hvb_thresholds *t)
{
	for (size_t i = 0; i < t->n; i++)
		hvb_thresh_line_free(&t->v[i]);
	free(t->v);
	free(t->path);
	memset(t, 0, sizeof(*t));
}
