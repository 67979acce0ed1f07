/*
 * Ethernet + IPv4 + UDP frames of the net/ protocol (hvb/netproto.h), built
 * and checked by the workloads themselves: the guest has no network stack,
 * so these few functions are all of it, and the native child sends the
 * very same bytes through AF_PACKET.  Freestanding (workload objects).
 *
 * Built frames carry a correct IPv4 header checksum and a UDP checksum
 * (RFC 768: over the pseudo-header), so the responder side's kernel checks
 * them and drops what a device corrupted; received frames are checked the
 * same way before their payload is trusted.
 */
#ifndef HVB_NET_FRAME_H
#define HVB_NET_FRAME_H

#include "hvb/netproto.h"
#include "workload.h"

/* Write the headers of a frame from us to the responder with payload_len
 * bytes of UDP payload, which the caller has already put at
 * frame + HVB_NET_HDRS (the UDP checksum covers it, so write the payload
 * first).  ip_id is the IPv4 identification.  Returns the frame's length,
 * or 0 if payload_len does not fit an MTU frame. */
uint32_t net_frame_udp(uint8_t *frame, const struct rt_net_info *info, uint16_t ip_id,
		       uint32_t payload_len);

/* Rewrite the protocol header of a frame net_frame_udp built (the same
 * length: only the header changes) and patch its UDP checksum
 * incrementally (RFC 1624), so a stream of MTU frames costs 20 bytes of
 * checksum per frame, not 1480. */
void net_frame_put_hdr(uint8_t *frame, uint8_t type, uint32_t session, uint32_t seq,
		       uint64_t stamp);

/* The protocol header at the start of a payload (unaligned-safe). */
static inline void net_hdr_put(uint8_t *payload, uint8_t type, uint32_t session, uint32_t seq,
			       uint64_t stamp)
{
	struct hvb_net_hdr h = {
		.magic = HVB_NET_MAGIC,
		.version = HVB_NET_VERSION,
		.type = type,
		.session = session,
		.seq = seq,
		.stamp = stamp,
	};
	rt_memcpy(payload, &h, sizeof(h));
}

enum net_rx_verdict {
	NET_RX_OK = 0,
	NET_RX_OTHER,	   /* not IPv4/UDP to our MAC, address and port (ARP, IPv6, broadcast): ignore */
	NET_RX_BAD_IP,	   /* IPv4 to us, but header length, total length, checksum or fragment wrong */
	NET_RX_BAD_UDP,	   /* UDP to us, but length or checksum wrong */
	NET_RX_NOT_PEER,   /* UDP to us from another address or port than the responder's */
	NET_RX_BAD_PROTO,  /* payload too short for hvb_net_hdr, wrong magic or version */
};

/* Check a received frame of len bytes (as rt_net_recv returned it, the
 * buffer holding at least min(len, its size) bytes: pass the bytes you
 * have as `have`).  NET_RX_OK: *payload and *payload_len are the UDP
 * payload, whose hvb_net_hdr was checked (magic, version).  Frames padded
 * to the Ethernet minimum are fine (IPv4 total length decides). */
enum net_rx_verdict net_frame_check(const uint8_t *frame, uint32_t len, uint32_t have,
				    const struct rt_net_info *info, const uint8_t **payload,
				    uint32_t *payload_len);

/* The protocol header of a checked payload. */
static inline void net_hdr_get(const uint8_t *payload, struct hvb_net_hdr *h)
{
	rt_memcpy(h, payload, sizeof(*h));
}

/* Name of a verdict, for notes and failures ("bad UDP checksum or length"). */
const char *net_rx_verdict_name(enum net_rx_verdict v);

/* RFC 1071 one's complement sum of n bytes, folded, not inverted; start
 * with sum = 0, or chain a previous result. */
uint32_t net_csum_add(uint32_t sum, const uint8_t *p, uint32_t n);
uint16_t net_csum_fold(uint32_t sum);

#endif
