/*
 * The vCPU thread's seccomp allowlist (see seccomp.h).
 *
 * The program: check the architecture (kill on anything but x86-64), kill
 * x32 calls, then one block per allowed system call: match its number,
 * check one argument where that narrows a broad call (which ioctls, no
 * executable mappings, threads not processes, signals only to this
 * process), return the verdict; everything else gets the failing action.
 *
 * Cost: the filter runs on every system call of the vCPU thread.  Calls
 * allowed whatever their arguments are served from the kernel's seccomp
 * action cache (Linux >= 5.11) without running it; ioctl is checked
 * first, KVM_RUN first among its values, so a KVM_RUN costs 8 BPF
 * instructions (JIT compiled).
 */
#include "seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <linux/vhost.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "watchdog.h"

#define X32_SYSCALL_BIT 0x40000000u
#define ARG_LO(i)	(uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i)) /* little endian */
#define MAX_VALS	10 /* the vhost thread's ioctls */
#define MAX_INSNS	512

/* The flags glibc's pthread_create passes to clone: a thread, never a process. */
#define THREAD_CLONE_FLAGS                                                                         \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |        \
	 CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID)

/* Values only known at install time. */
enum sc_dyn { V_CONST, V_OWN_PID, V_KICK_SIGNAL };

/*
 * One allowed system call.  arg >= 0: (low 32 bits of args[arg] & mask)
 * must be one of vals, or the call gets the failing action.  Every checked
 * argument is one the kernel itself truncates to 32 bits (ioctl's cmd,
 * futex's op, clone's flags, pid_t, int) or a flag in the low word (prot).
 */
struct sc_rule {
	int nr;
	int arg; /* -1: any arguments */
	uint32_t mask;
	unsigned n;
	uint32_t vals[MAX_VALS];
	enum sc_dyn dyn; /* V_CONST, or what vals[0] is (n = 1) */
	uint32_t ret;	 /* 0: allow; else this result (clone3) */
};

#define ANY(nr_)                                                                                   \
	{                                                                                          \
		.nr = (nr_), .arg = -1                                                             \
	}
#define ARG(nr_, a, m, ...)                                                                        \
	{                                                                                          \
		.nr = (nr_), .arg = (a), .mask = (m), .vals = {__VA_ARGS__},                       \
		.n = sizeof((uint32_t[]){__VA_ARGS__}) / sizeof(uint32_t)                          \
	}
#define ARG_IS(nr_, a, what)                                                                       \
	{                                                                                          \
		.nr = (nr_), .arg = (a), .mask = ~0u, .n = 1, .dyn = (what)                        \
	}

/*
 * The allowlist, measured with strace -f on `hvbench run --runner kvm` and
 * hvb-vmm (README, "Seccomp"): what the vCPU thread and the watchdog thread
 * it starts call after the filter's install point in vcpu_thread().  Order
 * = hot first.
 */
