/*
 * micro/: VM-exit micro-benchmarks (after kvm-unit-tests x86/vmexit.c).
 *
 * One operation = one exit-causing instruction (or its native analogue).
 * The same names mean the same guest operation under every runner, so
 * reports line up: natively, micro/hypercall is a null system call, marked
 * as a native analogue in the note; operations that have no native analogue
 * (port and MMIO I/O, MSR access, hlt) are skipped natively with the reason.
 */
#include "workload.h"

#define MSR_IA32_TSC_ADJUST 0x3b
#define MSR_IA32_KERNEL_GS_BASE 0xc0000102
#define PAGE_SIZE 4096ull

/* ------------------------------------------------------------ no exit */

static void run_rdtsc(struct hvb_ctx *c, uint64_t n)
{
	(void)c;
	for (uint64_t i = 0; i < n; i++) {
		uint32_t lo, hi;
		__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	}
}

static const struct hvb_workload w_rdtsc = {
	.name = "micro/rdtsc",
	.desc = "rdtsc (no exit unless the TSC is trapped)",
	.run = run_rdtsc,
};
HVB_WORKLOAD(w_rdtsc);

static bool valid_syscall(struct hvb_ctx *c, const char **why)
{
	(void)why;
	if (c->native)
		c->note = "native: raw getppid system call";
	else if (c->caps & HVB_CAP_XEN_PV)
		c->note = "Xen PV: user syscall -> Xen -> guest kernel callback -> HYPERVISOR_iret";
	else if (c->caps & HVB_CAP_PVM) /* measured: the LSTAR handler runs with the user CS */
		c->note = "PVM: the host delivers the syscall to LSTAR in user mode (no guest ring switch)";
	else
		c->note = "guest ring 3 -> ring 0 -> ring 3 round trip (no exit)";
	return true;
}

static void run_syscall(struct hvb_ctx *c, uint64_t n)
{
	(void)c;
	for (uint64_t i = 0; i < n; i++)
		rt_syscall_null();
}

static const struct hvb_workload w_syscall = {
	.name = "micro/syscall",
	.desc = "null system call round trip (the no-exit baseline)",
	.valid = valid_syscall,
	.run = run_syscall,
};
HVB_WORKLOAD(w_syscall);

/* ------------------------------------------------------------ privileged gate */

/* The guest runtime's way into its ring 0 (an int3 gate, iretq back): part
 * of micro/msr-* everywhere and of micro/hypercall under Xen, measured
 * alone so reports can subtract it. */
static bool valid_gate(struct hvb_ctx *c, const char **why)
{
	if (c->native) {
		*why = "the privileged gate is part of the guest runtime (no native analogue)";
		return false;
	}
	if (c->caps & HVB_CAP_XEN_PV)
		c->note = "Xen PV: int3 bounced by Xen to the guest kernel, HYPERVISOR_iret back "
			  "(inside hypercall)";
	else
		c->note = "int3 to the runtime's ring 0, iretq back: inside msr-*, and hypercall "
			  "under Xen";
	return true;
}

static void run_gate(struct hvb_ctx *c, uint64_t n)
{
	(void)c;
	for (uint64_t i = 0; i < n; i++)
		rt_gate_null();
}

static const struct hvb_workload w_gate = {
	.name = "micro/gate",
	.desc = "guest ring 3 -> ring 0 -> ring 3 through the runtime's privileged gate (no exit)",
	.valid = valid_gate,
	.run = run_gate,
};
HVB_WORKLOAD(w_gate);

/* ------------------------------------------------------------ hypercall */

static bool valid_hypercall(struct hvb_ctx *c, const char **why)
{
	if (c->native) {
		c->note = "native analogue: raw getppid system call";
		return true;
	}
	if (!rt_has(HVB_CAP_HYPERCALL, why))
		return false;
	if (rt_hypercall_note()) /* e.g. Xen: from ring 0, through the runtime's gate */
		c->note = rt_hypercall_note();
	return true;
}

