/*
 * Xen netfront of the guest runtime, the rt_net_ops of Xen PVH and PV
 * (rt_platform->net): the net/ workloads' frames to and from dom0's
 * netback over a TX and an RX ring page (io/netif.h), in ring 3 (PV: user
 * mode) and polled, like blkfront.
 *
 * Open: the xenbus handshake through xenstore.c.  The toolstack made
 * device/vif/<id> (with the mac it gave the vif) and the backend's
 * directory; we check the mac against net.mac, wait for the backend's
 * InitWait, grant it both ring pages and the buffers, give it an unbound
 * event channel, post every RX buffer, write tx-ring-ref, rx-ring-ref,
 * event-channel, request-rx-copy, feature-rx-notify and
 * feature-no-csum-offload (we fill every checksum ourselves and want the
 * ones we receive filled too), go to Connected and wait until the backend
 * is Connected (it gets there once its hotplug script said so).
 *
 * TX: a fixed pool of TX_SLOTS buffers of 2 KiB, two per page, granted
 * read-only once; a frame is copied into a free one and named by one ring
 * slot (no scatter-gather: a 1514-byte frame never crosses a page, which
 * netback refuses).  rt_net_kick pushes the requests and sends an event
 * only when the backend's req_event asks for it
 * (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY).  Completions are reclaimed on the
 * next send.
 * RX: RX_SLOTS whole pages, granted read-write, always posted; netback
 * copies each frame into one (request-rx-copy).  rt_net_recv takes the
 * next response, copies the frame out and posts the page again (with
 * feature-rx-notify the backend may sleep until new buffers come, so the
 * push is checked for a notify too).  The rsp_event indexes are left
 * behind: nobody would take the event (events stay masked).
 *
 * Everything the backend writes (response ids, status, offsets, flags,
 * ring indexes) is checked before use; a bad value breaks the device with
 * a reason (rt_log, then every send fails with -EIO), never a wild access.
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
#define TX_SLOTS 128	/* < NETIF_TX_RING_SIZE: a free buffer always has a ring slot */
#define RX_SLOTS 128	/* < NETIF_RX_RING_SIZE, likewise */
#define TX_PAGES (TX_SLOTS / 2)

_Static_assert(TX_SLOTS <= NETIF_TX_RING_SIZE && RX_SLOTS <= NETIF_RX_RING_SIZE,
	       "buffers must not outnumber ring slots");
_Static_assert(RT_NET_FRAME_MAX <= 2048, "a TX buffer is half a page");

static struct {
	struct xs_device dev;
	struct netif_tx_sring *tx;
	struct netif_rx_sring *rx;
	uint32_t evtchn;
	uint32_t tx_prod_pvt, tx_cons, rx_prod_pvt, rx_cons;
	uint8_t *tx_buf, *rx_buf; /* TX_PAGES and RX_SLOTS pages */
	uint32_t tx_ref, rx_ref;  /* their first grant refs (consecutive) */
	uint16_t tx_free[TX_SLOTS];
	unsigned n_free;
	bool tx_busy[TX_SLOTS], rx_posted[RX_SLOTS];
	unsigned rx_outstanding;
	const char *broken;
	struct rt_net_stats st;
	uint64_t tx_dropped, rx_dropped; /* the backend gave a slot back unsent / empty */
} nf;

static char note[HVB_TEXT_MAX];

/* A backend broke the protocol: say so once, refuse from now on. */
static void break_device(const char *why)
{
	if (nf.broken)
		return;
	nf.broken = why;
	rt_log(why);
}

/* ------------------------------------------------------------ rings */

/* io/ring.h's push: publish our producer index after the entries and
 * tell whether the backend asked for an event. */
static bool push(volatile uint32_t *req_prod, volatile uint32_t *req_event, uint32_t new)
{
	uint32_t old = *req_prod;

	if (old == new)
		return false;
	rt_barrier(); /* the entries before the index (x86 keeps stores in order) */
	*req_prod = new;
	/* the index must be visible before we read the backend's req_event */
	__asm__ volatile("mfence" ::: "memory");
	return xen_ring_need_notify(old, new, *req_event);
}

