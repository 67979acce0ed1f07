/*
 * The pure parts of the guest's Xen split drivers (workloads/rt/xen_io.h):
 * byte-ring put/get across the wrap of the ring and of the 32-bit indexes
 * (xenstore), the push-notify rule of io/ring.h, xenstore request framing
 * (lengths, NULs, what does not fit), blkif segment lists (one page, sub-
 * page ranges, page crossings, too many segments, misalignment), the
 * blkif and netif structure layouts blkback and netback expect (x86_64
 * ABI), and netfront's checks of what netback writes: response ids,
 * status, offsets, flags and ring indexes, TX buffer placement, vif macs.
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
	memset(out, 'x', sizeof(out));
	n = xs_build(out, sizeof(out), XS_WATCH, 9, "control/shutdown", "hvb-suspend");
	memcpy(&h, out, sizeof(h));
	TAP_OK(n == 16 + 17 + 12 && h.len == 29 && h.type == XS_WATCH &&
		       !memcmp(out + 16, "control/shutdown\0hvb-suspend\0", 29),
	       "watch: path and token, each with its NUL (xenstored reads two strings)");
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

static void test_netif_layout(void)
{
	TAP_EQ_INT(offsetof(struct netif_tx_request, offset), 4, "tx request offset at 4");
	TAP_EQ_INT(offsetof(struct netif_tx_request, flags), 6, "tx request flags at 6");
	TAP_EQ_INT(offsetof(struct netif_tx_request, id), 8, "tx request id at 8");
	TAP_EQ_INT(offsetof(struct netif_tx_request, size), 10, "tx request size at 10");
	TAP_EQ_INT(offsetof(struct netif_tx_response, status), 2, "tx response status at 2");
	TAP_EQ_INT(offsetof(struct netif_rx_request, gref), 4, "rx request gref at 4 (after pad)");
	TAP_EQ_INT(offsetof(struct netif_rx_response, offset), 2, "rx response offset at 2");
	TAP_EQ_INT(offsetof(struct netif_rx_response, flags), 4, "rx response flags at 4");
	TAP_EQ_INT(offsetof(struct netif_rx_response, status), 6, "rx response status at 6");
	TAP_EQ_INT(sizeof(union netif_rx_entry), 8, "rx entry: 8 bytes");
	TAP_EQ_INT(offsetof(struct netif_tx_sring, ring[NETIF_TX_RING_SIZE]), 64 + 256 * 12,
		   "tx ring: 256 entries of 12 bytes fill one page");
	TAP_OK((4096 - 64) / 12 < 2 * NETIF_TX_RING_SIZE && (4096 - 64) / 8 < 2 * NETIF_RX_RING_SIZE,
	       "ring sizes are the largest powers of two that fit (io/ring.h __RD32)");
	TAP_EQ_INT(offsetof(struct netif_rx_sring, rsp_prod), 8, "rsp_prod at 8, as in every sring");
}

static void test_netif_indexes(void)
{
	TAP_EQ_INT(netif_new_responses(5, 5, 10), 0, "nothing new");
	TAP_EQ_INT(netif_new_responses(8, 5, 10), 3, "three new");
	TAP_EQ_INT(netif_new_responses(2, 0xfffffffeu, 4), 4, "four across the index wrap");
	TAP_EQ_INT(netif_new_responses(9, 5, 3), -1, "more responses than requests: broken");
	TAP_EQ_INT(netif_new_responses(4, 5, 128), -1, "producer behind consumer: broken");
}

static void test_netif_tx_check(void)
{
	struct netif_tx_response r = {.id = 3, .status = NETIF_RSP_OKAY};
	const char *why = NULL;

	TAP_EQ_INT(netif_tx_check(&r, 128, true, &why), 0, "tx okay: sent");
	r.status = NETIF_RSP_DROPPED;
	TAP_EQ_INT(netif_tx_check(&r, 128, true, &why), 1, "tx dropped: counted, slot free");
	r.status = NETIF_RSP_ERROR;
	TAP_EQ_INT(netif_tx_check(&r, 128, true, &why), 1, "tx error: counted, slot free");
	r.status = NETIF_RSP_NULL;
	TAP_EQ_INT(netif_tx_check(&r, 128, true, &why), -1, "tx NULL (extra info we never sent): broken");
	TAP_OK(why && strstr(why, "status"), "... the reason names the status");
	r.status = 0;
	why = NULL;
	TAP_EQ_INT(netif_tx_check(&r, 128, false, &why), -1, "an id not in flight: broken");
	TAP_OK(why && strstr(why, "bad id"), "... the reason names the id");
	r.id = 128;
	TAP_EQ_INT(netif_tx_check(&r, 128, true, &why), -1, "an id past our buffers: broken");
	r.id = 0xffff;
	TAP_EQ_INT(netif_tx_check(&r, 128, true, &why), -1, "id 0xffff: broken");
}

static void test_netif_rx_check(void)
{
	struct netif_rx_response r = {.id = 7, .offset = 0, .flags = 0, .status = 64};
	const char *why = NULL;

	TAP_EQ_INT(netif_rx_check(&r, 128, true, &why), 64, "a 64-byte frame at offset 0");
	r.flags = NETRXF_DATA_VALIDATED;
	TAP_EQ_INT(netif_rx_check(&r, 128, true, &why), 64, "data_validated is fine");
	r.flags = 0;
	r.offset = 4096 - 1514;
	r.status = 1514;
	TAP_EQ_INT(netif_rx_check(&r, 128, true, &why), 1514, "an MTU frame ending at the page end");
	r.offset = 4096 - 1513;
	TAP_EQ_INT(netif_rx_check(&r, 128, true, &why), -1, "one byte past the page: broken");
	TAP_OK(why && strstr(why, "page"), "... the reason says it leaves its page");
	r.offset = 0xffff;
	r.status = 0x7fff;
	TAP_EQ_INT(netif_rx_check(&r, 128, true, &why), -1, "huge offset and length: broken (no wrap)");
	r.offset = 0;
	r.status = 0;
	TAP_EQ_INT(netif_rx_check(&r, 128, true, &why), -1, "zero-length frame: broken");
	r.status = NETIF_RSP_DROPPED;
	TAP_EQ_INT(netif_rx_check(&r, 128, true, &why), 0, "slot given back empty: 0, reposted");
	r.status = NETIF_RSP_ERROR;
	TAP_EQ_INT(netif_rx_check(&r, 128, true, &why), 0, "error: 0, reposted");
	r.status = 64;
	r.flags = NETRXF_MORE_DATA;
	TAP_EQ_INT(netif_rx_check(&r, 128, true, &why), -1, "more_data without feature-sg: broken");
	r.flags = NETRXF_EXTRA_INFO;
	TAP_EQ_INT(netif_rx_check(&r, 128, true, &why), -1, "extra_info without GSO: broken");
	r.flags = NETRXF_GSO_PREFIX;
	TAP_EQ_INT(netif_rx_check(&r, 128, true, &why), -1, "gso prefix: broken");
	r.flags = 0;
	TAP_EQ_INT(netif_rx_check(&r, 128, false, &why), -1, "a buffer not posted: broken");
	TAP_OK(why && strstr(why, "bad id"), "... the reason names the id");
	r.id = 128;
	TAP_EQ_INT(netif_rx_check(&r, 128, true, &why), -1, "an id past our buffers: broken");
}

static void test_netif_place_and_mac(void)
{
	uint8_t mac[6];
	unsigned page;
	uint16_t off;

	netif_tx_place(0, &page, &off);
	TAP_OK(page == 0 && off == 0, "tx slot 0: page 0 offset 0");
	netif_tx_place(1, &page, &off);
	TAP_OK(page == 0 && off == 2048, "tx slot 1: page 0 offset 2048");
	netif_tx_place(127, &page, &off);
	TAP_OK(page == 63 && off == 2048, "tx slot 127: page 63 offset 2048");
	TAP_OK(2048 + 1514 <= 4096, "an MTU frame in the upper half stays inside its page");
	TAP_OK(xen_mac_parse("02:68:76:62:00:02", mac) && mac[0] == 2 && mac[1] == 0x68 &&
		       mac[5] == 2,
	       "mac as libxl writes it");
	TAP_OK(xen_mac_parse("AA:bb:CC:dd:EE:ff", mac) && mac[0] == 0xaa && mac[5] == 0xff,
	       "mac in mixed case");
	TAP_OK(!xen_mac_parse("02:68:76:62:00", mac), "five bytes: refused");
	TAP_OK(!xen_mac_parse("02:68:76:62:00:02:", mac), "trailing colon: refused");
	TAP_OK(!xen_mac_parse("02-68-76-62-00-02", mac), "dashes: refused");
	TAP_OK(!xen_mac_parse("02:68:76:62:00:2", mac), "one digit: refused");
	TAP_OK(!xen_mac_parse("02:68:76:62:00:0g", mac), "not hex: refused");
	TAP_OK(!xen_mac_parse("", mac), "empty: refused");
}

/* blkfront and netfront: a failed handshake is never tried again. */
static void test_handshake_once(void)
{
	struct xen_handshake h = {0};
	const char *why = "untouched";

	TAP_OK(xen_handshake_failed(&h, &why) == 0 && !strcmp(why, "untouched"),
	       "handshake: nothing failed yet, so the caller connects");
	TAP_OK(xen_handshake_done(&h, 0, "ok") == 0 && xen_handshake_failed(&h, &why) == 0,
	       "handshake: a success is not remembered as a failure");
	TAP_OK(xen_handshake_done(&h, -110, "backend never reached InitWait") == -110,
	       "handshake: done returns the attempt's error");
	why = NULL;
	TAP_OK(xen_handshake_failed(&h, &why) == -110 && why &&
		       !strcmp(why, "backend never reached InitWait"),
	       "handshake: a later open gets the failed attempt's error and reason");
}

int main(void)
{
	test_ring_wrap();
	test_notify();
	test_xs_build();
	test_segments();
	test_layout();
	test_netif_layout();
	test_netif_indexes();
	test_netif_tx_check();
	test_netif_rx_check();
	test_netif_place_and_mac();
	test_handshake_once();
	return tap_done();
}
