/*
 * Per-CPU run locks (cpulock.c): two runs pinned to the same host CPU at
 * once measure each other, so a run holds flock(2) on one file per host CPU
 * it pins to, DIR/cpu<N>.lock, for its whole life.  The kernel drops an
 * flock when the last descriptor of its open file goes, so a killed run
 * leaves no stale lock: the files stay (removing a file someone may be
 * locking is a race), their locks do not.
 *
 * DIR: $HVB_LOCK_DIR, else /run/hvbench when writable (or creatable), else
 * $XDG_RUNTIME_DIR/hvbench, else /tmp/hvbench-<uid> (owned by the caller).
 * After locking, the holder writes into the file who it is ("pid N",
 * "command ...", "run_dir ...", "since ..." lines), which a refused run
 * quotes.  Anything holding the flock counts, e.g. `flock DIR/cpu1.lock
 * sleep 600` keeps hvbench runs off CPU 1 for ten minutes.
 *
 * A parent that runs hvbench children on purpose on its own CPUs (capacity:
 * N VMs at once) passes its locks down: the descriptors stay open across
 * exec and HVB_CPULOCK_ENV names them ("PID:CPU=FD,CPU=FD,..."); a child
 * whose CPU is listed there takes its parent's open file (the same lock)
 * instead of refusing.  Library code: returns 0 or -errno, prints nothing.
 */
#ifndef HVB_CPULOCK_H
#define HVB_CPULOCK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define HVB_CPULOCK_ENV "HVB_CPU_LOCKS"
#define HVB_CPULOCK_MAX 256 /* distinct CPUs one holder locks */

struct hvb_cpulock {
	char dir[PATH_MAX];
	unsigned n;
	int cpu[HVB_CPULOCK_MAX];
	int fd[HVB_CPULOCK_MAX];
	pid_t parent; /* > 0: some locks are the parent's (HVB_CPULOCK_ENV) */
	bool inherited[HVB_CPULOCK_MAX];
};

/* Who holds the locks: written into each lock file after locking. */
struct hvb_cpulock_who {
	const char *command; /* the command line */
	const char *run_dir; /* the result directory it writes (made absolute) */
};

/* The lock directory (see above), created if missing.  0, or -errno with
 * err saying which directory failed and what to do. */
int hvb_cpulock_dir(char *dir, size_t len, char *err, size_t elen);

/*
 * Lock the distinct CPUs of cpus[0..n) (negative entries: none) without
 * waiting, and write who into each file.  pass_down: the locks stay open
 * across exec and HVB_CPULOCK_ENV is set for children; else inherited ones
 * are closed on exec and HVB_CPULOCK_ENV is unset.  0; -EBUSY when a CPU
 * is held elsewhere, err naming the CPU, the holder's pid, command line
 * and run directory (nothing stays locked: the caller adds what to do);
 * other -errno with err.  l is released (hvb_cpulock_release) on every error.
 */
int hvb_cpulock_take(struct hvb_cpulock *l, const int *cpus, unsigned n,
		     const struct hvb_cpulock_who *who, bool pass_down, char *err, size_t len);

/* What a refused run (-EBUSY) of the hvbench commands can do. */
#define HVB_CPULOCK_HINT                                                                   \
	"wait for it to end, choose other CPUs with --cpus (or --cpu), or measure anyway "  \
	"with --no-cpu-lock (recorded in meta.csv cpu_lock)"

/* What is locked, for meta.csv cpu_lock: "cpus 0,1 (flock DIR/cpu0.lock
 * DIR/cpu1.lock)", with "; passed down by pid P: cpus 0" for a parent's. */
void hvb_cpulock_describe(const struct hvb_cpulock *l, char *buf, size_t len);

/* Close every lock (an inherited one stays its parent's). */
void hvb_cpulock_release(struct hvb_cpulock *l);

/*
 * CPUs of cpus[0..n) (all CPUs when n == 0) whose lock file in dir is held
 * now by some process (read from /proc/locks: nothing is locked to look),
 * as "1 (pid 123), 3 (pid 456)" in buf.  The number found, or -errno.
 */
int hvb_cpulock_held(const char *dir, const int *cpus, unsigned n, char *buf, size_t len);

#endif
