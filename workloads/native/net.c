/*
 * rt_net_* (workload.h) natively: an AF_PACKET SOCK_RAW socket bound to
 * the interface named by netif= (the measured end of the run's veth; the
 * native runner starts the child inside the link's namespace), so the
 * native child sends and receives the very frames a guest's driver does,
 * through the host kernel's own stack on the responder's side.
 *
 * Like a polled guest driver: rt_net_send copies the frame into a queue of
 * NET_TX_DEPTH slots, rt_net_kick hands all queued frames to the kernel
 * with one sendmmsg (MSG_DONTWAIT: frames the socket buffer cannot take
 * yet stay queued, and rt_net_send says -EAGAIN once the queue is full),
 * rt_net_recv is a recvfrom with MSG_DONTWAIT (never waits).  The socket
 * is bound to ETH_P_IP, so ARP and IPv6 never reach it, and frames the
 * interface sends are skipped (PACKET_OUTGOING).
 *
 * No PACKET_QDISC_BYPASS: a guest's frames reach the host stack as frames
 * received on its tap (no qdisc on that path), and a veth's default qdisc
 * is noqueue, so bypassing it would save little and skip the packet taps
 * of the normal transmit path (tcpdump on the veth would miss our frames);
 * the normal path is what an ordinary sender takes.
 *
 * Socket buffers: SO_SNDBUFFORCE / SO_RCVBUFFORCE of NET_SOCKBUF (root),
 * else as far as net.core.*mem_max allow; rx_depth is what the granted
 * receive buffer holds in MTU frames (the kernel charges about 2 KiB of
 * truesize per frame), the native counterpart of a posted receive ring.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define NET_TX_DEPTH 256u
#define NET_SOCKBUF  (4 << 20)
#define NET_TRUESIZE 2048u /* receive buffer charged per MTU frame, about */

static struct {
	bool open;
	int fd;
	struct rt_net_info info;
	struct rt_net_stats st;
	uint8_t tx[NET_TX_DEPTH][RT_NET_FRAME_MAX];
	uint32_t tx_len[NET_TX_DEPTH];
	unsigned tx_head, tx_count; /* queued, oldest first (a ring) */
	char ifname[IF_NAMESIZE];
	char note[HVB_TEXT_MAX];
	char why[HVB_TEXT_MAX + 64];
} net = { .fd = -1 };

static int fail(const char **why, int err, const char *what)
{
	snprintf(net.why, sizeof(net.why), "AF_PACKET on %s: %s: %s", net.ifname, what,
		 strerror(err));
	*why = net.why;
	return -err;
}

static void grow_buffer(int fd, int force, int plain)
{
	int v = NET_SOCKBUF;

	if (setsockopt(fd, SOL_SOCKET, force, &v, sizeof(v)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, plain, &v, sizeof(v));
}

static int socket_bytes(int fd, int opt)
{
	int v = 0;
	socklen_t l = sizeof(v);

	getsockopt(fd, SOL_SOCKET, opt, &v, &l);
	return v;
}

/* The packet socket on netif, bound to IPv4 frames. */
static int open_socket(const char **why)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP) };
	unsigned idx = if_nametoindex(net.ifname);
	int fd;

	if (!idx)
		return fail(why, errno ? errno : ENODEV, "no such interface here");
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_IP));
	if (fd < 0)
		return fail(why, errno, "socket(AF_PACKET, SOCK_RAW)");
	ll.sll_ifindex = (int)idx;
	if (bind(fd, (struct sockaddr *)&ll, sizeof(ll)) < 0) {
		int e = errno;

		close(fd);
		return fail(why, e, "bind");
	}
	grow_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);
	grow_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
	net.fd = fd;
	return 0;
}

int rt_net_open(struct rt_net_info *info, const char **why)
{
	struct rt_net_info fresh = { 0 };
	int e;

	if (net.open) {
		*info = net.info;
		return 0;
	}
	e = hvb_net_words(hvb_harness_cmdline(), &fresh, why);
	if (e < 0)
		return e;
	if (!hvb_cmdline_get(hvb_harness_cmdline(), "netif", net.ifname, sizeof(net.ifname)) ||
	    !net.ifname[0]) {
		*why = "netif= is missing or longer than an interface name (the runner attached no veth)";
		return -EINVAL;
	}
	e = open_socket(why);
	if (e < 0)
		return e;
	fresh.tx_depth = NET_TX_DEPTH;
	fresh.rx_depth = (unsigned)socket_bytes(net.fd, SO_RCVBUF) / NET_TRUESIZE;
	snprintf(net.note, sizeof(net.note), "AF_PACKET on veth %s", net.ifname);
	fresh.note = net.note;
	net.info = fresh;
	net.open = true;
	memset(&net.st, 0, sizeof(net.st));
	*info = net.info;
	return 0;
}

int rt_net_send(const void *frame, uint32_t len)
{
	unsigned slot;

	if (!net.open)
		return -ENODEV;
	if (!frame || len < RT_NET_FRAME_MIN || len > RT_NET_FRAME_MAX)
		return -EINVAL;
	if (net.tx_count == NET_TX_DEPTH) {
		net.st.tx_full++;
		return -EAGAIN;
	}
	slot = (net.tx_head + net.tx_count) % NET_TX_DEPTH;
	memcpy(net.tx[slot], frame, len);
	net.tx_len[slot] = len;
	net.tx_count++;
	return 0;
}

/* The queued frames from the head that do not wrap, as messages. */
static unsigned tx_messages(struct mmsghdr *v, struct iovec *iov)
{
	unsigned n = net.tx_count;

	if (net.tx_head + n > NET_TX_DEPTH)
		n = NET_TX_DEPTH - net.tx_head;
	for (unsigned i = 0; i < n; i++) {
		unsigned slot = net.tx_head + i;

		iov[i] = (struct iovec){ net.tx[slot], net.tx_len[slot] };
		v[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	return n;
}

static void tx_consume(unsigned n)
{
	net.tx_head = (net.tx_head + n) % NET_TX_DEPTH;
	net.tx_count -= n;
	net.st.tx_frames += n;
}

void rt_net_kick(void)
{
	static struct mmsghdr v[NET_TX_DEPTH];
	static struct iovec iov[NET_TX_DEPTH];

	while (net.open && net.tx_count) {
		unsigned n = tx_messages(v, iov);
		int r = sendmmsg(net.fd, v, n, MSG_DONTWAIT);

		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return; /* the socket buffer is full: retried at the next kick */
		/* Any other refusal (ENOBUFS: the device dropped it) loses
		 * that frame, as a device's drop would. */
		tx_consume(r < 0 ? 1 : (unsigned)r);
	}
}

uint32_t rt_net_recv(void *buf, uint32_t max)
{
	struct sockaddr_ll from;

	if (!net.open || !buf || !max)
		return 0;
	for (;;) {
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(net.fd, buf, max, MSG_DONTWAIT | MSG_TRUNC,
				     (struct sockaddr *)&from, &fl);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		net.st.rx_frames++;
		if ((uint32_t)n > max)
			net.st.rx_cut++;
		return (uint32_t)n;
	}
}

void rt_net_stats(struct rt_net_stats *st)
{
	*st = net.open ? net.st : (struct rt_net_stats){ 0 };
}