static const struct sc_rule rules[] = {
    /* KVM_RUN: the loop itself.  KVM_GET_REGS/SREGS: the verdict's rip and
     * registers (vm_stop, rip_of).  KVM_GET_MSRS: the guest TSC at HELLO
     * (kvm runner's note_boot).  TCGETS: isatty() of the progress line on
     * stderr and of a stdout that stdio sets up (hvb-vmm). */
    ARG(SYS_ioctl, 1, ~0u, KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_MSRS, TCGETS),
    /* Records, samples, log lines (stdio), the progress line, hvb-vmm's output. */
    ANY(SYS_write),
    /* The KVM binary stats fd, read at REP_BEGIN and REP_END (kvm_stats). */
    ANY(SYS_pread64),
    /* The result writer (lib/sink.c) puts whole rows at a file offset once
     * its buffer fills, which can happen during a record exit, and cuts a
     * file back to its last whole row when a write fails. */
    ANY(SYS_pwrite64),
    ANY(SYS_ftruncate),
    /* virtio-blk with notify=sync serves requests inside the QueueNotify
     * exit (hv/virtio_blk.c): reads, writes and flushes of the disk file;
     * with notify=exit the exit wakes the I/O thread (write, above). */
    ANY(SYS_preadv),
    ANY(SYS_pwritev),
    ANY(SYS_fdatasync),
    /* Mutexes, condition variables and joins of the watchdog, stdio locks. */
    ARG(SYS_futex, 1, ~(uint32_t)(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME), FUTEX_WAIT,
	FUTEX_WAKE, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET),
    /* hv_now_ns() when the clock source has no vDSO path. */
    ANY(SYS_clock_gettime),
    /* Return from the watchdog's kick handler and from hvbench's SIGINT one. */
    ANY(SYS_rt_sigreturn),
    /* The watchdog kicks the vCPU (pthread_kill), raise() in the crash
     * handler: signals to this process only. */
    ARG_IS(SYS_tgkill, 0, V_OWN_PID),
    /* pthread_kill and watchdog_start (sched_getaffinity(getpid())). */
    ANY(SYS_getpid),
    /* raise() names the thread it signals (crash handler); ASan asks it
     * of every thread it starts. */
    ANY(SYS_gettid),
    /* Guest page release (HVB_REC_RELEASE, MADV_DONTNEED), and glibc
     * returning an exited thread's stack and malloc's free memory. */
    ANY(SYS_madvise),
    /* malloc (records of the sink, stdio buffers) and thread stacks: never
     * executable. */
    ARG(SYS_mmap, 2, PROT_EXEC, 0),
    ARG(SYS_mprotect, 2, PROT_EXEC, 0),
    ANY(SYS_munmap),
    /* malloc in the main arena, realloc of large blocks (not seen in the
     * traces; part of what malloc may do). */
    ANY(SYS_brk),
    ANY(SYS_mremap),
    /* glibc thread creation and exit, the watchdog blocking all signals,
     * raise(). */
    ANY(SYS_rt_sigprocmask),
    /* vcpu_run() starts the watchdog thread: glibc's pthread_create tries
     * clone3 first, whose flags BPF cannot read (they are in memory):
     * ENOSYS makes glibc fall back to clone, whose flags must be a thread's. */
    {.nr = SYS_clone3, .arg = -1, .ret = SECCOMP_RET_ERRNO | ENOSYS},
    ARG(SYS_clone, 0, ~0u, THREAD_CLONE_FLAGS),
    /* The new thread registers its robust futex list and rseq area (glibc). */
    ANY(SYS_set_robust_list),
    ANY(SYS_rseq),
    /* watchdog_start: the watchdog runs on the process's CPUs, not the
     * vCPU's (sched_getaffinity, then pthread_create sets it). */
    ANY(SYS_sched_getaffinity),
    ANY(SYS_sched_setaffinity),
    /* The watchdog installs its kick handler on its first run (pthread_once),
     * which may be on this thread: that signal only. */
    ARG_IS(SYS_rt_sigaction, 0, V_KICK_SIGNAL),
    /* A futex wait with a timeout resumed after a stop signal (Ctrl-Z, a
     * debugger) comes back as restart_syscall. */
    ANY(SYS_restart_syscall),
    /* stdio's first write to a stream asks the fd's size (fstat). */
    ARG(SYS_newfstatat, 3, ~0u, AT_EMPTY_PATH),
    /* The KVM stats fds, closed after the run (probe_close). */
    ANY(SYS_close),
    /* Crash report (src/main.c: backtrace_symbols_fd) and glibc's fatal
     * messages. */
    ANY(SYS_writev),
    /* ASan (make check) gives every thread it starts an alternate signal
     * stack (the watchdog). */
    ANY(SYS_sigaltstack),
    /* A thread ends; the process ends (exit() from a handler). */
    ANY(SYS_exit),
    ANY(SYS_exit_group),
};

