/*
 * A device's I/O thread: started pinned and confined, with a handshake.
 *
 * virtio-blk and virtio-net each serve their queues on one thread of their
 * own.  Starting it is the same for both: the thread records its id (for
 * the host CPU accounting of the runners), pins itself to the configured
 * CPU, installs its seccomp allowlist, and only then says whether that
 * worked, so that attach fails with the reason instead of a device that
 * silently serves nothing.  Stopping is the same too: set the flag, wake
 * the thread out of its wait, join it.
 */
#ifndef HV_IOTHREAD_H
#define HV_IOTHREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

/* Pin the calling thread (an I/O thread, an AP's vCPU thread) to cpu;
 * cpu < 0: leave it where it is.  0 or -errno. */
int hv_thread_pin_self(int cpu);

struct hv_iothread_ops {
	void (*loop)(void *dev);   /* serve until hv_iothread_stopping() */
	void (*wake)(void *dev);   /* make a waiting loop look at the flag */
};

struct hv_iothread {
	pthread_t thread;
	bool running; /* started and not yet joined */
	int stop;     /* atomic: the device asks the thread to end */
	pid_t tid;    /* atomic */
	int cpu;      /* -1 = not pinned */
	int (*confine)(void);
	const struct hv_iothread_ops *ops;
	void *dev;
	pthread_mutex_t start_lock;
	pthread_cond_t started;
	int start_result; /* 1 = pending */
};

/*
 * Start the thread on a zeroed t: pinned to cpu (-1 = anywhere), confined
 * by confine (a seccomp install: 0 or -errno; NULL = not confined), then
 * running ops->loop(dev).  Returns 0, or -errno from
 * pthread_create, the pinning or the confinement; on failure after the
 * thread was created it has ended, and hv_iothread_stop() joins it.
 */
int hv_iothread_start(struct hv_iothread *t, int cpu, int (*confine)(void),
		      const struct hv_iothread_ops *ops, void *dev);

/* Ask the thread to end, wake it, join it.  False if none was running. */
bool hv_iothread_stop(struct hv_iothread *t);

/* For the loop and what it calls: has the device asked it to end? */
static inline bool hv_iothread_stopping(const struct hv_iothread *t)
{
	return __atomic_load_n(&t->stop, __ATOMIC_ACQUIRE);
}

static inline bool hv_iothread_running(const struct hv_iothread *t)
{
	return t->running;
}

/* The thread's id once started, 0 when there is no thread. */
pid_t hv_iothread_tid(const struct hv_iothread *t);

#endif
