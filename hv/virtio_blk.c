/*
 * virtio-blk on virtio-mmio, backed by a host file (see virtio_blk.h).
 * Spec: virtio 1.x, "Block Device".
 *
 * Who serves the queue: the I/O thread (notify modes ioeventfd, exit,
 * poll) or the vCPU thread inside the QueueNotify exit (sync).  Either way
 * a serving pass runs under the transport's lock (virtio.h), so exactly
 * one thread at a time walks the rings, uses the chain/iovec/bounce
 * buffers below and completes requests; the vCPU thread's register writes
 * (reset, queue set-up) wait for a pass to end.  The I/O thread never
 * stops the run: whatever the guest does wrong ends as a failed request
 * or DEVICE_NEEDS_RESET, both counted; so it never calls vm_stop.
 *
 * Backend.  The I/O thread keeps up to the queue's depth of reads and
 * writes in flight with Linux AIO (io_submit / io_getevents as raw system
 * calls, the kernel path of QEMU's aio=native): truly asynchronous with
 * O_DIRECT, done by the kernel at submission without it.  A pass holds the
 * lock until nothing is in flight any more, so a reset never races with
 * the kernel writing into guest memory.  Flushes wait for the writes in
 * flight, then fdatasync; GET_ID, failed requests, bounced ones and
 * chains of more than SLOT_IOV buffers are served at once with
 * preadv/pwritev, as is everything in sync mode or when io_setup fails
 * (dev_virtio_blk_backend says which).
 */
#include "virtio_blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dev.h"
#include "hvb/abi.h"
#include "iothread.h"
#include "seccomp.h"
#include "virtio.h"

#define SECTOR		  512u
#define DIRECT_BUF_ALIGN  4096u		   /* guest buffers used directly with O_DIRECT */
#define BOUNCE_MAX	  (64u << 20)	   /* a larger request that needs a bounce fails */
#define BLK_HDR_LEN	  16u
#define BLK_SERIAL	  "hvbench-virtio-blk" /* GET_ID: at most VIRTIO_BLK_ID_BYTES */
#define BLK_QUEUE_DEFAULT 256u

#define BLK_FEATURES                                                                               \
	((1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << VIRTIO_BLK_F_FLUSH) |                        \
	 (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE))

struct hv_virtio_blk {
	struct virtio_mmio t;
	struct vm *vm;
	struct hv_blk_config cfg;
	struct virtio_blk_config config; /* what the guest reads at 0x100 */
	struct hv_blk_stats stats;	 /* atomic adds */

	/* I/O thread */
	int kick_fd;	   /* eventfd the thread waits on, -1 = none (sync, poll) */
	bool own_kick_fd;  /* ours to close (exit mode); the VM owns an ioeventfd's */
	struct hv_iothread io;
	unsigned poll_spins; /* poll mode: idle turns, for poll_idle's yields */

	/* Linux AIO (I/O thread modes): 0 = not set up, serve synchronously. */
	aio_context_t aio;
	struct blk_slot *slots; /* one per queue entry */
	unsigned n_slots;
	unsigned *free_slots, n_free;
	struct iocb **batch; /* prepared, not yet submitted */
	unsigned n_batch;
	unsigned inflight;
	struct io_event *events;

	/* Used by the serving pass only (under the transport's lock). */
	struct virtq_chain chain;
	struct iovec iov[HV_VIRTQ_MAX];
	void *bounce;
	size_t bounce_size;
};

#define SLOT_IOV 64 /* data buffers of a request that goes through AIO */

/* A read or write in flight. */
struct blk_slot {
	struct iocb cb;
	uint16_t head;
	uint8_t *status;
	bool in;
	uint64_t off, len;
	unsigned n_iov;
	struct iovec iov[SLOT_IOV];
};

/* A request parsed out of a chain. */
struct blk_req {
	uint32_t type;
	uint64_t sector;
	uint8_t *status;
	unsigned n_iov;
	uint64_t len;	 /* data bytes */
	bool dev_writes; /* the data buffers are device-writable */
	bool mixed;	 /* ... or not all of one direction */
	bool bad_buf;	 /* a data buffer not in RAM or of length 0 */
};

