/*
 * Live migration between two QEMU processes on this host (migrate.h): the
 * destination started on the source's console pipes, QMP's migrate with
 * the parameters set, query-migrate polled every QEMU_MIG_POLL_MS on the
 * engine's own thread, and the verdict.
 *
 * Convergence: QEMU stops the guest and copies the rest once the expected
 * downtime fits downtime-limit; until then it keeps iterating.  The engine
 * gives up by time (limit_ms) or by rounds (dirty-sync-count beyond
 * max_rounds) with migrate_cancel: the guest runs on at the source and the
 * result says converged=0.  Postcopy is never used (it would always
 * "converge" and measure something else).
 *
 * The engine thread writes no rows (the sink is the runner thread's): it
 * only fills m->res, which the runner reads after qemu_migrate_stop.
 */
#include "migrate.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "migrate_guest.h"
#include "sink.h"
#include "util.h"

#define MIG_QMP_TIMEOUT_MS  2000
#define MIG_DST_UP_MS	    10000 /* the destination's QMP socket appears */
#define MIG_CANCEL_WAIT_MS  5000  /* migrate_cancel -> status cancelled */

/* ------------------------------------------------------------ the reply */

static int get_u64(const struct qj_doc *d, int obj, const char *key, uint64_t *out, bool *has,
		   char *why, size_t len)
{
	int i = qj_get(d, obj, key);

	if (i < 0)
		return 0;
	if (d->n[i].type != QJ_NUM || !d->n[i].is_uint) {
		snprintf(why, len, "query-migrate: %s is not an unsigned integer", key);
		return -EPROTO;
	}
	*out = d->n[i].u;
	if (has)
		*has = true;
	return 0;
}

static void copy_str(const struct qj_doc *d, int i, char *out, size_t len)
{
	size_t n = d->n[i].len < len - 1 ? d->n[i].len : len - 1;

	memcpy(out, d->n[i].s, n);
	out[n] = '\0';
}

static int parse_ram(struct qemu_mig_info *mi, const struct qj_doc *d, int ram, char *why,
		     size_t len)
{
	int mbps = qj_get(d, ram, "mbps");

	if (d->n[ram].type != QJ_OBJ) {
		snprintf(why, len, "query-migrate: ram is not an object");
		return -EPROTO;
	}
	mi->has_ram = true;
	if (get_u64(d, ram, "transferred", &mi->transferred, NULL, why, len) ||
	    get_u64(d, ram, "remaining", &mi->remaining, NULL, why, len) ||
	    get_u64(d, ram, "total", &mi->ram_total, NULL, why, len) ||
	    get_u64(d, ram, "dirty-pages-rate", &mi->dirty_pages_rate, NULL, why, len) ||
	    get_u64(d, ram, "dirty-sync-count", &mi->dirty_sync_count, NULL, why, len) ||
	    get_u64(d, ram, "page-size", &mi->page_size, NULL, why, len))
		return -EPROTO;
	if (mbps >= 0 && d->n[mbps].type != QJ_NUM) {
		snprintf(why, len, "query-migrate: ram.mbps is not a number");
		return -EPROTO;
	}
	if (mbps >= 0)
		mi->mbps = d->n[mbps].num;
	return 0;
}

