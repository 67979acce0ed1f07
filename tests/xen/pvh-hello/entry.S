/*
 * Entry of the pvh-hello test guest: Xen's PVH boot enters here in 32-bit
 * protected mode, paging off, flat segments, %ebx = hvm_start_info.
 * The guest stays in 32-bit mode (Xen's hypercall ABI for 32-bit HVM
 * guests: eax = number, ebx/ecx/edx/esi/edi = arguments).
 */
	.section .note.Xen, "a", @note
	.p2align 2
	.long 4			/* namesz: "Xen\0" */
	.long 4			/* descsz */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long _start

	.text
	.code32
	.globl _start
_start:
	cli
	cld
	movl $stack_top, %esp
	pushl %ebx
	call hello_main
1:	hlt
	jmp 1b

	.bss
	.p2align 4
	.skip 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
