/*
 * hvb-vhost-check: the reference core's vhost-net backend (hv/vhost_net.c)
 * against a real /dev/vhost-net, without a guest: this program plays the
 * guest's driver on rings in memory it lays out itself, and the host side
 * of the link with an AF_PACKET socket on the tap.  It exists because the
 * machines hvbench is built on have no vhost-net; ci/nested runs it in a
 * Linux under QEMU TCG that has one.
 *
 * In a network namespace of its own (gone when it exits), it creates a tap
 * (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, header size 12: what the runners
 * hand the core), gives "guest RAM" of two regions at distinct
 * guest-physical addresses to hv_vhost_start (rings in one, frames in the
 * other, so the memory table's translation is exercised), then:
 *   tx       frames of 60, 64 and 1514 bytes put on the transmit queue
 *            and kicked arrive on the tap byte for byte, and the kernel
 *            returns their descriptors on the used ring
 *   rx       frames sent into the tap land in posted receive buffers with
 *            a 12-byte virtio-net header (no offload flags) and their
 *            bytes.  num_buffers may be 0: Linux's vhost-net writes it only
 *            with VIRTIO_NET_F_MRG_RXBUF (the spec says 1), so a driver
 *            must not insist on it (workloads/rt/virtio_net.c does not)
 *   worker   the backend names the kernel thread that did the work
 *            (hv_vhost_worker_tids, for host CPU accounting): before
 *            Linux 6.4 it is a kernel thread "vhost-<pid>" outside this
 *            process, since then a thread of it; either way it must be
 *            found, and it must have used CPU time
 *   stop     after hv_vhost_stop a kicked frame no longer reaches the tap
 *   missing  a vhost path that does not exist fails with -ENOENT and a
 *            sentence that says what to do
 * Prints TAP.  Needs root, /dev/net/tun and /dev/vhost-net: without them
 * every case is "# SKIP" with the reason.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vhost_net.h"

#define QSIZE	  64u
#define HDR_LEN	  12u /* struct virtio_net_hdr_v1 */
#define FRAME_MAX 1514u
#define BUF_LEN	  (HDR_LEN + FRAME_MAX)
#define WAIT_MS	  5000 /* TCG is slow; a frame later than that is lost */

/* Guest-physical layout: region 0 holds the rings, region 1 the buffers. */
#define RING_GPA 0x100000ull
#define RING_LEN 0x10000ull
#define BUF_GPA	 0x40000000ull
#define BUF_LEN_ (2 * QSIZE * 2048ull)

struct queue {
	struct virtq q;
	uint16_t avail_idx, used_seen;
};

static struct ctx {
	struct vm vm;
	struct virtio_mmio t;
	struct queue rxq, txq;
	struct hv_vhost vh;
	int kick[HV_VHOST_QUEUES];
	int tap, pkt;
	char ifname[IFNAMSIZ];
} c;

static unsigned n_test, n_fail;

static void result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %u - ", ok ? "" : "not ", ++n_test);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	n_fail += !ok;
}

