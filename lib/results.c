/*
 * Reader of result directories (results/FORMAT.md).  A run that did not
 * complete keeps its data in *.partial; those are read only when asked.
 */
#include "results.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

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
		if (n != HVB_SAMPLES_COLS || strcmp(f[0], "run_id") ||
		    strcmp(f[9], "note"))
			return bad(c, line, "unexpected header (see results/FORMAT.md)");
		return 0;
	}
	if (n != HVB_SAMPLES_COLS)
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
	/* running: the writer died; failed: a write failed (FORMAT.md).  Both
	 * keep their data in *.partial files. */
	if (!strcmp(run->status, "running") || !strcmp(run->status, "failed")) {
		if (!allow_partial) {
			const char *why = hvb_run_meta(run, "failed_reason");
			snprintf(err, errlen,
				 "%s: incomplete run (status=%s: %s); accept it with "
				 "--allow-partial",
				 dir, run->status, why ? why : "the writer stopped before finishing");
			r = -EINVAL;
			goto fail;
		}
		run->partial = true;
	}
	r = read_csv(dir, run->partial ? "samples.csv.partial" : "samples.csv", sample_row, run,
		     err, errlen);
	if (r == -ENOENT && run->partial) /* it got as far as renaming it */
		r = read_csv(dir, "samples.csv", sample_row, run, err, errlen);
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
