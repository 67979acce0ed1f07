/*
 * virtio-net on virtio-mmio (see virtio_net.h).  Spec: virtio 1.x,
 * "Network Device": queue 0 receive, queue 1 transmit, no control queue,
 * no mergeable buffers, no offloads.
 *
 * Who moves frames:
 *   tap, loopback  the device's I/O thread (notify ioeventfd, exit, poll),
 *                  or, loopback only, the vCPU thread inside the QueueNotify
 *                  exit (notify sync: deterministic, for tests and the
 *                  fuzzer; a tap cannot be served that way, the guest would
 *                  never hear of frames arriving while it polls);
 *   vhost          the host kernel (hv/vhost_net.c); the device's thread
 *                  only sets the kernel up at DRIVER_OK and takes the rings
 *                  back at a reset, because the vCPU thread's seccomp filter
 *                  allows no vhost ioctl.
 * Every serving pass runs under the transport's lock (virtio.h), so one
 * thread at a time walks the rings and uses the chain, iovec and frame
 * buffers below.  The I/O thread never stops the run: a malformed frame
 * is dropped and counted, a broken receive queue sets DEVICE_NEEDS_RESET.
 *
 * Notifications.  In ioeventfd mode each queue has its own eventfd, a KVM
 * ioeventfd with datamatch on its index (virtio_mmio_notify_eventfd): the
 * same registration vhost needs, and the thread can count and tell the
 * queues apart.  One eventfd without datamatch would do for the thread
 * alone (it serves both queues whenever it wakes); the second fd costs
 * nothing measurable: an eventfd ping-pong between two threads took a
 * median 12.5 us whether the sleeper polled 2 or 3 eventfds (13.3 us with
 * a fourth, the tap; 5 rounds of 20000, load ~9 on 2 cores, 2026-12-02),
 * noise far above any difference, and a guest's notification costs an
 * exit on top.
 * While the thread has receive buffers it waits on the tap and asks the
 * driver not to notify the receive queue; once they run out it asks for
 * that notification (event index) and stops reading the tap, so frames
 * wait in the tap's queue rather than being dropped.  The transmit queue
 * is notified whenever the thread sleeps.
 */
#include "virtio_net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dev.h"
#include "hvb/abi.h"
#include "iothread.h"
#include "seccomp.h"
#include "vhost_net.h"
#include "virtio.h"

#define NET_HDR_LEN	  12u /* struct virtio_net_hdr_v1 */
#define ETH_HDR_LEN	  14u
#define NET_MTU_DEFAULT	  1500u
#define NET_MTU_MIN	  68u   /* IPv4's minimum */
#define NET_MTU_MAX	  9000u /* jumbo frames; the frame buffer is sized for it */
#define NET_FRAME_MAX	  (NET_MTU_MAX + ETH_HDR_LEN)
#define NET_QUEUE_DEFAULT 256u
#define OVERFLOW_LEN	  65536u /* catches a tap frame larger than the receive buffer */
#define RXQ		  0u
#define TXQ		  1u

#define NET_FEATURES                                                                               \
	((1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_MTU) |                                 \
	 (1ull << VIRTIO_RING_F_EVENT_IDX))

/* Device config (virtio 1.x 5.1.4): mac, status, max_virtqueue_pairs, mtu. */
struct net_config {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
} __attribute__((packed));

struct hv_virtio_net {
	struct virtio_mmio t;
	struct vm *vm;
	struct hv_net_config cfg;
	struct net_config config;
	struct hv_net_stats stats; /* atomic adds */
	unsigned frame_max;	   /* mtu + Ethernet header */

	/* I/O thread */
	int wake_fd;	  /* ours: exit-mode notifications, stop, vhost requests */
	int kick_fd[2];	  /* ioeventfd mode and vhost: KVM's, per queue, -1 = none */
	struct hv_iothread io;
	unsigned poll_spins;

	/* vhost: the thread applies the state the vCPU thread asked for. */
	struct hv_vhost vhost;
	bool vhost_open;
	pthread_mutex_t vh_lock;
	pthread_cond_t vh_done;
	unsigned vh_asked, vh_applied; /* generations, under vh_lock */
	bool vh_want_run;	       /* under vh_lock */

	/* Used by the serving pass only (under the transport's lock). */
	struct virtq_chain chain;
	struct iovec iov[HV_VIRTQ_MAX + 2];
	uint8_t frame[NET_FRAME_MAX];
	uint8_t *overflow;
	bool tap_gone; /* the tap failed for good (deleted, closed): not read or polled again */
};

