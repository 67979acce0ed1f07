/*
 * Guest memory: the allocator behind rt_alloc / rt_fresh_alloc, and the page
 * tables beyond the static boot map (entry.S).  Ring 3 writes the tables
 * (they are ordinary identity-mapped memory); only the cr3 load for pt=4k
 * goes through ring 0.
 *
 * Arena: every RAM range of the PVH memory map above the image (below
 * 512 GiB, the reach of one PML4 entry).  In each range rt_alloc grows up
 * from the bottom and rt_fresh_alloc grows down from the top, so fresh
 * pages are ones no rt_alloc ever touched; both are stacks with deferred
 * frees, which fits how the harness uses them (setup/teardown, per-batch
 * fresh pages).
 */
#include "harness.h"
#include "rt.h"

#define PAGE 4096ull
#define HUGE (2ull << 20)
#define GIB (1ull << 30)
#define TOP (512 * GIB)
#define REGIONS_MAX 32
#define ALLOCS_MAX 256
#define MAP_MAX 128

#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_U 0x4ull
#define PTE_PWT 0x8ull
#define PTE_PCD 0x10ull
#define PTE_PS 0x80ull
#define PTE_A 0x20ull
#define PTE_D 0x40ull
#define PTE_TABLE (PTE_P | PTE_W | PTE_U)
/* 4 KiB pages with accessed and dirty preset, as the host's tables have
 * them (hv/paging.c PTE_PAGE says why: shadow paging's prefetch). */
#define PTE_PAGE (PTE_TABLE | PTE_A | PTE_D)
#define PTE_ADDR 0x000ffffffffff000ull

struct region {
	uint64_t lo, hi; /* page-aligned RAM range [lo, hi) */
	uint64_t bump;   /* rt_alloc: [lo, bump) in use */
	uint64_t fresh;  /* rt_fresh_alloc: [fresh, hi) in use */
	uint64_t high;   /* highest bump ever: memory above it is untouched */
};

struct alloc {
	uint64_t p, base, end; /* returned pointer, bump before it, bump after it */
	bool live;
};

static struct region regions[REGIONS_MAX];
static unsigned nregions;
static struct alloc allocs[ALLOCS_MAX];
static struct rt_memmap_entry ram[MAP_MAX];
static unsigned nram;
static struct rt_memmap_entry reserved[MAP_MAX]; /* the map's other ranges (host tables) */
static unsigned nreserved;

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static uint64_t align_down(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

static void add_region(uint64_t lo, uint64_t hi)
{
	unsigned i;

	if (nregions == REGIONS_MAX || hi <= lo)
		return;
	for (i = nregions; i > 0 && regions[i - 1].lo > lo; i--)
		regions[i] = regions[i - 1];
	regions[i] = (struct region){ lo, hi, lo, hi, lo };
	nregions++;
}

int rt_mem_init(const struct rt_memmap_entry *map, unsigned n)
{
	uint64_t image_end = align_up((uintptr_t)__image_end, PAGE);

	for (unsigned i = 0; i < n; i++) {
		uint64_t lo = map[i].addr, hi = map[i].addr + map[i].size;

		if (hi <= lo)
			continue;
		if (map[i].type != RT_E820_RAM) {
			if (nreserved < MAP_MAX)
				reserved[nreserved++] = map[i];
			continue;
		}
		if (nram < MAP_MAX)
			ram[nram++] = map[i];
		lo = align_up(lo < image_end ? image_end : lo, PAGE);
		hi = align_down(hi > TOP ? TOP : hi, PAGE);
		add_region(lo, hi);
	}
	return nregions ? 0 : -12 /* -ENOMEM */;
}

bool rt_mem_is_ram(uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < nram; i++)
		if (gpa >= ram[i].addr && len <= ram[i].size && gpa - ram[i].addr <= ram[i].size - len)
			return true;
	return false;
}

/* ------------------------------------------------------------ rt_alloc */

/* Every CPU may allocate (smp workloads set up on their own CPU). */
static rt_lock_t mem_lock;

