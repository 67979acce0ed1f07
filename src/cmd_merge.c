/*
 * hvbench merge: the runs of several hosts (or several runs of one) as one
 * folder of runs, DIR/<run-id>/ each, indexed by DIR/merge.csv with the
 * host of every run, so compare and report can take the whole fleet and
 * still tell the hosts apart (results/FORMAT.md "Merge folders").
 *
 * Every input is checked before anything is written (a refusal leaves DIR
 * as it was); runs are placed by merge_place.c; merge.csv is rewritten
 * atomically last, so a merge killed half-way leaves the index of the
 * previous one and runs the next merge of the same inputs finds in place.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "csvfile.h"
#include "merge_place.h"
#include "opt.h"
#include "results.h"
#include "runfolder.h"
#include "util.h"

#define MERGE_INDEX "merge.csv"
enum { COL_RUN, COL_HOST, COL_IDENTITY, COL_KIND, COL_STATUS, COL_SOURCE, COL_ROWS, N_COLS };
static const char *const index_header[N_COLS] = { "run_id",    "host_name", "host_identity",
						  "host_kind", "status",    "source",
						  "rows" };

/* One run of the folder: a row of merge.csv. */
struct entry {
	char *f[N_COLS];
};

struct merge {
	const char *dir;
	bool allow_partial;
	bool fresh;  /* DIR did not exist: made after the inputs are checked */
	int lock_fd; /* DIR, flock'ed */
	size_t n;
	struct entry *e;
};

static void entry_free(struct entry *e)
{
	for (int i = 0; i < N_COLS; i++)
		free(e->f[i]);
}

static struct entry *entry_find(struct merge *m, const char *run_id)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->e[i].f[COL_RUN], run_id))
			return &m->e[i];
	return NULL;
}

static struct entry *entry_add(struct merge *m)
{
	m->e = realloc(m->e, (m->n + 1) * sizeof(*m->e));
	if (!m->e)
		abort();
	memset(&m->e[m->n], 0, sizeof(m->e[0]));
	return &m->e[m->n++];
}

static int index_row(void *arg, char **f, size_t n, long line)
{
	struct merge *m = arg;
	struct entry *e;

	if (line == 1) {
		for (size_t i = 0; i < N_COLS; i++)
			if (n < N_COLS || strcmp(f[i], index_header[i]))
				return -EPROTO;
		return 0;
	}
	if (n < N_COLS || !hvb_run_id_valid(f[COL_RUN]) || entry_find(m, f[COL_RUN]))
		return -EBADMSG;
	e = entry_add(m);
	for (int i = 0; i < N_COLS; i++)
		e->f[i] = xstrdup(f[i]);
	return 0;
}

/* DIR's merge.csv into m; -ENOENT when there is none. */
static int index_read(struct merge *m, char *err, size_t len)
{
	char *path = xasprintf("%s/" MERGE_INDEX, m->dir);
	int r = access(path, F_OK) ? -ENOENT : hvb_csv_read(path, index_row, m, NULL, err, len);

	if (r == -EPROTO || r == -EBADMSG)
		snprintf(err, len,
			 "%s: %s; not an hvbench merge index (results/FORMAT.md), or damaged", path,
			 r == -EPROTO ? "header is not run_id,host_name,...,rows"
				      : "a row without its columns, a bad run id or one listed twice");
	free(path);
	return r;
}

static int index_write(const struct merge *m)
{
	char *tmp = xasprintf("%s/" MERGE_INDEX ".tmp", m->dir);
	char *path = xasprintf("%s/" MERGE_INDEX, m->dir);
	FILE *f = fopen(tmp, "w");
	int r = f ? hvb_csv_write_row(f, index_header, N_COLS) : -errno;

	for (size_t i = 0; !r && i < m->n; i++)
		r = hvb_csv_write_row(f, (const char *const *)m->e[i].f, N_COLS);
	if (f && (fflush(f) || fsync(fileno(f))) && !r)
		r = -errno;
	if (f && fclose(f) && !r)
		r = -errno;
	if (!r && rename(tmp, path))
		r = -errno;
	if (!r)
		r = hvb_fsync_dir(m->dir);
	if (r) {
		hvb_err("merge: cannot write %s: %s", path, strerror(-r));
		unlink(tmp);
	}
	free(tmp);
	free(path);
	return r;
}

