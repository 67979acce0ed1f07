/*
 * The guest's virtio-net driver (workloads/rt/virtio.c, virtio_net.c) on
 * the host, against a virtio-mmio device played by the test: bring-up
 * (features, the MAC check, MTU, both queues, every receive buffer posted
 * and notified after DRIVER_OK), the transmit chain (zeroed 12-byte header
 * and the frame in one device-readable descriptor), transmit depth and
 * reclaim, received frames (header stripped, cut to the caller's buffer),
 * receive buffers reposted in batches, and a device that breaks the
 * protocol (used ids not held, lengths beyond the buffer or below the
 * header, DEVICE_NEEDS_RESET): the link dies with a reason, nothing is
 * touched outside the driver's buffers, nothing hangs.
 *
 * Unlike virtio-blk's test, a register file in plain memory will not do:
 * the queue registers are per queue (QueueSel), and the driver sets up two.
 * So the register page is PROT_NONE: each access faults, the SIGSEGV
 * handler lays out the registers as the device model has them for the
 * current selectors, lets the one instruction run (trap flag), and the
 * SIGTRAP handler reads back what it wrote into the model.  The guest
 * sources are included, so the test runs the very code the guest runs.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "rt/virtio.c"
#include "rt/virtio_net.c"
#include "tap.h"

/* ------------------------------------------------ the runtime around the driver */

static char last_log[256];

void *rt_alloc(size_t bytes, size_t align)
{
	void *p = aligned_alloc(align < 64 ? 64 : align, (bytes + align - 1) / align * align);

	if (p)
		memset(p, 0, bytes);
	return p;
}

void rt_free(void *p, size_t bytes)
{
	(void)bytes;
	free(p);
}

bool rt_mem_is_ram(uint64_t gpa, uint64_t len)
{
	(void)gpa, (void)len;
	return true;
}

void rt_log(const char *msg)
{
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

char *rt_put_str(char *p, char *end, const char *s)
{
	while (*s && p < end)
		*p++ = *s++;
	return p;
}

char *rt_put_dec(char *p, char *end, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return rt_put_str(p, end, buf);
}

char *rt_put_hex(char *p, char *end, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
	return rt_put_str(p, end, buf);
}

/* ------------------------------------------------ the device model */

#define NOTIFY_SENTINEL 0xdeadbeefu /* QueueNotify reads this: every write changes it */

struct model_queue {
	uint32_t num, ready;
	uint32_t desc[2], avail[2], used[2]; /* low, high */
	uint16_t avail_seen;		     /* entries of avail->ring the device took */
	uint16_t used_idx;
};

static struct {
	uint32_t version, device_id, num_max;
	uint32_t dev_features[2], drv_features[2];
	uint32_t dev_sel, drv_sel, queue_sel, status;
	struct model_queue q[2];
	uint8_t config[16];
	unsigned notifies[2]; /* QueueNotify writes per queue */
	unsigned notify_other; /* writes naming another queue */
	uint32_t status_at_first_notify;
} m;

static uint8_t *page; /* the register window, PROT_NONE between accesses */
static uint32_t view[1024];

static struct model_queue *sel_queue(void)
{
	return m.queue_sel < 2 ? &m.q[m.queue_sel] : 0;
}

/* The registers as the device shows them now. */
static void lay_out(uint32_t *r)
{
	struct model_queue *q = sel_queue();

	memset(r, 0, 4096);
	r[VIRTIO_MMIO_MAGIC / 4] = VIRTIO_MMIO_MAGIC_VALUE;
	r[VIRTIO_MMIO_VERSION / 4] = m.version;
	r[VIRTIO_MMIO_DEVICE_ID / 4] = m.device_id;
	r[VIRTIO_MMIO_DEVICE_FEATURES / 4] = m.dev_sel < 2 ? m.dev_features[m.dev_sel] : 0;
	r[VIRTIO_MMIO_DEVICE_FEATURES_SEL / 4] = m.dev_sel;
	r[VIRTIO_MMIO_DRIVER_FEATURES / 4] = m.drv_sel < 2 ? m.drv_features[m.drv_sel] : 0;
	r[VIRTIO_MMIO_DRIVER_FEATURES_SEL / 4] = m.drv_sel;
	r[VIRTIO_MMIO_QUEUE_SEL / 4] = m.queue_sel;
	r[VIRTIO_MMIO_QUEUE_NUM_MAX / 4] = q ? m.num_max : 0;
	r[VIRTIO_MMIO_QUEUE_NOTIFY / 4] = NOTIFY_SENTINEL;
	r[VIRTIO_MMIO_STATUS / 4] = m.status;
	if (q) {
		r[VIRTIO_MMIO_QUEUE_NUM / 4] = q->num;
		r[VIRTIO_MMIO_QUEUE_READY / 4] = q->ready;
		r[VIRTIO_MMIO_QUEUE_DESC_LOW / 4] = q->desc[0];
		r[VIRTIO_MMIO_QUEUE_DESC_HIGH / 4] = q->desc[1];
		r[VIRTIO_MMIO_QUEUE_DRIVER_LOW / 4] = q->avail[0];
		r[VIRTIO_MMIO_QUEUE_DRIVER_HIGH / 4] = q->avail[1];
		r[VIRTIO_MMIO_QUEUE_DEVICE_LOW / 4] = q->used[0];
		r[VIRTIO_MMIO_QUEUE_DEVICE_HIGH / 4] = q->used[1];
	}
	memcpy((uint8_t *)r + VIRTIO_MMIO_CONFIG, m.config, sizeof(m.config));
}

static void queue_write(struct model_queue *q, unsigned off, uint32_t v)
{
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM: q->num = v; break;
	case VIRTIO_MMIO_QUEUE_READY: q->ready = v; break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: q->desc[0] = v; break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: q->desc[1] = v; break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: q->avail[0] = v; break;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: q->avail[1] = v; break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: q->used[0] = v; break;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: q->used[1] = v; break;
	}
}

