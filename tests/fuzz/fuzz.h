/*
 * Shared by the fuzz harnesses (tests/fuzz/fuzz_*.c) and the seed generator
 * (mkseeds.c): header-only.
 *
 * A harness fails with FUZZ_CHECK when a property of the code under test
 * does not hold (an error without a message, a result that breaks the
 * parser's own contract, two ways of parsing that disagree): libFuzzer then
 * keeps the input as a crash, as it does for a sanitizer report.
 */
#ifndef HVB_FUZZ_H
#define HVB_FUZZ_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The job fuzz_records validates records against: the workloads of the
 * real guest records in the seed corpus (corpus/console/), repetitions
 * FUZZ_JOB_REP .. FUZZ_JOB_REP + FUZZ_JOB_REPS - 1. */
#define FUZZ_JOB_WORKLOADS "micro/syscall", "micro/rdtsc", "cpu/sha256"
#define FUZZ_JOB_REP	   0u
#define FUZZ_JOB_REPS	   2u

/* fuzz_run input: the bytes of meta.csv, this separator, the bytes of
 * samples.csv (no separator: all of it is meta.csv). */
#define FUZZ_RUN_SEP "\n--- samples.csv ---\n"

/*
 * fuzz_virtio_blk input: one configuration byte (bits 0-2: log2 of the
 * device's QueueNumMax, bit 3: the O_DIRECT bounce path on), then
 * operations until the input ends, each an opcode byte (modulo FZ_N_OPS)
 * and its little-endian operands:
 *   FZ_MEM    u32 gpa, u8 n, n bytes   write guest RAM (clamped to it)
 *   FZ_WR     u16 off, u8 len, u64 v   MMIO write (len 1/2/4/8 from len & 3)
 *   FZ_RD     u16 off, u8 len          MMIO read
 *   FZ_INIT   u64 features, u8 log2num the driver's whole init sequence
 *   FZ_REQ    u8 first, u32 type, u64 sector, u32 gpa, u32 seg_len, u8 nseg
 *                                      a request of the usual shape, notified
 *   FZ_DESC   u16 i, u64 addr, u32 len, u16 flags, u16 next   one descriptor
 *   FZ_PUB    u16 head                 publish a chain and notify
 */
enum { FZ_MEM, FZ_WR, FZ_RD, FZ_INIT, FZ_REQ, FZ_DESC, FZ_PUB, FZ_N_OPS };
#define FZ_CFG_DIRECT 0x08u

/*
 * fuzz_virtio_net input: one configuration byte (bits 0-2: log2 of
 * QueueNumMax, bit 3: MTU 9000 instead of 1500), then the same opcodes
 * with virtio-net operands:
 *   FZ_MEM, FZ_WR, FZ_RD   as above
 *   FZ_INIT   u64 features, u8 log2num  both queues set up (num <= 256)
 *   FZ_REQ    u8 slot, u16 frame_len, u16 rx_len, u8 kind
 *                                       a receive buffer of rx_len (0: none)
 *                                       and a frame (kind bit 0: IPv4/UDP
 *                                       headers, bit 1: a non-zero
 *                                       virtio-net header), notified
 *   FZ_DESC   u8 queue, u16 i, u64 addr, u32 len, u16 flags, u16 next
 *   FZ_PUB    u8 queue, u16 head        publish on queue & 1, notify queue
 *                                       (QueueNotify value queue & 3)
 */
#define FZ_NET_CFG_JUMBO 0x08u

static inline void fuzz_cleanup(void);

/* Written to fd 2 directly: some harnesses silence stdio's stderr.  The
 * scratch directory goes first: abort() does not run atexit handlers (a
 * sanitizer report still leaves it behind). */
#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			dprintf(2, "%s:%d: property does not hold: %s\n", __FILE__, __LINE__, \
				#cond);                                                    \
			fuzz_cleanup();                                                    \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* s is a NUL-terminated string within n bytes. */
static inline bool fuzz_terminated(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

/* ------------------------------------------------- scratch files */

/* A private directory for the files a harness parses: $TMPDIR, else
 * /dev/shm (no disk I/O per execution), else /tmp.  Removed at exit with
 * the files named through fuzz_path(); a sanitizer report leaves it behind
 * (fuzz-run points TMPDIR into $(O)). */
#define FUZZ_MAX_FILES 8
static char fuzz_dir[256];
static char *fuzz_files[FUZZ_MAX_FILES];
static unsigned fuzz_n_files;

static inline void fuzz_cleanup(void)
{
	for (unsigned i = 0; i < fuzz_n_files; i++)
		unlink(fuzz_files[i]);
	if (fuzz_dir[0])
		rmdir(fuzz_dir);
}

static inline const char *fuzz_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	if (fuzz_dir[0])
		return fuzz_dir;
	if (!base || !*base)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/hvb-fuzz-XXXXXX", base);
	if (!mkdtemp(fuzz_dir)) {
		dprintf(2, "fuzz: mkdtemp %s: %s\n", fuzz_dir, strerror(errno));
		abort();
	}
	atexit(fuzz_cleanup);
	return fuzz_dir;
}

/* Path of file `name` in the scratch directory (the same string for the
 * same name; removed at exit). */
static inline const char *fuzz_path(const char *name)
{
	char *p;

	for (unsigned i = 0; i < fuzz_n_files; i++) {
		const char *slash = strrchr(fuzz_files[i], '/');
		if (!strcmp(slash + 1, name))
			return fuzz_files[i];
	}
	if (fuzz_n_files == FUZZ_MAX_FILES || asprintf(&p, "%s/%s", fuzz_tmpdir(), name) < 0)
		abort();
	fuzz_files[fuzz_n_files++] = p;
	return p;
}

/* Replace file `path` with n bytes. */
static inline void fuzz_write(const char *path, const void *buf, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const char *p = buf;

	if (fd < 0) {
		dprintf(2, "fuzz: %s: %s\n", path, strerror(errno));
		abort();
	}
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			dprintf(2, "fuzz: write %s: %s\n", path, strerror(errno));
			abort();
		}
		p += w;
		n -= (size_t)w;
	}
	close(fd);
}

#endif
