/*
 * Does interrupt delivery really work on this host?  Under nested PVM guest
 * ring 0 is emulated and what works must be measured, so before the kvm
 * runner offers HVB_CAP_IRQ it boots a tiny hand-made guest (32-bit, ring
 * 0, no paging) once per irqchip mode and process:
 *
 *   1. the guest enables its LAPIC, then waits in `sti; hlt`; the host has
 *      raised HVB_VEC_VIRQ through an irqfd (MSI route) meanwhile: the
 *      handler must run (irqfd delivery, and a halt woken in the kernel);
 *   2. it arms a one-shot LAPIC timer (HVB_VEC_TIMER) and halts again: the
 *      timer must wake it (the mechanism micro/hlt-wake uses with an
 *      irqchip, as under Xen PVH);
 *   3. it ends; any other vector, a fault or 2 s without an end is a no.
 *
 * The handlers do not iret (a 32-bit iret is one of the instructions PVM's
 * emulator refuses; the real guest runtime is 64-bit, where iretq works):
 * they drop the frame and jump on.
 */
#ifndef HV_IRQ_PROBE_H
#define HV_IRQ_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "vm.h"

/*
 * Run the probe with irqchip `mode` (not NONE): true when both interrupts
 * arrived in order, else false with the reason in why.  The answer is
 * cached per mode for the process (the first caller pays ~1-5 ms).
 */
bool hv_irq_probe(enum hv_irqchip mode, char *why, size_t len);

/* The same, uncached. */
bool __hv_irq_probe(enum hv_irqchip mode, char *why, size_t len);

#endif
