/*
 * The guest image loader (hv/elf.c) against deliberately broken images,
 * and checked guest-physical access (hv/mem.c) at its boundaries.  No
 * /dev/kvm needed: the VM here is a struct with memory regions only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "elf_load.h"
#include "mem.h"
#include "pvh.h"
#include "unit/hv_testimg.h"

static uint8_t img[TIMG_MAX];
static const uint8_t code[] = {0xeb, 0xfe, 0x90, 0x90};

/* A fake VM: RAM [0, 4 MiB) backed by malloc, a second region at 1 GiB. */
static struct vm fake;

static void fake_init(void)
{
	fake.mem[0] =
	    (struct vm_mem_region){.gpa = 0, .size = 4ull << 20, .hva = calloc(1, 4u << 20)};
	fake.mem[1] = (struct vm_mem_region){
	    .gpa = 1ull << 30, .size = 8192, .hva = calloc(1, 8192), .slot = 1};
	fake.n_mem = 2;
	fake.ram_size = 4ull << 20;
}

static struct hv_image parsed; /* what the last parse() found */

static int parse(const struct timg *t, size_t cut, char *err)
{
	size_t len = timg_build(img, t);

	err[0] = '\0';
	return hv_elf_parse(img, cut ? cut : len, &parsed, err, 256);
}

static int load(const struct timg *t, char *err)
{
	struct hv_image hi;
	size_t len = timg_build(img, t);

	err[0] = '\0';
	return vm_load_elf(&fake, img, len, &hi, err, 256);
}

#define REFUSED(call, e, needle, desc)                                                             \
	do {                                                                                       \
		int rc_ = (call);                                                                  \
		TAP_EQ_INT(rc_, e, desc);                                                          \
		TAP_OK(strstr(err, needle) != NULL, "... and says: " needle);                      \
		printf("#   message: %s\n", err);                                                  \
	} while (0)

static void test_good(void)
{
	struct timg t = {.code = code, .code_len = sizeof(code), .entry = TIMG_LOAD + 2};
	struct hv_image hi;
	uint8_t *p;
	size_t len = timg_build(img, &t);
	char err[256] = "";

	TAP_EQ_INT(vm_load_elf(&fake, img, len, &hi, err, sizeof(err)), 0, "a valid image loads");
	TAP_EQ_INT(hi.entry, TIMG_LOAD + 2, "... PVH entry from the Xen note");
	TAP_EQ_INT(hi.abi_version, HVB_ABI_VERSION, "... ABI version from the hvbench note");
	p = __vm_gpa_to_hva(&fake, TIMG_LOAD);
	TAP_OK(p && !memcmp(p, code, sizeof(code)), "... its bytes are in guest memory");

	t.memsz = 0x3000; /* bss: must be zeroed */
	memset(fake.mem[0].hva + TIMG_LOAD + sizeof(code), 0xcc, 0x3000 - sizeof(code));
	len = timg_build(img, &t);
	vm_load_elf(&fake, img, len, &hi, err, sizeof(err));
	TAP_OK(p[sizeof(code)] == 0 && p[0x2fff] == 0, "bss (memsz > filesz) is zeroed");
}

static void test_broken_headers(void)
{
	struct timg t = {.code = code, .code_len = sizeof(code)};
	char err[256];
	size_t len;
	int r;

	REFUSED(parse(&t, 10, err), -ENOEXEC, "too short", "10-byte file refused");
	len = timg_build(img, &t);
	img[0] = 0x7e;
	r = hv_elf_parse(img, len, &(struct hv_image){0}, err, sizeof(err));
	REFUSED(r, -ENOEXEC, "not an ELF", "bad magic refused");
	timg_build(img, &t);
	img[EI_CLASS] = ELFCLASS32;
	r = hv_elf_parse(img, len, &(struct hv_image){0}, err, sizeof(err));
	REFUSED(r, -ENOEXEC, "64-bit", "32-bit ELF refused");
	timg_build(img, &t);
	img[18] = EM_AARCH64; /* e_machine */
	r = hv_elf_parse(img, len, &(struct hv_image){0}, err, sizeof(err));
	REFUSED(r, -ENOEXEC, "x86-64", "non-x86-64 machine refused");
	timg_build(img, &t);
	img[16] = ET_DYN; /* e_type */
	r = hv_elf_parse(img, len, &(struct hv_image){0}, err, sizeof(err));
	REFUSED(r, -ENOEXEC, "not an executable", "shared object refused");
	timg_build(img, &t);
	img[54] = 40; /* e_phentsize */
	r = hv_elf_parse(img, len, &(struct hv_image){0}, err, sizeof(err));
	REFUSED(r, -ENOEXEC, "program header size", "wrong program header size refused");
	timg_build(img, &t);
	memset(img + 32, 0xff, 8); /* e_phoff = ~0: must not wrap */
	r = hv_elf_parse(img, len, &(struct hv_image){0}, err, sizeof(err));
	REFUSED(r, -ENOEXEC, "beyond the end", "program headers at a wrapping offset refused");
	timg_build(img, &t);
	img[56] = 0, img[57] = 0; /* e_phnum = 0 */
	r = hv_elf_parse(img, len, &(struct hv_image){0}, err, sizeof(err));
	REFUSED(r, -ENOEXEC, "number of program headers", "no program headers refused");
}

