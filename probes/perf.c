/*
 * perf_event counters encoded by libpfm4 (see perf.h for the model).
 *
 * As in libpfm4's perf_examples: pfm_initialize() once, each event string
 * encoded into a perf_event_attr by pfm_get_os_event_encoding(), groups
 * read with PERF_FORMAT_GROUP so one read() returns every member and the
 * group's time_enabled/time_running.
 */
#include "perf.h"

#include <errno.h>
#include <perfmon/pfmlib_perf_event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hvb/abi.h"

const char *const hvb_perf_default_events[] = {
	"cycles",         "instructions",     "branch-misses", "cache-misses",
	"LLC-load-misses", "dTLB-load-misses", "task-clock",    "page-faults",
	"context-switches", "cpu-migrations",
};
const size_t hvb_perf_n_default =
	sizeof(hvb_perf_default_events) / sizeof(hvb_perf_default_events[0]);

#define READ_FMT                                                                           \
	(PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING)

struct perf_ev {
	char name[48];
	const char *source;
	bool ok;
	bool user_only; /* kernel counting refused: exclude_kernel retry worked */
	int fd;
	unsigned group, slot; /* group index, position in the group's read */
	char why[120];
};

struct perf_group {
	int leader;
	unsigned n;
	unsigned ev[HVB_PERF_MAX_EVENTS];
};

struct hvb_perf {
	unsigned n, ngroups;
	struct perf_ev ev[HVB_PERF_MAX_EVENTS];
	struct perf_group g[HVB_PERF_MAX_EVENTS];
};

static int pfm_ready(void)
{
	static int state; /* 0 not tried, 1 ok, <0 error */

	if (!state)
		state = pfm_initialize() == PFM_SUCCESS ? 1 : -1;
	return state > 0 ? 0 : -ENODEV;
}

/* Encode `name` for plm (PFM_PLM0 | PFM_PLM3).  0 or a PFM_ERR_* code. */
static int encode(const char *name, struct perf_event_attr *attr)
{
	pfm_perf_encode_arg_t arg;

	memset(attr, 0, sizeof(*attr));
	memset(&arg, 0, sizeof(arg));
	arg.attr = attr;
	arg.size = sizeof(arg);
	return pfm_get_os_event_encoding(name, PFM_PLM0 | PFM_PLM3, PFM_OS_PERF_EVENT_EXT, &arg);
}

static int sys_perf_event_open(struct perf_event_attr *attr, pid_t pid, int group_fd)
{
	return (int)syscall(SYS_perf_event_open, attr, pid, -1, group_fd, PERF_FLAG_FD_CLOEXEC);
}

static int paranoid_level(void)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
	int v = -99;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -99;
		fclose(f);
	}
	return v;
}

/* Why the kernel refused an event, in words that say what to do. */
static void refusal(int err, const char *source, char *why, size_t len)
{
	switch (err) {
	case ENOENT:
	case EOPNOTSUPP:
	case ENODEV:
	case ENXIO:
		if (!strcmp(source, "pmu"))
			snprintf(why, len, "not supported: no hardware PMU event of this kind "
					   "exposed to this kernel (virtual machine?)");
		else
			snprintf(why, len, "not supported by this kernel");
		break;
	case EACCES:
	case EPERM:
		snprintf(why, len,
			 "permission denied (kernel.perf_event_paranoid=%d): run as root or "
			 "lower it",
			 paranoid_level());
		break;
	case EBUSY:
		snprintf(why, len, "PMU busy (another tool holds the counters)");
		break;
	default:
		snprintf(why, len, "perf_event_open failed: %s", strerror(err));
		break;
	}
}

/*
 * Open one event into group_fd (-1: as a leader).  Counting starts at once.
 * fd, or -errno.  Where kernel counting is refused, retries user-only.
 */
static int open_one(struct perf_event_attr *attr, pid_t pid, int group_fd, bool *user_only)
{
	int fd;

	attr->size = sizeof(*attr);
	attr->read_format = READ_FMT;
	attr->disabled = 0;
	attr->inherit = 0;
	fd = sys_perf_event_open(attr, pid, group_fd);
	if (fd < 0 && (errno == EACCES || errno == EPERM) && !attr->exclude_kernel) {
		attr->exclude_kernel = 1;
		attr->exclude_hv = 1;
		fd = sys_perf_event_open(attr, pid, group_fd);
		*user_only = fd >= 0;
	}
	return fd < 0 ? -errno : fd;
}

