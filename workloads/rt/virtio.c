/*
 * virtio-mmio (version 2) transport and split virtqueues, driver side, in
 * guest ring 3 (virtio.h).  The window is mapped uncached and
 * user-accessible (hvm.c passes its page to rt_paging_init), guest RAM is
 * identity-mapped (mem.c), so a pointer into RAM is the guest-physical
 * address the device uses.
 *
 * Memory ordering, x86 rules: stores are not reordered with stores and
 * loads not with loads, so a compiler barrier orders the descriptor and
 * ring writes before the avail->idx store, and the used->idx load before
 * the element loads.  The one store-load pair that needs a fence is
 * publishing avail->idx and then reading what the device asked for
 * (avail_event, used->flags): without mfence the read may pass the store,
 * see a stale request and skip a notification the device waits for.
 */
#include "harness.h"
#include "rt.h"
#include "virtio.h"

#define RT_ENODEV 19
#define RT_ENOMEM 12
#define RT_EIO 5

static inline uint32_t reg_read(struct rt_virtio_dev *dev, unsigned off)
{
	return dev->regs[off / 4];
}

static inline void reg_write(struct rt_virtio_dev *dev, unsigned off, uint32_t v)
{
	dev->regs[off / 4] = v;
}

static void reg_write64(struct rt_virtio_dev *dev, unsigned lo, unsigned hi, uint64_t v)
{
	reg_write(dev, lo, (uint32_t)v);
	reg_write(dev, hi, (uint32_t)(v >> 32));
}

int rt_virtio_mmio_probe(struct rt_virtio_dev *dev, uint32_t device_id, const char **why)
{
	uint32_t version;

	if (reg_read(dev, VIRTIO_MMIO_MAGIC) != VIRTIO_MMIO_MAGIC_VALUE) {
		*why = "no virtio-mmio magic in the window";
		return -RT_ENODEV;
	}
	version = reg_read(dev, VIRTIO_MMIO_VERSION);
	if (reg_read(dev, VIRTIO_MMIO_DEVICE_ID) != device_id) {
		*why = "the window holds another device type";
		return -RT_ENODEV;
	}
	if (version == 1) {
		*why = "virtio-mmio v1 (legacy) device: needs v2 "
		       "(QEMU: -global virtio-mmio.force-legacy=false)";
		return -RT_ENODEV;
	}
	if (version != 2) {
		*why = "virtio-mmio version is neither 1 nor 2";
		return -RT_ENODEV;
	}
	return 0;
}

