/*
 * io/: block I/O through rt_blk_* (workload.h), one operation = one
 * request (io/flush: a write and a flush), the same code natively and in
 * every guest; what differs is what serves a request, which is what these
 * measure:
 *
 *   io/randread-4k-qd1, io/randwrite-4k-qd1   latency of one request alone
 *   io/randread-4k-qd32                       IOPS with 32 in flight
 *   io/seqread-1m, io/seqwrite-1m             MB/s of 1 MiB requests, QD1
 *   io/flush                                  a 4 KiB write made durable
 *
 * Every request is timed from submit to the completion its poll saw
 * (rt_req_time: the harness gives req_ns.p50/.p99/.p999/.max and ops_per_s
 * per repetition).  Offsets: random ones from rt_rand with a seed fixed per
 * workload, 4 KiB aligned over the whole disk (info.sectors), so every
 * runner issues the identical sequence from setup on (the calibration
 * consumes a runner-dependent prefix of it); sequential ones walk the disk
 * in request steps and wrap.  ci/bench/fio-crosscheck replays the same
 * offsets with fio (it has a copy of the generator; tests/unit/test_io.c
 * pins both to the same values).
 *
 * Sequential requests are issued at depth 1, as fio does by default
 * (iodepth=1): each request is 1 MiB, so the per-request cost is already
 * amortised over 256 pages, the bandwidth figures are per-request costs
 * every platform can be compared on, and the latency rows stay meaningful.
 * io/randread-4k-qd32 is the one that measures concurrency.
 */
#include "workload.h"

#include "io/io.h"

#define BLOCK	      4096u
#define SEQ_BYTES     RT_BLK_MAX_BYTES
#define QD_DEEP	      32u
#define IO_EIO_WHY    "io: a request completed with an I/O error (see the log)"
#define IO_SUBMIT_WHY "io: rt_blk_submit refused a request the device said it takes"
#define IO_TAG_WHY    "io: a completion carried a tag that was not in flight"

/* What one io/ workload issues. */
struct io_params {
	enum rt_blk_op op; /* READ or WRITE (io/flush: the write before each flush) */
	uint32_t bytes;	   /* per request (capped by info.max_bytes) */
	unsigned depth;	   /* requests kept in flight (capped by info.max_depth) */
	bool sequential;
	bool flush;    /* io/flush: each operation = write + timed flush */
	uint64_t seed; /* rt_rand seed of the random offsets */
};

/* Seeds: "io/rr1", "io/rw1", "io/rr32", "io/fl" as bytes (any fixed
 * non-zero value works; fio-crosscheck has the same ones). */
#define SEED_RANDREAD_QD1  0x3172722f6f69ull
#define SEED_RANDWRITE_QD1 0x3177722f6f69ull
#define SEED_RANDREAD_QD32 0x323372722f6f69ull
#define SEED_FLUSH	   0x6c662f6f69ull

static struct io {
	const struct io_params *p;
	struct rt_blk_info info;
	uint32_t bytes;
	unsigned depth;
	uint64_t positions; /* request-aligned positions on the disk */
	uint64_t rng, next;
	uint8_t *buf; /* depth buffers of `bytes` */
	size_t buf_bytes;
	uint64_t t_submit[RT_BLK_MAX_DEPTH];
	unsigned free_tag[RT_BLK_MAX_DEPTH], n_free;
	char note[HVB_TEXT_MAX];
} io;

/* ------------------------------------------------------------ offsets */

uint64_t io_next_sector(uint64_t *rng, uint64_t *next, uint64_t positions, uint32_t bytes,
			bool sequential)
{
	uint64_t pos;

	if (sequential) {
		pos = *next;
		*next = pos + 1 < positions ? pos + 1 : 0;
	} else {
		pos = rt_rand(rng) % positions;
	}
	return pos * (bytes / RT_BLK_SECTOR);
}

static uint64_t next_sector(void)
{
	return io_next_sector(&io.rng, &io.next, io.positions, io.bytes, io.p->sequential);
}

/* ------------------------------------------------------------ set-up */

static uint32_t request_bytes(const struct io_params *p, const struct rt_blk_info *info)
{
	uint32_t max = info->max_bytes - info->max_bytes % BLOCK;

	return p->bytes < max ? p->bytes : max;
}

/* The disk is there and holds at least one request. */
static bool io_valid(const struct io_params *p, const char **why)
{
	struct rt_blk_info info;

	if (!rt_has(HVB_CAP_BLK, why) || rt_blk_open(&info, why) < 0)
		return false;
	if (request_bytes(p, &info) < BLOCK) {
		*why = "the block device takes requests smaller than 4 KiB";
		return false;
	}
	if (info.sectors < request_bytes(p, &info) / RT_BLK_SECTOR) {
		*why = "the disk is smaller than one request of this workload";
		return false;
	}
	return true;
}

