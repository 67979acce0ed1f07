/*
 * Per-CPU run locks (probes/cpulock.c): a second holder of a CPU is refused
 * with the first one's pid, command and run directory; distinct CPUs do
 * not conflict; a killed holder leaves no lock; locks passed down through
 * HVB_CPU_LOCKS are shared by the children, a bogus variable is ignored;
 * /proc/locks tells who holds a CPU without locking it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpulock.h"
#include "tap.h"

static char dir[256];
static const struct hvb_cpulock_who who = { .command = "hvbench run\n--cpu 3",
					    .run_dir = "/results/r1" };

/* In a forked child: hvb_cpulock_take of cpus; its result as exit status
 * (0 taken, 1 busy, 2 other), its message into dir/child.err. */
static int take_in_child(const int *cpus, unsigned n, bool keep_env)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		struct hvb_cpulock l;
		char err[2048], path[300];
		FILE *f;
		int r;

		if (!keep_env)
			unsetenv(HVB_CPULOCK_ENV);
		r = hvb_cpulock_take(&l, cpus, n, NULL, false, err, sizeof(err));
		snprintf(path, sizeof(path), "%s/child.err", dir);
		if ((f = fopen(path, "w"))) {
			if (!r)
				hvb_cpulock_describe(&l, err, sizeof(err));
			fputs(err, f);
			fclose(f);
		}
		_exit(r == 0 ? 0 : r == -EBUSY ? 1 : 2);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *child_err(void)
{
	static char buf[2048];
	char path[300];
	FILE *f;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/child.err", dir);
	buf[0] = '\0';
	if ((f = fopen(path, "r"))) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static void test_dir(void)
{
	char d[256], err[512], file[300];
	int fd;

	TAP_EQ_INT(hvb_cpulock_dir(d, sizeof(d), err, sizeof(err)), 0, "HVB_LOCK_DIR is made");
	TAP_EQ_STR(d, dir, "... and used");
	snprintf(file, sizeof(file), "%s/not-a-dir", dir);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	close(fd);
	setenv("HVB_LOCK_DIR", file, 1);
	TAP_EQ_INT(hvb_cpulock_dir(d, sizeof(d), err, sizeof(err)), -ENOTDIR,
		   "a HVB_LOCK_DIR that is a file is refused");
	TAP_OK(strstr(err, "HVB_LOCK_DIR=") && strstr(err, "writable directory"),
	       "... saying which variable and what to give");
	setenv("HVB_LOCK_DIR", dir, 1);
}

static void test_conflict(void)
{
	const int mine[] = { 3, 5, 3, -1 }, same[] = { 7, 5 }, other[] = { 4 };
	struct hvb_cpulock l;
	char err[2048], desc[1024], want[600], pid[32], path[300];
	int fd;

	TAP_EQ_INT(hvb_cpulock_take(&l, mine, 4, &who, false, err, sizeof(err)), 0,
		   "CPUs 3,5,3 and an unpinned -1 locked");
	TAP_EQ_INT(l.n, 2, "... each distinct CPU once, -1 none");
	hvb_cpulock_describe(&l, desc, sizeof(desc));
	snprintf(want, sizeof(want), "cpus 3,5 (flock %s/cpu3.lock %s/cpu5.lock)", dir, dir);
	TAP_EQ_STR(desc, want, "described for meta.csv cpu_lock");
	TAP_EQ_INT(take_in_child(same, 2, false), 1, "another process wanting CPU 5 is refused");
	snprintf(pid, sizeof(pid), "pid %d ", (int)getpid());
	TAP_OK(strstr(child_err(), "CPU 5") && strstr(child_err(), pid),
	       "... naming the CPU and the holder's pid");
	TAP_OK(strstr(child_err(), "(hvbench run?--cpu 3)") && strstr(child_err(), "/results/r1"),
	       "... its command line (control bytes as ?) and run directory");
	snprintf(path, sizeof(path), "(lock %s/cpu5.lock)", dir);
	TAP_OK(strstr(child_err(), path), "... and the lock file");
	snprintf(path, sizeof(path), "%s/cpu7.lock", dir);
	fd = open(path, O_RDWR);
	TAP_OK(fd >= 0 && !flock(fd, LOCK_EX | LOCK_NB), "... holding nothing (CPU 7 is free)");
	close(fd);
	TAP_EQ_INT(take_in_child(other, 1, false), 0, "another CPU is not refused");
	TAP_EQ_INT(hvb_cpulock_held(dir, same, 2, desc, sizeof(desc)), 1,
		   "/proc/locks: one of CPUs 7,5 held");
	snprintf(want, sizeof(want), "5 (pid %d)", (int)getpid());
	TAP_EQ_STR(desc, want, "... CPU 5, by us");
	TAP_EQ_INT(hvb_cpulock_held(dir, NULL, 0, desc, sizeof(desc)), 2,
		   "every lock file of the directory: two held");
	hvb_cpulock_release(&l);
	TAP_EQ_INT(hvb_cpulock_held(dir, NULL, 0, desc, sizeof(desc)), 0, "none after release");
	TAP_EQ_INT(take_in_child(same, 2, false), 0, "... and CPU 5 can be taken again");
}

/* A holder that writes nothing (flock(1)): the file still holds the last
 * run's text, which must not be quoted as the holder. */
static void test_silent_holder(int cpu)
{
	char path[300], want[64];
	int fd, other;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/cpu%d.lock", dir, cpu);
	pid = fork();
	if (pid == 0) {
		fd = open(path, O_RDONLY);
		if (fd < 0 || flock(fd, LOCK_EX))
			_exit(1);
		pause();
		_exit(0);
	}
	other = open(path, O_RDONLY);
	while (other >= 0 && !flock(other, LOCK_EX | LOCK_NB)) /* until the child has it */
		flock(other, LOCK_UN), usleep(1000);
	close(other);
	TAP_EQ_INT(take_in_child(&cpu, 1, false), 1, "a silent holder (flock(1)) is refused too");
	snprintf(want, sizeof(want), "held by pid %d ", (int)pid);
	TAP_OK(strstr(child_err(), want) && !strstr(child_err(), "in use by another run"),
	       "... naming its pid from /proc/locks, not the file's earlier run");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * A child that holds cpus[0] (and, with worker_ms, a forked worker of its
 * own that shares the lock's open file and outlives it by that long, as a
 * run's native worker exits on its PR_SET_PDEATHSIG); returns its pid once
 * it holds the lock, or -1.
 */
static pid_t hold_in_child(const int *cpus, unsigned worker_ms)
{
	int ready[2];
	char c;
	pid_t pid;

	if (pipe(ready))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct hvb_cpulock l;
		char err[1024];

		if (hvb_cpulock_take(&l, cpus, 1, &who, false, err, sizeof(err)))
			_exit(1);
		if (worker_ms && fork() == 0) {
			usleep(worker_ms * 1000);
			_exit(0);
		}
		(void)!write(ready[1], "x", 1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1)
		pid = -1;
	close(ready[0]);
	return pid;
}

/* A holder killed with SIGKILL: the kernel drops its flock. */
static void test_killed(void)
{
	const int cpus[] = { 9 };
	pid_t pid = hold_in_child(cpus, 0);

	TAP_OK(pid > 0, "a child holds CPU 9");
	TAP_EQ_INT(take_in_child(cpus, 1, false), 1, "... so CPU 9 is refused");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	TAP_EQ_INT(take_in_child(cpus, 1, false), 0, "after kill -9 of the holder CPU 9 is free");
	test_silent_holder(cpus[0]);
}

/* kill -9 of a run whose forked worker still shares the lock's open file:
 * the next run waits for the worker instead of refusing a CPU whose run is
 * gone. */
static void test_dead_holder_child(void)
{
	const int cpus[] = { 11 };
	pid_t pid = hold_in_child(cpus, 400);

	TAP_OK(pid > 0, "a run holds CPU 11 and its forked worker shares it");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	TAP_EQ_INT(take_in_child(cpus, 1, false), 0,
		   "after kill -9 of the run the next one waits for its worker, then has CPU 11");
}

static void test_pass_down(void)
{
	const int all[] = { 0, 1 }, one[] = { 1 };
	struct hvb_cpulock l;
	char err[1024], want[64];
	const char *env;

	TAP_EQ_INT(hvb_cpulock_take(&l, all, 2, &who, true, err, sizeof(err)), 0,
		   "CPUs 0,1 locked to pass down");
	env = getenv(HVB_CPULOCK_ENV);
	snprintf(want, sizeof(want), "%d:0=%d,1=%d", (int)getpid(), l.fd[0], l.fd[1]);
	TAP_OK(env && !strcmp(env, want), "HVB_CPU_LOCKS names them");
	TAP_OK(!(fcntl(l.fd[0], F_GETFD) & FD_CLOEXEC), "... open across exec");
	TAP_EQ_INT(take_in_child(one, 1, true), 0, "a child given them takes CPU 1");
	snprintf(want, sizeof(want), "; passed down by pid %d: cpus 1)", (int)getpid());
	TAP_OK(strstr(child_err(), want), "... recorded as its parent's lock");
	TAP_EQ_INT(take_in_child(one, 1, true), 0, "... and so does its sibling, at once");
	TAP_EQ_INT(take_in_child(one, 1, false), 1, "a process without them is refused");
	setenv(HVB_CPULOCK_ENV, "1:1=1,0=2", 1); /* stdout and stderr: not lock files */
	TAP_EQ_INT(take_in_child(one, 1, true), 1, "a variable naming other files is ignored");
	hvb_cpulock_release(&l);
	TAP_EQ_INT(take_in_child(one, 1, true), 0, "... (CPU 1 free: locked normally)");
	unsetenv(HVB_CPULOCK_ENV);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/hvb-cpulock-%d", (int)getpid());
	setenv("HVB_LOCK_DIR", dir, 1);
	unsetenv(HVB_CPULOCK_ENV);
	test_dir();
	test_conflict();
	test_killed();
	test_dead_holder_child();
	test_pass_down();
	if (fork() == 0)
		execlp("rm", "rm", "-rf", dir, (char *)NULL), _exit(1);
	wait(NULL);
	return tap_done();
}
