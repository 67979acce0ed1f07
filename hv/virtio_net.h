/*
 * virtio-net of the reference core, on the virtio-mmio transport
 * (hv/virtio.h): queue 0 receive, queue 1 transmit, no control queue, no
 * offloads (VIRTIO_F_VERSION_1, VIRTIO_NET_F_MAC, VIRTIO_NET_F_MTU,
 * VIRTIO_RING_F_EVENT_IDX; the header is struct virtio_net_hdr_v1, 12
 * bytes, in front of every frame).
 *
 * Backends (what is behind the device, recorded in meta):
 *   tap       an open tap (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, vnet header
 *             size 12) that the runner created in hvbench's namespace; the
 *             device's I/O thread moves frames between the rings and the
 *             tap with readv/writev
 *   vhost     the same tap handed to the host kernel's vhost-net
 *             (/dev/vhost-net): memory table, rings, kick = ioeventfd on
 *             QueueNotify (datamatch the queue index), call = an eventfd
 *             nobody waits on (the guest polls the used rings); the VMM
 *             moves no frame
 *   loopback  no host link: every transmitted frame is put in the next
 *             receive buffer with its Ethernet, IPv4 and UDP source and
 *             destination swapped (non-IPv4 frames: the MACs only), so an
 *             echo request comes back as its answer and the checksums stay
 *             valid; no receive buffer posted: dropped (rx_dropped).
 *             Isolates the virtio path from the host stack
 *
 * Contract for the runner (runners/kvm), as virtio_blk.h: attach one device
 * per VM before the first KVM_RUN, write the "virtio_mmio.device=" word
 * for HVB_VIRTIO_MMIO_NET, read the statistics between repetitions, detach
 * after the run.  Every guest value is hostile and checked as virtio-blk's
 * are (hv/virtio.h): a transmitted frame with no or a short virtio-net
 * header, zero length, longer than the MTU frame (1514 + header) or in a
 * device-writable buffer is dropped and counted (tx_bad); a receive buffer
 * that is device-readable or shorter than the header is a broken queue
 * (DEVICE_NEEDS_RESET); a frame larger than the posted buffer is dropped
 * and counted (rx_dropped).  The host never touches memory outside guest
 * RAM.  Under vhost the kernel validates instead; the counters the kernel
 * does not expose read as zero and the note says so.
 */
#ifndef HV_VIRTIO_NET_H
#define HV_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vm.h"

enum hv_net_backend {
	HV_NET_TAP = 0,
	HV_NET_VHOST,
	HV_NET_LOOPBACK,
};

/* How the guest's "new buffers" notification reaches the device (tap and
 * loopback; vhost is always ioeventfd). */
enum hv_net_notify {
	HV_NET_NOTIFY_IOEVENTFD = 0, /* QueueNotify is an ioeventfd per queue, the I/O thread wakes */
	HV_NET_NOTIFY_EXIT,	     /* QueueNotify exits to the VMM, which wakes the I/O thread */
	HV_NET_NOTIFY_POLL,	     /* no notification: the I/O thread polls the rings (event index) */
	HV_NET_NOTIFY_SYNC,	     /* loopback only: QueueNotify is served inside the exit on the
				      * vCPU thread, no I/O thread (deterministic: tests, fuzzer) */
};

struct hv_net_config {
	enum hv_net_backend backend;
	enum hv_net_notify notify;
	int tap_fd;		 /* tap and vhost: the open tap (O_NONBLOCK); the device does not close it */
	const char *vhost_path;	 /* vhost: NULL = "/dev/vhost-net" */
	uint8_t mac[6];		 /* offered in config space (VIRTIO_NET_F_MAC) */
	uint16_t mtu;		 /* offered (VIRTIO_NET_F_MTU); 0 = 1500 */
	uint64_t mmio_gpa;	 /* window (HVB_VIRTIO_MMIO_NET), HVB_VIRTIO_MMIO_SIZE bytes */
	unsigned queue_size_max; /* power of two, 1..1024 (0 = 256) */
	int io_cpu;		 /* CPU for the I/O thread, -1 = leave it */
	bool seccomp;		 /* the I/O thread installs its own allowlist (hv/seccomp.h) */
};

