/*
 * One side of `hvbench ab` (ab_side.h): its words, binary, identity,
 * description, command line, child process and the meta.csv keys that say
 * what made it.
 */
#include "ab_side.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "csvfile.h"
#include "util.h"

volatile sig_atomic_t ab_stop;
volatile pid_t ab_child;

/* ------------------------------------------------------------- words */

static void word_push(char ***words, size_t *n, char *w)
{
	*words = realloc(*words, (*n + 2) * sizeof(**words));
	if (!*words)
		abort();
	(*words)[(*n)++] = w;
	(*words)[*n] = NULL;
}

/* The word so far, ended: pushed if there is one. */
static void word_end(char ***words, size_t *n, char *w, size_t *len, bool *in_word)
{
	w[*len] = '\0';
	if (*in_word)
		word_push(words, n, xstrdup(w));
	*len = 0;
	*in_word = false;
}

int ab_words(const char *s, const char *opt, char ***words, size_t *n)
{
	const char *p = s ? s : "";
	char *w = xcalloc(1, strlen(p) + 1), quote = 0;
	size_t len = 0;
	bool in_word = false;

	*words = NULL;
	*n = 0;
	for (; *p; p++) {
		if (quote == '\'') {
			if (*p == '\'')
				quote = 0;
			else
				w[len++] = *p;
		} else if (quote == '"') {
			if (*p == '"')
				quote = 0;
			else if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
				w[len++] = *++p;
			else
				w[len++] = *p;
		} else if (*p == ' ' || *p == '\t' || *p == '\n') {
			word_end(words, n, w, &len, &in_word);
		} else {
			in_word = true;
			if (*p == '\'' || *p == '"')
				quote = *p;
			else if (*p == '\\' && p[1])
				w[len++] = *++p;
			else
				w[len++] = *p;
		}
	}
	if (!quote)
		word_end(words, n, w, &len, &in_word);
	free(w);
	if (quote) {
		hvb_err("ab: %s '%s': the quote %c is not closed", opt, s, quote);
		ab_words_free(*words, *n);
		*words = NULL, *n = 0;
		return -1;
	}
	return 0;
}

void ab_words_free(char **words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(words[i]);
	free(words);
}

/* ------------------------------------------------------------ binary */

/* A binary, or a build directory holding one. */
static char *resolve_bin(const char *arg, const char *opt)
{
	struct stat st;
	char *bin;

	if (stat(arg, &st)) {
		hvb_err("ab: %s %s: %s (give an hvbench binary or its build directory)", opt, arg,
			strerror(errno));
		return NULL;
	}
	bin = S_ISDIR(st.st_mode) ? xasprintf("%s/hvbench", arg) : xstrdup(arg);
	if (access(bin, X_OK)) {
		hvb_err("ab: %s: %s is not an executable hvbench (give the binary or its build "
			"directory)",
			opt, bin);
		free(bin);
		return NULL;
	}
	return bin;
}

/* This hvbench, for a side given neither a binary nor a revision. */
static char *self_bin(void)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

	if (n <= 0) {
		hvb_err("ab: cannot find this hvbench (/proc/self/exe): %s; give --a and --b",
			strerror(errno));
		return NULL;
	}
	path[n] = '\0';
	return xstrdup(path);
}

/* Only KEY=VALUE with a shell name as KEY: anything else is a typo. */
static int check_env(const struct ab_side *s)
{
	for (unsigned i = 0; i < s->cli->env.n; i++) {
		const char *e = s->cli->env.v[i], *eq = strchr(e, '=');
		bool ok = eq && eq != e && !(e[0] >= '0' && e[0] <= '9');
		for (const char *p = e; ok && p < eq; p++)
			ok = *p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			     (*p >= '0' && *p <= '9');
		if (!ok) {
			hvb_err("ab: --%s-env '%s': give KEY=VALUE (KEY letters, digits and _)",
				s->name, e);
			return -1;
		}
	}
	return 0;
}

int ab_own_args_check(char *const *args, size_t n, const char *from)
{
	static const char *const own[] = { "--reps", "-n", "--out", "-o", "--latest" };

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < ARRAY_SIZE(own); k++) {
			size_t l = strlen(own[k]);
			if (!strncmp(args[i], own[k], l) && (args[i][l] == '\0' || args[i][l] == '=')) {
				hvb_err("ab: %s'%s' is set by ab itself (rounds: ab --reps; "
					"directory: ab --out)",
					from, args[i]);
				return -1;
			}
		}
	return 0;
}

