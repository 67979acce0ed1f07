/*
 * The guest image of a run: resolved once (--image, else $HVB_GUEST_IMAGE,
 * else guest/hvbench-guest.elf next to the hvbench binary, else, for an
 * installed hvbench, ../share/hvbench/guest/hvbench-guest.elf), read once,
 * hashed once and checked once with the reference core's loader (ELF64
 * x86-64, PVH entry note, this hvbench's ABI version).  Every runner boots
 * exactly the bytes that were hashed: the reference core loads them from
 * memory, QEMU and Xen read them through a sealed memfd
 * (/proc/self/fd/N), so replacing the file mid-run changes nothing.
 */
#ifndef HVB_RUNNERS_IMAGE_H
#define HVB_RUNNERS_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elf_load.h"

struct hvb_image {
	char path[4096];      /* as resolved (for people: meta, messages) */
	uint8_t *data;        /* the file's bytes, read once */
	size_t size;
	char sha256[65];      /* of data */
	struct hv_image elf;  /* entry point, segments */
	int error;            /* 0: usable; else -errno and why says what to do */
	char why[5120];
	int fd;               /* sealed memfd holding data (-1: none) */
	char boot_path[32];   /* /proc/self/fd/<fd> */
};

/* The default image path: $HVB_GUEST_IMAGE, else next to the binary, else
 * in the installed data directory. */
void hvb_image_default_path(char *out, size_t len);

/* The data directory of an installed hvbench (PREFIX/share/hvbench, found
 * as ../share/hvbench from the binary): 0 and the path, or -ENOENT when
 * this hvbench is not an installed one. */
int hvb_installed_datadir(char *out, size_t len);

/* Resolve, read, hash and check the image at path (NULL: the default).
 * Never fails as a call: an unusable image has error and why set, so a
 * runner that needs it can say why it is unavailable. */
void hvb_image_load(struct hvb_image *img, const char *path);

/* A path through which another program (QEMU) or library (libxl) reads
 * exactly img->data (the sealed memfd, inherited by children); NULL with
 * *why if the image is not usable. */
const char *hvb_image_boot_path(const struct hvb_image *img, char *why, size_t len);

void hvb_image_free(struct hvb_image *img);

#endif
