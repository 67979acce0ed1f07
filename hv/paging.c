/* The guest's initial 4 KiB page tables, built before entry (see paging.h). */
#include "paging.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem.h"
#include "pvh.h"

#define PAGE	  4096ull
#define HUGE	  (2ull << 20)
#define GIB	  (1ull << 30)
#define PTE_TABLE 0x7ull /* P | W | U: the guest's flags for tables */
/*
 * Pages: P | W | U | A | D, accessed and dirty preset as Linux sets them in
 * its direct map.  Under shadow paging (nested PVM) a fault then lets KVM
 * map the neighbouring host-resident pages of the same table as well
 * (pte_prefetch skips entries without A, and maps entries without D
 * read-only): with the kvm runner's prefaulted RAM one guest fault in 8
 * instead of every first touch.  Fresh memory the guest handed back
 * (RELEASE) is not host-resident, so first-touch workloads still fault on
 * every page.
 */
#define PTE_PAGE  0x67ull

static uint64_t div_up(uint64_t v, uint64_t d)
{
	return (v + d - 1) / d;
}

uint64_t hv_paging_pages_4k(uint64_t ram_size)
{
	return 2 + div_up(ram_size, GIB) + div_up(ram_size, HUGE);
}

/* Where the block starts for ram_size bytes of RAM (paging.h: the top). */
static uint64_t block_base(uint64_t ram_size)
{
	return ram_size - hv_paging_pages_4k(ram_size) * PAGE;
}

/*
 * Write the tables for RAM [HV_LOAD_MIN, base) into block (the host view of
 * guest-physical base), which reads as zero: only the entries that map
 * something are stored, so table pages beyond RAM are never touched.
 */
static void fill_tables(uint64_t *block, uint64_t base, uint64_t ram_size)
{
	uint64_t n_pd = div_up(ram_size, GIB), n_pt = div_up(base, HUGE);
	uint64_t *pml4 = block, *pdpt = pml4 + 512;
	uint64_t *pd = pdpt + 512;	/* n_pd directories in a row: pd[i] maps [i * 2 MiB, ...) */
	uint64_t *pt = pd + 512 * n_pd; /* tables in a row: pt[i] maps [i * 4 KiB, ...) */

	pml4[0] = (base + PAGE) | PTE_TABLE;
	for (uint64_t g = 0; g < n_pd; g++)
		pdpt[g] = (base + (2 + g) * PAGE) | PTE_TABLE;
	for (uint64_t c = HV_LOAD_MIN / HUGE; c < n_pt; c++)
		pd[c] = (base + (2 + n_pd + c) * PAGE) | PTE_TABLE;
	for (uint64_t va = HV_LOAD_MIN; va < base; va += PAGE)
		pt[va / PAGE] = va | PTE_PAGE;
}

/*
 * The tables depend on the RAM size only, so the process can keep them
 * once in a sealed memfd and map it copy-on-write into each VM: writing
 * them into fresh guest memory costs a host page allocation per table page
 * (measured here: 1.2-1.7 ms for 1 GiB), mapping the template ~0.04 ms.
 * Building the template costs more than one fill (shmem pages: 3-8 ms
 * here), so it is built on request (hv_paging_template_prepare), which
 * the kvm runner makes after a boot, not inside one.  A guest that writes
 * to its tables gets a private copy of that page; the template never
 * changes.
 */
static pthread_mutex_t template_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t template_ram = 0;
static int template_fd = -1;

static int template_build(uint64_t ram_size)
{
	uint64_t bytes = hv_paging_pages_4k(ram_size) * PAGE;
	int fd = memfd_create("hvb-page-tables", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *w;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)bytes))
		goto err;
	w = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (w == MAP_FAILED)
		goto err;
	fill_tables(w, block_base(ram_size), ram_size);
	munmap(w, bytes);
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL))
		goto err;
	return fd;
err:
	close(fd);
	return -errno;
}

int hv_paging_template_prepare(uint64_t ram_size)
{
	int fd = 0;

	if (ram_size > HV_PAGING_TOP ||
	    ram_size < HV_LOAD_MIN + (hv_paging_pages_4k(ram_size) + 1) * PAGE)
		return -ERANGE;
	pthread_mutex_lock(&template_lock);
	if (template_fd < 0 || template_ram != ram_size) {
		fd = template_build(ram_size);
		if (fd >= 0) {
			if (template_fd >= 0)
				close(template_fd);
			template_fd = fd, template_ram = ram_size;
		}
	}
	pthread_mutex_unlock(&template_lock);
	return fd < 0 ? fd : 0;
}

/* The template's fd for ram_size, or -ENOENT (none prepared for it). */
static int template_get(uint64_t ram_size)
{
	int fd;

	pthread_mutex_lock(&template_lock);
	fd = template_fd >= 0 && template_ram == ram_size ? template_fd : -ENOENT;
	pthread_mutex_unlock(&template_lock);
	return fd;
}

/* The template over the block's guest memory (copy-on-write), or -errno. */
static int map_template(struct vm *vm, uint64_t base)
{
	uint64_t bytes = vm->ram_size - base;
	void *hva = __vm_gpa_to_hva(vm, base);
	int fd = template_get(vm->ram_size);

	if (fd < 0)
		return fd;
	if (mmap(hva, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED)
		return -errno;
	return 0;
}

int vm_paging_build_4k(struct vm *vm)
{
	uint64_t base;

	if (vm->tables_gpa)
		return -EEXIST;
	if (!vm->n_mem || vm->ram_size > HV_PAGING_TOP ||
	    vm->ram_size < HV_LOAD_MIN + (hv_paging_pages_4k(vm->ram_size) + 1) * PAGE)
		return -ERANGE;
	base = block_base(vm->ram_size);
	/* Without a template for this size, written into the guest's fresh RAM. */
	if (map_template(vm, base))
		fill_tables(__vm_gpa_to_hva(vm, base), base, vm->ram_size);
	vm->tables_gpa = base;
	return 0;
}