/* Does DIR hold anything but what a killed merge leaves (.merge-*.tmp)? */
static bool dir_has_content(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool any = false;

	while (d && !any && (e = readdir(d)))
		any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		      strncmp(e->d_name, HVB_MERGE_TMP_PREFIX, strlen(HVB_MERGE_TMP_PREFIX));
	if (d)
		closedir(d);
	return any;
}

/* Lock the merge folder against a second merge into it: 0 (m->lock_fd
 * set), or -1 after saying why. */
static int folder_lock(struct merge *m)
{
	m->lock_fd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->lock_fd < 0) {
		hvb_err("merge: cannot open %s: %s", m->dir, strerror(errno));
		return -1;
	}
	if (flock(m->lock_fd, LOCK_EX | LOCK_NB)) {
		hvb_err("merge: %s is locked by another hvbench merge; wait for it", m->dir);
		return -1;
	}
	return 0;
}

/* An existing merge folder, locked, its index read; a missing one is
 * created only once the inputs passed (m->fresh).  0, or -1 after saying
 * why (*usage: invalid input). */
static int folder_open(struct merge *m, bool *usage)
{
	char err[4400];
	int r;

	*usage = false;
	if (access(m->dir, F_OK) && errno == ENOENT) {
		m->fresh = true;
		return 0;
	}
	if (folder_lock(m))
		return -1;
	r = index_read(m, err, sizeof(err));
	if (r == -ENOENT && dir_has_content(m->dir)) {
		hvb_err("merge: %s is not empty and not a merge folder (no " MERGE_INDEX
			"): give a new or empty directory, or an earlier merge's --out",
			m->dir);
		*usage = true;
	} else if (r && r != -ENOENT) {
		hvb_err("merge: %s", err);
		*usage = true;
	}
	if (*usage)
		return -1;
	hvb_merge_clean(m->dir);
	return 0;
}

/* The folder of a first merge, made once its inputs passed. */
static int folder_create(struct merge *m)
{
	int r = hvb_mkdir_p(m->dir);

	if (r) {
		hvb_err("merge: cannot create %s: %s", m->dir, strerror(-r));
		return -1;
	}
	return folder_lock(m);
}

static const char *meta_or(const struct hvb_run *run, const char *key)
{
	const char *v = hvb_run_meta(run, key);
	return v ? v : "";
}

/* Is run (from src) already in the folder (1), a run with its id but other
 * bytes (-1, said), or new (0)? */
static int run_known(struct merge *m, const char *src, const char *id)
{
	char *dst = xasprintf("%s/%s", m->dir, id), why[4400];
	struct stat st;
	int r = 0;

	if (!lstat(dst, &st)) {
		r = hvb_merge_same(src, dst, why, sizeof(why));
		if (r == 0)
			hvb_err("merge: %s: run id %s is already in %s with other content (%s): two "
				"different runs cannot share a run id; merge one into another folder",
				src, id, m->dir, why);
		else if (r < 0)
			hvb_err("merge: %s", why);
		r = r == 1 ? 1 : r == 0 ? -1 : r;
	}
	free(dst);
	return r;
}

/* The index row of a run read from src (replacing the row of a run whose
 * directory was removed from the folder since). */
static void entry_of_run(struct merge *m, const struct hvb_run *run, const char *src)
{
	struct entry *e = entry_find(m, hvb_run_meta(run, "run_id"));
	char rows[32];
	const char *vals[N_COLS] = { hvb_run_meta(run, "run_id"), meta_or(run, "host_name"),
				     meta_or(run, "host_identity"), meta_or(run, "host_kind"),
				     run->status, src, rows };

	if (e)
		entry_free(e);
	else
		e = entry_add(m);
	snprintf(rows, sizeof(rows), "%zu", run->n_samples);
	for (int i = 0; i < N_COLS; i++)
		e->f[i] = xstrdup(vals[i]);
}

