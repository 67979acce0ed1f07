/*
 * Guest runtime internals (workloads/rt/): the contract between the ring-0
 * assembly (entry.S) and the ring-3 C runtime.  Not for workloads: they use
 * workloads/workload.h only.
 *
 * Privilege split, and why: under a PVM host every guest ring-0 instruction
 * is emulated (~1 us each) while ring 3 runs natively, so ring 0 does only
 * what needs it (entering long mode, loading GDT/IDT/TSS, CR4/XCR0, the
 * syscall MSRs, and the few privileged operations behind rt_sys()) and
 * everything else, including fault reporting and building page tables,
 * runs in ring 3.  All descriptor tables and the boot page tables are
 * static data in the image: ring 0 fills nothing at boot.
 */
#ifndef HVB_RT_H
#define HVB_RT_H

/* GDT selectors (the user ones with RPL 3).  Layout is sysret-compatible. */
#define RT_KCS 0x08
#define RT_KDS 0x10
#define RT_UDS 0x1b
#define RT_UCS 0x23
#define RT_TSS 0x28

/* Privileged calls (rax) served by the int3 gate (entry.S hvb_sys_gate);
 * args in rdi, rsi. */
#define RT_SYS_NULL 0      /* return 0: the gate's own round trip */
#define RT_SYS_RDMSR 1     /* rax = rdmsr(rdi) */
#define RT_SYS_WRMSR 2     /* wrmsr(rdi, rsi) */
#define RT_SYS_HLT 3       /* hlt with interrupts off, return when resumed */
#define RT_SYS_SET_CR3 4   /* load cr3 = rdi (page tables built in ring 3) */
#define RT_SYS_FAULT 5     /* ud2 in ring 0 (fault=ring0 test word) */
#define RT_SYS_STOP 6      /* cli; hlt forever (after the shutdown port write) */
#define RT_SYS_XEN_HCALL 7 /* rax = Xen hypercall rdi(rsi, rdx) via the hypercall page (xen.c) */
#define RT_SYS_PV_UNMAP 8  /* Xen PV only: unmap [rdi, rdi + rsi) so the next touch faults (pv.c) */
#define RT_SYS_XEN_HLT 9   /* Xen PVH: LAPIC timer count 1, sti; hlt; cli: woken by RT_VEC_WAKE */
#define RT_SYS_IDLE 10     /* sti; hlt; cli unless *(uint64_t *)rdi != rsi (smp.c idle, rt_irq_wait) */
#define RT_SYS_IRQ_IF 11   /* RFLAGS.IF of ring 3 = (rdi != 0) (rt_irq_enable) */
#define RT_SYS_SET_CR8 12  /* cr8 = rdi (rt_tpr_write) */
#define RT_SYS_GET_CR3 13  /* rax = cr3 (smp.c: the APs take the BSP's page tables) */
#define RT_SYS_GET_CR8 14  /* rax = cr8 (rt_tpr_read) */
#define RT_SYS_PV_SUSPEND 15 /* Xen PV only: suspend for a migration; 0 new domain, 1 cancelled (pv.c) */

/* The xAPIC (Xen emulates one for a PVH domU) and the vector of its
 * timer, whose handler only acknowledges it (entry.S hvb_wake_isr). */
#define RT_LAPIC_BASE 0xfee00000u
#define RT_LAPIC_EOI 0xb0
#define RT_LAPIC_TMICT 0x380
#define RT_VEC_WAKE 0xef

/* LAPIC registers (xAPIC MMIO offsets; x2APIC MSR = 0x800 + offset / 16)
 * and the vectors entry.S handles (abi.h HVB_VEC_*; main.c checks they
 * match). */
#define RT_LAPIC_ICR_LO 0x300
#define RT_LAPIC_ICR_HI 0x310
#define RT_X2APIC_EOI 0x80b
#define RT_X2APIC_ICR 0x830
#define RT_VEC_SELF 0xe0
#define RT_VEC_PING 0xe1
#define RT_VEC_PONG 0xe2
#define RT_VEC_STORM 0xe6
#define RT_VEC_SPURIOUS 0xff
/* Per CPU, one counter and one TSC stamp per vector RT_VEC_SELF + slot. */
#define RT_IRQ_SLOTS_SHIFT 3

