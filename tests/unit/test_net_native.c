/*
 * net/ workloads natively, end to end without the runners: the test
 * enters a network namespace of its own (unshare: needs root, skipped
 * visibly without) and builds the link the way runners/common/netns.h
 * describes it: a veth pair, the responder's end with 10.78.0.1/30 and
 * MAC 02:68:76:62:00:01 and a permanent neighbour entry for 10.78.0.2 with
 * the guest MAC, the measured end with that MAC and no address, IPv6 off.
 * It starts the responder (runners/common/peer.c) there, runs the real
 * harness over every net/ workload with the net.* words and netif=
 * (AF_PACKET, workloads/native/net.c) and checks their rows: ok, no loss
 * of round trips at one in flight, figures in a sensible range, the loss
 * rows.  Also: the incremental checksum of net_frame_put_hdr, valid()'s
 * reasons (no HVB_CAP_NET, no netif=), and a link without a responder.
 * The figures are printed as TAP comments (the README's native numbers).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "native/rt_native.h"
#include "net/frame.h"
#include "netns.h"
#include "peer.h"
#include "harness_capture.h"
#include "tap.h"

#define MAX_RECS 8192
#define PEER_IF	 "hvbp0"
#define GUEST_IF "hvbg0"
#define WORDS                                                                                    \
	"net.mac=02:68:76:62:00:02 net.ip=10.78.0.2 net.peer_mac=02:68:76:62:00:01 "           \
	"net.peer_ip=10.78.0.1"
#define ALL_NET "net/udp-rr-64,net/tx-pps-64,net/rx-pps-64,net/tx-stream-1500,net/rx-stream-1500"

static struct hvb_record recs[MAX_RECS];
static unsigned n_recs;
static uint64_t tsc_khz;

/* The TSC against CLOCK_MONOTONIC over 100 ms, as the native runner does. */
static uint64_t measure_tsc_khz(void)
{
	struct timespec a, b;
	uint64_t t0, t1;
	double ns;

	clock_gettime(CLOCK_MONOTONIC, &a);
	t0 = rt_tsc_begin();
	usleep(100000);
	t1 = rt_tsc_end();
	clock_gettime(CLOCK_MONOTONIC, &b);
	ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
	return (uint64_t)((double)(t1 - t0) * 1e6 / ns);
}

static int harness(const char *words)
{
	char cmdline[1024];

	snprintf(cmdline, sizeof(cmdline), "tsc_khz=%llu env=native %s",
		 (unsigned long long)tsc_khz, words);
	return harness_capture(cmdline, recs, MAX_RECS, &n_recs);
}

static const struct hvb_record *sample(const char *workload, const char *metric, unsigned rep)
{
	return capture_sample(recs, n_recs, workload, metric, rep);
}

static double value(const char *workload, const char *metric, unsigned rep)
{
	const struct hvb_record *r = sample(workload, metric, rep);

	return r ? r->value : -1;
}

static const struct hvb_record *status(const char *workload)
{
	return capture_status(recs, n_recs, workload);
}

static int sh(const char *cmd)
{
	int r = system(cmd);

	if (r)
		printf("# failed (%d): %s\n", r, cmd);
	return r;
}

/*
 * The responder's end must send finished checksums: a veth offloads them
 * (CHECKSUM_PARTIAL: the UDP checksum field holds only the pseudo-header
 * sum), and the AF_PACKET reader, like a guest without offloads, checks
 * the checksum of the bytes it gets.  ETHTOOL_STXCSUM off, as
 * `ethtool -K IF tx off` does (no ethtool binary needed).
 */
static int tx_csum_off(const char *ifname)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_STXCSUM, .data = 0 };
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), r;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ev;
	r = ioctl(fd, SIOCETHTOOL, &ifr) < 0 ? -errno : 0;
	close(fd);
	if (r)
		printf("# %s: ETHTOOL_STXCSUM: %s\n", ifname, strerror(-r));
	return r;
}

