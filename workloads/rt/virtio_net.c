/*
 * virtio-net on virtio-mmio: the hvm platform's network driver
 * (rt_net_ops, rt.h), under the reference core and QEMU microvm alike.
 * Ring 3, polled used rings, no interrupts, no offloads (virtio 1.2 §5.1).
 *
 * Features: VIRTIO_F_VERSION_1 required; VIRTIO_NET_F_MAC, VIRTIO_NET_F_MTU
 * and VIRTIO_RING_F_EVENT_IDX taken when offered; no mergeable receive
 * buffers, no checksum or segmentation offload, no control queue.  So every
 * frame on either queue is preceded by a 12-byte struct virtio_net_hdr_v1
 * (num_buffers included: VERSION_1), all zeros on transmit (no checksum
 * to fill, no GSO), ignored on receive (nothing negotiated can set it).
 *
 * Receive queue 0: rx_depth buffers of 12 + 14 + MTU bytes (1526 for the
 * usual 1500, what §5.1.6.3.1 asks without MRG_RXBUF), descriptor i is
 * always buffer i and stays device-writable, so a used element names its
 * buffer by its id.  Transmit queue 1: tx_depth slots, each one descriptor
 * holding header and frame (VERSION_1 implies ANY_LAYOUT), reclaimed by
 * rt_net_send.  Buffers come from rt_alloc: guest RAM is identity-mapped,
 * so a buffer's address is its guest-physical address.
 *
 * Receive buffers go back to the device in batches (rx_refill at a time):
 * QEMU with event index asks to hear of every new buffer, and a
 * QueueNotify is an exit, so reposting one by one would cost an exit per
 * received frame.  The device always sees at least rx_depth - rx_refill
 * free buffers.
 *
 * Every value the device writes is checked before use: a used id that is
 * not a buffer or slot the device holds, or a length beyond its buffer
 * (or, on receive, shorter than the header) breaks the link for good:
 * sends fail with -EIO, nothing more is received, the log says why, and
 * nothing outside our buffers is ever touched.  DEVICE_NEEDS_RESET does
 * the same; the status register is an exit, so it is read only after a
 * long run of empty polls.
 */
#include "harness.h"
#include "rt.h"
#include "virtio.h"
#include "workload.h"

#define RT_EIO 5
#define RT_EAGAIN 11
#define RT_ENOMEM 12
#define RT_ENODEV 19
#define RT_EINVAL 22

/* virtio-net feature bits (§5.1.3) and config offsets (§5.1.4). */
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_CFG_MAC 0x00
#define VIRTIO_NET_CFG_MTU 0x0a

#define VNET_HDR 12u	   /* struct virtio_net_hdr_v1 */
#define RX_QUEUE 0
#define TX_QUEUE 1
#define QUEUE_MAX 256	   /* entries asked for per queue */
#define MTU_MIN 1500u	   /* net/ sends 1514-byte frames */
#define MTU_MAX 9000u	   /* larger receive buffers than that: refused */
#define RX_REFILL_MAX 32u  /* buffers reposted per publish at most */
#define IDLE_CHECK (1u << 22) /* empty polls between two status reads (~40 ms) */

struct vnet_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
} __attribute__((packed));

_Static_assert(sizeof(struct vnet_hdr) == VNET_HDR, "virtio_net_hdr_v1 is 12 bytes");

static struct {
	struct rt_virtio_dev dev;
	struct rt_virtq rx, tx;
	unsigned rx_depth, tx_depth, rx_refill;
	uint32_t rx_buf_len, tx_buf_len; /* header included */
	uint32_t rx_stride, tx_stride;
	uint8_t *rx_bufs, *tx_bufs;
	bool rx_held[QUEUE_MAX]; /* the device holds receive buffer i */
	bool tx_busy[QUEUE_MAX]; /* transmit slot i is in flight */
	uint16_t tx_free[QUEUE_MAX];
	unsigned tx_nfree;
	uint16_t mtu;
	bool broken;
	unsigned idle;
	struct rt_net_stats st;
	uint64_t rx_runts; /* used buffers with less than an Ethernet header */
	char note[128];
	char why[112];
} vn;

static const char *const reason_no_window =
	"no virtio-net device: no virtio_mmio.device= window on the command line";

/* ------------------------------------------------ a device that broke the rules */

static void give_up(const char *why)
{
	if (vn.broken)
		return;
	vn.broken = true;
	rt_log(why);
}

