/*
 * A VM without KVM and a minimal virtio-mmio driver for the device tests
 * (test_virtio.c, test_virtio_blk.c) and the fuzzer (fuzz_virtio_blk.c):
 * header-only.
 *
 * The VM is a struct vm with one RAM region at 0 and no /dev/kvm: the
 * checked accessors, device registration and the MMIO handlers work on
 * it; vm_stop works too (it records no registers: the fake vCPU has no
 * fd).  Register accesses go to the handler the device registered, as
 * hv/exit.c's MMIO dispatch does.
 */
#ifndef HVB_VIRTIO_DRV_H
#define HVB_VIRTIO_DRV_H

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sched.h>
#include <time.h>

#include "vm.h"

struct fake_vm {
	struct vm vm;
	struct vcpu vcpu;
	struct kvm_run run;
};

static inline struct fake_vm *fake_vm_new(uint64_t ram)
{
	struct fake_vm *f = calloc(1, sizeof(*f));
	void *hva;

	if (!f)
		return NULL;
	hva = mmap(NULL, ram, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (hva == MAP_FAILED) {
		free(f);
		return NULL;
	}
	f->vm.fd = f->vm.kvm_fd = -1;
	f->vm.mem[0] = (struct vm_mem_region){.gpa = 0, .size = ram, .hva = hva};
	f->vm.n_mem = 1;
	f->vm.ram_size = ram;
	f->vcpu.vm = &f->vm;
	f->vcpu.fd = -1;
	f->vcpu.run = &f->run;
	return f;
}

static inline void fake_vm_free(struct fake_vm *f)
{
	if (!f)
		return;
	munmap(f->vm.mem[0].hva, f->vm.mem[0].size);
	free(f);
}

static inline void *gpa_ptr(struct vm *vm, uint64_t gpa)
{
	return vm->mem[0].hva + gpa;
}

/* An MMIO access as KVM would deliver it: HV_CONTINUE or HV_STOP. */
static inline int mmio_access(struct vm *vm, struct vcpu *vcpu, uint64_t gpa, void *data,
			      unsigned len, bool write)
{
	for (unsigned i = 0; i < vm->n_mmio; i++) {
		const struct vm_mmio *m = &vm->mmio[i];
		if (gpa >= m->gpa && gpa - m->gpa < m->len && len <= m->len - (gpa - m->gpa)) {
			if (!write)
				memset(data, 0, len);
			return m->fn(m->opaque, vcpu, gpa, data, len, write);
		}
	}
	return -1; /* nobody there */
}

/* ------------------------------------------------------------ the driver */

/* Where the driver keeps things in guest RAM. */
#define DRV_DESC   0x1000ull
#define DRV_AVAIL  0x3000ull
#define DRV_USED   0x4000ull
#define DRV_HDRS   0x10000ull /* 16 bytes per descriptor slot */
#define DRV_STATUS 0x20000ull /* 1 byte per descriptor slot */
#define DRV_DATA   0x100000ull

struct drv {
	struct vm *vm;
	struct vcpu *vcpu;
	uint64_t base;
	uint16_t num;
	uint16_t avail_idx; /* next avail idx to publish */
	uint16_t next_desc; /* descriptors are taken round-robin */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
};

static inline uint32_t drv_rd(struct drv *d, uint64_t off)
{
	uint32_t v = 0;

	mmio_access(d->vm, d->vcpu, d->base + off, &v, 4, false);
	return v;
}

static inline int drv_wr(struct drv *d, uint64_t off, uint32_t v)
{
	return mmio_access(d->vm, d->vcpu, d->base + off, &v, 4, true);
}

/* The queue registers for ring addresses at the driver's defaults. */
static inline void drv_queue_regs(struct drv *d, uint16_t num)
{
	drv_wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	drv_wr(d, VIRTIO_MMIO_QUEUE_NUM, num);
	drv_wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DRV_DESC);
	drv_wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	drv_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)DRV_AVAIL);
	drv_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	drv_wr(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)DRV_USED);
	drv_wr(d, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
}

