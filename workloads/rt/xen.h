/*
 * Xen support of the guest runtime (xen.c): the image as a Xen PVH domU.
 *
 * Under Xen the runtime finds the hypervisor by its CPUID leaves, has Xen
 * fill a hypercall page, makes hypercalls from ring 0 through the int3 gate
 * (RT_SYS_XEN_HCALL: Xen answers a hypercall from CPL 3 with -EPERM), sends
 * records framed as console lines (console_codec.h) on the PV console ring,
 * and stops with SCHEDOP_shutdown.  Values are from Xen's public headers
 * (xen.h, sched.h, event_channel.h, hvm/hvm_op.h, hvm/params.h,
 * io/console.h, version.h); the ABI is stable.
 *
 * The ring arithmetic (xen_ring_put; xen_io.h adds the rest for xenstore) is a pure function so the host
 * unit tests (tests/unit/test_xen_ring.c) can check wrap-around and the
 * full ring; it is the only part of this header used outside the guest.
 */
#ifndef HVB_RT_XEN_H
#define HVB_RT_XEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hypercall numbers (index into the hypercall page, 32 bytes each). */
#define XEN_HC_XEN_VERSION	17
#define XEN_HC_VCPU_OP		24
#define XEN_HC_SCHED_OP		29
#define XEN_HC_EVENT_CHANNEL_OP 32
#define XEN_HC_HVM_OP		34

#define XENVER_VERSION		 0 /* returns (major << 16) | minor */
#define SCHEDOP_YIELD		 0
#define SCHEDOP_SHUTDOWN	 2
#define SCHEDOP_POLL		 3
#define SHUTDOWN_POWEROFF	 0
#define SHUTDOWN_CRASH		 3
#define EVTCHNOP_SEND		 4
#define HVMOP_GET_PARAM		 1
#define HVM_PARAM_CONSOLE_PFN	 17
#define HVM_PARAM_CONSOLE_EVTCHN 18
#define XEN_DOMID_SELF		 0x7ff0

#define XEN_CPUID_FIRST 0x40000000u
#define XEN_CPUID_LAST	0x40010000u
#define XEN_CPUID_STEP	0x100u

/* public/io/console.h: the shared page of the PV console. */
#define XENCONS_IN_SIZE	 1024u
#define XENCONS_OUT_SIZE 2048u
struct xencons_interface {
	char in[XENCONS_IN_SIZE];
	char out[XENCONS_OUT_SIZE];
	volatile uint32_t in_cons, in_prod;
	volatile uint32_t out_cons, out_prod;
};

/*
 * Copy as many of the n bytes at src into the output ring `ring` (size a
 * power of two) as fit, given the backend's consumer index `cons` and our
 * producer index *prod (free-running uint32_t counters, as Xen's rings
 * use).  Returns the number copied and advances *prod by it; the caller
 * publishes *prod after a write barrier and notifies the backend.  A ring
 * whose indexes claim more than `size` bytes in flight is broken: nothing
 * is written (0), never data the backend has not consumed.
 */
static inline size_t xen_ring_put(char *ring, uint32_t size, uint32_t cons, uint32_t *prod,
				  const void *src, size_t n)
{
	const char *s = src;
	uint32_t p = *prod;
	size_t i;

	if (p - cons > size)
		return 0;
	for (i = 0; i < n && p - cons < size; i++, p++)
		ring[p & (size - 1)] = s[i];
	*prod = p;
	return i;
}

/* ------------------------------------------------------------ guest only (xen.c) */

struct hvb_record;

/* The page Xen fills with hypercall stubs (entry.S calls into it from ring 0). */
extern uint8_t hvb_xen_hypercall_page[4096];
extern const uint32_t hvb_xen_crash;

/*
 * Find Xen (CPUID leaves, from ring 3), have it fill the hypercall page,
 * and look up the PV console ring and its event channel.  0, or -ENODEV
 * (not Xen) / -EIO (no console) with *why set.
 */
int rt_xen_init(const char **why);
/* Hypercall nr(a1, a2) from ring 0 through the int3 gate; Xen's return value. */
long rt_xen_hypercall(unsigned nr, uint64_t a1, uint64_t a2);
/* HVMOP_get_param for our own domain (PVH); 0 or Xen's -errno. */
long rt_xen_hvm_param(uint32_t index, uint64_t *value);
/* micro/hypercall under Xen: xen_version(XENVER_version) through the gate. */
long rt_xen_hypercall_null(void);
/* What rt_xen_hypercall_null costs besides the hypercall (sample note). */
const char *rt_xen_hypercall_note(void);
/* "xen": the hypercall's name in the runtime's LOG record (PVH and PV). */
const char *rt_xen_hypercall_name(void);

/*
 * micro/hlt-wake's wake-up source under PVH: software-enable the LAPIC Xen
 * emulates and point its timer (one-shot, divide by 1, unmasked) at
 * RT_VEC_WAKE; RT_SYS_XEN_HLT then starts it before each halt.  0 with
 * *note set to the mechanism, or -ENODEV with *why (no enabled LAPIC).
 */
int rt_xen_wake_init(const char **note, const char **why);
/*
 * micro/hlt-wake under PV (no hlt there): SCHEDOP_poll on no event channel
 * with a timeout in the past.  Xen blocks the vCPU, its poll timer fires at
 * once and unblocks it; the call returns when the vCPU runs again.  Events
 * stay masked (the poll needs them masked).  Xen's return value.
 */
long rt_xen_poll_wake(void);

/* xen_smp.c: smp=xen under PVH, VCPUOP_initialise (struct vcpu_hvm_context,
 * 32-bit protected mode at hvb_ap_start, %esi = index) + VCPUOP_up for
 * vCPUs 1..want-1 (rt_platform smp_start). */
int rt_xen_pvh_smp_start(unsigned want, const char *mode, const char **why);
/* xen_smp.c: VCPUOP_initialise(cpu, ctx) + VCPUOP_up(cpu) with the
 * platform's context (PVH: vcpu_hvm_context, PV: vcpu_guest_context);
 * 0, or Xen's -errno with *why. */
int rt_xen_vcpu_start(unsigned cpu, void *ctx, const char **why);

/* The dev=xencons transport (console.c's table). */
void rt_xencons_init(void);
void rt_xencons_emit(const struct hvb_record *rec);
void rt_xencons_text(const char *s);
void rt_xencons_stop(int code);
/* After a suspend that moved a PV domain: the console ring and port
 * start_info now names (restore gave a new port). */
void rt_xencons_resume(void);

#endif /* HVB_RT_XEN_H */