/* The status register is an exit: read it only after IDLE_CHECK idle calls. */
static void idle_poll(void)
{
	if (++vn.idle < IDLE_CHECK)
		return;
	vn.idle = 0;
	if (rt_virtio_status(&vn.dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		give_up("virtio-net: DEVICE_NEEDS_RESET: sends fail with -EIO, nothing is received");
}

/* ------------------------------------------------ transmit */

static uint8_t *tx_slot(unsigned s)
{
	return vn.tx_bufs + (size_t)s * vn.tx_stride;
}

/* Take back the slots whose frames the device has sent. */
static void tx_reclaim(void)
{
	uint32_t id, len;

	while (!vn.broken && rt_virtq_pop(&vn.tx, &id, &len)) {
		if (id >= vn.tx_depth || !vn.tx_busy[id] || len > vn.tx_buf_len) {
			give_up("virtio-net: bad used element on the transmit queue (id not in "
				"flight or length beyond the slot): sends fail with -EIO");
			return;
		}
		vn.tx_busy[id] = false;
		vn.tx_free[vn.tx_nfree++] = (uint16_t)id;
	}
}

static int vnet_send(const void *frame, uint32_t len)
{
	volatile struct virtq_desc *d = vn.tx.desc;
	unsigned s;
	uint8_t *buf;

	if (len < RT_NET_FRAME_MIN || len > RT_NET_FRAME_MAX)
		return -RT_EINVAL;
	tx_reclaim();
	if (vn.broken)
		return -RT_EIO;
	if (!vn.tx_nfree) {
		vn.st.tx_full++;
		idle_poll();
		return -RT_EAGAIN;
	}
	vn.idle = 0;
	s = vn.tx_free[--vn.tx_nfree];
	buf = tx_slot(s);
	memset(buf, 0, VNET_HDR);
	memcpy(buf + VNET_HDR, frame, len);
	d[s].addr = (uintptr_t)buf;
	d[s].len = VNET_HDR + len;
	d[s].flags = 0;
	d[s].next = 0;
	vn.tx_busy[s] = true;
	rt_virtq_push(&vn.tx, (uint16_t)s);
	vn.st.tx_frames++;
	return 0;
}

static void vnet_kick(void)
{
	if (!vn.broken)
		rt_virtq_kick(&vn.dev, &vn.tx);
}

/* ------------------------------------------------ receive */

static uint8_t *rx_buf(unsigned i)
{
	return vn.rx_bufs + (size_t)i * vn.rx_stride;
}

/* Queue buffer i for the device (not yet visible: rx_publish). */
static void rx_post(unsigned i)
{
	rt_virtq_push(&vn.rx, (uint16_t)i);
}

/* Make the queued buffers visible, and the device's to use from now on
 * (not before: a buffer used before it was published is a broken device). */
static void rx_publish(void)
{
	for (uint16_t k = vn.rx.kicked_idx; k != vn.rx.avail_idx; k++)
		vn.rx_held[vn.rx.avail[2 + (k & (vn.rx.num - 1))]] = true;
	rt_virtq_kick(&vn.dev, &vn.rx);
}

/* Publish reposted buffers once a batch has gathered (see the top). */
static void rx_refill(void)
{
	if ((uint16_t)(vn.rx.avail_idx - vn.rx.kicked_idx) >= vn.rx_refill)
		rx_publish();
}

/* The next used receive buffer: its id, or -1 if none (or the device broke). */
static int rx_take(uint32_t *frame_len)
{
	uint32_t id, len;

	if (vn.broken || !rt_virtq_pop(&vn.rx, &id, &len))
		return -1;
	if (id >= vn.rx_depth || !vn.rx_held[id] || len > vn.rx_buf_len || len < VNET_HDR) {
		give_up("virtio-net: bad used element on the receive queue (id not posted, or "
			"length beyond the buffer or below the header): link is dead");
		return -1;
	}
	vn.rx_held[id] = false;
	*frame_len = len - VNET_HDR;
	return (int)id;
}

static uint32_t vnet_recv(void *buf, uint32_t max)
{
	uint32_t len;
	int id;

	for (unsigned tries = 0; tries < vn.rx_depth; tries++) {
		id = rx_take(&len);
		if (id < 0)
			break;
		if (len < RT_NET_FRAME_MIN) {
			/* Not a frame: give the buffer back, look at the next one. */
			if (!vn.rx_runts++)
				rt_log("virtio-net: the device used a receive buffer for less than "
				       "an Ethernet header (dropped, counted)");
			rx_post((unsigned)id);
			rx_refill();
			continue;
		}
		memcpy(buf, rx_buf((unsigned)id) + VNET_HDR, len < max ? len : max);
		vn.st.rx_frames++;
		if (len > max)
			vn.st.rx_cut++;
		rx_post((unsigned)id);
		rx_refill();
		vn.idle = 0;
		return len;
	}
	if (!vn.broken)
		idle_poll();
	return 0;
}

static void vnet_stats(struct rt_net_stats *st)
{
	*st = vn.st;
}

/* ------------------------------------------------ bring-up */

/* The MTU the device states (VIRTIO_NET_F_MTU), else 1500; receive
 * buffers must hold a frame of that size (§5.1.6.3.1). */
static int read_mtu(const char **why)
{
	vn.mtu = MTU_MIN;
	if (!(vn.dev.features & (1ull << VIRTIO_NET_F_MTU)))
		return 0;
	vn.mtu = rt_virtio_config16(&vn.dev, VIRTIO_NET_CFG_MTU);
	if (vn.mtu < MTU_MIN) {
		*why = "virtio-net: the device's MTU is below 1500 (net/ sends 1514-byte frames)";
		return -RT_ENODEV;
	}
	if (vn.mtu > MTU_MAX) {
		*why = "virtio-net: the device's MTU is above 9000 (receive buffers that large "
		       "are not posted)";
		return -RT_ENODEV;
	}
	return 0;
}

static char *put_mac(char *p, char *end, const uint8_t mac[6])
{
	static const char hex[] = "0123456789abcdef";

	for (unsigned i = 0; i < 6 && p + 3 <= end; i++) {
		*p++ = hex[mac[i] >> 4];
		*p++ = hex[mac[i] & 15];
		if (i < 5)
			*p++ = ':';
	}
	return p;
}

/* The runner gave the device and the guest the same MAC (net.mac); a device
 * that says otherwise would drop or misaddress our frames: refuse. */
static int check_mac(const struct rt_net_info *info, const char **why)
{
	uint8_t mac[6];
	char *p = vn.why, *end = vn.why + sizeof(vn.why) - 1;
	bool same = true;

	if (!(vn.dev.features & (1ull << VIRTIO_NET_F_MAC)))
		return 0; /* the device takes whatever source address we send */
	for (unsigned i = 0; i < 6; i++) {
		mac[i] = rt_virtio_config8(&vn.dev, VIRTIO_NET_CFG_MAC + i);
		same = same && mac[i] == info->mac[i];
	}
	if (same)
		return 0;
	p = rt_put_str(p, end, "virtio-net: the device's MAC ");
	p = put_mac(p, end, mac);
	p = rt_put_str(p, end, " is not net.mac=");
	p = put_mac(p, end, info->mac);
	*p = '\0';
	*why = vn.why;
	return -RT_EINVAL;
}

static unsigned depth_of(const struct rt_virtq *q)
{
	return q->num < QUEUE_MAX ? q->num : QUEUE_MAX;
}

static int alloc_buffers(const char **why)
{
	vn.rx_depth = depth_of(&vn.rx);
	vn.tx_depth = depth_of(&vn.tx);
	vn.rx_buf_len = VNET_HDR + 14u + vn.mtu;
	vn.rx_stride = (vn.rx_buf_len + 63) & ~63u;
	vn.tx_buf_len = VNET_HDR + RT_NET_FRAME_MAX; /* net/ never sends more */
	vn.tx_stride = (vn.tx_buf_len + 63) & ~63u;
	vn.rx_bufs = rt_alloc((size_t)vn.rx_depth * vn.rx_stride, 4096);
	vn.tx_bufs = rt_alloc((size_t)vn.tx_depth * vn.tx_stride, 4096);
	if (!vn.rx_bufs || !vn.tx_bufs) {
		*why = "virtio-net: no memory for the receive and transmit buffers";
		return -RT_ENOMEM;
	}
	for (unsigned s = 0; s < vn.tx_depth; s++)
		vn.tx_free[s] = (uint16_t)(vn.tx_depth - 1 - s);
	vn.tx_nfree = vn.tx_depth;
	vn.rx_refill = vn.rx_depth / 4 < RX_REFILL_MAX ? vn.rx_depth / 4 : RX_REFILL_MAX;
	if (!vn.rx_refill)
		vn.rx_refill = 1;
	return 0;
}

/* Every receive buffer queued for the device (published after DRIVER_OK). */
static void rx_post_all(void)
{
	volatile struct virtq_desc *d = vn.rx.desc;

	for (unsigned i = 0; i < vn.rx_depth; i++) {
		d[i].addr = (uintptr_t)rx_buf(i);
		d[i].len = vn.rx_buf_len;
		d[i].flags = VIRTQ_DESC_F_WRITE;
		d[i].next = 0;
		rx_post(i);
	}
}

static void make_note(struct rt_net_info *info)
{
	char *p = vn.note, *end = vn.note + sizeof(vn.note) - 1;

	p = rt_put_str(p, end, "virtio-net mmio v2 @");
	p = rt_put_hex(p, end, vn.dev.base);
	p = rt_put_str(p, end, ", polled used rings, rx ");
	p = rt_put_dec(p, end, vn.rx_depth);
	p = rt_put_str(p, end, ", tx ");
	p = rt_put_dec(p, end, vn.tx_depth);
	p = rt_put_str(p, end, vn.rx.event_idx ? ", event idx" : ", no event idx");
	if (vn.mtu != MTU_MIN) {
		p = rt_put_str(p, end, ", mtu ");
		p = rt_put_dec(p, end, vn.mtu);
	}
	if (!(vn.dev.features & (1ull << VIRTIO_NET_F_MAC)))
		p = rt_put_str(p, end, ", no device MAC");
	*p = '\0';
	info->note = vn.note;
}

/* Bring up the device in one window: 0, or -errno with *why set. */
static int open_window(const struct rt_virtio_window *w, struct rt_net_info *info,
		       const char **why)
{
	uint64_t wanted = 1ull << VIRTIO_RING_F_EVENT_IDX | 1ull << VIRTIO_NET_F_MAC |
			  1ull << VIRTIO_NET_F_MTU;
	int e;

	vn.dev.base = w->base;
	vn.dev.regs = (volatile uint32_t *)(uintptr_t)w->base;
	e = rt_virtio_negotiate(&vn.dev, wanted, 1ull << VIRTIO_F_VERSION_1, why);
	if (!e)
		e = read_mtu(why);
	if (!e)
		e = check_mac(info, why);
	if (!e)
		e = rt_virtq_init(&vn.dev, &vn.rx, RX_QUEUE, QUEUE_MAX, why);
	if (!e)
		e = rt_virtq_init(&vn.dev, &vn.tx, TX_QUEUE, QUEUE_MAX, why);
	if (!e)
		e = alloc_buffers(why);
	if (e) {
		rt_virtio_fail(&vn.dev);
		return e;
	}
	rx_post_all();
	make_note(info);
	info->rx_depth = vn.rx_depth;
	info->tx_depth = vn.tx_depth;
	rt_virtio_driver_ok(&vn.dev);
	rx_publish(); /* no notification before DRIVER_OK (§3.1.1) */
	return 0;
}

/* The first window that holds a network device (windows with another
 * device or DeviceID 0, QEMU's empty transports, are passed over). */
static int vnet_open(struct rt_net_info *info, const char **why)
{
	const struct rt_virtio_windows *ws = &rt_virtio_windows;
	const char *net_why = 0;

	for (unsigned i = 0; i < ws->n; i++) {
		struct rt_virtio_dev probe = {
			.regs = (volatile uint32_t *)(uintptr_t)ws->w[i].base,
			.base = ws->w[i].base,
		};
		const char *w_why = 0;

		if (!rt_virtio_mmio_probe(&probe, VIRTIO_ID_NET, &w_why))
			return open_window(&ws->w[i], info, why);
		if (!net_why && probe.regs[VIRTIO_MMIO_DEVICE_ID / 4] == VIRTIO_ID_NET)
			net_why = w_why; /* a network device we cannot drive: say why */
	}
	if (net_why)
		*why = net_why;
	else if (ws->why)
		*why = ws->why;
	else if (ws->n)
		*why = "no virtio-net device in the virtio_mmio.device= windows";
	else
		*why = reason_no_window;
	return -RT_ENODEV;
}

const struct rt_net_ops rt_virtio_net_ops = {
	.name = "virtio-net",
	.open = vnet_open,
	.send = vnet_send,
	.kick = vnet_kick,
	.recv = vnet_recv,
	.stats = vnet_stats,
};
