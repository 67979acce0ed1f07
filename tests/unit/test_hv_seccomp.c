/*
 * The vCPU thread's seccomp allowlist (hv/seccomp.c).
 *
 * 1. A thread that installs it can still do what a run loop does (clock,
 *    pipe writes, malloc, threads) and is refused the rest with EPERM
 *    (open, socket, exec, fork, other ioctls, executable mappings).
 * 2. It filters that thread and the threads it starts, never the process's
 *    other threads.
 * 3. KILL mode and a foreign ABI (x32, int 0x80) kill the process with
 *    SIGSYS: checked in a child.
 * 4. HVB_SECCOMP parsing and the meta line, also where seccomp(2) itself
 *    is refused (an outer sandbox): "unavailable", and the thread runs.
 * 5. End to end, with /dev/kvm: tiny guests (hv_testimg.h) booted on a
 *    thread filtered in KILL mode reach their normal verdicts, so no system
 *    call of the run loop is missing from the list (a missing one kills the
 *    child).  Skips visibly without /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "dev.h"
#include "elf_load.h"
#include "exit.h"
#include "pvh.h"
#include "seccomp.h"
#include "vm.h"
#include "unit/hv_testimg.h"

/* ------------------------------------------------------------ helpers */

/* A system call's result and errno, taken on the filtered thread. */
struct call {
	long ret;
	int err;
};

#define CALL(c, expr)                                                                              \
	do {                                                                                       \
		errno = 0;                                                                         \
		(c).ret = (long)(expr);                                                            \
		(c).err = errno;                                                                   \
	} while (0)

typedef void (*body_fn)(void *arg);

struct filtered {
	enum hv_seccomp_action act;
	body_fn body;
	void *arg;
	int installed; /* hv_seccomp_install's result */
};

static void *filtered_main(void *p)
{
	struct filtered *f = p;

	f->installed = hv_seccomp_install(f->act);
	if (!f->installed)
		f->body(f->arg);
	return NULL;
}

/* Run body on a new thread that installs the filter first: install result. */
static int run_filtered(enum hv_seccomp_action act, body_fn body, void *arg)
{
	struct filtered f = {.act = act, .body = body, .arg = arg, .installed = -ESRCH};
	pthread_t t;

	if (pthread_create(&t, NULL, filtered_main, &f))
		return -EAGAIN;
	pthread_join(t, NULL);
	return f.installed;
}

static bool refused(const struct call *c)
{
	return c->ret == -1 && c->err == EPERM;
}

/* "Seccomp:" (mode) and "NoNewPrivs:" of a thread, from /proc. */
static void thread_status(pid_t tid, int *seccomp, int *nnp)
{
	char path[64], line[128];
	FILE *f;

	*seccomp = *nnp = -1;
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	if (!(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "Seccomp: %d", seccomp);
		sscanf(line, "NoNewPrivs: %d", nnp);
	}
	fclose(f);
}

/* ------------------------------------------------------------ 1. allowed and refused */

struct allowed {
	int pipe[2];
	struct call clock, write, getpid, big_malloc, thread;
};

static void *noop_thread(void *arg)
{
	return arg;
}

static void allowed_body(void *arg)
{
	struct allowed *a = arg;
	struct timespec ts;
	pthread_t t;
	void *p;

	CALL(a->clock, syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts));
	CALL(a->write, write(a->pipe[1], "hvb", 3));
	CALL(a->getpid, syscall(SYS_getpid));
	/* 64 MiB: malloc maps it (mmap) and free unmaps it. */
	CALL(a->big_malloc, (p = malloc(64u << 20)) != NULL);
	if (p)
		memset(p, 1, 4096);
	free(p);
	/* As vcpu_run starts the watchdog: clone3 -> ENOSYS -> clone. */
	CALL(a->thread, pthread_create(&t, NULL, noop_thread, NULL));
	if (!a->thread.ret)
		pthread_join(t, NULL);
}

