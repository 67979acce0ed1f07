/* The CPU lock of the hv/bench tools (bench_lock.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_lock.h"

void bench_lock_cpu(struct hvb_cpulock *l, const char *tool, int argc, char **argv, int cpu,
		    bool pass_down, const char *hint)
{
	char cmd[1024] = "", err[2048];
	struct hvb_cpulock_who who = { .command = cmd };
	size_t at = 0;
	int r;

	for (int i = 0; i < argc && at < sizeof(cmd); i++)
		at += (size_t)snprintf(cmd + at, sizeof(cmd) - at, "%s%s", i ? " " : "", argv[i]);
	r = hvb_cpulock_take(l, &cpu, 1, &who, pass_down, err, sizeof(err));
	if (!r)
		return;
	fprintf(stderr, "%s: %s%s%s\n", tool, err, r == -EBUSY ? "; " : "", r == -EBUSY ? hint : "");
	exit(r == -EBUSY ? 2 : 1);
}