/* The driver wrote v to register `off`. */
static void reg_written(unsigned off, uint32_t v)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: m.dev_sel = v; return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: m.drv_sel = v; return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (m.drv_sel < 2)
			m.drv_features[m.drv_sel] = v;
		return;
	case VIRTIO_MMIO_QUEUE_SEL: m.queue_sel = v; return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (!m.notifies[0] && !m.notifies[1])
			m.status_at_first_notify = m.status;
		if (v < 2)
			m.notifies[v]++;
		else
			m.notify_other++;
		return;
	case VIRTIO_MMIO_STATUS:
		m.status = v;
		if (!v) /* reset */
			memset(m.q, 0, sizeof(m.q));
		return;
	}
	if (sel_queue())
		queue_write(sel_queue(), off, v);
}

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	uint8_t *a = si->si_addr;

	if (a < page || a >= page + 4096) {
		signal(sig, SIG_DFL); /* a real crash: let it happen */
		return;
	}
	mprotect(page, 4096, PROT_READ | PROT_WRITE);
	lay_out((uint32_t *)page);
	memcpy(view, page, sizeof(view));
	uc->uc_mcontext.gregs[REG_EFL] |= 0x100; /* trap after this one instruction */
}

static void on_trap(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	uint32_t *r = (uint32_t *)page;

	(void)sig, (void)si;
	for (unsigned i = 0; i < 1024; i++)
		if (r[i] != view[i])
			reg_written(i * 4, r[i]);
	mprotect(page, 4096, PROT_NONE);
	uc->uc_mcontext.gregs[REG_EFL] &= ~0x100L;
}

static void install_mmio(void)
{
	struct sigaction sa = { .sa_flags = SA_SIGINFO };

	page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sigemptyset(&sa.sa_mask);
	sa.sa_sigaction = on_segv;
	sigaction(SIGSEGV, &sa, NULL);
	sa.sa_sigaction = on_trap;
	sigaction(SIGTRAP, &sa, NULL);
}

static const uint8_t guest_mac[6] = { 0x02, 0x68, 0x76, 0x62, 0x00, 0x02 };

/* A fresh device: version 2 network device with VERSION_1 | MAC |
 * EVENT_IDX (| MTU), 256 entries per queue, the guest's MAC in config. */
