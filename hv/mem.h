/*
 * Checked guest-physical access.  Every address and length the guest hands
 * the host (record addresses, release ranges, MMIO/port data) goes through
 * these before the host touches guest memory.  All checks are overflow-safe:
 * gpa + len is never computed before it is known not to wrap.
 */
#ifndef HV_MEM_H
#define HV_MEM_H

#include <stdbool.h>
#include <stdint.h>

#include "vm.h"

/*
 * true iff [gpa, gpa + len) lies inside one guest RAM region and len > 0.
 * Ranges spanning two regions are refused even if the regions touch: the
 * host mappings need not be contiguous.
 */
bool vm_gpa_range_ok(const struct vm *vm, uint64_t gpa, uint64_t len);

/* Host address of [gpa, gpa + len), or NULL when vm_gpa_range_ok() says no. */
void *vm_gpa_to_hva_checked(const struct vm *vm, uint64_t gpa, uint64_t len);

/* Host address of gpa, no checks: only for addresses the host chose itself
 * (boot structures) or checked before. */
void *__vm_gpa_to_hva(const struct vm *vm, uint64_t gpa);

/* Copy len bytes from / to guest-physical gpa.  0, or -EFAULT when the range
 * is not guest RAM (nothing copied). */
int vm_gpa_read(const struct vm *vm, uint64_t gpa, void *dst, uint64_t len);
int vm_gpa_write(struct vm *vm, uint64_t gpa, const void *src, uint64_t len);

/*
 * Drop the host backing of [gpa, gpa + len) (madvise MADV_DONTNEED): the
 * guest reads zeros there afterwards and its next touch faults again.  gpa
 * and len must be page aligned (-EINVAL) and the range guest RAM (-EFAULT).
 */
int vm_gpa_release(struct vm *vm, uint64_t gpa, uint64_t len);

#endif
