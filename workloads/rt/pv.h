/*
 * The guest image as a Xen PV domU (64-bit): the Xen ABI it needs and the
 * pure helpers of its boot (pv.c, pv.S).
 *
 * A 64-bit PV guest runs in hardware ring 3 in two modes Xen switches
 * between: guest kernel mode (here: what ring 0 is under PVH, pv.S and the
 * kernel half of pv.c) and guest user mode (everything else: main.c, the
 * harness, the workloads), each with its own top-level page table (the
 * user one shares the kernel's level-3 table: the same memory).
 * Privileged operations are hypercalls: traps arrive through a trap table,
 * user `syscall` through a callback, and the way back to user mode is
 * HYPERVISOR_iret.  Page tables hold machine frames (start_info's P2M,
 * mfn_list) and are written through mmu_update, never directly.
 *
 * Values are from Xen's public headers (xen.h, arch-x86/xen-x86_64.h,
 * callback.h, elfnote.h); the ABI is stable.  The inline helpers below are
 * pure so the host unit tests (tests/unit/test_xen_pv.c) check them.
 */
#ifndef HVB_RT_PV_H
#define HVB_RT_PV_H

/* Flat selectors Xen provides (xen-x86_64.h).  Kernel selectors with RPL 0
 * are what Xen's exception frames show for guest kernel mode; Xen raises
 * the RPL itself. */
#define PV_KERNEL_CS 0xe030
#define PV_KERNEL_SS 0xe028
#define PV_USER_CS 0xe033
#define PV_USER_SS 0xe02b

/* Hypercall numbers (32-byte stubs in the hypercall page). */
#define PV_HC_SET_TRAP_TABLE 0
#define PV_HC_MMU_UPDATE 1
#define PV_HC_STACK_SWITCH 3
#define PV_HC_UPDATE_VA_MAPPING 14
#define PV_HC_CONSOLE_IO 18
#define PV_HC_IRET 23
#define PV_HC_MMUEXT_OP 26
#define PV_HC_SCHED_OP 29
#define PV_HC_CALLBACK_OP 30

#define PV_VGCF_IN_SYSCALL (1 << 8) /* iret flags: return from a syscall callback */

#define PV_ELFNOTE_ENTRY 1
#define PV_ELFNOTE_HYPERCALL_PAGE 2
#define PV_ELFNOTE_VIRT_BASE 3
#define PV_ELFNOTE_PADDR_OFFSET 4
#define PV_ELFNOTE_XEN_VERSION 5
#define PV_ELFNOTE_GUEST_OS 6
#define PV_ELFNOTE_LOADER 8

/* Machine-to-physical table, read-only for the guest (xen-x86_64.h). */
#define PV_M2P_VIRT 0xffff800000000000ull

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PV_PAGE 4096ull
#define PV_PTE_P 0x1ull
#define PV_PTE_W 0x2ull
#define PV_PTE_U 0x4ull
#define PV_PTE_A 0x20ull
#define PV_PTE_D 0x40ull
#define PV_PTE_ADDR 0x000ffffffffff000ull
#define PV_PTE_RAM (PV_PTE_P | PV_PTE_W | PV_PTE_U | PV_PTE_A | PV_PTE_D)

#define PV_MMUEXT_PIN_L4_TABLE 3
#define PV_MMUEXT_TLB_FLUSH_LOCAL 6
#define PV_MMUEXT_NEW_USER_BASEPTR 15
#define PV_UVMF_INVLPG 2
#define PV_CONSOLEIO_WRITE 0
#define PV_CALLBACKOP_REGISTER 0
#define PV_CALLBACKTYPE_EVENT 0
#define PV_CALLBACKTYPE_FAILSAFE 1
#define PV_CALLBACKTYPE_SYSCALL 2
#define PV_CALLBACKF_MASK_EVENTS 1
#define PV_DOMID_SELF 0x7ff0

#define PV_START_MAGIC "xen-3.0-x86_64"
/* RAM the runtime maps: one level-3 entry (the one holding the image). */
#define PV_MAP_LIMIT (1ull << 30)

/* struct start_info (xen.h), as Xen fills it for a 64-bit PV guest. */
struct pv_start_info {
	char magic[32];
	uint64_t nr_pages;
	uint64_t shared_info; /* machine address */
	uint32_t flags;
	uint64_t store_mfn;
	uint32_t store_evtchn;
	uint64_t console_mfn;
	uint32_t console_evtchn;
	uint64_t pt_base;      /* virtual address of the top-level table */
	uint64_t nr_pt_frames;
	uint64_t mfn_list;     /* virtual address of the P2M (nr_pages entries) */
	uint64_t mod_start, mod_len;
	char cmd_line[1024];
	uint64_t first_p2m_pfn, nr_p2m_frames;
};

