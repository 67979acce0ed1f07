#include "disk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "sink.h"
#include "util.h"

#define FILL_CHUNK (4u << 20) /* bytes per fill write: large, so O_DIRECT streams */
#define ALIGN	   4096u

uint64_t hvb_disk_fill_word(uint64_t off)
{
	uint64_t z = (off >> 3) + 0x9e3779b97f4a7c15ull; /* splitmix64 of the word index */

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31)) | 1;
}

int hvb_disk_parse_size(const char *s, uint64_t *out, char *err, size_t len)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	const char *u;
	char *end;
	unsigned shift = 0;

	errno = 0;
	v = s && *s >= '0' && *s <= '9' ? strtoull(s, &end, 10) : 0;
	if (!s || *s < '0' || *s > '9' || errno)
		goto bad;
	if (*end && (u = strchr(units, *end & ~0x20))) {
		shift = 10 * (unsigned)(u - units + 1);
		end++;
		if (!strcasecmp(end, "iB") || !strcasecmp(end, "B"))
			end += strlen(end);
	}
	if (*end || v > (HVB_DISK_MAX_BYTES >> shift))
		goto bad;
	v <<= shift;
	if (v < HVB_DISK_MIN_BYTES || v % ALIGN)
		goto bad;
	*out = v;
	return 0;
bad:
	snprintf(err, len,
		 "--disk-size '%s': give a size such as 256M or 1G (K, M, G, T: binary units), a "
		 "multiple of 4 KiB from %llu MiB to %llu GiB",
		 s ? s : "", HVB_DISK_MIN_BYTES >> 20, HVB_DISK_MAX_BYTES >> 30);
	return -EINVAL;
}

static void fs_name(int fd, char *buf, size_t len)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} names[] = {
		{ 0xef53, "ext4" },	   { 0x01021994, "tmpfs" }, { 0x58465342, "xfs" },
		{ 0x9123683e, "btrfs" },   { 0x794c7630, "overlayfs" }, { 0x6969, "nfs" },
		{ 0x2fc12fc1, "zfs" },	   { 0xf2f52010, "f2fs" },  { 0x858458f6, "ramfs" },
		{ 0x65735546, "fuse" },
	};
	struct statfs st;

	if (fstatfs(fd, &st)) {
		snprintf(buf, len, "unknown (%s)", strerror(errno));
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if ((unsigned long)st.f_type == names[i].magic) {
			snprintf(buf, len, "%s", names[i].name);
			return;
		}
	snprintf(buf, len, "0x%lx", (unsigned long)st.f_type);
}

static bool memory_fs(const char *fs)
{
	return !strcmp(fs, "tmpfs") || !strcmp(fs, "ramfs");
}

/* Can the disk be opened with O_DIRECT and read through it?  tmpfs refuses
 * the open; some file systems accept it and refuse the read. */
static void probe_odirect(struct hvb_disk *d)
{
	int fd = open(d->path, O_RDWR | O_DIRECT | O_CLOEXEC);
	void *buf = NULL;
	ssize_t n = -1;

	d->odirect = false;
	if (fd >= 0 && !posix_memalign(&buf, ALIGN, ALIGN))
		n = pread(fd, buf, ALIGN, 0);
	if (n == ALIGN && memory_fs(d->fs)) {
		/* Linux 6.6+ tmpfs takes the flag, but its data is the page cache. */
		d->odirect = true;
		snprintf(d->odirect_note, sizeof(d->odirect_note),
			 "O_DIRECT accepted by %s, whose data lives in the page cache: memory, "
			 "no storage device in the path",
			 d->fs);
	} else if (n == ALIGN) {
		d->odirect = true;
		snprintf(d->odirect_note, sizeof(d->odirect_note),
			 "O_DIRECT: open and an aligned 4 KiB read worked; no host page cache");
	} else {
		snprintf(d->odirect_note, sizeof(d->odirect_note),
			 "no O_DIRECT: %s refuses it (%s %s): the host page cache is in the path "
			 "of every runner",
			 d->fs, fd < 0 ? "open:" : "read:",
			 n < 0 ? strerror(errno) : "short read");
	}
	free(buf);
	if (fd >= 0)
		close(fd);
}