static void device_reset(bool event_idx, bool mac, uint16_t mtu)
{
	free((void *)vn.rx.desc);
	free((void *)vn.rx.avail);
	free((void *)vn.rx.used);
	free((void *)vn.tx.desc);
	free((void *)vn.tx.avail);
	free((void *)vn.tx.used);
	free(vn.rx_bufs);
	free(vn.tx_bufs);
	memset(&vn, 0, sizeof(vn));
	memset(&m, 0, sizeof(m));
	last_log[0] = '\0';
	m.version = 2;
	m.device_id = VIRTIO_ID_NET;
	m.num_max = 256;
	m.dev_features[0] = (event_idx ? 1u << VIRTIO_RING_F_EVENT_IDX : 0) |
			    (mac ? 1u << VIRTIO_NET_F_MAC : 0) | (mtu ? 1u << VIRTIO_NET_F_MTU : 0) |
			    1u << 0 /* CSUM: offered, must not be taken */ |
			    1u << 15 /* MRG_RXBUF: likewise */;
	m.dev_features[1] = 1u; /* VERSION_1 */
	memcpy(m.config, guest_mac, 6);
	m.config[VIRTIO_NET_CFG_MTU] = (uint8_t)mtu;
	m.config[VIRTIO_NET_CFG_MTU + 1] = (uint8_t)(mtu >> 8);
	rt_virtio_windows.n = 1;
	rt_virtio_windows.w[0] = (struct rt_virtio_window){ (uintptr_t)page, 0x200, 5 };
	rt_virtio_windows.why = 0;
}

static void *gpa(const uint32_t a[2])
{
	return (void *)(uintptr_t)((uint64_t)a[1] << 32 | a[0]);
}

static volatile struct virtq_desc *q_desc(unsigned i)
{
	return gpa(m.q[i].desc);
}

static volatile uint16_t *q_avail(unsigned i)
{
	return gpa(m.q[i].avail);
}

static volatile uint16_t *q_used(unsigned i)
{
	return gpa(m.q[i].used);
}

/* Put a used element (id, len) on queue i as the device. */
static void dev_used(unsigned i, uint32_t id, uint32_t len)
{
	struct model_queue *q = &m.q[i];
	volatile uint32_t *elem = (volatile uint32_t *)(q_used(i) + 2) + 2 * (q->used_idx % q->num);

	elem[0] = id;
	elem[1] = len;
	q_used(i)[1] = ++q->used_idx;
}

/* The next buffer the driver made available on queue i, -1 if none. */
static int dev_take(unsigned i)
{
	struct model_queue *q = &m.q[i];

	if (q_avail(i)[1] == q->avail_seen)
		return -1;
	return q_avail(i)[2 + (q->avail_seen++ % q->num)];
}

/* Deliver a frame into the next receive buffer: 12-byte header of hdr_fill
 * bytes, then the frame. */
static int dev_deliver_hdr(const uint8_t *frame, uint32_t len, uint8_t hdr_fill)
{
	int id = dev_take(RX_QUEUE);
	volatile struct virtq_desc *d;
	uint8_t *buf;

	if (id < 0)
		return -1;
	d = &q_desc(RX_QUEUE)[id];
	buf = (uint8_t *)(uintptr_t)d->addr;
	memset(buf, hdr_fill, VNET_HDR);
	memcpy(buf + VNET_HDR, frame, len);
	dev_used(RX_QUEUE, (uint32_t)id, VNET_HDR + len);
	return id;
}

/* The header non-zero junk: the driver must not pass it on. */
static int dev_deliver(const uint8_t *frame, uint32_t len)
{
	return dev_deliver_hdr(frame, len, 0xee);
}

static struct rt_net_info info;

static int open_dev(const char **why)
{
	memset(&info, 0, sizeof(info));
	memcpy(info.mac, guest_mac, 6);
	return rt_virtio_net_ops.open(&info, why);
}

/* ------------------------------------------------ the tests */

