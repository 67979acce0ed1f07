#include "hostcpu.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"
#include "workload.h"

void hvb_hostcpu_init(struct hvb_hostcpu *h, pid_t pid, const char *threads)
{
	memset(h, 0, sizeof(*h));
	h->pid = pid;
	hvb_strlcpy(h->threads, threads, sizeof(h->threads));
	/* glibc checks another process's clock with clock_getres, which the
	 * kvm vCPU thread's filter refuses: look it up here, once. */
	h->have_clk = pid > 0 && pid != getpid() && !clock_getcpuclockid(pid, &h->clk);
}

void hvb_hostcpu_add_tid(struct hvb_hostcpu *h, pid_t tid)
{
	if (tid > 0 && h->n_tids < HVB_HOSTCPU_MAX_TIDS)
		h->tids[h->n_tids++] = tid;
}

int hvb_hostcpu_add_task(struct hvb_hostcpu *h, pid_t tid)
{
	unsigned i = h->n_tasks;

	if (tid <= 0)
		return -EINVAL;
	if (i >= HVB_HOSTCPU_MAX_TASKS)
		return -E2BIG;
	h->tasks[i] = tid;
	/* glibc validates the clock with clock_getres: here, not in the
	 * filtered reader. */
	h->task_have_clk[i] = !clock_getcpuclockid(tid, &h->task_clk[i]);
	h->n_tasks++;
	return 0;
}

const char *hvb_hostcpu_src_name(enum hvb_hostcpu_src src)
{
	switch (src) {
	case HVB_HOSTCPU_CLOCK:
		return "process CPU clock, ns";
	case HVB_HOSTCPU_THREAD_CLOCK:
		return "thread CPU clocks, ns";
	case HVB_HOSTCPU_SCHEDSTAT:
		return "schedstat, ns";
	case HVB_HOSTCPU_STAT:
		return "stat utime+stime, clock ticks: coarse";
	case HVB_HOSTCPU_NONE:
		break;
	}
	return "none";
}

/* First field of a schedstat file: ns it ran. */
static int read_schedstat_at(const char *path, uint64_t *ns)
{
	char buf[128];
	int r;

	if ((r = hvb_read_file(path, buf, sizeof(buf))))
		return r;
	return sscanf(buf, "%" SCNu64, ns) == 1 ? 0 : -EINVAL;
}

static int read_schedstat(pid_t pid, pid_t tid, uint64_t *ns)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
	return read_schedstat_at(path, ns);
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

