/*
 * net/: UDP datagrams through rt_net_* (workload.h) to and from the
 * responder on the host side of the run's link (hvb/netproto.h), the same
 * code natively and in every guest; what differs is what carries a frame,
 * which is what these measure:
 *
 *   net/udp-rr-64       one 64 B ECHO request and its reply (latency)
 *   net/tx-pps-64       64 B SINK datagrams to the responder (packets/s)
 *   net/rx-pps-64       64 B DATA datagrams from the responder (packets/s)
 *   net/tx-stream-1500  1514 B frames to the responder (MB/s of UDP payload)
 *   net/rx-stream-1500  1514 B frames from the responder (MB/s)
 *
 * Every one counts loss (counts_loss): the harness's figures are per
 * delivered datagram and each repetition has lost / loss_pct / reordered.
 *
 * udp-rr: each round trip sends one ECHO (session, seq, TSC stamp) and
 * polls until the reply with that session and seq arrives, or
 * RR_TIMEOUT_MS pass (lost, and on to the next); replies of earlier seqs
 * arriving meanwhile are late: counted as reordered, never as this one.
 * Stale frames are drained before each batch.
 *
 * tx-*: before each batch (untimed) a RESET starts a session; the batch
 * sends n SINK datagrams as fast as rt_net_send takes them (a kick every
 * TX_KICK frames, kick and retry on -EAGAIN), then asks STATS and waits
 * for the answer inside the timed region: the responder answers after it
 * has taken every SINK before it (one flow, in order), so the time is
 * until the datagrams were delivered, not until they were queued, and the
 * STATS say how many arrived: lost = n - rx_datagrams.
 *
 * rx-*: before each batch a RESET; the batch asks for its n datagrams in
 * STREAM requests of at most RX_CHUNK (unpaced; a chunk a slow receiver
 * can take without everything overflowing at once: a virtio ring of 256
 * plus a tap queue of 1000 frames holds most of it), each followed by the
 * responder's STATS; a chunk ends at that STATS or after RX_IDLE_MS
 * without a frame.  lost = datagrams of the chunk never received
 * (distinct seqs); the responder's own send errors (tx_errors of its
 * STATS) go into the note.
 *
 * Under net.reflect=1 (the reference core's loopback: no responder, every
 * frame comes back with the addresses swapped) udp-rr runs unchanged, tx-*
 * count the reflected SINK frames they receive as delivered (the note says
 * so), and rx-* are skipped: nothing would send a stream.
 */
#include "workload.h"

#include "net/frame.h"

#define RR_TIMEOUT_MS  50u
#define CTL_TIMEOUT_MS 250u /* one RESET/STATS exchange: a loaded host can stall a VMM for 100 ms */
#define CTL_TRIES      4u
#define RX_IDLE_MS     20u
#define RX_CHUNK       1024u
#define TX_KICK	       32u
#define DRAIN_MAX      4096u /* frames drained before a batch, at most */
#define NET_EAGAIN     11    /* the same number natively and in the guest runtime */

enum net_mode { NET_RR, NET_TX, NET_RX };

struct net_params {
	enum net_mode mode;
	uint32_t payload; /* UDP payload bytes of a data datagram */
};

static struct {
	const struct net_params *p;
	struct rt_net_info info;
	uint32_t session, seq, ctl_seq;
	uint8_t frame[RT_NET_FRAME_MAX]; /* the data frame, header rewritten per datagram */
	uint32_t frame_len;
	uint8_t rx[RT_NET_FRAME_MAX];
	uint64_t rr_timeout, ctl_timeout, rx_idle; /* TSC cycles */
	struct hvb_net_ctl stats;		   /* the last STATS answer */
	bool have_stats;
	uint64_t batch_tx_errors; /* rx-*: the responder's send errors in this batch */
	uint64_t peer_tx_errors;  /* ... and in this cell so far */
	uint8_t seen[RX_CHUNK / 8];
	char note[HVB_TEXT_MAX];
} nw;

static uint64_t ms_cycles(uint32_t ms)
{
	return (uint64_t)ms * rt_tsc_khz();
}

/* ------------------------------------------------------------ frames */

