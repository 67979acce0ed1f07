/*
 * The guest's virtio-blk driver (workloads/rt/virtio.c, virtio_blk.c) on
 * the host, against a register file in plain memory and a device played by
 * the test: the registers it writes while bringing the device up, the
 * request chains it builds (header, data, status; flags and lengths), when
 * it notifies (event index and NO_NOTIFY), tags and statuses of
 * completions, depth (-EAGAIN), FLUSH with and without VIRTIO_BLK_F_FLUSH,
 * and a device that breaks the protocol (a head not in flight,
 * DEVICE_NEEDS_RESET): every outstanding request fails with -EIO, nothing
 * hangs.  The guest sources are included, so the test runs the very code
 * the guest runs; only what the guest runtime provides around it (rt_alloc,
 * rt_mem_is_ram, rt_log, the rt_put_* formatters) is stood in for here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt/virtio.c"
#include "rt/virtio_blk.c"
#include "tap.h"

/* ------------------------------------------------ the runtime around the driver */

static uintptr_t not_ram; /* rt_mem_is_ram says no for this address */
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
	(void)len;
	return gpa != not_ram;
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

/* ------------------------------------------------ the device, played here */

static uint32_t regs[0x200 / 4] __attribute__((aligned(4096)));
#define REG(off) regs[(off) / 4]
#define NOTIFY_NONE 0xdeadu

/* A fresh device: version 2 block, VERSION_1 | FLUSH (| EVENT_IDX), 256
 * entries, `sectors` of capacity.  The feature register reads the same in
 * both halves (plain memory): bit 0 of the high half is VERSION_1, and the
 * low half's bit 0 is not one the driver wants. */
static void device_reset(bool event_idx, bool flush, uint64_t sectors)
{
	/* What the driver allocated for the last device (it never frees: a
	 * guest keeps its device), so that leak checkers see no leak. */
	free((void *)vb.q.desc);
	free((void *)vb.q.avail);
	free((void *)vb.q.used);
	free(vb.hdr);
	free((void *)vb.status);
	memset(regs, 0, sizeof(regs));
	memset(&vb, 0, sizeof(vb));
	REG(VIRTIO_MMIO_MAGIC) = VIRTIO_MMIO_MAGIC_VALUE;
	REG(VIRTIO_MMIO_VERSION) = 2;
	REG(VIRTIO_MMIO_DEVICE_ID) = VIRTIO_ID_BLOCK;
	REG(VIRTIO_MMIO_DEVICE_FEATURES) = 1u | (flush ? 1u << VIRTIO_BLK_F_FLUSH : 0) |
					   (event_idx ? 1u << VIRTIO_RING_F_EVENT_IDX : 0);
	REG(VIRTIO_MMIO_QUEUE_NUM_MAX) = 256;
	REG(VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_CAPACITY) = (uint32_t)sectors;
	REG(VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_CAPACITY + 4) = (uint32_t)(sectors >> 32);
	REG(VIRTIO_MMIO_QUEUE_NOTIFY) = NOTIFY_NONE;
	rt_virtio_windows.n = 1;
	rt_virtio_windows.w[0] = (struct rt_virtio_window){ (uintptr_t)regs, 0x200, 5 };
	rt_virtio_windows.why = 0;
}

static volatile struct virtq_desc *ring_desc(void)
{
	return (volatile struct virtq_desc *)(uintptr_t)((uint64_t)REG(VIRTIO_MMIO_QUEUE_DESC_HIGH)
							 << 32 |
						 REG(VIRTIO_MMIO_QUEUE_DESC_LOW));
}

static volatile uint16_t *ring_avail(void)
{
	return (volatile uint16_t *)(uintptr_t)((uint64_t)REG(VIRTIO_MMIO_QUEUE_DRIVER_HIGH) << 32 |
						REG(VIRTIO_MMIO_QUEUE_DRIVER_LOW));
}

