/*
 * The native runner: the workloads in a pinned host process.
 *
 * A forked child runs the harness (the same object code that runs in the
 * guest) and writes binary records to a pipe; the parent validates them like
 * guest records.  The child is killed on timeout or interrupt, and a child
 * that dies mid-run fails only the cells it did not finish.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "counters.h"
#include "disk.h"
#include "guest.h"
#include "harness.h"
#include "hostcpu.h"
#include "native/rt_native.h"
#include "records.h"
#include "runner.h"
#include "topology.h"
#include "util.h"

static bool native_available(const struct hvb_config *cfg, char *why, size_t len)
{
	(void)cfg, (void)why, (void)len;
	return true;
}

static void native_describe(const struct hvb_runner *r, const struct hvb_config *cfg,
			    const struct hvb_out *out)
{
	(void)r;
	hvb_out_meta(out, "env", "host process (fork of hvbench), pinned");
	hvb_out_meta(out, "analogues", "micro/hypercall and micro/syscall = raw getppid syscall");
	if (cfg->disk)
		hvb_out_metaf(out, "blk", "the run's disk opened by the child (disk=, odirect=%d): "
					  "pread/pwrite at depth 1, Linux AIO deeper",
			      cfg->disk->odirect);
}

/* The harness words of the job, plus the run's disk (abi.h disk=, odirect=;
 * the path has no blanks: hvb_disk_* refuse those). */
static char *job_words(const struct hvb_job *job)
{
	const struct hvb_disk *d = job->cfg->disk;

	if (!d)
		return xstrdup(job->cmdline);
	return xasprintf("%s disk=%s odirect=%d", job->cmdline, d->path, d->odirect);
}

/* What --page-size asks of workload memory here; what each buffer got is in
 * its cells' notes (from /proc/self/smaps, see rt_mem_page_note). */
static void describe_pages(const struct hvb_job *job, const struct hvb_out *out)
{
	char thp[64] = "unknown";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (f) {
		if (!fgets(thp, sizeof(thp), f))
			snprintf(thp, sizeof(thp), "unreadable");
		thp[strcspn(thp, "\n")] = '\0';
		fclose(f);
	}
	if (job->page_kib == HVB_PAGE_2M)
		hvb_out_metaf(out, "page_size",
			       "2m: workload buffers 2 MiB-aligned, madvise(MADV_HUGEPAGE); host "
			       "THP: %s%s; obtained per buffer: cell notes (smaps AnonHugePages)",
			       thp, strstr(thp, "[never]") ? " (no huge pages: 4 KiB obtained)" : "");
	else
		hvb_out_metaf(out, "page_size",
			       "4k: workload buffers madvise(MADV_NOHUGEPAGE); host THP: %s; "
			       "obtained per buffer: cell notes (smaps AnonHugePages)",
			       thp);
}

/* The child: the harness, pinned, its records on fd.  parent: the pid of
 * hvbench before the fork (hvbench may itself be pid 1 in a container, so
 * "my parent is 1" is no sign of a dead parent). */
static void child_main(const struct hvb_job *job, int fd, struct native_counters *nc,
		       pid_t parent)
{
	/* cpuid runs natively unless the kernel enabled CPUID faulting for us. */
	const struct hvb_guest_env env = {
		.native = true,
		.caps = HVB_CAP_CPUID | (job->cfg->disk ? HVB_CAP_BLK : 0),
	};
	char desc[128] = "unpinned", *cmdline, *words;
	int r;

	/* Die with hvbench: a killed parent must not leave a workload running. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(HVB_EXIT_PANIC); /* the parent died before prctl */
	signal(SIGINT, SIG_IGN); /* the parent decides when to stop */
	signal(SIGPIPE, SIG_DFL);
	rt_native_set_fd(fd);
	rt_native_set_page_kib(job->page_kib);
	if (job->cpu >= 0 && (r = hvb_topo_pin_thread(job->cpu, desc, sizeof(desc))) < 0)
		snprintf(desc, sizeof(desc), "pinning to cpu %d failed: %s", job->cpu,
			 strerror(-r));
	native_counters_child(nc); /* after pinning: count where the workload runs */
	words = job_words(job);
	cmdline = hvb_guest_cmdline(words, &env);
	free(words);
	rt_log(desc);
	r = hvb_harness_main(cmdline, 0);
	free(cmdline);
	_exit(r);
}

