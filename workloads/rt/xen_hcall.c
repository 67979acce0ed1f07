/*
 * Hypercalls of the guest under Xen (PVH and PV): the bottom of the Xen
 * files (xen.c, pv.c, xen_smp.c, xen_gnttab.c, xen_evtchn.c, ... call
 * these; this file calls none of them).
 *
 * The runtime runs in ring 3; the only ring-0 step is the hypercall
 * itself (entry.S / pv.S, RT_SYS_XEN_HCALL through the int3 gate), because
 * Xen refuses hypercalls from CPL 3.  The gate carries two arguments; a
 * call with more goes through a one-entry multicall.
 */
#include "rt.h"
#include "xen.h"
#include "xen_io.h"

long rt_xen_hypercall(unsigned nr, uint64_t a1, uint64_t a2)
{
	uint64_t rax = RT_SYS_XEN_HCALL, rdi = nr;
	register uint64_t rdx __asm__("rdx") = a2;

	/* Xen preserves the other registers, but a debug Xen poisons the
	 * argument registers a hypercall does not use: all are clobbered. */
	__asm__ volatile("int3"
			 : "+a"(rax), "+D"(rdi), "+S"(a1), "+r"(rdx)
			 :
			 : "rcx", "r8", "r9", "r10", "r11", "memory");
	return (long)rax;
}

long rt_xen_hypercall4(unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)
{
	struct xen_multicall_entry e = {.op = nr, .args = {a1, a2, a3, a4}};
	long rc = rt_xen_hypercall(XEN_HC_MULTICALL, (uintptr_t)&e, 1);

	return rc ? rc : (long)e.result;
}
