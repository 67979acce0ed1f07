/*
 * hvbench migrate: live migration cost over a grid of dirty rate x working
 * set x bandwidth x downtime target, per runner (README "Migration grid",
 * results/FORMAT.md "Migration grid runs", issue 18).
 *
 * A command rather than a migrate/<grid> workload family: the grid's axes
 * are the migration's (the runner's switch, HVB_KVM_MIGRATE or
 * HVB_QEMU_MIGRATE_*), not the guest's, and the kvm runner migrates only in
 * the first repetition of a job.  So every (point, repetition) is one child
 * `hvbench run --workload migrate/dirty --reps 1` (capacity_vms.h starts,
 * watches and reaps it), and its rows go into one ordinary result
 * directory under runner <runner>.d<rate>.w<wss>.b<bw>.t<downtime>, the
 * child's rep 0 renumbered to the repetition, so compare and report read
 * it like any run.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "capacity_vms.h"
#include "cmd.h"
#include "cmd_meta.h"
#include "harness.h"
#include "meta.h"
#include "migrate_cfg.h"
#include "opt.h"
#include "results.h"
#include "sink.h"
#include "tsc.h"
#include "util.h"

#define MIG_AXIS_MAX 16
#define MIG_RUNNERS_MAX 4

/* Written by the signal handler only; the grid polls it. */
static volatile int mig_interrupted;

static void on_signal(int sig)
{
	mig_interrupted = sig;
}

struct mig_axis {
	const char *name; /* the option, for errors */
	uint64_t v[MIG_AXIS_MAX];
	unsigned n;
};

struct mig_opts {
	const char *runner_list, *rates, *wss, *bw, *downtime, *out, *guest_mem, *image, *dirty;
	uint64_t reps, batches, batch_ms, rounds, after_ms;
	double timeout_s;
	bool no_cpu_lock;
};

struct mig_ctx {
	const struct mig_opts *o;
	struct hvb_sink *sink;
	const char *runners[MIG_RUNNERS_MAX];
	unsigned n_runners;
	struct mig_axis rate, wss, bw, dt;
	char *runner_names;   /* the runners key: every point's runner name */
	unsigned points_run, points_failed;
	char stopped_at[160];
};

/* ------------------------------------------------------------ options */

static const char mig_usage[] =
	"migrate --runner R[,R...] [grid options]\n\n"
	"Live migration cost over a grid: for every runner and point (dirty rate x\n"
	"working set x bandwidth x downtime target) and repetition, one `hvbench run\n"
	"--workload migrate/dirty` whose guest is migrated once during its run (kvm:\n"
	"HVB_KVM_MIGRATE; qemu-kvm, qemu-tcg: HVB_QEMU_MIGRATE_*; xen-pvh, xen-pv, in a\n"
	"Xen dom0: HVB_XEN_MIGRATE_*, libxl's fixed pre-copy policy: --downtime and\n"
	"--rounds do not apply, --bandwidth holds its relay; a PV guest suspends itself,\n"
	"non-live).  Writes one result\n"
	"directory, runner <R>.d<rate>.w<wss>.b<bw>.t<downtime> (README \"Migration\n"
	"grid\"); a point whose run fails is recorded as failed and the grid goes on.";

/* "8,64" -> axis values, each in [lo, hi]. */
static int axis_parse(struct mig_axis *a, const char *list, uint64_t lo, uint64_t hi,
		      const char *hint)
{
	char *copy = xstrdup(list), *save = NULL;
	int r = 0;

	a->n = 0;
	for (char *w = strtok_r(copy, ",", &save); w && !r; w = strtok_r(NULL, ",", &save)) {
		uint64_t x;

		if (a->n == MIG_AXIS_MAX) {
			hvb_err("migrate: --%s: at most %d values", a->name, MIG_AXIS_MAX);
			r = -1;
		} else if (hvb_parse_uint(w, lo, hi, &x)) {
			hvb_err("migrate: --%s: '%s' is not a whole number %llu-%llu%s", a->name, w,
				(unsigned long long)lo, (unsigned long long)hi, hint);
			r = -1;
		} else {
			a->v[a->n++] = x;
		}
	}
	if (!r && !a->n) {
		hvb_err("migrate: --%s: give at least one value", a->name);
		r = -1;
	}
	free(copy);
	return r;
}

