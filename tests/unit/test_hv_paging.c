/*
 * The host-built 4 KiB page tables (hv/paging.c): walked entry by entry
 * for several RAM sizes, every RAM page from HV_LOAD_MIN to the block maps
 * itself with P|W|U and nothing else does; every table lies in the block;
 * the template maps byte-for-byte the same tables, and a write through one
 * VM's copy reaches neither the template nor the next VM.  The memory map
 * of vm_pvh_setup ends RAM at the block and reports it reserved.  No
 * /dev/kvm needed: the VM is only a guest-memory mapping here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tap.h"
#include "mem.h"
#include "paging.h"
#include "pvh.h"

#define PAGE 4096ull
#define MIB  (1ull << 20)

/* A struct vm with one fresh RAM region and no KVM behind it. */
static struct vm *fake_vm(uint64_t bytes)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	void *hva = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (!vm || hva == MAP_FAILED)
		abort();
	vm->fd = vm->kvm_fd = -1;
	vm->mem[0] = (struct vm_mem_region){.gpa = 0, .size = bytes, .hva = hva};
	vm->n_mem = 1;
	vm->ram_size = bytes;
	return vm;
}

static void fake_vm_free(struct vm *vm)
{
	munmap(vm->mem[0].hva, vm->mem[0].size);
	free(vm);
}

/* The walk's leaf entry for va, or 0 with *why when an upper level is absent. */
static uint64_t leaf(struct vm *vm, uint64_t va, const char **why)
{
	uint64_t e = vm->tables_gpa | 7;

	for (int level = 4; level >= 1; level--) {
		const uint64_t *t;
		uint64_t a = e & 0x000ffffffffff000ull;

		if (a < vm->tables_gpa || a >= vm->ram_size || (e & 0xfff) != 7) {
			*why = "a table outside the block or with other flags";
			return ~0ull;
		}
		t = __vm_gpa_to_hva(vm, a);
		e = t[(va >> (12 + 9 * (level - 1))) & 511];
		if (!(e & 1))
			return 0;
	}
	return e;
}

/* Every page of [0, ram_size + 2 MiB): RAM maps itself, the rest is absent. */
static void check_walk(struct vm *vm, const char *what)
{
	const char *why = 0;
	uint64_t bad = 0, n_bad = 0;

	for (uint64_t va = 0; va < vm->ram_size + 2 * MIB; va += PAGE) {
		uint64_t e = leaf(vm, va, &why);
		bool ram = va >= HV_LOAD_MIN && va < vm->tables_gpa;

		/* Pages P|W|U with accessed and dirty preset (0x60): what lets
		 * shadow paging prefetch a prefaulted guest's neighbours. */
		if (e != (ram ? (va | 0x67) : 0) && !n_bad++)
			bad = va;
	}
	TAP_OK(!n_bad, what);
	if (n_bad)
		printf("#   %llu pages wrong, the first at 0x%llx (%s)\n",
		       (unsigned long long)n_bad, (unsigned long long)bad,
		       why ? why : "wrong leaf entry");
}

static void test_sizes(void)
{
	const uint64_t sizes[] = {16 * MIB, 1024 * MIB, 1026 * MIB, 3072 * MIB};

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct vm *vm = fake_vm(sizes[i]);
		char what[120];
		uint64_t block = hv_paging_pages_4k(sizes[i]) * PAGE;
		const uint64_t *pml4;

		snprintf(what, sizeof(what), "%llu MiB: built",
			 (unsigned long long)(sizes[i] / MIB));
		TAP_EQ_INT(vm_paging_build_4k(vm), 0, what);
		TAP_EQ_INT(vm->tables_gpa, sizes[i] - block, "the block is the top of RAM");
		snprintf(what, sizeof(what),
			 "%llu MiB: RAM maps itself 4 KiB, P|W|U; page 0, the "
			 "low MiB, the block and above are absent",
			 (unsigned long long)(sizes[i] / MIB));
		check_walk(vm, what);
		pml4 = __vm_gpa_to_hva(vm, vm->tables_gpa);
		bool rest_zero = true;
		for (unsigned k = 1; k < 512; k++)
			rest_zero &= !pml4[k];
		TAP_OK(rest_zero, "only PML4 entry 0 is used");
		TAP_EQ_INT(vm_paging_build_4k(vm), -EEXIST, "a second build is refused");
		fake_vm_free(vm);
	}
}