static void run_hypercall(struct hvb_ctx *c, uint64_t n)
{
	(void)c;
	for (uint64_t i = 0; i < n; i++)
		rt_hypercall_null();
}

static const struct hvb_workload w_hypercall = {
	.name = "micro/hypercall",
	.needs = HVB_CAP_HYPERCALL,
	.desc = "null hypercall (vmcall/vmmcall; Xen: xen_version), handled in the host kernel",
	.valid = valid_hypercall,
	.run = run_hypercall,
};
HVB_WORKLOAD(w_hypercall);

/* ------------------------------------------------------------ cpuid */

static bool valid_cpuid(struct hvb_ctx *c, const char **why)
{
	if (!rt_has(HVB_CAP_CPUID, why))
		return false;
	if (c->caps & HVB_CAP_XEN_PV) /* measured: a plain cpuid does not trap there */
		c->note = "Xen PV: cpuid with Xen's forced-emulation prefix (ud2 'xen'): #UD to Xen";
	return true;
}

/*
 * A PV guest's cpuid runs natively unless the CPU has CPUID faulting, so
 * it is not an exit; Xen's forced-emulation prefix (public/arch-x86/xen.h
 * XEN_EMULATE_PREFIX), what PV kernels use, makes it one on every host.
 */
static inline void cpuid_xen_pv(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("ud2a; .ascii \"xen\"; cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(0)
			 : "memory");
}

static void run_cpuid(struct hvb_ctx *c, uint64_t n)
{
	uint32_t r[4];

	if (c->caps & HVB_CAP_XEN_PV) {
		for (uint64_t i = 0; i < n; i++)
			cpuid_xen_pv(0, r);
		return;
	}
	for (uint64_t i = 0; i < n; i++)
		rt_cpuid(0, 0, r);
}

static const struct hvb_workload w_cpuid = {
	.name = "micro/cpuid",
	.needs = HVB_CAP_CPUID,
	.desc = "cpuid leaf 0 (always exits under hardware virtualization)",
	.valid = valid_cpuid,
	.run = run_cpuid,
};
HVB_WORKLOAD(w_cpuid);

/* ------------------------------------------------------------ port I/O */

static bool valid_pio_user(struct hvb_ctx *c, const char **why)
{
	if (c->native) {
		*why = "port I/O exits exist only in a VM";
		return false;
	}
	return rt_has(HVB_CAP_PIO_USER, why);
}

static bool valid_pio_kern(struct hvb_ctx *c, const char **why)
{
	if (c->native) {
		*why = "port I/O exits exist only in a VM";
		return false;
	}
	return rt_has(HVB_CAP_PIO_KERN, why);
}

static void run_pio_out_user(struct hvb_ctx *c, uint64_t n)
{
	(void)c;
	for (uint64_t i = 0; i < n; i++)
		rt_outb(HVB_PORT_BENCH_USER, 0);
}

static void run_pio_in_user(struct hvb_ctx *c, uint64_t n)
{
	(void)c;
	for (uint64_t i = 0; i < n; i++)
		rt_keep(rt_inb(HVB_PORT_BENCH_USER));
}

static void run_pio_out_kern(struct hvb_ctx *c, uint64_t n)
{
	(void)c;
	for (uint64_t i = 0; i < n; i++)
		rt_outb(HVB_PORT_BENCH_KERN, 0);
}

static const struct hvb_workload w_pio_out_user = {
	.name = "micro/pio-out-user",
	.needs = HVB_CAP_PIO_USER,
	.desc = "outb to a port handled by the VMM in userspace",
	.valid = valid_pio_user,
	.run = run_pio_out_user,
};
HVB_WORKLOAD(w_pio_out_user);

static const struct hvb_workload w_pio_in_user = {
	.name = "micro/pio-in-user",
	.needs = HVB_CAP_PIO_USER,
	.desc = "inb from a port handled by the VMM in userspace",
	.valid = valid_pio_user,
	.run = run_pio_in_user,
};
HVB_WORKLOAD(w_pio_in_user);

