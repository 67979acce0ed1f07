/*
 * The capability probe of qemu-kvm: which privileged operations really
 * work for the guest under QEMU on this host's /dev/kvm (see qemu.h).
 *
 * Nothing is assumed.  Under nested PVM guest ring 0 is instruction-
 * emulated and an instruction may fault or hang KVM_RUN; on VMX/SVM it
 * simply exits; QEMU decides the rest (hlt with interrupts off waits for
 * an interrupt that never comes with an in-kernel irqchip).  So the guest
 * image is booted with the workload that needs each capability, the
 * capability offered, and the capability is granted only if that workload
 * delivered an ok sample.
 *
 * SeaBIOS costs seconds per boot, so one boot tries every pending
 * capability in turn (w=micro/cpuid,micro/msr-read,...).  The first one
 * without a sample failed: by its status record, a guest fault, QEMU dying,
 * or no record for QEMU_PROBE_STEP_S (a hang; QEMU is stopped).  The ones
 * before it worked.  The ones after it are tried again in the next boot
 * without the failed capability, so every answer was obtained with the
 * capabilities that the run itself grants before it in cap_probes[] order
 * (cpuid comes first: it decides the guest's hypercall instruction).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qemu.h"
#include "util.h"

/* Set by `hvbench run` when the user interrupts (SIGINT/SIGTERM). */
extern volatile int hvb_interrupted;

#define QEMU_PROBE_STEP_S 5  /* longest silence of a guest that is probing */
#define QEMU_PROBE_BOOT_S 60 /* longest boot (SeaBIOS) before HELLO, at most the job's timeout */

static const struct cap_probe {
	uint32_t cap;
	const char *name;     /* in runner.qemu-kvm.caps_probe */
	const char *workload; /* must deliver a sample for the capability */
	const char *also;     /* another workload that needs it, or NULL */
} cap_probes[] = {
    {HVB_CAP_CPUID, "cpuid", "micro/cpuid", NULL},
    {HVB_CAP_MSR, "msr", "micro/msr-read", "micro/msr-write"},
    {HVB_CAP_HYPERCALL, "hypercall", "micro/hypercall", NULL},
    {HVB_CAP_HLT, "hlt", "micro/hlt-wake", NULL},
};
#define N_PROBES ARRAY_SIZE(cap_probes)

/* What the probe found, per capability. */
static struct probe_result {
	enum { NOT_NEEDED, GRANTED, FAILED, NOT_PROBED } outcome;
	char why[160]; /* FAILED, NOT_PROBED: the reason */
} results[N_PROBES];

/* One probe boot. */
struct probe_boot {
	struct qemu_job q;
	bool pending[N_PROBES]; /* tried in this boot */
	bool ran[N_PROBES];	/* ... and delivered an ok sample */
	char status[N_PROBES][HVB_TEXT_MAX + 1];
	char fault[HVB_TEXT_MAX + 80];
	bool hello;
};

static int probe_index(const char *workload)
{
	for (unsigned i = 0; i < N_PROBES; i++)
		if (!strncmp(workload, cap_probes[i].workload, HVB_NAME_MAX))
			return (int)i;
	return -1;
}

/* Unvalidated guest text, bound for meta.csv: printable bytes only. */
static void copy_printable(char *out, size_t len, const char *text, size_t max)
{
	size_t i;

	for (i = 0; i + 1 < len && i < max && text[i]; i++)
		out[i] = (unsigned char)text[i] < 0x20 || text[i] == 0x7f ? '?' : text[i];
	out[i] = '\0';
}

static int on_probe_record(void *arg, const struct hvb_record *rec, uint32_t seq)
{
	struct probe_boot *b = arg;
	int i;

	(void)seq;
	if (rec->magic != HVB_RECORD_MAGIC || rec->version != HVB_ABI_VERSION ||
	    rec->size != sizeof(*rec))
		return -EPROTO;
	/* Any record is progress: the next one may take QEMU_PROBE_STEP_S. */
	b->q.deadline = hvb_now_ns() + QEMU_PROBE_STEP_S * 1000000000ull;
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
			copy_printable(b->status[i], sizeof(b->status[i]), rec->text,
				       sizeof(rec->text));
		break;
	case HVB_REC_FAULT: {
		char where[HVB_TEXT_MAX + 1];
		copy_printable(where, sizeof(where), rec->text, sizeof(rec->text));
		snprintf(b->fault, sizeof(b->fault), "guest fault: vector %llu at rip 0x%llx: %s",
			 (unsigned long long)rec->u64[0], (unsigned long long)rec->u64[2], where);
		break;
	}
	}
	return 0;
}

