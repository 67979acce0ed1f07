#include "mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define HV_PAGE_SIZE 4096ull

static const struct vm_mem_region *region_of(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (!len)
		return NULL;
	for (unsigned i = 0; i < vm->n_mem; i++) {
		const struct vm_mem_region *r = &vm->mem[i];
		/* gpa - r->gpa <= r->size - len  <=>  gpa + len <= r->gpa + r->size, without
		 * overflow */
		if (gpa >= r->gpa && len <= r->size && gpa - r->gpa <= r->size - len)
			return r;
	}
	return NULL;
}

bool vm_gpa_range_ok(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	return region_of(vm, gpa, len) != NULL;
}

void *vm_gpa_to_hva_checked(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	const struct vm_mem_region *r = region_of(vm, gpa, len);

	return r ? r->hva + (gpa - r->gpa) : NULL;
}

void *__vm_gpa_to_hva(const struct vm *vm, uint64_t gpa)
{
	for (unsigned i = 0; i < vm->n_mem; i++)
		if (gpa >= vm->mem[i].gpa && gpa - vm->mem[i].gpa < vm->mem[i].size)
			return vm->mem[i].hva + (gpa - vm->mem[i].gpa);
	return NULL;
}

int vm_gpa_read(const struct vm *vm, uint64_t gpa, void *dst, uint64_t len)
{
	const void *src = vm_gpa_to_hva_checked(vm, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int vm_gpa_write(struct vm *vm, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = vm_gpa_to_hva_checked(vm, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int vm_gpa_release(struct vm *vm, uint64_t gpa, uint64_t len)
{
	void *hva;

	if ((gpa | len) & (HV_PAGE_SIZE - 1) || !len)
		return -EINVAL;
	hva = vm_gpa_to_hva_checked(vm, gpa, len);
	if (!hva)
		return -EFAULT;
	return madvise(hva, len, MADV_DONTNEED) ? -errno : 0;
}
