/*
 * Boot of the image as a Xen PV domU, in guest kernel mode (called from
 * pv.S before the first switch to user mode).  What ring 0 gets from static
 * tables under PVH is set up here with hypercalls:
 *
 *  - the trap table (set_trap_table): every exception to pv.S, int3 as the
 *    DPL-3 privileged gate; the kernel stack for traps from user mode
 *    (stack_switch); the syscall, event and failsafe callbacks;
 *  - the user page table: a top-level table of its own (pinned, then
 *    MMUEXT_NEW_USER_BASEPTR) sharing the kernel's level-3 table, so user
 *    mode sees the same memory while Xen switches top-level tables on every
 *    user/kernel transition, as for any PV guest;
 *  - Xen's shared-info page (events stay masked) and the PV console page;
 *  - RAM beyond Xen's start-of-day mapping: new level-1 tables, filled
 *    with machine frames from the P2M, remapped read-only and hooked into
 *    the level-2 table with mmu_update (Xen validates every entry).
 *
 * Failures before the console is known go to Xen's console (console_io,
 * `xl dmesg`) and crash the domain; later ones are reported from user mode
 * as a LOG record (rt_pv()->why).
 *
 * At the end: the Xen PV platform table (rt_platform_xen_pv), whose
 * operations run in user mode like the rest of the runtime.
 */
#include "pv.h"
#include "rt.h"
#include "xen.h"
#include "xen_io.h"

/* pv.S */
void hvb_pv_gate(void), hvb_pv_syscall(void), hvb_pv_upcall(void);
void hvb_pv_hard_stop(void) __attribute__((noreturn));
void hvb_pv_trap0(void), hvb_pv_trap1(void), hvb_pv_trap4(void), hvb_pv_trap5(void);
void hvb_pv_trap6(void), hvb_pv_trap7(void), hvb_pv_trap8(void), hvb_pv_trap9(void);
void hvb_pv_trap10(void), hvb_pv_trap11(void), hvb_pv_trap12(void), hvb_pv_trap13(void);
void hvb_pv_trap14(void), hvb_pv_trap16(void), hvb_pv_trap17(void), hvb_pv_trap18(void);
void hvb_pv_trap19(void), hvb_pv_trap20(void), hvb_pv_trap21(void);
void hvb_pv_ap_start(void);
extern uint8_t hvb_pv_shared_info[4096];
extern char hvb_kstack_top[], hvb_ap_kstacks[];

/* Flags: DPL in bits 0-1; PV_TRAP_MASK_EVENTS masks events on entry, so
 * kernel mode always runs with events masked (as ring 0 runs with IF=0
 * under PVH) and only the event callback itself sees them, from user
 * mode or from the gate's SCHEDOP_block (xen_evtirq.c). */
#define PV_TRAP_MASK_EVENTS 4
#define TRAP(v, fn) { v, PV_TRAP_MASK_EVENTS, PV_KERNEL_CS, (uintptr_t)fn }

/* DPL 0 (only the CPU raises these) except int3, the gate (DPL 3). */
static const struct pv_trap_info traps[] = {
	TRAP(0, hvb_pv_trap0), TRAP(1, hvb_pv_trap1),
	{ 3, 3 | PV_TRAP_MASK_EVENTS, PV_KERNEL_CS, (uintptr_t)hvb_pv_gate },
	TRAP(4, hvb_pv_trap4), TRAP(5, hvb_pv_trap5), TRAP(6, hvb_pv_trap6),
	TRAP(7, hvb_pv_trap7), TRAP(8, hvb_pv_trap8), TRAP(9, hvb_pv_trap9),
	TRAP(10, hvb_pv_trap10), TRAP(11, hvb_pv_trap11), TRAP(12, hvb_pv_trap12),
	TRAP(13, hvb_pv_trap13), TRAP(14, hvb_pv_trap14), TRAP(16, hvb_pv_trap16),
	TRAP(17, hvb_pv_trap17), TRAP(18, hvb_pv_trap18), TRAP(19, hvb_pv_trap19),
	TRAP(20, hvb_pv_trap20), TRAP(21, hvb_pv_trap21), { 0, 0, 0, 0 },
};

