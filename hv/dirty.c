/*
 * Dirty-page tracking: the KVM dirty log (plain or with manual protect)
 * and the per-vCPU dirty ring (see dirty.h).
 */
#include "dirty.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define PAGE	     4096ull
#define WORD_BITS    64u
#define CURSOR_SHIFT 40

static const char *const mode_names[HV_DIRTY_MODES] = {"log", "clear", "ring"};

const char *hv_dirty_mode_name(enum hv_dirty_mode mode)
{
	return mode < HV_DIRTY_MODES ? mode_names[mode] : "unknown";
}

bool hv_dirty_mode_parse(const char *s, enum hv_dirty_mode *mode)
{
	for (unsigned i = 0; i < HV_DIRTY_MODES; i++)
		if (!strcmp(s, mode_names[i])) {
			*mode = (enum hv_dirty_mode)i;
			return true;
		}
	return false;
}

static size_t ring_bytes(void)
{
	return HV_DIRTY_RING_ENTRIES * sizeof(struct kvm_dirty_gfn);
}

/* The ring capability this KVM offers (ACQ_REL first), 0 = none. */
static long ring_cap(struct vm *vm)
{
	if (vm_check_cap(vm, KVM_CAP_DIRTY_LOG_RING_ACQ_REL))
		return KVM_CAP_DIRTY_LOG_RING_ACQ_REL;
	if (vm_check_cap(vm, KVM_CAP_DIRTY_LOG_RING))
		return KVM_CAP_DIRTY_LOG_RING;
	return 0;
}

int hv_dirty_probe(struct vm *vm, enum hv_dirty_mode mode, char *why, size_t len)
{
	int max;

	switch (mode) {
	case HV_DIRTY_LOG:
		return 0; /* KVM_MEM_LOG_DIRTY_PAGES is as old as KVM itself */
	case HV_DIRTY_CLEAR:
		if (vm_check_cap(vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2))
			return 0;
		snprintf(why, len, "no KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 on this host (Linux < 5.8 "
				   "or a KVM that does not offer it): use --dirty log");
		return -EOPNOTSUPP;
	case HV_DIRTY_RING:
		max = ring_cap(vm) ? vm_check_cap(vm, ring_cap(vm)) : 0;
		if (max >= (int)ring_bytes())
			return 0;
		if (max)
			snprintf(why, len, "KVM_CAP_DIRTY_LOG_RING allows %d bytes per vCPU, the core "
					   "needs %zu: use --dirty log or clear", max, ring_bytes());
		else
			snprintf(why, len, "no KVM_CAP_DIRTY_LOG_RING(_ACQ_REL) on this host (Linux "
					   "< 5.11, or a KVM that does not offer it): use --dirty "
					   "log or clear");
		return -EOPNOTSUPP;
	case HV_DIRTY_MODES:
		break;
	}
	snprintf(why, len, "unknown dirty-tracking mode %d", (int)mode);
	return -EINVAL;
}

static int enable_cap(struct vm *vm, long cap, uint64_t arg)
{
	struct kvm_enable_cap c = {.cap = (uint32_t)cap, .args = {arg}};

	return ioctl(vm->fd, KVM_ENABLE_CAP, &c) ? -errno : 0;
}

int hv_dirty_ring_enable(struct vm *vm)
{
	long cap = ring_cap(vm);

	if (vm->n_vcpus)
		return -EBUSY;
	if (!cap)
		return -EOPNOTSUPP;
	return enable_cap(vm, cap, ring_bytes());
}

static size_t bitmap_bytes(uint64_t size)
{
	return (size / PAGE + WORD_BITS - 1) / WORD_BITS * sizeof(uint64_t);
}

static int slot_flags(struct vm *vm, unsigned i, uint32_t flags)
{
	struct vm_mem_region *m = &vm->mem[i];
	struct kvm_userspace_memory_region kr = {
	    .slot = m->slot,
	    .flags = flags,
	    .guest_phys_addr = m->gpa,
	    .memory_size = m->size,
	    .userspace_addr = (uintptr_t)m->hva,
	};

	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &kr) ? -errno : 0;
}

