/*
 * Get and set a vCPU's complete state (vcpu_state.h).
 */
#include "vcpu_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define MSR_IA32_TSC 0x10u

static const char *const part_names[HV_PARTS] = {
    [HV_PART_REGS] = "regs",	       [HV_PART_XSAVE] = "xsave",
    [HV_PART_XCRS] = "xcrs",	       [HV_PART_SREGS] = "sregs",
    [HV_PART_MSRS] = "msrs",	       [HV_PART_MP_STATE] = "mp_state",
    [HV_PART_LAPIC] = "lapic",	       [HV_PART_EVENTS] = "vcpu_events",
    [HV_PART_DEBUGREGS] = "debugregs", [HV_PART_TSC_OFFSET] = "tsc_offset",
};

const char *hv_state_part_name(enum hv_state_part p)
{
	return p < HV_PARTS ? part_names[p] : "unknown";
}

int vcpu_state_settle(struct vcpu *vcpu)
{
	int r;

	vcpu->run->immediate_exit = 1;
	r = ioctl(vcpu->fd, KVM_RUN, 0) < 0 ? errno : 0;
	vcpu->run->immediate_exit = 0;
	return r == EINTR || r == 0 ? 0 : -r;
}

/* The MSRs KVM saves for a VMM (KVM_GET_MSR_INDEX_LIST) that this vCPU
 * reads, one by one (KVM_GET_MSRS stops at the first it cannot read),
 * without IA32_TSC (the offset moves instead). */
static int msrs_get(struct vcpu *vcpu, struct hv_vcpu_state *s)
{
	struct kvm_msr_list *list = calloc(1, sizeof(*list) + 1024 * sizeof(uint32_t));
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} one;

	if (!list)
		return -ENOMEM;
	list->nmsrs = 1024;
	if (ioctl(vcpu->vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list)) {
		int r = -errno;
		free(list);
		return r;
	}
	s->n_msrs = 0;
	for (uint32_t i = 0; i < list->nmsrs && s->n_msrs < HV_STATE_MAX_MSRS; i++) {
		if (list->indices[i] == MSR_IA32_TSC)
			continue;
		memset(&one, 0, sizeof(one));
		one.hdr.nmsrs = 1;
		one.e.index = list->indices[i];
		if (ioctl(vcpu->fd, KVM_GET_MSRS, &one) == 1)
			s->msrs[s->n_msrs++] = one.e;
	}
	free(list);
	return 0;
}

static int xsave_get(struct vcpu *vcpu, struct hv_vcpu_state *s)
{
	int size = vm_check_cap(vcpu->vm, KVM_CAP_XSAVE2);
	unsigned long req = KVM_GET_XSAVE2;

	if (!vm_check_cap(vcpu->vm, KVM_CAP_XSAVE))
		return 0;
	if (size < (int)sizeof(struct kvm_xsave)) {
		size = sizeof(struct kvm_xsave);
		req = KVM_GET_XSAVE;
	}
	if (size > (int)HV_STATE_XSAVE_MAX)
		return -E2BIG;
	s->xsave = calloc(1, (size_t)size);
	if (!s->xsave)
		return -ENOMEM;
	s->xsave_size = (uint32_t)size;
	if (ioctl(vcpu->fd, req, s->xsave))
		return -errno;
	s->have[HV_PART_XSAVE] = true;
	return 0;
}

static int tsc_offset_get(struct vcpu *vcpu, struct hv_vcpu_state *s)
{
	struct kvm_device_attr attr = {
	    .group = KVM_VCPU_TSC_CTRL,
	    .attr = KVM_VCPU_TSC_OFFSET,
	    .addr = (uint64_t)(uintptr_t)&s->tsc_offset,
	};

	if (ioctl(vcpu->fd, KVM_HAS_DEVICE_ATTR, &attr))
		return 0; /* no such attribute: the destination keeps KVM's default */
	if (ioctl(vcpu->fd, KVM_GET_DEVICE_ATTR, &attr))
		return -errno;
	s->have[HV_PART_TSC_OFFSET] = true;
	return 0;
}

#define GET(part, req, field)                                                             \
	do {                                                                              \
		if (!r && ioctl(vcpu->fd, req, &s->field))                                \
			r = -errno;                                                       \
		s->have[part] = !r;                                                       \
	} while (0)

int vcpu_state_get(struct vcpu *vcpu, struct hv_vcpu_state *s)
{
	int r = 0;

	memset(s, 0, sizeof(*s));
	GET(HV_PART_REGS, KVM_GET_REGS, regs);
	GET(HV_PART_SREGS, KVM_GET_SREGS, sregs);
	if (!r && vm_check_cap(vcpu->vm, KVM_CAP_XCRS))
		GET(HV_PART_XCRS, KVM_GET_XCRS, xcrs);
	GET(HV_PART_MP_STATE, KVM_GET_MP_STATE, mp);
	if (!r && vcpu->vm->irqchip != HV_IRQCHIP_NONE)
		GET(HV_PART_LAPIC, KVM_GET_LAPIC, lapic);
	GET(HV_PART_EVENTS, KVM_GET_VCPU_EVENTS, events);
	GET(HV_PART_DEBUGREGS, KVM_GET_DEBUGREGS, dbg);
	if (!r)
		r = xsave_get(vcpu, s);
	if (!r && !(r = msrs_get(vcpu, s)))
		s->have[HV_PART_MSRS] = true;
	if (!r)
		r = tsc_offset_get(vcpu, s);
	if (r)
		vcpu_state_free(s);
	return r;
}

void vcpu_state_free(struct hv_vcpu_state *s)
{
	free(s->xsave);
	s->xsave = NULL;
	s->xsave_size = 0;
	s->have[HV_PART_XSAVE] = false;
}