static struct rt_pv_boot boot;
static bool started;
static const uint64_t *p2m;      /* Xen's P2M (start_info.mfn_list) */
static const uint64_t *l2_table; /* the level-2 table mapping RAM (read-only) */
static uint64_t kernel_l4_pfn;   /* the top-level table Xen built (start_info.pt_base) */
static struct pv_start_info *start_info; /* Xen's, kept in place: a suspend names it */
static char cmdline[sizeof(((struct pv_start_info *)0)->cmd_line) + 1];

/* Hypercall nr(a1, a2, a3, a4) from guest kernel mode. */
static long hc(unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)
{
	register uint64_t rdx __asm__("rdx") = a3;
	register uint64_t r10 __asm__("r10") = a4;
	long ret;

	__asm__ volatile("call *%[stub]"
			 : "=a"(ret), "+D"(a1), "+S"(a2), "+r"(rdx), "+r"(r10)
			 : [stub] "r"(hvb_xen_hypercall_page + 32 * nr)
			 : "rcx", "r8", "r9", "r11", "memory");
	return ret;
}

/* Before the PV console is known: Xen's console (guest_loglvl), then crash. */
static void __attribute__((noreturn)) boot_fail(const char *why)
{
	static char msg[160];
	char *p = rt_put_str(msg, msg + sizeof(msg) - 2, "hvbench guest (PV): ");

	p = rt_put_str(p, msg + sizeof(msg) - 2, why);
	*p++ = '\n';
	hc(PV_HC_CONSOLE_IO, PV_CONSOLEIO_WRITE, (uint64_t)(p - msg), (uintptr_t)msg, 0);
	hvb_pv_hard_stop();
}

static int set_callback(uint16_t type, void (*fn)(void))
{
	struct pv_callback_register cb = { type, PV_CALLBACKF_MASK_EVENTS, (uintptr_t)fn };

	return (int)hc(PV_HC_CALLBACK_OP, PV_CALLBACKOP_REGISTER, (uintptr_t)&cb, 0, 0);
}

/* The user top-level table: an image page, entry 0 (0-512 GiB: everything
 * the runtime maps) shared with the kernel's; read-only before Xen pins it. */
static uint64_t user_l4[512] __attribute__((aligned(4096)));

static void setup_user_l4(const uint64_t *kernel_l4)
{
	uint64_t mfn = p2m[(uintptr_t)user_l4 / PV_PAGE];
	struct pv_mmuext_op op[2] = {
		{ PV_MMUEXT_PIN_L4_TABLE, mfn, 0 },
		{ PV_MMUEXT_NEW_USER_BASEPTR, mfn, 0 },
	};

	memset(user_l4, 0, sizeof(user_l4));
	user_l4[0] = kernel_l4[0];
	if (hc(PV_HC_UPDATE_VA_MAPPING, (uintptr_t)user_l4, pv_pte(mfn, PV_PTE_P | PV_PTE_U | PV_PTE_A),
	       PV_UVMF_INVLPG, 0))
		boot_fail("cannot make the user top-level table read-only");
	if (hc(PV_HC_MMUEXT_OP, (uintptr_t)op, 2, 0, PV_DOMID_SELF))
		boot_fail("pinning the user top-level table (MMUEXT_PIN_L4_TABLE, NEW_USER_BASEPTR) failed");
}

/* Traps, kernel stack, callbacks, user page table. */
static void setup_cpu(const uint64_t *kernel_l4)
{

	if (hc(PV_HC_SET_TRAP_TABLE, (uintptr_t)traps, 0, 0, 0))
		boot_fail("set_trap_table failed");
	if (hc(PV_HC_STACK_SWITCH, PV_KERNEL_SS, (uintptr_t)hvb_kstack_top, 0, 0))
		boot_fail("stack_switch failed");
	if (set_callback(PV_CALLBACKTYPE_EVENT, hvb_pv_upcall) ||
	    set_callback(PV_CALLBACKTYPE_FAILSAFE, hvb_pv_hard_stop) ||
	    set_callback(PV_CALLBACKTYPE_SYSCALL, hvb_pv_syscall))
		boot_fail("callback_op(register) failed");
	setup_user_l4(kernel_l4);
}