static void test_allowed(void)
{
	struct allowed a = {0};
	char buf[4] = "";

	if (pipe(a.pipe)) {
		TAP_OK(0, "pipe for the allowed-calls test");
		return;
	}
	TAP_EQ_INT(run_filtered(HV_SECCOMP_EPERM, allowed_body, &a), 0,
		   "a thread installs the filter (EPERM mode)");
	TAP_EQ_INT(a.clock.ret, 0, "filtered thread: clock_gettime system call works");
	TAP_OK(a.write.ret == 3 && read(a.pipe[0], buf, 3) == 3 && !memcmp(buf, "hvb", 3),
	       "filtered thread: write to a pipe works");
	TAP_EQ_INT(a.getpid.ret, getpid(), "filtered thread: getpid works");
	TAP_EQ_INT(a.big_malloc.ret, 1, "filtered thread: malloc/free of 64 MiB (mmap) works");
	TAP_EQ_INT(a.thread.ret, 0, "filtered thread: starts a thread (clone3 -> ENOSYS -> clone)");
	close(a.pipe[0]), close(a.pipe[1]);
}

struct forbidden {
	struct call openat, socket, execve, fork, ioctl, mmap_exec, mprotect_exec, sigaction,
	    tgkill, clone3;
};

static void forbidden_body(void *arg)
{
	struct forbidden *f = arg;
	char *argv[] = {"/bin/true", NULL}, *envp[] = {NULL};
	struct sigaction sa = {.sa_handler = SIG_IGN};
	int n;
	void *p;

	CALL(f->openat, open("/dev/null", O_RDONLY | O_CLOEXEC));
	CALL(f->socket, socket(AF_UNIX, SOCK_STREAM, 0));
	CALL(f->execve, execve(argv[0], argv, envp));
	CALL(f->fork, fork());
	if (!f->fork.ret)
		_exit(0); /* the filter let a process through: the parent sees ret 0 */
	CALL(f->ioctl, ioctl(0, FIONREAD, &n));
	CALL(f->mmap_exec, (p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
				     -1, 0)) == MAP_FAILED
			       ? -1
			       : 0);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CALL(f->mprotect_exec, p == MAP_FAILED ? -2 : mprotect(p, 4096, PROT_READ | PROT_EXEC));
	if (p != MAP_FAILED)
		munmap(p, 4096);
	CALL(f->sigaction, sigaction(SIGUSR1, &sa, NULL));
	CALL(f->tgkill, syscall(SYS_tgkill, 1, 1, 0));
	CALL(f->clone3, syscall(SYS_clone3, NULL, 0));
}

static void test_forbidden(void)
{
	struct forbidden f = {0};

	TAP_EQ_INT(run_filtered(HV_SECCOMP_EPERM, forbidden_body, &f), 0,
		   "another thread installs the filter");
	TAP_OK(refused(&f.openat), "filtered thread: openat refused with EPERM");
	TAP_OK(refused(&f.socket), "filtered thread: socket refused with EPERM");
	TAP_OK(refused(&f.execve), "filtered thread: execve refused with EPERM");
	TAP_OK(refused(&f.fork), "filtered thread: fork (clone without CLONE_THREAD) refused");
	TAP_OK(refused(&f.ioctl), "filtered thread: a non-KVM ioctl (FIONREAD) refused");
	TAP_OK(refused(&f.mmap_exec), "filtered thread: executable mmap refused");
	TAP_OK(refused(&f.mprotect_exec), "filtered thread: mprotect to PROT_EXEC refused");
	TAP_OK(refused(&f.sigaction), "filtered thread: sigaction of another signal refused");
	TAP_OK(refused(&f.tgkill), "filtered thread: a signal to another process refused");
	TAP_OK(f.clone3.ret == -1 && f.clone3.err == ENOSYS,
	       "filtered thread: clone3 answers ENOSYS (glibc falls back to clone)");
	TAP_EQ_INT(hv_seccomp_install((enum hv_seccomp_action)42), -EINVAL,
		   "an unknown action is -EINVAL (and installs nothing)");
}