static void test_bring_up(void)
{
	const char *why = 0;
	volatile struct virtq_desc *d;
	bool descs_ok = true;

	device_reset(true, true, 0);
	TAP_EQ_INT(open_dev(&why), 0, "open: a version 2 network device with our MAC comes up");
	TAP_EQ_INT(m.status,
		   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			   VIRTIO_STATUS_DRIVER_OK,
		   "... status ends ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK");
	TAP_EQ_INT(m.drv_features[0], 1u << VIRTIO_RING_F_EVENT_IDX | 1u << VIRTIO_NET_F_MAC,
		   "... low features: EVENT_IDX and MAC; CSUM and MRG_RXBUF offered, not taken");
	TAP_EQ_INT(m.drv_features[1], 1, "... high features: VERSION_1");
	TAP_OK(m.q[0].ready && m.q[1].ready && m.q[0].num == 256 && m.q[1].num == 256,
	       "... receive queue 0 and transmit queue 1 enabled, 256 entries each");
	TAP_OK(gpa(m.q[0].desc) != gpa(m.q[1].desc) && gpa(m.q[0].used) != gpa(m.q[1].used),
	       "... each queue has its own rings");
	TAP_OK(info.rx_depth == 256 && info.tx_depth == 256, "... rx_depth and tx_depth 256");
	TAP_OK(info.note && strstr(info.note, "virtio-net mmio v2 @0x") &&
		       strstr(info.note, "event idx") && !strstr(info.note, "no device MAC"),
	       "... the note names the transport and event index");
	TAP_EQ_INT(q_avail(RX_QUEUE)[1], 256, "... all 256 receive buffers published");
	d = q_desc(RX_QUEUE);
	for (unsigned i = 0; i < 256; i++)
		descs_ok = descs_ok && d[i].len == 12 + 1514 && d[i].flags == VIRTQ_DESC_F_WRITE &&
			   (i == 0 || d[i].addr >= d[i - 1].addr + 1526);
	TAP_OK(descs_ok, "... each 12 + 1514 bytes, device-writable, apart from each other");
	TAP_OK(m.notifies[RX_QUEUE] == 1 && m.status_at_first_notify & VIRTIO_STATUS_DRIVER_OK,
	       "... the receive queue is notified once, after DRIVER_OK");
	TAP_EQ_INT(q_avail(RX_QUEUE)[0], VIRTQ_AVAIL_F_NO_INTERRUPT, "... no interrupts asked for");
}

static void test_transmit(void)
{
	const char *why;
	uint8_t frame[1514];
	volatile struct virtq_desc *d;
	const uint8_t *buf;
	int id;
	bool zero_hdr = true;

	device_reset(false, true, 0);
	open_dev(&why);
	for (unsigned i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7 + 1);
	TAP_EQ_INT(rt_virtio_net_ops.send(frame, 60), 0, "send: a 60-byte frame is queued");
	TAP_EQ_INT(q_avail(TX_QUEUE)[1], 0, "... not visible before the kick");
	rt_virtio_net_ops.kick();
	TAP_EQ_INT(q_avail(TX_QUEUE)[1], 1, "kick publishes the transmit queue's avail->idx 1");
	TAP_EQ_INT(m.notifies[TX_QUEUE], 1, "... and notifies queue 1 (no NO_NOTIFY)");
	id = dev_take(TX_QUEUE);
	d = &q_desc(TX_QUEUE)[id];
	buf = (const uint8_t *)(uintptr_t)d->addr;
	for (unsigned i = 0; i < VNET_HDR; i++)
		zero_hdr = zero_hdr && !buf[i];
	TAP_OK(d->len == 72 && d->flags == 0, "one device-readable descriptor of 12 + 60 bytes");
	TAP_OK(zero_hdr && !memcmp(buf + VNET_HDR, frame, 60),
	       "... a zeroed virtio_net_hdr_v1, then the frame as given");
	memset(frame, 0, 60); /* copied: the caller may reuse its buffer at once */
	TAP_OK(buf[VNET_HDR] == 1, "... copied at send (the caller's buffer is free again)");
	TAP_EQ_INT(rt_virtio_net_ops.send(frame, 1514), 0, "a 1514-byte frame is fine");
	TAP_EQ_INT(rt_virtio_net_ops.send(frame, 13), -22, "13 bytes (no Ethernet header): -EINVAL");
	TAP_EQ_INT(rt_virtio_net_ops.send(frame, 1515), -22, "1515 bytes (beyond the MTU): -EINVAL");

	q_used(TX_QUEUE)[0] = VIRTQ_USED_F_NO_NOTIFY;
	m.notifies[TX_QUEUE] = 0;
	rt_virtio_net_ops.kick();
	TAP_EQ_INT(m.notifies[TX_QUEUE], 0, "NO_NOTIFY: published, not notified");
	TAP_EQ_INT(vn.st.tx_frames, 2, "stats: 2 frames handed to the device");
}

