/*
 * The QEMU process driver (proc.c): one qemu-system-x86_64 process booting
 * the guest image with -kernel, its serial line fed to a console record
 * stream.  Used by the QEMU runners (qemu.c) and their capability probe
 * (probe.c); it writes no results itself.
 */
#ifndef HVB_RUNNERS_QEMU_PROC_H
#define HVB_RUNNERS_QEMU_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "console_stream.h"

struct hvb_config;
struct hvb_disk;

#define QEMU_STDERR_TAIL 2048		     /* bytes of QEMU's stderr kept for verdicts */
#define QEMU_PIO_USER	 HVB_PORT_BENCH_USER /* isa-debugcon placed here */
#define QEMU_MMIO_USER	 0xff000000u	     /* pc-testdev's userspace MMIO (mmio_user=) */
#define QEMU_ARGV_CAP	 64		     /* entries of qemu_argv's vector, NULL included */

/* Accelerator and CPU model of one QEMU runner. */
struct qemu_conf {
	const char *accel;
	const char *cpu;
	bool kvm;
};

/* One QEMU process.  qemu_collect() reads until the deadline, which the
 * stream's callbacks may move while it runs. */
struct qemu_proc {
	pid_t pid;
	int out_fd, err_fd;	    /* QEMU's serial (stdout) and stderr */
	uint64_t t_start;	    /* host ns just before fork */
	uint64_t deadline;	    /* host ns: qemu_collect stops with QEMU_END_TIMEOUT */
	int cpu;		    /* pin the vCPU thread here (-1: do not) */
	int vcpu_tid;		    /* pinned vCPU thread, 0 = not yet, < 0 = failed (-errno) */
	/* --vcpus: vCPU i's thread ("CPU i/KVM") pinned to cpus[i] (i >= 1;
	 * vCPU 0 is cpu / vcpu_tid above); 0 vcpus = 1. */
	unsigned vcpus;
	int cpus[HVB_MAX_VCPUS];
	int vcpu_tids[HVB_MAX_VCPUS];
	const volatile int *stop;   /* the user's stop flag (may be NULL) */
	struct hvb_console_stream *stream; /* fed with the serial line */
	/* Called (may be NULL) as soon as a read brings the first byte of a
	 * serial line, before that read is fed to the stream: when the guest
	 * began to send it, to within one read; whole: the line also ended
	 * within that read (the reader was late, so "when it began" is lost). */
	void (*on_line_start)(void *arg, bool whole);
	void *hook_arg;
	bool line_open; /* the last byte fed did not end a line */
	char err_tail[QEMU_STDERR_TAIL];
	size_t err_len;
	int keep_fd;		    /* an fd QEMU inherits (-netdev tap,fd=), -1 none */
};

/* net/: the job's tap for -netdev tap,fd= and virtio-net-device. */
struct qemu_net {
	int tap_fd;	     /* inherited by QEMU as it is (the same number) */
	bool vhost;	     /* vhost=on: the host kernel's vhost-net serves it */
	const char *mac;     /* the guest's, "xx:xx:..." */
};

enum qemu_end {
	QEMU_END_EOF, /* QEMU closed its serial (it exited) */
	QEMU_END_TIMEOUT,
	QEMU_END_INTERRUPT,
	QEMU_END_PROTO, /* the stream's on_record refused a record */
};

/* QEMU command line for conf booting image with the guest command line
 * append and `vcpus` vCPUs (-smp); free with qemu_argv_free. */
char **qemu_argv(const struct qemu_conf *conf, const struct hvb_config *cfg, const char *image,
		 const char *append, const struct qemu_net *net, unsigned vcpus);
void qemu_argv_free(char **v);

/* Is the machine microvm (the one with virtio-mmio), and does the run have
 * a disk QEMU can attach there? */
bool qemu_machine_microvm(const struct hvb_config *cfg);
bool qemu_blk_usable(const struct hvb_config *cfg);
/* The -machine value (malloc'ed): HVB_QEMU_MACHINE, with acpi=off added
 * for a disk or a network device (net) on microvm. */
char *qemu_machine_arg(const struct hvb_config *cfg, bool net);
/* The -drive cache and aio options for the run's disk. */
const char *qemu_blk_cache(const struct hvb_disk *d);

/* The command as a shell would need it, for the log (malloc'ed). */
char *qemu_argv_line(char **v);

/* Start QEMU with argv (q->t_start, pid, out_fd, err_fd set): 0 or -errno.
 * thp_off: THP disabled for the QEMU process (--page-size 4k). */
int qemu_spawn(struct qemu_proc *q, char **argv, bool thp_off);

/* Start QEMU with argv writing its serial and stderr to out_wr and err_wr,
 * which the caller keeps or closes (q->pid and t_start set, out_fd and
 * err_fd -1): the migration destination, writing into the pipes of the
 * source (migrate.c).  0 or -errno. */
int qemu_spawn_on(struct qemu_proc *q, char **argv, bool thp_off, int out_wr, int err_wr);

/* Feed q->stream from QEMU's serial (and keep its stderr tail) until QEMU
 * exits, q->deadline passes, the user stops or the stream refuses a
 * record.  Pins the vCPU thread to q->cpu on the way. */
enum qemu_end qemu_collect(struct qemu_proc *q);

/* QEMU's thread of vCPU `index` (named "CPU 0/KVM" or "CPU 0/TCG" with
 * -name debug-threads=on): its id, 0 if it does not exist (yet), or -errno. */
int qemu_vcpu_tid(pid_t pid, unsigned index);

/* Close QEMU's pipes and reap it, stopping it first if must_stop (SIGTERM,
 * then SIGKILL after a grace period); returns its wait status.  Never
 * leaves QEMU running. */
int qemu_reap(struct qemu_proc *q, bool must_stop);

/* The tail of QEMU's stderr as one printable line ("" if it said nothing). */
void qemu_err_summary(const struct qemu_proc *q, char *out, size_t len);

#endif
