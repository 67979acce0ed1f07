/*
 * net/verify: the network path moves the right bytes, both ways.  One
 * operation sends one ECHO datagram to the responder (hvb/netproto.h) and
 * waits for it to come back; the reply must pass the frame checks
 * (net_frame_check: addresses, IPv4 and UDP checksums, protocol header) and
 * carry the very payload that was sent, byte for byte.  Frames vary in
 * size over the operations, from 64 to 1514 bytes.  A mismatch, a corrupt
 * or foreign-protocol reply to our port, or an echo that never comes ends
 * the cell as failed (rt_fail) with a reason that names the sequence
 * number and the byte; its time per operation (one verified round trip) is
 * a by-product, not a benchmark.  Under net.reflect=1 (the core's loopback:
 * no responder, every frame comes back with addresses swapped) the same
 * round trips run without RESET and STATS.
 *
 * The payload is recomputable from the datagram alone, so the responder's
 * side can check what arrived too (tests/qemu/net_echo.py does):
 *
 *   payload  = struct hvb_net_hdr (type ECHO, session, seq, stamp = TSC)
 *              followed by bytes 20 .. len-1
 *   bytes    = the outputs of rt_rand (xorshift64*, workload.h) from state
 *              VERIFY_SEED + seq (1 if that is 0), each 8 bytes
 *              little-endian, the last one cut
 *   frame    = HVB_NET_HDRS + payload bytes: seq % 4 == 0 -> 64,
 *              seq % 4 == 1 -> 1514, else 64 + mix(VERIFY_SEED + seq) % 1451
 *              (mix: the splitmix64 finalizer, as io/verify's)
 *
 * Sequence numbers count 0, 1, 2, ... over the cell (setup's check is
 * seq 0), in a session picked at setup and started with RESET; late or
 * duplicated echoes of an earlier seq or session are passed over and
 * counted, not failed.  The teardown's LOG line says how many round trips
 * were verified and what the responder counted (STATS).
 */
#include "net/frame.h"
#include "workload.h"

#define VERIFY_SEED 0x6876626e76657269ull /* "hvbnveri" */
#define FRAME_MIN 64u
#define WAIT_MS 2000u	/* an echo later than that is lost */
#define RESET_TRIES 3u	/* RESET is idempotent: the first frame on a fresh link may be lost */

static struct nverify {
	struct rt_net_info info;
	uint8_t *tx, *rx;   /* one frame each, RT_NET_FRAME_MAX bytes */
	uint32_t session;
	uint32_t seq;	    /* the next operation */
	uint64_t passed;    /* replies passed over: other traffic, stale or late echoes */
	uint16_t ip_id;
	bool failed;
	char why[160];	    /* rt_fail's text: static, outlives the cell */
} v;

static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint32_t frame_len(uint32_t seq)
{
	if (seq % 4 == 0)
		return FRAME_MIN;
	if (seq % 4 == 1)
		return RT_NET_FRAME_MAX;
	return FRAME_MIN + (uint32_t)(mix(VERIFY_SEED + seq) % (RT_NET_FRAME_MAX - FRAME_MIN + 1));
}

/* Bytes [sizeof(hvb_net_hdr), len) of seq's payload. */
static void pattern(uint8_t *payload, uint32_t len, uint32_t seq)
{
	uint64_t state = VERIFY_SEED + seq;

	if (!state)
		state = 1;
	for (uint32_t i = sizeof(struct hvb_net_hdr); i < len; i += 8) {
		uint64_t r = rt_rand(&state);

		for (uint32_t b = 0; b < 8 && i + b < len; b++)
			payload[i + b] = (uint8_t)(r >> (8 * b));
	}
}

static uint64_t wait_cycles(void)
{
	return (uint64_t)WAIT_MS * rt_tsc_khz();
}

/* ---------------------------------------------- reasons */

/* "net/verify: seq K: WHATTAIL" into v.why (records carry 95 characters:
 * keep WHATTAIL under 70); returns it. */
static const char *reason(const char *what, const char *tail)
{
	size_t at = rt_text_str(v.why, sizeof(v.why), 0, "net/verify: seq ");

	at = rt_text_dec(v.why, sizeof(v.why), at, v.seq);
	at = rt_text_str(v.why, sizeof(v.why), at, ": ");
	at = rt_text_str(v.why, sizeof(v.why), at, what);
	rt_text_str(v.why, sizeof(v.why), at, tail);
	return v.why;
}

/* ---------------------------------------------- sending */

/* Build the frame of `payload_len` bytes already at v.tx + HVB_NET_HDRS and
 * hand it to the link; 0 or the reason. */
