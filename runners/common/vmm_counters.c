/* perf counters on the VMM's threads (vmm_counters.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sink.h"
#include "vmm_counters.h"

const char *const hvb_vmm_events[] = {
	"task-clock",	   "context-switches", "cpu-migrations", "page-faults",
	"cycles:mh",	   "cycles:mg",	       "instructions:mh", "instructions:mg",
};
const unsigned hvb_vmm_n_events = sizeof(hvb_vmm_events) / sizeof(hvb_vmm_events[0]);

static void add_task(struct hvb_vmm_counters *c, pid_t tid, bool vcpu)
{
	struct hvb_vmm_task *t;
	char err[200];

	for (unsigned i = 0; i < c->n; i++)
		if (c->t[i].tid == tid)
			return; /* a vCPU thread is also one of the process's */
	if (c->n == HVB_VMM_MAX_TASKS) {
		c->missed++;
		return;
	}
	t = &c->t[c->n];
	memset(t, 0, sizeof(*t));
	if (hvb_perf_open(&t->perf, tid, hvb_vmm_events, hvb_vmm_n_events, err, sizeof(err))) {
		c->missed++;
		snprintf(c->err, sizeof(c->err), "perf_event_open on thread %d: %.150s", (int)tid, err);
		return;
	}
	t->tid = tid, t->vcpu = vcpu;
	c->vcpus += vcpu;
	c->n++;
}

void hvb_vmm_counters_open(struct hvb_vmm_counters *c, pid_t pid, const pid_t *vcpus,
			   unsigned nv)
{
	char path[64];
	struct dirent *d;
	DIR *dir;

	memset(c, 0, sizeof(*c));
	c->open = true;
	for (unsigned i = 0; i < nv; i++)
		if (vcpus[i] > 0)
			add_task(c, vcpus[i], true);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir) {
		snprintf(c->err, sizeof(c->err), "%s: %s", path, strerror(errno));
		return;
	}
	while ((d = readdir(dir)))
		if (d->d_name[0] >= '1' && d->d_name[0] <= '9')
			add_task(c, (pid_t)atoi(d->d_name), false);
	closedir(dir);
	if (c->n)
		c->err[0] = '\0';
}

void hvb_vmm_counters_refuse(struct hvb_vmm_counters *c, const char *why)
{
	memset(c, 0, sizeof(*c));
	c->open = true;
	snprintf(c->err, sizeof(c->err), "%s", why);
}

void hvb_vmm_counters_begin(struct hvb_vmm_counters *c)
{
	int r;

	c->begun = c->n > 0;
	for (unsigned i = 0; i < c->n && c->begun; i++)
		if ((r = hvb_perf_read(c->t[i].perf, &c->t[i].a))) {
			snprintf(c->err, sizeof(c->err), "reading the counters at REP_BEGIN: %s",
				 strerror(-r));
			c->begun = false;
		}
}

/* The sum of event e over the tasks of one scope (vCPU threads or all). */
struct scope_sum {
	double value;
	uint64_t enabled, running;
	unsigned tasks;
	bool scaled, unsupported;
	char why[120];
};

static int sum_scope(struct hvb_vmm_counters *c, unsigned e, bool vcpu_only, struct scope_sum *s)
{
	struct hvb_perf_snap b;
	struct hvb_perf_value v;
	const char *why;

	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < c->n; i++) {
		if (vcpu_only && !c->t[i].vcpu)
			continue;
		if (hvb_perf_read(c->t[i].perf, &b))
			return -EIO; /* the thread ended (QEMU's pool workers do) */
		if (!hvb_perf_supported(c->t[i].perf, e, &why)) {
			s->unsupported = true;
			snprintf(s->why, sizeof(s->why), "%s", why);
			return 0;
		}
		hvb_perf_delta(c->t[i].perf, &c->t[i].a, &b, e, &v);
		s->tasks++;
		/* A task event's clock runs only while its thread does: a thread
		 * that slept through the repetition has nothing to add. */
		if (!v.has_value)
			continue;
		s->value += v.value, s->enabled += v.enabled, s->running += v.running;
		s->scaled |= v.running < v.enabled;
	}
	return 0;
}

static void write_scope(struct hvb_vmm_counters *c, const struct hvb_out *out,
			const char *workload, unsigned rep, uint64_t ops, bool vcpu_only)
{
	const char *scope = vcpu_only ? "vcpu-threads" : "vmm-threads";
	char event[80], note[240];
	struct scope_sum s;

	for (unsigned e = 0; e < hvb_vmm_n_events; e++) {
		const char *src = hvb_perf_source(c->t[0].perf, e);
		snprintf(event, sizeof(event), "%s.%s", scope, hvb_vmm_events[e]);
		if (sum_scope(c, e, vcpu_only, &s)) {
			hvb_out_counter(out, .workload = workload, .rep = rep, .event = event,
					.source = src, .status = HVB_ST_FAILED,
					.note = "reading a thread's counters failed (it ended?)");
			continue;
		}
		if (s.unsupported) {
			hvb_out_counter(out, .workload = workload, .rep = rep, .event = event,
					.source = src, .status = HVB_ST_UNSUPPORTED, .note = s.why);
			continue;
		}
		snprintf(note, sizeof(note),
			 "summed over %u %s threads (those alive when counting began%s)%s; "
			 "REP_BEGIN..REP_END as hvbench saw them; ops=%llu",
			 s.tasks, vcpu_only ? "vCPU" : "VMM", c->missed ? ", some not counted" : "",
			 s.scaled ? "; multiplexed: scaled" : "", (unsigned long long)ops);
		hvb_out_counter(out, .workload = workload, .rep = rep, .event = event,
				.has_value = true, .value = s.value, .time_enabled = s.enabled,
				.time_running = s.running, .source = src, .note = note);
	}
}

