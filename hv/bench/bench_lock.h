/*
 * The CPU lock of the hv/bench tools that pin (bench_lock.c, over
 * probes/cpulock.h): a tool pinned to a CPU another run holds would measure
 * with it, so it refuses instead, as `hvbench run` does.
 */
#ifndef HV_BENCH_LOCK_H
#define HV_BENCH_LOCK_H

#include <stdbool.h>

#include "cpulock.h"

/*
 * Lock cpu for the life of the process (argv: the command line written
 * into the lock file).  pass_down: an `hvbench run` the tool starts on the
 * same CPU shares the lock instead of refusing.  A held CPU prints who
 * holds it and what to do (hint) and exits 2; another failure exits 1.
 */
void bench_lock_cpu(struct hvb_cpulock *l, const char *tool, int argc, char **argv, int cpu,
		    bool pass_down, const char *hint);

#endif