/* Pseudo-physical frame of a machine frame (Xen's read-only M2P). */
static uint64_t m2p(uint64_t mfn)
{
	return ((const uint64_t *)PV_M2P_VIRT)[mfn];
}

static const uint64_t *table_of(uint64_t entry)
{
	return (const uint64_t *)(uintptr_t)(m2p((entry & PV_PTE_ADDR) / PV_PAGE) * PV_PAGE);
}

/*
 * Map all RAM below PV_MAP_LIMIT at virtual = pseudo-physical.  Xen mapped
 * the first 4 MiB-aligned stretch (whole 2 MiB level-1 tables); each 2 MiB
 * after it gets a level-1 table taken from the first free page, which is
 * always mapped (one page per 2 MiB consumed, 512 mapped).
 */
static const char *map_ram(const struct pv_start_info *si, uint64_t free_pfn)
{
	const uint64_t *l4 = (const uint64_t *)(uintptr_t)si->pt_base, *l3, *l2;
	uint64_t hi = si->nr_pages * PV_PAGE, l2_mfn, mapped = 0;

	if (hi > PV_MAP_LIMIT)
		hi = PV_MAP_LIMIT;
	if (!(l4[0] & PV_PTE_P))
		return "Xen's page tables do not map the image (level 4)";
	l3 = table_of(l4[0]);
	if (!(l3[0] & PV_PTE_P))
		return "Xen's page tables do not map the image (level 3)";
	l2_mfn = (l3[0] & PV_PTE_ADDR) / PV_PAGE;
	l2 = l2_table = table_of(l3[0]);
	for (uint64_t va = 0; va < hi; va += 512 * PV_PAGE) {
		uint64_t idx = va / (512 * PV_PAGE), pfn = free_pfn, mfn;
		struct pv_mmu_update u;

		if (l2[idx] & PV_PTE_P) {
			mapped = va + 512 * PV_PAGE;
			continue;
		}
		if (!boot.initial_map_end)
			boot.initial_map_end = mapped;
		if (pfn * PV_PAGE >= mapped)
			return "no free page in Xen's initial mapping for a page table";
		mfn = p2m[pfn];
		pv_fill_l1((uint64_t *)(uintptr_t)(pfn * PV_PAGE), va, p2m, si->nr_pages, PV_PTE_RAM);
		/* Xen takes a page as a page table only without writable mappings. */
		if (hc(PV_HC_UPDATE_VA_MAPPING, pfn * PV_PAGE, pv_pte(mfn, PV_PTE_P | PV_PTE_U | PV_PTE_A),
		       PV_UVMF_INVLPG, 0))
			return "update_va_mapping refused to make a page table read-only";
		u.ptr = l2_mfn * PV_PAGE + idx * 8;
		u.val = pv_pte(mfn, PV_PTE_P | PV_PTE_W | PV_PTE_U | PV_PTE_A);
		if (hc(PV_HC_MMU_UPDATE, (uintptr_t)&u, 1, 0, PV_DOMID_SELF))
			return "mmu_update refused a new level-1 table";
		free_pfn++;
		mapped = va + 512 * PV_PAGE;
		boot.l1_tables++;
	}
	if (!boot.initial_map_end)
		boot.initial_map_end = mapped;
	boot.ram_lo = free_pfn * PV_PAGE;
	boot.ram_hi = hi < mapped ? hi : mapped;
	return boot.ram_lo < boot.ram_hi ? 0 : "no free RAM after Xen's boot data";
}

/*
 * Xen's shared-info page at hvb_pv_shared_info, with events masked
 * (vcpu_info[0].evtchn_upcall_mask: nothing interrupts a measurement, as
 * IF=0 does under PVH), and where the P2M is for libxc's save (a
 * migration: pv_p2m_publish).  At boot and after a suspend.
 */
