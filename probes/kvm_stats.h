/*
 * KVM binary statistics (KVM_GET_STATS_FD, Documentation/virt/kvm/api.rst
 * section 4.133) of one VM or one vCPU.
 *
 * The stats fd is self-describing: a header, an id string, one descriptor
 * per statistic (name, type, unit, base, exponent, number of u64 items) and
 * a data block.  kvm_stats_open() reads the layout once; a snapshot is then
 * one pread() of the data block into a buffer allocated beforehand, so it can
 * be taken while a vCPU is stopped at an exit inside a measurement.
 *
 *	struct kvm_stats *st;
 *	struct kvm_stats_snap a, b;
 *	if (kvm_stats_open(vcpu_fd, &st) == 0) {
 *		kvm_stats_snap_init(st, &a); kvm_stats_snap_init(st, &b);
 *		kvm_stats_snapshot(st, &a); ...run...; kvm_stats_snapshot(st, &b);
 *		kvm_stats_delta(st, &a, &b, print_one, NULL);
 *	}
 *
 * Values handed out are normalised: time in nanoseconds, sizes in bytes
 * (base and exponent applied), so callers never look at the flags.
 */
#ifndef HVB_KVM_STATS_H
#define HVB_KVM_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kvm_stats;

/* One snapshot of the data block (storage owned by the snapshot). */
struct kvm_stats_snap {
	uint64_t *data;
	size_t n; /* u64 items */
};

/* What a statistic is (KVM_STATS_TYPE_*). */
enum kvm_stat_type {
	KVM_STAT_CUMULATIVE, /* monotonic counter: the delta is after - before */
	KVM_STAT_INSTANT,    /* current level (e.g. pages mapped): the value "after" */
	KVM_STAT_PEAK,       /* high-water mark since creation: the value "after" */
	KVM_STAT_LINEAR_HIST,
	KVM_STAT_LOG_HIST,
};

/*
 * Open the binary statistics of a VM fd or a vCPU fd (KVM_GET_STATS_FD) and
 * read their layout.  0, or -errno: -ENOTTY/-EINVAL mean the kernel has no
 * binary stats (KVM_CAP_BINARY_STATS_FD, Linux >= 5.14), -EPROTO a layout we
 * do not understand; kvm_stats_strerror() turns these into a reason to record.
 */
int kvm_stats_open(int kvm_fd, struct kvm_stats **out);

/* The same from a stats fd obtained elsewhere (st takes ownership of fd,
 * also on error). */
int kvm_stats_open_statsfd(int stats_fd, struct kvm_stats **out);

/* Reason string for an error of kvm_stats_open() (never NULL). */
const char *kvm_stats_strerror(int err);

/* The id string of the stats ("kvm-1234", "kvm-1234/vcpu-0"). */
const char *kvm_stats_id(const struct kvm_stats *st);

/* Number of statistics (descriptors) and the name of statistic i. */
unsigned kvm_stats_count(const struct kvm_stats *st);
const char *kvm_stats_name(const struct kvm_stats *st, unsigned i);
enum kvm_stat_type kvm_stats_type(const struct kvm_stats *st, unsigned i);
/* Normalised unit of statistic i: "count", "ns", "bytes", "cycles", "boolean". */
const char *kvm_stats_unit(const struct kvm_stats *st, unsigned i);

/* Index of the statistic called `name`, or -ENOENT. */
int kvm_stats_find(const struct kvm_stats *st, const char *name);

/* Allocate snapshot storage for st (the only allocation).  0 or -ENOMEM. */
int kvm_stats_snap_init(const struct kvm_stats *st, struct kvm_stats_snap *snap);
void kvm_stats_snap_free(struct kvm_stats_snap *snap);

/*
 * Read the current values into snap: one pread(), no allocation.  0 or
 * -errno (-EIO on a short read).  The unchecked variant skips the check
 * that snap was sized for st.
 */
int kvm_stats_snapshot(const struct kvm_stats *st, struct kvm_stats_snap *snap);
int __kvm_stats_snapshot(const struct kvm_stats *st, struct kvm_stats_snap *snap);

/* Normalised value of scalar statistic i (item 0) in a snapshot. */
double kvm_stats_value(const struct kvm_stats *st, const struct kvm_stats_snap *snap, unsigned i);

/*
 * Change of statistic i between two snapshots, normalised: after - before
 * for cumulative statistics, the "after" value for instant and peak ones.
 */
double kvm_stats_change(const struct kvm_stats *st, const struct kvm_stats_snap *before,
			const struct kvm_stats_snap *after, unsigned i);

/*
 * Callback of kvm_stats_delta: `name` is the statistic, or for a histogram
 * bucket "name[lo,hi)" with the bounds in the statistic's unit; `delta` as
 * kvm_stats_change; is_cumulative tells whether delta is a difference
 * (cumulative counters, histogram buckets) or a level (instant, peak).
 * A non-zero return stops the walk and is returned by kvm_stats_delta.
 */
typedef int (*kvm_stats_cb)(void *arg, const char *name, double delta, const char *unit,
			    bool is_cumulative);

/*
 * Walk every statistic: scalars always, histogram buckets only when their
 * count changed (histograms have up to 32 buckets each and are mostly
 * untouched by a sample).  0, or the first non-zero return of cb.
 */
int kvm_stats_delta(const struct kvm_stats *st, const struct kvm_stats_snap *before,
		    const struct kvm_stats_snap *after, kvm_stats_cb cb, void *arg);

/*
 * The exits.csv reason of a vCPU statistic, or NULL for one that does not
 * count exits (pf_* count faults, insn_emulation_fail failures): "exits" is
 * "total", halt_exits "hlt", hypercalls "hypercall", insn_emulation itself,
 * NAME_exits "NAME".  One table for every runner that reads KVM's stats
 * (the kvm runner's fd, QEMU's query-stats), so their rows line up.  buf
 * holds the NAME form.
 */
const char *kvm_stats_exit_reason(const char *name, char *buf, size_t len);

/* Close the stats fd and free st (NULL is fine). */
void kvm_stats_close(struct kvm_stats *st);

#endif