/* SMP: CPUs (abi.h HVB_MAX_VCPUS), the stride of the per-CPU TSSes, and
 * the page below 1 MiB the SIPI trampoline is copied to (QEMU). */
#define RT_MAX_CPUS 8
#define RT_TSS_STRIDE 0x180
#define RT_SIPI_PAGE 0x8000
#define RT_NOTE_AP_ENTRY 0x4841

/* Read-only alias of guest-physical 0-2 MiB (boot data in page 0). */
#define RT_LOW_ALIAS 0x8000000000ull
#define RT_LOW_ALIAS_SIZE 0x200000ull

/* abi.h values the assembly needs (abi.h is C-only; main.c checks they match). */
#define RT_PORT_SHUTDOWN 0x050c
#define RT_PORT_QEMU_EXIT 0x00f4
#define RT_EXIT_FAULT 2
#define RT_NOTE_ABI 0x4842
#define RT_ABI_VERSION 1

/* Sizes of the static stacks (bytes). */
#define RT_KSTACK_SIZE 8192
#define RT_KSTACK_SHIFT 13
#define RT_AP_USTACK_SIZE (64 * 1024) /* each AP's ring-3 stack */
#define RT_AP_USTACK_SHIFT 16
#define RT_ISTSTACK_SIZE 8192
#define RT_USTACK_SIZE (256 * 1024)
#define RT_FSTACK_SIZE 16384

#ifdef __ASSEMBLER__
/* A fault at \site resumes at \cont instead of being reported (probing). */
.macro FIXUP site, cont
	.pushsection hvb_fixup, "a"
	.quad \site, \cont
	.popsection
.endm

/* Look the faulting rip (%rax) up in the hvb_fixup table: jump to \found
 * with %rcx at its entry (continuation at 8(%rcx)), or to \missing.  The
 * table lies below 4 GiB.  Clobbers %rcx.  Shared by both entry paths
 * (entry.S: PVH and KVM; pv.S: Xen PV). */
.macro FIXUP_FIND found, missing
	mov $__start_hvb_fixup, %ecx
1:	cmp $__stop_hvb_fixup, %ecx
	jae \missing
	cmp (%rcx), %rax
	je \found
	add $16, %ecx
	jmp 1b
.endm
#endif

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvb/abi.h"

/* Saved by ring 0 when an exception is reported (see hvb_fault_user). */
struct rt_fault {
	uint64_t vector, error, rip, cs, rflags, rsp, ss, cr2;
};

/* entry.S */
extern struct rt_fault hvb_fault_info;
extern uint64_t hvb_boot_pml4[512], hvb_boot_pdpt[512];
extern uint64_t hvb_xcr0;       /* XCR0 value ring 0 managed to set */
extern char __image_start[], __image_end[];

/*
 * Privileged call into ring 0 through the int3 gate (not syscall: under PVM
 * a syscall handler runs in user mode).  Clobbers rcx and rdx.
 */
static inline uint64_t rt_sys(uint64_t nr, uint64_t a, uint64_t b)
{
	uint64_t ret;

	__asm__ volatile("int3" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "rdx", "memory");
	return ret;
}

/*
 * A spinlock for the runtime's shared state once APs run workload code
 * (allocator, record transport).  Ring 3, interrupts may be on: no
 * interrupt handler takes one, so a handler cannot deadlock on it.
 */
typedef struct {
	uint32_t held;
} rt_lock_t;

static inline void rt_lock(rt_lock_t *l)
{
	while (__atomic_exchange_n(&l->held, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->held, __ATOMIC_RELAXED))
			__asm__ volatile("pause");
}

static inline void rt_unlock(rt_lock_t *l)
{
	__atomic_store_n(&l->held, 0, __ATOMIC_RELEASE);
}

/* main.c: ring-3 entry from entry.S (start_info GPA, TSC at the PVH entry). */
void hvb_user_start(uint32_t start_info, uint64_t entry_tsc) __attribute__((noreturn));
/* main.c: ring-3 fault reporter, entered by ring 0 with hvb_fault_info filled. */
void hvb_fault_user(void) __attribute__((noreturn));

/* libc.c: what the compiler may call (also used directly: rep stosb is fast). */
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
/* libc.c: append text / a decimal / 0x-hex number to [p, end); return the new end. */
char *rt_put_str(char *p, char *end, const char *s);
char *rt_put_dec(char *p, char *end, uint64_t v);
char *rt_put_hex(char *p, char *end, uint64_t v);

