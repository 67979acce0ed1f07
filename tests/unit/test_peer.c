/*
 * The responder (runners/common/peer.c) over the protocol of
 * hvb/netproto.h: the test enters a network namespace of its own with only
 * `lo` up (unshare(CLONE_NEWNET): needs root, skipped visibly without),
 * starts the responder there on 127.0.0.1 and talks UDP to it: ECHO as is,
 * SINK and ECHO counted per session, reordering, stale sessions, bad
 * datagrams, STREAM counts, sizes and pacing, start-up failures with their
 * reasons, stop, and the responder's end when its parent dies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hvb/netproto.h"
#include "netns.h"
#include "peer.h"
#include "tap.h"

#define LO_IP	   0x7f000001u
#define CLIENT_PORT 47102
#define HDR	   sizeof(struct hvb_net_hdr)
#define CTL	   sizeof(struct hvb_net_ctl)

static int client = -1;
static struct hvb_netns ns = { .ns_fd = -1 };

static int lo_up(void)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), r;

	if (fd < 0)
		return -errno;
	strcpy(ifr.ifr_name, "lo");
	r = ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (!r)
		r = ioctl(fd, SIOCSIFFLAGS, &ifr);
	r = r < 0 ? -errno : 0;
	close(fd);
	return r;
}

static int open_client(void)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(CLIENT_PORT),
				  .sin_addr.s_addr = htonl(LO_IP) };
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(HVB_NET_PEER_PORT),
				    .sin_addr.s_addr = htonl(LO_IP) };
	int v = 8 << 20, fd = socket(AF_INET, SOCK_DGRAM, 0);

	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v));
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
	    connect(fd, (struct sockaddr *)&peer, sizeof(peer)) < 0)
		return -1;
	return fd;
}

static void put_hdr(uint8_t *p, uint8_t type, uint32_t session, uint32_t seq, uint64_t stamp)
{
	struct hvb_net_hdr h = { HVB_NET_MAGIC, HVB_NET_VERSION, type, session, seq, stamp };

	memcpy(p, &h, sizeof(h));
}

static void send_msg(uint8_t type, uint32_t session, uint32_t seq, size_t len)
{
	uint8_t buf[HVB_NET_PAYLOAD_MTU] = { 0 };

	put_hdr(buf, type, session, seq, 0x1122334455667788ull + seq);
	for (size_t i = HDR; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + seq);
	(void)!send(client, buf, len, 0);
}

/* The next datagram within ms, or -1. */
static ssize_t recv_within(void *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = client, .events = POLLIN };

	if (poll(&p, 1, ms) <= 0)
		return -1;
	return recv(client, buf, len, 0);
}

/* Ask STATS (or RESET session) and read the answer's counters. */
static bool stats(uint8_t type, uint32_t session, struct hvb_net_hdr *h, struct hvb_net_ctl *c)
{
	uint8_t buf[2048];

	send_msg(type, session, 4242, HDR + CTL);
	for (;;) {
		ssize_t n = recv_within(buf, sizeof(buf), 1000);

		if (n < 0)
			return false;
		memcpy(h, buf, HDR);
		if (h->type == HVB_NET_STATS && n == (ssize_t)(HDR + CTL)) {
			memcpy(c, buf + HDR, CTL);
			return true;
		}
	}
}

static void drain(void)
{
	uint8_t buf[2048];

	while (recv_within(buf, sizeof(buf), 50) >= 0)
		;
}

static struct hvb_peer *start_ok(void)
{
	struct hvb_peer *p = NULL;
	char why[256] = "";
	int r = hvb_peer_start(&ns, 0, &p, why, sizeof(why));

	if (!TAP_EQ_INT(r, 0, "responder starts in the namespace"))
		printf("# %s\n", why);
	return p;
}