static void count(uint64_t *c, uint64_t v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

static bool stopping(const struct hv_virtio_net *n)
{
	return hv_iothread_stopping(&n->io);
}

/* ------------------------------------------------------------ loopback */

static void swap_bytes(uint8_t *a, uint8_t *b, unsigned len)
{
	for (unsigned i = 0; i < len; i++) {
		uint8_t t = a[i];
		a[i] = b[i], b[i] = t;
	}
}

/*
 * The loopback's reflection: Ethernet source and destination swapped; for
 * IPv4 the addresses too, and for UDP in it the ports.  The checksums stay
 * right (sums of 16-bit words do not depend on their order).  Anything
 * else (not IPv4, a cut or odd header) keeps all but the MACs.
 */
static void reflect(uint8_t *f, unsigned len)
{
	unsigned ihl;

	swap_bytes(f, f + 6, 6);
	if (len < ETH_HDR_LEN + 20 || f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4)
		return;
	ihl = (f[14] & 0xfu) * 4;
	if (ihl < 20 || ETH_HDR_LEN + ihl > len)
		return;
	swap_bytes(f + ETH_HDR_LEN + 12, f + ETH_HDR_LEN + 16, 4);
	if (f[ETH_HDR_LEN + 9] == 17 && ETH_HDR_LEN + ihl + 8 <= len)
		swap_bytes(f + ETH_HDR_LEN + ihl, f + ETH_HDR_LEN + ihl + 2, 2);
}

/* ------------------------------------------------------------ chains */

/* Copy bytes [off, off + len) of the chain's buffers to dst. */
static void chain_read(const struct virtq_chain *c, uint32_t off, uint8_t *dst, uint32_t len)
{
	for (unsigned i = 0; i < c->n && len; i++) {
		const struct virtq_seg *s = &c->seg[i];
		uint32_t take;
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		take = s->len - off < len ? s->len - off : len;
		memcpy(dst, (const uint8_t *)s->hva + off, take);
		dst += take, len -= take, off = 0;
	}
}

static void chain_write(const struct virtq_chain *c, uint32_t off, const uint8_t *src,
			uint32_t len)
{
	for (unsigned i = 0; i < c->n && len; i++) {
		const struct virtq_seg *s = &c->seg[i];
		uint32_t take;
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		take = s->len - off < len ? s->len - off : len;
		memcpy((uint8_t *)s->hva + off, src, take);
		src += take, len -= take, off = 0;
	}
}

/* The chain's buffers from byte `off` on as iovecs; returns how many. */
static unsigned chain_iov(const struct virtq_chain *c, uint32_t off, struct iovec *iov)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->n; i++) {
		const struct virtq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		iov[n++] = (struct iovec){(uint8_t *)s->hva + off, s->len - off};
		off = 0;
	}
	return n;
}

/*
 * A transmitted chain: every buffer device-readable guest RAM, a virtio-net
 * header without offload requests (none are offered), then 14..frame_max
 * bytes of frame.  Returns the frame length, or 0 with why set.
 */
static uint32_t tx_check(const struct hv_virtio_net *n, const struct virtq_chain *c,
			 const char **why)
{
	struct virtio_net_hdr_v1 h;
	uint64_t total = 0;

	for (unsigned i = 0; i < c->n; i++) {
		if (c->seg[i].write) {
			*why = "device-writable buffer in a transmitted chain";
			return 0;
		}
		if (!c->seg[i].hva) {
			*why = c->seg[i].len ? "buffer outside guest RAM" : "zero-length buffer";
			return 0;
		}
		total += c->seg[i].len;
	}
	if (total < NET_HDR_LEN) {
		*why = "no or a short virtio-net header";
		return 0;
	}
	chain_read(c, 0, (uint8_t *)&h, NET_HDR_LEN);
	if (h.flags || h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		*why = "virtio-net header asks for an offload that is not offered";
		return 0;
	}
	total -= NET_HDR_LEN;
	if (total < ETH_HDR_LEN) {
		*why = total ? "frame shorter than an Ethernet header" : "zero-length frame";
		return 0;
	}
	if (total > n->frame_max) {
		*why = "frame longer than the MTU";
		return 0;
	}
	return (uint32_t)total;
}

/*
 * A receive chain: device-writable guest RAM (zero-length buffers are
 * skipped), at least the header.  Returns its capacity in bytes, or 0
 * with why set: the queue is broken.
 */
static uint64_t rx_check(const struct virtq_chain *c, const char **why)
{
	uint64_t cap = 0;

	for (unsigned i = 0; i < c->n; i++) {
		if (!c->seg[i].write) {
			*why = "device-readable buffer in the receive queue";
			return 0;
		}
		if (!c->seg[i].hva && c->seg[i].len) {
			*why = "receive buffer outside guest RAM";
			return 0;
		}
		cap += c->seg[i].len;
	}
	if (cap < NET_HDR_LEN) {
		*why = "receive buffer shorter than the virtio-net header";
		return 0;
	}
	return cap;
}

