/*
 * hvbench ab: judge a change on a noisy host by interleaving it with its
 * baseline (the A/B gate of Firecracker's CI).
 *
 * A (the base) and B (the candidate) are two configurations (ab_side.h):
 * two hvbench binaries, e.g. the build of main and the build of a branch,
 * two git revisions built here (ab_rev.h), or one hvbench run with two
 * environments, `run` options or wrapper commands.  Each round runs both
 * once, as `[wrapper] <bin> run --reps 1 --out DIR/a|b ...`, in the order A B, B A, A B, ...
 * (ABBA), so slow drift of the host (other jobs, thermal, frequency) lands
 * on both sides alike instead of looking like a difference between them.
 * Every round is one repetition of each side; the rounds are then compared
 * as `hvbench compare --paired DIR/a/<runs> DIR/b/<runs>` would: round by
 * round, so what the host did during a round cancels out.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ab_rev.h"
#include "ab_side.h"
#include "cmd.h"
#include "compare_cli.h"
#include "compare_gate.h"
#include "opt.h"
#include "util.h"

/* Stop after the current execution: the child (in our process group) got a
 * terminal's SIGINT itself; forward signals sent to us alone. */
static void on_signal(int sig)
{
	ab_stop = sig;
	if (ab_child > 0)
		kill(ab_child, sig);
}

/* The entry of dir that is not in the list `before` (the run just made). */
static char *new_entry(const char *dir, char **before, size_t n_before)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *found = NULL;

	if (!d)
		return NULL;
	while (!found && (e = readdir(d))) {
		bool seen = e->d_name[0] == '.';
		for (size_t i = 0; i < n_before && !seen; i++)
			seen = !strcmp(before[i], e->d_name);
		if (!seen)
			found = xasprintf("%s/%s", dir, e->d_name);
	}
	closedir(d);
	return found;
}

static size_t list_entries(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	*out = NULL;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		*out = realloc(*out, (n + 1) * sizeof(**out));
		if (!*out)
			abort();
		(*out)[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	return n;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

struct ab_opts {
	struct hvb_cmp_cli cmp;
	struct ab_side_cli side[2];
	const char *out, *repo, *make_args;
	bool aa;
	uint64_t reps;
	char **run_args; /* after "--" */
	int n_run_args;
	char *run_workloads; /* --workload for the runs (run_workloads()) */
};

/*
 * --workload for the runs: boot is no workload to run but what every VM job
 * records (compare keeps it whatever --workload says), so the runs get the
 * list without it, and a list of boot alone runs the shortest workload,
 * micro/cpuid, for the comparison of boot alone.  NULL = every workload.
 */
static char *run_workloads(const char *globs)
{
	char *copy, *save = NULL, *list = NULL;

	if (!globs)
		return NULL;
	copy = xstrdup(globs);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *n;
		if (!strcmp(t, "boot"))
			continue;
		n = list ? xasprintf("%s,%s", list, t) : xstrdup(t);
		free(list);
		list = n;
	}
	free(copy);
	return list ? list : xstrdup("micro/cpuid");
}

/*
 * One execution: `[wrapper] <bin> run --reps 1 --out <side dir> [--runner R]
 * [--workload W] <run args> <side args>` in the side's environment, output
 * appended to <side dir>.log; the run it made gets the side's ab.* meta.
 * Returns the child's exit status, or -1 if it could not run.
 */
static int run_side(struct ab_side *s, const struct ab_opts *o, unsigned round)
{
	char *args[8 + o->n_run_args], **argv, *log = xasprintf("%s.log", s->dir), **before;
	size_t n_before = list_entries(s->dir, &before), n = 0;
	int st = -1, fd;

	args[n++] = "--reps";
	args[n++] = "1";
	args[n++] = "--out";
	args[n++] = s->dir;
	if (o->cmp.opts.runners)
		args[n++] = "--runner", args[n++] = (char *)o->cmp.opts.runners;
	if (o->run_workloads)
		args[n++] = "--workload", args[n++] = o->run_workloads;
	for (int i = 0; i < o->n_run_args; i++)
		args[n++] = o->run_args[i];
	argv = ab_side_argv(s, args, n);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0)
		st = ab_child_run(argv, &s->cli->env, fd, NULL);
	if (st < 0)
		hvb_err("ab: cannot start %s (log %s): %s", argv[0], log, strerror(errno));
	if (fd >= 0)
		close(fd);
	/* 0 = ok, 1 = a cell failed (the run is still written): keep it */
	if (st == 0 || st == 1) {
		char *run = new_entry(s->dir, before, n_before);
		if (run && ab_side_meta(s, run, round)) {
			free(run);
			st = -1;
		} else if (run) {
			s->runs = realloc(s->runs, (s->n_runs + 1) * sizeof(*s->runs));
			if (!s->runs)
				abort();
			s->runs[s->n_runs++] = run;
		} else {
			hvb_err("ab: %s run wrote no result directory in %s (see %s%s)", s->name,
				s->dir, log,
				s->n_cmd ? "; the wrapper must exec the command line it gets" : "");
			st = -1;
		}
	}
	free(argv);
	free_list(before, n_before);
	free(log);
	return st;
}