static const char *send_frame(uint32_t payload_len)
{
	uint32_t len = net_frame_udp(v.tx, &v.info, v.ip_id++, payload_len);
	uint64_t t0 = rt_tsc_begin();
	int e;

	while ((e = rt_net_send(v.tx, len)) == -11) { /* -EAGAIN: sent frames not yet reclaimed */
		rt_net_kick();
		if (rt_tsc_begin() - t0 > wait_cycles())
			return reason("the driver's transmit queue stayed full for 2 s", "");
	}
	if (e < 0)
		return reason("the driver refused the frame", e == -5 ? " (-EIO: device broken)" : "");
	rt_net_kick();
	return 0;
}

/* ---------------------------------------------- receiving */

/* The next datagram of the protocol from the responder, header in *h,
 * within the wait; NULL + *why when none came or one was corrupt. */
static const uint8_t *next_datagram(struct hvb_net_hdr *h, uint32_t *plen, const char **why)
{
	uint64_t t0 = rt_tsc_begin();

	for (;;) {
		uint32_t n = rt_net_recv(v.rx, RT_NET_FRAME_MAX);
		const uint8_t *payload;
		enum net_rx_verdict verdict;

		if (!n) {
			if (rt_tsc_begin() - t0 > wait_cycles()) {
				*why = reason("no answer within 2 s", "");
				return 0;
			}
			continue;
		}
		verdict = net_frame_check(v.rx, n, n < RT_NET_FRAME_MAX ? n : RT_NET_FRAME_MAX,
					  &v.info, &payload, plen);
		if (verdict == NET_RX_OTHER || verdict == NET_RX_NOT_PEER) {
			v.passed++; /* not ours: ARP, IPv6, another sender */
			continue;
		}
		if (verdict != NET_RX_OK) {
			*why = reason("reply to our port is corrupt: ", net_rx_verdict_name(verdict));
			return 0;
		}
		net_hdr_get(payload, h);
		if (h->session != v.session) {
			v.passed++; /* an earlier cell's */
			continue;
		}
		return payload;
	}
}

/* The first byte of the echo that differs from what was sent, by its
 * offset in the frame. */
static const char *compare(const uint8_t *got, uint32_t len)
{
	const uint8_t *sent = v.tx + HVB_NET_HDRS;
	char what[96];
	size_t at;
	uint32_t i = 0;

	while (i < len && got[i] == sent[i])
		i++;
	if (i == len)
		return 0;
	at = rt_text_str(what, sizeof(what), 0, "byte ");
	at = rt_text_dec(what, sizeof(what), at, HVB_NET_HDRS + i);
	at = rt_text_str(what, sizeof(what), at, " of the echo reads ");
	at = rt_text_hex(what, sizeof(what), at, got[i]);
	at = rt_text_str(what, sizeof(what), at, ", sent ");
	rt_text_hex(what, sizeof(what), at, sent[i]);
	return reason(what, "");
}

static const char *await_echo(uint32_t payload_len)
{
	for (;;) {
		struct hvb_net_hdr h;
		uint32_t plen;
		const char *why = 0;
		const uint8_t *payload = next_datagram(&h, &plen, &why);
		char what[64];
		size_t at;

		if (!payload)
			return why;
		if (h.type == HVB_NET_ECHO && h.seq < v.seq) {
			v.passed++; /* a late or duplicated echo */
			continue;
		}
		if (h.type != HVB_NET_ECHO || h.seq != v.seq) {
			at = rt_text_str(what, sizeof(what), 0, "the answer has type ");
			at = rt_text_dec(what, sizeof(what), at, h.type);
			at = rt_text_str(what, sizeof(what), at, ", seq ");
			rt_text_dec(what, sizeof(what), at, h.seq);
			return reason(what, " (an ECHO of this seq was sent)");
		}
		if (plen != payload_len) {
			at = rt_text_str(what, sizeof(what), 0, "the echo has ");
			at = rt_text_dec(what, sizeof(what), at, plen);
			at = rt_text_str(what, sizeof(what), at, " payload bytes, sent ");
			rt_text_dec(what, sizeof(what), at, payload_len);
			return reason(what, "");
		}
		return compare(payload, plen);
	}
}

/* ---------------------------------------------- one round trip */

static const char *verify_one(void)
{
	uint32_t plen = frame_len(v.seq) - HVB_NET_HDRS;
	uint8_t *payload = v.tx + HVB_NET_HDRS;
	const char *why;

	net_hdr_put(payload, HVB_NET_ECHO, v.session, v.seq, rt_tsc_begin());
	pattern(payload, plen, v.seq);
	why = send_frame(plen);
	if (!why)
		why = await_echo(plen);
	v.seq++;
	return why;
}

