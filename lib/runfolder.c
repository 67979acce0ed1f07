#include "runfolder.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

bool hvb_is_run_dir(const char *dir)
{
	char *p = xasprintf("%s/meta.csv", dir);
	bool yes = access(p, F_OK) == 0;

	free(p);
	return yes;
}

static void runs_push(char ***v, size_t *n, char *dir)
{
	*v = realloc(*v, (*n + 1) * sizeof(**v));
	if (!*v)
		abort();
	(*v)[(*n)++] = dir;
}

/* A child a folder lists as a run: a real directory (not a link to one,
 * like results/latest) that holds meta.csv. */
static bool child_is_run(const char *dir)
{
	struct stat st;

	return !lstat(dir, &st) && S_ISDIR(st.st_mode) && hvb_is_run_dir(dir);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int hvb_runs_expand(const char *path, char ***v, size_t *n, char *err, size_t errlen)
{
	size_t first = *n;
	struct dirent *e;
	DIR *d;

	if (hvb_is_run_dir(path)) {
		runs_push(v, n, xstrdup(path));
		return 0;
	}
	d = opendir(path);
	if (!d) {
		int r = -errno;
		snprintf(err, errlen, "%s: %s (give a run directory or a folder of runs)", path,
			 strerror(errno));
		return r;
	}
	while ((e = readdir(d))) {
		char *child;
		if (e->d_name[0] == '.')
			continue;
		child = xasprintf("%s/%s", path, e->d_name);
		if (child_is_run(child))
			runs_push(v, n, child);
		else
			free(child);
	}
	closedir(d);
	if (*n == first) {
		snprintf(err, errlen,
			 "%s: not a result directory (no meta.csv) and no run directory in it: "
			 "give a run directory or a folder of runs (e.g. an --out parent or an "
			 "hvbench merge folder)",
			 path);
		return -ENOENT;
	}
	qsort(*v + first, *n - first, sizeof(**v), name_cmp);
	return 0;
}

void hvb_runs_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
