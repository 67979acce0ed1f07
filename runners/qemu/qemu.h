/*
 * Internal to the QEMU runners (runners/qemu): starting QEMU, reading its
 * serial line and stopping it (qemu.c), and the capability probe of
 * qemu-kvm (probe.c).
 */
#ifndef HVB_RUNNERS_QEMU_H
#define HVB_RUNNERS_QEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "console_stream.h"
#include "records.h"
#include "runner.h"

#define QEMU_STDERR_TAIL 2048 /* bytes of QEMU's stderr kept for verdicts */

struct qemu_conf {
	const char *accel;
	const char *cpu;
	bool kvm;
};

/* One QEMU process and what it said.  qemu_collect() reads until the
 * deadline, which the stream's callbacks may move while it runs. */
struct qemu_job {
	const struct hvb_runner *runner;
	const struct hvb_job *job;
	struct hvb_sink *sink;
	struct hvb_rec_consumer consumer;
	struct hvb_console_stream stream;
	uint64_t t_start;  /* host ns just before fork */
	uint64_t deadline; /* host ns: qemu_collect stops with QEMU_END_TIMEOUT */
	bool boot_recorded;
	pid_t pid;
	int vcpu_tid;		   /* pinned vCPU thread, 0 = not yet, < 0 = failed (-errno) */
	size_t log_used;	   /* console text bytes logged */
	unsigned long log_dropped; /* console lines not logged (budget) */
	char err_tail[QEMU_STDERR_TAIL];
	size_t err_len;
};

enum qemu_end {
	QEMU_END_EOF, /* QEMU closed its serial (it exited) */
	QEMU_END_TIMEOUT,
	QEMU_END_INTERRUPT,
	QEMU_END_PROTO, /* the stream's on_record refused a record */
};

/* QEMU command line for conf booting image with the guest command line
 * append; free with qemu_argv_free. */
char **qemu_argv(const struct qemu_conf *conf, const char *image, const char *append);
void qemu_argv_free(char **v);

/* The guest image the runners boot ($HVB_GUEST_IMAGE or next to hvbench). */
void qemu_guest_image(char *out, size_t len);

/* Start QEMU with argv, serial on *out_fd, stderr on *err_fd: 0 or -errno.
 * thp_off: THP disabled for the QEMU process (--page-size 4k). */
int qemu_spawn(char **argv, bool thp_off, int *out_fd, int *err_fd, pid_t *pid);

/* Feed q->stream from QEMU's serial (and keep its stderr tail) until QEMU
 * exits, q->deadline passes, the user interrupts or the stream refuses a
 * record.  Pins the vCPU thread to q->job->cpu on the way. */
enum qemu_end qemu_collect(struct qemu_job *q, int out_fd, int err_fd);

/* Reap QEMU, stopping it first if must_stop (SIGTERM, then SIGKILL after a
 * grace period); returns its wait status.  Never leaves QEMU running. */
int qemu_reap(pid_t pid, bool must_stop);

/* The tail of QEMU's stderr as one printable line ("" if it said nothing). */
void qemu_err_summary(const struct qemu_job *q, char *out, size_t len);

/*
 * The capability probe (probe.c): boots the guest image under conf in
 * probe mode to find which of CPUID, MSR, hypercall and HLT really work
 * for the guest on this host, for the capabilities that the job's
 * workloads need.  Runs once per process; later calls return the cached
 * answer.  Returns the capabilities that worked; *desc says per capability
 * what was found and why (for meta.csv), statically allocated.
 */
uint32_t qemu_probe_caps(const struct qemu_conf *conf, const struct hvb_job *job, uint32_t base,
			 const char **desc);

/* Why the capability that workload needs (an unterminated record field is
 * fine) was not granted by the probe, in buf; NULL if it was, or if the
 * workload needs no probed capability. */
const char *qemu_probe_failure(const char *workload, char *buf, size_t len);

/* Capabilities the probe may grant (the rest are fixed by the VMM). */
#define QEMU_PROBED_CAPS (HVB_CAP_CPUID | HVB_CAP_MSR | HVB_CAP_HYPERCALL | HVB_CAP_HLT)

/* Guest-physical page of pc-testdev's userspace MMIO (the mmio_user= word). */
#define QEMU_MMIO_USER 0xff000000u

#endif