/* Counters since attach (monotonic; racy reads are fine on x86-64). */
struct hv_net_stats {
	uint64_t tx_frames, tx_bytes; /* frames the guest sent that went out (tap, loopback) */
	uint64_t rx_frames, rx_bytes; /* frames put into the guest's receive buffers */
	uint64_t tx_bad;	      /* transmitted chains dropped as malformed */
	uint64_t tx_errors;	      /* frames the backend refused (tap write failed: EAGAIN, ENOBUFS) */
	uint64_t rx_dropped;	      /* frames dropped: no receive buffer posted, or larger than it */
	uint64_t notifies;	      /* notifications seen (exit or eventfd), per device */
	uint64_t polls_empty;	      /* poll mode: passes that found nothing to do */
	uint64_t resets_needed;	      /* times the device set DEVICE_NEEDS_RESET */
	uint64_t bad_accesses;	      /* config-space writes, ignored */
	bool kernel_datapath;	      /* vhost: the frame counters above are not the VMM's (zero) */
};

struct hv_virtio_net;

/* Register the window on vm, set up the backend, start the I/O thread
 * (tap, loopback; under vhost a thread that sets the kernel up at
 * DRIVER_OK).  0 or -errno (-EINVAL bad config, -EEXIST window overlaps,
 * -ENOENT/-EACCES no /dev/vhost-net, -EOPNOTSUPP vhost-net without
 * VERSION_1 or EVENT_IDX, ioeventfd errors: ioeventfd mode and vhost need
 * a real VM).  Attach on a thread without the vCPU seccomp filter. */
int dev_virtio_net_attach(struct vm *vm, const struct hv_net_config *cfg,
			  struct hv_virtio_net **out);
/* A sentence for what attach returned (err < 0) with cfg, into buf:
 * "virtio-net: no /dev/vhost-net: this kernel has no vhost-net ...". */
const char *dev_virtio_net_strerror(const struct hv_net_config *cfg, int err, char *buf,
				   size_t len);
/* Stop the I/O thread / vhost, free the device.  NULL is fine. */
void dev_virtio_net_detach(struct hv_virtio_net *net);
void dev_virtio_net_stats(const struct hv_virtio_net *net, struct hv_net_stats *out);
/* Status register; with DEVICE_NEEDS_RESET set, why (may be NULL). */
uint32_t dev_virtio_net_status(const struct hv_virtio_net *net, char *why, size_t len);
/* Threads of this process that serve the device, for host CPU accounting
 * (the I/O thread; under vhost the thread that makes the vhost ioctls): up
 * to max into tids, returns how many.  Not the vhost worker: below. */
unsigned dev_virtio_net_tids(const struct hv_virtio_net *net, pid_t *tids, unsigned max);
/* Under vhost, the kernel's worker that moves the frames (0: not found, or
 * not vhost); *kthread: a kernel thread outside this process (Linux < 6.4)
 * rather than a thread of it; *owner: the thread it is named after
 * ("vhost-<owner>"), 0 without vhost. */
pid_t dev_virtio_net_vhost_worker(const struct hv_virtio_net *net, bool *kthread, pid_t *owner);

const char *hv_net_backend_name(enum hv_net_backend b); /* "tap", "vhost", "loopback" */
int hv_net_backend_parse(const char *s, enum hv_net_backend *out); /* 0 or -EINVAL */
const char *hv_net_notify_name(enum hv_net_notify n);	/* "ioeventfd", "exit", "poll", "sync" */
int hv_net_notify_parse(const char *s, enum hv_net_notify *out);

#endif
