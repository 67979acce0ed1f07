/*
 * The run's disk (runners/common/disk.c): size parsing, creation filled
 * with the non-zero pattern (no holes), the O_DIRECT probe (tmpfs refuses
 * it), removal, an interrupted fill, --disk refusals, and the leftover
 * cleaner telling a live run's locked disk from a dead run's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "disk.h"
#include "tap.h"
#include "util.h"

static char dir[64];

static void test_parse(void)
{
	char err[300];
	uint64_t v = 0;

	TAP_OK(!hvb_disk_parse_size("256M", &v, err, sizeof(err)) && v == 256ull << 20, "256M");
	TAP_OK(!hvb_disk_parse_size("1g", &v, err, sizeof(err)) && v == 1ull << 30, "1g");
	TAP_OK(!hvb_disk_parse_size("64MiB", &v, err, sizeof(err)) && v == 64ull << 20, "64MiB");
	TAP_OK(!hvb_disk_parse_size("16777216", &v, err, sizeof(err)) && v == 16ull << 20,
	       "bytes");
	TAP_OK(hvb_disk_parse_size("1M", &v, err, sizeof(err)) == -EINVAL, "below the minimum");
	TAP_OK(strstr(err, "--disk-size '1M'") != NULL, "the error names the value");
	TAP_OK(hvb_disk_parse_size("2T", &v, err, sizeof(err)) == -EINVAL, "above the maximum");
	TAP_OK(hvb_disk_parse_size("16777217", &v, err, sizeof(err)) == -EINVAL, "not 4 KiB");
	TAP_OK(hvb_disk_parse_size("-5M", &v, err, sizeof(err)) == -EINVAL, "negative");
	TAP_OK(hvb_disk_parse_size("32X", &v, err, sizeof(err)) == -EINVAL, "unknown unit");
	TAP_OK(hvb_disk_parse_size("", &v, err, sizeof(err)) == -EINVAL, "empty");
	TAP_OK(hvb_disk_parse_size("99999999999999999999", &v, err, sizeof(err)) == -EINVAL,
	       "overflow");
}

/* Every word of the file is the fill pattern (so none is a hole). */
static bool pattern_ok(const char *path, uint64_t size)
{
	int fd = open(path, O_RDONLY);
	static uint64_t buf[1 << 16];
	bool ok = fd >= 0;

	for (uint64_t off = 0; ok && off < size; off += sizeof(buf)) {
		ok = pread(fd, buf, sizeof(buf), (off_t)off) == (ssize_t)sizeof(buf);
		for (size_t i = 0; ok && i < ARRAY_SIZE(buf); i++)
			ok = buf[i] && buf[i] == hvb_disk_fill_word(off + i * 8);
	}
	if (fd >= 0)
		close(fd);
	return ok;
}

static void count_msg(void *arg, const char *msg)
{
	(void)msg;
	++*(int *)arg;
}

static void test_create(void)
{
	struct hvb_disk d;
	struct stat st;
	char err[600];
	int msgs = 0;
	char *path;

	TAP_EQ_INT(hvb_disk_create(&d, dir, "run-1", 16ull << 20, NULL, err, sizeof(err)), 0,
		   "create a 16 MiB disk");
	path = strdup(d.path);
	TAP_OK(strstr(d.path, "/.hvbench-disk-run-1.img") && d.path[0] == '/',
	       "absolute, named after the run");
	TAP_OK(!stat(d.path, &st) && (uint64_t)st.st_size == 16ull << 20, "its size");
	TAP_OK((uint64_t)st.st_blocks * 512 >= 16ull << 20, "fully allocated (no holes)");
	TAP_OK(pattern_ok(d.path, 16ull << 20), "filled with the non-zero pattern");
	TAP_OK(d.owned && d.fs[0], "owned; its file system named");
	TAP_OK(d.odirect || strcmp(d.fs, "ext4"), "O_DIRECT on ext4");
	TAP_OK(strstr(d.fill, "O_DIRECT") != NULL, "fill says how it was written");
	TAP_EQ_INT(hvb_disk_clean_leftovers(dir, count_msg, &msgs), 0,
		   "a live run's disk is no leftover");
	TAP_OK(access(path, F_OK) == 0 && msgs == 0, "still there, nothing said");
	int fd = hvb_disk_open(&d);
	TAP_OK(fd >= 0 && !!(fcntl(fd, F_GETFL) & O_DIRECT) == d.odirect,
	       "device open is O_DIRECT when the probe said so");
	close(fd);
	hvb_disk_remove(&d);
	TAP_OK(access(path, F_OK) != 0 && errno == ENOENT, "removed at the end");
	hvb_disk_remove(&d); /* idempotent */
	free(path);
}

static void test_interrupted(void)
{
	volatile int stop = 2;
	struct hvb_disk d;
	char err[600], path[128];

	snprintf(path, sizeof(path), "%s/.hvbench-disk-run-2.img", dir);
	TAP_EQ_INT(hvb_disk_create(&d, dir, "run-2", 64ull << 20, &stop, err, sizeof(err)),
		   -EINTR, "a stopped fill says so");
	TAP_OK(access(path, F_OK) != 0, "and leaves no file");
	TAP_EQ_INT(hvb_disk_create(&d, "/nonexistent/dir", "r", 16ull << 20, NULL, err,
				   sizeof(err)), -ENOENT, "no such --out");
	TAP_OK(strstr(err, "/nonexistent/dir") != NULL, "the error names it");
}

