/*
 * virtio-net of the reference core (hv/virtio_net.c) through its MMIO
 * registers, on a VM without KVM (virtio_drv.h, virtio_net_drv.h); the
 * ioeventfd registration on a real VM where /dev/kvm exists; a real tap in
 * a network namespace of its own where the test may make one.
 *
 * 1. attach: bad configurations, window overlap, config space, features,
 *    vhost without /dev/vhost-net (-ENOENT and its sentence).
 * 2. Loopback in sync mode: the frame comes back with Ethernet, IPv4 and
 *    UDP source and destination swapped and its content equal (options,
 *    non-IPv4, cut headers), header and used lengths, multi-segment
 *    frames, counters.
 * 3. Every malformed transmit chain (dropped, counted, completed) and
 *    receive buffer (NEEDS_RESET, or a frame too large: dropped, buffer
 *    kept); broken rings; nothing served until a reset.
 * 4. The tap backend against an AF_UNIX SOCK_SEQPACKET pair (frame
 *    boundaries kept, like a tap): both directions in exit and poll mode,
 *    the device's header replacing the kernel's, frames waiting in the
 *    "tap" while no buffer is posted, a full "tap" (tx_errors), the I/O
 *    thread under its seccomp filter, thread ids, detach under load.
 * 5. ioeventfd mode on a real VM: per-queue datamatch registrations.
 * 6. vhost's translations (memory table, ring addresses); the search for
 *    its worker "vhost-<owner tid>": a thread of ours is found, a process
 *    that only calls itself so (not a kernel thread) is not.
 * 7. A real tap in a fresh network namespace: a UDP datagram from the
 *    guest reaches a socket through the kernel's stack, and the answer
 *    comes back into a receive buffer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/uio.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dev.h"
#include "seccomp.h"
#include "exit.h"
#include "tap.h"
#include "vhost_net.h"
#include "virtio_net.h"
#include "unit/virtio_net_drv.h"

#define BASE	    HVB_VIRTIO_MMIO_NET
#define RAM	    (8ull << 20)
#define QSIZE	    16
#define WAIT_MS	    5000
#define NEEDS_RESET VIRTIO_CONFIG_S_NEEDS_RESET
#define RXQ	    0
#define TXQ	    1

static const uint8_t mac_peer[6] = {0x02, 0x68, 0x76, 0x62, 0x00, 0x01};
static const uint8_t mac_guest[6] = {0x02, 0x68, 0x76, 0x62, 0x00, 0x02};

/* ------------------------------------------------------------ frames */

static uint16_t ip_sum(const uint8_t *p, unsigned len)
{
	uint32_t s = 0;

	for (unsigned i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Ethernet + IPv4 (ihl words, options zero) + UDP 40000 -> 7 from the
 * guest to the peer, payload bytes i*3+1; returns the frame length. */
static unsigned udp_frame(uint8_t *f, unsigned payload, unsigned ihl)
{
	unsigned ip = 14, udp = ip + 4 * ihl, len = udp + 8 + payload;
	uint16_t sum;

	memset(f, 0, len);
	memcpy(f, mac_peer, 6);
	memcpy(f + 6, mac_guest, 6);
	f[12] = 0x08, f[13] = 0x00;
	f[ip] = (uint8_t)(0x40 | ihl);
	f[ip + 2] = (uint8_t)((len - ip) >> 8), f[ip + 3] = (uint8_t)(len - ip);
	f[ip + 8] = 64, f[ip + 9] = 17;
	f[ip + 12] = 10, f[ip + 13] = 78, f[ip + 14] = 0, f[ip + 15] = 2;
	f[ip + 16] = 10, f[ip + 17] = 78, f[ip + 18] = 0, f[ip + 19] = 1;
	sum = ip_sum(f + ip, 4 * ihl);
	f[ip + 10] = (uint8_t)(sum >> 8), f[ip + 11] = (uint8_t)sum;
	f[udp] = 40000 >> 8, f[udp + 1] = 40000 & 0xff, f[udp + 3] = 7;
	f[udp + 4] = (uint8_t)((8 + payload) >> 8), f[udp + 5] = (uint8_t)(8 + payload);
	for (unsigned i = 0; i < payload; i++)
		f[udp + 8 + i] = (uint8_t)(i * 3 + 1);
	return len;
}

static void swap(uint8_t *f, unsigned a, unsigned b, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t t = f[a + i];
		f[a + i] = f[b + i], f[b + i] = t;
	}
}

/* What the loopback should make of an IPv4/UDP frame with ihl words. */
static void reflected(uint8_t *f, unsigned ihl)
{
	swap(f, 0, 6, 6);
	swap(f, 14 + 12, 14 + 16, 4);
	swap(f, 14 + 4 * ihl, 14 + 4 * ihl + 2, 2);
}

/* ------------------------------------------------------------ fixture */

struct fx {
	struct fake_vm *f;
	struct vm *vm;
	struct vcpu *vcpu;
	struct hv_virtio_net *net;
	struct ndrv d;
	int sock[2]; /* the "tap": sock[0] is the device's */
};

static struct hv_net_config cfg_of(enum hv_net_backend b, enum hv_net_notify n, int tap_fd)
{
	struct hv_net_config c = {.backend = b, .notify = n, .tap_fd = tap_fd, .mmio_gpa = BASE,
				  .queue_size_max = QSIZE, .io_cpu = -1};

	memcpy(c.mac, mac_guest, 6);
	return c;
}

static bool fx_up_cfg(struct fx *x, const struct hv_net_config *c)
{
	int r;

	x->f = fake_vm_new(RAM);
	x->vm = &x->f->vm, x->vcpu = &x->f->vcpu;
	r = dev_virtio_net_attach(x->vm, c, &x->net);
	if (r) {
		char why[256];
		printf("#   attach: %s\n", dev_virtio_net_strerror(c, r, why, sizeof(why)));
		return false;
	}
	return (ndrv_init(&x->d, x->vm, x->vcpu, BASE, NDRV_FEATURES, QSIZE) & 0x4f) == 0x0f;
}

/* Loopback, sync: served inside QueueNotify. */
static bool fx_loop(struct fx *x)
{
	struct hv_net_config c = cfg_of(HV_NET_LOOPBACK, HV_NET_NOTIFY_SYNC, -1);

	memset(x, 0, sizeof(*x));
	x->sock[0] = x->sock[1] = -1;
	return fx_up_cfg(x, &c);
}

/* Tap backend on a socket pair, in mode n. */
static bool fx_tap(struct fx *x, enum hv_net_notify n, bool seccomp)
{
	struct hv_net_config c;

	memset(x, 0, sizeof(*x));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, x->sock))
		return false;
	c = cfg_of(HV_NET_TAP, n, x->sock[0]);
	c.seccomp = seccomp;
	return fx_up_cfg(x, &c);
}

static void fx_down(struct fx *x)
{
	dev_virtio_net_detach(x->net);
	for (int i = 0; i < 2; i++)
		if (x->sock[i] >= 0)
			close(x->sock[i]);
	fake_vm_free(x->f);
}

static struct hv_net_stats stats(struct fx *x)
{
	struct hv_net_stats s;

	dev_virtio_net_stats(x->net, &s);
	return s;
}

static bool needs_reset(struct fx *x)
{
	return dev_virtio_net_status(x->net, NULL, 0) & NEEDS_RESET;
}

static bool reset_says(struct fx *x, const char *what)
{
	char why[200];
	bool ok = (dev_virtio_net_status(x->net, why, sizeof(why)) & NEEDS_RESET) && strstr(why, what);

	if (!ok)
		printf("#   status why: '%s', expected '%s'\n", why, what);
	return ok;
}

static uint8_t *rxbuf(struct fx *x, uint16_t slot)
{
	return gpa_ptr(x->vm, NDRV_RXBUF(slot));
}

/* ------------------------------------------------------------ 1. attach */