/*
 * What every device I/O thread (hv/iothread.c) may do besides its device's
 * work, appended to each allowlist below: sleep on its eventfds (poll,
 * read), take the device's mutexes (futex), and end (glibc releases the
 * thread's stack with madvise and munmap; malloc never maps executable).
 */
static const struct sc_rule iothread_rules[] = {
    ANY(SYS_poll),
    ANY(SYS_ppoll),
    ANY(SYS_read),
    ARG(SYS_futex, 1, ~(uint32_t)(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME), FUTEX_WAIT,
	FUTEX_WAKE, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET),
    ARG(SYS_mmap, 2, PROT_EXEC, 0),
    ARG(SYS_mprotect, 2, PROT_EXEC, 0),
    ANY(SYS_munmap),
    ANY(SYS_brk),
    ANY(SYS_madvise),
    ANY(SYS_clock_gettime),
    ANY(SYS_rt_sigprocmask),
    ANY(SYS_rt_sigreturn),
    ANY(SYS_restart_syscall),
    /* ASan (make check) asks thread ids and tears down the thread's
     * alternate signal stack. */
    ANY(SYS_gettid),
    ANY(SYS_sigaltstack),
    ANY(SYS_exit),
    ANY(SYS_exit_group),
};

/*
 * The virtio-blk I/O thread's allowlist (hv/virtio_blk.c), installed by the
 * thread itself once it is pinned: it waits on its eventfd, keeps reads and
 * writes in flight (Linux AIO), reads and writes the disk file into guest
 * memory synchronously (preadv/pwritev, the O_DIRECT bounce buffer:
 * posix_memalign), flushes it (fdatasync), and iothread_rules.  No ioctl,
 * no open, no socket.
 */
static const struct sc_rule io_rules[] = {
    /* Linux AIO: submit and reap; io_destroy when io_getevents fails for
     * good (the thread falls back to synchronous I/O). */
    ANY(SYS_io_submit),
    ANY(SYS_io_getevents),
    ANY(SYS_io_destroy),
    ANY(SYS_preadv),
    ANY(SYS_pwritev),
    ANY(SYS_fdatasync),
    /* Poll mode lets a vCPU on the same CPU run now and then. */
    ANY(SYS_sched_yield),
};

/*
 * The virtio-net I/O thread's allowlist (hv/virtio_net.c, tap and
 * loopback): it sleeps in poll on its eventfds and the tap, moves frames
 * between guest memory and the tap (readv, writev), wakes itself on stop
 * (write), and iothread_rules.  No ioctl, no open, no socket.
 */
static const struct sc_rule net_rules[] = {
    ANY(SYS_readv),
    ANY(SYS_writev),
    ANY(SYS_write),
    /* Poll mode lets a vCPU on the same CPU run now and then. */
    ANY(SYS_sched_yield),
};

/*
 * The virtio-net vhost thread's allowlist: it sleeps on its eventfd and
 * hands the rings to the kernel at DRIVER_OK, takes them back at a reset
 * (the vhost ioctls below, on /dev/vhost-net), and iothread_rules.
 */
static const struct sc_rule vhost_rules[] = {
    ARG(SYS_ioctl, 1, ~0u, VHOST_SET_FEATURES, VHOST_SET_MEM_TABLE, VHOST_SET_VRING_NUM,
	VHOST_SET_VRING_BASE, VHOST_SET_VRING_ADDR, VHOST_SET_VRING_KICK, VHOST_SET_VRING_CALL,
	VHOST_NET_SET_BACKEND, VHOST_GET_VRING_BASE),
};

/*
 * The interrupt bench device's thread (hv/dev_irqbench.c): it sleeps in
 * poll on the kick ioeventfd and its stop eventfd, reads them, signals the
 * irqfds (write), and iothread_rules.  No ioctl, no open, no socket.
 */
static const struct sc_rule irqbench_rules[] = {
    ANY(SYS_write),
};

