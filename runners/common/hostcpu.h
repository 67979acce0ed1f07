/*
 * Host CPU time spent serving a guest (or the native child), per
 * repetition: the runner-added row host_cpu_ns_per_op of workloads whose
 * descriptor sets per_request (FORMAT.md).  A runner names the threads
 * that serve the VM (kvm: vCPU thread + I/O thread) or the process whose
 * threads all do (QEMU, the native child), reads at REP_BEGIN and REP_END
 * the way the other probes are bracketed, and divides by the repetition's
 * operations.
 *
 * Sources, best first; the row's note says which was used:
 *   threads   of this process: the thread's CPU-time clock (ns, the value
 *             schedstat's first field shows, but one clock_gettime, which
 *             the kvm vCPU thread's seccomp filter allows); of another, or
 *             if that fails, /proc/<pid>/task/<tid>/schedstat, first field:
 *             ns on CPU (CONFIG_SCHED_INFO), else /proc/<pid>/task/<tid>/stat
 *             utime + stime (clock ticks: coarse, the note says so)
 *   process   the process CPU-time clock (clock_getcpuclockid: ns, every
 *             thread, also those that ended during the repetition, which a
 *             sum over /proc/<pid>/task would lose), else the sum of its
 *             tasks' schedstat, else /proc/<pid>/stat utime + stime
 *   tasks     (added to either) kernel threads outside the process, e.g.
 *             vhost-<owner> before Linux 6.4: a kernel thread is the only
 *             task of its thread group, so its process CPU clock is its
 *             own CPU time in ns, and clock_gettime is all the kvm vCPU
 *             thread's seccomp filter allows; else /proc/<tid>/schedstat
 *             (ns), else /proc/<tid>/stat (ticks)
 */
#ifndef HVB_RUNNERS_HOSTCPU_H
#define HVB_RUNNERS_HOSTCPU_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "sink.h"

#define HVB_HOSTCPU_MAX_TIDS 4
#define HVB_HOSTCPU_MAX_TASKS 2

/* In order of coarseness: a set read from several reports the coarsest. */
enum hvb_hostcpu_src { HVB_HOSTCPU_NONE, HVB_HOSTCPU_CLOCK, HVB_HOSTCPU_THREAD_CLOCK,
		       HVB_HOSTCPU_SCHEDSTAT, HVB_HOSTCPU_STAT };

struct hvb_hostcpu {
	pid_t pid;			   /* the process */
	pid_t tids[HVB_HOSTCPU_MAX_TIDS];  /* threads of it to count; none: the whole process */
	unsigned n_tids;
	/* tasks outside pid counted too: kernel threads such as vhost-<owner>
	 * before Linux 6.4 (not under /proc/<pid>/task) */
	pid_t tasks[HVB_HOSTCPU_MAX_TASKS];
	clockid_t task_clk[HVB_HOSTCPU_MAX_TASKS];
	bool task_have_clk[HVB_HOSTCPU_MAX_TASKS];
	unsigned n_tasks;
	char threads[200];		   /* what is counted, for the note ("vCPU + I/O thread") */
	clockid_t clk;			   /* another whole process: its CPU clock, */
	bool have_clk;			   /* resolved at init (clock_gettime is all a
					    * seccomp-filtered reader may call) */
	const char *metric;		   /* the row's metric: NULL = host_cpu_ns_per_op
					    * (peer_cpu_ns_per_op: the net/ responder) */
	/* between begin and end */
	uint64_t begin_ns;
	enum hvb_hostcpu_src begin_src;
	bool begun;
	/* the last hvb_hostcpu_mark since begin: where the repetition ended */
	uint64_t mark_ns;
	enum hvb_hostcpu_src mark_src;
	bool marked;
	const char *mark_what; /* the interval's end, for the note */
};

/* Count pid as a whole (n_tids 0) or the threads added with
 * hvb_hostcpu_add_tid. */
void hvb_hostcpu_init(struct hvb_hostcpu *h, pid_t pid, const char *threads);
/* Add a thread of h->pid (ignored past HVB_HOSTCPU_MAX_TIDS or for tid <= 0). */
void hvb_hostcpu_add_tid(struct hvb_hostcpu *h, pid_t tid);
/* Add a task outside h->pid, counted besides the process or its threads:
 * a kernel thread (a thread-group leader of its own).  Read by its CPU
 * clock, looked up here (a seccomp-filtered reader may call clock_gettime,
 * not open /proc), else /proc/<tid>/schedstat (ns), else /proc/<tid>/stat
 * (ticks).  0, or -E2BIG past HVB_HOSTCPU_MAX_TASKS, -EINVAL for tid <= 0. */
int hvb_hostcpu_add_task(struct hvb_hostcpu *h, pid_t tid);

/* CPU time of the set now, in ns: 0 or -errno; *src says how it was read. */
int hvb_hostcpu_read(const struct hvb_hostcpu *h, uint64_t *ns, enum hvb_hostcpu_src *src);
const char *hvb_hostcpu_src_name(enum hvb_hostcpu_src src);

/* Does this workload want the runner's per-request rows (per_request, or
 * a net/ workload: counts_loss or its name)? */
bool hvb_hostcpu_wanted(const char *workload);
/* Does it want the responder's rows (peer_cpu_ns_per_op): a net/ workload
 * that talks to the responder. */
bool hvb_hostcpu_wants_peer(const char *workload);

/* REP_BEGIN: remember the time. */
void hvb_hostcpu_begin(struct hvb_hostcpu *h);
/* The repetition may end here: read now, once begun.  A runner that learns
 * of REP_END only after the guest spent time sending it (a console line)
 * marks where the line began (what: "the first byte of REP_END"); the last
 * mark before hvb_hostcpu_end is the end of the interval. */
void hvb_hostcpu_mark(struct hvb_hostcpu *h, const char *what);
/* REP_END: the host_cpu_ns_per_op row of (workload, rep) over ops
 * operations (a failed row saying why when there is no value), over
 * REP_BEGIN..the last mark, else REP_BEGIN..now. */
void hvb_hostcpu_end(struct hvb_hostcpu *h, const struct hvb_out *out, const char *workload,
		     unsigned rep, uint64_t ops);

/* The same row from a time measured elsewhere (the native child reads its
 * own CPU clock): r 0 or -errno, ns over ops, src how it was read. */
void hvb_hostcpu_row(const struct hvb_out *out, const char *workload, unsigned rep,
		     uint64_t ops, int r, uint64_t ns, const char *threads, const char *src);
/* The same with another metric name (peer_cpu_ns_per_op). */
void hvb_hostcpu_row_metric(const struct hvb_out *out, const char *metric, const char *workload,
			    unsigned rep, uint64_t ops, int r, uint64_t ns, const char *threads,
			    const char *src);

#endif