static const char ab_usage[] =
	"ab [--a BIN | --a-rev REV] [--b BIN | --b-rev REV] [side options]\n"
	"   [options] [-- run options]\n\n"
	"A/B test on one host.  A (base) and B (candidate) are configurations: each an\n"
	"hvbench binary or build directory (default: this hvbench; e.g. --a ../main/build\n"
	"--b build) or a git revision of hvbench (--a-rev main --b-rev HEAD: checked out\n"
	"into DIR/src-a|b with 'git worktree add --detach', built with 'make -j<CPUs>'\n"
	"(log DIR/build-a|b.log), removed at the end), plus an environment (--a-env\n"
	"HVB_KVM_NET_NOTIFY=exit), extra run options (--a-args '--guest-mem 256') and a\n"
	"wrapper (--a-cmd 'taskset -c 1'; a wrapper script must end with exec \"$@\", e.g.\n"
	"after writing halt_poll_ns).  Each round runs\n"
	"'[wrapper] <bin> run --reps 1 --out DIR/a|b [run options] [side args]' for both,\n"
	"in the order A B, B A, A B, ...; each round is one repetition of each side,\n"
	"and its run's meta.csv records what made the side (ab.* keys).  Then the rounds\n"
	"are compared as 'hvbench compare --paired' does (A = base, B = cand;\n"
	"--unpaired: as independent samples): the table shows the median pair slowdown\n"
	"(> 1 is worse) and labels the side medians as unpaired.  --runner/--workload go\n"
	"to both the runs and the comparison; boot_ms of VM runners stays in the verdict\n"
	"unless --no-boot, and --workload boot alone runs micro/cpuid and compares boot.\n"
	"Identical sides are refused unless --aa (an A/A run: the gate must pass on no\n"
	"change).  Other run options for both go after '--'.\n"
	"Sides that ran a workload with different parameters (--b-args '--param\n"
	"crc32c.passes=4', meta param.*) are the change under test: the output names\n"
	"each parameter with both values and the verdicts stand (compare, which does not\n"
	"expect it, marks those rows and in gate mode calls them not comparable).\n"
	"ab holds no CPU lock: each round's run locks its own CPUs, and a round whose\n"
	"CPU another run holds stops ab with exit 2 (-- --no-cpu-lock: measure anyway).\n"
	"--ratio-to RUNNER compares, round by round, each runner's ratio to RUNNER\n"
	"within the same run (RUNNER must be among --runner).\n"
	"Gate mode (--gate, or CI=true; --no-gate): ab refuses before running when\n"
	"its rounds cannot reach alpha (paired: 2/2^n must be below it, so at least 6\n"
	"rounds at alpha 0.05; --unpaired: 4) or the runs are --quick; without the\n"
	"gate it warns and runs.\n"
	"Exit status: 0 no regression (in gate mode: every gated metric judged),\n"
	"1 regression, 2 usage or invalid input (the refusals above, a side that\n"
	"cannot be built or run), 3 gate\n"
	"mode only: no regression but a gated metric could not be judged (each is\n"
	"named with what to do); 128+signal if stopped.";

/* Options that ab sets itself must not come in through "--". */
static int check_run_args(const struct ab_opts *o)
{
	return ab_own_args_check(o->run_args, (size_t)o->n_run_args, "");
}

