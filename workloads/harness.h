/*
 * The measurement harness: runs workloads as the command line asks and
 * reports through records.  Compiled with the workloads (WORKLOAD_CFLAGS,
 * freestanding-safe: no libc), so the native child process and the guest
 * image measure with the same code.
 */
#ifndef HVB_HARNESS_H
#define HVB_HARNESS_H

#include "workload.h"

/*
 * Run the workloads named by `cmdline` (abi.h HVB_CMDLINE words) and emit
 * HELLO, per cell CELL_BEGIN / REP_BEGIN / REP_END / SAMPLE or STATUS, then
 * DONE.  `entry_tsc` is the TSC at environment entry (for boot time; 0 if
 * unknown).  Returns an enum hvb_exit_code.
 */
int hvb_harness_main(const char *cmdline, uint64_t entry_tsc);

/* The command line hvb_harness_main is running with ("" before it runs):
 * environment back ends take their own words from it, e.g. the native
 * block device its disk= and odirect= (workloads/native/blk.c). */
const char *hvb_harness_cmdline(void);

/* Delivery of one record to the host; implemented by each environment. */
void rt_emit(const struct hvb_record *rec);

/* Descriptor lookup (exposed for tests and `hvbench list`). */
const struct hvb_workload *hvb_workload_find(const char *name);
const struct hvb_workload *const *hvb_workloads_begin(void);
const struct hvb_workload *const *hvb_workloads_end(void);

/* Helpers used by the harness, exposed for unit tests.  All freestanding. */

/* Value of word `key=` in cmdline copied to buf (NUL-terminated); false if absent
 * or longer than len-1. */
bool hvb_cmdline_get(const char *cmdline, const char *key, char *buf, size_t len);
/* The addresses of the abi.h net.* words of cmdline into info (mac,
 * peer_mac, ip, peer_ip, port, peer_port, reflect; the ports default to
 * HVB_NET_PORT / HVB_NET_PEER_PORT).  0, or -EINVAL (-22) with *why
 * naming the missing or malformed word (workloads/networds.c). */
int hvb_net_words(const char *cmdline, struct rt_net_info *info, const char **why);
/* Decimal or 0x-hex unsigned; false on junk or overflow. */
bool hvb_parse_u64(const char *s, uint64_t *out);
/* Sort n doubles ascending (small n: insertion sort). */
void hvb_sort_doubles(double *v, unsigned n);
/* Percentile q in [0,1] of sorted v (linear interpolation). */
double hvb_percentile(const double *sorted, unsigned n, double q);
/* Sort n values ascending in place: heapsort, O(n log n) in the worst
 * case, no recursion and no memory (the per-request latencies: up to
 * HVB_REQ_MAX values, far too many for the insertion sort above). */
void hvb_sort_u64(uint64_t *v, size_t n);
/* Percentile q in [0,1] of sorted v, interpolated as hvb_percentile. */
double hvb_percentile_u64(const uint64_t *sorted, size_t n, double q);
/* Next n for calibration: aims at goal cycles given that n took `took` cycles. */
uint64_t hvb_calibrate_next(uint64_t n, uint64_t took, uint64_t goal);

/*
 * Per-batch n of a per_request workload raised so that a repetition stands
 * on at least min_reqs requests (n took `took` cycles, the goal is `goal`
 * per batch), but no batch is planned longer than HVB_REQ_FLOOR_GOALS
 * goals: a slow device cannot stretch a run without bound.
 */
uint64_t hvb_req_floor(uint64_t n, uint64_t took, uint64_t goal, unsigned batches,
		       uint64_t min_reqs);

/* Limits. */
#define HVB_MAX_BATCHES 64
/* Requests a repetition of a per_request workload should stand on: the
 * time goal alone gave 3 per batch where a request took 4 ms (a shared
 * disk at its worst), and a repetition's median of 30 requests moved
 * 30-fold between repetitions. */
#define HVB_REQ_MIN_PER_REP 256
#define HVB_REQ_MIN_PER_REP_QUICK 32 /* --quick: a smoke test */
#define HVB_REQ_FLOOR_GOALS 10
#define HVB_DEFAULT_BATCHES 10
#define HVB_DEFAULT_GOAL_US 10000

#endif
