/*
 * Guest kernel mode of the image as a Xen PV domU (64-bit): the PV ELF
 * notes, the entry, the trap-table handlers, the syscall callback and the
 * way to user mode.  It is entry.S for PV: what entry.S does in ring 0
 * happens here in guest kernel mode (hardware ring 3 under Xen), and
 * everything else runs in guest user mode as it runs in ring 3 under PVH.
 *
 * Differences from entry.S that shape this file:
 *  - Xen starts us in long mode on its own page tables (pv.c extends them)
 *    with %rsi = start_info and %rsp = its boot stack; no lgdt/lidt/ltr.
 *  - Traps arrive through the trap table (pv.c: set_trap_table) on the
 *    kernel stack (stack_switch) with rcx and r11 on top of the hardware
 *    frame; the saved cs has Xen's upcall mask in its upper bits and RPL 0
 *    for guest kernel mode.
 *  - User mode is left and entered through Xen: back to user mode is
 *    HYPERVISOR_iret (the hypercall page's iret stub pushes rax, r11, rcx
 *    over our flags word); back to kernel mode is a plain iretq with the
 *    RPL raised (xen-x86_64.h).
 * Hypercalls: `call hvb_xen_hypercall_page + 32 * nr` (Xen fills the page
 * at build time: the HYPERCALL_PAGE note), arguments rdi, rsi, rdx, r10.
 */
#include "rt.h"
#include "pv.h"

#define HC(nr) (hvb_xen_hypercall_page + 32 * (nr))
/* Guest user mode: events masked (IF clear) like ring 3 under PVH. */
#define USER_RFLAGS 0x2

/* Call a C function on a 16-byte aligned stack (Xen's frames leave any
 * alignment); rbp is callee-saved, so it keeps the old rsp. */
.macro CALL_ALIGNED fn
	push %rbp
	mov %rsp, %rbp
	and $-16, %rsp
	call \fn
	mov %rbp, %rsp
	pop %rbp
.endm

/*
 * \reg = this vCPU's vcpu_info in the shared-info page (64 bytes per
 * vCPU), the CPU found from the kernel stack as entry.S's handlers do: an
 * AP's is hvb_ap_kstacks[(i-1) * size, i * size), anything else is the
 * BSP's.  Clobbers only \reg and the flags.
 */
.macro PV_VCPU_INFO reg
	mov %rsp, \reg
	sub $hvb_ap_kstacks, \reg
	cmp $((RT_MAX_CPUS - 1) << RT_KSTACK_SHIFT), \reg
	jb .Lap\@
	xor \reg, \reg
	jmp .Lsum\@
.Lap\@:
	shr $RT_KSTACK_SHIFT, \reg
	inc \reg
	shl $6, \reg
.Lsum\@:
	add $hvb_pv_shared_info, \reg
.endm

/* What rt_sys promises the caller to keep (rdi, rsi, r8-r11), around C
 * or a hypercall from the gate, which may clobber them. */
.macro SAVE_KEPT
	push %rdi
	push %rsi
	push %r8
	push %r9
	push %r10
	push %r11
.endm

.macro RESTORE_KEPT
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rsi
	pop %rdi
.endm

.macro CALL_KEEPING fn
	SAVE_KEPT
	CALL_ALIGNED \fn
	RESTORE_KEPT
.endm

.macro NOTE type, value
	.balign 4
	.long 4, 8, \type
	.asciz "Xen"
	.balign 4
	.quad \value
.endm

.macro NOTE_STR type, str
	.balign 4
	.long 4, 2f - 1f, \type
	.asciz "Xen"
	.balign 4
1:	.asciz "\str"
2:	.balign 4
.endm

/* ------------------------------------------------------------ ELF notes */

/*
 * Beside entry.S's PVH note; libxl picks PV or PVH by the domain type, the
 * reference core and QEMU read only the PVH note.  Virtual = pseudo-
 * physical (base 0), so the image runs at 1 MiB as under PVH.
 */
	.section .note.hvb, "a", @note
	NOTE_STR PV_ELFNOTE_XEN_VERSION, xen-3.0
	NOTE_STR PV_ELFNOTE_GUEST_OS, hvbench
	NOTE_STR PV_ELFNOTE_LOADER, generic
	NOTE PV_ELFNOTE_VIRT_BASE, 0
	NOTE PV_ELFNOTE_PADDR_OFFSET, 0
	NOTE PV_ELFNOTE_ENTRY, hvb_pv_start
	NOTE PV_ELFNOTE_HYPERCALL_PAGE, hvb_xen_hypercall_page