static int map_shared_info(const struct pv_start_info *si)
{
	if (hc(PV_HC_UPDATE_VA_MAPPING, (uintptr_t)hvb_pv_shared_info,
	       pv_pte(si->shared_info / PV_PAGE, PV_PTE_RAM), PV_UVMF_INVLPG, 0))
		return -1;
	hvb_pv_shared_info[1] = 1;
	pv_p2m_publish((struct pv_arch_shared_info *)(hvb_pv_shared_info + PV_SHINFO_ARCH),
		       si->nr_pages, p2m[kernel_l4_pfn], si->mfn_list);
	return 0;
}

/* The console and xenstore rings and ports start_info names (at boot, and
 * in a new domain after a suspend: restore gives new ports). */
static void take_rings(const struct pv_start_info *si)
{
	uint64_t console_pfn = m2p(si->console_mfn);
	uint64_t store_pfn = si->store_mfn ? m2p(si->store_mfn) : ~0ull;

	boot.console = (void *)(uintptr_t)(console_pfn * PV_PAGE);
	boot.console_evtchn = si->console_evtchn;
	if (store_pfn < si->nr_pages) {
		boot.store = (void *)(uintptr_t)(store_pfn * PV_PAGE);
		boot.store_evtchn = si->store_evtchn;
	}
}

void hvb_pv_boot(const struct pv_start_info *si, uint64_t entry_rsp)
{
	const char *why = 0;
	uint64_t console_pfn, store_pfn;
	size_t i;

	if (!pv_start_info_ok(si, (uintptr_t)__image_start, &why))
		boot_fail(why); /* before the trap table: what it needs is checked here */
	p2m = (const uint64_t *)(uintptr_t)si->mfn_list;
	kernel_l4_pfn = si->pt_base / PV_PAGE;
	setup_cpu((const uint64_t *)(uintptr_t)si->pt_base);
	started = true;
	rt_pv_publish(&boot);
	rt_platform = &rt_platform_xen_pv;

	start_info = (struct pv_start_info *)(uintptr_t)si;
	boot.nr_pages = si->nr_pages;
	if (map_shared_info(si))
		boot_fail("cannot map the shared-info page");

	console_pfn = m2p(si->console_mfn);
	store_pfn = si->store_mfn ? m2p(si->store_mfn) : ~0ull;
	if (console_pfn >= si->nr_pages)
		boot_fail("the PV console page is not one of the domain's pages");
	take_rings(si);
	for (i = 0; i + 1 < sizeof(cmdline) && si->cmd_line[i]; i++)
		cmdline[i] = si->cmd_line[i];
	cmdline[i] = '\0';
	boot.cmdline = cmdline;

	/* Page 0 unmapped, as under PVH: a NULL access faults. */
	if (hc(PV_HC_UPDATE_VA_MAPPING, 0, 0, PV_UVMF_INVLPG, 0))
		why = "cannot unmap page 0";
	if (!why)
		why = map_ram(si, pv_first_free_pfn(si, (uintptr_t)si, entry_rsp, console_pfn, store_pfn));
	boot.why = why;
}

/*
 * RT_SYS_PV_SUSPEND, in guest kernel mode with events masked, vCPU 0 the
 * only one running (xen_suspend.c): the PV half of a migration.  libxc's
 * save refuses page tables that map a frame not the domain's own, so the
 * shared-info page goes back to the image's own frame first; start_info
 * names its rings by pseudo-physical frame (pv_start_info_to_pfns), and
 * SCHEDOP_shutdown(suspend) carries start_info's machine frame in its
 * third argument, which libxc's save and restore translate.  Xen returns
 * 0 in the new domain (restore rewrote start_info: new shared info, rings
 * and ports) or 1 when the suspend was cancelled (the same domain: the
 * frames back to machine frames).  Either way the shared info is mapped
 * again; the caller binds event channels again in a new domain.
 */
long hvb_pv_suspend(void)
{
	uint64_t own = p2m[(uintptr_t)hvb_pv_shared_info / PV_PAGE];
	struct { uint32_t reason; } sd = {PV_SHUTDOWN_SUSPEND};
	long rc;

	if (hc(PV_HC_UPDATE_VA_MAPPING, (uintptr_t)hvb_pv_shared_info, pv_pte(own, PV_PTE_RAM),
	       PV_UVMF_INVLPG, 0))
		return -5;
	pv_start_info_to_pfns(start_info, (const uint64_t *)PV_M2P_VIRT);
	rc = hc(PV_HC_SCHED_OP, PV_SCHEDOP_SHUTDOWN, (uintptr_t)&sd,
		p2m[(uintptr_t)start_info / PV_PAGE], 0);
	if (rc)
		pv_start_info_to_mfns(start_info, p2m);
	else
		take_rings(start_info);
	if (map_shared_info(start_info))
		hvb_pv_hard_stop(); /* nothing could report it: no events, no console */
	return rc;
}

