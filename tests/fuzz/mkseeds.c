/*
 * mkseeds OUTDIR [CAPTURE...]: the generated part of the fuzzers' seed
 * corpora (tests/fuzz/seeds.sh adds the committed and fixture files).
 *
 *   OUTDIR/elf/       tiny guest images from the unit tests' image builder
 *                     (tests/unit/hv_testimg.h): valid ones and one per
 *                     refusal (no note, other ABI, entry outside, overlap,
 *                     below 1 MiB, beyond RAM)
 *   OUTDIR/console/   console streams made with the real encoder: a job's
 *                     records mixed with text, CRLF, a record glued to text,
 *                     an over-long line, a damaged line, a duplicate, a gap,
 *                     a cut-off last line
 *   OUTDIR/records/   the same job's records as 256-byte binary records,
 *                     and those of each CAPTURE (a console capture of a real
 *                     guest, e.g. those in tests/fuzz/corpus/console/), decoded
 *
 * Deterministic: the same tree gives the same seeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "console_codec.h"
#include "fuzz.h"
#include "unit/hv_testimg.h"

static const char *outdir;

static void put(const char *sub, const char *name, const void *buf, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, sub, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* ------------------------------------------------------------------ ELF */

static void elf_seeds(void)
{
	static uint8_t img[TIMG_MAX];
	struct asm32 a = {.n = 0};
	struct timg t;
	size_t n;

	a_shutdown(&a, 0);
#define IMG(name, ...)                                                                     \
	do {                                                                               \
		t = (struct timg){.code = a.b, .code_len = a.n, __VA_ARGS__};              \
		n = timg_build(img, &t);                                                   \
		put("elf", name, img, n);                                                  \
	} while (0)
	IMG("valid.elf", .paddr = 0);
	IMG("bss.elf", .memsz = 0x3000);
	IMG("two-segments.elf", .seg2 = true, .seg2_paddr = 0x200000, .seg2_memsz = 0x2000);
	IMG("overlap.elf", .seg2 = true, .seg2_paddr = TIMG_LOAD + 8, .seg2_memsz = 0x100);
	IMG("no-xen-note.elf", .no_xen_note = true);
	IMG("no-abi-note.elf", .no_abi_note = true);
	IMG("other-abi.elf", .abi = HVB_ABI_VERSION + 1);
	IMG("entry-outside.elf", .entry = TIMG_LOAD + 0x10000);
	IMG("below-1mib.elf", .paddr = 0x80000);
	IMG("beyond-ram.elf", .paddr = 0x7ff00000);
#undef IMG
}

/* -------------------------------------------------------------- records */

static struct hvb_record job[16];
static size_t n_job;

static struct hvb_record *rec(uint16_t type, const char *workload)
{
	struct hvb_record *r = &job[n_job++];

	memset(r, 0, sizeof(*r));
	r->magic = HVB_RECORD_MAGIC;
	r->version = HVB_ABI_VERSION;
	r->type = type;
	r->size = sizeof(*r);
	if (workload)
		strncpy(r->workload, workload, sizeof(r->workload));
	return r;
}

static void sample(const char *workload, unsigned rep, const char *metric, const char *unit,
		   double v, const char *note)
{
	struct hvb_record *r = rec(HVB_REC_SAMPLE, workload);

	r->rep = rep;
	strncpy(r->metric, metric, sizeof(r->metric));
	strncpy(r->unit, unit, sizeof(r->unit));
	r->better = HVB_LOWER_IS_BETTER;
	r->value = v;
	strncpy(r->text, note, sizeof(r->text));
}