static void post_rx(unsigned id)
{
	struct netif_rx_request *r = &nf.rx->ring[nf.rx_prod_pvt++ & (NETIF_RX_RING_SIZE - 1)].req;

	r->id = (uint16_t)id;
	r->pad = 0;
	r->gref = nf.rx_ref + id;
	nf.rx_posted[id] = true;
	nf.rx_outstanding++;
}

/* Take the backend's TX completions: their buffers are free again. */
static void reclaim_tx(void)
{
	uint32_t prod = nf.tx->rsp_prod;
	int n;

	rt_barrier(); /* the index before the responses */
	n = netif_new_responses(prod, nf.tx_cons, TX_SLOTS - nf.n_free);
	if (n < 0) {
		break_device("netfront: the backend's TX rsp_prod claims more responses than "
			     "requests in flight");
		return;
	}
	while (n--) {
		/* one copy: the backend may rewrite the shared slot meanwhile */
		struct netif_tx_response r = nf.tx->ring[nf.tx_cons++ & (NETIF_TX_RING_SIZE - 1)].rsp;
		const char *why = NULL;
		int v = netif_tx_check(&r, TX_SLOTS, r.id < TX_SLOTS && nf.tx_busy[r.id], &why);

		if (v < 0) {
			break_device(why);
			return;
		}
		nf.tx_dropped += (unsigned)v;
		nf.tx_busy[r.id] = false;
		nf.tx_free[nf.n_free++] = r.id;
	}
}

/* ------------------------------------------------------------ open */

static int find_vif(struct rt_net_info *info, const char **why)
{
	char mac_s[24], path[64];
	uint8_t mac[6];
	int e = xs_first_device("vif", &nf.dev);

	if (e == -RT_ENODEV)
		*why = "Xen: no vif in xenstore (device/vif): the runner attached no network "
		       "interface";
	else if (e == -RT_EINVAL)
		*why = "Xen: device/vif holds an id that is not a small number";
	else if (e)
		*why = "Xen: the vif has no backend / backend-id in xenstore";
	if (e)
		return e == -RT_EINVAL ? e : -RT_ENODEV;
	if (xs_read(xs_path(path, sizeof(path), nf.dev.fe, "mac"), mac_s, sizeof(mac_s)) <= 0 ||
	    !xen_mac_parse(mac_s, mac)) {
		*why = "netfront: the vif has no readable mac in xenstore (device/vif/N/mac)";
		return -RT_EINVAL;
	}
	for (unsigned i = 0; i < 6; i++) {
		if (mac[i] != info->mac[i]) {
			*why = "netfront: the vif's mac (device/vif/N/mac) is not net.mac: the "
			       "runner gave the guest another address than the toolstack";
			return -RT_EINVAL;
		}
	}
	return 0;
}

/* Rings, buffers and the event channel, granted / bound to the backend. */
static int make_rings(uint32_t *tx_ring_ref, uint32_t *rx_ring_ref, const char **why)
{
	uint16_t be = nf.dev.backend;

	nf.tx = rt_alloc(4096, 4096);
	nf.rx = rt_alloc(4096, 4096);
	nf.tx_buf = rt_alloc(TX_PAGES * 4096ull, 4096);
	nf.rx_buf = rt_alloc(RX_SLOTS * 4096ull, 4096);
	if (!nf.tx || !nf.rx || !nf.tx_buf || !nf.rx_buf) {
		*why = "netfront: no memory for the rings and buffers";
		return -RT_ENOMEM;
	}
	rt_memset(nf.tx, 0, 4096);
	rt_memset(nf.rx, 0, 4096);
	nf.tx->req_event = nf.tx->rsp_event = 1;
	nf.rx->req_event = nf.rx->rsp_event = 1;
	if (xen_gnttab_grant(be, nf.tx, 1, false, tx_ring_ref) ||
	    xen_gnttab_grant(be, nf.rx, 1, false, rx_ring_ref) ||
	    xen_gnttab_grant(be, nf.tx_buf, TX_PAGES, true, &nf.tx_ref) ||
	    xen_gnttab_grant(be, nf.rx_buf, RX_SLOTS, false, &nf.rx_ref) ||
	    xen_evtchn_alloc_unbound(be, &nf.evtchn)) {
		*why = "netfront: granting the rings and buffers or allocating the event channel "
		       "failed";
		return -RT_EIO;
	}
	for (unsigned i = 0; i < TX_SLOTS; i++)
		nf.tx_free[i] = (uint16_t)(TX_SLOTS - 1 - i);
	nf.n_free = TX_SLOTS;
	for (unsigned i = 0; i < RX_SLOTS; i++)
		post_rx(i);
	nf.rx->req_prod = nf.rx_prod_pvt; /* read by the backend when it connects */
	return 0;
}