/*
 * Most software events (all but cpu-clock and task-clock) switch a static
 * key in the kernel, perf_swevent_enabled[config], when the first event of
 * their kind opens and the last one closes, and every switch rewrites the
 * kernel's text on all CPUs (text_poke_bp: an int3 at each site, then IPIs
 * that wait for every CPU), the scheduler's context-switch hook among the
 * sites.  Runners open and close counters per job, so without this the
 * kernel would patch __schedule once per job while the last job's threads
 * (a halting vCPU: a context switch per halt) still switch on the other
 * CPUs.  Under the nested Linux on QEMU TCG that race wedged the host for
 * good (issue 14, ci/nested/README.md): one CPU looping on the patch's int3
 * in __schedule with interrupts off, the other waiting for it in
 * smp_call_function_many_cond while closing a job's counters; no timeout,
 * SIGTERM or SIGKILL can end that.  So the first open of each such kind
 * also opens a disabled event of that kind on the process (its main
 * thread), kept until exit: each key switches once per process, before the
 * first job's counters, and never back while guests run.
 */
static bool sw_event_has_key(const struct perf_event_attr *attr)
{
	return attr->type == PERF_TYPE_SOFTWARE && attr->config < PERF_COUNT_SW_MAX &&
	       attr->config != PERF_COUNT_SW_CPU_CLOCK && attr->config != PERF_COUNT_SW_TASK_CLOCK;
}

static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;
static bool key_held[PERF_COUNT_SW_MAX];

/* Best effort: an event the kernel refuses holds nothing (and the real
 * open will say why); the fd is never closed (process lifetime). */
static void hold_sw_key(const struct perf_event_attr *attr)
{
	struct perf_event_attr a = *attr;
	bool user_only = false;
	int fd;

	if (!sw_event_has_key(attr))
		return;
	pthread_mutex_lock(&key_lock);
	if (!key_held[attr->config]) {
		fd = open_one(&a, getpid(), -1, &user_only);
		if (fd >= 0) {
			ioctl(fd, PERF_EVENT_IOC_DISABLE, 0); /* disabled, it still holds the key */
			key_held[attr->config] = true;
		}
	}
	pthread_mutex_unlock(&key_lock);
}

int hvb_perf_sw_keys_held(void)
{
	int n = 0;

	pthread_mutex_lock(&key_lock);
	for (unsigned i = 0; i < PERF_COUNT_SW_MAX; i++)
		n += key_held[i];
	pthread_mutex_unlock(&key_lock);
	return n;
}

static struct perf_group *group_new(struct hvb_perf *p, int leader)
{
	struct perf_group *g = &p->g[p->ngroups++];

	g->leader = leader;
	g->n = 0;
	return g;
}

static void group_add(struct hvb_perf *p, struct perf_group *g, unsigned i)
{
	p->ev[i].group = (unsigned)(g - p->g);
	p->ev[i].slot = g->n;
	g->ev[g->n++] = i;
}

/* The open group of this source, or NULL. */
static struct perf_group *group_of(struct hvb_perf *p, const char *source)
{
	for (unsigned k = p->ngroups; k-- > 0;)
		if (p->ev[p->g[k].ev[0]].source == source)
			return &p->g[k];
	return NULL;
}

/*
 * Place event i: a hardware event into the hardware group, else alone
 * (multiplexed).  Software events always go alone: they never multiplex, so
 * a group buys nothing, and as members of a task-clock-led group the kernel
 * here undercounts them (page-faults read 0, 3552, 7852 for 16384 faults of
 * one task, while the same event alone counted all 16384).
 */
