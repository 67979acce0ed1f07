/*
 * rt_irq_* natively (workload.h "interrupts"): the native analogues of a
 * guest's interrupts, so micro/ipi* and micro/timer-* run on the host with
 * the same workload code.
 *
 *   an interrupt kind  a real-time signal (SIGRTMIN + kind), its handler
 *                      counts on the receiving CPU, stamps the TSC and, for
 *                      PING, answers PONG to the sender with tgkill
 *   an IPI             tgkill to the CPU's thread (rt_cpu_*: the harness's
 *                      thread and the pinned workers of smp.c)
 *   interrupts on/off  the signals unblocked / blocked in the calling thread
 *                      (blocked everywhere outside rt_irq_enable(true))
 *   halt               sigsuspend with the signals unblocked
 *   the one-shot timer a POSIX timer per CPU (CLOCK_MONOTONIC, its signal
 *                      sent to that CPU's thread: SIGEV_THREAD_ID)
 *
 * There is no interrupt controller to program and no host side to kick:
 * rt_irq_info says apic_regs, virq and kick false, and micro/ skips those
 * as having no native analogue.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "rt_native.h"

#define WAIT_MS 2000 /* rt_irq_wait spinning, as the guest's RT_IRQ_WAIT_MS */

static struct {
	bool handlers;			 /* sigaction done (once per process) */
	pid_t tid[HVB_MAX_VCPUS];	 /* each CPU's thread */
	timer_t timer[HVB_MAX_VCPUS];	 /* its one-shot timer */
	bool has_timer[HVB_MAX_VCPUS];
	unsigned ping_from[HVB_MAX_VCPUS]; /* where CPU i's PING handler sends the PONG */
	uint64_t count[HVB_MAX_VCPUS][RT_IRQ_KINDS];
	uint64_t stamp[HVB_MAX_VCPUS][RT_IRQ_KINDS];
	bool on[HVB_MAX_VCPUS];		 /* rt_irq_enable(true) on that CPU */
	struct rt_irq_info info;
} irq;

static const struct rt_irq_info native_info = {
	.mech = "native: signals (tgkill)",
	.timer = true,
	.timer_note = "POSIX timer, SIGEV_THREAD_ID",
};

static int kind_signal(enum rt_irq_kind k)
{
	return SIGRTMIN + (int)k;
}