int qemu_mig_info_parse(struct qemu_mig_info *mi, const struct qj_doc *d, int ret, char *why,
			size_t len)
{
	int st, ram, err;

	memset(mi, 0, sizeof(*mi));
	if (ret < 0 || d->n[ret].type != QJ_OBJ) {
		snprintf(why, len, "query-migrate: the return value is not an object");
		return -EPROTO;
	}
	st = qj_get(d, ret, "status");
	if (st < 0) {
		/* QEMU 7.2 leaves status out before the first migrate. */
		snprintf(mi->status, sizeof(mi->status), "none");
		return 0;
	}
	if (d->n[st].type != QJ_STR || d->n[st].len >= sizeof(mi->status)) {
		snprintf(why, len, "query-migrate: status is not a short string");
		return -EPROTO;
	}
	copy_str(d, st, mi->status, sizeof(mi->status));
	err = qj_get(d, ret, "error-desc");
	if (err >= 0 && d->n[err].type == QJ_STR)
		copy_str(d, err, mi->error, sizeof(mi->error));
	if (get_u64(d, ret, "total-time", &mi->total_ms, &mi->has_total, why, len) ||
	    get_u64(d, ret, "downtime", &mi->downtime_ms, &mi->has_downtime, why, len) ||
	    get_u64(d, ret, "setup-time", &mi->setup_ms, &mi->has_setup, why, len) ||
	    get_u64(d, ret, "expected-downtime", &mi->expected_downtime_ms, &mi->has_expected,
		    why, len))
		return -EPROTO;
	ram = qj_get(d, ret, "ram");
	return ram < 0 ? 0 : parse_ram(mi, d, ram, why, len);
}

/* ------------------------------------------------------------ set-up */

int qemu_migrate_init(struct qemu_migrate *m, const struct qemu_migrate_params *p, char *why,
		      size_t len)
{
	const char *tmp = getenv("TMPDIR");

	memset(m, 0, sizeof(*m));
	m->p = *p;
	m->guest_gap_ns = -1;
	if (!m->p.max_bw)
		m->p.max_bw = QEMU_MIG_BW_UNLIMITED;
	if (!m->p.limit_ms)
		m->p.limit_ms = QEMU_MIG_LIMIT_MS;
	snprintf(m->res.why, sizeof(m->res.why), "the migration was not started");
	/* $TMPDIR when it leaves room for the socket names (sun_path). */
	snprintf(m->dir, sizeof(m->dir), "%s/hvbench-mig-XXXXXX",
		 tmp && *tmp == '/' && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(m->dir)) {
		int e = -errno;
		snprintf(why, len, "cannot make a directory for the migration's sockets: %s",
			 strerror(errno));
		m->dir[0] = '\0';
		return e;
	}
	snprintf(m->src_qmp, sizeof(m->src_qmp), "%s/src-qmp.sock", m->dir);
	snprintf(m->dst_qmp, sizeof(m->dst_qmp), "%s/dst-qmp.sock", m->dir);
	snprintf(m->uri, sizeof(m->uri), "unix:%s/incoming.sock", m->dir);
	return 0;
}

static int argv_add_qmp(char **argv, unsigned cap, const char *path)
{
	unsigned n = 0;

	while (argv[n])
		n++;
	if (n + 3 > cap)
		return -E2BIG;
	argv[n++] = xstrdup("-qmp");
	argv[n++] = xasprintf("unix:%s,server=on,wait=off", path);
	argv[n] = NULL;
	return 0;
}

int qemu_migrate_argv(struct qemu_migrate *m, char **argv, unsigned cap)
{
	return argv_add_qmp(argv, cap, m->src_qmp);
}

/* The destination: the source's command line with its -qmp socket
 * swapped for the destination's, and -incoming. */
static char **dst_argv_of(const struct qemu_migrate *m, char **argv)
{
	unsigned n = 0, o = 0;
	char **v;

	while (argv[n])
		n++;
	v = xcalloc(n + 3, sizeof(char *));
	for (unsigned i = 0; i < n; i++) {
		if (!strcmp(argv[i], "-qmp") && i + 1 < n && strstr(argv[i + 1], m->src_qmp)) {
			i++;
			continue;
		}
		v[o++] = xstrdup(argv[i]);
	}
	v[o++] = xstrdup("-incoming");
	v[o++] = xstrdup(m->uri);
	v[o] = NULL;
	argv_add_qmp(v, n + 3, m->dst_qmp);
	return v;
}

/* ------------------------------------------------------------ the engine */

static uint64_t ms_since(uint64_t t)
{
	return (hvb_now_ns() - t) / 1000000;
}