/* An input run that this merge must place (checked, not yet written). */
struct pending {
	char *src, *id;
	size_t rows;
	bool complete; /* only a complete run is hard-linked */
};

/* Read and check one input run; a new one becomes a pending entry. */
static int input_check(struct merge *m, const char *src, struct pending **p, size_t *np)
{
	struct hvb_run run;
	char err[4400];
	int r = hvb_run_read(src, true, &run, err, sizeof(err));
	const char *id;

	if (r) {
		hvb_err("merge: %s", err);
		return -1;
	}
	id = hvb_run_meta(&run, "run_id");
	for (size_t i = 0; !r && i < *np; i++) {
		if (strcmp((*p)[i].id, id))
			continue;
		r = hvb_merge_same(src, (*p)[i].src, err, sizeof(err));
		if (r == 0)
			hvb_err("merge: %s and %s are two different runs with one run id %s (%s)",
				(*p)[i].src, src, id, err);
		else if (r < 0)
			hvb_err("merge: %s", err);
		r = r == 1 ? 2 : -1; /* 2: the same run given twice */
	}
	if (!r)
		r = run_known(m, src, id);
	/* a run already merged was let in then: only a new one is refused */
	if (!r && strcmp(run.status, "complete") && !m->allow_partial) {
		hvb_err("merge: %s: run is incomplete (meta.csv status %s); pass --allow-partial "
			"to merge it (merge.csv then records its status)",
			src, run.status);
		r = -1;
	}
	if (!r) {
		entry_of_run(m, &run, src);
		*p = realloc(*p, (*np + 1) * sizeof(**p));
		if (!*p)
			abort();
		(*p)[(*np)++] = (struct pending){ xstrdup(src), xstrdup(id), run.n_samples,
						     !strcmp(run.status, "complete") };
	} else if (r == 1 && !entry_find(m, id)) {
		/* placed by a merge killed before its index: index it now */
		entry_of_run(m, &run, src);
		fprintf(stderr, "hvbench: merge: %s already in %s, indexed\n", id, m->dir);
	} else if (r == 1) {
		fprintf(stderr, "hvbench: merge: %s already in %s\n", id, m->dir);
	} else if (r == 2) {
		fprintf(stderr, "hvbench: merge: %s given twice (%s), merged once\n", id, src);
	}
	hvb_run_free(&run);
	return r < 0 ? -1 : 0;
}

/* Check the placed copy with the tree's reader: it reads, and holds the
 * rows the source held. */
static int placed_verify(const struct merge *m, const struct pending *p)
{
	char *dst = xasprintf("%s/%s", m->dir, p->id), err[4400];
	struct hvb_run run;
	int r = hvb_run_read(dst, true, &run, err, sizeof(err));

	if (r)
		hvb_err("merge: %s does not read back: %s", dst, err);
	else if (run.n_samples != p->rows)
		hvb_err("merge: %s reads back %zu sample rows, its source %s has %zu", dst,
			run.n_samples, p->src, p->rows), r = -1;
	if (!r)
		hvb_run_free(&run);
	free(dst);
	return r;
}

static int pending_place(const struct merge *m, const struct pending *p)
{
	char err[4400];
	bool linked;

	if (hvb_merge_place(m->dir, p->src, p->id, p->complete, &linked, err, sizeof(err))) {
		hvb_err("merge: %s", err);
		return -1;
	}
	if (placed_verify(m, p))
		return -1;
	fprintf(stderr, "hvbench: merge: %s %s from %s\n", p->id, linked ? "linked" : "copied",
		p->src);
	return 0;
}

