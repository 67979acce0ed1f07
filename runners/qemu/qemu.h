/*
 * Internal to the QEMU runners (runners/qemu): the runner (qemu.c) and the
 * boot its capability probe makes (probe.c), both on the process driver
 * (proc.h).
 */
#ifndef HVB_RUNNERS_QEMU_H
#define HVB_RUNNERS_QEMU_H

#include "caps_probe.h"
#include "proc.h"

struct hvb_job;

/* What a probe boot needs to know (the arg of qemu_probe_boot). */
struct qemu_probe_arg {
	const struct qemu_conf *conf;
	const struct hvb_job *job;
	const char *image; /* boot path of the run's image */
};

/* The capability probe's boot under QEMU (an hvb_probe_boot_fn). */
void qemu_probe_boot(void *arg, struct hvb_probe_boot *b);

#endif