/* ---------------------------------------------------- console.c: record transports */

/* Select the transport named by dev= ("hvb", "serial"); false if unknown. */
bool rt_console_select(const char *name);
/* Write plain text where the transport allows it (diagnostics before records work). */
void rt_console_text(const char *s);
/* Tell the host the guest is done (exit code), then stop for good. */
void rt_shutdown(int code) __attribute__((noreturn));

/* ---------------------------------------------------- mem.c: memory and page tables */

struct rt_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};
#define RT_E820_RAM 1

/* Take the RAM ranges of the memory map (copied by the caller) above the
 * image as the allocator's arena.  0 or -ENOMEM if there is none. */
int rt_mem_init(const struct rt_memmap_entry *map, unsigned n);
/* Map RAM above 4 GiB (2 MiB pages) or rebuild everything with 4 KiB pages
 * (small_pages) and switch to the new tables; map the n MMIO pages mmio[]
 * user-accessible and uncached.  host_root (small pages only; 0 = none) is
 * the PML4 of 4 KiB tables for all RAM that the VMM built before entry
 * (pt_root=, hv/paging.h): checked, then used instead of building them
 * (every table page the guest writes is a first-touch fault).  0, -ENOMEM,
 * -EINVAL for an MMIO page that is unaligned, above 512 GiB or inside RAM,
 * or -EPROTO for host tables that fail the check (rt_paging_why says how). */
int rt_paging_init(bool small_pages, uint64_t host_root, const uint64_t *mmio, unsigned n);
const char *rt_paging_why(void);
/* Is [gpa, gpa+len) inside a RAM range of the memory map? */
bool rt_mem_is_ram(uint64_t gpa, uint64_t len);
/* The page size of the tables rt_paging_init built: the page note of the
 * platforms whose page tables are the runtime's (hvm, Xen PVH). */
const char *rt_paging_note(void);

/* ---------------------------------------------------- platforms */

/*
 * What differs between the platforms the image boots on, one table per
 * platform in the file of that platform (as Solo5's bindings/<target>/):
 *
 *   rt_platform_hvm      hvm.c  hardware-virtualised guest of the reference
 *                               core (dev=hvb), KVM or QEMU (dev=serial)
 *   rt_platform_xen_pvh  xen.c  Xen PVH domU (dev=xencons)
 *   rt_platform_xen_pv   pv.c   Xen PV domU (dev=xencons)
 *
 * rt_platform points at the one in use, set once where the runtime finds
 * out: hvm from the start (static data, ring 0 sets nothing), Xen PVH when
 * rt_xen_init has found Xen, Xen PV when hvb_pv_boot has installed its trap
 * table.  main.c and mem.c call through it and test no platform.
 */
struct rt_platform {
	const char *name; /* "hvm", "xen-pvh", "xen-pv" */

	/* rt_hypercall_null (micro/hypercall: inside its timed loop),
	 * rt_hypercall_note (what it costs besides the hypercall, NULL:
	 * nothing) and its name in the runtime's LOG record (hc=). */
	long (*hypercall_null)(void);
	const char *(*hypercall_note)(void);
	const char *(*hypercall_name)(void);

	/* rt_halt_prepare (*note is NULL on entry) and rt_halt_wake
	 * (micro/hlt-wake: inside its timed loop). */
	int (*halt_prepare)(const char **note, const char **why);
	void (*halt_wake)(void);

	/* rt_fresh_alloc hands out [gpa, gpa + bytes): make its first touch
	 * fault if the platform has to; 0, or -errno (then it returns NULL). */
	long (*fresh_alloc)(uint64_t gpa, uint64_t bytes);
	/* rt_fresh_release takes [gpa, gpa + bytes) back: let its next first
	 * touch fault again where the host can. */
	void (*fresh_release)(uint64_t gpa, uint64_t bytes);
	/* rt_mem_page_note: the pages behind workload memory. */
	const char *(*page_note)(void);
	/* Pages besides the hvbench MMIO pages that rt_paging_init maps
	 * (uncached, user-accessible) at a PVH boot: written to page[], at
	 * most RT_PLATFORM_MMIO_MAX; returns how many.  cmdline is the
	 * boot's command line (hvm finds its virtio windows there). */
	unsigned (*mmio_pages)(const char *cmdline, uint64_t *page);