/* Why the boot ended where it did, for the capability it stopped at. */
static void boot_reason(const struct probe_boot *b, enum qemu_end end, int status, char *out,
			size_t len)
{
	char tail[QEMU_STDERR_TAIL + 1];

	switch (end) {
	case QEMU_END_TIMEOUT:
		if (b->hello)
			snprintf(out, len, "timeout: no record for %d s, QEMU stopped",
				 QEMU_PROBE_STEP_S);
		else
			snprintf(out, len, "timeout: the guest did not start within %.0f s",
				 (double)(b->q.deadline - b->q.t_start) / 1e9);
		return;
	case QEMU_END_INTERRUPT:
		snprintf(out, len, "interrupted");
		return;
	case QEMU_END_PROTO:
		snprintf(out, len, "the guest broke the record protocol");
		return;
	case QEMU_END_EOF:
		break;
	}
	if (b->fault[0]) {
		snprintf(out, len, "%s", b->fault);
		return;
	}
	qemu_err_summary(&b->q, tail, sizeof(tail));
	if (WIFEXITED(status) && (WEXITSTATUS(status) & 1) && b->hello)
		snprintf(out, len, "did not run (guest exit code %d)", WEXITSTATUS(status) >> 1);
	else if (WIFSIGNALED(status))
		snprintf(out, len, "QEMU killed by signal %d%s%.200s", WTERMSIG(status),
			 *tail ? ": " : "", tail);
	else
		snprintf(out, len, "QEMU exited with status %d%s%.200s",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1, *tail ? ": " : "", tail);
}

/* Guest command line of a probe boot: the pending workloads, short and
 * quick, with caps offered.  $HVB_QEMU_PROBE_EXTRA adds guest words to
 * probe boots only (tests: fault=ud makes every probe fail). */
static char *probe_cmdline(const struct probe_boot *b, const struct hvb_job *job, uint32_t caps)
{
	const char *extra = getenv("HVB_QEMU_PROBE_EXTRA");
	char list[256] = "";
	size_t o = 0;

	for (unsigned i = 0; i < N_PROBES; i++)
		if (b->pending[i])
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", o ? "," : "",
					      cap_probes[i].workload);
	return xasprintf("w=%s rep=0 reps=1 goal_us=100 batches=1 tsc_khz=%llu quick=1 "
			 "dev=serial caps=0x%x mmio_user=0x%x%s%s",
			 list, (unsigned long long)job->tsc_khz, caps, QEMU_MMIO_USER,
			 extra && *extra ? " " : "", extra && *extra ? extra : "");
}

/* Boot once with caps offered; fills b and *why (the end's reason). */
static void probe_boot(const struct qemu_conf *conf, const struct hvb_job *job, uint32_t caps,
		       struct probe_boot *b, char *why, size_t len)
{
	char img[4096], **argv, *append = probe_cmdline(b, job, caps);
	double boot_s = job->timeout_s < QEMU_PROBE_BOOT_S ? job->timeout_s : QEMU_PROBE_BOOT_S;
	int out_fd, err_fd, status, e;
	enum qemu_end end;

	b->q.job = job;
	hvb_console_stream_init(&b->q.stream, on_probe_record, NULL, b);
	qemu_guest_image(img, sizeof(img));
	argv = qemu_argv(conf, img, append);
	b->q.t_start = hvb_now_ns();
	e = qemu_spawn(argv, false, &out_fd, &err_fd, &b->q.pid);
	if (e) {
		snprintf(why, len, "cannot start QEMU: %s", strerror(-e));
		goto out;
	}
	b->q.deadline = b->q.t_start + (uint64_t)(boot_s * 1e9);
	end = qemu_collect(&b->q, out_fd, err_fd);
	status = qemu_reap(b->q.pid, end != QEMU_END_EOF);
	close(out_fd);
	close(err_fd);
	boot_reason(b, end, status, why, len);
out:
	qemu_argv_free(argv);
	free(append);
}

/* Does the job run a workload that needs cap_probes[i]? */
static bool job_needs(const struct hvb_job *job, unsigned i)
{
	for (size_t k = 0; k < job->n_workloads; k++)
		if (!strcmp(job->workloads[k], cap_probes[i].workload) ||
		    (cap_probes[i].also && !strcmp(job->workloads[k], cap_probes[i].also)))
			return true;
	return false;
}

