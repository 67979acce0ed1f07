/*
 * virtio-blk on virtio-mmio: the hvm platform's block driver (rt_blk_ops,
 * rt.h), under the reference core and QEMU microvm alike.  Ring 3, one
 * request queue, polled used ring, no interrupts.
 *
 * Requests (virtio 1.2 §5.2.6): a chain of a 16-byte header (type,
 * reserved, sector; device-readable), the data (device-writable for a
 * read; one descriptor per size_max bytes when the device limits segment
 * size) and a one-byte status (device-writable).  FLUSH has no data.
 *
 * Each of the `depth` request slots owns a fixed run of descriptors
 * (slot * per_slot ..), its header and its status byte, so a used element
 * names its slot by the chain's head and nothing is allocated per request.
 * Buffers come from rt_alloc: guest RAM is identity-mapped, so a buffer's
 * address is its guest-physical address (no translation, no bounce).
 *
 * A device that returns a head that is not one of ours in flight, or that
 * sets DEVICE_NEEDS_RESET, is dead to us: every outstanding request
 * completes with -EIO and new ones are refused with -EIO.  The status
 * register is an exit, so it is read only after a long run of empty polls.
 */
#include "harness.h"
#include "rt.h"
#include "virtio.h"

#define RT_EIO 5
#define RT_ENODEV 19
#define RT_ENOMEM 12
#define RT_EINVAL 22
#define RT_EAGAIN 11

/* virtio-blk feature bits (§5.2.3) and config offsets (§5.2.4). */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO	      5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9
#define VIRTIO_BLK_CFG_CAPACITY 0x00
#define VIRTIO_BLK_CFG_SIZE_MAX 0x08
#define VIRTIO_BLK_CFG_SEG_MAX	0x0c
#define VIRTIO_BLK_CFG_BLK_SIZE 0x14
#define VIRTIO_BLK_T_IN	   0
#define VIRTIO_BLK_T_OUT   1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_S_OK	   0

#define QUEUE_MAX 256	 /* entries asked for: 32 slots of up to 8 descriptors */
#define SEGS_MAX 6	 /* data descriptors per request (devices with small size_max) */
#define IDLE_CHECK (1u << 22) /* empty polls between two status reads (~40 ms) */

struct vblk_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

struct vblk_slot {
	uint64_t tag;
	bool busy;
	bool local; /* completed without the device (FLUSH it does not offer) */
};

static struct {
	struct rt_virtio_dev dev;
	struct rt_virtq q;
	unsigned depth, per_slot, segs;
	uint32_t seg_bytes; /* largest data descriptor */
	struct vblk_hdr *hdr;	       /* [depth], device-readable */
	volatile uint8_t *status;      /* [depth], device-writable */
	struct vblk_slot slot[RT_BLK_MAX_DEPTH];
	uint16_t free[RT_BLK_MAX_DEPTH];
	unsigned nfree;
	uint16_t local[RT_BLK_MAX_DEPTH]; /* slots completed locally, oldest first */
	unsigned nlocal;
	bool flush, dead;
	unsigned idle;
	char note[128];
} vb;

static const char *const reason_no_window =
	"no virtio-blk device: no virtio_mmio.device= window on the command line";

/* Device-writable data for a read, device-readable for a write. */
static unsigned fill_data(volatile struct virtq_desc *d, unsigned first, uint64_t addr,
			  uint32_t bytes, bool device_writes)
{
	unsigned n = 0;

	while (bytes) {
		uint32_t len = bytes < vb.seg_bytes ? bytes : vb.seg_bytes;

		d[first + n].addr = addr;
		d[first + n].len = len;
		d[first + n].flags = VIRTQ_DESC_F_NEXT | (device_writes ? VIRTQ_DESC_F_WRITE : 0);
		d[first + n].next = (uint16_t)(first + n + 1);
		addr += len;
		bytes -= len;
		n++;
	}
	return n;
}

static int vblk_submit(enum rt_blk_op op, uint64_t sector, void *buf, uint32_t bytes, uint64_t tag)
{
	volatile struct virtq_desc *d = vb.q.desc;
	unsigned s, head, n;

	if (vb.dead)
		return -RT_EIO;
	if (op != RT_BLK_READ && op != RT_BLK_WRITE && op != RT_BLK_FLUSH)
		return -RT_EINVAL;
	if (op != RT_BLK_FLUSH && !rt_mem_is_ram((uintptr_t)buf, bytes))
		return -RT_EINVAL; /* the device can only reach guest RAM */
	if (!vb.nfree)
		return -RT_EAGAIN;
	s = vb.free[--vb.nfree];
	vb.slot[s] = (struct vblk_slot){ .tag = tag, .busy = true };
	if (op == RT_BLK_FLUSH && !vb.flush) {
		/* Without VIRTIO_BLK_F_FLUSH the device writes through:
		 * completed writes are stable, there is nothing to send. */
		vb.slot[s].local = true;
		vb.local[vb.nlocal++] = (uint16_t)s;
		return 0;
	}
	head = s * vb.per_slot;
	vb.hdr[s] = (struct vblk_hdr){ .type = op, .sector = op == RT_BLK_FLUSH ? 0 : sector };
	vb.status[s] = 0xff; /* a device that writes nothing does not look like success */
	d[head].addr = (uintptr_t)&vb.hdr[s];
	d[head].len = sizeof(struct vblk_hdr);
	d[head].flags = VIRTQ_DESC_F_NEXT;
	d[head].next = (uint16_t)(head + 1);
	n = op == RT_BLK_FLUSH ? 0 : fill_data(d, head + 1, (uintptr_t)buf, bytes, op == RT_BLK_READ);
	d[head + 1 + n].addr = (uintptr_t)&vb.status[s];
	d[head + 1 + n].len = 1;
	d[head + 1 + n].flags = VIRTQ_DESC_F_WRITE;
	d[head + 1 + n].next = 0;
	rt_virtq_push(&vb.q, (uint16_t)head);
	return 0;
}