static void test_transmit_depth(void)
{
	const char *why;
	uint8_t frame[64] = { 0 };
	unsigned queued = 0;

	device_reset(true, true, 0);
	open_dev(&why);
	for (unsigned i = 0; i < 256; i++)
		queued += rt_virtio_net_ops.send(frame, sizeof(frame)) == 0;
	TAP_EQ_INT(queued, 256, "256 frames queued (tx_depth)");
	TAP_EQ_INT(rt_virtio_net_ops.send(frame, sizeof(frame)), -11, "the 257th: -EAGAIN");
	TAP_EQ_INT(vn.st.tx_full, 1, "... counted in tx_full");
	rt_virtio_net_ops.kick();
	for (unsigned i = 0; i < 3; i++)
		dev_used(TX_QUEUE, (uint32_t)dev_take(TX_QUEUE), 0);
	queued = 0;
	for (unsigned i = 0; i < 4; i++)
		queued += rt_virtio_net_ops.send(frame, sizeof(frame)) == 0;
	TAP_EQ_INT(queued, 3, "the device sent 3: send reclaims exactly 3 slots");
	TAP_OK(!vn.broken, "... the link is fine");
}

static void test_receive(void)
{
	const char *why;
	uint8_t frame[1514], got[1514];
	unsigned taken = 0;

	device_reset(true, true, 0);
	open_dev(&why);
	for (unsigned i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 13 + 5);
	TAP_EQ_INT(rt_virtio_net_ops.recv(got, sizeof(got)), 0, "nothing received yet: 0");
	dev_deliver(frame, 1514);
	TAP_EQ_INT(rt_virtio_net_ops.recv(got, sizeof(got)), 1514, "a 1514-byte frame arrives");
	TAP_OK(!memcmp(got, frame, 1514), "... exactly the frame, the virtio-net header stripped");
	/* Linux's vhost-net writes num_buffers only with MRG_RXBUF (which the
	 * driver does not take): an all-zero header, num_buffers 0, not 1. */
	dev_deliver_hdr(frame, 64, 0);
	memset(got, 0, sizeof(got));
	TAP_EQ_INT(rt_virtio_net_ops.recv(got, sizeof(got)), 64,
		   "num_buffers 0 (vhost-net without MRG_RXBUF): the frame is taken");
	TAP_OK(!memcmp(got, frame, 64), "... exactly the frame");
	dev_deliver(frame, 100);
	memset(got, 0, sizeof(got));
	TAP_EQ_INT(rt_virtio_net_ops.recv(got, 40), 100, "a frame longer than the buffer: its length");
	TAP_OK(!memcmp(got, frame, 40) && !got[40], "... cut to the 40 bytes asked for");
	TAP_OK(vn.st.rx_frames == 3 && vn.st.rx_cut == 1, "stats: 3 frames, 1 cut");

	/* The device had 256; 3 came back.  Reposts gather until 32 are
	 * waiting, then one publish (and one notify, if the device asks). */
	m.notifies[RX_QUEUE] = 0;
	q_used(RX_QUEUE)[2 + 4 * 256] = q_avail(RX_QUEUE)[1]; /* avail_event: tell me of the next */
	for (unsigned i = 0; i < 28; i++) {
		dev_deliver(frame, 64);
		taken += rt_virtio_net_ops.recv(got, sizeof(got)) == 64;
	}
	TAP_OK(taken == 28 && q_avail(RX_QUEUE)[1] == 256 && !m.notifies[RX_QUEUE],
	       "31 buffers reposted: not yet published, no notify");
	dev_deliver(frame, 64);
	rt_virtio_net_ops.recv(got, sizeof(got));
	TAP_OK(q_avail(RX_QUEUE)[1] == 256 + 32 && m.notifies[RX_QUEUE] == 1,
	       "the 32nd: all 32 published at once, one notify (the device asked)");

	/* A runt (less than an Ethernet header) is passed over, not returned. */
	dev_deliver(frame, 5);
	dev_deliver(frame, 64);
	TAP_EQ_INT(rt_virtio_net_ops.recv(got, sizeof(got)), 64,
		   "a 5-byte runt is dropped, the frame after it returned");
	TAP_OK(vn.rx_runts == 1 && strstr(last_log, "less than an Ethernet header") && !vn.broken,
	       "... counted and logged, the link goes on");
}

