/*
 * Host CPU accounting (runners/common/hostcpu.c): a thread set by
 * schedstat and a whole process by its CPU clock both see CPU time spent
 * between two reads, a sleeping thread's time does not grow, and the
 * row written at REP_END carries the value per operation (or a failed
 * row saying why).  A task outside the process (the kernel's vhost worker
 * before Linux 6.4: a kernel thread; here a child process stands in, a
 * thread-group leader of its own like a kernel thread) is counted besides
 * threads or a whole process, by its CPU clock, else its schedstat.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostcpu.h"
#include "results.h"
#include "tap.h"
#include "util.h"

/* Spin until this thread has had ms of CPU (not of wall time: the host
 * may be busy). */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void spin_ms(unsigned ms)
{
	uint64_t end = thread_cpu_ns() + ms * 1000000ull;
	volatile uint64_t x = 0;

	while (thread_cpu_ns() < end)
		x++;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pid_t sleeper_tid;
static int quit;

static void *sleeper(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	sleeper_tid = (pid_t)syscall(SYS_gettid);
	pthread_cond_broadcast(&cv);
	while (!quit)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void test_reads(void)
{
	struct hvb_hostcpu self, idle, proc;
	enum hvb_hostcpu_src src;
	uint64_t a, b, c, d;
	pthread_t t;

	pthread_create(&t, NULL, sleeper, NULL);
	pthread_mutex_lock(&mu);
	while (!sleeper_tid)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);

	hvb_hostcpu_init(&self, getpid(), "this thread");
	hvb_hostcpu_add_tid(&self, (pid_t)syscall(SYS_gettid));
	hvb_hostcpu_init(&idle, getpid(), "a sleeping thread");
	hvb_hostcpu_add_tid(&idle, sleeper_tid);
	hvb_hostcpu_init(&proc, getpid(), "the process");

	TAP_EQ_INT(hvb_hostcpu_read(&self, &a, &src), 0, "read a thread");
	TAP_OK(src == HVB_HOSTCPU_THREAD_CLOCK, "by its thread CPU clock");
	TAP_EQ_INT(hvb_hostcpu_read(&idle, &c, &src), 0, "read a sleeping thread");
	TAP_EQ_INT(hvb_hostcpu_read(&proc, &d, &src), 0, "read the process");
	TAP_OK(src == HVB_HOSTCPU_CLOCK, "by its CPU clock");
	spin_ms(60);
	hvb_hostcpu_read(&self, &b, &src);
	TAP_OK(b - a >= 59000000ull && b - a < 2000000000ull, "60 ms of CPU: 59 ms to 2 s");
	hvb_hostcpu_read(&idle, &a, &src);
	TAP_OK(a - c < 5000000ull, "the sleeper gained under 5 ms");
	hvb_hostcpu_read(&proc, &a, &src);
	TAP_OK(a - d >= 59000000ull, "the process saw the spinning too");

	pthread_mutex_lock(&mu);
	quit = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);

	hvb_hostcpu_init(&idle, getpid(), "a thread that is gone");
	hvb_hostcpu_add_tid(&idle, sleeper_tid);
	/* pthread_join returns once the kernel cleared the thread's tid word,
	 * which can be a moment before the task itself is released (seen under
	 * ASan): give the kernel up to a second to let it go. */
	for (int i = 0; i < 100 && hvb_hostcpu_read(&idle, &a, &src) == 0; i++)
		usleep(10000);
	TAP_OK(hvb_hostcpu_read(&idle, &a, &src) < 0, "a thread that ended: an error");
	/* Another process's threads: no thread clock, schedstat instead. */
	pid_t child = fork();
	if (child == 0) {
		spin_ms(40);
		pause();
		_exit(0);
	}
	hvb_hostcpu_init(&idle, child, "a child's main thread");
	hvb_hostcpu_add_tid(&idle, child);
	for (int i = 0; i < 100; i++) { /* until it has spun (pause: state S) */
		char path[64], buf[512];
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)child);
		usleep(50000);
		if (!hvb_read_file(path, buf, sizeof(buf)) && strstr(buf, ") S "))
			break;
	}
	TAP_EQ_INT(hvb_hostcpu_read(&idle, &a, &src), 0, "read a child's thread");
	TAP_OK(src == HVB_HOSTCPU_SCHEDSTAT && a >= 39000000ull, "by schedstat: its 40 ms spin");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	hvb_hostcpu_init(&idle, 0, "nothing");
	TAP_EQ_INT(hvb_hostcpu_read(&idle, &a, &src), -ESRCH, "no process: -ESRCH");
}