static void complete(struct hv_virtio_net *n, struct virtq *q, uint16_t head, uint32_t len)
{
	virtq_push(q, head, len);
	virtq_flush(&n->t, q);
}

/* ------------------------------------------------------------ receive */

/* The header the guest gets: no offloads, one buffer (virtio 1.x). */
static void rx_header(struct hv_virtio_net *n)
{
	struct virtio_net_hdr_v1 h = {.num_buffers = 1};

	chain_write(&n->chain, 0, (const uint8_t *)&h, NET_HDR_LEN);
}

/*
 * Take the next receive buffer into n->chain: its capacity, 0 when there
 * is none (or the queue broke: NEEDS_RESET is set then).
 */
static uint64_t rx_take(struct hv_virtio_net *n, struct virtq *q)
{
	const char *why = NULL;
	uint64_t cap;

	if (!virtio_queue_live(&n->t, RXQ))
		return 0;
	switch (virtq_pop(n->vm, q, &n->chain, &why)) {
	case VIRTQ_EMPTY:
		return 0;
	case VIRTQ_BROKEN:
		virtio_needs_reset(&n->t, why);
		return 0;
	case VIRTQ_CHAIN:
		break;
	}
	cap = rx_check(&n->chain, &why);
	if (!cap)
		virtio_needs_reset(&n->t, why);
	return cap;
}

/* A frame of len bytes (in n->frame) into the next receive buffer. */
static void rx_put(struct hv_virtio_net *n, uint32_t len)
{
	struct virtq *q = &n->t.vq[RXQ];
	uint64_t cap = rx_take(n, q);

	if (!cap) {
		count(&n->stats.rx_dropped, 1);
		return;
	}
	if (cap - NET_HDR_LEN < len) {
		virtq_unpop(q); /* kept for a frame that fits */
		count(&n->stats.rx_dropped, 1);
		return;
	}
	rx_header(n);
	chain_write(&n->chain, NET_HDR_LEN, n->frame, len);
	complete(n, q, n->chain.head, NET_HDR_LEN + len);
	count(&n->stats.rx_frames, 1);
	count(&n->stats.rx_bytes, len);
}

/*
 * One frame from the tap into the next receive buffer.  The kernel's
 * header goes to a local copy (the guest gets the device's own), bytes
 * beyond the buffer into the overflow scratch: a frame that does not fit
 * is dropped and the buffer kept.  The runner leaves the tap's offloads
 * off (no TUNSETOFFLOAD), so the kernel completes checksums itself.
 * false: no buffer, or the tap is empty.
 */
static bool rx_from_tap(struct hv_virtio_net *n)
{
	struct virtq *q = &n->t.vq[RXQ];
	struct virtio_net_hdr_v1 khdr;
	uint64_t cap = rx_take(n, q);
	unsigned niov;
	ssize_t got;

	if (!cap)
		return false;
	n->iov[0] = (struct iovec){&khdr, NET_HDR_LEN};
	niov = 1 + chain_iov(&n->chain, NET_HDR_LEN, n->iov + 1);
	n->iov[niov++] = (struct iovec){n->overflow, OVERFLOW_LEN};
	do
		got = readv(n->cfg.tap_fd, n->iov, (int)niov);
	while (got < 0 && errno == EINTR);
	if (got < (ssize_t)NET_HDR_LEN) {
		virtq_unpop(q);
		if (got > 0) /* a read without a whole header: nothing to deliver */
			count(&n->stats.rx_dropped, 1);
		/* EAGAIN: empty.  0 or another error: the tap is gone, and
		 * polling it would wake the thread at once, forever. */
		if (got == 0 || (got < 0 && errno != EAGAIN))
			n->tap_gone = true;
		return got > 0;
	}
	/* Too large for the buffer; or the kernel left a checksum or a
	 * segmentation to do (offloads turned on at the tap): the guest,
	 * offered neither, would get a frame it cannot take. */
	if ((uint64_t)got > cap || (khdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) ||
	    khdr.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		virtq_unpop(q);
		count(&n->stats.rx_dropped, 1);
		return true;
	}
	rx_header(n);
	complete(n, q, n->chain.head, (uint32_t)got);
	count(&n->stats.rx_frames, 1);
	count(&n->stats.rx_bytes, (uint64_t)got - NET_HDR_LEN);
	return true;
}

