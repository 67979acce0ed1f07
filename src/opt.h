/*
 * Command options declared as tables (kvmtool style):
 *
 *	static const struct hvb_opt run_opts[] = {
 *		OPT_STR("runner", 'r', &runners, "LIST", "runners to use"),
 *		OPT_UINT("reps", 0, &reps, 1, 1000, "N", "repetitions"),
 *		OPT_END(),
 *	};
 *
 * hvb_opt_parse() fills the targets, prints a one-line error that names the
 * option and the accepted range, and prints the usage on --help.
 */
#ifndef HVB_OPT_H
#define HVB_OPT_H

#include <stdbool.h>
#include <stdint.h>

enum hvb_opt_type { OPT_T_END, OPT_T_FLAG, OPT_T_STR, OPT_T_UINT, OPT_T_DOUBLE, OPT_T_LIST };

/* The values of a repeatable option (OPT_LIST), in the order given. */
#define HVB_OPT_LIST_MAX 64
struct hvb_opt_list {
	const char *v[HVB_OPT_LIST_MAX];
	unsigned n;
};

struct hvb_opt {
	enum hvb_opt_type type;
	const char *name; /* long name, without "--" */
	char shortname;   /* 0 = none */
	void *target;     /* bool *, const char **, uint64_t *, double *, struct hvb_opt_list * */
	double min, max;  /* accepted range for numbers */
	const char *metavar;
	const char *help;
};

#define OPT_FLAG(n, s, t, h)                   { OPT_T_FLAG, n, s, t, 0, 0, NULL, h }
#define OPT_STR(n, s, t, m, h)                 { OPT_T_STR, n, s, t, 0, 0, m, h }
#define OPT_UINT(n, s, t, lo, hi, m, h)        { OPT_T_UINT, n, s, t, lo, hi, m, h }
#define OPT_DOUBLE(n, s, t, lo, hi, m, h)      { OPT_T_DOUBLE, n, s, t, lo, hi, m, h }
/* Repeatable: every occurrence adds its value (at most HVB_OPT_LIST_MAX). */
#define OPT_LIST(n, s, t, m, h)                { OPT_T_LIST, n, s, t, 0, 0, m, h }
#define OPT_END()                              { OPT_T_END, NULL, 0, NULL, 0, 0, NULL, NULL }

/*
 * Parse argv[1..argc) against opts.  Options and positional arguments may be
 * mixed; "--" ends options.  Positional arguments are moved, in order, to
 * argv[1..*npos].  Returns 0, 1 if --help was given (usage printed), or -1
 * on a usage error (message printed, naming `cmd`).
 */
int hvb_opt_parse(const char *cmd, const char *usage, const struct hvb_opt *opts, int argc,
		  char **argv, int *npos);

/* Print "usage: hvbench <usage>" and the option table to stdout. */
void hvb_opt_usage(const char *usage, const struct hvb_opt *opts);


#endif
