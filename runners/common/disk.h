/*
 * The run's disk: one file that every runner of a run serves its io/
 * requests from (native: the child opens it; kvm: hv/virtio_blk; QEMU:
 * -drive), with the same flags, so native and guest figures compare the
 * same storage path below the VMM.
 *
 * Created once per run when a selected workload needs HVB_CAP_BLK, next to
 * the results (the same file system as the user's data), named
 * HVB_DISK_PREFIX<run-id>HVB_DISK_SUFFIX so it is recognisably hvbench's,
 * and filled with non-zero pseudo-random data: a sparse or fallocated file
 * reads its holes without any I/O, which would make read figures
 * meaningless.  Whether O_DIRECT works is probed by opening it and reading
 * a block (tmpfs refuses: the page cache is then in the path, and meta.csv
 * says so).  The run holds an flock on the file for its whole life, so a
 * later run can tell a killed run's leftover (no lock) from a live one's.
 * --disk PATH uses an existing file or block device instead: never
 * created, filled or removed by hvbench.
 */
#ifndef HVB_RUNNERS_DISK_H
#define HVB_RUNNERS_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hvb_sink;

/*
 * 256 MiB: 65536 distinct 4 KiB blocks, so random 4 KiB reads do not keep
 * hitting one cached block of whatever cache lies under the file (the
 * host's, or under nested virtualization the outer host's), and sequential
 * 1 MiB passes cross 256 requests before they wrap; filling it takes about
 * a second here (O_DIRECT writes of 4 MiB), a small part of a --quick run.
 */
#define HVB_DISK_DEFAULT_BYTES (256ull << 20)
#define HVB_DISK_MIN_BYTES     (16ull << 20) /* room for 1 MiB sequential requests */
#define HVB_DISK_MAX_BYTES     (1ull << 40)
#define HVB_DISK_PREFIX	       ".hvbench-disk-"
#define HVB_DISK_SUFFIX	       ".img"

struct hvb_disk {
	char *path;	     /* absolute */
	uint64_t size_bytes; /* what the devices offer: a multiple of 4096 */
	bool owned;	     /* created by this run: hvb_disk_remove deletes it */
	bool odirect;	     /* O_DIRECT open and read work on it */
	bool block_dev;	     /* --disk named a block device */
	int lock_fd;	     /* holds the run's flock (owned), else -1 */
	char fs[32];	     /* file system type (statfs), "block device" */
	char fill[200];	     /* what the file holds (meta disk.fill) */
	char odirect_note[200]; /* why not, or how it was checked */
	double fill_s;	     /* seconds the fill took (owned) */
};

/* The word at byte offset off (a multiple of 8) of a disk hvbench filled:
 * never zero, so no block of it reads like a hole. */
uint64_t hvb_disk_fill_word(uint64_t off);

/* "256M", "1G", "4096K", "268435456" (bytes; K/M/G/T binary, either case,
 * optional "iB"/"B"): a multiple of 4096 within [HVB_DISK_MIN_BYTES,
 * HVB_DISK_MAX_BYTES].  0 or -EINVAL with err saying what is accepted. */
int hvb_disk_parse_size(const char *s, uint64_t *out, char *err, size_t len);

/*
 * Create dir/HVB_DISK_PREFIX<run_id>HVB_DISK_SUFFIX of `bytes`, lock it,
 * fill it (checking *stop between chunks) and probe O_DIRECT.  0, -EINTR
 * (stopped: the file is gone again), or -errno with err saying what failed
 * and what to do (the file is gone again).
 */
int hvb_disk_create(struct hvb_disk *d, const char *dir, const char *run_id, uint64_t bytes,
		    const volatile int *stop, char *err, size_t len);

/* --disk PATH: an existing regular file or block device, writable, at least
 * min_bytes (the size is rounded down to 4096).  0 or -errno with err. */
int hvb_disk_use(struct hvb_disk *d, const char *path, uint64_t min_bytes, char *err, size_t len);

/* Open the disk for a device: read-write, O_DIRECT when d->odirect,
 * close-on-exec.  fd or -errno. */
int hvb_disk_open(const struct hvb_disk *d);

/* The disk.* keys of meta.csv and the log lines that go with them. */
void hvb_disk_meta(const struct hvb_disk *d, struct hvb_sink *sink);

/* Close; delete the file if this run created it.  Idempotent; a zeroed
 * struct is fine. */
void hvb_disk_remove(struct hvb_disk *d);

/* Delete leftovers in dir: HVB_DISK_PREFIX*HVB_DISK_SUFFIX files no live
 * run holds a lock on (a run killed with SIGKILL, a crash).  say(arg, msg)
 * is told about each one removed or that could not be.  Returns how many
 * were removed. */
unsigned hvb_disk_clean_leftovers(const char *dir, void (*say)(void *arg, const char *msg),
				  void *arg);

#endif
