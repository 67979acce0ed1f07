/*
 * hvbench capacity: how many VMs of a kind fit on this host under a latency
 * SLO (README "Capacity", results/FORMAT.md "Capacity", issue 16).
 *
 * A step N runs N VMs at once (native: N processes), each a child `hvbench
 * run` (capacity_vms.h): K probe VMs run the probe workload with its
 * repetitions, the other N-K run the background mix round robin until the
 * probes are done.  The search (capacity_search.h) sweeps N = 1, 2, 4, ...
 * and bisects near the edge; every step's rows go into one ordinary result
 * directory, runner <runner>.n<N> (capacity_rows.h), so compare and report
 * read it like any run.
 */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capacity_rows.h"
#include "capacity_search.h"
#include "capacity_vms.h"
#include "cmd.h"
#include "cmd_meta.h"
#include "config.h"
#include "cpulock.h"
#include "harness.h"
#include "matrix.h"
#include "meta.h"
#include "opt.h"
#include "results.h"
#include "stats.h"
#include "tsc.h"
#include "util.h"

#define DEFAULT_PROBE "svc/open-loop"
#define MAX_BACKGROUND 16
#define HVB_CAP_MAX_N 256 /* --max-vms limit */

/* Written by the signal handler only; the steps poll it. */
static volatile int cap_interrupted;

static void on_signal(int sig)
{
	cap_interrupted = sig;
}

struct cap_opts {
	const char *runner, *guest_mem, *probe, *background, *params, *out, *image, *slo;
	uint64_t vcpus, probe_vms, max_vms, reps;
	double slo_p99_us, slo_tput_pct, timeout_s;
	bool quick, no_cpu_lock;
};

/* What the search's callback needs, and what the steps leave for meta. */
struct cap_ctx {
	const struct cap_opts *o;
	struct hvb_sink *sink;
	const char *bg[MAX_BACKGROUND];
	size_t n_bg;
	int cpus[CPU_SETSIZE]; /* the CPUs this process may use */
	unsigned n_cpus;
	struct hvb_cap_slo slo;
	double base_tput;      /* the N = 1 step's median probe throughput (NAN before) */
	unsigned step_no;
	bool n1_without_figures; /* the probe gave nothing at N = 1: a set-up problem */
	bool overcommitted;
	/* Each measured step's figures, by N (for the closing lines). */
	struct hvb_cap_figure p99_at[HVB_CAP_MAX_N + 1], thr_at[HVB_CAP_MAX_N + 1];
	char *runners;         /* "<r>.n1,<r>.n2,...": the runners key */
	struct hvb_cpulock lock; /* every CPU a step may use, passed down to the VMs */
	char lock_desc[2048];  /* meta cpu_lock */
	char stopped_at[128];
};

/* ------------------------------------------------------------ options */

static const char cap_usage[] =
	"capacity --runner R --slo 'p99<=Xus' [options]\n\n"
	"How many VMs of one kind fit on this host under a latency SLO: run N VMs at\n"
	"once (N = 1, 2, 4, ... then a bisection near the edge), K of them running the\n"
	"probe workload and the rest the background mix, until the probe VMs' p99\n"
	"latency or throughput breaks the SLO.  Writes one result directory (runner\n"
	"<R>.n<N>, per-VM rows <metric>.vm<i>; README \"Capacity\").";

static int split_background(struct cap_ctx *c, char *list)
{
	for (char *save = NULL, *w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (c->n_bg == MAX_BACKGROUND) {
			hvb_err("capacity: --background: at most %d workloads", MAX_BACKGROUND);
			return -1;
		}
		if (!hvb_workload_find(w)) {
			hvb_err("capacity: --background: no workload '%s' (exact names, see "
				"'hvbench list')",
				w);
			return -1;
		}
		if (!strcmp(w, c->o->probe)) {
			hvb_err("capacity: --background: '%s' is the probe; background VMs run "
				"other workloads (without --background every VM runs the probe)",
				w);
			return -1;
		}
		c->bg[c->n_bg++] = w;
	}
	return 0;
}

static int check_probe(const char *probe)
{
	const struct hvb_workload *w = hvb_workload_find(probe);

	if (!w) {
		hvb_err("capacity: --probe: no workload '%s' in this build; give a per-request "
			"workload, e.g. --probe micro/timer-latency ('hvbench list')",
			probe);
		return -1;
	}
	if (!w->per_request) {
		hvb_err("capacity: --probe %s does not time its requests (no req_ns rows): give "
			"a per-request workload, e.g. micro/timer-latency or io/randread-4k-qd1",
			probe);
		return -1;
	}
	return 0;
}