static void skip_all(const char *why)
{
	for (const char *name = "tx rx worker stop missing"; *name;) {
		size_t n = strcspn(name, " ");
		printf("ok %u # SKIP vhost %.*s: %s\n", ++n_test, (int)n, name, why);
		name += n + (name[n] == ' ');
	}
	printf("1..%u\n", n_test);
	exit(0);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *gpa_hva(uint64_t gpa)
{
	for (unsigned i = 0; i < c.vm.n_mem; i++)
		if (gpa >= c.vm.mem[i].gpa && gpa < c.vm.mem[i].gpa + c.vm.mem[i].size)
			return c.vm.mem[i].hva + (gpa - c.vm.mem[i].gpa);
	abort();
}

static int add_region(uint64_t gpa, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	c.vm.mem[c.vm.n_mem++] = (struct vm_mem_region){.gpa = gpa, .size = size, .hva = p};
	return 0;
}

/* Queue i's rings at RING_GPA + i * 0x4000, as a driver would lay them. */
static void queue_init(struct queue *qu, unsigned i)
{
	uint64_t base = RING_GPA + i * 0x4000ull;

	memset(qu, 0, sizeof(*qu));
	qu->q.num = QSIZE;
	qu->q.desc_gpa = base;
	qu->q.avail_gpa = base + 0x1000;
	qu->q.used_gpa = base + 0x2000;
	qu->q.desc = gpa_hva(qu->q.desc_gpa);
	qu->q.avail = gpa_hva(qu->q.avail_gpa);
	qu->q.used = gpa_hva(qu->q.used_gpa);
	qu->q.ready = true;
	qu->q.event_idx = true;
}

/* Buffer n of queue qi: 2 KiB each in region 1. */
static uint64_t buf_gpa(unsigned qi, unsigned n)
{
	return BUF_GPA + ((uint64_t)qi * QSIZE + n) * 2048;
}

/* Post descriptor `slot` of qu (one buffer) and publish it. */
static void post(struct queue *qu, unsigned qi, unsigned slot, uint32_t len, bool write)
{
	qu->q.desc[slot] = (struct vring_desc){
	    .addr = buf_gpa(qi, slot), .len = len, .flags = write ? VRING_DESC_F_WRITE : 0};
	qu->q.avail->ring[qu->avail_idx % QSIZE] = (uint16_t)slot;
	__atomic_store_n(&qu->q.avail->idx, ++qu->avail_idx, __ATOMIC_RELEASE);
}

static void kick(unsigned qi)
{
	uint64_t one = 1;

	if (write(c.kick[qi], &one, sizeof(one)) != sizeof(one))
		perror("kick");
}

/* Wait for the next used entry of qu; false on timeout. */
static bool wait_used(struct queue *qu, struct vring_used_elem *e)
{
	uint64_t end = now_ms() + WAIT_MS;

	while (__atomic_load_n(&qu->q.used->idx, __ATOMIC_ACQUIRE) == qu->used_seen) {
		if (now_ms() > end)
			return false;
		usleep(200);
	}
	*e = qu->q.used->ring[qu->used_seen++ % QSIZE];
	return true;
}

/* A frame of len bytes: broadcast destination, a fixed source, an
 * experimental EtherType, then a pattern that names seq and each offset. */
static void make_frame(uint8_t *f, unsigned len, unsigned seq)
{
	static const uint8_t src[6] = {0x02, 0x68, 0x76, 0x62, 0x00, 0x02};

	memset(f, 0xff, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	for (unsigned i = 14; i < len; i++)
		f[i] = (uint8_t)(seq * 31 + i * 7);
}

/* The next frame on the AF_PACKET socket with our EtherType, or -1. */
static int recv_frame(uint8_t *buf, size_t cap)
{
	uint64_t end = now_ms() + WAIT_MS;

	for (;;) {
		struct pollfd p = {.fd = c.pkt, .events = POLLIN};
		int left = (int)(end - now_ms());
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -1;
		n = recv(c.pkt, buf, cap, MSG_DONTWAIT);
		if (n >= 14 && buf[12] == 0x88 && buf[13] == 0xb5)
			return (int)n;
	}
}

static int open_tap(char *why, size_t len)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	int hdr = HDR_LEN, s;

	strcpy(ifr.ifr_name, "hvbvc%d");
	c.tap = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (c.tap < 0 || ioctl(c.tap, TUNSETIFF, &ifr) || ioctl(c.tap, TUNSETVNETHDRSZ, &hdr)) {
		snprintf(why, len, "tap: %s", strerror(errno));
		return -1;
	}
	snprintf(c.ifname, sizeof(c.ifname), "%s", ifr.ifr_name);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ifr.ifr_flags = IFF_UP;
	if (s < 0 || ioctl(s, SIOCSIFFLAGS, &ifr)) {
		snprintf(why, len, "bringing %s up: %s", c.ifname, strerror(errno));
		return -1;
	}
	close(s);
	return 0;
}

static int open_packet(char *why, size_t len)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};

	struct ifreq ifr = {0};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", c.ifname);
	c.pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (c.pkt >= 0 && !ioctl(c.pkt, SIOCGIFINDEX, &ifr))
		sll.sll_ifindex = ifr.ifr_ifindex;
	if (c.pkt < 0 || !sll.sll_ifindex || bind(c.pkt, (struct sockaddr *)&sll, sizeof(sll))) {
		snprintf(why, len, "AF_PACKET on %s: %s", c.ifname, strerror(errno));
		return -1;
	}
	return 0;
}

