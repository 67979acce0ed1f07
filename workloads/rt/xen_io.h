/*
 * Xen split-driver I/O in the guest runtime: the grant table
 * (xen_gnttab.c), event channels (xen_evtchn.c), a polled xenstore client
 * (xenstore.c), blkfront (blkfront.c) and netfront (netfront.c), shared by
 * Xen PVH and PV.
 *
 * Layouts and numbers are from Xen's public headers (grant_table.h,
 * event_channel.h, memory.h, xen.h, io/ring.h, io/blkif.h, io/netif.h,
 * io/xs_wire.h, io/xenbus.h); the ABI is stable.  Everything runs in ring 3 (PV: user
 * mode) except the hypercalls themselves (rt_xen_hypercall, the int3
 * gate); nothing waits for an event: completions and xenstore replies are
 * polled, which is why events can stay masked.
 *
 * The inline functions below are pure, so the host unit tests
 * (tests/unit/test_xen_io.c) check them: ring arithmetic, xenstore
 * message framing, blkif segment lists, netif response checks.
 */
#ifndef HVB_RT_XEN_IO_H
#define HVB_RT_XEN_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xen.h"

/* Hypercalls besides xen.h's. */
#define XEN_HC_MEMORY_OP      12
#define XEN_HC_MULTICALL      13
#define XEN_HC_GRANT_TABLE_OP 20

#define XENMEM_ADD_TO_PHYSMAP	   7
#define XENMAPSPACE_GRANT_TABLE	   1
#define GNTTABOP_SETUP_TABLE	   2
#define EVTCHNOP_ALLOC_UNBOUND	   6
#define HVM_PARAM_STORE_PFN	   1
#define HVM_PARAM_STORE_EVTCHN	   2

/* Grant table v1 (grant_table.h). */
#define GTF_PERMIT_ACCESS 0x1
#define GTF_READONLY	  0x4
#define GTF_READING	  0x8
#define GTF_WRITING	  0x10
#define GNT_RESERVED	  8   /* refs 0-7: the toolstack's (console, xenstore) */
#define GNT_PER_FRAME	  512 /* 8-byte v1 entries in a 4 KiB frame */
#define GNT_FRAMES_MAX	  32  /* 16384 refs: 64 MiB of granted buffers */

struct gnttab_entry_v1 {
	volatile uint16_t flags;
	uint16_t domid;
	uint32_t frame;
};

/* One hypercall inside HYPERVISOR_multicall (xen.h), the way user mode
 * passes a hypercall with three or more arguments through the gate, which
 * carries two. */
struct xen_multicall_entry {
	uint64_t op, result;
	uint64_t args[6];
};

/* ------------------------------------------------------------ rings */

/* xen_ring_put (writing a byte ring, as the console does) is in xen.h. */

/* Bytes ready to read from a byte ring (0 for broken indexes). */
static inline uint32_t xen_ring_avail(uint32_t size, uint32_t cons, uint32_t prod)
{
	return prod - cons > size ? 0 : prod - cons;
}

/* Copy n bytes from the ring at *cons (the caller checked they are there)
 * and advance *cons. */
static inline void xen_ring_get(const char *ring, uint32_t size, uint32_t *cons, void *dst,
				size_t n)
{
	char *d = dst;

	for (size_t i = 0; i < n; i++)
		d[i] = ring[(*cons)++ & (size - 1)];
}

/* io/ring.h's push check: does the other side want an event now that our
 * producer moved from old to new, given its event index? */
static inline bool xen_ring_need_notify(uint32_t old, uint32_t new, uint32_t event)
{
	return (uint32_t)(new - event) < (uint32_t)(new - old);
}

/* ------------------------------------------------------------ xenstore */

#define XS_RING_SIZE	 1024u
#define XS_PAYLOAD_MAX	 4096u
#define XS_DIRECTORY	 1
#define XS_READ		 2
#define XS_WATCH	 4
#define XS_WRITE	 11
#define XS_WATCH_EVENT	 15
#define XS_ERROR	 16

struct xs_ring {
	char req[XS_RING_SIZE];
	char rsp[XS_RING_SIZE];
	volatile uint32_t req_cons, req_prod;
	volatile uint32_t rsp_cons, rsp_prod;
	uint32_t server_features, connection;
};