/* The link of netns.h's HVB_LINK_VETH, in the test's namespace. */
static int make_link(void)
{
	static const char *const v6[] = { "/proc/sys/net/ipv6/conf/all/disable_ipv6",
					   "/proc/sys/net/ipv6/conf/default/disable_ipv6" };

	for (unsigned i = 0; i < 2; i++) {
		int fd = open(v6[i], O_WRONLY);

		if (fd >= 0) {
			(void)!write(fd, "1", 1);
			close(fd);
		}
	}
	return sh("ip link set lo up") ||
	       sh("ip link add " PEER_IF " address 02:68:76:62:00:01 type veth peer name " GUEST_IF
		  " address 02:68:76:62:00:02") ||
	       sh("ip addr add 10.78.0.1/30 dev " PEER_IF) || sh("ip link set " PEER_IF " up") ||
	       sh("ip link set " GUEST_IF " up") ||
	       sh("ip neigh replace 10.78.0.2 lladdr 02:68:76:62:00:02 nud permanent "
		  "dev " PEER_IF) ||
	       tx_csum_off(PEER_IF);
}

/* net_frame_put_hdr keeps the UDP checksum right for any header. */
static void test_put_hdr(void)
{
	struct rt_net_info info = { .mac = { 2, 0x68, 0x76, 0x62, 0, 2 },
				    .peer_mac = { 2, 0x68, 0x76, 0x62, 0, 1 },
				    .ip = HVB_NET_PEER_IP,
				    .peer_ip = HVB_NET_GUEST_IP,
				    .port = HVB_NET_PEER_PORT,
				    .peer_port = HVB_NET_PORT };
	struct rt_net_info back = info;
	static uint8_t frame[RT_NET_FRAME_MAX];
	uint64_t rng = 12345;
	unsigned bad = 0;

	/* Checked as the receiver: addresses the other way round. */
	rt_memcpy(back.mac, info.peer_mac, 6);
	rt_memcpy(back.peer_mac, info.mac, 6);
	back.ip = info.peer_ip, back.peer_ip = info.ip;
	back.port = info.peer_port, back.peer_port = info.port;
	for (unsigned i = 0; i < HVB_NET_PAYLOAD_MTU; i++)
		frame[HVB_NET_HDRS + i] = (uint8_t)(i * 13);
	net_hdr_put(frame + HVB_NET_HDRS, HVB_NET_SINK, 1, 0, 0);
	uint32_t len = net_frame_udp(frame, &info, 0, HVB_NET_PAYLOAD_MTU);
	for (unsigned i = 0; i < 100000; i++) {
		const uint8_t *p;
		uint32_t plen;
		uint64_t r = rt_rand(&rng);

		net_frame_put_hdr(frame, (uint8_t)(1 + r % 6), (uint32_t)(r >> 32), (uint32_t)r,
				  i % 7 ? rt_rand(&rng) : 0);
		bad += net_frame_check(frame, len, len, &back, &p, &plen) != NET_RX_OK;
	}
	TAP_EQ_INT(bad, 0, "net_frame_put_hdr: 100000 rewritten headers, every checksum valid");
}

static void test_refusals(void)
{
	harness("caps=0 w=net/udp-rr-64 " WORDS " netif=" GUEST_IF);
	TAP_OK(status("net/udp-rr-64") && status("net/udp-rr-64")->status == HVB_ST_SKIPPED &&
		   strstr(status("net/udp-rr-64")->text, "network"),
	       "without HVB_CAP_NET: skipped, saying the runner attached no network");
	printf("# %s\n", status("net/udp-rr-64") ? status("net/udp-rr-64")->text : "?");
	harness("caps=8192 w=net/tx-pps-64 " WORDS);
	TAP_OK(status("net/tx-pps-64") && strstr(status("net/tx-pps-64")->text, "netif="),
	       "without netif=: refused, naming the word");
	harness("caps=8192 w=net/tx-pps-64 " WORDS " netif=nosuch0");
	TAP_OK(status("net/tx-pps-64") && strstr(status("net/tx-pps-64")->text, "nosuch0"),
	       "an interface that is not there: refused, naming it");
	printf("# %s\n", status("net/tx-pps-64") ? status("net/tx-pps-64")->text : "?");
}

