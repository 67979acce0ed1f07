/*
 * Xen blkfront of the guest runtime, the rt_blk_ops of Xen PVH and PV
 * (rt_platform->blk): the io/ workloads' requests to dom0's blkback over
 * one shared ring page (io/blkif.h), in ring 3 (PV: user mode) and
 * polled.
 *
 * Open: the xenbus handshake through xenstore.c.  The toolstack made
 * device/vbd/<id> for us and the backend's directory; once the backend is
 * in InitWait we grant it the ring page, give it an unbound event
 * channel, write ring-ref, event-channel, protocol and feature-persistent,
 * go to Initialised, wait for the backend to be Connected, read sectors,
 * sector-size and its features, and go to Connected.
 *
 * Requests: one ring slot per outstanding request (32, the ring's size,
 * = RT_BLK_MAX_DEPTH).  Buffers from buf_alloc are granted to the backend
 * once, read-write, and reused: with feature-persistent the backend keeps
 * them mapped, without it it maps them per request (the grant is still
 * made once).  A request names one grant per 4 KiB page (a segment); up to
 * 11 fit in the request itself, more go in an indirect page (one per
 * slot) if the backend offers
 * feature-max-indirect-segments; max_bytes says which.  Completion:
 * rsp_prod is polled; rsp_event is left behind so the backend need not
 * notify us (nobody would take the event: events stay masked).
 */
#include "rt.h"
#include "workload.h"
#include "xen.h"
#include "xen_io.h"

#define RT_EIO 5
#define RT_EAGAIN 11
#define RT_ENOMEM 12
#define RT_ENODEV 19
#define RT_EINVAL 22
#define RT_ETIMEDOUT 110
#define WAIT_S 60	/* the backend's state changes; slow under Xen-in-QEMU */
#define BUFS_MAX 128
#define VDISK_READONLY 4

struct slot {
	bool busy;
	uint64_t tag;
};

struct buf {
	uint64_t base, pages;
	uint32_t first_ref;
	bool live;
};

static struct {
	char fe[32];	 /* "device/vbd/<id>" */
	char be[128];	 /* the backend's directory */
	uint16_t backend;
	uint16_t handle;
	struct blkif_sring *sring;
	uint32_t evtchn;
	uint32_t req_prod_pvt, rsp_cons;
	struct slot slot[BLKIF_RING_SIZE];
	unsigned busy;
	uint8_t *indirect;	/* BLKIF_RING_SIZE pages, one per slot */
	uint32_t indirect_ref;	/* refs of those pages, consecutive */
	unsigned max_segs;	/* per request: 11 or the indirect limit */
	bool flush, persistent;
	uint64_t local_tags[BLKIF_RING_SIZE]; /* FLUSH without feature-flush-cache */
	unsigned nlocal;
} f;

static struct buf bufs[BUFS_MAX];
static char note[HVB_TEXT_MAX];

/* ------------------------------------------------------------ xenstore helpers */

/* A feature flag: 1 if the key reads as a non-zero number, else 0. */
static uint64_t feature(const char *key)
{
	uint64_t v = 0;

	return xs_read_key(f.be, key, &v) ? 0 : v;
}

static int write_key(const char *key, const char *value)
{
	return xs_write_key(f.fe, key, value);
}

static int write_num(const char *key, uint64_t v)
{
	return xs_write_key_num(f.fe, key, v);
}

static int wait_backend(uint64_t want, uint64_t *state)
{
	return xs_wait_state(f.be, want, WAIT_S, state);
}

/* The first vbd the toolstack gave us (the runner attaches one: xvda). */
static int find_device(const char **why)
{
	struct xs_device d;
	int e = xs_first_device("vbd", &d);

	if (e == -RT_ENODEV)
		*why = "Xen: no vbd in xenstore (device/vbd): the runner attached no disk";
	else if (e == -RT_EINVAL)
		*why = "Xen: device/vbd holds an id that is not a small number";
	else if (e)
		*why = "Xen: the vbd has no backend / backend-id in xenstore";
	if (e)
		return e == -RT_EINVAL ? e : -RT_ENODEV;
	rt_memcpy(f.fe, d.fe, sizeof(f.fe));
	rt_memcpy(f.be, d.be, sizeof(f.be));
	f.handle = d.id;
	f.backend = d.backend;
	return 0;
}