/* One job of the fuzz_records job (fuzz.h): every record type. */
static void job_records(void)
{
	struct hvb_record *r;

	r = rec(HVB_REC_LOG, NULL);
	strcpy(r->text, "guest rt: xcr0=0x7 pages=2M");
	r = rec(HVB_REC_HELLO, NULL);
	r->u64[0] = 0x7cec592, r->u64[1] = 0x80117ba;
	r = rec(HVB_REC_CELL_BEGIN, "micro/syscall");
	r->u64[0] = 0x310, r->u64[1] = 3;
	rec(HVB_REC_REP_BEGIN, "micro/syscall")->rep = 1;
	rec(HVB_REC_REP_END, "micro/syscall")->rep = 1;
	sample("micro/syscall", 1, "ns_per_op", "ns", 286.47, "guest ring 3");
	sample("micro/syscall", 1, "cycles_per_op", "cycles", 601.6, "");
	r = rec(HVB_REC_RELEASE, NULL);
	r->u64[0] = 0x40000000, r->u64[1] = 0x200000;
	r = rec(HVB_REC_STATUS, "cpu/sha256");
	r->status = HVB_ST_SKIPPED;
	strcpy(r->text, "needs SHA-NI");
	r = rec(HVB_REC_FAULT, NULL);
	r->u64[0] = 14, r->u64[1] = 2, r->u64[2] = 0x104000, r->u64[3] = 0xdead000;
	strcpy(r->text, "ring 3");
	rec(HVB_REC_DONE, NULL);
}

/* -------------------------------------------------------------- console */

struct buf {
	char b[65536];
	size_t n;
};