static void test_receive_mtu(void)
{
	const char *why;

	device_reset(true, true, 9000);
	TAP_EQ_INT(open_dev(&why), 0, "a device with MTU 9000 comes up");
	TAP_OK(m.drv_features[0] & 1u << VIRTIO_NET_F_MTU && q_desc(RX_QUEUE)[0].len == 12 + 14 + 9000,
	       "... MTU negotiated, receive buffers of 12 + 14 + 9000 bytes");
	TAP_OK(strstr(info.note, "mtu 9000"), "... the note says so");
	device_reset(true, true, 1500);
	open_dev(&why);
	TAP_OK(q_desc(RX_QUEUE)[0].len == 1526 && !strstr(info.note, "mtu"), "MTU 1500: the usual 1526");
	device_reset(true, true, 1400);
	TAP_OK(open_dev(&why) == -19 && strstr(why, "below 1500") && m.status & VIRTIO_STATUS_FAILED,
	       "MTU 1400: refused (1514-byte frames would not pass), device told FAILED");
	device_reset(true, true, 9001);
	TAP_OK(open_dev(&why) == -19 && strstr(why, "above 9000"), "MTU 9001: refused");
}

/* Used elements on the receive queue that no device may write. */
static void test_broken_receive(void)
{
	static const struct {
		uint32_t id, len;
		const char *what;
	} bad[] = {
		{ 256, 12 + 64, "a used id beyond the receive buffers" },
		{ 0xffffffffu, 12 + 64, "used id 0xffffffff" },
		{ 3, 12 + 1515, "a length beyond the 1526-byte buffer" },
		{ 3, 11, "a length below the virtio-net header" },
	};
	const char *why;
	uint8_t got[1514], frame[64] = { 0 };

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char desc[128];

		device_reset(true, true, 0);
		open_dev(&why);
		dev_used(RX_QUEUE, bad[i].id, bad[i].len);
		snprintf(desc, sizeof(desc), "%s: nothing received, the link is dead, logged",
			 bad[i].what);
		TAP_OK(rt_virtio_net_ops.recv(got, sizeof(got)) == 0 && vn.broken &&
			       strstr(last_log, "bad used element on the receive queue"),
		       desc);
	}
	TAP_EQ_INT(rt_virtio_net_ops.send(frame, sizeof(frame)), -5, "... later sends: -EIO");

	device_reset(true, true, 0);
	open_dev(&why);
	dev_deliver(frame, 64);
	rt_virtio_net_ops.recv(got, sizeof(got));
	/* The same buffer again: reposted, but not yet published (a batch
	 * gathers), so the device cannot have it. */
	dev_used(RX_QUEUE, q_used(RX_QUEUE)[2], 12 + 64);
	TAP_OK(rt_virtio_net_ops.recv(got, sizeof(got)) == 0 && vn.broken,
	       "a buffer used again before it was published: the link is dead");
}

