/*
 * virtio-mmio register file and split virtqueues (see virtio.h).
 * Spec: virtio 1.x, "Virtio Over MMIO" and "Split Virtqueues".
 */
#include "virtio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "exit.h"
#include "mem.h"

#define STATUS_ALL                                                                                 \
	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK |        \
	 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED)

static void atomic_add(uint64_t *p, uint64_t v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

int virtio_mmio_init(struct virtio_mmio *t, struct vm *vm, const char *name, uint32_t device_id,
		     uint64_t features, unsigned config_size, uint16_t queue_num_max,
		     unsigned n_queues, const struct virtio_mmio_ops *ops, void *dev)
{
	int r;

	if (config_size > HV_VIRTIO_CONFIG_MAX || !queue_num_max || queue_num_max > HV_VIRTQ_MAX ||
	    (queue_num_max & (queue_num_max - 1)) || !n_queues || n_queues > HV_VIRTIO_MAX_QUEUES)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	r = -pthread_mutex_init(&t->lock, NULL);
	if (r)
		return r;
	t->vm = vm;
	t->name = name;
	t->device_id = device_id;
	t->features = features | (1ull << VIRTIO_F_VERSION_1);
	t->config_size = config_size;
	t->queue_num_max = queue_num_max;
	t->n_queues = n_queues;
	t->ops = ops;
	t->dev = dev;
	return 0;
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	pthread_mutex_destroy(&t->lock);
}

const char *virtio_mmio_reg_name(uint64_t off)
{
	static const struct {
		uint16_t off;
		const char *name;
	} regs[] = {
	    {VIRTIO_MMIO_MAGIC_VALUE, "MagicValue"},
	    {VIRTIO_MMIO_VERSION, "Version"},
	    {VIRTIO_MMIO_DEVICE_ID, "DeviceID"},
	    {VIRTIO_MMIO_VENDOR_ID, "VendorID"},
	    {VIRTIO_MMIO_DEVICE_FEATURES, "DeviceFeatures"},
	    {VIRTIO_MMIO_DEVICE_FEATURES_SEL, "DeviceFeaturesSel"},
	    {VIRTIO_MMIO_DRIVER_FEATURES, "DriverFeatures"},
	    {VIRTIO_MMIO_DRIVER_FEATURES_SEL, "DriverFeaturesSel"},
	    {VIRTIO_MMIO_GUEST_PAGE_SIZE, "GuestPageSize (legacy)"},
	    {VIRTIO_MMIO_QUEUE_SEL, "QueueSel"},
	    {VIRTIO_MMIO_QUEUE_NUM_MAX, "QueueNumMax"},
	    {VIRTIO_MMIO_QUEUE_NUM, "QueueNum"},
	    {VIRTIO_MMIO_QUEUE_ALIGN, "QueueAlign (legacy)"},
	    {VIRTIO_MMIO_QUEUE_PFN, "QueuePFN (legacy)"},
	    {VIRTIO_MMIO_QUEUE_READY, "QueueReady"},
	    {VIRTIO_MMIO_QUEUE_NOTIFY, "QueueNotify"},
	    {VIRTIO_MMIO_INTERRUPT_STATUS, "InterruptStatus"},
	    {VIRTIO_MMIO_INTERRUPT_ACK, "InterruptACK"},
	    {VIRTIO_MMIO_STATUS, "Status"},
	    {VIRTIO_MMIO_QUEUE_DESC_LOW, "QueueDescLow"},
	    {VIRTIO_MMIO_QUEUE_DESC_HIGH, "QueueDescHigh"},
	    {VIRTIO_MMIO_QUEUE_AVAIL_LOW, "QueueDriverLow"},
	    {VIRTIO_MMIO_QUEUE_AVAIL_HIGH, "QueueDriverHigh"},
	    {VIRTIO_MMIO_QUEUE_USED_LOW, "QueueDeviceLow"},
	    {VIRTIO_MMIO_QUEUE_USED_HIGH, "QueueDeviceHigh"},
	    {VIRTIO_MMIO_SHM_SEL, "SHMSel"},
	    {VIRTIO_MMIO_SHM_LEN_LOW, "SHMLenLow"},
	    {VIRTIO_MMIO_SHM_LEN_HIGH, "SHMLenHigh"},
	    {VIRTIO_MMIO_SHM_BASE_LOW, "SHMBaseLow"},
	    {VIRTIO_MMIO_SHM_BASE_HIGH, "SHMBaseHigh"},
	    {VIRTIO_MMIO_CONFIG_GENERATION, "ConfigGeneration"},
	};

	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		if (regs[i].off == off)
			return regs[i].name;
	return NULL;
}

/* ------------------------------------------------------------ status */

void virtio_needs_reset(struct virtio_mmio *t, const char *why)
{
	uint32_t old = __atomic_fetch_or(&t->status, VIRTIO_CONFIG_S_NEEDS_RESET, __ATOMIC_ACQ_REL);

	if (!(old & VIRTIO_CONFIG_S_NEEDS_RESET)) {
		atomic_add(&t->resets_needed, 1);
		snprintf(t->why, sizeof(t->why), "%s", why);
	}
	__atomic_fetch_or(&t->isr, VIRTIO_MMIO_INT_CONFIG, __ATOMIC_RELEASE);
}

bool virtio_queue_live(struct virtio_mmio *t, unsigned q)
{
	uint32_t s = virtio_status(t);

	return q < t->n_queues && t->vq[q].ready && (s & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(s & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* Status 0: everything back to its state after attach (under the lock, so
 * no serving pass is in progress and none will find the queue ready). */
static void device_reset(struct virtio_mmio *t)
{
	memset(t->vq, 0, sizeof(t->vq));
	t->driver_features = 0;
	t->driver_features_beyond = false;
	t->dev_features_sel = t->drv_features_sel = t->queue_sel = t->shm_sel = 0;
	__atomic_store_n(&t->isr, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&t->status, 0, __ATOMIC_RELEASE);
}

static bool features_acceptable(const struct virtio_mmio *t)
{
	return (t->driver_features & (1ull << VIRTIO_F_VERSION_1)) &&
	       !(t->driver_features & ~t->features) && !t->driver_features_beyond;
}

static void status_write(struct virtio_mmio *t, uint32_t v)
{
	uint32_t old = virtio_status(t);

	if (!v) {
		device_reset(t);
		return;
	}
	v &= STATUS_ALL & ~(uint32_t)VIRTIO_CONFIG_S_NEEDS_RESET; /* the device's bit */
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !features_acceptable(t))
		v &= ~(uint32_t)VIRTIO_CONFIG_S_FEATURES_OK;
	__atomic_store_n(&t->status, v | (old & VIRTIO_CONFIG_S_NEEDS_RESET), __ATOMIC_RELEASE);
	if (old & ~v & ~(uint32_t)VIRTIO_CONFIG_S_NEEDS_RESET)
		virtio_needs_reset(t, "the driver cleared status bits without a reset");
	else if ((v & VIRTIO_CONFIG_S_DRIVER_OK) && !(v & VIRTIO_CONFIG_S_FEATURES_OK))
		virtio_needs_reset(t, "DRIVER_OK without FEATURES_OK");
}

/* ------------------------------------------------------------ queue set-up */

static uint64_t set_lo(uint64_t v, uint32_t lo)
{
	return (v & ~0xffffffffull) | lo;
}

static uint64_t set_hi(uint64_t v, uint32_t hi)
{
	return (v & 0xffffffffull) | (uint64_t)hi << 32;
}

/* A ring part in guest RAM, aligned as the spec demands; NULL (why set) if not. */
static void *ring_part(const struct vm *vm, uint64_t gpa, uint64_t len, uint64_t align,
		       const char *unaligned, const char *outside, const char **why)
{
	void *hva = NULL;

	if (gpa & (align - 1))
		*why = unaligned;
	else if (!(hva = vm_gpa_to_hva_checked(vm, gpa, len)))
		*why = outside;
	return hva;
}

/* QueueReady=1: check the set-up, resolve the rings, go live. */
static void queue_enable(struct virtio_mmio *t, struct virtq *q)
{
	const char *why = NULL;
	uint64_t n = q->num;

	if (!(virtio_status(t) & VIRTIO_CONFIG_S_FEATURES_OK)) {
		virtio_needs_reset(t, "QueueReady before FEATURES_OK");
		return;
	}
	if (!n || n > t->queue_num_max || (n & (n - 1))) {
		virtio_needs_reset(t, "QueueNum not a power of two within QueueNumMax");
		return;
	}
	q->desc = ring_part(t->vm, q->desc_gpa, 16 * n, 16, "descriptor table not 16-byte aligned",
			    "descriptor table outside guest RAM", &why);
	if (q->desc)
		q->avail = ring_part(t->vm, q->avail_gpa, 6 + 2 * n, 2,
				     "available ring not 2-byte aligned",
				     "available ring outside guest RAM", &why);
	if (q->desc && q->avail)
		q->used = ring_part(t->vm, q->used_gpa, 6 + 8 * n, 4,
				    "used ring not 4-byte aligned", "used ring outside guest RAM",
				    &why);
	if (!q->desc || !q->avail || !q->used) {
		q->desc = NULL, q->avail = NULL, q->used = NULL;
		virtio_needs_reset(t, why);
		return;
	}
	q->event_idx = t->driver_features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	q->last_avail = q->used_idx = q->signalled = 0;
	q->notify_off = false;
	__atomic_store_n(&q->used->flags, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&q->used->idx, 0, __ATOMIC_RELEASE);
	q->ready = true;
}

/* A write to a register of the selected queue: only while it is not live. */
static struct virtq *queue_for_write(struct virtio_mmio *t, const char *reg)
{
	char why[96];

	if (t->queue_sel >= t->n_queues) {
		snprintf(why, sizeof(why), "%s written with QueueSel %u, no such queue", reg,
			 t->queue_sel);
		virtio_needs_reset(t, why);
		return NULL;
	}
	if (t->vq[t->queue_sel].ready && strcmp(reg, "QueueReady")) {
		snprintf(why, sizeof(why), "%s written while the queue is ready", reg);
		virtio_needs_reset(t, why);
		return NULL;
	}
	return &t->vq[t->queue_sel];
}

static void queue_reg_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtq *q = queue_for_write(t, virtio_mmio_reg_name(off));

	if (!q)
		return;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		q->num = v > 0xffff ? 0 : (uint16_t)v; /* checked at QueueReady */
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (v & 1 && !q->ready)
			queue_enable(t, q);
		else if (!(v & 1))
			q->ready = false;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		q->desc_gpa = set_lo(q->desc_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		q->desc_gpa = set_hi(q->desc_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		q->avail_gpa = set_lo(q->avail_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		q->avail_gpa = set_hi(q->avail_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		q->used_gpa = set_lo(q->used_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		q->used_gpa = set_hi(q->used_gpa, v);
		break;
	}
}

/* ------------------------------------------------------------ registers */

static int bad_access(struct virtio_mmio *t, struct vcpu *vcpu, uint64_t off, unsigned len,
		      bool write, const char *what)
{
	const char *reg = virtio_mmio_reg_name(off);

	return vm_stop(t->vm, vcpu, HV_GUEST_ERROR,
		       "%s: guest %s %u byte%s at window offset 0x%03llx (%s): %s", t->name,
		       write ? "wrote" : "read", len, len == 1 ? "" : "s", (unsigned long long)off,
		       reg ? reg : "no register", what);
}

/* A readable register's value; false for a register that cannot be read. */
static bool reg_read(struct virtio_mmio *t, uint64_t off, uint32_t *v)
{
	const struct virtq *q = t->queue_sel < t->n_queues ? &t->vq[t->queue_sel] : NULL;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		*v = VIRTIO_MMIO_MAGIC;
		return true;
	case VIRTIO_MMIO_VERSION:
		*v = VIRTIO_MMIO_VERSION_2;
		return true;
	case VIRTIO_MMIO_DEVICE_ID:
		*v = t->device_id;
		return true;
	case VIRTIO_MMIO_VENDOR_ID:
		*v = HV_VIRTIO_VENDOR_ID;
		return true;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		*v = t->dev_features_sel > 1 ? 0 : (uint32_t)(t->features >> (32 * t->dev_features_sel));
		return true;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		*v = q ? t->queue_num_max : 0; /* 0: no such queue */
		return true;
	case VIRTIO_MMIO_QUEUE_READY:
		*v = q ? q->ready : 0;
		return true;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		*v = __atomic_load_n(&t->isr, __ATOMIC_ACQUIRE);
		return true;
	case VIRTIO_MMIO_STATUS:
		*v = virtio_status(t);
		return true;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		*v = 0xffffffffu; /* no shared memory regions */
		return true;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		*v = 0; /* the config never changes */
		return true;
	}
	return false;
}

/* A writable register; false for a register that cannot be written. */
static bool reg_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->dev_features_sel = v;
		return true;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (virtio_status(t) & VIRTIO_CONFIG_S_FEATURES_OK)
			virtio_needs_reset(t, "DriverFeatures written after FEATURES_OK");
		else if (t->drv_features_sel == 0)
			t->driver_features = set_lo(t->driver_features, v);
		else if (t->drv_features_sel == 1)
			t->driver_features = set_hi(t->driver_features, v);
		else if (v) /* features beyond bit 63: none offered */
			t->driver_features_beyond = true;
		return true;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->drv_features_sel = v;
		return true;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = v;
		return true;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		queue_reg_write(t, off, v);
		return true;
	case VIRTIO_MMIO_STATUS:
		status_write(t, v);
		return true;
	case VIRTIO_MMIO_SHM_SEL:
		t->shm_sel = v;
		return true;
	}
	return false;
}

static int notify(struct virtio_mmio *t, struct vcpu *vcpu, uint32_t q)
{
	char why[64];

	if (q >= t->n_queues) {
		snprintf(why, sizeof(why), "QueueNotify for queue %u, which does not exist", q);
		virtio_lock(t);
		virtio_needs_reset(t, why);
		virtio_unlock(t);
		return HV_CONTINUE;
	}
	return t->ops->notify(t->dev, vcpu, q);
}

static int config_access(struct virtio_mmio *t, struct vcpu *vcpu, uint64_t off, uint8_t *data,
			 unsigned len, bool write)
{
	uint64_t c = off - VIRTIO_MMIO_CONFIG;

	if ((len != 1 && len != 2 && len != 4 && len != 8) || c >= t->config_size ||
	    len > t->config_size - c)
		return bad_access(t, vcpu, off, len, write, "outside the device configuration");
	if (write)
		atomic_add(&t->bad_accesses, 1); /* no writable config field is offered */
	else
		t->ops->config_read(t->dev, (uint32_t)c, data, len);
	return HV_CONTINUE;
}

int virtio_mmio_access(struct virtio_mmio *t, struct vcpu *vcpu, uint64_t off, uint8_t *data,
		       unsigned len, bool write)
{
	uint32_t v, old, now;
	bool ok;

	if (off >= VIRTIO_MMIO_CONFIG)
		return config_access(t, vcpu, off, data, len, write);
	if (len != 4 || (off & 3))
		return bad_access(t, vcpu, off, len, write, "registers take aligned 32-bit accesses");
	if (!write) {
		if (!reg_read(t, off, &v))
			return bad_access(t, vcpu, off, len, write, "not a readable register");
		memcpy(data, &v, 4);
		return HV_CONTINUE;
	}
	memcpy(&v, data, 4);
	if (off == VIRTIO_MMIO_QUEUE_NOTIFY)
		return notify(t, vcpu, v);
	if (off == VIRTIO_MMIO_INTERRUPT_ACK) {
		__atomic_fetch_and(&t->isr, ~v, __ATOMIC_ACQ_REL);
		return HV_CONTINUE;
	}
	virtio_lock(t);
	old = virtio_status(t);
	ok = reg_write(t, off, v);
	now = virtio_status(t);
	virtio_unlock(t);
	if (now != old && t->ops->status_changed)
		t->ops->status_changed(t->dev, old, now);
	return ok ? HV_CONTINUE : bad_access(t, vcpu, off, len, write, "not a writable register");
}

/* ------------------------------------------------------------ notify eventfds */

static int notify_eventfd_ioctl(struct vm *vm, uint64_t window_gpa, unsigned q, int fd,
				bool deassign)
{
	struct kvm_ioeventfd io = {
	    .datamatch = q,
	    .addr = window_gpa + VIRTIO_MMIO_QUEUE_NOTIFY,
	    .len = 4,
	    .fd = fd,
	    .flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (deassign ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0),
	};

	return ioctl(vm->fd, KVM_IOEVENTFD, &io) ? -errno : 0;
}

int virtio_mmio_notify_eventfd(struct vm *vm, uint64_t window_gpa, unsigned q, int *fd_out)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), r;

	if (fd < 0)
		return -errno;
	r = notify_eventfd_ioctl(vm, window_gpa, q, fd, false);
	if (r) {
		close(fd);
		return r;
	}
	*fd_out = fd;
	return 0;
}

void virtio_mmio_notify_eventfd_del(struct vm *vm, uint64_t window_gpa, unsigned q, int fd)
{
	if (fd < 0)
		return;
	notify_eventfd_ioctl(vm, window_gpa, q, fd, true);
	close(fd);
}

/* ------------------------------------------------------------ split virtqueue */

static uint16_t avail_idx(const struct virtq *q)
{
	return __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
}

static void chain_add(const struct vm *vm, struct virtq_chain *c, const struct vring_desc *d)
{
	struct virtq_seg *s = &c->seg[c->n++];

	s->gpa = d->addr;
	s->len = d->len;
	s->write = d->flags & VRING_DESC_F_WRITE;
	s->hva = d->len ? vm_gpa_to_hva_checked(vm, d->addr, d->len) : NULL;
}

enum virtq_pop_result virtq_pop(const struct vm *vm, struct virtq *q, struct virtq_chain *c,
				const char **why)
{
	uint16_t pending = (uint16_t)(avail_idx(q) - q->last_avail), i;
	struct vring_desc d;

	if (!pending)
		return VIRTQ_EMPTY;
	if (pending > q->num) {
		*why = "available index more than the queue size ahead of the device";
		return VIRTQ_BROKEN;
	}
	c->head = __atomic_load_n(&q->avail->ring[q->last_avail & (q->num - 1)], __ATOMIC_RELAXED);
	if (c->head >= q->num) {
		*why = "available ring names a head index beyond the queue size";
		return VIRTQ_BROKEN;
	}
	c->n = 0;
	for (i = c->head;;) {
		memcpy(&d, &q->desc[i], sizeof(d)); /* one read: the guest may change it */
		if (d.flags & VRING_DESC_F_INDIRECT) {
			*why = "indirect descriptor (VIRTIO_RING_F_INDIRECT_DESC is not offered)";
			return VIRTQ_BROKEN;
		}
		if (c->n == q->num) {
			*why = "descriptor chain longer than the queue (a loop?)";
			return VIRTQ_BROKEN;
		}
		chain_add(vm, c, &d);
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.next >= q->num) {
			*why = "descriptor next index beyond the queue size";
			return VIRTQ_BROKEN;
		}
		i = d.next;
	}
	q->last_avail++;
	return VIRTQ_CHAIN;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e = &q->used->ring[q->used_idx & (q->num - 1)];

	__atomic_store_n(&e->id, head, __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, len, __ATOMIC_RELAXED);
	q->used_idx++;
}

