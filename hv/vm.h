/*
 * The reference core's objects: a VM (one /dev/kvm VM fd, its guest memory,
 * its devices and the verdict of its run) and its vCPUs (one per guest CPU).
 *
 * Style of the Linux KVM selftests: object_verb() names; functions return 0
 * or -errno and leave the object as it was on failure; a checked function
 * may have a `__` twin that skips the checks when the caller already did
 * them.  Nothing here prints: errors are returned, the verdict says why a
 * run ended.
 */
#ifndef HV_VM_H
#define HV_VM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HV_MAX_VCPUS	   8
#define HV_MAX_MEM_REGIONS 4
#define HV_MAX_PIO	   16
#define HV_MAX_MMIO	   8
#define HV_MAX_IOEVENTFDS  8
#define HV_EXIT_REASONS	   64
#define HV_MAX_IRQFDS	   8

/* The VM's interrupt controller (irqchip.h). */
enum hv_irqchip {
	HV_IRQCHIP_NONE = 0, /* no LAPIC: hlt exits to userspace, nothing is delivered */
	HV_IRQCHIP_SPLIT,    /* LAPICs in the kernel, no PIC/PIT/IOAPIC (the core's choice) */
	HV_IRQCHIP_KERNEL,   /* KVM_CREATE_IRQCHIP: LAPICs + PIC + IOAPIC in the kernel */
};

/* What vcpu_cpuid_init() offered the guest (CPUID as set). */
struct hv_cpu_features {
	bool x2apic;	   /* leaf 1 ecx bit 21 */
	bool tsc_deadline; /* leaf 1 ecx bit 24 (set by us with an irqchip, KVM_CAP_TSC_DEADLINE_TIMER) */
	bool kvm_leaf;	   /* the KVM signature leaf 0x40000000 */
	bool pv_eoi;	   /* KVM_FEATURE_PV_EOI in leaf 0x40000001 */
	bool pv_send_ipi;  /* KVM_FEATURE_PV_SEND_IPI */
	bool pv_unhalt;	   /* KVM_FEATURE_PV_UNHALT */
};

struct vm;
struct vcpu;
struct hv_dirty; /* dirty.h */

/* What a device handler returns: keep running, or the run is over (the
 * handler has set the verdict with vm_stop()). */
enum { HV_CONTINUE = 0, HV_STOP = 1 };

/*
 * Device handlers run on the vCPU thread during an exit, with the vCPU
 * stopped.  data points into the kvm_run page (port I/O) or its mmio.data
 * (MMIO): for `out`/writes it holds the guest's bytes, for `in`/reads the
 * handler fills it (it was zeroed first).  size is 1, 2, 4 (port) or 1..8.
 */
typedef int (*hv_pio_fn)(void *opaque, struct vcpu *vcpu, uint16_t port, uint8_t *data,
			 unsigned size, bool out);
typedef int (*hv_mmio_fn)(void *opaque, struct vcpu *vcpu, uint64_t gpa, uint8_t *data,
			  unsigned len, bool write);

struct vm_pio {
	uint16_t first, last; /* inclusive */
	hv_pio_fn fn;
	void *opaque;
	const char *name;
};

struct vm_mmio {
	uint64_t gpa, len;
	hv_mmio_fn fn;
	void *opaque;
	const char *name;
};

struct vm_mem_region {
	uint64_t gpa, size;
	uint8_t *hva;
	uint32_t slot;
};

/* How a run ended. */
enum hv_outcome {
	HV_RUNNING = 0,
	HV_SHUTDOWN,	/* the guest ended the run itself (HVB_PORT_SHUTDOWN): guest_code */
	HV_TIMEOUT,	/* the watchdog stopped a guest that did not finish in time */
	HV_INTERRUPTED, /* the user interrupted (stop flag) */
	HV_CRASH,	/* the guest died: triple fault, internal error, failed entry */
	HV_GUEST_ERROR, /* the guest broke the rules: unknown port/MMIO/exit, bad address */
	HV_HOST_ERROR,	/* the host failed (KVM_RUN error, ...) */
};

struct hv_verdict {
	enum hv_outcome outcome;
	int guest_code;	      /* HV_SHUTDOWN: the value written to HVB_PORT_SHUTDOWN */
	uint32_t exit_reason; /* KVM exit reason of the last exit (KVM_EXIT_*) */
	bool have_regs;	      /* regs below are the guest's state when it stopped */
	uint64_t rip, rsp, rflags, cr0;
	char msg[256]; /* one line: what happened, where */
};

struct vcpu {
	struct vm *vm;
	int id, fd;
	struct kvm_run *run; /* the shared kvm_run page(s), vm->run_size bytes */
	uint64_t n_exits;    /* KVM_RUN returns on this vCPU */
	/* Userspace exits by KVM exit reason (reasons >= HV_EXIT_REASONS in [0]). */
	uint64_t exit_counts[HV_EXIT_REASONS];
	struct hv_cpu_features feat; /* after vcpu_cpuid_init() */
};

