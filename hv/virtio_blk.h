/*
 * virtio-blk of the reference core, on the virtio-mmio transport
 * (hv/virtio.h), backed by a host file.
 *
 * Contract for the runner (runners/kvm): it opens the backing file (with
 * O_DIRECT when the file system allows it), attaches one device per VM
 * before the first KVM_RUN, tells the guest where the window is (the
 * "virtio_mmio.device=" command-line word, abi.h), reads the statistics
 * between repetitions and detaches after the run.  Every value the guest
 * supplies (descriptor addresses, lengths, flags, chains, ring indices,
 * request headers, sectors) is checked before use: a bad request completes
 * with VIRTIO_BLK_S_IOERR, a broken ring marks the device
 * DEVICE_NEEDS_RESET, and both are counted; the host never touches memory
 * outside guest RAM.  Register-level misuse (a wrong access size, no such
 * register) stops the run with a verdict naming the register, on the vCPU
 * thread; the I/O thread never stops the run (virtio.h, README).
 *
 * In ioeventfd mode KVM absorbs QueueNotify, so its value (the queue
 * index) is not seen: any write notifies queue 0.
 *
 * Threads: attach on a thread without the vCPU seccomp filter (the I/O
 * thread inherits its creator's filter, then adds its own when
 * cfg->seccomp); detach once no vCPU runs (it removes the MMIO window).
 */
#ifndef HV_VIRTIO_BLK_H
#define HV_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vm.h"

/* How the guest's "new requests" notification reaches the device. */
enum hv_blk_notify {
	HV_BLK_NOTIFY_IOEVENTFD = 0, /* QueueNotify is an ioeventfd: absorbed in the host kernel, the I/O thread wakes */
	HV_BLK_NOTIFY_EXIT,	     /* QueueNotify exits to the VMM, which hands the queue to the I/O thread */
	HV_BLK_NOTIFY_SYNC,	     /* QueueNotify exits to the VMM, which serves the requests before resuming (Solo5 style) */
	HV_BLK_NOTIFY_POLL,	     /* no notification: the I/O thread polls the available ring (VRING_USED_F_NO_NOTIFY / event index) */
};

struct hv_blk_config {
	int fd;			 /* backing file, open read-write; the device does not close it */
	uint64_t size_bytes;	 /* capacity, a multiple of 512 */
	bool direct;		 /* fd has O_DIRECT: the device keeps offsets, lengths and buffers aligned (bounces when the guest's are not) */
	enum hv_blk_notify notify;
	uint64_t mmio_gpa;	 /* window (HVB_VIRTIO_MMIO_BASE), HVB_VIRTIO_MMIO_SIZE bytes, outside RAM */
	unsigned queue_size_max; /* largest queue the device offers: a power of two, 1..1024 (0 = 256) */
	int io_cpu;		 /* CPU to pin the I/O thread to, -1 = leave it (attach fails if it cannot) */
	bool seccomp;		 /* the I/O thread installs its own allowlist (hv/seccomp.h) */
};

/* Counters since attach; read while the VM runs (monotonic, racy reads of
 * 64-bit counters are fine on x86-64). */
struct hv_blk_stats {
	uint64_t requests, reads, writes, flushes, get_ids;
	uint64_t bytes_read, bytes_written;
	uint64_t notifies;    /* notifications seen by the VMM (exit) or the I/O thread (eventfd) */
	uint64_t polls_empty; /* poll mode: I/O thread looks at an empty ring */
	uint64_t io_errors;   /* requests completed with VIRTIO_BLK_S_IOERR / UNSUPP */
	uint64_t bad_requests;/* of those, because the guest's request was malformed */
	uint64_t resets_needed; /* times the device set DEVICE_NEEDS_RESET */
	uint64_t bounced;     /* requests bounced through an aligned buffer (O_DIRECT) */
	uint64_t bad_accesses; /* config-space writes, ignored (the config is read-only) */
	uint64_t max_in_flight; /* most reads/writes in flight at once (Linux AIO) */
};

struct hv_virtio_blk;

/* Register the window on vm, start the I/O thread (all modes but SYNC).
 * 0 or -errno (-EINVAL bad config, -EEXIST window overlaps, ioeventfd
 * errors when notify is IOEVENTFD). */
int dev_virtio_blk_attach(struct vm *vm, const struct hv_blk_config *cfg,
			  struct hv_virtio_blk **out);
/* Stop and join the I/O thread, free the device.  NULL is fine. */
void dev_virtio_blk_detach(struct hv_virtio_blk *blk);
void dev_virtio_blk_stats(const struct hv_virtio_blk *blk, struct hv_blk_stats *out);
/* The device's Status register; with DEVICE_NEEDS_RESET (0x40) set, why
 * the device stopped (may be NULL).  For verdicts and tests. */
uint32_t dev_virtio_blk_status(const struct hv_virtio_blk *blk, char *why, size_t len);
/* How requests reach the file: "linux-aio" (the I/O thread keeps up to the
 * queue's depth in flight) or "sync" (one preadv/pwritev after the other:
 * sync notify mode, or a kernel that refused io_setup).  For meta.csv
 * (runner.kvm.blk: "... aio=linux-aio"). */
const char *dev_virtio_blk_backend(const struct hv_virtio_blk *blk);
/* Thread id of the I/O thread (host CPU accounting), 0 when there is none. */
pid_t dev_virtio_blk_io_tid(const struct hv_virtio_blk *blk);

const char *hv_blk_notify_name(enum hv_blk_notify n); /* "ioeventfd", "exit", "sync", "poll" */
/* 0, or -EINVAL for a name that is none of those. */
int hv_blk_notify_parse(const char *s, enum hv_blk_notify *out);

#endif
