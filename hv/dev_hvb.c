/*
 * The hvbench device (see dev.h and include/hvb/abi.h).  Its record port is
 * the guest's only way to hand the host a guest-physical address, so that
 * address, and any range inside a release request, goes through the checked
 * accessors before the host reads or drops anything.
 */
#include "dev.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "exit.h"
#include "mem.h"

static int hvb_release(struct hv_hvb *hvb, struct vcpu *vcpu, const struct hvb_record *rec)
{
	uint64_t gpa = rec->u64[0], len = rec->u64[1];
	int r = vm_gpa_release(vcpu->vm, gpa, len);

	if (r)
		return vm_stop(vcpu->vm, vcpu, HV_GUEST_ERROR,
			       "guest asked to release 0x%llx+0x%llx: %s", (unsigned long long)gpa,
			       (unsigned long long)len,
			       r == -EINVAL   ? "not page aligned (or empty)"
			       : r == -EFAULT ? "not guest RAM"
					      : strerror(-r));
	hvb->n_released++;
	hvb->bytes_released += len;
	return HV_CONTINUE;
}

static int hvb_record_port(struct hv_hvb *hvb, struct vcpu *vcpu, const uint8_t *data,
			   unsigned size)
{
	struct hvb_record rec;
	char why[200] = "";
	uint32_t gpa;

	if (size != 4)
		return vm_stop(vcpu->vm, vcpu, HV_GUEST_ERROR,
			       "guest wrote %u byte%s to the record port (needs a 32-bit outl)",
			       size, size > 1 ? "s" : "");
	memcpy(&gpa, data, 4);
	if (vm_gpa_read(vcpu->vm, gpa, &rec, sizeof(rec)))
		return vm_stop(vcpu->vm, vcpu, HV_GUEST_ERROR,
			       "guest sent a record at 0x%x, which is not inside guest RAM", gpa);
	hvb->n_records++;
	if (rec.type == HVB_REC_RELEASE && rec.magic == HVB_RECORD_MAGIC &&
	    rec.version == HVB_ABI_VERSION && rec.size == sizeof(rec) &&
	    hvb_release(hvb, vcpu, &rec) != HV_CONTINUE)
		return HV_STOP;
	if (hvb->record && hvb->record(hvb->arg, vcpu, &rec, why, sizeof(why)))
		return vm_stop(vcpu->vm, vcpu, HV_GUEST_ERROR, "bad record from the guest: %s",
			       why[0] ? why : "refused");
	return HV_CONTINUE;
}

static int hvb_io(void *opaque, struct vcpu *vcpu, uint16_t port, uint8_t *data, unsigned size,
		  bool out)
{
	struct hv_hvb *hvb = opaque;

	switch (port) {
	case HVB_PORT_BENCH_USER:
		return HV_CONTINUE; /* the measured no-op: nothing else on this path */
	case HVB_PORT_RECORD:
		if (out)
			return hvb_record_port(hvb, vcpu, data, size);
		break;
	case HVB_PORT_BENCH_KERN:
		hvb->kern_fallbacks++; /* the ioeventfd did not take it (or there is none) */
		return HV_CONTINUE;
	case HVB_PORT_SHUTDOWN:
		if (!out)
			break;
		vcpu->vm->verdict.guest_code = data[0];
		return vm_stop(vcpu->vm, vcpu, HV_SHUTDOWN, "guest shut down with code %u",
			       data[0]);
	}
	return vm_stop(vcpu->vm, vcpu, HV_GUEST_ERROR,
		       "guest %s hvbench port 0x%x (%u byte%s), which does nothing there",
		       out ? "wrote to" : "read from", port, size, size > 1 ? "s" : "");
}

static int hvb_mmio_user(void *opaque, struct vcpu *vcpu, uint64_t gpa, uint8_t *data, unsigned len,
			 bool write)
{
	(void)opaque, (void)vcpu, (void)gpa, (void)data, (void)len, (void)write;
	return HV_CONTINUE; /* reads see the zeroes the dispatcher put there */
}

static int hvb_mmio_kern(void *opaque, struct vcpu *vcpu, uint64_t gpa, uint8_t *data, unsigned len,
			 bool write)
{
	struct hv_hvb *hvb = opaque;

	(void)vcpu, (void)gpa, (void)data, (void)len;
	if (write)
		hvb->kern_fallbacks++;
	return HV_CONTINUE;
}

int dev_hvb_attach(struct vm *vm, struct hv_hvb *hvb)
{
	int r;

	hvb->n_records = hvb->n_released = hvb->bytes_released = hvb->kern_fallbacks = 0;
	r = vm_pio_register(vm, HVB_PORT_FIRST, HVB_PORT_LAST, hvb_io, hvb, "hvbench");
	if (!r)
		r = vm_mmio_register(vm, HVB_MMIO_BENCH_USER, HVB_MMIO_SIZE, hvb_mmio_user, hvb,
				     "hvbench-mmio-user");
	if (!r)
		r = vm_mmio_register(vm, HVB_MMIO_BENCH_KERN, HVB_MMIO_SIZE, hvb_mmio_kern, hvb,
				     "hvbench-mmio-kern");
	if (r)
		return r;
	hvb->kern_ioeventfds = !vm_ioeventfd_add(vm, HVB_PORT_BENCH_KERN, true) &&
			       !vm_ioeventfd_add(vm, HVB_MMIO_BENCH_KERN, false);
	return 0;
}