static volatile uint16_t *ring_used(void)
{
	return (volatile uint16_t *)(uintptr_t)((uint64_t)REG(VIRTIO_MMIO_QUEUE_DEVICE_HIGH) << 32 |
						REG(VIRTIO_MMIO_QUEUE_DEVICE_LOW));
}

static uint16_t dev_used_idx;

/* The device completes the chain at `head`: status byte, used element. */
static void device_complete(uint16_t head, uint8_t status)
{
	volatile struct virtq_desc *d = ring_desc();
	volatile uint16_t *used = ring_used();
	volatile uint32_t *elem;
	unsigned i = head;

	while (d[i].flags & VIRTQ_DESC_F_NEXT)
		i = d[i].next;
	*(volatile uint8_t *)(uintptr_t)d[i].addr = status;
	elem = (volatile uint32_t *)(used + 2) + 2 * (dev_used_idx & 255);
	elem[0] = head;
	elem[1] = 1;
	used[1] = ++dev_used_idx;
}

static int open_dev(struct rt_blk_info *info, const char **why)
{
	dev_used_idx = 0;
	return rt_virtio_blk_ops.open(info, why);
}

/* ------------------------------------------------ the tests */

static void test_bring_up(void)
{
	struct rt_blk_info info;
	const char *why = 0;

	device_reset(true, true, 1u << 20);
	TAP_EQ_INT(open_dev(&info, &why), 0, "open: a version 2 block device comes up");
	TAP_EQ_INT(REG(VIRTIO_MMIO_STATUS),
		   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			   VIRTIO_STATUS_DRIVER_OK,
		   "... status ends ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK");
	TAP_EQ_INT(REG(VIRTIO_MMIO_DRIVER_FEATURES),
		   1u << VIRTIO_BLK_F_FLUSH | 1u << VIRTIO_RING_F_EVENT_IDX,
		   "... low features: FLUSH and EVENT_IDX, nothing it was not offered");
	TAP_EQ_INT(vb.dev.features >> 32 & 1, 1, "... VERSION_1 negotiated");
	TAP_EQ_INT(REG(VIRTIO_MMIO_QUEUE_NUM), 256, "... queue of 256 entries");
	TAP_EQ_INT(REG(VIRTIO_MMIO_QUEUE_READY), 1, "... queue enabled");
	TAP_OK(info.sectors == 1u << 20 && info.max_depth == 32 && info.max_bytes == 1u << 20 &&
		       info.flush,
	       "... 2^20 sectors, depth 32, 1 MiB requests, flush honoured");
	TAP_OK(info.note && strstr(info.note, "virtio-blk mmio v2") && strstr(info.note, "event idx"),
	       "... the note names the transport and event index");
	TAP_EQ_INT(ring_avail()[0], VIRTQ_AVAIL_F_NO_INTERRUPT, "... no interrupts asked for");
}