static const char merge_usage[] =
	"merge --out DIR [--allow-partial] RUN_OR_FOLDER...\n\n"
	"Combine result directories (from several hosts, or several runs) into one\n"
	"folder of runs: DIR/<run-id>/ for each input run, hard-linked where DIR is on\n"
	"the run's file system (a complete run), else copied, each read back with the\n"
	"results reader;\n"
	"then DIR/merge.csv (run_id, host_name, host_identity, host_kind, status,\n"
	"source, rows), written atomically last.  An input that is a folder of runs\n"
	"(an --out parent, another merge) stands for every run in it.  Merging into\n"
	"an existing merge folder adds runs; a run already there is left as it is.\n"
	"Refused, before anything is written: two runs with one run id and different\n"
	"content, a run that did not complete (unless --allow-partial: merge.csv\n"
	"records its status), and a non-empty DIR that is not a merge folder.\n"
	"hvbench compare and report take DIR as a folder of runs.\n"
	"Exit status: 0 merged, 1 cannot write, 2 usage or invalid input.";

static void pending_free(struct pending *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i].src), free(p[i].id);
	free(p);
}

/* Every input checked, then placed, then the index: a refusal writes nothing. */
static int merge_inputs(struct merge *m, char **runs, size_t n_runs)
{
	struct pending *p = NULL;
	size_t np = 0;
	int r = 0;

	for (size_t i = 0; i < n_runs && !r; i++)
		r = input_check(m, runs[i], &p, &np);
	if (r) {
		pending_free(p, np);
		return HVB_EXIT_USAGE;
	}
	if (m->fresh)
		r = folder_create(m);
	for (size_t i = 0; i < np && !r; i++)
		r = pending_place(m, &p[i]);
	/* after a failure the index stays the last merge's: the runs placed
	 * before it are found, and indexed, by the next merge */
	if (!r)
		r = index_write(m);
	pending_free(p, np);
	return r ? HVB_EXIT_FAILURE : HVB_EXIT_SUCCESS;
}

static int merge_main(int argc, char **argv)
{
	struct merge m = { .lock_fd = -1 };
	char **runs = NULL, err[4400];
	size_t n_runs = 0;
	bool usage;
	int npos, r;
	const struct hvb_opt opts[] = {
		OPT_STR("out", 'o', &m.dir, "DIR", "the merge folder (created; or an earlier merge)"),
		OPT_FLAG("allow-partial", 0, &m.allow_partial,
			 "merge runs that did not complete too (merge.csv records their status)"),
		OPT_END(),
	};

	r = hvb_opt_parse("merge", merge_usage, opts, argc, argv, &npos);
	if (r)
		return r > 0 ? HVB_EXIT_SUCCESS : HVB_EXIT_USAGE;
	if (!m.dir || !*m.dir || npos < 1) {
		hvb_err("merge: %s (see 'hvbench merge --help')",
			npos < 1 ? "give the runs or folders of runs to merge" : "give --out DIR");
		return HVB_EXIT_USAGE;
	}
	for (int i = 1; i <= npos; i++)
		if (hvb_runs_expand(argv[i], &runs, &n_runs, err, sizeof(err))) {
			hvb_err("merge: %s", err);
			hvb_runs_free(runs, n_runs);
			return HVB_EXIT_USAGE;
		}
	r = folder_open(&m, &usage) ? (usage ? HVB_EXIT_USAGE : HVB_EXIT_FAILURE)
				    : merge_inputs(&m, runs, n_runs);
	if (!r)
		printf("%s\n", m.dir);
	if (m.lock_fd >= 0)
		close(m.lock_fd);
	for (size_t i = 0; i < m.n; i++)
		entry_free(&m.e[i]);
	free(m.e);
	hvb_runs_free(runs, n_runs);
	return r;
}

static const struct hvb_cmd merge_cmd = {
	.name = "merge",
	.summary = "combine result directories of several hosts into one folder of runs",
	.main = merge_main,
	.order = 9,
};
HVB_CMD(merge_cmd);