void hvb_vmm_counters_end(struct hvb_vmm_counters *c, const struct hvb_out *out,
			  const char *workload, unsigned rep, uint64_t ops)
{
	if (!c->open)
		return;
	if (!c->n || !c->begun) {
		hvb_out_counter(out, .workload = workload, .rep = rep, .event = "vmm-threads",
				.source = "software", .status = c->n ? HVB_ST_FAILED : HVB_ST_UNSUPPORTED,
				.note = c->err[0] ? c->err : "no REP_BEGIN reading of the VMM threads");
		c->begun = false;
		return;
	}
	if (c->vcpus)
		write_scope(c, out, workload, rep, ops, true);
	write_scope(c, out, workload, rep, ops, false);
	c->begun = false;
}

void hvb_vmm_counters_close(struct hvb_vmm_counters *c)
{
	for (unsigned i = 0; i < c->n; i++)
		hvb_perf_close(c->t[i].perf);
	c->n = 0;
	c->open = false;
}

/* ------------------------------------------------------------ the relay */

void hvb_vmm_relay_init(struct hvb_vmm_relay *r, struct hvb_vmm_counters *c)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->c = c;
}

void hvb_vmm_relay_destroy(struct hvb_vmm_relay *r)
{
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
}

/* An absolute CLOCK_REALTIME time ms from now (the condition variable's clock). */
static struct timespec deadline_in(unsigned ms)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L)
		t.tv_sec++, t.tv_nsec -= 1000000000L;
	return t;
}

/* Post a request (r->mu held) and wait until it is served: true, or
 * false after HVB_RELAY_WAIT_MS (the request is withdrawn). */
static bool ask(struct hvb_vmm_relay *r, int req)
{
	struct timespec until = deadline_in(HVB_RELAY_WAIT_MS);
	bool served;

	r->req = req;
	r->served = false;
	pthread_cond_broadcast(&r->cv);
	while (!r->served)
		if (pthread_cond_timedwait(&r->cv, &r->mu, &until))
			break;
	served = r->served;
	if (!served) {
		r->req = HVB_RELAY_NONE;
		r->timeouts++;
	}
	return served;
}

void hvb_vmm_relay_begin(struct hvb_vmm_relay *r)
{
	pthread_mutex_lock(&r->mu);
	if (!ask(r, HVB_RELAY_BEGIN)) {
		r->c->begun = false;
		snprintf(r->c->err, sizeof(r->c->err),
			 "the REP_BEGIN reading was not done: the job's main thread did not "
			 "answer within %d ms", HVB_RELAY_WAIT_MS);
	}
	pthread_mutex_unlock(&r->mu);
}

void hvb_vmm_relay_end(struct hvb_vmm_relay *r, const struct hvb_out *out,
		       const char *workload, unsigned rep, uint64_t ops)
{
	bool served;

	pthread_mutex_lock(&r->mu);
	r->out = out, r->workload = workload, r->rep = rep, r->ops = ops;
	served = ask(r, HVB_RELAY_END);
	pthread_mutex_unlock(&r->mu);
	if (!served && r->c->open)
		hvb_out_counter(out, .workload = workload, .rep = rep, .event = "vmm-threads",
				.source = "software", .status = HVB_ST_FAILED,
				.note = "the REP_END reading was not done: the job's main thread "
					"did not answer in time");
}

void hvb_vmm_relay_quit(struct hvb_vmm_relay *r)
{
	pthread_mutex_lock(&r->mu);
	r->quit = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

bool hvb_vmm_relay_serve(struct hvb_vmm_relay *r, unsigned ms)
{
	struct timespec until = deadline_in(ms);
	bool quit;

	pthread_mutex_lock(&r->mu);
	while (r->req == HVB_RELAY_NONE && !r->quit)
		if (pthread_cond_timedwait(&r->cv, &r->mu, &until))
			break;
	if (r->req == HVB_RELAY_BEGIN)
		hvb_vmm_counters_begin(r->c);
	else if (r->req == HVB_RELAY_END)
		hvb_vmm_counters_end(r->c, r->out, r->workload, r->rep, r->ops);
	if (r->req != HVB_RELAY_NONE) {
		r->req = HVB_RELAY_NONE;
		r->served = true;
		pthread_cond_broadcast(&r->cv);
	}
	quit = r->quit;
	pthread_mutex_unlock(&r->mu);
	return quit;
}