/* ------------------------------------------------------------ open */

/* The ring page and the event channel, granted / bound to the backend. */
static int make_ring(uint32_t *ref, const char **why)
{
	f.sring = rt_alloc(4096, 4096);
	if (!f.sring) {
		*why = "blkfront: no memory for the ring page";
		return -RT_ENOMEM;
	}
	f.sring->req_event = 1;
	f.sring->rsp_event = 1;
	if (xen_gnttab_grant(f.backend, f.sring, 1, false, ref) ||
	    xen_evtchn_alloc_unbound(f.backend, &f.evtchn)) {
		*why = "blkfront: granting the ring page or allocating its event channel failed";
		return -RT_EIO;
	}
	return 0;
}

/* Frontend keys, then Initialised (the backend connects on that). */
static int publish(uint32_t ring_ref, const char **why)
{
	if (write_num("ring-ref", ring_ref) || write_num("event-channel", f.evtchn) ||
	    write_key("protocol", "x86_64-abi") || write_key("feature-persistent", "1") ||
	    write_num("state", XENBUS_STATE_INITIALISED)) {
		*why = "blkfront: writing the frontend's xenstore keys failed";
		return -RT_EIO;
	}
	return 0;
}

/* Indirect descriptors if the backend takes more than 11 segments. */
static void setup_indirect(void)
{
	uint64_t max = feature("feature-max-indirect-segments");

	f.max_segs = BLKIF_MAX_SEGS;
	if (max <= BLKIF_MAX_SEGS)
		return;
	/* Read-write although the backend only reads them: Linux blkback maps
	 * every grant read-write once persistent grants are on (measured: a
	 * read-only indirect page failed every indirect request). */
	f.indirect = rt_alloc(BLKIF_RING_SIZE * 4096ull, 4096);
	if (!f.indirect ||
	    xen_gnttab_grant(f.backend, f.indirect, BLKIF_RING_SIZE, false, &f.indirect_ref))
		return; /* direct requests only: max_bytes says so */
	f.max_segs = max < BLKIF_INDIRECT_SEGS ? (unsigned)max : BLKIF_INDIRECT_SEGS;
}

static void make_note(const struct rt_blk_info *info)
{
	char *p = note, *end = note + sizeof(note) - 1;

	p = rt_put_str(p, end, "Xen blkfront (ring 3, polled): ");
	p = rt_put_dec(p, end, BLKIF_RING_SIZE);
	p = rt_put_str(p, end, " slots, ");
	p = rt_put_str(p, end, f.persistent ? "persistent grants" : "grants per buffer");
	p = rt_put_str(p, end, ", ");
	p = rt_put_dec(p, end, info->max_bytes / 1024);
	p = rt_put_str(p, end, f.indirect ? " KiB/req indirect" : " KiB/req");
	p = rt_put_str(p, end, f.flush ? ", flush" : ", no flush");
	*p = '\0';
}

static int read_disk(struct rt_blk_info *info, const char **why)
{
	uint64_t sectors = 0, ssize = 512;

	if (xs_read_key(f.be, "sectors", &sectors) || !sectors) {
		*why = "blkfront: the backend gave no disk size (sectors)";
		return -RT_EIO;
	}
	xs_read_key(f.be, "sector-size", &ssize);
	if (ssize != RT_BLK_SECTOR) {
		*why = "blkfront: the backend's sector-size is not 512 (not supported)";
		return -RT_EINVAL;
	}
	f.flush = feature("feature-flush-cache") != 0;
	f.persistent = feature("feature-persistent") != 0;
	setup_indirect();
	info->sectors = sectors;
	info->max_depth = BLKIF_RING_SIZE;
	info->max_bytes = f.max_segs * 4096u;
	info->flush = f.flush;
	make_note(info);
	info->note = note;
	return 0;
}

