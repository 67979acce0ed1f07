/*
 * qemu-kvm's prefault (HVB_PREFAULT) outside boot_ms (prealloc.c): QEMU is
 * started paused (-S) with guest RAM as an explicit backend object, and
 * before it runs hvbench sets the backend's prealloc property over a QMP
 * socket of its own (qom-set), timing exactly that window, then lets the
 * guest go (cont).  -mem-prealloc would do the same populate inside what
 * boot_ms times (QEMU fork -> HELLO), where it is hvbench's doing, not
 * QEMU's boot cost.
 */
#ifndef HVB_RUNNERS_QEMU_PREALLOC_H
#define HVB_RUNNERS_QEMU_PREALLOC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define QEMU_PREALLOC_BACKEND "hvbram" /* the -object id of guest RAM */
#define QEMU_PREALLOC_ARGS    8	       /* argv entries qemu_prealloc_argv adds */

/* Outcome of qemu_prealloc_run. */
enum qemu_prealloc_state {
	QEMU_PREALLOC_NONE,	/* not set up, or not run yet */
	QEMU_PREALLOC_DONE,	/* all guest RAM populated, then cont */
	QEMU_PREALLOC_FALLBACK, /* qom-set refused: running unprefaulted (why) */
	QEMU_PREALLOC_FAILED,	/* QEMU cannot be resumed: the caller stops it (why) */
};

struct qemu_prealloc {
	char dir[64];		/* private directory holding the socket */
	char path[96];
	enum qemu_prealloc_state state;
	char why[512];
	/* Host ns after QEMU's fork: its QMP answered (QEMU initialised,
	 * paused), prealloc window, cont's round trip. */
	uint64_t start_ns, prefault_ns, cont_ns;
	unsigned long long rss_before_kib, rss_after_kib; /* QEMU's VmRSS around it */
};

/* Make the socket's directory: 0 or -errno (why set). */
int qemu_prealloc_init(struct qemu_prealloc *p);
/* Add -S, the RAM backend of mem_mib MiB, -machine memory-backend= and
 * -qmp to argv (a NULL-terminated vector with QEMU_PREALLOC_ARGS free
 * entries of cap): 0, or -ENOSPC and nothing added. */
int qemu_prealloc_argv(struct qemu_prealloc *p, char **argv, unsigned cap,
		       unsigned long long mem_mib);
/* QEMU pid was forked at t_start (host ns), paused: populate its RAM and
 * resume it, giving up at deadline (host ns).  Sets p->state. */
void qemu_prealloc_run(struct qemu_prealloc *p, pid_t pid, uint64_t t_start, uint64_t deadline);
/* Remove the socket and its directory. */
void qemu_prealloc_close(struct qemu_prealloc *p);

#endif
