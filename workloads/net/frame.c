/*
 * Frames of the net/ protocol (frame.h): the guest's whole network stack.
 * Multi-byte header fields are big-endian on the wire; written byte by
 * byte so that nothing depends on alignment.
 */
#include "net/frame.h"

#define ETH_P_IPV4 0x0800u
#define IPPROTO_UDP_ 17u
#define IP_TTL_ 64u

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

uint32_t net_csum_add(uint32_t sum, const uint8_t *p, uint32_t n)
{
	uint64_t s = sum;

	for (; n >= 2; p += 2, n -= 2)
		s += (uint32_t)(p[0] << 8 | p[1]);
	if (n)
		s += (uint32_t)p[0] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t net_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}

/* UDP checksum over pseudo-header + UDP header + payload (RFC 768); 0 is
 * sent as 0xffff (0 means "none"). */
static uint16_t udp_csum(uint32_t src, uint32_t dst, const uint8_t *udp, uint32_t udp_len)
{
	uint8_t pseudo[12];
	uint16_t c;

	put32(pseudo, src);
	put32(pseudo + 4, dst);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_UDP_;
	put16(pseudo + 10, (uint16_t)udp_len);
	c = (uint16_t)~net_csum_fold(net_csum_add(net_csum_add(0, pseudo, 12), udp, udp_len));
	return c ? c : 0xffff;
}

uint32_t net_frame_udp(uint8_t *frame, const struct rt_net_info *info, uint16_t ip_id,
		       uint32_t payload_len)
{
	uint8_t *ip = frame + HVB_NET_ETH_HDR, *udp = ip + HVB_NET_IP_HDR;
	uint32_t udp_len = HVB_NET_UDP_HDR + payload_len;

	if (payload_len > HVB_NET_PAYLOAD_MTU)
		return 0;
	rt_memcpy(frame, info->peer_mac, 6);
	rt_memcpy(frame + 6, info->mac, 6);
	put16(frame + 12, ETH_P_IPV4);

	ip[0] = 0x45; /* version 4, 5 words */
	ip[1] = 0;
	put16(ip + 2, (uint16_t)(HVB_NET_IP_HDR + udp_len));
	put16(ip + 4, ip_id);
	put16(ip + 6, 0x4000); /* don't fragment */
	ip[8] = IP_TTL_;
	ip[9] = IPPROTO_UDP_;
	put16(ip + 10, 0);
	put32(ip + 12, info->ip);
	put32(ip + 16, info->peer_ip);
	put16(ip + 10, (uint16_t)~net_csum_fold(net_csum_add(0, ip, HVB_NET_IP_HDR)));

	put16(udp, info->port);
	put16(udp + 2, info->peer_port);
	put16(udp + 4, (uint16_t)udp_len);
	put16(udp + 6, 0);
	put16(udp + 6, udp_csum(info->ip, info->peer_ip, udp, udp_len));
	return HVB_NET_HDRS + payload_len;
}

void net_frame_put_hdr(uint8_t *frame, uint8_t type, uint32_t session, uint32_t seq,
		       uint64_t stamp)
{
	uint8_t *udp = frame + HVB_NET_ETH_HDR + HVB_NET_IP_HDR, *hdr = udp + HVB_NET_UDP_HDR;
	uint8_t old[sizeof(struct hvb_net_hdr)];
	uint32_t sum = (uint16_t)~get16(udp + 6);
	uint16_t c;

	/* The header sits at an even offset of the UDP segment (8), so its
	 * 16-bit words are words of the checksum: HC' = ~(~HC + ~m + m'). */
	rt_memcpy(old, hdr, sizeof(old));
	net_hdr_put(hdr, type, session, seq, stamp);
	for (unsigned i = 0; i < sizeof(old); i += 2) {
		sum += (uint16_t)~get16(old + i);
		sum += get16(hdr + i);
	}
	c = (uint16_t)~net_csum_fold(sum);
	put16(udp + 6, c ? c : 0xffff);
}

static bool to_us(const uint8_t *frame, const struct rt_net_info *info)
{
	for (unsigned i = 0; i < 6; i++)
		if (frame[i] != info->mac[i])
			return false;
	return get16(frame + 12) == ETH_P_IPV4;
}

enum net_rx_verdict net_frame_check(const uint8_t *frame, uint32_t len, uint32_t have,
				    const struct rt_net_info *info, const uint8_t **payload,
				    uint32_t *payload_len)
{
	const uint8_t *ip = frame + HVB_NET_ETH_HDR, *udp;
	uint32_t ihl, total, udp_len;
	struct hvb_net_hdr h;

	if (have > len)
		have = len;
	if (have < HVB_NET_ETH_HDR + HVB_NET_IP_HDR || !to_us(frame, info))
		return NET_RX_OTHER;
	if ((ip[0] >> 4) != 4 || get32(ip + 16) != info->ip)
		return NET_RX_OTHER;
	ihl = (ip[0] & 0xfu) * 4u;
	total = get16(ip + 2);
	if (ihl < HVB_NET_IP_HDR || total < ihl || HVB_NET_ETH_HDR + total > have ||
	    net_csum_fold(net_csum_add(0, ip, ihl)) != 0xffff || (get16(ip + 6) & 0x3fff))
		return NET_RX_BAD_IP;
	if (ip[9] != IPPROTO_UDP_)
		return NET_RX_OTHER;
	udp = ip + ihl;
	if (total - ihl < HVB_NET_UDP_HDR)
		return NET_RX_BAD_UDP;
	udp_len = get16(udp + 4);
	if (get16(udp + 2) != info->port)
		return NET_RX_OTHER;
	if (udp_len < HVB_NET_UDP_HDR || udp_len > total - ihl)
		return NET_RX_BAD_UDP;
	if (get16(udp + 6)) {
		uint8_t pseudo[12];

		put32(pseudo, get32(ip + 12));
		put32(pseudo + 4, get32(ip + 16));
		pseudo[8] = 0;
		pseudo[9] = IPPROTO_UDP_;
		put16(pseudo + 10, (uint16_t)udp_len);
		if (net_csum_fold(net_csum_add(net_csum_add(0, pseudo, 12), udp, udp_len)) != 0xffff)
			return NET_RX_BAD_UDP;
	}
	if (get32(ip + 12) != info->peer_ip || get16(udp) != info->peer_port)
		return NET_RX_NOT_PEER;
	if (udp_len - HVB_NET_UDP_HDR < sizeof(struct hvb_net_hdr))
		return NET_RX_BAD_PROTO;
	net_hdr_get(udp + HVB_NET_UDP_HDR, &h);
	if (h.magic != HVB_NET_MAGIC || h.version != HVB_NET_VERSION)
		return NET_RX_BAD_PROTO;
	*payload = udp + HVB_NET_UDP_HDR;
	*payload_len = udp_len - HVB_NET_UDP_HDR;
	return NET_RX_OK;
}

const char *net_rx_verdict_name(enum net_rx_verdict v)
{
	switch (v) {
	case NET_RX_OK:
		return "ok";
	case NET_RX_OTHER:
		return "not for this workload (other traffic)";
	case NET_RX_BAD_IP:
		return "bad IPv4 header (length, checksum or fragment)";
	case NET_RX_BAD_UDP:
		return "bad UDP checksum or length";
	case NET_RX_NOT_PEER:
		return "UDP from another address or port than the responder's";
	case NET_RX_BAD_PROTO:
		return "not the hvbench net protocol (short, magic or version)";
	}
	return "unknown verdict";
}
