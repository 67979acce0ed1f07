/*
 * mkseeds OUTDIR: the generated part of the fuzzers' seed
 * corpora (tests/fuzz/seeds.sh adds the committed and fixture files).
 *
 *   OUTDIR/elf/       tiny guest images from the unit tests' image builder
 *                     (tests/unit/hv_testimg.h): valid ones and one per
 *                     refusal (no note, other ABI, entry outside, overlap,
 *                     below 1 MiB, beyond RAM)
 *
 * Deterministic: the same tree gives the same seeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "unit/hv_testimg.h"

static const char *outdir;

static void put(const char *sub, const char *name, const void *buf, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, sub, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* ------------------------------------------------------------------ ELF */

static void elf_seeds(void)
{
	static uint8_t img[TIMG_MAX];
	struct asm32 a = {.n = 0};
	struct timg t;
	size_t n;

	a_shutdown(&a, 0);
#define IMG(name, ...)                                                                     \
	do {                                                                               \
		t = (struct timg){.code = a.b, .code_len = a.n, __VA_ARGS__};              \
		n = timg_build(img, &t);                                                   \
		put("elf", name, img, n);                                                  \
	} while (0)
	IMG("valid.elf", .paddr = 0);
	IMG("bss.elf", .memsz = 0x3000);
	IMG("two-segments.elf", .seg2 = true, .seg2_paddr = 0x200000, .seg2_memsz = 0x2000);
	IMG("overlap.elf", .seg2 = true, .seg2_paddr = TIMG_LOAD + 8, .seg2_memsz = 0x100);
	IMG("no-xen-note.elf", .no_xen_note = true);
	IMG("no-abi-note.elf", .no_abi_note = true);
	IMG("other-abi.elf", .abi = HVB_ABI_VERSION + 1);
	IMG("entry-outside.elf", .entry = TIMG_LOAD + 0x10000);
	IMG("below-1mib.elf", .paddr = 0x80000);
	IMG("beyond-ram.elf", .paddr = 0x7ff00000);
#undef IMG
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: mkseeds OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	mkdir(outdir, 0755);
	elf_seeds();
	return 0;
}
