/* perf counters around each repetition of the native runner (see counters.h). */
#include "counters.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hvb/abi.h"
#include "native/rt_native.h"
#include "sink.h"

#define CTR_MAGIC 0x52544348u /* "HCTR" */

/* One repetition's deltas; written with one write() (<= PIPE_BUF: atomic). */
struct ctr_msg {
	uint32_t magic, rep, n;
	int32_t cpu_err;  /* 0 or -errno: the child's CPU time over the repetition */
	uint64_t cpu_ns;
	struct hvb_perf_value v[HVB_PERF_MAX_EVENTS];
};
_Static_assert(sizeof(struct ctr_msg) <= PIPE_BUF, "counter message must be one atomic write");

/* How long the parent waits for a message the child has already written
 * (it is sent before the REP_END record the parent is handling). */
#define CTR_WAIT_MS 2000

int native_counters_init(struct native_counters *nc, const char *env, char *err, size_t len)
{
	struct hvb_perf *p;
	int r;

	memset(nc, 0, sizeof(*nc));
	nc->fd[0] = nc->fd[1] = -1;
	if (env && *env) {
		snprintf(nc->list, sizeof(nc->list), "%s", env);
		r = hvb_perf_parse_list(nc->list, nc->events, HVB_PERF_MAX_EVENTS);
		if (r <= 0) {
			snprintf(err, len, "HVBENCH_EVENTS: %s",
				 r ? "too many events (at most 16)" : "empty event list");
			return -EINVAL;
		}
		nc->n = (size_t)r;
	} else {
		for (nc->n = 0; nc->n < hvb_perf_n_default; nc->n++)
			nc->events[nc->n] = hvb_perf_default_events[nc->n];
	}
	/* Check the names here, where the user sees the error, not in the child. */
	r = hvb_perf_open(&p, 0, nc->events, nc->n, err, len);
	if (r)
		return r;
	hvb_perf_close(p);
	if (pipe2(nc->fd, O_CLOEXEC))
		return -errno;
	return 0;
}

/* This process's CPU time (all its threads), ns. */
static int process_cpu_ns(uint64_t *ns)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts))
		return -errno;
	*ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return 0;
}

/* The child's single instance (the rep hook has no argument). */
static struct native_counters *child_nc;

static void child_send(struct native_counters *nc, const struct hvb_record *rec,
		       const struct hvb_perf_snap *end, int read_err)
{
	struct ctr_msg m;

	memset(&m, 0, sizeof(m));
	m.magic = CTR_MAGIC;
	m.rep = rec->rep;
	m.cpu_err = nc->cpu_err;
	if (!nc->cpu_err) {
		uint64_t now = 0;
		m.cpu_err = process_cpu_ns(&now);
		m.cpu_ns = m.cpu_err ? 0 : now - nc->cpu_begin;
	}
	if (!nc->perf) {
		/* Counters could not be opened at all: one row that says so. */
		m.n = 1;
		snprintf(m.v[0].event, sizeof(m.v[0].event), "perf_event");
		snprintf(m.v[0].source, sizeof(m.v[0].source), "software");
		m.v[0].status = HVB_ST_UNSUPPORTED;
		snprintf(m.v[0].note, sizeof(m.v[0].note), "%.119s", nc->err);
	} else {
		m.n = hvb_perf_count(nc->perf);
		for (unsigned i = 0; i < m.n; i++) {
			hvb_perf_delta(nc->perf, &nc->begin, end, i, &m.v[i]);
			if (read_err && m.v[i].status == HVB_ST_OK) {
				m.v[i].has_value = false;
				m.v[i].status = HVB_ST_FAILED;
				snprintf(m.v[i].note, sizeof(m.v[i].note),
					 "reading the counters failed: %s", strerror(-read_err));
			}
		}
	}
	/* A failed write shows up in the parent as a missing message. */
	if (write(nc->fd[1], &m, sizeof(m)) != (ssize_t)sizeof(m))
		return;
}