static void count(uint64_t *c, uint64_t v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------ parsing */

/*
 * The chain's layout, whatever the descriptors' boundaries (VIRTIO_F_ANY_LAYOUT
 * is implied in virtio 1.x): 16 device-readable header bytes, the data, then
 * one device-writable status byte, the last byte of the chain.  false:
 * no usable status byte (the request cannot even fail).
 */
static bool find_status(const struct virtq_chain *c, struct blk_req *r)
{
	const struct virtq_seg *last = &c->seg[c->n - 1];

	if (!last->write || !last->hva)
		return false;
	r->status = (uint8_t *)last->hva + last->len - 1;
	return true;
}

/* Header bytes from the readable start of the chain: the index of the
 * segment and the offset in it where the data begin, or false when the
 * header is short or a header buffer is bad. */
static bool read_header(const struct virtq_chain *c, struct blk_req *r, unsigned *seg,
			uint32_t *off)
{
	uint8_t hdr[BLK_HDR_LEN];
	uint32_t got = 0, take;
	unsigned i;

	for (i = 0; i < c->n && got < BLK_HDR_LEN; i++) {
		const struct virtq_seg *s = &c->seg[i];
		uint32_t avail = s->len - (i == c->n - 1); /* never the status byte */
		if (s->write || !s->hva)
			return false;
		take = avail < BLK_HDR_LEN - got ? avail : BLK_HDR_LEN - got;
		memcpy(hdr + got, s->hva, take);
		got += take;
		if (got == BLK_HDR_LEN) {
			*seg = i, *off = take;
			break;
		}
	}
	if (got < BLK_HDR_LEN)
		return false;
	memcpy(&r->type, hdr, 4);
	memcpy(&r->sector, hdr + 8, 8);
	return true;
}

/* The data buffers between the header and the status byte, as iovecs. */
static void collect_data(struct hv_virtio_blk *b, const struct virtq_chain *c, struct blk_req *r,
			 unsigned seg, uint32_t off)
{
	bool first = true;

	r->n_iov = 0, r->len = 0;
	for (unsigned i = seg; i < c->n; i++, off = 0) {
		const struct virtq_seg *s = &c->seg[i];
		uint32_t end = s->len - (i == c->n - 1);
		if (!s->hva) {
			r->bad_buf = true;
			return;
		}
		if (off >= end)
			continue;
		if (first)
			r->dev_writes = s->write, first = false;
		else if (s->write != r->dev_writes)
			r->mixed = true;
		b->iov[r->n_iov++] = (struct iovec){(uint8_t *)s->hva + off, end - off};
		r->len += end - off;
	}
}

/* ------------------------------------------------------------ backend */

/* All of iov at off, resuming after short transfers.  0 or -errno (-EIO
 * for an end of file). */
static int rw_full(int fd, struct iovec *iov, unsigned n, uint64_t off, bool write)
{
	while (n) {
		ssize_t done = write ? pwritev(fd, iov, (int)n, (off_t)off)
				     : preadv(fd, iov, (int)n, (off_t)off);
		if (done < 0 && errno == EINTR)
			continue;
		if (done < 0)
			return -errno;
		if (done == 0)
			return -EIO;
		off += (uint64_t)done;
		while (n && (size_t)done >= iov->iov_len)
			done -= (ssize_t)iov->iov_len, iov++, n--;
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + done;
			iov->iov_len -= (size_t)done;
		}
	}
	return 0;
}

static bool direct_ok(const struct iovec *iov, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if ((uintptr_t)iov[i].iov_base % DIRECT_BUF_ALIGN || iov[i].iov_len % SECTOR)
			return false;
	return true;
}

static int bounce_reserve(struct hv_virtio_blk *b, uint64_t len)
{
	void *p;

	if (len > BOUNCE_MAX)
		return -E2BIG;
	if (b->bounce_size >= len)
		return 0;
	if (posix_memalign(&p, DIRECT_BUF_ALIGN, len))
		return -ENOMEM;
	free(b->bounce);
	b->bounce = p, b->bounce_size = len;
	return 0;
}

