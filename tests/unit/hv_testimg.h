/*
 * Tiny guest images for the hv/ tests, generated in memory: an ELF64
 * x86-64 executable with one (or two) PT_LOAD segments of hand-assembled
 * 32-bit code/data and a PT_NOTE holding the Xen PVH entry note and the
 * hvbench ABI note.  Each field can be broken on purpose.
 *
 * Header-only (static functions): included by the tests that need it.
 */
#ifndef HV_TESTIMG_H
#define HV_TESTIMG_H

#include <elf.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "hvb/abi.h"

#define TIMG_LOAD     0x100000u /* default p_paddr of the code segment */
#define TIMG_CODE_OFF 0x1000u	/* file offset of the code segment */
#define TIMG_MAX      0x3000u

struct timg {
	const uint8_t *code; /* bytes of segment 0 (code + data) */
	size_t code_len;
	uint64_t paddr; /* segment 0 p_paddr (0 = TIMG_LOAD) */
	uint64_t memsz; /* segment 0 p_memsz (0 = code_len) */
	uint32_t entry; /* PVH entry (0 = paddr) */
	bool no_xen_note, no_abi_note;
	uint32_t ap_entry; /* != 0: an HVB_NOTE_AP_ENTRY note with this address */
	uint32_t ap_note_size; /* its desc size (0 = 4) */
	uint32_t abi; /* 0 = HVB_ABI_VERSION */
	/* optional second PT_LOAD (file bytes = the same code) */
	bool seg2;
	uint64_t seg2_paddr, seg2_memsz;
};

/* Build the image into out (at least TIMG_MAX bytes); returns its length. */
static size_t timg_build(uint8_t *out, const struct timg *t)
{
	uint64_t paddr = t->paddr ? t->paddr : TIMG_LOAD;
	unsigned nph = t->seg2 ? 3 : 2;
	size_t note_off = sizeof(Elf64_Ehdr) + nph * sizeof(Elf64_Phdr), n = 0;
	uint8_t notes[96] = {0};
	Elf64_Ehdr eh = {
	    .e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT},
	    .e_type = ET_EXEC,
	    .e_machine = EM_X86_64,
	    .e_version = EV_CURRENT,
	    .e_entry = paddr,
	    .e_phoff = sizeof(Elf64_Ehdr),
	    .e_ehsize = sizeof(Elf64_Ehdr),
	    .e_phentsize = sizeof(Elf64_Phdr),
	    .e_phnum = (uint16_t)nph,
	};
	Elf64_Phdr ph[3] = {
	    {.p_type = PT_LOAD,
	     .p_flags = PF_R | PF_W | PF_X,
	     .p_offset = TIMG_CODE_OFF,
	     .p_paddr = paddr,
	     .p_vaddr = paddr,
	     .p_filesz = t->code_len,
	     .p_memsz = t->memsz ? t->memsz : t->code_len,
	     .p_align = 0x1000},
	    {.p_type = PT_NOTE, .p_offset = note_off, .p_align = 4},
	    {.p_type = PT_LOAD,
	     .p_flags = PF_R,
	     .p_offset = TIMG_CODE_OFF,
	     .p_paddr = t->seg2_paddr,
	     .p_vaddr = t->seg2_paddr,
	     .p_filesz = 0,
	     .p_memsz = t->seg2_memsz,
	     .p_align = 0x1000},
	};
	uint32_t entry = t->entry ? t->entry : (uint32_t)paddr;
	uint32_t abi = t->abi ? t->abi : HVB_ABI_VERSION;

	memset(out, 0, TIMG_MAX);
	if (!t->no_xen_note) {
		Elf64_Nhdr nh = {4, 4, HVB_XEN_ELFNOTE_PHYS32_ENTRY};
		memcpy(notes + n, &nh, sizeof(nh)), n += sizeof(nh);
		memcpy(notes + n, "Xen", 4), n += 4;
		memcpy(notes + n, &entry, 4), n += 4;
	}
	if (!t->no_abi_note) {
		Elf64_Nhdr nh = {sizeof(HVB_NOTE_NAME), 4, HVB_NOTE_ABI};
		memcpy(notes + n, &nh, sizeof(nh)), n += sizeof(nh);
		memcpy(notes + n, HVB_NOTE_NAME, sizeof(HVB_NOTE_NAME)), n += 8;
		memcpy(notes + n, &abi, 4), n += 4;
	}
	if (t->ap_entry) {
		uint32_t sz = t->ap_note_size ? t->ap_note_size : 4;
		Elf64_Nhdr nh = {sizeof(HVB_NOTE_NAME), sz, HVB_NOTE_AP_ENTRY};
		memcpy(notes + n, &nh, sizeof(nh)), n += sizeof(nh);
		memcpy(notes + n, HVB_NOTE_NAME, sizeof(HVB_NOTE_NAME)), n += 8;
		memcpy(notes + n, &t->ap_entry, 4), n += (sz + 3) & ~3u;
	}
	ph[1].p_filesz = ph[1].p_memsz = n;
	memcpy(out, &eh, sizeof(eh));
	memcpy(out + sizeof(eh), ph, nph * sizeof(Elf64_Phdr));
	memcpy(out + note_off, notes, n);
	memcpy(out + TIMG_CODE_OFF, t->code, t->code_len);
	return TIMG_CODE_OFF + t->code_len;
}

