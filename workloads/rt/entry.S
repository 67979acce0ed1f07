/*
 * Guest ring 0: PVH entry, long mode, descriptor tables, exceptions, system
 * calls.  Everything ring 0 executes is in this file, and it is short on
 * purpose: under a PVM host each ring-0 instruction is emulated (~1 us), so
 * the GDT, IDT, TSS (with its I/O permission bitmap) and the boot page
 * tables are static data, split into descriptor fields by the linker script
 * (guest.ld), and ring 0 only loads them.  The rest of the runtime is ring-3
 * C (main.c, mem.c, console.c).
 *
 * Entry (PVH, as QEMU, Xen and the reference core start it): 32-bit
 * protected mode, paging off, flat segments, %ebx = guest-physical address
 * of struct hvm_start_info.  The image is linked and loaded at 1 MiB and
 * runs identity-mapped.
 */
#include "rt.h"

#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_ET (1 << 4)
#define CR0_NE (1 << 5)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define CR4_OSXSAVE (1 << 18)
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_FMASK 0xc0000084
#define EFER_SCE (1 << 0)
#define EFER_LME (1 << 8)
/* Cleared on syscall entry: TF, IF, DF, IOPL, NT, AC. */
#define SYSCALL_FMASK 0x47700
/* Ring 3 runs with IF=0 (no interrupt may disturb a measurement) and
 * IOPL=0: port access is granted per port by the TSS I/O bitmap. */
#define USER_RFLAGS 0x2

/* ------------------------------------------------------------ ELF notes */

	.section .note.hvb, "a", @note
	.balign 4
	.long 4, 4, 18			/* "Xen", XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.long hvb_pvh_start		/* 32-bit physical entry */
	.balign 4
	.long 8, 4, RT_NOTE_ABI		/* "hvbench", HVB_NOTE_ABI */
	.asciz "hvbench"
	.balign 4
	.long RT_ABI_VERSION
	.balign 4
	.long 8, 4, RT_NOTE_AP_ENTRY	/* "hvbench", HVB_NOTE_AP_ENTRY */
	.asciz "hvbench"
	.balign 4
	.long hvb_ap_start		/* 32-bit physical AP entry, %esi = vCPU index */
	.balign 4

/* ------------------------------------------------------------ PVH entry */

	.section .text.boot, "ax"
	.code32
	.globl hvb_pvh_start
hvb_pvh_start:
	cli
	cld
	mov %ebx, %esi			/* start_info: rdtsc/wrmsr clobber eax, ecx, edx */
	rdtsc
	mov %eax, hvb_entry_tsc
	mov %edx, hvb_entry_tsc + 4
	lgdt hvb_gdt_ptr
	mov $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	mov %eax, %cr4
	mov $hvb_boot_pml4, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	mov $(EFER_LME | EFER_SCE), %eax
	xor %edx, %edx
	wrmsr
	mov $(CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_MP | CR0_PE), %eax
	mov %eax, %cr0
	ljmp $RT_KCS, $hvb_start64

	.code64
hvb_start64:
	mov $RT_KDS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
	mov $hvb_kstack_top, %esp
	lidt hvb_idt_ptr
	mov $RT_TSS, %eax
	ltr %ax
	/* From here on a fault is reported, not a triple fault.  No XSAVE
	 * (needed for AVX, which the workloads use) faults here. */
	mov %cr4, %rax
	or $CR4_OSXSAVE, %eax
	mov %rax, %cr4

	/* XCR0: x87|SSE|AVX|AVX-512 if the CPU takes it, else x87|SSE|AVX,
	 * else x87|SSE.  Probing by #GP instead of CPUID leaf 0xD because
	 * cpuid may not be executed in ring 0 here (PVM: it can hang). */
	xor %ecx, %ecx
	xor %edx, %edx
	mov $0xe7, %eax
1:	xsetbv
	jmp 7f
2:	xor %ecx, %ecx
	xor %edx, %edx
	mov $0x7, %eax
3:	xsetbv
	jmp 7f
4:	xor %ecx, %ecx
	xor %edx, %edx
	mov $0x3, %eax
5:	xsetbv
	jmp 7f
6:	mov $0x1, %eax
7:	mov %eax, hvb_xcr0
	FIXUP 1b, 2b
	FIXUP 3b, 4b
	FIXUP 5b, 6b

	/* syscall: CS/SS from STAR[47:32], handler at LSTAR (sysret is never
	 * used: it #GPs under PVM, iretq returns everywhere). */
	mov $MSR_STAR, %ecx
	xor %eax, %eax
	mov $((RT_KDS << 16) | RT_KCS), %edx
	wrmsr
	mov $MSR_LSTAR, %ecx
	mov $hvb_syscall_entry, %eax
	xor %edx, %edx
	wrmsr
	mov $MSR_FMASK, %ecx
	mov $SYSCALL_FMASK, %eax
	wrmsr

	/* To ring 3: hvb_user_start(start_info, entry_tsc). */
	mov %esi, %edi
	mov hvb_entry_tsc, %rsi
	push $RT_UDS
	push $(hvb_ustack_top - 8)	/* as if called: rsp + 8 is 16-aligned */
	push $USER_RFLAGS
	push $RT_UCS
	push $hvb_user_start
	iretq

/* ------------------------------------------------------------ AP entry */

/*
 * Application processors (SMP): entered in the PVH entry's state (32-bit
 * protected mode, paging off, flat segments, IF=0) with %esi = the vCPU
 * index, by the reference core directly (HVB_NOTE_AP_ENTRY), by the SIPI
 * trampoline below (QEMU) or by VCPUOP_up (Xen PVH).  The same steps as
 * the BSP, against per-CPU static data: TSS (selector RT_TSS + 16 * i, its
 * own rsp0 and IST1 stacks), kernel and user stacks; the boot page tables
 * first, the BSP's own (pt=4k, RAM above 4 GiB) from ring 3 once it has
 * published them (smp.c).  XCR0 is the BSP's; nothing is probed again.
 * An index out of range parks the CPU for good.
 */
	.code32
	.globl hvb_ap_start
hvb_ap_start:
	cli
	cld
	test %esi, %esi
	jz hvb_ap_park
	cmp $RT_MAX_CPUS, %esi
	jae hvb_ap_park
	lgdt hvb_gdt_ptr
	mov $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE), %eax
	mov %eax, %cr4
	mov $hvb_boot_pml4, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	mov $(EFER_LME | EFER_SCE), %eax
	xor %edx, %edx
	wrmsr
	mov $(CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_MP | CR0_PE), %eax
	mov %eax, %cr0
	ljmp $RT_KCS, $hvb_ap_start64
hvb_ap_park:
	cli
	hlt
	jmp hvb_ap_park

	.code64
hvb_ap_start64:
	mov $RT_KDS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
	mov %esi, %eax
	shl $RT_KSTACK_SHIFT, %eax	/* CPU i's stack: [base + (i-1) * size, base + i * size) */
	add $hvb_ap_kstacks, %eax
	mov %eax, %esp
	lidt hvb_idt_ptr
	mov %esi, %eax
	shl $4, %eax
	add $RT_TSS, %eax
	ltr %ax
	/* XCR0 as the BSP probed it (1, x87 only: it set none).  Started by
	 * the VMM (smp=direct), an AP may get here before the BSP has: wait
	 * (a few hundred ring-0 instructions of the BSP's boot). */
2:	mov hvb_xcr0, %eax
	test %eax, %eax
	jnz 3f
	pause
	jmp 2b
3:	cmp $1, %eax
	je 1f
	xor %ecx, %ecx
	xor %edx, %edx
	xsetbv
1:	mov $MSR_STAR, %ecx
	xor %eax, %eax
	mov $((RT_KDS << 16) | RT_KCS), %edx
	wrmsr
	mov $MSR_LSTAR, %ecx
	mov $hvb_syscall_entry, %eax
	xor %edx, %edx
	wrmsr
	mov $MSR_FMASK, %ecx
	mov $SYSCALL_FMASK, %eax
	wrmsr
	/* To ring 3: hvb_ap_user(index) on CPU i's user stack. */
	mov %esi, %edi
	mov %esi, %eax
	shl $RT_AP_USTACK_SHIFT, %eax
	add $(hvb_ap_ustacks - 8), %eax
	push $RT_UDS
	push %rax
	push $USER_RFLAGS
	push $RT_UCS
	push $hvb_ap_user
	iretq

