/*
 * Exit accounting for the Xen runners with xentrace (see trace.h).
 *
 * Why xentrace and not libxenctrl's xc_tbuf_* directly: xentrace is the
 * tool every Xen dom0 ships (xen-utils), it already handles the trace
 * buffers' wrap-around, the VIRQ_TBUF wake-ups and the final drain when
 * it is stopped, and its file format is what xenalyze reads, so a trace
 * kept with HVB_XENTRACE_KEEP can be checked with xenalyze.  hvbench only
 * spawns it, stops it with SIGINT after the domain is gone (xentrace then
 * reads the buffers one last time and disables tracing) and parses the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "host.h"
#include "records.h"
#include "runner.h"
#include "trace.h"
#include "util.h"
#include "xentrace.h"

extern char **environ;

#define TRACE_PAGES     256 /* per pcpu (1 MiB): xentrace -S; fixed once per Xen boot */
#define TRACE_POLL_MS   50  /* xentrace -s; it also wakes when a buffer is half full */
#define TRACE_START_S   20  /* wait for xentrace's first write (TCG is slow) */
#define TRACE_STOP_S    10
#define TRACE_GRACE_S   120  /* xentrace -T: job time limit + this */
#define TRACE_MAX_S     86400.0 /* ... or this when the job has none */

struct rep_rec {
	char workload[HVB_NAME_MAX];
	uint32_t rep;
	bool ended;
	uint64_t ops; /* operations in the repetition, 0 = unknown */
};

struct xen_trace {
	const struct hvb_out *out;
	const struct hvb_job *job;
	pid_t pid;                /* xentrace, 0 = not running */
	char path[PATH_MAX];      /* the trace file */
	char errpath[PATH_MAX];   /* xentrace's stderr */
	char why[320];            /* set: no trace, and why */
	bool off;                 /* HVB_XENTRACE=0 */
	bool pv;                  /* a PV domU: TRC_PV entries, not VM exits */
	enum xt_vendor vendor;
	struct rep_rec *reps;     /* the guest's REP_BEGIN records, in order */
	size_t n_reps;
	char cell[HVB_NAME_MAX];  /* the last CELL_BEGIN: workload, operations */
	uint64_t cell_ops;
};

static void meta(struct xen_trace *xt, const char *value)
{
	hvb_out_meta(xt->out, "exits", value);
}

/* Xen's VMEXIT records hold the CPU vendor's exit codes. */
static enum xt_vendor host_vendor(void)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");
	enum xt_vendor v = XT_SVM;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "vendor_id", 9)) {
			v = strstr(line, "GenuineIntel") ? XT_VMX : XT_SVM;
			break;
		}
	if (f)
		fclose(f);
	return v;
}

/* $HVB_XENTRACE, xentrace on PATH, or the versioned tools directory. */
static int find_xentrace(const char *env, char *buf, size_t len)
{
	glob_t g;

	if (env) {
		snprintf(buf, len, "%s", env);
		return access(buf, X_OK) ? -ENOENT : 0;
	}
	if (!hvb_find_exe("xentrace", buf, len))
		return 0;
	if (!glob("/usr/lib/xen-*/bin/xentrace", 0, NULL, &g) ||
	    !glob("/usr/lib*/xen/bin/xentrace", 0, NULL, &g)) {
		snprintf(buf, len, "%s", g.gl_pathv[g.gl_pathc - 1]);
		globfree(&g);
		return 0;
	}
	return -ENOENT;
}

/* The last non-empty line xentrace wrote to stderr. */
static void last_err_line(const struct xen_trace *xt, char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen(xt->errpath, "r");

	snprintf(buf, len, "(no message)");
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0])
			snprintf(buf, len, "%.190s", line);
	}
	if (f)
		fclose(f);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Spawn xentrace and wait for its first write: then tracing is on. */