static void add(struct buf *o, const void *p, size_t n)
{
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void adds(struct buf *o, const char *s)
{
	add(o, s, strlen(s));
}

static void add_rec(struct buf *o, const struct hvb_record *r, uint32_t seq)
{
	o->n += hvb_console_encode(r, seq, o->b + o->n);
}

static void console_seeds(void)
{
	static struct buf o;
	char line[HVB_CONSOLE_LINE_LEN];
	struct hvb_record stop;

	/* The job, clean. */
	o.n = 0;
	for (size_t i = 0; i < n_job; i++)
		add_rec(&o, &job[i], (uint32_t)i);
	put("console", "job.txt", o.b, o.n);

	/* The same job on a rough console. */
	o.n = 0;
	adds(&o, "SeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n");
	adds(&o, "Booting from ROM..\n");
	add_rec(&o, &job[0], 0);
	adds(&o, "guest text without a newline");
	add_rec(&o, &job[1], 1); /* glued to the text */
	hvb_console_encode(&job[2], 2, line); /* CRLF */
	add(&o, line, HVB_CONSOLE_LINE_LEN - 1);
	adds(&o, "\r\n");
	add_rec(&o, &job[2], 2); /* duplicate */
	for (int i = 0; i < 1100; i++)
		adds(&o, "x"); /* over-long line */
	adds(&o, "\n");
	hvb_console_encode(&job[3], 3, line); /* damaged: one hex digit */
	line[100] = line[100] == '0' ? '1' : '0';
	add(&o, line, HVB_CONSOLE_LINE_LEN);
	adds(&o, "@hvb2 not this version\n");
	add_rec(&o, &job[5], 5); /* seq 3 and 4 lost */
	add(&o, "\x1b[2J\x00\xff binary noise\n", 20);
	hvb_console_encode(&job[6], 6, line); /* cut off by the end of the stream */
	add(&o, line, 300);
	put("console", "rough.txt", o.b, o.n);

	/* A record of the type the harness stops at (fuzz_console.c STOP_TYPE). */
	o.n = 0;
	stop = job[1];
	stop.type = 0xffff;
	add_rec(&o, &job[0], 0);
	add_rec(&o, &stop, 1);
	add_rec(&o, &job[2], 2);
	put("console", "stop.txt", o.b, o.n);

	/* One record line alone (the decoder's own path). */
	o.n = 0;
	add_rec(&o, &job[5], 41);
	put("console", "line.txt", o.b, o.n);
}

/* A capture's records, decoded line by line (no stream: a seed needs only
 * the records that decode). */
static void capture_records(const char *path)
{
	static struct hvb_record recs[4096];
	const char *base = strrchr(path, '/');
	char line[2048], name[256];
	size_t n = 0;
	FILE *f = fopen(path, "rb");

	if (!f) {
		perror(path);
		exit(1);
	}
	while (n < 4096 && fgets(line, sizeof(line), f)) {
		uint32_t seq;
		if (hvb_console_decode(line, strlen(line), &recs[n], &seq) == HVB_CONSOLE_RECORD)
			n++;
	}
	fclose(f);
	snprintf(name, sizeof(name), "%s", base ? base + 1 : path);
	if (strrchr(name, '.'))
		*strrchr(name, '.') = '\0';
	strcat(name, ".bin");
	put("records", name, recs, n * sizeof(recs[0]));
}

/* ------------------------------------------------------------ virtio-blk */

/* fuzz_virtio_blk inputs (fuzz.h, FZ_*): driver init, then requests of
 * each kind, a multi-segment one and a few broken ones. */
struct fz {
	uint8_t b[512];
	size_t n;
};

static void fz_le(struct fz *f, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		f->b[f->n++] = (uint8_t)(v >> (8 * i));
}

static void fz_init(struct fz *f, uint8_t conf, uint64_t features, uint8_t log2num)
{
	f->n = 0;
	fz_le(f, conf, 1);
	fz_le(f, FZ_INIT, 1);
	fz_le(f, features, 8);
	fz_le(f, log2num, 1);
}

static void fz_req(struct fz *f, uint8_t first, uint32_t type, uint64_t sector, uint32_t gpa,
		   uint32_t seg_len, uint8_t nseg)
{
	fz_le(f, FZ_REQ, 1);
	fz_le(f, first, 1);
	fz_le(f, type, 4);
	fz_le(f, sector, 8);
	fz_le(f, gpa, 4);
	fz_le(f, seg_len, 4);
	fz_le(f, nseg, 1);
}

static void virtio_blk_seeds(void)
{
	const uint64_t v1 = 1ull << 32, eidx = 1ull << 29, flush = 1ull << 9;
	struct fz f;

	fz_init(&f, 4, v1 | flush, 4);
	fz_req(&f, 0, 1 /* OUT */, 8, 0x30000, 4096, 1);
	fz_req(&f, 3, 0 /* IN */, 8, 0x31000, 4096, 1);
	put("virtio_blk", "write-read", f.b, f.n);
	fz_init(&f, 4 | FZ_CFG_DIRECT, v1 | eidx | flush, 4);
	fz_req(&f, 0, 0, 1, 0x30100, 512, 3);
	fz_req(&f, 5, 4 /* FLUSH */, 0, 0, 0, 0);
	fz_req(&f, 7, 8 /* GET_ID */, 0, 0x32000, 20, 1);
	put("virtio_blk", "bounce-flush-getid", f.b, f.n);
	fz_init(&f, 3, v1, 3);
	fz_req(&f, 0, 1, 127, 0x30000, 1024, 1); /* runs past the end */
	fz_req(&f, 2, 0, 0, 0x3ff00, 512, 1);	 /* straddles the end of RAM */
	fz_le(&f, FZ_DESC, 1);
	fz_le(&f, 1, 2), fz_le(&f, 0x30000, 8), fz_le(&f, 16, 4), fz_le(&f, 1, 2), fz_le(&f, 1, 2);
	fz_le(&f, FZ_PUB, 1);
	fz_le(&f, 1, 2); /* a loop */
	put("virtio_blk", "broken", f.b, f.n);
	f.n = 0;
	fz_le(&f, 4, 1);
	fz_le(&f, FZ_RD, 1), fz_le(&f, 0x000, 2), fz_le(&f, 2, 1);
	fz_le(&f, FZ_WR, 1), fz_le(&f, 0x070, 2), fz_le(&f, 2, 1), fz_le(&f, 3, 8);
	fz_le(&f, FZ_WR, 1), fz_le(&f, 0x050, 2), fz_le(&f, 1, 1), fz_le(&f, 0, 8);
	put("virtio_blk", "registers", f.b, f.n);
}

/* ------------------------------------------------------------ virtio-net */

/* fuzz_virtio_net inputs (fuzz.h): init, frames that come back, frames
 * dropped for each reason, broken queues, registers. */
static void fz_frame(struct fz *f, uint8_t slot, uint16_t len, uint16_t rx_len, uint8_t kind)
{
	fz_le(f, FZ_REQ, 1);
	fz_le(f, slot, 1);
	fz_le(f, len, 2);
	fz_le(f, rx_len, 2);
	fz_le(f, kind, 1);
}

static void virtio_net_seeds(void)
{
	const uint64_t v1 = 1ull << 32, eidx = 1ull << 29, mac = 1ull << 5, mtu = 1ull << 3;
	struct fz f;

	fz_init(&f, 4, v1 | mac | mtu, 4);
	fz_frame(&f, 0, 64, 2048, 1 | (5 << 2));
	fz_frame(&f, 1, 1514, 2048, 1 | (5 << 2));
	fz_frame(&f, 2, 60, 2048, 0);
	put("virtio_net", "reflect", f.b, f.n);
	fz_init(&f, 4 | 0x08, v1 | eidx, 4);
	fz_frame(&f, 0, 0, 2048, 0);	  /* zero-length frame */
	fz_frame(&f, 1, 1515, 2048, 1);	  /* over the MTU (jumbo config: fine) */
	fz_frame(&f, 2, 64, 40, 1);	  /* receive buffer too small */
	fz_frame(&f, 3, 64, 0, 2);	  /* offload header, no receive buffer */
	fz_frame(&f, 4, 64, 11, 1);	  /* receive buffer shorter than the header */
	put("virtio_net", "drops", f.b, f.n);
	fz_init(&f, 3, v1, 3);
	fz_le(&f, FZ_DESC, 1);
	fz_le(&f, 1, 1), fz_le(&f, 1, 2), fz_le(&f, 0xa0000, 8), fz_le(&f, 64, 4),
	    fz_le(&f, 1, 2), fz_le(&f, 1, 2);
	fz_le(&f, FZ_PUB, 1);
	fz_le(&f, 1, 1), fz_le(&f, 1, 2); /* a loop on the transmit queue */
	fz_le(&f, FZ_DESC, 1);
	fz_le(&f, 0, 1), fz_le(&f, 2, 2), fz_le(&f, 0x11ff00, 8), fz_le(&f, 0x1000, 4),
	    fz_le(&f, 2, 2), fz_le(&f, 0, 2);
	fz_le(&f, FZ_PUB, 1);
	fz_le(&f, 2, 1), fz_le(&f, 2, 2); /* receive buffer past RAM, QueueNotify 2 */
	put("virtio_net", "broken", f.b, f.n);
	f.n = 0;
	fz_le(&f, 4, 1);
	fz_le(&f, FZ_RD, 1), fz_le(&f, 0x100, 2), fz_le(&f, 0, 1);
	fz_le(&f, FZ_RD, 1), fz_le(&f, 0x10a, 2), fz_le(&f, 1, 1);
	fz_le(&f, FZ_WR, 1), fz_le(&f, 0x030, 2), fz_le(&f, 2, 1), fz_le(&f, 1, 8);
	fz_le(&f, FZ_WR, 1), fz_le(&f, 0x050, 2), fz_le(&f, 2, 1), fz_le(&f, 1, 8);
	put("virtio_net", "registers", f.b, f.n);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: mkseeds OUTDIR [CAPTURE...]\n");
		return 2;
	}
	outdir = argv[1];
	mkdir(outdir, 0755);
	elf_seeds();
	job_records();
	put("records", "job.bin", job, n_job * sizeof(job[0]));
	console_seeds();
	virtio_blk_seeds();
	virtio_net_seeds();
	for (int i = 2; i < argc; i++)
		capture_records(argv[i]);
	return 0;
}