struct pv_trap_info {
	uint8_t vector;
	uint8_t flags; /* DPL in bits 0-1; bit 2: mask events on entry */
	uint16_t cs;
	uint64_t address;
};

struct pv_callback_register {
	uint16_t type, flags;
	uint64_t address;
};

struct pv_mmu_update {
	uint64_t ptr; /* machine address of the entry (low bits 0: normal update) */
	uint64_t val;
};

struct pv_mmuext_op {
	uint32_t cmd;
	uint64_t arg1; /* mfn or linear address */
	uint64_t arg2;
};

/* struct cpu_user_regs (xen-x86_64.h), in struct pv_vcpu_context. */
struct pv_cpu_user_regs {
	uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi;
	uint32_t error_code, entry_vector; /* Xen's */
	uint64_t rip;
	uint16_t cs, pad0;
	uint8_t saved_upcall_mask, pad1[3];
	uint64_t rflags, rsp;
	uint16_t ss, pad2[3], es, pad3[3], ds, pad4[3], fs, pad5[3], gs, pad6[3];
};

/* struct vcpu_guest_context (arch-x86/xen.h, 64-bit guest): what
 * VCPUOP_initialise takes for a PV vCPU (an AP of smp=xen). */
#define PV_VGCF_IN_KERNEL (1 << 2)
#define PV_VGCF_FAILSAFE_DISABLES_EVENTS (1 << 3)
#define PV_VGCF_SYSCALL_DISABLES_EVENTS (1 << 4)
struct pv_vcpu_context {
	uint8_t fpu[512];
	uint64_t flags;
	struct pv_cpu_user_regs user_regs;
	struct pv_trap_info trap_ctxt[256];
	uint64_t ldt_base, ldt_ents;
	uint64_t gdt_frames[16], gdt_ents;
	uint64_t kernel_ss, kernel_sp;
	uint64_t ctrlreg[8]; /* cr3: the kernel top-level table, ctrlreg[1]: the user one */
	uint64_t debugreg[8];
	uint64_t event_callback_eip, failsafe_callback_eip, syscall_callback_eip;
	uint64_t vm_assist;
	uint64_t fs_base, gs_base_kernel, gs_base_user;
};
_Static_assert(sizeof(struct pv_cpu_user_regs) == 200, "xen-x86_64.h cpu_user_regs");
_Static_assert(sizeof(struct pv_trap_info) == 16, "xen-x86_64.h trap_info");
_Static_assert(offsetof(struct pv_vcpu_context, trap_ctxt) == 720, "vcpu_guest_context");
_Static_assert(offsetof(struct pv_vcpu_context, ctrlreg) == 4984, "vcpu_guest_context");
_Static_assert(offsetof(struct pv_vcpu_context, event_callback_eip) == 5112, "vcpu_guest_context");
_Static_assert(sizeof(struct pv_vcpu_context) == 5168, "vcpu_guest_context");

/*
 * Xen system time (ns) at TSC value tsc, from a vcpu_time_info's stamp
 * (tsc_timestamp, system_time, tsc_to_system_mul, tsc_shift; xen.h):
 * ((tsc - stamp) << shift, or >> -shift) * mul / 2^32 past system_time.
 * A TSC before the stamp gives system_time itself (a past deadline).
 */