struct xs_msg_hdr {
	uint32_t type, req_id, tx_id, len;
};

/*
 * Build one request in out[cap]: header, then path with its NUL, then
 * value (XS_WRITE: without a NUL; XS_WATCH: the token, with its NUL, as
 * xenstored reads two strings; NULL for none).  Returns the message's
 * length, or 0 if it does not fit cap or XS_PAYLOAD_MAX.
 */
static inline size_t xs_build(char *out, size_t cap, uint32_t type, uint32_t req_id,
			      const char *path, const char *value)
{
	struct xs_msg_hdr h = {type, req_id, 0, 0};
	size_t lp = 0, lv = 0;

	while (path[lp])
		lp++;
	lp++;
	while (value && value[lv])
		lv++;
	if (value && type == XS_WATCH)
		lv++;
	if (lp + lv > XS_PAYLOAD_MAX || sizeof(h) + lp + lv > cap)
		return 0;
	h.len = (uint32_t)(lp + lv);
	for (size_t i = 0; i < sizeof(h); i++)
		out[i] = ((const char *)&h)[i];
	for (size_t i = 0; i < lp; i++)
		out[sizeof(h) + i] = path[i];
	for (size_t i = 0; i < lv; i++)
		out[sizeof(h) + lp + i] = value[i];
	return sizeof(h) + lp + lv;
}

/* ------------------------------------------------------------ blkif */

#define BLKIF_OP_READ		 0
#define BLKIF_OP_WRITE		 1
#define BLKIF_OP_FLUSH_DISKCACHE 3
#define BLKIF_OP_INDIRECT	 6
#define BLKIF_RSP_OKAY		 0
#define BLKIF_MAX_SEGS		 11  /* segments in a direct request */
#define BLKIF_INDIRECT_SEGS	 256 /* what we use of one indirect page (512 fit) */
#define BLKIF_RING_SIZE		 32  /* (4096 - 64) / 112, rounded down to a power of two */
#define XENBUS_STATE_INITIALISING 1
#define XENBUS_STATE_INITWAIT	 2
#define XENBUS_STATE_INITIALISED 3
#define XENBUS_STATE_CONNECTED	 4
#define XENBUS_STATE_CLOSING	 5

struct blkif_segment {
	uint32_t gref;
	uint8_t first_sect, last_sect; /* 512-byte sectors inside the 4 KiB page */
	uint16_t pad;
};

struct blkif_request {
	uint8_t operation, nr_segments;
	uint16_t handle;
	uint32_t pad;
	uint64_t id, sector;
	struct blkif_segment seg[BLKIF_MAX_SEGS];
};

struct blkif_request_indirect {
	uint8_t operation, indirect_op;
	uint16_t nr_segments;
	uint32_t pad;
	uint64_t id, sector;
	uint16_t handle, pad2;
	uint32_t indirect_grefs[8];
};

struct blkif_response {
	uint64_t id;
	uint8_t operation, pad;
	int16_t status;
};

union blkif_ring_entry {
	struct blkif_request req;
	struct blkif_request_indirect ind;
	struct blkif_response rsp;
};

struct blkif_sring {
	volatile uint32_t req_prod, req_event, rsp_prod, rsp_event;
	uint8_t pad[48];
	union blkif_ring_entry ring[BLKIF_RING_SIZE];
};

_Static_assert(sizeof(struct blkif_request) == 112, "blkif_request layout");
_Static_assert(sizeof(struct blkif_request_indirect) == 64, "blkif_request_indirect layout");
_Static_assert(sizeof(struct blkif_response) == 16, "blkif_response layout");
_Static_assert(sizeof(struct blkif_sring) <= 4096, "one ring page");

/*
 * The segments of a transfer of `bytes` at virtual address va, whose
 * pages' grant refs are first_ref, first_ref + 1, ... (one per 4 KiB page
 * from page_base, the 4 KiB-aligned start of the granted buffer).  va and
 * bytes are multiples of 512.  Writes at most max entries to seg[];
 * returns their number, or 0 if more than max would be needed or the
 * arguments are misaligned.
 */
