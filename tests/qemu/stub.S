/*
 * A stand-in guest for the QEMU runner's tests: a PVH image (ELF64, Xen
 * PHYS32_ENTRY note, 32-bit entry like the real guest) that writes a
 * prepared byte stream (BLOB, made by mkblob) to the serial port and then,
 * per AFTER: 0 exits through isa-debug-exit with code 0, 1 hangs with
 * interrupts off, 2 repeats the stream forever (a console flood).
 * It exercises the runner's hostile paths without depending on the real
 * guest image.
 */
#define COM1 0x3f8
#define QEMU_EXIT 0xf4

	.section .note.Xen, "a"
	.balign 4
	.long 4, 4, 18		/* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_entry
	/* The hvbench ABI note (abi.h HVB_NOTE_ABI): every runner checks it,
	 * QEMU's too, so a stand-in must carry it like the real image. */
	.long 8, 4, 0x4842	/* "hvbench", HVB_NOTE_ABI */
	.asciz "hvbench"
	.balign 4
	.long 1			/* HVB_ABI_VERSION */

	.text
	.code32
	.globl pvh_entry
pvh_entry:
	cli
	cld
1:	mov $blob, %esi
	mov $blob_end, %ecx
	sub %esi, %ecx
	mov $COM1, %dx
	rep outsb
#if AFTER == 2
	jmp 1b
#elif AFTER == 1
2:	hlt
	jmp 2b
#else
	xor %eax, %eax
	out %al, $QEMU_EXIT
3:	hlt
	jmp 3b
#endif

	.balign 16
blob:
	.incbin BLOB
blob_end:
