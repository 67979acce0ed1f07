/*
 * rt_blk_* (workload.h) natively: the run's disk file, named by the disk=
 * word of the harness's command line and opened with O_DIRECT when
 * odirect=1 (the runner found out whether the file system allows it).
 *
 * Depth decides the path, as fio's engines would: a request that is alone
 * (nothing else in flight) is a plain pread/pwrite inside rt_blk_kick, the
 * cheapest way the host has; with more outstanding they go through Linux
 * AIO (io_setup/io_submit/io_getevents as raw system calls, no libaio), so
 * with O_DIRECT all of them are in the block layer at once and QD32 is
 * truly concurrent.  Without O_DIRECT the kernel serves AIO inside
 * io_submit (buffered AIO is synchronous): the note says "page cache".
 * FLUSH is fdatasync, done in rt_blk_kick after the reads and writes
 * queued with it were submitted (virtio's rule: a flush covers the writes
 * completed before it, not those in flight).  Completion is polled
 * (io_getevents with a zero timeout), as the guests poll their used rings.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "rt_native.h"

#define DEPTH	  RT_BLK_MAX_DEPTH
#define MIN_BYTES 4096u /* a disk must hold one 4 KiB block */
#define DIO_ALIGN 512u	/* buffer alignment O_DIRECT needs at least */
#define NO_SLOT	  DEPTH

struct blk_req {
	enum rt_blk_op op;
	uint64_t sector;
	void *buf;
	uint32_t bytes;
	uint64_t tag;
};

struct blk_done {
	uint64_t tag;
	int status;
};

static struct {
	bool open, odirect, aio;
	int fd;
	struct rt_blk_info info;
	aio_context_t ctx;
	struct blk_req queued[DEPTH]; /* submitted, not yet kicked */
	unsigned n_queued;
	struct blk_req slot[DEPTH]; /* in AIO, by aio_data */
	bool slot_busy[DEPTH];
	unsigned in_aio;
	struct blk_done done[DEPTH]; /* completed, not yet polled */
	unsigned n_done;
	bool logged_error;
	char note[HVB_TEXT_MAX];
	char why[HVB_TEXT_MAX + 1024]; /* the record keeps 95 bytes: the problem first */
} blk = {.fd = -1};

static long sys_io_setup(unsigned nr, aio_context_t *ctx)
{
	return syscall(SYS_io_setup, nr, ctx);
}

static long sys_io_destroy(aio_context_t ctx)
{
	return syscall(SYS_io_destroy, ctx);
}

static long sys_io_submit(aio_context_t ctx, long n, struct iocb **iocbs)
{
	return syscall(SYS_io_submit, ctx, n, iocbs);
}

static long sys_io_getevents(aio_context_t ctx, long min, long max, struct io_event *ev,
			     struct timespec *timeout)
{
	return syscall(SYS_io_getevents, ctx, min, max, ev, timeout);
}

/* ------------------------------------------------------------ open */

/* disk= and odirect= of the command line; 0 or -errno with blk.why set. */
static int disk_words(char *path, size_t len, bool *odirect)
{
	const char *cmdline = hvb_harness_cmdline();
	char v[8];

	if (!hvb_cmdline_get(cmdline, "disk", path, len)) {
		snprintf(blk.why, sizeof(blk.why), "%s",
			 strstr(cmdline, "disk=")
			     ? "disk=: the path is too long"
			     : "no disk= word: the runner attached no disk file");
		return strstr(cmdline, "disk=") ? -ENAMETOOLONG : -ENODEV;
	}
	*odirect = false;
	if (hvb_cmdline_get(cmdline, "odirect", v, sizeof(v)) && strcmp(v, "0")) {
		if (strcmp(v, "1")) {
			snprintf(blk.why, sizeof(blk.why), "odirect=%s: must be 0 or 1", v);
			return -EINVAL;
		}
		*odirect = true;
	}
	return 0;
}

static int open_error(const char *path, bool odirect, int e)
{
	if (e == ENOENT)
		snprintf(blk.why, sizeof(blk.why), "disk= file does not exist: %s", path);
	else if (e == EINVAL && odirect)
		snprintf(blk.why, sizeof(blk.why),
			 "disk= file system refuses O_DIRECT (odirect=0: page cache): %s", path);
	else
		snprintf(blk.why, sizeof(blk.why), "disk= cannot be opened read-write (%s): %s",
			 strerror(e), path);
	return -e;
}

