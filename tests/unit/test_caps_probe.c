/*
 * The interrupt probe (runners/common/caps_probe.c, hvb_caps_probe_irq)
 * against scripted probe boots: which guest records grant HVB_CAP_IRQ (and
 * HVB_CAP_HLT with it), which refuse it and with what reason, that a job
 * that needs no interrupts is not probed, and that the answer is cached;
 * the caps naming of meta.csv; the counter relay of vmm_counters.h between
 * an asking thread and a serving one, served and not.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps_probe.h"
#include "sink.h"
#include "tap.h"
#include "vmm_counters.h"

static char tmp[] = "/tmp/hvb-test-caps-XXXXXX";

/* What one scripted boot sends. */
struct script {
	const char *const *logs; /* selftest lines, without the prefix */
	bool hello, sample_ok;
	const char *why;	 /* the runner's end of the boot */
	unsigned boots;		 /* boots so far */
	uint32_t offer;		 /* caps= of the last boot */
	char words[256];
};

static void send(struct hvb_probe_boot *b, int type, const char *workload, int status,
		 const char *text)
{
	struct hvb_record r;

	memset(&r, 0, sizeof(r));
	r.magic = HVB_RECORD_MAGIC, r.version = HVB_ABI_VERSION, r.size = sizeof(r);
	r.type = (uint16_t)type;
	r.status = (uint16_t)status;
	if (workload)
		strncpy(r.workload, workload, sizeof(r.workload));
	if (text)
		snprintf(r.text, sizeof(r.text), "%s", text);
	hvb_probe_boot_record(b, &r);
}

static void scripted_boot(void *arg, struct hvb_probe_boot *b)
{
	struct script *s = arg;
	char line[HVB_TEXT_MAX];

	s->boots++;
	s->offer = b->offer;
	snprintf(s->words, sizeof(s->words), "%s", b->words);
	if (s->hello)
		send(b, HVB_REC_HELLO, NULL, 0, NULL);
	for (const char *const *l = s->logs; l && *l; l++) {
		snprintf(line, sizeof(line), "guest rt: selftest smp: %s", *l);
		send(b, HVB_REC_LOG, NULL, 0, line);
	}
	if (s->sample_ok)
		send(b, HVB_REC_SAMPLE, "micro/hlt-wake", HVB_ST_OK, NULL);
	snprintf(b->why, sizeof(b->why), "%s", s->why ? s->why : "did not run");
}

static struct hvb_sink *sink;

static uint32_t probe(struct script *s, struct hvb_caps_cache *c, unsigned vcpus,
		      const char *workload)
{
	const char *const wl[] = { workload };
	struct hvb_job job = { .workloads = wl, .n_workloads = 1, .vcpus = vcpus,
			       .tsc_khz = 1000000, .caps = c };
	const struct hvb_out out = { .sink = sink, .runner = "qemu-kvm" };

	return hvb_caps_probe_irq(c, &job, &out, HVB_CAP_PIO_USER, scripted_boot, s);
}

static const char *const all_ok[] = { "work ok cpus=1/1", "self ok arrived=8/8",
				      "timer ok fired=8/8", "storm FAILED blocked=0/1",
				      "done, failures=1", NULL };

static void granted(void)
{
	struct hvb_caps_cache c = { 0 };
	struct script s = { .logs = all_ok, .hello = true, .sample_ok = true };

	TAP_EQ_INT(probe(&s, &c, 1, "micro/hlt-wake"), HVB_CAP_IRQ,
		   "self-IPIs, timers and hlt-wake ok: IRQ granted (storm does not count)");
	TAP_OK(s.offer == (HVB_CAP_PIO_USER | HVB_CAP_IRQ | HVB_CAP_HLT),
	       "the boot is offered base + IRQ + HLT");
	TAP_OK(strstr(s.words, "w=micro/hlt-wake") && strstr(s.words, "selftest=smp"),
	       "the boot runs hlt-wake and the self-test");
	TAP_OK(c.granted & HVB_CAP_HLT, "HLT granted with it");
	TAP_OK(!strncmp(c.irq.why, "granted", 7), "the reason says granted");
	TAP_EQ_INT(probe(&s, &c, 1, "micro/hlt-wake"), HVB_CAP_IRQ, "cached answer");
	TAP_EQ_INT(s.boots, 1, "one boot for the run");
}

static void refused(const char *what, const char *const *logs, bool sample, const char *want)
{
	struct hvb_caps_cache c = { 0 };
	struct script s = { .logs = logs, .hello = true, .sample_ok = sample,
			    .why = "timeout: no record for 5 s, QEMU stopped" };
	char desc[600];

	snprintf(desc, sizeof(desc), "%s: IRQ refused", what);
	TAP_EQ_INT(probe(&s, &c, 2, "mem/stream-copy"), 0, desc);
	snprintf(desc, sizeof(desc), "%.100s: the reason names it (%.300s)", what, c.irq.why);
	TAP_OK(strstr(c.irq.why, want) != NULL, desc);
	TAP_OK(!(c.granted & HVB_CAP_HLT), "HLT not granted by a refused probe");
}

