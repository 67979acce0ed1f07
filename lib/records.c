#include "records.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job.h"
#include "util.h"

void hvb_rec_init(struct hvb_rec_consumer *c, const struct hvb_out *out, const struct hvb_job *job)
{
	memset(c, 0, sizeof(*c));
	c->out = out;
	c->job = job;
	c->current = -1;
	c->delivered = xcalloc(job->n_workloads ? job->n_workloads : 1, 1);
}

static int proto(struct hvb_rec_consumer *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int proto(struct hvb_rec_consumer *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->error[0]) {
		va_start(ap, fmt);
		vsnprintf(c->error, sizeof(c->error), fmt, ap);
		va_end(ap);
	}
	return -EPROTO;
}

/* An unterminated string cut to its field (n bytes left) may end inside a
 * UTF-8 sequence: drop that incomplete sequence. */
static void drop_cut_sequence(char *s, size_t n)
{
	for (size_t k = 1; k <= 3 && k <= n; k++) {
		unsigned char c = (unsigned char)s[n - k];
		if ((c & 0xc0) == 0x80)
			continue;
		if (c >= 0xc0 && (c >= 0xf0 ? 4u : c >= 0xe0 ? 3u : 2u) > k)
			s[n - k] = '\0';
		return;
	}
}

/* Copy a fixed-size, possibly unterminated guest string; reject control bytes
 * and what is not UTF-8 (the result files' readers would refuse the file). */
static bool copy_str(char *dst, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i < len && src[i]; i++) {
		unsigned char ch = (unsigned char)src[i];
		if (ch < 0x20 || ch == 0x7f)
			return false;
		dst[i] = src[i];
	}
	dst[i < len ? i : len - 1] = '\0';
	if (i == len)
		drop_cut_sequence(dst, len - 1);
	return hvb_utf8_valid(dst, strlen(dst));
}

static int job_index(const struct hvb_rec_consumer *c, const char *name)
{
	for (size_t i = 0; i < c->job->n_workloads; i++)
		if (!strcmp(c->job->workloads[i], name))
			return (int)i;
	return -1;
}

/* Has this row been written before?  (Remembers it if not.)  A guest that
 * sends one sample or status twice would make the run unreadable: the
 * readers refuse a repeated (runner, workload, metric, rep) row. */
static bool seen_before(struct hvb_rec_consumer *c, int wi, const char *metric, long rep)
{
	char *key = xasprintf("%d\n%s\n%ld", wi, metric, rep);

	for (size_t i = 0; i < c->n_seen; i++)
		if (!strcmp(c->seen[i], key)) {
			free(key);
			return true;
		}
	c->seen = realloc(c->seen, (c->n_seen + 1) * sizeof(*c->seen));
	if (!c->seen)
		abort();
	c->seen[c->n_seen++] = key;
	return false;
}

static int deliver_sample(struct hvb_rec_consumer *c, const struct hvb_record *r, int wi,
			  const char *metric, const char *unit, const char *text)
{
	bool measured = r->status == HVB_ST_OK;

	if (r->status != HVB_ST_OK && r->status != HVB_ST_SKIPPED &&
	    r->status != HVB_ST_UNSUPPORTED)
		return proto(c, "sample %s/%s has status %d (ok, skipped or unsupported)",
			     c->job->workloads[wi], metric, r->status);
	if (!measured && !*text)
		return proto(c, "sample %s/%s not measured, without the reason",
			     c->job->workloads[wi], metric);
	if (measured && !isfinite(r->value))
		return proto(c, "sample %s/%s is not a finite number", c->job->workloads[wi],
			     metric);
	if (r->better != HVB_LOWER_IS_BETTER && r->better != HVB_HIGHER_IS_BETTER)
		return proto(c, "sample %s/%s has no direction", c->job->workloads[wi], metric);
	if (!*metric || !*unit)
		return proto(c, "sample of %s without metric or unit", c->job->workloads[wi]);
	if (measured && !hvb_value_valid(unit, r->value))
		return proto(c, "sample %s/%s is %g %s: must be %s", c->job->workloads[wi], metric,
			     r->value, unit, hvb_unit_positive(unit) ? "> 0" : ">= 0");
	if (seen_before(c, wi, metric, r->rep))
		return proto(c, "sample %s/%s of repetition %u sent twice", c->job->workloads[wi],
			     metric, r->rep);
	hvb_out_sample(c->out, .workload = c->job->workloads[wi], .metric = metric, .unit = unit,
		       .better = r->better, .rep = r->rep, .value = r->value,
		       .status = (enum hvb_status)r->status, .note = text);
	c->delivered[wi] = 1;
	return 0;
}

static int deliver_status(struct hvb_rec_consumer *c, const struct hvb_record *r, int wi,
			  const char *text)
{
	if (r->status <= HVB_ST_OK || r->status > HVB_ST_FAILED)
		return proto(c, "status record with invalid status %d", r->status);
	if (seen_before(c, wi, "", -1))
		return proto(c, "a second status record for %s", c->job->workloads[wi]);
	hvb_out_status(c->out, c->job->workloads[wi], (enum hvb_status)r->status,
		       *text ? text : "no reason given");
	c->delivered[wi] = 1;
	return 0;
}

static int check_header(struct hvb_rec_consumer *c, const struct hvb_record *r)
{
	if (r->magic != HVB_RECORD_MAGIC)
		return proto(c, "record %lu: bad magic 0x%08x", c->n_records, r->magic);
	if (r->version != HVB_ABI_VERSION)
		return proto(c, "record %lu: ABI version %u, this hvbench speaks %u (rebuild the "
				"guest image)",
			     c->n_records, r->version, HVB_ABI_VERSION);
	if (r->size != sizeof(*r))
		return proto(c, "record %lu: size %u, expected %zu", c->n_records, r->size,
			     sizeof(*r));
	return 0;
}

