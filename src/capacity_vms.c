/*
 * Starting, watching and reaping the VMs of one capacity step
 * (capacity_vms.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capacity_vms.h"
#include "progress.h"
#include "util.h"
#include "vmcost.h"

/* A background VM runs until it is stopped: more repetitions than any
 * probe can outlast (run's --reps limit). */
#define BACKGROUND_REPS "1000"

double hvb_cap_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

bool hvb_cap_param_for(const char *kv, size_t len, const char *workload)
{
	const char *slash = strchr(workload, '/'), *name = slash ? slash + 1 : workload;
	size_t nl = strlen(name);

	/* run's --param KEY=VALUE: KEY is <name after the family>.<parameter>. */
	return len > nl + 1 && !strncmp(kv, name, nl) && kv[nl] == '.';
}

/* argv of the child's `hvbench run` (malloc'ed strings, NULL-terminated). */
static char **child_argv(const struct hvb_cap_vm *vm, const struct hvb_cap_child_args *a)
{
	char **v = xcalloc(64, sizeof(char *));
	int n = 0;

	v[n++] = xstrdup("hvbench");
	v[n++] = xstrdup("run");
	v[n++] = xasprintf("--runner=%s", a->runner);
	v[n++] = xasprintf("--workload=%s", vm->workload);
	v[n++] = vm->probe ? xasprintf("--reps=%u", a->probe_reps)
			   : xstrdup("--reps=" BACKGROUND_REPS);
	v[n++] = xasprintf("--out=%s", vm->dir);
	v[n++] = xasprintf("--vcpus=%u", a->vcpus);
	if (vm->cpus) /* hvbench migrate leaves placement to run */
		v[n++] = xasprintf("--cpus=%s", vm->cpus);
	if (a->batches)
		v[n++] = xasprintf("--batches=%u", a->batches);
	v[n++] = xasprintf("--timeout=%g", a->timeout_s);
	if (a->quick)
		v[n++] = xstrdup("--quick");
	if (a->no_cpu_lock) /* else they share the capacity run's locks */
		v[n++] = xstrdup("--no-cpu-lock");
	if (a->guest_mem)
		v[n++] = xasprintf("--guest-mem=%s", a->guest_mem);
	if (a->image)
		v[n++] = xasprintf("--image=%s", a->image);
	for (const char *p = a->params; p && *p && n < 62;) {
		size_t len = strcspn(p, ",");

		if (len && hvb_cap_param_for(p, len, vm->workload)) {
			v[n++] = xstrdup("--param");
			v[n++] = xasprintf("%.*s", (int)len, p);
		}
		p += len + (p[len] == ',');
	}
	v[n] = NULL;
	return v;
}

static void free_argv(char **v)
{
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* In the child, between fork and exec: its own group, output to a file,
 * SIGTERM when the capacity command dies.  Never returns. */
static void exec_child(const struct hvb_cap_vm *vm, char **argv, pid_t pgid, pid_t parent)
{
	char *log = xasprintf("%s/hvbench.out", vm->dir);
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int null = open("/dev/null", O_RDONLY);

	setpgid(0, pgid);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127); /* the parent died before the line above */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (null >= 0)
		dup2(null, STDIN_FILENO);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	execv("/proc/self/exe", argv);
	fprintf(stderr, "hvbench capacity: cannot execute /proc/self/exe: %s\n", strerror(errno));
	_exit(127);
}

static int start_vm(struct hvb_cap_step_run *run, struct hvb_cap_vm *vm,
		    const struct hvb_cap_child_args *a)
{
	char **argv = child_argv(vm, a);
	pid_t parent = getpid(), pid;
	int e;

	if ((e = hvb_mkdir_p(vm->dir))) {
		free_argv(argv);
		return e;
	}
	pid = fork();
	if (pid < 0) {
		e = -errno;
		free_argv(argv);
		return e;
	}
	if (pid == 0)
		exec_child(vm, argv, run->pgid, parent);
	/* Both sides set the group, so it is set whichever runs first. */
	if (!run->pgid)
		run->pgid = pid;
	setpgid(pid, run->pgid);
	vm->pid = pid;
	vm->running = true;
	vm->started_s = hvb_cap_now();
	free_argv(argv);
	return 0;
}

/* Reap vm if it has ended (block: wait for it).  True when reaped. */
static bool reap(struct hvb_cap_vm *vm, bool block)
{
	int st;
	pid_t r;

	if (vm->reaped || !vm->pid)
		return false;
	do
		r = wait4(vm->pid, &st, block ? 0 : WNOHANG, &vm->ru);
	while (r < 0 && errno == EINTR);
	if (r != vm->pid)
		return false;
	if (vm->running)
		vm->ended_s = hvb_cap_now();
	vm->running = false;
	vm->reaped = true;
	vm->wait_status = st;
	return true;
}

/*
 * Has vm ended?  The group's leader is only looked at (WNOWAIT), never
 * reaped here: as a zombie it keeps its pid, and with it the group id, from
 * being reused, so killing the group at the end can reach nobody else.
 */