/* Only the runners with a migration switch; the others say why not, before
 * anything runs. */
static int runner_check(const char *r)
{
	if (!strcmp(r, "kvm") || !strcmp(r, "qemu-kvm") || !strcmp(r, "qemu-tcg") ||
	    !strcmp(r, "xen-pvh") || !strcmp(r, "xen-pv"))
		return 0;
	if (!strcmp(r, "native"))
		hvb_err("migrate: --runner native: not yet, and not meaningful: a host process "
			"has no VM to move (give kvm, qemu-kvm, qemu-tcg, xen-pvh or xen-pv)");
	else if (!strncmp(r, "kvm-", 4) || !strncmp(r, "qemu-kvm-", 9))
		hvb_err("migrate: --runner %s: not yet: its network devices are not migrated "
			"(give the plain kvm or qemu-kvm)", r);
	else
		hvb_err("migrate: --runner %s: no such migrating runner (give kvm, qemu-kvm, "
			"qemu-tcg, xen-pvh or xen-pv; 'hvbench list')", r);
	return -1;
}

static int split_runners(struct mig_ctx *c)
{
	char *copy = xstrdup(c->o->runner_list), *save = NULL;

	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (runner_check(w))
			goto fail;
		if (c->n_runners == MIG_RUNNERS_MAX) {
			hvb_err("migrate: --runner: at most %d runners", MIG_RUNNERS_MAX);
			goto fail;
		}
		c->runners[c->n_runners++] = xstrdup(w);
	}
	free(copy);
	return 0;
fail:
	free(copy);
	return -1;
}

static int parse(int argc, char **argv, struct mig_opts *o)
{
	const struct hvb_opt opts[] = {
		OPT_STR("runner", 'r', &o->runner_list, "R,...",
			"migrating runners: kvm, qemu-kvm, qemu-tcg, xen-pvh, xen-pv (required)"),
		OPT_STR("dirty-rate", 'd', &o->rates, "MIB_S,...",
			"the guest's dirty rates, migrate/dirty's dirty.rate, 1-16384 MiB/s "
			"(default 8,64)"),
		OPT_STR("wss", 'w', &o->wss, "MIB,...",
			"working sets, dirty.wss_mib (default 16; at most half of --guest-mem)"),
		OPT_STR("bandwidth", 'b', &o->bw, "MIB_S,...",
			"link bandwidths in MiB/s, 0 = unlimited (default 0)"),
		OPT_STR("downtime", 't', &o->downtime, "MS,...",
			"downtime targets in ms (default 30)"),
		OPT_UINT("reps", 'n', &o->reps, 1, 100, "N",
			 "repetitions of every point, each its own run and migration "
			 "(default 2)"),
		OPT_UINT("rounds", 0, &o->rounds, 1, 1000, "N",
			 "pre-copy rounds at most (kvm: then stop-and-copy, converged 0; QEMU: "
			 "cancelled, converged 0; xen: not applied, libxc stops at 5) "
			 "(default 10)"),
		OPT_UINT("after-ms", 0, &o->after_ms, 0, 3600000, "MS",
			 "start the migration this long into the run (kvm: into migrate/dirty's "
			 "repetition; QEMU: after the guest's HELLO; xen: into the repetition) "
			 "(default 300)"),
		OPT_STR("dirty-log", 0, &o->dirty, "log|clear|ring",
			"kvm's dirty tracking (default log)"),
		OPT_UINT("batches", 0, &o->batches, 1, HVB_MAX_BATCHES, "N",
			 "migrate/dirty's batches (of --batch-ms) per run: the repetition must "
			 "outlast the migration (default 40)"),
		OPT_UINT("batch-ms", 0, &o->batch_ms, 10, 10000, "MS",
			 "schedule of one batch, migrate/dirty's dirty.batch_ms: the repetition "
			 "lasts --batches x this; raise it where a migration is slow (Xen under "
			 "emulation) (default 100)"),
		OPT_STR("guest-mem", 0, &o->guest_mem, "MIB", "guest RAM in MiB (default 128)"),
		OPT_DOUBLE("timeout", 0, &o->timeout_s, 1, 86400, "SECONDS",
			   "limit of each run (default 300)"),
		OPT_STR("image", 0, &o->image, "PATH", "guest image (as run's --image)"),
		OPT_STR("out", 'o', &o->out, "DIR", "parent directory of the run (default "
			"results)"),
		OPT_FLAG("no-cpu-lock", 0, &o->no_cpu_lock,
			 "measure even if another run holds a CPU (each child's run otherwise "
			 "takes its CPU lock)"),
		OPT_END(),
	};
	int npos, r = hvb_opt_parse("migrate", mig_usage, opts, argc, argv, &npos);

	if (r)
		return r > 0 ? 1 : -1;
	if (npos) {
		hvb_err("migrate: unexpected argument '%s'", argv[1]);
		return -1;
	}
	if (!o->runner_list) {
		hvb_err("migrate: give --runner (kvm, qemu-kvm, qemu-tcg, xen-pvh or xen-pv; see "
			"'hvbench migrate --help')");
		return -1;
	}
	return 0;
}