static int with_workload(struct hvb_rec_consumer *c, const struct hvb_record *r,
			 const char *workload)
{
	int wi = job_index(c, workload);

	if (wi < 0)
		return proto(c, "record type %u names workload '%s', which is not in this job",
			     r->type, workload);
	return wi;
}

/* A repetition index the guest sends must be one this job asked for. */
static int check_rep(struct hvb_rec_consumer *c, const struct hvb_record *r, int wi)
{
	const struct hvb_job *job = c->job;

	if (r->rep < job->rep || r->rep - job->rep >= job->reps)
		return proto(c, "record type %u of %s: repetition %u, this job runs %u..%u",
			     r->type, job->workloads[wi], r->rep, job->rep,
			     job->rep + job->reps - 1);
	return 0;
}

/* REP_BEGIN / REP_END to the runner's probes: a copy whose workload is the
 * job's own (terminated) name, so no runner ever reads a guest string. */
static void deliver_rep(struct hvb_rec_consumer *c, const struct hvb_record *r, int wi)
{
	struct hvb_record safe = *r;

	memset(safe.workload, 0, sizeof(safe.workload));
	hvb_strlcpy(safe.workload, c->job->workloads[wi], sizeof(safe.workload));
	memset(safe.metric, 0, sizeof(safe.metric));
	memset(safe.unit, 0, sizeof(safe.unit));
	memset(safe.text, 0, sizeof(safe.text));
	c->rep_ops = wi == c->current ? c->cell_ops : 0;
	if (c->on_rep)
		c->on_rep(c->arg, &safe, r->type == HVB_REC_REP_BEGIN);
	c->rep_ops = 0;
}

uint64_t hvb_rec_cell_ops(const struct hvb_record *r)
{
	uint64_t n = r->u64[0], batches = r->u64[1];

	return n && batches <= UINT64_MAX / n ? n * batches : 0;
}

int hvb_rec_deliver(struct hvb_rec_consumer *c, const struct hvb_record *r)
{
	char workload[HVB_NAME_MAX], metric[HVB_METRIC_MAX], unit[HVB_UNIT_MAX], text[HVB_TEXT_MAX];
	int wi = -1, e = check_header(c, r);

	c->n_records++;
	if (e)
		return e;
	if (!copy_str(workload, r->workload, sizeof(workload)) ||
	    !copy_str(metric, r->metric, sizeof(metric)) ||
	    !copy_str(unit, r->unit, sizeof(unit)) || !copy_str(text, r->text, sizeof(text)))
		return proto(c, "record %lu: control characters or invalid UTF-8 in a string field",
			     c->n_records);
	if (c->done)
		return proto(c, "record after DONE");
	switch (r->type) {
	case HVB_REC_HELLO:
		c->hello = true;
		c->hello_entry_tsc = r->u64[0];
		c->hello_first_tsc = r->u64[1];
		return 0;
	case HVB_REC_LOG:
		hvb_out_log(c->out, "workload side: %s", text);
		return 0;
	case HVB_REC_FAULT:
		hvb_out_log(c->out,
			     "guest fault: vector %llu error 0x%llx rip 0x%llx cr2 0x%llx (%s)",
			     (unsigned long long)r->u64[0], (unsigned long long)r->u64[1],
			     (unsigned long long)r->u64[2], (unsigned long long)r->u64[3], text);
		return 0;
	case HVB_REC_DONE:
		c->done = true;
		return 0;
	case HVB_REC_RELEASE:
		return 0; /* handled by runners that support it, before delivery */
	default:
		break;
	}
	wi = with_workload(c, r, workload);
	if (wi < 0)
		return wi;
	switch (r->type) {
	case HVB_REC_CELL_BEGIN:
		c->current = wi;
		c->cell_ops = hvb_rec_cell_ops(r);
		hvb_out_log(c->out, "%s: rep %u: %llu ops per batch, %llu batches",
			     workload, r->rep, (unsigned long long)r->u64[0],
			     (unsigned long long)r->u64[1]);
		if (c->job->progress)
			c->job->progress(c->job, c->out->runner, r->rep, workload);
		return 0;
	case HVB_REC_REP_BEGIN:
	case HVB_REC_REP_END:
		if ((e = check_rep(c, r, wi)))
			return e;
		deliver_rep(c, r, wi);
		return 0;
	case HVB_REC_SAMPLE:
		if ((e = check_rep(c, r, wi)))
			return e;
		return deliver_sample(c, r, wi, metric, unit, text);
	case HVB_REC_STATUS:
		return deliver_status(c, r, wi, text);
	default:
		return proto(c, "record %lu: unknown type %u", c->n_records, r->type);
	}
}

void hvb_rec_finish(struct hvb_rec_consumer *c, const char *why)
{
	for (size_t i = 0; i < c->job->n_workloads; i++) {
		if (c->delivered[i])
			continue;
		hvb_out_status(c->out, c->job->workloads[i], HVB_ST_FAILED,
			       why ? why : "the guest stopped before running it");
	}
	hvb_sink_flush(c->out->sink);
	free(c->delivered);
	c->delivered = NULL;
	for (size_t i = 0; i < c->n_seen; i++)
		free(c->seen[i]);
	free(c->seen);
	c->seen = NULL;
	c->n_seen = 0;
}