/*
 * The spec's initialisation sequence: reset, ACKNOWLEDGE, DRIVER, features
 * (`features`), FEATURES_OK, queue 0 of `num` entries, DRIVER_OK.  Returns
 * the status read back at the end.
 */
static inline uint32_t drv_init(struct drv *d, struct vm *vm, struct vcpu *vcpu, uint64_t base,
				uint64_t features, uint16_t num)
{
	*d = (struct drv){.vm = vm, .vcpu = vcpu, .base = base, .num = num};
	d->desc = gpa_ptr(vm, DRV_DESC);
	d->avail = gpa_ptr(vm, DRV_AVAIL);
	d->used = gpa_ptr(vm, DRV_USED);
	memset(d->avail, 0, 6 + 2 * (size_t)num);
	drv_wr(d, VIRTIO_MMIO_STATUS, 0);
	drv_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	drv_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	drv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	drv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	drv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	drv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	drv_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					  VIRTIO_CONFIG_S_FEATURES_OK);
	drv_queue_regs(d, num);
	drv_wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	drv_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					  VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	return drv_rd(d, VIRTIO_MMIO_STATUS);
}

/* Descriptor `i` = [gpa, +len), flags; returns i. */
static inline uint16_t drv_desc(struct drv *d, uint16_t i, uint64_t gpa, uint32_t len,
				uint16_t flags, uint16_t next)
{
	d->desc[i] = (struct vring_desc){.addr = gpa, .len = len, .flags = flags, .next = next};
	return i;
}

/* Publish chain `head` in the available ring (no notification). */
static inline void drv_publish(struct drv *d, uint16_t head)
{
	d->avail->ring[d->avail_idx % d->num] = head;
	__atomic_store_n(&d->avail->idx, (uint16_t)(d->avail_idx + 1), __ATOMIC_RELEASE);
	d->avail_idx++;
}

static inline void drv_notify(struct drv *d)
{
	drv_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/*
 * A block request of the usual shape: header, `nseg` data segments of
 * seg_len bytes at data_gpa (consecutive), status; published, not
 * notified.  Descriptors are taken from slot `first`.  Returns the head.
 * The status byte (DRV_STATUS + head) is set to 0xff first.
 */
static inline uint16_t drv_blk_req(struct drv *d, uint16_t first, uint32_t type, uint64_t sector,
				   uint64_t data_gpa, uint32_t seg_len, unsigned nseg)
{
	uint16_t n = d->num, i = first, head = first;
	struct virtio_blk_outhdr *h = gpa_ptr(d->vm, DRV_HDRS + 16ull * head);
	uint16_t wr = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID ? VRING_DESC_F_WRITE : 0;

	h->type = type, h->ioprio = 0, h->sector = sector;
	*(uint8_t *)gpa_ptr(d->vm, DRV_STATUS + head) = 0xff;
	drv_desc(d, i, DRV_HDRS + 16ull * head, 16, VRING_DESC_F_NEXT, (uint16_t)((i + 1) % n));
	for (unsigned s = 0; s < nseg; s++) {
		i = (uint16_t)((i + 1) % n);
		drv_desc(d, i, data_gpa + (uint64_t)s * seg_len, seg_len, wr | VRING_DESC_F_NEXT,
			 (uint16_t)((i + 1) % n));
	}
	i = (uint16_t)((i + 1) % n);
	drv_desc(d, i, DRV_STATUS + head, 1, VRING_DESC_F_WRITE, 0);
	drv_publish(d, head);
	return head;
}

static inline uint8_t drv_status_byte(struct drv *d, uint16_t head)
{
	return __atomic_load_n((uint8_t *)gpa_ptr(d->vm, DRV_STATUS + head), __ATOMIC_ACQUIRE);
}

static inline uint16_t drv_used_idx(struct drv *d)
{
	return __atomic_load_n(&d->used->idx, __ATOMIC_ACQUIRE);
}

/* Wait (spinning, up to timeout_ms) until used->idx reaches `idx`. */
static inline bool drv_wait_used(struct drv *d, uint16_t idx, unsigned timeout_ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (drv_used_idx(d) == idx)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >
		    (long)timeout_ms)
			return false;
		sched_yield();
	}
}

#endif