static unsigned serve_rx(struct hv_virtio_net *n)
{
	unsigned done = 0;

	if (n->cfg.backend != HV_NET_TAP || n->tap_gone)
		return 0; /* the loopback fills receive buffers as it transmits */
	while (!stopping(n) && rx_from_tap(n))
		done++;
	return done;
}

/* ------------------------------------------------------------ transmit */

static void tx_to_tap(struct hv_virtio_net *n, uint32_t len)
{
	static const struct virtio_net_hdr_v1 hdr; /* the device's: no offloads */
	unsigned niov;
	ssize_t put;

	n->iov[0] = (struct iovec){(void *)&hdr, NET_HDR_LEN};
	niov = 1 + chain_iov(&n->chain, NET_HDR_LEN, n->iov + 1);
	do
		put = writev(n->cfg.tap_fd, n->iov, (int)niov);
	while (put < 0 && errno == EINTR);
	if (put != (ssize_t)(NET_HDR_LEN + len)) {
		count(&n->stats.tx_errors, 1);
		return;
	}
	count(&n->stats.tx_frames, 1);
	count(&n->stats.tx_bytes, len);
}

static void tx_to_loop(struct hv_virtio_net *n, uint32_t len)
{
	chain_read(&n->chain, NET_HDR_LEN, n->frame, len); /* one read: the guest may change it */
	count(&n->stats.tx_frames, 1);
	count(&n->stats.tx_bytes, len);
	reflect(n->frame, len);
	rx_put(n, len);
}

/* One transmitted chain, dropped (and counted) when malformed. */
static void tx_one(struct hv_virtio_net *n, struct virtq *q)
{
	const char *why = NULL;
	uint32_t len = tx_check(n, &n->chain, &why);
	uint16_t head = n->chain.head;

	if (!len)
		count(&n->stats.tx_bad, 1);
	else if (n->cfg.backend == HV_NET_TAP)
		tx_to_tap(n, len);
	else
		tx_to_loop(n, len);
	complete(n, q, head, 0);
}

static unsigned serve_tx(struct hv_virtio_net *n)
{
	struct virtq *q = &n->t.vq[TXQ];
	const char *why = NULL;
	unsigned done = 0;

	while (!stopping(n) && virtio_queue_live(&n->t, TXQ)) {
		switch (virtq_pop(n->vm, q, &n->chain, &why)) {
		case VIRTQ_EMPTY:
			return done;
		case VIRTQ_BROKEN:
			count(&n->stats.tx_bad, 1);
			virtio_needs_reset(&n->t, why);
			return done;
		case VIRTQ_CHAIN:
			tx_one(n, q);
			done++;
			break;
		}
	}
	return done;
}

/* ------------------------------------------------------------ serving */

static void notifications(struct hv_virtio_net *n, unsigned qi, bool on, bool *again)
{
	struct virtq *q = &n->t.vq[qi];

	if (!virtio_queue_live(&n->t, qi))
		return;
	if (on)
		*again |= virtq_notifications(q, true);
	else if (!q->notify_off || n->cfg.notify == HV_NET_NOTIFY_POLL)
		virtq_notifications(q, false); /* poll: avail_event follows what was taken */
}

/* Receive notifications are wanted only by a tap without buffers. */
static bool rx_wants_notify(struct hv_virtio_net *n)
{
	return n->cfg.backend == HV_NET_TAP && virtio_queue_live(&n->t, RXQ) &&
	       !virtq_pending(&n->t.vq[RXQ]);
}

/*
 * One pass, under the lock: transmit and receive until neither has work,
 * then (not in poll or sync mode) notifications back on, and again if
 * work came in meanwhile.  Returns the frames moved.
 */
static unsigned serve(struct hv_virtio_net *n)
{
	bool arm = n->cfg.notify != HV_NET_NOTIFY_POLL && n->cfg.notify != HV_NET_NOTIFY_SYNC;
	unsigned total = 0;

	for (;;) {
		bool again = false;
		unsigned done;
		if (n->cfg.notify != HV_NET_NOTIFY_SYNC) {
			notifications(n, TXQ, false, &again);
			notifications(n, RXQ, false, &again);
		}
		done = serve_tx(n) + serve_rx(n);
		total += done;
		if (done && !stopping(n))
			continue;
		if (!arm || stopping(n))
			return total;
		notifications(n, TXQ, true, &again);
		if (rx_wants_notify(n))
			notifications(n, RXQ, true, &again);
		if (!again)
			return total;
	}
}

/* ------------------------------------------------------------ vhost control */

