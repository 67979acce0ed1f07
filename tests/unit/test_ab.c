/*
 * hvbench ab, end to end with stand-in binaries: this program also plays
 * "hvbench run" when called as <dir>/hvbench (a symlink), writing one
 * repetition with a known value, so the test controls the truth and runs in
 * a fraction of a second per round:
 *   ABBA order, one run per side per round, the comparison and its exit
 *   status, a failing side, refused options, the gate (refusals before any
 *   round, exit 3), and Ctrl-C.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "results.h"
#include "sink.h"
#include "stats.h"
#include "tap.h"
#include "util.h"

static char tmpdir[] = "/tmp/hvb-test-ab-XXXXXX";

/* --------------------------------------------------- the stand-in run */

/* Environment of the stand-in: FAKE_LOG (append the side's letter),
 * FAKE_SLOW_B (B's ns/op factor), FAKE_EXIT_B (B's exit status),
 * FAKE_SLEEP (seconds to sleep before writing), FAKE_DRIFT (sd of a log
 * speed factor shared by both runs of a round; needs FAKE_LOG). */
static int fake_run(const char *self, int argc, char **argv)
{
	const char *out = NULL, *log = getenv("FAKE_LOG");
	char side = strstr(self, "/b/") ? 'B' : 'A', id[64];
	double factor = 1;
	struct hvb_sink *sink;
	struct hvb_rng r;
	long round = 0;

	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--out"))
			out = argv[i + 1];
	if (log) {
		int fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
		if (write(fd, &side, 1) != 1)
			return 3;
		round = (lseek(fd, 0, SEEK_END) - 1) / 2;
		close(fd);
	}
	if (getenv("FAKE_SLEEP"))
		sleep((unsigned)atoi(getenv("FAKE_SLEEP")));
	if (side == 'B' && getenv("FAKE_EXIT_B"))
		return atoi(getenv("FAKE_EXIT_B"));
	if (side == 'B' && getenv("FAKE_SLOW_B"))
		factor = atof(getenv("FAKE_SLOW_B"));
	/* a host whose speed changes from round to round, the same for A and B */
	if (getenv("FAKE_DRIFT")) {
		hvb_rng_seed(&r, 1000 + (uint64_t)round);
		factor *= exp(atof(getenv("FAKE_DRIFT")) * hvb_rng_normal(&r));
	}
	/* Noise from the round and side, not the clock: a gate case must not
	 * fail by chance (6 pairs of independent noise all leaning one way,
	 * 2/2^6, made the "no change" metric a regression in CI). */
	hvb_rng_seed(&r, log ? 0x5eed00 + 2 * (uint64_t)round + (side == 'B')
			     : hvb_now_ns() ^ (uint64_t)getpid());
	snprintf(id, sizeof(id), "run-%d-%llu", (int)getpid(), (unsigned long long)hvb_now_ns());
	if (!out || hvb_sink_open(&sink, out, id))
		return 1;
	hvb_sink_sample(sink, "native",
			&(struct hvb_sample_out){ .workload = "micro/syscall", .metric = "ns_per_op",
						  .unit = "ns", .better = HVB_LOWER_IS_BETTER,
						  .value = 120 * factor *
							   exp(0.01 * hvb_rng_normal(&r)) });
	hvb_sink_sample(sink, "native",
			&(struct hvb_sample_out){ .workload = "mem/stream-copy", .metric = "bandwidth",
						  .unit = "MB/s", .better = HVB_HIGHER_IS_BETTER,
						  .value = 9000 * exp(0.01 * hvb_rng_normal(&r)) });
	return hvb_sink_close(sink, "complete") ? 1 : 0;
}

/* ------------------------------------------------------------- helpers */

static const char *hvbench;
static char self[4096];

static void make_fake(const char *side)
{
	char *dir = xasprintf("%s/%s", tmpdir, side), *link = xasprintf("%s/hvbench", dir);

	mkdir(dir, 0755);
	if (symlink(self, link))
		printf("# symlink %s: %s\n", link, strerror(errno));
	free(dir);
	free(link);
}

static char *slurp(const char *path)
{
	char *buf = xcalloc(1, 1 << 16);
	FILE *f = fopen(path, "r");

	if (f) {
		size_t n = fread(buf, 1, (1 << 16) - 1, f);
		buf[n] = '\0';
		fclose(f);
	}
	return buf;
}