static void set_phdr_u64(int idx, size_t field_off, uint64_t v)
{
	memcpy(img + sizeof(Elf64_Ehdr) + idx * sizeof(Elf64_Phdr) + field_off, &v, 8);
}

static void test_broken_segments(void)
{
	struct timg t = {.code = code, .code_len = sizeof(code)};
	char err[256];
	size_t len = timg_build(img, &t);
	int r;

	REFUSED(parse(&t, len - 2, err), -ENOEXEC, "truncated", "truncated file refused");
	set_phdr_u64(0, offsetof(Elf64_Phdr, p_filesz), 0x100);
	set_phdr_u64(0, offsetof(Elf64_Phdr, p_memsz), 0x10);
	r = hv_elf_parse(img, len, &(struct hv_image){0}, err, sizeof(err));
	REFUSED(r, -ENOEXEC, "exceeds memory size", "filesz > memsz refused");
	timg_build(img, &t);
	set_phdr_u64(0, offsetof(Elf64_Phdr, p_offset), ~0ull - 1);
	r = hv_elf_parse(img, len, &(struct hv_image){0}, err, sizeof(err));
	REFUSED(r, -ENOEXEC, "beyond the end of the file", "segment offset wrapping refused");
	timg_build(img, &t);
	set_phdr_u64(0, offsetof(Elf64_Phdr, p_paddr), ~0ull - 1);
	set_phdr_u64(0, offsetof(Elf64_Phdr, p_memsz), 0x10);
	r = hv_elf_parse(img, len, &(struct hv_image){0}, err, sizeof(err));
	REFUSED(r, -ENOEXEC, "wraps", "segment address range wrapping refused");
	timg_build(img, &t);
	set_phdr_u64(1, offsetof(Elf64_Phdr, p_filesz), 0x100000);
	r = hv_elf_parse(img, len, &(struct hv_image){0}, err, sizeof(err));
	REFUSED(r, -ENOEXEC, "notes beyond the end", "note segment beyond the file refused");

	t.seg2 = true, t.seg2_paddr = TIMG_LOAD + 2, t.seg2_memsz = 0x1000;
	REFUSED(parse(&t, 0, err), -ENOEXEC, "overlaps", "overlapping segments refused");
	t.seg2_paddr = TIMG_LOAD + 0x1000;
	TAP_EQ_INT(parse(&t, 0, err), 0, "adjacent segments accepted");
	t.seg2 = false;

	t.paddr = 0x8000;
	REFUSED(load(&t, err), -ERANGE, "host-reserved",
		"segment in the host-reserved area refused");
	t.paddr = 0x3ff000, t.memsz = 0x2000;
	REFUSED(load(&t, err), -ERANGE, "outside guest RAM", "segment past the end of RAM refused");
	t.paddr = 0x40000000, t.memsz = 0x4000; /* starts in region 1, runs past it */
	REFUSED(load(&t, err), -ERANGE, "outside guest RAM",
		"segment past a second region refused");
}

