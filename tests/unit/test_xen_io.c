/*
 * The pure parts of the guest's Xen split drivers (workloads/rt/xen_io.h):
 * byte-ring put/get across the wrap of the ring and of the 32-bit indexes
 * (xenstore), the push-notify rule of io/ring.h, xenstore request framing
 * (lengths, NULs, what does not fit), blkif segment lists (one page, sub-
 * page ranges, page crossings, too many segments, misalignment) and the
 * blkif structure layouts blkback expects (x86_64 ABI).
 */
#include <stddef.h>
#include <string.h>

#include "rt/xen_io.h"
#include "tap.h"

static void test_ring_wrap(void)
{
	char ring[16], out[16];
	uint32_t prod = 0xfffffff8u, cons = 0xfffffff8u;

	TAP_EQ_INT(xen_ring_put(ring, 16, cons, &prod, "0123456789abcdef", 16), 16,
		   "empty 16-byte ring takes 16 bytes across the index wrap");
	TAP_EQ_INT(prod, 8, "producer wrapped past 2^32");
	TAP_EQ_INT(xen_ring_put(ring, 16, cons, &prod, "x", 1), 0, "full ring takes nothing");
	TAP_EQ_INT(xen_ring_avail(16, cons, prod), 16, "16 bytes available");
	xen_ring_get(ring, 16, &cons, out, 10);
	TAP_OK(!memcmp(out, "0123456789", 10), "first 10 bytes back in order");
	TAP_EQ_INT(xen_ring_avail(16, cons, prod), 6, "6 left");
	TAP_EQ_INT(xen_ring_put(ring, 16, cons, &prod, "ABCDEFGHIJKL", 12), 10,
		   "10 free: 10 of 12 taken");
	xen_ring_get(ring, 16, &cons, out, 16);
	TAP_OK(!memcmp(out, "abcdefABCDEFGHIJ", 16), "rest and new bytes in order over the wrap");
	TAP_EQ_INT(xen_ring_avail(16, 0, 17), 0, "indexes claiming 17 in a 16 ring: nothing readable");
	prod = 40;
	TAP_EQ_INT(xen_ring_put(ring, 16, 0, &prod, "x", 1), 0, "broken indexes: nothing written");
}

static void test_notify(void)
{
	TAP_OK(xen_ring_need_notify(0, 1, 1), "event at the first new request: notify");
	TAP_OK(xen_ring_need_notify(4, 8, 6), "event inside the pushed range: notify");
	TAP_OK(!xen_ring_need_notify(4, 8, 9), "event beyond the push: no notify");
	TAP_OK(!xen_ring_need_notify(4, 8, 4), "event already passed: no notify");
	TAP_OK(xen_ring_need_notify(0xfffffffeu, 2, 0), "across the index wrap: notify");
	TAP_OK(!xen_ring_need_notify(5, 5, 5), "nothing pushed: no notify");
}

static void test_xs_build(void)
{
	static char big[XS_PAYLOAD_MAX + 8];
	struct xs_msg_hdr h;
	char out[64];
	size_t n;

	n = xs_build(out, sizeof(out), XS_WRITE, 7, "device/vbd/51712/state", "3");
	memcpy(&h, out, sizeof(h));
	TAP_EQ_INT(n, 16 + 23 + 1, "write: header + path with NUL + value without NUL");
	TAP_EQ_INT(h.type, XS_WRITE, "type");
	TAP_EQ_INT(h.req_id, 7, "req_id");
	TAP_EQ_INT(h.tx_id, 0, "no transaction");
	TAP_EQ_INT(h.len, 24, "payload length");
	TAP_OK(!memcmp(out + 16, "device/vbd/51712/state\0" "3", 24), "payload bytes");
	n = xs_build(out, sizeof(out), XS_READ, 8, "backend", NULL);
	memcpy(&h, out, sizeof(h));
	TAP_OK(n == 16 + 8 && h.len == 8 && out[23] == '\0', "read: path and its NUL only");
	TAP_EQ_INT(xs_build(out, 20, XS_READ, 1, "backend", NULL), 0, "does not fit the buffer: 0");
	memset(big, 'a', XS_PAYLOAD_MAX);
	big[XS_PAYLOAD_MAX] = '\0';
	TAP_EQ_INT(xs_build(big, sizeof(big), XS_READ, 1, big, NULL), 0,
		   "payload over XENSTORE_PAYLOAD_MAX: 0");
}