/* With O_DIRECT, through an aligned buffer when the guest's are not. */
static int transfer(struct hv_virtio_blk *b, struct blk_req *r, uint64_t off, bool write)
{
	struct iovec one;
	size_t pos = 0;
	int e;

	if (!b->cfg.direct || direct_ok(b->iov, r->n_iov))
		return rw_full(b->cfg.fd, b->iov, r->n_iov, off, write);
	e = bounce_reserve(b, r->len);
	if (e)
		return e;
	count(&b->stats.bounced, 1);
	if (write)
		for (unsigned i = 0; i < r->n_iov; pos += b->iov[i].iov_len, i++)
			memcpy((uint8_t *)b->bounce + pos, b->iov[i].iov_base, b->iov[i].iov_len);
	one = (struct iovec){b->bounce, r->len};
	e = rw_full(b->cfg.fd, &one, 1, off, write);
	if (!e && !write)
		for (unsigned i = 0; i < r->n_iov; pos += b->iov[i].iov_len, i++)
			memcpy(b->iov[i].iov_base, (uint8_t *)b->bounce + pos, b->iov[i].iov_len);
	return e;
}

/* ------------------------------------------------------------ requests */

/* Sectors [sector, sector + len/512) inside the disk, without overflow. */
static bool range_ok(const struct hv_virtio_blk *b, uint64_t sector, uint64_t len)
{
	uint64_t size = b->cfg.size_bytes;

	return len % SECTOR == 0 && sector <= size / SECTOR && len <= size - sector * SECTOR;
}

static void rw_counted(struct hv_virtio_blk *b, bool in, uint64_t len)
{
	count(in ? &b->stats.reads : &b->stats.writes, 1);
	count(in ? &b->stats.bytes_read : &b->stats.bytes_written, len);
}

/* A read or write the device can do: data of the right direction, whole
 * sectors inside the disk. */
static bool rw_valid(const struct hv_virtio_blk *b, const struct blk_req *r)
{
	bool in = r->type == VIRTIO_BLK_T_IN;

	/* The used element's length is 32 bits: data + status must fit. */
	return r->len && r->len < UINT32_MAX && r->dev_writes == in &&
	       range_ok(b, r->sector, r->len);
}