/* Bytes of the opened file or block device; -errno with blk.why set. */
static int64_t disk_size(int fd, const char *path)
{
	struct stat st;
	uint64_t bytes;

	if (fstat(fd, &st) < 0) {
		snprintf(blk.why, sizeof(blk.why), "disk= fstat failed (%s): %s", strerror(errno),
			 path);
		return -errno;
	}
	if (S_ISREG(st.st_mode))
		bytes = (uint64_t)st.st_size;
	else if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, &bytes) == 0)
		;
	else {
		snprintf(blk.why, sizeof(blk.why),
			 "disk= is neither a regular file nor a block device: %s", path);
		return -EINVAL;
	}
	if (bytes < MIN_BYTES) {
		snprintf(blk.why, sizeof(blk.why),
			 "disk= too small: %llu bytes, at least %u (one 4 KiB block): %s",
			 (unsigned long long)bytes, MIN_BYTES, path);
		return -ENOSPC;
	}
	return (int64_t)bytes;
}

/* Linux AIO for depth > 1; without it (ENOSYS, fs.aio-max-nr reached) the
 * disk still works at depth 1 and the note says why. */
static void aio_init(void)
{
	const char *cache = blk.odirect ? "O_DIRECT" : "page cache (no O_DIRECT)";

	blk.ctx = 0;
	blk.aio = sys_io_setup(DEPTH, &blk.ctx) == 0;
	if (blk.aio)
		snprintf(blk.note, sizeof(blk.note),
			 "native %s, pread/pwrite at QD1, Linux AIO deeper", cache);
	else
		snprintf(blk.note, sizeof(blk.note),
			 "native %s, pread/pwrite, QD1 only (io_setup: %s)", cache,
			 strerror(errno));
}

int rt_blk_open(struct rt_blk_info *info, const char **why)
{
	char path[1024];
	int64_t bytes;
	int e;

	if (blk.open) {
		*info = blk.info;
		return 0;
	}
	*why = blk.why;
	if ((e = disk_words(path, sizeof(path), &blk.odirect)) < 0)
		return e;
	blk.fd = open(path, O_RDWR | O_CLOEXEC | (blk.odirect ? O_DIRECT : 0));
	if (blk.fd < 0)
		return open_error(path, blk.odirect, errno);
	if ((bytes = disk_size(blk.fd, path)) < 0) {
		close(blk.fd);
		blk.fd = -1;
		return (int)bytes;
	}
	aio_init();
	blk.info = (struct rt_blk_info){
	    .sectors = (uint64_t)bytes / RT_BLK_SECTOR,
	    .max_depth = blk.aio ? DEPTH : 1,
	    .max_bytes = RT_BLK_MAX_BYTES,
	    .flush = true, /* fdatasync: as stable as this host's storage makes it */
	    .note = blk.note,
	};
	blk.open = true;
	*info = blk.info;
	return 0;
}

void rt_native_blk_close(void)
{
	if (blk.aio)
		sys_io_destroy(blk.ctx);
	if (blk.fd >= 0)
		close(blk.fd);
	memset(&blk, 0, sizeof(blk));
	blk.fd = -1;
}

void *rt_blk_buf_alloc(size_t bytes)
{
	if (!blk.open || !bytes || bytes % 4096)
		return NULL;
	return rt_alloc(bytes, 4096); /* page-aligned: any O_DIRECT alignment */
}

void rt_blk_buf_free(void *p, size_t bytes)
{
	if (blk.open && p)
		rt_free(p, bytes);
}

/* ------------------------------------------------------------ requests */

static unsigned outstanding(void)
{
	return blk.n_queued + blk.in_aio + blk.n_done;
}

static bool bad_request(enum rt_blk_op op, uint64_t sector, const void *buf, uint32_t bytes)
{
	if (op == RT_BLK_FLUSH)
		return buf || bytes;
	if (op != RT_BLK_READ && op != RT_BLK_WRITE)
		return true;
	if (!buf || !bytes || bytes % RT_BLK_SECTOR || bytes > blk.info.max_bytes)
		return true;
	if (sector >= blk.info.sectors || bytes / RT_BLK_SECTOR > blk.info.sectors - sector)
		return true;
	return blk.odirect && (uintptr_t)buf % DIO_ALIGN;
}

int rt_blk_submit(enum rt_blk_op op, uint64_t sector, void *buf, uint32_t bytes, uint64_t tag)
{
	if (!blk.open)
		return -ENODEV;
	if (bad_request(op, sector, buf, bytes))
		return -EINVAL;
	if (outstanding() >= blk.info.max_depth)
		return -EAGAIN;
	blk.queued[blk.n_queued++] = (struct blk_req){op, sector, buf, bytes, tag};
	return 0;
}

/* The first failure goes to the log (the status is all a workload sees). */
static int request_status(const struct blk_req *r, long res)
{
	char line[HVB_TEXT_MAX];

	if (res == (long)r->bytes)
		return 0;
	if (!blk.logged_error) {
		blk.logged_error = true;
		snprintf(line, sizeof(line), "native disk: %s of %u bytes at sector %llu: %s",
			 r->op == RT_BLK_READ	 ? "read"
			 : r->op == RT_BLK_WRITE ? "write"
						 : "flush",
			 r->bytes, (unsigned long long)r->sector,
			 res < 0 ? strerror((int)-res) : "short transfer");
		rt_log(line);
	}
	return -EIO;
}