int ab_side_init(struct ab_side *s, const struct ab_side_cli *cli)
{
	char opt[16], o_args[16], o_cmd[16], from[24];
	int r;

	s->cli = cli;
	snprintf(opt, sizeof(opt), "--%s", s->name);
	snprintf(o_args, sizeof(o_args), "--%s-args", s->name);
	snprintf(o_cmd, sizeof(o_cmd), "--%s-cmd", s->name);
	snprintf(from, sizeof(from), "%s: ", o_args);
	r = ab_words(cli->args, o_args, &s->args, &s->n_args) ||
	    ab_words(cli->cmd, o_cmd, &s->cmd, &s->n_cmd) || check_env(s) ||
	    ab_own_args_check(s->args, s->n_args, from);
	if (r)
		return -1;
	if (cli->cmd && !s->n_cmd) {
		hvb_err("ab: --%s-cmd '%s' names no command", s->name, cli->cmd);
		return -1;
	}
	if (cli->bin && cli->rev) {
		hvb_err("ab: give --%s BIN or --%s-rev REV, not both", s->name, s->name);
		return -1;
	}
	if (cli->rev)
		return 0; /* ab_rev_build() makes the binary */
	s->bin = cli->bin ? resolve_bin(cli->bin, opt) : self_bin();
	if (!s->bin)
		return -1;
	ab_side_identify(s);
	return 0;
}

/* ---------------------------------------------------------- identity */

/* The first line `<bin> --version` prints ("?" if none). */
static char *bin_version(const char *bin)
{
	char *argv[] = { (char *)bin, "--version", NULL }, line[256] = "?";
	int fd[2];

	if (pipe(fd))
		return xstrdup("?");
	if (ab_child_run(argv, NULL, fd[1], NULL) == 0) {
		ssize_t n;
		close(fd[1]);
		n = read(fd[0], line, sizeof(line) - 1);
		line[n > 0 ? n : 0] = '\0';
		line[strcspn(line, "\n")] = '\0';
	} else {
		close(fd[1]);
	}
	close(fd[0]);
	return xstrdup(line[0] ? line : "?");
}

/*
 * The directory resolved, the name kept: build and ./build are one side,
 * but a/hvbench and b/hvbench stay two even when both link to one file
 * (the file may tell by its name who it is, as the unit test's does).
 */
static char *bin_identity(const char *bin)
{
	char *copy = xstrdup(bin), *copy2 = xstrdup(bin), dir[PATH_MAX], *id;

	if (realpath(dirname(copy), dir))
		id = xasprintf("%s/%s", dir, basename(copy2));
	else
		id = xstrdup(bin);
	free(copy);
	free(copy2);
	return id;
}

void ab_side_identify(struct ab_side *s)
{
	free(s->identity);
	free(s->version);
	s->identity = s->commit ? xasprintf("rev:%s", s->commit) : bin_identity(s->bin);
	s->version = bin_version(s->bin);
}

static bool words_equal(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]))
			return false;
	return true;
}

static bool env_has(const struct hvb_opt_list *l, const char *e)
{
	for (unsigned i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], e))
			return true;
	return false;
}

/* The same settings, in any order (a repeated KEY=VALUE counts once). */
static bool env_equal(const struct hvb_opt_list *a, const struct hvb_opt_list *b)
{
	for (unsigned i = 0; i < a->n; i++)
		if (!env_has(b, a->v[i]))
			return false;
	for (unsigned i = 0; i < b->n; i++)
		if (!env_has(a, b->v[i]))
			return false;
	return true;
}

bool ab_sides_identical(const struct ab_side *a, const struct ab_side *b)
{
	return !strcmp(a->identity, b->identity) && env_equal(&a->cli->env, &b->cli->env) &&
	       words_equal(a->args, a->n_args, b->args, b->n_args) &&
	       words_equal(a->cmd, a->n_cmd, b->cmd, b->n_cmd);
}

/* ------------------------------------------------------- description */

static char *env_text(const struct ab_side *s)
{
	char *t = xstrdup("");

	for (unsigned i = 0; i < s->cli->env.n; i++) {
		char *n = xasprintf("%s%s%s", t, i ? " " : "", s->cli->env.v[i]);
		free(t);
		t = n;
	}
	return t;
}

void ab_side_describe(FILE *f, const struct ab_side *s)
{
	char *env = env_text(s);

	fprintf(f, "%s (%s): %s (%s)\n", s->label, s->name[0] == 'a' ? "base" : "cand", s->bin,
		s->version);
	if (s->commit)
		fprintf(f, "  rev:     %s = %s (%s)\n", s->cli->rev, s->commit, s->describe);
	fprintf(f, "  env:     %s\n", env[0] ? env : "(inherited only)");
	fprintf(f, "  args:    %s\n", s->cli->args && s->n_args ? s->cli->args : "(none)");
	fprintf(f, "  wrapper: %s\n", s->n_cmd ? s->cli->cmd : "(none)");
	free(env);
}

/* ------------------------------------------------------------- child */

