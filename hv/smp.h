/*
 * Application processors of the reference core: started directly at the
 * image's AP entry (HVB_NOTE_AP_ENTRY), one host thread each.
 *
 * No INIT-SIPI-SIPI: the core puts each AP in the state the AP entry note
 * promises (32-bit protected mode, flat segments, paging off, interrupts
 * off, %esi = its vCPU index) and, with an irqchip, makes it RUNNABLE
 * (KVM leaves APs waiting for a SIPI otherwise).  vCPU 0 is the caller's:
 * it runs it on its own thread.  The run is over when the VM has a
 * verdict (vCPU 0 shut down, or any vCPU crashed or broke a rule): every
 * vCPU's watchdog then kicks it out of KVM_RUN (watchdog.h), so an AP that
 * spins forever or never came up cannot hold the run.
 */
#ifndef HV_SMP_H
#define HV_SMP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "exit.h"
#include "vm.h"

/* Put AP vcpu (id >= 1) at entry in the AP entry state above. */
int vcpu_setup_ap(struct vcpu *vcpu, uint32_t entry);

struct hv_smp;

struct hv_ap {
	struct hv_smp *smp;
	struct vcpu *vcpu;
	pthread_t thread;
	bool started;		     /* the thread exists (join it) */
	bool done;		     /* atomic: vcpu_run returned */
	int cpu;		     /* pinned to (-1 = not pinned) */
	int pin_err;		     /* -errno of the pinning, 0 = fine */
	int cpu_first, cpu_last;     /* sched_getcpu() before and after its run */
	int enter_err;		     /* the enter hook's error */
	pid_t tid;		     /* atomic: its thread id, once the thread runs (0 before) */
};

struct hv_smp {
	struct vm *vm;
	struct hv_run_opts opts;
	/* Called on each AP thread before its run (e.g. seccomp): 0 or -errno
	 * (then the run ends as a host error naming the vCPU).  May be NULL. */
	int (*enter)(void *arg, struct vcpu *vcpu);
	void *arg;
	/* Per AP (index = vCPU id): its own opts.exit_time_arg, so that an
	 * exit_time callback never shares a histogram between threads; NULL
	 * keeps opts' (as does a zeroed struct). */
	void *exit_time_arg[HV_MAX_VCPUS];
	unsigned n_aps; /* vm->n_vcpus - 1 */
	struct hv_ap ap[HV_MAX_VCPUS];
};

/*
 * Start a thread for each vCPU 1..vm->n_vcpus-1, pinned to cpus[id] (NULL
 * or -1 = not pinned), each running vcpu_run(opts).  0, or -errno from
 * pthread_create: the run is then stopped (verdict) and the threads that
 * started must still be joined with hv_smp_join().
 */
int hv_smp_start(struct hv_smp *s, struct vm *vm, const int *cpus, const struct hv_run_opts *opts);

/*
 * After vCPU 0's run (the VM has a verdict): wait for every AP thread, at
 * most grace_ns in all.  0, or -ETIMEDOUT when an AP's KVM_RUN never came
 * back (its thread is detached and left; the VM must then not be destroyed).
 */
int hv_smp_join(struct hv_smp *s, uint64_t grace_ns);

#endif
