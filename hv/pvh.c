/* PVH boot structures and entry state (see pvh.h). */
#include "pvh.h"

#include <errno.h>
#include <string.h>

#include "hvb/abi.h"
#include "mem.h"

int vm_pvh_setup(struct vm *vm, const char *cmdline)
{
	/* RAM ends where host-built page tables begin (paging.h). */
	uint64_t ram_hi = vm->tables_gpa ? vm->tables_gpa : vm->ram_size;
	struct hv_memmap_entry map[4] = {
	    {.addr = 0, .size = HV_LOAD_MIN, .type = HV_E820_RESERVED},
	    {.addr = HV_LOAD_MIN, .size = ram_hi - HV_LOAD_MIN, .type = HV_E820_RAM},
	    {.addr = HVB_MMIO_BENCH_USER, .size = 2 * HVB_MMIO_SIZE, .type = HV_E820_RESERVED},
	    {.addr = ram_hi, .size = vm->ram_size - ram_hi, .type = HV_E820_RESERVED},
	};
	struct hv_start_info si = {
	    .magic = HV_START_INFO_MAGIC,
	    .version = 1,
	    .cmdline_paddr = HV_CMDLINE_GPA,
	    .memmap_paddr = HV_MEMMAP_GPA,
	    .memmap_entries = vm->tables_gpa ? 4 : 3,
	};
	size_t len = strlen(cmdline) + 1;
	int r;

	if (len > HVB_CMDLINE_MAX)
		return -E2BIG;
	if (vm->ram_size <= HV_LOAD_MIN)
		return -ERANGE;
	r = vm_gpa_write(vm, HV_START_INFO_GPA, &si, sizeof(si));
	if (!r)
		r = vm_gpa_write(vm, HV_MEMMAP_GPA, map, sizeof(map));
	if (!r)
		r = vm_gpa_write(vm, HV_CMDLINE_GPA, cmdline, len);
	return r;
}

static void flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct kvm_segment){
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = sel,
	    .type = type,
	    .present = 1,
	    .dpl = 0,
	    .db = 1,
	    .s = 1,
	    .g = 1,
	};
}

int vcpu_setup_pvh(struct vcpu *vcpu, uint32_t entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {.rip = entry, .rbx = HV_START_INFO_GPA, .rflags = 0x2};
	int r;

	r = vcpu_sregs_get(vcpu, &sregs);
	if (r)
		return r;
	flat_seg(&sregs.cs, 0x10, 0xb); /* execute/read, accessed */
	flat_seg(&sregs.ds, 0x18, 0x3); /* read/write, accessed */
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.tr = (struct kvm_segment){
	    .selector = 0x20, .limit = 0x67, .type = 0xb, .present = 1}; /* busy 32-bit TSS */
	sregs.ldt = (struct kvm_segment){.type = 0x2, .present = 1, .unusable = 1};
	sregs.gdt.base = sregs.idt.base = 0;
	sregs.gdt.limit = sregs.idt.limit = 0;
	sregs.cr0 = 0x11; /* PE | ET: protected mode, paging off */
	sregs.cr4 = 0;
	sregs.efer = 0;
	r = vcpu_sregs_set(vcpu, &sregs);
	if (r)
		return r;
	return vcpu_regs_set(vcpu, &regs);
}
