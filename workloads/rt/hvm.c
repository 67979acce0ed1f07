/*
 * The default platform ("hvm"): the image as a hardware-virtualised guest
 * of the reference core (dev=hvb), KVM under it, or QEMU (dev=serial),
 * entered through the PVH note (entry.S).  rt_platform points here from
 * the start; xen.c and pv.c switch it when they find Xen.
 *
 * Everything here runs in ring 3; the halt goes through the int3 gate.
 * SMP and interrupts are smp.c and lapic.c; the AP start is here.
 */
#include "harness.h"
#include "rt.h"
#include "virtio.h"

static bool use_vmmcall;

void rt_hvm_select_hypercall(bool vmmcall)
{
	use_vmmcall = vmmcall;
}

/* From ring 3: vmcall/vmmcall exit at any privilege level (KVM answers a
 * CPL > 0 caller with -KVM_EPERM after the same exit), so no ring switch
 * sits inside the measured operation. */
static long hvm_hypercall_null(void)
{
	long ret;

	if (use_vmmcall)
		__asm__ volatile("vmmcall" : "=a"(ret) : "a"((long)HVB_HC_NULL) : "rbx", "rcx",
				 "rdx", "rsi", "memory");
	else
		__asm__ volatile("vmcall" : "=a"(ret) : "a"((long)HVB_HC_NULL) : "rbx", "rcx",
				 "rdx", "rsi", "memory");
	return ret;
}

static const char *hvm_hypercall_note(void)
{
	return 0; /* the bare instruction: nothing to add */
}

static const char *hvm_hypercall_name(void)
{
	return use_vmmcall ? "vmmcall" : "vmcall";
}

/*
 * Without interrupts: nothing to arm, the VMM resumes the vCPU after the
 * halt exit (HVB_CAP_HLT).  With them (HVB_CAP_IRQ: an in-kernel irqchip
 * handles hlt and would never wake a vCPU halted with interrupts off):
 * the LAPIC timer wakes `sti; hlt`, as under Xen PVH.
 */
static int hvm_halt_prepare(const char **note, const char **why)
{
	return rt_smp_irq_up() ? rt_smp_halt_prepare(note, why) : 0;
}

/* hlt in ring 0 with interrupts off (RT_SYS_HLT), or woken by the timer. */
static void hvm_halt_wake(void)
{
	if (rt_smp_irq_up())
		rt_smp_timer_halt();
	else
		rt_sys(RT_SYS_HLT, 0, 0);
}

/* smp=direct: the reference core started the APs at HVB_NOTE_AP_ENTRY
 * already; smp=sipi: QEMU's, started by the BSP. */
static int hvm_smp_start(unsigned want, const char *mode, const char **why)
{
	(void)want;
	if (mode[0] == 'd')
		return 0;
	if (mode[0] == 's')
		return rt_smp_sipi(why);
	*why = "smp=xen is for Xen guests, not the hvm platform";
	return -22;
}

/* Never touched since boot: the host backs them on the first touch. */
long rt_hvm_fresh_alloc(uint64_t gpa, uint64_t bytes)
{
	(void)gpa, (void)bytes;
	return 0;
}

/* With HVB_CAP_RELEASE the host drops the backing of the range (a RELEASE
 * record), so the pages fault again on their next first touch. */
void rt_hvm_fresh_release(uint64_t gpa, uint64_t bytes)
{
	struct hvb_record r;

	if (!(rt_caps() & HVB_CAP_RELEASE))
		return;
	rt_memset(&r, 0, sizeof(r));
	r.magic = HVB_RECORD_MAGIC;
	r.version = HVB_ABI_VERSION;
	r.type = HVB_REC_RELEASE;
	r.size = sizeof(r);
	r.u64[0] = gpa;
	r.u64[1] = bytes;
	rt_emit(&r);
}

/* Besides the hvbench MMIO pages (main.c maps them on every platform): the
 * virtio-mmio windows of the command line, for the block and network
 * drivers (virtio_blk.c, virtio_net.c), which read them in ring 3.  Every
 * window's page is mapped: the core's block and network windows are two
 * pages (HVB_VIRTIO_MMIO_BASE, HVB_VIRTIO_MMIO_NET), QEMU's 512-byte
 * windows share one. */
static unsigned hvm_mmio_pages(const char *cmdline, uint64_t *page)
{
	unsigned n = 0;

	/* The xAPIC page (lapic.c: ring-3 register access) and the interrupt
	 * bench device's shared page (smp.c rt_kick), unless RAM holds it. */
	page[n++] = RT_LAPIC_BASE;
	if (!rt_mem_is_ram(HVB_SHARED_IRQ, 4096))
		page[n++] = HVB_SHARED_IRQ;
	return n + rt_virtio_windows_init(cmdline, page + n, RT_PLATFORM_MMIO_MAX - n);
}

const char rt_hvm_user_mode[] = " in ring 3 (workload or runtime)";
const char rt_hvm_kernel_mode[] = " in ring 0 (runtime)";

const struct rt_platform rt_platform_hvm = {
	.name = "hvm",
	.hypercall_null = hvm_hypercall_null,
	.hypercall_note = hvm_hypercall_note,
	.hypercall_name = hvm_hypercall_name,
	.halt_prepare = hvm_halt_prepare,
	.halt_wake = hvm_halt_wake,
	.fresh_alloc = rt_hvm_fresh_alloc,
	.fresh_release = rt_hvm_fresh_release,
	.page_note = rt_paging_note,
	.mmio_pages = hvm_mmio_pages,
	.user_mode = rt_hvm_user_mode,
	.kernel_mode = rt_hvm_kernel_mode,
	.blk = &rt_virtio_blk_ops,
	.net = &rt_virtio_net_ops,
	.smp_start = hvm_smp_start,
	.irq = &rt_lapic_irq_ops,
};

const struct rt_platform *rt_platform = &rt_platform_hvm;
