/*
 * virtio-mmio (version 2, "modern") transport and split virtqueues of the
 * reference core, independent of the device behind them (hv/virtio_blk.c:
 * one queue; hv/virtio_net.c: two, receive and transmit).  Each device
 * says how many queues it has; QueueSel and QueueNotify name one by index.
 *
 * Threads.  Register accesses run on the vCPU thread (the MMIO exit
 * handler).  A device may serve its queues on another thread (the I/O
 * thread) while the vCPU runs.  What both touch is small and explicit:
 *   - `status` and `isr` are atomics (the server sets DEVICE_NEEDS_RESET
 *     and the "used buffer" interrupt bit, the vCPU reads and acks them);
 *   - `lock` serialises every register write that changes what the server
 *     reads (status, features, queue set-up, reset) against a serving pass:
 *     the server holds it around each pass over a queue (virtio_lock), so
 *     a reset or QueueReady=0 returns only once the server has let go of
 *     the rings and will not touch them again;
 *   - the rings themselves are guest memory, shared with the guest: every
 *     index and descriptor is read once into a local copy, then checked.
 *
 * Hostile drivers.  Every guest-physical address goes through hv/mem.h's
 * checked accessors.  The outcomes (README "Devices"):
 *   - a register access that is not an aligned 32-bit access, or to an
 *     offset that is no register, a read of a write-only register or a
 *     write of a read-only one: the run stops with a guest-error verdict
 *     naming the register (the driver is broken, and a benchmark must not
 *     go on with it);
 *   - config space (0x100..): reads of 1, 2, 4 or 8 bytes inside the
 *     device's config are served; writes are ignored and counted
 *     (bad_accesses); an access beyond it stops the run;
 *   - a value the device cannot accept (a queue set up badly, queue
 *     registers written while the queue is live, QueueNotify or QueueSel
 *     naming no queue when used, DRIVER_OK without FEATURES_OK, status bits
 *     cleared) and a broken ring (avail idx more than the queue size ahead,
 *     a head or next index out of range, a chain longer than the queue, an
 *     indirect descriptor, which is not offered): the device sets
 *     DEVICE_NEEDS_RESET and stops serving until the driver resets it;
 *   - FEATURES_OK when the driver did not accept VIRTIO_F_VERSION_1 or
 *     accepted a feature not offered: the bit does not stick (the driver
 *     reads it back clear, as the spec says).
 * Descriptors whose buffers are not guest RAM or have length 0 are passed
 * to the device marked bad (hva NULL): the device fails that request.
 *
 * Interrupts: there is no irqchip in the reference core yet, so no
 * interrupt is ever injected.  The device still keeps InterruptStatus
 * (bit 0 when the driver asked to be told of used buffers, per
 * VRING_AVAIL_F_NO_INTERRUPT / used_event; bit 1 on DEVICE_NEEDS_RESET);
 * drivers poll the used ring.
 */
#ifndef HV_VIRTIO_H
#define HV_VIRTIO_H

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vm.h"

#define VIRTIO_MMIO_MAGIC	 0x74726976u /* "virt" */
#define VIRTIO_MMIO_VERSION_2	 2u
#define HV_VIRTIO_VENDOR_ID	 0x48564200u /* "\0BVH": hvbench */
#define HV_VIRTQ_MAX		 1024u	     /* largest queue any device offers */
#define HV_VIRTIO_MAX_QUEUES	 2u /* virtio-net: receive + transmit */
#define HV_VIRTIO_CONFIG_MAX	 256u /* bytes of device config a device may have */

/* One split virtqueue. */
struct virtq {
	/* What the driver wrote (vCPU thread, under the transport's lock). */
	uint16_t num;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* Live once QueueReady=1 was accepted (then the fields below are
	 * valid; read by the server under the lock). */
	bool ready;
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail; /* next available entry the device takes */
	uint16_t used_idx;   /* the device's copy of used->idx */
	uint16_t signalled;  /* used_idx when InterruptStatus was last considered */
	bool notify_off;     /* virtq_notifications(q, false) was the last word */
};

/* One buffer of a descriptor chain, checked. */
struct virtq_seg {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device-writable */
	void *hva;  /* host address of [gpa, gpa + len), NULL: not RAM or len 0 */
};

struct virtq_chain {
	uint16_t head;
	unsigned n; /* segments, at most the queue size */
	struct virtq_seg seg[HV_VIRTQ_MAX];
};

enum virtq_pop_result { VIRTQ_EMPTY, VIRTQ_CHAIN, VIRTQ_BROKEN };

struct virtio_mmio;

struct virtio_mmio_ops {
	/* Bytes [off, off + len) of the device config, inside config_size. */
	void (*config_read)(void *dev, uint32_t off, uint8_t *data, unsigned len);
	/* The driver wrote QueueNotify for queue q (a valid index) while the
	 * device is live.  Runs on the vCPU thread, without the lock. */
	int (*notify)(void *dev, struct vcpu *vcpu, unsigned q);
	/* Optional: the Status register changed from old to new (a driver
	 * write: DRIVER_OK, a reset to 0, ...).  Runs on the vCPU thread after
	 * the write, without the lock (vhost-net sets its rings up here). */
	void (*status_changed)(void *dev, uint32_t old, uint32_t new);
};