/* Frontend keys, then Connected (netback connects on that, as it does for
 * Linux's netfront, which skips Initialised). */
static int publish(uint32_t tx_ring_ref, uint32_t rx_ring_ref, const char **why)
{
	const char *fe = nf.dev.fe;

	if (xs_write_key_num(fe, "tx-ring-ref", tx_ring_ref) ||
	    xs_write_key_num(fe, "rx-ring-ref", rx_ring_ref) ||
	    xs_write_key_num(fe, "event-channel", nf.evtchn) ||
	    xs_write_key(fe, "request-rx-copy", "1") || xs_write_key(fe, "feature-rx-notify", "1") ||
	    xs_write_key(fe, "feature-no-csum-offload", "1") || xs_write_key(fe, "feature-sg", "0") ||
	    xs_write_key(fe, "feature-gso-tcpv4", "0") ||
	    xs_write_key_num(fe, "state", XENBUS_STATE_CONNECTED)) {
		*why = "netfront: writing the frontend's xenstore keys failed";
		return -RT_EIO;
	}
	return 0;
}

static void make_note(void)
{
	char *p = note, *end = note + sizeof(note) - 1;

	p = rt_put_str(p, end, "Xen netfront (ring 3, polled): ");
	p = rt_put_dec(p, end, TX_SLOTS);
	p = rt_put_str(p, end, " TX buffers (copied), ");
	p = rt_put_dec(p, end, RX_SLOTS);
	p = rt_put_str(p, end, " RX pages (rx-copy), no offloads, netback vif");
	*p = '\0';
}

static int connect(struct rt_net_info *info, const char **why)
{
	uint64_t state = 0, rx_copy = 0;
	uint32_t tx_ref = 0, rx_ref = 0;
	int e;

	if ((e = xen_gnttab_init(why)) || (e = xs_init(why)) || (e = find_vif(info, why)))
		return e;
	if (xs_wait_state(nf.dev.be, XENBUS_STATE_INITWAIT, WAIT_S, &state) ||
	    state > XENBUS_STATE_CONNECTED) {
		*why = "netfront: the backend never reached InitWait (is xen-netback loaded in "
		       "dom0?)";
		return -RT_ETIMEDOUT;
	}
	if (xs_read_key(nf.dev.be, "feature-rx-copy", &rx_copy) || rx_copy != 1) {
		*why = "netfront: the backend does not offer feature-rx-copy (the only RX mode "
		       "we speak)";
		return -RT_ENODEV;
	}
	if ((e = make_rings(&tx_ref, &rx_ref, why)) || (e = publish(tx_ref, rx_ref, why)))
		return e;
	if (xs_wait_state(nf.dev.be, XENBUS_STATE_CONNECTED, WAIT_S, &state) ||
	    state != XENBUS_STATE_CONNECTED) {
		*why = "netfront: the backend did not connect (it waits for hotplug-status "
		       "connected from the vif's hotplug script, or it went to Closing)";
		return -RT_ETIMEDOUT;
	}
	make_note();
	info->tx_depth = TX_SLOTS;
	info->rx_depth = RX_SLOTS;
	info->note = note;
	return 0;
}

