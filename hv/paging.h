/*
 * The guest's initial 4 KiB page tables, built by the VMM before entry
 * (pt=4k, workloads/rt/README.md "pt_root=").
 *
 * Why the host builds them: an identity map of all guest RAM with 4 KiB
 * pages is one page-table page per 2 MiB of RAM (512 for 1 GiB).  Written
 * by the guest, each of those pages is a first touch, a guest page fault
 * the host must resolve; under nested PVM that cost 13-40 ms per boot of
 * a 1 GiB guest.  Written here they are ordinary host page faults (about
 * a millisecond).  The guest then checks the upper levels and a sample of
 * the entries, maps its MMIO pages into them itself and loads cr3: the
 * mappings in effect when the first workload runs are the ones it would
 * have built (RAM of the memory map, 4 KiB pages, page 0 absent).
 *
 * Layout: the tables occupy the top of RAM region 0,
 * [vm->tables_gpa, vm->ram_size), which vm_pvh_setup() reports as reserved
 * (E820 type 2) so the guest neither maps nor allocates it; RAM for the
 * guest is then [HV_LOAD_MIN, vm->tables_gpa).  The PML4 is the first page
 * of the block, then the PDPT, the page directories (one per GiB) and the
 * page tables (one per 2 MiB, in address order).  Entries: P|W|U for the
 * tables, P|W|U|A|D for the pages (accessed and dirty preset: paging.c),
 * identity (gpa = va), nothing else set; every page outside the RAM range
 * absent.
 */
#ifndef HV_PAGING_H
#define HV_PAGING_H

#include <stdint.h>

#include "vm.h"

/* Largest RAM the builder maps: one PML4 entry (the guest's own reach). */
#define HV_PAGING_TOP (512ull << 30)

/*
 * Build the tables at the top of RAM region 0 (fresh memory: only the
 * entries that map something are written): the template of this RAM size
 * mapped copy-on-write where one was prepared, else written into guest
 * memory (a host page fault per table page).  Sets vm->tables_gpa
 * (= the PML4, the value of the pt_root= word) and returns 0; -ERANGE when
 * RAM is too small to hold them above HV_LOAD_MIN or too large to map;
 * -EEXIST when built already.
 */
int vm_paging_build_4k(struct vm *vm);

/*
 * Keep the tables for ram_size bytes in a sealed memfd that later
 * vm_paging_build_4k() calls map instead of writing them (one template per
 * process: a new size replaces it).  Costs more than one build: call it
 * outside a boot.  0 or -errno (the builds then write the tables).
 * Thread-safe.
 */
int hv_paging_template_prepare(uint64_t ram_size);

/* Table pages vm_paging_build_4k() uses for ram_size bytes of region 0. */
uint64_t hv_paging_pages_4k(uint64_t ram_size);

#endif