static void test_requests(void)
{
	struct rt_blk_info info;
	const char *why;
	uint8_t *buf = rt_alloc(8192, 4096);
	volatile struct virtq_desc *d;
	volatile uint16_t *avail;
	uint64_t tag;
	int st;
	uint16_t head;

	device_reset(false, true, 4096);
	open_dev(&info, &why);
	d = ring_desc();
	avail = ring_avail();
	TAP_EQ_INT(rt_virtio_blk_ops.submit(RT_BLK_READ, 8, buf, 8192, 77), 0, "READ submitted");
	TAP_EQ_INT(avail[1], 0, "... not visible before the kick");
	TAP_EQ_INT(REG(VIRTIO_MMIO_QUEUE_NOTIFY), NOTIFY_NONE, "... no notification yet");
	rt_virtio_blk_ops.kick();
	TAP_EQ_INT(avail[1], 1, "kick publishes avail->idx 1");
	TAP_EQ_INT(REG(VIRTIO_MMIO_QUEUE_NOTIFY), 0, "... and notifies queue 0 (no NO_NOTIFY)");
	head = avail[2];
	TAP_OK(d[head].len == 16 && d[head].flags == VIRTQ_DESC_F_NEXT &&
		       ((struct vblk_hdr *)(uintptr_t)d[head].addr)->type == VIRTIO_BLK_T_IN &&
		       ((struct vblk_hdr *)(uintptr_t)d[head].addr)->sector == 8,
	       "header: 16 bytes, device-readable, type IN, sector 8");
	TAP_OK(d[d[head].next].addr == (uintptr_t)buf && d[d[head].next].len == 8192 &&
		       d[d[head].next].flags == (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE),
	       "data: the buffer, 8192 bytes, device-writable for a read");
	TAP_OK(d[d[d[head].next].next].len == 1 && d[d[d[head].next].next].flags == VIRTQ_DESC_F_WRITE,
	       "status: 1 byte, device-writable, end of the chain");
	TAP_EQ_INT(rt_virtio_blk_ops.poll(&tag, &st, 1), 0, "nothing used yet: poll returns 0");
	device_complete(head, VIRTIO_BLK_S_OK);
	TAP_OK(rt_virtio_blk_ops.poll(&tag, &st, 1) == 1 && tag == 77 && st == 0,
	       "completion: tag 77, status 0");

	REG(VIRTIO_MMIO_QUEUE_NOTIFY) = NOTIFY_NONE;
	ring_used()[0] = VIRTQ_USED_F_NO_NOTIFY;
	rt_virtio_blk_ops.submit(RT_BLK_WRITE, 16, buf, 4096, 78);
	rt_virtio_blk_ops.kick();
	TAP_EQ_INT(REG(VIRTIO_MMIO_QUEUE_NOTIFY), NOTIFY_NONE, "NO_NOTIFY: published, not notified");
	head = avail[3];
	TAP_OK(d[d[head].next].flags == VIRTQ_DESC_F_NEXT &&
		       ((struct vblk_hdr *)(uintptr_t)d[head].addr)->type == VIRTIO_BLK_T_OUT,
	       "WRITE: type OUT, data device-readable");
	device_complete(head, 1 /* IOERR */);
	TAP_OK(rt_virtio_blk_ops.poll(&tag, &st, 1) == 1 && tag == 78 && st == -5,
	       "an IOERR status completes with -EIO");

	rt_virtio_blk_ops.submit(RT_BLK_FLUSH, 0, 0, 0, 79);
	rt_virtio_blk_ops.kick();
	head = avail[4];
	TAP_OK(((struct vblk_hdr *)(uintptr_t)d[head].addr)->type == VIRTIO_BLK_T_FLUSH &&
		       d[d[head].next].len == 1 && d[d[head].next].flags == VIRTQ_DESC_F_WRITE,
	       "FLUSH: header then status, no data");
	device_complete(head, VIRTIO_BLK_S_OK);
	TAP_OK(rt_virtio_blk_ops.poll(&tag, &st, 1) == 1 && tag == 79 && st == 0, "FLUSH completes");

	not_ram = (uintptr_t)buf;
	TAP_EQ_INT(rt_virtio_blk_ops.submit(RT_BLK_READ, 0, buf, 4096, 80), -22,
		   "a buffer outside RAM is refused (-EINVAL)");
	not_ram = 0;
	free(buf);
}

