/*
 * One job: what a command asks a runner to do (a list of workloads, one or
 * more repetitions), with every setting resolved once by the command, so a
 * runner reads its configuration here and never from the environment.
 */
#ifndef HVB_JOB_H
#define HVB_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvb/abi.h"

struct hvb_config;     /* runners/common/config.h: resolved once per run */
struct hvb_caps_cache; /* runners/common/caps_probe.h: one per runner per run */

#define HVB_PAGE_4K 4u
#define HVB_PAGE_2M 2048u

struct hvb_job {
	const char *const *workloads; /* names, as registered */
	size_t n_workloads;
	unsigned rep;        /* index of the first repetition of this job */
	unsigned reps;       /* repetitions in this job */
	unsigned total_reps; /* repetitions of the whole run (for progress) */
	bool quick;          /* smoke run: smaller working sets and goals */
	uint64_t goal_us;    /* calibration goal per timed batch */
	unsigned batches;    /* timed batches per repetition */
	uint64_t tsc_khz;    /* host TSC frequency (measured once per run) */
	int cpu;             /* CPU to pin the workload / vCPU 0 to, -1 = none */
	/* CPUs of the guest (vCPUs) or native worker threads (--vcpus, 1..
	 * HVB_MAX_VCPUS); the cmdline carries vcpus=N when > 1.  cpus[i] is
	 * the host CPU vCPU / worker i is pinned to (-1 = none; cpus[0] ==
	 * cpu), chosen once by the command (--cpus LIST or round robin from
	 * cpu) and recorded in meta as placement. */
	unsigned vcpus;
	int cpus[HVB_MAX_VCPUS];
	double timeout_s;    /* wall-clock limit for the whole job (watchdog) */
	/* Page size of workload memory (--page-size), HVB_PAGE_4K or
	 * HVB_PAGE_2M: natively the madvise of workload buffers, in a guest its
	 * page tables (pt=4k or not) and, where the VMM is ours or QEMU, the
	 * host backing of guest RAM. */
	unsigned page_kib;
	/* Harness command line for this job (abi.h HVB_CMDLINE words, without
	 * dev= and caps=, which the runner appends for its environment). */
	const char *cmdline;
	/* The run's configuration (image, its hash, guest memory, ...). */
	const struct hvb_config *cfg;
	/* This runner's capability-probe answer, kept for the whole run. */
	struct hvb_caps_cache *caps;
	/* Non-zero once the user asked the run to stop (the signal number).
	 * Set by the command's signal handler only; runners read it. */
	const volatile int *stop;
	/* Called when a cell starts measuring (a terminal progress line). May
	 * be NULL. */
	void (*progress)(const struct hvb_job *job, const char *runner, unsigned rep,
			 const char *workload);
};

/* Has the user asked the run to stop? */
static inline bool hvb_job_stopped(const struct hvb_job *job)
{
	return job->stop && *job->stop;
}

#endif
