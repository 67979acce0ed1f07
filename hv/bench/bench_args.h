/*
 * Whole-number arguments of the hv/bench tools (bench_args.c): one parser
 * for hv-bare-exit, hv-bare-boot and hvb-vmm, so each refuses the same
 * junk ("", "-1", " 5", "5x", "0x10", a "--help" read as 0) and says which
 * argument and what range.
 */
#ifndef HV_BENCH_ARGS_H
#define HV_BENCH_ARGS_H

/* s as a whole decimal number in [lo, hi] (digits only): 0, or -EINVAL. */
int bench_parse_num(const char *s, unsigned long lo, unsigned long hi, unsigned long *out);

/*
 * The positional argument argv[i] (named `name` in messages) in [lo, hi],
 * or def when absent.  Anything else prints "usage: <usage>" and
 * "<tool>: <name> '<arg>' is not valid there: give a whole number from lo
 * to hi" and exits 2.
 */
unsigned long bench_arg_num(const char *tool, const char *usage, int argc, char **argv, int i,
			    const char *name, unsigned long def, unsigned long lo,
			    unsigned long hi);

#endif
