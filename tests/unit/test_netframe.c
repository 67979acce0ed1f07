/*
 * net/ frames (workloads/net/frame.c): what the workloads build, they and
 * the responder's kernel accept; every corruption a device could cause is
 * caught before the payload is trusted; other traffic is told apart.  The
 * checksums are checked against an independent RFC 1071 sum written here.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "net/frame.h"
#include "tap.h"

static struct rt_net_info us = {
	.mac = { 2, 0x68, 0x76, 0x62, 0, 2 }, .peer_mac = { 2, 0x68, 0x76, 0x62, 0, 1 },
	.ip = 0x0a4e0002u, .peer_ip = 0x0a4e0001u, .port = HVB_NET_PORT, .peer_port = HVB_NET_PEER_PORT,
};

/* The reply the responder's kernel would send: addresses swapped. */
static struct rt_net_info peer_view(void)
{
	struct rt_net_info p = us;

	memcpy(p.mac, us.peer_mac, 6);
	memcpy(p.peer_mac, us.mac, 6);
	p.ip = us.peer_ip;
	p.peer_ip = us.ip;
	p.port = us.peer_port;
	p.peer_port = us.port;
	return p;
}

static uint16_t ref_csum(const uint8_t *p, size_t n)
{
	unsigned long s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (unsigned long)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (unsigned long)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t reply(uint8_t *f, uint32_t payload_len, uint32_t seq)
{
	struct rt_net_info p = peer_view();

	for (uint32_t i = 0; i < payload_len; i++)
		f[HVB_NET_HDRS + i] = (uint8_t)(i * 7 + 1);
	net_hdr_put(f + HVB_NET_HDRS, HVB_NET_ECHO, 77, seq, 0x1122334455667788ull);
	return net_frame_udp(f, &p, 0x1234, payload_len);
}

static void test_build(void)
{
	uint8_t f[HVB_NET_FRAME_MAX + 64];
	uint32_t len;

	memset(f, 0, sizeof(f));
	net_hdr_put(f + HVB_NET_HDRS, HVB_NET_ECHO, 1, 2, 3);
	len = net_frame_udp(f, &us, 9, HVB_NET_PAYLOAD_64);
	TAP_EQ_INT(len, 64, "a 64 B frame is 64 bytes");
	TAP_EQ_INT(ref_csum(f + 14, 20), 0, "its IPv4 header checksum verifies (reference sum)");
	TAP_OK(!memcmp(f, us.peer_mac, 6) && !memcmp(f + 6, us.mac, 6) && f[12] == 8 && f[13] == 0,
	       "Ethernet: to the peer's MAC, from ours, IPv4");
	TAP_EQ_INT(net_frame_udp(f, &us, 9, HVB_NET_PAYLOAD_MTU), HVB_NET_FRAME_MAX,
		   "an MTU frame is 1514 bytes");
	TAP_EQ_INT(net_frame_udp(f, &us, 9, HVB_NET_PAYLOAD_MTU + 1), 0, "one byte more is refused");
	TAP_EQ_INT(sizeof(struct hvb_net_hdr), 20, "the protocol header is 20 bytes");
	TAP_OK(sizeof(struct hvb_net_hdr) <= HVB_NET_PAYLOAD_64, "... and fits a 64 B frame");
}

static void test_check(void)
{
	uint8_t f[HVB_NET_FRAME_MAX];
	const uint8_t *pl;
	uint32_t pll, len = reply(f, 100, 5);
	struct hvb_net_hdr h;

	TAP_EQ_INT(net_frame_check(f, len, len, &us, &pl, &pll), NET_RX_OK, "a reply checks");
	net_hdr_get(pl, &h);
	TAP_OK(pll == 100 && h.seq == 5 && h.session == 77 && h.stamp == 0x1122334455667788ull,
	       "... its payload and header come back");
	TAP_EQ_INT(net_frame_check(f, len, len - 10, &us, &pl, &pll), NET_RX_BAD_IP,
		   "fewer bytes held than the IPv4 length (a cut frame): refused");
	len = reply(f, 20, 1);
	memset(f + len, 0, 16);
	TAP_EQ_INT(net_frame_check(f, len + 16, len + 16, &us, &pl, &pll), NET_RX_OK,
		   "a frame with padding after the IPv4 packet checks (IPv4 length decides)");
	TAP_EQ_INT(pll, 20, "... with its real payload length");

	for (uint32_t at = 14; at < 52; at++) {
		uint32_t l = reply(f, 100, 5);
		enum net_rx_verdict v;

		f[at] ^= 0x10;
		v = net_frame_check(f, l, l, &us, &pl, &pll);
		if (!TAP_OK(v != NET_RX_OK, "a flipped header or payload bit is never accepted"))
			printf("#   byte %u\n", at);
	}
	len = reply(f, 100, 5);
	f[HVB_NET_HDRS + 60] ^= 1;
	TAP_EQ_INT(net_frame_check(f, len, len, &us, &pl, &pll), NET_RX_BAD_UDP,
		   "a flipped payload bit: bad UDP checksum");
	len = reply(f, 100, 5);
	f[0] ^= 1;
	TAP_EQ_INT(net_frame_check(f, len, len, &us, &pl, &pll), NET_RX_OTHER, "to another MAC: other traffic");
	len = reply(f, 100, 5);
	f[12] = 0x08, f[13] = 0x06;
	TAP_EQ_INT(net_frame_check(f, len, len, &us, &pl, &pll), NET_RX_OTHER, "ARP: other traffic");
	TAP_EQ_INT(net_frame_check(f, 10, 10, &us, &pl, &pll), NET_RX_OTHER, "a runt: other traffic");
}

static void test_not_peer_or_proto(void)
{
	struct rt_net_info p = peer_view();
	uint8_t f[HVB_NET_FRAME_MAX];
	const uint8_t *pl;
	uint32_t pll, len;

	p.ip = 0x0a4e0009u;
	net_hdr_put(f + HVB_NET_HDRS, HVB_NET_ECHO, 1, 1, 1);
	len = net_frame_udp(f, &p, 1, 40);
	TAP_EQ_INT(net_frame_check(f, len, len, &us, &pl, &pll), NET_RX_NOT_PEER,
		   "UDP to us from another host: not the peer");
	p = peer_view();
	memset(f + HVB_NET_HDRS, 0xee, 40);
	len = net_frame_udp(f, &p, 1, 40);
	TAP_EQ_INT(net_frame_check(f, len, len, &us, &pl, &pll), NET_RX_BAD_PROTO,
		   "UDP from the peer without our magic: bad protocol");
	len = net_frame_udp(f, &p, 1, 8);
	TAP_EQ_INT(net_frame_check(f, len, len, &us, &pl, &pll), NET_RX_BAD_PROTO,
		   "a payload shorter than the header: bad protocol");
	TAP_OK(strstr(net_rx_verdict_name(NET_RX_BAD_UDP), "UDP") != NULL, "verdicts have names");
}

int main(void)
{
	test_build();
	test_check();
	test_not_peer_or_proto();
	return tap_done();
}