/* Link up, responder stopped: udp-rr cannot start its session. */
static void test_no_responder(void)
{
	harness("caps=8192 batches=2 w=net/udp-rr-64,net/tx-pps-64 " WORDS " netif=" GUEST_IF);
	TAP_OK(status("net/udp-rr-64") && status("net/udp-rr-64")->status == HVB_ST_FAILED &&
		   strstr(status("net/udp-rr-64")->text, "RESET"),
	       "no responder: udp-rr fails, saying RESET was not answered");
	TAP_OK(status("net/tx-pps-64") && status("net/tx-pps-64")->status == HVB_ST_FAILED,
	       "no responder: tx-pps fails too");
}

static void print_rows(const char *w)
{
	static const char *const metrics[] = { "req_ns.p50", "req_ns.p99", "ops_per_s",
					       "bandwidth",  "lost",	   "loss_pct",
					       "reordered" };
	char line[256];
	size_t at = 0;

	at += (size_t)snprintf(line, sizeof(line), "# %s:", w);
	for (unsigned i = 0; i < sizeof(metrics) / sizeof(metrics[0]) && at < sizeof(line); i++)
		if (sample(w, metrics[i], 0))
			at += (size_t)snprintf(line + at, sizeof(line) - at, " %s=%.6g", metrics[i],
					       value(w, metrics[i], 0));
	printf("%s\n", line);
	if (sample(w, "lost", 0))
		printf("#   note: %s\n", sample(w, "lost", 0)->text);
}

static void test_workloads(void)
{
	static const char *const all[] = { "net/udp-rr-64", "net/tx-pps-64", "net/rx-pps-64",
					   "net/tx-stream-1500", "net/rx-stream-1500" };
	bool rows = true;

	TAP_EQ_INT(harness("caps=8192 batches=5 reps=2 goal_us=10000 w=" ALL_NET " " WORDS
			   " netif=" GUEST_IF),
		   HVB_EXIT_OK, "harness ran every net/ workload");
	for (unsigned i = 0; i < 5; i++) {
		const struct hvb_record *st = status(all[i]);

		if (st)
			printf("# %s: %s\n", all[i], st->text);
		rows = rows && !st && sample(all[i], "lost", 1) && sample(all[i], "loss_pct", 1) &&
		       sample(all[i], "reordered", 1);
		print_rows(all[i]);
	}
	TAP_OK(rows, "every workload: ok rows with lost, loss_pct, reordered in both repetitions");
	TAP_OK(value("net/udp-rr-64", "lost", 0) == 0 && value("net/udp-rr-64", "lost", 1) == 0,
	       "udp-rr at one in flight: no round trip lost");
	TAP_OK(value("net/udp-rr-64", "req_ns.p50", 0) > 1000 &&
		   value("net/udp-rr-64", "req_ns.p50", 0) < 5e6,
	       "udp-rr p50 between 1 us and 5 ms");
	TAP_OK(sample("net/udp-rr-64", "req_ns.p50", 0) &&
		   strstr(sample("net/udp-rr-64", "req_ns.p50", 0)->text,
			  "AF_PACKET on veth " GUEST_IF),
	       "the note names the driver");
	TAP_OK(value("net/tx-pps-64", "ops_per_s", 0) > 10000, "tx-pps > 10k delivered per second");
	TAP_OK(value("net/rx-pps-64", "ops_per_s", 0) > 10000, "rx-pps > 10k per second");
	TAP_OK(value("net/tx-stream-1500", "bandwidth", 0) > 10, "tx-stream > 10 MB/s");
	TAP_OK(value("net/rx-stream-1500", "bandwidth", 0) > 10, "rx-stream > 10 MB/s");
	TAP_OK(value("net/tx-pps-64", "loss_pct", 0) < 50 &&
		   value("net/rx-pps-64", "loss_pct", 0) < 50,
	       "pps loss below half (a working link)");
	TAP_OK(sample("net/rx-pps-64", "lost", 0) &&
		   strstr(sample("net/rx-pps-64", "lost", 0)->text, "responder send errors"),
	       "rx note: the responder's send errors");
}