/*
 * Before running anything: can these rounds give a verdict at all?  The
 * comparison's own test sets the floor of p (paired: the sign-flip test,
 * 2/2^n for n rounds; Benjamini-Hochberg does not raise it), so fewer
 * rounds than that can only end inconclusive.  In gate mode that is
 * refused, as are --quick runs and a --ratio-to runner the runs leave out;
 * otherwise ab says so and runs.  0, or -1 after printing why.
 */
static int check_gate(const struct ab_opts *o)
{
	const struct hvb_cmp_opts *c = &o->cmp.opts;
	unsigned need = hvb_cmp_reps_needed(c, c->paired, 1000);
	bool gate = c->gate;

	if (c->ratio_to && !hvb_cmp_match_list(c->runners, c->ratio_to)) {
		hvb_err("ab: --ratio-to %s, but --runner '%s' does not run %s: add it (e.g. "
			"--runner %s,%s)",
			c->ratio_to, c->runners, c->ratio_to, c->ratio_to, c->runners);
		return -1;
	}
	for (int i = 0; gate && i < o->n_run_args; i++)
		if (!strcmp(o->run_args[i], "--quick") || !strcmp(o->run_args[i], "-q")) {
			hvb_err("ab: gate (%s): '%s' after -- makes every run a smoke test "
				"(5 batches of 2 ms, meta quick=1), not a measurement to gate "
				"on: drop it, or --no-gate",
				c->gate_why, o->run_args[i]);
			return -1;
		}
	void (*say)(const char *, ...) = gate ? hvb_err : hvb_warn;

	if (need && o->reps >= need)
		return 0;
	if (need && hvb_cmp_min_p(c, c->paired, (unsigned)o->reps) < c->alpha)
		say("ab: %s%llu round(s) are fewer than --min-reps %u: every metric would be "
		    "inconclusive; use --reps %u or more%s",
		    gate ? "gate: " : "", (unsigned long long)o->reps, c->min_reps, need,
		    gate ? " (or --no-gate to look without a verdict)" : "");
	else if (!need)
		say("ab: %sno number of rounds can reach alpha=%g with --iters %u: raise --iters "
		    "or --alpha",
		    gate ? "gate: " : "", c->alpha, c->iters);
	else
		say("ab: %s%llu round(s) can never reach alpha=%g: the smallest two-sided p of "
		    "the %s with %llu rounds is %.3g%s; use --reps %u or more%s",
		    gate ? "gate: " : "", (unsigned long long)o->reps, c->alpha,
		    c->paired ? "paired sign-flip test" : "rank permutation test",
		    (unsigned long long)o->reps, hvb_cmp_min_p(c, c->paired, (unsigned)o->reps),
		    c->paired ? " (2/2^n)" : "", need,
		    gate ? " (or --no-gate to look without a verdict)"
			 : "; the comparison will be inconclusive (--gate refuses)");
	return gate ? -1 : 0;
}

static char *join(char **v, size_t n)
{
	char *s = xstrdup("");

	for (size_t i = 0; i < n; i++) {
		char *t = xasprintf("%s%s%s", s, i ? "," : "", v[i]);
		free(s);
		s = t;
	}
	return s;
}

static char *default_out(void)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	return xasprintf("results/ab-%s", stamp);
}

static int prepare_out(const char *out, struct ab_side *side)
{
	char **e;
	size_t n = list_entries(out, &e);

	free_list(e, n);
	if (n > 2) {
		hvb_err("ab: %s is not empty: choose a new directory with --out", out);
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		int r = hvb_mkdir_p(side[i].dir);
		if (r) {
			hvb_err("ab: cannot create %s: %s (choose another with --out)", side[i].dir,
				strerror(-r));
			return -1;
		}
	}
	return 0;
}

/* The last line of a side's log (the child's refusal, e.g. a CPU held by
 * another run) into buf, "" if unreadable. */
static void log_last_line(const struct ab_side *s, char *buf, size_t len)
{
	char *log = xasprintf("%s.log", s->dir), tail[1024];
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	off_t end = fd < 0 ? 0 : lseek(fd, 0, SEEK_END);
	ssize_t n = end > 0 ? pread(fd, tail, sizeof(tail) - 1, end > 1023 ? end - 1023 : 0) : 0;
	char *nl;

	buf[0] = '\0';
	if (fd >= 0)
		close(fd);
	free(log);
	tail[n > 0 ? n : 0] = '\0';
	while (n > 0 && tail[n - 1] == '\n')
		tail[--n] = '\0';
	nl = strrchr(tail, '\n');
	snprintf(buf, len, "%s", nl ? nl + 1 : tail);
}