/* On the device's thread: bring the kernel's state to what was asked. */
static void vhost_apply(struct hv_virtio_net *n)
{
	char why[160] = "";
	unsigned gen;
	bool run;

	pthread_mutex_lock(&n->vh_lock);
	gen = n->vh_asked, run = n->vh_want_run;
	pthread_mutex_unlock(&n->vh_lock);
	virtio_lock(&n->t);
	if (!run)
		hv_vhost_stop(&n->vhost);
	else if (hv_vhost_start(&n->vhost, n->vm, &n->t, n->kick_fd, why, sizeof(why)))
		virtio_needs_reset(&n->t, why);
	virtio_unlock(&n->t);
	pthread_mutex_lock(&n->vh_lock);
	n->vh_applied = gen;
	pthread_cond_broadcast(&n->vh_done);
	pthread_mutex_unlock(&n->vh_lock);
}

static void wake(struct hv_virtio_net *n)
{
	uint64_t one = 1;

	while (write(n->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

/* vCPU thread, after a Status write: DRIVER_OK starts vhost, anything
 * else without it (a reset) stops it; waits until the thread has done so,
 * so the driver sees the result (NEEDS_RESET on failure) at its next read. */
static void net_status_changed(void *dev, uint32_t old, uint32_t now)
{
	struct hv_virtio_net *n = dev;
	bool run = (now & VIRTIO_CONFIG_S_DRIVER_OK) && !(now & VIRTIO_CONFIG_S_NEEDS_RESET);
	unsigned gen;

	(void)old;
	if (n->cfg.backend != HV_NET_VHOST || !hv_iothread_running(&n->io))
		return;
	pthread_mutex_lock(&n->vh_lock);
	n->vh_want_run = run;
	gen = ++n->vh_asked;
	pthread_mutex_unlock(&n->vh_lock);
	wake(n);
	pthread_mutex_lock(&n->vh_lock);
	while ((int)(n->vh_applied - gen) < 0 && !stopping(n))
		pthread_cond_wait(&n->vh_done, &n->vh_lock);
	pthread_mutex_unlock(&n->vh_lock);
}

/* ------------------------------------------------------------ notify, thread */

static int net_notify(void *dev, struct vcpu *vcpu, unsigned q)
{
	struct hv_virtio_net *n = dev;
	uint64_t one = 1;

	(void)vcpu;
	if (n->cfg.notify != HV_NET_NOTIFY_IOEVENTFD && n->cfg.backend != HV_NET_VHOST)
		count(&n->stats.notifies, 1);
	if (n->kick_fd[q] >= 0) { /* ioeventfd, vhost: a write that reached userspace anyway */
		while (write(n->kick_fd[q], &one, sizeof(one)) < 0 && errno == EINTR)
			;
		return HV_CONTINUE;
	}
	switch (n->cfg.notify) {
	case HV_NET_NOTIFY_SYNC:
		virtio_lock(&n->t);
		serve(n);
		virtio_unlock(&n->t);
		break;
	case HV_NET_NOTIFY_EXIT:
		wake(n);
		break;
	case HV_NET_NOTIFY_IOEVENTFD:
	case HV_NET_NOTIFY_POLL: /* the driver notified although asked not to */
		break;
	}
	return HV_CONTINUE;
}

static void drain(struct hv_virtio_net *n, int fd, bool counts)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) == sizeof(v) && counts && !stopping(n))
		count(&n->stats.notifies, v);
}

/* Sleep until a notification, a stop, or (with receive buffers) a frame
 * on the tap.  ioeventfd mode counts the guest's notifications here. */
static void wait_work(struct hv_virtio_net *n)
{
	struct pollfd p[4];
	unsigned np = 0;
	bool tap_in;

	virtio_lock(&n->t);
	tap_in = n->cfg.backend == HV_NET_TAP && !n->tap_gone && virtio_queue_live(&n->t, RXQ) &&
		 virtq_pending(&n->t.vq[RXQ]);
	virtio_unlock(&n->t);
	p[np++] = (struct pollfd){.fd = n->wake_fd, .events = POLLIN};
	for (unsigned q = 0; q < 2; q++)
		if (n->kick_fd[q] >= 0)
			p[np++] = (struct pollfd){.fd = n->kick_fd[q], .events = POLLIN};
	if (tap_in)
		p[np++] = (struct pollfd){.fd = n->cfg.tap_fd, .events = POLLIN};
	if (poll(p, np, -1) <= 0)
		return;
	for (unsigned i = 0; i < np; i++)
		if ((p[i].revents & POLLIN) && p[i].fd != n->cfg.tap_fd)
			drain(n, p[i].fd, p[i].fd != n->wake_fd);
}

