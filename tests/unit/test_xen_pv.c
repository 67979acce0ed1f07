/*
 * The pure parts of the guest's Xen PV boot (workloads/rt/pv.h): the
 * start_info checks, where free memory starts after Xen's boot data, and
 * the page-table entries built from the P2M.
 */
#include <stdlib.h>
#include <string.h>

#include "rt/pv.h"
#include "tap.h"

#define MIB (1ull << 20)

/* A start_info as Xen lays it out for a 256 MiB guest loaded at 1 MiB. */
static void good_start_info(struct pv_start_info *si)
{
	memset(si, 0, sizeof(*si));
	strcpy(si->magic, "xen-3.0-x86_64");
	si->nr_pages = 256 * MIB / PV_PAGE;
	si->shared_info = 0x12345000;
	si->console_mfn = 0x4321;
	si->mfn_list = 0x300000;		  /* P2M: 64 Ki entries = 512 KiB */
	si->pt_base = 0x386000;
	si->nr_pt_frames = 5;
}

static void test_layout(void)
{
	TAP_EQ_INT(offsetof(struct pv_start_info, nr_pages), 32, "start_info.nr_pages at 32");
	TAP_EQ_INT(offsetof(struct pv_start_info, flags), 48, "start_info.flags at 48");
	TAP_EQ_INT(offsetof(struct pv_start_info, store_mfn), 56, "start_info.store_mfn at 56");
	TAP_EQ_INT(offsetof(struct pv_start_info, console_mfn), 72, "console.domU.mfn at 72");
	TAP_EQ_INT(offsetof(struct pv_start_info, console_evtchn), 80, "console.domU.evtchn at 80");
	TAP_EQ_INT(offsetof(struct pv_start_info, pt_base), 88, "start_info.pt_base at 88");
	TAP_EQ_INT(offsetof(struct pv_start_info, mfn_list), 104, "start_info.mfn_list at 104");
	TAP_EQ_INT(offsetof(struct pv_start_info, cmd_line), 128, "start_info.cmd_line at 128");
	TAP_EQ_INT(sizeof(struct pv_trap_info), 16, "trap_info is 16 bytes");
	TAP_EQ_INT(sizeof(struct pv_mmuext_op), 24, "mmuext_op is 24 bytes");
	TAP_EQ_INT(offsetof(struct pv_callback_register, address), 8, "callback address at 8");
}

static void test_start_info(void)
{
	struct pv_start_info *si = malloc(sizeof(*si));
	const char *why = NULL;

	good_start_info(si);
	TAP_OK(pv_start_info_ok(si, MIB, &why), "a well-formed 64-bit PV start_info is accepted");

	good_start_info(si);
	strcpy(si->magic, "xen-3.0-x86_32p");
	TAP_OK(!pv_start_info_ok(si, MIB, &why) && strstr(why, "magic"), "32-bit magic refused");

	good_start_info(si);
	si->magic[0] = 0;
	TAP_OK(!pv_start_info_ok(si, MIB, &why), "empty magic refused");

	good_start_info(si);
	si->nr_pages = 255; /* ends below the image at 1 MiB */
	TAP_OK(!pv_start_info_ok(si, MIB, &why) && strstr(why, "nr_pages"),
	       "nr_pages below the image refused");

	good_start_info(si);
	si->mfn_list = 0;
	TAP_OK(!pv_start_info_ok(si, MIB, &why) && strstr(why, "P2M"), "no P2M refused");

	good_start_info(si);
	si->pt_base |= 8;
	TAP_OK(!pv_start_info_ok(si, MIB, &why), "unaligned pt_base refused");

	good_start_info(si);
	si->console_mfn = 0;
	TAP_OK(!pv_start_info_ok(si, MIB, &why) && strstr(why, "console"), "no console refused");

	good_start_info(si);
	si->shared_info = 0x12345008;
	TAP_OK(!pv_start_info_ok(si, MIB, &why), "unaligned shared_info refused");
	free(si);
}

static void test_first_free(void)
{
	struct pv_start_info si;

	good_start_info(&si);
	/* stack page right after the page tables (0x386000 + 5 pages) */
	TAP_EQ_INT(pv_first_free_pfn(&si, 0x384000, 0x38c000, 0x385, 0x384), 0x38c,
		   "free memory starts after the boot stack");
	TAP_EQ_INT(pv_first_free_pfn(&si, 0x384000, 0x38b800, 0x385, 0x384), 0x38c,
		   "a stack top inside a page rounds up");
	TAP_EQ_INT(pv_first_free_pfn(&si, 0x384000, 0x200000, 0x385, 0x384), 0x38b,
		   "page tables after the stack still count");
	TAP_EQ_INT(pv_first_free_pfn(&si, 0x384000, 0x200000, 0x390, 0x384), 0x391,
		   "a console page after everything counts");
	TAP_EQ_INT(pv_first_free_pfn(&si, 0x384000, 0x200000, 0x385, ~0ull), 0x38b,
		   "no xenstore page: ignored");
	si.nr_pt_frames = 0;
	si.pt_base = 0x1000;
	TAP_EQ_INT(pv_first_free_pfn(&si, 0x370000, 0x200000, 0x100, ~0ull), 0x380,
		   "the P2M's end (0x300000 + 512 KiB) counts");
}