static void place(struct hvb_perf *p, unsigned i, struct perf_event_attr *attr, pid_t pid)
{
	struct perf_ev *e = &p->ev[i];
	struct perf_group *g = attr->type == PERF_TYPE_SOFTWARE ? NULL : group_of(p, e->source);
	struct perf_event_attr a = *attr;
	int fd = -ENOENT;

	hold_sw_key(attr);
	if (g) {
		fd = open_one(&a, pid, g->leader, &e->user_only);
		if (fd >= 0) {
			e->fd = fd;
			e->ok = true;
			group_add(p, g, i);
			return;
		}
	}
	a = *attr;
	e->user_only = false;
	fd = open_one(&a, pid, -1, &e->user_only);
	if (fd < 0) {
		refusal(-fd, e->source, e->why, sizeof(e->why));
		return;
	}
	e->fd = fd;
	e->ok = true;
	group_add(p, group_new(p, fd), i);
}

int hvb_perf_open(struct hvb_perf **out, pid_t pid, const char *const *events, size_t n,
		  char *err, size_t errlen)
{
	struct perf_event_attr attrs[HVB_PERF_MAX_EVENTS];
	struct hvb_perf *p;
	int r;

	*out = NULL;
	if (n > HVB_PERF_MAX_EVENTS) {
		snprintf(err, errlen, "too many events (%zu, at most %d)", n, HVB_PERF_MAX_EVENTS);
		return -E2BIG;
	}
	if (pfm_ready()) {
		snprintf(err, errlen, "libpfm4 initialisation failed (pfm_initialize)");
		return -ENODEV;
	}
	/* Encode everything first: a typo fails the open, it is not a
	 * measurement that happens to be unsupported. */
	for (size_t i = 0; i < n; i++) {
		r = encode(events[i], &attrs[i]);
		if (r != PFM_SUCCESS) {
			snprintf(err, errlen,
				 "unknown event '%s' (libpfm4: %s); use perf-style names such as "
				 "cycles, instructions, task-clock, page-faults",
				 events[i], pfm_strerror(r));
			return -EINVAL;
		}
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->n = (unsigned)n;
	for (unsigned i = 0; i < p->n; i++) {
		struct perf_ev *e = &p->ev[i];

		snprintf(e->name, sizeof(e->name), "%s", events[i]);
		e->source = attrs[i].type == PERF_TYPE_SOFTWARE ? "software" : "pmu";
		e->fd = -1;
		place(p, i, &attrs[i], pid);
	}
	*out = p;
	return 0;
}

int hvb_perf_parse_list(char *buf, const char **names, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		if (n == max)
			return -E2BIG;
		names[n++] = t;
	}
	return (int)n;
}

unsigned hvb_perf_count(const struct hvb_perf *p)
{
	return p->n;
}

const char *hvb_perf_name(const struct hvb_perf *p, unsigned i)
{
	return p->ev[i].name;
}

const char *hvb_perf_source(const struct hvb_perf *p, unsigned i)
{
	return p->ev[i].source;
}

bool hvb_perf_supported(const struct hvb_perf *p, unsigned i, const char **why)
{
	if (why)
		*why = p->ev[i].ok ? "" : p->ev[i].why;
	return p->ev[i].ok;
}

static int groups_ioctl(struct hvb_perf *p, unsigned long req)
{
	for (unsigned k = 0; k < p->ngroups; k++)
		if (ioctl(p->g[k].leader, req, PERF_IOC_FLAG_GROUP) < 0)
			return -errno;
	return 0;
}

int hvb_perf_enable(struct hvb_perf *p)
{
	return groups_ioctl(p, PERF_EVENT_IOC_ENABLE);
}

int hvb_perf_disable(struct hvb_perf *p)
{
	return groups_ioctl(p, PERF_EVENT_IOC_DISABLE);
}

int hvb_perf_read(const struct hvb_perf *p, struct hvb_perf_snap *snap)
{
	uint64_t buf[3 + HVB_PERF_MAX_EVENTS];

	for (unsigned k = 0; k < p->ngroups; k++) {
		const struct perf_group *g = &p->g[k];
		size_t want = (3 + g->n) * sizeof(uint64_t);
		ssize_t got = read(g->leader, buf, want);

		if (got < 0)
			return -errno;
		if ((size_t)got != want || buf[0] != g->n)
			return -EIO;
		for (unsigned m = 0; m < g->n; m++) {
			snap->c[g->ev[m]].value = buf[3 + m];
			snap->c[g->ev[m]].enabled = buf[1];
			snap->c[g->ev[m]].running = buf[2];
		}
	}
	return 0;
}