/* Settle the pending capabilities of boot b in cap_probes[] order; the
 * unsettled ones are left in todo[] for the next boot. */
static unsigned settle(const struct probe_boot *b, const char *why, bool todo[], uint32_t *granted)
{
	unsigned settled = 0;

	for (unsigned i = 0; i < N_PROBES; i++) {
		struct probe_result *res = &results[i];
		if (!b->pending[i])
			continue;
		if (b->ran[i]) {
			res->outcome = GRANTED;
			*granted |= cap_probes[i].cap;
			todo[i] = false, settled++;
			continue;
		}
		if (!b->hello || hvb_interrupted) {
			/* The guest never started, or the user stopped it:
			 * nothing (more) was tried. */
			for (unsigned k = i; k < N_PROBES; k++)
				if (todo[k]) {
					results[k].outcome = NOT_PROBED;
					hvb_strlcpy(results[k].why, why, sizeof(results[k].why));
					todo[k] = false, settled++;
				}
			return settled;
		}
		res->outcome = FAILED;
		hvb_strlcpy(res->why, b->status[i][0] ? b->status[i] : why, sizeof(res->why));
		todo[i] = false, settled++;
		break; /* the ones after it: again, without this capability */
	}
	return settled;
}

/* runner.qemu-kvm.caps_probe: one clause per capability, then the cost. */
static void describe(char *out, size_t len, unsigned boots, double secs)
{
	size_t o = 0;

	for (unsigned i = 0; i < N_PROBES && o < len; i++) {
		const struct cap_probe *p = &cap_probes[i];
		const struct probe_result *res = &results[i];
		const char *sep = i ? "; " : "";

		if (res->outcome == GRANTED)
			o += (size_t)snprintf(out + o, len - o, "%s%s: ok (%s ran)", sep, p->name,
					      p->workload);
		else if (res->outcome == FAILED)
			o += (size_t)snprintf(out + o, len - o, "%s%s: no (%s: %s)", sep, p->name,
					      p->workload, res->why);
		else if (res->outcome == NOT_PROBED)
			o += (size_t)snprintf(out + o, len - o, "%s%s: not probed (%s)", sep,
					      p->name, res->why);
		else
			o += (size_t)snprintf(out + o, len - o,
					      "%s%s: not probed (no selected workload needs it)",
					      sep, p->name);
	}
	if (o < len)
		snprintf(out + o, len - o, "; %u QEMU boot%s, %.1f s", boots, boots == 1 ? "" : "s",
			 secs);
}

uint32_t qemu_probe_caps(const struct qemu_conf *conf, const struct hvb_job *job, uint32_t base,
			 const char **desc)
{
	static bool done;
	static uint32_t granted;
	static char text[1024];
	bool todo[N_PROBES];
	unsigned boots = 0, left = 0;
	uint64_t t0 = hvb_now_ns();

	*desc = text;
	if (done)
		return granted;
	done = true;
	for (unsigned i = 0; i < N_PROBES; i++)
		left += (todo[i] = job_needs(job, i));
	while (left) {
		struct probe_boot *b = xcalloc(1, sizeof(*b));
		uint32_t offer = granted;
		char why[QEMU_STDERR_TAIL + 256];

		for (unsigned i = 0; i < N_PROBES; i++)
			if ((b->pending[i] = todo[i]))
				offer |= cap_probes[i].cap;
		probe_boot(conf, job, base | offer, b, why, sizeof(why));
		boots++;
		left -= settle(b, why, todo, &granted);
		free(b);
	}
	describe(text, sizeof(text), boots, (double)(hvb_now_ns() - t0) / 1e9);
	return granted;
}

const char *qemu_probe_failure(const char *workload, char *buf, size_t len)
{
	for (unsigned i = 0; i < N_PROBES; i++) {
		const struct cap_probe *p = &cap_probes[i];
		if (strncmp(workload, p->workload, HVB_NAME_MAX) &&
		    (!p->also || strncmp(workload, p->also, HVB_NAME_MAX)))
			continue;
		if (results[i].outcome == FAILED)
			snprintf(buf, len, "%s", results[i].why);
		else if (results[i].outcome == NOT_PROBED)
			snprintf(buf, len, "not probed: %s", results[i].why);
		else
			return NULL;
		return buf;
	}
	return NULL;
}