static void test_depth(void)
{
	struct rt_blk_info info;
	const char *why;
	uint8_t *buf = rt_alloc(4096, 4096);
	uint64_t tags[40], seen = 0;
	int st[40];
	unsigned n = 0, got;
	volatile uint16_t *avail;

	device_reset(false, true, 4096);
	open_dev(&info, &why);
	avail = ring_avail();
	for (unsigned i = 0; i < 32; i++)
		n += rt_virtio_blk_ops.submit(RT_BLK_READ, i * 8, buf, 4096, 100 + i) == 0;
	TAP_EQ_INT(n, 32, "32 requests in flight");
	TAP_EQ_INT(rt_virtio_blk_ops.submit(RT_BLK_READ, 0, buf, 4096, 999), -11,
		   "the 33rd: -EAGAIN");
	rt_virtio_blk_ops.kick();
	for (unsigned i = 32; i-- > 0;) /* out of order */
		device_complete(avail[2 + i], VIRTIO_BLK_S_OK);
	got = rt_virtio_blk_ops.poll(tags, st, 10);
	got += rt_virtio_blk_ops.poll(tags + got, st + got, 40);
	for (unsigned i = 0; i < got; i++)
		if (st[i] == 0 && tags[i] >= 100 && tags[i] < 132)
			seen |= 1ull << (tags[i] - 100);
	TAP_OK(got == 32 && seen == 0xffffffffull,
	       "out-of-order completions: every tag once, at most max per poll");
	TAP_EQ_INT(rt_virtio_blk_ops.submit(RT_BLK_READ, 0, buf, 4096, 200), 0,
		   "slots are free again");
	free(buf);
}

static void test_event_idx_kick(void)
{
	struct rt_blk_info info;
	const char *why;
	uint8_t *buf = rt_alloc(4096, 4096);
	volatile uint16_t *used, *avail;
	uint64_t tag;
	int st;

	device_reset(true, true, 4096);
	open_dev(&info, &why);
	used = ring_used();
	avail = ring_avail();
	used[2 + 4 * 256] = 5; /* avail_event: tell me once idx passes 5 */
	rt_virtio_blk_ops.submit(RT_BLK_READ, 0, buf, 4096, 1);
	rt_virtio_blk_ops.kick();
	TAP_EQ_INT(REG(VIRTIO_MMIO_QUEUE_NOTIFY), NOTIFY_NONE, "event idx 5, avail 0 -> 1: no notify");
	used[2 + 4 * 256] = 0;
	rt_virtio_blk_ops.submit(RT_BLK_READ, 0, buf, 4096, 2);
	rt_virtio_blk_ops.kick();
	TAP_EQ_INT(REG(VIRTIO_MMIO_QUEUE_NOTIFY), NOTIFY_NONE, "event idx 0, avail 1 -> 2: no notify");
	used[2 + 4 * 256] = 2;
	rt_virtio_blk_ops.submit(RT_BLK_READ, 0, buf, 4096, 3);
	rt_virtio_blk_ops.kick();
	TAP_EQ_INT(REG(VIRTIO_MMIO_QUEUE_NOTIFY), 0, "event idx 2, avail 2 -> 3: notify");
	device_complete(avail[2], VIRTIO_BLK_S_OK);
	rt_virtio_blk_ops.poll(&tag, &st, 1);
	TAP_EQ_INT(avail[2 + 256], (uint16_t)(1 + 0x7fff),
		   "used_event kept half the index space ahead of what was consumed");
	free(buf);
}

static void test_no_flush_feature(void)
{
	struct rt_blk_info info;
	const char *why;
	uint64_t tag;
	int st;

	device_reset(false, false, 4096);
	open_dev(&info, &why);
	TAP_OK(!info.flush && strstr(info.note, "flush no-op"),
	       "without VIRTIO_BLK_F_FLUSH: info.flush false, the note says so");
	TAP_EQ_INT(rt_virtio_blk_ops.submit(RT_BLK_FLUSH, 0, 0, 0, 9), 0, "FLUSH accepted");
	rt_virtio_blk_ops.kick();
	TAP_EQ_INT(ring_avail()[1], 0, "... nothing sent to the device");
	TAP_OK(rt_virtio_blk_ops.poll(&tag, &st, 1) == 1 && tag == 9 && st == 0,
	       "... completes at once with its tag");
}