/* Poll mode found nothing: yield now and then (virtio_blk.c's poll_idle). */
#define POLL_YIELD 256
static void poll_idle(struct hv_virtio_net *n)
{
	count(&n->stats.polls_empty, 1);
	if (++n->poll_spins % POLL_YIELD == 0)
		sched_yield();
	else
		__builtin_ia32_pause();
}

static void vhost_loop(struct hv_virtio_net *n)
{
	while (!stopping(n)) {
		struct pollfd p = {.fd = n->wake_fd, .events = POLLIN};
		if (poll(&p, 1, -1) <= 0)
			continue;
		drain(n, n->wake_fd, false);
		vhost_apply(n);
	}
}

static void io_loop(void *dev)
{
	struct hv_virtio_net *n = dev;

	if (n->cfg.backend == HV_NET_VHOST) {
		vhost_loop(n);
		return;
	}
	while (!stopping(n)) {
		unsigned done;
		virtio_lock(&n->t);
		done = serve(n);
		virtio_unlock(&n->t);
		if (n->cfg.notify == HV_NET_NOTIFY_POLL) {
			if (!done)
				poll_idle(n);
		} else if (!done) {
			wait_work(n);
		}
	}
}

static void io_wake(void *dev)
{
	wake(dev);
}

static const struct hv_iothread_ops net_io_ops = {
    .loop = io_loop,
    .wake = io_wake,
};

static int io_thread_start(struct hv_virtio_net *n)
{
	int (*confine)(void) = NULL;

	if (n->cfg.seccomp)
		confine = n->cfg.backend == HV_NET_VHOST ? hv_seccomp_vhost_install
							 : hv_seccomp_net_install;
	return hv_iothread_start(&n->io, n->cfg.io_cpu, confine, &net_io_ops, n);
}

static void io_thread_stop(struct hv_virtio_net *n)
{
	if (!hv_iothread_stop(&n->io))
		return;
	pthread_mutex_lock(&n->vh_lock); /* a vCPU waiting for vhost: let it go */
	n->vh_applied = n->vh_asked;
	pthread_cond_broadcast(&n->vh_done);
	pthread_mutex_unlock(&n->vh_lock);
}

/* ------------------------------------------------------------ attach */

static void net_config_read(void *dev, uint32_t off, uint8_t *data, unsigned len)
{
	const struct hv_virtio_net *n = dev;

	memcpy(data, (const uint8_t *)&n->config + off, len);
}

static const struct virtio_mmio_ops net_ops = {
    .config_read = net_config_read,
    .notify = net_notify,
    .status_changed = net_status_changed,
};

static int net_mmio(void *opaque, struct vcpu *vcpu, uint64_t gpa, uint8_t *data, unsigned len,
		    bool write)
{
	struct hv_virtio_net *n = opaque;

	return virtio_mmio_access(&n->t, vcpu, gpa - n->cfg.mmio_gpa, data, len, write);
}

static int config_check(const struct hv_net_config *cfg, unsigned *qmax, unsigned *mtu)
{
	*qmax = cfg->queue_size_max ? cfg->queue_size_max : NET_QUEUE_DEFAULT;
	*mtu = cfg->mtu ? cfg->mtu : NET_MTU_DEFAULT;
	if ((unsigned)cfg->backend > HV_NET_LOOPBACK || (unsigned)cfg->notify > HV_NET_NOTIFY_SYNC ||
	    *qmax > HV_VIRTQ_MAX || (*qmax & (*qmax - 1)) || cfg->mmio_gpa % HVB_VIRTIO_MMIO_SIZE ||
	    *mtu < NET_MTU_MIN || *mtu > NET_MTU_MAX)
		return -EINVAL;
	if (cfg->backend != HV_NET_LOOPBACK && cfg->tap_fd < 0)
		return -EINVAL;
	if (cfg->notify == HV_NET_NOTIFY_SYNC && cfg->backend != HV_NET_LOOPBACK)
		return -EINVAL; /* a tap's frames would wait for the guest's next notification */
	return 0;
}

static void config_fill(struct hv_virtio_net *n, unsigned mtu)
{
	memcpy(n->config.mac, n->cfg.mac, 6);
	n->config.status = VIRTIO_NET_S_LINK_UP;
	n->config.max_virtqueue_pairs = 1;
	n->config.mtu = (uint16_t)mtu;
	n->frame_max = mtu + ETH_HDR_LEN;
}

