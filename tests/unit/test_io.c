/*
 * The native block back end (workloads/native/blk.c) against temporary
 * files, and the io/ workloads through the real harness on it:
 *   - open: its errors as the cells show them (no disk=, missing file,
 *     too small, odirect= junk, a directory), the info it gives;
 *   - requests at depth 1 and through Linux AIO at depth 32, with and
 *     without O_DIRECT: the data read is the file's, the data written
 *     lands in the file (read back with plain pread), flush, -EAGAIN
 *     past the depth, -EINVAL for bad arguments, -EIO with a log line
 *     for a request the file no longer covers;
 *   - the io/ offsets (pinned to the values ci/bench/fio-crosscheck's
 *     copy of the generator produces) and every io/ workload's rows.
 * The cases needing a disk= word run inside the harness (valid() of a
 * test workload): the back end reads its words from the harness's
 * command line, as in the native runner's child.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "io/io.h"
#include "native/rt_native.h"
#include "harness_capture.h"
#include "tap.h"

#define MAX_RECS   8192
#define DISK_BYTES (8u << 20) /* 2048 blocks of 4 KiB */
#define BLOCKS	   (DISK_BYTES / 4096)

static struct hvb_record recs[MAX_RECS];
static unsigned n_recs;
static char dir[] = "/tmp/hvb-test-io-XXXXXX";
static char disk[256];
static void (*api_case)(void); /* what test/blk-api's valid() runs */

static bool valid_api(struct hvb_ctx *c, const char **why)
{
	(void)c;
	api_case();
	*why = "test case ran";
	return false;
}

static void run_nothing(struct hvb_ctx *c, uint64_t n)
{
	(void)c, (void)n;
}

static const struct hvb_workload w_api = {
    .name = "test/blk-api",
    .desc = "runs api_case() in valid()",
    .valid = valid_api,
    .run = run_nothing,
};
HVB_WORKLOAD(w_api);

/* Run the harness with `words` (after a fresh back end) into recs[]. */
static void harness(const char *words)
{
	char cmdline[1024];

	rt_native_blk_close();
	snprintf(cmdline, sizeof(cmdline), "tsc_khz=1000000 goal_us=2000 batches=3 %s", words);
	(void)harness_capture(cmdline, recs, MAX_RECS, &n_recs);
}

static const struct hvb_record *find(uint16_t type, const char *workload, const char *metric)
{
	for (unsigned i = 0; i < n_recs; i++)
		if (recs[i].type == type && !strcmp(recs[i].workload, workload) &&
		    (!metric || !strcmp(recs[i].metric, metric)))
			return &recs[i];
	return NULL;
}

static const char *status_text(const char *workload)
{
	const struct hvb_record *r = find(HVB_REC_STATUS, workload, NULL);

	return r ? r->text : "(no status record)";
}

static bool has_log(const char *prefix)
{
	for (unsigned i = 0; i < n_recs; i++)
		if (recs[i].type == HVB_REC_LOG && !strncmp(recs[i].text, prefix, strlen(prefix)))
			return true;
	return false;
}

/* The disk file: block b holds the 8-byte value b + 1 at each of its 512 slots. */
static void make_disk(const char *path, size_t bytes)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	uint64_t *block = malloc(4096);

	for (size_t b = 0; b < bytes / 4096; b++) {
		for (unsigned i = 0; i < 512; i++)
			block[i] = b + 1;
		if (pwrite(fd, block, 4096, (off_t)(b * 4096)) != 4096)
			abort();
	}
	if (bytes % 4096 && ftruncate(fd, (off_t)bytes))
		abort();
	free(block);
	close(fd);
}

static uint64_t file_word(size_t off)
{
	int fd = open(disk, O_RDONLY);
	uint64_t v = 0;

	if (pread(fd, &v, sizeof(v), (off_t)off) != sizeof(v))
		v = ~0ull;
	close(fd);
	return v;
}

static bool block_is(const uint64_t *buf, uint64_t v)
{
	for (unsigned i = 0; i < 512; i++)
		if (buf[i] != v)
			return false;
	return true;
}

/* ------------------------------------------------------------ open errors */