/* What served the requests, and where this run differs from the name. */
static void io_note(void)
{
	size_t at = rt_text_str(io.note, sizeof(io.note), 0, io.info.note);

	if (io.depth < io.p->depth) {
		at = rt_text_str(io.note, sizeof(io.note), at, "; QD");
		at = rt_text_dec(io.note, sizeof(io.note), at, io.depth);
		at = rt_text_str(io.note, sizeof(io.note), at, " (device max)");
	}
	if (io.bytes < io.p->bytes) {
		at = rt_text_str(io.note, sizeof(io.note), at, "; ");
		at = rt_text_dec(io.note, sizeof(io.note), at, io.bytes / 1024);
		at = rt_text_str(io.note, sizeof(io.note), at, " KiB requests (device max)");
	}
	if (io.p->flush && !io.info.flush)
		rt_text_str(io.note, sizeof(io.note), at, "; flush is a no-op here");
}

static int io_setup(struct hvb_ctx *c, const char **why, const struct io_params *p)
{
	uint64_t fill = 0x5a5a5a5a5a5a5a5aull;

	rt_memset(&io, 0, sizeof(io));
	io.p = p;
	if (rt_blk_open(&io.info, why) < 0)
		return -1;
	io.bytes = request_bytes(p, &io.info);
	io.depth = p->depth < io.info.max_depth ? p->depth : io.info.max_depth;
	io.positions = io.info.sectors / (io.bytes / RT_BLK_SECTOR);
	io.rng = p->seed;
	io.buf_bytes = (size_t)io.depth * io.bytes;
	io.buf = rt_blk_buf_alloc(io.buf_bytes);
	if (!io.buf) {
		*why = "no memory for the request buffers (rt_blk_buf_alloc)";
		return -1;
	}
	/* Writes carry data that is neither zero nor compressible to nothing. */
	for (size_t i = 0; i < io.buf_bytes / 8; i++)
		((uint64_t *)io.buf)[i] = rt_rand(&fill);
	for (unsigned t = 0; t < io.depth; t++)
		io.free_tag[t] = io.depth - 1 - t;
	io.n_free = io.depth;
	io_note();
	c->note = io.note;
	c->bytes_per_op = io.bytes;
	c->priv = &io;
	return 0;
}

static void io_teardown(struct hvb_ctx *c)
{
	(void)c;
	rt_blk_buf_free(io.buf, io.buf_bytes);
	io.buf = 0;
}

/* ------------------------------------------------------------ depth 1 */

/* Submit one request and poll until it completes; false (after rt_fail)
 * if the device refused or failed it. */
static bool one_request(struct hvb_ctx *c, enum rt_blk_op op, uint64_t sector, void *buf,
			uint32_t bytes)
{
	uint64_t tag;
	int status;

	if (rt_blk_submit(op, sector, buf, bytes, 0) < 0) {
		rt_fail(c, IO_SUBMIT_WHY);
		return false;
	}
	rt_blk_kick();
	while (!rt_blk_poll(&tag, &status, 1))
		;
	if (status) {
		rt_fail(c, IO_EIO_WHY);
		return false;
	}
	return true;
}

/* n requests one after the other, each timed from submit to completion. */
static void run_qd1(struct hvb_ctx *c, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t sector = next_sector(), t0, t1;
		bool ok;

		t0 = rt_tsc_begin();
		ok = one_request(c, io.p->op, sector, io.buf, io.bytes);
		t1 = rt_tsc_end();
		if (!ok)
			return;
		rt_req_time(c, t1 - t0);
	}
}

/* n times: a 4 KiB write (waited for, not timed as a request), then a
 * flush, timed: req_ns is the flush alone, ns_per_op the pair. */
static void run_flush(struct hvb_ctx *c, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0, t1;
		bool ok;

		if (!one_request(c, RT_BLK_WRITE, next_sector(), io.buf, io.bytes))
			return;
		t0 = rt_tsc_begin();
		ok = one_request(c, RT_BLK_FLUSH, 0, 0, 0);
		t1 = rt_tsc_end();
		if (!ok)
			return;
		rt_req_time(c, t1 - t0);
	}
}

/* ------------------------------------------------------------ depth > 1 */

/* Fill the queue up to the depth (never past n requests): how many were
 * queued, or -1 (after rt_fail) if the device refused one. */
static int fill_queue(struct hvb_ctx *c, uint64_t *issued, uint64_t n)
{
	int queued = 0;

	while (io.n_free && *issued < n) {
		unsigned tag = io.free_tag[io.n_free - 1];

		io.t_submit[tag] = rt_tsc_begin();
		if (rt_blk_submit(io.p->op, next_sector(), io.buf + (size_t)tag * io.bytes,
				  io.bytes, tag) < 0) {
			rt_fail(c, IO_SUBMIT_WHY);
			return -1;
		}
		io.n_free--;
		(*issued)++;
		queued++;
	}
	return queued;
}