static const struct hvb_workload w_pio_out_kern = {
	.name = "micro/pio-out-kernel",
	.needs = HVB_CAP_PIO_KERN,
	.desc = "outb to a port handled in the host kernel (ioeventfd)",
	.valid = valid_pio_kern,
	.run = run_pio_out_kern,
};
HVB_WORKLOAD(w_pio_out_kern);

/* ------------------------------------------------------------ MMIO */

static bool valid_mmio(struct hvb_ctx *c, const char **why, uint32_t cap, uint64_t gpa)
{
	if (c->native) {
		*why = "MMIO exits exist only in a VM";
		return false;
	}
	if (!rt_has(cap, why))
		return false;
	c->priv = (void *)rt_mmio(gpa);
	if (!c->priv) {
		*why = "the runtime could not map the MMIO page";
		return false;
	}
	return true;
}

static bool valid_mmio_user(struct hvb_ctx *c, const char **why)
{
	return valid_mmio(c, why, HVB_CAP_MMIO_USER, HVB_MMIO_BENCH_USER);
}

static bool valid_mmio_kern(struct hvb_ctx *c, const char **why)
{
	return valid_mmio(c, why, HVB_CAP_MMIO_KERN, HVB_MMIO_BENCH_KERN);
}

static void run_mmio_write(struct hvb_ctx *c, uint64_t n)
{
	volatile uint32_t *reg = c->priv;

	for (uint64_t i = 0; i < n; i++)
		*reg = 0;
}

static void run_mmio_read(struct hvb_ctx *c, uint64_t n)
{
	volatile uint32_t *reg = c->priv;

	for (uint64_t i = 0; i < n; i++)
		rt_keep(*reg);
}

static const struct hvb_workload w_mmio_write_user = {
	.name = "micro/mmio-write-user",
	.needs = HVB_CAP_MMIO_USER,
	.desc = "32-bit MMIO write handled by the VMM in userspace",
	.valid = valid_mmio_user,
	.run = run_mmio_write,
};
HVB_WORKLOAD(w_mmio_write_user);

static const struct hvb_workload w_mmio_read_user = {
	.name = "micro/mmio-read-user",
	.needs = HVB_CAP_MMIO_USER,
	.desc = "32-bit MMIO read handled by the VMM in userspace",
	.valid = valid_mmio_user,
	.run = run_mmio_read,
};
HVB_WORKLOAD(w_mmio_read_user);

static const struct hvb_workload w_mmio_write_kern = {
	.name = "micro/mmio-write-kernel",
	.needs = HVB_CAP_MMIO_KERN,
	.desc = "32-bit MMIO write handled in the host kernel (ioeventfd)",
	.valid = valid_mmio_kern,
	.run = run_mmio_write,
};
HVB_WORKLOAD(w_mmio_write_kern);

/* ------------------------------------------------------------ MSR */

static bool valid_msr(struct hvb_ctx *c, const char **why)
{
	if (c->native) {
		*why = "MSR access needs ring 0 (guest kernel); not measured natively";
		return false;
	}
	if ((c->caps & (HVB_CAP_XEN_PV | HVB_CAP_MSR)) == HVB_CAP_XEN_PV) {
		*why = "Xen PV: Xen's PV MSR emulation answers IA32_TSC_ADJUST with #GP";
		return false;
	}
	return rt_has(HVB_CAP_MSR, why);
}

static void run_msr_read(struct hvb_ctx *c, uint64_t n)
{
	(void)c;
	for (uint64_t i = 0; i < n; i++)
		rt_keep(rt_msr_read(MSR_IA32_TSC_ADJUST));
}

/* Writes TSC_ADJUST with the value it already holds: an exit, no effect. */
static int setup_msr_write(struct hvb_ctx *c, const char **why)
{
	(void)why;
	c->priv = (void *)(uintptr_t)rt_msr_read(MSR_IA32_TSC_ADJUST);
	return 0;
}

static void run_msr_write(struct hvb_ctx *c, uint64_t n)
{
	uint64_t v = (uint64_t)(uintptr_t)c->priv;

	for (uint64_t i = 0; i < n; i++)
		rt_msr_write(MSR_IA32_TSC_ADJUST, v);
}

