/*
 * The watchdog that guards KVM_RUN.
 *
 * A thread per run sleeps until the deadline (or polls the stop flag every
 * HV_WATCHDOG_POLL_MS); when either fires it "kicks" the vCPU: it records
 * why, sets kvm_run->immediate_exit (so a KVM_RUN about to start returns at
 * once) and signals the vCPU thread with HV_KICK_SIGNAL (so a KVM_RUN in
 * progress returns -EINTR), repeating the signal until the run loop has
 * seen it.  The thread blocks every signal, so process signals (SIGINT)
 * reach the vCPU thread and interrupt KVM_RUN directly too.
 */
#ifndef HV_WATCHDOG_H
#define HV_WATCHDOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vm.h"

#define HV_WATCHDOG_POLL_MS 50
/* The kick signal: a real-time signal with an empty handler (no SA_RESTART). */
#define HV_KICK_SIGNAL (SIGRTMIN + 2)

struct hv_watchdog {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t target; /* the vCPU thread */
	struct vcpu *vcpu;
	uint64_t deadline_ns; /* CLOCK_MONOTONIC; 0 = none */
	const volatile int *stop_flag;
	bool quit;
	int kick; /* HV_TIMEOUT / HV_INTERRUPTED once kicked (atomic) */
	uint64_t kicked_at_ns;
};

/*
 * Start guarding vcpu, which runs on the calling thread: kick it at
 * now + timeout_ns (0 = never) or when *stop_flag becomes non-zero.
 * 0 or -errno (thread creation).
 */
int watchdog_start(struct hv_watchdog *wd, struct vcpu *vcpu, uint64_t timeout_ns,
		   const volatile int *stop_flag);

/* Why the vCPU was kicked (HV_TIMEOUT, HV_INTERRUPTED) or 0.  Lock-free. */
static inline int watchdog_kicked(const struct hv_watchdog *wd)
{
	return __atomic_load_n(&wd->kick, __ATOMIC_ACQUIRE);
}

/* Stop and join the thread.  Safe after a failed start (no-op then). */
void watchdog_stop(struct hv_watchdog *wd);

/* CLOCK_MONOTONIC in ns. */
uint64_t hv_now_ns(void);

#endif
