/*
 * Internal to the kvm runner (runners/kvm): one boot of the guest image
 * under the reference core (kvm.c), the KVM-stats bracket of each
 * repetition (stats.c) and the capability probe's boot (probe.c).
 */
#ifndef HVB_RUNNERS_KVM_H
#define HVB_RUNNERS_KVM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bare_loop.h"
#include "dev.h"
#include "dev_irqbench.h"
#include "exit.h"
#include "hostcpu.h"
#include "vmm_counters.h"
#include "kvm_stats.h"
#include "kvm_trace.h"
#include "lathist.h"
#include "records.h"
#include "runner.h"
#include "smp.h"
#include "netjob.h"
#include "virtio_blk.h"
#include "virtio_net.h"
#include "vm.h"

struct hvb_probe_boot;

/*
 * The time the core spends on each userspace exit of one vCPU (stats.c):
 * TSC cycles from KVM_RUN's return to the next KVM_RUN, by KVM exit reason
 * (reasons >= HV_EXIT_REASONS in [0]), over the current repetition.  One
 * per vCPU thread, so vCPUs never contend for a histogram; vCPU 0's
 * thread resets them at REP_BEGIN and merges them at REP_END
 * (kvm_vmm_time_merge) while the APs keep running, which is what `lock`
 * is for: a spinlock (no system call, so nothing for the seccomp filter),
 * held for one histogram update by the owner and for a reset or a merge
 * by vCPU 0, uncontended but at those two moments.
 */
struct kvm_vmm_time {
	struct hvb_lathist by_reason[HV_EXIT_REASONS];
	bool skip_next; /* the REP_BEGIN exit: its handling is the probe itself */
	int lock;	/* 0 free, 1 held (atomics) */
};

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
	/* perf counters on the vCPU thread and all of the core's threads */
	struct hvb_vmm_counters vmm;
	struct hv_blk_stats blk_a;
	struct hv_net_stats net_a;
	/* Each vCPU's exit times, [0] vCPU 0's ([n_vmm_time) allocated; NULL:
	 * not timed), and their merge at REP_END. */
	struct kvm_vmm_time *vmm_time;
	unsigned n_vmm_time;
	struct kvm_vmm_time *vmm_merged;
	/* HVB_KVM_TRACE: vCPU 0's kvm tracepoints (kvm-trace rows), or why not */
	struct kvm_trace *trace;
	struct kvm_trace_acct *trace_acct;
	char trace_why[200];
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

/*
 * Where a boot's time goes (boot_time.c): the core's own clock
 * (hv_now_ns) at the end of each step of kvm_setup and of the vCPU
 * thread's start, then the guest's TSC stamps of the HELLO record related
 * to the host clock.  The delivery probe is left out (boot_ms leaves it out
 * too); the probes' set-up is timed but not in boot_ms (KVM_BOOT_PROBES).
 * Logged once per boot (log.txt "boot phases").
 */
enum kvm_boot_phase {
	KVM_BOOT_VM,	  /* open /dev/kvm, KVM_CREATE_VM */
	KVM_BOOT_IRQCHIP, /* the irqchip (its delivery probe excluded, like boot_ms) */
	KVM_BOOT_MEMORY,  /* guest RAM: mmap, memslot, madvise */
	KVM_BOOT_PREFAULT, /* guest RAM populated (HVB_PREFAULT): NOT in boot_ms */
	KVM_BOOT_VCPUS,	  /* vCPUs: create, CPUID, LAPIC */
	KVM_BOOT_IMAGE,	  /* ELF load into guest RAM */
	KVM_BOOT_PAGING,  /* the initial page tables (hv/paging.h) */
	KVM_BOOT_DEVICES, /* APs' entry, console, hvb, bench, disk, net devices */
	KVM_BOOT_START,	  /* start info, command line, entry state */
	KVM_BOOT_THREAD,  /* the vCPU thread: creation, pinning */
	KVM_BOOT_PROBES,  /* KVM stats fds, tracepoints, host CPU, perf counters: NOT in boot_ms */
	KVM_BOOT_APS,	  /* the APs' threads (--vcpus > 1) */
	KVM_BOOT_SECCOMP, /* the vCPU thread's filter */
	KVM_BOOT_ENTRY,	  /* first KVM_RUN -> the guest's PVH entry (guest TSC) */
	KVM_BOOT_GUEST,	  /* PVH entry -> the harness's first instruction (guest TSC) */
	KVM_BOOT_PHASES
};

