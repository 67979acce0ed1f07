/*
 * hvbench run: the measurement matrix.
 *
 * Repetitions are interleaved across runners, and the runner order reverses
 * every repetition (A B, B A, A B, ...), so slow drift on a shared host
 * spreads over all runners instead of looking like a difference between them.
 * Each (repetition, runner) is one job: one native child / one guest boot
 * running every selected workload once.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "caps_probe.h"
#include "cmd.h"
#include "config.h"
#include "cpulock.h"
#include "disk.h"
#include "export.h"
#include "guest.h"
#include "netns.h"
#include "harness.h"
#include "matrix.h"
#include "meta.h"
#include "opt.h"
#include "placement.h"
#include "progress.h"
#include "results.h"
#include "summary.h"
#include "topology.h"
#include "tsc.h"
#include "util.h"

/* The stop flag every job points at (struct hvb_job.stop): written by the
 * signal handler only. */
static volatile int hvb_interrupted;

static void on_signal(int sig)
{
	hvb_interrupted = sig;
}

struct run_opts {
	const char *runners, *workloads, *out, *latest, *image, *page_size, *guest_mem;
	const char *disk, *disk_size; /* --disk PATH, --disk-size SIZE */
	const char *cpus;  /* --cpus LIST */
	struct hvb_opt_list params; /* --param KEY=VALUE, repeatable */
	uint64_t vcpus;    /* --vcpus N */
	struct hvb_placement place; /* --vcpus / --cpus / --cpu, resolved once */
	unsigned page_kib; /* HVB_PAGE_4K or HVB_PAGE_2M, from page_size */
	uint64_t reps, batches, goal_us, cpu; /* cpu: UINT64_MAX = default */
	double timeout_s;
	bool quick, quiet, no_cpu_lock;
	const char *format; /* --format text|json */
};

