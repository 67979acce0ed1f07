/*
 * What every runner that boots the guest image (kvm, qemu-*, xen-*) and the
 * native runner say to and about the harness the same way: the command
 * line words each environment adds (abi.h HVB_CMDLINE, parsed by
 * workloads/harness.c), the names of the guest's exit codes, and the boot
 * time row of a boot that never got there.
 */
#ifndef HVB_RUNNERS_GUEST_H
#define HVB_RUNNERS_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "job.h"
#include "sink.h"

/* The words an environment adds to the job's harness words. */
struct hvb_guest_env {
	bool native;        /* env=native: the hosted harness */
	bool pt_4k;         /* pt=4k: 4 KiB guest page tables (--page-size 4k) */
	const char *dev;    /* dev=: the record transport (hvb, serial, xencons) */
	uint32_t caps;      /* caps=: HVB_CAP_* this environment really offers */
	uint32_t mmio_user; /* mmio_user=: userspace MMIO page (0: none) */
	const char *extra;  /* appended last (debugging words), or NULL */
};

/* The harness's command line: words, then the environment's; malloc'ed. */
char *hvb_guest_cmdline(const char *words, const struct hvb_guest_env *env);

struct hvb_params;

/* The harness words of the run's workload parameters (config.h), every
 * one with its value, defaults included, so the harness and meta.csv
 * agree whatever defaults the image was built with:
 * "param.open-loop.rate=2000 param.open-loop.work_ns=2000 ..." ("" for
 * none); malloc'ed.  The command appends them to the job's words, which
 * every runner (native included) passes to hvb_guest_cmdline. */
char *hvb_param_words(const struct hvb_params *params);

/* Does the job ask for 4 KiB guest page tables? */
static inline bool hvb_job_pt_4k(const struct hvb_job *job)
{
	return job->page_kib != HVB_PAGE_2M;
}

/* What a guest exit code (abi.h HVB_EXIT_*) means, for verdicts. */
const char *hvb_guest_exit_name(int code);

/* The boot_ms row of a boot that failed before the guest said HELLO. */
void hvb_boot_failed(const struct hvb_out *out, const struct hvb_job *job, const char *why);

/* The boot_ms row of a boot that reached the harness after ms. */
void hvb_boot_time(const struct hvb_out *out, const struct hvb_job *job, double ms,
		   const char *note);

#endif