/* ------------------------------------------------------------ 2. only that thread */

struct scope {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool installed, release;
	pid_t tid;
	struct call child_open;
};

static void *child_of_filtered(void *arg)
{
	struct scope *s = arg;

	CALL(s->child_open, open("/dev/null", O_RDONLY | O_CLOEXEC));
	if (s->child_open.ret >= 0)
		close((int)s->child_open.ret);
	return NULL;
}

/* Stays filtered until the main thread has looked (futex waits: allowed). */
static void scope_body(void *arg)
{
	struct scope *s = arg;
	pthread_t t;

	if (!pthread_create(&t, NULL, child_of_filtered, s))
		pthread_join(t, NULL);
	pthread_mutex_lock(&s->lock);
	s->tid = (pid_t)syscall(SYS_gettid);
	s->installed = true;
	pthread_cond_broadcast(&s->cond);
	while (!s->release)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

static void *scope_thread(void *arg)
{
	return (void *)(long)run_filtered(HV_SECCOMP_EPERM, scope_body, arg);
}

static void *open_thread(void *arg)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	*(int *)arg = fd;
	return NULL;
}

static void test_scope(void)
{
	struct scope s = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	int seccomp, nnp, fd = -1, other = -1;
	pthread_t t, o;
	void *ret;

	pthread_create(&t, NULL, scope_thread, &s);
	pthread_mutex_lock(&s.lock);
	while (!s.installed)
		pthread_cond_wait(&s.cond, &s.lock);
	pthread_mutex_unlock(&s.lock);
	/* The filtered thread is alive and waiting: look at everyone else. */
	thread_status(s.tid, &seccomp, &nnp);
	TAP_OK(seccomp == 2 && nnp == 1, "filtered thread: Seccomp 2 and NoNewPrivs 1 in /proc");
	TAP_OK(refused(&s.child_open), "a thread the filtered thread starts is filtered too");
	thread_status((pid_t)syscall(SYS_gettid), &seccomp, &nnp);
	TAP_OK(seccomp == 0 && nnp == 0, "main thread: no filter, no no_new_privs (thread-only)");
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	TAP_OK(fd >= 0, "main thread: openat works while the filtered thread lives");
	if (fd >= 0)
		close(fd);
	pthread_create(&o, NULL, open_thread, &other);
	pthread_join(o, NULL);
	TAP_OK(other >= 0, "a new thread of the main thread: openat works");
	pthread_mutex_lock(&s.lock);
	s.release = true;
	pthread_cond_broadcast(&s.cond);
	pthread_mutex_unlock(&s.lock);
	pthread_join(t, &ret);
	TAP_EQ_INT((long)ret, 0, "... and the filtered thread ran (installed, then ended)");
}

/* ------------------------------------------------------------ 3. kills, in a child */

enum kill_what { K_SOCKET, K_X32, K_INT80, K_INT80_UNFILTERED };

static long int80_getpid(void)
{
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L /* i386 getpid */) : "memory");
	return r;
}

static void kill_body(void *arg)
{
	switch (*(enum kill_what *)arg) {
	case K_SOCKET:
		socket(AF_INET, SOCK_DGRAM, 0);
		break;
	case K_X32:
		syscall(0x40000000L | SYS_getpid);
		break;
	case K_INT80:
	case K_INT80_UNFILTERED:
		int80_getpid();
		break;
	}
}

/* Fork; the child does `what` (filtered with act, except K_INT80_UNFILTERED)
 * and exits 0 if it survived.  Returns the wait status. */