/* The kvm spec of the options that are not grid axes, checked once. */
static int check_spec(const struct mig_opts *o)
{
	struct hvb_mig_cfg m;
	char spec[160], err[256];

	snprintf(spec, sizeof(spec), "dirty=%s,rounds=%llu,after_ms=%llu", o->dirty,
		 (unsigned long long)o->rounds, (unsigned long long)o->after_ms);
	if (hvb_mig_cfg_parse(spec, &m, err, sizeof(err))) {
		hvb_err("migrate: %s", err);
		return -1;
	}
	return 0;
}

static int setup(struct mig_ctx *c)
{
	const struct mig_opts *o = c->o;
	char err[512];

	c->rate.name = "dirty-rate";
	c->wss.name = "wss";
	c->bw.name = "bandwidth";
	c->dt.name = "downtime";
	if (axis_parse(&c->rate, o->rates, 1, 16384,
		       " (migrate/dirty dirties at least 1 MiB/s: the lowest rate is the "
		       "nearly idle guest)") ||
	    axis_parse(&c->wss, o->wss, 1, 4096, "") ||
	    axis_parse(&c->bw, o->bw, 0, 1u << 20, " (0 = unlimited)") ||
	    axis_parse(&c->dt, o->downtime, 1, 3600000, ""))
		return -1;
	if (split_runners(c) || check_spec(o))
		return -1;
	/* An unavailable runner would fail every point: say so once, now. */
	if (hvb_cmd_runners_available(o->runner_list, o->image, o->guest_mem, err, sizeof(err))) {
		hvb_err("migrate: %s", err);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ one point */

struct mig_point {
	const char *runner;
	uint64_t rate, wss, bw, dt;
	char name[128]; /* <runner>.d<rate>.w<wss>.b<bw>.t<dt> */
};

/* The runner's migration switch for this point, and no other runner's. */
static void point_env(const struct mig_ctx *c, const struct mig_point *p)
{
	static const char *const qemu_keys[] = { "HVB_QEMU_MIGRATE_AT_MS", "HVB_QEMU_MIGRATE_BW_MIBS",
						 "HVB_QEMU_MIGRATE_DOWNTIME_MS",
						 "HVB_QEMU_MIGRATE_ROUNDS" };
	static const char *const xen_keys[] = { "HVB_XEN_MIGRATE_AT_MS", "HVB_XEN_MIGRATE_BW_MIBS" };
	char v[200];

	unsetenv("HVB_KVM_MIGRATE");
	for (size_t i = 0; i < sizeof(qemu_keys) / sizeof(qemu_keys[0]); i++)
		unsetenv(qemu_keys[i]);
	for (size_t i = 0; i < sizeof(xen_keys) / sizeof(xen_keys[0]); i++)
		unsetenv(xen_keys[i]);
	if (!strncmp(p->runner, "xen-", 4)) {
		/* libxl's pre-copy policy is fixed (runners/xen/README.md): no
		 * downtime target, no round limit to pass. */
		snprintf(v, sizeof(v), "%llu", (unsigned long long)c->o->after_ms);
		setenv(xen_keys[0], v, 1);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)p->bw);
		setenv(xen_keys[1], v, 1);
		return;
	}
	if (!strcmp(p->runner, "kvm")) {
		snprintf(v, sizeof(v), "dirty=%s,bw_mib=%llu,downtime_ms=%llu,rounds=%llu,after_ms=%llu",
			 c->o->dirty, (unsigned long long)p->bw, (unsigned long long)p->dt,
			 (unsigned long long)c->o->rounds, (unsigned long long)c->o->after_ms);
		setenv("HVB_KVM_MIGRATE", v, 1);
		return;
	}
	snprintf(v, sizeof(v), "%llu", (unsigned long long)c->o->after_ms);
	setenv(qemu_keys[0], v, 1);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)p->bw);
	setenv(qemu_keys[1], v, 1);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)p->dt);
	setenv(qemu_keys[2], v, 1);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)c->o->rounds);
	setenv(qemu_keys[3], v, 1);
}

