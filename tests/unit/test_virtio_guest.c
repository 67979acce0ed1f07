/*
 * The guest virtio driver's pure parts (workloads/rt/virtio.h), the same
 * code the guest runs: the virtio_mmio.device= scanner (QEMU microvm's
 * words, the reference core's, K/M/G and hex sizes, the optional id,
 * several words, every malformed form we can think of), the event-index
 * test with wrap-around, the queue-size rounding and the ring sizes.
 */
#include <string.h>

#include "rt/virtio.h"
#include "tap.h"

static struct rt_virtio_window w[4];
static unsigned stored, bad;

static unsigned scan(const char *cmdline)
{
	memset(w, 0, sizeof(w));
	return virtio_mmio_scan(cmdline, w, 4, &stored, &bad);
}

static void test_words(void)
{
	TAP_EQ_INT(scan("w=io/verify virtio_mmio.device=512@0xfeb02e00:47 pt=4k"), 1,
		   "QEMU microvm's word is found among others");
	TAP_OK(stored == 1 && !bad && w[0].size == 512 && w[0].base == 0xfeb02e00 && w[0].irq == 47,
	       "... 512 bytes at 0xfeb02e00, irq 47");
	scan("virtio_mmio.device=4K@0xd0010000:5");
	TAP_OK(stored == 1 && w[0].size == 4096 && w[0].base == 0xd0010000ull && w[0].irq == 5,
	       "4K suffix: 4096 bytes (the reference core's window)");
	scan("virtio_mmio.device=1M@0x100000000:9 virtio_mmio.device=2g@4096:1");
	TAP_OK(stored == 2 && w[0].size == 1u << 20 && w[0].base == 1ull << 32 &&
		       w[1].size == 2ull << 30 && w[1].base == 4096,
	       "M and lower-case g suffixes, decimal base, a base above 4 GiB");
	scan("virtio_mmio.device=0x200@0XFEB00000:5:3");
	TAP_OK(stored == 1 && w[0].size == 0x200 && w[0].base == 0xfeb00000ull && w[0].irq == 5,
	       "hex size, upper-case 0X base, the optional :id is accepted and ignored");
	TAP_EQ_INT(scan("a virtio_mmio.device=512@0x1000:1 b virtio_mmio.device=512@0x2000:2 "
			"virtio_mmio.device=512@0x3000:3"),
		   3, "three words among others: all found");
	TAP_OK(stored == 3 && w[0].base == 0x1000 && w[1].base == 0x2000 && w[2].base == 0x3000,
	       "... in command-line order");
	TAP_EQ_INT(scan("virtio_mmio.device=1@0x1:1 virtio_mmio.device=1@0x2:1 "
			"virtio_mmio.device=1@0x3:1 virtio_mmio.device=1@0x4:1 "
			"virtio_mmio.device=1@0x5:1"),
		   5, "five words, room for four: all counted");
	TAP_OK(stored == 4 && !bad && w[3].base == 4, "... the first four stored");
	TAP_EQ_INT(scan("xvirtio_mmio.device=512@0x1000:1 virtio_mmio.devices=512@0x1000:1 "
			"virtio_mmio.device"),
		   0, "other words that start alike are not ours");
	TAP_EQ_INT(scan(""), 0, "empty command line: nothing");
	TAP_EQ_INT(scan("   "), 0, "spaces only: nothing");
}

static void test_malformed(void)
{
	static const char *const words[] = {
		"virtio_mmio.device=",			     /* empty */
		"virtio_mmio.device=512",		     /* no base */
		"virtio_mmio.device=512@0xfeb00000",	     /* no irq */
		"virtio_mmio.device=512@0xfeb00000:",	     /* irq without digits */
		"virtio_mmio.device=512@feb00000:5",	     /* hex base without 0x */
		"virtio_mmio.device=512@0x:5",		     /* 0x without digits */
		"virtio_mmio.device=512@0xfeb00000:5x",	     /* junk after irq */
		"virtio_mmio.device=512@0xfeb00000:5:",	     /* id without digits */
		"virtio_mmio.device=512@0xfeb00000:5:1:2",   /* two ids */
		"virtio_mmio.device=0@0xfeb00000:5",	     /* size 0 */
		"virtio_mmio.device=512T@0xfeb00000:5",	     /* unknown suffix */
		"virtio_mmio.device=-512@0xfeb00000:5",	     /* sign */
		"virtio_mmio.device=512@0xfeb00000:4294967296", /* irq past 32 bits */
		"virtio_mmio.device=18446744073709551616@0x1000:5", /* size past 64 bits */
		"virtio_mmio.device=0x10000000000000000@0x1000:5",  /* hex size past 64 bits */
		"virtio_mmio.device=17179869184G@0x1000:5",	    /* suffix overflows */
		"virtio_mmio.device=0x2000@0xfffffffffffff000:5",   /* base + size wraps */
	};

	for (unsigned i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		char desc[160];

		snprintf(desc, sizeof(desc), "malformed '%s': counted as bad, not stored", words[i]);
		TAP_OK(scan(words[i]) == 1 && bad == 1 && stored == 0, desc);
	}
	scan("virtio_mmio.device=512@0x:5 virtio_mmio.device=512@0x1000:5");
	TAP_OK(bad == 1 && stored == 1 && w[0].base == 0x1000,
	       "a bad word does not hide the good one after it");
}

static void test_event_idx(void)
{
	TAP_OK(virtq_need_event(0, 1, 0), "event 0, idx 0 -> 1: notify");
	TAP_OK(!virtq_need_event(5, 3, 0), "event 5, idx 0 -> 3: not yet");
	TAP_OK(virtq_need_event(5, 6, 3), "event 5, idx 3 -> 6: crossed, notify");
	TAP_OK(!virtq_need_event(2, 6, 3), "event 2, idx 3 -> 6: already told, no notify");
	TAP_OK(virtq_need_event(0xffff, 2, 0xfffe), "wrap: event 0xffff, idx 0xfffe -> 2: notify");
	TAP_OK(!virtq_need_event(0x7fff, 10, 0), "event half the space ahead: silent");
	TAP_OK(!virtq_need_event(0, 0, 0), "no new entries: never");
}

static void test_sizes(void)
{
	TAP_EQ_INT(virtq_pow2_floor(0), 0, "queue size 0 stays 0 (no queue)");
	TAP_EQ_INT(virtq_pow2_floor(1), 1, "1 -> 1");
	TAP_EQ_INT(virtq_pow2_floor(3), 2, "3 -> 2");
	TAP_EQ_INT(virtq_pow2_floor(256), 256, "256 -> 256");
	TAP_EQ_INT(virtq_pow2_floor(1000), 512, "1000 -> 512");
	TAP_EQ_INT(virtq_pow2_floor(0xffffffffu), 0x80000000u, "UINT32_MAX -> 2^31");
	TAP_EQ_INT(virtq_avail_bytes(256), 6 + 2 * 256, "avail ring of 256: flags, idx, ring, used_event");
	TAP_EQ_INT(virtq_used_bytes(256), 6 + 8 * 256, "used ring of 256: flags, idx, ring, avail_event");
	TAP_EQ_INT(sizeof(struct virtq_desc), 16, "a descriptor is 16 bytes");
	TAP_EQ_INT(sizeof(struct virtq_used_elem), 8, "a used element is 8 bytes");
}

int main(void)
{
	test_words();
	test_malformed();
	test_event_idx();
	test_sizes();
	return tap_done();
}
