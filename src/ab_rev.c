/*
 * Git revisions of hvbench as sides of `hvbench ab` (ab_rev.h): resolve,
 * check out, build, remove.
 */
#include "ab_rev.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* The first line git prints on stdout, or NULL if it failed (status in *st). */
static char *git_line(char *const *argv, int *st)
{
	char line[512] = "";
	int fd[2];
	ssize_t n;

	if (pipe(fd)) {
		*st = -1;
		return NULL;
	}
	*st = ab_child_run(argv, NULL, fd[1], NULL);
	close(fd[1]);
	n = *st == 0 ? read(fd[0], line, sizeof(line) - 1) : 0;
	close(fd[0]);
	line[n > 0 ? n : 0] = '\0';
	line[strcspn(line, "\n")] = '\0';
	return *st == 0 && line[0] ? xstrdup(line) : NULL;
}

/* REV as a full commit hash of repo; NULL after an error. */
static char *rev_commit(const struct ab_side *s, const char *repo)
{
	char *spec = xasprintf("%s^{commit}", s->cli->rev), *commit;
	char *argv[] = { "git", "-C", (char *)repo, "rev-parse", "--verify", "--quiet", spec,
			 NULL };
	int st;

	commit = git_line(argv, &st);
	free(spec);
	if (st == 127)
		hvb_err("ab: --%s-rev needs git, which did not run (install git, or give "
			"--%s BIN)",
			s->name, s->name);
	else if (!commit)
		hvb_err("ab: --%s-rev %s: not a commit of the repository %s (see --repo)", s->name,
			s->cli->rev, repo);
	return commit;
}

/* One step of the build, output appended to the log; 0 or its status. */
static int step(char *const *argv, const char *log, const char *cwd)
{
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644), st;

	if (fd < 0) {
		hvb_err("ab: cannot write %s: %s (choose another --out)", log, strerror(errno));
		return -1;
	}
	dprintf(fd, "+");
	for (size_t i = 0; argv[i]; i++)
		dprintf(fd, " %s", argv[i]);
	dprintf(fd, "\n");
	st = ab_child_run(argv, NULL, fd, cwd);
	close(fd);
	return st;
}

static int checkout(struct ab_side *s, const char *repo)
{
	char *argv[] = { "git", "-C", (char *)repo, "worktree", "add", "--detach", s->src,
			 s->commit, NULL };
	int st = step(argv, s->build_log, NULL);

	if (st)
		hvb_err("ab: --%s-rev %s (%.12s): git worktree add failed (status %d), see %s",
			s->name, s->cli->rev, s->commit, st, s->build_log);
	return st ? -1 : 0;
}

static int build(struct ab_side *s, char **make_args, size_t n_make_args)
{
	char jobs[32], **argv = xcalloc(n_make_args + 5, sizeof(*argv));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = 0;
	int st;

	snprintf(jobs, sizeof(jobs), "-j%ld", cpus > 0 ? cpus : 1);
	argv[n++] = "make";
	argv[n++] = jobs;
	/* the build's own directory, whatever O the caller's environment has */
	argv[n++] = "O=build";
	for (size_t i = 0; i < n_make_args; i++)
		argv[n++] = make_args[i];
	fprintf(stderr, "hvbench: ab: building %s (%.12s) for %s, log %s ... ", s->cli->rev,
		s->commit, s->label, s->build_log);
	st = step(argv, s->build_log, s->src);
	free(argv);
	fprintf(stderr, "%s\n", ab_stop ? "stopped" : st ? "failed" : "ok");
	if (st && ab_stop)
		return -1; /* ab says it was stopped */
	if (st) {
		hvb_err("ab: --%s-rev %s (%.12s): the build failed (status %d), see %s", s->name,
			s->cli->rev, s->commit, st, s->build_log);
		return -1;
	}
	s->bin = xasprintf("%s/build/hvbench", s->src);
	if (access(s->bin, X_OK)) {
		hvb_err("ab: --%s-rev %s (%.12s): the build made no %s, see %s", s->name,
			s->cli->rev, s->commit, s->bin, s->build_log);
		return -1;
	}
	return 0;
}

int ab_rev_build(struct ab_side *s, const char *repo, const char *out, char **make_args,
		 size_t n_make_args)
{
	char abs[PATH_MAX];
	int st;

	if (!realpath(out, abs)) {
		hvb_err("ab: %s: %s", out, strerror(errno));
		return -1;
	}
	s->src = xasprintf("%s/src-%s", abs, s->name);
	s->build_log = xasprintf("%s/build-%s.log", abs, s->name);
	if (checkout(s, repo) || ab_stop || build(s, make_args, n_make_args))
		return -1;
	char *argv[] = { "git", "-C", s->src, "describe", "--always", "--dirty", NULL };
	s->describe = git_line(argv, &st);
	if (!s->describe)
		s->describe = xstrdup(s->commit);
	ab_side_identify(s);
	return 0;
}

int ab_rev_resolve(struct ab_side *s, const char *repo)
{
	s->commit = rev_commit(s, repo);
	if (!s->commit)
		return -1;
	s->identity = xasprintf("rev:%s", s->commit);
	return 0;
}

void ab_rev_remove(struct ab_side *s, const char *repo)
{
	char *argv[] = { "git", "-C", (char *)repo, "worktree", "remove", "--force", s->src,
			 NULL };

	if (!s->src || access(s->src, F_OK))
		return;
	if (step(argv, s->build_log, NULL))
		hvb_warn("ab: could not remove the worktree %s (see %s): remove it and run "
			 "'git worktree prune' in %s",
			 s->src, s->build_log, repo);
}
