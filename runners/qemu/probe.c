/*
 * The boot of qemu-kvm's capability probe (runners/common/caps_probe.h has
 * the engine).  SeaBIOS costs seconds per boot, which is why the engine
 * tries every pending capability in one boot.  A probing guest that says
 * nothing for QEMU_PROBE_STEP_S is taken to hang, and QEMU is stopped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "config.h"
#include "guest.h"
#include "job.h"
#include "qemu.h"
#include "util.h"

#define QEMU_PROBE_STEP_S 5  /* longest silence of a guest that is probing */
#define QEMU_PROBE_BOOT_S 60 /* longest boot (SeaBIOS) before HELLO, at most the job's timeout */

struct probe_boot {
	struct qemu_proc proc;
	struct hvb_console_stream stream;
	struct hvb_probe_boot *b;
};

static int on_probe_record(void *arg, const struct hvb_record *rec, uint32_t seq)
{
	struct probe_boot *p = arg;

	(void)seq;
	if (rec->magic != HVB_RECORD_MAGIC || rec->version != HVB_ABI_VERSION ||
	    rec->size != sizeof(*rec))
		return -EPROTO;
	/* Any record is progress: the next one may take QEMU_PROBE_STEP_S. */
	p->proc.deadline = hvb_now_ns() + QEMU_PROBE_STEP_S * 1000000000ull;
	hvb_probe_boot_record(p->b, rec);
	return 0;
}

/* Why the boot ended where it did, for the capability it stopped at. */
static void boot_reason(const struct probe_boot *p, enum qemu_end end, int status, char *out,
			size_t len)
{
	char tail[QEMU_STDERR_TAIL + 1];

	switch (end) {
	case QEMU_END_TIMEOUT:
		if (p->b->hello)
			snprintf(out, len, "timeout: no record for %d s, QEMU stopped",
				 QEMU_PROBE_STEP_S);
		else
			snprintf(out, len, "timeout: the guest did not start within %.0f s",
				 (double)(p->proc.deadline - p->proc.t_start) / 1e9);
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
	qemu_err_summary(&p->proc, tail, sizeof(tail));
	if (WIFEXITED(status) && (WEXITSTATUS(status) & 1) && p->b->hello)
		snprintf(out, len, "did not run (guest exit code %d)", WEXITSTATUS(status) >> 1);
	else if (WIFSIGNALED(status))
		snprintf(out, len, "QEMU killed by signal %d%s%.200s", WTERMSIG(status),
			 *tail ? ": " : "", tail);
	else
		snprintf(out, len, "QEMU exited with status %d%s%.200s",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1, *tail ? ": " : "", tail);
}

void qemu_probe_boot(void *arg, struct hvb_probe_boot *b)
{
	const struct qemu_probe_arg *a = arg;
	const struct hvb_job *job = a->job;
	/* $HVB_QEMU_PROBE_EXTRA adds guest words to probe boots only (tests:
	 * fault=ud makes every probe fail). */
	const struct hvb_guest_env env = { .dev = "serial", .caps = b->offer,
					   .mmio_user = QEMU_MMIO_USER,
					   .extra = job->cfg->qemu_probe_extra };
	double boot_s = job->timeout_s < QEMU_PROBE_BOOT_S ? job->timeout_s : QEMU_PROBE_BOOT_S;
	struct probe_boot *p = xcalloc(1, sizeof(*p));
	char *append = hvb_guest_cmdline(b->words, &env), **argv;
	enum qemu_end end;
	int e, status;

	p->b = b;
	p->proc.keep_fd = -1;
	p->proc.cpu = job->cpu;
	p->proc.stop = job->stop;
	p->proc.stream = &p->stream;
	hvb_console_stream_init(&p->stream, on_probe_record, NULL, p);
	argv = qemu_argv(a->conf, job->cfg, a->image, append, NULL, 1);
	e = qemu_spawn(&p->proc, argv, false);
	if (e) {
		snprintf(b->why, sizeof(b->why), "cannot start QEMU: %s", strerror(-e));
	} else {
		p->proc.deadline = p->proc.t_start + (uint64_t)(boot_s * 1e9);
		end = qemu_collect(&p->proc);
		status = qemu_reap(&p->proc, end != QEMU_END_EOF);
		if (b->fault[0] && end == QEMU_END_EOF)
			snprintf(b->why, sizeof(b->why), "%s", b->fault);
		else
			boot_reason(p, end, status, b->why, sizeof(b->why));
	}
	qemu_argv_free(argv);
	free(append);
	free(p);
}