static void spawn_xentrace(struct xen_trace *xt)
{
	char bin[PATH_MAX], mask[16], pages[16], poll[16], life[24], msg[200];
	const char *tmp = getenv("TMPDIR");
	posix_spawn_file_actions_t fa;
	struct stat st;
	int fd, status, rc;

	if (find_xentrace(xt->job->cfg->xentrace, bin, sizeof(bin))) {
		snprintf(xt->why, sizeof(xt->why), "xentrace not found (install xen-utils, or "
						   "set HVB_XENTRACE to its path)");
		return;
	}
	tmp = tmp && *tmp ? tmp : "/tmp";
	snprintf(xt->path, sizeof(xt->path), "%s/hvbench-xentrace-XXXXXX", tmp);
	fd = mkstemp(xt->path);
	if (fd < 0) {
		snprintf(xt->why, sizeof(xt->why), "cannot create a trace file in %s: %s", tmp,
			 strerror(errno));
		xt->path[0] = '\0';
		return;
	}
	close(fd);
	snprintf(xt->errpath, sizeof(xt->errpath), "%.4000s.log", xt->path);
	snprintf(mask, sizeof(mask), "0x%x", xt->pv ? XT_EVENT_MASK_PV : XT_EVENT_MASK_HVM);
	snprintf(pages, sizeof(pages), "%u", TRACE_PAGES);
	snprintf(poll, sizeof(poll), "%u", TRACE_POLL_MS);
	/* -T: if hvbench dies without stopping it, xentrace still ends (after
	 * the job's own time limit) instead of filling the disk. */
	snprintf(life, sizeof(life), "%.0f", xt->job->timeout_s > 0 ?
						 xt->job->timeout_s + TRACE_GRACE_S :
						 TRACE_MAX_S);
	char *argv[] = {bin, "-D", "-e", mask, "-S", pages, "-s", poll, "-T", life, xt->path,
			NULL};

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, xt->errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	rc = posix_spawn(&xt->pid, bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc) {
		snprintf(xt->why, sizeof(xt->why), "cannot run %.200s: %s", bin, strerror(rc));
		xt->pid = 0;
		return;
	}
	for (unsigned i = 0; i < TRACE_START_S * 10; i++) {
		if (waitpid(xt->pid, &status, WNOHANG) == xt->pid) {
			xt->pid = 0;
			last_err_line(xt, msg, sizeof(msg));
			snprintf(xt->why, sizeof(xt->why),
				 "xentrace could not start tracing (exit %d): %s", WIFEXITED(status) ?
				 WEXITSTATUS(status) : 128 + WTERMSIG(status), msg);
			return;
		}
		if (!stat(xt->path, &st) && st.st_size > 0)
			return;
		sleep_ms(100);
	}
	snprintf(xt->why, sizeof(xt->why), "xentrace wrote no trace records in %d s "
					   "(are Xen's trace buffers in use by another xentrace?)",
		 TRACE_START_S);
}

struct xen_trace *xen_trace_start(const struct hvb_out *out, bool pv, const struct hvb_job *job)
{
	struct xen_trace *xt = calloc(1, sizeof(*xt));
	const char *env = job->cfg->xentrace;

	if (!xt)
		return NULL;
	xt->out = out;
	xt->job = job;
	xt->vendor = host_vendor();
	xt->pv = pv;
	if (env && !strcmp(env, "0")) {
		xt->off = true;
		snprintf(xt->why, sizeof(xt->why), "not collected: HVB_XENTRACE=0");
	} else {
		spawn_xentrace(xt);
	}
	if (xt->why[0]) {
		char m[400];

		snprintf(m, sizeof(m), "unsupported: %s", xt->why);
		meta(xt, xt->off ? xt->why : m);
	} else if (pv) {
		char m[400];

		snprintf(m, sizeof(m), "xentrace: a PV domU has no VM exits; its entries into Xen "
				       "(TRC_PV_*: hypercalls by op, traps, faults, emulations) per "
				       "repetition between the guest's vcpu_op markers (%u trace "
				       "pages per pcpu; no handling time; tracing adds Xen's trace-buffer "
				       "writes to every entry: HVB_XENTRACE=0 times without)",
			 TRACE_PAGES);
		meta(xt, m);
	} else {
		char m[400];

		snprintf(m, sizeof(m), "xentrace: VM exits per repetition between the guest's "
				       "cpuid markers (%s exit codes; %u trace pages per pcpu; "
				       "tracing adds Xen's trace-buffer writes to every exit: "
				       "HVB_XENTRACE=0 times without)",
			 xt->vendor == XT_VMX ? "VMX" : "SVM", TRACE_PAGES);
		meta(xt, m);
	}
	return xt;
}

void xen_trace_on_cell(struct xen_trace *xt, const struct hvb_record *rec)
{
	if (!xt)
		return;
	snprintf(xt->cell, sizeof(xt->cell), "%.*s", (int)sizeof(rec->workload) - 1,
		 rec->workload);
	xt->cell_ops = hvb_rec_cell_ops(rec);
}