static void test_attach_config(void)
{
	struct fake_vm *f = fake_vm_new(RAM);
	struct hv_virtio_net *n = NULL, *n2 = NULL;
	struct hv_net_config c;
	char why[256];

	c = cfg_of(HV_NET_TAP, HV_NET_NOTIFY_EXIT, -1);
	TAP_EQ_INT(dev_virtio_net_attach(&f->vm, &c, &n), -EINVAL, "tap without an fd: -EINVAL");
	c = cfg_of(HV_NET_TAP, HV_NET_NOTIFY_SYNC, 0);
	TAP_EQ_INT(dev_virtio_net_attach(&f->vm, &c, &n), -EINVAL, "sync with a tap: -EINVAL");
	TAP_OK(strstr(dev_virtio_net_strerror(&c, -EINVAL, why, sizeof(why)), "sync needs the loopback"),
	       "... and the sentence says why");
	c = cfg_of(HV_NET_LOOPBACK, HV_NET_NOTIFY_SYNC, -1), c.mtu = 67;
	TAP_EQ_INT(dev_virtio_net_attach(&f->vm, &c, &n), -EINVAL, "mtu 67: -EINVAL");
	c.mtu = 9001;
	TAP_EQ_INT(dev_virtio_net_attach(&f->vm, &c, &n), -EINVAL, "mtu 9001: -EINVAL");
	c = cfg_of(HV_NET_LOOPBACK, HV_NET_NOTIFY_SYNC, -1), c.queue_size_max = 12;
	TAP_EQ_INT(dev_virtio_net_attach(&f->vm, &c, &n), -EINVAL, "queue max not a power of 2");
	c = cfg_of(HV_NET_LOOPBACK, HV_NET_NOTIFY_SYNC, -1), c.mmio_gpa = BASE + 8;
	TAP_EQ_INT(dev_virtio_net_attach(&f->vm, &c, &n), -EINVAL, "window not page aligned");
	c = cfg_of((enum hv_net_backend)7, HV_NET_NOTIFY_SYNC, -1);
	TAP_EQ_INT(dev_virtio_net_attach(&f->vm, &c, &n), -EINVAL, "unknown backend");
	c = cfg_of(HV_NET_LOOPBACK, (enum hv_net_notify)9, -1);
	TAP_EQ_INT(dev_virtio_net_attach(&f->vm, &c, &n), -EINVAL, "unknown notify mode");
	c = cfg_of(HV_NET_LOOPBACK, HV_NET_NOTIFY_SYNC, -1), c.mmio_gpa = 0x1000;
	TAP_EQ_INT(dev_virtio_net_attach(&f->vm, &c, &n), -EEXIST, "window over RAM: -EEXIST");
	c = cfg_of(HV_NET_LOOPBACK, HV_NET_NOTIFY_SYNC, -1);
	TAP_EQ_INT(dev_virtio_net_attach(&f->vm, &c, &n), 0, "loopback, sync: attached");
	TAP_EQ_INT(dev_virtio_net_attach(&f->vm, &c, &n2), -EEXIST, "same window twice: -EEXIST");
	TAP_EQ_INT(dev_virtio_net_tids(n, (pid_t[4]){0}, 4), 0, "sync mode: no thread to account");
	dev_virtio_net_detach(n);
	TAP_EQ_INT(f->vm.n_mmio, 0, "detach removes the window");
	fake_vm_free(f);
}

