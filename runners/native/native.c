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
#include <sched.h>
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
#include "netjob.h"
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
	hvb_out_meta(out, "smp", "--vcpus N: N threads of the child (the harness and N-1 "
				 "workers), each pinned to its --cpus entry (cells' notes: "
				 "read back)");
	hvb_out_meta(out, "analogues", "micro/hypercall and micro/syscall = raw getppid syscall");
	if (cfg->disk)
		hvb_out_metaf(out, "blk", "the run's disk opened by the child (disk=, odirect=%d): "
					  "pread/pwrite at depth 1, Linux AIO deeper",
			      cfg->disk->odirect);
	hvb_out_meta(out, "net", "AF_PACKET on veth (net/: the child joins the job's namespace, "
				 "netif= names its end; the responder has the other)");
}

/* cmdline plus cpus= (abi.h): the host CPU of each worker thread, when
 * there are workers (vcpus= > 1) and they are pinned. */
static char *with_cpus(const struct hvb_job *job, const char *cmdline)
{
	char list[HVB_MAX_VCPUS * 12] = "";
	size_t at = 0;

	if (job->vcpus < 2 || job->cpus[0] < 0)
		return xstrdup(cmdline);
	for (unsigned i = 0; i < job->vcpus && i < HVB_MAX_VCPUS; i++)
		at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%d", i ? "," : "",
				       job->cpus[i]);
	return xasprintf("%s cpus=%s", cmdline, list);
}

/* The harness words of the job (vcpus= in it, cpus= added), plus the run's
 * disk (abi.h disk=, odirect=; the path has no blanks: hvb_disk_* refuse
 * those) and the job's link (net.*, netif=). */
static char *job_words(const struct hvb_job *job, const struct hvb_netjob *nj)
{
	const struct hvb_disk *d = job->cfg->disk;
	char *c = with_cpus(job, job->cmdline);
	char *w = d ? xasprintf("%s disk=%s odirect=%d", c, d->path, d->odirect) : xstrdup(c);
	char *all = hvb_netjob_cmdline(nj, w);

	free(c);
	free(w);
	return all;
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
		       const struct hvb_netjob *nj, pid_t parent)
{
	/* cpuid runs natively unless the kernel enabled CPUID faulting for us. */
	const struct hvb_guest_env env = {
		.native = true,
		.caps = HVB_CAP_CPUID | (job->cfg->disk ? HVB_CAP_BLK : 0) | hvb_netjob_caps(nj),
	};
	char desc[128] = "unpinned", *cmdline, *words;
	int r;

	/* Die with hvbench: a killed parent must not leave a workload running. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	hvb_disk_child_unlock(job->cfg->disk);
	if (getppid() != parent)
		_exit(HVB_EXIT_PANIC); /* the parent died before prctl */
	signal(SIGINT, SIG_IGN); /* the parent decides when to stop */
	/* net/: the job's namespace, where netif= is (the parent stays out). */
	if (nj->on && setns(nj->ns.ns_fd, CLONE_NEWNET)) {
		rt_native_set_fd(fd);
		rt_log("cannot join the job's network namespace");
		_exit(HVB_EXIT_PANIC);
	}
	signal(SIGPIPE, SIG_DFL);
	rt_native_set_fd(fd);
	rt_native_set_page_kib(job->page_kib);
	if (job->cpu >= 0 && (r = hvb_topo_pin_thread(job->cpu, desc, sizeof(desc))) < 0)
		snprintf(desc, sizeof(desc), "pinning to cpu %d failed: %s", job->cpu,
			 strerror(-r));
	native_counters_child(nc); /* after pinning: count where the workload runs */
	words = job_words(job, nj);
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

static int collect(struct hvb_rec_consumer *c, int fd, const struct hvb_job *job,
		   const struct hvb_netjob *nj, char *why, size_t len)
{
	uint64_t deadline = hvb_now_ns() + (uint64_t)(job->timeout_s * 1e9);
	struct hvb_record rec, copy;
	int r;

	while ((r = read_record(fd, &rec, deadline, job)) == 1) {
		if (hvb_rec_deliver(c, hvb_netjob_note_skip(nj, &rec, &copy))) {
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

/* What the parent brings out of each repetition: the child's perf counters
 * and, for per-request workloads, the child's CPU time, both read by the
 * child itself at its REP_BEGIN and REP_END (counters.c), so a parent that
 * reads the records late moves neither. */
struct native_rep {
	struct native_counters *nc;
	const struct hvb_out *out;
	const struct hvb_rec_consumer *c;
	struct hvb_netjob *nj;
};

static void native_on_rep(void *arg, const struct hvb_record *rec, bool begin)
{
	struct native_rep *nr = arg;

	native_counters_on_rep(nr->nc, rec, begin);
	hvb_netjob_rep(nr->nj, nr->out, rec, nr->c->rep_ops, begin);
	if (!begin && hvb_hostcpu_wanted(rec->workload))
		hvb_hostcpu_row(nr->out, rec->workload, rec->rep, nr->c->rep_ops,
				nr->nc->rep_cpu_err, nr->nc->rep_cpu_ns,
				"the native child (all its threads)",
				"its CPU clock, read by the child at REP_BEGIN and REP_END");
}

static int native_run(const struct hvb_runner *runner, const struct hvb_job *job,
		      const struct hvb_out *out)
{
	struct hvb_rec_consumer c;
	struct native_counters nc;
	struct hvb_netjob nj;
	struct native_rep nr = { .nc = &nc, .out = out, .c = &c, .nj = &nj };
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
	/* net/: a veth in the job's namespace and the responder; without
	 * them the net/ cells are skipped with the reason (note_skip). */
	hvb_netjob_start(&nj, job, out, HVB_LINK_VETH, false);
	if (pipe2(fds, O_CLOEXEC)) {
		r = -errno;
		hvb_netjob_stop(&nj, out);
		native_counters_fini(&nc);
		return r;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(fds[0]), close(fds[1]);
		hvb_netjob_stop(&nj, out);
		native_counters_fini(&nc);
		return r;
	}
	if (pid == 0) {
		close(fds[0]);
		child_main(job, fds[1], &nc, &nj, parent);
	}
	close(fds[1]);
	native_counters_parent(&nc, out);
	hvb_rec_init(&c, out, job);
	c.on_rep = native_on_rep;
	c.arg = &nr;
	r = collect(&c, fds[0], job, &nj, why, sizeof(why));
	if (r < 0)
		kill(pid, SIGKILL);
	close(fds[0]);
	native_counters_fini(&nc);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r >= 0)
		describe_exit(status, why, sizeof(why));
	hvb_netjob_stop(&nj, out);
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