/* Wait for HELLO + at_ms: false if the runner stopped first. */
static bool wait_trigger(struct qemu_migrate *m)
{
	while (!__atomic_load_n(&m->abort, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&m->armed, __ATOMIC_ACQUIRE) &&
		    hvb_now_ns() >= m->t_armed + (uint64_t)m->p.at_ms * 1000000)
			return true;
		usleep(2000);
	}
	return false;
}

/* Start the destination writing into the source's serial and stderr
 * pipes (opened again through /proc: the runner keeps the read ends). */
static int start_dst(struct qemu_migrate *m)
{
	char path[64];
	int out, err, e;

	snprintf(path, sizeof(path), "/proc/%d/fd/1", (int)m->src_pid);
	out = open(path, O_WRONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/fd/2", (int)m->src_pid);
	err = out < 0 ? -1 : open(path, O_WRONLY | O_CLOEXEC);
	if (out < 0 || err < 0) {
		e = -errno;
		snprintf(m->res.why, sizeof(m->res.why),
			 "cannot reopen the source QEMU's console pipe (%s): %s (did the guest "
			 "end before the trigger?)", path, strerror(errno));
		if (out >= 0)
			close(out);
		return e;
	}
	m->dst.keep_fd = -1;
	e = qemu_spawn_on(&m->dst, m->dst_argv, m->p.thp_off, out, err);
	close(out);
	close(err);
	if (e)
		snprintf(m->res.why, sizeof(m->res.why), "cannot start the destination QEMU: %s",
			 strerror(-e));
	return e;
}

/* How the destination ended ("" while it runs), reaping it if it did. */
static void dst_state(struct qemu_migrate *m, char *out, size_t len)
{
	int status;

	out[0] = '\0';
	if (m->dst.pid <= 0 || waitpid(m->dst.pid, &status, WNOHANG) != m->dst.pid)
		return;
	m->dst.pid = 0;
	if (WIFSIGNALED(status))
		snprintf(out, len, "; the destination QEMU was killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(out, len, "; the destination QEMU exited with status %d",
			 WEXITSTATUS(status));
}

/* A destination that did not take over: SIGKILL and reap. */
static void dst_kill(struct qemu_migrate *m)
{
	int status;

	if (m->dst.pid <= 0)
		return;
	kill(m->dst.pid, SIGKILL);
	while (waitpid(m->dst.pid, &status, 0) < 0 && errno == EINTR)
		;
	m->dst.pid = 0;
}

static void note_status(struct qemu_migrate *m, const char *status, uint64_t t0)
{
	struct qemu_migrate_result *r = &m->res;
	size_t n = strlen(r->transitions);

	if (!strcmp(status, r->last.status))
		return;
	snprintf(r->transitions + n, sizeof(r->transitions) - n, "%s%s@%llu", n ? " " : "",
		 status, (unsigned long long)ms_since(t0));
}

/* One query-migrate: 0 with m->res.last updated, or -errno (why set). */
static int poll_once(struct qemu_migrate *m, struct qmp *src, uint64_t t0)
{
	struct qemu_migrate_result *r = &m->res;
	struct qemu_mig_info mi;
	struct qj_doc d;
	int ret, e;
	char dst[96];

	e = qmp_exec(src, "{\"execute\":\"query-migrate\"}", &d, &ret);
	if (!e)
		e = qemu_mig_info_parse(&mi, &d, ret, r->why, sizeof(r->why));
	else {
		dst_state(m, dst, sizeof(dst));
		snprintf(r->why, sizeof(r->why),
			 "the source QEMU stopped answering during the migration (%s): the guest "
			 "ended or QEMU died%s", src->err, dst);
	}
	qj_free(&d);
	if (e)
		return e;
	note_status(m, mi.status, t0);
	r->last = mi;
	r->polls++;
	if (mi.dirty_pages_rate > r->max_dirty_rate)
		r->max_dirty_rate = mi.dirty_pages_rate;
	if (mi.has_expected && mi.expected_downtime_ms > r->max_expected_ms)
		r->max_expected_ms = mi.expected_downtime_ms;
	return 0;
}

static int exec_simple(struct qmp *q, const char *cmd)
{
	struct qj_doc d;
	int ret, e = qmp_exec(q, cmd, &d, &ret);

	qj_free(&d);
	return e;
}

/* Over a limit: migrate_cancel and wait for "cancelled". */
static void cancel(struct qemu_migrate *m, struct qmp *src, uint64_t t0, const char *over)
{
	struct qemu_migrate_result *r = &m->res;
	uint64_t until = hvb_now_ns() + (uint64_t)MIG_CANCEL_WAIT_MS * 1000000;
	struct qemu_mig_info at = r->last;

	exec_simple(src, "{\"execute\":\"migrate_cancel\"}");
	while (hvb_now_ns() < until && !poll_once(m, src, t0) &&
	       strcmp(r->last.status, "cancelled") && strcmp(r->last.status, "failed"))
		usleep(QEMU_MIG_POLL_MS * 1000);
	r->end = QEMU_MIG_CANCELLED;
	snprintf(r->why, sizeof(r->why),
		 "did not converge: %s (after %llu ms, %llu rounds, %llu bytes sent, %llu bytes "
		 "remaining, dirty rate %llu pages/s, QEMU's expected downtime %llu ms); "
		 "cancelled (migrate_cancel: QEMU then said %s), the guest ran on at the source",
		 over, (unsigned long long)ms_since(t0), (unsigned long long)at.dirty_sync_count,
		 (unsigned long long)at.transferred, (unsigned long long)at.remaining,
		 (unsigned long long)at.dirty_pages_rate,
		 (unsigned long long)at.expected_downtime_ms, r->last.status);
	r->last = at; /* the figures as they were when it gave up */
}

/* Pin the destination's vCPU i thread to cpu (-1: leave it). */
static void pin_dst_vcpu(struct qemu_migrate *m, unsigned i, int cpu)
{
	cpu_set_t set;
	int tid = qemu_vcpu_tid(m->dst.pid, i);

	if (cpu >= 0 && tid > 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(tid, sizeof(set), &set);
	}
}

/* Completed: pin the destination's vCPUs as the source's, quit the source. */
static void take_over(struct qemu_migrate *m, struct qmp *src)
{
	pin_dst_vcpu(m, 0, m->p.cpu);
	for (unsigned i = 1; i < m->p.vcpus && i < HVB_MAX_VCPUS; i++)
		pin_dst_vcpu(m, i, m->p.cpus[i]);
	/* quit answers, or QEMU closes the socket on its way out: either is
	 * it.  The source's vCPU is stopped since completion, so what the
	 * console says from here on is the destination's. */
	__atomic_store_n(&m->res.t_switch, hvb_now_ns(), __ATOMIC_RELEASE);
	exec_simple(src, "{\"execute\":\"quit\"}");
	m->took_over = true;
	m->res.end = QEMU_MIG_COMPLETED;
	m->res.converged = true;
	snprintf(m->res.why, sizeof(m->res.why), "converged: completed in %llu ms, downtime %llu ms"
		 " (QEMU's figures); the destination runs the guest, the source quit",
		 (unsigned long long)m->res.last.total_ms,
		 (unsigned long long)m->res.last.downtime_ms);
}

static void fail(struct qemu_migrate *m, const char *what)
{
	char dst[96];

	usleep(100000); /* a destination that died is reaped by now */
	dst_state(m, dst, sizeof(dst));
	m->res.end = QEMU_MIG_FAILED;
	snprintf(m->res.why, sizeof(m->res.why), "migration failed: %s%s", what, dst);
}

/* Poll until it completes, fails or goes over a limit. */
static void follow(struct qemu_migrate *m, struct qmp *src, uint64_t t0)
{
	const struct qemu_mig_info *mi = &m->res.last;
	char what[300];

	for (;;) {
		if (poll_once(m, src, t0)) {
			hvb_strlcpy(what, m->res.why, sizeof(what));
			m->res.end = QEMU_MIG_FAILED;
			snprintf(m->res.why, sizeof(m->res.why), "migration failed: %s", what);
			return;
		}
		if (!strcmp(mi->status, "completed"))
			return take_over(m, src);
		if (!strcmp(mi->status, "failed") || !strcmp(mi->status, "cancelled")) {
			snprintf(what, sizeof(what), "QEMU says %s%s%s", mi->status,
				 mi->error[0] ? ": " : "", mi->error);
			return fail(m, what);
		}
		if (__atomic_load_n(&m->abort, __ATOMIC_ACQUIRE)) {
			cancel(m, src, t0, "the runner stopped collecting (timeout or interrupt)");
			m->res.end = QEMU_MIG_FAILED;
			return;
		}
		if (ms_since(t0) >= m->p.limit_ms) {
			snprintf(what, sizeof(what), "time limit %u ms", m->p.limit_ms);
			return cancel(m, src, t0, what);
		}
		if (m->p.max_rounds && mi->dirty_sync_count > m->p.max_rounds) {
			snprintf(what, sizeof(what), "round limit %u", m->p.max_rounds);
			return cancel(m, src, t0, what);
		}
		usleep(QEMU_MIG_POLL_MS * 1000);
	}
}

/* Parameters, then migrate: 0 or -errno (why set). */
static int begin(struct qemu_migrate *m, struct qmp *src)
{
	char cmd[300];
	int e;

	/* downtime-limit left out: QEMU's own default stands. */
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"migrate-set-parameters\",\"arguments\":{\"max-bandwidth\":%llu"
		 "%s%.0u}}",
		 (unsigned long long)m->p.max_bw, m->p.downtime_ms ? ",\"downtime-limit\":" : "",
		 m->p.downtime_ms);
	if ((e = exec_simple(src, cmd))) {
		snprintf(m->res.why, sizeof(m->res.why), "migrate-set-parameters: %s", src->err);
		return e;
	}
	snprintf(cmd, sizeof(cmd), "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"%s\"}}",
		 m->uri);
	if ((e = exec_simple(src, cmd)))
		snprintf(m->res.why, sizeof(m->res.why), "migrate: %s", src->err);
	return e;
}