/* ------------------------------------------------------------ entry */

	.text
	.globl hvb_pv_start
hvb_pv_start:
	cld
	mov %rsi, %rbx			/* start_info */
	rdtsc
	mov %eax, hvb_entry_tsc
	mov %edx, hvb_entry_tsc + 4
	mov %rsp, %rsi			/* the boot stack's top: end of Xen's boot data */
	mov $hvb_kstack_top, %esp
	mov %rbx, %rdi
	call hvb_pv_boot		/* pv.c: traps, callbacks, memory, console */

	/* Vector state: CR4.OSXSAVE and XCR0 are emulated by Xen for a PV
	 * kernel; same probing as entry.S (a refused write #GPs). */
	mov %cr4, %rax
	or $(1 << 18), %eax
1:	mov %rax, %cr4
	xor %ecx, %ecx
	xor %edx, %edx
	mov $0xe7, %eax
2:	xsetbv
	jmp 8f
3:	xor %ecx, %ecx
	xor %edx, %edx
	mov $0x7, %eax
4:	xsetbv
	jmp 8f
5:	xor %ecx, %ecx
	xor %edx, %edx
	mov $0x3, %eax
6:	xsetbv
	jmp 8f
7:	xor %eax, %eax			/* no XSAVE: SSE only, no xgetbv */
8:	mov %eax, hvb_xcr0
	FIXUP 1b, 7b
	FIXUP 2b, 3b
	FIXUP 4b, 5b
	FIXUP 6b, 7b

	/* To user mode: hvb_pv_user_start(entry_tsc). */
	mov hvb_entry_tsc, %rdi
	push $PV_USER_SS
	push $(hvb_ustack_top - 8)
	push $USER_RFLAGS
	push $PV_USER_CS
	push $hvb_pv_user_start
	push $0
	jmp HC(PV_HC_IRET)

/* ------------------------------------------------------------ AP entry */

/*
 * An AP (smp=xen, pv.c rt_xen_pv_smp_start): Xen starts it here in guest
 * kernel mode with the BSP's page tables, trap table and callbacks, %rsp
 * = its own kernel stack and %rdi = its index.  What is left of the BSP's
 * steps: events masked in its vcpu_info (as hvb_pv_boot does for vCPU 0),
 * CR4.OSXSAVE and XCR0 as the BSP found them (not probed again), then user
 * mode: hvb_ap_user(index) on its own user stack (smp.c).
 */
	.globl hvb_pv_ap_start
hvb_pv_ap_start:
	cld
	PV_VCPU_INFO %rax
	movb $1, 1(%rax)		/* evtchn_upcall_mask */
	mov hvb_xcr0, %eax
	test %eax, %eax			/* 0: the BSP found no XSAVE */
	jz 1f
	mov %cr4, %rax
	or $(1 << 18), %eax
	mov %rax, %cr4
	mov hvb_xcr0, %eax
	xor %ecx, %ecx
	xor %edx, %edx
	xsetbv
1:	mov %edi, %eax
	shl $RT_AP_USTACK_SHIFT, %eax
	add $(hvb_ap_ustacks - 8), %rax
	push $PV_USER_SS
	push %rax
	push $USER_RFLAGS
	push $PV_USER_CS
	push $hvb_ap_user
	push $0
	jmp HC(PV_HC_IRET)

/* ------------------------------------------------------------ syscall */

/*
 * syscall from user mode (rt_syscall_null): Xen bounces it to this
 * callback; return with HYPERVISOR_iret in syscall mode (rcx, r11 lost,
 * as the syscall instruction allows).  The round trip of micro/syscall.
 */
	.globl hvb_pv_syscall
hvb_pv_syscall:
	pop %rcx
	pop %r11
	push $PV_VGCF_IN_SYSCALL
	jmp HC(PV_HC_IRET)