static void test_config_space(void)
{
	struct fx x;
	uint8_t mac[6];
	uint16_t mtu = 0, status = 0;
	uint32_t v;

	TAP_OK(fx_loop(&x), "driver init with VERSION_1, MAC, MTU: DRIVER_OK");
	TAP_EQ_INT(drv_rd(&x.d.d, VIRTIO_MMIO_DEVICE_ID), 1, "DeviceID 1 (network card)");
	drv_wr(&x.d.d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	v = drv_rd(&x.d.d, VIRTIO_MMIO_DEVICE_FEATURES);
	TAP_EQ_INT(v, (1u << VIRTIO_NET_F_MAC) | (1u << VIRTIO_NET_F_MTU) |
			  (1u << VIRTIO_RING_F_EVENT_IDX),
		   "features 0-31: MAC, MTU, EVENT_IDX, nothing else (no offloads, no MRG_RXBUF)");
	drv_wr(&x.d.d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	TAP_EQ_INT(drv_rd(&x.d.d, VIRTIO_MMIO_DEVICE_FEATURES), 1, "features 32-63: VERSION_1");
	drv_wr(&x.d.d, VIRTIO_MMIO_QUEUE_SEL, 1);
	TAP_EQ_INT(drv_rd(&x.d.d, VIRTIO_MMIO_QUEUE_NUM_MAX), QSIZE, "queue 1 (transmit) exists");
	drv_wr(&x.d.d, VIRTIO_MMIO_QUEUE_SEL, 2);
	TAP_EQ_INT(drv_rd(&x.d.d, VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "no queue 2 (no control queue)");
	for (int i = 0; i < 6; i++)
		mmio_access(x.vm, x.vcpu, BASE + VIRTIO_MMIO_CONFIG + i, &mac[i], 1, false);
	mmio_access(x.vm, x.vcpu, BASE + VIRTIO_MMIO_CONFIG + 6, &status, 2, false);
	mmio_access(x.vm, x.vcpu, BASE + VIRTIO_MMIO_CONFIG + 10, &mtu, 2, false);
	TAP_OK(!memcmp(mac, mac_guest, 6), "config: the MAC the runner gave");
	TAP_EQ_INT(status, VIRTIO_NET_S_LINK_UP, "config: link up");
	TAP_EQ_INT(mtu, 1500, "config: mtu 1500 (0 in the config)");
	v = 0x11223344;
	mmio_access(x.vm, x.vcpu, BASE + VIRTIO_MMIO_CONFIG, &v, 4, true);
	TAP_EQ_INT(stats(&x).bad_accesses, 1, "a config write is ignored and counted");
	TAP_EQ_INT(mmio_access(x.vm, x.vcpu, BASE + VIRTIO_MMIO_CONFIG + 12, &v, 4, false), HV_STOP,
		   "a read beyond the 12-byte config stops the run");
	TAP_OK(strstr(x.vm->verdict.msg, "virtio-net") != NULL, "... the verdict names virtio-net");
	fx_down(&x);
}

static void test_vhost_absent(void)
{
	struct fake_vm *f = fake_vm_new(RAM);
	struct hv_virtio_net *n = NULL;
	struct hv_net_config c = cfg_of(HV_NET_VHOST, HV_NET_NOTIFY_IOEVENTFD, 0);
	char why[256];
	int r;

	c.vhost_path = "/nonexistent/vhost-net";
	r = dev_virtio_net_attach(&f->vm, &c, &n);
	TAP_EQ_INT(r, -ENOENT, "vhost with no device node: -ENOENT");
	dev_virtio_net_strerror(&c, r, why, sizeof(why));
	printf("#   %s\n", why);
	TAP_OK(strstr(why, "no /nonexistent/vhost-net") && strstr(why, "tap backend"),
	       "... the sentence names the path and the way out");
	TAP_EQ_INT(f->vm.n_mmio, 0, "... and leaves no window behind");
	c.vhost_path = NULL;
	if (access("/dev/vhost-net", F_OK) == 0) {
		TAP_SKIP("this kernel has /dev/vhost-net: its absence cannot be tested here");
	} else {
		TAP_EQ_INT(dev_virtio_net_attach(&f->vm, &c, &n), -ENOENT,
			   "vhost on this machine (no /dev/vhost-net): -ENOENT");
	}
	fake_vm_free(f);
}

/* ------------------------------------------------------------ 2. loopback */

/* Send frame f (len) from slot 0 into receive slot 0; true when it came
 * back as expect. */
static bool loop_once(struct fx *x, const uint8_t *f, unsigned len, const uint8_t *expect)
{
	uint16_t rx = ndrv_used_idx(&x->d, RXQ), tx = ndrv_used_idx(&x->d, TXQ);
	const struct virtio_net_hdr_v1 *h = (const void *)rxbuf(x, 0);

	memset(rxbuf(x, 0), 0xee, NDRV_BUF);
	ndrv_rx_post(&x->d, 0, NDRV_BUF);
	ndrv_tx(&x->d, 0, f, len);
	ndrv_notify(&x->d, TXQ);
	return ndrv_used_idx(&x->d, TXQ) == (uint16_t)(tx + 1) &&
	       ndrv_used(&x->d, TXQ, tx).len == 0 && ndrv_used_idx(&x->d, RXQ) == (uint16_t)(rx + 1) &&
	       ndrv_used(&x->d, RXQ, rx).len == NDRV_HDR + len && h->flags == 0 &&
	       h->gso_type == 0 && h->num_buffers == 1 && !memcmp(rxbuf(x, 0) + NDRV_HDR, expect, len);
}

static void test_loopback(void)
{
	uint8_t f[1600], e[1600];
	struct hv_net_stats s;
	unsigned len;
	struct fx x;
	uint16_t rx;

	TAP_OK(fx_loop(&x), "loopback: attached and initialised");
	len = udp_frame(f, 22, 5);
	memcpy(e, f, len), reflected(e, 5);
	TAP_OK(loop_once(&x, f, len, e),
	       "64-byte UDP frame: back with MACs, IPs and ports swapped, content equal, "
	       "header {0, num_buffers 1}, used lengths 0 / 12 + frame");
	TAP_EQ_INT(ip_sum(rxbuf(&x, 0) + NDRV_HDR + 14, 20), 0, "... its IPv4 checksum still valid");
	len = udp_frame(f, 100, 7);
	memcpy(e, f, len), reflected(e, 7);
	TAP_OK(loop_once(&x, f, len, e), "IPv4 with options (ihl 7): the ports found after them");
	len = udp_frame(f, 1472, 5);
	memcpy(e, f, len), reflected(e, 5);
	TAP_OK(len == 1514 && loop_once(&x, f, len, e), "1514-byte frame (the MTU): reflected whole");
	len = udp_frame(f, 30, 5);
	f[12] = 0x08, f[13] = 0x06; /* ARP */
	memcpy(e, f, len), swap(e, 0, 6, 6);
	TAP_OK(loop_once(&x, f, len, e), "not IPv4 (ARP): only the MACs swapped");
	len = udp_frame(f, 30, 5);
	f[14 + 9] = 6; /* TCP */
	memcpy(e, f, len), swap(e, 0, 6, 6), swap(e, 26, 30, 4);
	TAP_OK(loop_once(&x, f, len, e), "IPv4 but not UDP: MACs and addresses, no ports");
	len = 30;
	udp_frame(f, 30, 5);
	memcpy(e, f, len), swap(e, 0, 6, 6);
	TAP_OK(loop_once(&x, f, len, e), "IPv4 cut before its addresses: only the MACs");
	udp_frame(f, 30, 5);
	f[14] = 0x4f; /* ihl 15: 60 bytes, beyond the frame */
	len = 60;
	memcpy(e, f, len), swap(e, 0, 6, 6);
	TAP_OK(loop_once(&x, f, len, e), "ihl beyond the frame: only the MACs");

	/* Header in its own descriptor, the frame in three pieces. */
	len = udp_frame(f, 200, 5);
	memcpy(e, f, len), reflected(e, 5);
	rx = ndrv_used_idx(&x.d, RXQ);
	ndrv_rx_post(&x.d, 1, NDRV_BUF);
	memset(gpa_ptr(x.vm, NDRV_TXBUF(2)), 0, NDRV_HDR);
	memcpy(gpa_ptr(x.vm, NDRV_TXBUF(3)), f, 10);
	memcpy(gpa_ptr(x.vm, NDRV_TXBUF(4)), f + 10, 100);
	memcpy(gpa_ptr(x.vm, NDRV_TXBUF(5)), f + 110, len - 110);
	ndrv_desc(&x.d, TXQ, 2, NDRV_TXBUF(2), NDRV_HDR, VRING_DESC_F_NEXT, 3);
	ndrv_desc(&x.d, TXQ, 3, NDRV_TXBUF(3), 10, VRING_DESC_F_NEXT, 4);
	ndrv_desc(&x.d, TXQ, 4, NDRV_TXBUF(4), 100, VRING_DESC_F_NEXT, 5);
	ndrv_desc(&x.d, TXQ, 5, NDRV_TXBUF(5), len - 110, 0, 0);
	ndrv_publish(&x.d, TXQ, 2);
	ndrv_notify(&x.d, TXQ);
	TAP_OK(ndrv_used_idx(&x.d, RXQ) == (uint16_t)(rx + 1) &&
		   !memcmp(rxbuf(&x, 1) + NDRV_HDR, e, len),
	       "header and frame over four descriptors: reflected whole");

	/* A receive buffer in three descriptors: header split too. */
	rx = ndrv_used_idx(&x.d, RXQ);
	ndrv_desc(&x.d, RXQ, 6, NDRV_RXBUF(6), 5, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 7);
	ndrv_desc(&x.d, RXQ, 7, NDRV_RXBUF(7), 0, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 8);
	ndrv_desc(&x.d, RXQ, 8, NDRV_RXBUF(8), NDRV_BUF, VRING_DESC_F_WRITE, 0);
	ndrv_publish(&x.d, RXQ, 6);
	ndrv_tx(&x.d, 9, f, len);
	ndrv_notify(&x.d, TXQ);
	TAP_OK(ndrv_used_idx(&x.d, RXQ) == (uint16_t)(rx + 1) && rxbuf(&x, 6)[4] == 0 &&
		   !memcmp(rxbuf(&x, 8) + 7, e, len) && ndrv_used(&x.d, RXQ, rx).len == 12 + len,
	       "receive buffer of 5 + 0 + 2048 bytes: header split, zero-length one skipped");

	s = stats(&x);
	TAP_EQ_INT(s.tx_frames, 9, "tx_frames counts every frame");
	TAP_EQ_INT(s.rx_frames, 9, "rx_frames counts every reflection");
	TAP_EQ_INT(s.tx_bytes, s.rx_bytes, "bytes in = bytes out");
	TAP_EQ_INT(s.notifies, 9, "notifies: one QueueNotify exit per frame");
	TAP_OK(!s.tx_bad && !s.rx_dropped && !s.resets_needed, "nothing dropped or broken");

	/* No receive buffer: the reflection is dropped, the transmit completes. */
	len = udp_frame(f, 22, 5);
	ndrv_tx(&x.d, 10, f, len);
	ndrv_notify(&x.d, TXQ);
	s = stats(&x);
	TAP_OK(s.rx_dropped == 1 && s.tx_frames == 10 && ndrv_used_idx(&x.d, TXQ) == 10,
	       "no receive buffer posted: reflection dropped (rx_dropped), transmit completed");
	/* Receive buffer too small for the frame: dropped, the buffer kept. */
	rx = ndrv_used_idx(&x.d, RXQ);
	ndrv_rx_post(&x.d, 11, NDRV_HDR + 40);
	ndrv_tx(&x.d, 12, f, len);
	ndrv_notify(&x.d, TXQ);
	TAP_OK(stats(&x).rx_dropped == 2 && ndrv_used_idx(&x.d, RXQ) == rx,
	       "64-byte frame, 52-byte buffer: dropped, the buffer not used");
	udp_frame(f, 0, 5);
	ndrv_tx(&x.d, 13, f, 40);
	ndrv_notify(&x.d, TXQ);
	TAP_OK(ndrv_used_idx(&x.d, RXQ) == (uint16_t)(rx + 1) &&
		   ndrv_used(&x.d, RXQ, rx).len == NDRV_HDR + 40,
	       "... the kept buffer takes the next frame that fits (40 bytes)");
	TAP_OK(!needs_reset(&x), "none of it needs a reset");
	fx_down(&x);
}

/* ------------------------------------------------------------ 3. malformed */

/* Transmit chain from slot `head` as built by the caller; expects it
 * dropped: tx_bad + 1, completed, nothing reflected. */
static bool tx_dropped(struct fx *x, uint16_t head)
{
	struct hv_net_stats before = stats(x), after;
	uint16_t tx = ndrv_used_idx(&x->d, TXQ), rx = ndrv_used_idx(&x->d, RXQ);

	ndrv_publish(&x->d, TXQ, head);
	ndrv_notify(&x->d, TXQ);
	after = stats(x);
	return after.tx_bad == before.tx_bad + 1 && after.tx_frames == before.tx_frames &&
	       ndrv_used_idx(&x->d, TXQ) == (uint16_t)(tx + 1) &&
	       ndrv_used(&x->d, TXQ, tx).id == head && ndrv_used_idx(&x->d, RXQ) == rx &&
	       !needs_reset(x);
}

static void test_tx_malformed(void)
{
	uint8_t f[1600];
	uint8_t *hdr;
	unsigned len;
	struct fx x;

	TAP_OK(fx_loop(&x), "malformed transmits: loopback up");
	ndrv_rx_post(&x.d, 0, NDRV_BUF);
	len = udp_frame(f, 22, 5);
	memcpy(gpa_ptr(x.vm, NDRV_TXBUF(0)) + NDRV_HDR, f, len);
	memset(gpa_ptr(x.vm, NDRV_TXBUF(0)), 0, NDRV_HDR);

	ndrv_desc(&x.d, TXQ, 0, NDRV_TXBUF(0), 8, 0, 0);
	TAP_OK(tx_dropped(&x, 0), "8-byte chain (short header): dropped, counted, completed");
	ndrv_desc(&x.d, TXQ, 0, NDRV_TXBUF(0), NDRV_HDR, 0, 0);
	TAP_OK(tx_dropped(&x, 0), "header only (zero-length frame): dropped");
	ndrv_desc(&x.d, TXQ, 0, NDRV_TXBUF(0), NDRV_HDR + 13, 0, 0);
	TAP_OK(tx_dropped(&x, 0), "13-byte frame (shorter than Ethernet): dropped");
	ndrv_desc(&x.d, TXQ, 0, NDRV_TXBUF(0), NDRV_HDR + 1515, 0, 0);
	TAP_OK(tx_dropped(&x, 0), "1515-byte frame (MTU 1500 + 14 + 1): dropped");
	ndrv_desc(&x.d, TXQ, 0, NDRV_TXBUF(0), NDRV_HDR + len, VRING_DESC_F_WRITE, 0);
	TAP_OK(tx_dropped(&x, 0), "device-writable transmit buffer: dropped");
	ndrv_desc(&x.d, TXQ, 0, RAM - 20, NDRV_HDR + len, 0, 0);
	TAP_OK(tx_dropped(&x, 0), "buffer crossing the end of guest RAM: dropped");
	ndrv_desc(&x.d, TXQ, 0, 1ull << 40, NDRV_HDR + len, 0, 0);
	TAP_OK(tx_dropped(&x, 0), "buffer far outside guest RAM: dropped");
	ndrv_desc(&x.d, TXQ, 0, 0xfffffffffffff000ull, 0x2000, 0, 0);
	TAP_OK(tx_dropped(&x, 0), "buffer whose end wraps past 2^64: dropped");
	ndrv_desc(&x.d, TXQ, 0, NDRV_TXBUF(0), NDRV_HDR, VRING_DESC_F_NEXT, 1);
	ndrv_desc(&x.d, TXQ, 1, NDRV_TXBUF(0), 0, VRING_DESC_F_NEXT, 2);
	ndrv_desc(&x.d, TXQ, 2, NDRV_TXBUF(0) + NDRV_HDR, len, 0, 0);
	TAP_OK(tx_dropped(&x, 0), "a zero-length descriptor in the chain: dropped");
	hdr = gpa_ptr(x.vm, NDRV_TXBUF(0));
	hdr[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	ndrv_desc(&x.d, TXQ, 0, NDRV_TXBUF(0), NDRV_HDR + len, 0, 0);
	TAP_OK(tx_dropped(&x, 0), "header asking for a checksum offload (not offered): dropped");
	hdr[0] = 0, hdr[1] = VIRTIO_NET_HDR_GSO_TCPV4;
	TAP_OK(tx_dropped(&x, 0), "header asking for TSO (not offered): dropped");
	hdr[1] = 0;
	ndrv_desc(&x.d, TXQ, 0, NDRV_TXBUF(0), 5, VRING_DESC_F_NEXT, 1);
	ndrv_desc(&x.d, TXQ, 1, NDRV_TXBUF(0) + 5, 6, 0, 0);
	TAP_OK(tx_dropped(&x, 0), "header of 11 bytes over two descriptors: dropped");
	TAP_EQ_INT(stats(&x).tx_bad, 12, "tx_bad: all twelve");
	ndrv_desc(&x.d, TXQ, 0, NDRV_TXBUF(0), NDRV_HDR + len, 0, 0);
	ndrv_publish(&x.d, TXQ, 0);
	ndrv_notify(&x.d, TXQ);
	TAP_OK(ndrv_used_idx(&x.d, RXQ) == 1 && !needs_reset(&x),
	       "after all that a good frame still goes through");

	/* Broken rings: NEEDS_RESET. */
	ndrv_publish(&x.d, TXQ, QSIZE + 3);
	ndrv_notify(&x.d, TXQ);
	TAP_OK(reset_says(&x, "head index beyond"), "transmit head beyond the queue: NEEDS_RESET");
	ndrv_init(&x.d, x.vm, x.vcpu, BASE, NDRV_FEATURES, QSIZE);
	TAP_OK(!needs_reset(&x), "a reset and init bring the device back");
	ndrv_desc(&x.d, TXQ, 0, NDRV_TXBUF(0), NDRV_HDR, VRING_DESC_F_NEXT, 1);
	ndrv_desc(&x.d, TXQ, 1, NDRV_TXBUF(0), NDRV_HDR, VRING_DESC_F_NEXT, 0);
	ndrv_publish(&x.d, TXQ, 0);
	ndrv_notify(&x.d, TXQ);
	TAP_OK(reset_says(&x, "longer than the queue"), "descriptor loop: NEEDS_RESET");
	ndrv_init(&x.d, x.vm, x.vcpu, BASE, NDRV_FEATURES, QSIZE);
	ndrv_desc(&x.d, TXQ, 0, NDRV_TXBUF(0), NDRV_HDR, VRING_DESC_F_INDIRECT, 0);
	ndrv_publish(&x.d, TXQ, 0);
	ndrv_notify(&x.d, TXQ);
	TAP_OK(reset_says(&x, "indirect"), "indirect descriptor (not offered): NEEDS_RESET");
	ndrv_init(&x.d, x.vm, x.vcpu, BASE, NDRV_FEATURES, QSIZE);
	x.d.q[TXQ].avail->idx = QSIZE + 1;
	ndrv_notify(&x.d, TXQ);
	TAP_OK(reset_says(&x, "available index"), "avail idx a queue and more ahead: NEEDS_RESET");
	TAP_EQ_INT(x.vm->verdict.outcome, HV_RUNNING, "none of it stopped the run");
	fx_down(&x);
}

/* A receive buffer the device cannot use: NEEDS_RESET with `what`. */
static bool rx_broken(struct fx *x, const char *what)
{
	uint8_t f[128];
	unsigned len = udp_frame(f, 22, 5);
	uint16_t rx = ndrv_used_idx(&x->d, RXQ);
	bool ok;

	ndrv_publish(&x->d, RXQ, 0);
	ndrv_tx(&x->d, 0, f, len);
	ndrv_notify(&x->d, TXQ);
	ok = reset_says(x, what) && ndrv_used_idx(&x->d, RXQ) == rx;
	ndrv_init(&x->d, x->vm, x->vcpu, BASE, NDRV_FEATURES, QSIZE);
	return ok;
}

static void test_rx_malformed(void)
{
	uint8_t f[128];
	struct fx x;
	uint16_t tx;

	TAP_OK(fx_loop(&x), "malformed receive buffers: loopback up");
	ndrv_desc(&x.d, RXQ, 0, NDRV_RXBUF(0), NDRV_BUF, 0, 0);
	TAP_OK(rx_broken(&x, "device-readable"), "device-readable receive buffer: NEEDS_RESET");
	ndrv_desc(&x.d, RXQ, 0, NDRV_RXBUF(0), 11, VRING_DESC_F_WRITE, 0);
	TAP_OK(rx_broken(&x, "shorter than the virtio-net header"),
	       "11-byte receive buffer: NEEDS_RESET");
	ndrv_desc(&x.d, RXQ, 0, RAM - 64, 128, VRING_DESC_F_WRITE, 0);
	TAP_OK(rx_broken(&x, "outside guest RAM"), "receive buffer crossing the end of RAM: NEEDS_RESET");
	ndrv_desc(&x.d, RXQ, 0, NDRV_RXBUF(0), 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	ndrv_desc(&x.d, RXQ, 1, NDRV_RXBUF(1), 64, 0, 0);
	TAP_OK(rx_broken(&x, "device-readable"), "writable then readable buffer: NEEDS_RESET");
	ndrv_desc(&x.d, RXQ, 0, NDRV_RXBUF(0), 100, VRING_DESC_F_WRITE, 0);
	ndrv_publish(&x.d, RXQ, 0);
	ndrv_tx(&x.d, 0, f, udp_frame(f, 22, 5));
	ndrv_notify(&x.d, TXQ);
	TAP_OK(ndrv_used_idx(&x.d, RXQ) == 1 && !needs_reset(&x), "after a reset: a good buffer works");
	tx = ndrv_used_idx(&x.d, TXQ);
	ndrv_notify(&x.d, 2);
	TAP_OK(reset_says(&x, "QueueNotify for queue 2"), "QueueNotify naming queue 2: NEEDS_RESET");
	ndrv_tx(&x.d, 1, f, udp_frame(f, 22, 5));
	ndrv_notify(&x.d, TXQ);
	TAP_OK(ndrv_used_idx(&x.d, TXQ) == tx, "a device that needs a reset serves nothing");
	TAP_EQ_INT(x.vm->verdict.outcome, HV_RUNNING, "none of it stopped the run");
	fx_down(&x);
}


/* ------------------------------------------------------------ 4. tap (socket pair) */

/* One datagram from the "tap" side within ms: its length, -1 if none. */
static ssize_t peer_recv(struct fx *x, uint8_t *buf, size_t cap, int ms)
{
	struct pollfd p = {.fd = x->sock[1], .events = POLLIN};

	if (poll(&p, 1, ms) <= 0)
		return -1;
	return recv(x->sock[1], buf, cap, 0);
}

/* The kernel's side of a frame: header (flags set, which the device must
 * not pass on) and frame. */
static bool peer_send(struct fx *x, const uint8_t *f, unsigned len)
{
	uint8_t buf[NDRV_HDR + 1600];
	struct virtio_net_hdr_v1 h = {.flags = VIRTIO_NET_HDR_F_DATA_VALID, .num_buffers = 7};

	memcpy(buf, &h, NDRV_HDR);
	memcpy(buf + NDRV_HDR, f, len);
	return send(x->sock[1], buf, NDRV_HDR + len, 0) == (ssize_t)(NDRV_HDR + len);
}

static bool rx_has(struct fx *x, uint16_t idx, uint16_t slot, const uint8_t *f, unsigned len)
{
	const struct virtio_net_hdr_v1 *h = (const void *)rxbuf(x, slot);
	struct vring_used_elem e = ndrv_used(&x->d, RXQ, idx);

	return e.id == slot && e.len == NDRV_HDR + len && h->flags == 0 && h->num_buffers == 1 &&
	       !memcmp(rxbuf(x, slot) + NDRV_HDR, f, len);
}

/* Both directions through the "tap" in mode n. */
static void tap_both_ways(enum hv_net_notify n, bool seccomp, const char *mode)
{
	uint8_t f[1600], got[1700], zero[NDRV_HDR] = {0};
	char d[160];
	unsigned len;
	ssize_t r;
	struct fx x;
	pid_t tids[4];

	snprintf(d, sizeof(d), "tap (%s): attached on a socket pair", mode);
	if (!TAP_OK(fx_tap(&x, n, seccomp), d)) {
		fx_down(&x);
		return;
	}
	len = udp_frame(f, 100, 5);
	ndrv_tx(&x.d, 0, f, len);
	ndrv_notify(&x.d, TXQ);
	r = peer_recv(&x, got, sizeof(got), WAIT_MS);
	snprintf(d, sizeof(d), "tap (%s): a transmitted frame reaches the tap whole, behind a zero header", mode);
	TAP_OK(r == (ssize_t)(NDRV_HDR + len) && !memcmp(got, zero, NDRV_HDR) &&
		   !memcmp(got + NDRV_HDR, f, len) && ndrv_wait(&x.d, TXQ, 1, WAIT_MS),
	       d);
	ndrv_rx_post(&x.d, 0, NDRV_BUF);
	ndrv_notify(&x.d, RXQ);
	len = udp_frame(f, 300, 5);
	peer_send(&x, f, len);
	snprintf(d, sizeof(d), "tap (%s): a frame from the tap lands in the receive buffer, "
		 "the device's header replacing the kernel's", mode);
	TAP_OK(ndrv_wait(&x.d, RXQ, 1, WAIT_MS) && rx_has(&x, 0, 0, f, len), d);

	/* No buffer: frames wait in the tap, then come in order. */
	for (unsigned i = 0; i < 3; i++) {
		f[20] = (uint8_t)i;
		peer_send(&x, f, 60 + i);
	}
	usleep(50000);
	snprintf(d, sizeof(d), "tap (%s): no receive buffer: frames wait in the tap (none dropped)", mode);
	TAP_OK(ndrv_used_idx(&x.d, RXQ) == 1 && stats(&x).rx_dropped == 0, d);
	for (uint16_t i = 1; i <= 3; i++)
		ndrv_rx_post(&x.d, i, NDRV_BUF);
	ndrv_notify(&x.d, RXQ);
	snprintf(d, sizeof(d), "tap (%s): buffers posted: the three come in order", mode);
	TAP_OK(ndrv_wait(&x.d, RXQ, 4, WAIT_MS) && ndrv_used(&x.d, RXQ, 1).len == NDRV_HDR + 60 &&
		   ndrv_used(&x.d, RXQ, 3).len == NDRV_HDR + 62 && rxbuf(&x, 3)[NDRV_HDR + 20] == 2,
	       d);

	/* Too large for the buffer: dropped, the buffer kept. */
	ndrv_desc(&x.d, RXQ, 4, NDRV_RXBUF(4), NDRV_HDR + 50, VRING_DESC_F_WRITE, 0);
	ndrv_publish(&x.d, RXQ, 4);
	ndrv_notify(&x.d, RXQ);
	peer_send(&x, f, 100);
	f[20] = 0x5a;
	peer_send(&x, f, 50);
	snprintf(d, sizeof(d), "tap (%s): 100-byte frame, 62-byte buffer: dropped; the next (50) fits it", mode);
	TAP_OK(ndrv_wait(&x.d, RXQ, 5, WAIT_MS) && stats(&x).rx_dropped == 1 &&
		   rx_has(&x, 4, 4, f, 50),
	       d);
	{
		uint8_t buf[NDRV_HDR + 64] = {VIRTIO_NET_HDR_F_NEEDS_CSUM};
		uint16_t before = ndrv_used_idx(&x.d, RXQ);
		ndrv_rx_post(&x.d, 5, NDRV_BUF);
		ndrv_notify(&x.d, RXQ);
		memcpy(buf + NDRV_HDR, f, 64);
		send(x.sock[1], buf, sizeof(buf), 0);
		buf[0] = 0, buf[1] = VIRTIO_NET_HDR_GSO_UDP;
		send(x.sock[1], buf, sizeof(buf), 0);
		peer_send(&x, f, 64);
		snprintf(d, sizeof(d), "tap (%s): frames with a checksum or GSO left to do: "
			 "dropped, the buffer kept for the next", mode);
		TAP_OK(ndrv_wait(&x.d, RXQ, (uint16_t)(before + 1), WAIT_MS) &&
			   stats(&x).rx_dropped == 3 && rx_has(&x, before, 5, f, 64),
		       d);
	}
	snprintf(d, sizeof(d), "tap (%s): one thread serves the device, and it is ours", mode);
	TAP_OK(dev_virtio_net_tids(x.net, tids, 4) == 1 && tids[0] != getpid() &&
		   kill(tids[0], 0) == 0,
	       d);
	if (n == HV_NET_NOTIFY_POLL) {
		TAP_OK(stats(&x).polls_empty > 0, "tap (poll): empty polls counted");
	} else {
		snprintf(d, sizeof(d), "tap (%s): notifications counted", mode);
		TAP_OK(stats(&x).notifies >= 3, d);
	}
	TAP_OK(!needs_reset(&x), "... and nothing broke");
	fx_down(&x);
}

/* A tap that refuses frames (its queue full): counted, never blocking. */
static void test_tap_full(void)
{
	uint8_t f[1600];
	struct hv_net_stats s;
	unsigned len, sent = 0;
	struct fx x;

	if (!TAP_OK(fx_tap(&x, HV_NET_NOTIFY_EXIT, false), "full tap: attached")) {
		fx_down(&x);
		return;
	}
	len = udp_frame(f, 1400, 5);
	for (unsigned round = 0; round < 40; round++) {
		for (uint16_t i = 0; i < QSIZE; i++)
			ndrv_tx(&x.d, i, f, len);
		sent += QSIZE;
		ndrv_notify(&x.d, TXQ);
		ndrv_wait(&x.d, TXQ, (uint16_t)sent, WAIT_MS);
	}
	s = stats(&x);
	printf("#   %u frames: %llu out, %llu refused\n", sent, (unsigned long long)s.tx_frames,
	       (unsigned long long)s.tx_errors);
	TAP_OK(ndrv_used_idx(&x.d, TXQ) == (uint16_t)sent, "every chain completed although the tap is full");
	TAP_OK(s.tx_errors > 0 && s.tx_frames + s.tx_errors == sent,
	       "refused frames counted (tx_errors), every frame accounted for");
	fx_down(&x);
}

/* Frames keep coming while the device is detached. */
static void test_detach_busy(void)
{
	uint8_t f[128];
	struct fx x;
	unsigned len = udp_frame(f, 22, 5);

	if (!TAP_OK(fx_tap(&x, HV_NET_NOTIFY_POLL, false), "detach under load: attached")) {
		fx_down(&x);
		return;
	}
	for (uint16_t i = 0; i < QSIZE; i++) {
		ndrv_rx_post(&x.d, i, NDRV_BUF);
		ndrv_tx(&x.d, i, f, len);
		peer_send(&x, f, len);
	}
	dev_virtio_net_detach(x.net);
	x.net = NULL;
	TAP_OK(1, "detach returned while the rings were busy (poll mode)");
	fx_down(&x);
}

/* The other end of the "tap" goes away: the thread must not spin on it. */
static void test_tap_gone(void)
{
	struct rusage r0, r1;
	struct fx x;
	double cpu;

	if (!TAP_OK(fx_tap(&x, HV_NET_NOTIFY_EXIT, false), "tap gone: attached")) {
		fx_down(&x);
		return;
	}
	ndrv_rx_post(&x.d, 0, NDRV_BUF);
	ndrv_notify(&x.d, RXQ);
	close(x.sock[1]);
	x.sock[1] = -1;
	usleep(20000);
	getrusage(RUSAGE_SELF, &r0);
	usleep(200000);
	getrusage(RUSAGE_SELF, &r1);
	cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
	      (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) * 1e-6;
	printf("#   CPU in 200 ms after the tap went away: %.3f s\n", cpu);
	TAP_OK(cpu < 0.05, "tap gone (its other end closed): the I/O thread sleeps, no spinning");
	TAP_OK(!needs_reset(&x) && ndrv_used_idx(&x.d, RXQ) == 0, "... and delivers nothing");
	fx_down(&x);
}

static void test_tap(void)
{
	tap_both_ways(HV_NET_NOTIFY_EXIT, false, "exit");
	tap_both_ways(HV_NET_NOTIFY_POLL, false, "poll");
	if (hv_seccomp_supported(NULL, 0))
		tap_both_ways(HV_NET_NOTIFY_EXIT, true, "exit, I/O thread under seccomp");
	else
		TAP_SKIP("seccomp: this kernel cannot filter");
	test_tap_full();
	test_detach_busy();
	test_tap_gone();
}

/* ------------------------------------------------------------ 5. ioeventfd */

/* ioeventfd mode needs KVM_IOEVENTFD: a real VM.  The guest's 4-byte
 * QueueNotify writes would land in the per-queue eventfds; here a write
 * that reaches userspace anyway takes the same way to the thread. */
static void test_ioeventfd(void)
{
	struct hv_net_config c;
	struct hv_virtio_net *net;
	struct vcpu vcpu = {0};
	struct hv_net_stats s;
	struct ndrv d;
	struct vm *vm;
	uint8_t f[128], got[256];
	int sock[2], efd, efd2, r;
	unsigned len;

	if (vm_create(&vm, NULL)) {
		TAP_SKIP("ioeventfd mode: no /dev/kvm here");
		return;
	}
	vm_mem_add(vm, 0, RAM);
	vcpu.vm = vm, vcpu.fd = -1;
	r = virtio_mmio_notify_eventfd(vm, BASE + 0x10000, 1, &efd);
	if (r == -ENOTTY || r == -EINVAL) {
		TAP_SKIP("ioeventfd mode: KVM without ioeventfds");
		vm_destroy(vm);
		return;
	}
	TAP_EQ_INT(r, 0, "datamatch ioeventfd on QueueNotify, queue 1: registered");
	TAP_EQ_INT(virtio_mmio_notify_eventfd(vm, BASE + 0x10000, 1, &efd2), -EEXIST,
		   "... the same queue again: -EEXIST (KVM matches the data)");
	TAP_EQ_INT(virtio_mmio_notify_eventfd(vm, BASE + 0x10000, 0, &efd2), 0,
		   "... queue 0 on the same register: its own eventfd");
	virtio_mmio_notify_eventfd_del(vm, BASE + 0x10000, 0, efd2);
	virtio_mmio_notify_eventfd_del(vm, BASE + 0x10000, 1, efd);
	TAP_EQ_INT(virtio_mmio_notify_eventfd(vm, BASE + 0x10000, 1, &efd), 0,
		   "... deleted: queue 1 can be registered again");
	virtio_mmio_notify_eventfd_del(vm, BASE + 0x10000, 1, efd);

	socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sock);
	c = cfg_of(HV_NET_TAP, HV_NET_NOTIFY_IOEVENTFD, sock[0]);
	r = dev_virtio_net_attach(vm, &c, &net);
	TAP_EQ_INT(r, 0, "ioeventfd mode: attached on a real VM");
	if (r)
		goto out;
	ndrv_init(&d, vm, &vcpu, BASE, NDRV_FEATURES, QSIZE);
	len = udp_frame(f, 22, 5);
	ndrv_tx(&d, 0, f, len);
	ndrv_notify(&d, TXQ);
	TAP_OK(ndrv_wait(&d, TXQ, 1, WAIT_MS) && recv(sock[1], got, sizeof(got), 0) == 12 + len,
	       "... a QueueNotify that reached userspace is served through the queue's eventfd");
	dev_virtio_net_stats(net, &s);
	TAP_EQ_INT(s.notifies, 1, "... counted once, by the thread");
	dev_virtio_net_detach(net);
out:
	close(sock[0]), close(sock[1]);
	vm_destroy(vm);
}

/* ------------------------------------------------------------ 6. vhost translations */

static void test_vhost_translation(void)
{
	struct fake_vm *f = fake_vm_new(RAM);
	struct hv_vhost_mem m;
	struct vhost_vring_addr a;
	struct virtio_mmio t;
	static const struct virtio_mmio_ops ops;
	struct ndrv d;
	static uint8_t high[0x10000] __attribute__((aligned(4096)));

	f->vm.mem[1] = (struct vm_mem_region){.gpa = 1ull << 32, .size = sizeof(high), .hva = high};
	f->vm.n_mem = 2;
	hv_vhost_mem_table(&f->vm, &m);
	TAP_EQ_INT(m.nregions, 2, "vhost memory table: one region per RAM region");
	TAP_OK(m.region[0].guest_phys_addr == 0 && m.region[0].memory_size == RAM &&
		   m.region[0].userspace_addr == (uintptr_t)f->vm.mem[0].hva,
	       "... region 0: gpa 0, RAM bytes, at the VM's mapping");
	TAP_OK(m.region[1].guest_phys_addr == 1ull << 32 && m.region[1].memory_size == sizeof(high) &&
		   m.region[1].userspace_addr == (uintptr_t)high,
	       "... region 1: above 4 GiB, at its own mapping");
	/* Queue 1 set up by the driver on a bare two-queue transport. */
	virtio_mmio_init(&t, &f->vm, "t", 1, 0, 0, QSIZE, 2, &ops, NULL);
	memset(&d, 0, sizeof(d));
	d.d = (struct drv){.vm = &f->vm, .vcpu = &f->vcpu, .base = 0};
	d.num = QSIZE;
	virtio_mmio_access(&t, &f->vcpu, VIRTIO_MMIO_DRIVER_FEATURES_SEL, (uint8_t *)&(uint32_t){1}, 4, true);
	virtio_mmio_access(&t, &f->vcpu, VIRTIO_MMIO_DRIVER_FEATURES, (uint8_t *)&(uint32_t){1}, 4, true);
	virtio_mmio_access(&t, &f->vcpu, VIRTIO_MMIO_STATUS, (uint8_t *)&(uint32_t){0xb}, 4, true);
	{
		static const uint32_t regs[][2] = {
		    {VIRTIO_MMIO_QUEUE_SEL, 1}, {VIRTIO_MMIO_QUEUE_NUM, QSIZE},
		    {VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)NDRV_RING(1)},
		    {VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)NDRV_RING(1) + 0x4000},
		    {VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)NDRV_RING(1) + 0x6000},
		    {VIRTIO_MMIO_QUEUE_READY, 1}};
		for (unsigned i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
			virtio_mmio_access(&t, &f->vcpu, regs[i][0], (uint8_t *)&regs[i][1], 4, true);
	}
	TAP_OK(t.vq[1].ready, "a queue 1 set up through the registers");
	hv_vhost_vring_addr(&t.vq[1], 1, &a);
	TAP_OK(a.index == 1 && a.desc_user_addr == (uintptr_t)gpa_ptr(&f->vm, NDRV_RING(1)) &&
		   a.avail_user_addr == (uintptr_t)gpa_ptr(&f->vm, NDRV_RING(1) + 0x4000) &&
		   a.used_user_addr == (uintptr_t)gpa_ptr(&f->vm, NDRV_RING(1) + 0x6000) && !a.flags &&
		   !a.log_guest_addr,
	       "vring address of queue 1: its rings' host addresses, no logging");
	virtio_mmio_destroy(&t);
	fake_vm_free(f);
}

/* ------------------------------------------------------------ 7. a real tap */

/* The first receive buffer (from slot `from` on) that holds an IPv4/UDP
 * frame to port 40000, or -1 within ms. */
static int rx_find_udp(struct fx *x, uint16_t from, uint16_t upto, int ms)
{
	for (uint16_t i = from; i < upto; i++) {
		const uint8_t *f;
		if (!ndrv_wait(&x->d, RXQ, (uint16_t)(i + 1), (unsigned)ms) &&
		    ndrv_used_idx(&x->d, RXQ) <= i)
			return -1;
		f = rxbuf(x, (uint16_t)ndrv_used(&x->d, RXQ, i).id) + NDRV_HDR;
		if (f[12] == 0x08 && f[13] == 0 && f[14 + 9] == 17 && f[34 + 2] == 40000 >> 8 &&
		    f[34 + 3] == (40000 & 0xff))
			return (int)ndrv_used(&x->d, RXQ, i).id;
	}
	return -1;
}

static void test_real_tap(void)
{
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(7)}, from, guest;
	socklen_t flen = sizeof(from);
	struct hv_net_config c;
	const char *why = "";
	uint8_t f[256], got[256];
	struct pollfd p;
	int tap, u, slot;
	unsigned len;
	struct fx x;
	ssize_t r;

	if (ndrv_netns_enter()) {
		TAP_SKIP("real tap: cannot make a network namespace (needs root)");
		return;
	}
	tap = ndrv_tap_make(mac_peer, mac_guest, &why);
	if (tap < 0) {
		TAP_SKIP(why);
		return;
	}
	u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, "10.78.0.1", &me.sin_addr);
	TAP_OK(u >= 0 && !bind(u, (struct sockaddr *)&me, sizeof(me)),
	       "real tap: a UDP socket on 10.78.0.1:7 in a namespace of the test's own");
	memset(&x, 0, sizeof(x));
	x.sock[0] = x.sock[1] = -1;
	c = cfg_of(HV_NET_TAP, HV_NET_NOTIFY_EXIT, tap);
	if (!TAP_OK(fx_up_cfg(&x, &c), "real tap: device attached on it")) {
		fx_down(&x);
		close(u), close(tap);
		return;
	}
	for (uint16_t i = 0; i < QSIZE; i++)
		ndrv_rx_post(&x.d, i, NDRV_BUF);
	ndrv_notify(&x.d, RXQ);
	len = udp_frame(f, 32, 5);
	ndrv_tx(&x.d, 0, f, len);
	ndrv_notify(&x.d, TXQ);
	p = (struct pollfd){.fd = u, .events = POLLIN};
	r = poll(&p, 1, WAIT_MS) == 1 ? recvfrom(u, got, sizeof(got), 0, (struct sockaddr *)&from, &flen)
				      : -1;
	TAP_OK(r == 32 && !memcmp(got, f + 42, 32) && from.sin_port == htons(40000) &&
		   from.sin_addr.s_addr == htonl(0x0a4e0002),
	       "real tap: the guest's datagram reaches the socket through the kernel's stack, "
	       "from 10.78.0.2:40000, content equal");
	guest = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(40000),
				     .sin_addr.s_addr = htonl(0x0a4e0002)};
	memcpy(got, "answer from the host's stack", 28);
	sendto(u, got, 28, 0, (struct sockaddr *)&guest, sizeof(guest));
	slot = rx_find_udp(&x, 0, QSIZE, WAIT_MS);
	TAP_OK(slot >= 0 && !memcmp(rxbuf(&x, (uint16_t)slot) + NDRV_HDR, mac_guest, 6) &&
		   !memcmp(rxbuf(&x, (uint16_t)slot) + NDRV_HDR + 6, mac_peer, 6) &&
		   !memcmp(rxbuf(&x, (uint16_t)slot) + NDRV_HDR + 42, got, 28),
	       "real tap: the answer comes back into a receive buffer, to the guest's MAC");
	TAP_OK(stats(&x).tx_frames == 1 && stats(&x).rx_frames >= 1 && !stats(&x).tx_errors,
	       "real tap: counted one out, the answer in");
	fx_down(&x);
	close(u), close(tap);
}

