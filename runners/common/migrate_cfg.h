/*
 * What a migrating job does (hvbench migrate, HVB_KVM_MIGRATE): the
 * runner-independent description of one migration, which each migrating
 * runner (kvm now; qemu-kvm and Xen later) reads from the job's config.
 *
 * Spec (HVB_KVM_MIGRATE, and one grid point of hvbench migrate): comma-
 * separated KEY=VALUE, every key optional ("1" = all defaults):
 *   dirty=log|clear|ring   dirty tracking (kvm; hv/dirty.h)      log
 *   bw_mib=N               link bandwidth, MiB/s, 0 = unlimited   0
 *   downtime_ms=N          downtime target of the stop-and-copy   30
 *   rounds=N               pre-copy rounds at most (>= 1)          10
 *   after_ms=N             migrate this long into the first
 *                          repetition of migrate/dirty             300
 */
#ifndef HVB_MIGRATE_CFG_H
#define HVB_MIGRATE_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dirty.h"

/* The workload a migration waits for (its first REP_BEGIN). */
#define HVB_MIGRATE_WORKLOAD "migrate/dirty"

struct hvb_mig_cfg {
	bool on;
	enum hv_dirty_mode dirty;
	uint64_t bw_mib;      /* 0 = unlimited */
	uint64_t downtime_ms;
	unsigned rounds;
	uint64_t after_ms;
};

/* The defaults above, on. */
void hvb_mig_cfg_default(struct hvb_mig_cfg *m);

/* Parse a spec into m (defaults first).  0, or -EINVAL with err saying
 * which key or value is wrong and what is accepted. */
int hvb_mig_cfg_parse(const char *spec, struct hvb_mig_cfg *m, char *err, size_t len);

/* The spec back, canonical (every key), for meta and notes. */
void hvb_mig_cfg_format(const struct hvb_mig_cfg *m, char *buf, size_t len);

#endif