/* A child that spins 40 ms of CPU each time it reads a byte from go, and
 * answers on done. */
static pid_t spinner(int go[2], int done[2])
{
	pid_t child;
	char c;

	if (pipe(go) || pipe(done))
		return -1;
	child = fork();
	if (child == 0) {
		close(go[1]); /* so that the parent's close is an end of file */
		while (read(go[0], &c, 1) == 1) {
			spin_ms(40);
			if (write(done[1], &c, 1) != 1)
				break;
		}
		_exit(0);
	}
	return child;
}

/* Over one 40 ms spin of the child: the set's growth. */
static uint64_t grown_over_spin(const struct hvb_hostcpu *h, int go, int done,
				enum hvb_hostcpu_src *src, int *r)
{
	uint64_t a = 0, b = 0;
	char c = 1;

	*r = hvb_hostcpu_read(h, &a, src);
	if (write(go, &c, 1) != 1 || read(done, &c, 1) != 1)
		*r = -EIO;
	if (!*r)
		*r = hvb_hostcpu_read(h, &b, src);
	return b - a;
}

static void test_outside_task(void)
{
	struct hvb_hostcpu h;
	enum hvb_hostcpu_src src;
	int go[2], done[2], r;
	pid_t child = spinner(go, done);
	uint64_t ns;
	char d[160];

	/* kvm-vhost before Linux 6.4: the vCPU thread + a kernel thread. */
	hvb_hostcpu_init(&h, getpid(), "this thread + a task outside");
	hvb_hostcpu_add_tid(&h, (pid_t)syscall(SYS_gettid));
	TAP_EQ_INT(hvb_hostcpu_add_task(&h, child), 0, "add a task outside the process");
	TAP_OK(h.task_have_clk[0], "its CPU clock looked up when added");
	ns = grown_over_spin(&h, go[1], done[0], &src, &r);
	TAP_EQ_INT(r, 0, "read threads + the task outside");
	snprintf(d, sizeof(d), "the task's 40 ms spin is counted (%llu ns)", (unsigned long long)ns);
	TAP_OK(ns >= 39000000ull && ns < 2000000000ull, d);
	TAP_OK(src == HVB_HOSTCPU_THREAD_CLOCK, "sources: thread clock + its CPU clock, all ns");
	/* Without its clock: /proc/<tid>/schedstat (ns), not /proc/<pid>/task. */
	h.task_have_clk[0] = false;
	ns = grown_over_spin(&h, go[1], done[0], &src, &r);
	snprintf(d, sizeof(d), "without its clock: by /proc/<tid>/schedstat, the spin counted "
		 "(%llu ns)", (unsigned long long)ns);
	TAP_OK(!r && ns >= 39000000ull && src == HVB_HOSTCPU_SCHEDSTAT, d);

	/* qemu-kvm-vhost before 6.4: a whole process + a kernel thread. */
	hvb_hostcpu_init(&h, getpid(), "the process + a task outside");
	hvb_hostcpu_add_task(&h, child);
	ns = grown_over_spin(&h, go[1], done[0], &src, &r);
	snprintf(d, sizeof(d), "a whole process + the task: by CPU clocks, the spin counted "
		 "(%llu ns)", (unsigned long long)ns);
	TAP_OK(!r && ns >= 39000000ull && src == HVB_HOSTCPU_CLOCK, d);

	TAP_EQ_INT(hvb_hostcpu_add_task(&h, 0), -EINVAL, "task 0: -EINVAL");
	hvb_hostcpu_add_task(&h, child);
	TAP_EQ_INT(hvb_hostcpu_add_task(&h, child), -E2BIG,
		   "past HVB_HOSTCPU_MAX_TASKS: -E2BIG");
	TAP_EQ_INT((int)h.n_tasks, HVB_HOSTCPU_MAX_TASKS, "the set keeps what fits");

	close(go[1]);
	waitpid(child, NULL, 0);
	close(go[0]);
	close(done[0]);
	close(done[1]);
	hvb_hostcpu_init(&h, getpid(), "a task outside that is gone");
	hvb_hostcpu_add_task(&h, child);
	TAP_OK(hvb_hostcpu_read(&h, &ns, &src) < 0, "a task outside that ended: an error, not 0");
}

