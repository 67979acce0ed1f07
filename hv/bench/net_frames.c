/*
 * hv-net-frames: frames per second through the core's virtio-net with no
 * guest, a host-side driver standing in for it (tests/unit/virtio_net_drv.h
 * on a VM without KVM, so no exit costs are in the figures: they are the
 * device's own cost per frame).
 *
 *   loopback sync     QueueNotify served inside the "exit": batch of 64
 *                     frames per notification, reflected into 64 buffers
 *   loopback exit     the I/O thread woken per batch (eventfd), the driver
 *                     waits for the reflections
 *   loopback rr       one frame at a time through the I/O thread: the round
 *                     trip of a request/response in ns (exit and poll mode)
 *   tap tx / tap rx   64-byte frames to / from the tap backend on an AF_UNIX
 *                     SOCK_SEQPACKET pair, a host thread at the other end
 *                     (its queue holds 10 datagrams: net.unix.max_dgram_qlen,
 *                     so transmits are refused often; a stand-in's figure)
 *   real tap tx / rx  as root: a tap in a namespace of the bench's own,
 *                     64-byte UDP frames through the kernel's stack to a
 *                     socket that a host thread drains / from a host thread
 *                     sending datagrams to the guest's address
 *
 * Figures for the closing note, nothing asserted.
 *   usage: hv-net-frames [seconds per figure (default 1)]
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dev.h"
#include "virtio_net.h"
#include "unit/virtio_net_drv.h"

#define BASE  HVB_VIRTIO_MMIO_NET
#define QSIZE 256
#define BATCH 64
#define FRAME 64

static double secs = 1.0;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

struct rig {
	struct fake_vm *f;
	struct hv_virtio_net *net;
	struct ndrv d;
	int sock[2];
	volatile int stop;
	uint64_t peer_frames;
};

static int real_tap = -1; /* the tap of the namespace, once made */

static int rig_up(struct rig *r, enum hv_net_backend b, enum hv_net_notify n)
{
	struct hv_net_config c = {.backend = b, .notify = n, .tap_fd = -1, .mmio_gpa = BASE,
				  .queue_size_max = QSIZE, .io_cpu = -1};
	int e;

	memset(r, 0, sizeof(*r));
	r->sock[0] = r->sock[1] = -1;
	if (b == HV_NET_TAP && real_tap < 0 &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, r->sock))
		return -1;
	c.tap_fd = b == HV_NET_TAP && real_tap >= 0 ? real_tap : r->sock[0];
	r->f = fake_vm_new(NDRV_RAM_MIN);
	e = dev_virtio_net_attach(&r->f->vm, &c, &r->net);
	if (e) {
		char why[200];
		fprintf(stderr, "attach: %s\n", dev_virtio_net_strerror(&c, e, why, sizeof(why)));
		return -1;
	}
	ndrv_init(&r->d, &r->f->vm, &r->f->vcpu, BASE, NDRV_FEATURES, QSIZE);
	return 0;
}

static void rig_down(struct rig *r)
{
	dev_virtio_net_detach(r->net);
	for (int i = 0; i < 2; i++)
		if (r->sock[i] >= 0)
			close(r->sock[i]);
	fake_vm_free(r->f);
}

static void frame(uint8_t *f)
{
	memset(f, 0x11, FRAME);
	f[12] = 0x08, f[13] = 0x06;
}

/* Batches of BATCH frames out and back; frames per second. */
static double loop_batches(struct rig *r)
{
	uint8_t f[FRAME];
	uint16_t done = 0;
	uint64_t n = 0;
	double t0 = now(), t;

	frame(f);
	do {
		for (uint16_t i = 0; i < BATCH; i++) {
			uint16_t slot = (uint16_t)((done + i) % QSIZE);
			ndrv_rx_post(&r->d, slot, NDRV_BUF);
			ndrv_tx(&r->d, slot, f, FRAME);
		}
		ndrv_notify(&r->d, 1);
		done = (uint16_t)(done + BATCH);
		ndrv_wait(&r->d, 0, done, 5000);
		n += BATCH;
		t = now();
	} while (t - t0 < secs);
	return (double)n / (t - t0);
}