static void migrate_once(struct qemu_migrate *m)
{
	struct qmp src = { .fd = -1 }, dst = { .fd = -1 };
	uint64_t t0;
	char what[300];

	if (qmp_open(&src, m->src_qmp, MIG_QMP_TIMEOUT_MS)) {
		snprintf(m->res.why, sizeof(m->res.why), "cannot reach the source QEMU's QMP: %s",
			 src.err);
		goto out;
	}
	if (start_dst(m))
		goto out;
	if (qmp_open(&dst, m->dst_qmp, MIG_DST_UP_MS)) {
		snprintf(what, sizeof(what), "the destination QEMU did not come up (QMP: %s)",
			 dst.err);
		fail(m, what);
		goto out;
	}
	t0 = hvb_now_ns();
	if (begin(m, &src)) {
		hvb_strlcpy(what, m->res.why, sizeof(what));
		fail(m, what);
		goto out;
	}
	follow(m, &src, t0);
out:
	qmp_close(&src);
	qmp_close(&dst);
	if (!m->took_over)
		dst_kill(m);
}

static void *engine(void *arg)
{
	struct qemu_migrate *m = arg;

	if (!wait_trigger(m)) {
		snprintf(m->res.why, sizeof(m->res.why),
			 "no migration: the guest ended before the trigger (HELLO + %u ms)",
			 m->p.at_ms);
		return NULL;
	}
	migrate_once(m);
	/* PR_SET_PDEATHSIG is bound to the thread that forked: the
	 * destination would be killed as this thread ends, so it lives until
	 * the runner is done with the guest. */
	while (m->took_over && !__atomic_load_n(&m->abort, __ATOMIC_ACQUIRE))
		usleep(10000);
	return NULL;
}