struct virtio_mmio {
	struct vm *vm;
	const char *name; /* for verdicts: "virtio-blk" */
	uint32_t device_id;
	uint64_t features; /* offered */
	unsigned config_size;
	uint16_t queue_num_max;
	unsigned n_queues; /* 1..HV_VIRTIO_MAX_QUEUES */
	const struct virtio_mmio_ops *ops;
	void *dev;

	pthread_mutex_t lock;
	uint32_t status; /* atomic */
	uint32_t isr;	 /* atomic */
	uint64_t driver_features;
	bool driver_features_beyond; /* the driver accepted a bit above 63 */
	uint32_t dev_features_sel, drv_features_sel, queue_sel, shm_sel;
	struct virtq vq[HV_VIRTIO_MAX_QUEUES];

	/* Counters (atomic adds, racy reads are fine). */
	uint64_t bad_accesses;	/* config writes, ignored */
	uint64_t resets_needed; /* times DEVICE_NEEDS_RESET was set */
	char why[160];		/* why it was last set (under the lock) */
};

/* Set up the transport with n_queues queues (no registration: the device
 * does that).  -EINVAL for a config, queue size or queue count it cannot
 * have. */
int virtio_mmio_init(struct virtio_mmio *t, struct vm *vm, const char *name, uint32_t device_id,
		     uint64_t features, unsigned config_size, uint16_t queue_num_max,
		     unsigned n_queues, const struct virtio_mmio_ops *ops, void *dev);

/*
 * A KVM ioeventfd on the window's QueueNotify register that fires only for
 * a 4-byte write of queue index q (KVM_IOEVENTFD_FLAG_DATAMATCH): one
 * eventfd per queue, so a thread (or vhost) knows which queue was kicked
 * without an exit.  The eventfd (non-blocking) is the caller's: remove the
 * registration with virtio_mmio_notify_eventfd_del, then close it.
 * 0 or -errno (-ENOTTY/-EINVAL: KVM without ioeventfds; -EBADF: no VM fd).
 */
int virtio_mmio_notify_eventfd(struct vm *vm, uint64_t window_gpa, unsigned q, int *fd_out);
void virtio_mmio_notify_eventfd_del(struct vm *vm, uint64_t window_gpa, unsigned q, int fd);
void virtio_mmio_destroy(struct virtio_mmio *t);

/* The MMIO handler body: off is the offset in the window. */
int virtio_mmio_access(struct virtio_mmio *t, struct vcpu *vcpu, uint64_t off, uint8_t *data,
		       unsigned len, bool write);

static inline void virtio_lock(struct virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
}

static inline void virtio_unlock(struct virtio_mmio *t)
{
	pthread_mutex_unlock(&t->lock);
}

/* Under the lock: queue q may be served (DRIVER_OK, not NEEDS_RESET, ready). */
bool virtio_queue_live(struct virtio_mmio *t, unsigned q);

/* Under the lock: set DEVICE_NEEDS_RESET (and InterruptStatus bit 1), say
 * why; the device stops serving until the driver resets it. */
void virtio_needs_reset(struct virtio_mmio *t, const char *why);

/*
 * Under the lock, on a live queue: take the next available chain into c.
 * VIRTQ_EMPTY: nothing new.  VIRTQ_BROKEN: the ring or the chain is
 * broken (why says how); the caller sets NEEDS_RESET.
 */
enum virtq_pop_result virtq_pop(const struct vm *vm, struct virtq *q, struct virtq_chain *c,
				const char **why);

/* Under the lock, on a live queue: whether the driver has made chains
 * available that the device has not taken yet (the ring is not checked:
 * virtq_pop does that). */
static inline bool virtq_pending(const struct virtq *q)
{
	return __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE) != q->last_avail;
}

/* Under the lock: give back the chain virtq_pop just took, untouched (the
 * device cannot use it now; the next virtq_pop takes it again). */
static inline void virtq_unpop(struct virtq *q)
{
	q->last_avail--;
}

/* Under the lock: put chain `head` in the used ring with `len` bytes
 * written; used->idx is published (release) by virtq_flush. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);
/* Publish the used entries pushed since the last flush, and set
 * InterruptStatus bit 0 if the driver wants to hear of them. */
void virtq_flush(struct virtio_mmio *t, struct virtq *q);

/*
 * Under the lock: ask the driver for notifications (enable) or not (poll
 * mode), through used->flags and, with event index, avail_event.  After
 * enabling, returns true when new entries came in meanwhile (serve again
 * before sleeping).
 */
bool virtq_notifications(struct virtq *q, bool enable);

/* Status register value (atomic). */
static inline uint32_t virtio_status(const struct virtio_mmio *t)
{
	return __atomic_load_n(&t->status, __ATOMIC_ACQUIRE);
}

/* Name of a register offset for messages ("QueueNotify"), or NULL. */
const char *virtio_mmio_reg_name(uint64_t off);

#endif