static inline unsigned blkif_segments(struct blkif_segment *seg, unsigned max, uint64_t page_base,
				      uint32_t first_ref, uint64_t va, uint32_t bytes)
{
	uint64_t end = va + bytes;
	unsigned n = 0;

	if (!bytes || (va | bytes) & 511 || va < page_base || (page_base & 4095))
		return 0;
	while (va < end) {
		uint64_t page = va & ~4095ull, stop = page + 4096 < end ? page + 4096 : end;

		if (n == max)
			return 0;
		seg[n].gref = first_ref + (uint32_t)((page - page_base) / 4096);
		seg[n].first_sect = (uint8_t)((va - page) / 512);
		seg[n].last_sect = (uint8_t)((stop - page) / 512 - 1);
		seg[n].pad = 0;
		n++;
		va = stop;
	}
	return n;
}

/* ------------------------------------------------------------ netif */

/*
 * io/netif.h, single queue, no scatter-gather, no GSO, no checksum
 * offload: one ring slot per frame each way.  A TX request names a grant,
 * an offset and a size that must stay inside one 4 KiB page (netback
 * disables the vif otherwise); an RX request lends the backend a whole
 * page, which it fills by copy (request-rx-copy) from offset `offset` of
 * the response.
 */
#define NETTXF_CSUM_BLANK	(1u << 0)
#define NETTXF_DATA_VALIDATED	(1u << 1)
#define NETTXF_MORE_DATA	(1u << 2)
#define NETTXF_EXTRA_INFO	(1u << 3)
#define NETRXF_DATA_VALIDATED	(1u << 0)
#define NETRXF_CSUM_BLANK	(1u << 1)
#define NETRXF_MORE_DATA	(1u << 2)
#define NETRXF_EXTRA_INFO	(1u << 3)
#define NETRXF_GSO_PREFIX	(1u << 4)
#define NETIF_RSP_DROPPED	(-2)
#define NETIF_RSP_ERROR		(-1)
#define NETIF_RSP_OKAY		0
#define NETIF_RSP_NULL		1
/* (4096 - 64) / 12 and / 8, rounded down to a power of two (io/ring.h) */
#define NETIF_TX_RING_SIZE	256
#define NETIF_RX_RING_SIZE	256

struct netif_tx_request {
	uint32_t gref;
	uint16_t offset, flags; /* NETTXF_* */
	uint16_t id, size;	/* id is echoed; size: the whole frame */
};

struct netif_tx_response {
	uint16_t id;
	int16_t status; /* NETIF_RSP_* */
};

struct netif_rx_request {
	uint16_t id, pad;
	uint32_t gref;
};

struct netif_rx_response {
	uint16_t id, offset, flags; /* NETRXF_* */
	int16_t status;		    /* < 0: NETIF_RSP_*; else the frame's length */
};

union netif_tx_entry {
	struct netif_tx_request req;
	struct netif_tx_response rsp;
};

union netif_rx_entry {
	struct netif_rx_request req;
	struct netif_rx_response rsp;
};

struct netif_tx_sring {
	volatile uint32_t req_prod, req_event, rsp_prod, rsp_event;
	uint8_t pad[48];
	union netif_tx_entry ring[NETIF_TX_RING_SIZE];
};

struct netif_rx_sring {
	volatile uint32_t req_prod, req_event, rsp_prod, rsp_event;
	uint8_t pad[48];
	union netif_rx_entry ring[NETIF_RX_RING_SIZE];
};

_Static_assert(sizeof(struct netif_tx_request) == 12, "netif_tx_request layout");
_Static_assert(sizeof(struct netif_tx_response) == 4, "netif_tx_response layout");
_Static_assert(sizeof(struct netif_rx_request) == 8, "netif_rx_request layout");
_Static_assert(sizeof(struct netif_rx_response) == 8, "netif_rx_response layout");
_Static_assert(sizeof(union netif_tx_entry) == 12, "netif tx ring entry");
_Static_assert(offsetof(struct netif_tx_sring, ring) == 64, "netif tx ring header");
_Static_assert(offsetof(struct netif_rx_sring, ring) == 64, "netif rx ring header");
_Static_assert(sizeof(struct netif_tx_sring) <= 4096, "one tx ring page");
_Static_assert(sizeof(struct netif_rx_sring) <= 4096, "one rx ring page");

/*
 * How many new responses the backend claims, given its rsp_prod, our
 * rsp_cons and how many requests we have outstanding: a backend that
 * answers more than was asked is broken (-1), never read past.
 */