/* Queue one frame, kicking while the driver's queue is full.  false
 * (after rt_fail) if the driver refused it outright. */
static bool send_frame(struct hvb_ctx *c, const uint8_t *frame, uint32_t len)
{
	for (;;) {
		int r = rt_net_send(frame, len);

		if (!r)
			return true;
		if (r != -NET_EAGAIN) {
			rt_fail(c, "net: rt_net_send refused a frame of a valid length");
			return false;
		}
		rt_net_kick();
	}
}

/* The next received frame of our protocol: true with its header and
 * payload length; false if none is waiting (other traffic is skipped). */
static bool recv_proto(struct hvb_net_hdr *h, const uint8_t **payload, uint32_t *plen)
{
	for (;;) {
		uint32_t len = rt_net_recv(nw.rx, sizeof(nw.rx));

		if (!len)
			return false;
		if (net_frame_check(nw.rx, len, len < sizeof(nw.rx) ? len : sizeof(nw.rx), &nw.info,
				    payload, plen) == NET_RX_OK) {
			net_hdr_get(*payload, h);
			return true;
		}
	}
}

/* Take whatever is waiting (late replies, a previous batch's DATA). */
static void drain(void)
{
	for (unsigned i = 0; i < DRAIN_MAX; i++)
		if (!rt_net_recv(nw.rx, sizeof(nw.rx)))
			return;
}

/* ------------------------------------------------------------ control */

/* Send one control datagram (RESET, STATS or STREAM with ctl). */
static bool send_control(struct hvb_ctx *c, uint8_t type, const struct hvb_net_ctl *ctl)
{
	uint8_t frame[HVB_NET_HDRS + sizeof(struct hvb_net_hdr) + sizeof(struct hvb_net_ctl)];
	uint8_t *payload = frame + HVB_NET_HDRS;
	uint32_t len;

	net_hdr_put(payload, type, nw.session, nw.ctl_seq, rt_tsc_begin());
	rt_memcpy(payload + sizeof(struct hvb_net_hdr), ctl, sizeof(*ctl));
	len = net_frame_udp(frame, &nw.info, 0,
			    sizeof(struct hvb_net_hdr) + sizeof(struct hvb_net_ctl));
	if (!send_frame(c, frame, len))
		return false;
	rt_net_kick();
	return true;
}

/* A STATS answer of our session to control datagram nw.ctl_seq? */
static bool is_answer(const struct hvb_net_hdr *h, const uint8_t *payload, uint32_t plen)
{
	if (h->type != HVB_NET_STATS || h->session != nw.session || h->seq != nw.ctl_seq ||
	    plen < sizeof(*h) + sizeof(struct hvb_net_ctl))
		return false;
	rt_memcpy(&nw.stats, payload + sizeof(*h), sizeof(nw.stats));
	nw.have_stats = true;
	return true;
}

/* RESET or STATS: send, wait up to CTL_TIMEOUT_MS for the answer, retry;
 * true with nw.stats filled. */
static bool control(struct hvb_ctx *c, uint8_t type)
{
	struct hvb_net_ctl ctl = { 0 };

	nw.have_stats = false;
	for (unsigned t = 0; t < CTL_TRIES; t++) {
		uint64_t t0 = rt_tsc_begin();

		nw.ctl_seq++;
		if (!send_control(c, type, &ctl))
			return false;
		while (rt_tsc_end() - t0 < nw.ctl_timeout) {
			struct hvb_net_hdr h;
			const uint8_t *p;
			uint32_t plen;

			if (recv_proto(&h, &p, &plen) && is_answer(&h, p, plen))
				return true;
		}
	}
	return false;
}

/* A new session at the responder, before a batch (untimed). */
static bool reset_session(struct hvb_ctx *c)
{
	nw.session++;
	if (control(c, HVB_NET_RESET))
		return true;
	rt_fail(c, "net: the responder did not answer RESET (4 tries of 250 ms)");
	return false;
}

/* ------------------------------------------------------------ udp-rr */

static void rr_before(struct hvb_ctx *c, uint64_t n)
{
	(void)c, (void)n;
	drain();
}

