/*
 * perf_event counters, events named by strings and encoded by libpfm4
 * (pfm_get_os_event_encoding), so an event list is data: "cycles",
 * "LLC-load-misses", "perf::PERF_COUNT_SW_PAGE_FAULTS", a raw PMU event
 * name, ...
 *
 * Hardware (PMU) events are opened as one group so they are counted over
 * the same interval; an event that does not fit the group gets a group of
 * its own (the kernel then multiplexes).  Software events are opened one
 * by one (they never multiplex; grouped under task-clock they undercount).
 * Every read returns time_enabled/time_running: running < enabled
 * means the counter was multiplexed and its value is scaled (and marked).
 * An event the kernel refuses (no PMU, no permission) is kept in the set as
 * unsupported with the reason, never read as zero.
 *
 *	struct hvb_perf *p;
 *	struct hvb_perf_snap a, b;
 *	hvb_perf_open(&p, 0, hvb_perf_default_events, hvb_perf_n_default, err, sizeof(err));
 *	hvb_perf_read(p, &a); ...work...; hvb_perf_read(p, &b);
 *	for (i...) hvb_perf_delta(p, &a, &b, i, &v);
 */
#ifndef HVB_PERF_H
#define HVB_PERF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HVB_PERF_MAX_EVENTS 16

struct hvb_perf;

/* Raw counts of every event at one instant (no allocation to take one). */
struct hvb_perf_snap {
	struct {
		uint64_t value, enabled, running;
	} c[HVB_PERF_MAX_EVENTS];
};

/* The change of one event over an interval, ready for counters.csv. */
struct hvb_perf_value {
	char event[48];
	char source[12]; /* "pmu" or "software" */
	bool has_value;  /* false: unsupported or never counted (note says why) */
	int status;      /* enum hvb_status: ok, or unsupported */
	double value;    /* delta, scaled by enabled/running when multiplexed */
	uint64_t enabled, running; /* ns over the interval */
	char note[120];
};

/* Default event list: hardware (may be unsupported) then software. */
extern const char *const hvb_perf_default_events[];
extern const size_t hvb_perf_n_default;

/*
 * Open counters for the task `pid` (0 = the calling thread; counting starts
 * now, user and kernel mode, or user only where perf_event_paranoid forbids
 * kernel counting; not inherited by children).  0, or -errno:
 * -EINVAL an event name libpfm4 does not know or a bad list (err says which
 * and what to do), -E2BIG more than HVB_PERF_MAX_EVENTS, -ENOMEM.  Events
 * the kernel refuses do not fail the open: they are unsupported.
 */
int hvb_perf_open(struct hvb_perf **out, pid_t pid, const char *const *events, size_t n,
		  char *err, size_t errlen);

/*
 * How many software event kinds have their kernel static key held by this
 * process (perf.c hold_sw_key: the first open of a kind keeps a disabled
 * event of it open until exit, so the kernel does not rewrite its text at
 * every job's open and close).  For tests and meta.
 */
int hvb_perf_sw_keys_held(void);

/*
 * Parse a comma-separated event list ("cycles,task-clock") into at most
 * max names pointing into buf (modified).  Number of names, or -E2BIG.
 */
int hvb_perf_parse_list(char *buf, const char **names, size_t max);

unsigned hvb_perf_count(const struct hvb_perf *p);
const char *hvb_perf_name(const struct hvb_perf *p, unsigned i);
const char *hvb_perf_source(const struct hvb_perf *p, unsigned i);
/* Is event i counting?  When not, *why (if non-NULL) says why. */
bool hvb_perf_supported(const struct hvb_perf *p, unsigned i, const char **why);

/* Start / stop every group (counters start enabled at open).  0 or -errno. */
int hvb_perf_enable(struct hvb_perf *p);
int hvb_perf_disable(struct hvb_perf *p);

/* Read every group: one read() per group, no allocation.  0 or -errno. */
int hvb_perf_read(const struct hvb_perf *p, struct hvb_perf_snap *snap);

/* The change of event i from a to b (scaled and marked if multiplexed). */
void hvb_perf_delta(const struct hvb_perf *p, const struct hvb_perf_snap *a,
		    const struct hvb_perf_snap *b, unsigned i, struct hvb_perf_value *out);

void hvb_perf_close(struct hvb_perf *p);

/*
 * Can `event` be counted on this host?  1 yes, 0 no (why says why), -EINVAL
 * unknown event name (why says so).
 */
int hvb_perf_probe(const char *event, char *why, size_t len);

/* One line for meta.csv / hvbench info: "available (cycles counted)" or
 * "none (hardware events not supported: ...)". */
void hvb_perf_pmu_summary(char *buf, size_t len);

#endif