static void *alloc_locked(size_t bytes, size_t align)
{
	struct alloc *slot = 0;

	if (!bytes || align > HUGE || (align & (align - 1)))
		return 0;
	if (align < 64)
		align = 64;
	for (unsigned i = 0; i < ALLOCS_MAX && !slot; i++)
		if (!allocs[i].live && !allocs[i].end)
			slot = &allocs[i];
	if (!slot)
		return 0;
	for (unsigned i = 0; i < nregions; i++) {
		struct region *r = &regions[i];
		uint64_t p = align_up(r->bump, align);

		if (p < r->bump || p > r->fresh || bytes > r->fresh - p)
			continue;
		*slot = (struct alloc){ p, r->bump, p + bytes, true };
		r->bump = p + bytes;
		if (r->bump > r->high)
			r->high = r->bump;
		return (void *)(uintptr_t)p;
	}
	return 0;
}

/* Memory the caller zeroes itself, as far as it uses it (no first touch
 * of pages it never uses). */
static void *reserve(size_t bytes, size_t align)
{
	void *p;

	rt_lock(&mem_lock);
	p = alloc_locked(bytes, align);
	rt_unlock(&mem_lock);
	return p;
}

void *rt_alloc(size_t bytes, size_t align)
{
	void *p;

	rt_lock(&mem_lock);
	p = alloc_locked(bytes, align);
	rt_unlock(&mem_lock);
	if (p) /* outside the lock: the first touches take long */
		memset(p, 0, bytes);
	return p;
}

/* Give back the top of each region, then whatever freed blocks it uncovers. */
static void collapse(void)
{
	bool again = true;

	while (again) {
		again = false;
		for (unsigned i = 0; i < ALLOCS_MAX; i++) {
			struct alloc *a = &allocs[i];

			if (a->live || !a->end)
				continue;
			for (unsigned j = 0; j < nregions; j++) {
				if (regions[j].bump == a->end) {
					regions[j].bump = a->base;
					*a = (struct alloc){ 0 };
					again = true;
					break;
				}
			}
		}
	}
}

void rt_free(void *p, size_t bytes)
{
	rt_lock(&mem_lock);
	for (unsigned i = 0; p && i < ALLOCS_MAX; i++) {
		if (allocs[i].live && allocs[i].p == (uintptr_t)p && allocs[i].end - allocs[i].p == bytes) {
			allocs[i].live = false;
			collapse();
			break;
		}
	}
	rt_unlock(&mem_lock);
}

uint64_t rt_mem_available(void)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < nregions; i++)
		sum += regions[i].fresh - regions[i].bump;
	return sum;
}

/* ------------------------------------------------------------ fresh pages */

static void *fresh_alloc_locked(size_t bytes)
{
	for (unsigned i = nregions; i-- > 0;) {
		struct region *r = &regions[i];

		if (r->fresh - r->high >= bytes) {
			r->fresh -= bytes;
			/* Xen PV maps all RAM at boot: its platform unmaps
			 * the pages, so that the first touch faults. */
			if (rt_platform->fresh_alloc(r->fresh, bytes)) {
				r->fresh += bytes;
				return 0;
			}
			return (void *)(uintptr_t)r->fresh;
		}
	}
	return 0;
}

void *rt_fresh_alloc(size_t bytes)
{
	void *p;

	bytes = align_up(bytes, PAGE);
	if (!bytes)
		return 0;
	rt_lock(&mem_lock);
	p = fresh_alloc_locked(bytes);
	rt_unlock(&mem_lock);
	return p;
}

/*
 * The platform lets the pages fault again on their next first touch (hvm
 * and Xen PVH: a RELEASE record with HVB_CAP_RELEASE, the host drops the
 * backing; Xen PV: unmapped at the next rt_fresh_alloc); either way the
 * range returns to the fresh stack when it is its top.
 */