	/* The fault record's text: where a fault with RPL 3 (user_mode) or
	 * RPL 0 (kernel_mode) in the saved cs happened. */
	const char *user_mode, *kernel_mode;

	/* The block driver of this platform (rt_blk_*, workload.h), NULL if
	 * it has none: blk.c dispatches, so io/ bodies see one API. */
	const struct rt_blk_ops *blk;
	/* The network driver of this platform (rt_net_*), NULL if none:
	 * net.c dispatches. */
	const struct rt_net_ops *net;

	/* SMP (smp.c): start APs 1..want-1 at hvb_ap_start with %esi = index
	 * the way smp= (mode: "direct", "sipi", "xen") says: 0 (all started),
	 * N with *why when only CPUs 0..N-1 were (the host refused CPU N), or
	 * -errno with *why.  NULL: the platform runs one CPU.  smp.c then waits
	 * for each AP started (or, after -errno, each wanted) to check in. */
	int (*smp_start)(unsigned want, const char *mode, const char **why);
	/* Interrupt delivery behind rt_irq_* (smp.c dispatches): the LAPIC of
	 * lapic.c (hvm, Xen PVH), or NULL (none in this runtime). */
	const struct rt_irq_ops *irq;
};

/*
 * A platform's interrupts, for smp.c (workload.h rt_irq_*, the idle APs).
 * The handlers of every mechanism count and stamp in hvb_irq_counts /
 * hvb_irq_stamps (slot = (cpu << RT_IRQ_SLOTS_SHIFT) + vector -
 * HVB_VEC_SELF), answer PING with PONG to hvb_ping_from[cpu], and
 * acknowledge everything but STORM.
 */
struct rt_irq_info;
struct rt_irq_ops {
	/* On the BSP, once, before any AP goes: choose the interface, fill
	 * info's mech and x2apic; 0 or -errno with *why. */
	int (*detect)(uint32_t caps, const char *cmdline, struct rt_irq_info *info,
		      const char **why);
	/* On each CPU itself (the BSP first, each AP before it checks in). */
	void (*cpu_init)(unsigned cpu);
	/* Interrupt vector vec (HVB_VEC_*) to CPU cpu, which may be the caller. */
	void (*send)(unsigned cpu, unsigned self, unsigned vec);
	/* Halt with interrupts on unless *word != seen (no lost wake-up). */
	void (*idle)(const uint64_t *word, uint64_t seen);
	/* The caller's interrupt flag while it runs workload code. */
	void (*enable)(bool on);
	/* At the first rt_irq_open: set up the one-shot timer, fill info's
	 * timer, tsc_deadline, timer_note. */
	void (*timer_open)(uint64_t tsc_khz, struct rt_irq_info *info);
	void (*timer_arm)(uint64_t deadline);
	/* Register operations (rt_apic_read, rt_apic_eoi, rt_tpr_write,
	 * rt_tpr_read), NULL where the mechanism has none (info.apic_regs
	 * false). */
	uint32_t (*apic_read)(void);
	void (*apic_eoi)(void);
	void (*tpr_write)(unsigned tpr);
	unsigned (*tpr_read)(void);
	/* The APIC ID of CPU cpu for the start-up LOG records, or -1. */
	long (*cpu_id)(unsigned cpu);
	/* rt_irq_state: the controller's view of vector vec on the calling
	 * CPU appended to buf at `at` (NULL: nothing to say). */
	size_t (*state)(char *buf, size_t len, size_t at, unsigned vec);
};
/* lapic.c: xAPIC / x2APIC (hvm, Xen PVH). */
extern const struct rt_irq_ops rt_lapic_irq_ops;
/* smp.c: per-CPU interrupt counts and stamps, the PING senders. */
extern uint64_t hvb_irq_counts[], hvb_irq_stamps[];
extern uint32_t hvb_ping_from[];

/* A platform's block driver: the rt_blk_* contract of workload.h, one
 * member per call.  open runs once (blk.c remembers its info). */
