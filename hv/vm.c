/*
 * VM and vCPU objects on /dev/kvm (see vm.h).
 */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define HV_PAGE_SIZE 4096ull

int vm_create(struct vm **out, const char *kvm_path)
{
	struct vm *vm;
	int r, version;

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->fd = -1;
	vm->kvm_fd = open(kvm_path ? kvm_path : "/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		r = -errno;
		goto err_free;
	}
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		r = -EPROTO;
		goto err_close;
	}
	vm->fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		r = -errno;
		goto err_close;
	}
	r = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < (int)sizeof(struct kvm_run)) {
		r = r < 0 ? -errno : -EPROTO;
		goto err_close_vm;
	}
	vm->run_size = (size_t)r;
	*out = vm;
	return 0;

err_close_vm:
	close(vm->fd);
err_close:
	close(vm->kvm_fd);
err_free:
	free(vm);
	return r;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		munmap(v->run, vm->run_size);
		close(v->fd);
		free(v);
	}
	for (unsigned i = 0; i < vm->n_ioeventfds; i++)
		close(vm->ioeventfds[i]);
	for (unsigned i = 0; i < vm->n_irqfds; i++)
		close(vm->irqfds[i]);
	close(vm->fd);
	close(vm->kvm_fd);
	for (unsigned i = 0; i < vm->n_mem; i++)
		munmap(vm->mem[i].hva, vm->mem[i].size);
	free(vm);
}

static bool mem_overlaps(const struct vm *vm, uint64_t gpa, uint64_t size)
{
	for (unsigned i = 0; i < vm->n_mem; i++)
		if (gpa < vm->mem[i].gpa + vm->mem[i].size && vm->mem[i].gpa < gpa + size)
			return true;
	return false;
}

int vm_mem_add(struct vm *vm, uint64_t gpa, uint64_t size)
{
	struct kvm_userspace_memory_region kr;
	struct vm_mem_region *m;
	void *hva;

	if (!size || (gpa | size) & (HV_PAGE_SIZE - 1) || gpa + size < gpa)
		return -EINVAL;
	if (vm->n_mem == HV_MAX_MEM_REGIONS)
		return -ENOSPC;
	if ((vm->n_mem == 0) != (gpa == 0) || mem_overlaps(vm, gpa, size))
		return -EINVAL;
	hva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (hva == MAP_FAILED)
		return -errno;
	kr = (struct kvm_userspace_memory_region){
	    .slot = vm->n_mem,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uintptr_t)hva,
	};
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &kr)) {
		int r = -errno;
		munmap(hva, size);
		return r;
	}
	m = &vm->mem[vm->n_mem];
	*m = (struct vm_mem_region){.gpa = gpa, .size = size, .hva = hva, .slot = vm->n_mem};
	if (vm->n_mem++ == 0)
		vm->ram_size = size;
	return 0;
}

int vcpu_create(struct vm *vm, unsigned id, struct vcpu **out)
{
	struct vcpu *v;
	int r;

	if (id != vm->n_vcpus || id >= HV_MAX_VCPUS)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->id = (int)id;
	v->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		r = -errno;
		goto err_free;
	}
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		r = -errno;
		goto err_close;
	}
	vm->vcpus[vm->n_vcpus++] = v;
	*out = v;
	return 0;

err_close:
	close(v->fd);
err_free:
	free(v);
	return r;
}

#define CPUID_1_ECX_X2APIC	(1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define KVM_LEAF_SIGNATURE	0x40000000u
#define KVM_LEAF_FEATURES	0x40000001u

/* This vCPU's view: its APIC ID, TSC-deadline with an irqchip; and note
 * what the guest is offered. */
static void cpuid_fixup(struct vcpu *vcpu, struct kvm_cpuid2 *cpuid)
{
	struct hv_cpu_features *f = &vcpu->feat;
	uint32_t id = (uint32_t)vcpu->id;

	memset(f, 0, sizeof(*f));
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == 1) {
			e->ebx = (e->ebx & 0x00ffffffu) | id << 24;
			if (vcpu->vm->irqchip != HV_IRQCHIP_NONE &&
			    vm_check_cap(vcpu->vm, KVM_CAP_TSC_DEADLINE_TIMER))
				e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
			f->x2apic = e->ecx & CPUID_1_ECX_X2APIC;
			f->tsc_deadline = e->ecx & CPUID_1_ECX_TSC_DEADLINE;
		} else if (e->function == 0xb || e->function == 0x1f) {
			e->edx = id;
		} else if (e->function == KVM_LEAF_SIGNATURE) {
			f->kvm_leaf = true;
		} else if (e->function == KVM_LEAF_FEATURES) {
			f->pv_eoi = e->eax & (1u << 6);	      /* KVM_FEATURE_PV_EOI */
			f->pv_unhalt = e->eax & (1u << 7);    /* KVM_FEATURE_PV_UNHALT */
			f->pv_send_ipi = e->eax & (1u << 11); /* KVM_FEATURE_PV_SEND_IPI */
		}
	}
}

int vcpu_cpuid_init(struct vcpu *vcpu)
{
	struct kvm_cpuid2 *cpuid = NULL;
	int nent = 64, r;

	/* The table size is not known in advance: grow until it fits. */
	for (;;) {
		free(cpuid);
		cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(struct kvm_cpuid_entry2));
		if (!cpuid)
			return -ENOMEM;
		cpuid->nent = (uint32_t)nent;
		if (!ioctl(vcpu->vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid))
			break;
		r = -errno;
		if (r != -E2BIG || nent >= 4096)
			goto out;
		nent *= 2;
	}
	cpuid_fixup(vcpu, cpuid);
	r = ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) ? -errno : 0;
out:
	free(cpuid);
	return r;
}

int vcpu_tsc_offset_set(struct vcpu *vcpu, int64_t offset)
{
	struct kvm_device_attr attr = {
	    .group = KVM_VCPU_TSC_CTRL,
	    .attr = KVM_VCPU_TSC_OFFSET,
	    .addr = (uint64_t)(uintptr_t)&offset,
	};

	if (ioctl(vcpu->fd, KVM_HAS_DEVICE_ATTR, &attr))
		return errno == ENOTTY ? -ENOTTY : -ENXIO;
	return ioctl(vcpu->fd, KVM_SET_DEVICE_ATTR, &attr) ? -errno : 0;
}

int vcpu_regs_get(struct vcpu *vcpu, struct kvm_regs *regs)
{
	return ioctl(vcpu->fd, KVM_GET_REGS, regs) ? -errno : 0;
}

int vcpu_regs_set(struct vcpu *vcpu, const struct kvm_regs *regs)
{
	return ioctl(vcpu->fd, KVM_SET_REGS, regs) ? -errno : 0;
}

int vcpu_sregs_get(struct vcpu *vcpu, struct kvm_sregs *sregs)
{
	return ioctl(vcpu->fd, KVM_GET_SREGS, sregs) ? -errno : 0;
}

int vcpu_sregs_set(struct vcpu *vcpu, const struct kvm_sregs *sregs)
{
	return ioctl(vcpu->fd, KVM_SET_SREGS, sregs) ? -errno : 0;
}

int vm_check_cap(struct vm *vm, long cap)
{
	int r = ioctl(vm->fd, KVM_CHECK_EXTENSION, cap);

	if (r < 0)
		r = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}