static void utc_now(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *join(const char *const *v, size_t n, const char *sep)
{
	char *s = xstrdup("");

	for (size_t i = 0; i < n; i++) {
		char *t = xasprintf("%s%s%s", s, i ? sep : "", v[i]);
		free(s);
		s = t;
	}
	return s;
}

static char *command_line(int argc, char **argv)
{
	char *s = xstrdup("hvbench");

	for (int i = 0; i < argc; i++) {
		char *t = xasprintf("%s %s", s, argv[i]);
		free(s);
		s = t;
	}
	return s;
}

/* Which metric stands for each workload (workload.h decides, readers obey). */
static void meta_primary(struct hvb_sink *sink, const struct hvb_selection *sel)
{
	for (size_t i = 0; i < sel->n_workloads; i++) {
		const struct hvb_workload *w = hvb_workload_find(sel->workloads[i]);
		char *key = xasprintf("primary.%s", sel->workloads[i]);

		hvb_sink_meta(sink, key, w ? hvb_kind_primary(w->kind) : "ns_per_op");
		free(key);
	}
	hvb_sink_meta(sink, "primary." HVB_BOOT_WORKLOAD, HVB_BOOT_METRIC);
}

/* param.<key>: the value every selected workload's parameter had (the
 * default where --param did not set it). */
static void meta_params(struct hvb_sink *sink, const struct hvb_params *params)
{
	for (unsigned i = 0; i < params->n; i++) {
		char *key = xasprintf("param.%s", params->v[i].key);

		hvb_sink_metaf(sink, key, "%llu", (unsigned long long)params->v[i].value);
		free(key);
	}
}

static void meta_matrix(struct hvb_sink *sink, const struct hvb_selection *sel,
			const struct run_opts *o, const struct hvb_config *cfg, const char *cmdline,
			uint64_t tsc_khz)
{
	const char **names = xcalloc(sel->n_runners, sizeof(char *));
	char *s;

	for (size_t i = 0; i < sel->n_runners; i++)
		names[i] = sel->runners[i]->name;
	s = join(names, sel->n_runners, ",");
	hvb_sink_meta(sink, "runners", s);
	free(s);
	free(names);
	s = join(sel->workloads, sel->n_workloads, ",");
	hvb_sink_meta(sink, "workloads", s);
	free(s);
	hvb_sink_metaf(sink, "reps", "%llu", (unsigned long long)o->reps);
	hvb_sink_meta(sink, "quick", o->quick ? "1" : "0");
	hvb_sink_metaf(sink, "batches", "%llu", (unsigned long long)o->batches);
	hvb_sink_metaf(sink, "goal_us", "%llu", (unsigned long long)o->goal_us);
	hvb_sink_meta(sink, "page_size", o->page_kib == HVB_PAGE_2M ? "2m" : "4k");
	hvb_meta_placement(sink, o->place.vcpus, o->place.cpus, o->place.host_cpus,
			   o->place.overcommit);
	hvb_sink_meta(sink, "order", "interleaved: runner order reverses every repetition");
	hvb_sink_meta(sink, "command_line", cmdline);
	meta_primary(sink, sel);
	meta_params(sink, &cfg->params);
	hvb_sink_metaf(sink, "tsc_khz", "%llu", (unsigned long long)tsc_khz);
	for (size_t i = 0; i < sel->n_runners; i++) {
		const struct hvb_runner *r = sel->runners[i];
		const struct hvb_out out = { .sink = sink, .runner = r->name };

		if (r->emulated)
			hvb_out_meta(&out, "emulated", "yes: functional evidence only, not performance");
		if (r->describe)
			r->describe(r, cfg, &out);
	}
}

static char *job_cmdline(const struct hvb_selection *sel, const struct run_opts *o,
			 const struct hvb_config *cfg, unsigned rep, uint64_t tsc_khz)
{
	char *w = join(sel->workloads, sel->n_workloads, ",");
	char *params = hvb_param_words(&cfg->params);
	char *s = xasprintf("w=%s rep=%u reps=1 goal_us=%llu batches=%llu tsc_khz=%llu quick=%d",
			    w, rep, (unsigned long long)o->goal_us, (unsigned long long)o->batches,
			    (unsigned long long)tsc_khz, o->quick ? 1 : 0);
	free(w);
	if (o->place.vcpus > 1) { /* absent = 1: a one-CPU run's words stay as they were */
		char *t = xasprintf("%s vcpus=%u", s, o->place.vcpus);

		free(s);
		s = t;
	}
	if (params[0]) { /* no parameters: the words stay as they were */
		char *t = xasprintf("%s %s", s, params);

		free(s);
		s = t;
	}
	free(params);
	return s;
}

/*
 * Bytes the runners add to the job's words (env=, pt=, dev=, caps=,
 * mmio_user=, net.*, virtio_mmio.device=, smp=, disk=, cpus=): about 250
 * at most as measured from their code; the rest of a runner's limit is the
 * job's.
 */
#define ENV_WORDS_RESERVE 300

/* The longest command line a runner's guest receives whole: a Xen PV
 * guest gets it in start_info.cmd_line, 1024 bytes (Xen's
 * MAX_GUEST_CMDLINE; libxc truncates a longer one); every other guest and
 * the native harness take HVB_CMDLINE_MAX (hv/pvh.c refuses more). */
static size_t runner_cmdline_max(const struct hvb_runner *r)
{
	return strcmp(r->name, "xen-pv") ? HVB_CMDLINE_MAX : 1024;
}

/* The job's words (the last repetition's: the longest) must fit every
 * selected runner's limit with the runners' own words: a truncated or
 * refused command line would fail or, worse, mislabel every cell. */
static int check_cmdline_fits(const struct hvb_selection *sel, const struct run_opts *o,
			      const struct hvb_config *cfg)
{
	char *c = job_cmdline(sel, o, cfg, (unsigned)o->reps, UINT64_MAX);
	size_t n = strlen(c);

	free(c);
	for (size_t i = 0; i < sel->n_runners; i++) {
		size_t max = runner_cmdline_max(sel->runners[i]);

		if (n + ENV_WORDS_RESERVE < max)
			continue;
		hvb_err("run: the guest command line would be %zu bytes, more than the %zu that "
			"runner %s takes with its own words (%d kept for them): select fewer "
			"workloads or parameters, or run that runner on its own selection",
			n, max - ENV_WORDS_RESERVE, sel->runners[i]->name, ENV_WORDS_RESERVE);
		return -1;
	}
	return 0;
}

/* A runner that cannot give workloads 2 MiB pages (Xen PV) is not run with
 * --page-size 2m: its cells say why instead of measuring something else. */
static void refuse_page_size(const struct hvb_out *out, const struct hvb_selection *sel)
{
	char *why = xasprintf("--page-size 2m cannot be honoured by %s: it maps 4 KiB pages "
			      "only (Xen PV has no superpages); run it with --page-size 4k",
			      out->runner);

	hvb_warn("%s", why);
	hvb_out_meta(out, "page_size", "unsupported: 2m asked, this runner has 4 KiB pages only");
	hvb_out_log(out, "%s", why);
	for (size_t i = 0; i < sel->n_workloads; i++)
		hvb_out_status(out, sel->workloads[i], HVB_ST_UNSUPPORTED, why);
	free(why);
}

/* The 1-minute load average of the host ("?" if unreadable). */
static void loadavg(char *buf, size_t len)
{
	char line[128];

	if (hvb_read_file("/proc/loadavg", line, sizeof(line)))
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%.*s", (int)strcspn(line, " "), line);
}

/* What every job of the run shares: resolved once. */
struct run_ctx {
	const struct hvb_selection *sel;
	const struct run_opts *o;
	const struct hvb_config *cfg;
	struct hvb_caps_cache *caps; /* one per selected runner */
	uint64_t tsc_khz;
	struct hvb_sink *sink;
};

static int run_job(const struct run_ctx *ctx, size_t runner, unsigned rep, const char *cmdline)
{
	const struct hvb_selection *sel = ctx->sel;
	const struct run_opts *o = ctx->o;
	const struct hvb_runner *r = sel->runners[runner];
	const struct hvb_out out = { .sink = ctx->sink, .runner = r->name };
	char load[2][16], key[96];
	struct hvb_job job = {
		.workloads = sel->workloads,
		.n_workloads = sel->n_workloads,
		.rep = rep,
		.reps = 1,
		.total_reps = (unsigned)o->reps,
		.quick = o->quick,
		.goal_us = o->goal_us,
		.batches = (unsigned)o->batches,
		.tsc_khz = ctx->tsc_khz,
		.cpu = o->place.cpus[0],
		.vcpus = o->place.vcpus,
		.timeout_s = o->timeout_s,
		.page_kib = o->page_kib,
		.cmdline = cmdline,
		.cfg = ctx->cfg,
		.caps = &ctx->caps[runner],
		.stop = &hvb_interrupted,
		.progress = hvb_progress_cell,
	};
	int e;

	memcpy(job.cpus, o->place.cpus, sizeof(job.cpus));
	if (o->page_kib != HVB_PAGE_4K && r->pages_4k_only) {
		if (rep == 0)
			refuse_page_size(&out, sel);
		return 0;
	}
	loadavg(load[0], sizeof(load[0]));
	e = r->run(r, &job, &out);
	loadavg(load[1], sizeof(load[1]));
	/* A busy host moves numbers: the report flags repetitions it ran on. */
	snprintf(key, sizeof(key), "load.%s.%u", r->name, rep);
	hvb_sink_metaf(ctx->sink, key, "%s %s", load[0], load[1]);

	hvb_sink_flush(ctx->sink);
	return e;
}

/* The runner could not start the job: every cell of it failed, with why. */
static void fail_job(const struct run_ctx *ctx, const struct hvb_runner *r, unsigned rep, int e)
{
	const struct hvb_out out = { .sink = ctx->sink, .runner = r->name };
	char *why = xasprintf("runner %s could not run repetition %u: %s", r->name, rep,
			      strerror(-e));

	hvb_warn("%s", why);
	hvb_out_log(&out, "%s", why);
	for (size_t i = 0; i < ctx->sel->n_workloads; i++)
		hvb_out_status(&out, ctx->sel->workloads[i], HVB_ST_FAILED, why);
	free(why);
}

/* Not interrupted, and the results are still being written: a failed write
 * (disk full, the directory gone, ...) stops the run (finish_sink says why). */
static bool go_on(const struct run_ctx *ctx, const char *stopped_at)
{
	return !stopped_at[0] && !hvb_sink_error(ctx->sink, NULL, 0);
}

/* Run every (rep, runner) job; returns the number of jobs that failed as a
 * whole.  On interruption, stopped_at says where. */
static int run_matrix(const struct run_ctx *ctx, char *stopped_at, size_t len)
{
	const struct hvb_selection *sel = ctx->sel;
	int failed = 0;

	for (unsigned rep = 0; rep < ctx->o->reps && go_on(ctx, stopped_at); rep++) {
		char *cmdline = job_cmdline(sel, ctx->o, ctx->cfg, rep, ctx->tsc_khz);
		for (size_t k = 0; k < sel->n_runners && go_on(ctx, stopped_at); k++) {
			/* A B, B A, A B, ...: drift spreads over every runner. */
			size_t i = rep % 2 ? sel->n_runners - 1 - k : k;
			const struct hvb_runner *r = sel->runners[i];
			int e = hvb_interrupted ? -EINTR : run_job(ctx, i, rep, cmdline);

			if (e == -EINTR || hvb_interrupted) {
				snprintf(stopped_at, len, "rep %u, runner %s", rep, r->name);
			} else if (e) {
				fail_job(ctx, r, rep, e);
				failed++;
			}
		}
		free(cmdline);
	}
	hvb_progress_end();
	return failed;
}

/* Print the summary table from the written files (which also checks that
 * what was written reads back).  0, or 1 if a cell failed or reading failed. */
static int print_summary(const char *dir)
{
	struct hvb_run run;
	char err[512];
	unsigned long failed;

	if (hvb_run_read(dir, false, &run, err, sizeof(err))) {
		hvb_err("cannot read back the results: %s", err);
		return 1;
	}
	failed = hvb_summary_print(stdout, &run);
	hvb_run_free(&run);
	return failed ? 1 : 0;
}

/* --format json: standard output is for the document alone, so everything
 * else this process and its children (QEMU) print goes to standard error
 * from here on.  The saved standard output, or -1. */
static int json_stdout(void)
{
	int fd;

	fflush(stdout);
	fd = dup(STDOUT_FILENO);
	if (fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		hvb_err("run: --format json: cannot redirect standard output: %s",
			strerror(errno));
		return -1;
	}
	return fd;
}

/* The run document on the saved standard output.  0, or 1. */
static int print_json(int fd, const char *dir, const char *run_id)
{
	FILE *f = fdopen(fd, "w");
	int r;

	if (!f) {
		hvb_err("run: --format json: %s", strerror(errno));
		return 1;
	}
	r = hvb_export_run_dir(f, dir, run_id);
	if (fclose(f)) {
		hvb_err("run: cannot write the JSON document: %s", strerror(errno));
		return 1;
	}
	return r ? 1 : 0;
}

/* "4k" or "2m" (either case) to KiB; 0 for anything else. */
static unsigned parse_page_size(const char *s)
{
	if (!strcasecmp(s, "4k"))
		return HVB_PAGE_4K;
	if (!strcasecmp(s, "2m"))
		return HVB_PAGE_2M;
	return 0;
}

/* --cpu must name a CPU this process may run on (online, in its cpuset). */
static int check_cpu(uint64_t cpu)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set)) {
		hvb_err("run: --cpu %llu: cannot read this process's CPU set: %s",
			(unsigned long long)cpu, strerror(errno));
		return -1;
	}
	if (cpu >= CPU_SETSIZE || !CPU_ISSET((int)cpu, &set)) {
		hvb_err("run: --cpu %llu: no such CPU available to this process (it may use %d "
			"CPUs; see 'hvbench info', Topology)",
			(unsigned long long)cpu, CPU_COUNT(&set));
		return -1;
	}
	return 0;
}