/* ---------------------------------------------- 32-bit code, assembled by hand */

struct asm32 {
	uint8_t b[0x1800];
	size_t n;
};

static inline void a_bytes(struct asm32 *a, const void *p, size_t len)
{
	memcpy(a->b + a->n, p, len);
	a->n += len;
}
static inline void a_u8(struct asm32 *a, uint8_t v)
{
	a_bytes(a, &v, 1);
}
static inline void a_u16(struct asm32 *a, uint16_t v)
{
	a_bytes(a, &v, 2);
}
static inline void a_u32(struct asm32 *a, uint32_t v)
{
	a_bytes(a, &v, 4);
}
/* mov eax, imm32 */
static inline void a_mov_eax(struct asm32 *a, uint32_t v)
{
	a_u8(a, 0xb8), a_u32(a, v);
}
/* mov ecx, imm32 */
static inline void a_mov_ecx(struct asm32 *a, uint32_t v)
{
	a_u8(a, 0xb9), a_u32(a, v);
}
/* mov esi, imm32 */
static inline void a_mov_esi(struct asm32 *a, uint32_t v)
{
	a_u8(a, 0xbe), a_u32(a, v);
}
/* mov dx, imm16 */
static inline void a_mov_dx(struct asm32 *a, uint16_t v)
{
	a_u8(a, 0x66), a_u8(a, 0xba), a_u16(a, v);
}
/* mov al, imm8 */
static inline void a_mov_al(struct asm32 *a, uint8_t v)
{
	a_u8(a, 0xb0), a_u8(a, v);
}
static inline void a_out_al(struct asm32 *a)
{
	a_u8(a, 0xee);
} /* out dx, al */
static inline void a_out_eax(struct asm32 *a)
{
	a_u8(a, 0xef);
} /* out dx, eax */
static inline void a_in_al(struct asm32 *a)
{
	a_u8(a, 0xec);
} /* in al, dx */
static inline void a_hlt(struct asm32 *a)
{
	a_u8(a, 0xf4);
}
static inline void a_jmp_self(struct asm32 *a)
{
	a_u8(a, 0xeb), a_u8(a, 0xfe);
}
/* dec ecx; jnz back to `target` (an offset from a->n before the loop body) */
static inline void a_loop_to(struct asm32 *a, size_t target)
{
	a_u8(a, 0x49);
	a_u8(a, 0x75), a_u8(a, (uint8_t)(int8_t)((int)target - (int)(a->n + 1)));
}
/* Guest shutdown with code: mov al, code; mov dx, HVB_PORT_SHUTDOWN; out dx, al; jmp $ */
static inline void a_shutdown(struct asm32 *a, uint8_t code)
{
	a_mov_al(a, code), a_mov_dx(a, HVB_PORT_SHUTDOWN), a_out_al(a), a_jmp_self(a);
}
/* Send the record at guest-physical gpa: mov eax, gpa; mov dx, HVB_PORT_RECORD; out dx, eax */
static inline void a_send_record(struct asm32 *a, uint32_t gpa)
{
	a_mov_eax(a, gpa), a_mov_dx(a, HVB_PORT_RECORD), a_out_eax(a);
}

#endif
