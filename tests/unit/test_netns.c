/*
 * The run's network namespace (runners/common/netns.c), as root: a tap
 * with its vnet header in a namespace of its own, a veth pair whose
 * responder side answers a datagram to the guest's address with no ARP
 * (the permanent neighbour entry), IPv6 off, removal, the words, and the
 * stale cleaner telling a dead run's namespace from a live one's.
 * Without root or /dev/net/tun the cases skip with the reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netns.h"
#include "tap.h"
#include "util.h"

static bool exists(const char *name)
{
	char path[80];
	struct stat st;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return !stat(path, &st);
}

static int index_of(void *arg)
{
	return (int)if_nametoindex(arg);
}

static int ipv6_disabled(void *arg)
{
	char path[96], v[4] = "";
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", (char *)arg);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 1; /* no IPv6 at all */
	if (read(fd, v, sizeof(v) - 1) < 1)
		v[0] = '?';
	close(fd);
	return v[0] == '1';
}

/* 1 when the interface's transmit checksum offload is off. */
static int tx_csum_is_off(void *arg)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_GTXCSUM };
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), r;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", (char *)arg);
	ifr.ifr_data = (void *)&ev;
	r = fd >= 0 && !ioctl(fd, SIOCETHTOOL, &ifr) && ev.data == 0;
	if (fd >= 0)
		close(fd);
	return r;
}

static void test_tap(void)
{
	struct hvb_netns ns;
	char why[300] = "";
	unsigned flags = 0;
	int hdr = 0, r = hvb_netns_create(&ns, HVB_LINK_TAP, true, why, sizeof(why));
	char name[32];

	if (!TAP_OK(!r, "a namespace with a tap")) {
		printf("# %s\n", why);
		return;
	}
	snprintf(name, sizeof(name), "%s", ns.name);
	TAP_OK(!strncmp(ns.name, HVB_NETNS_PREFIX, strlen(HVB_NETNS_PREFIX)), "named hvb-...");
	TAP_OK(exists(ns.name), "bound in /run/netns (ip netns sees it)");
	TAP_OK(ns.tap_fd >= 0 && (fcntl(ns.tap_fd, F_GETFL) & O_NONBLOCK), "tap fd, O_NONBLOCK");
	TAP_OK(!ioctl(ns.tap_fd, TUNGETIFF, &(struct ifreq){ 0 }), "the fd is a tap");
	{
		struct ifreq ifr = { 0 };
		ioctl(ns.tap_fd, TUNGETIFF, &ifr);
		flags = (unsigned)ifr.ifr_flags;
	}
	TAP_OK((flags & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)) == (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR),
	       "IFF_TAP | IFF_NO_PI | IFF_VNET_HDR");
	TAP_OK(!ioctl(ns.tap_fd, TUNGETVNETHDRSZ, &hdr) && hdr == 12, "vnet header size 12");
	TAP_OK(!strcmp(ns.peer_if, ns.guest_if), "one interface");
	TAP_OK(hvb_netns_call(&ns, index_of, ns.peer_if) > 0, "the tap is in the namespace");
	TAP_OK(if_nametoindex(ns.peer_if) == 0, "and not in ours");
	TAP_OK(hvb_netns_call(&ns, ipv6_disabled, ns.peer_if) == 1, "IPv6 off on the tap");
	TAP_OK(ns.txqueuelen > 0, "txqueuelen read");
	hvb_netns_destroy(&ns);
	TAP_OK(!exists(name), "destroy removes the namespace");
	TAP_OK(ns.ns_fd == -1 && ns.tap_fd == -1, "and closes the fds");
	hvb_netns_destroy(&ns); /* twice is fine */
	TAP_OK(1, "destroy twice");
}

/* In the namespace: the responder's address sends a datagram to the
 * guest's; an AF_PACKET socket on the measured end sees it as the first
 * IPv4 frame, with no ARP before it (the neighbour entry is permanent). */
struct probe {
	const struct hvb_netns *ns;
	char why[120];
};