/* Per-queue ioeventfds with datamatch (ioeventfd mode, vhost's kicks). */
static int kick_fds_open(struct hv_virtio_net *n)
{
	int r = 0;

	if (n->cfg.backend != HV_NET_VHOST && n->cfg.notify != HV_NET_NOTIFY_IOEVENTFD)
		return 0;
	for (unsigned q = 0; q < 2 && !r; q++)
		r = virtio_mmio_notify_eventfd(n->vm, n->cfg.mmio_gpa, q, &n->kick_fd[q]);
	return r;
}

static void net_free(struct hv_virtio_net *n)
{
	for (unsigned q = 0; q < 2; q++)
		virtio_mmio_notify_eventfd_del(n->vm, n->cfg.mmio_gpa, q, n->kick_fd[q]);
	if (n->vhost_open)
		hv_vhost_close(&n->vhost);
	if (n->wake_fd >= 0)
		close(n->wake_fd);
	pthread_mutex_destroy(&n->vh_lock);
	pthread_cond_destroy(&n->vh_done);
	virtio_mmio_destroy(&n->t);
	free(n->overflow);
	free(n);
}

static struct hv_virtio_net *net_new(struct vm *vm, const struct hv_net_config *cfg)
{
	struct hv_virtio_net *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->vm = vm;
	n->cfg = *cfg;
	n->kick_fd[0] = n->kick_fd[1] = -1;
	n->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->overflow = malloc(OVERFLOW_LEN);
	pthread_mutex_init(&n->vh_lock, NULL);
	pthread_cond_init(&n->vh_done, NULL);
	return n;
}

static int backend_open(struct hv_virtio_net *n)
{
	char why[256];
	int r;

	if (n->cfg.backend != HV_NET_VHOST)
		return 0;
	r = hv_vhost_open(&n->vhost, n->cfg.vhost_path, n->cfg.tap_fd, why, sizeof(why));
	if (r)
		return r; /* dev_virtio_net_strerror says it again */
	n->vhost_open = true;
	n->stats.kernel_datapath = true;
	return 0;
}

int dev_virtio_net_attach(struct vm *vm, const struct hv_net_config *cfg,
			  struct hv_virtio_net **out)
{
	struct hv_virtio_net *n;
	unsigned qmax, mtu;
	int r;

	r = config_check(cfg, &qmax, &mtu);
	if (r)
		return r;
	n = net_new(vm, cfg);
	if (!n)
		return -ENOMEM;
	config_fill(n, mtu);
	r = virtio_mmio_init(&n->t, vm, "virtio-net", VIRTIO_ID_NET, NET_FEATURES,
			     sizeof(n->config), (uint16_t)qmax, 2, &net_ops, n);
	if (!r && (n->wake_fd < 0 || !n->overflow))
		r = -ENOMEM;
	if (r) {
		if (n->wake_fd >= 0)
			close(n->wake_fd);
		free(n->overflow);
		free(n);
		return r;
	}
	r = vm_mmio_register(vm, cfg->mmio_gpa, HVB_VIRTIO_MMIO_SIZE, net_mmio, n, "virtio-net");
	if (r)
		goto err_free;
	r = backend_open(n);
	if (!r)
		r = kick_fds_open(n);
	if (!r && cfg->notify != HV_NET_NOTIFY_SYNC)
		r = io_thread_start(n);
	if (r)
		goto err_unregister;
	*out = n;
	return 0;

err_unregister:
	io_thread_stop(n);
	vm_mmio_unregister(vm, cfg->mmio_gpa);
err_free:
	net_free(n);
	return r;
}

void dev_virtio_net_detach(struct hv_virtio_net *net)
{
	if (!net)
		return;
	io_thread_stop(net);
	vm_mmio_unregister(net->vm, net->cfg.mmio_gpa);
	net_free(net);
}

void dev_virtio_net_stats(const struct hv_virtio_net *net, struct hv_net_stats *out)
{
	const struct hv_net_stats *s = &net->stats;

	out->tx_frames = __atomic_load_n(&s->tx_frames, __ATOMIC_RELAXED);
	out->tx_bytes = __atomic_load_n(&s->tx_bytes, __ATOMIC_RELAXED);
	out->rx_frames = __atomic_load_n(&s->rx_frames, __ATOMIC_RELAXED);
	out->rx_bytes = __atomic_load_n(&s->rx_bytes, __ATOMIC_RELAXED);
	out->tx_bad = __atomic_load_n(&s->tx_bad, __ATOMIC_RELAXED);
	out->tx_errors = __atomic_load_n(&s->tx_errors, __ATOMIC_RELAXED);
	out->rx_dropped = __atomic_load_n(&s->rx_dropped, __ATOMIC_RELAXED);
	out->notifies = __atomic_load_n(&s->notifies, __ATOMIC_RELAXED);
	out->polls_empty = __atomic_load_n(&s->polls_empty, __ATOMIC_RELAXED);
	out->resets_needed = __atomic_load_n(&net->t.resets_needed, __ATOMIC_RELAXED);
	out->bad_accesses = __atomic_load_n(&net->t.bad_accesses, __ATOMIC_RELAXED);
	out->kernel_datapath = s->kernel_datapath;
}

