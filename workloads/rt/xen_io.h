/*
 * Xen split-driver I/O in the guest runtime: the grant table
 * (xen_gnttab.c), event channels (xen_evtchn.c), a polled xenstore client
 * (xenstore.c) and blkfront (blkfront.c), shared by Xen PVH and PV.
 *
 * Layouts and numbers are from Xen's public headers (grant_table.h,
 * event_channel.h, memory.h, xen.h, io/ring.h, io/blkif.h, io/xs_wire.h,
 * io/xenbus.h); the ABI is stable.  Everything runs in ring 3 (PV: user
 * mode) except the hypercalls themselves (rt_xen_hypercall, the int3
 * gate); nothing waits for an event: completions and xenstore replies are
 * polled, which is why events can stay masked.
 *
 * The inline functions below are pure, so the host unit tests
 * (tests/unit/test_xen_io.c) check them: ring arithmetic, xenstore
 * message framing, blkif segment lists.
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
#define XS_WRITE	 11
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
 * value (XS_WRITE: without a NUL; NULL for none).  Returns the message's
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

/* xen_gnttab.c: a hypercall with up to four arguments from user mode
 * through the two-argument gate (one multicall entry); the call's result,
 * or the multicall's own error. */
long rt_xen_hypercall4(unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4);

/* blkfront.c: the rt_blk_ops of Xen PVH and PV. */
struct rt_blk_ops;
extern const struct rt_blk_ops rt_xen_blkfront;

#endif /* HVB_RT_XEN_IO_H */