static int datagram_arrives(void *arg)
{
	struct probe *p = arg;
	const struct hvb_netns *ns = p->ns;
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = (int)if_nametoindex(ns->guest_if) };
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(ns->peer_ip),
				   .sin_port = htons(ns->peer_port) };
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(ns->guest_ip),
				   .sin_port = htons(ns->guest_port) };
	int pk = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)), u = socket(AF_INET, SOCK_DGRAM, 0);
	unsigned char frame[2048];
	int ok = 0;

	if (pk < 0 || u < 0 || bind(pk, (struct sockaddr *)&ll, sizeof(ll))) {
		snprintf(p->why, sizeof(p->why), "sockets: %s", strerror(errno));
		goto out;
	}
	if (bind(u, (struct sockaddr *)&src, sizeof(src))) {
		snprintf(p->why, sizeof(p->why), "bind to the peer address: %s", strerror(errno));
		goto out;
	}
	if (sendto(u, "hvb", 3, 0, (struct sockaddr *)&dst, sizeof(dst)) != 3) {
		snprintf(p->why, sizeof(p->why), "sendto: %s", strerror(errno));
		goto out;
	}
	for (int i = 0; i < 20 && !ok; i++) {
		struct pollfd pf = { .fd = pk, .events = POLLIN };
		ssize_t n;

		if (poll(&pf, 1, 100) <= 0)
			continue;
		n = recv(pk, frame, sizeof(frame), 0);
		if (n < 14)
			continue;
		if (frame[12] == 0x08 && frame[13] == 0x06) {
			snprintf(p->why, sizeof(p->why), "an ARP request came first");
			break;
		}
		if (frame[12] == 0x08 && frame[13] == 0x00 &&
		    !memcmp(frame, ns->guest_mac, 6) && !memcmp(frame + 6, ns->peer_mac, 6))
			ok = 1;
	}
	if (!ok && !p->why[0])
		snprintf(p->why, sizeof(p->why), "no frame in 2 s");
out:
	if (pk >= 0)
		close(pk);
	if (u >= 0)
		close(u);
	return ok;
}

static void test_veth(void)
{
	struct hvb_netns ns;
	char why[300] = "", *words;
	struct probe p = { .ns = &ns };

	if (!TAP_OK(!hvb_netns_create(&ns, HVB_LINK_VETH, true, why, sizeof(why)),
		    "a namespace with a veth pair")) {
		printf("# %s\n", why);
		return;
	}
	TAP_OK(ns.tap_fd == -1 && !ns.vnet_hdr, "no tap, no vnet header");
	TAP_OK(strcmp(ns.peer_if, ns.guest_if), "two ends");
	TAP_OK(hvb_netns_call(&ns, index_of, ns.guest_if) > 0, "both in the namespace");
	TAP_OK(hvb_netns_call(&ns, ipv6_disabled, ns.guest_if) == 1, "IPv6 off on the measured end");
	TAP_OK(hvb_netns_call(&ns, tx_csum_is_off, ns.peer_if) == 1,
	       "the responder's end sends finished checksums (tx offload off)");
	if (!TAP_OK(hvb_netns_call(&ns, datagram_arrives, &p) == 1,
		    "peer -> guest address: a frame on the measured end, no ARP"))
		printf("# %s\n", p.why);
	words = hvb_netns_words(&ns);
	TAP_EQ_STR(words,
		   "net.mac=02:68:76:62:00:02 net.ip=10.78.0.2 net.peer_mac=02:68:76:62:00:01 "
		   "net.peer_ip=10.78.0.1 net.port=47102 net.peer_port=47101 netif=hvbguest0",
		   "the words, netif= for veth");
	free(words);
	hvb_netns_destroy(&ns);
}

static void collect(void *arg, const char *msg)
{
	snprintf(arg, 300, "%s", msg);
}

