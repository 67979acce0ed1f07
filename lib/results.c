/*
 * Reader of result directories (results/FORMAT.md).  A run that did not
 * complete keeps its data in *.partial; those are read only when asked.
 */
#include "results.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

struct exits_ctx;

struct read_ctx {
	struct hvb_run *run;
	struct exits_ctx *exits; /* exits.csv only */
	const char *path;
	char *err;
	size_t errlen;
	long header_seen;
	size_t ncols;       /* of the header: every row has as many fields */
	const char *run_id; /* meta's, for samples.csv rows */
};

/* A malformed line of the file c reads: "PATH:LINE: ..." into c->err, -EINVAL. */
#define badf(c, line, ...) hvb_file_line_errf((c)->err, (c)->errlen, (c)->path, line, __VA_ARGS__)
#define bad(c, line, what) badf(c, line, "%s", what)

static char *join(const char *const *v, size_t n)
{
	char *s = xstrdup(""), *next;

	for (size_t i = 0; i < n; i++) {
		next = xasprintf("%s%s%s", s, i ? "," : "", v[i]);
		free(s);
		s = next;
	}
	return s;
}

/* The header starts with the expected columns; more may follow (FORMAT.md:
 * columns are only ever added at the end). */
static int header_row(struct read_ctx *c, char **f, size_t n, long line, const char *const *want,
		      size_t n_want)
{
	bool ok = n >= n_want;
	char *got, *exp;
	int r;

	for (size_t i = 0; ok && i < n_want; i++)
		ok = !strcmp(f[i], want[i]);
	c->ncols = n;
	if (ok)
		return 0;
	got = join((const char *const *)f, n);
	exp = join(want, n_want);
	r = badf(c, line, "header is '%s', expected it to start with '%s'", got, exp);
	free(got);
	free(exp);
	return r;
}

static int field_count(struct read_ctx *c, size_t n, long line)
{
	if (n == c->ncols)
		return 0;
	return badf(c, line, "%zu fields, header has %zu", n, c->ncols);
}

static int meta_row(void *arg, char **f, size_t n, long line)
{
	static const char *const header[] = { "key", "value" };
	struct read_ctx *c = arg;
	struct hvb_run *run = c->run;
	int r;

	if (!c->header_seen++)
		return header_row(c, f, n, line, header, ARRAY_SIZE(header));
	if ((r = field_count(c, n, line)))
		return r;
	if (!*f[0])
		return bad(c, line, "empty key");
	run->meta_keys = realloc(run->meta_keys, (run->n_meta + 1) * sizeof(char *));
	run->meta_values = realloc(run->meta_values, (run->n_meta + 1) * sizeof(char *));
	run->meta_lines = realloc(run->meta_lines, (run->n_meta + 1) * sizeof(long));
	if (!run->meta_keys || !run->meta_values || !run->meta_lines)
		abort();
	run->meta_lines[run->n_meta] = line;
	run->meta_keys[run->n_meta] = xstrdup(f[0]);
	run->meta_values[run->n_meta++] = xstrdup(f[1]);
	return 0;
}

static size_t digits(const char *s)
{
	return strspn(s, "0123456789");
}

/* FORMAT.md number syntax: [+-] digits [. digits] [e [+-] digits], digits
 * on at least one side of the point; no hex, inf, nan, '_' or spaces (all
 * of which strtod or Python's float() would take). */
static bool decimal_syntax(const char *s)
{
	size_t whole, frac = 0, exp;

	s += *s == '+' || *s == '-';
	whole = digits(s);
	s += whole;
	if (*s == '.') {
		frac = digits(++s);
		s += frac;
	}
	if (!whole && !frac)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		s += *s == '+' || *s == '-';
		exp = digits(s);
		if (!exp)
			return false;
		s += exp;
	}
	return !*s;
}

static int parse_value(struct read_ctx *c, long line, const char *text, double *out)
{
	if (!decimal_syntax(text))
		return badf(c, line, "column value: '%.80s' is not a decimal number", text);
	*out = strtod(text, NULL);
	if (!isfinite(*out))
		return badf(c, line, "column value: '%.80s' is not finite", text);
	return 0;
}