/* used_event: the driver's "tell me when used idx passes this". */
static bool driver_wants_interrupt(const struct virtq *q, uint16_t old, uint16_t new)
{
	uint16_t event;

	if (!q->event_idx)
		return !(__atomic_load_n(&q->avail->flags, __ATOMIC_RELAXED) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	event = __atomic_load_n(&q->avail->ring[q->num], __ATOMIC_RELAXED);
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

void virtq_flush(struct virtio_mmio *t, struct virtq *q)
{
	uint16_t old = q->signalled;

	if (old == q->used_idx)
		return;
	/* Status bytes and used elements before the index (release). */
	__atomic_store_n(&q->used->idx, q->used_idx, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the index before used_event is read */
	q->signalled = q->used_idx;
	if (driver_wants_interrupt(q, old, q->used_idx))
		__atomic_fetch_or(&t->isr, VIRTIO_MMIO_INT_VRING, __ATOMIC_RELEASE);
}

/* avail_event: the u16 after the used ring's elements. */
static uint16_t *avail_event(struct virtq *q)
{
	return (uint16_t *)((uint8_t *)q->used + 4 + 8 * (size_t)q->num);
}

bool virtq_notifications(struct virtq *q, bool enable)
{
	/* avail_event = last_avail - 1 is behind anything the driver can
	 * publish next, so it never asks for a notification. */
	uint16_t event = enable ? q->last_avail : (uint16_t)(q->last_avail - 1);

	q->notify_off = !enable;
	__atomic_store_n(&q->used->flags, enable ? 0 : VRING_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
	if (q->event_idx)
		__atomic_store_n(avail_event(q), event, __ATOMIC_RELAXED);
	if (!enable)
		return false;
	/* The flags / avail_event before re-reading avail idx: else a request
	 * published just before them would wait for a notification that the
	 * driver, seeing the old flags, did not send. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return avail_idx(q) != q->last_avail;
}
