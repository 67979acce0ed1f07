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

/* The xAPIC (Xen emulates one for a PVH domU) and the vector of its
 * timer, whose handler only acknowledges it (entry.S hvb_wake_isr). */
#define RT_LAPIC_BASE 0xfee00000u
#define RT_LAPIC_EOI 0xb0
#define RT_LAPIC_TMICT 0x380
#define RT_VEC_WAKE 0xef

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
 * user-accessible and uncached.  0, -ENOMEM, or -EINVAL for an MMIO page
 * that is unaligned, above 512 GiB or inside RAM. */
int rt_paging_init(bool small_pages, const uint64_t *mmio, unsigned n);
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
};

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

#endif /* !__ASSEMBLER__ */
#endif /* HVB_RT_H */
