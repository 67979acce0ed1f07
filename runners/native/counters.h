/*
 * perf counters around each repetition of the native runner.
 *
 * The child counts itself (perf_event_open on pid 0, opened after pinning):
 * it reads its counters right after writing REP_BEGIN and right before
 * writing REP_END (rt_native's rep hook), so the interval is exactly the
 * measured batches, with no parent wake-up latency in it.  At REP_END it
 * sends the deltas over a side pipe, before the REP_END record; the parent
 * picks them up when that record arrives (the consumer's on_rep) and writes
 * counters.csv rows, unsupported events included.
 *
 * Events: $HVBENCH_EVENTS (comma-separated libpfm4/perf names) or the
 * default list of probes/perf.h.
 */
#ifndef HVB_NATIVE_COUNTERS_H
#define HVB_NATIVE_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>

#include "perf.h"

struct hvb_record;
struct hvb_out;

struct native_counters {
	int fd[2]; /* side pipe: child writes fd[1], parent reads fd[0] */
	char list[512];
	const char *events[HVB_PERF_MAX_EVENTS];
	size_t n;
	/* parent */
	const struct hvb_out *out;
	/* the last REP_END's CPU time of the child (0 or -errno), read by
	 * the child itself at its REP_BEGIN and REP_END */
	int rep_cpu_err;
	uint64_t rep_cpu_ns;
	/* child */
	struct hvb_perf *perf;
	char err[200];
	struct hvb_perf_snap begin;
	bool begun;
	uint64_t cpu_begin;
	int cpu_err;
};

/*
 * Before fork: choose the events (a comma-separated list, NULL = the
 * defaults; HVBENCH_EVENTS) and check every name (libpfm4), make the
 * side pipe.  0, or -EINVAL with err saying which event is unknown and what
 * to do, -errno for the pipe.
 */
int native_counters_init(struct native_counters *nc, const char *events, char *err, size_t len);

/* In the child, after pinning: open the counters on itself, install the hook. */
void native_counters_child(struct native_counters *nc);

/* In the parent, after fork: rows go to out. */
void native_counters_parent(struct native_counters *nc, const struct hvb_out *out);

/* The consumer's on_rep (arg = nc): at REP_END, write the rows of that rep
 * and leave the child's CPU time over it in rep_cpu_err / rep_cpu_ns. */
void native_counters_on_rep(void *arg, const struct hvb_record *rec, bool begin);

/* Parent: close the side pipe. */
void native_counters_fini(struct native_counters *nc);

#endif