/* The runner must exist and be available here (hvb_select_runners says why not). */
static int check_runner(const struct cap_opts *o)
{
	char err[512];

	if (strchr(o->runner, ',')) {
		hvb_err("capacity: --runner: one runner per capacity run ('%s')", o->runner);
		return -1;
	}
	if (hvb_cmd_runners_available(o->runner, o->image, o->guest_mem, err, sizeof(err))) {
		hvb_err("capacity: %s", err);
		return -1;
	}
	return 0;
}

static int allowed_cpus(struct cap_ctx *c)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set)) {
		hvb_err("capacity: cannot read this process's CPU set: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set))
			c->cpus[c->n_cpus++] = i;
	return c->n_cpus ? 0 : -1;
}

/* ------------------------------------------------------------ one step */

/* VM i of a step: probe or which background workload, and its CPUs
 * (vCPU j of VM i on allowed CPU (i * vcpus + j) mod count: VMs spread
 * over the host, overcommitted when there are more vCPUs than CPUs). */
static void plan_vm(const struct cap_ctx *c, unsigned n, unsigned i, const char *step_dir,
		    struct hvb_cap_vm *vm)
{
	unsigned k = c->n_bg ? (unsigned)(c->o->probe_vms < n ? c->o->probe_vms : n) : n;
	char list[256] = "";
	size_t off = 0;

	vm->index = i;
	vm->probe = i < k;
	vm->workload = vm->probe ? c->o->probe : c->bg[(i - k) % c->n_bg];
	vm->dir = xasprintf("%s/vm%u", step_dir, i);
	for (unsigned j = 0; j < c->o->vcpus && off < sizeof(list); j++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%d", j ? "," : "",
					c->cpus[(i * c->o->vcpus + j) % c->n_cpus]);
	vm->cpus = xstrdup(list);
}

static double quantile_of(const double *x, size_t n, double q)
{
	return n ? hvb_quantile(x, n, q) : NAN;
}

static void step_sample(struct cap_ctx *c, const char *runner_n, const char *metric,
			const char *unit, int better, double value, const char *note)
{
	hvb_sink_sample(c->sink, runner_n,
			&(const struct hvb_sample_out){ .workload = "capacity/step", .metric = metric,
							.unit = unit, .better = better, .rep = 0,
							.value = value, .note = note });
}

/* Per-VM memory and host CPU, and their means (capacity/step rows). */
static void write_costs(struct cap_ctx *c, const char *runner_n, const struct hvb_cap_step_run *run)
{
	double pss_sum = 0, cpu_sum = 0;
	unsigned n_pss = 0, n_cpu = 0;

	for (unsigned i = 0; i < run->n; i++) {
		const struct hvb_cap_vm *vm = &run->vms[i];
		double wall = vm->ended_s - vm->started_s;
		double cpu_ns = (vm->ru.ru_utime.tv_sec + vm->ru.ru_stime.tv_sec) * 1e9 +
				(vm->ru.ru_utime.tv_usec + vm->ru.ru_stime.tv_usec) * 1e3;
		char metric[48], note[256];

		if (!vm->pid)
			continue;
		snprintf(metric, sizeof(metric), "mem_pss_kib.vm%u", i);
		if (vm->cost_reads) {
			snprintf(note, sizeof(note), "peak PSS of its process tree over %u readings "
				 "(probes/vmcost.c)", vm->cost_reads);
			step_sample(c, runner_n, metric, "KiB", HVB_LOWER_IS_BETTER,
				    (double)vm->pss_kib_peak, note);
			pss_sum += (double)vm->pss_kib_peak;
			n_pss++;
		} else {
			hvb_sink_sample(c->sink, runner_n,
					&(const struct hvb_sample_out){
						.workload = "capacity/step", .metric = metric,
						.status = HVB_ST_UNSUPPORTED,
						.note = vm->cost_why[0] ? vm->cost_why
									: "ended before a reading" });
		}
		if (wall > 0) {
			snprintf(metric, sizeof(metric), "host_cpu_pct.vm%u", i);
			snprintf(note, sizeof(note), "CPU time of its process tree (wait4 rusage: "
				 "%.0f ms) over its %.2f s of wall time; 100 = one host CPU",
				 cpu_ns / 1e6, wall);
			step_sample(c, runner_n, metric, "%", HVB_LOWER_IS_BETTER,
				    100.0 * cpu_ns / 1e9 / wall, note);
			cpu_sum += 100.0 * cpu_ns / 1e9 / wall;
			n_cpu++;
		}
	}
	if (n_pss)
		step_sample(c, runner_n, "mem_pss_kib", "KiB", HVB_LOWER_IS_BETTER,
			    pss_sum / n_pss, "mean over the VMs of the step");
	if (n_cpu)
		step_sample(c, runner_n, "host_cpu_pct", "%", HVB_LOWER_IS_BETTER,
			    cpu_sum / n_cpu, "mean over the VMs of the step");
}

/* boot_ms.p50/.p99 over the VMs' first boots (a boot storm: started at once). */
static void write_boots(struct cap_ctx *c, const char *runner_n, const struct hvb_cap_step_figures *f,
			unsigned n)
{
	char note[160];

	if (!f->nboot) {
		hvb_sink_sample(c->sink, runner_n,
				&(const struct hvb_sample_out){
					.workload = "capacity/step", .metric = "boot_ms.p50",
					.status = HVB_ST_UNSUPPORTED,
					.note = "no boot rows: this runner boots no guest (native) "
						"or times no boot (xen-pvh and xen-pv: no boot_ms "
						"yet) or no VM booted" });
		return;
	}
	snprintf(note, sizeof(note), "over the first boot of %zu of %u VMs started at once "
		 "(type-7 quantiles)", f->nboot, n);
	step_sample(c, runner_n, "boot_ms.p50", "ms", HVB_LOWER_IS_BETTER,
		    quantile_of(f->boot_ms, f->nboot, 0.5), note);
	step_sample(c, runner_n, "boot_ms.p99", "ms", HVB_LOWER_IS_BETTER,
		    quantile_of(f->boot_ms, f->nboot, 0.99), note);
}

/* capacity.n<N>.<name>: "median [min, max] (...)", or "none (...)". */
static void meta_figure(struct cap_ctx *c, unsigned n, const char *name,
			const struct hvb_cap_figure *f, double scale, const char *metric)
{
	char key[96];

	snprintf(key, sizeof(key), "capacity.n%u.%s", n, name);
	if (!f->n)
		hvb_sink_metaf(c->sink, key, "none (no %s figure was judged for this step)",
			       metric);
	else
		hvb_sink_metaf(c->sink, key, "%.6g [%.6g, %.6g] (median [min, max] over %zu reps "
			       "of the worst probe VM's %s)",
			       f->median * scale, f->min * scale, f->max * scale, f->n, metric);
}

static void step_meta(struct cap_ctx *c, unsigned n, const struct hvb_cap_step_run *run,
		      const struct hvb_cap_figure *p99, const struct hvb_cap_figure *thr,
		      const struct hvb_cap_verdict *v, bool judged)
{
	char key[96], outcome[128];
	unsigned vcpus = n * (unsigned)c->o->vcpus;

	snprintf(key, sizeof(key), "capacity.n%u.verdict", n);
	hvb_sink_metaf(c->sink, key, "%s: %s", !judged ? "not judged" : v->pass ? "pass" : "fail",
		       v->why);
	meta_figure(c, n, "p99_us", p99, 1e-3, "req_ns.p99");
	meta_figure(c, n, "ops_per_s", thr, 1, "ops_per_s");
	snprintf(key, sizeof(key), "capacity.n%u.overcommit", n);
	if (vcpus > c->n_cpus)
		hvb_sink_metaf(c->sink, key, "yes: %u vCPUs on %u host CPU(s)", vcpus, c->n_cpus);
	else
		hvb_sink_metaf(c->sink, key, "no: %u vCPUs on %u host CPU(s)", vcpus, c->n_cpus);
	c->overcommitted |= vcpus > c->n_cpus;
	for (unsigned i = 0; i < run->n; i++) {
		const struct hvb_cap_vm *vm = &run->vms[i];

		hvb_cap_vm_outcome(vm, outcome, sizeof(outcome));
		snprintf(key, sizeof(key), "capacity.n%u.vm%u", n, i);
		hvb_sink_metaf(c->sink, key, "%s %s on cpus %s: %s after %.2f s",
			       vm->probe ? "probe" : "background", vm->workload, vm->cpus, outcome,
			       vm->pid ? vm->ended_s - vm->started_s : 0.0);
	}
}

/* A background workload no VM of this step ran (N too small for the mix)
 * is a skipped cell with why, never an absence (FORMAT.md). */
static void write_unassigned(struct cap_ctx *c, const char *runner_n,
			     const struct hvb_cap_step_run *run)
{
	for (size_t b = 0; b < c->n_bg; b++) {
		bool ran = false;
		char *why;

		for (unsigned i = 0; i < run->n; i++)
			ran |= !run->vms[i].probe && !strcmp(run->vms[i].workload, c->bg[b]);
		if (ran)
			continue;
		why = xasprintf("N=%u: no VM of this step runs it (the first %llu run the probe, "
				"the rest the background round robin)",
				run->n, (unsigned long long)c->o->probe_vms);
		hvb_sink_cell_status(c->sink, runner_n, c->bg[b], HVB_ST_SKIPPED, why);
		free(why);
	}
}

static void add_runner(struct cap_ctx *c, const char *runner_n)
{
	char *s = c->runners ? xasprintf("%s,%s", c->runners, runner_n) : xstrdup(runner_n);

	free(c->runners);
	c->runners = s;
	hvb_sink_meta(c->sink, "runners", c->runners);
}

/* Judge the step from its figures and write capacity/step's verdict rows. */
static void judge_step(struct cap_ctx *c, unsigned n, const char *runner_n,
		       const struct hvb_cap_step_figures *f, struct hvb_cap_figure *p99,
		       struct hvb_cap_figure *thr, struct hvb_cap_verdict *v)
{
	hvb_cap_judge(&c->slo, n, f->p99_ns, f->np, f->tput, f->nt, c->base_tput, p99, thr, v);
	if (n == 1) {
		c->base_tput = thr->n ? thr->median : NAN;
		c->n1_without_figures = !p99->n;
	}
	step_sample(c, runner_n, "slo_pass", "pass", HVB_HIGHER_IS_BETTER, v->pass ? 1 : 0, v->why);
	if (thr->n && c->base_tput > 0)
		step_sample(c, runner_n, "tput_pct", "%", HVB_HIGHER_IS_BETTER,
			    100.0 * thr->median / c->base_tput,
			    "median per-VM probe throughput (worst probe VM) as % of N=1");
}

static void free_step(struct hvb_cap_step_run *run)
{
	for (unsigned i = 0; i < run->n; i++) {
		free(run->vms[i].dir);
		free(run->vms[i].cpus);
	}
	free(run->vms);
}

static void child_args(const struct cap_opts *o, struct hvb_cap_child_args *a)
{
	*a = (struct hvb_cap_child_args){ .runner = o->runner, .vcpus = (unsigned)o->vcpus,
					  .guest_mem = o->guest_mem, .image = o->image,
					  .probe_reps = (unsigned)o->reps, .quick = o->quick,
					  .params = o->params, .timeout_s = o->timeout_s,
					  .no_cpu_lock = o->no_cpu_lock };
}

static void say_step(unsigned no, unsigned n, const struct hvb_cap_verdict *v, bool judged)
{
	fprintf(stderr, "hvbench: step %u (N=%u): %s: %s\n", no, n,
		!judged ? "not judged" : v->pass ? "pass" : "FAIL", v->why);
}

/* The step's verdict from how it ran and what it measured; returns the
 * search's error (-EINTR when interrupted, the start failure), else 0. */
static int verdict(struct cap_ctx *c, unsigned n, const char *runner_n,
		   const struct hvb_cap_step_run *run, const struct hvb_cap_step_figures *f,
		   int start_error, struct hvb_cap_verdict *v, struct hvb_cap_figure *p99,
		   struct hvb_cap_figure *thr)
{
	*v = (struct hvb_cap_verdict){ .pass = false };
	if (run->interrupted) {
		snprintf(v->why, sizeof(v->why), "interrupted while measuring: not judged");
		snprintf(c->stopped_at, sizeof(c->stopped_at), "step %u (N=%u)", c->step_no, n);
		return -EINTR;
	}
	if (start_error) {
		snprintf(v->why, sizeof(v->why), "%u VM(s) could not be started: %s",
			 run->not_started, strerror(-start_error));
		return start_error;
	}
	if (run->timed_out) {
		snprintf(v->why, sizeof(v->why), "the probe VMs did not finish within --timeout "
			 "%g s: stopped", c->o->timeout_s);
		step_sample(c, runner_n, "slo_pass", "pass", HVB_HIGHER_IS_BETTER, 0, v->why);
		return 0;
	}
	judge_step(c, n, runner_n, f, p99, thr, v);
	c->p99_at[n] = *p99;
	c->thr_at[n] = *thr;
	return 0;
}

/* The search's callback: one step, measured, written and judged. */
static int measure_step(void *arg, unsigned n, struct hvb_cap_verdict *v)
{
	struct cap_ctx *c = arg;
	struct hvb_cap_step_run run = { .n = n, .vms = xcalloc(n, sizeof(struct hvb_cap_vm)) };
	struct hvb_cap_child_args a;
	struct hvb_cap_step_figures f;
	struct hvb_cap_figure p99 = { 0 }, thr = { 0 };
	char *step_dir = xasprintf("%s/vms/n%u", hvb_sink_dir(c->sink), n);
	char *runner_n = xasprintf("%s.n%u", c->o->runner, n);
	int e;

	c->step_no++;
	if (cap_interrupted) { /* between two steps: start no VM */
		snprintf(c->stopped_at, sizeof(c->stopped_at), "before step %u (N=%u)", c->step_no,
			 n);
		free(run.vms);
		free(step_dir);
		free(runner_n);
		return -EINTR;
	}
	fprintf(stderr, "hvbench: step %u (N=%u): starting %u VM(s)\n", c->step_no, n, n);
	for (unsigned i = 0; i < n; i++)
		plan_vm(c, n, i, step_dir, &run.vms[i]);
	child_args(c->o, &a);
	e = hvb_cap_step_exec(&run, &a, c->step_no, c->o->timeout_s, &cap_interrupted);
	add_runner(c, runner_n);
	hvb_cap_write_step(c->sink, c->o->runner, runner_n, &run, c->o->probe, &f);
	write_unassigned(c, runner_n, &run);
	write_costs(c, runner_n, &run);
	write_boots(c, runner_n, &f, n);
	e = verdict(c, n, runner_n, &run, &f, e, v, &p99, &thr);
	say_step(c->step_no, n, v, !e && !run.interrupted);
	step_meta(c, n, &run, &p99, &thr, v, !e && !run.interrupted);
	hvb_cap_figures_free(&f);
	free_step(&run);
	free(step_dir);
	free(runner_n);
	hvb_sink_flush(c->sink);
	hvb_sink_write_meta(c->sink);
	if (!e && hvb_sink_error(c->sink, NULL, 0))
		e = -EIO;
	if (!e && c->n1_without_figures)
		e = -ENODATA; /* nothing to search with: the probe does not run here */
	return e;
}

/* ------------------------------------------------------------ the run */

static void meta_start(struct cap_ctx *c, int argc, char **argv)
{
	const struct cap_opts *o = c->o;
	char *cmd = hvb_cmd_line(argc, argv), *bg = xstrdup("");

	for (size_t i = 0; i < c->n_bg; i++) {
		char *t = xasprintf("%s%s%s", bg, i ? "," : "", c->bg[i]);
		free(bg);
		bg = t;
	}
	hvb_cmd_meta_utc(c->sink, "started_utc");
	hvb_meta_host(c->sink);
	hvb_sink_meta(c->sink, "command_line", cmd);
	hvb_sink_meta(c->sink, "cpu_lock", c->lock_desc);
	hvb_sink_metaf(c->sink, "workloads", "%s%s%s,capacity/step", o->probe, c->n_bg ? "," : "",
		       bg);
	hvb_sink_metaf(c->sink, "reps", "%llu", (unsigned long long)o->reps);
	hvb_sink_meta(c->sink, "quick", o->quick ? "1" : "0");
	hvb_sink_metaf(c->sink, "vcpus", "%llu", (unsigned long long)o->vcpus);
	hvb_sink_metaf(c->sink, "tsc_khz", "%llu", (unsigned long long)hvb_tsc_khz_measure(50));
	hvb_sink_meta(c->sink, "order", "capacity steps: N VMs at once per step, in search order");
	hvb_sink_meta(c->sink, "primary.capacity/step", "slo_pass");
	hvb_sink_meta(c->sink, "capacity.runner", o->runner);
	hvb_sink_meta(c->sink, "capacity.probe", o->probe);
	hvb_sink_metaf(c->sink, "capacity.probe_vms", "%llu%s", (unsigned long long)o->probe_vms,
		       c->n_bg ? "" : " (no --background: every VM runs the probe)");
	hvb_sink_meta(c->sink, "capacity.background", c->n_bg ? bg : "none");
	hvb_sink_metaf(c->sink, "capacity.slo",
		       "p99<=%.10gus tput>=%.10g%% (median over reps of the worst probe VM's req_ns.p99; "
		       "its ops_per_s vs N=1%s)",
		       o->slo_p99_us, o->slo_tput_pct, o->slo_tput_pct > 0 ? "" : ": not checked");
	hvb_sink_metaf(c->sink, "capacity.max_vms", "%llu", (unsigned long long)o->max_vms);
	hvb_sink_metaf(c->sink, "capacity.guest_mem", "%s", o->guest_mem ? o->guest_mem : "default");
	hvb_sink_meta(c->sink, "capacity.vms_dir", "vms/n<N>/vm<i>/<run-id>: each VM's own run");
	hvb_sink_meta(c->sink, "capacity.cost_source",
		      "PSS: peak of probes/vmcost.c hvb_vmcost_read over the VM's process tree, "
		      "read every 1 s; CPU: wait4 rusage of the child (its reaped tree)");
	free(cmd);
	free(bg);
	hvb_sink_write_meta(c->sink);
}

static void meta_end(struct cap_ctx *c, const struct hvb_cap_result *r)
{
	char steps[512];

	hvb_cap_steps_str(r, steps, sizeof(steps));
	hvb_sink_meta(c->sink, "capacity.steps", steps[0] ? steps : "none");
	hvb_sink_metaf(c->sink, "capacity.n_max", "%u%s", r->n_max,
		       r->done ? "" : " (search not finished: a lower bound at most)");
	if (r->failed_at)
		hvb_sink_metaf(c->sink, "capacity.failed_at", "%u", r->failed_at);
	else
		hvb_sink_meta(c->sink, "capacity.failed_at", r->done ? "none (passed up to "
								       "--max-vms)" : "none yet");
	hvb_sink_meta(c->sink, "capacity.why", r->why[0] ? r->why : "no step failed");
	hvb_sink_metaf(c->sink, "overcommit", "%s", c->overcommitted ?
			       "yes: some steps ran more vCPUs than host CPUs (capacity.n<N>.overcommit)"
						      : "no");
	hvb_cmd_meta_utc(c->sink, "finished_utc");
	if (c->stopped_at[0])
		hvb_sink_meta(c->sink, "interrupted_at", c->stopped_at);
}

/* "  at N=4: p99 812 us [640, 990], 1200 ops/s [1100, 1300] per VM, 3 reps". */
static void print_figures(const struct cap_ctx *c, unsigned n, const char *what)
{
	const struct hvb_cap_figure *p = &c->p99_at[n], *t = &c->thr_at[n];

	if (!n || !p->n)
		return;
	printf("  at N=%u (%s): p99 %.4g us [%.4g, %.4g], %.4g ops/s [%.4g, %.4g] per VM "
	       "(worst probe VM; median [min, max] over %zu reps)\n",
	       n, what, p->median / 1e3, p->min / 1e3, p->max / 1e3, t->median, t->min, t->max,
	       p->n);
}

static void print_result(const struct cap_ctx *c, const struct hvb_cap_result *r, const char *dir)
{
	char steps[512];

	hvb_cap_steps_str(r, steps, sizeof(steps));
	printf("results: %s%s\n", dir, c->stopped_at[0] ? " (interrupted)" : "");
	printf("capacity of %s (%s, %llu vCPU(s) per VM): N_max = %u%s\n", c->o->runner,
	       c->o->probe, (unsigned long long)c->o->vcpus, r->n_max,
	       r->done ? "" : " (search not finished)");
	printf("  steps: %s\n", steps[0] ? steps : "none");
	if (r->failed_at)
		printf("  failed at N=%u: %s\n", r->failed_at, r->why);
	else if (r->done)
		printf("  no step failed up to --max-vms %llu\n", (unsigned long long)c->o->max_vms);
	print_figures(c, r->n_max, "N_max");
	print_figures(c, r->failed_at, "failed");
}

/* --slo EXPR: its terms override --slo-p99-us / --slo-tput-pct. */
static int slo_expr(struct cap_opts *o)
{
	struct hvb_cap_slo slo = { .p99_us = o->slo_p99_us, .tput_pct = o->slo_tput_pct };
	char err[256];

	if (hvb_cap_slo_parse(o->slo, &slo, err, sizeof(err))) {
		hvb_err("capacity: --slo: %s", err);
		return -1;
	}
	o->slo_p99_us = slo.p99_us;
	o->slo_tput_pct = slo.tput_pct;
	return 0;
}

static int parse(int argc, char **argv, struct cap_opts *o)
{
	const struct hvb_opt opts[] = {
		OPT_STR("runner", 'r', &o->runner, "R", "the runner whose VMs are counted (one; "
			"`hvbench list`)"),
		OPT_STR("slo", 0, &o->slo, "EXPR",
			"the SLO as one expression: 'p99<=X[ns|us|ms]' and/or 'tput>=Y%', "
			"comma-separated, e.g. 'p99<=500us,tput>=80%' (the same as "
			"--slo-p99-us 500 --slo-tput-pct 80)"),
		OPT_DOUBLE("slo-p99-us", 0, &o->slo_p99_us, 0.001, 1e9, "X",
			   "SLO: the probe VMs' p99 request latency (req_ns.p99) at most X us "
			   "(required)"),
		OPT_DOUBLE("slo-tput-pct", 0, &o->slo_tput_pct, 0, 100, "Y",
			   "SLO: per-VM probe throughput (ops_per_s) at least Y% of the N=1 "
			   "figure (default 80; 0: not checked)"),
		OPT_STR("probe", 'p', &o->probe, "W", "the latency probe, a per-request workload "
			"(default " DEFAULT_PROBE ")"),
		OPT_UINT("probe-vms", 0, &o->probe_vms, 1, 64, "K",
			 "VMs of a step that run the probe (default 1); the others run "
			 "--background"),
		OPT_STR("background", 'b', &o->background, "W1,W2,...",
			"workloads of the other VMs, round robin, exact names (default: none, "
			"every VM runs the probe)"),
		OPT_UINT("max-vms", 0, &o->max_vms, 1, HVB_CAP_MAX_N, "N",
			 "largest N tried (default 8)"),
		OPT_UINT("reps", 'n', &o->reps, 1, 1000, "R",
			 "repetitions of the probe per VM and step (default 3; --quick 2)"),
		OPT_UINT("vcpus", 0, &o->vcpus, 1, HVB_MAX_VCPUS, "V",
			 "vCPUs of each VM (default 1); more vCPUs than host CPUs is allowed "
			 "and recorded as overcommit"),
		OPT_STR("guest-mem", 0, &o->guest_mem, "MIB", "guest RAM of each VM in MiB "
			"(as run's --guest-mem)"),
		OPT_STR("param", 0, &o->params, "K=V,...",
			"workload parameters, comma-separated, e.g. open-loop.rate=5000: each "
			"goes to the runs of the VMs whose workload takes it (--param K=V)"),
		OPT_STR("out", 'o', &o->out, "DIR", "parent directory of the run (default "
			"results)"),
		OPT_FLAG("quick", 'q', &o->quick, "smoke run: every VM's run with --quick"),
		OPT_FLAG("no-cpu-lock", 0, &o->no_cpu_lock,
			 "measure even if another run holds one of the CPUs the VMs use (they "
			 "are otherwise locked once for the whole search, and shared by its "
			 "VMs; meta.csv cpu_lock says which)"),
		OPT_DOUBLE("timeout", 0, &o->timeout_s, 1, 86400, "SECONDS",
			   "limit for the probes of one step (default 600)"),
		OPT_STR("image", 0, &o->image, "PATH", "guest image (as run's --image)"),
		OPT_END(),
	};
	int npos, r = hvb_opt_parse("capacity", cap_usage, opts, argc, argv, &npos);

	if (r)
		return r > 0 ? 1 : -1;
	if (npos) {
		hvb_err("capacity: unexpected argument '%s'", argv[1]);
		return -1;
	}
	if (o->slo && slo_expr(o))
		return -1;
	if (!o->runner || !o->slo_p99_us) {
		hvb_err("capacity: give --runner and the SLO's latency (--slo 'p99<=X' or "
			"--slo-p99-us X; see 'hvbench capacity --help')");
		return -1;
	}
	if (!o->reps)
		o->reps = o->quick ? 2 : 3;
	return 0;
}

/* Every --param must belong to the probe or a background workload: each
 * VM gets only its own (run refuses a key its workloads do not take). */
static int check_params(const struct cap_ctx *c)
{
	for (const char *p = c->o->params; p && *p;) {
		size_t len = strcspn(p, ",");
		bool taken = len && hvb_cap_param_for(p, len, c->o->probe);

		for (size_t b = 0; b < c->n_bg && !taken; b++)
			taken = hvb_cap_param_for(p, len, c->bg[b]);
		if (len && !taken) {
			hvb_err("capacity: --param '%.*s': its key names none of the probe and "
				"background workloads (KEY is <name after the family>.<parameter>, "
				"e.g. open-loop.rate=5000 for svc/open-loop; 'hvbench list')",
				(int)len, p);
			return -1;
		}
		p += len + (p[len] == ',');
	}
	return 0;
}

static int setup(struct cap_ctx *c, char *bg_copy)
{
	if (check_probe(c->o->probe) || check_runner(c->o) || allowed_cpus(c))
		return -1;
	if (bg_copy && split_background(c, bg_copy))
		return -1;
	if (check_params(c))
		return -1;
	c->slo = (struct hvb_cap_slo){ .p99_us = c->o->slo_p99_us,
				       .tput_pct = c->o->slo_tput_pct };
	c->base_tput = NAN;
	return 0;
}

static int exit_status(const struct cap_ctx *c, int search_e, int finish_e)
{
	if (finish_e)
		return HVB_EXIT_FAILURE;
	if (c->stopped_at[0])
		return 128 + (cap_interrupted ? cap_interrupted : SIGINT);
	if (search_e == -ENODATA)
		hvb_err("capacity: the probe gave no req_ns.p99 at N=1: it does not run under "
			"this runner as asked (see vms/n1/vm0/hvbench.out and its samples.csv)");
	else if (search_e)
		hvb_err("capacity: the search stopped: %s", strerror(-search_e));
	return search_e ? HVB_EXIT_FAILURE : HVB_EXIT_SUCCESS;
}

/*
 * The CPUs the steps' VMs may use (the first min(allowed, max-vms x vcpus)
 * of this process's, as plan_vm spreads them), locked once for the whole
 * search and passed down (HVB_CPU_LOCKS): the VMs share them on purpose and
 * must not refuse each other; another run is refused, and so is this one
 * when one of them is held.  0 or the exit status to stop with.
 */
static int lock_cpus(struct cap_ctx *c, const char *run_id, int argc, char **argv)
{
	unsigned n = (unsigned)(c->o->max_vms * c->o->vcpus);
	char err[2048];
	struct hvb_cpulock_who who = { .command = hvb_cmd_line(argc, argv) };
	int r;

	if (c->o->no_cpu_lock) {
		snprintf(c->lock_desc, sizeof(c->lock_desc), "off (--no-cpu-lock)");
		free((char *)who.command);
		return 0;
	}
	who.run_dir = xasprintf("%s/%s", c->o->out, run_id);
	r = hvb_cpulock_take(&c->lock, c->cpus, n < c->n_cpus ? n : c->n_cpus, &who, true, err,
			     sizeof(err));
	if (r)
		hvb_err("capacity: %s%s", err, r == -EBUSY ? "; " HVB_CPULOCK_HINT : "");
	else
		hvb_cpulock_describe(&c->lock, c->lock_desc, sizeof(c->lock_desc));
	free((char *)who.command);
	free((char *)who.run_dir);
	return r == -EBUSY ? HVB_EXIT_USAGE : r ? HVB_EXIT_FAILURE : 0;
}

static int capacity_main(int argc, char **argv)
{
	struct cap_opts o = { .probe = DEFAULT_PROBE, .out = "results", .vcpus = 1,
			      .probe_vms = 1, .max_vms = 8, .slo_tput_pct = 80, .timeout_s = 600 };
	struct cap_ctx c = { .o = &o };
	struct hvb_cap_result res;
	char run_id[160], msg[512], *bg = NULL, *dir;
	int r, e, fe;

	if ((r = parse(argc, argv, &o)))
		return r > 0 ? HVB_EXIT_SUCCESS : HVB_EXIT_USAGE;
	bg = o.background ? xstrdup(o.background) : NULL;
	if (setup(&c, bg)) {
		free(bg);
		return HVB_EXIT_USAGE;
	}
	hvb_cmd_signals(on_signal);
	hvb_run_id_make(run_id, sizeof(run_id));
	if ((r = lock_cpus(&c, run_id, argc, argv))) {
		free(bg);
		return r;
	}
	if (hvb_cmd_sink_open(&c.sink, o.out, run_id)) {
		hvb_cpulock_release(&c.lock);
		free(bg);
		return HVB_EXIT_FAILURE;
	}
	meta_start(&c, argc, argv);
	fprintf(stderr, "hvbench: capacity %s: runner %s, probe %s, up to %llu VMs\n",
		hvb_sink_run_id(c.sink), o.runner, o.probe, (unsigned long long)o.max_vms);
	e = hvb_cap_search((unsigned)o.max_vms, measure_step, &c, &res);
	meta_end(&c, &res);
	dir = xstrdup(hvb_sink_dir(c.sink));
	fe = hvb_sink_finish(c.sink, c.stopped_at[0] ? "interrupted" : "complete", msg, sizeof(msg));
	if (fe)
		hvb_err("results: %s; free space or choose another --out, and run again", msg);
	else
		print_result(&c, &res, dir);
	r = exit_status(&c, e, fe);
	hvb_cpulock_release(&c.lock);
	free(dir);
	free(bg);
	free(c.runners);
	return r;
}

static const struct hvb_cmd capacity_cmd = {
	.name = "capacity",
	.summary = "how many VMs of a kind fit under a latency SLO (sweep + bisection)",
	.main = capacity_main,
	.order = 8,
};
HVB_CMD(capacity_cmd);
