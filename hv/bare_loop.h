/*
 * The bare KVM_RUN loop: the least a VMM can do per userspace port exit,
 * and so the floor under the reference core's micro/pio-out-user.
 *
 * A tiny guest (32-bit, ring 0, no paging) writes HVB_PORT_BENCH_USER in an
 * unrolled loop (so its own instructions are negligible even where ring 0
 * is emulated) and then HVB_PORT_SHUTDOWN.  The bare loop is
 *	while (ioctl(KVM_RUN) == 0) if (port == BENCH_USER) continue; ...
 * with no device lookup, watchdog or verdict.  hv-bare-exit runs it against
 * vcpu_run(); the kvm runner runs it beside the micro cells (its bound row).
 */
#ifndef HV_BARE_LOOP_H
#define HV_BARE_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "dev.h"
#include "vm.h"

/* Port writes per loop iteration of the tiny guest. */
#define HV_BARE_UNROLL 128

struct hv_bare_guest {
	struct vm *vm;
	struct vcpu *vcpu;
	struct hv_console con; /* only with devices (to run under vcpu_run) */
	struct hv_hvb hvb;
};

/*
 * Build the tiny guest: iters x HV_BARE_UNROLL port exits, then shutdown.
 * iters 0 = 2^32 iterations: practically endless, for callers that stop
 * after a number of exits (hv_bare_run's max_exits).  devices: attach the
 * console and hvbench device so vcpu_run() can run it too.  0 or -errno;
 * on error the guest is destroyed.
 */
int hv_bare_guest_create(struct hv_bare_guest *g, uint32_t iters, bool devices);
void hv_bare_guest_destroy(struct hv_bare_guest *g);

/*
 * The bare loop on the guest's vCPU: until the guest's shutdown write
 * (max_exits 0) or until max_exits bench-port exits were taken.  0, -EINTR
 * (a signal interrupted KVM_RUN), -EIO (an exit other than the bench or
 * shutdown port: the guest is not the tiny guest) or another -errno of
 * KVM_RUN.  *exits (may be NULL): bench-port exits taken.
 */
int hv_bare_run(struct vcpu *vcpu, uint64_t max_exits, uint64_t *exits);

/* Wall-clock ns per exit over n exits of the bare loop (hv_now_ns). */
int hv_bare_time(struct vcpu *vcpu, uint64_t n, double *ns_per_exit);

/*
 * Exits per batch so one batch takes about goal_us: a short untimed warm-up,
 * then a timed probe, scaled (at least HV_BARE_UNROLL, at most 2^26).
 */
int hv_bare_calibrate(struct vcpu *vcpu, uint64_t goal_us, uint64_t *exits_per_batch);

#endif