/* ---------------------------------------------- control: RESET, STATS */

/* Send a control datagram of `type` and wait for the responder's STATS of
 * this session (under reflect: our own datagram back); 0 or the reason. */
static const char *control(uint8_t type, struct hvb_net_ctl *ctl)
{
	uint32_t plen = sizeof(struct hvb_net_hdr) + sizeof(*ctl);
	const char *why;

	rt_memset(v.tx + HVB_NET_HDRS, 0, plen);
	net_hdr_put(v.tx + HVB_NET_HDRS, type, v.session, 0, rt_tsc_begin());
	why = send_frame(plen);
	for (;;) {
		struct hvb_net_hdr h;
		uint32_t got;
		const uint8_t *payload = why ? 0 : next_datagram(&h, &got, &why);

		if (!payload)
			return why;
		if (h.type == (v.info.reflect ? type : HVB_NET_STATS) && got >= plen) {
			rt_memcpy(ctl, payload + sizeof(h), sizeof(*ctl));
			return 0;
		}
		v.passed++; /* an echo of an earlier seq */
	}
}

static const char *start_session(void)
{
	struct hvb_net_ctl ctl;
	const char *why = 0;

	v.session = (uint32_t)mix(rt_tsc_begin()) | 1;
	for (unsigned i = 0; i < RESET_TRIES; i++) {
		why = control(HVB_NET_RESET, &ctl);
		if (!why)
			return 0;
	}
	return "net/verify: the responder did not answer RESET (3 tries, 2 s each)";
}

/* ---------------------------------------------- the workload */

static bool verify_valid(struct hvb_ctx *ctx, const char **why)
{
	(void)ctx;
	return rt_has(HVB_CAP_NET, why);
}

static void release(void)
{
	rt_free(v.tx, RT_NET_FRAME_MAX);
	rt_free(v.rx, RT_NET_FRAME_MAX);
	v.tx = v.rx = 0;
}

static int verify_setup(struct hvb_ctx *ctx, const char **why)
{
	int e;

	v = (struct nverify){ 0 };
	e = rt_net_open(&v.info, why);
	if (e < 0)
		return e;
	v.tx = rt_alloc(RT_NET_FRAME_MAX, 64);
	v.rx = rt_alloc(RT_NET_FRAME_MAX, 64);
	if (!v.tx || !v.rx) {
		release();
		*why = "net/verify: no memory for two frames";
		return -12;
	}
	ctx->note = v.info.note;
	*why = start_session();
	if (!*why)
		*why = verify_one(); /* seq 0, untimed: a broken path fails here, before timing */
	if (*why) {
		release();
		return -5;
	}
	return 0;
}

static void verify_run(struct hvb_ctx *ctx, uint64_t n)
{
	for (uint64_t i = 0; i < n && !v.failed; i++) {
		const char *why = verify_one();

		if (why) {
			v.failed = true;
			rt_fail(ctx, why);
		}
	}
}

/* What a host-side check needs: how many round trips, what the responder
 * counted. */
static void verify_teardown(struct hvb_ctx *ctx)
{
	struct hvb_net_ctl ctl;
	char msg[160];
	size_t at = rt_text_str(msg, sizeof(msg), 0, "net/verify: ");

	(void)ctx;
	at = rt_text_dec(msg, sizeof(msg), at, v.seq);
	at = rt_text_str(msg, sizeof(msg), at, v.failed ? " round trips, FAILED" : " round trips, all verified");
	at = rt_text_str(msg, sizeof(msg), at, ", passed over ");
	at = rt_text_dec(msg, sizeof(msg), at, v.passed);
	if (v.info.reflect) {
		rt_text_str(msg, sizeof(msg), at, ", reflected (no responder)");
	} else if (!v.failed && !control(HVB_NET_STATS, &ctl)) {
		at = rt_text_str(msg, sizeof(msg), at, ", responder rx ");
		at = rt_text_dec(msg, sizeof(msg), at, ctl.rx_datagrams);
		at = rt_text_str(msg, sizeof(msg), at, " tx ");
		rt_text_dec(msg, sizeof(msg), at, ctl.tx_datagrams);
	}
	rt_log(msg);
	release();
}

static const struct hvb_workload net_verify = {
	.name = "net/verify",
	.desc = "one ECHO datagram of 64..1514 B frames to the responder and back, "
		"checked byte for byte",
	.kind = HVB_KIND_TIME_PER_OP,
	.valid = verify_valid,
	.setup = verify_setup,
	.run = verify_run,
	.teardown = verify_teardown,
	.fixed_ops = 32,
	.needs = HVB_CAP_NET,
};
HVB_WORKLOAD(net_verify);