/* ------------------------------------------------------------ seccomp allowlists */

struct sc_probe {
	bool vhost;
	int installed, open_err, readv_ok, ioctl_allowed_err, ioctl_other_err;
};

/* On a thread of its own: install the filter, then try what it allows and
 * what it must refuse. */
static void *sc_probe_main(void *arg)
{
	struct sc_probe *p = arg;
	uint64_t features = 0;
	char c = 'x';
	struct iovec iov = {&c, 1};
	int pipefd[2], fd;

	if (pipe(pipefd))
		return NULL;
	p->installed = p->vhost ? hv_seccomp_vhost_install() : hv_seccomp_net_install();
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	p->open_err = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	if (!p->vhost) {
		p->readv_ok = writev(pipefd[1], &iov, 1) == 1 && readv(pipefd[0], &iov, 1) == 1;
	} else {
		p->ioctl_allowed_err = ioctl(pipefd[0], VHOST_SET_FEATURES, &features) ? errno : 0;
		p->ioctl_other_err = ioctl(pipefd[0], VHOST_SET_OWNER, NULL) ? errno : 0;
	}
	return NULL;
}

/* The ioctls hv_vhost_start / stop make, recorded instead of done. */
struct vh_call {
	unsigned long req;
	unsigned index, num;
	int fd;
	uint64_t u64;
	struct vhost_vring_addr addr;
	struct hv_vhost_mem mem;
};
static struct vh_call vh_calls[32];
static unsigned vh_n;
static unsigned long vh_fail_req; /* this request fails (-EIO) on queue vh_fail_q */
static unsigned vh_fail_q;