struct rt_blk_info;
enum rt_blk_op;
struct rt_blk_ops {
	const char *name; /* "virtio-blk", "blkfront" */
	int (*open)(struct rt_blk_info *info, const char **why);
	void *(*buf_alloc)(size_t bytes);
	void (*buf_free)(void *p, size_t bytes);
	int (*submit)(enum rt_blk_op op, uint64_t sector, void *buf, uint32_t bytes,
		      uint64_t tag);
	void (*kick)(void);
	unsigned (*poll)(uint64_t *tags, int *status, unsigned max);
};
/* A platform's network driver: the rt_net_* contract of workload.h.
 * open runs once, with info's addresses already filled from the net.*
 * words (net.c); it fills tx_depth, rx_depth and note, and may refuse
 * addresses its device contradicts (a virtio-net MAC, Xen's vif mac). */
struct rt_net_info;
struct rt_net_stats;
struct rt_net_ops {
	const char *name; /* "virtio-net", "netfront" */
	int (*open)(struct rt_net_info *info, const char **why);
	int (*send)(const void *frame, uint32_t len);
	void (*kick)(void);
	uint32_t (*recv)(void *buf, uint32_t max);
	void (*stats)(struct rt_net_stats *st);
};
/* 8: the hvm platform maps up to that many virtio-mmio window pages
 * (Xen PVH: console, LAPIC, xenstore page). */
#define RT_PLATFORM_MMIO_MAX 8

extern const struct rt_platform *rt_platform;
extern const struct rt_platform rt_platform_hvm, rt_platform_xen_pvh, rt_platform_xen_pv;

/* virtio_blk.c: the hvm platform's block driver (virtio-blk on virtio-mmio). */
extern const struct rt_blk_ops rt_virtio_blk_ops;
/* virtio_net.c: the hvm platform's network driver (virtio-net on virtio-mmio). */
extern const struct rt_net_ops rt_virtio_net_ops;

/* hvm.c: the null hypercall instruction of the hvm platform (main.c picks
 * it from hc=, the CPU vendor or HVB_CAP_PVM): vmmcall if true, else vmcall. */
void rt_hvm_select_hypercall(bool vmmcall);
/* hvm.c, shared with Xen PVH (whose memory the host also backs on first
 * touch): fresh pages need nothing; release them with a RELEASE record if
 * the host takes them (HVB_CAP_RELEASE). */
long rt_hvm_fresh_alloc(uint64_t gpa, uint64_t bytes);
void rt_hvm_fresh_release(uint64_t gpa, uint64_t bytes);
/* hvm.c, shared with Xen PVH: ring 3 and ring 0 of the fault record. */
extern const char rt_hvm_user_mode[], rt_hvm_kernel_mode[];

/* smp.c: vcpus=, smp=, AP start-up and their check-in (before the harness;
 * NULL or why the words are wrong). */
const char *rt_smp_boot(const char *cmdline, uint32_t caps, uint64_t tsc_khz);
/* smp.c: smp=sipi, INIT-SIPI-SIPI to the trampoline (hvm.c's smp_start). */
int rt_smp_sipi(const char **why);
/* smp.c: interrupts are delivered (HVB_CAP_IRQ, LAPIC set up). */
bool rt_smp_irq_up(void);
/* smp.c: the TSC frequency of tsc_khz= (usable before the harness runs). */
uint64_t rt_smp_tsc_khz(void);
/* smptest.c: selftest=smp, LOG records per check (tests/guest/test_smp_qemu.sh). */
void rt_smp_selftest(void);
/* smp.c: micro/hlt-wake with interrupts delivered (rt_smp_irq_up): arm the
 * timer at once and halt with interrupts on until it fired (hvm, Xen PVH). */
int rt_smp_halt_prepare(const char **note, const char **why);
void rt_smp_timer_halt(void);
/* smp.c: HVB_VEC_WAKE interrupts CPU cpu took. */
uint64_t rt_irq_wakeups(unsigned cpu);
/* entry.S / lapic.c: the ring-0 handlers' view of the LAPIC. */
extern uint8_t hvb_apic_x2;
extern uint32_t hvb_apic_ids[RT_MAX_CPUS];

/* lapic.c: the ICR (the SIPI broadcast of smp.c, no destination). */
void rt_lapic_send(uint32_t apic_id, uint32_t icr_lo);
void rt_lapic_cpu_init(unsigned cpu);

#endif /* !__ASSEMBLER__ */
#endif /* HVB_RT_H */