/* ------------------------------------------------------------ the gate */

/*
 * int3 from user mode (trap 3, DPL 3): the same privileged gate as
 * entry.S's hvb_sys_gate, in guest kernel mode.  rax = RT_SYS_*, rdi/rsi
 * arguments, result in rax; returns to user mode with HYPERVISOR_iret.
 */
hvb_pv_gate:
	pop %rcx
	pop %r11
	cmp $RT_SYS_XEN_HCALL, %eax
	je 8f
	cmp $RT_SYS_RDMSR, %eax
	jne 2f
	mov %edi, %ecx
	rdmsr				/* #GP to Xen, which emulates it (or passes the #GP on) */
	shl $32, %rdx
	or %rdx, %rax
	jmp 9f
2:	cmp $RT_SYS_WRMSR, %eax
	jne 3f
	mov %edi, %ecx
	mov %esi, %eax
	mov %rsi, %rdx
	shr $32, %rdx
	wrmsr
	xor %eax, %eax
	jmp 9f
3:	cmp $RT_SYS_FAULT, %eax
	jne 4f
	ud2
4:	cmp $RT_SYS_STOP, %eax
	je hvb_pv_hard_stop
	cmp $RT_SYS_PV_UNMAP, %eax
	jne 10f
	CALL_KEEPING hvb_pv_unmap	/* pv.c: (va, bytes) -> 0 or -errno */
	jmp 9f
10:	cmp $RT_SYS_PV_SUSPEND, %eax
	jne 5f
	CALL_KEEPING hvb_pv_suspend	/* pv.c: 0 in a new domain, 1 cancelled, -errno */
	jmp 9f
5:	cmp $RT_SYS_IDLE, %eax
	je hvb_pv_idle
	cmp $RT_SYS_IRQ_IF, %eax
	jne 6f
	andq $~0x200, 16(%rsp)		/* the user's IF: HYPERVISOR_iret sets the */
	test %edi, %edi			/* upcall mask to !IF (xen_evtirq.c) */
	jz 7f
	orq $0x200, 16(%rsp)
7:	xor %eax, %eax
	jmp 9f
6:	test %eax, %eax			/* RT_SYS_NULL: the gate's own cost */
	jz 9f
	mov $-38, %rax			/* -ENOSYS: hlt, cr3 (never granted under PV) */
	jmp 9f
8:	and $127, %edi			/* hypercall rdi(rsi, rdx), as entry.S */
	shl $5, %edi
	lea hvb_xen_hypercall_page(%rdi), %rax
	mov %rsi, %rdi
	mov %rdx, %rsi
	call *%rax
9:	push $0				/* the iret restores the user's rcx, r11 (popped above) */
	jmp HC(PV_HC_IRET)

/*
 * RT_SYS_IDLE (xen_evtirq.c): block unless the word at rdi no longer holds
 * rsi.  The gate runs with events masked (every trap masks them on entry,
 * pv.c), so an event after the test stays pending, and SCHEDOP_block
 * unmasks and blocks only if none is: no wake-up is lost.  The event
 * callback then runs here in kernel mode (hvb_pv_upcall) before the
 * hypercall returns; the iret to user mode restores the user's mask.
 * rt_sys keeps rdi, rsi and r8-r11: the hypercall may clobber them.
 */
hvb_pv_idle:
	cmp (%rdi), %rsi
	jne 1f
	SAVE_KEPT
	mov $1, %edi			/* SCHEDOP_block */
	xor %esi, %esi
	call HC(PV_HC_SCHED_OP)
	RESTORE_KEPT
1:	xor %eax, %eax
	push $0
	jmp HC(PV_HC_IRET)

/*
 * The event callback (xen_evtirq.c: interrupts as event channels).  Xen
 * enters it with events masked, from user or kernel mode, with rcx and
 * r11 on top of the frame as for a trap; the C demultiplexer counts and
 * acknowledges what is pending; HYPERVISOR_iret returns to either mode
 * and restores the upcall mask from the frame's IF in one step, so no
 * event slips in between (Xen re-checks what is pending on that exit).
 */
	.globl hvb_pv_upcall