/* ------------------------------------------------ net.reflect=1 natively */

/*
 * A stand-in for the reference core's loopback on the responder's end:
 * every UDP frame that arrives is sent back with Ethernet, IPv4 and UDP
 * source and destination swapped (the checksums stay valid).
 */
static volatile bool reflector_stop;

static void *reflector(void *arg)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP) };
	struct timeval tv = { .tv_usec = 20000 };
	uint8_t f[2048], t[6];
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));

	(void)arg;
	ll.sll_ifindex = (int)if_nametoindex(PEER_IF);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ll, sizeof(ll)) < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (!reflector_stop) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, f, sizeof(f), 0, (struct sockaddr *)&from, &fl);

		if (n < 42 || from.sll_pkttype == PACKET_OUTGOING || f[23] != 17)
			continue;
		memcpy(t, f, 6), memcpy(f, f + 6, 6), memcpy(f + 6, t, 6);
		memcpy(t, f + 26, 4), memcpy(f + 26, f + 30, 4), memcpy(f + 30, t, 4);
		memcpy(t, f + 34, 2), memcpy(f + 34, f + 36, 2), memcpy(f + 36, t, 2);
		(void)!send(fd, f, (size_t)n, 0);
	}
	close(fd);
	return NULL;
}

static void test_reflect(void)
{
	pthread_t th;
	const struct hvb_record *st;

	rt_native_net_close();
	reflector_stop = false;
	if (!TAP_EQ_INT(pthread_create(&th, NULL, reflector, NULL), 0, "reflector thread"))
		return;
	harness("caps=8192 batches=3 goal_us=5000 w=net/udp-rr-64,net/tx-pps-64,net/rx-pps-64 "
		WORDS " net.reflect=1 netif=" GUEST_IF);
	reflector_stop = true;
	pthread_join(th, NULL);
	rt_native_net_close();
	print_rows("net/udp-rr-64");
	print_rows("net/tx-pps-64");
	TAP_OK(!status("net/udp-rr-64") && value("net/udp-rr-64", "lost", 0) == 0 &&
		   value("net/udp-rr-64", "req_ns.p50", 0) > 0,
	       "reflect: udp-rr runs unchanged against the reflection (no RESET), nothing lost");
	TAP_OK(!status("net/tx-pps-64") && value("net/tx-pps-64", "ops_per_s", 0) > 1000 &&
		   value("net/tx-pps-64", "loss_pct", 0) < 50,
	       "reflect: tx-pps counts the reflected frames as delivered");
	TAP_OK(sample("net/tx-pps-64", "lost", 0) &&
		   strstr(sample("net/tx-pps-64", "lost", 0)->text, "reflected frames = delivered"),
	       "reflect: tx note says what was counted");
	st = status("net/rx-pps-64");
	TAP_OK(st && st->status == HVB_ST_SKIPPED && strstr(st->text, "net.reflect=1"),
	       "reflect: rx-pps skipped, saying why");
}

int main(void)
{
	struct hvb_netns ns = { .ns_fd = -1 };
	struct hvb_peer *peer = NULL;
	char why[256] = "";

	test_put_hdr();
	if (unshare(CLONE_NEWNET) < 0) {
		TAP_SKIP("unshare(CLONE_NEWNET) refused (needs root): net/ not run natively");
		return tap_done();
	}
	if (!TAP_EQ_INT(make_link(), 0, "veth link in the test's namespace (as netns.h)"))
		return tap_done();
	tsc_khz = measure_tsc_khz();
	ns.ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ns.peer_ip = HVB_NET_PEER_IP;
	ns.peer_port = HVB_NET_PEER_PORT;
	test_refusals();
	test_reflect();
	test_no_responder();
	if (!TAP_EQ_INT(hvb_peer_start(&ns, -1, &peer, why, sizeof(why)), 0, "responder started"))
		printf("# %s\n", why);
	else
		test_workloads();
	TAP_OK(hvb_peer_stop(peer, why, sizeof(why)), "the responder lived to the end");
	return tap_done();
}