static int vh_record(int fd, unsigned long req, void *arg)
{
	struct vh_call *c = &vh_calls[vh_n < 32 ? vh_n++ : 31];
	unsigned q = 0;

	(void)fd;
	memset(c, 0, sizeof(*c));
	c->req = req;
	if (req == VHOST_SET_FEATURES)
		c->u64 = *(uint64_t *)arg;
	else if (req == VHOST_SET_MEM_TABLE)
		memcpy(&c->mem, arg, sizeof(c->mem));
	else if (req == VHOST_SET_VRING_ADDR)
		c->addr = *(struct vhost_vring_addr *)arg, q = c->index = c->addr.index;
	else if (req == VHOST_SET_VRING_NUM || req == VHOST_SET_VRING_BASE ||
		 req == VHOST_GET_VRING_BASE)
		q = c->index = ((struct vhost_vring_state *)arg)->index,
		c->num = ((struct vhost_vring_state *)arg)->num;
	else if (req == VHOST_SET_VRING_KICK || req == VHOST_SET_VRING_CALL ||
		 req == VHOST_NET_SET_BACKEND)
		q = c->index = ((struct vhost_vring_file *)arg)->index,
		c->fd = ((struct vhost_vring_file *)arg)->fd;
	return req == vh_fail_req && q == vh_fail_q ? -EIO : 0;
}