static int rings_map(struct hv_dirty *d)
{
	for (unsigned i = 0; i < d->vm->n_vcpus; i++) {
		void *p = mmap(NULL, ring_bytes(), PROT_READ | PROT_WRITE, MAP_SHARED,
			       d->vm->vcpus[i]->fd, KVM_DIRTY_LOG_PAGE_OFFSET * PAGE);

		if (p == MAP_FAILED)
			return -errno;
		d->ring[i] = p;
	}
	return 0;
}

static void release(struct hv_dirty *d)
{
	for (unsigned i = 0; i < HV_MAX_VCPUS; i++)
		if (d->ring[i])
			munmap(d->ring[i], ring_bytes());
	for (unsigned i = 0; i < HV_MAX_MEM_REGIONS; i++)
		free(d->bits[i]);
	free(d->fetch);
	pthread_mutex_destroy(&d->lock);
	memset(d, 0, sizeof(*d));
}

/* The slots' flags: the dirty log on (log, clear) or nothing (ring: KVM
 * pushes to the rings for every slot with the log flag, too). */
static int slots_log(struct hv_dirty *d, bool on)
{
	int r = 0;

	for (unsigned i = 0; i < d->vm->n_mem && !r; i++)
		r = slot_flags(d->vm, i, on ? KVM_MEM_LOG_DIRTY_PAGES : 0);
	return r;
}

int hv_dirty_start(struct hv_dirty *d, struct vm *vm, enum hv_dirty_mode mode)
{
	uint64_t largest = 0;
	int r = 0;

	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	d->vm = vm;
	d->mode = mode;
	for (unsigned i = 0; i < vm->n_mem; i++) {
		d->bits[i] = calloc(1, bitmap_bytes(vm->mem[i].size));
		if (!d->bits[i])
			r = -ENOMEM;
		if (vm->mem[i].size > largest)
			largest = vm->mem[i].size;
	}
	d->fetch = calloc(1, bitmap_bytes(largest));
	if (!d->fetch)
		r = -ENOMEM;
	/* Manual protect must be on before the log flag is set (KVM's rule);
	 * without INITIALLY_SET, so the first collect reports written pages
	 * only, exactly as the plain log does. */
	if (!r && mode == HV_DIRTY_CLEAR)
		r = enable_cap(vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
			       KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE);
	if (!r && mode == HV_DIRTY_RING)
		r = rings_map(d);
	if (!r)
		r = slots_log(d, true);
	if (r) {
		slots_log(d, false);
		release(d);
		return r;
	}
	d->started = true;
	vm->dirty = d;
	return 0;
}

void hv_dirty_stop(struct hv_dirty *d)
{
	if (!d->started)
		return;
	slots_log(d, false);
	d->vm->dirty = NULL;
	release(d);
}

static void bit_set(struct hv_dirty *d, unsigned slot, uint64_t page)
{
	d->bits[slot][page / WORD_BITS] |= 1ull << (page % WORD_BITS);
}

/* One slot's log: fetch, or into bits, and (clear mode) re-protect what
 * was fetched. */
static int slot_collect(struct hv_dirty *d, unsigned i)
{
	struct vm_mem_region *m = &d->vm->mem[i];
	uint64_t npages = m->size / PAGE, words = (npages + WORD_BITS - 1) / WORD_BITS;
	struct kvm_dirty_log log = {.slot = m->slot, .dirty_bitmap = d->fetch};
	struct kvm_clear_dirty_log clr = {
	    .slot = m->slot, .first_page = 0, .dirty_bitmap = d->fetch};

	memset(d->fetch, 0, words * sizeof(uint64_t));
	if (ioctl(d->vm->fd, KVM_GET_DIRTY_LOG, &log))
		return -errno;
	for (uint64_t w = 0; w < words; w++)
		d->bits[i][w] |= d->fetch[w];
	if (d->mode != HV_DIRTY_CLEAR)
		return 0;
	/* num_pages must be a multiple of 64 unless it ends the slot. */
	clr.num_pages = (uint32_t)npages;
	return ioctl(d->vm->fd, KVM_CLEAR_DIRTY_LOG, &clr) ? -errno : 0;
}