static int connect(struct rt_blk_info *info, const char **why)
{
	uint64_t state = 0;
	uint32_t ring_ref = 0;
	int e;

	if ((e = xen_gnttab_init(why)) || (e = xs_init(why)) || (e = find_device(why)))
		return e;
	if (wait_backend(XENBUS_STATE_INITWAIT, &state) || state > XENBUS_STATE_CONNECTED) {
		*why = "blkfront: the backend never reached InitWait (is xen-blkback loaded, "
		       "did the hotplug script run?)";
		return -RT_ETIMEDOUT;
	}
	if ((e = make_ring(&ring_ref, why)) || (e = publish(ring_ref, why)))
		return e;
	if (wait_backend(XENBUS_STATE_CONNECTED, &state) || state != XENBUS_STATE_CONNECTED) {
		*why = "blkfront: the backend did not connect (state stays below Connected or "
		       "went to Closing)";
		return -RT_ETIMEDOUT;
	}
	if ((e = read_disk(info, why)))
		return e;
	if (write_num("state", XENBUS_STATE_CONNECTED)) {
		*why = "blkfront: writing state Connected failed";
		return -RT_EIO;
	}
	return 0;
}

/* A failed handshake is not tried again (xen_handshake): every io/
 * workload would wait for the same backend (up to WAIT_S each) and leave
 * more half-made rings behind.  They all get the first attempt's reason. */
static int blkfront_open(struct rt_blk_info *info, const char **why)
{
	static struct xen_handshake hs;
	int e;

	if (xen_handshake_failed(&hs, why))
		return hs.failed;
	e = connect(info, why); /* before *why is read: it sets it */
	return xen_handshake_done(&hs, e, *why);
}

/* ------------------------------------------------------------ buffers */

static void *blkfront_buf_alloc(size_t bytes)
{
	uint64_t pages = bytes / 4096;
	struct buf *free_slot = NULL;

	for (unsigned i = 0; i < BUFS_MAX; i++) {
		struct buf *b = &bufs[i];

		if (b->base && !b->live && b->pages == pages) {
			b->live = true; /* granted already: reuse */
			rt_memset((void *)(uintptr_t)b->base, 0, bytes);
			return (void *)(uintptr_t)b->base;
		}
		if (!b->base && !free_slot)
			free_slot = b;
	}
	if (!free_slot)
		return NULL;
	free_slot->base = (uintptr_t)rt_alloc(bytes, 4096);
	if (!free_slot->base)
		return NULL;
	if (xen_gnttab_grant(f.backend, (void *)(uintptr_t)free_slot->base, (unsigned)pages, false,
			     &free_slot->first_ref)) {
		/* Not granted: the memory stays allocated (rt_alloc is a stack). */
		free_slot->base = 0;
		return NULL;
	}
	free_slot->pages = pages;
	free_slot->live = true;
	return (void *)(uintptr_t)free_slot->base;
}

/* Keep it granted (a persistent backend still has it mapped): the next
 * buf_alloc of the same size takes it again. */
static void blkfront_buf_free(void *p, size_t bytes)
{
	(void)bytes;
	for (unsigned i = 0; i < BUFS_MAX; i++)
		if (bufs[i].live && bufs[i].base == (uintptr_t)p)
			bufs[i].live = false;
}

static const struct buf *buf_of(uint64_t va, uint32_t bytes)
{
	for (unsigned i = 0; i < BUFS_MAX; i++) {
		const struct buf *b = &bufs[i];

		if (b->live && va >= b->base && va + bytes <= b->base + b->pages * 4096)
			return b;
	}
	return NULL;
}

/* ------------------------------------------------------------ requests */

static int free_slot(void)
{
	for (unsigned i = 0; i < BLKIF_RING_SIZE; i++)
		if (!f.slot[i].busy)
			return (int)i;
	return -1;
}

/* Fill the ring entry for a READ/WRITE: direct, or through the slot's
 * indirect page.  0 or -EINVAL. */
