/*
 * io/verify: the block path moves the right bytes to the right place.  One
 * operation writes a 64 KiB pattern (different for every operation) at a
 * seeded 64 KiB-aligned offset, flushes, reads the range back and compares
 * it word by word.  A mismatch, an error status or a request that never
 * completes ends the cell as failed (rt_fail) with a reason that names
 * the operation, the sector and the byte; its time per operation is a
 * by-product, not a benchmark.
 *
 * The pattern is recomputable from the disk alone, so the host can check
 * the file after the guest stopped (tests/qemu/test_virtio_blk.sh):
 *
 *   mix(x)   = the splitmix64 finalizer: x ^= x >> 30; x *= 0xbf58476d1ce4e5b9;
 *              x ^= x >> 27; x *= 0x94d049bb133111eb; x ^= x >> 31 (mod 2^64)
 *   op k     = 0, 1, 2, ... over the cell (setup's check is op 0)
 *   h_k      = mix(VERIFY_SEED + k)
 *   blocks   = sectors / 128 (64 KiB blocks of the disk)
 *   block    = h_k mod blocks, i.e. sectors [block * 128, block * 128 + 128)
 *   sector s of that block holds 64 little-endian 64-bit words:
 *            w[0] = VERIFY_MAGIC ("HVBVERIF"), w[1] = k, w[2] = s,
 *            w[i] = mix(h_k ^ (s * 64 + i))   for i = 3 .. 63
 *
 * So every written block names the last operation that wrote it, and a
 * checker that knows the last k (the largest in the file; the teardown's
 * LOG line says it too) can tell a lost write (an older k, or zeros, where
 * the last op that chose this block left its k) and a misplaced one (w[2]
 * or the block not h_k's) from a correct disk.
 */
#include "workload.h"

#define VERIFY_SEED  0x6876626b76657269ull /* "hvbkveri" */
#define VERIFY_MAGIC 0x4649524556425648ull /* "HVBVERIF" as little-endian bytes */
#define VERIFY_BYTES (64u * 1024)
#define VERIFY_SECTORS (VERIFY_BYTES / RT_BLK_SECTOR)
#define WORDS_PER_SECTOR (RT_BLK_SECTOR / 8)
#define WAIT_SECONDS 10 /* a request that takes longer is a hung device */

static struct verify {
	struct rt_blk_info info;
	uint64_t *wbuf, *rbuf;
	uint64_t blocks;
	uint64_t k;	       /* the next operation */
	uint64_t last_sector;  /* first sector of the last operation's block */
	bool failed;
	char why[160];	       /* rt_fail's text: static, outlives the cell */
} v;

static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static void pattern(uint64_t *buf, uint64_t k, uint64_t first_sector)
{
	uint64_t h = mix(VERIFY_SEED + k);

	for (unsigned j = 0; j < VERIFY_SECTORS; j++) {
		uint64_t s = first_sector + j, *w = buf + j * WORDS_PER_SECTOR;

		w[0] = VERIFY_MAGIC;
		w[1] = k;
		w[2] = s;
		for (unsigned i = 3; i < WORDS_PER_SECTOR; i++)
			w[i] = mix(h ^ (s * WORDS_PER_SECTOR + i));
	}
}

/* ---------------------------------------------- reasons */

/* "io/verify: op K, sector S: WHATTAIL" into v.why (records carry 95
 * characters: keep WHATTAIL under 50); returns it. */
static const char *reason(uint64_t sector, const char *what, const char *tail)
{
	size_t at = rt_text_str(v.why, sizeof(v.why), 0, "io/verify: op ");

	at = rt_text_dec(v.why, sizeof(v.why), at, v.k);
	at = rt_text_str(v.why, sizeof(v.why), at, ", sector ");
	at = rt_text_dec(v.why, sizeof(v.why), at, sector);
	at = rt_text_str(v.why, sizeof(v.why), at, ": ");
	at = rt_text_str(v.why, sizeof(v.why), at, what);
	rt_text_str(v.why, sizeof(v.why), at, tail);
	return v.why;
}

/* ---------------------------------------------- one request, waited for */

/* 0, or the reason the request failed. */
static const char *request(enum rt_blk_op op, uint64_t sector, void *buf, uint32_t bytes)
{
	static const char *const names[] = { [RT_BLK_READ] = "read", [RT_BLK_WRITE] = "write",
					     [RT_BLK_FLUSH] = "flush" };
	uint64_t tag, t0, limit = (uint64_t)WAIT_SECONDS * rt_tsc_khz() * 1000;
	int st;

	if (rt_blk_submit(op, sector, buf, bytes, v.k) < 0)
		return reason(sector, names[op], " refused by the driver");
	rt_blk_kick();
	t0 = rt_tsc_begin();
	while (!rt_blk_poll(&tag, &st, 1))
		if (rt_tsc_begin() - t0 > limit)
			return reason(sector, names[op], " did not complete within 10 s");
	if (tag != v.k)
		return reason(sector, names[op], " completed with another tag");
	if (st)
		return reason(sector, names[op], " completed with an error (-EIO)");
	return 0;
}