static const struct hvb_workload w_msr_read = {
	.name = "micro/msr-read",
	.needs = HVB_CAP_MSR,
	.desc = "rdmsr IA32_TSC_ADJUST (intercepted MSR)",
	.valid = valid_msr,
	.run = run_msr_read,
};
HVB_WORKLOAD(w_msr_read);

static const struct hvb_workload w_msr_write = {
	.name = "micro/msr-write",
	.needs = HVB_CAP_MSR,
	.desc = "wrmsr IA32_TSC_ADJUST with its current value (intercepted MSR)",
	.valid = valid_msr,
	.setup = setup_msr_write,
	.run = run_msr_write,
};
HVB_WORKLOAD(w_msr_write);

/*
 * micro/msr-write-gsbase (kvm-unit-tests wr_kernel_gs_base): an MSR a
 * hypervisor usually passes through (the VMX MSR bitmap lets the guest
 * write it, the CPU switches it on entry and exit), beside micro/msr-write's
 * intercepted one.  The runtime itself never uses swapgs, so writing the
 * value read at setup changes nothing.
 */
static bool valid_msr_gsbase(struct hvb_ctx *c, const char **why)
{
	if (c->native) {
		*why = "MSR access needs ring 0 (guest kernel); not measured natively";
		return false;
	}
	if ((c->caps & (HVB_CAP_XEN_PV | HVB_CAP_MSR)) == HVB_CAP_XEN_PV) {
		*why = "Xen PV: no MSR access for the guest (HVB_CAP_MSR); a PV kernel's wrmsr "
		       "traps into Xen's emulation, its GS base is HYPERVISOR_set_segment_base";
		return false;
	}
	if (!rt_has(HVB_CAP_MSR, why))
		return false;
	c->note = "wrmsr IA32_KERNEL_GS_BASE with its value, through the runtime's gate "
		  "(VMX/SVM: passed through by the MSR bitmap; compare micro/msr-write)";
	return true;
}

static int setup_msr_gsbase(struct hvb_ctx *c, const char **why)
{
	(void)why;
	c->priv = (void *)(uintptr_t)rt_msr_read(MSR_IA32_KERNEL_GS_BASE);
	return 0;
}

static void run_msr_gsbase(struct hvb_ctx *c, uint64_t n)
{
	uint64_t v = (uint64_t)(uintptr_t)c->priv;

	for (uint64_t i = 0; i < n; i++)
		rt_msr_write(MSR_IA32_KERNEL_GS_BASE, v);
}

static const struct hvb_workload w_msr_gsbase = {
	.name = "micro/msr-write-gsbase",
	.needs = HVB_CAP_MSR,
	.desc = "wrmsr IA32_KERNEL_GS_BASE with its current value (usually not intercepted)",
	.valid = valid_msr_gsbase,
	.setup = setup_msr_gsbase,
	.run = run_msr_gsbase,
};
HVB_WORKLOAD(w_msr_gsbase);

/* ------------------------------------------------------------ pause */

/*
 * micro/pause-loop (after kvm-unit-tests ple_round_robin): one pause per
 * operation, a batch one tight pause loop.  Under VMX pause-loop exiting
 * (SVM: the pause filter) a loop that outlasts the window exits so the
 * host can run another vCPU, which helps only with more vCPUs than CPUs
 * (and VMMs with dedicated CPUs turn it off); under PVM and TCG there is
 * no PLE.  What ran is in exits.csv where the runner counts exits.
 */
static bool valid_pause(struct hvb_ctx *c, const char **why)
{
	(void)why;
	c->note = c->native ? "native: the same pause loop, no hypervisor"
			    : "ring-3 pause loop; PLE (if the host has it) exits once the loop "
			      "outlasts its window";
	return true;
}

static void run_pause(struct hvb_ctx *c, uint64_t n)
{
	(void)c;
	for (uint64_t i = 0; i < n; i++)
		__asm__ volatile("pause" ::: "memory");
}