/* A child creates a namespace and dies without removing it (kill -9). */
static void test_stale(void)
{
	char msg[300] = "", name[32] = "", why[300];
	struct hvb_netns live;
	int fds[2], status;
	pid_t pid;

	if (pipe(fds))
		return;
	pid = fork();
	if (pid == 0) {
		struct hvb_netns ns;
		if (hvb_netns_create(&ns, HVB_LINK_VETH, false, why, sizeof(why)))
			_exit(1);
		if (write(fds[1], ns.name, strlen(ns.name) + 1) < 0)
			_exit(1);
		_exit(0); /* no destroy */
	}
	close(fds[1]);
	if (read(fds[0], name, sizeof(name) - 1) <= 0)
		name[0] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (!TAP_OK(name[0] && exists(name), "a dead run's namespace is left"))
		return;
	if (!TAP_OK(!hvb_netns_create(&live, HVB_LINK_VETH, false, why, sizeof(why)),
		    "and a live one beside it"))
		return;
	TAP_OK(hvb_netns_cleanup_stale(collect, msg) >= 1, "the cleaner removes one");
	TAP_OK(!exists(name), "the dead run's is gone");
	TAP_OK(strstr(msg, name) && strstr(msg, "removed"), "and it says so");
	TAP_OK(exists(live.name), "the live run's stays");
	hvb_netns_destroy(&live);
}

/* A vif stand-in: one end of a veth in our namespace, moved in. */
static int bind_peer_address(void *arg)
{
	const struct hvb_netns *ns = arg;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(ns->peer_ip),
				 .sin_port = htons(ns->peer_port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), r;

	r = fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a));
	if (fd >= 0)
		close(fd);
	return r;
}

static void test_adopt(void)
{
	struct hvb_netns ns;
	char why[300], cmd[160], a[16], b[16];

	snprintf(a, sizeof(a), "hvbta%d", (int)getpid() % 100000);
	snprintf(b, sizeof(b), "hvbtb%d", (int)getpid() % 100000);
	snprintf(cmd, sizeof(cmd), "ip link add %s type veth peer name %s", a, b);
	if (system(cmd)) {
		TAP_SKIP("cannot make a veth to adopt (ip link add)");
		return;
	}
	if (TAP_OK(!hvb_netns_create(&ns, HVB_LINK_ADOPT, false, why, sizeof(why)),
		   "an ADOPT namespace, no interface of its own")) {
		TAP_OK(!hvb_netns_adopt(&ns, a, why, sizeof(why)), "adopting an interface");
		TAP_OK(if_nametoindex(a) == 0, "it left our namespace");
		TAP_OK(hvb_netns_call(&ns, index_of, a) > 0, "it is in the namespace");
		TAP_OK(hvb_netns_call(&ns, bind_peer_address, &ns) == 1,
		       "with the responder's address");
		hvb_netns_destroy(&ns);
	}
	snprintf(cmd, sizeof(cmd), "ip link del %s 2>/dev/null", b);
	(void)!system(cmd);
}

static void test_refusals(void)
{
	struct hvb_netns ns;
	char why[300];

	hvb_netns_destroy(&(struct hvb_netns){ .ns_fd = -1 });
	TAP_OK(fcntl(0, F_GETFD) >= 0 || errno != EBADF, "destroy of a zeroed struct closes nothing");
	if (!hvb_netns_create(&ns, HVB_LINK_ADOPT, false, why, sizeof(why))) {
		TAP_OK(hvb_netns_adopt(&ns, "hvb-no-such", why, sizeof(why)) == -ENODEV &&
			       strstr(why, "hvb-no-such"),
		       "adopting a missing interface names it");
		hvb_netns_destroy(&ns);
	}
}

int main(void)
{
	if (geteuid() != 0) {
		TAP_SKIP("needs root (network namespaces)");
		return tap_done();
	}
	if (access("/dev/net/tun", R_OK | W_OK))
		TAP_SKIP("no /dev/net/tun: modprobe tun");
	else
		test_tap();
	test_veth();
	test_stale();
	test_adopt();
	test_refusals();
	return tap_done();
}