/*
 * QEMU (smp=sipi): smp.c copies hvb_sipi_start..hvb_sipi_end to
 * RT_SIPI_PAGE (below 1 MiB, which the allocator never hands out) and
 * broadcasts INIT-SIPI-SIPI with that page as the start vector.  Every AP
 * starts here in real mode at RT_SIPI_PAGE:0, switches to 32-bit protected
 * mode with the trampoline's own GDT (the image's 64-bit code segment is a
 * 16-bit one outside long mode), takes an index from an atomic ticket and
 * goes to hvb_ap_start.  A CPU beyond vcpus= parks.
 */
	.code16
	.globl hvb_sipi_start, hvb_sipi_end
hvb_sipi_start:
	cli
	mov %cs, %ax
	mov %ax, %ds
	lgdtl (hvb_sipi_gdtr - hvb_sipi_start)
	mov %cr0, %eax
	or $CR0_PE, %eax
	mov %eax, %cr0
	ljmpl $0x08, $(RT_SIPI_PAGE + hvb_sipi32 - hvb_sipi_start)
	.code32
hvb_sipi32:
	mov $0x10, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov $1, %esi
	lock xadd %esi, hvb_sipi_ticket
	cmp hvb_sipi_limit, %esi
	jae 1f
	mov $hvb_ap_start, %eax
	jmp *%eax
1:	cli
	hlt
	jmp 1b
	.balign 8
hvb_sipi_gdt:
	.quad 0
	.quad 0x00cf9b000000ffff	/* 0x08 code, 32-bit */
	.quad 0x00cf93000000ffff	/* 0x10 data */
hvb_sipi_gdtr:
	.word 23
	.long RT_SIPI_PAGE + hvb_sipi_gdt - hvb_sipi_start
hvb_sipi_end:
	.code64

/* ------------------------------------------------------------ system calls */

/*
 * syscall from ring 3 (rt_syscall_null only): the round-trip baseline of
 * micro/syscall, seven instructions, returns with iretq.  It does nothing
 * privileged on purpose: under PVM a syscall from a guest that is not
 * PVM-aware is delivered to LSTAR without leaving user mode (the handler
 * runs with CS = the user CS), so privileged work goes through the int3
 * gate below, which reaches ring 0 everywhere.
 */
	.text
	.globl hvb_syscall_entry
hvb_syscall_entry:
	mov %rsp, %r10
	mov $hvb_kstack_top, %esp
	push $RT_UDS
	push %r10
	push %r11
	push $RT_UCS
	push %rcx
	iretq

/*
 * The privileged gate: int3 from ring 3 (IDT vector 3 is a DPL-3 gate), on
 * the rsp0 stack.  rax = RT_SYS_*, rdi/rsi = arguments, result in rax;
 * clobbers rcx and rdx.  An exception, unlike syscall, enters the guest's
 * ring 0 under PVM too.
 */
hvb_sys_gate:
	cmp $RT_SYS_RDMSR, %eax
	jne 2f
	mov %edi, %ecx
	rdmsr
	shl $32, %rdx
	or %rdx, %rax
	iretq
2:	cmp $RT_SYS_WRMSR, %eax
	jne 3f
	mov %edi, %ecx
	mov %esi, %eax
	mov %rsi, %rdx
	shr $32, %rdx
	wrmsr
	xor %eax, %eax
	iretq
3:	cmp $RT_SYS_HLT, %eax
	jne 4f
	hlt				/* interrupts off: resumed by the VMM (abi.h HVB_CAP_HLT) */
	xor %eax, %eax
	iretq
4:	cmp $RT_SYS_SET_CR3, %eax
	jne 5f
	mov %rdi, %cr3
	xor %eax, %eax
	iretq
5:	cmp $RT_SYS_FAULT, %eax
	jne 6f
	ud2
6:	cmp $RT_SYS_STOP, %eax
	jne 8f
7:	cli
	hlt
	jmp 7b
8:	cmp $RT_SYS_XEN_HCALL, %eax
	je hvb_xen_hcall
	cmp $RT_SYS_XEN_HLT, %eax
	je hvb_xen_hlt
	cmp $RT_SYS_IDLE, %eax
	je hvb_sys_idle
	cmp $RT_SYS_IRQ_IF, %eax
	je hvb_sys_irq_if
	cmp $RT_SYS_SET_CR8, %eax
	je hvb_sys_set_cr8
	cmp $RT_SYS_GET_CR3, %eax
	je hvb_sys_get_cr3
	cmp $RT_SYS_GET_CR8, %eax
	je hvb_sys_get_cr8
	test %eax, %eax			/* RT_SYS_NULL: the gate's own cost */
	jz 9f
	mov $-38, %rax			/* -ENOSYS */