static inline int netif_new_responses(uint32_t rsp_prod, uint32_t rsp_cons, unsigned outstanding)
{
	uint32_t n = rsp_prod - rsp_cons;

	return n > outstanding ? -1 : (int)n;
}

/*
 * A TX response for one of our nslots buffers: 0 sent, 1 the backend did
 * not send it (dropped, error: counted, the slot is free again), -1 a
 * broken response (an id we never used, a status netif.h does not have),
 * with *why.  busy: is slot id in flight (checked by the caller's table).
 */
static inline int netif_tx_check(const struct netif_tx_response *r, unsigned nslots, bool busy,
				 const char **why)
{
	if (r->id >= nslots || !busy) {
		*why = "netfront: the backend answered a TX request we did not make (bad id)";
		return -1;
	}
	if (r->status == NETIF_RSP_OKAY)
		return 0;
	if (r->status == NETIF_RSP_DROPPED || r->status == NETIF_RSP_ERROR)
		return 1;
	*why = "netfront: a TX response with a status netif.h does not define";
	return -1;
}

/*
 * An RX response for one of our nslots posted pages: the frame's length
 * (> 0), 0 for a slot the backend gave back without a frame (status < 0:
 * counted, the page is posted again), -1 broken with *why: an id we did
 * not post, a frame that does not fit its page, or a multi-slot frame
 * (more_data, extra_info, a GSO prefix: features we did not offer).
 */
static inline int netif_rx_check(const struct netif_rx_response *r, unsigned nslots, bool posted,
				 const char **why)
{
	if (r->id >= nslots || !posted) {
		*why = "netfront: the backend filled an RX buffer we did not post (bad id)";
		return -1;
	}
	if (r->status < 0)
		return 0;
	if (r->flags & (NETRXF_MORE_DATA | NETRXF_EXTRA_INFO | NETRXF_GSO_PREFIX)) {
		*why = "netfront: the backend sent a multi-slot frame (sg/gso not negotiated)";
		return -1;
	}
	if (!r->status || (uint32_t)r->offset + (uint32_t)r->status > 4096u) {
		*why = "netfront: an RX response whose offset + length leaves its page";
		return -1;
	}
	return r->status;
}

/* Where TX buffer `slot` lives when two 2 KiB buffers share each page (a
 * frame of up to 1514 bytes never crosses a page): page index and offset. */
static inline void netif_tx_place(unsigned slot, unsigned *page, uint16_t *offset)
{
	*page = slot / 2;
	*offset = (uint16_t)((slot & 1) * 2048u);
}

/* "aa:bb:cc:dd:ee:ff" (either case; what libxl writes as device/vif/N/mac)
 * into mac; false on anything else. */