/* A repetition index: decimal digits only, at most INT32_MAX. */
static int parse_rep(struct read_ctx *c, long line, const char *text, long *out)
{
	size_t n = digits(text);

	if (!n || text[n] || n > 10 || strtoll(text, NULL, 10) > INT32_MAX)
		return badf(c, line, "column rep: '%.80s' is not an integer in 0..%d", text,
			    INT32_MAX);
	*out = (long)strtoll(text, NULL, 10);
	return 0;
}

static int parse_better(struct read_ctx *c, long line, const char *text, int *out)
{
	*out = !strcmp(text, "higher") ? HVB_HIGHER_IS_BETTER
	       : !strcmp(text, "lower") ? HVB_LOWER_IS_BETTER
					: 0;
	if (*text && !*out)
		return badf(c, line, "better is '%.80s', expected lower or higher", text);
	return 0;
}

/* What an ok row must have: metric, unit, better, rep and value. */
static int check_ok(struct read_ctx *c, long line, char **f)
{
	static const char *const names[] = { "metric", "unit", "better", "rep", "value" };

	for (int col = 3; col <= 7; col++) {
		if (*f[col])
			continue;
		if (col == 5)
			return bad(c, line, "better is '', expected lower or higher");
		return badf(c, line, "column %s is empty in an ok row", names[col - 3]);
	}
	return 0;
}

/* The columns every row has, then ok rows' or the others' rules (FORMAT.md,
 * What readers accept; load.py checks the same in the same order). */
static int check_sample(struct read_ctx *c, char **f, long line, struct hvb_sample_row *s)
{
	const char *id = c->run_id;
	int r;

	if (strcmp(f[0], id))
		return badf(c, line, "run_id '%.80s' is not this run's ('%s' in meta.csv)", f[0], id);
	if (!*f[1])
		return bad(c, line, "column runner is empty");
	if (!*f[2])
		return bad(c, line, "column workload is empty");
	if (hvb_status_parse(f[8], &s->status))
		return badf(c, line, "status '%.80s' is not one of ok, skipped, unsupported, failed",
			    f[8]);
	if (s->status != HVB_ST_OK && !*f[9])
		return badf(c, line, "status %s without a note saying why", f[8]);
	if ((r = parse_better(c, line, f[5], &s->better)))
		return r;
	if (*f[6] && (r = parse_rep(c, line, f[6], &s->rep)))
		return r;
	if (*f[7] && (r = parse_value(c, line, f[7], &s->value)))
		return r;
	s->has_value = *f[7] != '\0';
	if (s->status == HVB_ST_OK && (r = check_ok(c, line, f)))
		return r;
	if (s->status == HVB_ST_OK && !hvb_value_valid(f[4], s->value))
		return badf(c, line, "column value: %.80s %.80s must be %s", f[7], f[4],
			    hvb_unit_positive(f[4]) ? "> 0" : ">= 0");
	if (s->status != HVB_ST_OK && s->has_value)
		return badf(c, line, "status %s row has a value", f[8]);
	return 0;
}

static int parse_sample(struct read_ctx *c, char **f, long line, struct hvb_sample_row *s)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->rep = -1;
	s->line = line;
	if ((r = check_sample(c, f, line, s)))
		return r;
	s->run_id = xstrdup(f[0]), s->runner = xstrdup(f[1]), s->workload = xstrdup(f[2]);
	s->metric = xstrdup(f[3]), s->unit = xstrdup(f[4]), s->note = xstrdup(f[9]);
	return 0;
}