static int in_child(enum kill_what what, enum hv_seccomp_action act)
{
	struct rlimit no_core = {0, 0};
	int st = -1;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &no_core); /* a seccomp kill dumps core */
		if (what == K_INT80_UNFILTERED)
			_exit(int80_getpid() == getpid() ? 0 : 1);
		_exit(run_filtered(act, kill_body, &what) ? 2 : 0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

static bool killed_by_sigsys(int st)
{
	if (st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
		return true;
	printf("#   wait status 0x%x (exited %d, signal %d)\n", st,
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return false;
}

static void test_kills(void)
{
	int st;

	TAP_OK(killed_by_sigsys(in_child(K_SOCKET, HV_SECCOMP_KILL)),
	       "KILL mode: a forbidden call (socket) kills the process with SIGSYS");
	TAP_OK(killed_by_sigsys(in_child(K_X32, HV_SECCOMP_EPERM)),
	       "an x32 system call kills the process even in EPERM mode");
	st = in_child(K_INT80_UNFILTERED, HV_SECCOMP_EPERM);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st))
		TAP_SKIP("no 32-bit system calls (int 0x80) on this kernel");
	else
		TAP_OK(killed_by_sigsys(in_child(K_INT80, HV_SECCOMP_EPERM)),
		       "a 32-bit int 0x80 call (other audit arch) kills the process");
}

/* ------------------------------------------------------------ 4. HVB_SECCOMP */

static void expect_env(const char *value, int want_r, bool want_on, const char *desc_prefix,
		       const char *what)
{
	char err[200] = "", desc[300], name[160];
	bool on = !want_on;
	int r;

	if (value)
		setenv("HVB_SECCOMP", value, 1);
	else
		unsetenv("HVB_SECCOMP");
	r = hv_seccomp_env(&on, err, sizeof(err));
	snprintf(name, sizeof(name), "HVB_SECCOMP %s: %s", what,
		 want_r	   ? "-EINVAL naming the variable"
		 : want_on ? "on"
			   : "off");
	TAP_OK(r == want_r && (r ? strstr(err, "HVB_SECCOMP") != NULL : on == want_on), name);
	if (r) /* what a caller that resolved the setting reports */
		snprintf(desc, sizeof(desc), "error: %s", err);
	else
		hv_seccomp_vcpu_describe(on, desc, sizeof(desc));
	snprintf(name, sizeof(name), "... meta line starts '%s'", desc_prefix);
	TAP_OK(!strncmp(desc, desc_prefix, strlen(desc_prefix)), name);
	if (strncmp(desc, desc_prefix, strlen(desc_prefix)))
		printf("#   got '%s'\n", desc);
}

static void *enter_thread(void *arg)
{
	char why[300] = "";
	int *r = arg;
	bool on;

	r[0] = hv_seccomp_env(&on, why, sizeof(why));
	if (!r[0])
		r[0] = hv_seccomp_vcpu_enter(on, why, sizeof(why));
	r[1] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (r[1] >= 0)
		close(r[1]);
	r[2] = strstr(why, "HVB_SECCOMP") != NULL;
	return NULL;
}

static void test_env(void)
{
	char on_line[120];
	int r[3];
	pthread_t t;

	snprintf(on_line, sizeof(on_line),
		 "on: %u syscalls allowed (vCPU thread), unknown -> EPERM", hv_seccomp_n_allowed());
	expect_env(NULL, 0, true, on_line, "unset");
	expect_env("1", 0, true, on_line, "=1");
	expect_env("0", 0, false, "off: HVB_SECCOMP=0", "=0");
	expect_env("yes", -EINVAL, false, "error: HVB_SECCOMP='yes': must be 0", "=yes");
	expect_env("", -EINVAL, false, "error: HVB_SECCOMP='': must be 0", "=''");
	expect_env("01", -EINVAL, false, "error: HVB_SECCOMP='01'", "=01");
	/* A bad value: vcpu_enter refuses, naming it, and installs nothing. */
	setenv("HVB_SECCOMP", "2", 1);
	pthread_create(&t, NULL, enter_thread, r);
	pthread_join(t, NULL);
	TAP_OK(r[0] == -EINVAL && r[1] >= 0 && r[2],
	       "vcpu_enter with HVB_SECCOMP=2: -EINVAL naming it, thread left unfiltered");
	setenv("HVB_SECCOMP", "0", 1);
	pthread_create(&t, NULL, enter_thread, r);
	pthread_join(t, NULL);
	TAP_OK(r[0] == 0 && r[1] >= 0, "vcpu_enter with HVB_SECCOMP=0: 0, thread unfiltered");
	unsetenv("HVB_SECCOMP");
	pthread_create(&t, NULL, enter_thread, r);
	pthread_join(t, NULL);
	TAP_OK(r[0] == 0 && r[1] == -1, "vcpu_enter by default: 0, and openat is refused after");
}

/* An outer sandbox that refuses seccomp(2) itself, on this thread. */
static int refuse_seccomp(void)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_seccomp, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog fp = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp);
}