9:	iretq

/*
 * Xen hypercall rdi(rsi, rdx) from ring 0 (Xen answers CPL 3 with -EPERM):
 * call the 32-byte stub Xen wrote at hypercall page + 32 * rdi (xen.c),
 * 64-bit ABI with the arguments in rdi, rsi, rdx; result in rax.
 */
hvb_xen_hcall:
	and $127, %edi			/* the page holds 128 stubs */
	shl $5, %edi
	lea hvb_xen_hypercall_page(%rdi), %rax
	mov %rsi, %rdi
	mov %rdx, %rsi
	call *%rax
	iretq

/*
 * micro/hlt-wake under Xen PVH, where a halt with interrupts off takes the
 * vCPU down: start the LAPIC timer (one-shot, count 1, set up by xen.c) and
 * halt with interrupts on.  Xen resumes the vCPU to deliver RT_VEC_WAKE,
 * whose handler (hvb_wake_isr) acknowledges it and returns after the hlt.
 */
hvb_xen_hlt:
	mov $RT_LAPIC_BASE, %eax
	movl $1, RT_LAPIC_TMICT(%rax)
	sti
	hlt				/* sti's shadow: the interrupt comes after hlt */
	cli
	xor %eax, %eax
	iretq

/*
 * Idle (smp.c, rt_irq_wait): halt with interrupts on unless the 64-bit word
 * at rdi no longer holds rsi.  The test runs with interrupts off, so an
 * interrupt that changes the word after it stays pending and ends the hlt
 * at once (sti's shadow covers the hlt): no wake-up is lost.
 */
hvb_sys_idle:
	cmp (%rdi), %rsi
	jne 1f
	sti
	hlt
	cli
1:	xor %eax, %eax
	iretq

/* rt_irq_enable: IF of ring 3 (rdi != 0: on), by editing the RFLAGS the
 * iretq restores: ring 3 runs with IOPL 0, where sti faults and popf
 * ignores IF; this works the same under PVM, TCG and hardware. */
hvb_sys_irq_if:
	andq $~0x200, 16(%rsp)
	test %edi, %edi
	jz 1f
	orq $0x200, 16(%rsp)
1:	xor %eax, %eax
	iretq

/* rt_tpr_write: CR8 = rdi (the TPR's priority class). */
hvb_sys_set_cr8:
	mov %rdi, %cr8
	xor %eax, %eax
	iretq

/* rt_tpr_read (micro/tpr-read): the TPR's priority class. */
hvb_sys_get_cr8:
	mov %cr8, %rax
	iretq

/* smp.c: the page tables the BSP runs on, for the APs. */
hvb_sys_get_cr3:
	mov %cr3, %rax
	iretq

hvb_wake_isr:
	push %rax
	mov $RT_LAPIC_BASE, %eax
	movl $0, RT_LAPIC_EOI(%rax)
	pop %rax
	iretq

/* ------------------------------------------------------------ exceptions */

/*
 * One 16-byte stub per vector (the IDT entries point at hvb_isr_stubs +
 * 16 * vector, see guest.ld): push a zero error code where the CPU pushes
 * none, push the vector, go to the common path.
 */
	.section .text.isr, "ax"
	.balign 4096
	.globl hvb_isr_stubs
hvb_isr_stubs:
	.set vec, 0
	.rept 256
	.org hvb_isr_stubs + vec * 16
	.if vec == 3
	jmp hvb_sys_gate		/* int3: the privileged gate, not a fault */
	.elseif vec == RT_VEC_WAKE
	jmp hvb_wake_isr		/* the LAPIC timer of RT_SYS_XEN_HLT */
	.elseif vec >= RT_VEC_SELF && vec <= RT_VEC_STORM
	push %rax
	mov $(vec - RT_VEC_SELF), %eax	/* the slot of hvb_irq_counts / hvb_irq_stamps */
	jmp hvb_irq_common
	.elseif vec == RT_VEC_SPURIOUS
	iretq				/* LAPIC spurious interrupt: no EOI */
	.else
	.if !(vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30)
	pushq $0
	.endif
	pushq $vec
	jmp hvb_isr_common
	.endif
	.set vec, vec + 1
	.endr

