/*
 * A minimal two-queue virtio-net driver over virtio_drv.h's VM without KVM,
 * for test_virtio_net.c, the fuzzer (fuzz_virtio_net.c) and the frame-rate
 * bench (hv/bench/net_frames.c): header-only.
 *
 * Layout in guest RAM: each queue's rings at NDRV_RING(q); receive buffer
 * slot i at NDRV_RXBUF(i), transmit slot i at NDRV_TXBUF(i), NDRV_BUF bytes
 * each (a 12-byte virtio-net header, then the frame).  Descriptor i of a
 * queue is used for slot i.  Queues of up to 256 entries.  At the end, a
 * real tap as the runners make one, in a network namespace of the
 * caller's own (ndrv_netns_enter, ndrv_tap_make: root only).
 */
#ifndef HVB_VIRTIO_NET_DRV_H
#define HVB_VIRTIO_NET_DRV_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit/virtio_drv.h"

#define NDRV_RING(q)	(0x1000ull + 0x8000ull * (q)) /* desc; avail +0x4000, used +0x6000 */
#define NDRV_BUF	2048u
#define NDRV_RXBUF(i)	(0x20000ull + (uint64_t)NDRV_BUF * (i))
#define NDRV_TXBUF(i)	(0xa0000ull + (uint64_t)NDRV_BUF * (i))
#define NDRV_RAM_MIN	0x120000ull /* 256 slots per queue */
#define NDRV_HDR	12u
#define NDRV_FEATURES                                                                              \
	((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_MTU))

struct ndrv_q {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;
};

struct ndrv {
	struct drv d; /* register access (base, vm, vcpu) */
	uint16_t num;
	struct ndrv_q q[2];
};

static inline void ndrv_queue(struct ndrv *n, unsigned q)
{
	struct drv *d = &n->d;
	uint64_t ring = NDRV_RING(q);

	n->q[q] = (struct ndrv_q){.desc = gpa_ptr(d->vm, ring),
				  .avail = gpa_ptr(d->vm, ring + 0x4000),
				  .used = gpa_ptr(d->vm, ring + 0x6000)};
	memset(n->q[q].avail, 0, 6 + 2 * (size_t)n->num);
	drv_wr(d, VIRTIO_MMIO_QUEUE_SEL, q);
	drv_wr(d, VIRTIO_MMIO_QUEUE_NUM, n->num);
	drv_wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)ring);
	drv_wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	drv_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(ring + 0x4000));
	drv_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	drv_wr(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(ring + 0x6000));
	drv_wr(d, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	drv_wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Reset, features, both queues of num entries, DRIVER_OK: the status read back. */
static inline uint32_t ndrv_init(struct ndrv *n, struct vm *vm, struct vcpu *vcpu, uint64_t base,
				 uint64_t features, uint16_t num)
{
	struct drv *d = &n->d;
	const uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	memset(n, 0, sizeof(*n));
	*d = (struct drv){.vm = vm, .vcpu = vcpu, .base = base, .num = num};
	n->num = num;
	drv_wr(d, VIRTIO_MMIO_STATUS, 0);
	drv_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	drv_wr(d, VIRTIO_MMIO_STATUS, s);
	drv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	drv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	drv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	drv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	drv_wr(d, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
	ndrv_queue(n, 0);
	ndrv_queue(n, 1);
	drv_wr(d, VIRTIO_MMIO_STATUS,
	       s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	return drv_rd(d, VIRTIO_MMIO_STATUS);
}

static inline void ndrv_desc(struct ndrv *n, unsigned q, uint16_t i, uint64_t gpa, uint32_t len,
			     uint16_t flags, uint16_t next)
{
	n->q[q].desc[i % n->num] =
	    (struct vring_desc){.addr = gpa, .len = len, .flags = flags, .next = next};
}

static inline void ndrv_publish(struct ndrv *n, unsigned q, uint16_t head)
{
	struct ndrv_q *r = &n->q[q];

	r->avail->ring[r->avail_idx % n->num] = head;
	__atomic_store_n(&r->avail->idx, (uint16_t)(r->avail_idx + 1), __ATOMIC_RELEASE);
	r->avail_idx++;
}

static inline int ndrv_notify(struct ndrv *n, unsigned q)
{
	return drv_wr(&n->d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* Receive slot i: a device-writable buffer of len bytes, published. */
static inline void ndrv_rx_post(struct ndrv *n, uint16_t i, uint32_t len)
{
	ndrv_desc(n, 0, i, NDRV_RXBUF(i), len, VRING_DESC_F_WRITE, 0);
	ndrv_publish(n, 0, i);
}

/* Transmit slot i: a zero header and the frame in one buffer, published. */
static inline void ndrv_tx(struct ndrv *n, uint16_t i, const void *frame, uint32_t len)
{
	uint8_t *p = gpa_ptr(n->d.vm, NDRV_TXBUF(i));

	memset(p, 0, NDRV_HDR);
	memcpy(p + NDRV_HDR, frame, len);
	ndrv_desc(n, 1, i, NDRV_TXBUF(i), NDRV_HDR + len, 0, 0);
	ndrv_publish(n, 1, i);
}

static inline uint16_t ndrv_used_idx(const struct ndrv *n, unsigned q)
{
	return __atomic_load_n(&n->q[q].used->idx, __ATOMIC_ACQUIRE);
}

static inline struct vring_used_elem ndrv_used(const struct ndrv *n, unsigned q, uint16_t idx)
{
	return n->q[q].used->ring[idx % n->num];
}

/* Wait (up to ms, yielding) until queue q's used index reaches idx. */
static inline bool ndrv_wait(const struct ndrv *n, unsigned q, uint16_t idx, unsigned ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (ndrv_used_idx(n, q) == idx)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > (long)ms)
			return false;
		sched_yield();
	}
}

static inline uint32_t ndrv_status(struct ndrv *n)
{
	return drv_rd(&n->d, VIRTIO_MMIO_STATUS);
}

/* ------------------------------------------------------------ a real tap */

static inline void ndrv_write_file(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, v, strlen(v)) < 0)
			perror(path);
		close(fd);
	}
}