/* In a child: 0 if the meta line says unavailable and vcpu_enter lets the
 * thread run unfiltered. */
static int unavailable_child(void)
{
	char desc[300], why[300] = "";
	int fd;

	if (refuse_seccomp())
		return 3;
	hv_seccomp_vcpu_describe(true, desc, sizeof(desc));
	printf("# meta line: %s\n", desc);
	fflush(stdout);
	if (strncmp(desc, "unavailable: seccomp(2) refused", 31))
		return 1;
	if (hv_seccomp_vcpu_enter(true, why, sizeof(why)) || (fd = open("/dev/null", O_RDONLY)) < 0)
		return 2;
	close(fd);
	return 0;
}

static void test_unavailable(void)
{
	int st = -1;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(unavailable_child());
	if (pid > 0)
		waitpid(pid, &st, 0);
	TAP_OK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "seccomp(2) refused by an outer filter: meta 'unavailable: ...', the vCPU thread "
	       "runs unfiltered");
}

/* ------------------------------------------------------------ 5. guests */

#define RAM	 (16ull << 20)
#define DATA_OFF 0x800

struct guest {
	struct vm *vm;
	struct vcpu *vcpu;
	struct hv_console con;
	struct hv_hvb hvb;
	struct hv_run_opts o;
	FILE *out; /* fresh stdio stream, first written on the vCPU thread */
	unsigned lines, records;
};

static void g_line(void *arg, const char *text)
{
	struct guest *g = arg;

	g->lines++;
	fprintf(g->out, "# guest console: %s\n", text);
}

static int g_record(void *arg, struct vcpu *vcpu, const struct hvb_record *rec, char *why,
		    size_t len)
{
	struct guest *g = arg;

	(void)vcpu, (void)why, (void)len;
	g->records++;
	fprintf(g->out, "# record type %u u64 0x%llx\n", rec->type,
		(unsigned long long)rec->u64[0]);
	return 0;
}

static void g_run(void *arg)
{
	struct guest *g = arg;

	vcpu_run(g->vcpu, &g->o);
	fflush(g->out);
}

static void put_record(struct asm32 *a, uint16_t type, uint64_t u0, uint64_t u1)
{
	struct hvb_record r = {
	    .magic = HVB_RECORD_MAGIC, .version = HVB_ABI_VERSION, .type = type, .size = sizeof(r)};

	r.u64[0] = u0, r.u64[1] = u1;
	memcpy(a->b + DATA_OFF, &r, sizeof(r));
	if (a->n < DATA_OFF + sizeof(r))
		a->n = DATA_OFF + sizeof(r);
}

/* Console text, a release record (madvise), hlt, the bench devices, shutdown 7. */
static void busy_guest(struct asm32 *a)
{
	static const char text[] = "hello from a filtered vCPU\n";

	a_mov_dx(a, HVB_PORT_COM1);
	for (const char *p = text; *p; p++)
		a_mov_al(a, (uint8_t)*p), a_out_al(a);
	a_mov_eax(a, 0x5a5a5a5a), a_u8(a, 0xa3), a_u32(a, 0x300000); /* mov [0x300000], eax */
	a_send_record(a, TIMG_LOAD + DATA_OFF);
	a_hlt(a);
	a_mov_dx(a, HVB_PORT_BENCH_USER), a_out_al(a), a_in_al(a);
	a_mov_dx(a, HVB_PORT_BENCH_KERN), a_out_al(a);
	a_u8(a, 0xa1), a_u32(a, (uint32_t)HVB_MMIO_BENCH_USER); /* mov eax, [user] */
	a_shutdown(a, 7);
	put_record(a, HVB_REC_RELEASE, 0x300000, 0x1000);
}

