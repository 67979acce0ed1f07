/*
 * The guest's virtio driver side (virtio 1.2): the virtio-mmio transport
 * (version 2, "modern"), split virtqueues with event index, and the
 * `virtio_mmio.device=` command-line words that say where the windows are.
 * Used by virtio_blk.c and virtio_net.c (the hvm platform's rt_blk_ops and
 * rt_net_ops); everything runs in
 * ring 3 and polls: no interrupt is ever taken (rt.h, README.md).
 *
 * The parts without device access (the command-line scanner, the event
 * index test, the ring layout) are static inline here so that the host's
 * unit test (tests/unit/test_virtio_guest.c) runs the very same code.
 */
#ifndef HVB_RT_VIRTIO_H
#define HVB_RT_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------ virtio-mmio registers */
/* Offsets in the window (virtio 1.2 §4.2.2); every access is 32 bits wide. */
#define VIRTIO_MMIO_MAGIC	       0x000 /* "virt" */
#define VIRTIO_MMIO_VERSION	       0x004 /* 2 (1 is the legacy layout) */
#define VIRTIO_MMIO_DEVICE_ID	       0x008 /* 0 = placeholder, 2 = block */
#define VIRTIO_MMIO_VENDOR_ID	       0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES    0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES    0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL	       0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX      0x034
#define VIRTIO_MMIO_QUEUE_NUM	       0x038
#define VIRTIO_MMIO_QUEUE_READY	       0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY       0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS   0x060
#define VIRTIO_MMIO_INTERRUPT_ACK      0x064
#define VIRTIO_MMIO_STATUS	       0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW     0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH    0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW   0x090 /* the available ring */
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH  0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW   0x0a0 /* the used ring */
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH  0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION  0x0fc
#define VIRTIO_MMIO_CONFIG	       0x100 /* device-specific configuration */

#define VIRTIO_MMIO_MAGIC_VALUE 0x74726976u /* "virt", little-endian */

/* Device status bits (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	 0x01
#define VIRTIO_STATUS_DRIVER		 0x02
#define VIRTIO_STATUS_DRIVER_OK		 0x04
#define VIRTIO_STATUS_FEATURES_OK	 0x08
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED		 0x80

/* Transport feature bits (§6). */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX	    29
#define VIRTIO_F_VERSION_1	    32

#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2

/* ------------------------------------------------ split virtqueue (§2.7) */
#define VIRTQ_DESC_F_NEXT  1
#define VIRTQ_DESC_F_WRITE 2 /* device writes the buffer */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1

struct virtq_desc {
	uint64_t addr; /* guest-physical */
	uint32_t len;
	uint16_t flags, next;
};

struct virtq_used_elem {
	uint32_t id, len; /* head of the chain, bytes the device wrote */
};

/*
 * Ring layout for `num` entries, each part in its own allocation (virtio-mmio
 * v2 takes the three addresses separately):
 *   avail: flags, idx, ring[num], used_event
 *   used:  flags, idx, ring[num] (8 bytes each), avail_event
 */
static inline size_t virtq_avail_bytes(unsigned num)
{
	return 2 * (3 + (size_t)num);
}

static inline size_t virtq_used_bytes(unsigned num)
{
	return 6 + 8 * (size_t)num;
}

/*
 * Event index (§2.7.7.2, Linux's vring_need_event): must the other side be
 * told, now that its index moved from `old_idx` to `new_idx`, given that it
 * asked to hear once the index passes `event`?  All arithmetic mod 2^16.
 */
static inline bool virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/* Largest power of two <= n (queue sizes of a split ring are powers of two). */
static inline unsigned virtq_pow2_floor(unsigned n)
{
	unsigned p = 1;

	if (!n)
		return 0;
	while (p <= n / 2)
		p *= 2;
	return p;
}

/* ------------------------------------------------ virtio_mmio.device= */
/*
 * One word `virtio_mmio.device=<size>@<base>:<irq>[:<id>]` as Linux reads it
 * (drivers/virtio/virtio_mmio.c): size as memparse does (decimal or 0x-hex,
 * optional K, M or G suffix), base and irq as C integers (decimal or 0x-hex
 * here), an optional platform-device id that the guest ignores.  QEMU's
 * microvm writes "virtio_mmio.device=512@0xfeb00e00:12".
 */
struct rt_virtio_window {
	uint64_t base, size;
	uint32_t irq;
};

#define VIRTIO_MMIO_WORD "virtio_mmio.device="

/* Unsigned number at *s (decimal, or 0x-hex), advancing *s; false if
 * there are no digits or it overflows 64 bits. */