#define N_RULES(tab) (sizeof(tab) / sizeof((tab)[0]))

/* A filter's allowlist: its own rules, then (for I/O threads) the common ones. */
struct sc_list {
	const struct sc_rule *own, *tail;
	size_t n_own, n_tail;
};

struct prog {
	struct sock_filter f[MAX_INSNS];
	unsigned n;
	bool overflow;
};

static void emit(struct prog *p, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
	if (p->n == MAX_INSNS) {
		p->overflow = true;
		return;
	}
	p->f[p->n++] = (struct sock_filter){code, jt, jf, k};
}

static uint32_t rule_val(const struct sc_rule *r, unsigned i)
{
	switch (r->dyn) {
	case V_OWN_PID:
		return (uint32_t)getpid();
	case V_KICK_SIGNAL:
		return (uint32_t)HV_KICK_SIGNAL;
	case V_CONST:
		break;
	}
	return r->vals[i];
}

/* nr matches: check the argument (if any) and return the verdict; else skip. */
static void emit_rule(struct prog *p, const struct sc_rule *r, uint32_t fail)
{
	uint32_t ok = r->ret ? r->ret : SECCOMP_RET_ALLOW;
	unsigned masked = r->mask != ~0u, body = r->arg < 0 ? 1 : masked + r->n + 3;

	emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr, 0, (uint8_t)body);
	if (r->arg >= 0) {
		emit(p, BPF_LD | BPF_W | BPF_ABS, ARG_LO(r->arg), 0, 0);
		if (masked)
			emit(p, BPF_ALU | BPF_AND | BPF_K, r->mask, 0, 0);
		for (unsigned i = 0; i < r->n; i++) /* a match jumps to the final `ok` */
			emit(p, BPF_JMP | BPF_JEQ | BPF_K, rule_val(r, i), (uint8_t)(r->n - i), 0);
		emit(p, BPF_RET | BPF_K, fail, 0, 0);
	}
	emit(p, BPF_RET | BPF_K, ok, 0, 0);
}