static void poll_end(const struct hvb_cap_step_run *run, struct hvb_cap_vm *vm)
{
	siginfo_t si = { 0 };

	if (!vm->running)
		return;
	if (vm->pid != run->pgid) {
		reap(vm, false);
		return;
	}
	if (waitid(P_PID, (id_t)vm->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	    si.si_pid == vm->pid) {
		vm->running = false;
		vm->ended_s = hvb_cap_now();
	}
}

static void read_cost(struct hvb_cap_vm *vm)
{
	struct hvb_vmcost c;

	if (!vm->running)
		return;
	if (hvb_vmcost_read(vm->pid, &c)) {
		snprintf(vm->cost_why, sizeof(vm->cost_why), "%s", c.why);
		return;
	}
	vm->cost_reads++;
	vm->cpu_ns_last = c.cpu_ns;
	if (c.pss_kib > vm->pss_kib_peak)
		vm->pss_kib_peak = c.pss_kib;
}

static unsigned count_running(const struct hvb_cap_step_run *run, bool probes_only)
{
	unsigned k = 0;

	for (unsigned i = 0; i < run->n; i++)
		if (run->vms[i].running && (!probes_only || run->vms[i].probe))
			k++;
	return k;
}

/* SIGINT to the running VMs (all, or the background ones): they close
 * their runs as interrupted, keeping what they measured. */
static void ask_stop(struct hvb_cap_step_run *run, bool background_only)
{
	for (unsigned i = 0; i < run->n; i++) {
		struct hvb_cap_vm *vm = &run->vms[i];

		if (vm->running && !vm->signalled_stop && (!background_only || !vm->probe)) {
			kill(vm->pid, SIGINT);
			vm->signalled_stop = true;
		}
	}
}

static void progress(const struct hvb_cap_step_run *run, unsigned step_no, const char *what)
{
	unsigned s = (unsigned)(hvb_cap_now() - run->started_s);

	if (run->label)
		hvb_progress("%s: running, elapsed %u:%02u", run->label, s / 60, s % 60);
	else
		hvb_progress("step %u (N=%u): %s: %u of %u VMs running, elapsed %u:%02u", step_no,
			     run->n, what, count_running(run, false), run->n, s / 60, s % 60);
}

/* One pass of the watch loop: costs, reaping, progress. */
static void tick(struct hvb_cap_step_run *run, unsigned step_no, const char *what, unsigned *k)
{
	for (unsigned i = 0; i < run->n; i++) {
		/* Once a second: a read walks /proc (3-5 ms), time taken from
		 * the VMs on a host with no CPU to spare. */
		if (*k % 20 == 0)
			read_cost(&run->vms[i]);
		poll_end(run, &run->vms[i]);
	}
	if (*k % 20 == 0)
		progress(run, step_no, what);
	(*k)++;
	sleep_ms(50);
}

/* Wait until the probes are done (or the limit, or a stop request). */
static void wait_probes(struct hvb_cap_step_run *run, unsigned step_no, double limit_s,
			volatile int *stop)
{
	unsigned k = 0;

	while (count_running(run, true)) {
		if (*stop) {
			run->interrupted = true;
			ask_stop(run, false);
			return;
		}
		if (hvb_cap_now() - run->started_s > limit_s) {
			run->timed_out = true;
			return;
		}
		tick(run, step_no, "probes measuring", &k);
	}
}

/* Everyone left gets the grace period to close its run, then SIGKILL;
 * then the group is killed, for any grandchild left behind. */
static void drain(struct hvb_cap_step_run *run, unsigned step_no, volatile int *stop)
{
	double deadline = hvb_cap_now() + HVB_CAP_STOP_GRACE_S;
	unsigned k = 0;

	/* Only a step that went as planned keeps its probes' ends: otherwise
	 * (Ctrl-C, timeout, a VM that could not start) everyone stops now. */
	ask_stop(run, !run->interrupted && !run->timed_out && !run->not_started);
	while (count_running(run, false) && hvb_cap_now() < deadline) {
		if (*stop && !run->interrupted) {
			run->interrupted = true;
			ask_stop(run, false);
		}
		tick(run, step_no, "stopping the background", &k);
	}
	/* The leader is not reaped yet (poll_end), so the group id is still
	 * ours: this reaches every VM left and anything they started. */
	if (run->pgid)
		kill(-run->pgid, SIGKILL);
	for (unsigned i = 0; i < run->n; i++)
		reap(&run->vms[i], true);
	hvb_progress_end();
}

int hvb_cap_step_exec(struct hvb_cap_step_run *run, const struct hvb_cap_child_args *a,
		      unsigned step_no, double limit_s, volatile int *stop)
{
	int first_error = 0;

	run->started_s = hvb_cap_now();
	for (unsigned i = 0; i < run->n; i++) {
		int e = start_vm(run, &run->vms[i], a);

		if (e) {
			run->not_started++;
			if (!first_error)
				first_error = e;
		}
	}
	if (!first_error)
		wait_probes(run, step_no, limit_s, stop);
	else
		run->interrupted = run->interrupted || *stop;
	drain(run, step_no, stop);
	return first_error;
}

void hvb_cap_vm_outcome(const struct hvb_cap_vm *vm, char *buf, size_t len)
{
	int st = vm->wait_status;

	if (!vm->pid)
		snprintf(buf, len, "not started");
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGINT && vm->signalled_stop)
		snprintf(buf, len, "exited 130 (stopped by SIGINT, as asked: its run is interrupted)");
	else if (WIFEXITED(st))
		snprintf(buf, len, "exited %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(buf, len, "ended (wait status 0x%x)", st);
}

char *hvb_cap_vm_run_dir(const struct hvb_cap_vm *vm)
{
	DIR *d = opendir(vm->dir);
	struct dirent *de;
	char *found = NULL;

	if (!d)
		return NULL;
	while (!found && (de = readdir(d))) {
		char *meta;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		meta = xasprintf("%s/%s/meta.csv", vm->dir, de->d_name);
		if (stat(meta, &st) == 0)
			found = xasprintf("%s/%s", vm->dir, de->d_name);
		free(meta);
	}
	closedir(d);
	return found;
}