static void test_open_errors(void)
{
	char words[512], small[300];

	harness("w=io/randread-4k-qd1");
	TAP_EQ_STR(status_text("io/randread-4k-qd1"),
		   "needs the run's disk, which this runner did not attach",
		   "no HVB_CAP_BLK: skipped with the reason");
	harness("w=io/randread-4k-qd1 caps=0x1000");
	TAP_EQ_STR(status_text("io/randread-4k-qd1"),
		   "no disk= word: the runner attached no disk file", "no disk=: named");
	snprintf(words, sizeof(words), "w=io/randread-4k-qd1 caps=0x1000 disk=%s/nope", dir);
	harness(words);
	TAP_OK(strstr(status_text("io/randread-4k-qd1"), "disk= file does not exist: /tmp/") !=
		   NULL,
	       "missing file: named");
	snprintf(small, sizeof(small), "%s/small", dir);
	make_disk(small, 1000);
	snprintf(words, sizeof(words), "w=io/randread-4k-qd1 caps=0x1000 disk=%s", small);
	harness(words);
	TAP_OK(strstr(status_text("io/randread-4k-qd1"), "disk= too small: 1000 bytes") != NULL,
	       "a file under 4 KiB: too small, with its size");
	snprintf(words, sizeof(words), "w=io/randread-4k-qd1 caps=0x1000 disk=%s odirect=yes",
		 disk);
	harness(words);
	TAP_EQ_STR(status_text("io/randread-4k-qd1"), "odirect=yes: must be 0 or 1",
		   "odirect= junk: refused");
	snprintf(words, sizeof(words), "w=io/randread-4k-qd1 caps=0x1000 disk=%s", dir);
	harness(words);
	TAP_OK(strstr(status_text("io/randread-4k-qd1"),
		      "disk= cannot be opened read-write (Is a directory)") != NULL,
	       "a directory: cannot open read-write");
	make_disk(small, 512 * 1024);
	snprintf(words, sizeof(words), "w=io/seqread-1m,io/randread-4k-qd1 caps=0x1000 disk=%s",
		 small);
	harness(words);
	TAP_EQ_STR(status_text("io/seqread-1m"),
		   "the disk is smaller than one request of this workload",
		   "a 512 KiB disk: seqread-1m skipped");
	TAP_OK(find(HVB_REC_SAMPLE, "io/randread-4k-qd1", "req_ns.p50") != NULL,
	       "... and randread-4k-qd1 runs on it");
	unlink(small);
}

/* ------------------------------------------------------------ the API */

static bool odirect_case;

static int wait_all(uint64_t *tags, int *status, unsigned n)
{
	unsigned got = 0;

	for (long spins = 0; got < n && spins < 100000000; spins++)
		got += rt_blk_poll(tags + got, status + got, n - got);
	return (int)got;
}

static void case_refuses_before_open(void)
{
	uint64_t tag;
	int st;

	rt_native_blk_close();
	TAP_EQ_INT(rt_blk_submit(RT_BLK_READ, 0, &tag, 512, 0), -ENODEV,
		   "submit before open: -ENODEV");
	TAP_OK(rt_blk_buf_alloc(4096) == NULL, "buf_alloc before open: NULL");
	TAP_EQ_INT(rt_blk_poll(&tag, &st, 1), 0, "poll before open: nothing");
	rt_blk_kick(); /* harmless */
}

static void case_info(void)
{
	struct rt_blk_info info;
	const char *why = "";

	if (!TAP_EQ_INT(rt_blk_open(&info, &why), 0, "open the disk"))
		return TAP_PRINTF("#   %s\n", why), (void)0;
	TAP_EQ_INT(info.sectors, DISK_BYTES / 512, "sectors = file size / 512");
	TAP_EQ_INT(info.max_depth, RT_BLK_MAX_DEPTH, "depth 32 (Linux AIO)");
	TAP_EQ_INT(info.max_bytes, RT_BLK_MAX_BYTES, "requests up to 1 MiB");
	TAP_OK(info.flush, "flush is fdatasync");
	TAP_OK(strstr(info.note, odirect_case ? "native O_DIRECT" : "native page cache") != NULL,
	       "the note says O_DIRECT or page cache");
}

