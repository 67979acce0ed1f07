/*
 * A minimal two-queue virtio-net driver over virtio_drv.h's VM without KVM,
 * for test_virtio_net.c, the fuzzer (fuzz_virtio_net.c) and the frame-rate
 * bench (hv/bench/net_frames.c): header-only.
 *
 * Layout in guest RAM: each queue's rings at NDRV_RING(q); receive buffer
 * slot i at NDRV_RXBUF(i), transmit slot i at NDRV_TXBUF(i), NDRV_BUF bytes
 * each (a 12-byte virtio-net header, then the frame).  Descriptor i of a
 * queue is used for slot i.  Queues of up to 512 entries.
 */
#ifndef HVB_VIRTIO_NET_DRV_H
#define HVB_VIRTIO_NET_DRV_H

#include <linux/virtio_net.h>

#include "unit/virtio_drv.h"

#define NDRV_RING(q)	(0x1000ull + 0x8000ull * (q)) /* desc; avail +0x4000, used +0x6000 */
#define NDRV_BUF	2048u
#define NDRV_RXBUF(i)	(0x100000ull + (uint64_t)NDRV_BUF * (i))
#define NDRV_TXBUF(i)	(0x300000ull + (uint64_t)NDRV_BUF * (i))
#define NDRV_RAM_MIN	0x500000ull
#define NDRV_HDR	12u
#define NDRV_FEATURES                                                                              \
	((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_MTU))

struct ndrv_q {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;
};

struct ndrv {
	struct drv d; /* register access (base, vm, vcpu) */
	uint16_t num;
	struct ndrv_q q[2];
};

static inline void ndrv_queue(struct ndrv *n, unsigned q)
{
	struct drv *d = &n->d;
	uint64_t ring = NDRV_RING(q);

	n->q[q] = (struct ndrv_q){.desc = gpa_ptr(d->vm, ring),
				  .avail = gpa_ptr(d->vm, ring + 0x4000),
				  .used = gpa_ptr(d->vm, ring + 0x6000)};
	memset(n->q[q].avail, 0, 6 + 2 * (size_t)n->num);
	drv_wr(d, VIRTIO_MMIO_QUEUE_SEL, q);
	drv_wr(d, VIRTIO_MMIO_QUEUE_NUM, n->num);
	drv_wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)ring);
	drv_wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	drv_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(ring + 0x4000));
	drv_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	drv_wr(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(ring + 0x6000));
	drv_wr(d, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	drv_wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Reset, features, both queues of num entries, DRIVER_OK: the status read back. */
static inline uint32_t ndrv_init(struct ndrv *n, struct vm *vm, struct vcpu *vcpu, uint64_t base,
				 uint64_t features, uint16_t num)
{
	struct drv *d = &n->d;
	const uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	memset(n, 0, sizeof(*n));
	*d = (struct drv){.vm = vm, .vcpu = vcpu, .base = base, .num = num};
	n->num = num;
	drv_wr(d, VIRTIO_MMIO_STATUS, 0);
	drv_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	drv_wr(d, VIRTIO_MMIO_STATUS, s);
	drv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	drv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	drv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	drv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	drv_wr(d, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
	ndrv_queue(n, 0);
	ndrv_queue(n, 1);
	drv_wr(d, VIRTIO_MMIO_STATUS,
	       s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	return drv_rd(d, VIRTIO_MMIO_STATUS);
}

static inline void ndrv_desc(struct ndrv *n, unsigned q, uint16_t i, uint64_t gpa, uint32_t len,
			     uint16_t flags, uint16_t next)
{
	n->q[q].desc[i % n->num] =
	    (struct vring_desc){.addr = gpa, .len = len, .flags = flags, .next = next};
}

static inline void ndrv_publish(struct ndrv *n, unsigned q, uint16_t head)
{
	struct ndrv_q *r = &n->q[q];

	r->avail->ring[r->avail_idx % n->num] = head;
	__atomic_store_n(&r->avail->idx, (uint16_t)(r->avail_idx + 1), __ATOMIC_RELEASE);
	r->avail_idx++;
}

static inline int ndrv_notify(struct ndrv *n, unsigned q)
{
	return drv_wr(&n->d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* Receive slot i: a device-writable buffer of len bytes, published. */
static inline void ndrv_rx_post(struct ndrv *n, uint16_t i, uint32_t len)
{
	ndrv_desc(n, 0, i, NDRV_RXBUF(i), len, VRING_DESC_F_WRITE, 0);
	ndrv_publish(n, 0, i);
}

/* Transmit slot i: a zero header and the frame in one buffer, published. */
static inline void ndrv_tx(struct ndrv *n, uint16_t i, const void *frame, uint32_t len)
{
	uint8_t *p = gpa_ptr(n->d.vm, NDRV_TXBUF(i));

	memset(p, 0, NDRV_HDR);
	memcpy(p + NDRV_HDR, frame, len);
	ndrv_desc(n, 1, i, NDRV_TXBUF(i), NDRV_HDR + len, 0, 0);
	ndrv_publish(n, 1, i);
}

static inline uint16_t ndrv_used_idx(const struct ndrv *n, unsigned q)
{
	return __atomic_load_n(&n->q[q].used->idx, __ATOMIC_ACQUIRE);
}

static inline struct vring_used_elem ndrv_used(const struct ndrv *n, unsigned q, uint16_t idx)
{
	return n->q[q].used->ring[idx % n->num];
}

/* Wait (up to ms, yielding) until queue q's used index reaches idx. */
static inline bool ndrv_wait(const struct ndrv *n, unsigned q, uint16_t idx, unsigned ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (ndrv_used_idx(n, q) == idx)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > (long)ms)
			return false;
		sched_yield();
	}
}

static inline uint32_t ndrv_status(struct ndrv *n)
{
	return drv_rd(&n->d, VIRTIO_MMIO_STATUS);
}

#endif