void rt_fresh_release(void *p, size_t bytes)
{
	uint64_t gpa = (uintptr_t)p;

	bytes = align_up(bytes, PAGE);
	if (!p || !bytes)
		return;
	rt_platform->fresh_release(gpa, bytes);
	rt_lock(&mem_lock);
	for (unsigned i = 0; i < nregions; i++)
		if (regions[i].fresh == gpa && bytes <= regions[i].hi - gpa)
			regions[i].fresh = gpa + bytes;
	rt_unlock(&mem_lock);
}

/* ------------------------------------------------------------ page tables */

/* Page-table pages come from one pool (one allocation, never freed),
 * sized for the worst case of the mapping at hand. */
static uint64_t pool, pool_end;

/*
 * Reserve a pool below 4 GiB (reachable through the boot map) for the
 * tables to come: with small pages, for all RAM (unless the host mapped it
 * already: ram_mapped) plus `extra` ranges of up to 2 MiB; with 2 MiB
 * pages, only for what the boot map does not cover (RAM and MMIO above
 * 4 GiB), usually nothing.  A pool page is zeroed when it is taken, so
 * only the pages used are touched (a first touch costs a host fault each).
 */
static int pool_init(bool small_pages, bool ram_mapped, const uint64_t *mmio, unsigned n)
{
	uint64_t pages = 0;
	void *p;

	for (unsigned i = 0; i < nram && !ram_mapped; i++) {
		uint64_t lo = ram[i].addr, hi = ram[i].addr + ram[i].size;

		hi = hi > TOP ? TOP : hi;
		if (!small_pages)
			lo = lo < 4 * GIB ? 4 * GIB : lo;
		if (hi > lo)
			pages += ((hi - lo) >> 30) + 2 + (small_pages ? ((hi - lo) >> 21) + 2 : 0);
	}
	for (unsigned i = 0; i < n; i++)
		if (small_pages || mmio[i] >= 4 * GIB)
			pages += 3;
	if (small_pages)
		pages += 3 + 3 + 1; /* the image, once more; the PML4 */
	if (!pages)
		return 0;
	pages += 1; /* the PDPT under PML4 entry 0 */
	p = reserve(pages * PAGE, PAGE);
	if (!p || (uintptr_t)p + pages * PAGE > (1ull << 32))
		return -12;
	pool = (uintptr_t)p;
	pool_end = pool + pages * PAGE;
	return 0;
}

static uint64_t *table_alloc(void)
{
	uint64_t *t = (uint64_t *)(uintptr_t)pool;

	if (pool >= pool_end)
		return 0;
	pool += PAGE;
	rt_memset(t, 0, PAGE);
	return t;
}

/* Entry for `va` at `level` (3 = PML4 ... 1 = PD), creating the next table. */
static uint64_t *walk(uint64_t *pml4, uint64_t va, int stop_level)
{
	uint64_t *t = pml4;

	for (int level = 3; level > stop_level; level--) {
		uint64_t *e = &t[(va >> (12 + 9 * level)) & 511];

		if (!(*e & PTE_P)) {
			uint64_t *next = table_alloc();
			if (!next)
				return 0;
			*e = (uintptr_t)next | PTE_TABLE;
		}
		t = (uint64_t *)(uintptr_t)(*e & PTE_ADDR);
	}
	return &t[(va >> (12 + 9 * stop_level)) & 511];
}

/* Map [lo, hi) with 4 KiB pages (level 0 entries), flags added to P|W|U. */
static int map_small(uint64_t *pml4, uint64_t lo, uint64_t hi, uint64_t flags)
{
	for (uint64_t va = align_down(lo, PAGE); va < hi;) {
		uint64_t *pte = walk(pml4, va, 0);

		if (!pte)
			return -12;
		/* Fill the rest of this page table in one go. */
		do {
			if (va)
				*pte = va | PTE_PAGE | flags;
			pte++;
			va += PAGE;
		} while (va < hi && (va & (HUGE - 1)));
	}
	return 0;
}

/* 2 MiB pages for RAM above 4 GiB: new PDs under the boot PDPT.  Adding
 * entries that were not present needs no TLB flush. */