static void complete(const struct blk_req *r, long res)
{
	blk.done[blk.n_done++] = (struct blk_done){r->tag, request_status(r, res)};
}

/* pread/pwrite of the whole request (retrying EINTR and short transfers);
 * the bytes moved or -errno. */
static long transfer_sync(const struct blk_req *r)
{
	off_t off = (off_t)(r->sector * RT_BLK_SECTOR);
	uint32_t done = 0;

	while (done < r->bytes) {
		char *p = (char *)r->buf + done;
		ssize_t n = r->op == RT_BLK_READ ? pread(blk.fd, p, r->bytes - done, off + done)
						 : pwrite(blk.fd, p, r->bytes - done, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (uint32_t)n;
	}
	return done;
}

static void flush_sync(const struct blk_req *r)
{
	long res = fdatasync(blk.fd) == 0 ? 0 : -errno;

	complete(r, res);
}

static unsigned take_slot(void)
{
	for (unsigned i = 0; i < DEPTH; i++)
		if (!blk.slot_busy[i])
			return i;
	return NO_SLOT;
}

/* io_submit the reads and writes of the queue (in order); what the kernel
 * refuses completes with -EIO at once. */
static void submit_aio(struct blk_req *rw, unsigned n)
{
	struct iocb cb[DEPTH], *cbp[DEPTH];
	unsigned i, s;
	long got, err = 0;

	for (i = 0; i < n; i++) {
		s = take_slot(); /* there is one: outstanding() <= DEPTH */
		blk.slot[s] = rw[i];
		blk.slot_busy[s] = true;
		cb[i] = (struct iocb){
		    .aio_data = s,
		    .aio_lio_opcode = rw[i].op == RT_BLK_READ ? IOCB_CMD_PREAD : IOCB_CMD_PWRITE,
		    .aio_fildes = (uint32_t)blk.fd,
		    .aio_buf = (uint64_t)(uintptr_t)rw[i].buf,
		    .aio_nbytes = rw[i].bytes,
		    .aio_offset = (int64_t)(rw[i].sector * RT_BLK_SECTOR),
		};
		cbp[i] = &cb[i];
	}
	for (i = 0; i < n; i += (unsigned)got) {
		got = sys_io_submit(blk.ctx, n - i, cbp + i);
		if (got < 0 && errno == EINTR)
			got = 0;
		else if (got < 0)
			err = -errno;
		else if (got == 0)
			err = -EAGAIN; /* the kernel took none: do not spin */
		if (got <= 0 && err)
			break;
		blk.in_aio += (unsigned)got;
	}
	for (; i < n; i++) {
		s = (unsigned)cb[i].aio_data;
		blk.slot_busy[s] = false;
		complete(&blk.slot[s], err);
	}
}

void rt_blk_kick(void)
{
	struct blk_req rw[DEPTH], flush[DEPTH];
	unsigned n_rw = 0, n_flush = 0;

	if (!blk.open || !blk.n_queued)
		return;
	for (unsigned i = 0; i < blk.n_queued; i++) {
		if (blk.queued[i].op == RT_BLK_FLUSH)
			flush[n_flush++] = blk.queued[i];
		else
			rw[n_rw++] = blk.queued[i];
	}
	blk.n_queued = 0;
	if (n_rw == 1 && !blk.in_aio)
		complete(&rw[0], transfer_sync(&rw[0])); /* alone: the plain system call */
	else if (n_rw)
		submit_aio(rw, n_rw);
	for (unsigned i = 0; i < n_flush; i++)
		flush_sync(&flush[i]);
}

/* Move what AIO completed to the done list, without waiting. */
static void reap_aio(void)
{
	struct io_event ev[DEPTH];
	struct timespec zero = {0, 0};
	long n;

	if (!blk.in_aio)
		return;
	n = sys_io_getevents(blk.ctx, 0, blk.in_aio, ev, &zero);
	for (long i = 0; i < n; i++) {
		unsigned s = (unsigned)ev[i].data;

		if (s >= DEPTH || !blk.slot_busy[s])
			continue; /* not ours: cannot happen with one context */
		blk.slot_busy[s] = false;
		blk.in_aio--;
		complete(&blk.slot[s], (long)ev[i].res);
	}
}

unsigned rt_blk_poll(uint64_t *tags, int *status, unsigned max)
{
	unsigned n;

	if (!blk.open || !max)
		return 0;
	if (blk.n_done < max)
		reap_aio();
	n = blk.n_done < max ? blk.n_done : max;
	for (unsigned i = 0; i < n; i++) {
		tags[i] = blk.done[i].tag;
		status[i] = blk.done[i].status;
	}
	memmove(blk.done, blk.done + n, (blk.n_done - n) * sizeof(blk.done[0]));
	blk.n_done -= n;
	return n;
}