static void point_meta(struct mig_ctx *c, const struct mig_point *p)
{
	char key[192], *names;

	snprintf(key, sizeof(key), "migrate.%s", p->name);
	hvb_sink_metaf(c->sink, key,
		       "runner=%s dirty.rate=%llu MiB/s dirty.wss_mib=%llu bandwidth=%llu MiB/s%s "
		       "downtime=%llu ms",
		       p->runner, (unsigned long long)p->rate, (unsigned long long)p->wss,
		       (unsigned long long)p->bw, p->bw ? "" : " (unlimited)",
		       (unsigned long long)p->dt);
	names = c->runner_names ? xasprintf("%s,%s", c->runner_names, p->name)
			       : xstrdup(p->name);
	free(c->runner_names);
	c->runner_names = names;
}

/* The last line the child said (its error, when it failed early), or "". */
static void last_line(const char *dir, char *buf, size_t len)
{
	char *path = xasprintf("%s/hvbench.out", dir), line[400];
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (line[0] != '\n' && line[0] != '\r') {
			line[strcspn(line, "\r\n")] = '\0';
			snprintf(buf, len, "%s", line);
		}
	if (f)
		fclose(f);
	free(path);
}

/* The point failed before it had rows of its own: one failed cell row. */
static void point_failed(struct mig_ctx *c, const struct mig_point *p, unsigned rep,
			 const char *why, const char *dir)
{
	char said[400], *note;

	last_line(dir, said, sizeof(said));
	note = xasprintf("rep %u: %s%s%s; see %s/hvbench.out", rep, why, said[0] ? ": " : "",
			 said, dir);

	hvb_sink_sample(c->sink, p->name,
			&(const struct hvb_sample_out){ .workload = HVB_MIGRATE_WORKLOAD,
							.rep = rep, .status = HVB_ST_FAILED,
							.note = note });
	free(note);
}

/* runner.<runner>.* of the child as runner.<point>.* (first rep only). */
static void copy_runner_meta(struct mig_ctx *c, const struct mig_point *p, const struct hvb_run *run)
{
	char *prefix = xasprintf("runner.%s.", p->runner);
	size_t pl = strlen(prefix);

	for (size_t i = 0; i < run->n_meta; i++)
		if (!strncmp(run->meta_keys[i], prefix, pl)) {
			char *key = xasprintf("runner.%s.%s", p->name, run->meta_keys[i] + pl);

			hvb_sink_meta(c->sink, key, run->meta_values[i]);
			free(key);
		}
	free(prefix);
}

