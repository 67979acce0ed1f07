/* The KVM_RUN watchdog (see watchdog.h). */
#include "watchdog.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exit.h"

uint64_t hv_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The signal only has to interrupt KVM_RUN; the flags carry the meaning. */
static void kick_handler(int sig)
{
	(void)sig;
}

static pthread_once_t handler_once = PTHREAD_ONCE_INIT;

static void install_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler; /* no SA_RESTART: KVM_RUN must return -EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(HV_KICK_SIGNAL, &sa, NULL);
}

static void kick(struct hv_watchdog *wd, int why)
{
	int none = 0;

	if (__atomic_compare_exchange_n(&wd->kick, &none, why, false, __ATOMIC_RELEASE,
					__ATOMIC_RELAXED))
		wd->kicked_at_ns = hv_now_ns();
	__atomic_store_n(&wd->vcpu->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill(wd->target, HV_KICK_SIGNAL);
}

/* Another thread may end the run (vCPU 0's shutdown seen by an AP, an
 * AP's crash, a device thread's verdict): this vCPU must leave KVM_RUN too. */
static bool sibling_ended_run(const struct vcpu *vcpu)
{
	return __atomic_load_n(&vcpu->vm->verdict.outcome, __ATOMIC_ACQUIRE) != HV_RUNNING;
}

static void *watchdog_main(void *arg)
{
	struct hv_watchdog *wd = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&wd->lock);
	while (!wd->quit) {
		uint64_t now = hv_now_ns(), wake = now + HV_WATCHDOG_POLL_MS * 1000000ull;
		struct timespec ts;

		if (wd->deadline_ns && wd->deadline_ns < wake)
			wake = wd->deadline_ns;
		ts.tv_sec = (time_t)(wake / 1000000000ull);
		ts.tv_nsec = (long)(wake % 1000000000ull);
		pthread_cond_timedwait(&wd->cond, &wd->lock, &ts);
		if (wd->quit)
			break;
		if (wd->stop_flag && *wd->stop_flag)
			kick(wd, HV_INTERRUPTED);
		else if (sibling_ended_run(wd->vcpu))
			kick(wd, HV_INTERRUPTED); /* the verdict is the sibling's */
		else if (wd->deadline_ns && hv_now_ns() >= wd->deadline_ns)
			kick(wd, HV_TIMEOUT);
	}
	pthread_mutex_unlock(&wd->lock);
	return NULL;
}

int watchdog_start(struct hv_watchdog *wd, struct vcpu *vcpu, uint64_t timeout_ns,
		   const volatile int *stop_flag)
{
	pthread_condattr_t ca;
	pthread_attr_t attr;
	cpu_set_t set;
	int r;

	memset(wd, 0, sizeof(*wd));
	pthread_once(&handler_once, install_handler);
	wd->vcpu = vcpu;
	wd->target = pthread_self();
	wd->deadline_ns = timeout_ns ? hv_now_ns() + timeout_ns : 0;
	wd->stop_flag = stop_flag;
	pthread_mutex_init(&wd->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wd->cond, &ca);
	pthread_condattr_destroy(&ca);
	/* Not on the vCPU's CPU if we can help it: a pinned vCPU thread would
	 * hand its pinning down.  The process's main thread is usually unpinned. */
	pthread_attr_init(&attr);
	if (!sched_getaffinity(getpid(), sizeof(set), &set))
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	r = pthread_create(&wd->thread, &attr, watchdog_main, wd);
	pthread_attr_destroy(&attr);
	if (r) {
		pthread_cond_destroy(&wd->cond);
		pthread_mutex_destroy(&wd->lock);
		wd->vcpu = NULL;
		return -r;
	}
	return 0;
}

void watchdog_stop(struct hv_watchdog *wd)
{
	if (!wd->vcpu)
		return;
	pthread_mutex_lock(&wd->lock);
	wd->quit = true;
	pthread_cond_signal(&wd->cond);
	pthread_mutex_unlock(&wd->lock);
	pthread_join(wd->thread, NULL);
	pthread_cond_destroy(&wd->cond);
	pthread_mutex_destroy(&wd->lock);
	wd->vcpu = NULL;
}