hvb_pv_upcall:
	pop %rcx
	pop %r11
	push %rax
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
	CALL_ALIGNED hvb_pv_evtchn_upcall
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rax
	push $0
	jmp HC(PV_HC_IRET)

/* ------------------------------------------------------------ exceptions */

/*
 * One stub per trap-table vector (pv.c): drop Xen's rcx/r11 (restored
 * first), push a zero error code where the CPU pushes none, push the
 * vector.  Then as entry.S: a probed instruction resumes at its
 * continuation, anything else is saved in hvb_fault_info and reported
 * from user mode by hvb_fault_user.
 */
.macro PV_TRAP vec
	.globl hvb_pv_trap\vec
hvb_pv_trap\vec:
	pop %rcx
	pop %r11
	.if !(\vec == 8 || (\vec >= 10 && \vec <= 14) || \vec == 17 || \vec == 21)
	pushq $0
	.endif
	pushq $\vec
	jmp hvb_pv_trap_common
.endm
	.irp vec, 0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 17, 18, 19, 20, 21
	PV_TRAP \vec
	.endr

/*
 * #PF: a page rt_fresh_alloc unmapped (pv.c) is mapped on its first touch
 * and the access resumes (micro/first-touch under PV: the fault goes
 * through Xen to here, update_va_mapping, HYPERVISOR_iret back); any other
 * page fault is reported like every exception.  Frame: error code, rip,
 * cs, rflags, rsp, ss.
 */
	.globl hvb_pv_trap14
hvb_pv_trap14:
	pop %rcx
	pop %r11
	push %rax
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
	mov 72(%rsp), %rsi		/* error code */
	PV_VCPU_INFO %rdi
	mov 16(%rdi), %rdi		/* this vCPU's vcpu_info.arch.cr2 */
	CALL_ALIGNED hvb_pv_demand_fault
	test %eax, %eax
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rax
	jz 1f
	add $8, %rsp			/* the error code */
	testb $3, 8(%rsp)		/* from user mode: back through Xen */
	jz 2f
	push $0
	jmp HC(PV_HC_IRET)
2:	orb $3, 8(%rsp)
	iretq
1:	pushq $14
	jmp hvb_pv_trap_common
	.globl hvb_pv_gate

hvb_pv_trap_common:
	push %rax
	push %rcx
	mov 32(%rsp), %rax		/* faulting rip */
	FIXUP_FIND 2f, 3f
2:	mov 8(%rcx), %rax		/* probes run in kernel mode: back there */
	mov %rax, 32(%rsp)
	pop %rcx
	pop %rax
	add $16, %rsp
	orb $3, 8(%rsp)
	iretq
3:	add $16, %rsp
	cmpb $0, hvb_pv_in_fault
	jne hvb_pv_hard_stop
	movb $1, hvb_pv_in_fault
	mov %rsp, %rsi
	mov $hvb_fault_info, %edi
	mov $7, %ecx
	rep movsq
	movzwl hvb_fault_info + 24, %eax	/* cs without Xen's upcall mask */
	mov %rax, hvb_fault_info + 24
	PV_VCPU_INFO %rax
	mov 16(%rax), %rax		/* this vCPU's vcpu_info.arch.cr2 */
	mov %rax, hvb_fault_info + 56
	push $PV_USER_SS
	push $(hvb_fstack_top - 8)
	push $USER_RFLAGS
	push $PV_USER_CS
	push $hvb_fault_user
	push $0
	jmp HC(PV_HC_IRET)

/* The failsafe callback (Xen could not load a segment: never expected),
 * a fault while reporting a fault, RT_SYS_STOP: SCHEDOP_shutdown(crash). */
	.globl hvb_pv_hard_stop
hvb_pv_hard_stop:
	mov $2, %edi			/* SCHEDOP_shutdown */
	mov $hvb_xen_crash, %esi	/* SHUTDOWN_crash (xen.c) */
	call HC(PV_HC_SCHED_OP)
	jmp hvb_pv_hard_stop

	.data
hvb_pv_in_fault:
	.byte 0

/* Xen's shared-info page is mapped here (pv.c: update_va_mapping). */
	.bss
	.balign 4096
	.globl hvb_pv_shared_info
hvb_pv_shared_info:
	.space 4096

	.section .note.GNU-stack, "", @progbits