/* Everything up to a running backend; a sentence on failure. */
static int setup(char *why, size_t len)
{
	if (unshare(CLONE_NEWNET)) {
		snprintf(why, len, "unshare(CLONE_NEWNET): %s (needs root)", strerror(errno));
		return -1;
	}
	if (access("/dev/vhost-net", F_OK)) {
		snprintf(why, len, "no /dev/vhost-net on this kernel (ci/nested runs this where there is)");
		return -1;
	}
	/* No IPv6 in the namespace: the kernel's router solicitations on the
	 * tap would land in the receive buffers between our frames. */
	FILE *f = fopen("/proc/sys/net/ipv6/conf/default/disable_ipv6", "we");
	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	if (open_tap(why, len) || open_packet(why, len))
		return -1;
	if (add_region(RING_GPA, RING_LEN) || add_region(BUF_GPA, BUF_LEN_)) {
		snprintf(why, len, "mmap: %s", strerror(errno));
		return -1;
	}
	queue_init(&c.rxq, 0);
	queue_init(&c.txq, 1);
	c.t.n_queues = HV_VHOST_QUEUES;
	c.t.vq[0] = c.rxq.q;
	c.t.vq[1] = c.txq.q;
	c.t.driver_features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX);
	for (unsigned q = 0; q < HV_VHOST_QUEUES; q++)
		c.kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return 0;
}

static void test_tx(void)
{
	static const unsigned lens[] = {60, 64, FRAME_MAX};
	uint8_t want[FRAME_MAX], got[FRAME_MAX + 64];
	char why[200] = "";

	for (unsigned i = 0; i < 3 && !*why; i++) {
		uint8_t *b = gpa_hva(buf_gpa(1, i));
		struct vring_used_elem e;
		int n;

		memset(b, 0, HDR_LEN);
		make_frame(want, lens[i], i);
		memcpy(b + HDR_LEN, want, lens[i]);
		post(&c.txq, 1, i, HDR_LEN + lens[i], false);
		kick(1);
		n = recv_frame(got, sizeof(got));
		if (n < 0)
			snprintf(why, sizeof(why), "frame %u (%u B) never reached the tap", i, lens[i]);
		else if ((unsigned)n != lens[i] || memcmp(got, want, lens[i]))
			snprintf(why, sizeof(why), "frame %u: %d B on the tap, not the %u B sent", i, n,
				 lens[i]);
		else if (!wait_used(&c.txq, &e) || e.id != i)
			snprintf(why, sizeof(why), "frame %u: descriptor not returned on the used ring", i);
	}
	result(!*why, "vhost tx: 60, 64 and 1514 B frames from the transmit ring reach the tap "
		      "byte for byte%s%s", *why ? ": " : "", why);
}

/* The next used receive buffer that holds one of our frames (others, the
 * kernel's own traffic on the link, are given back); false on timeout. */
static bool wait_foreign_skipped(struct vring_used_elem *e, const uint8_t **b)
{
	for (;;) {
		if (!wait_used(&c.rxq, e) || e->id >= QSIZE)
			return false;
		*b = gpa_hva(buf_gpa(0, e->id));
		if (e->len >= HDR_LEN + 14 && (*b)[HDR_LEN + 12] == 0x88 && (*b)[HDR_LEN + 13] == 0xb5)
			return true;
		post(&c.rxq, 0, e->id, BUF_LEN, true);
		kick(0);
	}
}

static void test_rx(void)
{
	static const unsigned lens[] = {64, FRAME_MAX, 200};
	uint8_t f[FRAME_MAX];
	char why[200] = "";
	unsigned num_buffers = 0;

	for (unsigned i = 0; i < QSIZE / 2; i++)
		post(&c.rxq, 0, i, BUF_LEN, true);
	kick(0);
	for (unsigned i = 0; i < 3 && !*why; i++) {
		struct vring_used_elem e;
		struct virtio_net_hdr_v1 h;
		const uint8_t *b;

		make_frame(f, lens[i], 100 + i);
		if (send(c.pkt, f, lens[i], 0) != (ssize_t)lens[i]) {
			snprintf(why, sizeof(why), "send on %s: %s", c.ifname, strerror(errno));
			break;
		}
		if (!wait_foreign_skipped(&e, &b)) {
			snprintf(why, sizeof(why), "frame %u (%u B) never reached a receive buffer", i,
				 lens[i]);
			break;
		}
		memcpy(&h, b, sizeof(h));
		num_buffers = h.num_buffers;
		if (e.len != HDR_LEN + lens[i])
			snprintf(why, sizeof(why), "frame %u: used length %u, expected %u", i, e.len,
				 HDR_LEN + lens[i]);
		else if (h.flags || h.gso_type != VIRTIO_NET_HDR_GSO_NONE || h.num_buffers > 1)
			snprintf(why, sizeof(why), "frame %u: header flags %u gso %u num_buffers %u", i,
				 h.flags, h.gso_type, h.num_buffers);
		else if (memcmp(b + HDR_LEN, f, lens[i]))
			snprintf(why, sizeof(why), "frame %u: bytes differ from those sent", i);
	}
	result(!*why, "vhost rx: 64, 1514 and 200 B frames sent into the tap land in receive "
		      "buffers with a 12-byte header (num_buffers %u)%s%s", num_buffers,
	       *why ? ": " : "", why);
}