/* Poll for the reply to seq until the deadline; late replies counted. */
static bool rr_wait(struct hvb_ctx *c, uint32_t seq, uint64_t t0)
{
	do {
		struct hvb_net_hdr h;
		const uint8_t *p;
		uint32_t plen;

		if (!recv_proto(&h, &p, &plen) || h.type != HVB_NET_ECHO || h.session != nw.session)
			continue;
		if (h.seq == seq)
			return true;
		if (h.seq < seq)
			rt_reordered(c, 1);
	} while (rt_tsc_end() - t0 < nw.rr_timeout);
	return false;
}

static void rr_run(struct hvb_ctx *c, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint32_t seq = nw.seq++;
		uint64_t t0 = rt_tsc_begin(), t1;

		net_frame_put_hdr(nw.frame, HVB_NET_ECHO, nw.session, seq, t0);
		if (!send_frame(c, nw.frame, nw.frame_len))
			return;
		rt_net_kick();
		if (!rr_wait(c, seq, t0)) {
			rt_lost(c, 1);
			continue;
		}
		t1 = rt_tsc_end();
		rt_req_time(c, t1 - t0);
	}
}

/* ------------------------------------------------------------ tx-* */

/* Reflected SINK frames of this batch (net.reflect=1): counted as
 * delivered; the highest seq tells reordering. */
static struct {
	uint64_t got, reordered;
	uint32_t high;
	bool any;
} refl;

static void take_reflections(void)
{
	struct hvb_net_hdr h;
	const uint8_t *p;
	uint32_t plen;

	while (recv_proto(&h, &p, &plen)) {
		if (h.type != HVB_NET_SINK || h.session != nw.session)
			continue;
		refl.got++;
		if (refl.any && h.seq < refl.high)
			refl.reordered++;
		else
			refl.high = h.seq, refl.any = true;
	}
}

static void tx_before(struct hvb_ctx *c, uint64_t n)
{
	(void)n;
	drain();
	refl.got = refl.reordered = 0;
	refl.any = false;
	if (nw.info.reflect)
		nw.session++;
	else
		reset_session(c);
}

/* After the last frame under reflection: until all came back, or
 * RX_IDLE_MS without one (CTL_TIMEOUT_MS before the first). */
static void tx_wait_reflections(uint64_t n)
{
	uint64_t last = rt_tsc_begin(), seen = refl.got;

	/* Until the first reflection comes, wait as long as for a control
	 * answer: on a loaded host the VMM's I/O thread may not have run yet,
	 * and giving up then would count the whole batch as lost. */
	while (refl.got < n && rt_tsc_end() - last < (refl.got ? nw.rx_idle : nw.ctl_timeout)) {
		take_reflections();
		if (refl.got != seen)
			seen = refl.got, last = rt_tsc_begin();
	}
}

static void tx_run(struct hvb_ctx *c, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		int r;

		net_frame_put_hdr(nw.frame, HVB_NET_SINK, nw.session, (uint32_t)i, 0);
		while ((r = rt_net_send(nw.frame, nw.frame_len)) == -NET_EAGAIN) {
			rt_net_kick();
			if (nw.info.reflect)
				take_reflections();
		}
		if (r) {
			rt_fail(c, "net: rt_net_send refused a frame of a valid length");
			return;
		}
		if ((i + 1) % TX_KICK == 0) {
			rt_net_kick();
			if (nw.info.reflect)
				take_reflections();
		}
	}
	rt_net_kick();
	if (nw.info.reflect)
		tx_wait_reflections(n);
	else if (!control(c, HVB_NET_STATS))
		rt_fail(c, "net: the responder did not answer STATS after a batch");
}

static void tx_after(struct hvb_ctx *c, uint64_t n)
{
	uint64_t got = nw.info.reflect ? refl.got : nw.stats.rx_datagrams;
	uint64_t reordered = nw.info.reflect ? refl.reordered : nw.stats.rx_reordered;

	if (!nw.info.reflect && !nw.have_stats)
		return; /* rt_fail said why */
	rt_lost(c, got < n ? n - got : 0);
	rt_reordered(c, reordered);
}

/* ------------------------------------------------------------ rx-* */