struct kvm_boot_clock {
	uint64_t lap_ns;	      /* end of the last step timed */
	uint64_t ns[KVM_BOOT_PHASES]; /* time per step */
	uint64_t first_run_ns;	      /* host clock at the first KVM_RUN */
};

/* boot_time.c: start the clock (at vm_create), close a step, leave a gap
 * out (a probe), and the log line once HELLO gave the guest's part. */
void kvm_boot_clock_start(struct kvm_boot_clock *c, uint64_t now_ns);
void kvm_boot_lap(struct kvm_boot_clock *c, enum kvm_boot_phase phase);
void kvm_boot_skip(struct kvm_boot_clock *c);
/* Close a step that is not part of boot_ms: its ns, to add to t0_ns. */
uint64_t kvm_boot_exclude(struct kvm_boot_clock *c, enum kvm_boot_phase phase);
/* The guest's part from HELLO: entry_ns / first_ns = host clock at the
 * guest's PVH entry and the harness's first instruction. */
void kvm_boot_guest(struct kvm_boot_clock *c, uint64_t entry_ns, uint64_t first_ns);
void kvm_boot_log(const struct kvm_boot_clock *c, const struct hvb_out *out, double boot_ms);

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
	/* probe.vmm read by the job's main thread on vCPU 0's behalf (its
	 * seccomp filter has no read(2): vmm_counters.h, the relay) */
	struct hvb_vmm_relay relay;
	uint64_t t0_ns;	      /* process side: before vm_create */
	struct kvm_boot_clock clock; /* where boot_ms went */
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
	/* Interrupts and SMP: the irqchip the VM got (and what was refused on
	 * the way), whether delivery works here (hv/irq_probe.h), the
	 * interrupt bench device, the APs' threads and where each vCPU ran. */
	enum hv_irqchip irqchip;
	char irqchip_why[200];
	bool irq_ok;
	char irq_why[240];
	struct hv_irqbench *irqb;
	struct hv_smp smp;
	bool aps_stuck; /* an AP's KVM_RUN never came back: leave the VM */
	int cpu_ran[HV_MAX_VCPUS]; /* sched_getcpu() of each vCPU thread (-1 unknown) */
	int tsc_err; /* vcpu_tsc_offset_set's first error (0: every vCPU's TSC is the host's) */
	bool tsc_stable;    /* probes/tsc.h hvb_tsc_stable: KVM leaves the offset alone */
	char tsc_why[192];  /* its evidence */
	/* Live migration (migrate.c, cfg->migrate.on): its state, vCPU 0's
	 * thread (to kick it) and whether vcpu_run has returned there. */
	struct kvm_mig *mig;
	/* How the core takes a record that did not come from this VM's own
	 * vCPUs (the destination's, relayed by migrate.c): set by the core, so
	 * the module calls back through the job, not into kvm.c. */
	int (*deliver)(struct kvm_job *kj, const struct hvb_record *rec, char *why, size_t len);
	pthread_t vcpu_main;
	bool vcpu_out; /* atomic */
};

/* The capabilities the core always offers on this host, plus probed. */
uint32_t kvm_host_caps(bool ioeventfds, uint32_t probed);

/* Create the VM, load the image, attach devices and boot structures with
 * `words` (+ the environment's words) as the guest's command line. */
int kvm_setup(struct kvm_job *kj, const char *words, uint32_t caps_probed, char *why,
	      size_t len);

