/* Whole-number arguments of the hv/bench tools (bench_args.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_args.h"

int bench_parse_num(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	unsigned long v;
	char *end;

	/* strtoul alone takes " 5", "-1" (as ULONG_MAX) and "" (as 0) */
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || errno || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

unsigned long bench_arg_num(const char *tool, const char *usage, int argc, char **argv, int i,
			    const char *name, unsigned long def, unsigned long lo,
			    unsigned long hi)
{
	unsigned long v;

	if (argc <= i)
		return def;
	if (!bench_parse_num(argv[i], lo, hi, &v))
		return v;
	fprintf(stderr, "usage: %s\n%s: %s '%s' is not valid there: give a whole number from %lu "
			"to %lu\n", usage, tool, name, argv[i], lo, hi);
	exit(2);
}
