/*
 * rt_cpu_* natively: the CPUs of the harness are the calling thread (CPU
 * 0, pinned by the native runner to job->cpu) and vcpus=N - 1 worker
 * threads, worker i pinned to the i-th host CPU of cpus=LIST (abi.h).
 * Idle workers block on a condition variable (a guest's idle APs halt or
 * spin; natively the kernel parks the thread).  The placement each worker
 * got is read back with sched_getcpu() and said in rt_cpu_note().
 *
 * Set up on the first call, from the harness's command line; a command
 * line with other vcpus=/cpus= words (tests) ends the workers and starts
 * new ones.  Bad words leave one CPU and say why in the note: the harness
 * then skips every cell (vcpus= asked, 1 runs).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rt_native.h"

struct worker {
	pthread_t thread;
	int host_cpu; /* cpus= entry, -1 = not pinned */
	int placed;   /* sched_getcpu() once pinned, -1 = unknown */
	char pin_err[64];
	void (*fn)(void *arg, unsigned cpu);
	void *arg;
	bool busy, quit, started;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct worker w[HVB_MAX_VCPUS];
	unsigned n;		    /* CPUs, the caller's included */
	bool ready;
	char words[HVB_CMDLINE_MAX]; /* "vcpus=... cpus=..." the workers were made for */
	char note[HVB_TEXT_MAX];
} smp = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .n = 1 };

static __thread unsigned self_index;

/* cpus=LIST: comma-separated host CPU numbers, one per CPU; NULL or why. */
static const char *parse_cpus(const char *list, int *cpus, unsigned n)
{
	unsigned i = 0;
	const char *p = list;

	while (*p) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p || v < 0 || v >= CPU_SETSIZE || (*end && *end != ','))
			return "cpus= must be host CPU numbers separated by commas";
		if (i < n)
			cpus[i] = (int)v;
		i++;
		p = *end ? end + 1 : end;
	}
	return i >= n ? NULL : "cpus= names fewer host CPUs than vcpus=";
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned index = (unsigned)(w - smp.w);

	self_index = index;
	if (w->host_cpu >= 0) {
		cpu_set_t set;
		int r;

		CPU_ZERO(&set);
		CPU_SET(w->host_cpu, &set);
		r = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
		if (r)
			snprintf(w->pin_err, sizeof(w->pin_err), "%s", strerror(r));
	}
	pthread_mutex_lock(&smp.lock);
	w->placed = sched_getcpu();
	w->started = true;
	pthread_cond_broadcast(&smp.cond);
	for (;;) {
		while (!w->busy && !w->quit)
			pthread_cond_wait(&smp.cond, &smp.lock);
		if (w->quit)
			break;
		pthread_mutex_unlock(&smp.lock);
		w->fn(w->arg, index);
		pthread_mutex_lock(&smp.lock);
		w->busy = false;
		pthread_cond_broadcast(&smp.cond);
	}
	pthread_mutex_unlock(&smp.lock);
	return NULL;
}

static void stop_workers(void)
{
	pthread_mutex_lock(&smp.lock);
	for (unsigned i = 1; i < smp.n; i++)
		smp.w[i].quit = true;
	pthread_cond_broadcast(&smp.cond);
	pthread_mutex_unlock(&smp.lock);
	for (unsigned i = 1; i < smp.n; i++)
		pthread_join(smp.w[i].thread, NULL);
	memset(smp.w, 0, sizeof(smp.w));
	smp.n = 1;
}

/* "native: 2 threads on host CPUs 3,1 (ran on 3,1), idle on a condvar". */
static void describe(const int *cpus, bool pinned)
{
	size_t at = (size_t)snprintf(smp.note, sizeof(smp.note), "native: %u threads %s", smp.n,
				     pinned ? "on host CPUs " : "unpinned (no cpus=)");

	for (unsigned i = 0; pinned && i < smp.n && at < sizeof(smp.note); i++)
		at += (size_t)snprintf(smp.note + at, sizeof(smp.note) - at, "%s%d", i ? "," : "",
				       cpus[i]);
	for (unsigned i = 0; i < smp.n && at < sizeof(smp.note); i++)
		at += (size_t)snprintf(smp.note + at, sizeof(smp.note) - at, "%s%d",
				       i ? "," : " (ran on ", i ? smp.w[i].placed : sched_getcpu());
	if (at < sizeof(smp.note))
		at += (size_t)snprintf(smp.note + at, sizeof(smp.note) - at, "), idle on a condvar");
	for (unsigned i = 1; i < smp.n && at < sizeof(smp.note); i++)
		if (smp.w[i].pin_err[0])
			at += (size_t)snprintf(smp.note + at, sizeof(smp.note) - at,
					       "; worker %u not pinned: %s", i, smp.w[i].pin_err);
}