static void case_qd1(void)
{
	struct rt_blk_info info;
	const char *why;
	uint64_t *buf, tag = 0;
	int st = 1;

	rt_blk_open(&info, &why);
	buf = rt_blk_buf_alloc(8192);
	TAP_OK(buf && (uintptr_t)buf % 4096 == 0, "buffers are 4 KiB aligned");
	TAP_EQ_INT(rt_blk_submit(RT_BLK_READ, 7 * 8, buf, 4096, 42), 0, "queue a read of block 7");
	TAP_EQ_INT(rt_blk_poll(&tag, &st, 1), 0, "not served before the kick");
	rt_blk_kick();
	TAP_OK(wait_all(&tag, &st, 1) == 1 && tag == 42 && st == 0,
	       "completes with its tag, status 0");
	TAP_OK(block_is(buf, 8), "read: block 7's data");
	for (unsigned i = 0; i < 512; i++)
		buf[i] = 0xabcdef00u + i;
	rt_blk_submit(RT_BLK_WRITE, 100 * 8, buf, 4096, 43);
	rt_blk_kick();
	TAP_OK(wait_all(&tag, &st, 1) == 1 && tag == 43 && st == 0, "write completes");
	TAP_OK(file_word(100 * 4096) == 0xabcdef00u &&
		   file_word(100 * 4096 + 4088) == 0xabcdef00u + 511,
	       "write: in the file, read back with pread");
	TAP_EQ_INT(rt_blk_submit(RT_BLK_FLUSH, 0, NULL, 0, 44), 0, "queue a flush");
	rt_blk_kick();
	TAP_OK(wait_all(&tag, &st, 1) == 1 && tag == 44 && st == 0, "flush completes");
	rt_blk_buf_free(buf, 8192);
}

static void case_bad_args(void)
{
	struct rt_blk_info info;
	const char *why;
	char *buf;

	rt_blk_open(&info, &why);
	buf = rt_blk_buf_alloc(2u << 20);
	TAP_EQ_INT(rt_blk_submit(RT_BLK_READ, info.sectors, buf, 512, 0), -EINVAL, "past the end");
	TAP_EQ_INT(rt_blk_submit(RT_BLK_READ, info.sectors - 4, buf, 4096, 0), -EINVAL,
		   "running over the end");
	TAP_EQ_INT(rt_blk_submit(RT_BLK_READ, 0, buf, 100, 0), -EINVAL, "not a sector multiple");
	TAP_EQ_INT(rt_blk_submit(RT_BLK_READ, 0, buf, 0, 0), -EINVAL, "zero bytes");
	TAP_EQ_INT(rt_blk_submit(RT_BLK_READ, 0, buf, (1u << 20) + 512, 0), -EINVAL,
		   "more than max_bytes");
	TAP_EQ_INT(rt_blk_submit(RT_BLK_READ, 0, NULL, 512, 0), -EINVAL, "no buffer");
	TAP_EQ_INT(rt_blk_submit(RT_BLK_FLUSH, 0, buf, 512, 0), -EINVAL, "a flush with data");
	TAP_EQ_INT(rt_blk_submit((enum rt_blk_op)2, 0, buf, 512, 0), -EINVAL, "an unknown op");
	if (odirect_case)
		TAP_EQ_INT(rt_blk_submit(RT_BLK_READ, 0, buf + 8, 512, 0), -EINVAL,
			   "O_DIRECT: a buffer not 512-aligned");
	rt_blk_buf_free(buf, 2u << 20);
}

/* 32 reads of different blocks in one kick (Linux AIO), then one more
 * than the depth allows; then 32 writes, read back from the file. */