/* Rows through a real sink, read back. */
static void test_rows(void)
{
	char tmpl[] = "/tmp/hvb-hostcpu-XXXXXX", err[300], *dir;
	struct hvb_sink *sink;
	struct hvb_hostcpu h;
	struct hvb_run run;
	bool found_ok = false, found_failed = false, found_4 = false;

	if (!mkdtemp(tmpl) || hvb_sink_open(&sink, tmpl, "r1")) {
		TAP_SKIP("cannot open a sink");
		return;
	}
	const struct hvb_out out = { .sink = sink, .runner = "native" };
	hvb_hostcpu_init(&h, getpid(), "the test");
	hvb_hostcpu_begin(&h);
	spin_ms(20);
	hvb_hostcpu_end(&h, &out, "io/x", 0, 1000);
	hvb_hostcpu_begin(&h);
	hvb_hostcpu_end(&h, &out, "io/x", 1, 0); /* ops unknown */
	hvb_hostcpu_end(&h, &out, "io/x", 2, 10); /* never begun */
	h.begun = true; /* a begin "in the future": the reads disagree */
	h.begin_ns = UINT64_MAX;
	hvb_hostcpu_end(&h, &out, "io/x", 3, 10);
	hvb_hostcpu_row(&out, "io/x", 4, 10, 0, 0, "t", "s"); /* reads at one count */
	/* A mark ends the window: the CPU spent after it is not counted. */
	hvb_hostcpu_begin(&h);
	spin_ms(20);
	hvb_hostcpu_mark(&h, "the mark");
	spin_ms(60);
	hvb_hostcpu_end(&h, &out, "io/x", 5, 1000);
	/* A mark outside a repetition, or one taken before its begin, is not
	 * its end. */
	hvb_hostcpu_mark(&h, "a mark before begin");
	hvb_hostcpu_begin(&h);
	hvb_hostcpu_mark(&h, "a mark of the repetition before");
	hvb_hostcpu_begin(&h);
	spin_ms(20);
	hvb_hostcpu_end(&h, &out, "io/x", 6, 1000);
	dir = xasprintf("%s/r1", tmpl);
	TAP_EQ_INT(hvb_sink_finish(sink, "complete", NULL, 0), 0, "sink closed");
	TAP_EQ_INT(hvb_run_read(dir, false, &run, err, sizeof(err)), 0, "results read back");
	for (size_t i = 0; i < run.n_samples; i++) {
		const struct hvb_sample_row *s = &run.samples[i];
		if (strcmp(s->metric, "host_cpu_ns_per_op"))
			continue;
		if (s->rep == 0 && s->status == HVB_ST_OK)
			found_ok = s->value >= 10000 && !strcmp(s->unit, "ns") &&
				   strstr(s->note, "process CPU clock");
		if (s->rep == 1 && s->status == HVB_ST_FAILED)
			found_failed = strstr(s->note, "operations of the repetition unknown");
		if (s->rep == 2)
			TAP_OK(s->status == HVB_ST_FAILED && strstr(s->note, "not readable"),
			       "rep 2: never begun: failed");
		found_4 |= s->rep == 4;
		if (s->rep == 5)
			TAP_OK(s->status == HVB_ST_OK && s->value >= 19000 && s->value < 60000 &&
				       strstr(s->note, "REP_BEGIN..the mark"),
			       "rep 5: the window ends at the mark (20 ms of 80, over 1000 ops)");
		if (s->rep == 6)
			TAP_OK(s->status == HVB_ST_OK && s->value >= 19000 &&
				       strstr(s->note, "REP_BEGIN..REP_END"),
			       "rep 6: begin drops an earlier mark");
		if (s->rep == 3)
			TAP_OK(s->status == HVB_ST_FAILED && strstr(s->note, "different"),
			       "rep 3: time going backwards: failed");
	}
	TAP_OK(found_ok, "rep 0: >= 10 us per op (20 ms / 1000), ns, source named");
	TAP_OK(found_failed, "rep 1: failed, ops unknown");
	TAP_OK(!found_4, "rep 4: two reads at one count: no row (the log says why)");
	hvb_run_free(&run);
	char *cmd = xasprintf("rm -rf '%s'", tmpl);
	TAP_OK(system(cmd) == 0, "cleaned up");
	free(cmd);
	free(dir);
}

int main(void)
{
	test_reads();
	test_outside_task();
	test_rows();
	return tap_done();
}