static pid_t gettid_raw(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static uint64_t tsc_now(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* The handler: as a guest's (count on this CPU, stamp, answer a PING).
 * Only async-signal-safe calls: syscall(tgkill), atomics. */
static void on_irq(int sig)
{
	unsigned cpu = rt_cpu_self();
	int k = sig - SIGRTMIN;

	if (cpu >= HVB_MAX_VCPUS || k < 0 || k >= RT_IRQ_KINDS)
		return;
	__atomic_store_n(&irq.stamp[cpu][k], tsc_now(), __ATOMIC_RELAXED);
	__atomic_fetch_add(&irq.count[cpu][k], 1, __ATOMIC_RELEASE);
	if (k == RT_IRQ_PING) {
		unsigned to = __atomic_load_n(&irq.ping_from[cpu], __ATOMIC_ACQUIRE);

		if (to < HVB_MAX_VCPUS && irq.tid[to])
			syscall(SYS_tgkill, getpid(), irq.tid[to], kind_signal(RT_IRQ_PONG));
	}
}

static void irq_sigset(sigset_t *set)
{
	sigemptyset(set);
	for (int k = 0; k < RT_IRQ_KINDS; k++)
		sigaddset(set, kind_signal((enum rt_irq_kind)k));
}

static void mask_here(bool unblock)
{
	sigset_t set;

	irq_sigset(&set);
	pthread_sigmask(unblock ? SIG_UNBLOCK : SIG_BLOCK, &set, NULL);
}

static int install_handlers(const char **why)
{
	struct sigaction sa;

	if (irq.handlers)
		return 0;
	if (SIGRTMIN + RT_IRQ_KINDS > SIGRTMAX) {
		*why = "not enough real-time signals for the interrupt kinds";
		return -ENOSYS;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_irq;
	sa.sa_flags = SA_RESTART;
	irq_sigset(&sa.sa_mask); /* one handler at a time per thread, as one IDT gate */
	for (int k = 0; k < RT_IRQ_KINDS; k++)
		if (sigaction(kind_signal((enum rt_irq_kind)k), &sa, NULL) < 0) {
			*why = "sigaction of a real-time signal failed";
			return -errno;
		}
	irq.handlers = true;
	return 0;
}

/* Run on each worker: say who it is and start with interrupts off. */
static void register_worker(void *arg, unsigned cpu)
{
	(void)arg;
	mask_here(false);
	__atomic_store_n(&irq.tid[cpu], gettid_raw(), __ATOMIC_RELEASE);
}

/* A one-shot timer whose signal goes to CPU cpu's thread (again if the
 * thread is new: smp.c restarts its workers for another vcpus=). */
static int make_timer(unsigned cpu, pid_t old_tid, const char **why)
{
	struct sigevent ev;

	if (irq.has_timer[cpu] && old_tid == irq.tid[cpu])
		return 0;
	if (irq.has_timer[cpu])
		timer_delete(irq.timer[cpu]);
	irq.has_timer[cpu] = false;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = kind_signal(RT_IRQ_TIMER);
#ifdef sigev_notify_thread_id
	ev.sigev_notify_thread_id = irq.tid[cpu];
#else
	ev._sigev_un._tid = irq.tid[cpu];
#endif
	if (timer_create(CLOCK_MONOTONIC, &ev, &irq.timer[cpu]) < 0) {
		*why = "timer_create(CLOCK_MONOTONIC, SIGEV_THREAD_ID) failed";
		return -errno;
	}
	irq.has_timer[cpu] = true;
	return 0;
}

/*
 * Called on CPU 0 (the harness's thread) with the workers idle: handlers,
 * each CPU's thread id (the workers report theirs), signals blocked, a
 * timer per CPU.  Every call does this again: the workers may be new.
 */
int rt_irq_open(struct rt_irq_info *info, const char **why)
{
	pid_t old[HVB_MAX_VCPUS];
	unsigned n = rt_cpus();
	int r = install_handlers(why);

	memset(info, 0, sizeof(*info));
	if (r)
		return r;
	memcpy(old, irq.tid, sizeof(old));
	mask_here(false);
	irq.on[0] = false;
	irq.tid[0] = gettid_raw();
	for (unsigned i = 1; i < n; i++) {
		__atomic_store_n(&irq.tid[i], 0, __ATOMIC_RELEASE);
		if (rt_cpu_start(i, register_worker, NULL) < 0) {
			*why = "a worker thread is busy: cannot set up its signals";
			return -EBUSY;
		}
		rt_cpu_wait(i);
		irq.on[i] = false;
	}
	for (unsigned i = 0; i < n; i++)
		if ((r = make_timer(i, old[i], why)) < 0)
			return r;
	irq.info = native_info;
	*info = irq.info;
	return 0;
}

void rt_irq_enable(bool on)
{
	unsigned self = rt_cpu_self();

	mask_here(on);
	if (self < HVB_MAX_VCPUS)
		irq.on[self] = on;
}

uint64_t rt_irq_count(unsigned cpu, enum rt_irq_kind k)
{
	if (cpu >= HVB_MAX_VCPUS || (unsigned)k >= RT_IRQ_KINDS)
		return 0;
	return __atomic_load_n(&irq.count[cpu][k], __ATOMIC_ACQUIRE);
}

uint64_t rt_irq_stamp(unsigned cpu, enum rt_irq_kind k)
{
	if (cpu >= HVB_MAX_VCPUS || (unsigned)k >= RT_IRQ_KINDS)
		return 0;
	return __atomic_load_n(&irq.stamp[cpu][k], __ATOMIC_ACQUIRE);
}

void rt_ipi_send(unsigned cpu, enum rt_irq_kind k)
{
	pid_t tid;

	if (cpu >= rt_cpus() || (unsigned)k >= RT_IRQ_KINDS)
		return;
	tid = __atomic_load_n(&irq.tid[cpu], __ATOMIC_ACQUIRE);
	if (!tid)
		return;
	if (k == RT_IRQ_PING)
		__atomic_store_n(&irq.ping_from[cpu], rt_cpu_self(), __ATOMIC_RELEASE);
	syscall(SYS_tgkill, getpid(), tid, kind_signal(k));
}

/* Halting: the check and the sleep are one step (signals blocked between,
 * sigsuspend unblocks them), so an arrival in between is not lost.
 * Spinning: signals unblocked meanwhile, bounded by WAIT_MS. */
void rt_irq_wait(enum rt_irq_kind k, uint64_t seen, bool halt)
{
	unsigned self = rt_cpu_self();
	sigset_t old, block;
	bool was = self < HVB_MAX_VCPUS && irq.on[self];

	if (self >= HVB_MAX_VCPUS || (unsigned)k >= RT_IRQ_KINDS)
		return;
	if (halt) {
		irq_sigset(&block);
		pthread_sigmask(SIG_BLOCK, &block, &old);
		while (rt_irq_count(self, k) <= seen) {
			sigset_t wait = old;

			for (int i = 0; i < RT_IRQ_KINDS; i++)
				sigdelset(&wait, kind_signal((enum rt_irq_kind)i));
			sigsuspend(&wait);
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return;
	}
	if (!was)
		mask_here(true);
	for (uint64_t t0 = rt_tsc_end(); rt_irq_count(self, k) <= seen;) {
		if (rt_tsc_end() - t0 > WAIT_MS * rt_tsc_khz())
			break;
		__asm__ volatile("pause" ::: "memory");
	}
	if (!was)
		mask_here(false);
}

/* No interrupt controller natively: rt_irq_info.apic_regs is false and
 * micro/ skips these before calling them. */
uint32_t rt_apic_read(void)
{
	return 0;
}

void rt_apic_eoi(void)
{
}

void rt_tpr_write(unsigned tpr)
{
	(void)tpr;
}

unsigned rt_tpr_read(void)
{
	return 0;
}

/* The TSC deadline as a relative CLOCK_MONOTONIC time (at least 1 ns: 0
 * would disarm the timer, and a past deadline fires at once). */
size_t rt_irq_state(char *buf, size_t len, size_t at, enum rt_irq_kind k)
{
	sigset_t pending;

	if ((unsigned)k >= RT_IRQ_KINDS || sigpending(&pending) < 0)
		return at;
	at = rt_text_str(buf, len, at, "signal pending ");
	return rt_text_dec(buf, len, at, sigismember(&pending, kind_signal(k)) == 1);
}

/* As the guest's: the signals blocked for the test, sigsuspend lets them in. */
bool rt_irq_halt_or_timer(enum rt_irq_kind k, uint64_t seen, uint64_t timer_seen)
{
	unsigned self = rt_cpu_self();
	sigset_t old, block, wait;

	if (self >= HVB_MAX_VCPUS || (unsigned)k >= RT_IRQ_KINDS || k == RT_IRQ_TIMER)
		return false;
	irq_sigset(&block);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	wait = old;
	for (int i = 0; i < RT_IRQ_KINDS; i++)
		sigdelset(&wait, kind_signal((enum rt_irq_kind)i));
	while (rt_irq_count(self, k) <= seen && rt_irq_count(self, RT_IRQ_TIMER) <= timer_seen)
		sigsuspend(&wait);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rt_irq_count(self, k) > seen;
}

void rt_timer_arm(uint64_t deadline)
{
	unsigned self = rt_cpu_self();
	uint64_t now = tsc_now(), ns = 1;
	struct itimerspec its;

	if (self >= HVB_MAX_VCPUS || !irq.has_timer[self])
		return;
	if (deadline > now)
		ns = (uint64_t)((unsigned __int128)(deadline - now) * 1000000u / rt_tsc_khz());
	if (!ns)
		ns = 1;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(ns / 1000000000u);
	its.it_value.tv_nsec = (long)(ns % 1000000000u);
	timer_settime(irq.timer[self], 0, &its, NULL);
}

int rt_kick(bool inject, unsigned cpu, struct rt_kick_stamps *host)
{
	(void)inject, (void)cpu, (void)host;
	return -ENODEV; /* no host side natively (rt_irq_info.kick false) */
}