/* All rounds in ABBA order; returns 0, or the exit status to stop with. */
static int run_rounds(struct ab_side *side, const struct ab_opts *o)
{
	for (unsigned round = 0; round < o->reps && !ab_stop; round++) {
		for (int k = 0; k < 2 && !ab_stop; k++) {
			struct ab_side *s = &side[round % 2 ? 1 - k : k];
			uint64_t t0 = hvb_now_ns();
			int st;
			fprintf(stderr, "hvbench: ab: round %u/%llu: %s (%s) ... ", round + 1,
				(unsigned long long)o->reps, s->label, s->bin);
			st = run_side(s, o, round + 1);
			if (st == 0 || st == 1)
				fprintf(stderr, "ok%s (%.1f s)\n", st ? ", with failed cells" : "",
					(double)(hvb_now_ns() - t0) / 1e9);
			else
				fprintf(stderr, "%s (status %d)\n", ab_stop ? "stopped" : "failed",
					st);
			if (ab_stop)
				break;
			if (st < 0) {
				hvb_err("ab: the %s run failed (above): see %s.log", s->name, s->dir);
				return HVB_EXIT_USAGE;
			}
			if (st > 1) {
				char last[1024];

				log_last_line(s, last, sizeof(last));
				hvb_err("ab: the %s run exited with status %d: see %s.log%s%s",
					s->name, st, s->dir, last[0] ? "; it ends: " : "", last);
				return HVB_EXIT_USAGE;
			}
		}
	}
	return 0;
}

/* Both sides as given: binaries resolved, revisions resolved (not built
 * yet), and not the same unless --aa.  0, or -1 after an error. */
static int sides_init(struct ab_side *side, const struct ab_opts *o)
{
	for (int i = 0; i < 2; i++)
		if (ab_side_init(&side[i], &o->side[i]) ||
		    (o->side[i].rev && ab_rev_resolve(&side[i], o->repo)))
			return -1;
	if (!o->aa && ab_sides_identical(&side[0], &side[1])) {
		hvb_err("ab: A and B are the same (%s, the same environment, args and wrapper): "
			"nothing between them differs.  Give B a difference (--b, --b-rev, "
			"--b-env, --b-args, --b-cmd), or --aa for an A/A run (it checks that "
			"the comparison passes on no change)",
			side[0].commit ? side[0].commit : side[0].bin);
		return -1;
	}
	return 0;
}

/* The revision sides built; 0, or the exit status to stop with. */
static int sides_build(struct ab_side *side, const struct ab_opts *o, const char *out)
{
	char **make_args;
	size_t n_make_args;
	int r = 0;

	if (ab_words(o->make_args, "--make-args", &make_args, &n_make_args))
		return HVB_EXIT_USAGE;
	for (int i = 0; i < 2 && !r; i++)
		if (o->side[i].rev && ab_rev_build(&side[i], o->repo, out, make_args, n_make_args))
			r = HVB_EXIT_USAGE;
	ab_words_free(make_args, n_make_args);
	if (ab_stop)
		fprintf(stderr, "hvbench: ab: stopped by signal %d while building; nothing ran\n",
			(int)ab_stop);
	return ab_stop ? 128 + (int)ab_stop : r;
}

/* What is compared, on stderr and, in the table, on stdout before it. */
static void sides_describe(const struct ab_side *side, const struct ab_opts *o)
{
	for (int i = 0; i < 2; i++) {
		fputs("hvbench: ab: ", stderr);
		ab_side_describe(stderr, &side[i]);
		if (o->cmp.fmt == HVB_FMT_TABLE)
			ab_side_describe(stdout, &side[i]);
	}
	if (o->cmp.fmt == HVB_FMT_TABLE)
		putchar('\n');
}

static void sides_free(struct ab_side *side, const struct ab_opts *o)
{
	for (int i = 0; i < 2; i++) {
		ab_rev_remove(&side[i], o->repo);
		ab_side_free(&side[i]);
	}
}

