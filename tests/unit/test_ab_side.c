/*
 * src/ab_side.c alone: how a side's --a-args/--a-cmd are split into words
 * (like a shell, without expansion), when two sides count as identical
 * (the --aa rule), and the command line a side's run gets.
 */
#include <stdlib.h>
#include <string.h>

#include "ab_side.h"
#include "tap.h"
#include "util.h"

/* The words of s joined by '|', or "ERR" if splitting failed. */
static char *split(const char *s)
{
	char **w, *j = NULL;
	size_t n;

	if (ab_words(s, "--a-args", &w, &n))
		return xstrdup("ERR");
	j = xstrdup("");
	for (size_t i = 0; i < n; i++) {
		char *t = xasprintf("%s%s%s", j, i ? "|" : "", w[i]);
		free(j);
		j = t;
	}
	TAP_OK(!w || !w[n], "the word list is NULL-terminated");
	ab_words_free(w, n);
	return j;
}

static void check_split(const char *in, const char *want, const char *desc)
{
	char *got = split(in);

	TAP_EQ_STR(got, want, desc);
	free(got);
}

static void test_words(void)
{
	check_split("--guest-mem 256", "--guest-mem|256", "blanks separate words");
	check_split("  a \t b\n c  ", "a|b|c", "runs of blanks, tabs and newlines are one gap");
	check_split("", "", "an empty string is no word");
	check_split(NULL, "", "no string is no word");
	check_split("'a b' c", "a b|c", "single quotes keep blanks");
	check_split("'a\\b'", "a\\b", "a backslash in single quotes is literal");
	check_split("\"a \\\"b\\\" $X\"", "a \"b\" $X", "double quotes: \\\" escapes, $ is not expanded");
	check_split("x'y z'w", "xy zw", "quotes join with the letters around them");
	check_split("a\\ b", "a b", "a backslash escapes a blank");
	check_split("a '' b", "a||b", "an empty quoted word is a word");
	check_split("'--quick", "ERR", "an unclosed single quote is an error");
	check_split("\"--quick", "ERR", "an unclosed double quote is an error");
}

static void side_set(struct ab_side *s, struct ab_side_cli *cli, const char *id, const char *args)
{
	memset(s, 0, sizeof(*s));
	s->name = "a", s->label = "A", s->cli = cli;
	cli->args = args;
	ab_words(args, "--a-args", &s->args, &s->n_args);
	s->identity = xstrdup(id);
}

static void test_identical(void)
{
	struct ab_side_cli ca = { 0 }, cb = { 0 };
	struct ab_side a, b;

	side_set(&a, &ca, "/x/hvbench", "--vcpus 2");
	side_set(&b, &cb, "/x/hvbench", "--vcpus  2");
	TAP_OK(ab_sides_identical(&a, &b), "the same binary and the same words: identical");
	ca.env = (struct hvb_opt_list){ .v = { "X=1", "Y=2" }, .n = 2 };
	cb.env = (struct hvb_opt_list){ .v = { "Y=2", "X=1" }, .n = 2 };
	TAP_OK(ab_sides_identical(&a, &b), "the same environment in another order: identical");
	cb.env.v[1] = "X=2";
	TAP_OK(!ab_sides_identical(&a, &b), "another value of one variable: different");
	cb.env = ca.env;
	free(b.identity);
	b.identity = xstrdup("/y/hvbench");
	TAP_OK(!ab_sides_identical(&a, &b), "another binary: different");
	free(b.identity);
	b.identity = xstrdup("/x/hvbench");
	ab_words_free(b.args, b.n_args);
	ab_words("--vcpus 1", "--b-args", &b.args, &b.n_args);
	TAP_OK(!ab_sides_identical(&a, &b), "other run args: different");
	ab_words_free(b.args, b.n_args);
	ab_words("--vcpus 2", "--b-args", &b.args, &b.n_args);
	ab_words("taskset -c 1", "--b-cmd", &b.cmd, &b.n_cmd);
	TAP_OK(!ab_sides_identical(&a, &b), "a wrapper on one side only: different");

	/* the run's command line: wrapper, binary, run, ab's and shared args, the side's last */
	char *run_args[] = { "--reps", "1", "--quick" }, **argv, *j = xstrdup("");
	b.bin = xstrdup("/x/hvbench");
	argv = ab_side_argv(&b, run_args, 3);
	for (size_t i = 0; argv[i]; i++) {
		char *t = xasprintf("%s%s%s", j, i ? " " : "", argv[i]);
		free(j);
		j = t;
	}
	TAP_EQ_STR(j, "taskset -c 1 /x/hvbench run --reps 1 --quick --vcpus 2",
		   "argv: wrapper, binary, run, shared args, then the side's own");
	free(j);
	free(argv);
	a.cli = b.cli = NULL;
	ab_side_free(&a);
	ab_side_free(&b);
}

static void test_own_args(void)
{
	char *bad[] = { "--vcpus", "2", "--out=x" }, *good[] = { "--output-format", "--repsx" };

	TAP_OK(ab_own_args_check(bad, 3, "") < 0, "--out=x is ab's own: refused");
	TAP_OK(ab_own_args_check(good, 2, "") == 0, "options that only begin like ab's are not");
}

int main(void)
{
	test_words();
	test_identical();
	test_own_args();
	return tap_done();
}
