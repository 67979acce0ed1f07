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

#define SELFTEST_PREFIX "guest rt: selftest smp: "

/* A LOG line of the guest's interrupt self-test (workloads/rt/smptest.c).
 * STORM (a never-EOI'd vector blocks its class) is not a delivery check:
 * nested PVM re-delivers such a vector, which says nothing about whether
 * interrupts arrive. */
static void note_selftest(struct hvb_probe_boot *b, const struct hvb_record *rec)
{
	char text[HVB_TEXT_MAX + 1];
	const char *t;

	hvb_printable(text, sizeof(text), rec->text, sizeof(rec->text));
	if (strncmp(text, SELFTEST_PREFIX, strlen(SELFTEST_PREFIX)))
		return;
	t = text + strlen(SELFTEST_PREFIX);
	if (!strncmp(t, "self ok ", 8))
		b->irq_self_ok = true;
	else if (!strncmp(t, "timer ok ", 9))
		b->irq_timer_ok = true;
	else if (!b->irq_fail[0] && strncmp(t, "storm ", 6) &&
		 (strstr(t, " FAILED ") || !strncmp(t, "interrupts skipped", 18)))
		hvb_strlcpy(b->irq_fail, t, sizeof(b->irq_fail));
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
	case HVB_REC_LOG:
		note_selftest(b, rec);
		break;
	case HVB_REC_FAULT:
		hvb_printable(where, sizeof(where), rec->text, sizeof(rec->text));
		snprintf(b->fault, sizeof(b->fault), "guest fault: vector %llu at rip 0x%llx: %s",
			 (unsigned long long)rec->u64[0], (unsigned long long)rec->u64[2], where);
		break;
	}
}