/* --vcpus, --cpus and --cpu into o->place (once: every job gets the same
 * placement).  --cpus overrides the default of --cpu; both given, its
 * first CPU must be --cpu. */
static int resolve_placement(struct run_opts *o)
{
	cpu_set_t set;
	char err[256];
	int cpu0 = o->cpu == UINT64_MAX ? hvb_topo_default_pu() : (int)o->cpu;

	if (sched_getaffinity(0, sizeof(set), &set)) {
		hvb_err("run: cannot read this process's CPU set: %s", strerror(errno));
		return -1;
	}
	if (hvb_placement_resolve(&o->place, (unsigned)o->vcpus, cpu0, o->cpus, &set, err,
				  sizeof(err))) {
		hvb_err("run: %s", err);
		return -1;
	}
	if (o->cpus && o->cpu != UINT64_MAX && o->place.cpus[0] != (int)o->cpu) {
		hvb_err("run: --cpus starts with CPU %d but --cpu is %llu: vCPU 0 runs on one "
			"CPU (drop --cpu or put it first in --cpus)",
			o->place.cpus[0], (unsigned long long)o->cpu);
		return -1;
	}
	return 0;
}

/* A run that takes no lock still says when it shares a locked CPU. */
static void warn_held(const struct run_opts *o, bool pinned)
{
	char dir[PATH_MAX], err[512], held[512];

	if (!hvb_cpulock_dir(dir, sizeof(dir), err, sizeof(err)) &&
	    hvb_cpulock_held(dir, pinned ? o->place.cpus : NULL, pinned ? o->place.vcpus : 0,
			     held, sizeof(held)) > 0)
		hvb_warn("CPU(s) %s locked by other runs (%s): this run measures with them%s", held,
			 dir, pinned ? " (--no-cpu-lock)" : " (unpinned: it shares every CPU)");
}