static uint8_t do_rw(struct hv_virtio_blk *b, struct blk_req *r, uint32_t *written)
{
	bool in = r->type == VIRTIO_BLK_T_IN;

	if (!rw_valid(b, r)) {
		count(&b->stats.bad_requests, 1);
		return VIRTIO_BLK_S_IOERR;
	}
	if (transfer(b, r, r->sector * SECTOR, !in))
		return VIRTIO_BLK_S_IOERR;
	if (in)
		*written = (uint32_t)r->len;
	rw_counted(b, in, r->len);
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_get_id(struct hv_virtio_blk *b, struct blk_req *r, uint32_t *written)
{
	static const char serial[VIRTIO_BLK_ID_BYTES] = BLK_SERIAL;
	uint64_t n = r->len < VIRTIO_BLK_ID_BYTES ? r->len : VIRTIO_BLK_ID_BYTES;
	size_t done = 0;

	if (!r->len || !r->dev_writes) {
		count(&b->stats.bad_requests, 1);
		return VIRTIO_BLK_S_IOERR;
	}
	for (unsigned i = 0; i < r->n_iov && done < n; i++) {
		size_t take = b->iov[i].iov_len < n - done ? b->iov[i].iov_len : n - done;
		memcpy(b->iov[i].iov_base, serial + done, take);
		done += take;
	}
	*written = (uint32_t)n;
	count(&b->stats.get_ids, 1);
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_flush(struct hv_virtio_blk *b, const struct blk_req *r)
{
	if (r->len) {
		count(&b->stats.bad_requests, 1);
		return VIRTIO_BLK_S_IOERR;
	}
	if (fdatasync(b->cfg.fd))
		return VIRTIO_BLK_S_IOERR;
	count(&b->stats.flushes, 1);
	return VIRTIO_BLK_S_OK;
}

static uint8_t execute(struct hv_virtio_blk *b, struct blk_req *r, uint32_t *written)
{
	if (r->bad_buf || r->mixed) {
		count(&b->stats.bad_requests, 1);
		return VIRTIO_BLK_S_IOERR;
	}
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return do_rw(b, r, written);
	case VIRTIO_BLK_T_FLUSH:
		return do_flush(b, r);
	case VIRTIO_BLK_T_GET_ID:
		return do_get_id(b, r, written);
	}
	count(&b->stats.bad_requests, 1);
	return VIRTIO_BLK_S_UNSUPP;
}

/* The status byte, then the used element, published at once: latency is
 * what the benchmarks measure. */
static void complete(struct hv_virtio_blk *b, struct virtq *q, uint16_t head, uint8_t *status,
		     uint8_t st, uint32_t written)
{
	if (st != VIRTIO_BLK_S_OK)
		count(&b->stats.io_errors, 1), written = 0;
	__atomic_store_n(status, st, __ATOMIC_RELAXED);
	virtq_push(q, head, written + 1);
	virtq_flush(&b->t, q);
}

static bool stopping(struct hv_virtio_blk *b)
{
	return hv_iothread_stopping(&b->io);
}

/* ------------------------------------------------------------ Linux AIO */

static long sys_io_submit(aio_context_t ctx, long n, struct iocb **cbs)
{
	return syscall(SYS_io_submit, ctx, n, cbs);
}

static long sys_io_getevents(aio_context_t ctx, long min, long max, struct io_event *ev,
			     struct timespec *timeout)
{
	return syscall(SYS_io_getevents, ctx, min, max, ev, timeout);
}

static bool async_ok(const struct hv_virtio_blk *b, const struct blk_req *r)
{
	return b->aio && b->n_free && (r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT) &&
	       !r->bad_buf && !r->mixed && rw_valid(b, r) && r->n_iov <= SLOT_IOV &&
	       (!b->cfg.direct || direct_ok(b->iov, r->n_iov));
}

static void async_queue(struct hv_virtio_blk *b, uint16_t head, const struct blk_req *r)
{
	unsigned idx = b->free_slots[--b->n_free];
	struct blk_slot *s = &b->slots[idx];

	s->head = head;
	s->status = r->status;
	s->in = r->type == VIRTIO_BLK_T_IN;
	s->off = r->sector * SECTOR;
	s->len = r->len;
	s->n_iov = r->n_iov;
	memcpy(s->iov, b->iov, r->n_iov * sizeof(s->iov[0]));
	s->cb = (struct iocb){
	    .aio_data = idx,
	    .aio_lio_opcode = s->in ? IOCB_CMD_PREADV : IOCB_CMD_PWRITEV,
	    .aio_fildes = (uint32_t)b->cfg.fd,
	    .aio_buf = (uintptr_t)s->iov,
	    .aio_nbytes = s->n_iov,
	    .aio_offset = (int64_t)s->off,
	};
	b->batch[b->n_batch++] = &s->cb;
}

/* A slot's I/O ended with res (bytes or -errno): complete it.  A short or
 * failed transfer is done again synchronously before it counts as an
 * error (reads and writes of whole sectors can be repeated). */
static void slot_finish(struct hv_virtio_blk *b, struct virtq *q, unsigned idx, long long res)
{
	struct blk_slot *s = &b->slots[idx];
	bool ok = res >= 0 && (uint64_t)res == s->len;

	if (!ok)
		ok = !rw_full(b->cfg.fd, s->iov, s->n_iov, s->off, !s->in);
	if (ok)
		rw_counted(b, s->in, s->len);
	complete(b, q, s->head, s->status, ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR,
		 ok && s->in ? (uint32_t)s->len : 0);
	b->free_slots[b->n_free++] = idx;
	b->inflight--;
}

static void async_submit(struct hv_virtio_blk *b, struct virtq *q)
{
	unsigned done = 0;

	while (done < b->n_batch) {
		long r = sys_io_submit(b->aio, b->n_batch - done, b->batch + done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		done += (unsigned)r;
		b->inflight += (unsigned)r;
	}
	if (b->inflight > b->stats.max_in_flight) /* only this thread writes it */
		__atomic_store_n(&b->stats.max_in_flight, b->inflight, __ATOMIC_RELAXED);
	for (unsigned i = done; i < b->n_batch; i++) { /* refused: do them now */
		b->inflight++;
		slot_finish(b, q, (unsigned)b->batch[i]->aio_data, -EAGAIN);
	}
	b->n_batch = 0;
}

/* io_getevents failed for good: io_destroy waits for what is in flight,
 * then every such request is done again synchronously; no AIO from now. */
static void async_give_up(struct hv_virtio_blk *b, struct virtq *q)
{
	bool busy[HV_VIRTQ_MAX] = {0};

	syscall(SYS_io_destroy, b->aio);
	b->aio = 0;
	for (unsigned i = 0; i < b->n_slots; i++)
		busy[i] = true;
	for (unsigned i = 0; i < b->n_free; i++)
		busy[b->free_slots[i]] = false;
	for (unsigned i = 0; i < b->n_slots; i++)
		if (busy[i])
			slot_finish(b, q, i, -EIO);
}

/*
 * Complete what has ended: wait for at least one, for as long as it takes
 * (block) or at most POLL_REAP_NS (poll mode, which then looks at the ring
 * again).  Poll mode sleeps here rather than spin: the kernel may need
 * this CPU to complete the I/O (a write's completion work runs on the
 * submitting CPU).  Returns how many.
 */
#define POLL_REAP_NS 50000
static long async_reap(struct hv_virtio_blk *b, struct virtq *q, bool block)
{
	struct timespec brief = {0, POLL_REAP_NS};
	long n = sys_io_getevents(b->aio, 1, b->n_slots, b->events, block ? NULL : &brief);

	if (n < 0 && errno != EINTR)
		async_give_up(b, q);
	for (long i = 0; i < n; i++)
		slot_finish(b, q, (unsigned)b->events[i].data, b->events[i].res);
	return n;
}

static void async_drain(struct hv_virtio_blk *b, struct virtq *q)
{
	async_submit(b, q);
	while (b->inflight)
		async_reap(b, q, true);
}

/* ------------------------------------------------------------ serving */

/*
 * Poll mode found the ring empty.  Every POLL_YIELD empty polls the thread
 * yields its CPU: on a busy host, or when it is not pinned apart from the
 * vCPU, the guest would otherwise wait for the scheduler to take the CPU
 * away from a spinning thread, a whole time slice per request.
 */
#define POLL_YIELD 256
static void poll_idle(struct hv_virtio_blk *b)
{
	count(&b->stats.polls_empty, 1);
	if (++b->poll_spins % POLL_YIELD == 0)
		sched_yield();
	else
		__builtin_ia32_pause();
}

/* One chain: parse, then queue it for AIO or execute and complete it.
 * false: the device needs a reset. */
static bool serve_chain(struct hv_virtio_blk *b, struct virtq *q)
{
	struct virtq_chain *c = &b->chain;
	struct blk_req r = {0};
	uint32_t written = 0;
	unsigned seg = 0;
	uint32_t off = 0;
	uint8_t st;

	count(&b->stats.requests, 1);
	if (!find_status(c, &r)) {
		count(&b->stats.bad_requests, 1);
		virtio_needs_reset(&b->t, "request without a device-writable status byte at its end");
		return false;
	}
	if (!read_header(c, &r, &seg, &off)) {
		count(&b->stats.bad_requests, 1);
		complete(b, q, c->head, r.status, VIRTIO_BLK_S_IOERR, 0);
		return true;
	}
	collect_data(b, c, &r, seg, off);
	if (async_ok(b, &r)) {
		async_queue(b, c->head, &r);
		return true;
	}
	if (r.type == VIRTIO_BLK_T_FLUSH)
		async_drain(b, q); /* the writes in flight are part of what it flushes */
	st = execute(b, &r, &written);
	complete(b, q, c->head, r.status, st, written);
	return true;
}

/* Take chains while there is room in flight, until the ring is empty,
 * broken or the device needs a reset; n counts them. */
static void take_chains(struct hv_virtio_blk *b, struct virtq *q, unsigned *n)
{
	const char *why;

	while (virtio_queue_live(&b->t, 0) && !stopping(b) && (!b->aio || b->n_free)) {
		switch (virtq_pop(b->vm, q, &b->chain, &why)) {
		case VIRTQ_CHAIN:
			++*n;
			if (!serve_chain(b, q))
				return;
			continue;
		case VIRTQ_BROKEN:
			count(&b->stats.bad_requests, 1);
			virtio_needs_reset(&b->t, why);
			return;
		case VIRTQ_EMPTY:
			return;
		}
	}
}

/*
 * One serving pass, under the transport's lock: take what is available,
 * keep it in flight, complete it, take more, until the ring is empty and
 * nothing is in flight; then notifications back on (and again if requests
 * came in meanwhile).  While a pass runs the driver need not notify
 * (VRING_USED_F_NO_NOTIFY / avail_event): the pass looks again after each
 * completion.  Returns how many chains it took.
 */
static unsigned serve(struct hv_virtio_blk *b)
{
	struct virtq *q = &b->t.vq[0];
	bool poll_mode = b->cfg.notify == HV_BLK_NOTIFY_POLL;
	unsigned n = 0;

	if (virtio_queue_live(&b->t, 0) && !q->notify_off)
		virtq_notifications(q, false);
	for (;;) {
		take_chains(b, q, &n);
		async_submit(b, q);
		if (b->inflight) {
			async_reap(b, q, !poll_mode);
			continue;
		}
		if (!virtio_queue_live(&b->t, 0))
			return n;
		if (poll_mode) {
			if (n) /* avail_event follows what was taken */
				virtq_notifications(q, false);
			return n;
		}
		if (stopping(b) || !virtq_notifications(q, true))
			return n;
	}
}

/* ------------------------------------------------------------ notify, thread */

static void kick(struct hv_virtio_blk *b)
{
	uint64_t one = 1;

	while (write(b->kick_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static int blk_notify(void *dev, struct vcpu *vcpu, unsigned q)
{
	struct hv_virtio_blk *b = dev;

	(void)vcpu, (void)q;
	/* ioeventfd: the thread counts what it reads from the eventfd, this
	 * kick included. */
	if (b->cfg.notify != HV_BLK_NOTIFY_IOEVENTFD)
		count(&b->stats.notifies, 1);
	switch (b->cfg.notify) {
	case HV_BLK_NOTIFY_SYNC:
		virtio_lock(&b->t);
		serve(b);
		virtio_unlock(&b->t);
		break;
	case HV_BLK_NOTIFY_IOEVENTFD: /* a write that reached userspace after all */
	case HV_BLK_NOTIFY_EXIT:
		kick(b);
		break;
	case HV_BLK_NOTIFY_POLL: /* the driver notified although asked not to */
		break;
	}
	return HV_CONTINUE;
}

/* Sleep until kicked; in ioeventfd mode the eventfd counts the guest's
 * notifications (one per QueueNotify write KVM absorbed). */
static void wait_kick(struct hv_virtio_blk *b)
{
	struct pollfd p = {.fd = b->kick_fd, .events = POLLIN};
	uint64_t n;

	if (poll(&p, 1, -1) <= 0)
		return;
	if (read(b->kick_fd, &n, sizeof(n)) == sizeof(n) &&
	    b->cfg.notify == HV_BLK_NOTIFY_IOEVENTFD && !stopping(b))
		count(&b->stats.notifies, n);
}

static void io_loop(void *dev)
{
	struct hv_virtio_blk *b = dev;

	while (!stopping(b)) {
		unsigned n;
		if (b->cfg.notify != HV_BLK_NOTIFY_POLL)
			wait_kick(b);
		virtio_lock(&b->t);
		n = serve(b);
		virtio_unlock(&b->t);
		if (!n && b->cfg.notify == HV_BLK_NOTIFY_POLL)
			poll_idle(b);
	}
}

/* Detach: get the thread out of its wait for a kick (poll mode has none). */
static void io_wake(void *dev)
{
	struct hv_virtio_blk *b = dev;

	if (b->kick_fd >= 0)
		kick(b);
}

static const struct hv_iothread_ops blk_io_ops = {
    .loop = io_loop,
    .wake = io_wake,
};

static int io_thread_start(struct hv_virtio_blk *b)
{
	return hv_iothread_start(&b->io, b->cfg.io_cpu, b->cfg.seccomp ? hv_seccomp_io_install : NULL,
				 &blk_io_ops, b);
}

/* ------------------------------------------------------------ attach */

static void blk_config_read(void *dev, uint32_t off, uint8_t *data, unsigned len)
{
	const struct hv_virtio_blk *b = dev;

	memcpy(data, (const uint8_t *)&b->config + off, len);
}

static const struct virtio_mmio_ops blk_ops = {
    .config_read = blk_config_read,
    .notify = blk_notify,
};

static int blk_mmio(void *opaque, struct vcpu *vcpu, uint64_t gpa, uint8_t *data, unsigned len,
		    bool write)
{
	struct hv_virtio_blk *b = opaque;

	return virtio_mmio_access(&b->t, vcpu, gpa - b->cfg.mmio_gpa, data, len, write);
}

static int config_check(const struct hv_blk_config *cfg, unsigned *qmax)
{
	*qmax = cfg->queue_size_max ? cfg->queue_size_max : BLK_QUEUE_DEFAULT;
	if (cfg->fd < 0 || !cfg->size_bytes || cfg->size_bytes % SECTOR ||
	    (unsigned)cfg->notify > HV_BLK_NOTIFY_POLL || *qmax > HV_VIRTQ_MAX ||
	    (*qmax & (*qmax - 1)) || cfg->mmio_gpa % HVB_VIRTIO_MMIO_SIZE)
		return -EINVAL;
	return 0;
}

static void config_fill(struct hv_virtio_blk *b, unsigned qmax)
{
	b->config.capacity = b->cfg.size_bytes / SECTOR;
	b->config.seg_max = qmax > 2 ? qmax - 2 : 1; /* header and status take two */
	b->config.blk_size = SECTOR;
}

static int kick_fd_open(struct hv_virtio_blk *b)
{
	b->kick_fd = -1;
	switch (b->cfg.notify) {
	case HV_BLK_NOTIFY_IOEVENTFD:
		return vm_ioeventfd_add_fd(b->vm, b->cfg.mmio_gpa + VIRTIO_MMIO_QUEUE_NOTIFY, false,
					   &b->kick_fd);
	case HV_BLK_NOTIFY_EXIT:
		b->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		b->own_kick_fd = b->kick_fd >= 0;
		return b->kick_fd < 0 ? -errno : 0;
	case HV_BLK_NOTIFY_SYNC:
	case HV_BLK_NOTIFY_POLL:
		break;
	}
	return 0;
}

/* Linux AIO for the I/O thread: one slot per queue entry.  A kernel that
 * refuses io_setup (ENOSYS, aio-max-nr reached) leaves the device serving
 * synchronously, which dev_virtio_blk_backend reports. */
static int aio_open(struct hv_virtio_blk *b, unsigned qmax)
{
	b->n_slots = qmax;
	b->slots = calloc(qmax, sizeof(*b->slots));
	b->free_slots = calloc(qmax, sizeof(*b->free_slots));
	b->batch = calloc(qmax, sizeof(*b->batch));
	b->events = calloc(qmax, sizeof(*b->events));
	if (!b->slots || !b->free_slots || !b->batch || !b->events)
		return -ENOMEM;
	for (unsigned i = 0; i < qmax; i++)
		b->free_slots[i] = qmax - 1 - i;
	b->n_free = qmax;
	if (syscall(SYS_io_setup, qmax, &b->aio))
		b->aio = 0;
	return 0;
}

static void blk_free(struct hv_virtio_blk *b)
{
	if (b->aio)
		syscall(SYS_io_destroy, b->aio);
	free(b->slots);
	free(b->free_slots);
	free(b->batch);
	free(b->events);
	if (b->own_kick_fd)
		close(b->kick_fd);
	virtio_mmio_destroy(&b->t);
	free(b->bounce);
	free(b);
}

int dev_virtio_blk_attach(struct vm *vm, const struct hv_blk_config *cfg,
			  struct hv_virtio_blk **out)
{
	struct hv_virtio_blk *b;
	unsigned qmax;
	int r;

	r = config_check(cfg, &qmax);
	if (r)
		return r;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->vm = vm;
	b->cfg = *cfg;
	b->kick_fd = -1;
	config_fill(b, qmax);
	r = virtio_mmio_init(&b->t, vm, "virtio-blk", VIRTIO_ID_BLOCK, BLK_FEATURES,
			     sizeof(b->config), (uint16_t)qmax, 1, &blk_ops, b);
	if (r) {
		free(b);
		return r;
	}
	r = vm_mmio_register(vm, cfg->mmio_gpa, HVB_VIRTIO_MMIO_SIZE, blk_mmio, b, "virtio-blk");
	if (r)
		goto err_free;
	r = kick_fd_open(b);
	if (!r && cfg->notify != HV_BLK_NOTIFY_SYNC)
		r = aio_open(b, qmax);
	if (!r && cfg->notify != HV_BLK_NOTIFY_SYNC)
		r = io_thread_start(b);
	if (r)
		goto err_unregister;
	*out = b;
	return 0;

err_unregister:
	hv_iothread_stop(&b->io);
	vm_mmio_unregister(vm, cfg->mmio_gpa);
err_free:
	blk_free(b);
	return r;
}

void dev_virtio_blk_detach(struct hv_virtio_blk *blk)
{
	if (!blk)
		return;
	hv_iothread_stop(&blk->io);
	vm_mmio_unregister(blk->vm, blk->cfg.mmio_gpa);
	blk_free(blk);
}

void dev_virtio_blk_stats(const struct hv_virtio_blk *blk, struct hv_blk_stats *out)
{
	const uint64_t *src = (const uint64_t *)&blk->stats;
	uint64_t *dst = (uint64_t *)out;

	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	out->resets_needed = __atomic_load_n(&blk->t.resets_needed, __ATOMIC_RELAXED);
	out->bad_accesses = __atomic_load_n(&blk->t.bad_accesses, __ATOMIC_RELAXED);
}

pid_t dev_virtio_blk_io_tid(const struct hv_virtio_blk *blk)
{
	return hv_iothread_tid(&blk->io);
}

uint32_t dev_virtio_blk_status(const struct hv_virtio_blk *blk, char *why, size_t len)
{
	uint32_t s = virtio_status(&blk->t);

	if (why && len) {
		virtio_lock((struct virtio_mmio *)&blk->t);
		snprintf(why, len, "%s", s & VIRTIO_CONFIG_S_NEEDS_RESET ? blk->t.why : "");
		virtio_unlock((struct virtio_mmio *)&blk->t);
	}
	return s;
}

const char *dev_virtio_blk_backend(const struct hv_virtio_blk *blk)
{
	return blk->aio ? "linux-aio" : "sync";
}

static const char *const notify_names[] = {
    [HV_BLK_NOTIFY_IOEVENTFD] = "ioeventfd",
    [HV_BLK_NOTIFY_EXIT] = "exit",
    [HV_BLK_NOTIFY_SYNC] = "sync",
    [HV_BLK_NOTIFY_POLL] = "poll",
};

const char *hv_blk_notify_name(enum hv_blk_notify n)
{
	return (unsigned)n < sizeof(notify_names) / sizeof(notify_names[0]) ? notify_names[n] : "?";
}

int hv_blk_notify_parse(const char *s, enum hv_blk_notify *out)
{
	for (unsigned i = 0; s && i < sizeof(notify_names) / sizeof(notify_names[0]); i++)
		if (!strcmp(s, notify_names[i])) {
			*out = (enum hv_blk_notify)i;
			return 0;
		}
	return -EINVAL;
}
