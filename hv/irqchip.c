/* The irqchip, irqfds with MSI routes and the local APICs (see irqchip.h). */
#include "irqchip.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_MASKED (1u << 16)

/* MSI address: the LAPIC window, destination APIC ID in bits 19:12,
 * physical destination mode, no redirection hint. */
#define MSI_ADDR_BASE 0xfee00000u
#define MSI_ADDR_DEST(id) ((uint32_t)(id) << 12)

const char *hv_irqchip_name(enum hv_irqchip mode)
{
	switch (mode) {
	case HV_IRQCHIP_NONE:
		return "none";
	case HV_IRQCHIP_SPLIT:
		return "split";
	case HV_IRQCHIP_KERNEL:
		return "kernel";
	}
	return "?";
}

bool hv_irqchip_parse(const char *s, enum hv_irqchip *mode)
{
	static const enum hv_irqchip all[] = {HV_IRQCHIP_SPLIT, HV_IRQCHIP_KERNEL,
					      HV_IRQCHIP_NONE};

	for (unsigned i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(s, hv_irqchip_name(all[i]))) {
			*mode = all[i];
			return true;
		}
	return false;
}

int vm_irqchip_create(struct vm *vm, enum hv_irqchip mode)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP,
				     .args = {HV_IRQCHIP_SPLIT_ROUTES}};
	int r = 0;

	if (vm->n_vcpus || vm->irqchip != HV_IRQCHIP_NONE)
		return -EBUSY;
	if (mode == HV_IRQCHIP_SPLIT)
		r = ioctl(vm->fd, KVM_ENABLE_CAP, &cap);
	else if (mode == HV_IRQCHIP_KERNEL)
		r = ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0);
	else if (mode != HV_IRQCHIP_NONE)
		return -EINVAL;
	if (r)
		return -errno;
	vm->irqchip = mode;
	return 0;
}

static void say_refused(char *why, size_t len, enum hv_irqchip mode, int r)
{
	size_t used;

	if (!why || !len)
		return;
	used = strlen(why);
	if (used < len)
		snprintf(why + used, len - used, "%s%s irqchip refused (%s)", used ? "; " : "",
			 hv_irqchip_name(mode), strerror(-r));
}

int vm_irqchip_create_best(struct vm *vm, enum hv_irqchip want, enum hv_irqchip *got,
			   char *why, size_t len)
{
	int r = -EINVAL;

	if (why && len)
		why[0] = '\0';
	if (want == HV_IRQCHIP_SPLIT) {
		r = vm_irqchip_create(vm, HV_IRQCHIP_SPLIT);
		if (r == -EBUSY)
			return r;
		if (r)
			say_refused(why, len, HV_IRQCHIP_SPLIT, r);
	}
	if (r && (want == HV_IRQCHIP_SPLIT || want == HV_IRQCHIP_KERNEL)) {
		r = vm_irqchip_create(vm, HV_IRQCHIP_KERNEL);
		if (r == -EBUSY)
			return r;
		if (r)
			say_refused(why, len, HV_IRQCHIP_KERNEL, r);
	}
	*got = r ? HV_IRQCHIP_NONE : vm->irqchip;
	return 0;
}

/* KVM_SET_GSI_ROUTING replaces the whole table: install all routes. */
static int set_routes(struct vm *vm, unsigned n)
{
	struct {
		struct kvm_irq_routing hdr;
		struct kvm_irq_routing_entry e[HV_MAX_IRQFDS];
	} rt;

	memset(&rt, 0, sizeof(rt));
	rt.hdr.nr = n;
	memcpy(rt.e, vm->routes, n * sizeof(rt.e[0]));
	return ioctl(vm->fd, KVM_SET_GSI_ROUTING, &rt) ? -errno : 0;
}

int __vm_irqfd_add(struct vm *vm, uint8_t vector, unsigned dest_cpu, int *fd_out)
{
	unsigned n = vm->n_irqfds;
	struct kvm_irq_routing_entry *e = &vm->routes[n];
	struct kvm_irqfd irqfd;
	int fd, r;

	memset(e, 0, sizeof(*e));
	e->gsi = HV_IRQFD_GSI_BASE + n;
	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = MSI_ADDR_BASE | MSI_ADDR_DEST(dest_cpu);
	e->u.msi.data = vector; /* fixed delivery, edge */
	r = set_routes(vm, n + 1);
	if (r)
		return r;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		goto err_routes;
	}
	memset(&irqfd, 0, sizeof(irqfd));
	irqfd.fd = (uint32_t)fd;
	irqfd.gsi = e->gsi;
	if (ioctl(vm->fd, KVM_IRQFD, &irqfd)) {
		r = -errno;
		close(fd);
		goto err_routes;
	}
	vm->irqfds[n] = fd;
	vm->n_irqfds = n + 1;
	*fd_out = fd;
	return 0;

err_routes:
	set_routes(vm, n); /* back to the table as it was */
	return r;
}

int vm_irqfd_add(struct vm *vm, uint8_t vector, unsigned dest_cpu, int *fd)
{
	unsigned ncpu = vm->n_vcpus ? vm->n_vcpus : HV_MAX_VCPUS;

	if (vm->irqchip == HV_IRQCHIP_NONE)
		return -ENODEV;
	if (vector < 32 || dest_cpu >= ncpu || !fd)
		return -EINVAL;
	if (vm->n_irqfds == HV_MAX_IRQFDS)
		return -ENOSPC;
	return __vm_irqfd_add(vm, vector, dest_cpu, fd);
}

int vcpu_lapic_setup(struct vcpu *vcpu)
{
	struct kvm_lapic_state ls;
	uint32_t v;

	if (vcpu->vm->irqchip == HV_IRQCHIP_NONE)
		return 0;
	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &ls))
		return -errno;
	memcpy(&v, &ls.regs[APIC_LVT_LINT0], 4);
	v |= APIC_LVT_MASKED;
	memcpy(&ls.regs[APIC_LVT_LINT0], &v, 4);
	memcpy(&v, &ls.regs[APIC_LVT_LINT1], 4);
	v |= APIC_LVT_MASKED;
	memcpy(&ls.regs[APIC_LVT_LINT1], &v, 4);
	return ioctl(vcpu->fd, KVM_SET_LAPIC, &ls) ? -errno : 0;
}

int vcpu_mp_state_set(struct vcpu *vcpu, uint32_t state)
{
	struct kvm_mp_state mp = {.mp_state = state};

	return ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) ? -errno : 0;
}

int vcpu_mp_state_get(struct vcpu *vcpu, uint32_t *state)
{
	struct kvm_mp_state mp;

	if (ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp))
		return -errno;
	*state = mp.mp_state;
	return 0;
}