/* Set the MSRs one by one: a refusal (an MSR this vCPU's CPUID does not
 * allow) skips that one instead of every MSR after it. */
static void msrs_set(struct vcpu *vcpu, struct hv_vcpu_state *s)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} one;

	s->msrs_refused = 0;
	for (uint32_t i = 0; i < s->n_msrs; i++) {
		memset(&one, 0, sizeof(one));
		one.hdr.nmsrs = 1;
		one.e = s->msrs[i];
		if (ioctl(vcpu->fd, KVM_SET_MSRS, &one) != 1 && !s->msrs_refused++)
			s->msr_first_refused = s->msrs[i].index;
	}
}

static int part_set(struct vcpu *vcpu, struct hv_vcpu_state *s, enum hv_state_part p)
{
	switch (p) {
	case HV_PART_REGS:
		return ioctl(vcpu->fd, KVM_SET_REGS, &s->regs);
	case HV_PART_XSAVE:
		return ioctl(vcpu->fd, KVM_SET_XSAVE, s->xsave);
	case HV_PART_XCRS:
		return ioctl(vcpu->fd, KVM_SET_XCRS, &s->xcrs);
	case HV_PART_SREGS:
		return ioctl(vcpu->fd, KVM_SET_SREGS, &s->sregs);
	case HV_PART_MSRS:
		msrs_set(vcpu, s);
		return 0;
	case HV_PART_MP_STATE:
		return ioctl(vcpu->fd, KVM_SET_MP_STATE, &s->mp);
	case HV_PART_LAPIC:
		return ioctl(vcpu->fd, KVM_SET_LAPIC, &s->lapic);
	case HV_PART_EVENTS:
		return ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &s->events);
	case HV_PART_DEBUGREGS:
		return ioctl(vcpu->fd, KVM_SET_DEBUGREGS, &s->dbg);
	case HV_PART_TSC_OFFSET:
		return vcpu_tsc_offset_set(vcpu, s->tsc_offset) ? -1 : 0;
	case HV_PARTS:
		break;
	}
	errno = EINVAL;
	return -1;
}

int vcpu_state_set(struct vcpu *vcpu, struct hv_vcpu_state *s, char *why, size_t len)
{
	for (unsigned p = 0; p < HV_PARTS; p++) {
		if (!s->have[p])
			continue;
		if (part_set(vcpu, s, (enum hv_state_part)p)) {
			int r = errno ? -errno : -EIO;
			snprintf(why, len, "vCPU %d: setting %s failed: %s", vcpu->id,
				 hv_state_part_name((enum hv_state_part)p), strerror(-r));
			return r;
		}
	}
	return 0;
}

/* Where part p lives in s, and its fixed size (0: variable). */
static void *part_at(struct hv_vcpu_state *s, enum hv_state_part p, size_t *size)
{
	switch (p) {
	case HV_PART_REGS:
		return *size = sizeof(s->regs), &s->regs;
	case HV_PART_SREGS:
		return *size = sizeof(s->sregs), &s->sregs;
	case HV_PART_XCRS:
		return *size = sizeof(s->xcrs), &s->xcrs;
	case HV_PART_MP_STATE:
		return *size = sizeof(s->mp), &s->mp;
	case HV_PART_LAPIC:
		return *size = sizeof(s->lapic), &s->lapic;
	case HV_PART_EVENTS:
		return *size = sizeof(s->events), &s->events;
	case HV_PART_DEBUGREGS:
		return *size = sizeof(s->dbg), &s->dbg;
	case HV_PART_TSC_OFFSET:
		return *size = sizeof(s->tsc_offset), &s->tsc_offset;
	case HV_PART_MSRS:
		return *size = 0, s->msrs;
	case HV_PART_XSAVE:
		return *size = 0, s->xsave;
	case HV_PARTS:
		break;
	}
	return *size = 0, NULL;
}

const void *vcpu_state_part(const struct hv_vcpu_state *s, enum hv_state_part p, size_t *len)
{
	void *at;

	if (p >= HV_PARTS || !s->have[p])
		return NULL;
	at = part_at((struct hv_vcpu_state *)s, p, len);
	if (p == HV_PART_MSRS)
		*len = s->n_msrs * sizeof(struct kvm_msr_entry);
	else if (p == HV_PART_XSAVE)
		*len = s->xsave_size;
	return at;
}

int vcpu_state_part_put(struct hv_vcpu_state *s, enum hv_state_part p, const void *data,
			size_t len, char *why, size_t wlen)
{
	size_t size = 0;
	void *at = p < HV_PARTS ? part_at(s, p, &size) : NULL;

	if (p >= HV_PARTS) {
		snprintf(why, wlen, "unknown vCPU state part %u", (unsigned)p);
		return -EINVAL;
	}
	if (p == HV_PART_MSRS) {
		if (len % sizeof(struct kvm_msr_entry) ||
		    len / sizeof(struct kvm_msr_entry) > HV_STATE_MAX_MSRS)
			goto bad;
		s->n_msrs = (uint32_t)(len / sizeof(struct kvm_msr_entry));
	} else if (p == HV_PART_XSAVE) {
		if (len < sizeof(struct kvm_xsave) || len > HV_STATE_XSAVE_MAX || len % 64)
			goto bad;
		free(s->xsave);
		s->xsave = at = calloc(1, len);
		if (!at)
			return -ENOMEM;
		s->xsave_size = (uint32_t)len;
	} else if (len != size) {
		goto bad;
	}
	memcpy(at, data, len);
	s->have[p] = true;
	return 0;
bad:
	snprintf(why, wlen, "vCPU state part %s: %zu bytes is not a valid size%s",
		 hv_state_part_name(p), len, size ? "" : " (see vcpu_state.h)");
	return -EINVAL;
}