long rt_pv_kernel_hypercall(unsigned nr, uint64_t a1, uint64_t a2)
{
	return hc(nr, a1, a2, 0, 0);
}

uint64_t rt_pv_mfn(uint64_t pfn)
{
	return p2m && pfn < boot.nr_pages ? p2m[pfn] : ~0ull;
}

/* ------------------------------------------------------------ first touch */

static bool allocator_page(uint64_t va)
{
	return va >= boot.ram_lo && va < boot.ram_hi && (l2_table[va / (512 * PV_PAGE)] & PV_PTE_P);
}

long hvb_pv_unmap(uint64_t va, uint64_t bytes)
{
	static struct pv_mmu_update u[64];
	struct pv_mmuext_op flush = { PV_MMUEXT_TLB_FLUSH_LOCAL, 0, 0 };
	unsigned n = 0;

	if ((va | bytes) & (PV_PAGE - 1) || !bytes || !allocator_page(va) ||
	    !allocator_page(va + bytes - PV_PAGE) || va + bytes < va)
		return -22;
	for (uint64_t p = va; p < va + bytes; p += PV_PAGE) {
		uint64_t l1_mfn = (l2_table[p / (512 * PV_PAGE)] & PV_PTE_ADDR) / PV_PAGE;

		u[n].ptr = pv_l1e_maddr(l1_mfn, p);
		u[n++].val = 0;
		if (n == sizeof(u) / sizeof(u[0]) || p + PV_PAGE == va + bytes) {
			if (hc(PV_HC_MMU_UPDATE, (uintptr_t)u, n, 0, PV_DOMID_SELF))
				return -5;
			n = 0;
		}
	}
	return hc(PV_HC_MMUEXT_OP, (uintptr_t)&flush, 1, 0, PV_DOMID_SELF) ? -5 : 0;
}

int hvb_pv_demand_fault(uint64_t va, uint64_t error)
{
	va &= ~(PV_PAGE - 1);
	if ((error & 1) || !started || !l2_table || !allocator_page(va))
		return 0; /* a protection fault, or not one of ours: report it */
	/* Not-present entries are never cached: no flush needed. */
	return hc(PV_HC_UPDATE_VA_MAPPING, va, pv_pte(p2m[va / PV_PAGE], PV_PTE_RAM), 0, 0) == 0;
}

/* ------------------------------------------------------------ APs */

/* Built in user mode, one AP at a time (5 KiB: not on the stack). */
static struct pv_vcpu_context ap_ctx;

/*
 * What setup_cpu gave the BSP, as the initial state of AP `cpu`: guest
 * kernel mode at hvb_pv_ap_start (pv.S) with %rdi = cpu on its own kernel
 * stack (also its stack for traps from user mode: kernel_sp), the BSP's
 * kernel and user top-level tables (already pinned: one address space),
 * the same trap table and callbacks, no GDT of its own (Xen's flat
 * selectors), events masked on syscall and failsafe entry as the BSP's
 * callbacks say (CALLBACKF_MASK_EVENTS).
 */
