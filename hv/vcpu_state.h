/*
 * The complete architectural state of one vCPU, as migration moves it:
 * registers, segment/control registers, MSRs, FPU/XSAVE, XCRs, the local
 * APIC (with an irqchip), pending events, mp_state, debug registers and
 * the TSC offset.
 *
 * The TSC: IA32_TSC is not among the MSRs moved.  The core runs every
 * guest with a TSC offset of 0 (vcpu_tsc_offset_set: the guest's TSC is
 * the host's); the offset is moved instead, so on one host the guest's
 * TSC stays continuous across the move and the time the guest did not
 * run shows as a gap in its own TSC readings (its downtime), as on real
 * hardware that was suspended.  On two hosts the destination would have
 * to add the difference of the hosts' TSCs (not done here).
 *
 * Get only from a vCPU outside KVM_RUN, after vcpu_state_settle(); set on
 * a fresh vCPU of a VM of the same shape (same memory, irqchip, CPUID).
 */
#ifndef HV_VCPU_STATE_H
#define HV_VCPU_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm.h"

#define HV_STATE_MAX_MSRS 256
#define HV_STATE_XSAVE_MAX (64u << 10) /* largest XSAVE area accepted from a stream */

/* The parts, in the order they are restored (QEMU's order: XCR0 before
 * sregs' CR4.OSXSAVE users, mp_state before the LAPIC). */
enum hv_state_part {
	HV_PART_REGS = 0,
	HV_PART_XSAVE,
	HV_PART_XCRS,
	HV_PART_SREGS,
	HV_PART_MSRS,
	HV_PART_MP_STATE,
	HV_PART_LAPIC,
	HV_PART_EVENTS,
	HV_PART_DEBUGREGS,
	HV_PART_TSC_OFFSET,
	HV_PARTS
};

struct hv_vcpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xsave *xsave; /* xsave_size bytes (KVM_GET_XSAVE2 size where larger) */
	uint32_t xsave_size;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	struct kvm_debugregs dbg;
	int64_t tsc_offset;
	uint32_t n_msrs;
	struct kvm_msr_entry msrs[HV_STATE_MAX_MSRS];
	bool have[HV_PARTS]; /* parts present (got, or received) */
	/* After vcpu_state_set: MSRs KVM refused, and the first of them. */
	uint32_t msrs_refused, msr_first_refused;
};

/* "regs", "xsave", ... (for errors). */
const char *hv_state_part_name(enum hv_state_part p);

/* Finish an exit KVM still owes the vCPU (the data of a port `in`, an MMIO
 * read) with one KVM_RUN that returns at once (immediate_exit): the state
 * read afterwards is the guest's, not half an instruction.  0 or -errno. */
int vcpu_state_settle(struct vcpu *vcpu);

/* Read every part this VM has (no LAPIC without an irqchip, no XCRs/XSAVE
 * where KVM lacks them).  0 or -errno; vcpu_state_free() afterwards. */
int vcpu_state_get(struct vcpu *vcpu, struct hv_vcpu_state *s);

/* Write the parts present into vcpu, in restore order.  0, or -errno with
 * `why` naming the part; MSRs KVM refuses are skipped and counted. */
int vcpu_state_set(struct vcpu *vcpu, struct hv_vcpu_state *s, char *why, size_t len);

void vcpu_state_free(struct hv_vcpu_state *s);

/*
 * A part as bytes, for the stream (migrate_stream.h): *len is its size
 * (MSRs: n_msrs entries).  NULL when the part is absent.
 */
const void *vcpu_state_part(const struct hv_vcpu_state *s, enum hv_state_part p, size_t *len);

/* Take a part received from a stream: its size must be the part's (MSRs: a
 * whole number of entries up to HV_STATE_MAX_MSRS; XSAVE: 4096 up to
 * HV_STATE_XSAVE_MAX, a multiple of 64).  0 or -EINVAL with `why`. */
int vcpu_state_part_put(struct hv_vcpu_state *s, enum hv_state_part p, const void *data,
			size_t len, char *why, size_t wlen);

#endif