/*
 * The run's CPUs, locked for its life (probes/cpulock.h) before its first job
 * and before its disk is filled, so that a refused run leaves nothing
 * behind.  Unpinned (no CPU known) or --no-cpu-lock: nothing is taken, a
 * held lock is warned about.  0 (desc: the cpu_lock meta value) or the exit
 * status to stop with: 2 when a CPU is held.
 */
static int lock_cpus(const struct run_opts *o, const char *cmdline, const char *run_id,
		     struct hvb_cpulock *lock, char *desc, size_t len)
{
	bool pinned = o->place.cpus[0] >= 0;
	char err[2048];
	int r;

	lock->n = 0;
	if (!pinned || o->no_cpu_lock) {
		snprintf(desc, len, "%s", pinned ? "off (--no-cpu-lock)"
						 : "none (unpinned: no CPU known, shares every CPU)");
		warn_held(o, pinned);
		return 0;
	}
	struct hvb_cpulock_who who = { .command = cmdline,
				       .run_dir = xasprintf("%s/%s", o->out, run_id) };
	r = hvb_cpulock_take(lock, o->place.cpus, o->place.vcpus, &who, false, err, sizeof(err));
	free((char *)who.run_dir);
	if (r) {
		hvb_err("run: %s%s", err, r == -EBUSY ? "; " HVB_CPULOCK_HINT : "");
		return r == -EBUSY ? HVB_EXIT_USAGE : HVB_EXIT_FAILURE;
	}
	hvb_cpulock_describe(lock, desc, len);
	return 0;
}