/*
 * The interrupts of smp.c / lapic.c (HVB_VEC_*), with %eax = vector -
 * RT_VEC_SELF and the interrupted %rax pushed.  Stamp the TSC first, then
 * count on this CPU (found from the kernel stack it runs on: each CPU has
 * its own rsp0), answer a PING with a PONG to the CPU that sent it, EOI
 * unless STORM (never acknowledged: the hostile-guest case), return.
 * Only the receiving CPU writes its slots.
 */
hvb_irq_common:
	push %rcx
	push %rdx
	mov %eax, %ecx
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	mov %rsp, %rdx
	sub $hvb_ap_kstacks, %rdx
	cmp $((RT_MAX_CPUS - 1) << RT_KSTACK_SHIFT), %rdx
	jae 1f
	shr $RT_KSTACK_SHIFT, %edx
	inc %edx			/* an AP: 1 + its stack's index */
	jmp 2f
1:	xor %edx, %edx			/* the BSP's stack: CPU 0 */
2:	shl $RT_IRQ_SLOTS_SHIFT, %edx
	add %ecx, %edx
	mov %rax, hvb_irq_stamps(, %rdx, 8)
	incq hvb_irq_counts(, %rdx, 8)
	cmp $(RT_VEC_STORM - RT_VEC_SELF), %ecx
	je 4f
	cmp $(RT_VEC_PING - RT_VEC_SELF), %ecx
	jne 3f
	shr $RT_IRQ_SLOTS_SHIFT, %edx
	mov hvb_ping_from(, %rdx, 4), %edx
	and $(RT_MAX_CPUS - 1), %edx
	mov hvb_apic_ids(, %rdx, 4), %edx
	mov $RT_VEC_PONG, %eax
	call hvb_apic_send
3:	call hvb_apic_eoi
4:	pop %rdx
	pop %rcx
	pop %rax
	iretq

/* Ring 0 LAPIC access (lapic.c sets hvb_apic_x2 before any interrupt):
 * send ICR low %eax to APIC ID %edx; EOI.  Clobber rax, rcx, rdx. */
hvb_apic_send:
	cmpb $0, hvb_apic_x2
	jne 1f
	mov $RT_LAPIC_BASE, %ecx
	shl $24, %edx
	mov %edx, RT_LAPIC_ICR_HI(%rcx)
	mov %eax, RT_LAPIC_ICR_LO(%rcx)
	ret
1:	mov $RT_X2APIC_ICR, %ecx
	wrmsr
	ret

hvb_apic_eoi:
	cmpb $0, hvb_apic_x2
	jne 1f
	mov $RT_LAPIC_BASE, %eax
	movl $0, RT_LAPIC_EOI(%rax)
	ret
1:	mov $RT_X2APIC_EOI, %ecx
	xor %eax, %eax
	xor %edx, %edx
	wrmsr
	ret

/*
 * Stack: vector, error, rip, cs, rflags, rsp, ss.  A probed instruction
 * (hvb_fixup table) resumes at its continuation.  Anything else is saved in
 * hvb_fault_info and reported from ring 3 (hvb_fault_user, on its own
 * stack) so the slow-to-emulate record building and console output run
 * natively; a fault while reporting stops the guest right here.
 */
hvb_isr_common:
	push %rax
	push %rcx
	mov 32(%rsp), %rax		/* faulting rip */
	FIXUP_FIND 2f, 3f
2:	mov 8(%rcx), %rax
	mov %rax, 32(%rsp)
	pop %rcx
	pop %rax
	add $16, %rsp
	iretq
3:	add $16, %rsp
	cmpb $0, hvb_in_fault
	jne hvb_hard_stop
	movb $1, hvb_in_fault
	cld
	mov %rsp, %rsi
	mov $hvb_fault_info, %edi
	mov $7, %ecx
	rep movsq
	mov %cr2, %rax
	mov %rax, hvb_fault_info + 56
	push $RT_UDS
	push $(hvb_fstack_top - 8)
	push $USER_RFLAGS
	push $RT_UCS
	push $hvb_fault_user
	iretq

/* Fault while reporting a fault: exit code only, on every known exit port,
 * and under Xen (hypercall page filled) SCHEDOP_shutdown(crash): there a
 * halt would read as a poweroff. */
hvb_hard_stop:
	mov $RT_EXIT_FAULT, %eax
	mov $RT_PORT_SHUTDOWN, %edx
	outb %al, %dx
	outb %al, $RT_PORT_QEMU_EXIT
	cmpb $0, hvb_xen_hypercall_page
	je 1f
	mov $2, %edi			/* SCHEDOP_shutdown */
	mov $hvb_xen_crash, %esi	/* SHUTDOWN_crash (xen.c) */
	call hvb_xen_hypercall_page + 29 * 32	/* sched_op */
