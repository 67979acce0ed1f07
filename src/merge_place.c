#include "merge_place.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

struct names {
	size_t n;
	char **v;
};

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	ns->n = 0, ns->v = NULL;
}

/* Not part of a run's content: the writer's reserved space for meta.csv. */
static bool file_skipped(const char *name)
{
	return name[0] == '.' || !strcmp(name, "meta.csv.tmp");
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of a run directory, sorted by name; -errno, or -EINVAL
 * for an entry that is not one (a merge copies files only). */
static int run_files(const char *dir, struct names *ns, char *why, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int r = 0;

	ns->n = 0, ns->v = NULL;
	if (!d) {
		r = -errno;
		snprintf(why, len, "%s: %s", dir, strerror(errno));
		return r;
	}
	while (!r && (e = readdir(d))) {
		struct stat st;
		if (file_skipped(e->d_name))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			r = -errno;
			snprintf(why, len, "%s/%s: %s", dir, e->d_name, strerror(errno));
		} else if (!S_ISREG(st.st_mode)) {
			r = -EINVAL;
			snprintf(why, len,
				 "%s/%s: not a regular file (a run directory holds only files: "
				 "results/FORMAT.md)",
				 dir, e->d_name);
		} else {
			ns->v = realloc(ns->v, (ns->n + 1) * sizeof(*ns->v));
			if (!ns->v)
				abort();
			ns->v[ns->n++] = xstrdup(e->d_name);
		}
	}
	closedir(d);
	if (ns->n > 1)
		qsort(ns->v, ns->n, sizeof(*ns->v), name_cmp);
	return r;
}

/* 1 if files a and b hold the same bytes, 0 if not, -errno. */
static int file_same(const char *a, const char *b)
{
	char ba[65536], bb[65536];
	int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC), r = 1;
	struct stat sa, sb;

	if (fa < 0 || fb < 0 || fstat(fa, &sa) || fstat(fb, &sb)) {
		r = -errno;
		goto out;
	}
	if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
		goto out; /* hard-linked by an earlier merge */
	if (sa.st_size != sb.st_size) {
		r = 0;
		goto out;
	}
	for (;;) {
		ssize_t na = read(fa, ba, sizeof(ba)), nb = na > 0 ? read(fb, bb, (size_t)na) : 0;
		if (na < 0 || nb < 0) {
			r = -errno;
			break;
		}
		if (na != nb || memcmp(ba, bb, (size_t)na)) {
			r = na ? 0 : 1;
			break;
		}
		if (!na)
			break;
	}
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return r;
}

static int names_same(const struct names *x, const struct names *y, const char *a,
		      const char *b, char *why, size_t len)
{
	for (size_t i = 0; i < x->n || i < y->n; i++) {
		const char *nx = i < x->n ? x->v[i] : NULL, *ny = i < y->n ? y->v[i] : NULL;
		if (!nx || !ny || strcmp(nx, ny)) {
			int cmp = !nx ? 1 : !ny ? -1 : strcmp(nx, ny);
			snprintf(why, len, "%s is only in %s", cmp < 0 ? nx : ny, cmp < 0 ? a : b);
			return 0;
		}
	}
	return 1;
}

int hvb_merge_same(const char *a, const char *b, char *why, size_t len)
{
	struct names x, y;
	int r = run_files(a, &x, why, len);

	if (!r)
		r = run_files(b, &y, why, len);
	else
		y.n = 0, y.v = NULL;
	if (!r)
		r = names_same(&x, &y, a, b, why, len);
	for (size_t i = 0; r == 1 && i < x.n; i++) {
		char *pa = xasprintf("%s/%s", a, x.v[i]), *pb = xasprintf("%s/%s", b, x.v[i]);
		r = file_same(pa, pb);
		if (r == 0)
			snprintf(why, len, "%s differs", x.v[i]);
		else if (r < 0)
			snprintf(why, len, "cannot read %s or %s: %s", pa, pb, strerror(-r));
		free(pa), free(pb);
	}
	names_free(&x);
	names_free(&y);
	return r;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w, n -= (size_t)w;
	}
	return 0;
}

/* Copy src to a new file dst, fsync'ed. */
static int file_copy(const char *src, const char *dst)
{
	char buf[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC), r = 0, out = -1;
	ssize_t n;

	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0)
		r = -errno;
	while (!r && (n = read(in, buf, sizeof(buf))) != 0)
		r = n < 0 ? (errno == EINTR ? 0 : -errno) : write_all(out, buf, (size_t)n);
	if (!r && fsync(out))
		r = -errno;
	if (out >= 0 && close(out) && !r)
		r = -errno;
	close(in);
	return r;
}

/* One file into the temporary directory: a hard link where the file
 * system allows it (the bytes are the source's, nothing to fsync), else a
 * copy. */
static int file_place(const char *src, const char *dst, bool may_link, bool *linked)
{
	if (may_link && !link(src, dst))
		return 0;
	if (may_link && errno != EXDEV && errno != EPERM && errno != EMLINK && errno != EACCES)
		return -errno;
	*linked = false;
	return file_copy(src, dst);
}

static void tmp_remove(const char *tmp)
{
	DIR *d = opendir(tmp);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(tmp);
}

void hvb_merge_clean(const char *folder)
{
	DIR *d = opendir(folder);
	struct dirent *e;
	size_t pl = strlen(HVB_MERGE_TMP_PREFIX);

	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (strncmp(e->d_name, HVB_MERGE_TMP_PREFIX, pl) || l < pl + 4 ||
		    strcmp(e->d_name + l - 4, ".tmp"))
			continue;
		char *p = xasprintf("%s/%s", folder, e->d_name);
		tmp_remove(p);
		free(p);
	}
	closedir(d);
}

int hvb_merge_place(const char *folder, const char *src, const char *run_id, bool may_link,
		    bool *linked, char *err, size_t errlen)
{
	char *tmp = xasprintf("%s/" HVB_MERGE_TMP_PREFIX "%s.tmp", folder, run_id);
	char *dst = xasprintf("%s/%s", folder, run_id);
	struct names ns;
	int r = run_files(src, &ns, err, errlen);

	*linked = true;
	if (!r && mkdir(tmp, 0755)) {
		r = -errno;
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
	}
	for (size_t i = 0; !r && i < ns.n; i++) {
		char *s = xasprintf("%s/%s", src, ns.v[i]), *d = xasprintf("%s/%s", tmp, ns.v[i]);
		if ((r = file_place(s, d, may_link, linked)))
			snprintf(err, errlen, "cannot put %s into %s: %s", s, tmp, strerror(-r));
		free(s), free(d);
	}
	if (!r && (r = hvb_fsync_dir(tmp)))
		snprintf(err, errlen, "cannot fsync %s: %s", tmp, strerror(-r));
	if (!r && rename(tmp, dst)) {
		r = -errno;
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, dst, strerror(errno));
	}
	if (!r && (r = hvb_fsync_dir(folder)))
		snprintf(err, errlen, "cannot fsync %s: %s", folder, strerror(-r));
	if (r)
		tmp_remove(tmp);
	names_free(&ns);
	free(tmp);
	free(dst);
	return r;
}
