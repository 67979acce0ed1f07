/*
 * One side of `hvbench ab`: what runs as A or B.  A side is an hvbench
 * binary (default: the running one) or a git revision of hvbench built for
 * it (ab_rev.h), plus an environment, extra `run` arguments and a wrapper
 * command that must exec the hvbench command line it is given.  What made
 * the side is printed by ab and written into every run it made (meta.csv,
 * keys ab.*), so a reader sees what was compared.
 */
#ifndef HVB_AB_SIDE_H
#define HVB_AB_SIDE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "opt.h"

/* The side's options as the option parser fills them. */
struct ab_side_cli {
	const char *bin, *rev, *args, *cmd;
	struct hvb_opt_list env;
};

#define AB_SIDE_OPTS(c, s, S)                                                                     \
	OPT_STR(s, 0, &(c).bin, "BIN",                                                            \
		S ": hvbench binary or build directory (default: this hvbench)"),                 \
	OPT_STR(s "-rev", 0, &(c).rev, "REV",                                                     \
		S ": a git revision of hvbench (--repo), built in a private worktree"),           \
	OPT_LIST(s "-env", 0, &(c).env, "KEY=VALUE",                                              \
		 S ": environment of its runs, repeatable"),                                      \
	OPT_STR(s "-args", 0, &(c).args, "'ARGS'",                                                \
		S ": extra 'run' options, split like a shell (quotes, no expansion)"),            \
	OPT_STR(s "-cmd", 0, &(c).cmd, "'WRAPPER'",                                               \
		S ": run through this command, which must exec the hvbench command line "         \
		"it gets as arguments (e.g. 'taskset -c 1', a script ending in exec \"$@\")")

struct ab_side {
	const char *name;   /* "a" or "b" */
	const char *label;  /* "A" or "B" */
	const struct ab_side_cli *cli;
	char *bin;          /* the hvbench that runs */
	char *identity;     /* what decides A == B: the binary's canonical path or rev:<commit> */
	char *version;      /* `<bin> --version` */
	char **args, **cmd; /* cli->args and cli->cmd split into words */
	size_t n_args, n_cmd;
	char *commit, *describe; /* rev sides: the resolved commit, git describe */
	char *src, *build_log;   /* rev sides: the private worktree and its build log */
	char *dir;          /* OUT/a */
	char **runs;        /* run directories, one per round */
	size_t n_runs;
};

/* Set by the signal handler of ab; ab_child_run() forwards signals to its child. */
extern volatile sig_atomic_t ab_stop;
extern volatile pid_t ab_child;

/* Split s into words like a shell does, without expansion: blanks
 * separate, '...' is literal, "..." and \ escape.  0, or -1 after an error
 * naming opt. */
int ab_words(const char *s, const char *opt, char ***words, size_t *n);
void ab_words_free(char **words, size_t n);

/* Options that ab sets itself (--reps, --out, --latest) must not come in
 * through args (from: where they came from, for the message): -1 after
 * an error. */
int ab_own_args_check(char *const *args, size_t n, const char *from);

/* Check the side's options, split its words and, for a binary side, resolve
 * the binary (rev sides: ab_rev_build() sets it).  0, or -1 after an error. */
int ab_side_init(struct ab_side *s, const struct ab_side_cli *cli);

/* The binary is known: record its identity and version. */
void ab_side_identify(struct ab_side *s);

/* The same binary, environment, arguments and wrapper on both sides. */
bool ab_sides_identical(const struct ab_side *a, const struct ab_side *b);

/* What the side is, for people: one line per part. */
void ab_side_describe(FILE *f, const struct ab_side *s);

/*
 * argv of one run of the side: [wrapper...] <bin> run <run_args...>
 * <side args...>, NULL-terminated; free with free() (the strings are
 * borrowed).
 */
char **ab_side_argv(const struct ab_side *s, char *const *run_args, size_t n_run_args);

/*
 * Run argv (PATH lookup for argv[0]) with the extra environment env (may
 * be NULL) and stdout/stderr on fd, in cwd (NULL: here); signals to ab
 * reach it.  Returns its exit status, 128+signal if it was killed, or -1 if
 * it could not start.
 */
int ab_child_run(char *const *argv, const struct hvb_opt_list *env, int fd, const char *cwd);

/* Write what made the side into run's meta.csv (ab.* keys), atomically. */
int ab_side_meta(const struct ab_side *s, const char *run, unsigned round);

void ab_side_free(struct ab_side *s);

#endif