/* Write the fill pattern over the whole file, O_DIRECT if possible. */
static int fill(struct hvb_disk *d, const volatile int *stop, char *err, size_t len)
{
	int fd = open(d->path, O_WRONLY | O_DIRECT | O_CLOEXEC);
	bool direct = fd >= 0;
	uint64_t t0 = hvb_now_ns(), *buf = NULL;
	int r = 0;

	if (fd < 0)
		fd = open(d->path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || posix_memalign((void **)&buf, ALIGN, FILL_CHUNK)) {
		r = fd < 0 ? -errno : -ENOMEM;
		snprintf(err, len, "cannot write the disk %s: %s", d->path, strerror(-r));
		goto out;
	}
	for (uint64_t off = 0; off < d->size_bytes && !r; off += FILL_CHUNK) {
		size_t n = d->size_bytes - off < FILL_CHUNK ? (size_t)(d->size_bytes - off)
							     : FILL_CHUNK;
		if (stop && *stop) {
			r = -EINTR;
			break;
		}
		for (size_t i = 0; i < n / 8; i++)
			buf[i] = hvb_disk_fill_word(off + i * 8);
		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n) {
			r = errno ? -errno : -EIO;
			snprintf(err, len,
				 "cannot fill the disk %s (%llu MiB) at %llu MiB: %s; free space, "
				 "choose a smaller --disk-size or another --out",
				 d->path, (unsigned long long)(d->size_bytes >> 20),
				 (unsigned long long)(off >> 20), strerror(-r));
		}
	}
	if (!r && fdatasync(fd)) {
		r = -errno;
		snprintf(err, len, "cannot flush the disk %s: %s", d->path, strerror(-r));
	}
	d->fill_s = (double)(hvb_now_ns() - t0) / 1e9;
	snprintf(d->fill, sizeof(d->fill),
		 "pseudo-random non-zero 64-bit words (splitmix64 of the word index), no holes; "
		 "written %s",
		 direct ? "with O_DIRECT 4 MiB writes" : "through the page cache (no O_DIRECT)");
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return r;
}

/* Create and lock the file.  A cleaner of another run may find it between
 * the two: if the path no longer names what we locked, it was removed. */
static int create_locked(struct hvb_disk *d, char *err, size_t len)
{
	struct stat a, b;

	d->lock_fd = open(d->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (d->lock_fd < 0) {
		int e = -errno;
		snprintf(err, len, "cannot create the disk %s: %s (choose another --out)", d->path,
			 strerror(-e));
		return e;
	}
	d->owned = true;
	if (flock(d->lock_fd, LOCK_EX) || fstat(d->lock_fd, &a) || stat(d->path, &b) ||
	    a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		snprintf(err, len, "the disk %s was removed while it was being created", d->path);
		return -EAGAIN;
	}
	fs_name(d->lock_fd, d->fs, sizeof(d->fs));
	if (ftruncate(d->lock_fd, (off_t)d->size_bytes)) {
		int e = -errno;
		snprintf(err, len, "cannot size the disk %s to %llu bytes: %s", d->path,
			 (unsigned long long)d->size_bytes, strerror(-e));
		return e;
	}
	return 0;
}

/* The native child gets the path on the harness's blank-separated command
 * line (abi.h disk=), so it must not hold blanks. */
static int check_path_words(const char *path, char *err, size_t len)
{
	if (!path[strcspn(path, " \t\n\r\v\f")])
		return 0;
	snprintf(err, len, "the disk path '%s' holds a blank, which the harness command line "
		 "cannot carry: choose an --out (or --disk) without spaces", path);
	return -EINVAL;
}

int hvb_disk_create(struct hvb_disk *d, const char *dir, const char *run_id, uint64_t bytes,
		    const volatile int *stop, char *err, size_t len)
{
	char *abs = realpath(dir, NULL);
	int r;

	memset(d, 0, sizeof(*d));
	d->lock_fd = -1;
	if (!abs) {
		r = -errno;
		snprintf(err, len, "cannot create the disk in %s: %s", dir, strerror(-r));
		return r;
	}
	d->path = xasprintf("%s/%s%s%s", abs, HVB_DISK_PREFIX, run_id, HVB_DISK_SUFFIX);
	free(abs);
	d->size_bytes = bytes;
	if ((r = check_path_words(d->path, err, len))) {
		hvb_disk_remove(d);
		return r;
	}
	r = create_locked(d, err, len);
	if (!r)
		r = fill(d, stop, err, len);
	if (!r)
		probe_odirect(d);
	if (r)
		hvb_disk_remove(d);
	return r;
}

/* Size of an open regular file or block device. */
static int disk_size(int fd, const struct stat *st, uint64_t *out)
{
	if (S_ISREG(st->st_mode)) {
		*out = (uint64_t)st->st_size;
		return 0;
	}
	return ioctl(fd, BLKGETSIZE64, out) ? -errno : 0;
}

/* A sparse file reads its holes without I/O: say so, since hvbench does
 * not write over a file it was given. */
static void describe_given(struct hvb_disk *d, const struct stat *st)
{
	uint64_t allocated = (uint64_t)st->st_blocks * 512;

	if (d->block_dev)
		snprintf(d->fill, sizeof(d->fill), "--disk block device as found (not written by "
						   "hvbench before the run)");
	else if (allocated < d->size_bytes)
		snprintf(d->fill, sizeof(d->fill),
			 "--disk file as found, SPARSE: %llu of %llu bytes allocated (reads of "
			 "holes do no I/O)",
			 (unsigned long long)allocated, (unsigned long long)d->size_bytes);
	else
		snprintf(d->fill, sizeof(d->fill),
			 "--disk file as found (fully allocated; not written by hvbench before "
			 "the run)");
}

int hvb_disk_use(struct hvb_disk *d, const char *path, uint64_t min_bytes, char *err, size_t len)
{
	struct stat st;
	uint64_t size = 0;
	int fd, r;

	memset(d, 0, sizeof(*d));
	d->lock_fd = -1;
	if (stat(path, &st)) {
		r = -errno;
		snprintf(err, len, "--disk %s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		snprintf(err, len, "--disk %s: not a regular file or a block device", path);
		return -EINVAL;
	}
	/* Root may write anything: respect a file its owner made read-only. */
	if (!(st.st_mode & 0222)) {
		snprintf(err, len,
			 "--disk %s is read-only (mode %04o): io/ workloads write to the disk; "
			 "give a writable file (chmod u+w) or another one",
			 path, (unsigned)(st.st_mode & 07777));
		return -EACCES;
	}
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, len, "--disk %s: cannot open it read-write: %s", path, strerror(-r));
		return r;
	}
	d->block_dev = S_ISBLK(st.st_mode);
	r = disk_size(fd, &st, &size);
	if (d->block_dev)
		snprintf(d->fs, sizeof(d->fs), "block device");
	else
		fs_name(fd, d->fs, sizeof(d->fs));
	close(fd);
	if (r) {
		snprintf(err, len, "--disk %s: cannot read its size: %s", path, strerror(-r));
		return r;
	}
	size -= size % ALIGN;
	if (size < min_bytes) {
		snprintf(err, len,
			 "--disk %s is too small: %llu bytes, the run needs at least %llu (%llu MiB)",
			 path, (unsigned long long)size, (unsigned long long)min_bytes,
			 (unsigned long long)(min_bytes >> 20));
		return -ENOSPC;
	}
	d->path = realpath(path, NULL);
	if (!d->path)
		d->path = xstrdup(path);
	if ((r = check_path_words(d->path, err, len))) {
		hvb_disk_remove(d);
		return r;
	}
	d->size_bytes = size;
	describe_given(d, &st);
	probe_odirect(d);
	return 0;
}

