/*
 * The net.* command-line words (abi.h) into struct rt_net_info, for the
 * rt_net_open of every environment (workloads/rt/net.c in the guest,
 * workloads/native/net.c natively): one parser, so a guest and the native
 * child read the same words the same way.  Freestanding.
 */
#include "harness.h"
#include "hvb/netproto.h"

#define EINVAL_ 22

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "xx:xx:xx:xx:xx:xx", exactly. */
static bool parse_mac(const char *s, uint8_t mac[6])
{
	for (unsigned i = 0; i < 6; i++) {
		int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);

		if (lo < 0 || s[2] != (i == 5 ? '\0' : ':'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 3;
	}
	return true;
}

/* "a.b.c.d", each 0..255 in decimal without leading junk; host order. */
static bool parse_ipv4(const char *s, uint32_t *ip)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < 4; i++) {
		unsigned octet = 0, digits = 0;

		for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++)
			octet = octet * 10 + (unsigned)(*s - '0');
		if (!digits || digits > 3 || octet > 255 || *s != (i == 3 ? '\0' : '.'))
			return false;
		v = v << 8 | octet;
		s++;
	}
	*ip = v;
	return true;
}

static bool parse_port(const char *s, uint16_t *port)
{
	uint64_t v;

	if (!hvb_parse_u64(s, &v) || !v || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

int hvb_net_words(const char *cmdline, struct rt_net_info *info, const char **why)
{
	char v[32];

	if (!hvb_cmdline_get(cmdline, "net.mac", v, sizeof(v)) || !parse_mac(v, info->mac)) {
		*why = "net.mac= is missing or not xx:xx:xx:xx:xx:xx (the runner attached no link)";
		return -EINVAL_;
	}
	if (!hvb_cmdline_get(cmdline, "net.peer_mac", v, sizeof(v)) ||
	    !parse_mac(v, info->peer_mac)) {
		*why = "net.peer_mac= is missing or not xx:xx:xx:xx:xx:xx";
		return -EINVAL_;
	}
	if (!hvb_cmdline_get(cmdline, "net.ip", v, sizeof(v)) || !parse_ipv4(v, &info->ip)) {
		*why = "net.ip= is missing or not a dotted IPv4 address";
		return -EINVAL_;
	}
	if (!hvb_cmdline_get(cmdline, "net.peer_ip", v, sizeof(v)) ||
	    !parse_ipv4(v, &info->peer_ip)) {
		*why = "net.peer_ip= is missing or not a dotted IPv4 address";
		return -EINVAL_;
	}
	info->port = HVB_NET_PORT;
	info->peer_port = HVB_NET_PEER_PORT;
	if (hvb_cmdline_get(cmdline, "net.port", v, sizeof(v)) && !parse_port(v, &info->port)) {
		*why = "net.port= is not a UDP port (1..65535)";
		return -EINVAL_;
	}
	if (hvb_cmdline_get(cmdline, "net.peer_port", v, sizeof(v)) &&
	    !parse_port(v, &info->peer_port)) {
		*why = "net.peer_port= is not a UDP port (1..65535)";
		return -EINVAL_;
	}
	info->reflect = hvb_cmdline_get(cmdline, "net.reflect", v, sizeof(v)) && v[0] == '1' && !v[1];
	return 0;
}