static void case_deep(void)
{
	struct rt_blk_info info;
	const char *why;
	uint64_t *buf, tags[RT_BLK_MAX_DEPTH];
	int st[RT_BLK_MAX_DEPTH], bad = 0;
	uint32_t seen = 0;

	rt_blk_open(&info, &why);
	buf = rt_blk_buf_alloc(RT_BLK_MAX_DEPTH * 4096);
	for (unsigned t = 0; t < RT_BLK_MAX_DEPTH; t++)
		bad += rt_blk_submit(RT_BLK_READ, (1000 + 31 * t) * 8, buf + t * 512, 4096, t) != 0;
	TAP_EQ_INT(bad, 0, "32 reads queued");
	TAP_EQ_INT(rt_blk_submit(RT_BLK_READ, 0, buf, 4096, 99), -EAGAIN, "the 33rd: -EAGAIN");
	rt_blk_kick();
	TAP_EQ_INT(wait_all(tags, st, RT_BLK_MAX_DEPTH), RT_BLK_MAX_DEPTH, "32 completions");
	for (unsigned i = 0; i < RT_BLK_MAX_DEPTH; i++) {
		bad += st[i] != 0 || tags[i] >= RT_BLK_MAX_DEPTH ||
		       !block_is(buf + tags[i] * 512, 1000 + 31 * tags[i] + 1);
		seen |= 1u << (tags[i] & 31);
	}
	TAP_OK(!bad && seen == 0xffffffffu,
	       "every tag once, status 0, each buffer its block's data");
	for (unsigned t = 0; t < RT_BLK_MAX_DEPTH; t++) {
		for (unsigned i = 0; i < 512; i++)
			buf[t * 512 + i] = 0x77000000u + t;
		rt_blk_submit(RT_BLK_WRITE, (1500 + t) * 8, buf + t * 512, 4096, t);
	}
	rt_blk_kick();
	bad = wait_all(tags, st, RT_BLK_MAX_DEPTH) != RT_BLK_MAX_DEPTH;
	for (unsigned t = 0; t < RT_BLK_MAX_DEPTH; t++)
		bad += st[t] != 0 || file_word((1500 + t) * 4096 + 2048) != 0x77000000u + t;
	TAP_EQ_INT(bad, 0, "32 AIO writes: all in the file");
	rt_blk_buf_free(buf, RT_BLK_MAX_DEPTH * 4096);
}

/* The file shrinks behind the device's back: a read past its new end is
 * short, -EIO, logged once; at depth 1 and through AIO alike. */
static void case_eio(void)
{
	struct rt_blk_info info;
	const char *why;
	uint64_t *buf, tags[2];
	int st[2] = {0, 0};

	rt_blk_open(&info, &why);
	buf = rt_blk_buf_alloc(8192);
	if (truncate(disk, DISK_BYTES / 2))
		abort();
	rt_blk_submit(RT_BLK_READ, info.sectors - 8, buf, 4096, 1);
	rt_blk_kick();
	TAP_OK(wait_all(tags, st, 1) == 1 && st[0] == -EIO, "QD1 read beyond the file: -EIO");
	rt_blk_submit(RT_BLK_READ, info.sectors - 8, buf, 4096, 2);
	rt_blk_submit(RT_BLK_READ, 0, buf + 512, 4096, 3);
	rt_blk_kick();
	TAP_OK(wait_all(tags, st, 2) == 2 && (tags[0] == 2 ? st[0] : st[1]) == -EIO &&
		   (tags[0] == 3 ? st[0] : st[1]) == 0,
	       "AIO: the one beyond the file -EIO, the other fine");
	rt_blk_buf_free(buf, 8192);
	make_disk(disk, DISK_BYTES);
}

static void api(void (*fn)(void), bool odirect)
{
	char words[512];

	snprintf(words, sizeof(words), "w=test/blk-api disk=%s odirect=%d", disk, odirect);
	api_case = fn;
	odirect_case = odirect;
	harness(words);
}