static void test_refusals(void)
{
	struct vm *vm = fake_vm(HV_LOAD_MIN + 2 * PAGE);

	TAP_EQ_INT(vm_paging_build_4k(vm), -ERANGE, "RAM too small for the tables above 1 MiB");
	TAP_OK(!vm->tables_gpa, "nothing recorded on refusal");
	fake_vm_free(vm);
	TAP_EQ_INT(hv_paging_template_prepare(HV_LOAD_MIN), -ERANGE,
		   "no template for a RAM size that cannot hold the tables");
}

static void test_template(void)
{
	const uint64_t size = 64 * MIB;
	struct vm *direct = fake_vm(size), *a = fake_vm(size), *b = fake_vm(size);
	uint64_t block = hv_paging_pages_4k(size) * PAGE;
	uint64_t *pa;

	TAP_EQ_INT(vm_paging_build_4k(direct), 0, "written into guest memory (no template yet)");
	TAP_EQ_INT(hv_paging_template_prepare(size), 0, "template prepared");
	TAP_EQ_INT(vm_paging_build_4k(a), 0, "built from the template");
	TAP_OK(!memcmp(__vm_gpa_to_hva(direct, direct->tables_gpa),
		       __vm_gpa_to_hva(a, a->tables_gpa), block),
	       "the template's tables are byte-for-byte the written ones");
	check_walk(a, "the template's tables walk right");
	pa = __vm_gpa_to_hva(a, a->tables_gpa);
	pa[1] = 0x1234007; /* the guest writes its PML4 (copy-on-write) */
	TAP_EQ_INT(vm_paging_build_4k(b), 0, "the next VM built from the template");
	TAP_EQ_INT(((uint64_t *)__vm_gpa_to_hva(b, b->tables_gpa))[1], 0,
		   "one VM's write reaches neither the template nor the next VM");
	TAP_EQ_INT(hv_paging_template_prepare(32 * MIB), 0,
		   "a template of another size replaces it");
	fake_vm_free(direct), fake_vm_free(a), fake_vm_free(b);
}

static void test_memmap(void)
{
	struct vm *vm = fake_vm(64 * MIB);
	const struct hv_memmap_entry *map;
	const struct hv_start_info *si;

	TAP_EQ_INT(vm_paging_build_4k(vm), 0, "built");
	TAP_EQ_INT(vm_pvh_setup(vm, "w=x"), 0, "start info written");
	si = __vm_gpa_to_hva(vm, HV_START_INFO_GPA);
	map = __vm_gpa_to_hva(vm, HV_MEMMAP_GPA);
	TAP_EQ_INT(si->memmap_entries, 4, "four memory-map entries with host tables");
	TAP_OK(map[1].type == HV_E820_RAM && map[1].addr + map[1].size == vm->tables_gpa,
	       "RAM ends where the tables begin");
	TAP_OK(map[3].type == HV_E820_RESERVED && map[3].addr == vm->tables_gpa &&
		   map[3].addr + map[3].size == vm->ram_size,
	       "the tables are reserved");
	fake_vm_free(vm);
	vm = fake_vm(64 * MIB);
	TAP_EQ_INT(vm_pvh_setup(vm, "w=x"), 0, "start info without host tables");
	si = __vm_gpa_to_hva(vm, HV_START_INFO_GPA);
	map = __vm_gpa_to_hva(vm, HV_MEMMAP_GPA);
	TAP_OK(si->memmap_entries == 3 && map[1].addr + map[1].size == vm->ram_size,
	       "three entries, RAM to the end, as before");
	fake_vm_free(vm);
}

int main(void)
{
	test_sizes();
	test_refusals();
	test_template();
	test_memmap();
	return tap_done();
}
