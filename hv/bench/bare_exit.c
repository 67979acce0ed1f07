/*
 * hv-bare-exit: what the reference core adds to a userspace port exit.
 *
 * One tiny guest (hv/bare_loop.c: 32-bit, ring 0, no paging) writes
 * HVB_PORT_BENCH_USER N times (unrolled, so loop instructions are negligible
 * even where ring 0 is emulated) and then HVB_PORT_SHUTDOWN.  It runs under
 * two loops:
 *   bare  while (ioctl(KVM_RUN) == 0) { if port == BENCH_USER continue; ... }
 *   core  vcpu_run(): dispatch table, device lookup, watchdog, verdicts
 * in interleaved order (bare core core bare ...), each round a fresh VM, and
 * prints ns per exit for both and the ratio core / bare, by wall clock and
 * by process CPU time (which leaves out time the vCPU thread spent waiting
 * for a CPU on a busy host, and includes the core's watchdog thread).  A
 * figure for a report, not a test: nothing is asserted.
 *
 *   usage: hv-bare-exit [exits-per-round (default 20000)] [rounds (default 10)] [cpu]
 *
 * With cpu it pins itself there and locks the CPU against hvbench runs
 * (bench_lock.h): a CPU another run holds is refused with exit 2.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bare_loop.h"
#include "bench_args.h"
#include "bench_lock.h"
#include "exit.h"
#include "watchdog.h"

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void summary(const char *what, double *bare, double *core, unsigned rounds)
{
	double mb, mc, *ratio = calloc(rounds, sizeof(double));

	/* Rounds are interleaved pairs: the median of per-round ratios is robust
	 * against the host getting faster or slower during the run. */
	for (unsigned i = 0; i < rounds; i++)
		ratio[i] = core[i] / bare[i];
	qsort(ratio, rounds, sizeof(double), cmp_double);
	printf("%s: core / bare per round: median %.4f (p25 %.4f, p75 %.4f; target <= 1.05)\n",
	       what,
	       rounds % 2 ? ratio[rounds / 2] : (ratio[rounds / 2 - 1] + ratio[rounds / 2]) / 2,
	       ratio[rounds / 4], ratio[(3 * rounds) / 4]);
	free(ratio);

	qsort(bare, rounds, sizeof(double), cmp_double);
	qsort(core, rounds, sizeof(double), cmp_double);
	mb = bare[rounds / 2], mc = core[rounds / 2];
	printf("%s: median bare %.1f ns/exit (min %.1f, max %.1f), core %.1f ns/exit (min %.1f, "
	       "max %.1f)\n",
	       what, mb, bare[0], bare[rounds - 1], mc, core[0], core[rounds - 1]);
	printf("%s: ratio of medians %.4f, difference %.1f ns/exit; ratio of minima %.4f\n", what,
	       mc / mb, mc - mb, core[0] / bare[0]);
}

#define TOOL  "hv-bare-exit"
#define USAGE "hv-bare-exit [exits-per-round (default 20000)] [rounds (default 10)] [cpu]"

int main(int argc, char **argv)
{
	/* a "--help" read as 0 once wrapped the unrolled loop to 4 billion rounds */
	unsigned long exits = bench_arg_num(TOOL, USAGE, argc, argv, 1, "exits-per-round", 20000, 1,
					    100000000);
	unsigned rounds = (unsigned)bench_arg_num(TOOL, USAGE, argc, argv, 2, "rounds", 10, 1, 10000);
	int cpu = (int)bench_arg_num(TOOL, USAGE, argc, argv, 3, "cpu", 0, 0, CPU_SETSIZE - 1);
	uint32_t iters = (uint32_t)((exits + HV_BARE_UNROLL - 1) / HV_BARE_UNROLL);
	double *bare = calloc(rounds, sizeof(double)), *core = calloc(rounds, sizeof(double));
	double *bare_cpu = calloc(rounds, sizeof(double)),
	       *core_cpu = calloc(rounds, sizeof(double));
	struct hv_run_opts opts = {.timeout_ns = 600ull * 1000000000ull};

	if (argc > 3) {
		struct hvb_cpulock lock; /* held until exit */
		cpu_set_t set;

		bench_lock_cpu(&lock, TOOL, argc, argv, cpu, false,
			       "wait for it to end, or give another cpu (the third argument)");
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			perror("hv-bare-exit: sched_setaffinity");
	}
	exits = (unsigned long)iters * HV_BARE_UNROLL;
	printf("hv-bare-exit: %lu port exits per round, %u rounds, order bare core core bare ...\n",
	       exits, rounds);
	for (unsigned i = 0; i < rounds; i++) {
		for (int k = 0; k < 2; k++) {
			bool use_core = (i % 2) ^ k;
			struct hv_bare_guest g;
			uint64_t t0, t1, c0, c1;
			int r = hv_bare_guest_create(&g, iters, use_core);

			if (r) {
				fprintf(stderr, "hv-bare-exit: cannot set up a VM: %s\n",
					strerror(-r));
				return 1;
			}
			c0 = cpu_ns();
			t0 = hv_now_ns();
			if (use_core)
				r = vcpu_run(g.vcpu, &opts) == HV_SHUTDOWN ? 0 : -EIO;
			else
				r = hv_bare_run(g.vcpu, 0, NULL);
			t1 = hv_now_ns();
			c1 = cpu_ns();
			if (r) {
				fprintf(stderr, "hv-bare-exit: %s run failed: %s\n",
					use_core ? "core" : "bare",
					use_core ? g.vm->verdict.msg : strerror(-r));
				return 1;
			}
			(use_core ? core : bare)[i] = (double)(t1 - t0) / (double)exits;
			(use_core ? core_cpu : bare_cpu)[i] = (double)(c1 - c0) / (double)exits;
			hv_bare_guest_destroy(&g);
		}
		printf(
		    "round %2u: wall: bare %8.1f core %8.1f ns/exit (%.4f)   cpu: bare %8.1f core "
		    "%8.1f ns/exit (%.4f)\n",
		    i, bare[i], core[i], core[i] / bare[i], bare_cpu[i], core_cpu[i],
		    core_cpu[i] / bare_cpu[i]);
	}
	summary("wall clock", bare, core, rounds);
	summary("process CPU time", bare_cpu, core_cpu, rounds);
	free(bare), free(core), free(bare_cpu), free(core_cpu);
	return 0;
}