/* The first word that differs, named by its sector and byte. */
static const char *compare(uint64_t first_sector)
{
	static char what[96];

	for (unsigned i = 0; i < VERIFY_BYTES / 8; i++) {
		size_t at;

		if (v.rbuf[i] == v.wbuf[i])
			continue;
		at = rt_text_str(what, sizeof(what), 0, "byte ");
		at = rt_text_dec(what, sizeof(what), at, (uint64_t)(i % WORDS_PER_SECTOR) * 8);
		at = rt_text_str(what, sizeof(what), at, " reads ");
		at = rt_text_hex(what, sizeof(what), at, v.rbuf[i]);
		at = rt_text_str(what, sizeof(what), at, " not ");
		rt_text_hex(what, sizeof(what), at, v.wbuf[i]);
		return reason(first_sector + i / WORDS_PER_SECTOR, what, "");
	}
	return 0;
}

static const char *verify_one(void)
{
	uint64_t sector = mix(VERIFY_SEED + v.k) % v.blocks * VERIFY_SECTORS;
	const char *why;

	pattern(v.wbuf, v.k, sector);
	why = request(RT_BLK_WRITE, sector, v.wbuf, VERIFY_BYTES);
	if (!why)
		why = request(RT_BLK_FLUSH, 0, 0, 0);
	if (!why)
		why = request(RT_BLK_READ, sector, v.rbuf, VERIFY_BYTES);
	if (!why)
		why = compare(sector);
	v.last_sector = sector;
	v.k++;
	return why;
}

/* ---------------------------------------------- the workload */

static bool verify_valid(struct hvb_ctx *ctx, const char **reason_out)
{
	(void)ctx;
	return rt_has(HVB_CAP_BLK, reason_out);
}

static void release(void)
{
	rt_blk_buf_free(v.wbuf, VERIFY_BYTES);
	rt_blk_buf_free(v.rbuf, VERIFY_BYTES);
	v.wbuf = v.rbuf = 0;
}

static int verify_setup(struct hvb_ctx *ctx, const char **why)
{
	int e;

	v = (struct verify){ 0 };
	e = rt_blk_open(&v.info, why);
	if (e < 0)
		return e;
	if (v.info.max_bytes < VERIFY_BYTES || v.info.sectors < VERIFY_SECTORS) {
		*why = "io/verify needs 64 KiB requests and a disk of at least 64 KiB";
		return -22;
	}
	v.blocks = v.info.sectors / VERIFY_SECTORS;
	v.wbuf = rt_blk_buf_alloc(VERIFY_BYTES);
	v.rbuf = rt_blk_buf_alloc(VERIFY_BYTES);
	if (!v.wbuf || !v.rbuf) {
		release();
		*why = "io/verify: no memory for two 64 KiB buffers";
		return -12;
	}
	ctx->note = v.info.note;
	*why = verify_one(); /* op 0, untimed: a broken path fails here, before timing */
	if (*why) {
		release();
		return -5;
	}
	return 0;
}

static void verify_run(struct hvb_ctx *ctx, uint64_t n)
{
	for (uint64_t i = 0; i < n && !v.failed; i++) {
		const char *why = verify_one();

		if (why) {
			v.failed = true;
			rt_fail(ctx, why);
		}
	}
}

/* What the host-side check needs: how many operations ran, which was last. */
static void verify_teardown(struct hvb_ctx *ctx)
{
	char msg[160];
	size_t at = rt_text_str(msg, sizeof(msg), 0, "io/verify: ");

	(void)ctx;
	at = rt_text_dec(msg, sizeof(msg), at, v.k);
	at = rt_text_str(msg, sizeof(msg), at, " operations, last op ");
	at = rt_text_dec(msg, sizeof(msg), at, v.k - 1);
	at = rt_text_str(msg, sizeof(msg), at, " at sector ");
	at = rt_text_dec(msg, sizeof(msg), at, v.last_sector);
	rt_text_str(msg, sizeof(msg), at, v.failed ? ", FAILED" : ", all verified");
	rt_log(msg);
	release();
}

static const struct hvb_workload io_verify = {
	.name = "io/verify",
	.desc = "write a seeded 64 KiB pattern at a seeded offset, flush, read it back, compare",
	.kind = HVB_KIND_TIME_PER_OP,
	.valid = verify_valid,
	.setup = verify_setup,
	.run = verify_run,
	.teardown = verify_teardown,
	.needs = HVB_CAP_BLK,
};
HVB_WORKLOAD(io_verify);
