#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define IMAGE_REL "guest/hvbench-guest.elf"

/* The directory of the running hvbench binary, or "." if unknown. */
static void exe_dir(char *out, size_t len)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	self[n > 0 ? n : 0] = '\0';
	slash = strrchr(self, '/');
	if (n <= 0 || !slash) {
		hvb_strlcpy(out, ".", len);
		return;
	}
	*slash = '\0';
	hvb_strlcpy(out, self, len);
}

/* `make install` puts hvbench in PREFIX/bin and its data in
 * PREFIX/share/hvbench; finding the data relative to the binary (rather than
 * by the PREFIX compiled in) keeps a tree staged with DESTDIR or moved as a
 * whole working. */
int hvb_installed_datadir(char *out, size_t len)
{
	char dir[4096], rel[4200], real[PATH_MAX];
	struct stat st;

	exe_dir(dir, sizeof(dir));
	snprintf(rel, sizeof(rel), "%s/../share/hvbench", dir);
	if (!realpath(rel, real) || stat(real, &st) || !S_ISDIR(st.st_mode))
		return -ENOENT;
	hvb_strlcpy(out, real, len);
	return 0;
}

void hvb_image_default_path(char *out, size_t len)
{
	const char *env = getenv("HVB_GUEST_IMAGE");
	char dir[4096];

	if (env && *env) {
		hvb_strlcpy(out, env, len);
		return;
	}
	/* An installed hvbench has no guest/ beside it: its image is under
	 * share/.  Otherwise (the build tree, or nothing found) the path next
	 * to the binary, which is what an error message should name. */
	exe_dir(dir, sizeof(dir));
	snprintf(out, len, "%s/%s", dir, IMAGE_REL);
	if (access(out, F_OK) && !hvb_installed_datadir(dir, sizeof(dir)))
		snprintf(out, len, "%s/%s", dir, IMAGE_REL);
}

/* Seal the copy so that neither we nor a child can change what was hashed. */
static int make_memfd(const struct hvb_image *img)
{
	int fd = memfd_create("hvbench-guest-image", MFD_ALLOW_SEALING);
	size_t off = 0;

	if (fd < 0)
		return -errno;
	while (off < img->size) {
		ssize_t n = write(fd, img->data + off, img->size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n ? -errno : -EIO;
			close(fd);
			return e;
		}
		off += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

void hvb_image_load(struct hvb_image *img, const char *path)
{
	char err[600];
	int r;

	memset(img, 0, sizeof(*img));
	img->fd = -1;
	if (path && *path)
		hvb_strlcpy(img->path, path, sizeof(img->path));
	else
		hvb_image_default_path(img->path, sizeof(img->path));
	r = hv_elf_read_file(img->path, &img->data, &img->size, err, sizeof(err));
	if (r) {
		img->error = r;
		snprintf(img->why, sizeof(img->why),
			 "%s (build it with make or install it with "
			 "make install, or give --image or HVB_GUEST_IMAGE)",
			 err);
		return;
	}
	hv_sha256_hex(img->data, img->size, img->sha256);
	r = hv_elf_parse(img->data, img->size, &img->elf, err, sizeof(err));
	if (r) {
		img->error = r;
		snprintf(img->why, sizeof(img->why), "guest image %s is not usable: %s", img->path,
			 err);
		return;
	}
	r = make_memfd(img);
	if (r < 0) {
		img->error = r;
		snprintf(img->why, sizeof(img->why),
			 "cannot make a sealed copy of guest image %s: %s", img->path,
			 strerror(-r));
		return;
	}
	img->fd = r;
	snprintf(img->boot_path, sizeof(img->boot_path), "/proc/self/fd/%d", r);
}

const char *hvb_image_boot_path(const struct hvb_image *img, char *why, size_t len)
{
	if (img->error) {
		snprintf(why, len, "%s", img->why);
		return NULL;
	}
	return img->boot_path;
}

void hvb_image_free(struct hvb_image *img)
{
	if (img->fd >= 0)
		close(img->fd);
	free(img->data);
	img->data = NULL;
	img->fd = -1;
}