/* utime + stime (fields 14, 15) of a /proc stat file, in ns. */
static int read_stat(const char *path, uint64_t *ns)
{
	char buf[1024], *p;
	unsigned long long ut, st;
	long tick = sysconf(_SC_CLK_TCK);
	int r;

	if ((r = hvb_read_file(path, buf, sizeof(buf))))
		return r;
	p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
	if (!p || tick <= 0 ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -EINVAL;
	*ns = (ut + st) * (1000000000ull / (uint64_t)tick);
	return 0;
}

/*
 * A thread of this process by its CPU-time clock: the same sum_exec_runtime
 * schedstat's first field shows, read with one clock_gettime, which the kvm
 * vCPU thread's seccomp filter allows (opening /proc it does not).  The
 * clock id of a thread is Linux's MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED),
 * what glibc's pthread_getcpuclockid computes.
 */
static int read_thread_clock(pid_t tid, uint64_t *ns)
{
	clockid_t clk = (clockid_t)((~(unsigned)tid) << 3) | 6;
	struct timespec ts;

	if (clock_gettime(clk, &ts))
		return -errno;
	*ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return 0;
}

static int read_task(pid_t pid, pid_t tid, uint64_t *ns, enum hvb_hostcpu_src *src)
{
	char path[64];

	if (pid == getpid() && !read_thread_clock(tid, ns)) {
		*src = HVB_HOSTCPU_THREAD_CLOCK;
		return 0;
	}
	if (!read_schedstat(pid, tid, ns)) {
		*src = HVB_HOSTCPU_SCHEDSTAT;
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	*src = HVB_HOSTCPU_STAT;
	return read_stat(path, ns);
}

/* Every task of pid, by schedstat: threads that ended are lost. */
static int read_tasks(pid_t pid, uint64_t *ns)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (!(d = opendir(path)))
		return -errno;
	*ns = 0;
	while (!r && (e = readdir(d))) {
		uint64_t t;
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		r = read_schedstat(pid, (pid_t)atoi(e->d_name), &t);
		*ns += t;
	}
	closedir(d);
	return r;
}

static int read_process(pid_t pid, uint64_t *ns, enum hvb_hostcpu_src *src)
{
	char path[64];
	clockid_t clk;
	struct timespec ts;

	if (!clock_getcpuclockid(pid, &clk) && !clock_gettime(clk, &ts)) {
		*ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		*src = HVB_HOSTCPU_CLOCK;
		return 0;
	}
	if (!read_tasks(pid, ns)) {
		*src = HVB_HOSTCPU_SCHEDSTAT;
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	*src = HVB_HOSTCPU_STAT;
	return read_stat(path, ns);
}

/* Task i of h->tasks (outside the process, not under /proc/<pid>/task). */
static int read_outside(const struct hvb_hostcpu *h, unsigned i, uint64_t *ns,
			enum hvb_hostcpu_src *src)
{
	char path[64];
	struct timespec ts;
	pid_t tid = h->tasks[i];

	if (h->task_have_clk[i] && !clock_gettime(h->task_clk[i], &ts)) {
		*ns = ts_ns(&ts);
		*src = HVB_HOSTCPU_CLOCK;
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)tid);
	if (!read_schedstat_at(path, ns)) {
		*src = HVB_HOSTCPU_SCHEDSTAT;
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
	*src = HVB_HOSTCPU_STAT;
	return read_stat(path, ns);
}

/* The tasks outside the process, added to *ns; *src the coarsest so far. */
static int read_outside_all(const struct hvb_hostcpu *h, uint64_t *ns,
			    enum hvb_hostcpu_src *src)
{
	for (unsigned i = 0; i < h->n_tasks; i++) {
		enum hvb_hostcpu_src s;
		uint64_t t;
		int r = read_outside(h, i, &t, &s);
		if (r)
			return r;
		*ns += t;
		if (s > *src)
			*src = s;
	}
	return 0;
}

/* The process, or the threads of it h names. */
static int read_own(const struct hvb_hostcpu *h, uint64_t *ns, enum hvb_hostcpu_src *src)
{
	*ns = 0;
	*src = HVB_HOSTCPU_NONE;
	if (h->pid <= 0)
		return -ESRCH;
	if (!h->n_tids && h->have_clk) {
		struct timespec ts;

		if (!clock_gettime(h->clk, &ts)) {
			*ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
			*src = HVB_HOSTCPU_CLOCK;
			return 0;
		}
	}
	if (!h->n_tids)
		return read_process(h->pid, ns, src);
	for (unsigned i = 0; i < h->n_tids; i++) {
		enum hvb_hostcpu_src s;
		uint64_t t;
		int r = read_task(h->pid, h->tids[i], &t, &s);
		if (r)
			return r;
		*ns += t;
		if (s > *src)
			*src = s; /* the coarsest source used */
	}
	return 0;
}

int hvb_hostcpu_read(const struct hvb_hostcpu *h, uint64_t *ns, enum hvb_hostcpu_src *src)
{
	int r = read_own(h, ns, src);

	return r ? r : read_outside_all(h, ns, src);
}

static bool is_net(const struct hvb_workload *w)
{
	return w->counts_loss || !strncmp(w->name, "net/", 4);
}

bool hvb_hostcpu_wanted(const char *workload)
{
	const struct hvb_workload *w = hvb_workload_find(workload);

	return w && (w->per_request || is_net(w));
}

bool hvb_hostcpu_wants_peer(const char *workload)
{
	const struct hvb_workload *w = hvb_workload_find(workload);

	return w && is_net(w);
}

void hvb_hostcpu_begin(struct hvb_hostcpu *h)
{
	h->marked = false; /* a mark read before this begin is not an end */
	h->begun = !hvb_hostcpu_read(h, &h->begin_ns, &h->begin_src);
}

void hvb_hostcpu_mark(struct hvb_hostcpu *h, const char *what)
{
	if (!h->begun)
		return;
	h->marked = !hvb_hostcpu_read(h, &h->mark_ns, &h->mark_src);
	h->mark_what = what;
}

/* The row's status and note: r is 0 or -errno, ns the time over ops. */
static enum hvb_status row_verdict(const char *threads, const char *src, const char *until,
				   int r, uint64_t ns, uint64_t ops, char *note, size_t len)
{
	const char *why = NULL;

	if (r)
		why = r == -ENODATA	? "not readable at REP_BEGIN"
		      : r == -ERANGE	? "the two reads came from different sources"
					: strerror(-r);
	else if (!ops)
		why = "operations of the repetition unknown";
	if (why) {
		snprintf(note, len, "host CPU of %s: %s", threads, why);
		return HVB_ST_FAILED;
	}
	if (!ns) {
		/* The threads did run (the guest did the work), so the two
		 * reads saw the same count: the records reached the host
		 * together (one console read) within one scheduler tick, which
		 * is when the kernel updates a running thread of another
		 * process.  Nothing was measured: no row (log.txt says so). */
		snprintf(note, len, "host CPU of %s: not recorded: REP_BEGIN and REP_END were "
			 "read at the same count (the records arrived together)", threads);
		return HVB_ST_UNSUPPORTED;
	}
	snprintf(note, len, "host CPU of %s (%s): %" PRIu64 " ns over %" PRIu64
		 " operations, REP_BEGIN..%s", threads, src, ns, ops, until);
	return HVB_ST_OK;
}

static void row_until(const struct hvb_out *out, const char *metric, const char *workload,
		      unsigned rep, uint64_t ops, int r, uint64_t ns, const char *threads,
		      const char *src, const char *until)
{
	char note[360];
	enum hvb_status st = row_verdict(threads, src, until, r, ns, ops, note, sizeof(note));

	if (st == HVB_ST_UNSUPPORTED) {
		hvb_out_log(out, "%s rep %u: %s", workload, rep, note);
		return;
	}
	hvb_out_sample(out, .workload = workload, .metric = metric, .unit = "ns",
		       .better = HVB_LOWER_IS_BETTER, .rep = rep,
		       .value = st == HVB_ST_OK ? (double)ns / (double)ops : 0, .status = st,
		       .note = note);
}

void hvb_hostcpu_row(const struct hvb_out *out, const char *workload, unsigned rep,
		     uint64_t ops, int r, uint64_t ns, const char *threads, const char *src)
{
	row_until(out, "host_cpu_ns_per_op", workload, rep, ops, r, ns, threads, src, "REP_END");
}

void hvb_hostcpu_row_metric(const struct hvb_out *out, const char *metric, const char *workload,
			    unsigned rep, uint64_t ops, int r, uint64_t ns, const char *threads,
			    const char *src)
{
	row_until(out, metric, workload, rep, ops, r, ns, threads, src, "REP_END");
}

void hvb_hostcpu_end(struct hvb_hostcpu *h, const struct hvb_out *out, const char *workload,
		     unsigned rep, uint64_t ops)
{
	enum hvb_hostcpu_src src = h->mark_src;
	uint64_t ns = h->mark_ns;
	int r = 0;

	if (!h->begun)
		r = -ENODATA;
	else if (!h->marked)
		r = hvb_hostcpu_read(h, &ns, &src);
	if (!r && (src != h->begin_src || ns < h->begin_ns))
		r = -ERANGE;
	row_until(out, h->metric ? h->metric : "host_cpu_ns_per_op", workload, rep, ops, r,
		  r ? 0 : ns - h->begin_ns, h->threads, hvb_hostcpu_src_name(src),
		  h->begun && h->marked ? h->mark_what : "REP_END");
	h->begun = false;
	h->marked = false;
}