/* The guest's virtio-mmio windows for the disk and the network (abi.h);
 * no interrupt is wired (the split irqchip has no IOAPIC, and the guest
 * drivers poll), the number only completes the word. */
#define KVM_BLK_IRQ 5
#define KVM_NET_IRQ 6



/* stats.c: userspace exits by reason, summed over the VM's vCPUs. */
void kvm_user_exits_sum(const struct vm *vm, uint64_t sum[HV_EXIT_REASONS]);

/* stats.c: open/close around the vCPU's run; on_rep brackets a repetition. */
/* cfg decides which probes open (HVB_KVM_STATS, HVB_VMM_EXIT_TIMING): one
 * that is off is not opened at all. */
void kvm_probe_open(struct kvm_rep_probe *p, struct vm *vm, struct vcpu *vcpu,
		    const struct hvb_config *cfg);
/* The exit_time_arg of vCPU id (NULL: not timed, HVB_VMM_EXIT_TIMING=0). */
struct kvm_vmm_time *kvm_vmm_time_of(struct kvm_rep_probe *p, unsigned id);
void kvm_probe_close(struct kvm_rep_probe *p);
/* HVB_KVM_TRACE: open vCPU 0's tracepoints (its thread, before seccomp). */
void kvm_trace_start(struct kvm_rep_probe *p, bool wanted);
void kvm_on_rep(void *arg, const struct hvb_record *rec, bool begin);
/* An hv_run_opts.exit_time callback; arg is the vCPU's struct kvm_vmm_time
 * (its own thread's: takes its lock). */
void kvm_vmm_time_exit(void *arg, uint32_t reason, uint64_t cycles);
/* dst += src; the caller holds whatever locks it needs (kvm_vmm_time_collect
 * takes each vCPU's). */
void kvm_vmm_time_merge(struct kvm_vmm_time *dst, const struct kvm_vmm_time *src);
/* REP_BEGIN: empty every vCPU's histograms (vCPU 0 skips its next exit,
 * the REP_BEGIN record's own); REP_END: the merge of all of them into
 * p->vmm_merged, each under its lock.  Safe while the APs run. */
void kvm_vmm_time_begin_all(struct kvm_rep_probe *p);
const struct kvm_vmm_time *kvm_vmm_time_collect(struct kvm_rep_probe *p);
/* meta placement.kvm.<thread>: where the core's threads ran (thread_placement.c). */
void kvm_record_placement(const struct kvm_job *kj);

/* bound.c: meta; before the guest's VM (main thread); after vcpu_run on
 * the vCPU thread (filtered: was its seccomp filter set as meta says?);
 * rows and teardown after the join (main thread). */
void kvm_bound_describe(const struct hvb_out *out);
void kvm_bound_prepare(struct kvm_job *kj);
void kvm_bound_measure(struct kvm_job *kj, bool filtered_as_promised);
void kvm_bound_finish(struct kvm_job *kj);

/*
 * migrate.c: live migration of the job's guest to a second core process
 * (cfg->migrate, migrate_cfg.h).  kvm_mig_prepare before the vCPUs exist
 * (refusals; the dirty ring); kvm_mig_start once the guest is set up
 * (starts the destination and the migration thread, which waits for the
 * first REP_BEGIN of migrate/dirty); kvm_mig_finish after vCPU 0's
 * thread ended (the relay of the destination's records, the verdict, the
 * migration rows).  Without cfg->migrate.on all three do nothing.
 */
int kvm_mig_prepare(struct kvm_job *kj, char *why, size_t len);
int kvm_mig_start(struct kvm_job *kj, char *why, size_t len);
void kvm_mig_finish(struct kvm_job *kj);
/* The destination process (hvbench migrate-dest): 0 or HVB_EXIT_*. */
int kvm_mig_dest_main(int argc, char **argv);

/* probe.c: the capability probe's boot (an hvb_probe_boot_fn). */
void kvm_probe_boot(void *arg, struct hvb_probe_boot *b);

#endif