/* Harvest vCPU i's ring up to the first entry KVM has not published. */
static void ring_harvest(struct hv_dirty *d, unsigned i)
{
	struct kvm_dirty_gfn *ring = d->ring[i];

	for (;;) {
		struct kvm_dirty_gfn *e = &ring[d->ring_next[i] & (HV_DIRTY_RING_ENTRIES - 1)];
		uint32_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
		unsigned slot = e->slot & 0xffff; /* address space in the upper half */

		if (!(flags & KVM_DIRTY_GFN_F_DIRTY))
			break;
		if (slot < d->vm->n_mem && e->offset < d->vm->mem[slot].size / PAGE)
			bit_set(d, slot, e->offset);
		else
			d->bad_entries++;
		__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
		d->ring_next[i]++;
	}
}

static int rings_collect(struct hv_dirty *d)
{
	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < d->vm->n_vcpus; i++)
		ring_harvest(d, i);
	/* Re-protect what was harvested (entries marked RESET). */
	int r = ioctl(d->vm->fd, KVM_RESET_DIRTY_RINGS, 0) < 0 ? -errno : 0;
	pthread_mutex_unlock(&d->lock);
	return r;
}

int hv_dirty_collect(struct hv_dirty *d)
{
	int r = 0;

	if (!d->started)
		return -EINVAL;
	if (d->mode == HV_DIRTY_RING)
		return rings_collect(d);
	for (unsigned i = 0; i < d->vm->n_mem && !r; i++)
		r = slot_collect(d, i);
	return r;
}

int hv_dirty_ring_full(struct hv_dirty *d, struct vcpu *vcpu)
{
	(void)vcpu; /* its ring is harvested with the others: one reset covers all */
	d->ring_full_exits++;
	return rings_collect(d);
}

uint64_t hv_dirty_pending(const struct hv_dirty *d)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < d->vm->n_mem; i++) {
		uint64_t words = (d->vm->mem[i].size / PAGE + WORD_BITS - 1) / WORD_BITS;
		for (uint64_t w = 0; w < words; w++)
			n += (uint64_t)__builtin_popcountll(d->bits[i][w]);
	}
	return n;
}

bool hv_dirty_take(struct hv_dirty *d, uint64_t *cursor, uint64_t *gpa)
{
	for (unsigned s = (unsigned)(*cursor >> CURSOR_SHIFT); s < d->vm->n_mem; s++) {
		uint64_t npages = d->vm->mem[s].size / PAGE;
		uint64_t p = s == *cursor >> CURSOR_SHIFT ? *cursor & ((1ull << CURSOR_SHIFT) - 1) : 0;

		while (p < npages) {
			uint64_t w = d->bits[s][p / WORD_BITS] >> (p % WORD_BITS);

			if (!w) {
				p = (p / WORD_BITS + 1) * WORD_BITS;
				continue;
			}
			p += (uint64_t)__builtin_ctzll(w);
			if (p >= npages)
				break;
			d->bits[s][p / WORD_BITS] &= ~(1ull << (p % WORD_BITS));
			*gpa = d->vm->mem[s].gpa + p * PAGE;
			*cursor = (uint64_t)s << CURSOR_SHIFT | (p + 1);
			return true;
		}
	}
	*cursor = (uint64_t)d->vm->n_mem << CURSOR_SHIFT;
	return false;
}

void hv_dirty_mark(struct hv_dirty *d, uint64_t gpa, uint64_t len)
{
	for (unsigned s = 0; s < d->vm->n_mem && len; s++) {
		const struct vm_mem_region *m = &d->vm->mem[s];

		for (uint64_t a = gpa & ~(PAGE - 1); a < gpa + len; a += PAGE)
			if (a >= m->gpa && a - m->gpa < m->size)
				bit_set(d, s, (a - m->gpa) / PAGE);
	}
}