/* Read at BEGIN after the record is out, at END before it goes. */
static void child_rep_hook(const struct hvb_record *rec, bool written)
{
	struct native_counters *nc = child_nc;
	struct hvb_perf_snap end = { 0 };
	int r = 0;

	if (rec->type == HVB_REC_REP_BEGIN && written) {
		nc->cpu_err = process_cpu_ns(&nc->cpu_begin);
		nc->begun = nc->perf && !hvb_perf_read(nc->perf, &nc->begin);
		if (nc->perf && !nc->begun)
			memset(&nc->begin, 0, sizeof(nc->begin));
	} else if (rec->type == HVB_REC_REP_END && !written) {
		if (nc->perf)
			r = nc->begun ? hvb_perf_read(nc->perf, &end) : -EIO;
		child_send(nc, rec, &end, r);
	}
}

void native_counters_child(struct native_counters *nc)
{
	int r;

	close(nc->fd[0]);
	nc->fd[0] = -1;
	r = hvb_perf_open(&nc->perf, 0, nc->events, nc->n, nc->err, sizeof(nc->err));
	if (r && !nc->err[0])
		snprintf(nc->err, sizeof(nc->err), "perf counters not opened: %s", strerror(-r));
	child_nc = nc;
	rt_native_set_rep_hook(child_rep_hook);
}

void native_counters_parent(struct native_counters *nc, const struct hvb_out *out)
{
	close(nc->fd[1]);
	nc->fd[1] = -1;
	nc->out = out;
}

static int parent_recv(struct native_counters *nc, struct ctr_msg *m)
{
	struct pollfd p = { .fd = nc->fd[0], .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, CTR_WAIT_MS) <= 0)
		return -ETIMEDOUT;
	n = read(nc->fd[0], m, sizeof(*m));
	if (n != (ssize_t)sizeof(*m) || m->magic != CTR_MAGIC || m->n > HVB_PERF_MAX_EVENTS)
		return -EPROTO;
	return 0;
}

static void terminate(char *s, size_t len)
{
	s[len - 1] = '\0';
}

void native_counters_on_rep(void *arg, const struct hvb_record *rec, bool begin)
{
	struct native_counters *nc = arg;
	char workload[HVB_NAME_MAX + 1];
	struct ctr_msg m;
	int r;

	if (begin)
		return;
	memcpy(workload, rec->workload, HVB_NAME_MAX);
	workload[HVB_NAME_MAX] = '\0';
	r = parent_recv(nc, &m);
	if (!r && m.rep != rec->rep)
		r = -EPROTO;
	nc->rep_cpu_err = r ? r : m.cpu_err > 0 ? -EPROTO : m.cpu_err;
	nc->rep_cpu_ns = r ? 0 : m.cpu_ns;
	if (r) {
		hvb_out_log(nc->out, "%s: rep %u: no perf counter data (%s)", workload, rec->rep,
			    r == -ETIMEDOUT ? "timed out" : "malformed message");
		return;
	}
	for (unsigned i = 0; i < m.n; i++) {
		struct hvb_perf_value *v = &m.v[i];

		terminate(v->event, sizeof(v->event));
		terminate(v->source, sizeof(v->source));
		terminate(v->note, sizeof(v->note));
		if (v->status < HVB_ST_OK || v->status > HVB_ST_FAILED)
			continue;
		hvb_out_counter(nc->out, .workload = workload, .rep = rec->rep, .event = v->event,
				.has_value = v->has_value, .value = v->value,
				.time_enabled = v->enabled, .time_running = v->running,
				.source = v->source, .status = (enum hvb_status)v->status,
				.note = v->note);
	}
}

void native_counters_fini(struct native_counters *nc)
{
	for (int i = 0; i < 2; i++)
		if (nc->fd[i] >= 0)
			close(nc->fd[i]);
	nc->fd[0] = nc->fd[1] = -1;
}