1:	cli
	hlt
	jmp 1b

/* ------------------------------------------------------------ static tables */

	.data
	.globl hvb_entry_tsc, hvb_xcr0, hvb_fault_info
	.balign 8
hvb_entry_tsc:
	.quad 0
hvb_xcr0:
	.quad 0
hvb_fault_info:
	.fill 8, 8, 0
hvb_in_fault:
	.byte 0

	.balign 16
hvb_gdt:
	.quad 0
	.quad 0x00af9b000000ffff	/* 0x08 kernel code, 64-bit */
	.quad 0x00cf93000000ffff	/* 0x10 kernel data */
	.quad 0x00cff3000000ffff	/* 0x18 user data (DPL 3) */
	.quad 0x00affb000000ffff	/* 0x20 user code, 64-bit (DPL 3) */
	/* 0x28 + 16 * i: CPU i's TSS (limit, base split by guest.ld; the
	 * TSSes do not cross a 64 KiB boundary, so only the low word differs) */
	.set cpu, 0
	.rept RT_MAX_CPUS
	.word hvb_tss_end - hvb_tss - 1
	.word __hvb_tss_b0 + cpu * RT_TSS_STRIDE
	.byte __hvb_tss_b16
	.byte 0x89			/* present, available 64-bit TSS */
	.byte 0
	.byte __hvb_tss_b24
	.long __hvb_tss_b32
	.long 0
	.set cpu, cpu + 1
	.endr
hvb_gdt_end:
hvb_gdt_ptr:
	.word hvb_gdt_end - hvb_gdt - 1
	.quad hvb_gdt

/*
 * TSS: rsp0 for exceptions from ring 3, IST1 for NMI, #DF and #MC, and an
 * I/O permission bitmap (a set bit denies the port) that lets ring 3 reach
 * the hvbench ports 0x500-0x50f, COM1 0x3f8-0x3ff, 0xe9 and 0xf4-0xf7 and
 * nothing else.  PVM checks the bitmap even with IOPL 3; hardware checks
 * it whenever CPL > IOPL, so this is right everywhere.  Ports past the
 * bitmap (> 0x50f) are denied by the TSS limit.
 */
	.macro TSS_BODY rsp0, ist1
	.long 0
	.quad \rsp0			/* rsp0 */
	.quad 0, 0			/* rsp1, rsp2 */
	.quad 0
	.quad \ist1			/* ist1 */
	.quad 0, 0, 0, 0, 0, 0		/* ist2-7 */
	.quad 0
	.word 0
	.word 0x68			/* I/O map base: right after this header */
	.set byte, 0
	.rept 0xa2			/* ports 0x000-0x50f */
	.if byte == 0x1d		/* 0xe9 */
	.byte 0xfd
	.elseif byte == 0x1e		/* 0xf4-0xf7 */
	.byte 0x0f
	.elseif byte == 0x7f || byte >= 0xa0	/* 0x3f8-0x3ff, 0x500-0x50f */
	.byte 0x00
	.else
	.byte 0xff
	.endif
	.set byte, byte + 1
	.endr
	.byte 0xff			/* the CPU reads the bitmap two bytes at a time */
	.endm

	.balign 4096			/* all TSSes in one 64 KiB block (GDT above) */
	.globl hvb_tss
hvb_tss:
	TSS_BODY hvb_kstack_top, hvb_iststack_top
hvb_tss_end:
	/* CPU i >= 1 (SMP): its TSS at hvb_tss + i * RT_TSS_STRIDE, its own
	 * stacks, the same I/O bitmap. */
	.set cpu, 1
	.rept RT_MAX_CPUS - 1
	.org hvb_tss + cpu * RT_TSS_STRIDE
	TSS_BODY (hvb_ap_kstacks+cpu*RT_KSTACK_SIZE), (hvb_ap_iststacks+cpu*RT_ISTSTACK_SIZE)
	.set cpu, cpu + 1
	.endr

/* IDT: 256 interrupt gates to hvb_isr_stubs + 16 * vector (DPL 0, but 3 for int3). */
	.balign 16