static void test_notes(void)
{
	struct timg t = {.code = code, .code_len = sizeof(code)};
	char err[256];

	t.no_xen_note = true;
	REFUSED(parse(&t, 0, err), -ENOEXEC, "no PVH entry note", "missing PVH note refused");
	t.no_xen_note = false, t.no_abi_note = true;
	REFUSED(parse(&t, 0, err), -ENOEXEC, "no hvbench ABI note", "missing ABI note refused");
	t.no_abi_note = false, t.abi = HVB_ABI_VERSION + 1;
	REFUSED(parse(&t, 0, err), -EPROTO, "rebuild the guest image", "other ABI version refused");
	t.abi = 0, t.entry = 0x500000;
	REFUSED(parse(&t, 0, err), -ENOEXEC, "not inside a loaded part",
		"PVH entry outside the image refused");
	t.entry = 0;
	TAP_EQ_INT(parse(&t, 0, err), 0, "an image without an AP entry note parses");
	TAP_EQ_INT(parsed.ap_entry, 0, "... with no AP entry (1 vCPU only)");
	t.ap_entry = TIMG_LOAD + 3;
	TAP_EQ_INT(parse(&t, 0, err), 0, "an AP entry note inside the image parses");
	TAP_EQ_INT(parsed.ap_entry, TIMG_LOAD + 3, "... and gives its address");
	t.ap_entry = 0x500000;
	REFUSED(parse(&t, 0, err), -ENOEXEC, "AP entry 0x500000 is not inside",
		"AP entry outside the image refused");
	t.ap_entry = TIMG_LOAD, t.ap_note_size = 8;
	REFUSED(parse(&t, 0, err), -ENOEXEC, "AP entry note has a 8-byte value",
		"AP entry note of the wrong size refused");
	t.ap_entry = 0, t.ap_note_size = 0;
	timg_build(img, &t);
	/* a note whose name size runs past the note segment */
	uint32_t huge = 0xfffffff0u;
	size_t note_off = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
	memcpy(img + note_off, &huge, 4);
	int r = hv_elf_parse(img, TIMG_CODE_OFF + sizeof(code), &(struct hv_image){0}, err,
			     sizeof(err));
	REFUSED(r, -ENOEXEC, "truncated ELF note", "note with a huge name size refused");
}

static void test_gpa(void)
{
	uint64_t ram = fake.ram_size;

	TAP_OK(vm_gpa_range_ok(&fake, 0, ram), "all of RAM is a valid range");
	TAP_OK(vm_gpa_range_ok(&fake, ram - 1, 1), "last byte of RAM is valid");
	TAP_OK(!vm_gpa_range_ok(&fake, ram - 1, 2), "range crossing the end of RAM is not");
	TAP_OK(!vm_gpa_range_ok(&fake, ram, 1), "first byte after RAM is not");
	TAP_OK(!vm_gpa_range_ok(&fake, 0, 0), "empty range is not");
	TAP_OK(!vm_gpa_range_ok(&fake, 16, ~0ull), "huge length is not (no overflow)");
	TAP_OK(!vm_gpa_range_ok(&fake, ~0ull, 2), "wrapping range is not");
	TAP_OK(!vm_gpa_range_ok(&fake, ~0ull - 4095, 4096), "top page of the address space is not");
	TAP_OK(vm_gpa_range_ok(&fake, (1ull << 30) + 4096, 4096), "second region is valid");
	TAP_OK(!vm_gpa_range_ok(&fake, (1ull << 30) + 4096, 4097), "... but not past its end");
	TAP_OK(!vm_gpa_range_ok(&fake, ram - 8, (1ull << 30) + 16 - (ram - 8)),
	       "a range spanning two regions and the gap between is not");
	TAP_OK(vm_gpa_to_hva_checked(&fake, ram - 4, 4) == fake.mem[0].hva + ram - 4,
	       "checked translation of a valid range");
	TAP_OK(vm_gpa_to_hva_checked(&fake, ram - 4, 8) == NULL, "checked translation refuses");
	char buf[8];
	TAP_EQ_INT(vm_gpa_read(&fake, ram - 4, buf, 8), -EFAULT, "read past RAM: -EFAULT");
	TAP_EQ_INT(vm_gpa_write(&fake, ~0ull - 3, buf, 8), -EFAULT, "wrapping write: -EFAULT");
	TAP_EQ_INT(vm_gpa_release(&fake, 4096, 4095), -EINVAL, "unaligned release length: -EINVAL");
	TAP_EQ_INT(vm_gpa_release(&fake, 4097, 4096), -EINVAL,
		   "unaligned release address: -EINVAL");
	TAP_EQ_INT(vm_gpa_release(&fake, ram - 4096, 8192), -EFAULT, "release past RAM: -EFAULT");
	TAP_EQ_INT(vm_gpa_release(&fake, 0, ~0ull & ~4095ull), -EFAULT,
		   "release of a huge length: -EFAULT");
}

static void test_sha256(void)
{
	char hex[65];

	hv_sha256_hex("abc", 3, hex);
	TAP_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		   "sha256(abc)");
	hv_sha256_hex("", 0, hex);
	TAP_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		   "sha256 of nothing");
	static char m[1000];
	memset(m, 'a', sizeof(m));
	hv_sha256_hex(m, 56, hex); /* padding spills into a second block */
	TAP_EQ_STR(hex, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a",
		   "sha256 of 56 bytes (two-block padding)");
}

int main(void)
{
	fake_init();
	test_good();
	test_broken_headers();
	test_broken_segments();
	test_notes();
	test_gpa();
	test_sha256();
	free(fake.mem[0].hva);
	free(fake.mem[1].hva);
	return tap_done();
}