static void vblk_kick(void)
{
	if (!vb.dead)
		rt_virtq_kick(&vb.dev, &vb.q);
}

static void complete(unsigned s, int st, uint64_t *tags, int *status, unsigned *n)
{
	tags[*n] = vb.slot[s].tag;
	status[*n] = st;
	(*n)++;
	vb.slot[s].busy = false;
	vb.free[vb.nfree++] = (uint16_t)s;
}

/* The device broke the protocol: fail everything outstanding, take no more. */
static unsigned give_up(uint64_t *tags, int *status, unsigned max, unsigned n)
{
	if (!vb.dead) {
		vb.dead = true;
		rt_log(vb.q.last_used ? "virtio-blk: bad used element or DEVICE_NEEDS_RESET: "
					"requests fail with -EIO"
				      : "virtio-blk: DEVICE_NEEDS_RESET: requests fail with -EIO");
	}
	for (unsigned s = 0; s < vb.depth && n < max; s++)
		if (vb.slot[s].busy)
			complete(s, -RT_EIO, tags, status, &n);
	return n;
}

static unsigned vblk_poll(uint64_t *tags, int *status, unsigned max)
{
	unsigned n = 0;
	uint32_t id, len;

	if (vb.dead)
		return give_up(tags, status, max, 0);
	while (n < max && vb.nlocal) {
		unsigned s = vb.local[0];

		for (unsigned i = 1; i < vb.nlocal; i++)
			vb.local[i - 1] = vb.local[i];
		vb.nlocal--;
		complete(s, 0, tags, status, &n);
	}
	while (n < max && rt_virtq_pop(&vb.q, &id, &len)) {
		unsigned s = id / vb.per_slot;

		if (id % vb.per_slot || s >= vb.depth || !vb.slot[s].busy || vb.slot[s].local)
			return give_up(tags, status, max, n);
		complete(s, vb.status[s] == VIRTIO_BLK_S_OK ? 0 : -RT_EIO, tags, status, &n);
	}
	if (n) {
		vb.idle = 0;
	} else if (vb.nfree < vb.depth && ++vb.idle >= IDLE_CHECK) {
		vb.idle = 0;
		if (rt_virtio_status(&vb.dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
			return give_up(tags, status, max, 0);
	}
	return n;
}

static void *vblk_buf_alloc(size_t bytes)
{
	return rt_alloc(bytes, 4096);
}

static void vblk_buf_free(void *p, size_t bytes)
{
	rt_free(p, bytes);
}

/* Request geometry from the device's limits: data descriptors of at most
 * size_max bytes, at most seg_max of them, slots of 2 + segs descriptors. */
static int size_requests(struct rt_blk_info *info, const char **why)
{
	uint64_t f = vb.dev.features, max_bytes;
	uint32_t size_max = RT_BLK_MAX_BYTES, seg_max = SEGS_MAX;

	if (f & (1ull << VIRTIO_BLK_F_SIZE_MAX))
		size_max = rt_virtio_config32(&vb.dev, VIRTIO_BLK_CFG_SIZE_MAX);
	if (f & (1ull << VIRTIO_BLK_F_SEG_MAX))
		seg_max = rt_virtio_config32(&vb.dev, VIRTIO_BLK_CFG_SEG_MAX);
	if (size_max > RT_BLK_MAX_BYTES)
		size_max = RT_BLK_MAX_BYTES;
	size_max &= ~4095u;
	if (seg_max > SEGS_MAX)
		seg_max = SEGS_MAX;
	if (!size_max || !seg_max) {
		*why = "virtio-blk: size_max below 4 KiB or seg_max 0: no 4 KiB request fits";
		return -RT_ENODEV;
	}
	vb.seg_bytes = size_max;
	vb.segs = (RT_BLK_MAX_BYTES + size_max - 1) / size_max;
	if (vb.segs > seg_max)
		vb.segs = seg_max;
	max_bytes = (uint64_t)vb.segs * size_max;
	info->max_bytes = max_bytes > RT_BLK_MAX_BYTES ? RT_BLK_MAX_BYTES : (uint32_t)max_bytes;
	vb.per_slot = 2 + vb.segs;
	vb.depth = vb.q.num / vb.per_slot;
	if (vb.depth > RT_BLK_MAX_DEPTH)
		vb.depth = RT_BLK_MAX_DEPTH;
	if (!vb.depth) {
		*why = "virtio-blk: the queue is too small for one request";
		return -RT_ENODEV;
	}
	info->max_depth = vb.depth;
	return 0;
}

static int alloc_slots(const char **why)
{
	vb.hdr = rt_alloc(sizeof(*vb.hdr) * vb.depth, 4096);
	vb.status = rt_alloc(vb.depth, 64);
	if (!vb.hdr || !vb.status) {
		*why = "virtio-blk: no memory for request headers";
		return -RT_ENOMEM;
	}
	for (unsigned s = 0; s < vb.depth; s++)
		vb.free[s] = (uint16_t)(vb.depth - 1 - s);
	vb.nfree = vb.depth;
	return 0;
}

static void make_note(struct rt_blk_info *info)
{
	char *p = vb.note, *end = vb.note + sizeof(vb.note) - 1;

	p = rt_put_str(p, end, "virtio-blk mmio v2 @");
	p = rt_put_hex(p, end, vb.dev.base);
	p = rt_put_str(p, end, ", polled used ring, depth ");
	p = rt_put_dec(p, end, vb.depth);
	p = rt_put_str(p, end, vb.q.event_idx ? ", event idx" : ", no event idx");
	p = rt_put_str(p, end, vb.flush ? "" : ", flush no-op (write-through device)");
	if (vb.dev.features & (1ull << VIRTIO_BLK_F_RO))
		p = rt_put_str(p, end, ", read-only");
	*p = '\0';
	info->note = vb.note;
}

/* Bring up the device in one window: 0, or -errno with *why set. */
static int open_window(const struct rt_virtio_window *w, struct rt_blk_info *info, const char **why)
{
	uint64_t wanted = 1ull << VIRTIO_RING_F_EVENT_IDX | 1ull << VIRTIO_BLK_F_SIZE_MAX |
			  1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_RO |
			  1ull << VIRTIO_BLK_F_BLK_SIZE | 1ull << VIRTIO_BLK_F_FLUSH;
	int e;

	vb.dev.base = w->base;
	vb.dev.regs = (volatile uint32_t *)(uintptr_t)w->base;
	e = rt_virtio_negotiate(&vb.dev, wanted, 1ull << VIRTIO_F_VERSION_1, why);
	if (!e)
		e = rt_virtq_init(&vb.dev, &vb.q, 0, QUEUE_MAX, why);
	if (!e)
		e = size_requests(info, why);
	if (!e)
		e = alloc_slots(why);
	if (e) {
		rt_virtio_fail(&vb.dev);
		return e;
	}
	info->sectors = rt_virtio_config64(&vb.dev, VIRTIO_BLK_CFG_CAPACITY);
	vb.flush = vb.dev.features & (1ull << VIRTIO_BLK_F_FLUSH);
	info->flush = vb.flush; /* else FLUSH completes at once: the note says so */
	if (!info->sectors) {
		rt_virtio_fail(&vb.dev);
		*why = "virtio-blk: the disk has no sectors (capacity 0)";
		return -RT_ENODEV;
	}
	make_note(info);
	rt_virtio_driver_ok(&vb.dev);
	return 0;
}

/* The first window that holds a block device (windows with another device
 * or DeviceID 0, QEMU's empty transports, are passed over). */
static int vblk_open(struct rt_blk_info *info, const char **why)
{
	const struct rt_virtio_windows *ws = &rt_virtio_windows;
	const char *blk_why = 0;

	for (unsigned i = 0; i < ws->n; i++) {
		struct rt_virtio_dev probe = {
			.regs = (volatile uint32_t *)(uintptr_t)ws->w[i].base,
			.base = ws->w[i].base,
		};
		const char *w_why = 0;

		if (!rt_virtio_mmio_probe(&probe, VIRTIO_ID_BLOCK, &w_why))
			return open_window(&ws->w[i], info, why);
		if (!blk_why && probe.regs[VIRTIO_MMIO_DEVICE_ID / 4] == VIRTIO_ID_BLOCK)
			blk_why = w_why; /* a block device we cannot drive: say why */
	}
	if (blk_why)
		*why = blk_why;
	else if (ws->why)
		*why = ws->why;
	else if (ws->n)
		*why = "no virtio-blk device in the virtio_mmio.device= windows";
	else
		*why = reason_no_window;
	return -RT_ENODEV;
}

const struct rt_blk_ops rt_virtio_blk_ops = {
	.name = "virtio-blk",
	.open = vblk_open,
	.buf_alloc = vblk_buf_alloc,
	.buf_free = vblk_buf_free,
	.submit = vblk_submit,
	.kick = vblk_kick,
	.poll = vblk_poll,
};