/* One frame out and back at a time; ns per round trip. */
static double loop_rr(struct rig *r)
{
	uint8_t f[FRAME];
	uint16_t done = 0;
	uint64_t n = 0;
	double t0 = now(), t;

	frame(f);
	do {
		uint16_t slot = (uint16_t)(done % QSIZE);
		ndrv_rx_post(&r->d, slot, NDRV_BUF);
		ndrv_tx(&r->d, slot, f, FRAME);
		ndrv_notify(&r->d, 1);
		done++;
		while (ndrv_used_idx(&r->d, 0) != done)
			__builtin_ia32_pause();
		n++;
		t = now();
	} while (t - t0 < secs);
	return (t - t0) * 1e9 / (double)n;
}

static void *peer_reader(void *arg)
{
	struct rig *r = arg;
	uint8_t buf[2048];

	while (!r->stop)
		if (recv(r->sock[1], buf, sizeof(buf), 0) > 0)
			r->peer_frames++;
	return NULL;
}

static void *peer_writer(void *arg)
{
	struct rig *r = arg;
	uint8_t buf[NDRV_HDR + FRAME] = {0};

	frame(buf + NDRV_HDR);
	while (!r->stop)
		if (send(r->sock[1], buf, sizeof(buf), 0) > 0)
			r->peer_frames++;
	return NULL;
}

/* Batches of the 64-byte frame `build` makes, for secs, while `reader`
 * counts what reaches the peer's side: frames/s that arrived. */
static double tx_rate(struct rig *r, void (*build)(uint8_t *f), void *(*reader)(void *))
{
	uint8_t f[FRAME];
	uint16_t done = 0;
	pthread_t th;
	double t0, t;

	build(f);
	pthread_create(&th, NULL, reader, r);
	t0 = now();
	do {
		for (uint16_t i = 0; i < BATCH; i++)
			ndrv_tx(&r->d, (uint16_t)((done + i) % QSIZE), f, FRAME);
		ndrv_notify(&r->d, 1);
		done = (uint16_t)(done + BATCH);
		ndrv_wait(&r->d, 1, done, 5000);
		t = now();
	} while (t - t0 < secs);
	r->stop = 1;
	pthread_join(th, NULL);
	return (double)r->peer_frames / (t - t0);
}

/* Every receive buffer posted and reposted as it fills, for secs, while
 * `writer` sends from the peer's side (yield: let a writer on this CPU
 * run): frames/s the guest received. */
static double rx_rate(struct rig *r, void *(*writer)(void *), bool yield)
{
	uint16_t seen = 0;
	uint64_t n = 0;
	pthread_t th;
	double t0, t;

	for (uint16_t i = 0; i < QSIZE; i++)
		ndrv_rx_post(&r->d, i, NDRV_BUF);
	ndrv_notify(&r->d, 0);
	pthread_create(&th, NULL, writer, r);
	t0 = now();
	do {
		uint16_t idx = ndrv_used_idx(&r->d, 0);
		for (; seen != idx; seen++, n++)
			ndrv_rx_post(&r->d, ndrv_used(&r->d, 0, seen).id, NDRV_BUF);
		ndrv_notify(&r->d, 0);
		if (yield)
			sched_yield();
		t = now();
	} while (t - t0 < secs);
	r->stop = 1;
	pthread_join(th, NULL);
	return (double)n / (t - t0);
}

static double tap_tx(struct rig *r)
{
	return tx_rate(r, frame, peer_reader);
}

static double tap_rx(struct rig *r)
{
	return rx_rate(r, peer_writer, false);
}

/* ------------------------------------------------------------ a real tap */

static const uint8_t mac_peer[6] = {0x02, 0x68, 0x76, 0x62, 0x00, 0x01};
static const uint8_t mac_guest[6] = {0x02, 0x68, 0x76, 0x62, 0x00, 0x02};
static int udp_sock = -1; /* 10.78.0.1:7 in the namespace */