static inline uint64_t pv_system_time_at(uint64_t stamp, uint64_t system_time, uint32_t mul,
					  int8_t shift, uint64_t tsc)
{
	uint64_t delta = tsc > stamp ? tsc - stamp : 0;

	delta = shift < 0 ? delta >> -shift : delta << shift;
	return system_time + (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

/* Xen's cr3 format for a 64-bit guest (xen_pfn_to_cr3). */
static inline uint64_t pv_cr3_of_mfn(uint64_t mfn)
{
	return mfn << 12;
}

/*
 * Is si a start_info Xen wrote for a 64-bit PV guest whose image starts at
 * image_start (virtual = pseudo-physical)?  true, or false with *why set.
 */
static inline bool pv_start_info_ok(const struct pv_start_info *si, uint64_t image_start,
				    const char **why)
{
	const char *m = PV_START_MAGIC;

	for (unsigned i = 0; m[i]; i++) {
		if (si->magic[i] != m[i]) {
			*why = "start_info magic is not xen-3.0-x86_64: not a 64-bit PV start";
			return false;
		}
	}
	if (!si->nr_pages || si->nr_pages > (1ull << 40) / PV_PAGE ||
	    image_start / PV_PAGE >= si->nr_pages) {
		*why = "start_info nr_pages does not cover the image";
		return false;
	}
	if (!si->mfn_list || !si->pt_base || !si->nr_pt_frames || (si->pt_base & (PV_PAGE - 1))) {
		*why = "start_info has no P2M list or page tables";
		return false;
	}
	if (!si->console_mfn || !si->shared_info || (si->shared_info & (PV_PAGE - 1))) {
		*why = "start_info has no PV console or shared info";
		return false;
	}
	return true;
}

static inline uint64_t pv_max(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/*
 * First page frame after every bootstrap element Xen placed behind the
 * image (P2M, start_info, page tables, boot stack: xen.h's start-of-day
 * layout), given the virtual address of start_info itself (si_va), the
 * stack pointer at entry (the top of the boot stack, the last element) and
 * the pseudo-physical frames of the console and xenstore pages.  Everything from there to the end of the initial mapping
 * is free.
 */
static inline uint64_t pv_first_free_pfn(const struct pv_start_info *si, uint64_t si_va,
					 uint64_t entry_rsp, uint64_t console_pfn, uint64_t store_pfn)
{
	uint64_t end = (entry_rsp + PV_PAGE - 1) / PV_PAGE;

	end = pv_max(end, si->pt_base / PV_PAGE + si->nr_pt_frames);
	end = pv_max(end, (si->mfn_list + si->nr_pages * 8 + PV_PAGE - 1) / PV_PAGE);
	end = pv_max(end, si_va / PV_PAGE + 1);
	end = pv_max(end, console_pfn + 1);
	if (store_pfn < si->nr_pages)
		end = pv_max(end, store_pfn + 1);
	return end;
}

/* ------------------------------------------------------------ suspend (migration) */

#define PV_SCHEDOP_SHUTDOWN 2
#define PV_SHUTDOWN_SUSPEND 2

/*
 * struct arch_shared_info (arch-x86/xen.h, 64-bit), at this offset in the
 * shared-info page (after vcpu_info[32], the event bitmaps and the wall
 * clock).  libxc's save finds the guest's P2M through it: max_pfn entries
 * at p2m_vaddr, mapped by the page tables whose top is p2m_cr3 (the
 * linear list; frame_list_list ~0 says the 3-level tree is not kept).
 * p2m_generation stays even: the runtime never changes its P2M.
 */
#define PV_SHINFO_ARCH 3088
struct pv_arch_shared_info {
	uint64_t max_pfn;
	uint64_t pfn_to_mfn_frame_list_list;
	uint64_t nmi_reason;
	uint64_t p2m_cr3, p2m_vaddr, p2m_generation;
};

static inline void pv_p2m_publish(struct pv_arch_shared_info *a, uint64_t nr_pages,
				  uint64_t l4_mfn, uint64_t mfn_list)
{
	a->max_pfn = nr_pages;
	a->pfn_to_mfn_frame_list_list = ~0ull;
	a->p2m_cr3 = pv_cr3_of_mfn(l4_mfn);
	a->p2m_vaddr = mfn_list;
	a->p2m_generation = 0;
}

/*
 * Before SCHEDOP_shutdown(suspend): start_info's xenstore and console
 * frames as pseudo-physical frames (m2p: Xen's machine-to-physical
 * table), which libxc's restore turns into the new domain's machine
 * frames (and rewrites the event channels beside them).  A cancelled
 * suspend (same domain) turns them back with pv_start_info_to_mfns.
 * A store_mfn of 0 (no xenstore) stays 0.
 */
static inline void pv_start_info_to_pfns(struct pv_start_info *si, const uint64_t *m2p)
{
	if (si->store_mfn)
		si->store_mfn = m2p[si->store_mfn];
	si->console_mfn = m2p[si->console_mfn];
}

static inline void pv_start_info_to_mfns(struct pv_start_info *si, const uint64_t *p2m)
{
	if (si->store_mfn)
		si->store_mfn = p2m[si->store_mfn];
	si->console_mfn = p2m[si->console_mfn];
}

/* Page-table entry for machine frame mfn with flags. */
static inline uint64_t pv_pte(uint64_t mfn, uint64_t flags)
{
	return ((mfn * PV_PAGE) & PV_PTE_ADDR) | flags;
}

/*
 * Fill the level-1 table l1 (512 entries) for the 2 MiB at va: RAM pages
 * (pfn < nr_pages, mapped at virtual = pfn * 4 KiB) map their machine
 * frame from p2m with flags; the rest stay empty.  Returns the number of
 * pages mapped.
 */
static inline unsigned pv_fill_l1(uint64_t *l1, uint64_t va, const uint64_t *p2m,
				  uint64_t nr_pages, uint64_t flags)
{
	unsigned n = 0;

	for (unsigned i = 0; i < 512; i++) {
		uint64_t pfn = va / PV_PAGE + i;

		l1[i] = pfn < nr_pages ? pv_pte(p2m[pfn], flags) : 0;
		n += pfn < nr_pages;
	}
	return n;
}

/* ------------------------------------------------------------ guest only (pv.c) */

/* What the PV boot (guest kernel mode) leaves for user mode (main.c). */
struct rt_pv_boot {
	const char *cmdline;       /* copy of start_info's command line */
	uint64_t ram_lo, ram_hi;   /* free, mapped RAM for the allocator */
	uint64_t nr_pages;         /* the domain's pages */
	uint64_t initial_map_end;  /* what Xen mapped at start of day */
	uint64_t l1_tables;        /* page tables the runtime added (mmu_update) */
	void *console;             /* the PV console page (mapped) */
	uint32_t console_evtchn;
	void *store;               /* the xenstore ring page (mapped), NULL if none */
	uint32_t store_evtchn;
	const char *why;           /* non-NULL: the boot failed here (reported from user mode) */
};

/* pv.c: smp=xen under PV, VCPUOP_initialise with a vcpu_guest_context
 * (the BSP's page tables, trap table, callbacks; kernel mode at
 * hvb_pv_ap_start, %rdi = index) + VCPUOP_up (rt_platform smp_start). */
int rt_xen_pv_smp_start(unsigned want, const char *mode, const char **why);

/* pv.c: hypercall nr(a1, a2) from guest kernel mode itself (the event
 * callback's PONG), not through the gate. */
long rt_pv_kernel_hypercall(unsigned nr, uint64_t a1, uint64_t a2);
/* xen_evtirq.c, guest kernel mode (pv.S hvb_pv_upcall, events masked):
 * count, stamp and acknowledge this vCPU's pending event channels. */
void hvb_pv_evtchn_upcall(void);
/* xen_evtirq.c: interrupts under Xen PV (struct rt_irq_ops). */
extern const struct rt_irq_ops rt_xen_evtchn_irq_ops;

/* pvboot.c: the boot's result; NULL unless the image was started as a PV
 * guest (pv.c publishes it once the trap table and callbacks are set). */
const struct rt_pv_boot *rt_pv(void);
void rt_pv_publish(const struct rt_pv_boot *boot);
/* main.c: user-mode entry after the PV boot (pv.S), TSC at the PV entry. */
void hvb_pv_user_start(uint64_t entry_tsc) __attribute__((noreturn));
/* pv.c, guest kernel mode: the boot steps between entry and user mode. */
void hvb_pv_boot(const struct pv_start_info *si, uint64_t entry_rsp);
/* pv.c: the machine frame of pseudo-physical frame pfn (Xen's P2M, which
 * user mode may read); ~0 past the domain's pages.  Grants name mfns. */
uint64_t rt_pv_mfn(uint64_t pfn);
/* pv.c, kernel mode (RT_SYS_PV_UNMAP): unmap the allocator's pages
 * [va, va + bytes) with batched mmu_update; 0 or -EINVAL (not whole pages
 * of the allocator's RAM). */
long hvb_pv_unmap(uint64_t va, uint64_t bytes);
/* pv.c, kernel mode (#PF): map the page at va again if it is one of the
 * allocator's pages and the fault was not-present; 1 if so, else 0. */
int hvb_pv_demand_fault(uint64_t va, uint64_t error);
/* pv.c, kernel mode (RT_SYS_PV_SUSPEND): SCHEDOP_shutdown(suspend) for a
 * migration; 0: resumed in a new domain (rt_pv() has its rings and ports),
 * 1: cancelled (the same domain), -EIO: the shared info was not unmapped. */
long hvb_pv_suspend(void);
/* xen_evtirq.c, user mode, after a suspend that moved the domain: bind
 * every vCPU's ports again (restore gave none) and re-arm the timers
 * that were armed; the number of ports bound. */
unsigned rt_xen_evtchn_resume(void);

/* Machine address of the level-1 entry for va, given the level-1 table's
 * machine frame (from the level-2 entry covering va). */
static inline uint64_t pv_l1e_maddr(uint64_t l1_mfn, uint64_t va)
{
	return l1_mfn * PV_PAGE + ((va / PV_PAGE) & 511) * 8;
}

#endif /* !__ASSEMBLER__ */
#endif /* HVB_RT_PV_H */
