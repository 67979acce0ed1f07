/*
 * Fuzzer: the ELF/PVH guest-image loader (hv/elf.c).  Input: an image file.
 *
 * hv_elf_parse() on the bytes; when it accepts them, the result must be
 * what elf_load.h promises (segments inside the file, no wrap, no overlap,
 * the entry in a loaded part), and vm_load_elf() loads them into a fake
 * guest memory: 4 MiB of RAM in one region, no /dev/kvm.  During the load
 * every byte of that RAM outside the image's segments is poisoned (ASan),
 * so a write beyond a segment is reported; afterwards each segment must
 * hold its file bytes, then zeros.
 */
#include <sanitizer/asan_interface.h>
#include <sys/mman.h>

#include "elf_load.h"
#include "fuzz.h"
#include "hvb/abi.h"
#include "mem.h"
#include "pvh.h"

#define RAM_SIZE (4ull << 20)

static uint8_t *ram;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	FUZZ_CHECK(ram != MAP_FAILED);
	return 0;
}

static void check_image(const struct hv_image *img, size_t len)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	bool entry_in = false;

	FUZZ_CHECK(img->n_segs >= 1 && img->n_segs <= HV_ELF_MAX_SEGS);
	FUZZ_CHECK(img->abi_version == HVB_ABI_VERSION);
	for (unsigned i = 0; i < img->n_segs; i++) {
		const struct hv_elf_seg *s = &img->segs[i];

		FUZZ_CHECK(s->memsz > 0 && s->filesz <= s->memsz);
		FUZZ_CHECK(s->offset <= len && s->filesz <= len - s->offset);
		FUZZ_CHECK(s->paddr + s->memsz > s->paddr);
		for (unsigned j = 0; j < i; j++) {
			const struct hv_elf_seg *o = &img->segs[j];
			FUZZ_CHECK(s->paddr >= o->paddr + o->memsz || o->paddr >= s->paddr + s->memsz);
		}
		if (s->paddr < lo)
			lo = s->paddr;
		if (s->paddr + s->memsz > hi)
			hi = s->paddr + s->memsz;
		if (img->entry >= s->paddr && img->entry - s->paddr < s->filesz)
			entry_in = true;
	}
	FUZZ_CHECK(img->lo == lo && img->hi == hi);
	FUZZ_CHECK(entry_in);
}

static bool same_image(const struct hv_image *a, const struct hv_image *b)
{
	if (a->entry != b->entry || a->abi_version != b->abi_version || a->lo != b->lo ||
	    a->hi != b->hi || a->n_segs != b->n_segs)
		return false;
	for (unsigned i = 0; i < a->n_segs; i++) {
		const struct hv_elf_seg *x = &a->segs[i], *y = &b->segs[i];
		if (x->paddr != y->paddr || x->memsz != y->memsz || x->filesz != y->filesz ||
		    x->offset != y->offset || x->flags != y->flags)
			return false;
	}
	return true;
}

static bool all_zero(const uint8_t *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_image img, loaded;
	struct vm vm;
	char err[256];
	bool fits = true;
	int r;

	err[0] = '\0';
	r = hv_elf_parse(data, size, &img, err, sizeof(err));
	if (r) {
		FUZZ_CHECK(r == -ENOEXEC || r == -EPROTO);
		FUZZ_CHECK(err[0] && fuzz_terminated(err, sizeof(err)));
		return 0;
	}
	check_image(&img, size);

	memset(&vm, 0, sizeof(vm));
	vm.n_mem = 1;
	vm.mem[0] = (struct vm_mem_region){.gpa = 0, .size = RAM_SIZE, .hva = ram};
	vm.ram_size = RAM_SIZE;
	for (unsigned i = 0; i < img.n_segs; i++)
		if (img.segs[i].paddr < HV_LOAD_MIN || img.segs[i].paddr > RAM_SIZE ||
		    img.segs[i].memsz > RAM_SIZE - img.segs[i].paddr)
			fits = false;

	if (fits) {
		ASAN_POISON_MEMORY_REGION(ram, RAM_SIZE);
		for (unsigned i = 0; i < img.n_segs; i++) {
			uint8_t *seg = ram + img.segs[i].paddr;
			ASAN_UNPOISON_MEMORY_REGION(seg, img.segs[i].memsz);
			memset(seg, 0xa5, img.segs[i].memsz); /* not zero, as RAM may be */
		}
	}
	err[0] = '\0';
	r = vm_load_elf(&vm, data, size, &loaded, err, sizeof(err));
	ASAN_UNPOISON_MEMORY_REGION(ram, RAM_SIZE);
	if (!fits) {
		/* Below the boot area or beyond RAM: refused before any copy. */
		FUZZ_CHECK(r == -ERANGE && err[0] && fuzz_terminated(err, sizeof(err)));
		return 0;
	}
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(same_image(&img, &loaded));
	for (unsigned i = 0; i < img.n_segs; i++) {
		const struct hv_elf_seg *s = &img.segs[i];

		FUZZ_CHECK(!memcmp(ram + s->paddr, data + s->offset, s->filesz));
		FUZZ_CHECK(all_zero(ram + s->paddr + s->filesz, s->memsz - s->filesz));
	}
	return 0;
}