/* The "vhost-<our pid>" task anywhere in the system (a kernel thread before
 * Linux 6.4, a thread of ours since), with its CPU ticks; 0 if none. */
static pid_t find_worker_anywhere(unsigned long *ticks)
{
	char want[32], path[300], comm[64], stat[1024];
	struct dirent *p;
	DIR *d = opendir("/proc");
	pid_t found = 0;
	FILE *f;

	snprintf(want, sizeof(want), "vhost-%d", (int)getpid());
	while (d && !found && (p = readdir(d))) {
		pid_t pid = (pid_t)atoi(p->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, pid);
		f = fopen(path, "re");
		if (f && fgets(comm, sizeof(comm), f) && !strncmp(comm, want, strlen(want)) &&
		    comm[strlen(want)] == '\n')
			found = pid;
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	/* Since Linux 6.4 a thread of ours, which readdir of /proc does not
	 * list: ask the backend's own search. */
	if (!found && !hv_vhost_worker_tids(&found, 1))
		found = 0;
	*ticks = 0;
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)found);
	f = found ? fopen(path, "re") : NULL;
	if (!f) {
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)found);
		f = found ? fopen(path, "re") : NULL;
	}
	if (f && fgets(stat, sizeof(stat), f)) {
		const char *s = strrchr(stat, ')');
		unsigned long ut = 0, st = 0;
		if (s && sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
				&st) == 2)
			*ticks = ut + st;
	}
	if (f)
		fclose(f);
	return found;
}

static void test_worker(void)
{
	pid_t tids[4];
	unsigned n = hv_vhost_worker_tids(tids, 4);
	unsigned long ticks;
	pid_t any = find_worker_anywhere(&ticks);

	result(n > 0 && c.vh.worker_tid > 0 && any == c.vh.worker_tid,
	       "vhost worker: the backend names the task that moves the frames (worker_tid %d, "
	       "hv_vhost_worker_tids found %u; vhost-%d is task %d, %lu CPU ticks%s)",
	       (int)c.vh.worker_tid, n, (int)getpid(), (int)any, ticks,
	       any && !n ? ": a kernel thread outside this process, which host CPU accounting "
			   "by this process's threads misses (Linux before 6.4)"
			 : "");
}

static void test_stop(void)
{
	uint8_t *b = gpa_hva(buf_gpa(1, 10)), f[64], got[FRAME_MAX];

	hv_vhost_stop(&c.vh);
	memset(b, 0, HDR_LEN);
	make_frame(f, 64, 10);
	memcpy(b + HDR_LEN, f, 64);
	post(&c.txq, 1, 10, HDR_LEN + 64, false);
	kick(1);
	result(recv_frame(got, sizeof(got)) < 0 && !c.vh.running,
	       "vhost stop: after hv_vhost_stop a kicked frame no longer reaches the tap");
}

static void test_missing(void)
{
	struct hv_vhost vh;
	char why[300] = "";
	int r = hv_vhost_open(&vh, "/dev/hvb-no-such-vhost", c.tap, why, sizeof(why));

	result(r == -ENOENT && strstr(why, "/dev/hvb-no-such-vhost") && strstr(why, "vhost_net"),
	       "vhost missing: a path that does not exist: %d, \"%s\"", r, why);
}

int main(void)
{
	char why[300] = "";
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (setup(why, sizeof(why)))
		skip_all(why);
	r = hv_vhost_open(&c.vh, NULL, c.tap, why, sizeof(why));
	if (!r)
		r = hv_vhost_start(&c.vh, &c.vm, &c.t, c.kick, why, sizeof(why));
	if (r) {
		result(false, "vhost set-up: %s", why);
		printf("1..%u\n", n_test);
		return 1;
	}
	/* The kernel keeps its own copy of the ring state: the driver side
	 * here works on c.rxq / c.txq, whose rings are the same memory. */
	test_tx();
	test_rx();
	test_worker();
	test_stop();
	test_missing();
	hv_vhost_close(&c.vh);
	printf("1..%u\n", n_test);
	return n_fail ? 1 : 0;
}
