/*
 * PVH boot: the guest-physical layout the core sets up and the vCPU state
 * at the PVH entry (Xen's "HVM direct boot" ABI, as QEMU -kernel and Xen
 * PVH domUs use it), without firmware.
 *
 * Guest-physical layout (all in RAM region 0):
 *   [0, HV_LOAD_MIN)           host-reserved: boot structures below, the
 *                              rest unused; E820 type 2 in the memory map
 *     HV_START_INFO_GPA        struct hv_start_info (hvm_start_info v1)
 *     HV_MEMMAP_GPA            struct hv_memmap_entry[] (hvm_memmap_table_entry)
 *     HV_CMDLINE_GPA           the command line, NUL-terminated, < HVB_CMDLINE_MAX
 *   [HV_LOAD_MIN, ram_hi)      RAM: the image (p_paddr) and free memory above;
 *                              ram_hi = vm->tables_gpa if set, else ram_size
 *   [tables_gpa, ram_size)     host-built page tables (paging.h), E820 type 2
 *   HVB_MMIO_BENCH_*           MMIO pages of the hvbench device (no RAM)
 *
 * Entry state (vcpu_setup_pvh): 32-bit protected mode, paging off, CS a
 * flat 32-bit code segment (selector 0x10), DS/ES/SS/FS/GS flat data (0x18),
 * TR a 32-bit TSS (0x20, base 0, limit 0x67), GDTR/IDTR base 0 limit 0 (the
 * guest loads its own), EFLAGS = 0x2 (interrupts off), rip = the PVH entry,
 * ebx = HV_START_INFO_GPA, other GPRs 0.
 */
#ifndef HV_PVH_H
#define HV_PVH_H

#include <stdint.h>

#include "vm.h"

#define HV_LOAD_MIN	  0x100000ull /* images load here or above */
#define HV_START_INFO_GPA 0x1000ull
#define HV_MEMMAP_GPA	  0x1100ull
#define HV_MEMMAP_MAX	  16
#define HV_CMDLINE_GPA	  0x2000ull

#define HV_START_INFO_MAGIC 0x336ec578u

/* xen/include/public/arch-x86/hvm/start_info.h, version 1. */
struct hv_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hv_memmap_entry {
	uint64_t addr, size;
	uint32_t type; /* 1 = RAM, 2 = reserved */
	uint32_t reserved;
};

#define HV_E820_RAM	 1
#define HV_E820_RESERVED 2

/*
 * Write start info, memory map (host-reserved low area, RAM above
 * HV_LOAD_MIN, the hvbench MMIO pages and host-built page tables as
 * reserved) and the command line
 * into guest memory.  -E2BIG if cmdline does not fit HVB_CMDLINE_MAX,
 * -ERANGE if RAM does not cover the boot area.
 */
int vm_pvh_setup(struct vm *vm, const char *cmdline);

/* Put vcpu in the PVH entry state described above, at rip = entry. */
int vcpu_setup_pvh(struct vcpu *vcpu, uint32_t entry);

#endif