/* Read exactly one record; 1 = got one, 0 = EOF, -ETIMEDOUT, -EINTR, -EIO. */
static int read_record(int fd, struct hvb_record *rec, uint64_t deadline_ns,
		       const struct hvb_job *job)
{
	size_t got = 0;

	while (got < sizeof(*rec)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = (int64_t)(deadline_ns - hvb_now_ns());
		ssize_t n;

		if (hvb_job_stopped(job))
			return -EINTR;
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, left / 1000000 > 200 ? 200 : (int)(left / 1000000) + 1) <= 0)
			continue;
		n = read(fd, (char *)rec + got, sizeof(*rec) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -EIO;
		if (n == 0)
			return got ? -EIO : 0;
		got += (size_t)n;
	}
	return 1;
}

static void describe_exit(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "native child killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else if (WEXITSTATUS(status))
		snprintf(buf, len, "native child exited with status %d", WEXITSTATUS(status));
	else
		buf[0] = '\0';
}

static int collect(struct hvb_rec_consumer *c, int fd, const struct hvb_job *job, char *why,
		   size_t len)
{
	uint64_t deadline = hvb_now_ns() + (uint64_t)(job->timeout_s * 1e9);
	struct hvb_record rec;
	int r;

	while ((r = read_record(fd, &rec, deadline, job)) == 1) {
		if (hvb_rec_deliver(c, &rec)) {
			snprintf(why, len, "protocol error: %s", c->error);
			return -EPROTO;
		}
	}
	if (r == -ETIMEDOUT)
		snprintf(why, len, "timed out after %.0f s", job->timeout_s);
	else if (r == -EINTR)
		snprintf(why, len, "interrupted");
	else if (r == -EIO)
		snprintf(why, len, "record stream broken (short read)");
	return r;
}

/* What the parent brackets each repetition with: the child's perf counters
 * (it counts itself) and, for per-request workloads, its host CPU time. */
struct native_rep {
	struct native_counters *nc;
	struct hvb_hostcpu cpu;
	const struct hvb_out *out;
	const struct hvb_rec_consumer *c;
};

static void native_on_rep(void *arg, const struct hvb_record *rec, bool begin)
{
	struct native_rep *nr = arg;

	native_counters_on_rep(nr->nc, rec, begin);
	if (!hvb_hostcpu_wanted(rec->workload))
		return;
	if (begin)
		hvb_hostcpu_begin(&nr->cpu);
	else
		hvb_hostcpu_end(&nr->cpu, nr->out, rec->workload, rec->rep, nr->c->rep_ops);
}

static int native_run(const struct hvb_runner *runner, const struct hvb_job *job,
		      const struct hvb_out *out)
{
	struct hvb_rec_consumer c;
	struct native_counters nc;
	struct native_rep nr = { .nc = &nc, .out = out, .c = &c };
	char why[200] = "";
	int fds[2], status = 0, r;
	pid_t pid, parent = getpid();

	(void)runner;
	describe_pages(job, out);
	r = native_counters_init(&nc, job->cfg->events, why, sizeof(why));
	if (r) {
		/* A bad event list fails every cell with the reason (not lost). */
		fprintf(stderr, "hvbench: native runner: %s\n", why);
		native_counters_fini(&nc);
		hvb_rec_init(&c, out, job);
		hvb_rec_finish(&c, why);
		return 0; /* every cell is delivered (as failed): see runner.h */
	}
	if (pipe2(fds, O_CLOEXEC)) {
		native_counters_fini(&nc);
		return -errno;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(fds[0]), close(fds[1]);
		native_counters_fini(&nc);
		return r;
	}
	if (pid == 0) {
		close(fds[0]);
		child_main(job, fds[1], &nc, parent);
	}
	close(fds[1]);
	native_counters_parent(&nc, out);
	hvb_rec_init(&c, out, job);
	/* Read by the parent as the records arrive: the child's whole CPU
	 * time, its Linux AIO submissions included. */
	hvb_hostcpu_init(&nr.cpu, pid, "the native child (all its threads)");
	c.on_rep = native_on_rep;
	c.arg = &nr;
	r = collect(&c, fds[0], job, why, sizeof(why));
	if (r < 0)
		kill(pid, SIGKILL);
	close(fds[0]);
	native_counters_fini(&nc);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r >= 0)
		describe_exit(status, why, sizeof(why));
	if (why[0])
		hvb_out_log(out, "%s", why);
	hvb_rec_finish(&c, why[0] ? why : NULL);
	return r == -EINTR ? -EINTR : 0;
}

static const struct hvb_runner native_runner = {
	.name = "native",
	.desc = "workloads in a pinned host process (the baseline)",
	.in_default = true,
	.available = native_available,
	.describe = native_describe,
	.run = native_run,
};
HVB_RUNNER(native_runner);
