/* A device's I/O thread: start, pin, confine, handshake, stop (see iothread.h). */
#include "iothread.h"

#include <errno.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report_start(struct hv_iothread *t, int r)
{
	pthread_mutex_lock(&t->start_lock);
	t->start_result = r;
	pthread_cond_signal(&t->started);
	pthread_mutex_unlock(&t->start_lock);
}

int hv_thread_pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	if (cpu >= CPU_SETSIZE)
		return -EINVAL;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

static void *iothread_main(void *arg)
{
	struct hv_iothread *t = arg;
	int r;

	__atomic_store_n(&t->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	r = hv_thread_pin_self(t->cpu);
	if (!r && t->confine)
		r = t->confine();
	report_start(t, r);
	if (!r)
		t->ops->loop(t->dev);
	return NULL;
}

/* Wait for the thread to say whether pinning and confinement worked. */
static int wait_start(struct hv_iothread *t)
{
	int r;

	pthread_mutex_lock(&t->start_lock);
	while (t->start_result == 1)
		pthread_cond_wait(&t->started, &t->start_lock);
	r = t->start_result;
	pthread_mutex_unlock(&t->start_lock);
	return r;
}

int hv_iothread_start(struct hv_iothread *t, int cpu, int (*confine)(void),
		      const struct hv_iothread_ops *ops, void *dev)
{
	int r;

	t->cpu = cpu;
	t->confine = confine;
	t->ops = ops;
	t->dev = dev;
	t->start_result = 1;
	pthread_mutex_init(&t->start_lock, NULL);
	pthread_cond_init(&t->started, NULL);
	r = -pthread_create(&t->thread, NULL, iothread_main, t);
	if (r) {
		pthread_mutex_destroy(&t->start_lock);
		pthread_cond_destroy(&t->started);
		return r;
	}
	t->running = true;
	return wait_start(t);
}

bool hv_iothread_stop(struct hv_iothread *t)
{
	if (!t->running)
		return false;
	__atomic_store_n(&t->stop, 1, __ATOMIC_RELEASE);
	t->ops->wake(t->dev);
	pthread_join(t->thread, NULL);
	t->running = false;
	pthread_mutex_destroy(&t->start_lock);
	pthread_cond_destroy(&t->started);
	return true;
}

pid_t hv_iothread_tid(const struct hv_iothread *t)
{
	return t->running ? __atomic_load_n(&t->tid, __ATOMIC_ACQUIRE) : 0;
}