static int fill_rw(union blkif_ring_entry *e, unsigned s, uint8_t op, uint64_t sector,
		   const struct buf *b, uint64_t va, uint32_t bytes)
{
	unsigned n = blkif_segments(e->req.seg, BLKIF_MAX_SEGS, b->base, b->first_ref, va, bytes);

	if (n) {
		e->req.operation = op;
		e->req.nr_segments = (uint8_t)n;
		e->req.handle = f.handle;
		e->req.id = s;
		e->req.sector = sector;
		return 0;
	}
	if (!f.indirect)
		return -RT_EINVAL;
	n = blkif_segments((struct blkif_segment *)(f.indirect + s * 4096ull), f.max_segs, b->base,
			   b->first_ref, va, bytes);
	if (!n)
		return -RT_EINVAL;
	e->ind.operation = BLKIF_OP_INDIRECT;
	e->ind.indirect_op = op;
	e->ind.nr_segments = (uint16_t)n;
	e->ind.id = s;
	e->ind.sector = sector;
	e->ind.handle = f.handle;
	e->ind.indirect_grefs[0] = f.indirect_ref + s;
	return 0;
}

static int blkfront_submit(enum rt_blk_op op, uint64_t sector, void *buf, uint32_t bytes,
			   uint64_t tag)
{
	int s = free_slot();
	union blkif_ring_entry *e;
	const struct buf *b;
	int err;

	if (s < 0 || f.nlocal + f.busy >= BLKIF_RING_SIZE)
		return -RT_EAGAIN;
	if (op == RT_BLK_FLUSH && !f.flush) {
		f.local_tags[f.nlocal++] = tag; /* nothing to flush to: completes at once */
		return 0;
	}
	e = &f.sring->ring[f.req_prod_pvt & (BLKIF_RING_SIZE - 1)];
	if (op == RT_BLK_FLUSH) {
		e->req.operation = BLKIF_OP_FLUSH_DISKCACHE;
		e->req.nr_segments = 0;
		e->req.handle = f.handle;
		e->req.id = (uint64_t)s;
		e->req.sector = 0;
	} else {
		b = buf_of((uintptr_t)buf, bytes);
		if (!b || (op != RT_BLK_READ && op != RT_BLK_WRITE))
			return -RT_EINVAL;
		err = fill_rw(e, (unsigned)s, op == RT_BLK_READ ? BLKIF_OP_READ : BLKIF_OP_WRITE,
			      sector, b, (uintptr_t)buf, bytes);
		if (err)
			return err;
	}
	f.slot[s].busy = true;
	f.slot[s].tag = tag;
	f.busy++;
	f.req_prod_pvt++;
	return 0;
}

static void blkfront_kick(void)
{
	uint32_t old = f.sring->req_prod, new = f.req_prod_pvt;

	if (old == new)
		return;
	rt_barrier(); /* the requests before the index (x86 keeps stores in order) */
	f.sring->req_prod = new;
	/* the index must be visible before we read the backend's req_event */
	__asm__ volatile("mfence" ::: "memory");
	if (xen_ring_need_notify(old, new, f.sring->req_event))
		xen_evtchn_send(f.evtchn);
}

static unsigned blkfront_poll(uint64_t *tags, int *status, unsigned max)
{
	uint32_t prod = f.sring->rsp_prod;
	unsigned n = 0;

	rt_barrier(); /* the index before the responses */
	while (n < max && f.nlocal) {
		tags[n] = f.local_tags[--f.nlocal];
		status[n++] = 0;
	}
	while (n < max && f.rsp_cons != prod) {
		const struct blkif_response *r =
			&f.sring->ring[f.rsp_cons++ & (BLKIF_RING_SIZE - 1)].rsp;
		uint64_t id = r->id;

		if (id >= BLKIF_RING_SIZE || !f.slot[id].busy)
			continue; /* not a request of ours: a broken backend */
		tags[n] = f.slot[id].tag;
		status[n++] = r->status == BLKIF_RSP_OKAY ? 0 : -RT_EIO;
		f.slot[id].busy = false;
		f.busy--;
	}
	return n;
}

const struct rt_blk_ops rt_xen_blkfront = {
	.name = "blkfront",
	.open = blkfront_open,
	.buf_alloc = blkfront_buf_alloc,
	.buf_free = blkfront_buf_free,
	.submit = blkfront_submit,
	.kick = blkfront_kick,
	.poll = blkfront_poll,
};