static void dump(const char *out)
{
	for (const char *p = out; *p;) {
		const char *e = strchr(p, '\n');
		int len = e ? (int)(e - p) : (int)strlen(p);
		printf("#   | %.*s\n", len, p);
		p += len + (e ? 1 : 0);
	}
}

/* Run `hvbench ab <args>` with the stand-ins as A and B; output in *out. */
static int run_ab(const char *env, const char *args, char **out)
{
	static unsigned calls;
	char *log = xasprintf("%s/ab-out.txt", tmpdir);
	/* a FAKE_LOG of its own for every call (env's own, later, wins): it
	 * numbers the rounds, which seed the stand-in's noise */
	char *cmd = xasprintf("FAKE_LOG=%s/call%u-order %s %s ab --a %s/a --b %s/b %s >%s 2>&1",
			      tmpdir, calls++, env, hvbench, tmpdir, tmpdir, args, log);
	int st = system(cmd);

	*out = slurp(log);
	free(cmd);
	free(log);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define CHECK(cond, desc)                                                                       \
	do {                                                                                   \
		if (!TAP_OK(cond, desc))                                                       \
			dump(out);                                                             \
	} while (0)

/* ---------------------------------------------------------------- tests */

/* Did a refused ab leave no trace: no round ran, no directory made? */
static bool nothing_ran(const char *name)
{
	char *order = xasprintf("%s/%s-order", tmpdir, name), *out = xasprintf("%s/%s", tmpdir, name);
	bool none = access(order, F_OK) && access(out, F_OK);

	free(order), free(out);
	return none;
}

/* run_ab() with "--out <tmpdir>/<dir> <opts>". */
static int ab_in(const char *env, const char *dir, const char *opts, char **out)
{
	char *args = xasprintf("--out %s/%s %s", tmpdir, dir, opts);
	int rc = run_ab(env, args, out);

	free(args);
	return rc;
}

/* What ab refuses before running any round (exit 2), and what it says. */
static const struct refusal {
	const char *env, *dir, *opts;
	const char *says[3];
	const char *desc;
} refusals[] = {
	{ "", "g3", "--gate --reps 3",
	  { "3 round(s) can never reach alpha=0.05",
	    "paired sign-flip test with 3 rounds is 0.25 (2/2^n)", "use --reps 6 or more" },
	  "--gate --reps 3: refused (exit 2): 2/2^3 = 0.25, the smallest --reps is 6" },
	{ "", "gu", "--gate --unpaired --reps 3",
	  { "rank permutation test with 3 rounds is 0.1", "use --reps 4 or more" },
	  "--unpaired: the rank test's floor 2/C(6,3) = 0.1, so 4 rounds" },
	{ "", "mr", "--gate --reps 7 --min-reps 10",
	  { "gate: 7 round(s) are fewer than --min-reps 10", "use --reps 10 or more" },
	  "--gate: rounds that reach alpha but not --min-reps are refused, saying which" },
	{ "CI=true", "ci5", "--reps 5",
	  { "gate: 5 round(s) can never reach" },
	  "CI=true turns the gate on: 5 rounds refused" },
	{ "CI=true", "q", "--reps 6 -- --quick",
	  { "'--quick' after -- makes every run a smoke test", "CI=true in the environment" },
	  "gate: a --quick run is refused, saying why the gate is on" },
};

/* ab's gate: refusals before any round, the mode said, its exit statuses. */
static void test_ab_gate(void)
{
	char *out, *env;
	int rc;

	for (size_t i = 0; i < ARRAY_SIZE(refusals); i++) {
		const struct refusal *t = &refusals[i];
		/* FAKE_LOG: a round that ran would leave <dir>-order behind */
		env = xasprintf("FAKE_LOG=%s/%s-order %s", tmpdir, t->dir, t->env);
		rc = ab_in(env, t->dir, t->opts, &out);
		bool said = true;
		for (size_t k = 0; k < ARRAY_SIZE(t->says) && t->says[k]; k++)
			said &= strstr(out, t->says[k]) != NULL;
		CHECK(rc == 2 && said, t->desc);
		TAP_OK(nothing_ran(t->dir), "... before running any round");
		free(env), free(out);
	}

	rc = ab_in("CI=true", "nogate", "--no-gate --reps 3", &out);
	CHECK(rc == 0 && strstr(out, "warning: ab: 3 round(s) can never reach alpha") &&
		      strstr(out, "3 pairs") && strstr(out, "gate: off (--no-gate)"),
	      "--no-gate under CI=true: warned, ran, said the gate is off, exit 0");
	free(out);

	/* B's ns_per_op 10% slower in every round, its bandwidth not: 6 rounds
	 * give p = 2/2^6 for that metric, q = 2 x p over the 2 tested ones */
	rc = ab_in("FAKE_SLOW_B=1.10", "g6", "--gate --reps 6", &out);
	CHECK(rc == 3 && strstr(out, "gate: on (--gate)") &&
		      strstr(out, "native micro/syscall ns_per_op: no verdict") &&
		      strstr(out, "p=0.0312 is below alpha, but Benjamini-Hochberg over 2 tested "
				  "metrics makes it q=0.0625") &&
		      strstr(out, "needs p below 0.025, at least 7 rounds"),
	      "--gate, 6 rounds, B 10% slower in one of 2 metrics: inconclusive (exit 3), "
	      "BH named, 7 rounds asked for");
	free(out);
	rc = ab_in("FAKE_SLOW_B=1.10", "g7", "--gate --reps 7", &out);
	CHECK(rc == 1 && strstr(out, "gate: FAIL: regression (exit 1)"),
	      "--gate, 7 rounds: the gate fails on the regression (exit 1)");
	free(out);

	rc = ab_in("", "gnone", "--gate --reps 6 --ratio-to native", &out);
	CHECK(rc == 3 && strstr(out, "other than those of --ratio-to native") &&
		      strstr(out, "gate: INCONCLUSIVE, nothing was compared"),
	      "--gate: nothing compared (only the --ratio-to runner ran) is inconclusive, "
	      "exit 3");
	free(out);
}

static void test_ab(void)
{
	char *out, *args, *env, *order_log = xasprintf("%s/order", tmpdir), *order;
	int rc;

	make_fake("a");
	make_fake("b");

	env = xasprintf("FAKE_LOG=%s", order_log);
	args = xasprintf("--reps 4 --out %s/same -- --quick", tmpdir);
	rc = run_ab(env, args, &out);
	order = slurp(order_log);
	CHECK(rc == 0, "A/A-like (same truth): exit 0");
	TAP_EQ_STR(order, "ABBAABBA", "rounds run in ABBA order");
	CHECK(strstr(out, "4/4") && strstr(out, "no change"), "each round is one repetition per side");
	CHECK(strstr(out, "comparing 4 A run(s) (base) with 4 B run(s) (cand)"),
	      "ab says what it compares");
	free(env), free(args), free(out), free(order);

	args = xasprintf("--reps 8 --out %s/slow --format csv", tmpdir);
	rc = run_ab("FAKE_SLOW_B=1.10", args, &out);
	CHECK(rc == 1 && strstr(out, "micro/syscall,ns_per_op,ns,lower,8,8") &&
		      strstr(out, ",regression,"),
	      "B 10% slower: regression, exit 1 (compare options apply)");
	free(args), free(out);

	/* rounds on a host whose speed swings by ~30%: pairing sees through it */
	env = xasprintf("FAKE_LOG=%s/drift-order FAKE_DRIFT=0.3 FAKE_SLOW_B=1.10", tmpdir);
	args = xasprintf("--reps 10 --out %s/drift", tmpdir);
	rc = run_ab(env, args, &out);
	CHECK(rc == 1 && strstr(out, "10 pairs") && strstr(out, "regression"),
	      "drifting host: the paired comparison finds B's 10% slowdown");
	CHECK(strstr(out, "median pair slowdown") && strstr(out, "base median*") &&
		      strstr(out, "unpaired, for reference"),
	      "paired: the table says the change is the median pair slowdown, the side "
	      "medians are unpaired references");
	CHECK(strstr(out, "× slower") && strstr(out, "slowdown: > 1 is worse"),
	      "B slower: a slowdown > 1, under the stated convention");
	CHECK(strstr(out, "1 workload(s) regressed: native micro/syscall (ns_per_op)\n"),
	      "the summary counts and names the regressed workload");
	free(args), free(out);
	args = xasprintf("--reps 2 --out %s/two", tmpdir);
	rc = run_ab("", args, &out);
	CHECK(rc == 0 && strstr(out, "no interval for 2 row(s): fewer than --min-reps 3 pairs "
				     "per side") &&
		      !strstr(out, "["),
	      "2 rounds: no interval anywhere, the reason once");
	free(args), free(out);
	args = xasprintf("--reps 10 --out %s/drift2 --unpaired", tmpdir);
	char *env2 = xasprintf("FAKE_LOG=%s/drift-order2 FAKE_DRIFT=0.3 FAKE_SLOW_B=1.10", tmpdir);
	rc = run_ab(env2, args, &out);
	CHECK(rc == 0 && strstr(out, "10/10") && strstr(out, " 0 regression(s)"),
	      "--unpaired: the same drift hides it (independent samples)");
	free(env), free(env2), free(args), free(out);

	args = xasprintf("--reps 8 --out %s/fast", tmpdir);
	rc = run_ab("FAKE_SLOW_B=0.90", args, &out);
	CHECK(rc == 0 && strstr(out, "improvement"), "B 10% faster: improvement, exit 0");
	free(args), free(out);

	args = xasprintf("--reps 2 --out %s/fail", tmpdir);
	rc = run_ab("FAKE_EXIT_B=2", args, &out);
	CHECK(rc == 2 && strstr(out, "the b run exited with status 2"),
	      "a side that cannot run stops ab with exit 2 and says where its log is");
	free(args), free(out);

	args = xasprintf("--reps 2 --out %s/own -- --reps 5", tmpdir);
	rc = run_ab("", args, &out);
	CHECK(rc == 2 && strstr(out, "set by ab itself"), "--reps after -- is refused");
	free(args), free(out);

	args = xasprintf("--reps 2 --out %s/same", tmpdir);
	rc = run_ab("", args, &out);
	CHECK(rc == 2 && strstr(out, "not empty"), "a used output directory is refused");
	free(args), free(out);

	test_ab_gate();

	char *cmd = xasprintf("%s ab --a %s/nothing --b %s/b >/dev/null 2>&1", hvbench, tmpdir,
			      tmpdir);
	rc = system(cmd);
	TAP_OK(WIFEXITED(rc) && WEXITSTATUS(rc) == 2, "a missing binary: exit 2");
	free(cmd);

	/* Ctrl-C: SIGINT to ab while a round sleeps */
	pid_t pid = fork();
	if (pid == 0) {
		char *a = xasprintf("%s/a", tmpdir), *b = xasprintf("%s/b", tmpdir);
		char *o = xasprintf("%s/intr", tmpdir), *log = xasprintf("%s/intr.txt", tmpdir);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		setenv("FAKE_SLEEP", "1", 1);
		execl(hvbench, hvbench, "ab", "--a", a, "--b", b, "--reps", "10", "--out", o,
		      (char *)NULL);
		_exit(127);
	}
	struct timespec ts = { 2, 500000000 };
	nanosleep(&ts, NULL);
	kill(pid, SIGINT);
	int st;
	waitpid(pid, &st, 0);
	char *log = xasprintf("%s/intr.txt", tmpdir);
	out = slurp(log);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 130, "Ctrl-C: ab exits 128+SIGINT");
	CHECK(strstr(out, "stopped by signal 2") && strstr(out, "hvbench compare --paired --base"),
	      "Ctrl-C: ab says what it kept and how to compare it");
	free(log), free(out), free(order_log);
}

int main(int argc, char **argv)
{
	if (strstr(argv[0], "/hvbench") && argc > 1 && !strcmp(argv[1], "run"))
		return fake_run(argv[0], argc, argv);
	/* ab records each side's version */
	if (strstr(argv[0], "/hvbench") && argc > 1 && !strcmp(argv[1], "--version")) {
		printf("hvbench stand-in (%s)\n", strstr(argv[0], "/b/") ? "B" : "A");
		return 0;
	}
	hvbench = getenv("HVBENCH");
	if (!hvbench || access(hvbench, X_OK)) {
		TAP_SKIP("HVBENCH is not set to the hvbench binary (run through tests/run)");
		return tap_done();
	}
	if (!realpath("/proc/self/exe", self) || !mkdtemp(tmpdir)) {
		TAP_OK(false, "find this program and make a temporary directory");
		return tap_done();
	}
	test_ab();
	char *rm = xasprintf("rm -rf %s", tmpdir);
	if (system(rm))
		printf("# could not remove %s\n", tmpdir);
	free(rm);
	return tap_done();
}