/* Exactly n requests with io.depth in flight, each timed from its submit
 * to the poll that found it complete. */
static void run_deep(struct hvb_ctx *c, uint64_t n)
{
	uint64_t tags[RT_BLK_MAX_DEPTH], issued = 0, done = 0, now;
	int status[RT_BLK_MAX_DEPTH];
	unsigned got;

	while (done < n) {
		int queued = fill_queue(c, &issued, n);

		if (queued < 0)
			return;
		if (queued)
			rt_blk_kick();
		got = rt_blk_poll(tags, status, io.depth);
		now = rt_tsc_end();
		for (unsigned i = 0; i < got; i++) {
			if (tags[i] >= io.depth || status[i]) {
				rt_fail(c, status[i] ? IO_EIO_WHY : IO_TAG_WHY);
				return;
			}
			rt_req_time(c, now - io.t_submit[tags[i]]);
			io.free_tag[io.n_free++] = (unsigned)tags[i];
		}
		done += got;
	}
}

/* ------------------------------------------------------------ descriptors */

static void run_io(struct hvb_ctx *c, uint64_t n)
{
	if (io.p->flush)
		run_flush(c, n);
	else if (io.depth > 1)
		run_deep(c, n);
	else
		run_qd1(c, n);
}

#define IO_WORKLOAD(var, wname, wkind, wbytes, wdesc, ...)                                         \
	static const struct io_params params_##var = {__VA_ARGS__};                                \
	static bool valid_##var(struct hvb_ctx *c, const char **why)                               \
	{                                                                                          \
		(void)c;                                                                           \
		return io_valid(&params_##var, why);                                               \
	}                                                                                          \
	static int setup_##var(struct hvb_ctx *c, const char **why)                                \
	{                                                                                          \
		return io_setup(c, why, &params_##var);                                            \
	}                                                                                          \
	static const struct hvb_workload var = {                                                   \
	    .name = wname,                                                                         \
	    .desc = wdesc,                                                                         \
	    .kind = wkind,                                                                         \
	    .bytes_per_op = wbytes, /* setup: what the device allows */                            \
	    .valid = valid_##var,                                                                  \
	    .setup = setup_##var,                                                                  \
	    .run = run_io,                                                                         \
	    .teardown = io_teardown,                                                               \
	    .needs = HVB_CAP_BLK,                                                                  \
	    .per_request = true,                                                                   \
	};                                                                                         \
	HVB_WORKLOAD(var)

IO_WORKLOAD(randread_4k_qd1, "io/randread-4k-qd1", HVB_KIND_TIME_PER_OP, BLOCK,
	    "one 4 KiB read at a random 4 KiB-aligned offset, alone (QD1)", .op = RT_BLK_READ,
	    .bytes = BLOCK, .depth = 1, .seed = SEED_RANDREAD_QD1);
IO_WORKLOAD(randwrite_4k_qd1, "io/randwrite-4k-qd1", HVB_KIND_TIME_PER_OP, BLOCK,
	    "one 4 KiB write at a random 4 KiB-aligned offset, alone (QD1)", .op = RT_BLK_WRITE,
	    .bytes = BLOCK, .depth = 1, .seed = SEED_RANDWRITE_QD1);
IO_WORKLOAD(randread_4k_qd32, "io/randread-4k-qd32", HVB_KIND_RATE, BLOCK,
	    "one 4 KiB random read with 32 kept in flight (IOPS)", .op = RT_BLK_READ,
	    .bytes = BLOCK, .depth = QD_DEEP, .seed = SEED_RANDREAD_QD32);
IO_WORKLOAD(seqread_1m, "io/seqread-1m", HVB_KIND_BANDWIDTH, SEQ_BYTES,
	    "one 1 MiB read, sequential over the disk and wrapping (QD1)", .op = RT_BLK_READ,
	    .bytes = SEQ_BYTES, .depth = 1, .sequential = true);
IO_WORKLOAD(seqwrite_1m, "io/seqwrite-1m", HVB_KIND_BANDWIDTH, SEQ_BYTES,
	    "one 1 MiB write, sequential over the disk and wrapping (QD1)", .op = RT_BLK_WRITE,
	    .bytes = SEQ_BYTES, .depth = 1, .sequential = true);
IO_WORKLOAD(flush, "io/flush", HVB_KIND_TIME_PER_OP, BLOCK,
	    "a 4 KiB random write, then a flush; req_ns times the flush alone", .op = RT_BLK_WRITE,
	    .bytes = BLOCK, .depth = 1, .flush = true, .seed = SEED_FLUSH);
