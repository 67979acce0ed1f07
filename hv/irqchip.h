/*
 * Interrupts in the reference core: the irqchip, irqfds with MSI routes,
 * the local APIC of each vCPU and the CPUID that offers it.
 *
 * The core's choice is the split irqchip (KVM_CAP_SPLIT_IRQCHIP): the
 * local APICs live in the kernel, there is no PIC, PIT or IOAPIC.  Our
 * guest uses no legacy interrupt controller, so the full in-kernel
 * irqchip would only add attack surface and boot work (crosvm and Cloud
 * Hypervisor choose the same).  Where split is refused the full irqchip
 * (KVM_CREATE_IRQCHIP) is the fallback, and without either the VM has no
 * LAPIC at all: hlt exits to userspace, nothing can be delivered.
 *
 * Interrupts from the host reach the guest through irqfds: an eventfd the
 * kernel turns into an MSI (fixed delivery, edge, physical destination)
 * on a GSI route of its own, so a write to the eventfd raises `vector` on
 * the vCPU with APIC ID `dest_cpu` without the VMM touching the vCPU.
 *
 * Call order: vm_irqchip_create() before the first vcpu_create() (KVM
 * refuses it later), then per vCPU vcpu_cpuid_init() and vcpu_lapic_setup().
 * vm_destroy() closes the irqfds (closing the VM releases the routes).
 */
#ifndef HV_IRQCHIP_H
#define HV_IRQCHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm.h"

/* IOAPIC routes KVM reserves for a split irqchip: the ones a userspace
 * IOAPIC would use; we never use them, but KVM wants a number. */
#define HV_IRQCHIP_SPLIT_ROUTES 24
/* Our MSI routes start above those, so they can never be mistaken for an
 * IOAPIC pin (the full irqchip's default routes use GSIs 0..23). */
#define HV_IRQFD_GSI_BASE 24

/* "split", "kernel", "none". */
const char *hv_irqchip_name(enum hv_irqchip mode);
/* The reverse; false for anything else. */
bool hv_irqchip_parse(const char *s, enum hv_irqchip *mode);

/*
 * Give the VM this irqchip: HV_IRQCHIP_SPLIT (KVM_ENABLE_CAP
 * KVM_CAP_SPLIT_IRQCHIP, HV_IRQCHIP_SPLIT_ROUTES routes), HV_IRQCHIP_KERNEL
 * (KVM_CREATE_IRQCHIP) or HV_IRQCHIP_NONE (nothing).  -EBUSY after a vCPU
 * was created or when the VM has one already; otherwise the ioctl's error
 * (-EINVAL / -ENOTTY: this KVM refuses it).  Sets vm->irqchip on success.
 */
int vm_irqchip_create(struct vm *vm, enum hv_irqchip mode);

/*
 * The best irqchip not above `want` in split > kernel > none: split, and
 * where it is refused the full irqchip, and where that is refused none.
 * Always ends with an irqchip (none at worst) in *got; `why` (may be NULL)
 * says what was refused on the way ("" when `want` itself worked).
 * Returns 0, or -EBUSY as vm_irqchip_create.
 */
int vm_irqchip_create_best(struct vm *vm, enum hv_irqchip want, enum hv_irqchip *got,
			   char *why, size_t len);

/*
 * An irqfd that raises `vector` (32..255) on the vCPU whose APIC ID is
 * dest_cpu (< vm->n_vcpus, or < HV_MAX_VCPUS before they exist): a new
 * MSI route (KVM_SET_GSI_ROUTING with all routes so far) and KVM_IRQFD on
 * a new eventfd.  *fd: write a u64 1 to it to send one interrupt (the VM
 * owns it: vm_destroy closes it).  -ENODEV without an irqchip, -EINVAL for
 * a bad vector or destination, -ENOSPC when HV_MAX_IRQFDS are in use,
 * else the ioctl's error (the VM is left as before).
 */
int vm_irqfd_add(struct vm *vm, uint8_t vector, unsigned dest_cpu, int *fd);

/* The same without the argument checks (the caller did them). */
int __vm_irqfd_add(struct vm *vm, uint8_t vector, unsigned dest_cpu, int *fd);

/*
 * The vCPU's local APIC at reset, made safe for a guest that knows only
 * its own vectors: LINT0 and LINT1 masked (no legacy PIC / NMI wiring, so
 * nothing arrives there), everything else as KVM reset it; the guest
 * enables the APIC itself (SVR).  0 without an irqchip (nothing to set up),
 * else 0 or the KVM_GET_LAPIC / KVM_SET_LAPIC error.
 */
int vcpu_lapic_setup(struct vcpu *vcpu);

/* KVM_SET_MP_STATE (KVM_MP_STATE_RUNNABLE, ...): 0 or -errno. */
int vcpu_mp_state_set(struct vcpu *vcpu, uint32_t state);
int vcpu_mp_state_get(struct vcpu *vcpu, uint32_t *state);

#endif