/* Every row of the child's run under the point's runner, its rep 0 as rep. */
static unsigned copy_rows(struct mig_ctx *c, const struct mig_point *p, unsigned rep,
			  const struct hvb_run *run)
{
	unsigned failed = 0;

	for (size_t j = 0; j < run->n_samples; j++) {
		const struct hvb_sample_row *r = &run->samples[j];
		bool cell = !r->metric || !r->metric[0] || r->rep < 0;

		failed += r->status == HVB_ST_FAILED;
		if (cell && r->rep < 0) {
			/* A cell row without rep is once per (runner, workload):
			 * kept from the first rep, the others' logged. */
			if (rep == 0)
				hvb_sink_cell_status(c->sink, p->name, r->workload, r->status,
						     r->note);
			else
				hvb_sink_log(c->sink, p->name, "rep %u: %s %s: %s", rep, r->workload,
					     hvb_status_name(r->status), r->note ? r->note : "");
			continue;
		}
		hvb_sink_sample(c->sink, p->name,
				&(const struct hvb_sample_out){
					.workload = r->workload, .metric = r->metric,
					.unit = r->unit, .better = r->better,
					.rep = (unsigned)r->rep + rep, .value = r->value,
					.status = r->status, .note = r->note });
	}
	return failed;
}

/* The child's result into the sink; false when the point failed. */
static bool collect(struct mig_ctx *c, const struct mig_point *p, unsigned rep,
		    const struct hvb_cap_vm *vm)
{
	char *dir = hvb_cap_vm_run_dir(vm), err[512], outcome[96];
	struct hvb_run run;
	bool ok;

	hvb_cap_vm_outcome(vm, outcome, sizeof(outcome));
	if (!dir) {
		snprintf(err, sizeof(err), "the run %s and made no result directory", outcome);
		point_failed(c, p, rep, err, vm->dir);
		return false;
	}
	if (hvb_run_read(dir, true, &run, err, sizeof(err))) {
		point_failed(c, p, rep, err, vm->dir);
		free(dir);
		return false;
	}
	if (rep == 0)
		copy_runner_meta(c, p, &run);
	ok = !copy_rows(c, p, rep, &run) && WIFEXITED(vm->wait_status) &&
	     WEXITSTATUS(vm->wait_status) == 0;
	hvb_sink_log(c->sink, p->name, "rep %u: %s, its run %s", rep, outcome, dir);
	hvb_run_free(&run);
	free(dir);
	return ok;
}

static void child_args(const struct mig_opts *o, struct hvb_cap_child_args *a, const char *runner,
		       char *params)
{
	*a = (struct hvb_cap_child_args){ .runner = runner, .vcpus = 1,
					  .guest_mem = o->guest_mem, .image = o->image,
					  .probe_reps = 1, .params = params,
					  .timeout_s = o->timeout_s,
					  .no_cpu_lock = o->no_cpu_lock,
					  .batches = (unsigned)o->batches };
}

/* One repetition of a point: its child run, collected.  -EINTR on Ctrl-C. */
static int run_rep(struct mig_ctx *c, const struct mig_point *p, unsigned rep, unsigned no,
		   unsigned total)
{
	char *params = xasprintf("dirty.rate=%llu,dirty.wss_mib=%llu,dirty.batch_ms=%llu",
				 (unsigned long long)p->rate, (unsigned long long)p->wss,
				 (unsigned long long)c->o->batch_ms);
	char *label = xasprintf("migrate %u/%u: %s rep %u", no, total, p->name, rep);
	struct hvb_cap_vm vm = { .probe = true, .workload = HVB_MIGRATE_WORKLOAD };
	struct hvb_cap_step_run run = { .n = 1, .vms = &vm, .label = label };
	struct hvb_cap_child_args a;
	int e;

	vm.dir = xasprintf("%s/runs/%s/rep%u", hvb_sink_dir(c->sink), p->name, rep);
	fprintf(stderr, "hvbench: %s\n", label);
	point_env(c, p);
	child_args(c->o, &a, p->runner, params);
	e = hvb_cap_step_exec(&run, &a, no, c->o->timeout_s + 30, &mig_interrupted);
	if (run.interrupted) {
		snprintf(c->stopped_at, sizeof(c->stopped_at), "%s rep %u", p->name, rep);
		point_failed(c, p, rep, "interrupted (Ctrl-C) while measuring", vm.dir);
		e = -EINTR;
	} else if (e) {
		point_failed(c, p, rep, strerror(-e), vm.dir);
		c->points_failed++;
	} else if (run.timed_out) {
		point_failed(c, p, rep, "did not end within --timeout + 30 s: killed", vm.dir);
		c->points_failed++;
	} else if (!collect(c, p, rep, &vm)) {
		c->points_failed++;
		fprintf(stderr, "hvbench: migrate %s rep %u: failed (its rows say why)\n", p->name,
			rep);
	}
	c->points_run++;
	hvb_sink_flush(c->sink);
	hvb_sink_write_meta(c->sink);
	free(vm.dir);
	free(params);
	free(label);
	return e == -EINTR ? e : 0;
}

