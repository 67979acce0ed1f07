#include "caps_probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util.h"
#include "workload.h"

const struct hvb_probe hvb_probes[HVB_N_PROBES] = {
	{ HVB_CAP_CPUID, "cpuid", "micro/cpuid" },
	{ HVB_CAP_MSR, "msr", "micro/msr-read" },
	{ HVB_CAP_HYPERCALL, "hypercall", "micro/hypercall" },
	{ HVB_CAP_HLT, "hlt", "micro/hlt-wake" },
};

static int probe_index(const char *workload)
{
	for (unsigned i = 0; i < HVB_N_PROBES; i++)
		if (!strncmp(workload, hvb_probes[i].workload, HVB_NAME_MAX))
			return (int)i;
	return -1;
}

/* The probe that a workload's needs depend on, or -1. */
static int probe_of(const char *workload)
{
	char name[HVB_NAME_MAX + 1];
	const struct hvb_workload *w;

	memcpy(name, workload, HVB_NAME_MAX);
	name[HVB_NAME_MAX] = '\0';
	w = hvb_workload_find(name);
	for (unsigned i = 0; w && i < HVB_N_PROBES; i++)
		if (w->needs & hvb_probes[i].cap)
			return (int)i;
	return -1;
}

static bool job_needs(const struct hvb_job *job, unsigned i)
{
	for (size_t k = 0; k < job->n_workloads; k++)
		if (probe_of(job->workloads[k]) == (int)i)
			return true;
	return false;
}

void hvb_probe_boot_record(struct hvb_probe_boot *b, const struct hvb_record *rec)
{
	char where[HVB_TEXT_MAX + 1];
	int i;

	if (rec->magic != HVB_RECORD_MAGIC || rec->version != HVB_ABI_VERSION)
		return;
	switch (rec->type) {
	case HVB_REC_HELLO:
		b->hello = true;
		break;
	case HVB_REC_SAMPLE:
	case HVB_REC_STATUS:
		i = probe_index(rec->workload);
		if (i < 0 || !b->pending[i])
			break;
		if (rec->type == HVB_REC_SAMPLE && rec->status == HVB_ST_OK)
			b->ran[i] = true;
		else if (rec->type == HVB_REC_STATUS)
			hvb_printable(b->status[i], sizeof(b->status[i]), rec->text,
				      sizeof(rec->text));
		break;
	case HVB_REC_FAULT:
		hvb_printable(where, sizeof(where), rec->text, sizeof(rec->text));
		snprintf(b->fault, sizeof(b->fault), "guest fault: vector %llu at rip 0x%llx: %s",
			 (unsigned long long)rec->u64[0], (unsigned long long)rec->u64[2], where);
		break;
	}
}

static char *probe_words(const struct hvb_probe_boot *b, const struct hvb_job *job)
{
	char list[256] = "";
	size_t o = 0;

	for (unsigned i = 0; i < HVB_N_PROBES; i++)
		if (b->pending[i])
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", o ? "," : "",
					      hvb_probes[i].workload);
	return xasprintf("w=%s rep=0 reps=1 goal_us=100 batches=1 tsc_khz=%llu quick=1", list,
			 (unsigned long long)job->tsc_khz);
}

/* Settle the pending capabilities of boot b in hvb_probes[] order; the
 * unsettled ones are left in todo[] for the next boot. */
static unsigned settle(struct hvb_caps_cache *c, const struct hvb_probe_boot *b,
		       const struct hvb_job *job, bool todo[])
{
	unsigned settled = 0;

	for (unsigned i = 0; i < HVB_N_PROBES; i++) {
		if (!b->pending[i])
			continue;
		if (b->ran[i]) {
			c->res[i].outcome = HVB_PROBE_GRANTED;
			c->granted |= hvb_probes[i].cap;
			todo[i] = false, settled++;
			continue;
		}
		if (!b->hello || hvb_job_stopped(job)) {
			/* The guest never started, or the user stopped it:
			 * nothing (more) was tried. */
			for (unsigned k = i; k < HVB_N_PROBES; k++)
				if (todo[k]) {
					c->res[k].outcome = HVB_PROBE_NOT_PROBED;
					hvb_strlcpy(c->res[k].why, b->why, sizeof(c->res[k].why));
					todo[k] = false, settled++;
				}
			return settled;
		}
		c->res[i].outcome = HVB_PROBE_FAILED;
		hvb_strlcpy(c->res[i].why,
			    b->status[i][0] ? b->status[i] : b->fault[0] ? b->fault : b->why,
			    sizeof(c->res[i].why));
		todo[i] = false, settled++;
		break; /* the ones after it: again, without this capability */
	}
	return settled;
}