static void test_segments(void)
{
	struct blkif_segment s[BLKIF_MAX_SEGS + 1];
	const uint64_t base = 0x100000;

	TAP_EQ_INT(blkif_segments(s, 11, base, 100, base, 4096), 1, "one page: one segment");
	TAP_OK(s[0].gref == 100 && s[0].first_sect == 0 && s[0].last_sect == 7,
	       "... gref of the first page, sectors 0-7");
	TAP_EQ_INT(blkif_segments(s, 11, base, 100, base + 4096 + 512, 1536), 1,
		   "3 sectors inside the second page");
	TAP_OK(s[0].gref == 101 && s[0].first_sect == 1 && s[0].last_sect == 3,
	       "... gref 101, sectors 1-3");
	TAP_EQ_INT(blkif_segments(s, 11, base, 100, base + 3584, 1024), 2,
		   "1 KiB across a page boundary: two segments");
	TAP_OK(s[0].gref == 100 && s[0].first_sect == 7 && s[0].last_sect == 7 && s[1].gref == 101 &&
		       s[1].first_sect == 0 && s[1].last_sect == 0,
	       "... last sector of page 0, first of page 1");
	TAP_EQ_INT(blkif_segments(s, 11, base, 8, base, 11 * 4096), 11, "44 KiB aligned: 11 segments");
	TAP_OK(s[10].gref == 18 && s[10].last_sect == 7, "... the 11th is gref 18, whole page");
	TAP_EQ_INT(blkif_segments(s, 11, base, 8, base + 512, 11 * 4096), 0,
		   "44 KiB not page-aligned needs 12: refused (0)");
	TAP_EQ_INT(blkif_segments(s, 11, base, 8, base + 100, 512), 0, "misaligned address: 0");
	TAP_EQ_INT(blkif_segments(s, 11, base, 8, base, 100), 0, "length not a sector multiple: 0");
	TAP_EQ_INT(blkif_segments(s, 11, base, 8, base, 0), 0, "zero length: 0");
	TAP_EQ_INT(blkif_segments(s, 11, base, 8, base - 4096, 512), 0, "before the buffer: 0");
}

static void test_layout(void)
{
	TAP_EQ_INT(offsetof(struct blkif_request, id), 8, "request id at 8");
	TAP_EQ_INT(offsetof(struct blkif_request, sector), 16, "request sector at 16");
	TAP_EQ_INT(offsetof(struct blkif_request, seg), 24, "segments at 24");
	TAP_EQ_INT(offsetof(struct blkif_request_indirect, handle), 24, "indirect handle at 24");
	TAP_EQ_INT(offsetof(struct blkif_request_indirect, indirect_grefs), 28,
		   "indirect grefs at 28");
	TAP_EQ_INT(offsetof(struct blkif_response, status), 10, "response status at 10");
	TAP_EQ_INT(offsetof(struct blkif_sring, ring), 64, "ring entries after a 64-byte header");
	TAP_EQ_INT(sizeof(union blkif_ring_entry), 112, "entry: 112 bytes");
	TAP_EQ_INT(offsetof(struct xs_ring, req_cons), 2048, "xenstore indexes after both rings");
	TAP_EQ_INT(sizeof(struct gnttab_entry_v1), 8, "grant entry v1: 8 bytes");
	TAP_EQ_INT(sizeof(struct xen_multicall_entry), 64, "multicall entry: 64 bytes");
}

int main(void)
{
	test_ring_wrap();
	test_notify();
	test_xs_build();
	test_segments();
	test_layout();
	return tap_done();
}