static int start_workers(unsigned n, const int *cpus, bool pinned)
{
	for (unsigned i = 1; i < n; i++) {
		smp.w[i].host_cpu = pinned ? cpus[i] : -1;
		smp.w[i].placed = -1;
		if (pthread_create(&smp.w[i].thread, NULL, worker_main, &smp.w[i])) {
			smp.n = i;
			return -EAGAIN;
		}
		smp.n = i + 1;
	}
	pthread_mutex_lock(&smp.lock);
	for (unsigned i = 1; i < n; i++)
		while (!smp.w[i].started)
			pthread_cond_wait(&smp.cond, &smp.lock);
	pthread_mutex_unlock(&smp.lock);
	return 0;
}

/* The workers the command line asks for, if they are not there yet. */
static void smp_init(void)
{
	const char *cmdline = hvb_harness_cmdline();
	char vcpus[16] = "", list[256] = "", words[sizeof(smp.words)];
	int cpus[HVB_MAX_VCPUS];
	const char *why = NULL;
	unsigned long n = 1;
	bool pinned;

	pinned = hvb_cmdline_get(cmdline, "cpus", list, sizeof(list));
	if (hvb_cmdline_get(cmdline, "vcpus", vcpus, sizeof(vcpus)))
		n = strtoul(vcpus, NULL, 10);
	snprintf(words, sizeof(words), "vcpus=%s cpus=%s", vcpus, list);
	if (smp.ready && !strcmp(words, smp.words))
		return;
	stop_workers();
	snprintf(smp.words, sizeof(smp.words), "%s", words);
	smp.ready = true;
	if (n < 1 || n > HVB_MAX_VCPUS || strspn(vcpus, "0123456789") != strlen(vcpus))
		why = "vcpus= must be 1..8 (HVB_MAX_VCPUS)";
	else if (pinned)
		why = parse_cpus(list, cpus, (unsigned)n);
	if (!why && start_workers((unsigned)n, cpus, pinned))
		why = "cannot create the worker threads";
	if (why) {
		stop_workers();
		snprintf(smp.note, sizeof(smp.note), "native: one CPU: %s", why);
		return;
	}
	describe(cpus, pinned);
}

void rt_native_cpus_end(void)
{
	stop_workers();
	smp.ready = false;
}

unsigned rt_cpus(void)
{
	smp_init();
	return smp.n;
}

unsigned rt_cpu_self(void)
{
	return self_index;
}

int rt_cpu_start(unsigned cpu, void (*fn)(void *arg, unsigned cpu), void *arg)
{
	struct worker *w = &smp.w[cpu < HVB_MAX_VCPUS ? cpu : 0];
	int r = 0;

	if (!cpu || cpu >= smp.n || !fn)
		return -EINVAL;
	pthread_mutex_lock(&smp.lock);
	if (w->busy) {
		r = -EBUSY;
	} else {
		w->fn = fn, w->arg = arg, w->busy = true;
		pthread_cond_broadcast(&smp.cond);
	}
	pthread_mutex_unlock(&smp.lock);
	return r;
}

void rt_cpu_wait(unsigned cpu)
{
	if (!cpu || cpu >= smp.n)
		return;
	pthread_mutex_lock(&smp.lock);
	while (smp.w[cpu].busy)
		pthread_cond_wait(&smp.cond, &smp.lock);
	pthread_mutex_unlock(&smp.lock);
}

const char *rt_cpu_note(void)
{
	smp_init();
	return smp.n > 1 || smp.note[0] ? smp.note : "native: one thread";
}