static int g_setup(struct guest *g, const struct asm32 *a, double timeout_s)
{
	static uint8_t img[TIMG_MAX];
	struct timg t = {.code = a->b, .code_len = a->n};
	struct hv_image hi;
	char err[256];
	size_t len = timg_build(img, &t);

	g->o.timeout_ns = (uint64_t)(timeout_s * 1e9);
	g->out = fdopen(dup(STDOUT_FILENO), "w");
	if (!g->out || vm_create(&g->vm, NULL) || vm_mem_add(g->vm, 0, RAM) ||
	    vcpu_create(g->vm, 0, &g->vcpu) || vcpu_cpuid_init(g->vcpu) ||
	    vm_load_elf(g->vm, img, len, &hi, err, sizeof(err)) || vm_pvh_setup(g->vm, "test") ||
	    vcpu_setup_pvh(g->vcpu, hi.entry) || dev_console_attach(g->vm, &g->con, 0, g_line, g))
		return -1;
	g->hvb.record = g_record;
	g->hvb.arg = g;
	return dev_hvb_attach(g->vm, &g->hvb);
}

/* In a child: boot `a` on a KILL-mode thread; 0 if the verdict is `want`. */
static int guest_child(const struct asm32 *a, double timeout_s, enum hv_outcome want, int want_code)
{
	struct guest g = {0};
	const struct hv_verdict *v;

	if (g_setup(&g, a, timeout_s))
		return 3;
	if (run_filtered(HV_SECCOMP_KILL, g_run, &g))
		return 2;
	v = &g.vm->verdict;
	printf("# verdict: %s: %s (rip 0x%llx; %u console lines, %u records)\n",
	       hv_outcome_name(v->outcome), v->msg, (unsigned long long)v->rip, g.lines, g.records);
	fflush(stdout);
	if (v->outcome != want || (want == HV_SHUTDOWN && v->guest_code != want_code))
		return 1;
	if (want == HV_SHUTDOWN && (g.lines != 1 || g.records != 1 || g.hvb.n_released != 1))
		return 1;
	if (want == HV_TIMEOUT && (!v->have_regs || v->rip != TIMG_LOAD))
		return 1;
	return 0;
}

static void expect_guest(const struct asm32 *a, double timeout_s, enum hv_outcome want,
			 int want_code, const char *desc)
{
	struct rlimit no_core = {0, 0};
	int st = -1;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &no_core);
		_exit(guest_child(a, timeout_s, want, want_code));
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
	if (st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
		printf("#   killed by SIGSYS: the run loop made a system call outside the "
		       "allowlist\n");
	TAP_OK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, desc);
}

static void test_guests(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	struct asm32 a = {.n = 0};

	if (fd < 0) {
		char why[128];
		snprintf(why, sizeof(why), "/dev/kvm unusable: %s", strerror(errno));
		TAP_SKIP(why);
		TAP_SKIP(why);
		return;
	}
	close(fd);
	busy_guest(&a);
	expect_guest(&a, 10, HV_SHUTDOWN, 7,
		     "guest on a KILL-mode filtered vCPU thread: console, record, release, hlt, "
		     "bench devices, shutdown 7");
	a.n = 0;
	a_jmp_self(&a);
	expect_guest(&a, 1, HV_TIMEOUT, 0,
		     "spinning guest on a filtered vCPU thread: the watchdog's kick ends it as a "
		     "timeout with its rip");
}

int main(void)
{
	char why[200];

	if (!hv_seccomp_supported(why, sizeof(why))) {
		TAP_SKIP(why);
		return tap_done();
	}
	test_allowed();
	test_forbidden();
	test_scope();
	test_kills();
	test_env();
	test_unavailable();
	test_guests();
	return tap_done();
}