static inline bool virtio_parse_num(const char **s, uint64_t *out)
{
	const char *p = *s;
	unsigned base = 10, digits = 0;
	uint64_t v = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	for (;; p++, digits++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	if (!digits)
		return false;
	*s = p;
	*out = v;
	return true;
}

/* The value of one word (after the '='), up to its end (space or NUL). */
static inline bool virtio_parse_window(const char *s, struct rt_virtio_window *w)
{
	uint64_t size, base, irq, id, shift = 0;

	if (!virtio_parse_num(&s, &size))
		return false;
	if (*s == 'K' || *s == 'k')
		shift = 10;
	else if (*s == 'M' || *s == 'm')
		shift = 20;
	else if (*s == 'G' || *s == 'g')
		shift = 30;
	if (shift && size > (UINT64_MAX >> shift))
		return false;
	size <<= shift;
	s += shift ? 1 : 0;
	if (*s++ != '@' || !virtio_parse_num(&s, &base) || *s++ != ':' ||
	    !virtio_parse_num(&s, &irq) || irq > UINT32_MAX)
		return false;
	if (*s == ':' && (s++, !virtio_parse_num(&s, &id)))
		return false;
	if (*s && *s != ' ')
		return false;
	if (!size || base > UINT64_MAX - size)
		return false;
	*w = (struct rt_virtio_window){ base, size, (uint32_t)irq };
	return true;
}

/*
 * Every virtio_mmio.device= word of the command line, in order (several may
 * be there: QEMU writes one per transport that has a device).  Stores at
 * most `max` windows in w[]; returns how many words it found, valid or
 * not; *bad counts the malformed ones (not stored).
 */
static inline unsigned virtio_mmio_scan(const char *cmdline, struct rt_virtio_window *w,
					unsigned max, unsigned *stored, unsigned *bad)
{
	const size_t klen = sizeof(VIRTIO_MMIO_WORD) - 1;
	unsigned found = 0;

	*stored = *bad = 0;
	for (const char *p = cmdline; *p;) {
		size_t k = 0;

		while (*p == ' ')
			p++;
		while (k < klen && p[k] == VIRTIO_MMIO_WORD[k])
			k++;
		if (k == klen) {
			struct rt_virtio_window win;

			found++;
			if (!virtio_parse_window(p + klen, &win))
				(*bad)++;
			else if (*stored < max)
				w[(*stored)++] = win;
		}
		while (*p && *p != ' ')
			p++;
	}
	return found;
}

/* ------------------------------------------------ virtio.c: the driver side */

struct rt_virtio_dev {
	volatile uint32_t *regs; /* the window, mapped uncached and user-accessible */
	uint64_t base;
	uint64_t features;	 /* negotiated */
};

struct rt_virtq {
	unsigned num; /* entries, a power of two */
	volatile struct virtq_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[num], used_event */
	volatile uint16_t *used;  /* flags, idx, then elements; avail_event at the end */
	uint16_t avail_idx;	  /* next free slot of avail->ring (published by kick) */
	uint16_t kicked_idx;	  /* avail->idx the device was last told about */
	uint16_t last_used;	  /* used elements consumed */
	bool event_idx;
	unsigned index;		  /* queue number on the device */
};

/* Check the window at dev->base (mapped at dev->regs): magic, version 2,
 * device id; 0 or -ENODEV with *why set. */
int rt_virtio_mmio_probe(struct rt_virtio_dev *dev, uint32_t device_id, const char **why);
/* Reset, ACKNOWLEDGE | DRIVER, offer (device & wanted), require `required`
 * (VIRTIO_F_VERSION_1 at least), FEATURES_OK.  0 or -errno with *why. */
int rt_virtio_negotiate(struct rt_virtio_dev *dev, uint64_t wanted, uint64_t required,
			const char **why);
/* Size queue `index` (at most max_num entries), allocate its rings and
 * enable it.  0 or -errno with *why. */
int rt_virtq_init(struct rt_virtio_dev *dev, struct rt_virtq *q, unsigned index,
		  unsigned max_num, const char **why);
/* DRIVER_OK: the device may now process the queues. */
void rt_virtio_driver_ok(struct rt_virtio_dev *dev);
/* Tell the device it failed us (status FAILED), e.g. when set-up stopped. */
void rt_virtio_fail(struct rt_virtio_dev *dev);
uint32_t rt_virtio_status(struct rt_virtio_dev *dev);
/* Device configuration reads, each as wide as its field (§4.2.2.2: 8-bit
 * fields with 8-bit accesses, 16-bit ones with aligned 16-bit accesses),
 * repeated until the generation counter holds still. */
uint8_t rt_virtio_config8(struct rt_virtio_dev *dev, unsigned offset);
uint16_t rt_virtio_config16(struct rt_virtio_dev *dev, unsigned offset);
uint32_t rt_virtio_config32(struct rt_virtio_dev *dev, unsigned offset);
uint64_t rt_virtio_config64(struct rt_virtio_dev *dev, unsigned offset);

/* Queue the chain starting at descriptor `head` (not yet visible). */
void rt_virtq_push(struct rt_virtq *q, uint16_t head);
/* Publish what was pushed; notify the device (one MMIO write) if it asked
 * to hear of it (event index, or no NO_NOTIFY flag).  Returns whether it
 * notified. */
bool rt_virtq_kick(struct rt_virtio_dev *dev, struct rt_virtq *q);
/* Take one used element; false if there is none. */
bool rt_virtq_pop(struct rt_virtq *q, uint32_t *id, uint32_t *len);

/* ------------------------------------------------ hvm.c <-> virtio_blk.c, virtio_net.c */

#define RT_VIRTIO_WINDOWS_MAX 32 /* QEMU 7.2 microvm has 24 transports */

/* The windows of the command line (virtio_mmio.device=), read once at boot
 * by the hvm platform's mmio_pages; `why` names the first that was left out
 * (malformed, inside RAM, beyond the mapped area), NULL if none. */
struct rt_virtio_windows {
	struct rt_virtio_window w[RT_VIRTIO_WINDOWS_MAX];
	unsigned n;
	const char *why;
};
extern struct rt_virtio_windows rt_virtio_windows;
/* Parse the command line and keep the usable windows; write the pages to
 * map (deduplicated, at most max) to page[]; returns how many. */
unsigned rt_virtio_windows_init(const char *cmdline, uint64_t *page, unsigned max);

#endif /* HVB_RT_VIRTIO_H */