/* A 64-byte UDP frame 10.78.0.2:40000 -> 10.78.0.1:7, IPv4 checksum set. */
static void udp_frame(uint8_t *f)
{
	uint32_t sum = 0;

	memset(f, 0, FRAME);
	memcpy(f, mac_peer, 6), memcpy(f + 6, mac_guest, 6);
	f[12] = 0x08;
	f[14] = 0x45, f[17] = FRAME - 14, f[22] = 64, f[23] = 17;
	f[26] = 10, f[27] = 78, f[29] = 2, f[30] = 10, f[31] = 78, f[33] = 1;
	for (unsigned i = 14; i < 34; i += 2)
		sum += (uint32_t)f[i] << 8 | f[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	f[24] = (uint8_t)(~sum >> 8), f[25] = (uint8_t)~sum;
	f[34] = 40000 >> 8, f[35] = 40000 & 0xff, f[37] = 7, f[39] = FRAME - 34;
}

static void *sock_drain(void *arg)
{
	struct rig *r = arg;
	char buf[2048];

	while (!r->stop)
		if (recv(udp_sock, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			r->peer_frames++;
		else
			sched_yield();
	return NULL;
}

static void *sock_send(void *arg)
{
	struct rig *r = arg;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(40000),
				 .sin_addr.s_addr = htonl(0x0a4e0002)};
	char buf[FRAME - 42] = "from the host";

	while (!r->stop)
		if (sendto(udp_sock, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&to,
			   sizeof(to)) > 0)
			r->peer_frames++;
		else
			sched_yield();
	return NULL;
}

/* Frames/s that reached the socket through the stack. */
static double real_tx(struct rig *r)
{
	return tx_rate(r, udp_frame, sock_drain);
}

/* Frames/s the guest received from a host thread's datagrams. */
static double real_rx(struct rig *r)
{
	return rx_rate(r, sock_send, true);
}

/* The namespace, its tap and the socket; false (and why) when not root. */
static bool real_tap_up(void)
{
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(7),
				 .sin_addr.s_addr = htonl(0x0a4e0001)};
	const char *why = "cannot make a network namespace (needs root)";

	if (ndrv_netns_enter() || (real_tap = ndrv_tap_make(mac_peer, mac_guest, &why)) < 0) {
		printf("real tap: skipped: %s\n", why);
		return false;
	}
	udp_sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return udp_sock >= 0 && !bind(udp_sock, (struct sockaddr *)&me, sizeof(me));
}

static void figure(const char *what, enum hv_net_backend b, enum hv_net_notify n,
		   double (*fn)(struct rig *), const char *unit)
{
	struct rig r;
	struct hv_net_stats s;

	if (rig_up(&r, b, n)) {
		printf("%-34s (could not attach)\n", what);
		return;
	}
	double v = fn(&r);
	dev_virtio_net_stats(r.net, &s);
	printf("%-34s %12.0f %-10s (rx_dropped %llu, tx_errors %llu)\n", what, v, unit,
	       (unsigned long long)s.rx_dropped, (unsigned long long)s.tx_errors);
	rig_down(&r);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		secs = atof(argv[1]) > 0 ? atof(argv[1]) : 1.0;
	figure("loopback sync, batches of 64", HV_NET_LOOPBACK, HV_NET_NOTIFY_SYNC, loop_batches,
	       "frames/s");
	figure("loopback exit, batches of 64", HV_NET_LOOPBACK, HV_NET_NOTIFY_EXIT, loop_batches,
	       "frames/s");
	figure("loopback poll, batches of 64", HV_NET_LOOPBACK, HV_NET_NOTIFY_POLL, loop_batches,
	       "frames/s");
	figure("loopback sync, one at a time", HV_NET_LOOPBACK, HV_NET_NOTIFY_SYNC, loop_rr,
	       "ns/frame");
	figure("loopback exit, one at a time", HV_NET_LOOPBACK, HV_NET_NOTIFY_EXIT, loop_rr,
	       "ns/frame");
	figure("loopback poll, one at a time", HV_NET_LOOPBACK, HV_NET_NOTIFY_POLL, loop_rr,
	       "ns/frame");
	figure("tap (socket pair) exit, tx 64 B", HV_NET_TAP, HV_NET_NOTIFY_EXIT, tap_tx,
	       "frames/s");
	figure("tap (socket pair) exit, rx 64 B", HV_NET_TAP, HV_NET_NOTIFY_EXIT, tap_rx,
	       "frames/s");
	figure("tap (socket pair) poll, rx 64 B", HV_NET_TAP, HV_NET_NOTIFY_POLL, tap_rx,
	       "frames/s");
	if (!real_tap_up())
		return 0;
	figure("real tap exit, tx 64 B to a socket", HV_NET_TAP, HV_NET_NOTIFY_EXIT, real_tx,
	       "frames/s");
	figure("real tap exit, rx 64 B from a socket", HV_NET_TAP, HV_NET_NOTIFY_EXIT, real_rx,
	       "frames/s");
	return 0;
}