void xen_trace_on_rep(void *arg, const struct hvb_record *rec, bool begin)
{
	struct xen_trace *xt = arg;
	struct rep_rec *r;

	if (!begin) {
		if (xt->n_reps && xt->reps[xt->n_reps - 1].rep == rec->rep &&
		    !strcmp(xt->reps[xt->n_reps - 1].workload, rec->workload))
			xt->reps[xt->n_reps - 1].ended = true;
		return;
	}
	r = realloc(xt->reps, (xt->n_reps + 1) * sizeof(*r));
	if (!r)
		return; /* that repetition then gets no rows: finish says so */
	xt->reps = r;
	r = &xt->reps[xt->n_reps++];
	memset(r, 0, sizeof(*r));
	snprintf(r->workload, sizeof(r->workload), "%s", rec->workload);
	r->rep = rec->rep;
	r->ops = !strcmp(xt->cell, r->workload) ? xt->cell_ops : 0;
}

/* SIGINT: xentrace drains the buffers once more, disables tracing, exits. */
static void stop_xentrace(struct xen_trace *xt)
{
	int status;

	if (!xt->pid)
		return;
	kill(xt->pid, SIGINT);
	for (unsigned i = 0; i < TRACE_STOP_S * 20; i++) {
		if (waitpid(xt->pid, &status, WNOHANG) == xt->pid) {
			xt->pid = 0;
			return;
		}
		sleep_ms(50);
	}
	kill(xt->pid, SIGKILL);
	waitpid(xt->pid, &status, 0);
	xt->pid = 0;
	hvb_out_log(xt->out, "xentrace did not stop within %d s of SIGINT and "
					   "was killed: the trace may miss the last records",
		     TRACE_STOP_S);
}

static void keep_trace(struct xen_trace *xt, int domid)
{
	const char *dir = xt->job->cfg->xentrace_keep;
	char dst[PATH_MAX], buf[65536];
	FILE *in, *out;
	size_t n;

	if (!dir || !*dir || !xt->path[0])
		return;
	snprintf(dst, sizeof(dst), "%s/xentrace-d%d.bin", dir, domid);
	in = fopen(xt->path, "rb");
	out = fopen(dst, "wb");
	while (in && out && (n = fread(buf, 1, sizeof(buf), in)))
		fwrite(buf, 1, n, out);
	if (in)
		fclose(in);
	if (!out || fclose(out))
		hvb_out_log(xt->out, "HVB_XENTRACE_KEEP: cannot write %s", dst);
	else
		hvb_out_log(xt->out, "xentrace file kept as %s", dst);
}

static double cycles_ns(const struct xen_trace *xt, uint64_t cycles)
{
	return (double)cycles * 1e6 / (double)xt->job->tsc_khz;
}

/* One exits.csv row.  PV entries have no VMENTRY to end them: no time
 * (empty, not zero); nor without the TSC frequency.  Each exit is timed,
 * so a timed row has its distribution too (the same shape as kvm-trace's). */
static void exit_row(struct xen_trace *xt, const struct rep_rec *r, const char *reason,
		     uint64_t count, uint64_t cycles, const struct hvb_lathist *h)
{
	bool timed = !xt->pv && xt->job->tsc_khz;
	bool lat = timed && h->n;

	hvb_out_exit(xt->out, .workload = r->workload, .rep = r->rep, .reason = reason,
		     .count = count, .timed = timed,
		     .total_ns = timed ? cycles_ns(xt, cycles) : 0,
		     .source = "xentrace", .has_ops = r->ops != 0, .ops = r->ops,
		     .has_latency = lat,
		     .p50_ns = lat ? cycles_ns(xt, hvb_lathist_quantile(h, 0.50)) : 0,
		     .p90_ns = lat ? cycles_ns(xt, hvb_lathist_quantile(h, 0.90)) : 0,
		     .p99_ns = lat ? cycles_ns(xt, hvb_lathist_quantile(h, 0.99)) : 0,
		     .max_ns = lat ? cycles_ns(xt, h->max) : 0);
}

static void rep_rows(struct xen_trace *xt, const struct rep_rec *r, const struct xt_rep *tr)
{
	char name[64], note[240];
	uint64_t span = tr->end_tsc - tr->begin_tsc;
	uint64_t span_ns = xt->job->tsc_khz ? span * 1000000 / xt->job->tsc_khz : 0;

	exit_row(xt, r, "total", tr->c.exits, tr->c.cycles, &tr->c.h);
	for (size_t i = 0; i < tr->c.n_reasons; i++)
		exit_row(xt, r, xt_exit_name(xt->vendor, tr->c.reasons[i].code, name, sizeof(name)),
			 tr->c.reasons[i].count, tr->c.reasons[i].cycles, &tr->c.reasons[i].h);
	snprintf(note, sizeof(note), "records Xen's trace buffers dropped (any domain) between "
				     "the guest's markers (vcpu %u, %llu TSC cycles); ops=%llu%s",
		 tr->vcpu, (unsigned long long)span, (unsigned long long)r->ops,
		 tr->lost ? "; the exit counts of this repetition are a lower bound" : "");
	hvb_out_counter(xt->out, .workload = r->workload, .rep = r->rep,
			.event = "xentrace.lost_records", .has_value = true, .value = (double)tr->lost,
			.time_enabled = span_ns, .time_running = span_ns, .source = "xentrace",
			.note = note);
}

