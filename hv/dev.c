/* Device registration and ioeventfds (see dev.h). */
#include "dev.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mem.h"

int vm_pio_register(struct vm *vm, uint16_t first, uint16_t last, hv_pio_fn fn, void *opaque,
		    const char *name)
{
	if (last < first || !fn)
		return -EINVAL;
	if (vm->n_pio == HV_MAX_PIO)
		return -ENOSPC;
	for (unsigned i = 0; i < vm->n_pio; i++)
		if (first <= vm->pio[i].last && vm->pio[i].first <= last)
			return -EEXIST;
	vm->pio[vm->n_pio++] = (struct vm_pio){first, last, fn, opaque, name};
	return 0;
}

int vm_mmio_register(struct vm *vm, uint64_t gpa, uint64_t len, hv_mmio_fn fn, void *opaque,
		     const char *name)
{
	if (!len || gpa + len < gpa || !fn)
		return -EINVAL;
	if (vm->n_mmio == HV_MAX_MMIO)
		return -ENOSPC;
	for (unsigned i = 0; i < vm->n_mmio; i++)
		if (gpa < vm->mmio[i].gpa + vm->mmio[i].len && vm->mmio[i].gpa < gpa + len)
			return -EEXIST;
	for (unsigned i = 0; i < vm->n_mem; i++)
		if (gpa < vm->mem[i].gpa + vm->mem[i].size && vm->mem[i].gpa < gpa + len)
			return -EEXIST; /* RAM there: accesses would never exit */
	vm->mmio[vm->n_mmio++] = (struct vm_mmio){gpa, len, fn, opaque, name};
	return 0;
}

int vm_mmio_unregister(struct vm *vm, uint64_t gpa)
{
	for (unsigned i = 0; i < vm->n_mmio; i++)
		if (vm->mmio[i].gpa == gpa) {
			vm->mmio[i] = vm->mmio[--vm->n_mmio];
			return 0;
		}
	return -ENOENT;
}

int vm_ioeventfd_add(struct vm *vm, uint64_t addr, bool pio)
{
	return vm_ioeventfd_add_fd(vm, addr, pio, NULL);
}

int vm_ioeventfd_add_fd(struct vm *vm, uint64_t addr, bool pio, int *fd_out)
{
	struct kvm_ioeventfd io = {.addr = addr, .len = 0};
	int fd, r;

	if (vm->n_ioeventfds == HV_MAX_IOEVENTFDS)
		return -ENOSPC;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	io.fd = fd;
	io.flags = pio ? KVM_IOEVENTFD_FLAG_PIO : 0;
	/* len 0 = any access size at exactly this address (Linux >= 4.4). */
	r = ioctl(vm->fd, KVM_IOEVENTFD, &io);
	if (r && errno == EINVAL) {
		/* Older kernels: one registration per size the guest uses. */
		io.len = 1;
		r = ioctl(vm->fd, KVM_IOEVENTFD, &io);
		io.len = 4;
		if (!r)
			r = ioctl(vm->fd, KVM_IOEVENTFD, &io);
	}
	if (r) {
		r = -errno;
		close(fd);
		return r;
	}
	vm->ioeventfds[vm->n_ioeventfds++] = fd;
	if (fd_out)
		*fd_out = fd;
	return 0;
}