struct vm {
	int kvm_fd, fd;
	size_t run_size;
	struct vm_mem_region mem[HV_MAX_MEM_REGIONS];
	unsigned n_mem;
	uint64_t ram_size; /* RAM is [0, ram_size) in region 0 */
	/* Host-built initial page tables at [tables_gpa, ram_size), 0 = none
	 * (paging.h); vm_pvh_setup reports them reserved. */
	uint64_t tables_gpa;
	struct vcpu *vcpus[HV_MAX_VCPUS];
	unsigned n_vcpus;
	struct vm_pio pio[HV_MAX_PIO];
	unsigned n_pio;
	struct vm_mmio mmio[HV_MAX_MMIO];
	unsigned n_mmio;
	int ioeventfds[HV_MAX_IOEVENTFDS];
	unsigned n_ioeventfds;
	enum hv_irqchip irqchip; /* vm_irqchip_create (irqchip.h) */
	struct kvm_irq_routing_entry routes[HV_MAX_IRQFDS];
	int irqfds[HV_MAX_IRQFDS]; /* irqfds[i] raises routes[i] */
	unsigned n_irqfds;
	struct hv_verdict verdict;
	/* Set by a user who wants the run to stop (e.g. &hvb_interrupted);
	 * the watchdog polls it.  May be NULL. */
	const volatile int *stop_flag;
	/* Dirty tracking in progress (dirty.h), NULL = none: a full dirty
	 * ring exit is harvested through it. */
	struct hv_dirty *dirty;
};

/*
 * Open /dev/kvm (path, NULL = "/dev/kvm"), check the API version and create
 * an empty VM.  -ENOENT/-EACCES from open, -EPROTO for an API version other
 * than 12, or the KVM_CREATE_VM error.
 */
int vm_create(struct vm **out, const char *kvm_path);

/* Destroy the VM, its vCPUs, memory and event fds.  NULL is fine. */
void vm_destroy(struct vm *vm);

/*
 * Add `size` bytes (page multiple) of anonymous guest RAM at `gpa` (page
 * aligned), not overlapping other regions.  Memory is mapped MAP_NORESERVE:
 * untouched guest pages cost nothing.  The first region must start at 0;
 * it defines vm->ram_size.
 */
int vm_mem_add(struct vm *vm, uint64_t gpa, uint64_t size);

/* Create vCPU `id` (ids 0..HV_MAX_VCPUS-1, in order) and map its kvm_run page. */
int vcpu_create(struct vm *vm, unsigned id, struct vcpu **out);

/*
 * Give the vCPU the CPUID KVM supports on this host (KVM_GET_SUPPORTED_CPUID
 * -> KVM_SET_CPUID2), as every VMM does: without it the guest sees no
 * features and cannot enable SSE/AVX state (CR4.OSXSAVE, XCR0).  Per vCPU,
 * as a VMM must: the initial APIC ID (leaf 1 ebx[31:24], leaf 0xb edx) is
 * the vCPU's id.  With an irqchip, TSC-deadline is offered where KVM has
 * KVM_CAP_TSC_DEADLINE_TIMER (KVM leaves that bit to the VMM).  What was
 * offered is in vcpu->feat.
 */
int vcpu_cpuid_init(struct vcpu *vcpu);

/*
 * One clock for host and guest: the vCPU's TSC offset set to 0
 * (KVM_SET_DEVICE_ATTR, group KVM_VCPU_TSC_CTRL, attribute
 * KVM_VCPU_TSC_OFFSET; Linux >= 5.16), so a guest rdtsc reads what the
 * host's rdtsc reads at the same instant (TSC scaling aside: the vCPU
 * keeps the host's frequency unless a VMM changes it, and the core does
 * not).  KVM otherwise starts each VM's TSC at 0, so guest stamps and the
 * host's (abi.h interrupt bench device) would be on two clocks.  0, or
 * -errno: -ENXIO / -ENOTTY where this KVM has no such attribute (the TSC
 * then stays KVM's default; the caller records it).
 */
int vcpu_tsc_offset_set(struct vcpu *vcpu, int64_t offset);

/* KVM_GET_REGS / KVM_SET_REGS / KVM_GET_SREGS / KVM_SET_SREGS: 0 or -errno. */
int vcpu_regs_get(struct vcpu *vcpu, struct kvm_regs *regs);
int vcpu_regs_set(struct vcpu *vcpu, const struct kvm_regs *regs);
int vcpu_sregs_get(struct vcpu *vcpu, struct kvm_sregs *sregs);
int vcpu_sregs_set(struct vcpu *vcpu, const struct kvm_sregs *sregs);

/* KVM_CHECK_EXTENSION on the VM (falls back to /dev/kvm): value, 0 = absent. */
int vm_check_cap(struct vm *vm, long cap);

#endif