/* Every runner x point x rep, in that order; stops on Ctrl-C only. */
static int run_grid(struct mig_ctx *c)
{
	unsigned total = c->n_runners * c->rate.n * c->wss.n * c->bw.n * c->dt.n *
			 (unsigned)c->o->reps, no = 0;

	for (unsigned r = 0; r < c->n_runners; r++)
		for (unsigned i = 0; i < c->rate.n; i++)
			for (unsigned j = 0; j < c->wss.n; j++)
				for (unsigned k = 0; k < c->bw.n; k++)
					for (unsigned l = 0; l < c->dt.n; l++) {
						struct mig_point p = {
							.runner = c->runners[r], .rate = c->rate.v[i],
							.wss = c->wss.v[j], .bw = c->bw.v[k],
							.dt = c->dt.v[l] };

						snprintf(p.name, sizeof(p.name),
							 "%s.d%llu.w%llu.b%llu.t%llu", p.runner,
							 (unsigned long long)p.rate,
							 (unsigned long long)p.wss,
							 (unsigned long long)p.bw,
							 (unsigned long long)p.dt);
						point_meta(c, &p);
						hvb_sink_meta(c->sink, "runners", c->runner_names);
						for (unsigned rep = 0; rep < c->o->reps; rep++)
							if (mig_interrupted ||
							    run_rep(c, &p, rep, ++no, total))
								return -EINTR;
					}
	return 0;
}

/* ------------------------------------------------------------ the run */

static char *axis_str(const struct mig_axis *a)
{
	char *s = xstrdup("");

	for (unsigned i = 0; i < a->n; i++) {
		char *t = xasprintf("%s%s%llu", s, i ? "," : "", (unsigned long long)a->v[i]);
		free(s);
		s = t;
	}
	return s;
}

static void meta_start(struct mig_ctx *c, int argc, char **argv)
{
	const struct mig_opts *o = c->o;
	char *cmd = hvb_cmd_line(argc, argv), *ax[4];
	const struct mig_axis *axes[4] = { &c->rate, &c->wss, &c->bw, &c->dt };

	for (int i = 0; i < 4; i++)
		ax[i] = axis_str(axes[i]);
	hvb_cmd_meta_utc(c->sink, "started_utc");
	hvb_meta_host(c->sink);
	hvb_sink_meta(c->sink, "command_line", cmd);
	hvb_sink_meta(c->sink, "cpu_lock", o->no_cpu_lock ? "off (--no-cpu-lock)"
							  : "each child run takes its own");
	hvb_sink_meta(c->sink, "workloads", HVB_MIGRATE_WORKLOAD);
	hvb_sink_metaf(c->sink, "reps", "%llu", (unsigned long long)o->reps);
	hvb_sink_meta(c->sink, "quick", "0");
	hvb_sink_meta(c->sink, "vcpus", "1");
	hvb_sink_metaf(c->sink, "batches", "%llu", (unsigned long long)o->batches);
	hvb_sink_metaf(c->sink, "migrate.batch_ms", "%llu (dirty.batch_ms: a batch's schedule)",
		       (unsigned long long)o->batch_ms);
	hvb_sink_metaf(c->sink, "tsc_khz", "%llu", (unsigned long long)hvb_tsc_khz_measure(50));
	hvb_sink_meta(c->sink, "order", "migration grid: runner x dirty rate x wss x bandwidth x "
					"downtime, each rep its own run");
	hvb_sink_metaf(c->sink, "migrate.grid",
		       "runners=%s dirty.rate=%s MiB/s wss=%s MiB bandwidth=%s MiB/s (0 = "
		       "unlimited) downtime=%s ms rounds=%llu after_ms=%llu dirty=%s",
		       o->runner_list, ax[0], ax[1], ax[2], ax[3], (unsigned long long)o->rounds,
		       (unsigned long long)o->after_ms, o->dirty);
	hvb_sink_meta(c->sink, "migrate.runner_name",
		      "<runner>.d<dirty MiB/s>.w<wss MiB>.b<bandwidth MiB/s, 0 = unlimited>."
		      "t<downtime target ms>");
	hvb_sink_meta(c->sink, "migrate.runs_dir", "runs/<point>/rep<k>/<run-id>: each child's "
						   "own run");
	for (int i = 0; i < 4; i++)
		free(ax[i]);
	free(cmd);
	hvb_sink_write_meta(c->sink);
}