static const char run_usage[] = "run [options]\n\n"
				"Run workloads under runners and write a result directory.";

static int check_out_dir(const char *out)
{
	if (access(out, F_OK) == 0 && access(out, W_OK) != 0) {
		hvb_err("cannot write to '%s': %s (choose another directory with --out)", out,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int open_sink(const struct run_opts *o, const char *run_id, struct hvb_sink **sink)
{
	int r = hvb_sink_open(sink, o->out, run_id);

	if (r)
		hvb_err("cannot create the result directory %s/%s: %s (choose another with --out)",
			o->out, run_id, strerror(-r));
	return r;
}

/* What to do about a failed write to the results. */
static const char *write_hint(int e)
{
	switch (e) {
	case -ENOSPC:
	case -EDQUOT:
	case -EFBIG:
		return "free space or choose another --out, and run again";
	case -EROFS:
		return "remount it read-write or choose another --out, and run again";
	case -ENOENT:
		return "leave the run directory in place (or choose another --out) and run again";
	default:
		return "check that file system or choose another --out, and run again";
	}
}

/* Close the run; if a write failed, say what, what is left and what to do.
 * 0 or -errno. */
static int finish_sink(struct hvb_sink *sink, const char *status)
{
	char msg[1024];
	int r = hvb_sink_finish(sink, status, msg, sizeof(msg));

	if (r)
		hvb_err("results: %s; %s", msg, write_hint(r));
	return r;
}

/* Point the symlink `link` at dir: replaced in one rename, so a reader never
 * finds it missing; anything there that is not a symlink is left alone. */
static void point_latest(const char *link, const char *dir)
{
	char *abs = realpath(dir, NULL), *tmp;
	struct stat st;

	if (!abs)
		return;
	if (lstat(link, &st) == 0 && !S_ISLNK(st.st_mode)) {
		hvb_warn("--latest: %s exists and is not a symlink: left alone (choose another "
			 "path)",
			 link);
		free(abs);
		return;
	}
	tmp = xasprintf("%s.tmp-%d", link, (int)getpid());
	unlink(tmp);
	if (symlink(abs, tmp) || rename(tmp, link)) {
		hvb_warn("--latest: cannot create the link %s: %s", link, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	free(abs);
}

/* Does a selected workload use the run's disk? */
static bool selection_needs_disk(const struct hvb_selection *sel)
{
	for (size_t i = 0; i < sel->n_workloads; i++) {
		const struct hvb_workload *w = hvb_workload_find(sel->workloads[i]);

		if (w && (w->needs & HVB_CAP_BLK))
			return true;
	}
	return false;
}

static void say_leftover(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "hvbench: %s\n", msg);
}

/*
 * The run's disk, made before the result directory so that a --disk that
 * cannot serve leaves no run behind.  A killed run's leftover disk in --out
 * is removed first, whatever this run selects.  Returns 0 (*have says
 * whether there is a disk) or the command's exit status.
 */
static int prepare_disk(const struct run_opts *o, const struct hvb_selection *sel,
			const char *run_id, struct hvb_disk *disk, bool *have)
{
	uint64_t bytes = HVB_DISK_DEFAULT_BYTES;
	char err[600];
	int r;

	*have = false;
	hvb_disk_clean_leftovers(o->out, say_leftover, NULL);
	/* A killed run's network namespaces (net/ workloads), whatever this
	 * run selects: their owner's pid is gone (runners/common/netns.h). */
	hvb_netns_cleanup_stale(say_leftover, NULL);
	if (o->disk_size && hvb_disk_parse_size(o->disk_size, &bytes, err, sizeof(err))) {
		hvb_err("run: %s", err);
		return HVB_EXIT_USAGE;
	}
	if (!selection_needs_disk(sel)) {
		if (o->disk || o->disk_size)
			hvb_warn("--disk/--disk-size: no selected workload uses a disk (io/*): "
				 "ignored");
		return 0;
	}
	if (o->disk) {
		r = hvb_disk_use(disk, o->disk, o->disk_size ? bytes : HVB_DISK_MIN_BYTES, err,
				 sizeof(err));
		if (r)
			hvb_err("run: %s", err);
		*have = !r;
		return r ? HVB_EXIT_USAGE : 0;
	}
	if ((r = hvb_mkdir_p(o->out))) {
		hvb_err("cannot create %s for the run's disk: %s (choose another --out)", o->out,
			strerror(-r));
		return HVB_EXIT_FAILURE;
	}
	fprintf(stderr, "hvbench: filling the run's disk (%llu MiB) ...\n",
		(unsigned long long)(bytes >> 20));
	r = hvb_disk_create(disk, o->out, run_id, bytes, &hvb_interrupted, err, sizeof(err));
	if (r == -EINTR) {
		hvb_err("interrupted while filling the run's disk (removed)");
		return 128 + hvb_interrupted;
	}
	if (r) {
		hvb_err("run: %s", err);
		return HVB_EXIT_FAILURE;
	}
	*have = true;
	return 0;
}

static int run_main(int argc, char **argv)
{
	/* reps, batches, goal_us: 0 = not given (the defaults depend on --quick). */
	struct run_opts o = {
		.out = "results", .timeout_s = 600, .cpu = UINT64_MAX, .page_size = "4k",
		.vcpus = 1, .format = "text",
	};
	const struct hvb_opt opts[] = {
		OPT_STR("runner", 'r', &o.runners, "LIST",
			"runners, comma-separated (default: every available default runner; "
			"'all': every available one; variants for net/: kvm-vhost, kvm-loop, "
			"qemu-kvm-vhost; `hvbench list`)"),
		OPT_STR("workload", 'w', &o.workloads, "GLOBS",
			"workloads, comma-separated globs, e.g. 'micro/*,mem/chase-*' (default: all)"),
		OPT_UINT("reps", 'n', &o.reps, 1, 1000, "N", "repetitions per cell (default 5)"),
		OPT_STR("out", 'o', &o.out, "DIR", "parent directory of the run (default results)"),
		OPT_FLAG("quick", 'q', &o.quick,
			 "smoke run: smaller working sets; unless given, 2 repetitions, 5 batches, "
			 "2000 us goals"),
		OPT_UINT("batches", 0, &o.batches, 1, HVB_MAX_BATCHES, "N",
			 "timed batches per repetition (default 10)"),
		OPT_UINT("goal-us", 0, &o.goal_us, 10, 10000000, "US",
			 "calibration goal per batch in microseconds (default 10000)"),
		OPT_UINT("cpu", 0, &o.cpu, 0, 4095, "N",
			 "pin workloads / vCPU 0 to CPU N (default: the last CPU)"),
		OPT_UINT("vcpus", 0, &o.vcpus, 1, HVB_MAX_VCPUS, "N",
			 "CPUs of each guest (vCPUs) and native worker threads, 1-8 (default 1); "
			 "smp workloads (mem/stream-*, cpu/*) then also run on all of them at "
			 "once (<metric>.smpN)"),
		OPT_STR("cpus", 0, &o.cpus, "LIST",
			"host CPU of each vCPU / worker, comma-separated, one per --vcpus, "
			"e.g. 0,1 (default: round robin from --cpu over this process's CPUs; "
			"more vCPUs than CPUs is allowed and recorded as overcommit)"),
		OPT_FLAG("no-cpu-lock", 0, &o.no_cpu_lock,
			 "measure even if another run holds one of this run's CPUs (each host "
			 "CPU is otherwise locked for the run's life, and a run whose CPU is "
			 "held refuses; meta.csv cpu_lock says which)"),
		OPT_DOUBLE("timeout", 0, &o.timeout_s, 1, 86400, "SECONDS",
			   "limit for one job: one runner, one repetition (default 600)"),
		OPT_STR("page-size", 0, &o.page_size, "4k|2m",
			"page size of workload memory for every runner: natively madvise, in "
			"a guest its page tables and host backing (default 4k: every runner, "
			"Xen PV too, can honour it)"),
		OPT_STR("guest-mem", 0, &o.guest_mem, "MIB",
			"guest RAM of every VM runner in MiB, 16-3072 (default: "
			"$HVB_GUEST_MEM_MIB, else 1024); a working set that does not fit is "
			"skipped"),
		OPT_STR("disk", 0, &o.disk, "PATH",
			"io/ workloads: use this existing file or block device as the run's "
			"disk (never deleted; refused if read-only, not a multiple of 4K or "
			"smaller than --disk-size or 16 MiB); default: a file the run "
			"creates in --out, fills and removes"),
		OPT_STR("disk-size", 0, &o.disk_size, "SIZE",
			"size of the disk the run creates, e.g. 256M, 1G (default 256M; "
			"16M-1T, a multiple of 4K)"),
		OPT_LIST("param", 0, &o.params, "KEY=VALUE",
			 "a workload parameter, repeatable, KEY <workload>.<name> with the "
			 "workload's name after its family, e.g. open-loop.rate=20000 "
			 "(`hvbench list` shows each workload's parameters, ranges and "
			 "defaults; every value used is in meta.csv as param.KEY)"),
		OPT_STR("format", 0, &o.format, "text|json",
			"text: the summary table on standard output (default); json: one "
			"JSON document (hvbench-run/1, results/FORMAT.md) on standard output "
			"at the end, everything else on standard error"),
		OPT_STR("latest", 0, &o.latest, "LINK",
			"also point the symlink LINK at the run directory"),
		OPT_STR("image", 0, &o.image, "PATH",
			"guest image for runners that boot one (default: $HVB_GUEST_IMAGE, else "
			"guest/hvbench-guest.elf next to hvbench, else (installed) "
			"../share/hvbench/guest/hvbench-guest.elf from it)"),
		OPT_END(),
	};
	struct hvb_selection sel = { 0 };
	struct hvb_config cfg;
	struct run_ctx ctx;
	struct hvb_sink *sink = NULL;
	struct hvb_disk disk = { .lock_fd = -1 };
	struct hvb_cpulock cpu_lock;
	bool have_disk;
	char err[512], lock_desc[2048], stopped_at[128] = "", started[32], finished[32], *cmdline;
	char run_id[160];
	uint64_t tsc_khz;
	int npos, r, failed_jobs, status = HVB_EXIT_SUCCESS, json_fd = -1;

	r = hvb_opt_parse("run", run_usage, opts, argc, argv, &npos);
	if (r)
		return r > 0 ? HVB_EXIT_SUCCESS : HVB_EXIT_USAGE;
	if (npos) {
		hvb_err("run: unexpected argument '%s' (workloads go in --workload)", argv[1]);
		return HVB_EXIT_USAGE;
	}
	if (strcmp(o.format, "text") && strcmp(o.format, "json")) {
		hvb_err("run: --format must be text or json, not '%s'", o.format);
		return HVB_EXIT_USAGE;
	}
	if (!strcmp(o.format, "json") && (json_fd = json_stdout()) < 0)
		return HVB_EXIT_FAILURE;
	o.page_kib = parse_page_size(o.page_size);
	if (!o.page_kib) {
		hvb_err("run: --page-size '%s': give 4k or 2m", o.page_size);
		return HVB_EXIT_USAGE;
	}
	/* --quick shortens what was not given explicitly (--quick --reps 5 is 5). */
	if (!o.batches)
		o.batches = o.quick ? 5 : HVB_DEFAULT_BATCHES;
	if (!o.goal_us)
		o.goal_us = o.quick ? 2000 : HVB_DEFAULT_GOAL_US;
	if (!o.reps)
		o.reps = o.quick ? 2 : 5;
	if (o.cpu != UINT64_MAX && check_cpu(o.cpu))
		return HVB_EXIT_USAGE;
	if (resolve_placement(&o))
		return HVB_EXIT_USAGE;
	/* Everything the runners read, resolved once: no setenv round trip. */
	if (hvb_config_load(&cfg, o.image, err, sizeof(err)) ||
	    hvb_config_guest_mem(&cfg, o.guest_mem, err, sizeof(err))) {
		hvb_err("run: %s", err);
		hvb_config_free(&cfg);
		return HVB_EXIT_USAGE;
	}
	if (hvb_select_runners(o.runners, &cfg, &sel, err, sizeof(err)) ||
	    hvb_select_workloads(o.workloads, &sel, err, sizeof(err))) {
		hvb_err("run: %s", err);
		hvb_selection_free(&sel);
		hvb_config_free(&cfg);
		return HVB_EXIT_USAGE;
	}
	r = hvb_config_params(&cfg, sel.workloads, sel.n_workloads, o.params.v, o.params.n, err,
			      sizeof(err));
	if (r)
		hvb_err("run: %s", err);
	if (r || check_cmdline_fits(&sel, &o, &cfg)) {
		hvb_selection_free(&sel);
		hvb_config_free(&cfg);
		return HVB_EXIT_USAGE;
	}
	if (check_out_dir(o.out)) {
		hvb_selection_free(&sel);
		hvb_config_free(&cfg);
		return HVB_EXIT_FAILURE;
	}
	/* From here on a signal ends the run in order: the disk is removed. */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN); /* a file size limit is a write error (EFBIG) */
	hvb_run_id_make(run_id, sizeof(run_id));
	cmdline = command_line(argc, argv);
	status = lock_cpus(&o, cmdline, run_id, &cpu_lock, lock_desc, sizeof(lock_desc));
	if (status) {
		free(cmdline);
		hvb_selection_free(&sel);
		hvb_config_free(&cfg);
		return status;
	}
	status = prepare_disk(&o, &sel, run_id, &disk, &have_disk);
	if (!status && open_sink(&o, run_id, &sink))
		status = HVB_EXIT_FAILURE;
	if (status) {
		hvb_disk_remove(&disk);
		hvb_cpulock_release(&cpu_lock);
		free(cmdline);
		hvb_selection_free(&sel);
		hvb_config_free(&cfg);
		return status;
	}
	cfg.disk = have_disk ? &disk : NULL;
	tsc_khz = hvb_tsc_khz_measure(50);
	utc_now(started, sizeof(started));
	hvb_sink_meta(sink, "started_utc", started);
	hvb_meta_host(sink);
	meta_matrix(sink, &sel, &o, &cfg, cmdline, tsc_khz);
	hvb_sink_meta(sink, "cpu_lock", lock_desc);
	if (have_disk)
		hvb_disk_meta(&disk, sink);
	hvb_sink_write_meta(sink); /* so a run killed later says what it was asked to do */
	fprintf(stderr, "hvbench: run %s: %zu runner(s) x %zu workload(s) x %llu rep(s)\n",
		hvb_sink_run_id(sink), sel.n_runners, sel.n_workloads, (unsigned long long)o.reps);
	ctx = (struct run_ctx){ .sel = &sel, .o = &o, .cfg = &cfg, .tsc_khz = tsc_khz,
				.sink = sink,
				.caps = xcalloc(sel.n_runners, sizeof(struct hvb_caps_cache)) };
	failed_jobs = run_matrix(&ctx, stopped_at, sizeof(stopped_at));
	free(ctx.caps);
	utc_now(finished, sizeof(finished));
	hvb_sink_meta(sink, "finished_utc", finished);
	if (stopped_at[0])
		hvb_sink_meta(sink, "interrupted_at", stopped_at);
	char *dir = xstrdup(hvb_sink_dir(sink));
	/* Before the final meta.csv: a run that says it ended left no disk. */
	hvb_disk_remove(&disk);
	r = finish_sink(sink, stopped_at[0] ? "interrupted" : "complete");
	if (r) {
		status = HVB_EXIT_FAILURE;
	} else {
		if (o.latest)
			point_latest(o.latest, dir);
		printf("results: %s%s\n", dir, stopped_at[0] ? " (interrupted)" : "");
		if (print_summary(dir) || failed_jobs)
			status = HVB_EXIT_FAILURE;
	}
	if (json_fd >= 0 && print_json(json_fd, dir, run_id))
		status = HVB_EXIT_FAILURE;
	if (stopped_at[0] && !r)
		status = 128 + (hvb_interrupted ? hvb_interrupted : SIGINT);
	free(dir);
	free(cmdline);
	hvb_cpulock_release(&cpu_lock); /* the run's last use of its CPUs is over */
	hvb_selection_free(&sel);
	hvb_config_free(&cfg);
	return status;
}

static const struct hvb_cmd run_cmd = {
	.name = "run",
	.summary = "run workloads under runners, write a result directory",
	.main = run_main,
	.order = 3,
};
HVB_CMD(run_cmd);