static void rep_unsupported(struct xen_trace *xt, const struct rep_rec *r, enum hvb_status st,
			    const char *why)
{
	hvb_out_counter(xt->out, .workload = r->workload, .rep = r->rep, .event = "xentrace.exits",
			.source = "xentrace", .status = st, .note = why);
}

static void log_summary(struct xen_trace *xt, const struct xt_trace *t, int domid)
{
	char line[900], name[64];
	size_t n;

	n = (size_t)snprintf(line, sizeof(line), "xentrace: %lu records in %lu windows from %u "
						 "pcpu(s), %llu lost; domain %d: %llu %s",
			     t->records, t->windows, t->ncpus, (unsigned long long)t->lost, domid,
			     (unsigned long long)t->domain.exits,
			     xt->pv ? "entries into Xen" : "exits");
	for (size_t i = 0; i < t->domain.n_reasons && n < sizeof(line); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s %s %llu", i ? "," : " (",
				      xt_exit_name(xt->vendor, t->domain.reasons[i].code, name,
						   sizeof(name)),
				      (unsigned long long)t->domain.reasons[i].count);
	if (t->domain.n_reasons && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, ")");
	hvb_out_log(xt->out, "%s; %zu repetition(s) marked", line, t->n_reps);
}

static void write_rows(struct xen_trace *xt, int domid)
{
	struct xt_trace t;
	char why[320];
	size_t k = 0;

	if (domid < 0) {
		hvb_out_log(xt->out, "xentrace: no domain was created; no exits");
		return;
	}
	if (xt_parse_file(xt->path, (uint16_t)domid, &t)) {
		snprintf(why, sizeof(why), "the xentrace file could not be parsed: %s", t.error);
		for (size_t i = 0; i < xt->n_reps; i++)
			rep_unsupported(xt, &xt->reps[i], HVB_ST_FAILED, why);
		hvb_out_log(xt->out, "%s", why);
		return;
	}
	keep_trace(xt, domid);
	log_summary(xt, &t, domid);
	for (size_t i = 0; i < xt->n_reps; i++) {
		const struct rep_rec *r = &xt->reps[i];
		const struct xt_rep *tr = k < t.n_reps ? &t.reps[k] : NULL;

		if (!t.domain_seen) {
			rep_unsupported(xt, r, HVB_ST_FAILED, "the trace never shows the domain "
							     "running (tracing started too late?)");
		} else if (!t.n_reps) {
			rep_unsupported(xt, r, HVB_ST_UNSUPPORTED, xt->pv ?
					"the PV guest placed no repetition markers (vcpu_op "
					"HVB_CPUID_MARK_*): a guest image older than that?" :
					"the guest placed no repetition markers (HVB_CPUID_MARK_*): "
					"a guest image older than the xentrace support?");
		} else if (!tr || tr->rep != r->rep) {
			snprintf(why, sizeof(why), "the trace's repetition markers do not match the "
						   "guest's records here (marker %zu of %zu)", k,
				 t.n_reps);
			rep_unsupported(xt, r, HVB_ST_FAILED, why);
		} else if (!tr->closed || !r->ended) {
			rep_unsupported(xt, r, HVB_ST_FAILED, "the repetition did not end");
			k++;
		} else {
			rep_rows(xt, r, tr);
			k++;
		}
	}
	if (t.lost)
		hvb_out_log(xt->out, "xentrace: Xen lost %llu trace records (%lu "
						   "lost-records events): see counters.csv "
						   "xentrace.lost_records",
			     (unsigned long long)t.lost, t.lost_events);
	xt_trace_free(&t);
}

void xen_trace_finish(struct xen_trace *xt, int domid)
{
	if (!xt)
		return;
	stop_xentrace(xt);
	if (xt->why[0]) {
		for (size_t i = 0; i < xt->n_reps; i++)
			rep_unsupported(xt, &xt->reps[i], HVB_ST_UNSUPPORTED, xt->why);
		if (!xt->off)
			hvb_out_log(xt->out, "exits not collected: %s", xt->why);
	} else {
		write_rows(xt, domid);
	}
	if (xt->path[0]) {
		unlink(xt->path);
		unlink(xt->errpath);
	}
	free(xt->reps);
	free(xt);
}