char **ab_side_argv(const struct ab_side *s, char *const *run_args, size_t n_run_args)
{
	char **argv = xcalloc(s->n_cmd + 2 + n_run_args + s->n_args + 1, sizeof(*argv));
	size_t n = 0;

	for (size_t i = 0; i < s->n_cmd; i++)
		argv[n++] = s->cmd[i];
	argv[n++] = s->bin;
	argv[n++] = "run";
	for (size_t i = 0; i < n_run_args; i++)
		argv[n++] = run_args[i];
	/* last: a side's own setting wins over one given to both */
	for (size_t i = 0; i < s->n_args; i++)
		argv[n++] = s->args[i];
	argv[n] = NULL;
	return argv;
}

int ab_child_run(char *const *argv, const struct hvb_opt_list *env, int fd, const char *cwd)
{
	int st = -1;
	pid_t pid = fork();

	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		for (unsigned i = 0; env && i < env->n; i++)
			putenv((char *)env->v[i]);
		if (cwd && chdir(cwd)) {
			fprintf(stderr, "hvbench ab: cannot enter %s: %s\n", cwd, strerror(errno));
			_exit(127);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "hvbench ab: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (pid < 0)
		return -1;
	ab_child = pid;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	ab_child = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* -------------------------------------------------------------- meta */

struct meta_rows {
	char ***rows; /* key, value */
	size_t n;
};

static int meta_row(void *arg, char **fields, size_t n, long line)
{
	struct meta_rows *m = arg;

	(void)line;
	m->rows = realloc(m->rows, (m->n + 1) * sizeof(*m->rows));
	if (!m->rows)
		abort();
	m->rows[m->n] = xcalloc(2, sizeof(char *));
	m->rows[m->n][0] = xstrdup(n > 0 ? fields[0] : "");
	m->rows[m->n][1] = xstrdup(n > 1 ? fields[1] : "");
	m->n++;
	return 0;
}

static void meta_set(struct meta_rows *m, const char *key, const char *value)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->rows[i][0], key)) {
			free(m->rows[i][1]);
			m->rows[i][1] = xstrdup(value ? value : "");
			return;
		}
	char *f[] = { (char *)key, (char *)(value ? value : "") };
	meta_row(m, f, 2, 0);
}

/* meta.csv.tmp, fsync'ed, renamed over meta.csv, directory fsync'ed: a
 * reader sees the old file or the new one, never a torn one. */
static int meta_write(const char *run, const struct meta_rows *m)
{
	char *tmp = xasprintf("%s/meta.csv.tmp", run), *path = xasprintf("%s/meta.csv", run);
	FILE *f = fopen(tmp, "we");
	int r = f ? 0 : -errno, dfd;

	for (size_t i = 0; f && !r && i < m->n; i++)
		r = hvb_csv_write_row(f, (const char *const *)m->rows[i], 2);
	if (f && !r && (fflush(f) || fsync(fileno(f))))
		r = -errno;
	if (f && fclose(f) && !r)
		r = -errno;
	if (!r && rename(tmp, path))
		r = -errno;
	dfd = open(run, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!r && (dfd < 0 || fsync(dfd)))
		r = -errno;
	if (dfd >= 0)
		close(dfd);
	if (r)
		unlink(tmp);
	free(tmp);
	free(path);
	return r;
}

int ab_side_meta(const struct ab_side *s, const char *run, unsigned round)
{
	char *path = xasprintf("%s/meta.csv", run), err[256], *env = env_text(s), rnd[16];
	struct meta_rows m = { 0 };
	int r = hvb_csv_read(path, meta_row, &m, NULL, err, sizeof(err));

	snprintf(rnd, sizeof(rnd), "%u", round);
	if (!r) {
		meta_set(&m, "ab.side", s->label);
		meta_set(&m, "ab.round", rnd);
		meta_set(&m, "ab.binary", s->bin);
		meta_set(&m, "ab.binary_version", s->version);
		meta_set(&m, "ab.env", env);
		meta_set(&m, "ab.args", s->n_args ? s->cli->args : "");
		meta_set(&m, "ab.cmd", s->n_cmd ? s->cli->cmd : "");
		if (s->commit) {
			meta_set(&m, "ab.rev", s->cli->rev);
			meta_set(&m, "ab.rev_commit", s->commit);
			meta_set(&m, "ab.rev_describe", s->describe);
		}
		r = meta_write(run, &m);
		if (r)
			snprintf(err, sizeof(err), "cannot rewrite %s: %s", path, strerror(-r));
	}
	if (r)
		hvb_err("ab: %s: %s", run, err);
	for (size_t i = 0; i < m.n; i++) {
		free(m.rows[i][0]);
		free(m.rows[i][1]);
		free(m.rows[i]);
	}
	free(m.rows);
	free(env);
	free(path);
	return r;
}

void ab_side_free(struct ab_side *s)
{
	for (size_t i = 0; i < s->n_runs; i++)
		free(s->runs[i]);
	free(s->runs);
	ab_words_free(s->args, s->n_args);
	ab_words_free(s->cmd, s->n_cmd);
	free(s->bin);
	free(s->identity);
	free(s->version);
	free(s->commit);
	free(s->describe);
	free(s->src);
	free(s->build_log);
	free(s->dir);
}
