/*
 * The default platform ("hvm"): the image as a hardware-virtualised guest
 * of the reference core (dev=hvb), KVM under it, or QEMU (dev=serial),
 * entered through the PVH note (entry.S).  rt_platform points here from
 * the start; xen.c and pv.c switch it when they find Xen.
 *
 * Everything here runs in ring 3; the halt goes through the int3 gate.
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

/* Nothing to arm: the VMM resumes the vCPU after the halt exit (HVB_CAP_HLT). */
static int hvm_halt_prepare(const char **note, const char **why)
{
	(void)note, (void)why;
	return 0;
}

/* hlt in ring 0 with interrupts off (RT_SYS_HLT). */
static void hvm_halt_wake(void)
{
	rt_sys(RT_SYS_HLT, 0, 0);
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
	return rt_virtio_windows_init(cmdline, page, RT_PLATFORM_MMIO_MAX);
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
};

const struct rt_platform *rt_platform = &rt_platform_hvm;