/* A failed handshake is not tried again (xen_handshake, as in blkfront):
 * every net/ workload gets the first attempt's reason. */
static int netfront_open(struct rt_net_info *info, const char **why)
{
	static struct xen_handshake hs;
	int e;

	if (xen_handshake_failed(&hs, why))
		return hs.failed;
	e = connect(info, why); /* before *why is read: it sets it */
	return xen_handshake_done(&hs, e, *why);
}

/* ------------------------------------------------------------ frames */

static int netfront_send(const void *frame, uint32_t len)
{
	struct netif_tx_request *r;
	unsigned slot, page;
	uint16_t offset;

	if (nf.broken)
		return -RT_EIO;
	reclaim_tx();
	if (nf.broken)
		return -RT_EIO;
	if (!nf.n_free) {
		nf.st.tx_full++;
		return -RT_EAGAIN;
	}
	slot = nf.tx_free[--nf.n_free];
	netif_tx_place(slot, &page, &offset);
	rt_memcpy(nf.tx_buf + page * 4096ull + offset, frame, len);
	r = &nf.tx->ring[nf.tx_prod_pvt++ & (NETIF_TX_RING_SIZE - 1)].req;
	r->gref = nf.tx_ref + page;
	r->offset = offset;
	r->flags = 0; /* checksums are complete: nothing for the backend to do */
	r->id = (uint16_t)slot;
	r->size = (uint16_t)len;
	nf.tx_busy[slot] = true;
	nf.st.tx_frames++;
	return 0;
}

static void netfront_kick(void)
{
	bool tx = push(&nf.tx->req_prod, &nf.tx->req_event, nf.tx_prod_pvt);
	bool rx = push(&nf.rx->req_prod, &nf.rx->req_event, nf.rx_prod_pvt);

	if (tx || rx)
		xen_evtchn_send(nf.evtchn); /* one channel serves both rings */
}

/* The next RX response: its length (> 0) with the frame copied to buf, 0
 * when none is there, -1 for a slot that held no frame (taken, go on). */
static int take_rx(void *buf, uint32_t max)
{
	uint32_t prod = nf.rx->rsp_prod;
	struct netif_rx_response r;
	const char *why = NULL;
	int n, len;

	rt_barrier(); /* the index before the responses */
	n = netif_new_responses(prod, nf.rx_cons, nf.rx_outstanding);
	if (n < 0)
		break_device("netfront: the backend's RX rsp_prod claims more responses than "
			     "buffers posted");
	if (n <= 0)
		return 0;
	r = nf.rx->ring[nf.rx_cons++ & (NETIF_RX_RING_SIZE - 1)].rsp; /* one copy */
	len = netif_rx_check(&r, RX_SLOTS, r.id < RX_SLOTS && nf.rx_posted[r.id], &why);
	if (len < 0) {
		break_device(why);
		return 0;
	}
	nf.rx_posted[r.id] = false;
	nf.rx_outstanding--;
	if (len > 0)
		rt_memcpy(buf, nf.rx_buf + r.id * 4096ull + r.offset, (uint32_t)len < max ? (uint32_t)len : max);
	post_rx(r.id);
	if (push(&nf.rx->req_prod, &nf.rx->req_event, nf.rx_prod_pvt))
		xen_evtchn_send(nf.evtchn);
	if (!len) {
		nf.rx_dropped++;
		return -1;
	}
	return len;
}

static uint32_t netfront_recv(void *buf, uint32_t max)
{
	int len;

	if (nf.broken)
		return 0;
	while ((len = take_rx(buf, max)) < 0)
		;
	if (!len)
		return 0;
	nf.st.rx_frames++;
	if ((uint32_t)len > max)
		nf.st.rx_cut++;
	return (uint32_t)len;
}

static void netfront_stats(struct rt_net_stats *st)
{
	*st = nf.st;
}

const struct rt_net_ops rt_xen_netfront = {
	.name = "netfront",
	.open = netfront_open,
	.send = netfront_send,
	.kick = netfront_kick,
	.recv = netfront_recv,
	.stats = netfront_stats,
};