static int map_high_ram(void)
{
	for (unsigned i = 0; i < nram; i++) {
		uint64_t lo = ram[i].addr, hi = ram[i].addr + ram[i].size;

		if (hi > TOP)
			hi = TOP;
		lo = lo < (4 * GIB) ? 4 * GIB : align_down(lo, HUGE);
		for (uint64_t va = lo; va < hi; va += HUGE) {
			uint64_t *pde = walk(hvb_boot_pml4, va, 1);

			if (!pde)
				return -12;
			*pde = va | PTE_P | PTE_W | PTE_U | PTE_PS;
		}
	}
	return 0;
}

/* 2 MiB pages: make the 2 MiB page of each MMIO page uncached (the boot map
 * already has 0xd0000000 and the top 32 MiB so); cr3 reload if one changed. */
static int map_mmio_large(const uint64_t *mmio, unsigned n)
{
	bool changed = false;

	for (unsigned i = 0; i < n; i++) {
		uint64_t va = align_down(mmio[i], HUGE);
		uint64_t want = va | PTE_P | PTE_W | PTE_U | PTE_PS | PTE_PCD | PTE_PWT;
		uint64_t *pde = walk(hvb_boot_pml4, va, 1);

		if (!pde)
			return -12;
		if (*pde != want) {
			changed |= (*pde & PTE_P) != 0;
			*pde = want;
		}
	}
	if (changed)
		rt_sys(RT_SYS_SET_CR3, (uintptr_t)hvb_boot_pml4, 0);
	return 0;
}

/* ------------------------------------------------- host-built tables (pt_root=) */

static const char *paging_why = "";
static uint64_t host_lo, host_hi; /* the reserved range that holds the host's tables */

const char *rt_paging_why(void)
{
	return paging_why;
}

/* A table entry the host wrote: P|W|U exactly, pointing into its range. */
static bool host_table_entry(uint64_t e)
{
	return (e & ~PTE_ADDR) == PTE_TABLE && (e & PTE_ADDR) >= host_lo &&
	       (e & PTE_ADDR) < host_hi;
}

/* The page table (level-1 table) the host made for va, or 0. */
static const uint64_t *host_pt(const uint64_t *pml4, uint64_t va)
{
	const uint64_t *t = pml4;

	for (int level = 3; level > 0; level--) {
		uint64_t e = t[(va >> (12 + 9 * level)) & 511];

		if (!host_table_entry(e))
			return 0;
		t = (const uint64_t *)(uintptr_t)(e & PTE_ADDR);
	}
	return t;
}

static uint64_t host_pte(const uint64_t *pml4, uint64_t va)
{
	const uint64_t *pt = host_pt(pml4, va);

	return pt ? pt[(va >> 12) & 511] : ~0ull;
}

/* The host must map page va of RAM (identity, P|W|U|A|D, nothing else). */
static bool host_maps(const uint64_t *pml4, uint64_t va)
{
	return host_pte(pml4, va) == (va | PTE_PAGE);
}

/* A page outside RAM: absent, where the host has a page table for it. */
static bool host_leaves_out(const uint64_t *pml4, uint64_t va)
{
	const uint64_t *pt = host_pt(pml4, va);

	return !pt || !(pt[(va >> 12) & 511] & PTE_P);
}

/*
 * pt_root=: check what the VMM built (hv/paging.h) without reading all of
 * it, since every table page the guest reads is a first touch too: the
 * root and every upper-level entry over RAM (a few pages), then the
 * entries of the first and last page of each RAM range, of the image, of
 * page 0 and of the pages just outside each range.  The VMM owns guest
 * memory anyway; this catches a VMM and a guest that disagree (a layout
 * change on one side), not a hostile one.
 */