void hvb_perf_delta(const struct hvb_perf *p, const struct hvb_perf_snap *a,
		    const struct hvb_perf_snap *b, unsigned i, struct hvb_perf_value *out)
{
	const struct perf_ev *e = &p->ev[i];
	uint64_t dv, de, dr;

	memset(out, 0, sizeof(*out));
	snprintf(out->event, sizeof(out->event), "%s", e->name);
	snprintf(out->source, sizeof(out->source), "%s", e->source);
	if (!e->ok) {
		out->status = HVB_ST_UNSUPPORTED;
		snprintf(out->note, sizeof(out->note), "%s", e->why);
		return;
	}
	dv = b->c[i].value - a->c[i].value;
	de = b->c[i].enabled - a->c[i].enabled;
	dr = b->c[i].running - a->c[i].running;
	out->enabled = de;
	out->running = dr;
	if (!dr) {
		/* Enabled but never on the PMU (or a zero interval): no value,
		 * not a zero. */
		out->status = HVB_ST_UNSUPPORTED;
		snprintf(out->note, sizeof(out->note), "%s",
			 de ? "not counted: never scheduled on the PMU during the interval "
			      "(multiplexed out)"
			    : "not counted: counters disabled during the interval");
		return;
	}
	out->has_value = true;
	out->status = HVB_ST_OK;
	out->value = (double)dv;
	if (dr < de) {
		out->value = (double)dv * ((double)de / (double)dr);
		snprintf(out->note, sizeof(out->note),
			 "scaled: multiplexed, counted %.1f%% of the time", 100.0 * dr / de);
	}
	if (e->user_only)
		snprintf(out->note + strlen(out->note), sizeof(out->note) - strlen(out->note),
			 "%suser mode only (kernel counting not permitted)",
			 out->note[0] ? "; " : "");
}

void hvb_perf_close(struct hvb_perf *p)
{
	if (!p)
		return;
	/* Members before leaders does not matter to the kernel: close all. */
	for (unsigned i = 0; i < p->n; i++)
		if (p->ev[i].fd >= 0)
			close(p->ev[i].fd);
	free(p);
}

int hvb_perf_probe(const char *event, char *why, size_t len)
{
	struct hvb_perf *p;
	const char *w;
	int r = hvb_perf_open(&p, 0, &event, 1, why, len);

	if (r)
		return r == -EINVAL ? -EINVAL : 0;
	r = hvb_perf_supported(p, 0, &w) ? 1 : 0;
	snprintf(why, len, "%s", w);
	hvb_perf_close(p);
	return r;
}

void hvb_perf_pmu_summary(char *buf, size_t len)
{
	char why[160] = "", first_why[160] = "";
	size_t used = 0, hw = 0, ok = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < hvb_perf_n_default; i++) {
		struct perf_event_attr attr;
		const char *ev = hvb_perf_default_events[i];

		if (pfm_ready() || encode(ev, &attr) != PFM_SUCCESS ||
		    attr.type == PERF_TYPE_SOFTWARE)
			continue;
		hw++;
		if (hvb_perf_probe(ev, why, sizeof(why)) == 1) {
			used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
						 ok++ ? " " : "", ev);
		} else if (!first_why[0]) {
			const char *pfx = "not supported: ";

			if (!strncmp(why, pfx, strlen(pfx)))
				snprintf(first_why, sizeof(first_why), "%s", why + strlen(pfx));
			else
				snprintf(first_why, sizeof(first_why), "%s: %s", ev, why);
		}
	}
	if (!hw) {
		snprintf(buf, len, "unknown (libpfm4 unavailable)");
	} else if (!ok) {
		snprintf(buf, len, "none (hardware events not supported: %s)", first_why);
	} else {
		char list[256];

		snprintf(list, sizeof(list), "%s", buf);
		snprintf(buf, len, "%s (%s%s%s)", ok == hw ? "available" : "partial", list,
			 ok == hw ? "" : "; ", ok == hw ? "" : first_why);
	}
}
