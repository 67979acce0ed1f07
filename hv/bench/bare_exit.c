/*
 * hv-bare-exit: what the reference core adds to a userspace port exit.
 *
 * One tiny guest (32-bit, ring 0, no paging) writes HVB_PORT_BENCH_USER N
 * times (unrolled, so loop instructions are negligible even where ring 0
 * is emulated) and then HVB_PORT_SHUTDOWN.  It runs under two loops:
 *   bare  while (ioctl(KVM_RUN) == 0) { if port == BENCH_USER continue; ... }
 *   core  vcpu_run(): dispatch table, device lookup, watchdog, verdicts
 * in interleaved order (bare core core bare ...), each round a fresh VM, and
 * prints ns per exit for both and the ratio core / bare, by wall clock and
 * by process CPU time (which leaves out time the vCPU thread spent waiting
 * for a CPU on a busy host, and includes the core's watchdog thread).  A
 * figure for a report, not a test: nothing is asserted.
 *
 *   usage: hv-bare-exit [exits-per-round (default 20000)] [rounds (default 10)] [cpu]
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "dev.h"
#include "mem.h"
#include "exit.h"
#include "pvh.h"
#include "vm.h"
#include "watchdog.h"
#include "hvb/abi.h"

#define UNROLL	 128
#define CODE_GPA 0x100000ull
#define RAM	 (4ull << 20)

/* ecx = iterations; loop: UNROLL x (out dx, al); dec ecx; jnz loop; shutdown. */
static size_t make_guest(uint8_t *p, uint32_t iters)
{
	size_t n = 0, loop;

	p[n++] = 0xb9, memcpy(p + n, &iters, 4), n += 4;		   /* mov ecx, iters */
	p[n++] = 0x66, p[n++] = 0xba, p[n++] = HVB_PORT_BENCH_USER & 0xff; /* mov dx, port */
	p[n++] = HVB_PORT_BENCH_USER >> 8;
	loop = n;
	for (int i = 0; i < UNROLL; i++)
		p[n++] = 0xee;	      /* out dx, al */
	p[n++] = 0x49;		      /* dec ecx */
	p[n++] = 0x0f, p[n++] = 0x85; /* jnz rel32 */
	int32_t rel = (int32_t)loop - (int32_t)(n + 4);
	memcpy(p + n, &rel, 4), n += 4;
	p[n++] = 0x66, p[n++] = 0xba, p[n++] = HVB_PORT_SHUTDOWN & 0xff; /* mov dx, shutdown */
	p[n++] = HVB_PORT_SHUTDOWN >> 8;
	p[n++] = 0xee;		      /* out dx, al */
	p[n++] = 0xeb, p[n++] = 0xfe; /* jmp $ */
	return n;
}

struct guest {
	struct vm *vm;
	struct vcpu *vcpu;
	struct hv_console con;
	struct hv_hvb hvb;
};

static int guest_create(struct guest *g, uint32_t iters, bool devices)
{
	uint8_t code[UNROLL + 64];
	size_t n = make_guest(code, iters);
	int r;

	memset(g, 0, sizeof(*g));
	r = vm_create(&g->vm, NULL);
	if (!r)
		r = vm_mem_add(g->vm, 0, RAM);
	if (!r)
		r = vcpu_create(g->vm, 0, &g->vcpu);
	if (!r)
		r = vm_gpa_write(g->vm, CODE_GPA, code, n);
	if (!r)
		r = vcpu_setup_pvh(g->vcpu, (uint32_t)CODE_GPA);
	if (!r && devices)
		r = dev_console_attach(g->vm, &g->con, 0, NULL, NULL);
	if (!r && devices)
		r = dev_hvb_attach(g->vm, &g->hvb);
	return r;
}

/* The bare loop: the least a VMM can do per port exit. */
static int run_bare(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	for (;;) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0)
			return -errno;
		if (run->exit_reason != KVM_EXIT_IO)
			return -EIO;
		if (run->io.port == HVB_PORT_BENCH_USER)
			continue;
		return run->io.port == HVB_PORT_SHUTDOWN ? 0 : -EIO;
	}
}

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

/* argv[i] as a whole number in [lo, hi], or def when absent; exits on junk
 * (a "--help" read as 0 once wrapped the unrolled loop to 4 billion rounds). */
static unsigned long arg_num(int argc, char **argv, int i, unsigned long def, unsigned long lo,
			     unsigned long hi)
{
	char *end;
	unsigned long v;

	if (argc <= i)
		return def;
	errno = 0;
	v = strtoul(argv[i], &end, 0);
	if (errno || *end || !*argv[i] || argv[i][0] == '-' || v < lo || v > hi) {
		fprintf(stderr,
			"usage: hv-bare-exit [exits-per-round %lu..%lu] [rounds] [cpu]\n"
			"hv-bare-exit: '%s' is not a number from %lu to %lu\n",
			lo, hi, argv[i], lo, hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	unsigned long exits = arg_num(argc, argv, 1, 20000, 1, 100000000);
	unsigned rounds = (unsigned)arg_num(argc, argv, 2, 10, 1, 10000);
	int cpu = (int)arg_num(argc, argv, 3, 0, 0, CPU_SETSIZE - 1);
	uint32_t iters = (uint32_t)((exits + UNROLL - 1) / UNROLL);
	double *bare = calloc(rounds, sizeof(double)), *core = calloc(rounds, sizeof(double));
	double *bare_cpu = calloc(rounds, sizeof(double)),
	       *core_cpu = calloc(rounds, sizeof(double));
	struct hv_run_opts opts = {.timeout_ns = 600ull * 1000000000ull};

	if (argc > 3) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			perror("hv-bare-exit: sched_setaffinity");
	}
	exits = (unsigned long)iters * UNROLL;
	printf("hv-bare-exit: %lu port exits per round, %u rounds, order bare core core bare ...\n",
	       exits, rounds);
	for (unsigned i = 0; i < rounds; i++) {
		for (int k = 0; k < 2; k++) {
			bool use_core = (i % 2) ^ k;
			struct guest g;
			uint64_t t0, t1, c0, c1;
			int r = guest_create(&g, iters, use_core);

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
				r = run_bare(g.vcpu);
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
			vm_destroy(g.vm);
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