static int sample_row(void *arg, char **f, size_t n, long line)
{
	struct read_ctx *c = arg;
	struct hvb_run *run = c->run;
	int r;

	if (!c->header_seen++)
		return header_row(c, f, n, line, hvb_samples_header, HVB_SAMPLES_COLS);
	if ((r = field_count(c, n, line)))
		return r;
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

static void warning_add(struct hvb_run *run, char *msg)
{
	run->warnings = realloc(run->warnings, (run->n_warnings + 1) * sizeof(char *));
	if (!run->warnings)
		abort();
	run->warnings[run->n_warnings++] = msg;
}

/* Read dir/name; a *.partial file may end in a row its writer did not
 * finish (FORMAT.md): that one is dropped with a warning. */
static int read_csv(const char *dir, const char *name, int (*row)(void *, char **, size_t, long),
		    struct hvb_run *run, char *err, size_t errlen)
{
	char *path = xasprintf("%s/%s", dir, name);
	struct read_ctx c = { .run = run, .path = path, .err = err, .errlen = errlen,
			      .run_id = hvb_run_meta(run, "run_id") };
	size_t len = strlen(name);
	bool partial = len > 8 && !strcmp(name + len - 8, ".partial");
	long torn = 0;
	int r = hvb_csv_read(path, row, &c, partial ? &torn : NULL, err, errlen);

	if (!r && !c.header_seen)
		r = bad(&c, 1, "empty file (no header)");
	if (!r && torn)
		warning_add(run, xasprintf("%s: dropped a torn last row at line %ld (the writer "
					   "died while writing it)",
					   path, torn));
	free(path);
	return r;
}

/* Rows of one (runner, workload, metric, rep) sort together, in file order. */
static int cmp_key(const void *x, const void *y)
{
	const struct hvb_sample_row *a = *(const struct hvb_sample_row *const *)x;
	const struct hvb_sample_row *b = *(const struct hvb_sample_row *const *)y;
	int c = strcmp(a->runner, b->runner);

	if (!c)
		c = strcmp(a->workload, b->workload);
	if (!c)
		c = strcmp(a->metric, b->metric);
	if (!c)
		c = (a->rep > b->rep) - (a->rep < b->rep);
	if (!c)
		c = (a->line > b->line) - (a->line < b->line);
	return c;
}

static bool same_key(const struct hvb_sample_row *a, const struct hvb_sample_row *b)
{
	return a->rep == b->rep && !strcmp(a->metric, b->metric) &&
	       !strcmp(a->workload, b->workload) && !strcmp(a->runner, b->runner);
}

/*
 * One row per (runner, workload, metric, rep): a second one would move a
 * median silently.  Reported as a reader reading row by row would: the
 * first repeated row in file order, with the line of its original.
 */
static int check_duplicates(const struct hvb_run *run, const char *path, char *err,
			    size_t errlen)
{
	const struct hvb_sample_row **v = xcalloc(run->n_samples + 1, sizeof(*v));
	const struct hvb_sample_row *dup = NULL, *first = NULL;
	size_t n = 0;

	for (size_t i = 0; i < run->n_samples; i++)
		if (*run->samples[i].metric && run->samples[i].rep >= 0)
			v[n++] = &run->samples[i];
	qsort(v, n, sizeof(*v), cmp_key);
	for (size_t i = 1; i < n; i++)
		if (same_key(v[i - 1], v[i]) && (i < 2 || !same_key(v[i - 2], v[i])) &&
		    (!dup || v[i]->line < dup->line))
			dup = v[i], first = v[i - 1];
	free(v);
	if (!dup)
		return 0;
	snprintf(err, errlen, "%s:%ld: duplicate row %s %s %s rep %ld (first at line %ld)", path,
		 dup->line, dup->runner, dup->workload, dup->metric, dup->rep, first->line);
	return -EINVAL;
}

struct key_at {
	const char *key;
	size_t i; /* index in meta_keys, i.e. file order */
};

static int cmp_key_at(const void *x, const void *y)
{
	const struct key_at *a = x, *b = y;
	int c = strcmp(a->key, b->key);

	return c ? c : (a->i > b->i) - (a->i < b->i);
}

/* Every key once: the first repeated one in file order is reported. */
static int check_meta_keys(const struct hvb_run *run, char *err, size_t errlen)
{
	struct key_at *v = xcalloc(run->n_meta + 1, sizeof(*v));
	size_t dup = SIZE_MAX;

	for (size_t i = 0; i < run->n_meta; i++)
		v[i] = (struct key_at){ run->meta_keys[i], i };
	qsort(v, run->n_meta, sizeof(*v), cmp_key_at);
	for (size_t i = 1; i < run->n_meta; i++)
		if (!strcmp(v[i - 1].key, v[i].key) && (i < 2 || strcmp(v[i - 2].key, v[i].key)) &&
		    v[i].i < dup)
			dup = v[i].i;
	free(v);
	if (dup == SIZE_MAX)
		return 0;
	snprintf(err, errlen, "%s/meta.csv:%ld: duplicate key '%.80s'", run->dir,
		 run->meta_lines[dup], run->meta_keys[dup]);
	return -EINVAL;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

bool hvb_run_id_valid(const char *id)
{
	size_t n = strlen(id);

	return n && n <= HVB_RUN_ID_MAX && strcmp(id, ".") && strcmp(id, "..") &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

void hvb_run_id_make(char *buf, size_t len)
{
	char host[64] = "host";
	time_t now = time(NULL);
	struct tm tm;

	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';
	/* A run id is one safe path component, whatever the host calls itself. */
	for (char *c = host; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *c))
			*c = '-';
	if (!host[0])
		snprintf(host, sizeof(host), "host");
	gmtime_r(&now, &tm);
	snprintf(buf, len, "%04d%02d%02d-%02d%02d%02d-%s-%d", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, host, (int)getpid());
}

/* The keys every reader needs: format_version 1, a known status, a run id
 * that is one safe path component. */
static int meta_check(const struct hvb_run *run, char *err, size_t errlen)
{
	const char *v = hvb_run_meta(run, "format_version"), *st = hvb_run_meta(run, "status");
	const char *id = hvb_run_meta(run, "run_id");

	if (!v)
		return fail(err, errlen, "%s/meta.csv: no format_version key", run->dir);
	if (strcmp(v, HVB_FORMAT_VERSION))
		return fail(err, errlen,
			    "%s/meta.csv: format_version is '%.80s'; this reader reads version %s",
			    run->dir, v, HVB_FORMAT_VERSION);
	if (!st)
		return fail(err, errlen,
			    "%s/meta.csv: no status key: not an hvbench run or a damaged meta.csv",
			    run->dir);
	if (strcmp(st, "complete") && strcmp(st, "interrupted") && strcmp(st, "running") &&
	    strcmp(st, "failed"))
		return fail(err, errlen,
			    "%s/meta.csv: status is '%.80s', expected complete, interrupted, "
			    "running or failed",
			    run->dir, st);
	if (!id)
		return fail(err, errlen, "%s/meta.csv: no run_id key", run->dir);
	if (!hvb_run_id_valid(id))
		return fail(err, errlen,
			    "%s/meta.csv: run_id '%.80s' is not a run id (1 to %d of A-Z a-z 0-9 "
			    ". _ -, not . or ..)",
			    run->dir, id, HVB_RUN_ID_MAX);
	return 0;
}

static bool exists(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	bool r = access(p, F_OK) == 0;

	free(p);
	return r;
}

/* samples.csv, or samples.csv.partial for a run whose writer died (unless it
 * died after renaming the data files, before rewriting meta.csv). */
/* Statuses whose data stays in *.partial files: the writer died (running)
 * or a write failed (failed). */
static bool partial_status(const char *st)
{
	return !strcmp(st, "running") || !strcmp(st, "failed");
}

static int samples_file(struct hvb_run *run, const char **name, char *err, size_t errlen)
{
	static const char final[] = "samples.csv", partial[] = "samples.csv.partial";
	const char *d = run->dir;

	run->partial = partial_status(run->status) && exists(d, partial);
	*name = run->partial ? partial : final;
	if (run->partial || exists(d, final)) /* failed after renaming it: final */
		return 0;
	if (partial_status(run->status))
		return fail(err, errlen,
			    "%s/%s: missing (run status is '%s', so data should be in %s)", d,
			    partial, run->status, partial);
	if (exists(d, partial))
		return fail(err, errlen,
			    "%s/%s: missing, but %s exists although meta.csv says status=%s: the "
			    "run directory is inconsistent",
			    d, final, partial, run->status);
	return fail(err, errlen,
		    "%s/%s: missing (every result directory holds %s, see results/FORMAT.md)", d,
		    final, final);
}

int hvb_run_read(const char *dir, bool allow_partial, struct hvb_run *run, char *err,
		 size_t errlen)
{
	const char *name;
	int r;

	memset(run, 0, sizeof(*run));
	run->dir = xstrdup(dir);
	r = read_csv(dir, "meta.csv", meta_row, run, err, errlen);
	if (r == -ENOENT)
		snprintf(err, errlen, "%s: not a result directory (no meta.csv)", dir);
	if (!r)
		r = check_meta_keys(run, err, errlen);
	if (!r)
		r = meta_check(run, err, errlen);
	if (r)
		goto fail;
	run->status = xstrdup(hvb_run_meta(run, "status"));
	/* running: the writer died; failed: a write failed (FORMAT.md).  Both
	 * keep their data in *.partial files. */
	if (partial_status(run->status) && !allow_partial) {
		const char *why = hvb_run_meta(run, "failed_reason");
		r = fail(err, errlen, "%s: incomplete run (status=%s: %s); accept it with "
				      "--allow-partial",
			 dir, run->status, why ? why : "the writer stopped before finishing");
		goto fail;
	}
	r = samples_file(run, &name, err, errlen);
	if (!r)
		r = read_csv(dir, name, sample_row, run, err, errlen);
	if (!r) {
		char *path = xasprintf("%s/%s", dir, name);
		r = check_duplicates(run, path, err, errlen);
		free(path);
	}
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
	for (size_t i = 0; i < run->n_warnings; i++)
		free(run->warnings[i]);
	free(run->warnings);
	free(run->meta_keys);
	free(run->meta_values);
	free(run->meta_lines);
	free(run->samples);
	free(run->dir);
	free(run->status);
	memset(run, 0, sizeof(*run));
}

/* ------------------------------------------------------------ exits.csv */

/* The columns every exits.csv has (the first version's, less nothing),
 * then the ones added later, found by name. */
#define EXITS_FIXED 7
enum { X_SOURCE, X_OPS, X_P50, X_P90, X_P99, X_MAX, X_LATER };
static const char *const exits_later[X_LATER] = { "source", "ops",    "p50_ns",
						  "p90_ns", "p99_ns", "max_ns" };

struct exits_ctx {
	int col[X_LATER]; /* -1: the file has no such column */
	struct hvb_exit_row *rows;
	size_t n;
};

static int exits_header(struct read_ctx *c, char **f, size_t n, long line)
{
	int r = header_row(c, f, n, line, hvb_exits_header, EXITS_FIXED);

	for (int k = 0; k < X_LATER; k++) {
		c->exits->col[k] = -1;
		for (size_t i = EXITS_FIXED; i < n; i++)
			if (!strcmp(f[i], exits_later[k]))
				c->exits->col[k] = (int)i;
	}
	return r;
}

static const char *later(struct read_ctx *c, char **f, int k)
{
	return c->exits->col[k] < 0 ? "" : f[c->exits->col[k]];
}

/* A number column: required, or optional (empty = *has false). */
static int exit_number(struct read_ctx *c, long line, const char *name, const char *text,
		       bool required, bool *has, double *out)
{
	int r;

	*has = *text != '\0';
	if (!*has)
		return required ? badf(c, line, "column %s is empty", name) : 0;
	if (!decimal_syntax(text))
		return badf(c, line, "column %s: '%.80s' is not a decimal number", name, text);
	*out = strtod(text, NULL);
	if (!isfinite(*out))
		return badf(c, line, "column %s: '%.80s' is not finite", name, text);
	r = *out < 0 ? badf(c, line, "column %s: %.80s is negative", name, text) : 0;
	return r;
}

/* p50 <= p90 <= p99 <= max, all four or none (FORMAT.md). */
static int exit_latency(struct read_ctx *c, char **f, long line, struct hvb_exit_row *x)
{
	double *v[4] = { &x->p50_ns, &x->p90_ns, &x->p99_ns, &x->max_ns };
	bool has[4];
	int r, n = 0;

	for (int k = 0; k < 4; k++) {
		if ((r = exit_number(c, line, exits_later[X_P50 + k], later(c, f, X_P50 + k),
				     false, &has[k], v[k])))
			return r;
		n += has[k];
	}
	if (n && n != 4)
		return bad(c, line, "latency columns p50_ns,p90_ns,p99_ns,max_ns: all four or none");
	for (int k = 1; n && k < 4; k++)
		if (*v[k] < *v[k - 1])
			return badf(c, line, "column %s: %g is below %s %g", exits_later[X_P50 + k],
				    *v[k], exits_later[X_P50 + k - 1], *v[k - 1]);
	x->has_latency = n == 4;
	return 0;
}

static int check_exit(struct read_ctx *c, char **f, long line, struct hvb_exit_row *x)
{
	bool has;
	int r;

	if (!*f[1])
		return bad(c, line, "column runner is empty");
	if (!*f[2])
		return bad(c, line, "column workload is empty");
	if (!*f[4])
		return bad(c, line, "column reason is empty");
	if ((r = parse_rep(c, line, f[3], &x->rep)) ||
	    (r = exit_number(c, line, "count", f[5], true, &has, &x->count)) ||
	    (r = exit_number(c, line, "total_ns", f[6], false, &x->has_total, &x->total_ns)) ||
	    (r = exit_number(c, line, "ops", later(c, f, X_OPS), false, &x->has_ops, &x->ops)))
		return r;
	if (x->has_ops && x->ops <= 0)
		return badf(c, line, "column ops: %g operations, must be > 0 (empty when unknown)",
			    x->ops);
	return exit_latency(c, f, line, x);
}

static int exit_row(void *arg, char **f, size_t n, long line)
{
	struct read_ctx *c = arg;
	struct exits_ctx *e = c->exits;
	struct hvb_exit_row x = { .line = line };
	int r;

	if (!c->header_seen++)
		return exits_header(c, f, n, line);
	if ((r = field_count(c, n, line)) || (r = check_exit(c, f, line, &x)))
		return r;
	x.runner = xstrdup(f[1]), x.workload = xstrdup(f[2]), x.reason = xstrdup(f[4]);
	x.source = xstrdup(later(c, f, X_SOURCE));
	e->rows = realloc(e->rows, (e->n + 1) * sizeof(*e->rows));
	if (!e->rows)
		abort();
	e->rows[e->n++] = x;
	return 0;
}

int hvb_run_read_exits(const struct hvb_run *run, struct hvb_exit_row **rows, size_t *n,
		       char *err, size_t errlen)
{
	const char *name = run->partial && exists(run->dir, "exits.csv.partial")
				   ? "exits.csv.partial"
				   : "exits.csv";
	struct exits_ctx e = { .rows = NULL };
	char *path = xasprintf("%s/%s", run->dir, name);
	struct read_ctx c = { .run = (struct hvb_run *)run, .exits = &e, .path = path,
			      .err = err, .errlen = errlen };
	long torn = 0;
	int r = hvb_csv_read(path, exit_row, &c, run->partial ? &torn : NULL, err, errlen);

	if (r == -ENOENT)
		snprintf(err, errlen, "%s: missing (every result directory holds exits.csv, see "
				      "results/FORMAT.md)", path);
	else if (!r && !c.header_seen)
		r = bad(&c, 1, "empty file (no header)");
	free(path);
	if (r) {
		hvb_exit_rows_free(e.rows, e.n);
		return r;
	}
	*rows = e.rows;
	*n = e.n;
	return 0;
}

void hvb_exit_rows_free(struct hvb_exit_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].runner), free(rows[i].workload);
		free(rows[i].reason), free(rows[i].source);
	}
	free(rows);
}