static bool odirect_works(void)
{
	int fd = open(disk, O_RDONLY | O_DIRECT);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void test_api(void)
{
	api(case_refuses_before_open, false);
	for (int odirect = 0; odirect <= 1; odirect++) {
		if (odirect && !odirect_works()) {
			TAP_SKIP("the temporary directory's file system refuses O_DIRECT");
			continue;
		}
		TAP_PRINTF("# odirect=%d\n", odirect);
		api(case_info, odirect);
		api(case_qd1, odirect);
		api(case_bad_args, odirect);
		api(case_deep, odirect);
		api(case_eio, odirect);
		TAP_OK(has_log("native disk: read of 4096 bytes at sector"),
		       "the first failed request is in the log");
	}
}

/* ------------------------------------------------------------ io/ */

/* The first offsets of each seed over a 1 GiB disk (262144 blocks), as
 * computed independently in Python (fio-crosscheck's generator). */
static void test_offsets(void)
{
	static const struct {
		uint64_t seed, sectors[4];
	} v[] = {
	    {0x3172722f6f69ull, {1990688, 1809952, 777912, 853512}},
	    {0x3177722f6f69ull, {461088, 1093536, 751432, 736280}},
	    {0x323372722f6f69ull, {613504, 13856, 1378744, 1975440}},
	    {0x6c662f6f69ull, {934176, 1326176, 973544, 1246232}},
	};
	uint64_t next = 0, rng;
	int bad = 0;

	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		rng = v[i].seed;
		for (unsigned k = 0; k < 4; k++)
			bad += io_next_sector(&rng, &next, 262144, 4096, false) != v[i].sectors[k];
	}
	TAP_EQ_INT(bad, 0, "random offsets: the values fio-crosscheck's generator gives");
	next = 0;
	TAP_OK(io_next_sector(&rng, &next, 3, 1 << 20, true) == 0 &&
		   io_next_sector(&rng, &next, 3, 1 << 20, true) == 2048 &&
		   io_next_sector(&rng, &next, 3, 1 << 20, true) == 4096 &&
		   io_next_sector(&rng, &next, 3, 1 << 20, true) == 0,
	       "sequential offsets walk the disk in request steps and wrap");
}

static void check_rows(const char *w, const char *primary)
{
	const struct hvb_record *p50 = find(HVB_REC_SAMPLE, w, "req_ns.p50"),
				*p99 = find(HVB_REC_SAMPLE, w, "req_ns.p99"),
				*p999 = find(HVB_REC_SAMPLE, w, "req_ns.p999"),
				*max = find(HVB_REC_SAMPLE, w, "req_ns.max"),
				*ops = find(HVB_REC_SAMPLE, w, "ops_per_s"),
				*prim = find(HVB_REC_SAMPLE, w, primary);
	char desc[128];

	snprintf(desc, sizeof(desc), "%s: %s, ops_per_s, req_ns p50 <= p99 <= p999 <= max", w,
		 primary);
	if (!TAP_OK(p50 && p99 && p999 && max && ops && prim && p50->value > 0 &&
			p50->value <= p99->value && p99->value <= p999->value &&
			p999->value <= max->value && ops->value > 0 && prim->value > 0,
		    desc))
		TAP_PRINTF("#   status: %s\n", status_text(w));
	snprintf(desc, sizeof(desc), "%s: the note says what served it", w);
	TAP_OK(prim && strstr(prim->text, "native"), desc);
}

static void test_workloads(void)
{
	char words[512];
	uint64_t fill = 0x5a5a5a5a5a5a5a5aull, first = rt_rand(&fill);

	snprintf(words, sizeof(words),
		 "w=io/randread-4k-qd1,io/randwrite-4k-qd1,io/randread-4k-qd32,io/seqread-1m,"
		 "io/flush,io/seqwrite-1m caps=0x1000 disk=%s odirect=%d",
		 disk, odirect_works());
	harness(words);
	check_rows("io/randread-4k-qd1", "ns_per_op");
	check_rows("io/randwrite-4k-qd1", "ns_per_op");
	check_rows("io/randread-4k-qd32", "ops_per_s");
	check_rows("io/seqread-1m", "bandwidth");
	check_rows("io/seqwrite-1m", "bandwidth");
	check_rows("io/flush", "ns_per_op");
	TAP_OK(file_word(0) == first, "seqwrite-1m wrote its data from sector 0 on");
	TAP_EQ_INT(find(HVB_REC_SAMPLE, "io/seqread-1m", "bandwidth")
		       ? find(HVB_REC_SAMPLE, "io/seqread-1m", "bandwidth")->better
		       : 0,
		   HVB_HIGHER_IS_BETTER, "bandwidth: higher is better");
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(disk, sizeof(disk), "%s/disk", dir);
	make_disk(disk, DISK_BYTES);
	test_open_errors();
	test_api();
	test_offsets();
	test_workloads();
	rt_native_blk_close();
	unlink(disk);
	rmdir(dir);
	return tap_done();
}