static inline bool xen_mac_parse(const char *s, uint8_t mac[6])
{
	for (unsigned i = 0; i < 6; i++) {
		unsigned v = 0;

		for (unsigned k = 0; k < 2; k++) {
			char c = *s++;

			if (c >= '0' && c <= '9')
				v = v * 16 + (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v = v * 16 + (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v = v * 16 + (unsigned)(c - 'A' + 10);
			else
				return false;
		}
		mac[i] = (uint8_t)v;
		if (*s++ != (i == 5 ? '\0' : ':'))
			return false;
	}
	return true;
}

/* ------------------------------------------------------------ guest only */

/* xen_gnttab.c.  Set up the grant table (PVH: frames added to the physmap
 * at image pages; PV: GNTTABOP_setup_table's frames mapped over image
 * pages); 0, or -errno with *why. */
int xen_gnttab_init(const char **why);
/* Grant the backend domain `domid` access to the `pages` 4 KiB pages at
 * va (4 KiB-aligned), read-only if readonly: consecutive refs from
 * *first_ref.  0, or -ENOSPC (table full) / -EINVAL. */
int xen_gnttab_grant(uint16_t domid, const void *va, unsigned pages, bool readonly,
		     uint32_t *first_ref);
/* The frame number a grant names for va: the gfn (PVH) or machine frame
 * (PV). */
uint64_t xen_frame_of(const void *va);
/* How many refs are in use (for the driver's note). */
unsigned xen_gnttab_used(void);

/* xen_evtchn.c: an unbound port for `remote` to bind (0 or Xen's -errno);
 * EVTCHNOP_send on it. */
int xen_evtchn_alloc_unbound(uint16_t remote, uint32_t *port);
void xen_evtchn_send(uint32_t port);

/*
 * A frontend's handshake with its backend, tried until it fails once: after
 * a failure every later open gets that attempt's error and reason without
 * trying again (each workload would wait for the same backend, up to its
 * timeout, and leave more half-made rings behind).
 */
struct xen_handshake {
	int failed; /* 0, or the failed attempt's -errno */
	const char *why;
};

/* An earlier attempt failed: its -errno, with *why; else 0. */
static inline int xen_handshake_failed(const struct xen_handshake *h, const char **why)
{
	if (h->failed)
		*why = h->why;
	return h->failed;
}

/* Record an attempt's result e (and *why) and return it. */
static inline int xen_handshake_done(struct xen_handshake *h, int e, const char *why)
{
	h->failed = e;
	h->why = why;
	return e;
}

/* xenstore.c.  Find the xenstore ring (PVH: HVM params; PV: start_info).
 * 0, or -errno with *why. */
int xs_init(const char **why);
/* Read path into buf (NUL-terminated, at most len - 1 bytes): its length,
 * or -ENOENT etc. (xenstored's error), -EIO (broken reply), -ETIMEDOUT. */
int xs_read(const char *path, char *buf, size_t len);
/* Read path as an unsigned decimal (0 with *v set, or -errno). */
int xs_read_u64(const char *path, uint64_t *v);
/* Write value at path; 0 or -errno. */
int xs_write(const char *path, const char *value);
/* Names under path, NUL-separated, into buf: total bytes, or -errno. */
int xs_directory(const char *path, char *buf, size_t len);
/* XS_WATCH path with token: xenstored then sends an event (and one at
 * once) whenever path changes; 0 or -errno. */
int xs_watch(const char *path, const char *token);
/* Has xenstored sent something nobody asked for (a watch event)?  Two
 * loads from the ring: cheap enough for a workload's inner loop. */
bool xs_unsolicited(void);
/* Drop every whole message waiting in the reply ring (watch events: the
 * caller reads the node itself). */
void xs_drop_unsolicited(void);
/* After a suspend that moved the domain: the ring and port rt_pv() now
 * names (restore gave a new port); the watches are gone with the old
 * connection. */
void xs_resume(void);
/* dir/key into out (cut to len - 1 bytes); returns out. */
char *xs_path(char *out, size_t len, const char *dir, const char *key);
/* Read dir/key as an unsigned decimal; write a string, or a decimal,
 * there: 0 or -errno. */
int xs_read_key(const char *dir, const char *key, uint64_t *v);
int xs_write_key(const char *dir, const char *key, const char *value);
int xs_write_key_num(const char *dir, const char *key, uint64_t v);
/* Poll dir/state until it reaches want (or more), yielding the CPU between
 * reads so dom0 can make progress; 0 with *state, or -ETIMEDOUT after
 * wait_s seconds (*state: the last value read). */
int xs_wait_state(const char *dir, uint64_t want, unsigned wait_s, uint64_t *state);

/* A split device the toolstack made for us: device/<class>/<id>. */
struct xs_device {
	char fe[32];  /* our directory, "device/vif/0" */
	char be[128]; /* the backend's directory */
	uint16_t id, backend;
};
/* The first device of class cls ("vbd", "vif"): 0; -ENODEV none there,
 * -EINVAL an id that is not a small number, -ENOENT no backend /
 * backend-id.  The caller words the reason. */
int xs_first_device(const char *cls, struct xs_device *d);

/* xen_gnttab.c: a hypercall with up to four arguments from user mode
 * through the two-argument gate (one multicall entry); the call's result,
 * or the multicall's own error. */
long rt_xen_hypercall4(unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4);

/* blkfront.c: the rt_blk_ops of Xen PVH and PV. */
struct rt_blk_ops;
extern const struct rt_blk_ops rt_xen_blkfront;
/* netfront.c: the rt_net_ops of Xen PVH and PV. */
struct rt_net_ops;
extern const struct rt_net_ops rt_xen_netfront;

#endif /* HVB_RT_XEN_IO_H */
