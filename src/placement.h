/*
 * Where the vCPUs of a guest (or the native worker threads) run: --vcpus N
 * and --cpus LIST resolved once per run into struct hvb_job.cpus[].
 */
#ifndef HVB_PLACEMENT_H
#define HVB_PLACEMENT_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

#include "hvb/abi.h"

struct hvb_placement {
	unsigned vcpus;
	int cpus[HVB_MAX_VCPUS]; /* host CPU of vCPU / worker i */
	bool overcommit;	 /* two of them share a host CPU */
	unsigned host_cpus;	 /* distinct host CPUs used */
};

/*
 * vcpus (1..HVB_MAX_VCPUS) on the CPUs of `allowed`: with `list` (--cpus,
 * comma-separated, exactly vcpus entries, each in allowed), those; else
 * round robin over allowed from cpu0 (--cpu or the default) upwards,
 * wrapping.  More vCPUs than allowed CPUs is overcommit, not an error.
 * 0, or -1 with err saying what is wrong (for a usage error).
 */
int hvb_placement_resolve(struct hvb_placement *pl, unsigned vcpus, int cpu0, const char *list,
			  const cpu_set_t *allowed, char *err, size_t len);

/* "3,1" (cpus= word and meta value) into buf. */
void hvb_placement_list(const struct hvb_placement *pl, char *buf, size_t len);

#endif