static int finish(struct mig_ctx *c)
{
	char msg[512], *dir = xstrdup(hvb_sink_dir(c->sink));
	int fe;

	hvb_sink_metaf(c->sink, "migrate.points_failed", "%u of %u runs", c->points_failed,
		       c->points_run);
	hvb_cmd_meta_utc(c->sink, "finished_utc");
	if (c->stopped_at[0])
		hvb_sink_meta(c->sink, "interrupted_at", c->stopped_at);
	fe = hvb_sink_finish(c->sink, c->stopped_at[0] ? "interrupted" : "complete", msg,
			     sizeof(msg));
	if (fe)
		hvb_err("results: %s; free space or choose another --out, and run again", msg);
	else
		printf("results: %s%s\nmigrate: %u run(s), %u failed\n", dir,
		       c->stopped_at[0] ? " (interrupted)" : "", c->points_run, c->points_failed);
	free(dir);
	if (fe)
		return HVB_EXIT_FAILURE;
	if (c->stopped_at[0])
		return 128 + (mig_interrupted ? mig_interrupted : SIGINT);
	return c->points_failed ? HVB_EXIT_FAILURE : HVB_EXIT_SUCCESS;
}

static void free_runners(struct mig_ctx *c)
{
	for (unsigned i = 0; i < c->n_runners; i++)
		free((char *)c->runners[i]);
	free(c->runner_names);
}

static int migrate_main(int argc, char **argv)
{
	struct mig_opts o = { .rates = "8,64", .wss = "16", .bw = "0", .downtime = "30",
			      .reps = 2, .batches = 40, .batch_ms = 100, .rounds = 10, .after_ms = 300,
			      .dirty = "log", .guest_mem = "128", .timeout_s = 300,
			      .out = "results" };
	struct mig_ctx c = { .o = &o };
	char run_id[160];
	int r;

	if ((r = parse(argc, argv, &o)))
		return r > 0 ? HVB_EXIT_SUCCESS : HVB_EXIT_USAGE;
	if (setup(&c)) {
		free_runners(&c);
		return HVB_EXIT_USAGE;
	}
	hvb_cmd_signals(on_signal);
	hvb_run_id_make(run_id, sizeof(run_id));
	if (hvb_cmd_sink_open(&c.sink, o.out, run_id)) {
		free_runners(&c);
		return HVB_EXIT_FAILURE;
	}
	meta_start(&c, argc, argv);
	fprintf(stderr, "hvbench: migrate %s: runners %s\n", hvb_sink_run_id(c.sink),
		o.runner_list);
	run_grid(&c);
	r = finish(&c);
	free_runners(&c);
	return r;
}

static const struct hvb_cmd migrate_cmd = {
	.name = "migrate",
	.summary = "live migration cost over a grid of dirty rate, working set, bandwidth, "
		   "downtime",
	.main = migrate_main,
	.order = 8,
};
HVB_CMD(migrate_cmd);
