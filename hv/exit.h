/*
 * The run loop and exit dispatch.
 *
 * vcpu_run() enters the guest with KVM_RUN and dispatches every exit through
 * a table indexed by exit reason (port I/O and MMIO go on to the device that
 * registered the port or range, see dev.h).  The hot path allocates nothing,
 * logs nothing and makes no system call besides KVM_RUN: it is the reference
 * for what a userspace exit costs.  Anything unexpected (an exit reason, port
 * or address nobody handles) ends the run with a verdict naming the exit
 * reason, the port/address and the guest's rip.
 */
#ifndef HV_EXIT_H
#define HV_EXIT_H

#include <pthread.h>
#include <stdint.h>

#include "vm.h"

struct hv_run_opts {
	uint64_t timeout_ns;	 /* watchdog: the run ends as HV_TIMEOUT after this (0 = none) */
	const volatile int *stop_flag; /* non-zero = stop as HV_INTERRUPTED (may be NULL) */
	/*
	 * Optional (NULL = no TSC read at all): the time the VMM spent on each
	 * exit, TSC cycles from KVM_RUN's return to the next KVM_RUN, called
	 * right before that next KVM_RUN with the exit's reason.  Not called
	 * for a KVM_RUN a signal interrupted, nor for the exit that ends the run.
	 */
	void (*exit_time)(void *arg, uint32_t reason, uint64_t cycles);
	void *exit_time_arg;
};

/*
 * Run vcpu on the calling thread until the run ends: the guest shuts down,
 * crashes or breaks the rules, the watchdog fires, the stop flag is set, or
 * the host fails.  A watchdog thread guards every KVM_RUN (signal +
 * kvm_run->immediate_exit), so this returns even when the guest never exits
 * or KVM_RUN would not come back by itself.  Returns vm->verdict.outcome;
 * vm->verdict says what happened, with the guest's last rip when available.
 * A VM runs once: call again only after vm_verdict_reset().
 */
enum hv_outcome vcpu_run(struct vcpu *vcpu, const struct hv_run_opts *opts);

/* One bare KVM_RUN: 0 or -errno.  No dispatch, no watchdog. */
int __vcpu_run(struct vcpu *vcpu);

/*
 * End the run with this outcome and message (printf format), keeping the
 * first verdict when several come in.  Records the guest's registers from
 * vcpu (may be NULL).  Called by devices from their handlers; returns
 * HV_STOP so a handler can `return vm_stop(...)`.  Not for the hot path.
 */
int vm_stop(struct vm *vm, struct vcpu *vcpu, enum hv_outcome outcome, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * From another thread, once the VM has a verdict (vm_stop): kick vCPU
 * `vcpu`, run by `thread`, out of KVM_RUN now (immediate_exit and the
 * watchdog's signal) instead of at the watchdog's next poll; its
 * vcpu_run() returns.  For a pause (migration) the caller then settles
 * the vCPU (vcpu_state.h) before it reads its state.
 */
void vcpu_kick(struct vcpu *vcpu, pthread_t thread);

/* Clear the verdict (and any watchdog kick) so the VM can be run again. */
void vm_verdict_reset(struct vm *vm);

/* "io", "mmio", "hlt", "shutdown", ... for KVM_EXIT_*; "unknown" otherwise. */
const char *hv_exit_reason_name(uint32_t reason);

/* "shutdown", "timeout", "interrupted", "crash", "guest error", "host error". */
const char *hv_outcome_name(enum hv_outcome outcome);

#endif
