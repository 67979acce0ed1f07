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
 */
#ifndef HVB_RUNNERS_HOSTCPU_H
#define HVB_RUNNERS_HOSTCPU_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "sink.h"

#define HVB_HOSTCPU_MAX_TIDS 4

/* In order of coarseness: a set read from several reports the coarsest. */
enum hvb_hostcpu_src { HVB_HOSTCPU_NONE, HVB_HOSTCPU_CLOCK, HVB_HOSTCPU_THREAD_CLOCK,
		       HVB_HOSTCPU_SCHEDSTAT, HVB_HOSTCPU_STAT };

struct hvb_hostcpu {
	pid_t pid;			   /* the process */
	pid_t tids[HVB_HOSTCPU_MAX_TIDS];  /* threads of it to count; none: the whole process */
	unsigned n_tids;
	char threads[120];		   /* what is counted, for the note ("vCPU + I/O thread") */
	clockid_t clk;			   /* another whole process: its CPU clock, */
	bool have_clk;			   /* resolved at init (clock_gettime is all a
					    * seccomp-filtered reader may call) */
	const char *metric;		   /* the row's metric: NULL = host_cpu_ns_per_op
					    * (peer_cpu_ns_per_op: the net/ responder) */
	/* between begin and end */
	uint64_t begin_ns;
	enum hvb_hostcpu_src begin_src;
	bool begun;
};

/* Count pid as a whole (n_tids 0) or the threads added with
 * hvb_hostcpu_add_tid. */
void hvb_hostcpu_init(struct hvb_hostcpu *h, pid_t pid, const char *threads);
/* Add a thread of h->pid (ignored past HVB_HOSTCPU_MAX_TIDS or for tid <= 0). */
void hvb_hostcpu_add_tid(struct hvb_hostcpu *h, pid_t tid);

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
/* REP_END: the host_cpu_ns_per_op row of (workload, rep) over ops
 * operations (a failed row saying why when there is no value). */
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
