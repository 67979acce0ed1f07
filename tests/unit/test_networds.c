/*
 * The net.* command-line words (workloads/networds.c), the parser the
 * guest's and the native rt_net_open share: the runner's words, defaults
 * for the ports, and every malformed form a runner or a user could write.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "hvb/netproto.h"
#include "tap.h"

#define GOOD "net.mac=02:68:76:62:00:02 net.peer_mac=02:68:76:62:00:01 " \
	     "net.ip=10.78.0.2 net.peer_ip=10.78.0.1"

static int words(const char *cmdline, struct rt_net_info *info, const char **why)
{
	memset(info, 0, sizeof(*info));
	*why = NULL;
	return hvb_net_words(cmdline, info, why);
}

static void test_good(void)
{
	static const uint8_t mac[6] = { 2, 0x68, 0x76, 0x62, 0, 2 }, peer[6] = { 2, 0x68, 0x76, 0x62, 0, 1 };
	struct rt_net_info i;
	const char *why;

	TAP_EQ_INT(words("w=net/udp-rr-64 " GOOD " quick=1", &i, &why), 0, "the runner's words parse");
	TAP_OK(!memcmp(i.mac, mac, 6) && !memcmp(i.peer_mac, peer, 6), "... both MACs");
	TAP_OK(i.ip == 0x0a4e0002u && i.peer_ip == 0x0a4e0001u, "... both addresses, host order");
	TAP_OK(i.port == HVB_NET_PORT && i.peer_port == HVB_NET_PEER_PORT, "... default ports");
	TAP_OK(!i.reflect, "... a responder, not a reflector");
	TAP_EQ_INT(words(GOOD " net.reflect=1", &i, &why), 0, "net.reflect=1");
	TAP_OK(i.reflect, "... says the link reflects");
	words(GOOD " net.reflect=0", &i, &why);
	TAP_OK(!i.reflect, "net.reflect=0 does not");
	TAP_EQ_INT(words(GOOD " net.port=9 net.peer_port=0xffff", &i, &why), 0, "ports given");
	TAP_OK(i.port == 9 && i.peer_port == 65535, "... decimal and hex");
	TAP_EQ_INT(words("net.mac=AA:BB:CC:DD:EE:FF net.peer_mac=02:68:76:62:00:01 "
			 "net.ip=0.0.0.0 net.peer_ip=255.255.255.255", &i, &why), 0,
		   "upper-case hex, extreme addresses");
	TAP_OK(i.mac[0] == 0xaa && i.mac[5] == 0xff && i.ip == 0 && i.peer_ip == 0xffffffffu,
	       "... parsed as written");
}

static void test_bad(void)
{
	static const char *const bad[] = {
		"",
		"net.peer_mac=02:68:76:62:00:01 net.ip=10.78.0.2 net.peer_ip=10.78.0.1",
		"net.mac=02:68:76:62:00 net.peer_mac=02:68:76:62:00:01 net.ip=10.78.0.2 net.peer_ip=10.78.0.1",
		"net.mac=02:68:76:62:00:02:03 net.peer_mac=02:68:76:62:00:01 net.ip=10.78.0.2 net.peer_ip=10.78.0.1",
		"net.mac=02-68-76-62-00-02 net.peer_mac=02:68:76:62:00:01 net.ip=10.78.0.2 net.peer_ip=10.78.0.1",
		"net.mac=0g:68:76:62:00:02 net.peer_mac=02:68:76:62:00:01 net.ip=10.78.0.2 net.peer_ip=10.78.0.1",
		"net.mac=02:68:76:62:00:02 net.peer_mac=02:68:76:62:00:01 net.ip=10.78.0 net.peer_ip=10.78.0.1",
		"net.mac=02:68:76:62:00:02 net.peer_mac=02:68:76:62:00:01 net.ip=10.78.0.256 net.peer_ip=10.78.0.1",
		"net.mac=02:68:76:62:00:02 net.peer_mac=02:68:76:62:00:01 net.ip=10.78.0.2. net.peer_ip=10.78.0.1",
		"net.mac=02:68:76:62:00:02 net.peer_mac=02:68:76:62:00:01 net.ip=10.78.0.2 net.peer_ip=10.78.0001",
		"net.mac=02:68:76:62:00:02 net.peer_mac=02:68:76:62:00:01 net.ip=10.78.0.2",
		GOOD " net.port=0",
		GOOD " net.port=65536",
		GOOD " net.peer_port=http",
	};
	struct rt_net_info i;
	const char *why;

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		int e = words(bad[k], &i, &why);

		if (!TAP_OK(e == -22 && why && strstr(why, "net."), "a malformed or missing word is refused with a reason"))
			printf("#   cmdline \"%s\" -> %d %s\n", bad[k], e, why ? why : "(no reason)");
	}
}

int main(void)
{
	test_good();
	test_bad();
	return tap_done();
}
