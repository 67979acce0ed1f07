/*
 * Application processors under Xen (smp=xen): the platforms' smp_start.
 *
 * PVH: each AP i gets a struct vcpu_hvm_context in 32-bit protected mode,
 * paging off, flat 4 GiB segments, IF=0, eip = hvb_ap_start (entry.S) and
 * %esi = i, which is the state the AP entry note promises every VMM
 * (workloads/rt/README.md), through VCPUOP_initialise, then VCPUOP_up.
 * From there the AP takes the same path as under the reference core and
 * QEMU: its own GDT slot / TSS / stacks, long mode, ring 3, the LAPIC Xen
 * emulates for the domain.
 *
 * PV: pv.c builds the struct vcpu_guest_context (the BSP's page tables,
 * trap table and callbacks) and starts it with rt_xen_vcpu_start below.
 *
 * The layout is Xen's public/hvm/hvm_vcpu.h (stable ABI since Xen 4.7;
 * the definitions here are ours, the asserts pin the offsets).  vcpu_op
 * takes three arguments, one more than the int3 gate carries, so it goes
 * through a one-entry multicall (rt_xen_hypercall4).
 */
#include "harness.h"
#include "rt.h"
#include "xen.h"
#include "xen_io.h"

#define VCPUOP_INITIALISE 0
#define VCPUOP_UP 1

/* public/hvm/hvm_vcpu.h: struct vcpu_hvm_context's mode. */
#define VCPU_HVM_MODE_32B 0

/* Segment attributes as hvm_vcpu.h packs them (descriptor bits 40-47 in
 * bits 0-7, bits 52-55 in 8-11): G | D/B | P | S | type. */
#define AR_CODE32 0xc9b /* execute/read, accessed */
#define AR_DATA32 0xc93 /* read/write, accessed */
#define AR_TSS32_BUSY 0x8b /* P | busy 32-bit TSS: Xen wants a present TR */

#define CR0_PE 0x1
#define CR0_ET 0x10

struct xen_vcpu_hvm_x86_32 {
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi, eip, eflags;
	uint32_t cr0, cr3, cr4;
	uint32_t pad1;
	uint64_t efer;
	uint32_t cs_base, ds_base, ss_base, es_base, tr_base;
	uint32_t cs_limit, ds_limit, ss_limit, es_limit, tr_limit;
	uint16_t cs_ar, ds_ar, ss_ar, es_ar, tr_ar;
	uint16_t pad2[3];
};

struct xen_vcpu_hvm_context {
	uint32_t mode;
	uint32_t pad;
	union {
		struct xen_vcpu_hvm_x86_32 x86_32;
		uint64_t x86_64[14]; /* rax..rflags, cr0, cr3, cr4, efer: not used */
	} regs;
};

_Static_assert(offsetof(struct xen_vcpu_hvm_x86_32, esi) == 24, "hvm_vcpu.h layout");
_Static_assert(offsetof(struct xen_vcpu_hvm_x86_32, eip) == 32, "hvm_vcpu.h layout");
_Static_assert(offsetof(struct xen_vcpu_hvm_x86_32, efer) == 56, "hvm_vcpu.h layout");
_Static_assert(offsetof(struct xen_vcpu_hvm_x86_32, cs_limit) == 84, "hvm_vcpu.h layout");
_Static_assert(offsetof(struct xen_vcpu_hvm_x86_32, tr_ar) == 112, "hvm_vcpu.h layout");
_Static_assert(sizeof(struct xen_vcpu_hvm_x86_32) == 120, "hvm_vcpu.h layout");
_Static_assert(offsetof(struct xen_vcpu_hvm_context, regs) == 8, "hvm_vcpu.h layout");
_Static_assert(sizeof(struct xen_vcpu_hvm_context) == 128, "hvm_vcpu.h layout");

extern char hvb_ap_start[]; /* entry.S: the AP entry of HVB_NOTE_AP_ENTRY */

static long vcpu_op(unsigned cmd, unsigned cpu, void *arg)
{
	return rt_xen_hypercall4(XEN_HC_VCPU_OP, cmd, cpu, (uintptr_t)arg, 0);
}

/* "smp=xen: VCPUOP_xxx of vCPU i failed (-N): <hint>" into a static buffer. */
static const char *op_failed(const char *op, unsigned cpu, long rc, const char *hint)
{
	static char why[HVB_TEXT_MAX];
	char *p = why, *end = why + sizeof(why) - 1;

	p = rt_put_str(p, end, "smp=xen: ");
	p = rt_put_str(p, end, op);
	p = rt_put_str(p, end, " of vCPU ");
	p = rt_put_dec(p, end, cpu);
	p = rt_put_str(p, end, " failed (-");
	p = rt_put_dec(p, end, (uint64_t)-rc);
	p = rt_put_str(p, end, "): ");
	p = rt_put_str(p, end, hint);
	*p = '\0';
	return why;
}

/* The AP entry's state (PVH entry state, %esi = cpu). */
static void pvh_ap_context(struct xen_vcpu_hvm_context *c, unsigned cpu)
{
	struct xen_vcpu_hvm_x86_32 *r = &c->regs.x86_32;

	rt_memset(c, 0, sizeof(*c));
	c->mode = VCPU_HVM_MODE_32B;
	r->eip = (uint32_t)(uintptr_t)hvb_ap_start;
	r->esi = cpu;
	r->eflags = 0x2; /* IF=0 */
	r->cr0 = CR0_PE | CR0_ET;
	r->cs_limit = r->ds_limit = r->ss_limit = r->es_limit = 0xffffffffu;
	r->cs_ar = AR_CODE32;
	r->ds_ar = r->ss_ar = r->es_ar = AR_DATA32;
	r->tr_limit = 0x67;
	r->tr_ar = AR_TSS32_BUSY;
}

/*
 * VCPUOP_initialise(cpu, ctx) + VCPUOP_up(cpu), the ctx being the
 * platform's (struct vcpu_hvm_context under PVH, struct vcpu_guest_context
 * under PV).  A vCPU the domain does not have (its config's vcpus=
 * smaller than the guest's vcpus=) fails VCPUOP_initialise with -ENOENT.
 * 0, or Xen's -errno with *why.
 */
int rt_xen_vcpu_start(unsigned cpu, void *ctx, const char **why)
{
	long rc = vcpu_op(VCPUOP_INITIALISE, cpu, ctx);

	if (rc) {
		*why = op_failed("VCPUOP_initialise", cpu, rc,
				 "the domain has fewer vCPUs?");
		return (int)rc;
	}
	rc = vcpu_op(VCPUOP_UP, cpu, 0);
	if (rc) {
		*why = op_failed("VCPUOP_up", cpu, rc, "Xen refused to run it");
		return (int)rc;
	}
	return 0;
}

/* smp_start of rt_platform_xen_pvh: vCPUs 1..want-1 from their initial
 * state, one after the other (smp.c waits for each to check in). */
int rt_xen_pvh_smp_start(unsigned want, const char *mode, const char **why)
{
	struct xen_vcpu_hvm_context ctx;
	int rc;

	if (mode[0] != 'x') {
		*why = "Xen PVH starts APs with smp=xen (VCPUOP_up) only";
		return -22;
	}
	for (unsigned cpu = 1; cpu < want; cpu++) {
		pvh_ap_context(&ctx, cpu);
		if ((rc = rt_xen_vcpu_start(cpu, &ctx, why)))
			return (int)cpu; /* CPUs 0..cpu-1 run: do not wait for the rest */
	}
	return 0;
}
