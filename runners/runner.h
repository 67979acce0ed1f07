/*
 * Runners: where a workload executes (natively, under the reference core on
 * /dev/kvm, under QEMU, under Xen).
 *
 * Each runner defines a struct hvb_runner and registers it with
 * HVB_RUNNER(); `hvbench list/info/run` find them through the "hvb_runners"
 * linker section.  A runner executes one job (a list of workloads, one or
 * more repetitions) and delivers everything it observes to a sink (the
 * result writer), through a struct hvb_out bound to it: samples, cell
 * status, counters, exits, meta.
 */
#ifndef HVB_RUNNER_H
#define HVB_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "sink.h"

struct hvb_runner {
	const char *name;  /* "native", "kvm", "qemu-kvm", "xen-pvh", ... */
	const char *desc;  /* one line for `hvbench list` */
	bool emulated;     /* numbers are functional evidence only (TCG, nested emulation) */
	bool in_default;   /* part of the default runner set when available */
	bool pages_4k_only; /* cannot honour --page-size 2m (Xen PV): its cells
			     * are recorded unsupported instead of being run */
	/* Which variant of a runner's code this is, for runners registered
	 * more than once with the same functions (kvm, kvm-vhost, kvm-loop:
	 * the virtio-net backend; qemu-kvm, qemu-kvm-vhost: vhost=on).  Its
	 * meaning is the runner's own; 0 for the plain one. */
	int variant;
	/* Can this runner run here with this configuration?  false with a
	 * reason that says what to do. */
	bool (*available)(const struct hvb_config *cfg, char *why, size_t len);
	/* Add runner-specific context to meta.csv (runner.<name>.<key>).  May be NULL. */
	void (*describe)(const struct hvb_runner *r, const struct hvb_config *cfg,
			 const struct hvb_out *out);
	/* Run the job.  Every workload of the job must end up in the sink as
	 * samples or as a status row (skipped/unsupported/failed with a reason):
	 * struct hvb_rec_consumer's hvb_rec_finish() does that for whatever the
	 * guest did not deliver.  Returns 0 then, or -EINTR when interrupted.
	 * Any other -errno means the runner could not start the job and
	 * delivered nothing; the caller records every cell as failed with it. */
	int (*run)(const struct hvb_runner *r, const struct hvb_job *job, const struct hvb_out *out);
};

#define HVB_RUNNER(var)                                                                    \
	static const struct hvb_runner *const hvb_runner_ptr_##var                         \
		__attribute__((section("hvb_runners"), used, aligned(sizeof(void *)))) = &var

/* Registered runners, in link order. */
const struct hvb_runner *const *hvb_runners_begin(void);
const struct hvb_runner *const *hvb_runners_end(void);
const struct hvb_runner *hvb_runner_find(const char *name);

#endif