static void build(struct prog *p, const struct sc_list *l, uint32_t fail)
{
	p->n = 0;
	p->overflow = false;
	emit(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	emit(p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
	emit(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
	emit(p, BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1);
	emit(p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
	for (size_t i = 0; i < l->n_own; i++)
		emit_rule(p, &l->own[i], fail);
	for (size_t i = 0; i < l->n_tail; i++)
		emit_rule(p, &l->tail[i], fail);
	emit(p, BPF_RET | BPF_K, fail, 0, 0);
}

unsigned hv_seccomp_n_allowed(void)
{
	unsigned n = 0;

	for (size_t i = 0; i < N_RULES(rules); i++)
		n += !rules[i].ret;
	return n;
}

static long sys_seccomp(unsigned op, unsigned flags, void *arg)
{
	return syscall(SYS_seccomp, op, flags, arg);
}

static int install(const struct sc_list *l, uint32_t fail)
{
	struct prog p;
	struct sock_fprog fp = {.filter = p.f};

	build(&p, l, fail);
	if (p.overflow)
		return -E2BIG;
	fp.len = (unsigned short)p.n;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	/* SPEC_ALLOW: the filter must not change what is measured.  Where
	 * spec_store_bypass_disable=seccomp (the default before Linux 5.16), a
	 * filter would otherwise also turn SSBD on for this thread. */
	if (!sys_seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &fp))
		return 0;
	if (errno != EINVAL) /* EINVAL: Linux < 4.17, no SPEC_ALLOW (and no SSBD either) */
		return -errno;
	return sys_seccomp(SECCOMP_SET_MODE_FILTER, 0, &fp) ? -errno : 0;
}

int hv_seccomp_install(enum hv_seccomp_action act)
{
	const struct sc_list l = {.own = rules, .n_own = N_RULES(rules)};

	if (act != HV_SECCOMP_EPERM && act != HV_SECCOMP_KILL)
		return -EINVAL;
	return install(&l, act == HV_SECCOMP_KILL ? SECCOMP_RET_KILL_PROCESS
						  : SECCOMP_RET_ERRNO | EPERM);
}

/* An I/O thread's filter: its device's rules, then iothread_rules. */
static int iothread_install(const struct sc_rule *own, size_t n_own)
{
	const struct sc_list l = {own, iothread_rules, n_own, N_RULES(iothread_rules)};

	if (!hv_seccomp_supported(NULL, 0))
		return 0;
	return install(&l, SECCOMP_RET_ERRNO | EPERM);
}

int hv_seccomp_io_install(void)
{
	return iothread_install(io_rules, N_RULES(io_rules));
}

int hv_seccomp_net_install(void)
{
	return iothread_install(net_rules, N_RULES(net_rules));
}

int hv_seccomp_irqbench_install(void)
{
	return iothread_install(irqbench_rules, N_RULES(irqbench_rules));
}

int hv_seccomp_vhost_install(void)
{
	return iothread_install(vhost_rules, N_RULES(vhost_rules));
}

static bool why_not(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool why_not(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return false;
}

bool hv_seccomp_supported(char *why, size_t len)
{
	static const struct {
		uint32_t act;
		const char *name;
	} need[] = {{SECCOMP_RET_ALLOW, "allow"},
		    {SECCOMP_RET_ERRNO, "errno"},
		    {SECCOMP_RET_KILL_PROCESS, "kill_process"}};

	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0)
		return why_not(why, len, "kernel without seccomp (CONFIG_SECCOMP)");
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		uint32_t a = need[i].act;
		if (!sys_seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &a))
			continue;
		if (errno == ENOSYS)
			return why_not(why, len, "no seccomp(2) system call (Linux < 3.17)");
		if (errno == EINVAL)
			return why_not(
			    why, len, "seccomp(2) without SECCOMP_GET_ACTION_AVAIL (Linux < 4.14)");
		if (errno == EOPNOTSUPP)
			return why_not(why, len, "seccomp action %s not available", need[i].name);
		return why_not(why, len, "seccomp(2) refused: %s (an outer sandbox?)",
			       strerror(errno));
	}
	return true;
}

/* A value for a message: bounded, printable. */
static void printable(char *out, size_t len, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < len && s[i]; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
}

int hv_seccomp_env(bool *on, char *err, size_t len)
{
	const char *v = getenv("HVB_SECCOMP");
	char shown[33];

	if (!v || !strcmp(v, "1")) {
		*on = true;
		return 0;
	}
	if (!strcmp(v, "0")) {
		*on = false;
		return 0;
	}
	printable(shown, sizeof(shown), v);
	snprintf(err, len,
		 "HVB_SECCOMP='%s%s': must be 0 (no seccomp filter on the vCPU thread) "
		 "or 1 (the default)",
		 shown, strlen(v) >= sizeof(shown) ? "..." : "");
	return -EINVAL;
}

void hv_seccomp_vcpu_describe(bool on, char *out, size_t len)
{
	char why[200];

	if (!on)
		snprintf(out, len, "off: HVB_SECCOMP=0");
	else if (!hv_seccomp_supported(why, sizeof(why)))
		snprintf(out, len, "unavailable: %s", why);
	else
		snprintf(out, len, "on: %u syscalls allowed (vCPU thread), unknown -> EPERM",
			 hv_seccomp_n_allowed());
}

int hv_seccomp_vcpu_enter(bool on, char *why, size_t len)
{
	int r;

	if (!on || !hv_seccomp_supported(NULL, 0))
		return 0;
	r = hv_seccomp_install(HV_SECCOMP_EPERM);
	if (r)
		snprintf(why, len,
			 "cannot install the vCPU thread's seccomp filter: %s (HVB_SECCOMP=0 runs "
			 "without it)",
			 strerror(-r));
	return r;
}