static char *probe_words(const struct hvb_probe_boot *b, const struct hvb_job *job,
			 const char *extra)
{
	char list[256] = "";
	size_t o = 0;

	for (unsigned i = 0; i < HVB_N_PROBES; i++)
		if (b->pending[i])
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", o ? "," : "",
					      hvb_probes[i].workload);
	return xasprintf("w=%s rep=0 reps=1 goal_us=100 batches=1 tsc_khz=%llu quick=1%s%s", list,
			 (unsigned long long)job->tsc_khz, extra ? " " : "", extra ? extra : "");
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
	for (unsigned i = 0; i < HVB_N_PROBES; i++) /* hlt: maybe answered by the irq probe */
		left += (todo[i] = job_needs(job, i) && c->res[i].outcome != HVB_PROBE_GRANTED);
	while (left) {
		struct hvb_probe_boot *b = xcalloc(1, sizeof(*b));
		char *words;

		b->offer = base | c->granted;
		for (unsigned i = 0; i < HVB_N_PROBES; i++)
			if ((b->pending[i] = todo[i]))
				b->offer |= hvb_probes[i].cap;
		b->words = words = probe_words(b, job, NULL);
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

/* ------------------------------------------------------------ interrupts */

static int probe_index_of_cap(uint32_t cap)
{
	for (unsigned i = 0; i < HVB_N_PROBES; i++)
		if (hvb_probes[i].cap == cap)
			return (int)i;
	return -1;
}

static bool job_wants_irq(const struct hvb_job *job)
{
	if (job->vcpus > 1)
		return true;
	for (size_t k = 0; k < job->n_workloads; k++) {
		const struct hvb_workload *w = hvb_workload_find(job->workloads[k]);

		if (w && (w->needs & (HVB_CAP_IRQ | HVB_CAP_VIRQ | HVB_CAP_HLT)))
			return true;
	}
	return false;
}

/* The verdict of one irq probe boot b, into c->irq. */
static void irq_verdict(struct hvb_caps_cache *c, const struct hvb_probe_boot *b, int hlt)
{
	bool woke = b->ran[hlt];

	c->irq.ok = b->hello && b->irq_self_ok && b->irq_timer_ok && woke;
	if (c->irq.ok)
		snprintf(c->irq.why, sizeof(c->irq.why),
			 "granted: the guest's self-test saw every self-IPI and LAPIC timer "
			 "arrive once, and micro/hlt-wake was woken by the timer");
	else if (!b->hello)
		snprintf(c->irq.why, sizeof(c->irq.why), "not granted: the probe guest did not "
			 "start (%.200s)", b->why);
	else if (b->irq_fail[0])
		snprintf(c->irq.why, sizeof(c->irq.why), "not granted: self-test: %.250s",
			 b->irq_fail);
	else if (!b->irq_self_ok || !b->irq_timer_ok)
		snprintf(c->irq.why, sizeof(c->irq.why), "not granted: the self-test ended "
			 "before its %s check (%.200s)", b->irq_self_ok ? "timer" : "self-IPI",
			 b->why);
	else
		snprintf(c->irq.why, sizeof(c->irq.why), "not granted: micro/hlt-wake with "
			 "interrupts on was not woken: %.220s",
			 b->status[hlt][0] ? b->status[hlt] : b->fault[0] ? b->fault : b->why);
}

uint32_t hvb_caps_probe_irq(struct hvb_caps_cache *c, const struct hvb_job *job,
			    const struct hvb_out *out, uint32_t base, hvb_probe_boot_fn boot,
			    void *arg)
{
	int hlt = probe_index_of_cap(HVB_CAP_HLT);
	struct hvb_probe_boot *b;
	uint64_t t0;
	char *words;

	if (c->irq.done || hlt < 0)
		return c->irq.ok ? HVB_CAP_IRQ : 0;
	c->irq.done = true;
	if (!job_wants_irq(job)) {
		snprintf(c->irq.why, sizeof(c->irq.why), "not probed: no selected workload "
			 "needs interrupts and the guest has one vCPU");
		hvb_out_meta(out, "irq", c->irq.why);
		return 0;
	}
	t0 = hvb_now_ns();
	b = xcalloc(1, sizeof(*b));
	b->offer = base | HVB_CAP_IRQ | HVB_CAP_HLT;
	b->pending[hlt] = true;
	b->words = words = probe_words(b, job, "selftest=smp");
	boot(arg, b);
	irq_verdict(c, b, hlt);
	if (c->irq.ok) {
		c->res[hlt].outcome = HVB_PROBE_GRANTED;
		c->granted |= HVB_CAP_HLT;
	}
	free(words);
	free(b);
	hvb_out_metaf(out, "irq", "%s; 1 boot, %.1f s", c->irq.why,
		      (double)(hvb_now_ns() - t0) / 1e9);
	hvb_out_log(out, "interrupt delivery probe: HVB_CAP_IRQ %s", c->irq.why);
	return c->irq.ok ? HVB_CAP_IRQ : 0;
}

const char *hvb_caps_names(uint32_t caps, char *buf, size_t len)
{
	static const struct {
		uint32_t cap;
		const char *name;
	} names[] = {
		{ HVB_CAP_PIO_USER, "PIO_USER" }, { HVB_CAP_PIO_KERN, "PIO_KERN" },
		{ HVB_CAP_MMIO_USER, "MMIO_USER" }, { HVB_CAP_MMIO_KERN, "MMIO_KERN" },
		{ HVB_CAP_HYPERCALL, "HYPERCALL" }, { HVB_CAP_CPUID, "CPUID" },
		{ HVB_CAP_MSR, "MSR" },		  { HVB_CAP_HLT, "HLT" },
		{ HVB_CAP_RELEASE, "RELEASE" },	  { HVB_CAP_PVM, "PVM" },
		{ HVB_CAP_EMULATED, "EMULATED" }, { HVB_CAP_XEN_PV, "XEN_PV" },
		{ HVB_CAP_BLK, "BLK" },		  { HVB_CAP_NET, "NET" },
		{ HVB_CAP_IRQ, "IRQ" },		  { HVB_CAP_VIRQ, "VIRQ" },
		{ HVB_CAP_KICK, "KICK" },
		{ HVB_CAP_ONE_TSC, "ONE_TSC" },
	};
	uint32_t known = 0;
	size_t o = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		known |= names[i].cap;
		if ((caps & names[i].cap) && o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "|" : "", names[i].name);
	}
	if ((caps & ~known) && o < len)
		snprintf(buf + o, len - o, "%s0x%x", o ? "|" : "", caps & ~known);
	else if (!caps)
		snprintf(buf, len, "none");
	return buf;
}