static void rx_before(struct hvb_ctx *c, uint64_t n)
{
	(void)n;
	drain();
	reset_session(c);
}

struct rx_chunk {
	uint32_t count, distinct, high;
	bool any, done;
	uint64_t reordered;
};

/* One received frame of the chunk. */
static void rx_take(struct rx_chunk *k, const struct hvb_net_hdr *h, const uint8_t *p,
		    uint32_t plen)
{
	if (h->session != nw.session)
		return;
	if (is_answer(h, p, plen)) { /* the STATS that ends the STREAM */
		k->done = true;
		return;
	}
	if (h->type != HVB_NET_DATA || h->seq >= k->count)
		return;
	if (!(nw.seen[h->seq / 8] & (1u << (h->seq % 8)))) {
		nw.seen[h->seq / 8] |= (uint8_t)(1u << (h->seq % 8));
		k->distinct++;
	}
	if (k->any && h->seq < k->high)
		k->reordered++;
	else
		k->high = h->seq, k->any = true;
}

/* Ask for count datagrams and take them: how many distinct arrived. */
static uint32_t rx_chunk(struct hvb_ctx *c, uint32_t count)
{
	struct hvb_net_ctl ctl = { .count = count, .size = nw.p->payload };
	struct rx_chunk k = { .count = count };
	uint64_t last;

	rt_memset(nw.seen, 0, sizeof(nw.seen));
	nw.ctl_seq++;
	if (!send_control(c, HVB_NET_STREAM, &ctl))
		return 0;
	last = rt_tsc_begin();
	/* Before the first frame the request itself may take a while. */
	while (!k.done && rt_tsc_end() - last < (k.any ? nw.rx_idle : nw.ctl_timeout)) {
		struct hvb_net_hdr h;
		const uint8_t *p;
		uint32_t plen;

		if (!recv_proto(&h, &p, &plen))
			continue;
		rx_take(&k, &h, p, plen);
		last = rt_tsc_begin();
	}
	/* The STATS counters run from the batch's RESET. */
	if (k.done && nw.stats.tx_errors > nw.batch_tx_errors)
		nw.batch_tx_errors = nw.stats.tx_errors;
	rt_reordered(c, k.reordered);
	return k.distinct;
}

static void rx_run(struct hvb_ctx *c, uint64_t n)
{
	uint64_t got = 0, left = n;

	nw.batch_tx_errors = 0;
	while (left) {
		uint32_t count = left < RX_CHUNK ? (uint32_t)left : RX_CHUNK;

		got += rx_chunk(c, count);
		left -= count;
	}
	rt_lost(c, n - got);
}

/* ------------------------------------------------------------ set-up */

/* The note: what carried the frames, and what is particular to this
 * workload here. */
static void build_note(void)
{
	size_t at = rt_text_str(nw.note, sizeof(nw.note), 0, nw.info.note);

	if (nw.p->mode == NET_TX && nw.info.reflect)
		rt_text_str(nw.note, sizeof(nw.note), at,
			    "; loopback: reflected frames = delivered");
	if (nw.p->mode == NET_RX) {
		at = rt_text_str(nw.note, sizeof(nw.note), at, "; responder send errors ");
		rt_text_dec(nw.note, sizeof(nw.note), at, nw.peer_tx_errors);
	}
}

static void rx_after(struct hvb_ctx *c, uint64_t n)
{
	(void)c, (void)n;
	nw.peer_tx_errors += nw.batch_tx_errors;
	build_note();
}

static bool net_valid(const struct net_params *p, const char **why)
{
	struct rt_net_info info;

	if (!rt_has(HVB_CAP_NET, why) || rt_net_open(&info, why) < 0)
		return false;
	if (p->mode == NET_RX && info.reflect) {
		*why = "the link reflects frames (net.reflect=1): no responder to send a stream";
		return false;
	}
	return true;
}

