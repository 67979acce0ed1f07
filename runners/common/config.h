/*
 * The configuration of a run, resolved once by the command (kvmtool
 * style) from its options and the environment, then read by every runner
 * through struct hvb_job: no runner reads the environment or re-reads a
 * file.  A malformed setting is an error that names it.
 */
#ifndef HVB_RUNNERS_CONFIG_H
#define HVB_RUNNERS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "virtio_blk.h"
#include "virtio_net.h"

struct hvb_disk;

/*
 * Guest RAM of every VM runner (--guest-mem, HVB_GUEST_MEM_MIB).  1024 MiB
 * fits the largest working set at full size (mem/stream-*: 3 x 256 MiB plus
 * the 1/8 + 32 MiB headroom workloads/mem asks for) and is what a Xen domU
 * can get in ci/xen's Xen-in-QEMU (dom0 1024M of QEMU's -m 3072).
 */
#define HVB_GUEST_MEM_DEFAULT_MIB 1024
#define HVB_GUEST_MEM_MIN_MIB	  16
#define HVB_GUEST_MEM_MAX_MIB	  3072 /* kvm: RAM must stay below the MMIO pages at 0xd0000000 */

struct hvb_config {
	struct hvb_image image;        /* --image / HVB_GUEST_IMAGE, read and hashed once */
	uint64_t guest_mem_mib;        /* --guest-mem / HVB_GUEST_MEM_MIB: RAM of every VM guest */
	const char *kvm_cmdline_extra; /* HVB_KVM_CMDLINE_EXTRA: guest words (debugging) */
	const char *qemu_bin;          /* HVB_QEMU, default qemu-system-x86_64 */
	const char *qemu_machine;      /* HVB_QEMU_MACHINE, default microvm */
	const char *qemu_probe_extra;  /* HVB_QEMU_PROBE_EXTRA: guest words of probe boots */
	const char *events;            /* HVBENCH_EVENTS: perf events of the native runner */
	const char *xentrace;          /* HVB_XENTRACE: 0 = off, else xentrace's path */
	const char *xentrace_keep;     /* HVB_XENTRACE_KEEP: keep raw traces in this directory */
	const char *xen_nesting;       /* HVB_XEN_NESTING: how this Xen itself runs */
	bool seccomp;                  /* HVB_SECCOMP: the kvm vCPU thread's syscall filter */
	/* HVB_KVM_BLK_NOTIFY: how the kvm guest's virtio-blk notifications
	 * reach the device (default ioeventfd, the in-kernel fast path). */
	enum hv_blk_notify kvm_blk_notify;
	/* HVB_KVM_NET_NOTIFY: how the kvm guest's virtio-net notifications
	 * reach the device (net/; default ioeventfd; vhost is always
	 * ioeventfd). */
	enum hv_net_notify kvm_net_notify;
	/* The run's disk (runners/common/disk.h), set by the command when a
	 * selected workload needs HVB_CAP_BLK; NULL: no runner attaches one. */
	const struct hvb_disk *disk;
};

/* Every setting that hvbench reads from the environment, for --help. */
struct hvb_env_doc {
	const char *name, *help;
};
extern const struct hvb_env_doc hvb_env_docs[];

/* Resolve cfg from the environment and image (NULL: the default image).
 * 0, or -EINVAL with err naming the bad variable and what it accepts. */
int hvb_config_load(struct hvb_config *cfg, const char *image, char *err, size_t len);
void hvb_config_free(struct hvb_config *cfg);

/* --guest-mem MIB given on the command line: overrides the environment.
 * 0, or -EINVAL with err saying what the option accepts. */
int hvb_config_guest_mem(struct hvb_config *cfg, const char *mib, char *err, size_t len);

#endif