hvb_idt:
	.set vec, 0
	.rept 256
	.word __hvb_isr_lo + vec * 16
	.word RT_KCS
	.if vec == 2 || vec == 8 || vec == 18
	.byte 1				/* IST1: NMI, #DF, #MC get a known-good stack */
	.else
	.byte 0
	.endif
	.if vec == 3
	.byte 0xee			/* DPL 3: int3 from ring 3 is the gate */
	.else
	.byte 0x8e			/* present, DPL 0, 64-bit interrupt gate */
	.endif
	.word __hvb_isr_hi
	.long 0
	.long 0
	.set vec, vec + 1
	.endr
hvb_idt_ptr:
	.word 256 * 16 - 1
	.quad hvb_idt

/*
 * Boot page tables: identity map of 0-4 GiB, user-accessible (ring 3 runs
 * everything) and writable.  2 MiB pages, except the first 2 MiB which use
 * 4 KiB pages so that page 0 stays unmapped (a NULL access faults).  The
 * 2 MiB page holding the hvbench MMIO pages (0xd0000000) and the top 32 MiB
 * (LAPIC, IOAPIC, firmware) are uncached.  mem.c adds RAM above 4 GiB or
 * replaces all of it with 4 KiB pages (pt=4k), from ring 3.
 */
#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_U 0x4
#define PTE_PWT 0x8
#define PTE_PCD 0x10
#define PTE_PS 0x80
#define PTE_TABLE (PTE_P | PTE_W | PTE_U)
	.balign 4096
	.globl hvb_boot_pml4, hvb_boot_pdpt
hvb_boot_pml4:
	.quad hvb_boot_pdpt + PTE_TABLE
	.quad hvb_alias_pdpt + PTE_TABLE	/* 512 GiB: alias of physical 0-2 MiB */
	.fill 510, 8, 0
hvb_boot_pdpt:
	.quad hvb_boot_pd + PTE_TABLE
	.quad hvb_boot_pd + 0x1000 + PTE_TABLE
	.quad hvb_boot_pd + 0x2000 + PTE_TABLE
	.quad hvb_boot_pd + 0x3000 + PTE_TABLE
	.fill 508, 8, 0
hvb_boot_pd:
	.quad hvb_boot_pt + PTE_TABLE
	.set i, 1
	.rept 2047
	.if i == (0xd0000000 >> 21) || i >= ((0x100000000 - 0x2000000) >> 21)
	.quad (i << 21) + (PTE_P | PTE_W | PTE_U | PTE_PS | PTE_PCD | PTE_PWT)
	.else
	.quad (i << 21) + (PTE_P | PTE_W | PTE_U | PTE_PS)
	.endif
	.set i, i + 1
	.endr
hvb_boot_pt:
	.quad 0				/* page 0: not present */
	.set i, 1
	.rept 511
	.quad (i << 12) + (PTE_P | PTE_W | PTE_U)
	.set i, i + 1
	.endr

/*
 * Alias of physical 0-2 MiB at virtual 512 GiB (RT_LOW_ALIAS), so ring 3 can
 * read boot data a loader put in page 0 (QEMU's start info) while page 0
 * itself stays unmapped.
 */
hvb_alias_pdpt:
	.quad hvb_alias_pd + PTE_TABLE
	.fill 511, 8, 0
hvb_alias_pd:
	.quad PTE_P | PTE_U | PTE_PS
	.fill 511, 8, 0

/* ------------------------------------------------------------ stacks */

	.bss
	.balign 4096
	.globl hvb_kstack_top, hvb_ustack_top, hvb_fstack_top
	.space RT_KSTACK_SIZE
hvb_kstack_top:
	.space RT_ISTSTACK_SIZE
hvb_iststack_top:
	.space RT_USTACK_SIZE
hvb_ustack_top:
	.space RT_FSTACK_SIZE
hvb_fstack_top:
	/* The APs' (CPU i >= 1: the stack below base + i * size): smp.c and
	 * hvb_irq_common find the CPU from the stack pointer. */
	.globl hvb_ap_kstacks, hvb_ap_iststacks, hvb_ap_ustacks
	.balign 4096
hvb_ap_kstacks:
	.space (RT_MAX_CPUS - 1) * RT_KSTACK_SIZE
hvb_ap_iststacks:
	.space (RT_MAX_CPUS - 1) * RT_ISTSTACK_SIZE
	.balign 65536
hvb_ap_ustacks:
	.space (RT_MAX_CPUS - 1) * RT_AP_USTACK_SIZE

	.section .note.GNU-stack, "", @progbits