static const struct hvb_workload w_pause = {
	.name = "micro/pause-loop",
	.desc = "one pause in a tight pause loop (pause-loop exiting, where the host has it)",
	.valid = valid_pause,
	.run = run_pause,
};
HVB_WORKLOAD(w_pause);

/* ------------------------------------------------------------ hlt */

static bool valid_hlt(struct hvb_ctx *c, const char **why)
{
	if (c->native) {
		*why = "hlt needs ring 0 (guest kernel); not measured natively";
		return false;
	}
	if ((c->caps & (HVB_CAP_XEN_PV | HVB_CAP_HLT)) == HVB_CAP_XEN_PV) {
		*why = "Xen PV: no wake-up source (events stay masked; SCHEDOP_block not wired)";
		return false;
	}
	if (!rt_has(HVB_CAP_HLT, why))
		return false;
	if (rt_halt_prepare(&c->note, why))
		return false;
	return true;
}

static void run_hlt(struct hvb_ctx *c, uint64_t n)
{
	(void)c;
	for (uint64_t i = 0; i < n; i++)
		rt_halt_wake();
}

static const struct hvb_workload w_hlt = {
	.name = "micro/hlt-wake",
	.needs = HVB_CAP_HLT,
	.desc = "hlt until an immediate wake-up event (halt exit + wake-up)",
	.valid = valid_hlt,
	.run = run_hlt,
};
HVB_WORKLOAD(w_hlt);

/* ------------------------------------------------------------ first touch */

#define FIRST_TOUCH_MAX_PAGES 16384 /* 64 MiB per batch */

struct first_touch {
	char *mem;
	uint64_t pages;
};

static struct first_touch ft;

static bool valid_first_touch(struct hvb_ctx *c, const char **why)
{
	c->note = c->native ? "native: anonymous page fault per 4 KiB page (no THP)"
		  : (c->caps & HVB_CAP_XEN_PV)
			  ? "Xen PV: #PF bounced to the guest kernel, update_va_mapping, "
			    "HYPERVISOR_iret per 4 KiB page"
			  : "EPT/NPT violation per 4 KiB guest page";
	return c->native || rt_has(HVB_CAP_RELEASE, why);
}

static void ft_before(struct hvb_ctx *c, uint64_t n)
{
	ft.mem = rt_fresh_alloc(n * PAGE_SIZE);
	ft.pages = ft.mem ? n : 0;
	c->priv = &ft;
}

static void run_first_touch(struct hvb_ctx *c, uint64_t n)
{
	struct first_touch *f = c->priv;
	volatile char *p = f->mem;

	if (!p || n > f->pages)
		return; /* after_batch reports nothing measured; see ft_after */
	for (uint64_t i = 0; i < n; i++)
		p[i * PAGE_SIZE] = 1;
}

static void ft_after(struct hvb_ctx *c, uint64_t n)
{
	struct first_touch *f = c->priv;

	(void)n;
	rt_fresh_release(f->mem, f->pages * PAGE_SIZE);
	f->mem = 0;
	f->pages = 0;
}

static int setup_first_touch(struct hvb_ctx *c, const char **why)
{
	void *probe = rt_fresh_alloc(FIRST_TOUCH_MAX_PAGES * PAGE_SIZE);

	(void)c;
	if (!probe) {
		*why = "not enough fresh memory for 64 MiB of first touches";
		return -1;
	}
	rt_fresh_release(probe, FIRST_TOUCH_MAX_PAGES * PAGE_SIZE);
	return 0;
}

static const struct hvb_workload w_first_touch = {
	.name = "micro/first-touch",
	.desc = "first write to a never-touched 4 KiB page (host fault + map)",
	.valid = valid_first_touch,
	.setup = setup_first_touch,
	.before_batch = ft_before,
	.run = run_first_touch,
	.after_batch = ft_after,
	.max_ops = FIRST_TOUCH_MAX_PAGES,
};
HVB_WORKLOAD(w_first_touch);