static void test_echo(void)
{
	struct hvb_net_hdr h;
	struct hvb_net_ctl c;
	uint8_t want[HVB_NET_PAYLOAD_64], got[2048];
	bool same = true;

	TAP_OK(stats(HVB_NET_RESET, 7, &h, &c) && h.session == 7 && c.rx_datagrams == 0 &&
		   h.seq == 4242,
	       "RESET: answered with STATS of the new session, seq echoed, zeros");
	for (uint32_t seq = 0; seq < 10; seq++) {
		ssize_t n;

		send_msg(HVB_NET_ECHO, 7, seq, HVB_NET_PAYLOAD_64);
		put_hdr(want, HVB_NET_ECHO, 7, seq, 0x1122334455667788ull + seq);
		for (size_t i = HDR; i < sizeof(want); i++)
			want[i] = (uint8_t)(i * 7 + seq);
		n = recv_within(got, sizeof(got), 1000);
		same = same && n == (ssize_t)sizeof(want) && !memcmp(got, want, sizeof(want));
	}
	TAP_OK(same, "ECHO: 10 datagrams back as they were sent (header, stamp, payload)");
	TAP_OK(stats(HVB_NET_STATS, 7, &h, &c) && c.rx_datagrams == 10 &&
		   c.rx_bytes == 10 * HVB_NET_PAYLOAD_64 && c.tx_datagrams == 10 &&
		   c.rx_reordered == 0 && c.rx_stale == 0 && c.rx_bad == 0,
	       "STATS after ECHO: 10 received, 220 bytes, 10 sent, nothing else");
}

static void test_sink_order(void)
{
	static const uint32_t seqs[] = { 0, 1, 2, 5, 3, 4, 6 };
	struct hvb_net_hdr h;
	struct hvb_net_ctl c;

	stats(HVB_NET_RESET, 8, &h, &c);
	for (unsigned i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++)
		send_msg(HVB_NET_SINK, 8, seqs[i], 100);
	TAP_OK(stats(HVB_NET_STATS, 8, &h, &c) && c.rx_datagrams == 7 && c.rx_bytes == 700 &&
		   c.tx_datagrams == 0,
	       "SINK: counted, nothing sent back");
	TAP_EQ_INT(c.rx_reordered, 2, "SINK 0 1 2 5 3 4 6: 3 and 4 reordered");
	TAP_OK(recv_within((uint8_t[64]){ 0 }, 64, 50) < 0, "SINK: no answer datagrams");

	send_msg(HVB_NET_SINK, 99, 0, 64);
	send_msg(HVB_NET_ECHO, 99, 1, 64);
	TAP_OK(recv_within((uint8_t[128]){ 0 }, 128, 1000) == 64,
	       "ECHO of another session is still answered");
	TAP_OK(stats(HVB_NET_STATS, 8, &h, &c) && c.rx_stale == 2 && c.rx_datagrams == 7 &&
		   h.session == 8,
	       "SINK and ECHO of another session: stale, not the session's data");
	TAP_OK(stats(HVB_NET_STATS, 1234, &h, &c) && h.session == 8,
	       "STATS of another session answers with the current one (the asker can tell)");
}

static void test_bad(void)
{
	uint8_t buf[64] = { 0 };
	struct hvb_net_hdr h;
	struct hvb_net_ctl c;

	stats(HVB_NET_RESET, 9, &h, &c);
	(void)!send(client, "short", 5, 0);
	put_hdr(buf, HVB_NET_ECHO, 9, 0, 0);
	buf[0] ^= 1;
	(void)!send(client, buf, sizeof(buf), 0); /* magic */
	put_hdr(buf, HVB_NET_ECHO, 9, 0, 0);
	buf[2] = 2;
	(void)!send(client, buf, sizeof(buf), 0); /* version */
	put_hdr(buf, 0, 9, 0, 0);
	(void)!send(client, buf, sizeof(buf), 0); /* type 0 */
	put_hdr(buf, HVB_NET_DATA, 9, 0, 0);
	(void)!send(client, buf, sizeof(buf), 0); /* DATA is the responder's own */
	{
		static uint8_t big[4000];

		put_hdr(big, HVB_NET_ECHO, 9, 0, 0);
		(void)!send(client, big, sizeof(big), 0); /* longer than any MTU payload */
	}
	TAP_OK(recv_within(buf, sizeof(buf), 100) < 0, "bad datagrams: no answers");
	TAP_OK(stats(HVB_NET_STATS, 9, &h, &c) && c.rx_bad == 6 && c.rx_datagrams == 0 &&
		   c.tx_datagrams == 0,
	       "short, magic, version, type 0, DATA, oversized: 6 bad, none counted as data");
}