static void test_broken_transmit(void)
{
	const char *why;
	uint8_t frame[64] = { 0 };

	device_reset(true, true, 0);
	open_dev(&why);
	rt_virtio_net_ops.send(frame, sizeof(frame));
	rt_virtio_net_ops.kick();
	dev_used(TX_QUEUE, 7, 0); /* slot 7 is not in flight (slot 0 is) */
	TAP_OK(rt_virtio_net_ops.send(frame, sizeof(frame)) == -5 && vn.broken &&
		       strstr(last_log, "transmit queue"),
	       "a transmit slot used that is not in flight: -EIO, logged");

	device_reset(true, true, 0);
	open_dev(&why);
	rt_virtio_net_ops.send(frame, sizeof(frame));
	rt_virtio_net_ops.kick();
	dev_used(TX_QUEUE, (uint32_t)dev_take(TX_QUEUE), 5000);
	TAP_EQ_INT(rt_virtio_net_ops.send(frame, sizeof(frame)), -5,
		   "a transmit completion longer than the slot: -EIO");
}

static void test_needs_reset(void)
{
	const char *why;
	uint8_t got[64], frame[64] = { 0 };
	unsigned i;

	device_reset(true, true, 0);
	open_dev(&why);
	m.status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	for (i = 0; i <= IDLE_CHECK && !vn.broken; i++)
		rt_virtio_net_ops.recv(got, sizeof(got));
	TAP_OK(vn.broken && i >= IDLE_CHECK && strstr(last_log, "DEVICE_NEEDS_RESET"),
	       "DEVICE_NEEDS_RESET: found after a run of empty polls, logged");
	TAP_EQ_INT(rt_virtio_net_ops.send(frame, sizeof(frame)), -5, "... sends fail with -EIO");
}

static void test_refusals(void)
{
	const char *why = 0;

	device_reset(true, true, 0);
	m.config[5] = 0x99;
	TAP_OK(open_dev(&why) == -22 &&
		       !strcmp(why, "virtio-net: the device's MAC 02:68:76:62:00:99 is not "
				    "net.mac=02:68:76:62:00:02"),
	       "a device MAC other than net.mac: refused, both named");
	TAP_OK(m.status & VIRTIO_STATUS_FAILED && !(m.status & VIRTIO_STATUS_DRIVER_OK),
	       "... the device is told FAILED, never DRIVER_OK");
	device_reset(true, false, 0);
	m.config[5] = 0x99; /* not offered: not read */
	TAP_OK(open_dev(&why) == 0 && strstr(info.note, "no device MAC"),
	       "no VIRTIO_NET_F_MAC: net.mac is used, the note says so");
	device_reset(true, true, 0);
	m.version = 1;
	TAP_OK(open_dev(&why) == -19 && strstr(why, "legacy"), "a legacy (version 1) device: refused");
	device_reset(true, true, 0);
	m.dev_features[1] = 0;
	TAP_OK(open_dev(&why) == -19 && strstr(why, "VIRTIO_F_VERSION_1"), "no VERSION_1: refused");
	device_reset(true, true, 0);
	m.num_max = 0;
	TAP_OK(open_dev(&why) == -19 && strstr(why, "QueueNumMax is 0"), "no queues: refused");
	device_reset(true, true, 0);
	m.device_id = VIRTIO_ID_BLOCK;
	TAP_OK(open_dev(&why) == -19 && strstr(why, "no virtio-net device in"),
	       "only a block device: no network device");
	device_reset(true, true, 0);
	rt_virtio_windows.n = 0;
	TAP_OK(open_dev(&why) == -19 && strstr(why, "no virtio_mmio.device= window"),
	       "no window at all: says which word is missing");
	device_reset(true, true, 0);
	m.num_max = 8;
	TAP_OK(open_dev(&why) == 0 && info.rx_depth == 8 && info.tx_depth == 8 && vn.rx_refill == 2,
	       "queues of 8: depths 8, reposts published 2 at a time");
}

int main(void)
{
	install_mmio();
	test_bring_up();
	test_transmit();
	test_transmit_depth();
	test_receive();
	test_receive_mtu();
	test_broken_receive();
	test_broken_transmit();
	test_needs_reset();
	test_refusals();
	device_reset(false, false, 0);
	return tap_done();
}