uint32_t dev_virtio_net_status(const struct hv_virtio_net *net, char *why, size_t len)
{
	uint32_t s = virtio_status(&net->t);

	if (why && len) {
		virtio_lock((struct virtio_mmio *)&net->t);
		snprintf(why, len, "%s", s & VIRTIO_CONFIG_S_NEEDS_RESET ? net->t.why : "");
		virtio_unlock((struct virtio_mmio *)&net->t);
	}
	return s;
}

unsigned dev_virtio_net_tids(const struct hv_virtio_net *net, pid_t *tids, unsigned max)
{
	unsigned n = 0;

	if (hv_iothread_running(&net->io) && n < max)
		tids[n++] = hv_iothread_tid(&net->io);
	return n;
}

pid_t dev_virtio_net_vhost_worker(const struct hv_virtio_net *net, bool *kthread, pid_t *owner)
{
	*kthread = false;
	*owner = 0;
	if (!net->vhost_open)
		return 0;
	*kthread = net->vhost.worker_kthread;
	*owner = net->vhost.owner_tid;
	return net->vhost.worker_tid;
}

const char *dev_virtio_net_strerror(const struct hv_net_config *cfg, int err, char *buf,
				   size_t len)
{
	const char *path = cfg->vhost_path ? cfg->vhost_path : "/dev/vhost-net";

	if (cfg->backend == HV_NET_VHOST && err == -ENOENT)
		snprintf(buf, len, "virtio-net: no %s: this kernel has no vhost-net (modprobe "
			 "vhost_net, or use the tap backend)", path);
	else if (cfg->backend == HV_NET_VHOST && err == -EACCES)
		snprintf(buf, len, "virtio-net: %s: permission denied (needs root or access to it)",
			 path);
	else if (cfg->backend == HV_NET_VHOST && err == -EOPNOTSUPP)
		snprintf(buf, len, "virtio-net: %s lacks VERSION_1 or EVENT_IDX", path);
	else if (err == -EINVAL)
		snprintf(buf, len, "virtio-net: bad configuration (backend %s, notify %s: sync needs "
			 "the loopback, tap and vhost a tap fd; mtu %u..%u; queue size a power of "
			 "two up to %u; window page aligned)", hv_net_backend_name(cfg->backend),
			 hv_net_notify_name(cfg->notify), NET_MTU_MIN, NET_MTU_MAX, HV_VIRTQ_MAX);
	else if (err == -EEXIST)
		snprintf(buf, len, "virtio-net: window 0x%llx overlaps another device or RAM",
			 (unsigned long long)cfg->mmio_gpa);
	else
		snprintf(buf, len, "virtio-net (%s, notify %s): %s", hv_net_backend_name(cfg->backend),
			 hv_net_notify_name(cfg->notify), strerror(-err));
	return buf;
}

static const char *const backend_names[] = {
    [HV_NET_TAP] = "tap",
    [HV_NET_VHOST] = "vhost",
    [HV_NET_LOOPBACK] = "loopback",
};

static const char *const notify_names[] = {
    [HV_NET_NOTIFY_IOEVENTFD] = "ioeventfd",
    [HV_NET_NOTIFY_EXIT] = "exit",
    [HV_NET_NOTIFY_POLL] = "poll",
    [HV_NET_NOTIFY_SYNC] = "sync",
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static int name_find(const char *const *names, unsigned n, const char *s)
{
	for (unsigned i = 0; s && i < n; i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return -EINVAL;
}

const char *hv_net_backend_name(enum hv_net_backend b)
{
	return (unsigned)b < N_OF(backend_names) ? backend_names[b] : "?";
}

int hv_net_backend_parse(const char *s, enum hv_net_backend *out)
{
	int i = name_find(backend_names, N_OF(backend_names), s);

	if (i < 0)
		return i;
	*out = (enum hv_net_backend)i;
	return 0;
}

const char *hv_net_notify_name(enum hv_net_notify n)
{
	return (unsigned)n < N_OF(notify_names) ? notify_names[n] : "?";
}

int hv_net_notify_parse(const char *s, enum hv_net_notify *out)
{
	int i = name_find(notify_names, N_OF(notify_names), s);

	if (i < 0)
		return i;
	*out = (enum hv_net_notify)i;
	return 0;
}
