/*
 * hvb-fpu-check: does this process's SSE register file survive being
 * preempted?  Loads a known pattern into xmm0-xmm15, spins in integer code
 * (so only a context switch can touch the registers), stores them back and
 * compares, round after round, until the time limit or SIGINT/SIGTERM.
 *
 * Written for ci/xen/fpu-test: run in a Xen dom0 while a domU computes, it
 * catches a hypervisor (or an emulator under it) that leaks one domain's
 * FPU/SSE state into another.  Under Xen 4.17 in QEMU TCG with Xen's lazy
 * FPU switching, dom0 processes saw their xmm registers zeroed or holding
 * the domU's numbers, and hvbench itself crashed in printf.
 *
 * Usage: hvb-fpu-check [SECONDS]   (default 60)
 * Prints each corrupted round (the first few in full), then one summary
 * line "hvb-fpu-check: R rounds, C corrupted".  Exit 0: intact, 1: corrupted,
 * 2: usage.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NREGS       16
#define SPIN_ITERS  2000000 /* ~10-30 ms under emulation: room for preemption */
#define SHOW_ROUNDS 5

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define LD(n) "movdqu " #n "*16(%[in]), %%xmm" #n "\n\t"
#define ST(n) "movdqu %%xmm" #n ", " #n "*16(%[out])\n\t"

/* Load in[] into xmm0-15, spin, store them to out[]. */
static void round_trip(const uint64_t *in, uint64_t *out)
{
	asm volatile(LD(0) LD(1) LD(2) LD(3) LD(4) LD(5) LD(6) LD(7)
		     LD(8) LD(9) LD(10) LD(11) LD(12) LD(13) LD(14) LD(15)
		     "mov %[n], %%rcx\n"
		     "1:\tdec %%rcx\n\t"
		     "jnz 1b\n\t"
		     ST(0) ST(1) ST(2) ST(3) ST(4) ST(5) ST(6) ST(7)
		     ST(8) ST(9) ST(10) ST(11) ST(12) ST(13) ST(14) ST(15)
		     :
		     : [in] "r"(in), [out] "r"(out), [n] "i"(SPIN_ITERS)
		     : "rcx", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
		       "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
		       "xmm14", "xmm15");
}

/* Print what a corrupted round held instead of the pattern. */
static void show(unsigned long round, const uint64_t *want, const uint64_t *got)
{
	for (int i = 0; i < 2 * NREGS; i++) {
		double d;

		if (want[i] == got[i])
			continue;
		memcpy(&d, &got[i], sizeof(d));
		printf("hvb-fpu-check: round %lu: xmm%d[%d] = %016llx (as a double: %g), "
		       "expected %016llx\n",
		       round, i / 2, i % 2, (unsigned long long)got[i], d,
		       (unsigned long long)want[i]);
	}
}

int main(int argc, char **argv)
{
	uint64_t want[2 * NREGS], got[2 * NREGS];
	unsigned long rounds = 0, bad = 0;
	double limit = 60, start;
	char *end;

	if (argc > 2 || (argc == 2 && ((limit = strtod(argv[1], &end)) <= 0 || *end))) {
		fprintf(stderr, "usage: hvb-fpu-check [SECONDS]\n");
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	start = now_s();
	while (!stop && now_s() - start < limit) {
		/* A fresh, distinct pattern per round and per lane. */
		for (int i = 0; i < 2 * NREGS; i++)
			want[i] = 0x0101010101010101ull * (uint64_t)(i + 1) ^ ((uint64_t)rounds << 8);
		round_trip(want, got);
		rounds++;
		if (!memcmp(want, got, sizeof(want)))
			continue;
		if (bad++ < SHOW_ROUNDS)
			show(rounds, want, got);
		fflush(stdout);
	}
	printf("hvb-fpu-check: %lu rounds in %.1f s, %lu corrupted\n", rounds, now_s() - start, bad);
	return bad ? 1 : 0;
}
