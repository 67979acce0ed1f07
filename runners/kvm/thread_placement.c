/*
 * Placement of the reference core's vCPU thread at REP_END (thread_placement.h).
 * Called on the vCPU thread during the REP_END record exit: under the
 * core's seccomp filter it may not open /proc, so it asks sched_getcpu
 * (vDSO, no system call).  The I/O threads' placement is not recorded
 * here for the same reason.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>

#include "kvm.h"
#include "thread_placement.h"

/*
 * The vCPUs whose placement the caller can see: the core runs one vCPU, on
 * the thread that handles its record exits, so at REP_END that is the
 * caller.  A multi-vCPU core samples each vCPU thread here (the only place
 * placement asks): return the number of CPUs written.
 */
static unsigned vcpu_cpus(const struct kvm_job *kj, int *cpus, unsigned max)
{
	int cpu = sched_getcpu();

	(void)kj;
	if (!max)
		return 0;
	cpus[0] = cpu < 0 ? -errno : cpu;
	return 1;
}

void kvm_record_placement(const struct kvm_job *kj)
{
	int cpus[8];
	unsigned n = vcpu_cpus(kj, cpus, 8);
	char name[32];

	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "vcpu%u", i);
		hvb_placement_record_cpu(kj->out, name, cpus[i]);
	}
}