static const char *check_host_tables(uint64_t root)
{
	const uint64_t *pml4 = (const uint64_t *)(uintptr_t)root;
	uint64_t img_lo = (uintptr_t)__image_start, img_hi = align_up((uintptr_t)__image_end, PAGE);

	for (unsigned i = 0; i < nreserved && !host_hi; i++)
		if (root >= reserved[i].addr && root - reserved[i].addr < reserved[i].size)
			host_lo = reserved[i].addr, host_hi = reserved[i].addr + reserved[i].size;
	if ((root & (PAGE - 1)) || !host_hi || host_hi > (1ull << 32) || rt_mem_is_ram(root, PAGE))
		return "pt_root= is not a page of a reserved memory-map range below 4 GiB";
	for (unsigned i = 0; i < nram; i++) {
		uint64_t lo = ram[i].addr, hi = ram[i].addr + ram[i].size;

		hi = hi > TOP ? TOP : hi;
		for (uint64_t va = align_down(lo, HUGE); va < hi; va += HUGE)
			if (!host_pt(pml4, va))
				return "pt_root= tables leave RAM without a page table (upper "
				       "levels)";
		if (!host_maps(pml4, align_up(lo, PAGE)) ||
		    !host_maps(pml4, align_down(hi - 1, PAGE)))
			return "pt_root= tables do not map the ends of a RAM range 4 KiB, identity";
		if ((lo >= PAGE && !rt_mem_is_ram(lo - PAGE, PAGE) &&
		     !host_leaves_out(pml4, lo - PAGE)) ||
		    (!rt_mem_is_ram(hi, PAGE) && !host_leaves_out(pml4, hi)))
			return "pt_root= tables map a page beside a RAM range";
	}
	if (!host_maps(pml4, img_lo) || !host_maps(pml4, img_hi - PAGE))
		return "pt_root= tables do not map the image";
	if (!host_leaves_out(pml4, 0))
		return "pt_root= tables map page 0 (NULL accesses must fault)";
	return 0;
}

/*
 * pt=4k: an identity map of all RAM with 4 KiB pages (page 0 left out):
 * the host's (host_root) or a new one; the MMIO pages uncached, then cr3
 * from ring 0.
 */
static int map_all_small(uint64_t host_root, const uint64_t *mmio, unsigned n)
{
	uint64_t *pml4 = host_root ? (uint64_t *)(uintptr_t)host_root : table_alloc();
	uint64_t img_lo = (uintptr_t)__image_start, img_hi = (uintptr_t)__image_end;
	int err;

	if (!pml4)
		return -12;
	if (host_root && (paging_why = check_host_tables(host_root)))
		return -71; /* -EPROTO */
	for (unsigned i = 0; i < nram && !host_root; i++) {
		uint64_t hi = ram[i].addr + ram[i].size;
		err = map_small(pml4, ram[i].addr, hi > TOP ? TOP : hi, 0);
		if (err)
			return err;
	}
	if (!host_root) /* in case a loader's map leaves it out (the host's is checked) */
		err = map_small(pml4, img_lo, img_hi, 0);
	else
		err = 0;
	for (unsigned i = 0; !err && i < n; i++)
		err = map_small(pml4, mmio[i], mmio[i] + PAGE, PTE_PCD | PTE_PWT);
	if (err)
		return err;
	rt_sys(RT_SYS_SET_CR3, (uintptr_t)pml4, 0);
	return 0;
}

static bool mapped_small; /* rt_paging_init mapped RAM with 4 KiB pages (pt=4k) */

const char *rt_paging_note(void)
{
	return mapped_small ? "guest page tables: 4 KiB pages (pt=4k)"
			    : "guest page tables: 2 MiB pages";
}

/* The tables above, or Xen PV's (pv.c). */
const char *rt_mem_page_note(const void *p, size_t bytes)
{
	(void)p, (void)bytes;
	return rt_platform->page_note();
}

int rt_paging_init(bool small_pages, uint64_t host_root, const uint64_t *mmio, unsigned n)
{
	int err;

	mapped_small = small_pages;
	if (!small_pages)
		host_root = 0;
	for (unsigned i = 0; i < n; i++)
		if ((mmio[i] & (PAGE - 1)) || mmio[i] >= TOP || rt_mem_is_ram(mmio[i], PAGE))
			return -22; /* -EINVAL */
	err = pool_init(small_pages, host_root != 0, mmio, n);
	if (err)
		return err;
	if (small_pages)
		return map_all_small(host_root, mmio, n);
	err = map_high_ram();
	return err ? err : map_mmio_large(mmio, n);
}
