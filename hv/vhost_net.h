/*
 * vhost-net for the reference core's virtio-net (hv/virtio_net.c, backend
 * "vhost"): the host kernel moves the frames between the guest's rings and
 * the tap; the VMM only hands it the memory table and the rings.
 *
 * Sequence (Linux's vhost API, <linux/vhost.h>):
 *   attach      open /dev/vhost-net, VHOST_SET_OWNER (the kernel starts its
 *               worker "vhost-<tid of the caller>": since Linux 6.4 a
 *               thread of this process, before a kernel thread of its
 *               own), VHOST_GET_FEATURES (must offer VERSION_1 and
 *               EVENT_IDX)
 *   DRIVER_OK   VHOST_SET_FEATURES (what the driver accepted of those two),
 *               VHOST_SET_MEM_TABLE (the VM's RAM regions, hv/mem.h),
 *               per queue VHOST_SET_VRING_NUM / BASE / ADDR / KICK / CALL,
 *               then VHOST_NET_SET_BACKEND with the tap
 *   reset       VHOST_NET_SET_BACKEND -1 per queue (the kernel stops using
 *               the rings), VHOST_GET_VRING_BASE
 *   detach      close (the kernel ends its worker)
 * Kick: the QueueNotify ioeventfd of each queue (datamatch = queue index),
 * so a guest notification never leaves the host kernel.  Call: an eventfd
 * per queue that nobody waits on (the guest polls its used rings).
 *
 * Nothing here prints; errors are -errno with a sentence in `why`.
 */
#ifndef HV_VHOST_NET_H
#define HV_VHOST_NET_H

#include <linux/vhost.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "virtio.h"
#include "vm.h"

#define HV_VHOST_QUEUES 2 /* receive (0), transmit (1) */

struct hv_vhost {
	int fd;
	int tap_fd;
	int call_fd[HV_VHOST_QUEUES];
	uint64_t features; /* what the kernel offers */
	pid_t owner_tid;   /* the thread that made VHOST_SET_OWNER: the worker's name */
	pid_t worker_tid;  /* the kernel's worker "vhost-<owner_tid>", 0 when not found */
	bool worker_kthread; /* it is a kernel thread outside this process (Linux < 6.4),
			      * not a thread of it (>= 6.4) */
	bool running;	   /* the backend is set on both queues */
	/* NULL: the ioctl system call (0 or -errno).  Tests put a recorder here to check the
	 * sequence hv_vhost_start / hv_vhost_stop make without a kernel that
	 * has vhost-net (set it after hv_vhost_open, or without it). */
	int (*ioctl_fn)(int fd, unsigned long req, void *arg);
};

/* A memory table with room for every region of a VM: struct vhost_memory
 * (nregions, padding, regions[]) with its array sized. */
struct hv_vhost_mem {
	uint32_t nregions, padding;
	struct vhost_memory_region region[HV_MAX_MEM_REGIONS];
};
_Static_assert(offsetof(struct hv_vhost_mem, region) == offsetof(struct vhost_memory, regions),
	       "hv_vhost_mem must lay out as struct vhost_memory");

/* Open path (NULL = "/dev/vhost-net"), become its owner, read its features.
 * -ENOENT / -EACCES (no vhost-net: the message says so), -EOPNOTSUPP (it
 * lacks VERSION_1 or EVENT_IDX), or the ioctl's error. */
int hv_vhost_open(struct hv_vhost *vh, const char *path, int tap_fd, char *why, size_t len);
void hv_vhost_close(struct hv_vhost *vh);

/* The VM's RAM as vhost sees it: guest-physical -> this process's addresses. */
void hv_vhost_mem_table(const struct vm *vm, struct hv_vhost_mem *m);
/* Queue q's ring addresses in this process (checked at QueueReady). */
void hv_vhost_vring_addr(const struct virtq *q, unsigned index, struct vhost_vring_addr *a);

/* Give the live rings of t (both queues ready, under the caller's lock) to
 * the kernel with kick_fd[q] as their kicks.  0 or -errno (why set). */
int hv_vhost_start(struct hv_vhost *vh, const struct vm *vm, const struct virtio_mmio *t,
		   const int kick_fd[HV_VHOST_QUEUES], char *why, size_t len);
/* Take the rings back (reset, detach).  Harmless when not running. */
void hv_vhost_stop(struct hv_vhost *vh);

/* The kernel's vhost worker of the calling thread that appeared after its
 * VHOST_SET_OWNER (not one of `before`), or 0. */
pid_t hv_vhost_find_worker(const pid_t *before, unsigned n_before);
/* The tasks named "vhost-<owner>" (the kernel names its worker after the
 * thread that made VHOST_SET_OWNER), up to max: threads of process pid
 * (Linux >= 6.4), then kernel threads in /proc (before 6.4; a task that
 * only calls itself so is no kernel thread, and is left out). */
unsigned hv_vhost_workers_of(pid_t pid, pid_t owner, pid_t *tids, unsigned max);
/* The same for the calling thread as owner, in this process. */
unsigned hv_vhost_worker_tids(pid_t *tids, unsigned max);
/* Whether tid is a thread of process pid (a kernel thread is not). */
bool hv_vhost_is_thread_of(pid_t pid, pid_t tid);

#endif