int qemu_migrate_start(struct qemu_migrate *m, char **argv, pid_t src_pid)
{
	int e;

	m->src_pid = src_pid;
	m->dst_argv = dst_argv_of(m, argv);
	e = pthread_create(&m->thread, NULL, engine, m);
	if (e) {
		snprintf(m->res.why, sizeof(m->res.why), "cannot start the migration thread: %s",
			 strerror(e));
		return -e;
	}
	m->thread_on = true;
	return 0;
}

void qemu_migrate_note_record(struct qemu_migrate *m, const struct hvb_record *rec,
			      unsigned rep)
{
	double gap = hvb_mig_guest_gap(rec, rep);

	if (gap >= 0)
		m->guest_gap_ns = gap;
}

bool qemu_migrate_after_switch(const struct qemu_migrate *m, uint64_t t)
{
	uint64_t s = __atomic_load_n(&m->res.t_switch, __ATOMIC_ACQUIRE);

	return s && t > s;
}

void qemu_migrate_arm(struct qemu_migrate *m, uint64_t t)
{
	m->t_armed = t;
	__atomic_store_n(&m->armed, 1, __ATOMIC_RELEASE);
}

void qemu_migrate_stop(struct qemu_migrate *m)
{
	__atomic_store_n(&m->abort, 1, __ATOMIC_RELEASE);
	if (m->thread_on)
		pthread_join(m->thread, NULL);
	m->thread_on = false;
	if (!m->took_over)
		dst_kill(m);
}