static bool vh_is(unsigned i, unsigned long req, unsigned index, int fd)
{
	bool ok = i < vh_n && vh_calls[i].req == req && vh_calls[i].index == index &&
		  vh_calls[i].fd == fd;

	if (!ok)
		printf("#   call %u: req 0x%lx index %u fd %d; expected 0x%lx %u %d\n", i,
		       i < vh_n ? vh_calls[i].req : 0, i < vh_n ? vh_calls[i].index : 0,
		       i < vh_n ? vh_calls[i].fd : 0, req, index, fd);
	return ok;
}

static int t_mmio(void *opaque, struct vcpu *vcpu, uint64_t gpa, uint8_t *data, unsigned len,
		  bool write)
{
	return virtio_mmio_access(opaque, vcpu, gpa - BASE, data, len, write);
}

static void test_vhost_sequence(void)
{
	static const struct virtio_mmio_ops ops;
	struct fake_vm *f = fake_vm_new(RAM);
	struct hv_vhost vh = {.fd = 99, .tap_fd = 42, .call_fd = {50, 51}, .ioctl_fn = vh_record};
	const int kick[2] = {60, 61};
	struct virtio_mmio t;
	struct ndrv d;
	char why[200] = "";
	bool ok = true;
	unsigned i = 0;

	virtio_mmio_init(&t, &f->vm, "vhost-test", 1, 1ull << VIRTIO_RING_F_EVENT_IDX, 0, QSIZE, 2,
			 &ops, NULL);
	vm_mmio_register(&f->vm, BASE, 0x1000, t_mmio, &t, "vhost-test");
	TAP_EQ_INT(hv_vhost_start(&vh, &f->vm, &t, kick, why, sizeof(why)), -EINVAL,
		   "vhost start before the queues are ready: -EINVAL");
	TAP_OK(strstr(why, "queue 0 not ready") && vh_n == 0, "... says so, and asks the kernel nothing");
	ndrv_init(&d, &f->vm, &f->vcpu, BASE,
		  (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX), QSIZE);
	TAP_EQ_INT(hv_vhost_start(&vh, &f->vm, &t, kick, why, sizeof(why)), 0,
		   "vhost start on two ready queues: 0");
	TAP_OK(vh_n == 14 && vh_calls[0].req == VHOST_SET_FEATURES &&
		   vh_calls[0].u64 == ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX)),
	       "... 14 ioctls, first SET_FEATURES with what the driver accepted (VERSION_1, EVENT_IDX)");
	TAP_OK(vh_calls[1].req == VHOST_SET_MEM_TABLE && vh_calls[1].mem.nregions == 1 &&
		   vh_calls[1].mem.region[0].memory_size == RAM &&
		   vh_calls[1].mem.region[0].userspace_addr == (uintptr_t)f->vm.mem[0].hva,
	       "... then SET_MEM_TABLE with the VM's RAM");
	for (unsigned q = 0; q < 2; q++) {
		i = 2 + 5 * q;
		ok &= vh_is(i, VHOST_SET_VRING_NUM, q, 0) && vh_calls[i].num == QSIZE;
		ok &= vh_is(i + 1, VHOST_SET_VRING_BASE, q, 0) && vh_calls[i + 1].num == 0;
		ok &= vh_calls[i + 2].req == VHOST_SET_VRING_ADDR && vh_calls[i + 2].index == q &&
		      vh_calls[i + 2].addr.used_user_addr == (uintptr_t)d.q[q].used &&
		      vh_calls[i + 2].addr.desc_user_addr == (uintptr_t)d.q[q].desc;
		ok &= vh_is(i + 3, VHOST_SET_VRING_KICK, q, kick[q]);
		ok &= vh_is(i + 4, VHOST_SET_VRING_CALL, q, 50 + (int)q);
	}
	TAP_OK(ok, "... per queue NUM, BASE 0, ADDR (its rings), KICK (its ioeventfd), CALL");
	TAP_OK(vh_is(12, VHOST_NET_SET_BACKEND, 0, 42) && vh_is(13, VHOST_NET_SET_BACKEND, 1, 42),
	       "... last the tap as backend of both queues");
	vh_n = 0;
	TAP_EQ_INT(hv_vhost_start(&vh, &f->vm, &t, kick, why, sizeof(why)), 0,
		   "start again while running: nothing to do");
	TAP_EQ_INT(vh_n, 0, "... no ioctl");
	hv_vhost_stop(&vh);
	TAP_OK(vh_n == 4 && vh_is(0, VHOST_NET_SET_BACKEND, 0, -1) &&
		   vh_calls[1].req == VHOST_GET_VRING_BASE && vh_is(2, VHOST_NET_SET_BACKEND, 1, -1) &&
		   vh_calls[3].req == VHOST_GET_VRING_BASE && !vh.running,
	       "stop: backend -1 and GET_VRING_BASE per queue");
	vh_n = 0;
	hv_vhost_stop(&vh);
	TAP_EQ_INT(vh_n, 0, "stop when stopped: no ioctl");
	vh_fail_req = VHOST_NET_SET_BACKEND, vh_fail_q = 1;
	TAP_EQ_INT(hv_vhost_start(&vh, &f->vm, &t, kick, why, sizeof(why)), -EIO,
		   "the kernel refuses the backend of queue 1: the error comes back");
	TAP_OK(strstr(why, "VHOST_NET_SET_BACKEND") && vh_is(vh_n - 1, VHOST_NET_SET_BACKEND, 0, -1) &&
		   !vh.running,
	       "... named in why, queue 0's backend taken back, not running");
	vh_fail_req = 0;
	virtio_mmio_destroy(&t);
	fake_vm_free(f);
}

