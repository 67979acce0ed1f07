/*
 * The interrupt bench device (abi.h HVB_PORT_KICK, HVB_SHARED_IRQ): Dall et
 * al.'s "I/O latency out" and "in" with the host and the guest reading the
 * same TSC.
 *
 *   outb HVB_PORT_KICK   an ioeventfd: completes in the host kernel.  The
 *                        device's thread, blocked in poll on it, wakes,
 *                        stamps kick_rx_tsc and kick_seq (= the guest's seq)
 *                        in the shared page, and counts the kick
 *   virq_req != 0        ... then stamps inject_tsc and writes the irqfd
 *                        routed to HVB_VEC_VIRQ on vCPU virq_cpu (an MSI,
 *                        irqchip.h), counting the injection
 *   HVB_SHARED_IRQ       one RAM page in a memslot of its own:
 *                        struct hvb_irq_shared; the host also keeps its
 *                        totals there (kicks, injections)
 *
 * Hostile values: virq_cpu >= the VM's vCPUs ends the run as a guest error
 * naming it (counted in bad_requests, nothing injected).  Kicks the kernel
 * coalesces (the guest kicks again before the thread read the eventfd) are
 * counted as the eventfd's count, so the totals stay exact; only the stamps
 * are per wake-up.
 *
 * Attach after the vCPUs exist (the irqfds name them).  Without an irqchip
 * it attaches the kick path only (virq == false): HVB_CAP_KICK, no
 * HVB_CAP_VIRQ.
 */
#ifndef HV_DEV_IRQBENCH_H
#define HV_DEV_IRQBENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vm.h"

struct hv_irqbench;

struct hv_irqbench_config {
	int io_cpu;   /* pin the device's thread here (-1 = anywhere) */
	bool seccomp; /* confine the thread (hv_seccomp_irqbench_install) */
};

struct hv_irqbench_stats {
	uint64_t wakeups;      /* times the thread found the kick eventfd readable */
	uint64_t kicks;	       /* guest writes to HVB_PORT_KICK (eventfd counts) */
	uint64_t injections;   /* irqfd writes */
	uint64_t bad_requests; /* virq_cpu out of range */
	uint64_t irqfd_errors; /* an irqfd write that failed */
	bool virq;	       /* injections possible (an irqchip, irqfds set up) */
};

/*
 * The shared page as a memslot at HVB_SHARED_IRQ, the ioeventfd, an irqfd
 * per vCPU (when there is an irqchip) and the thread.  0 or -errno (the VM
 * is then unusable: destroy it).
 */
int dev_irqbench_attach(struct vm *vm, const struct hv_irqbench_config *cfg,
			struct hv_irqbench **out);

/* Stop and join the thread, free the device (the VM owns the fds and the
 * page).  Before vm_destroy.  NULL is fine. */
void dev_irqbench_detach(struct hv_irqbench *d);

void dev_irqbench_stats(const struct hv_irqbench *d, struct hv_irqbench_stats *st);
pid_t dev_irqbench_tid(const struct hv_irqbench *d);

#endif