static void refusals(void)
{
	static const char *const self_failed[] = { "self FAILED arrived=0/8", "timer ok fired=8/8",
						   NULL };
	static const char *const no_timer[] = { "self ok arrived=8/8", NULL };
	static const char *const skipped[] = { "interrupts skipped: no enabled LAPIC", NULL };

	refused("a self-IPI that does not arrive", self_failed, true, "self FAILED");
	refused("the self-test ends before the timer", no_timer, false, "before its timer check");
	refused("hlt-wake never woken", all_ok, false, "hlt-wake with interrupts on was not woken");
	refused("interrupts skipped by the guest", skipped, false, "interrupts skipped");
	{
		struct hvb_caps_cache c = { 0 };
		struct script s = { .why = "cannot start QEMU: No such file" };

		TAP_EQ_INT(probe(&s, &c, 2, "micro/rdtsc"), 0, "no HELLO: refused");
		TAP_OK(strstr(c.irq.why, "did not start") && strstr(c.irq.why, "cannot start QEMU"),
		       "... saying the guest did not start, and why");
	}
}

static void not_needed(void)
{
	struct hvb_caps_cache c = { 0 };
	struct script s = { .logs = all_ok, .hello = true, .sample_ok = true };

	TAP_EQ_INT(probe(&s, &c, 1, "micro/rdtsc"), 0, "one vCPU, no interrupt workload: none");
	TAP_EQ_INT(s.boots, 0, "... and no boot");
	TAP_OK(!strncmp(c.irq.why, "not probed", 10), "... recorded as not probed");
}

static void names(void)
{
	char buf[200];

	TAP_EQ_STR(hvb_caps_names(0, buf, sizeof(buf)), "none", "no caps");
	TAP_EQ_STR(hvb_caps_names(HVB_CAP_PIO_USER | HVB_CAP_IRQ | HVB_CAP_VIRQ | HVB_CAP_KICK, buf,
				  sizeof(buf)),
		   "PIO_USER|IRQ|VIRQ|KICK", "the interrupt caps by name");
	TAP_EQ_STR(hvb_caps_names(HVB_CAP_BLK | (1u << 30), buf, sizeof(buf)), "BLK|0x40000000",
		   "an unknown bit in hex");
	TAP_OK(strlen(hvb_caps_names(~0u, buf, 8)) == 7, "truncated to the buffer");
}

/* ------------------------------------------------------------ the relay */

struct asker {
	struct hvb_vmm_relay *r;
	const struct hvb_out *out;
};

static void *ask_thread(void *arg)
{
	struct asker *a = arg;

	hvb_vmm_relay_begin(a->r);
	hvb_vmm_relay_end(a->r, a->out, "micro/rdtsc", 0, 10);
	hvb_vmm_relay_quit(a->r);
	return NULL;
}

static void relay(void)
{
	const struct hvb_out out = { .sink = sink, .runner = "kvm" };
	struct hvb_vmm_counters c;
	struct hvb_vmm_relay r;
	struct asker a = { &r, &out };
	pid_t self = (pid_t)gettid();
	pthread_t t;
	unsigned served = 0;

	hvb_vmm_counters_open(&c, getpid(), &self, 1);
	hvb_vmm_relay_init(&r, &c);
	pthread_create(&t, NULL, ask_thread, &a);
	for (unsigned i = 0; i < 100 && !hvb_vmm_relay_serve(&r, 100); i++)
		served++;
	pthread_join(t, NULL);
	TAP_EQ_INT(r.timeouts, 0, "begin and end served by this thread, none timed out");
	TAP_OK(served >= 2, "two requests served before the quit");
	TAP_OK(!c.begun, "the end consumed the begin's snapshot");
	hvb_vmm_relay_destroy(&r);
	hvb_vmm_counters_close(&c);
}

/* Nobody serves: each request gives up after HVB_RELAY_WAIT_MS and says so
 * (the begin in the counters' error, the end as a failed row). */
static void relay_unserved(void)
{
	const struct hvb_out out = { .sink = sink, .runner = "kvm" };
	struct hvb_vmm_counters c;
	struct hvb_vmm_relay r;
	pid_t self = (pid_t)gettid();

	hvb_vmm_counters_open(&c, getpid(), &self, 1);
	hvb_vmm_relay_init(&r, &c);
	hvb_vmm_relay_begin(&r);
	TAP_EQ_INT(r.timeouts, 1, "an unserved begin times out");
	TAP_OK(!c.begun && strstr(c.err, "did not answer"), "... and the counters say why");
	hvb_vmm_relay_end(&r, &out, "micro/rdtsc", 1, 10);
	TAP_EQ_INT(r.timeouts, 2, "an unserved end times out too");
	TAP_OK(r.req == HVB_RELAY_NONE, "... the request withdrawn (a late serve does nothing)");
	TAP_OK(!hvb_vmm_relay_serve(&r, 1), "a serve with nothing asked returns after its wait");
	hvb_vmm_relay_destroy(&r);
	hvb_vmm_counters_close(&c);
}

int main(void)
{
	if (!mkdtemp(tmp) || hvb_sink_open(&sink, tmp, "caps")) {
		TAP_SKIP("no temporary result directory");
		return tap_done();
	}
	granted();
	refusals();
	not_needed();
	names();
	relay();
	relay_unserved();
	hvb_sink_close(sink, "complete");
	return tap_done();
}