static void test_l1(void)
{
	static uint64_t p2m[1024], l1[512];
	unsigned n;

	for (unsigned i = 0; i < 1024; i++)
		p2m[i] = 0x80000 + 3 * i; /* machine frames: not contiguous */
	TAP_EQ_INT(pv_pte(0x1234, PV_PTE_P), 0x1234001, "pte = mfn << 12 | flags");
	TAP_EQ_INT(pv_pte(1ull << 52, PV_PTE_P), 1, "frame bits above 52 dropped");

	n = pv_fill_l1(l1, 0, p2m, 1024, PV_PTE_RAM);
	TAP_EQ_INT(n, 512, "a full 2 MiB maps 512 pages");
	TAP_EQ_INT(l1[7], pv_pte(0x80000 + 21, PV_PTE_RAM), "entry 7 holds pfn 7's machine frame");

	n = pv_fill_l1(l1, 2 * MIB, p2m, 700, PV_PTE_RAM);
	TAP_EQ_INT(n, 700 - 512, "the last 2 MiB maps only the domain's pages");
	TAP_EQ_INT(l1[0], pv_pte(p2m[512], PV_PTE_RAM), "entry 0 is pfn 512");
	TAP_EQ_INT(l1[187], pv_pte(p2m[699], PV_PTE_RAM), "last page of RAM mapped");
	TAP_EQ_INT(l1[188], 0, "beyond RAM: empty");
	TAP_EQ_INT(l1[511], 0, "beyond RAM: empty to the end");

	TAP_EQ_INT(pv_l1e_maddr(0x1234, 0), 0x1234000, "entry of the first page of a 2 MiB");
	TAP_EQ_INT(pv_l1e_maddr(0x1234, 2 * MIB + 5 * PV_PAGE + 123), 0x1234028,
		   "entry 5 of the next 2 MiB (offset within the page ignored)");
	TAP_EQ_INT(pv_l1e_maddr(0x1234, 2 * MIB - PV_PAGE), 0x1234ff8, "last entry at 4088");
}

/* The single-shot timer's deadline: TSC -> Xen system time (xen_evtirq.c). */
static void test_system_time(void)
{
	TAP_EQ_INT(pv_system_time_at(1000, 5000, 0x80000000u, 0, 1000 + 2000000000ull),
		   5000 + 1000000000ull, "2 GHz (mul 0.5, shift 0): 2e9 cycles are 1 s");
	TAP_EQ_INT(pv_system_time_at(0, 0, 0x80000000u, -1, 4000000000ull), 1000000000ull,
		   "4 GHz (shift -1): 4e9 cycles are 1 s");
	TAP_EQ_INT(pv_system_time_at(0, 7, 0xfa000000u, 1, 1000), 7 + 1953,
		   "shift 1, mul 0.9766: 1000 cycles");
	TAP_EQ_INT(pv_system_time_at(500, 42, 0x80000000u, 0, 100), 42,
		   "a TSC before the stamp is the stamp's time (a past deadline fires at once)");
	TAP_EQ_INT(pv_system_time_at(0, 0, 0xffffffffu, 0, 1ull << 62),
		   (uint64_t)(((unsigned __int128)(1ull << 62) * 0xffffffffu) >> 32),
		   "no 64-bit overflow in the product");
}

/* What libxc's save reads in the shared info (arch-x86/xen.h) and what a
 * suspend leaves in start_info for its restore (pv.c hvb_pv_suspend). */
static void test_suspend(void)
{
	static uint64_t m2p[0x5000], p2m[0x400];
	struct pv_arch_shared_info a;
	struct pv_start_info si;

	TAP_EQ_INT(PV_SHINFO_ARCH, 2048 + 512 + 512 + 16,
		   "arch_shared_info after vcpu_info[32], the bitmaps and the wall clock");
	TAP_EQ_INT(offsetof(struct pv_arch_shared_info, p2m_cr3), 24, "arch.p2m_cr3 at 24");
	TAP_EQ_INT(offsetof(struct pv_arch_shared_info, p2m_generation), 40,
		   "arch.p2m_generation at 40");
	memset(&a, 0xa5, sizeof(a));
	pv_p2m_publish(&a, 8192, 0x1234, 0x300000);
	TAP_OK(a.max_pfn == 8192 && a.p2m_vaddr == 0x300000 && a.p2m_cr3 == 0x1234000 &&
		       a.p2m_generation == 0 && a.pfn_to_mfn_frame_list_list == ~0ull,
	       "the linear P2M: every entry, its address, the top-level table's cr3, "
	       "an even generation, no 3-level tree");

	good_start_info(&si);
	si.store_mfn = 0x4000;
	m2p[0x4321] = 0x101;
	m2p[0x4000] = 0x102;
	p2m[0x101] = 0x777;
	p2m[0x102] = 0x888;
	pv_start_info_to_pfns(&si, m2p);
	TAP_OK(si.console_mfn == 0x101 && si.store_mfn == 0x102,
	       "before the suspend: the console and xenstore frames as pseudo-physical");
	pv_start_info_to_mfns(&si, p2m);
	TAP_OK(si.console_mfn == 0x777 && si.store_mfn == 0x888,
	       "a cancelled suspend: machine frames again, from the P2M");
	si.store_mfn = 0;
	pv_start_info_to_pfns(&si, m2p);
	TAP_EQ_INT(si.store_mfn, 0, "no xenstore (store_mfn 0) stays 0");
}

int main(void)
{
	test_suspend();
	test_system_time();
	test_layout();
	test_start_info();
	test_first_free();
	test_l1();
	return tap_done();
}