static inline int ndrv_ifreq(int s, unsigned long req, const char *name, struct ifreq *ifr)
{
	snprintf(ifr->ifr_name, IFNAMSIZ, "%s", name);
	return ioctl(s, req, ifr);
}

static inline void ndrv_ipv4(struct sockaddr *sa, const char *ip)
{
	struct sockaddr_in *in = (struct sockaddr_in *)sa;

	memset(in, 0, sizeof(*in));
	in->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &in->sin_addr);
}

/* A tap "hvbt0" as the runners make it (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR,
 * header size 12, non-blocking), with the responder's MAC and 10.78.0.1/24,
 * up, the guest's address resolved statically (no ARP needed).  Call it
 * after ndrv_netns_enter.  The fd, or -1 (why says). */
static inline int ndrv_tap_make(const uint8_t mac_peer[6], const uint8_t mac_guest[6],
				const char **why)
{
	struct ifreq ifr = {0};
	struct arpreq arp = {0};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK), s, hdr = NDRV_HDR;

	if (fd < 0) {
		*why = "no /dev/net/tun";
		return -1;
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ndrv_ifreq(fd, TUNSETIFF, "hvbt0", &ifr) || ioctl(fd, TUNSETVNETHDRSZ, &hdr)) {
		*why = "TUNSETIFF / TUNSETVNETHDRSZ refused";
		close(fd);
		return -1;
	}
	ndrv_write_file("/proc/sys/net/ipv6/conf/hvbt0/disable_ipv6", "1");
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac_peer, 6);
	ndrv_ifreq(s, SIOCSIFHWADDR, "hvbt0", &ifr);
	ndrv_ipv4(&ifr.ifr_addr, "10.78.0.1");
	ndrv_ifreq(s, SIOCSIFADDR, "hvbt0", &ifr);
	ndrv_ipv4(&ifr.ifr_netmask, "255.255.255.0");
	ndrv_ifreq(s, SIOCSIFNETMASK, "hvbt0", &ifr);
	ifr.ifr_flags = IFF_UP;
	if (ndrv_ifreq(s, SIOCSIFFLAGS, "hvbt0", &ifr)) {
		*why = "cannot bring the tap up";
		close(s), close(fd);
		return -1;
	}
	ndrv_ipv4(&arp.arp_pa, "10.78.0.2");
	arp.arp_ha.sa_family = ARPHRD_ETHER;
	memcpy(arp.arp_ha.sa_data, mac_guest, 6);
	arp.arp_flags = ATF_COM | ATF_PERM;
	snprintf(arp.arp_dev, sizeof(arp.arp_dev), "hvbt0");
	if (ioctl(s, SIOCSARP, &arp)) {
		*why = "SIOCSARP refused";
		close(s), close(fd);
		return -1;
	}
	close(s);
	return fd;
}


/* The calling thread into a network namespace of its own (threads it
 * starts from now on share it), IPv6 off there (no router solicitations
 * on the tap).  0, or -1 without the privilege. */
static inline int ndrv_netns_enter(void)
{
	if (unshare(CLONE_NEWNET))
		return -1;
	ndrv_write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	return 0;
}

#endif