void rt_virtio_fail(struct rt_virtio_dev *dev)
{
	reg_write(dev, VIRTIO_MMIO_STATUS, reg_read(dev, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_FAILED);
}

uint32_t rt_virtio_status(struct rt_virtio_dev *dev)
{
	return reg_read(dev, VIRTIO_MMIO_STATUS);
}

static uint64_t device_features(struct rt_virtio_dev *dev)
{
	uint64_t f;

	reg_write(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f = (uint64_t)reg_read(dev, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	reg_write(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return f | reg_read(dev, VIRTIO_MMIO_DEVICE_FEATURES);
}

int rt_virtio_negotiate(struct rt_virtio_dev *dev, uint64_t wanted, uint64_t required,
			const char **why)
{
	uint64_t offered;

	reg_write(dev, VIRTIO_MMIO_STATUS, 0); /* reset */
	if (reg_read(dev, VIRTIO_MMIO_STATUS) != 0) {
		*why = "the device does not reset (status stays non-zero after writing 0)";
		return -RT_EIO;
	}
	reg_write(dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	reg_write(dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	offered = device_features(dev);
	if ((offered & required) != required) {
		rt_virtio_fail(dev);
		*why = (required & ~offered) >> VIRTIO_F_VERSION_1 & 1
			       ? "the device does not offer VIRTIO_F_VERSION_1"
			       : "the device does not offer a feature this driver needs";
		return -RT_ENODEV;
	}
	dev->features = offered & (wanted | required);
	reg_write(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(dev->features >> 32));
	reg_write(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)dev->features);
	reg_write(dev, VIRTIO_MMIO_STATUS,
		  VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	if (!(reg_read(dev, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
		rt_virtio_fail(dev);
		*why = "the device refused the features (FEATURES_OK did not stay set)";
		return -RT_ENODEV;
	}
	return 0;
}

/* Config fields may change under us (§2.5.1): read until the generation
 * counter is the same before and after. */
uint8_t rt_virtio_config8(struct rt_virtio_dev *dev, unsigned offset)
{
	volatile uint8_t *cfg = (volatile uint8_t *)dev->regs + VIRTIO_MMIO_CONFIG;
	uint32_t gen;
	uint8_t v;

	do {
		gen = reg_read(dev, VIRTIO_MMIO_CONFIG_GENERATION);
		v = cfg[offset];
	} while (gen != reg_read(dev, VIRTIO_MMIO_CONFIG_GENERATION));
	return v;
}

uint16_t rt_virtio_config16(struct rt_virtio_dev *dev, unsigned offset)
{
	volatile uint16_t *cfg = (volatile uint16_t *)((volatile uint8_t *)dev->regs +
						       VIRTIO_MMIO_CONFIG);
	uint32_t gen;
	uint16_t v;

	do {
		gen = reg_read(dev, VIRTIO_MMIO_CONFIG_GENERATION);
		v = cfg[offset / 2];
	} while (gen != reg_read(dev, VIRTIO_MMIO_CONFIG_GENERATION));
	return v;
}

uint32_t rt_virtio_config32(struct rt_virtio_dev *dev, unsigned offset)
{
	uint32_t gen, v;

	do {
		gen = reg_read(dev, VIRTIO_MMIO_CONFIG_GENERATION);
		v = reg_read(dev, VIRTIO_MMIO_CONFIG + offset);
	} while (gen != reg_read(dev, VIRTIO_MMIO_CONFIG_GENERATION));
	return v;
}

uint64_t rt_virtio_config64(struct rt_virtio_dev *dev, unsigned offset)
{
	uint32_t gen, lo, hi;

	do {
		gen = reg_read(dev, VIRTIO_MMIO_CONFIG_GENERATION);
		lo = reg_read(dev, VIRTIO_MMIO_CONFIG + offset);
		hi = reg_read(dev, VIRTIO_MMIO_CONFIG + offset + 4);
	} while (gen != reg_read(dev, VIRTIO_MMIO_CONFIG_GENERATION));
	return (uint64_t)hi << 32 | lo;
}

int rt_virtq_init(struct rt_virtio_dev *dev, struct rt_virtq *q, unsigned index,
		  unsigned max_num, const char **why)
{
	unsigned num;

	reg_write(dev, VIRTIO_MMIO_QUEUE_SEL, index);
	if (reg_read(dev, VIRTIO_MMIO_QUEUE_READY)) {
		*why = "the queue is already live after a reset";
		return -RT_EIO;
	}
	num = reg_read(dev, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (num > max_num)
		num = max_num;
	num = virtq_pow2_floor(num);
	if (!num) {
		*why = index ? "the device lacks a queue the driver needs (QueueNumMax is 0)"
			     : "the device has no queue 0 (QueueNumMax is 0)";
		return -RT_ENODEV;
	}
	/* Zeroed by rt_alloc: flags 0, indexes 0.  Alignment as §2.7 asks
	 * (16, 2, 4); a page each keeps them apart from other data. */
	q->desc = rt_alloc(sizeof(struct virtq_desc) * num, 4096);
	q->avail = rt_alloc(virtq_avail_bytes(num), 4096);
	q->used = rt_alloc(virtq_used_bytes(num), 4096);
	if (!q->desc || !q->avail || !q->used) {
		*why = "no memory for the virtqueue rings";
		return -RT_ENOMEM;
	}
	q->num = num;
	q->index = index;
	q->event_idx = dev->features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	q->avail_idx = q->kicked_idx = q->last_used = 0;
	/* Polled completion: ask for no interrupts.  With event index the flag
	 * is ignored and used_event decides: keep it half the index space
	 * ahead (rt_virtq_pop moves it along). */
	q->avail[0] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	q->avail[2 + num] = 0x7fff;
	reg_write(dev, VIRTIO_MMIO_QUEUE_NUM, num);
	reg_write64(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, VIRTIO_MMIO_QUEUE_DESC_HIGH,
		    (uintptr_t)q->desc);
	reg_write64(dev, VIRTIO_MMIO_QUEUE_DRIVER_LOW, VIRTIO_MMIO_QUEUE_DRIVER_HIGH,
		    (uintptr_t)q->avail);
	reg_write64(dev, VIRTIO_MMIO_QUEUE_DEVICE_LOW, VIRTIO_MMIO_QUEUE_DEVICE_HIGH,
		    (uintptr_t)q->used);
	reg_write(dev, VIRTIO_MMIO_QUEUE_READY, 1);
	return 0;
}

void rt_virtio_driver_ok(struct rt_virtio_dev *dev)
{
	reg_write(dev, VIRTIO_MMIO_STATUS,
		  VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			  VIRTIO_STATUS_DRIVER_OK);
}

void rt_virtq_push(struct rt_virtq *q, uint16_t head)
{
	q->avail[2 + (q->avail_idx & (q->num - 1))] = head;
	q->avail_idx++;
}

bool rt_virtq_kick(struct rt_virtio_dev *dev, struct rt_virtq *q)
{
	uint16_t old = q->kicked_idx, now = q->avail_idx;
	bool notify;

	if (old == now)
		return false;
	rt_barrier(); /* ring entries and descriptors before the index */
	q->avail[1] = now;
	q->kicked_idx = now;
	__asm__ volatile("mfence" ::: "memory"); /* the index store before the reads below */
	if (q->event_idx)
		notify = virtq_need_event(q->used[2 + 4 * q->num], now, old);
	else
		notify = !(q->used[0] & VIRTQ_USED_F_NO_NOTIFY);
	if (notify)
		reg_write(dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);
	return notify;
}

bool rt_virtq_pop(struct rt_virtq *q, uint32_t *id, uint32_t *len)
{
	volatile uint32_t *elem;

	if (q->used[1] == q->last_used)
		return false;
	rt_barrier(); /* the index before the element it covers */
	elem = (volatile uint32_t *)(q->used + 2) + 2 * (q->last_used & (q->num - 1));
	*id = elem[0];
	*len = elem[1];
	q->last_used++;
	if (q->event_idx)
		q->avail[2 + q->num] = (uint16_t)(q->last_used + 0x7fff);
	return true;
}

/* ------------------------------------------------ the windows of this boot */

struct rt_virtio_windows rt_virtio_windows;

#define PAGE 4096ull
#define MAP_TOP (512ull << 30) /* what rt_paging_init can map */

/* Add the page at `p` to page[n] unless it is there; false when full. */
static bool add_page(uint64_t *page, unsigned *n, unsigned max, uint64_t p)
{
	for (unsigned i = 0; i < *n; i++)
		if (page[i] == p)
			return true;
	if (*n == max)
		return false;
	page[(*n)++] = p;
	return true;
}

/*
 * Keep a window if its registers can be mapped: the pages of its first
 * 4 KiB (registers and the device configuration; QEMU's windows are 512
 * bytes, not page-aligned, several in one page) must lie outside RAM and
 * below 512 GiB.  Returns the reason it was left out, or NULL.
 */
static const char *take_window(const struct rt_virtio_window *w, uint64_t *page, unsigned *n,
			       unsigned max)
{
	uint64_t len = w->size < PAGE ? w->size : PAGE;
	uint64_t lo = w->base & ~(PAGE - 1), hi = (w->base + len - 1) & ~(PAGE - 1);
	unsigned had = *n;

	if (len < VIRTIO_MMIO_CONFIG)
		return "a virtio_mmio.device= window is smaller than the virtio-mmio registers";
	if (hi >= MAP_TOP)
		return "a virtio_mmio.device= window lies above 512 GiB (not mapped)";
	for (uint64_t p = lo; p <= hi; p += PAGE)
		if (rt_mem_is_ram(p, PAGE))
			return "a virtio_mmio.device= window lies in RAM (ignored)";
	for (uint64_t p = lo; p <= hi; p += PAGE)
		if (!add_page(page, n, max, p)) {
			*n = had;
			return "more virtio_mmio.device= windows than pages the runtime maps";
		}
	return 0;
}

unsigned rt_virtio_windows_init(const char *cmdline, uint64_t *page, unsigned max)
{
	struct rt_virtio_window found[RT_VIRTIO_WINDOWS_MAX];
	struct rt_virtio_windows *ws = &rt_virtio_windows;
	unsigned stored, bad, n = 0;

	ws->n = 0;
	ws->why = 0;
	if (virtio_mmio_scan(cmdline, found, RT_VIRTIO_WINDOWS_MAX, &stored, &bad) >
	    stored + bad)
		ws->why = "more virtio_mmio.device= words than the runtime takes (32)";
	if (bad)
		ws->why = "a virtio_mmio.device= word is malformed (SIZE@0xBASE:IRQ)";
	for (unsigned i = 0; i < stored; i++) {
		const char *why = take_window(&found[i], page, &n, max);

		if (why && !ws->why)
			ws->why = why;
		if (!why)
			ws->w[ws->n++] = found[i];
	}
	return n;
}