static void test_leftovers(void)
{
	char dead[128], live[128], other[128];
	int fd_live, msgs = 0;

	snprintf(dead, sizeof(dead), "%s/.hvbench-disk-dead.img", dir);
	snprintf(live, sizeof(live), "%s/.hvbench-disk-live.img", dir);
	snprintf(other, sizeof(other), "%s/hvbench-disk-x.img", dir);
	close(open(dead, O_CREAT | O_WRONLY, 0600));
	close(open(other, O_CREAT | O_WRONLY, 0600));
	fd_live = open(live, O_CREAT | O_RDWR, 0600);
	TAP_OK(fd_live >= 0 && !flock(fd_live, LOCK_EX), "a live run's disk (locked)");
	TAP_EQ_INT(hvb_disk_clean_leftovers(dir, count_msg, &msgs), 1, "one leftover removed");
	TAP_OK(access(dead, F_OK) != 0, "the dead run's disk is gone");
	TAP_OK(msgs == 1, "with a message");
	TAP_OK(access(live, F_OK) == 0, "the live run's disk stays");
	TAP_OK(access(other, F_OK) == 0, "a file not named like hvbench's stays");
	close(fd_live);
	unlink(live);
	unlink(other);
}

static void test_given(void)
{
	char path[128], err[600];
	struct hvb_disk d;
	int fd;

	snprintf(path, sizeof(path), "%s/given.img", dir);
	fd = open(path, O_CREAT | O_RDWR, 0644);
	TAP_OK(fd >= 0 && !ftruncate(fd, 8 << 20), "an 8 MiB file");
	TAP_EQ_INT(hvb_disk_use(&d, path, 16ull << 20, err, sizeof(err)), -ENOSPC,
		   "too small: refused");
	TAP_OK(strstr(err, "too small") && strstr(err, "given.img"), "saying so");
	TAP_OK(!ftruncate(fd, (32 << 20) + 100), "32 MiB + 100 bytes, sparse");
	TAP_EQ_INT(hvb_disk_use(&d, path, 16ull << 20, err, sizeof(err)), 0, "big enough");
	TAP_OK(d.size_bytes == 32ull << 20 && !d.owned, "rounded down to 4 KiB; not owned");
	TAP_OK(strstr(d.fill, "SPARSE") != NULL, "a sparse file is called so");
	hvb_disk_remove(&d);
	TAP_OK(access(path, F_OK) == 0, "a given disk is never deleted");
	TAP_OK(!fchmod(fd, 0444), "made read-only");
	TAP_EQ_INT(hvb_disk_use(&d, path, 16ull << 20, err, sizeof(err)), -EACCES,
		   "read-only: refused (even for root)");
	TAP_OK(strstr(err, "read-only") != NULL, "saying so");
	close(fd);
	unlink(path);
	TAP_EQ_INT(hvb_disk_use(&d, path, 16ull << 20, err, sizeof(err)), -ENOENT, "missing");
	TAP_EQ_INT(hvb_disk_use(&d, dir, 16ull << 20, err, sizeof(err)), -EINVAL, "a directory");
	snprintf(path, sizeof(path), "%s/with space.img", dir);
	fd = open(path, O_CREAT | O_RDWR, 0644);
	TAP_OK(fd >= 0 && !ftruncate(fd, 16 << 20), "a file with a blank in its name");
	TAP_EQ_INT(hvb_disk_use(&d, path, 16ull << 20, err, sizeof(err)), -EINVAL,
		   "refused: the harness command line cannot carry it");
	close(fd);
	unlink(path);
}

static void test_tmpfs(void)
{
	char tdir[] = "/dev/shm/hvb-disk-XXXXXX", err[600];
	struct hvb_disk d;
	struct statfs st;

	if (statfs("/dev/shm", &st) || st.f_type != 0x01021994 || !mkdtemp(tdir)) {
		TAP_SKIP("no tmpfs at /dev/shm");
		return;
	}
	TAP_EQ_INT(hvb_disk_create(&d, tdir, "t", 16ull << 20, NULL, err, sizeof(err)), 0,
		   "create on tmpfs");
	/* Before Linux 6.6 tmpfs refuses O_DIRECT; since, it takes it: the
	 * page cache is in the path either way, and the note says so. */
	TAP_OK(strstr(d.odirect_note, "page cache") != NULL, "the page cache is named");
	TAP_OK(pattern_ok(d.path, 16ull << 20), "filled through the page cache");
	int fd = hvb_disk_open(&d);
	TAP_OK(fd >= 0 && !!(fcntl(fd, F_GETFL) & O_DIRECT) == d.odirect,
	       "device open with O_DIRECT as probed");
	close(fd);
	hvb_disk_remove(&d);
	rmdir(tdir);
}

int main(void)
{
	char tmpl[] = "/tmp/hvb-disk-XXXXXX";

	if (!mkdtemp(tmpl))
		return 1;
	snprintf(dir, sizeof(dir), "%s", tmpl);
	test_parse();
	test_create();
	test_interrupted();
	test_leftovers();
	test_given();
	test_tmpfs();
	rmdir(dir);
	return tap_done();
}