static void test_seccomp_rules(void)
{
	struct sc_probe net = {.vhost = false}, vh = {.vhost = true};
	pthread_t t;

	if (!hv_seccomp_supported(NULL, 0)) {
		TAP_SKIP("seccomp allowlists: this kernel cannot filter");
		return;
	}
	pthread_create(&t, NULL, sc_probe_main, &net);
	pthread_join(t, NULL);
	TAP_EQ_INT(net.installed, 0, "net I/O thread allowlist: installed");
	TAP_EQ_INT(net.open_err, EPERM, "... open is refused (EPERM)");
	TAP_OK(net.readv_ok, "... readv and writev are allowed");
	pthread_create(&t, NULL, sc_probe_main, &vh);
	pthread_join(t, NULL);
	TAP_EQ_INT(vh.installed, 0, "vhost thread allowlist: installed");
	TAP_EQ_INT(vh.open_err, EPERM, "... open is refused");
	TAP_EQ_INT(vh.ioctl_allowed_err, ENOTTY,
		   "... VHOST_SET_FEATURES passes the filter (a pipe says ENOTTY)");
	TAP_EQ_INT(vh.ioctl_other_err, EPERM, "... VHOST_SET_OWNER (attach's, not the thread's) is refused");
}

/* ------------------------------------------------------------ 6b. vhost worker search */