int qemu_migrate_reap_dst(struct qemu_migrate *m, bool must_stop)
{
	int status = 0;

	if (m->dst.pid <= 0)
		return 0;
	/* No pipes of its own (out_fd/err_fd -1): qemu_reap closes nothing. */
	status = qemu_reap(&m->dst, must_stop);
	m->dst.pid = 0;
	return status;
}

/* ------------------------------------------------------------ rows */

static void row(const struct hvb_out *out, const char *workload, unsigned rep,
		const char *metric, const char *unit, int better, double v, bool ok,
		const char *note)
{
	hvb_out_sample(out, .workload = workload, .rep = rep, .metric = metric, .unit = unit,
		       .better = better, .value = v, .status = ok ? HVB_ST_OK : HVB_ST_FAILED,
		       .note = note);
}

void qemu_migrate_rows(const struct qemu_migrate *m, const struct hvb_out *out,
		       const char *workload, unsigned rep)
{
	const struct qemu_migrate_result *r = &m->res;
	const struct qemu_mig_info *mi = &r->last;
	bool ran = r->end == QEMU_MIG_COMPLETED || r->end == QEMU_MIG_CANCELLED;
	char *note = xasprintf("%s; states %s; setup %llu ms, max expected downtime %llu ms, "
			       "max dirty rate %llu pages/s, %.1f Mbit/s, %llu of %llu bytes "
			       "remaining, %u polls",
			       r->why, r->transitions[0] ? r->transitions : "none",
			       (unsigned long long)mi->setup_ms,
			       (unsigned long long)r->max_expected_ms,
			       (unsigned long long)r->max_dirty_rate, mi->mbps,
			       (unsigned long long)mi->remaining,
			       (unsigned long long)mi->ram_total, r->polls);
	const char *n = ran ? note : r->why;

	row(out, workload, rep, "migrate.total_ms", "ms", HVB_LOWER_IS_BETTER,
	    (double)mi->total_ms, ran && mi->has_total && mi->total_ms, n);
	if (r->converged && mi->has_downtime && !mi->downtime_ms)
		/* An ms value must be > 0 (FORMAT.md): QEMU 7.2 counts whole ms,
		 * so 0 is a downtime under its resolution, not a zero. */
		hvb_out_sample(out, .workload = workload, .rep = rep,
			       .metric = "migrate.downtime_ms", .unit = "ms",
			       .better = HVB_LOWER_IS_BETTER, .status = HVB_ST_UNSUPPORTED,
			       .note = "below QEMU's resolution: it reports whole milliseconds "
				       "and said 0 (the guest stopped for under 1 ms)");
	else if (r->converged)
		row(out, workload, rep, "migrate.downtime_ms", "ms", HVB_LOWER_IS_BETTER,
		    (double)mi->downtime_ms, mi->has_downtime, n);
	else
		hvb_out_sample(out, .workload = workload, .rep = rep,
			       .metric = "migrate.downtime_ms", .unit = "ms",
			       .better = HVB_LOWER_IS_BETTER,
			       .status = ran ? HVB_ST_UNSUPPORTED : HVB_ST_FAILED,
			       .note = ran ? "no downtime: the migration did not converge" : n);
	if (ran && m->guest_gap_ns > 0)
		row(out, workload, rep, HVB_MIG_GUEST_DOWNTIME, "ms", HVB_LOWER_IS_BETTER,
		    m->guest_gap_ns / 1e6, true, HVB_MIG_GUEST_DOWNTIME_NOTE);
	row(out, workload, rep, "migrate.bytes", "bytes", HVB_LOWER_IS_BETTER,
	    (double)mi->transferred, ran && mi->has_ram, n);
	row(out, workload, rep, "migrate.rounds", "rounds", HVB_LOWER_IS_BETTER,
	    (double)mi->dirty_sync_count, ran && mi->has_ram, n);
	row(out, workload, rep, "migrate.converged", "bool", HVB_HIGHER_IS_BETTER,
	    r->converged ? 1 : 0, ran, n);
	free(note);
}

