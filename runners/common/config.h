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
#include "migrate_cfg.h"
#include "workload.h"
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

/*
 * The workload parameters of a run (hvbench run --param KEY=VALUE;
 * workload.h struct hvb_param), resolved once against the selected
 * workloads: every parameter of every selected workload, with the value
 * given or its default.  Runners pass them on as harness words
 * (hvb_param_words, runners/common/guest.h); meta.csv has param.<key>.
 */
#define HVB_RUN_PARAMS_MAX 32
#define HVB_PARAM_KEY_MAX  (HVB_NAME_MAX + HVB_PARAM_NAME_MAX + 2)

struct hvb_param_value {
	char key[HVB_PARAM_KEY_MAX]; /* "<short>.<name>", e.g. "open-loop.rate" */
	uint64_t value;
	bool given; /* set with --param (else the default) */
};

struct hvb_params {
	struct hvb_param_value v[HVB_RUN_PARAMS_MAX];
	unsigned n;
};

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
	bool kvm_trace;                /* HVB_KVM_TRACE: kvm tracepoints per repetition (kvm-trace) */
	bool prefault;                 /* HVB_PREFAULT: guest RAM populated before boot (kvm, qemu-kvm) */
	/* Probe switches (each on by default; tools/probe-overhead measures
	 * what each costs, meta runner.<name>.probes says which ran).
	 * HVB_VMM_COUNTERS switches the perf counters on the VMM threads of
	 * every runner; the older HVB_KVM_VMM_COUNTERS still switches the kvm
	 * runner's (an error if the two disagree). */
	bool kvm_vmm_counters;         /* kvm: perf counters on the core's threads */
	bool qemu_vmm_counters;        /* qemu-kvm, qemu-tcg: perf counters on QEMU's threads */
	bool vmm_exit_timing;          /* HVB_VMM_EXIT_TIMING: kvm core's TSC time per userspace exit */
	bool kvm_stats;                /* HVB_KVM_STATS: KVM binary stats (kvm) and QMP query-stats (qemu-kvm) */
	/* HVB_KVM_BLK_NOTIFY: how the kvm guest's virtio-blk notifications
	 * reach the device (default ioeventfd, the in-kernel fast path). */
	enum hv_blk_notify kvm_blk_notify;
	/* HVB_KVM_NET_NOTIFY: how the kvm guest's virtio-net notifications
	 * reach the device (net/; default ioeventfd; vhost is always
	 * ioeventfd). */
	enum hv_net_notify kvm_net_notify;
	/* HVB_KVM_IRQCHIP: the irqchip the kvm runner asks for first (default
	 * split; hv/irqchip.h falls back from there). */
	enum hv_irqchip kvm_irqchip;
	/* HVB_KVM_MIGRATE (or hvbench migrate, per grid point): migrate the
	 * guest during migrate/dirty (migrate_cfg.h); .on false: never. */
	struct hvb_mig_cfg migrate;
	/* The run's disk (runners/common/disk.h), set by the command when a
	 * selected workload needs HVB_CAP_BLK; NULL: no runner attaches one. */
	const struct hvb_disk *disk;
	/* --param, resolved by the command against its workloads
	 * (hvb_config_params); empty until then. */
	struct hvb_params params;
};

/* "on" or "off": the words of meta runner.<name>.probes (FORMAT.md). */
static inline const char *hvb_on_off(bool on)
{
	return on ? "on" : "off";
}

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

/*
 * Resolve the --param arguments args[0..nargs) ("KEY=VALUE", KEY
 * "<short>.<name>", VALUE an unsigned integer) against the parameters of
 * the workloads named in workloads[0..n) into cfg->params, defaults for
 * the rest.  0, or -EINVAL with err saying what is wrong and, for a key no
 * selected workload takes, which keys they do take.
 */
int hvb_config_params(struct hvb_config *cfg, const char *const *workloads, size_t n,
		      const char *const *args, unsigned nargs, char *err, size_t len);

/* The key of parameter p of workload w ("open-loop.rate") into buf. */
void hvb_param_key(const struct hvb_workload *w, const struct hvb_param *p, char *buf,
		   size_t len);

#endif
