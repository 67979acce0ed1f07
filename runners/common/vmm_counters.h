/*
 * perf counters on the threads that serve a guest (vmm_counters.c), one
 * probe for every VM runner: the vCPU threads, and every thread of the VMM
 * process (the reference core's, QEMU's).  Software events (task-clock,
 * context switches, CPU migrations, page faults) and hardware events split
 * into host and guest mode (libpfm4's perf modifiers :mh / :mg, perf's
 * :H / :G: exclude_guest / exclude_host) where the PMU allows; counters.csv
 * rows vcpu-threads.EVENT and vmm-threads.EVENT per repetition, summed over
 * the threads, unsupported events as rows with the reason (FORMAT.md).
 *
 * perf counts one task per event and does not follow threads created
 * after the open, so the tasks are those alive when hvb_vmm_counters_open
 * runs; the note says how many.
 */
#ifndef HVB_RUNNERS_COMMON_VMM_COUNTERS_H
#define HVB_RUNNERS_COMMON_VMM_COUNTERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "perf.h"

struct hvb_out;

#define HVB_VMM_MAX_TASKS 32

struct hvb_vmm_task {
	pid_t tid;
	bool vcpu;
	struct hvb_perf *perf;
	struct hvb_perf_snap a;
};

struct hvb_vmm_counters {
	bool open;
	unsigned n, vcpus;	/* tasks counted, of which vCPU threads */
	unsigned missed;	/* threads of the process not counted (limit, open failed) */
	struct hvb_vmm_task t[HVB_VMM_MAX_TASKS];
	char err[200];		/* why nothing is counted ("" when something is) */
	bool begun;
};

/* The events every VM runner counts on its VMM threads. */
extern const char *const hvb_vmm_events[];
extern const unsigned hvb_vmm_n_events;

/* Open counters on the vCPU threads vcpus[0..nv) of process pid and on its
 * other threads (all of /proc/PID/task).  Failures end up in the rows. */
void hvb_vmm_counters_open(struct hvb_vmm_counters *c, pid_t pid, const pid_t *vcpus,
			   unsigned nv);
/* Count nothing: every repetition gets one unsupported row with why. */
void hvb_vmm_counters_refuse(struct hvb_vmm_counters *c, const char *why);
/* REP_BEGIN: take the start snapshot.  REP_END: write the rows. */
void hvb_vmm_counters_begin(struct hvb_vmm_counters *c);
void hvb_vmm_counters_end(struct hvb_vmm_counters *c, const struct hvb_out *out,
			  const char *workload, unsigned rep, uint64_t ops);
void hvb_vmm_counters_close(struct hvb_vmm_counters *c);

/*
 * Reading the counters on another thread's behalf: the relay.
 *
 * perf counters are read with read(2), and the kvm runner's vCPU thread,
 * which sees REP_BEGIN and REP_END, runs under the seccomp allowlist
 * (hv/seccomp.h) that has no read(2).  Allowing read(2) on the counters'
 * fds only would need the filter to know every fd (up to 8 events x 32
 * threads), and a closed fd's number is reused by the next open of any
 * thread, which the filter would then let the vCPU thread read.  So the
 * filter keeps no read(2): the vCPU thread asks the job's main thread
 * (never filtered, waiting for the vCPU thread anyway) to take the
 * REP_BEGIN snapshot or write the REP_END rows, and waits until it has
 * (mutex + condition variable: futexes, which the allowlist has).  The
 * vCPU is stopped in its record exit meanwhile, as it is for every probe
 * of the repetition; the wake-up costs tens of microseconds, inside
 * REP_BEGIN..REP_END like the reading itself.
 */
struct hvb_vmm_relay {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	enum { HVB_RELAY_NONE, HVB_RELAY_BEGIN, HVB_RELAY_END } req;
	bool served;	    /* the request above was carried out */
	bool quit;	    /* the asking thread is done: serve returns at once */
	struct hvb_vmm_counters *c;
	const struct hvb_out *out;
	const char *workload;
	unsigned rep;
	uint64_t ops;
	unsigned timeouts;  /* requests nobody served in time */
};

/* Longest wait of the asking thread for the serving one. */
#define HVB_RELAY_WAIT_MS 5000

void hvb_vmm_relay_init(struct hvb_vmm_relay *r, struct hvb_vmm_counters *c);
void hvb_vmm_relay_destroy(struct hvb_vmm_relay *r);
/* On the asking (filtered) thread: hvb_vmm_counters_begin / _end carried
 * out by the serving thread.  A request not served within
 * HVB_RELAY_WAIT_MS is dropped: begin leaves the repetition unread (its
 * end row says why), end writes one failed row itself. */
void hvb_vmm_relay_begin(struct hvb_vmm_relay *r);
void hvb_vmm_relay_end(struct hvb_vmm_relay *r, const struct hvb_out *out,
		       const char *workload, unsigned rep, uint64_t ops);
/* On the asking thread when it is done: wakes the serving thread. */
void hvb_vmm_relay_quit(struct hvb_vmm_relay *r);
/* On the serving thread: wait up to ms for a request (or the quit) and
 * carry it out.  true once the asking thread has quit. */
bool hvb_vmm_relay_serve(struct hvb_vmm_relay *r, unsigned ms);

#endif
