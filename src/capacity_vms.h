/*
 * The VMs of one `hvbench capacity` step: N child `hvbench run`s (of
 * /proc/self/exe) started together in one process group of their own, each
 * with its own result directory; the probe VMs run to the end, the
 * background VMs are then told to stop (SIGINT: they keep what they
 * measured).  Every child is reaped before a step returns, on success, on
 * failure and on Ctrl-C; before the last of them (the group's leader, kept
 * as a zombie so its group id cannot be reused) is reaped, the group is
 * killed, so that no grandchild (a VMM such as QEMU) outlives its step.  The children also get
 * PR_SET_PDEATHSIG (SIGTERM), so a killed capacity command leaves no VM
 * running either.
 */
#ifndef HVB_CAPACITY_VMS_H
#define HVB_CAPACITY_VMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* Seconds a child has, after SIGINT, to close its run before SIGKILL. */
#define HVB_CAP_STOP_GRACE_S 60

struct hvb_cap_vm {
	unsigned index;       /* vm<index> */
	bool probe;           /* runs the probe workload (else background) */
	const char *workload; /* what it runs */
	char *dir;            /* its --out directory (the child's run is inside) */
	char *cpus;           /* its --cpus list (NULL: none given) */
	pid_t pid;            /* 0 before start / when it could not start */
	bool running;         /* started and not ended */
	bool reaped;          /* waited for (wait_status, ru valid) */
	int wait_status;      /* from waitpid, once reaped */
	bool signalled_stop;  /* we sent it SIGINT (background, or Ctrl-C) */
	double started_s, ended_s; /* monotonic seconds */
	struct rusage ru;     /* of the child and its reaped descendants */
	uint64_t pss_kib_peak; /* highest PSS of its tree seen while it ran */
	uint64_t cpu_ns_last;  /* CPU time of its tree at the last reading */
	unsigned cost_reads;   /* readings that succeeded */
	char cost_why[160];    /* why the last reading failed ("" if none did) */
};

/* What every child of a step is given (argv of `hvbench run`). */
struct hvb_cap_child_args {
	const char *runner;
	unsigned vcpus;
	const char *guest_mem; /* NULL: the run's default */
	const char *image;     /* NULL: the run's default */
	unsigned probe_reps;   /* --reps of a probe VM */
	bool quick;
	const char *params;    /* "K=V,K=V" -> --param K=V each to the VMs whose
				* workload takes K (hvb_cap_param_for); NULL: none */
	double timeout_s;      /* --timeout of each child job */
	bool no_cpu_lock;      /* --no-cpu-lock: the capacity run holds no lock */
	unsigned batches;      /* --batches of each child (0: run's default) */
};

struct hvb_cap_step_run {
	struct hvb_cap_vm *vms;
	unsigned n;
	pid_t pgid;             /* the step's process group (the first child) */
	double started_s;
	bool interrupted;       /* a stop request arrived while it ran */
	bool timed_out;         /* the probes outlived the step limit: killed */
	unsigned not_started;   /* children that could not be started */
	const char *label;      /* progress names the run so (NULL: "step K (N=n)") */
};

/*
 * Does the parameter kv[0..len) ("open-loop.rate=5000") belong to workload
 * ("svc/open-loop")?  run's --param keys are <name after the family>.<name>,
 * and run refuses a key no selected workload takes, so each VM gets only
 * its own workload's parameters.
 */
bool hvb_cap_param_for(const char *kv, size_t len, const char *workload);

/* Monotonic seconds. */
double hvb_cap_now(void);

/*
 * Start every VM of run->vms (dir, cpus, probe, workload set), wait for the
 * probe VMs (at most limit_s, reading each child's cost every ~1 s and
 * printing progress), then stop the background VMs and reap everyone.
 * *stop is polled: when it becomes non-zero (Ctrl-C) every child is told to
 * stop at once.  Returns 0 when every child was started (their outcome is
 * in wait_status), else -errno of the first fork that failed (the others
 * are stopped and reaped all the same).
 */
int hvb_cap_step_exec(struct hvb_cap_step_run *run, const struct hvb_cap_child_args *a,
		      unsigned step_no, double limit_s, volatile int *stop);

/* "exited 0", "exited 130 (interrupted: as asked)", "killed by signal 9", "not started". */
void hvb_cap_vm_outcome(const struct hvb_cap_vm *vm, char *buf, size_t len);

/* The child's own run directory inside vm->dir (malloc'ed), or NULL if it
 * made none (it failed before: its hvbench.out says why). */
char *hvb_cap_vm_run_dir(const struct hvb_cap_vm *vm);

#endif