static int ab_main(int argc, char **argv)
{
	struct ab_opts o = { .reps = 10, .repo = "." };
	bool unpaired = false;
	hvb_cmp_cli_init(&o.cmp, "ab");
	const struct hvb_opt opts[] = {
		AB_SIDE_OPTS(o.side[0], "a", "A (base)"),
		AB_SIDE_OPTS(o.side[1], "b", "B (candidate)"),
		OPT_STR("repo", 0, &o.repo, "DIR",
			"the git repository of --a-rev/--b-rev (default: the current directory)"),
		OPT_STR("make-args", 0, &o.make_args, "'ARGS'",
			"extra make arguments for --a-rev/--b-rev builds (e.g. 'TEST_BINS=' to "
			"skip the unit tests)"),
		OPT_FLAG("aa", 0, &o.aa, "allow identical sides: an A/A run"),
		OPT_UINT("reps", 'n', &o.reps, 1, 1000, "N",
			 "rounds: repetitions of each side (default 10)"),
		OPT_STR("out", 'o', &o.out, "DIR",
			"where the runs go, DIR/a and DIR/b (default results/ab-<time>)"),
		OPT_FLAG("unpaired", 0, &unpaired,
			 "compare the sides as independent samples, not round by round"),
		HVB_CMP_OPTS(o.cmp),
		OPT_END(),
	};
	struct ab_side side[2] = { { .name = "a", .label = "A" }, { .name = "b", .label = "B" } };
	struct sigaction sa = { .sa_handler = on_signal };
	struct hvb_cmp_args args = { 0 };
	char *out = NULL;
	int npos, r = hvb_opt_parse("ab", ab_usage, opts, argc, argv, &npos);

	if (r)
		return r > 0 ? HVB_EXIT_SUCCESS : HVB_EXIT_USAGE;
	o.run_args = argv + 1;
	o.n_run_args = npos;
	if (hvb_cmp_opts_parse(&o.cmp) || check_run_args(&o))
		return HVB_EXIT_USAGE;
	/* the two runs of a round share the host's state at that time */
	o.cmp.opts.paired = !unpaired;
	/* a --param on one side is the change under test, not a confound */
	o.cmp.opts.params_expected = true;
	o.run_workloads = run_workloads(o.cmp.opts.workloads);
	if (check_gate(&o))
		return HVB_EXIT_USAGE;
	r = HVB_EXIT_USAGE;
	out = o.out ? xstrdup(o.out) : default_out();
	side[0].dir = xasprintf("%s/a", out);
	side[1].dir = xasprintf("%s/b", out);
	if (sides_init(side, &o) || prepare_out(out, side))
		goto out;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	r = sides_build(side, &o, out);
	if (r)
		goto out;
	sides_describe(side, &o);
	fprintf(stderr, "hvbench: ab: %llu rounds (ABBA), runs in %s\n",
		(unsigned long long)o.reps, out);
	r = run_rounds(side, &o);
	if (r)
		goto out;
	if (ab_stop) {
		char *a = join(side[0].runs, side[0].n_runs), *b = join(side[1].runs, side[1].n_runs);
		fprintf(stderr,
			"hvbench: ab: stopped by signal %d after %zu A and %zu B complete run(s), "
			"kept in %s; to compare them:\n  hvbench compare%s --base '%s' --cand '%s'\n",
			(int)ab_stop, side[0].n_runs, side[1].n_runs, out,
			o.cmp.opts.paired ? " --paired" : "", a, b);
		free(a);
		free(b);
		r = 128 + (int)ab_stop;
		goto out;
	}
	args.base = side[0].runs, args.n_base = side[0].n_runs;
	args.cand = side[1].runs, args.n_cand = side[1].n_runs;
	fprintf(stderr, "hvbench: ab: comparing %zu A run(s) (base) with %zu B run(s) (cand)\n",
		args.n_base, args.n_cand);
	fflush(stdout);
	r = hvb_cmp_run(&args, &o.cmp.opts, o.cmp.fmt, &o.cmp.ci, stdout);
out:
	sides_free(side, &o);
	free(o.run_workloads);
	free(out);
	return r;
}

static const struct hvb_cmd ab_cmd = {
	.name = "ab",
	.summary = "A/B test two builds, revisions or configurations on this host (ABBA), then compare",
	.main = ab_main,
	.order = 5,
};
HVB_CMD(ab_cmd);