int hvb_disk_open(const struct hvb_disk *d)
{
	int fd = open(d->path, O_RDWR | O_CLOEXEC | (d->odirect ? O_DIRECT : 0));

	return fd < 0 ? -errno : fd;
}

void hvb_disk_meta(const struct hvb_disk *d, struct hvb_sink *sink)
{
	hvb_sink_meta(sink, "disk.path", d->path);
	hvb_sink_metaf(sink, "disk.size_bytes", "%llu", (unsigned long long)d->size_bytes);
	hvb_sink_meta(sink, "disk.fs", d->fs);
	hvb_sink_meta(sink, "disk.odirect", d->odirect ? "1" : "0");
	hvb_sink_meta(sink, "disk.odirect_note", d->odirect_note);
	hvb_sink_meta(sink, "disk.fill", d->fill);
	hvb_sink_meta(sink, "disk.owned",
		      d->owned ? "created by this run, removed at its end" : "--disk: given");
	if (d->owned)
		hvb_sink_log(sink, NULL, "disk: created %s (%llu MiB on %s), filled in %.2f s "
					 "(%.0f MB/s); %s",
			     d->path, (unsigned long long)(d->size_bytes >> 20), d->fs, d->fill_s,
			     d->fill_s > 0 ? (double)d->size_bytes / d->fill_s / 1e6 : 0.0,
			     d->odirect_note);
	else
		hvb_sink_log(sink, NULL, "disk: --disk %s (%llu MiB on %s); %s; %s", d->path,
			     (unsigned long long)(d->size_bytes >> 20), d->fs, d->fill,
			     d->odirect_note);
}

void hvb_disk_remove(struct hvb_disk *d)
{
	if (d->owned && d->path)
		unlink(d->path);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	free(d->path);
	memset(d, 0, sizeof(*d));
	d->lock_fd = -1;
}

static bool leftover_name(const char *name)
{
	size_t n = strlen(name), p = strlen(HVB_DISK_PREFIX), s = strlen(HVB_DISK_SUFFIX);

	return n > p + s && !strncmp(name, HVB_DISK_PREFIX, p) &&
	       !strcmp(name + n - s, HVB_DISK_SUFFIX);
}

/* Remove dir/name if no live run holds its lock: 1 removed, 0 live, -errno. */
static int remove_if_dead(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat a, b;
	int r = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		r = errno == EWOULDBLOCK ? 0 : -errno;
	} else if (!fstat(fd, &a) && S_ISREG(a.st_mode) && !lstat(path, &b) &&
		   a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
		r = unlink(path) ? -errno : 1;
	}
	close(fd);
	return r;
}

unsigned hvb_disk_clean_leftovers(const char *dir, void (*say)(void *arg, const char *msg),
				  void *arg)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	unsigned removed = 0;

	if (!dp)
		return 0;
	while ((e = readdir(dp))) {
		char *path, *msg;
		int r;

		if (!leftover_name(e->d_name))
			continue;
		path = xasprintf("%s/%s", dir, e->d_name);
		r = remove_if_dead(path);
		if (r > 0) {
			removed++;
			msg = xasprintf("removed %s: the disk file of a run that is no longer "
					"running (killed or crashed)",
					path);
		} else {
			msg = r ? xasprintf("cannot remove the leftover disk file %s: %s", path,
					    strerror(-r))
				: NULL;
		}
		if (msg && say)
			say(arg, msg);
		free(msg);
		free(path);
	}
	closedir(dp);
	return removed;
}