static int net_setup(struct hvb_ctx *c, const char **why, const struct net_params *p)
{
	uint8_t *payload = nw.frame + HVB_NET_HDRS;

	rt_memset(&nw, 0, sizeof(nw));
	nw.p = p;
	if (rt_net_open(&nw.info, why) < 0)
		return -1;
	nw.rr_timeout = ms_cycles(RR_TIMEOUT_MS);
	nw.ctl_timeout = ms_cycles(CTL_TIMEOUT_MS);
	nw.rx_idle = ms_cycles(RX_IDLE_MS);
	/* Sessions differ per cell and run: the TSC is as good as any. */
	nw.session = (uint32_t)(rt_tsc_begin() >> 8) | 1u;
	/* Payload bytes that are neither zero nor one repeated byte. */
	for (uint32_t i = sizeof(struct hvb_net_hdr); i < p->payload; i++)
		payload[i] = (uint8_t)(i * 31u + 7u);
	net_hdr_put(payload, HVB_NET_SINK, nw.session, 0, 0);
	nw.frame_len = net_frame_udp(nw.frame, &nw.info, 0, p->payload);
	drain();
	if (p->mode == NET_RR && !nw.info.reflect && !control(c, HVB_NET_RESET)) {
		*why = "net: the responder did not answer RESET (4 tries of 250 ms)";
		return -1;
	}
	build_note();
	c->note = nw.note;
	c->bytes_per_op = p->payload;
	c->priv = &nw;
	return 0;
}

/* ------------------------------------------------------------ descriptors */

#define NET_WORKLOAD(var, wname, wkind, wdesc, wrun, wbefore, wafter, wreq, ...)                   \
	static const struct net_params params_##var = {__VA_ARGS__};                               \
	static bool valid_##var(struct hvb_ctx *c, const char **why)                               \
	{                                                                                          \
		(void)c;                                                                           \
		return net_valid(&params_##var, why);                                              \
	}                                                                                          \
	static int setup_##var(struct hvb_ctx *c, const char **why)                                \
	{                                                                                          \
		return net_setup(c, why, &params_##var);                                           \
	}                                                                                          \
	static const struct hvb_workload var = {                                                   \
	    .name = wname,                                                                         \
	    .desc = wdesc,                                                                         \
	    .kind = wkind,                                                                         \
	    .valid = valid_##var,                                                                  \
	    .setup = setup_##var,                                                                  \
	    .run = wrun,                                                                           \
	    .before_batch = wbefore,                                                               \
	    .after_batch = wafter,                                                                 \
	    .needs = HVB_CAP_NET,                                                                  \
	    .per_request = wreq,                                                                   \
	    .counts_loss = true,                                                                   \
	};                                                                                         \
	HVB_WORKLOAD(var)

NET_WORKLOAD(udp_rr_64, "net/udp-rr-64", HVB_KIND_TIME_PER_OP,
	     "one 64 B UDP request to the responder and its echo (round trip)", rr_run, rr_before,
	     NULL, true, .mode = NET_RR, .payload = HVB_NET_PAYLOAD_64);
NET_WORKLOAD(tx_pps_64, "net/tx-pps-64", HVB_KIND_RATE,
	     "one 64 B UDP datagram sent to the responder (delivered packets/s)", tx_run,
	     tx_before, tx_after, false, .mode = NET_TX, .payload = HVB_NET_PAYLOAD_64);
NET_WORKLOAD(rx_pps_64, "net/rx-pps-64", HVB_KIND_RATE,
	     "one 64 B UDP datagram received from the responder's stream (packets/s)", rx_run,
	     rx_before, rx_after, false, .mode = NET_RX, .payload = HVB_NET_PAYLOAD_64);
NET_WORKLOAD(tx_stream_1500, "net/tx-stream-1500", HVB_KIND_BANDWIDTH,
	     "one 1514 B frame (1472 B of UDP payload) sent to the responder", tx_run, tx_before,
	     tx_after, false, .mode = NET_TX, .payload = HVB_NET_PAYLOAD_MTU);
NET_WORKLOAD(rx_stream_1500, "net/rx-stream-1500", HVB_KIND_BANDWIDTH,
	     "one 1514 B frame (1472 B of UDP payload) received from the responder's stream",
	     rx_run, rx_before, rx_after, false, .mode = NET_RX, .payload = HVB_NET_PAYLOAD_MTU);