/* A STREAM request of count datagrams of size bytes at rate. */
static void stream(uint32_t session, uint32_t count, uint32_t size, uint32_t rate)
{
	uint8_t buf[HDR + CTL] = { 0 };
	struct hvb_net_ctl c = { .count = count, .size = size, .rate = rate };

	put_hdr(buf, HVB_NET_STREAM, session, 0, 0);
	memcpy(buf + HDR, &c, CTL);
	(void)!send(client, buf, sizeof(buf), 0);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Receive until STATS: DATA count, in order, right size; the STATS. */
static unsigned take_stream(uint32_t size, bool *in_order, struct hvb_net_ctl *c)
{
	static uint8_t buf[2048];
	unsigned got = 0;

	*in_order = true;
	for (;;) {
		ssize_t n = recv_within(buf, sizeof(buf), 2000);
		struct hvb_net_hdr h;

		if (n < (ssize_t)HDR)
			return got;
		memcpy(&h, buf, HDR);
		if (h.type == HVB_NET_STATS) {
			memcpy(c, buf + HDR, CTL);
			return got;
		}
		*in_order = *in_order && h.type == HVB_NET_DATA && h.seq == got && n == size &&
			    h.session == 10;
		got++;
	}
}

static void test_stream(void)
{
	struct hvb_net_hdr h;
	struct hvb_net_ctl c = { 0 };
	bool in_order;
	unsigned got;
	double t0;

	stats(HVB_NET_RESET, 10, &h, &c);
	stream(10, 1000, HVB_NET_PAYLOAD_MTU, 0);
	got = take_stream(HVB_NET_PAYLOAD_MTU, &in_order, &c);
	TAP_EQ_INT(got, 1000, "STREAM 1000 x 1472 B: 1000 DATA datagrams, then STATS");
	TAP_OK(in_order, "DATA: the session's, seq 0..999 in order, 1472 bytes each");
	TAP_OK(c.tx_datagrams == 1000 && c.tx_errors == 0, "STATS after STREAM: 1000 sent");

	stats(HVB_NET_RESET, 10, &h, &c);
	stream(10, 5, 10, 0);
	TAP_EQ_INT(take_stream(10, &in_order, &c), 0, "STREAM of 10-byte datagrams: none sent");
	TAP_OK(c.rx_bad == 1, "... counted as bad");
	stream(10, 5, HVB_NET_PAYLOAD_MTU + 1, 0);
	TAP_OK(take_stream(0, &in_order, &c) == 0 && c.rx_bad == 2, "1473 bytes: bad too");
	stream(11, 5, 100, 0);
	TAP_OK(take_stream(0, &in_order, &c) == 0 && c.rx_stale == 1,
	       "STREAM of another session: stale, nothing sent");

	t0 = now_ms();
	stream(10, 50, HVB_NET_PAYLOAD_64, 1000);
	got = take_stream(HVB_NET_PAYLOAD_64, &in_order, &c);
	TAP_OK(got == 50 && in_order, "paced STREAM: 50 x 22 B in order");
	TAP_OK(now_ms() - t0 >= 48.0, "paced at 1000/s: 50 datagrams take >= 49 ms");
}

static void test_start_failures(void)
{
	struct hvb_netns bad = ns;
	struct hvb_peer *p = NULL;
	char why[256] = "";
	int r;

	bad.peer_ip = 0x0a630001u; /* 10.99.0.1: not an address of this namespace */
	r = hvb_peer_start(&bad, -1, &p, why, sizeof(why));
	TAP_OK(r == -EADDRNOTAVAIL && !p, "an address the namespace lacks: -EADDRNOTAVAIL");
	TAP_OK(strstr(why, "10.99.0.1:47101") && strstr(why, "bind"),
	       "... the reason names the address and bind");
	printf("# %s\n", why);

	bad = ns;
	bad.ns_fd = open("/dev/null", O_RDONLY);
	r = hvb_peer_start(&bad, -1, &p, why, sizeof(why));
	TAP_OK(r < 0 && strstr(why, "setns"), "a namespace fd that is none: fails at setns");
	printf("# %s\n", why);
	close(bad.ns_fd);

	bad = ns;
	bad.peer_ip = 0;
	TAP_OK(hvb_peer_start(&bad, -1, &p, why, sizeof(why)) == -EINVAL,
	       "no peer address: -EINVAL");
	bad = ns;
	TAP_OK(hvb_peer_start(&bad, 4096, &p, why, sizeof(why)) == -EINVAL &&
		       strstr(why, "sched_setaffinity"),
	       "a CPU that does not exist: fails with the reason");
}

static void test_stop(struct hvb_peer *p)
{
	char why[256] = "", desc[160];
	struct hvb_peer *q;

	hvb_peer_describe(p, desc, sizeof(desc));
	printf("# %s\n", desc);
	TAP_OK(strstr(desc, "127.0.0.1:47101") && strstr(desc, "cpu 0"),
	       "describe: address and CPU");
	TAP_OK(strstr(desc, "SO_RCVBUF 8388608") && strstr(desc, "SO_SNDBUF 8388608"),
	       "4 MiB socket buffers granted (the kernel reports twice that)");
	TAP_OK(hvb_peer_stop(p, why, sizeof(why)), "stop: it was alive");
	TAP_OK(hvb_peer_stop(NULL, why, sizeof(why)), "stop(NULL) is fine");

	q = start_ok();
	if (!q)
		return;
	kill(hvb_peer_pid(q), SIGKILL);
	usleep(100000);
	TAP_OK(!hvb_peer_stop(q, why, sizeof(why)) && strstr(why, "signal 9"),
	       "stop after it died: false, saying how");
	printf("# %s\n", why);
}

/* The runner dies (kill -9): the responder must go too.  A middle process
 * starts it and dies; we are the subreaper that gets the orphan. */
static void test_parent_death(void)
{
	int fds[2], status;
	pid_t mid, peer = -1;
	bool gone = false;

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (pipe(fds) < 0)
		return;
	mid = fork();
	if (!mid) {
		struct hvb_peer *p;
		char why[256];

		if (hvb_peer_start(&ns, -1, &p, why, sizeof(why)) < 0)
			_exit(1);
		peer = hvb_peer_pid(p);
		(void)!write(fds[1], &peer, sizeof(peer));
		pause(); /* killed below */
	}
	close(fds[1]);
	if (read(fds[0], &peer, sizeof(peer)) != sizeof(peer))
		peer = -1;
	close(fds[0]);
	kill(mid, SIGKILL);
	waitpid(mid, &status, 0);
	for (int i = 0; i < 200 && peer > 0 && !gone; i++) {
		gone = waitpid(peer, &status, WNOHANG) == peer;
		usleep(10000);
	}
	TAP_OK(peer > 0 && gone && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	       "its parent killed: the responder dies too (PR_SET_PDEATHSIG)");
}

int main(void)
{
	struct hvb_peer *p;
	int r;

	if (unshare(CLONE_NEWNET) < 0) {
		TAP_SKIP("unshare(CLONE_NEWNET) refused (needs root): responder not tested");
		return tap_done();
	}
	r = lo_up();
	if (!TAP_EQ_INT(r, 0, "lo up in the test's namespace"))
		return tap_done();
	ns.ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ns.peer_ip = LO_IP;
	ns.peer_port = HVB_NET_PEER_PORT;
	p = start_ok();
	client = open_client();
	if (!p || !TAP_OK(client >= 0, "client socket on 127.0.0.1"))
		return tap_done();
	test_echo();
	test_sink_order();
	test_bad();
	test_stream();
	drain();
	test_start_failures();
	test_stop(p);
	test_parent_death();
	return tap_done();
}
