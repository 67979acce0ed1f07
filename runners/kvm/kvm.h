/*
 * Internal to the kvm runner (runners/kvm): one boot of the guest image
 * under the reference core (kvm.c), the KVM-stats bracket of each
 * repetition (stats.c) and the capability probe's boot (probe.c).
 */
#ifndef HVB_RUNNERS_KVM_H
#define HVB_RUNNERS_KVM_H

#include <stdbool.h>
#include <stdint.h>

#include "bare_loop.h"
#include "dev.h"
#include "exit.h"
#include "hostcpu.h"
#include "kvm_stats.h"
#include "records.h"
#include "runner.h"
#include "netjob.h"
#include "virtio_blk.h"
#include "virtio_net.h"
#include "vm.h"

struct hvb_probe_boot;

/* The probes that bracket one repetition (stats.c). */
struct kvm_rep_probe {
	struct kvm_stats *vcpu_st, *vm_st;
	struct kvm_stats_snap vcpu_a, vcpu_b, vm_a, vm_b;
	char unsupported[160]; /* why there are no KVM stats ("" = there are) */
	uint64_t user_exits[HV_EXIT_REASONS];
	uint64_t t0_ns;
	bool open;
	/* per_request workloads: host CPU of the vCPU + I/O thread and the
	 * device's notifications (runner rows, FORMAT.md) */
	struct hvb_hostcpu cpu;
	struct hv_blk_stats blk_a;
	struct hv_net_stats net_a;
};

/* The bound row (bound.c): the bare KVM_RUN loop timed beside the cells. */
#define KVM_BOUND_WORKLOAD "micro/bound-bare-kvm-run"

struct kvm_bound {
	bool wanted;		  /* the job runs a micro workload */
	bool stopped;		  /* the user stopped it: no row */
	struct hv_bare_guest guest;
	uint64_t exits_per_batch; /* calibrated to the job's goal_us */
	double *batch_ns;	  /* reps x batches ns per exit */
	unsigned reps_done;
	char why[200]; /* why a repetition has no value */
};

/* One boot: a job, or a capability-probe boot (probing != NULL). */
struct kvm_job {
	const struct hvb_job *job;
	const struct hvb_out *out;
	struct hvb_rec_consumer c;
	struct vm *vm;
	struct vcpu *vcpu;
	struct hv_console con;
	struct hv_hvb hvb;
	struct kvm_rep_probe probe;
	uint64_t t0_ns;	      /* process side: before vm_create */
	bool boot_done;
	bool abandoned;	     /* the vCPU thread was left behind in KVM_RUN */
	char fault[200];     /* the guest's last FAULT record, for the verdict */
	struct hvb_probe_boot *probing; /* capability probe boot, or NULL */
	char pin_desc[128];
	int pin_err;
	struct kvm_bound bound;
	struct hv_virtio_blk *blk; /* the run's disk, when the job needs it */
	int blk_fd;
	/* net/: the job's link (namespace, tap, responder) and the device on
	 * it; the backend is the runner's variant (kvm, kvm-vhost, kvm-loop). */
	enum hv_net_backend net_backend;
	enum hv_net_notify net_notify; /* vhost: always ioeventfd (the kernel's kick) */
	struct hvb_netjob nj;
	struct hv_virtio_net *net;
};

/* The capabilities the core always offers on this host, plus probed. */
uint32_t kvm_host_caps(bool ioeventfds, uint32_t probed);

/* Create the VM, load the image, attach devices and boot structures with
 * `words` (+ the environment's words) as the guest's command line. */
int kvm_setup(struct kvm_job *kj, const char *words, uint32_t caps_probed, char *why,
	      size_t len);

/* The guest's virtio-mmio windows for the disk and the network (abi.h);
 * no interrupt is wired (no irqchip), the number only completes the word. */
#define KVM_BLK_IRQ 5
#define KVM_NET_IRQ 6



/* stats.c: open/close around the vCPU's run; on_rep brackets a repetition. */
void kvm_probe_open(struct kvm_rep_probe *p, struct vm *vm, struct vcpu *vcpu);
void kvm_probe_close(struct kvm_rep_probe *p);
void kvm_on_rep(void *arg, const struct hvb_record *rec, bool begin);

/* bound.c: meta; before the guest's VM (main thread); after vcpu_run on
 * the vCPU thread (filtered: was its seccomp filter set as meta says?);
 * rows and teardown after the join (main thread). */
void kvm_bound_describe(const struct hvb_out *out);
void kvm_bound_prepare(struct kvm_job *kj);
void kvm_bound_measure(struct kvm_job *kj, bool filtered_as_promised);
void kvm_bound_finish(struct kvm_job *kj);

/* probe.c: the capability probe's boot (an hvb_probe_boot_fn). */
void kvm_probe_boot(void *arg, struct hvb_probe_boot *b);

#endif