static void test_broken_device(void)
{
	struct rt_blk_info info;
	const char *why;
	uint8_t *buf = rt_alloc(4096, 4096);
	volatile uint16_t *used;
	volatile uint32_t *elem;
	uint64_t tags[4];
	int st[4];

	device_reset(false, true, 4096);
	open_dev(&info, &why);
	rt_virtio_blk_ops.submit(RT_BLK_READ, 0, buf, 4096, 1);
	rt_virtio_blk_ops.submit(RT_BLK_READ, 8, buf, 4096, 2);
	rt_virtio_blk_ops.kick();
	used = ring_used();
	elem = (volatile uint32_t *)(used + 2);
	elem[0] = 1; /* not the head of a chain */
	used[1] = 1;
	TAP_OK(rt_virtio_blk_ops.poll(tags, st, 4) == 2 && st[0] == -5 && st[1] == -5,
	       "a used head not in flight: both outstanding requests fail with -EIO");
	TAP_OK(strstr(last_log, "bad used element"), "... and the log says why");
	TAP_EQ_INT(rt_virtio_blk_ops.submit(RT_BLK_READ, 0, buf, 4096, 3), -5,
		   "... later submits fail with -EIO");

	device_reset(false, true, 4096);
	open_dev(&info, &why);
	rt_virtio_blk_ops.submit(RT_BLK_READ, 0, buf, 4096, 4);
	rt_virtio_blk_ops.kick();
	REG(VIRTIO_MMIO_STATUS) |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	unsigned n = 0;
	for (unsigned i = 0; i <= IDLE_CHECK && !n; i++)
		n = rt_virtio_blk_ops.poll(tags, st, 4);
	TAP_OK(n == 1 && tags[0] == 4 && st[0] == -5,
	       "DEVICE_NEEDS_RESET: found after a run of empty polls, the request fails");
	free(buf);
}

static void test_refusals(void)
{
	struct rt_blk_info info;
	const char *why = 0;

	device_reset(false, true, 4096);
	REG(VIRTIO_MMIO_VERSION) = 1;
	TAP_OK(open_dev(&info, &why) == -19 && strstr(why, "legacy"),
	       "a version 1 (legacy) block device is refused, naming legacy");
	device_reset(false, true, 4096);
	REG(VIRTIO_MMIO_DEVICE_FEATURES) = 1u << VIRTIO_BLK_F_FLUSH; /* VERSION_1's high bit 0 clear */
	TAP_OK(open_dev(&info, &why) == -19 && strstr(why, "VIRTIO_F_VERSION_1"),
	       "no VIRTIO_F_VERSION_1: refused, saying so");
	TAP_OK(REG(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FAILED, "... and the device is told FAILED");
	device_reset(false, true, 0);
	TAP_OK(open_dev(&info, &why) == -19 && strstr(why, "capacity 0"), "capacity 0: refused");
	device_reset(false, true, 4096);
	REG(VIRTIO_MMIO_QUEUE_NUM_MAX) = 0;
	TAP_OK(open_dev(&info, &why) == -19 && strstr(why, "QueueNumMax is 0"), "no queue: refused");
	device_reset(false, true, 4096);
	REG(VIRTIO_MMIO_DEVICE_ID) = 1; /* a network card */
	TAP_OK(open_dev(&info, &why) == -19 && strstr(why, "no virtio-blk device in"),
	       "a window with another device: no block device");
	device_reset(false, true, 4096);
	REG(VIRTIO_MMIO_QUEUE_NUM_MAX) = 2; /* too small for header + data + status */
	TAP_OK(open_dev(&info, &why) == -19 && strstr(why, "too small"),
	       "a queue of 2 entries: too small for one request");
	device_reset(false, true, 4096);
	rt_virtio_windows.n = 0;
	TAP_OK(open_dev(&info, &why) == -19 && strstr(why, "no virtio_mmio.device= window"),
	       "no window at all: says which word is missing");
}

int main(void)
{
	test_bring_up();
	test_requests();
	test_depth();
	test_event_idx_kick();
	test_no_flush_feature();
	test_broken_device();
	test_refusals();
	device_reset(false, false, 0);
	return tap_done();
}