static void pv_ap_context(struct pv_vcpu_context *c, unsigned cpu)
{
	uint64_t kstack = (uintptr_t)hvb_ap_kstacks + (uint64_t)cpu * RT_KSTACK_SIZE;

	memset(c, 0, sizeof(*c));
	c->flags = PV_VGCF_IN_KERNEL | PV_VGCF_FAILSAFE_DISABLES_EVENTS |
		   PV_VGCF_SYSCALL_DISABLES_EVENTS;
	c->user_regs.rip = (uintptr_t)hvb_pv_ap_start;
	c->user_regs.rsp = kstack;
	c->user_regs.rdi = cpu;
	c->user_regs.cs = PV_KERNEL_CS;
	c->user_regs.ss = PV_KERNEL_SS;
	c->user_regs.rflags = 0x2;
	for (const struct pv_trap_info *t = traps; t->address; t++)
		c->trap_ctxt[t->vector] = *t;
	c->kernel_ss = PV_KERNEL_SS;
	c->kernel_sp = kstack;
	c->ctrlreg[3] = pv_cr3_of_mfn(p2m[kernel_l4_pfn]);
	c->ctrlreg[1] = pv_cr3_of_mfn(p2m[(uintptr_t)user_l4 / PV_PAGE]);
	c->event_callback_eip = (uintptr_t)hvb_pv_upcall;
	c->failsafe_callback_eip = (uintptr_t)hvb_pv_hard_stop;
	c->syscall_callback_eip = (uintptr_t)hvb_pv_syscall;
}

int rt_xen_pv_smp_start(unsigned want, const char *mode, const char **why)
{
	int rc;

	if (mode[0] != 'x') {
		*why = "Xen PV starts APs with smp=xen (VCPUOP_up) only";
		return -22;
	}
	for (unsigned cpu = 1; cpu < want; cpu++) {
		pv_ap_context(&ap_ctx, cpu);
		if ((rc = rt_xen_vcpu_start(cpu, &ap_ctx, why)))
			return (int)cpu; /* CPUs 0..cpu-1 run: do not wait for the rest */
	}
	return 0;
}

/* ------------------------------------------------------------ the platform */

/* What differs for the rest of the runtime, called from user mode. */

static int pv_halt_prepare(const char **note, const char **why)
{
	long rc = rt_xen_poll_wake(); /* one trial: Xen may refuse the poll */

	if (rc) {
		*why = "Xen PV: SCHEDOP_poll refused (events unmasked?): no wake-up source";
		return (int)rc;
	}
	*note = "Xen PV: SCHEDOP_poll, no ports, timeout in the past: Xen blocks the "
		"vCPU, its timer wakes it";
	return 0;
}

static void pv_halt_wake(void)
{
	rt_xen_poll_wake(); /* no hlt in a PV guest */
}

/* Xen PV maps all RAM at boot: unmap, so that the first touch faults (and
 * hvb_pv_demand_fault maps the page). */
static long pv_fresh_alloc(uint64_t gpa, uint64_t bytes)
{
	return (long)rt_sys(RT_SYS_PV_UNMAP, gpa, bytes);
}

static void pv_fresh_release(uint64_t gpa, uint64_t bytes)
{
	(void)gpa, (void)bytes; /* unmapped again at the next rt_fresh_alloc */
}

static const char *pv_page_note(void)
{
	return "Xen PV guest: 4 KiB pages";
}

/* Never called: the PV boot maps memory itself (no rt_paging_init). */
static unsigned pv_mmio_pages(const char *boot_cmdline, uint64_t *page)
{
	(void)boot_cmdline;
	(void)page;
	return 0;
}

const struct rt_platform rt_platform_xen_pv = {
	.name = "xen-pv",
	.hypercall_null = rt_xen_hypercall_null, /* from guest kernel mode, through the gate */
	.hypercall_note = rt_xen_hypercall_note,
	.hypercall_name = rt_xen_hypercall_name,
	.halt_prepare = pv_halt_prepare,
	.halt_wake = pv_halt_wake,
	.fresh_alloc = pv_fresh_alloc,
	.fresh_release = pv_fresh_release,
	.page_note = pv_page_note,
	.mmio_pages = pv_mmio_pages,
	/* Xen's frame: RPL 3 for guest user mode, 0 for guest kernel mode */
	.user_mode = " in PV user mode (workload or runtime)",
	.kernel_mode = " in PV kernel mode (runtime)",
	.blk = &rt_xen_blkfront, /* the same blkfront as PVH; grants name mfns */
	.net = &rt_xen_netfront, /* likewise */
	.smp_start = rt_xen_pv_smp_start, /* smp=xen: VCPUOP_initialise + VCPUOP_up */
	.irq = &rt_xen_evtchn_irq_ops, /* no LAPIC: event channels (xen_evtirq.c) */
};
