/*
 * qemu-kvm's prefault outside boot_ms (prealloc.h).
 *
 * Verified on QEMU 7.2 here: with -S and -object memory-backend-ram,
 * qom-set of the backend's prealloc property on the initialised backend
 * populates all of it (host_memory_backend_set_prealloc: the same
 * qemu_prealloc_mem as -mem-prealloc, MADV_POPULATE_WRITE) before it
 * answers: QEMU's RSS went from 41 MiB to 1061 MiB for 1 GiB of guest RAM,
 * in 0.11-2 s on this busy host, as -mem-prealloc took 0.19-1.8 s.
 *
 * What stays in boot_ms: QEMU's own start (fork -> its QMP answers, the
 * same work as without -S), one qom-set round trip of the window's edges
 * and cont's round trip (a few ms, logged per boot as phase cont).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prealloc.h"
#include "qmp.h"
#include "util.h"

#define PREALLOC_UP_MS	   10000 /* QEMU's QMP socket must appear within this */
#define PREALLOC_QMP_MS	   10000 /* greeting, capabilities, cont */

int qemu_prealloc_init(struct qemu_prealloc *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->dir, sizeof(p->dir), "/tmp/hvbench-prealloc-XXXXXX");
	if (!mkdtemp(p->dir)) {
		int e = errno;

		snprintf(p->why, sizeof(p->why), "cannot make a directory for QEMU's QMP socket: %s",
			 strerror(e));
		p->dir[0] = '\0';
		return -e;
	}
	snprintf(p->path, sizeof(p->path), "%s/qmp.sock", p->dir);
	return 0;
}

int qemu_prealloc_argv(struct qemu_prealloc *p, char **argv, unsigned cap,
		       unsigned long long mem_mib)
{
	unsigned n = 0;

	while (argv[n])
		n++;
	if (!p->path[0] || n + QEMU_PREALLOC_ARGS + 1 > cap)
		return -ENOSPC;
	argv[n++] = xstrdup("-S"); /* paused: cont once RAM is populated */
	argv[n++] = xstrdup("-object");
	argv[n++] = xasprintf("memory-backend-ram,id=%s,size=%lluM", QEMU_PREALLOC_BACKEND, mem_mib);
	argv[n++] = xstrdup("-machine"); /* merged with the first -machine */
	argv[n++] = xasprintf("memory-backend=%s", QEMU_PREALLOC_BACKEND);
	argv[n++] = xstrdup("-qmp");
	argv[n++] = xasprintf("unix:%s,server=on,wait=off", p->path);
	argv[n] = NULL;
	return 0;
}

static void prealloc_fail(struct qemu_prealloc *p, enum qemu_prealloc_state s, const char *what,
			  const char *detail)
{
	p->state = s;
	snprintf(p->why, sizeof(p->why), "%s: %s", what, detail);
}

/* Has QEMU exited?  Not reaped: qemu_reap does that. */
static bool qemu_exited(pid_t pid)
{
	siginfo_t si = { 0 };

	return !waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) && si.si_pid == pid;
}

/* Wait for QEMU's socket (it makes it early in its start), then connect. */
static int connect_qmp(struct qemu_prealloc *p, struct qmp *q, pid_t pid)
{
	uint64_t up = hvb_now_ns() + (uint64_t)PREALLOC_UP_MS * 1000000;
	struct stat st;

	while (stat(p->path, &st)) {
		if (qemu_exited(pid)) {
			prealloc_fail(p, QEMU_PREALLOC_FAILED, "QEMU's QMP socket",
				      "QEMU exited before it made it");
			return -ESRCH;
		}
		if (hvb_now_ns() > up) {
			prealloc_fail(p, QEMU_PREALLOC_FAILED, "QEMU's QMP socket",
				      "not there within 10 s of QEMU's start");
			return -ETIMEDOUT;
		}
		usleep(1000);
	}
	if (qmp_open(q, p->path, PREALLOC_QMP_MS)) {
		prealloc_fail(p, QEMU_PREALLOC_FAILED, "QEMU's QMP socket", q->err);
		return -EIO;
	}
	return 0;
}

/* QEMU's resident memory in KiB (VmRSS), 0 if unknown: the proof that the
 * populate happened, logged around it. */
static unsigned long long rss_kib(pid_t pid)
{
	char path[64], line[256];
	unsigned long long kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* qom-set prealloc, bounded by the job's deadline: its window in p.
 * 0; -EREMOTEIO: QEMU refused it (and still answers); else QMP is lost. */
static int populate(struct qemu_prealloc *p, struct qmp *q, pid_t pid, uint64_t deadline)
{
	uint64_t t0 = hvb_now_ns();
	int e;

	q->timeout_ms = deadline > t0 + 1000000 ? (int)((deadline - t0) / 1000000) : 1;
	p->rss_before_kib = rss_kib(pid);
	e = qmp_exec_simple(q, "{\"execute\":\"qom-set\",\"arguments\":{\"path\":\"/objects/"
			       QEMU_PREALLOC_BACKEND "\",\"property\":\"prealloc\",\"value\":true}}");
	p->prefault_ns = hvb_now_ns() - t0;
	p->rss_after_kib = rss_kib(pid);
	q->timeout_ms = PREALLOC_QMP_MS;
	if (e == -EREMOTEIO)
		prealloc_fail(p, QEMU_PREALLOC_FALLBACK, "qom-set prealloc refused, running unprefaulted",
			      q->err);
	else if (e)
		prealloc_fail(p, QEMU_PREALLOC_FAILED, "qom-set prealloc (within the job's timeout)",
			      q->err);
	return e;
}

void qemu_prealloc_run(struct qemu_prealloc *p, pid_t pid, uint64_t t_start, uint64_t deadline)
{
	struct qmp q = { .fd = -1 };
	uint64_t t;
	int e;

	if (connect_qmp(p, &q, pid))
		goto out;
	p->start_ns = hvb_now_ns() - t_start;
	e = populate(p, &q, pid, deadline);
	if (e && e != -EREMOTEIO)
		goto out;
	t = hvb_now_ns();
	if (qmp_exec_simple(&q, "{\"execute\":\"cont\"}")) {
		prealloc_fail(p, QEMU_PREALLOC_FAILED, "cont (resuming the paused QEMU)", q.err);
		goto out;
	}
	p->cont_ns = hvb_now_ns() - t;
	if (!e)
		p->state = QEMU_PREALLOC_DONE;
out:
	qmp_close(&q);
}

void qemu_prealloc_close(struct qemu_prealloc *p)
{
	if (p->path[0])
		unlink(p->path);
	if (p->dir[0])
		rmdir(p->dir);
	p->path[0] = p->dir[0] = '\0';
}
