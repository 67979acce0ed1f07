/*
 * The JSON Lines sample export (schema hvbench-sample/1): one flat object
 * per samples.csv row with its dimensions typed (value a number or null,
 * rep an integer or null) and, in one nested object "context", every meta
 * key that changes results, under a column name a time-series database or
 * BigQuery accepts ([A-Za-z0-9_]).
 */
#include "export.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "compare_context.h"
#include "csvfile.h"
#include "util.h"

/*
 * Context beyond compare's (compare_context.c, hvb_ctx_run_keys, which
 * every line carries): what else FORMAT.md says moves the figures.  Prefix
 * entries end with '.'.  Not here: per-run measurements (tsc_khz, load.*,
 * placement.*), times and the command line.
 */
static const char *const export_keys[] = {
	"arch", "cpu_family", "cpu_model_number", "cpu_stepping", "cpu_count", "mem_total_kib",
	"hypervisor", "nesting", "governor", "thp", "hugepages_total", "pmu", "topology",
	"compiler", "workload_cflags", "hvbench_commit", "order", "cpus", "reps",
	"host.overcommit_memory", "host.ksm.run", "host.swap.swappiness", "disk.fs",
	"disk.odirect", "net.link", "net.txqueuelen",
	"param.", "host.irq.", "host.thp.",
	NULL,
};

static bool key_listed(const char *const *list, const char *key)
{
	for (size_t i = 0; list[i]; i++) {
		size_t n = strlen(list[i]);

		if (list[i][n - 1] == '.' ? !strncmp(key, list[i], n) : !strcmp(key, list[i]))
			return true;
	}
	return false;
}

/* The runner a row's runner.<name>.* keys belong to: a capacity step
 * <runner>.n<N> (FORMAT.md "Capacity runs") is its runner's. */
static size_t runner_base_len(const char *runner)
{
	const char *dot = strrchr(runner, '.');
	const char *d;

	if (!dot || dot[1] != 'n' || !dot[2])
		return strlen(runner);
	for (d = dot + 2; *d; d++)
		if (!isdigit((unsigned char)*d))
			return strlen(runner);
	return (size_t)(dot - runner);
}

/* runner.<runner>.KEY: KEY, else NULL. */
static const char *own_runner_key(const char *key, const char *runner)
{
	size_t n = runner_base_len(runner);

	if (strncmp(key, "runner.", 7) || strncmp(key + 7, runner, n) || key[7 + n] != '.')
		return NULL;
	return key + 8 + n;
}

/* A column name: every byte outside [A-Za-z0-9_] becomes '_'. */
static char *column_name(const char *prefix, const char *key)
{
	char *s = xasprintf("%s%s", prefix, key);

	for (char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_')
			*c = '_';
	return s;
}

static void put_context(struct hvb_json *j, const struct hvb_run *run, const char *runner)
{
	hvb_json_key(j, "context");
	hvb_json_obj_begin(j);
	for (size_t i = 0; i < run->n_meta; i++) {
		const char *k = run->meta_keys[i], *tail = own_runner_key(k, runner);
		char *col;

		if (tail)
			col = column_name("runner_", tail);
		else if (key_listed(hvb_ctx_run_keys, k) || key_listed(export_keys, k))
			col = column_name("", k);
		else
			continue;
		hvb_json_kv_str(j, col, run->meta_values[i]);
		free(col);
	}
	hvb_json_obj_end(j);
}

/* started_utc when it is RFC 3339 (YYYY-mm-ddTHH:MM:SSZ, as run writes
 * it), else NULL: a time column must not hold free text. */
static const char *rfc3339(const char *t)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";

	if (!t || strlen(t) != sizeof(pat) - 1)
		return NULL;
	for (size_t i = 0; pat[i]; i++)
		if (pat[i] == 'd' ? !isdigit((unsigned char)t[i]) : t[i] != pat[i])
			return NULL;
	return t;
}

static const char *or_null(const char *s)
{
	return s && *s ? s : NULL;
}

static void put_line(FILE *f, const struct hvb_run *run, const struct hvb_sample_row *s)
{
	struct hvb_json j;

	hvb_json_init(&j, f, false);
	hvb_json_obj_begin(&j);
	hvb_json_kv_str(&j, "schema", HVB_SAMPLE_LINE_SCHEMA);
	hvb_json_kv_str(&j, "run_id", s->run_id);
	hvb_json_kv_str(&j, "run_started", rfc3339(hvb_run_meta(run, "started_utc")));
	hvb_json_kv_str(&j, "run_status", hvb_export_status(run));
	hvb_json_kv_str(&j, "host_name", or_null(hvb_run_meta(run, "host_name")));
	hvb_json_kv_str(&j, "host_identity", or_null(hvb_run_meta(run, "host_identity")));
	hvb_json_kv_str(&j, "runner", s->runner);
	hvb_json_kv_str(&j, "workload", s->workload);
	hvb_json_kv_str(&j, "metric", or_null(s->metric));
	hvb_json_kv_str(&j, "unit", or_null(s->unit));
	hvb_json_kv_str(&j, "better", s->better ? hvb_better_name(s->better) : NULL);
	hvb_json_key(&j, "rep");
	if (s->rep >= 0)
		hvb_json_int(&j, s->rep);
	else
		hvb_json_null(&j);
	/* a value only where status is ok (FORMAT.md): never a 0 for "none" */
	hvb_json_key(&j, "value");
	if (s->status == HVB_ST_OK && s->has_value)
		hvb_json_num(&j, s->value);
	else
		hvb_json_null(&j);
	hvb_json_kv_str(&j, "status", hvb_status_name(s->status));
	hvb_json_kv_str(&j, "note", or_null(s->note));
	put_context(&j, run, s->runner);
	hvb_json_obj_end(&j);
	hvb_json_end(&j);
}

size_t hvb_export_samples(FILE *f, const struct hvb_run *run)
{
	for (size_t i = 0; i < run->n_samples; i++)
		put_line(f, run, &run->samples[i]);
	return run->n_samples;
}
