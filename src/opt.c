#include "opt.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Print help text in a column from `indent` on, wrapped at 79 columns at
 * spaces (or after a comma in a word longer than the column). */
static void print_wrapped(const char *text, int indent)
{
	int col = indent;
	bool space = false;

	while (*text) {
		int word = (int)strcspn(text, " ");

		if (word > 79 - indent) { /* a long list: break it after a comma */
			word = (int)strcspn(text, " ,");
			word += text[word] == ',';
		}
		if (col > indent && col + space + word > 79) {
			printf("\n%*s", indent, "");
			col = indent;
		} else if (space) {
			putchar(' ');
			col++;
		}
		printf("%.*s", word, text);
		col += word;
		text += word;
		space = *text == ' ';
		text += strspn(text, " ");
	}
	putchar('\n');
}

void hvb_opt_usage(const char *usage, const struct hvb_opt *opts)
{
	printf("usage: hvbench %s\n\noptions:\n", usage);
	for (const struct hvb_opt *o = opts; o->type != OPT_T_END; o++) {
		char left[64];
		int n;

		/* "-r, --runner LIST" or "    --batches N": long names line up. */
		snprintf(left, sizeof(left), "%c%c%c --%s%s%s", o->shortname ? '-' : ' ',
			 o->shortname ? o->shortname : ' ', o->shortname ? ',' : ' ', o->name,
			 o->metavar ? " " : "", o->metavar ? o->metavar : "");
		n = printf("  %-28s ", left);
		print_wrapped(o->help, n);
	}
	printf("  %-28s %s\n", "-h, --help", "show this help");
}

static const struct hvb_opt *find_long(const struct hvb_opt *opts, const char *name, size_t len)
{
	for (const struct hvb_opt *o = opts; o->type != OPT_T_END; o++)
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return o;
	return NULL;
}

static const struct hvb_opt *find_short(const struct hvb_opt *opts, char c)
{
	for (const struct hvb_opt *o = opts; o->type != OPT_T_END; o++)
		if (o->shortname == c)
			return o;
	return NULL;
}

static int store(const char *cmd, const struct hvb_opt *o, const char *val)
{
	char *end;
	double d;
	uint64_t u;

	switch (o->type) {
	case OPT_T_FLAG:
		*(bool *)o->target = true;
		return 0;
	case OPT_T_STR:
		*(const char **)o->target = val;
		return 0;
	case OPT_T_LIST: {
		struct hvb_opt_list *l = o->target;

		if (l->n < HVB_OPT_LIST_MAX) {
			l->v[l->n++] = val;
			return 0;
		}
		fprintf(stderr, "hvbench %s: --%s given more than %d times\n", cmd, o->name,
			HVB_OPT_LIST_MAX);
		return -1;
	}
	case OPT_T_UINT:
		if (hvb_parse_uint(val, (uint64_t)o->min, (uint64_t)o->max, &u) == 0) {
			*(uint64_t *)o->target = u;
			return 0;
		}
		fprintf(stderr, "hvbench %s: --%s: '%s' is not a whole number from %.0f to %.0f\n",
			cmd, o->name, val, o->min, o->max);
		return -1;
	case OPT_T_DOUBLE:
		errno = 0;
		d = strtod(val, &end);
		if (*val && !*end && !errno && isfinite(d) && d >= o->min && d <= o->max) {
			*(double *)o->target = d;
			return 0;
		}
		fprintf(stderr, "hvbench %s: --%s: '%s' is not a number from %g to %g\n", cmd,
			o->name, val, o->min, o->max);
		return -1;
	case OPT_T_END:
		break;
	}
	return -1;
}

static int unknown(const char *cmd, const char *arg)
{
	fprintf(stderr, "hvbench %s: unknown option '%s' (see 'hvbench %s --help')\n", cmd, arg,
		cmd);
	return -1;
}

static int missing(const char *cmd, const struct hvb_opt *o)
{
	fprintf(stderr, "hvbench %s: --%s needs a value (%s)\n", cmd, o->name, o->metavar);
	return -1;
}

/* One option at argv[*i]; advances *i past its value.  0, 1 (help) or -1. */
static int parse_one(const char *cmd, const char *usage, const struct hvb_opt *opts, int argc,
		     char **argv, int *i)
{
	const char *arg = argv[*i], *val = NULL;
	const struct hvb_opt *o;

	if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
		hvb_opt_usage(usage, opts);
		return 1;
	}
	if (arg[1] == '-') {
		const char *eq = strchr(arg + 2, '=');
		size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		o = find_long(opts, arg + 2, len);
		val = eq ? eq + 1 : NULL;
	} else {
		o = arg[2] ? NULL : find_short(opts, arg[1]);
	}
	if (!o)
		return unknown(cmd, arg);
	if (o->type == OPT_T_FLAG) {
		if (val) {
			fprintf(stderr, "hvbench %s: --%s takes no value\n", cmd, o->name);
			return -1;
		}
		return store(cmd, o, NULL);
	}
	if (!val) {
		if (*i + 1 >= argc)
			return missing(cmd, o);
		val = argv[++*i];
	}
	return store(cmd, o, val);
}

int hvb_opt_parse(const char *cmd, const char *usage, const struct hvb_opt *opts, int argc,
		  char **argv, int *npos)
{
	int i, n = 0, r;
	bool only_pos = false;

	for (i = 1; i < argc; i++) {
		char *arg = argv[i];
		if (only_pos || arg[0] != '-' || arg[1] == '\0') {
			argv[1 + n++] = arg;
			continue;
		}
		if (!strcmp(arg, "--")) {
			only_pos = true;
			continue;
		}
		r = parse_one(cmd, usage, opts, argc, argv, &i);
		if (r)
			return r;
	}
	*npos = n;
	return 0;
}