void qemu_migrate_close(struct qemu_migrate *m)
{
	if (m->dir[0]) {
		char *p[] = { m->src_qmp, m->dst_qmp, m->uri + 5 };
		for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
			unlink(p[i]);
		rmdir(m->dir);
		m->dir[0] = '\0';
	}
	if (m->dst_argv)
		qemu_argv_free(m->dst_argv);
	m->dst_argv = NULL;
}

/* ------------------------------------------------------------ trigger */

static int env_uint(const char *name, uint64_t max, uint64_t *out, bool *set, char *why,
		    size_t len)
{
	const char *v = getenv(name);

	if (set)
		*set = v && *v;
	if (!v || !*v)
		return 0;
	if (hvb_parse_uint(v, 0, max, out)) {
		snprintf(why, len, "%s=%s: want a whole number 0-%llu", name, v,
			 (unsigned long long)max);
		return -EINVAL;
	}
	return 0;
}

int qemu_migrate_params_env(struct qemu_migrate_params *p, bool *on, char *why, size_t len)
{
	uint64_t at = 0, bw = 0, dt = 0, lim = 0, rounds = 0;

	memset(p, 0, sizeof(*p));
	p->cpu = -1;
	if (env_uint("HVB_QEMU_MIGRATE_AT_MS", 3600000, &at, on, why, len) ||
	    env_uint("HVB_QEMU_MIGRATE_BW_MIBS", 1u << 20, &bw, NULL, why, len) ||
	    env_uint("HVB_QEMU_MIGRATE_DOWNTIME_MS", 3600000, &dt, NULL, why, len) ||
	    env_uint("HVB_QEMU_MIGRATE_LIMIT_MS", 3600000, &lim, NULL, why, len) ||
	    env_uint("HVB_QEMU_MIGRATE_ROUNDS", 1000000, &rounds, NULL, why, len))
		return -EINVAL;
	p->at_ms = (unsigned)at;
	p->max_bw = bw << 20;
	p->downtime_ms = (unsigned)dt;
	p->limit_ms = (unsigned)lim;
	p->max_rounds = (unsigned)rounds;
	return 0;
}
