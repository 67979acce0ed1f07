/*
 * Guest image loader: ELF64 x86-64 executables with a Xen PVH entry note
 * (XEN_ELFNOTE_PHYS32_ENTRY) and the hvbench ABI-version note, loaded by
 * physical address (p_paddr) into guest RAM at or above HV_LOAD_MIN.
 *
 * The image is untrusted input: every offset, size and address is checked
 * (overflow-safe) before use, and a refusal names the problem in `err`.
 */
#ifndef HV_ELF_LOAD_H
#define HV_ELF_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "vm.h"

#define HV_ELF_MAX_SEGS	 16
#define HV_ELF_MAX_PHDRS 64
#define HV_ELF_MAX_SIZE	 (256ull << 20) /* larger files are not guest images */

struct hv_elf_seg {
	uint64_t paddr, memsz, filesz, offset;
	uint32_t flags;
};

struct hv_image {
	uint32_t entry;	      /* PVH 32-bit entry point (guest-physical) */
	uint32_t abi_version; /* from the hvbench note */
	/* Application processors' 32-bit entry (HVB_NOTE_AP_ENTRY), 0 = the
	 * image has none: it can run one vCPU only. */
	uint32_t ap_entry;
	uint64_t lo, hi;      /* lowest and one-past-highest loaded guest-physical address */
	unsigned n_segs;
	struct hv_elf_seg segs[HV_ELF_MAX_SEGS];
};

/*
 * Parse and validate an image in memory: ELF64, little endian, x86-64,
 * ET_EXEC; program headers inside the file, PT_LOAD segments with
 * filesz <= memsz, file bytes inside the file, no address wrap, no two
 * segments overlapping; a PVH entry note whose address lies in a loaded
 * segment (and an AP entry note, when there is one, likewise); an hvbench note with version HVB_ABI_VERSION.  Does not look at
 * guest memory.  0, or -ENOEXEC (malformed / not a guest image) or -EPROTO
 * (ABI version mismatch) with a message in err.
 */
int hv_elf_parse(const void *buf, size_t len, struct hv_image *img, char *err, size_t errlen);

/*
 * hv_elf_parse(), then check that every segment lies in guest RAM at or
 * above HV_LOAD_MIN (-ERANGE otherwise: below is host-reserved, see pvh.h),
 * then copy the file bytes and zero the rest of each segment.
 */
int vm_load_elf(struct vm *vm, const void *buf, size_t len, struct hv_image *img, char *err,
		size_t errlen);

/*
 * Read the whole image file at `path` (a regular file of at most
 * HV_ELF_MAX_SIZE) into a malloc'ed *out: 0, or -errno with a message
 * naming the path (a directory, a short read, ...).
 */
int hv_elf_read_file(const char *path, uint8_t **out, size_t *len, char *err, size_t errlen);

/*
 * Read the image file at `path` (at most HV_ELF_MAX_SIZE) and vm_load_elf()
 * it.  -errno of open/read with a message naming the path.  When sha256 is
 * not NULL it receives the SHA-256 of the file as 64 hex digits + NUL.
 */
int vm_load_elf_file(struct vm *vm, const char *path, struct hv_image *img, char sha256[65],
		     char *err, size_t errlen);

/* SHA-256 of buf as 64 lowercase hex digits + NUL (image identity in meta.csv). */
void hv_sha256_hex(const void *buf, size_t len, char out[65]);

#endif