static pid_t named_owner;
static pthread_mutex_t named_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t named_cv = PTHREAD_COND_INITIALIZER;
static pid_t named_tid;
static bool named_quit;

/* A thread of ours named "vhost-<named_owner>", as Linux >= 6.4 makes it. */
static void *named_thread(void *arg)
{
	char name[16];

	(void)arg;
	snprintf(name, sizeof(name), "vhost-%d", (int)named_owner);
	prctl(PR_SET_NAME, name);
	pthread_mutex_lock(&named_mu);
	named_tid = gettid();
	pthread_cond_broadcast(&named_cv);
	while (!named_quit)
		pthread_cond_wait(&named_cv, &named_mu);
	pthread_mutex_unlock(&named_mu);
	return NULL;
}

static void test_vhost_worker_search(void)
{
	pid_t tids[4], impostor;
	char name[16];
	pthread_t t;
	int go[2];
	char c;
	unsigned n;

	named_owner = gettid();
	TAP_EQ_INT(hv_vhost_worker_tids(tids, 4), 0, "vhost worker search: none before any");
	/* A process that calls itself vhost-<our tid>: not a kernel thread. */
	snprintf(name, sizeof(name), "vhost-%d", (int)named_owner);
	if (pipe(go))
		return;
	impostor = fork();
	if (impostor == 0) {
		prctl(PR_SET_NAME, name);
		close(go[0]);
		c = 1;
		if (write(go[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(go[1]);
	TAP_OK(read(go[0], &c, 1) == 1, "an impostor process named vhost-<our tid> runs");
	close(go[0]);
	TAP_EQ_INT(hv_vhost_worker_tids(tids, 4), 0,
		   "... not taken for a worker (no PF_KTHREAD): none found");
	pthread_create(&t, NULL, named_thread, NULL);
	pthread_mutex_lock(&named_mu);
	while (!named_tid)
		pthread_cond_wait(&named_cv, &named_mu);
	pthread_mutex_unlock(&named_mu);
	n = hv_vhost_worker_tids(tids, 4);
	TAP_OK(n == 1 && tids[0] == named_tid,
	       "a thread of ours named vhost-<owner tid> (Linux >= 6.4): found, once");
	TAP_OK(hv_vhost_is_thread_of(getpid(), named_tid) && !hv_vhost_is_thread_of(getpid(), impostor),
	       "... a thread of this process; the impostor is not");
	TAP_EQ_INT(hv_vhost_find_worker(tids, n), 0, "find_worker: one seen before is not new");
	TAP_EQ_INT(hv_vhost_find_worker(NULL, 0), named_tid, "... one not seen before is");
	TAP_EQ_INT(hv_vhost_workers_of(getpid(), named_owner + 1, tids, 4), 0,
		   "another owner's name: not found");
	pthread_mutex_lock(&named_mu);
	named_quit = true;
	pthread_cond_broadcast(&named_cv);
	pthread_mutex_unlock(&named_mu);
	pthread_join(t, NULL);
	kill(impostor, SIGKILL);
	waitpid(impostor, NULL, 0);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_attach_config();
	test_config_space();
	test_vhost_absent();
	test_loopback();
	test_tx_malformed();
	test_rx_malformed();
	test_tap();
	test_ioeventfd();
	test_vhost_translation();
	test_vhost_sequence();
	test_vhost_worker_search();
	test_seccomp_rules();
	test_real_tap(); /* last: it leaves the process in its own namespace */
	return tap_done();
}