/* runner.<name>.caps_probe: one clause per capability, then the cost. */
static void describe(struct hvb_caps_cache *c)
{
	size_t o = 0, len = sizeof(c->desc);

	for (unsigned i = 0; i < HVB_N_PROBES && o < len; i++) {
		const struct hvb_probe *p = &hvb_probes[i];
		const char *sep = i ? "; " : "", *why = c->res[i].why;

		switch (c->res[i].outcome) {
		case HVB_PROBE_GRANTED:
			o += (size_t)snprintf(c->desc + o, len - o, "%s%s: ok (%s ran)", sep,
					      p->name, p->workload);
			break;
		case HVB_PROBE_FAILED:
			o += (size_t)snprintf(c->desc + o, len - o, "%s%s: no (%s: %s)", sep,
					      p->name, p->workload, why);
			break;
		case HVB_PROBE_NOT_PROBED:
			o += (size_t)snprintf(c->desc + o, len - o, "%s%s: not probed (%s)", sep,
					      p->name, why);
			break;
		case HVB_PROBE_NOT_NEEDED:
			o += (size_t)snprintf(c->desc + o, len - o,
					      "%s%s: not probed (no selected workload needs it)",
					      sep, p->name);
			break;
		}
	}
	if (o < len)
		snprintf(c->desc + o, len - o, "; %u boot%s, %.1f s", c->boots,
			 c->boots == 1 ? "" : "s", c->seconds);
}

uint32_t hvb_caps_probe(struct hvb_caps_cache *c, const struct hvb_job *job,
			const struct hvb_out *out, uint32_t base, hvb_probe_boot_fn boot, void *arg)
{
	bool todo[HVB_N_PROBES];
	unsigned left = 0;
	uint64_t t0 = hvb_now_ns();

	if (c->done)
		return c->granted;
	c->done = true;
	for (unsigned i = 0; i < HVB_N_PROBES; i++)
		left += (todo[i] = job_needs(job, i));
	while (left) {
		struct hvb_probe_boot *b = xcalloc(1, sizeof(*b));
		char *words;

		b->offer = base | c->granted;
		for (unsigned i = 0; i < HVB_N_PROBES; i++)
			if ((b->pending[i] = todo[i]))
				b->offer |= hvb_probes[i].cap;
		b->words = words = probe_words(b, job);
		boot(arg, b);
		c->boots++;
		left -= settle(c, b, job, todo);
		free(words);
		free(b);
	}
	c->seconds = (double)(hvb_now_ns() - t0) / 1e9;
	describe(c);
	hvb_out_meta(out, "caps_probe", c->desc);
	hvb_out_metaf(out, "caps", "0x%x", base | c->granted);
	hvb_out_log(out, "capability probe: %s", c->desc);
	return c->granted;
}

const char *hvb_caps_probe_failure(const struct hvb_caps_cache *c, const char *workload,
				   char *buf, size_t len)
{
	int i = probe_of(workload);

	if (i < 0 || !c)
		return NULL;
	if (c->res[i].outcome == HVB_PROBE_FAILED)
		snprintf(buf, len, "%s", c->res[i].why);
	else if (c->res[i].outcome == HVB_PROBE_NOT_PROBED)
		snprintf(buf, len, "not probed: %s", c->res[i].why);
	else
		return NULL;
	return buf;
}

const struct hvb_record *hvb_caps_note_skip(const struct hvb_caps_cache *c,
					    const struct hvb_record *rec, struct hvb_record *copy)
{
	char buf[HVB_TEXT_MAX];
	const char *why;
	size_t n;

	if (rec->type != HVB_REC_STATUS || rec->status != HVB_ST_SKIPPED ||
	    !(why = hvb_caps_probe_failure(c, rec->workload, buf, sizeof(buf))))
		return rec;
	*copy = *rec;
	n = strnlen(copy->text, sizeof(copy->text));
	snprintf(copy->text + n, sizeof(copy->text) - n, "%sprobe: %s", n ? "; " : "", why);
	return copy;
}
