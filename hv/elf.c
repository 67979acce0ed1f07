/*
 * ELF64 PVH image loader (see elf.h).  Headers are copied out of the buffer
 * with memcpy (the file need not be aligned) and every field is checked
 * before it is used as an offset or an address.
 */
#include "elf_load.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvb/abi.h"
#include "mem.h"
#include "pvh.h"

static int fail(int e, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(int e, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return e;
}

/* [off, off + n) inside a buffer of len bytes, without overflow. */
static bool in_file(uint64_t off, uint64_t n, size_t len)
{
	return off <= len && n <= len - off;
}

static int check_ehdr(const Elf64_Ehdr *eh, size_t len, char *err, size_t errlen)
{
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return fail(-ENOEXEC, err, errlen, "not an ELF file (bad magic)");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return fail(-ENOEXEC, err, errlen, "not a 64-bit ELF file (class %u)",
			    eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return fail(-ENOEXEC, err, errlen, "not a little-endian ELF file");
	if (eh->e_machine != EM_X86_64)
		return fail(-ENOEXEC, err, errlen, "not an x86-64 ELF file (machine %u)",
			    eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return fail(-ENOEXEC, err, errlen, "not an executable (ELF type %u)", eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return fail(-ENOEXEC, err, errlen, "bad program header size %u", eh->e_phentsize);
	if (eh->e_phnum == 0 || eh->e_phnum > HV_ELF_MAX_PHDRS)
		return fail(-ENOEXEC, err, errlen, "bad number of program headers (%u)",
			    eh->e_phnum);
	if (!in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), len))
		return fail(-ENOEXEC, err, errlen,
			    "program headers beyond the end of the file "
			    "(truncated image?)");
	return 0;
}

struct notes {
	bool have_entry, have_abi, have_ap_entry;
	uint32_t entry, abi, ap_entry;
};

/* Walk the notes of one PT_NOTE segment (bounds already checked). */
static int scan_notes(const uint8_t *p, uint64_t n, struct notes *nt, char *err, size_t errlen)
{
	uint64_t off = 0;

	while (n - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name_sz, desc_sz;
		const uint8_t *name, *desc;

		memcpy(&nh, p + off, sizeof(nh));
		off += sizeof(nh);
		name_sz = ((uint64_t)nh.n_namesz + 3) & ~3ull;
		desc_sz = ((uint64_t)nh.n_descsz + 3) & ~3ull;
		if (name_sz > n - off || desc_sz > n - off - name_sz)
			return fail(-ENOEXEC, err, errlen, "truncated ELF note");
		name = p + off;
		desc = name + name_sz;
		off += name_sz + desc_sz;
		if (nh.n_namesz == 4 && !memcmp(name, "Xen", 4) &&
		    nh.n_type == HVB_XEN_ELFNOTE_PHYS32_ENTRY) {
			if (nh.n_descsz != 4 && nh.n_descsz != 8)
				return fail(-ENOEXEC, err, errlen,
					    "PVH entry note has a %u-byte value", nh.n_descsz);
			memcpy(&nt->entry, desc, 4);
			nt->have_entry = true;
		} else if (nh.n_namesz == sizeof(HVB_NOTE_NAME) &&
			   !memcmp(name, HVB_NOTE_NAME, sizeof(HVB_NOTE_NAME)) &&
			   nh.n_type == HVB_NOTE_ABI) {
			if (nh.n_descsz != 4)
				return fail(-ENOEXEC, err, errlen,
					    "hvbench ABI note has a %u-byte value", nh.n_descsz);
			memcpy(&nt->abi, desc, 4);
			nt->have_abi = true;
		} else if (nh.n_namesz == sizeof(HVB_NOTE_NAME) &&
			   !memcmp(name, HVB_NOTE_NAME, sizeof(HVB_NOTE_NAME)) &&
			   nh.n_type == HVB_NOTE_AP_ENTRY) {
			if (nh.n_descsz != 4)
				return fail(-ENOEXEC, err, errlen,
					    "hvbench AP entry note has a %u-byte value",
					    nh.n_descsz);
			memcpy(&nt->ap_entry, desc, 4);
			nt->have_ap_entry = true;
		}
	}
	return 0;
}

static int add_load(const Elf64_Phdr *ph, size_t len, struct hv_image *img, unsigned idx, char *err,
		    size_t errlen)
{
	struct hv_elf_seg *s;

	if (ph->p_memsz == 0)
		return 0;
	if (ph->p_filesz > ph->p_memsz)
		return fail(-ENOEXEC, err, errlen,
			    "program header %u: file size 0x%llx exceeds memory size 0x%llx", idx,
			    (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
	if (!in_file(ph->p_offset, ph->p_filesz, len))
		return fail(-ENOEXEC, err, errlen,
			    "program header %u: bytes 0x%llx+0x%llx beyond the end of the file "
			    "(truncated image?)",
			    idx, (unsigned long long)ph->p_offset,
			    (unsigned long long)ph->p_filesz);
	if (ph->p_paddr + ph->p_memsz < ph->p_paddr)
		return fail(-ENOEXEC, err, errlen, "program header %u: address range wraps", idx);
	for (unsigned i = 0; i < img->n_segs; i++) {
		const struct hv_elf_seg *o = &img->segs[i];
		if (ph->p_paddr < o->paddr + o->memsz && o->paddr < ph->p_paddr + ph->p_memsz)
			return fail(-ENOEXEC, err, errlen,
				    "program header %u: segment 0x%llx+0x%llx overlaps segment "
				    "0x%llx+0x%llx",
				    idx, (unsigned long long)ph->p_paddr,
				    (unsigned long long)ph->p_memsz, (unsigned long long)o->paddr,
				    (unsigned long long)o->memsz);
	}
	if (img->n_segs == HV_ELF_MAX_SEGS)
		return fail(-ENOEXEC, err, errlen, "more than %d loadable segments",
			    HV_ELF_MAX_SEGS);
	s = &img->segs[img->n_segs++];
	*s = (struct hv_elf_seg){.paddr = ph->p_paddr,
				 .memsz = ph->p_memsz,
				 .filesz = ph->p_filesz,
				 .offset = ph->p_offset,
				 .flags = ph->p_flags};
	if (img->n_segs == 1 || s->paddr < img->lo)
		img->lo = s->paddr;
	if (s->paddr + s->memsz > img->hi)
		img->hi = s->paddr + s->memsz;
	return 0;
}

static bool entry_loaded(const struct hv_image *img, uint32_t entry)
{
	for (unsigned i = 0; i < img->n_segs; i++)
		if (entry >= img->segs[i].paddr && entry - img->segs[i].paddr < img->segs[i].filesz)
			return true;
	return false;
}

int hv_elf_parse(const void *buf, size_t len, struct hv_image *img, char *err, size_t errlen)
{
	const uint8_t *p = buf;
	struct notes nt = {0};
	Elf64_Ehdr eh;
	int r;

	memset(img, 0, sizeof(*img));
	if (len < sizeof(eh))
		return fail(-ENOEXEC, err, errlen, "file too short for an ELF header (%zu bytes)",
			    len);
	memcpy(&eh, p, sizeof(eh));
	r = check_ehdr(&eh, len, err, errlen);
	if (r)
		return r;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, p + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD)
			r = add_load(&ph, len, img, i, err, errlen);
		else if (ph.p_type == PT_NOTE && !in_file(ph.p_offset, ph.p_filesz, len))
			r = fail(-ENOEXEC, err, errlen,
				 "program header %u: notes beyond the end of the file", i);
		else if (ph.p_type == PT_NOTE)
			r = scan_notes(p + ph.p_offset, ph.p_filesz, &nt, err, errlen);
		if (r)
			return r;
	}
	if (!img->n_segs)
		return fail(-ENOEXEC, err, errlen, "no loadable segment");
	if (!nt.have_entry)
		return fail(-ENOEXEC, err, errlen,
			    "no PVH entry note (Xen note type %d): not a PVH guest image",
			    HVB_XEN_ELFNOTE_PHYS32_ENTRY);
	if (!entry_loaded(img, nt.entry))
		return fail(-ENOEXEC, err, errlen,
			    "PVH entry 0x%x is not inside a loaded part of the image", nt.entry);
	/* An AP entry outside the image would start the APs in zeroes. */
	if (nt.have_ap_entry && !entry_loaded(img, nt.ap_entry))
		return fail(-ENOEXEC, err, errlen,
			    "AP entry 0x%x is not inside a loaded part of the image", nt.ap_entry);
	if (!nt.have_abi)
		return fail(-ENOEXEC, err, errlen,
			    "no hvbench ABI note: not an hvbench guest image");
	if (nt.abi != HVB_ABI_VERSION)
		return fail(
		    -EPROTO, err, errlen,
		    "guest image speaks hvbench ABI %u, this hvbench speaks %u: rebuild the "
		    "guest image with this tree (make)",
		    nt.abi, HVB_ABI_VERSION);
	img->entry = nt.entry;
	img->ap_entry = nt.have_ap_entry ? nt.ap_entry : 0;
	img->abi_version = nt.abi;
	return 0;
}

int vm_load_elf(struct vm *vm, const void *buf, size_t len, struct hv_image *img, char *err,
		size_t errlen)
{
	const uint8_t *p = buf;
	int r = hv_elf_parse(buf, len, img, err, errlen);

	if (r)
		return r;
	for (unsigned i = 0; i < img->n_segs; i++) {
		const struct hv_elf_seg *s = &img->segs[i];
		if (s->paddr < HV_LOAD_MIN)
			return fail(-ERANGE, err, errlen,
				    "segment at 0x%llx is below 0x%llx (host-reserved boot area)",
				    (unsigned long long)s->paddr, (unsigned long long)HV_LOAD_MIN);
		if (!vm_gpa_range_ok(vm, s->paddr, s->memsz))
			return fail(-ERANGE, err, errlen,
				    "segment 0x%llx+0x%llx lies outside guest RAM (0x%llx bytes)",
				    (unsigned long long)s->paddr, (unsigned long long)s->memsz,
				    (unsigned long long)vm->ram_size);
	}
	for (unsigned i = 0; i < img->n_segs; i++) {
		const struct hv_elf_seg *s = &img->segs[i];
		uint8_t *dst = vm_gpa_to_hva_checked(vm, s->paddr, s->memsz);
		memcpy(dst, p + s->offset, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
	return 0;
}

int hv_elf_read_file(const char *path, uint8_t **out, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(-errno, err, errlen, "cannot open guest image %s: %s", path,
			    strerror(errno));
	if (fstat(fd, &st)) {
		r = fail(-errno, err, errlen, "cannot stat guest image %s: %s", path,
			 strerror(errno));
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		r = fail(-EISDIR, err, errlen, "guest image %s is a directory, not an image file",
			 path);
		goto out_close;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > HV_ELF_MAX_SIZE) {
		r = fail(-EINVAL, err, errlen,
			 "guest image %s is not a regular file of at most "
			 "%llu MiB",
			 path, HV_ELF_MAX_SIZE >> 20);
		goto out_close;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		r = fail(-ENOMEM, err, errlen, "out of memory reading %s", path);
		goto out_close;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = fail(n ? -errno : -EIO, err, errlen, "cannot read guest image %s: %s",
				 path, n ? strerror(errno) : "file shrank while reading");
			free(buf);
			goto out_close;
		}
		got += (size_t)n;
	}
	*out = buf;
	*len = got;
	r = 0;
out_close:
	close(fd);
	return r;
}

int vm_load_elf_file(struct vm *vm, const char *path, struct hv_image *img, char sha256[65],
		     char *err, size_t errlen)
{
	char why[256];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	r = hv_elf_read_file(path, &buf, &len, err, errlen);
	if (r)
		return r;
	if (sha256)
		hv_sha256_hex(buf, len, sha256);
	r = vm_load_elf(vm, buf, len, img, why, sizeof(why));
	if (r)
		fail(r, err, errlen, "guest image %s: %s", path, why);
	free(buf);
	return r;
}
