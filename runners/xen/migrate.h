/*
 * runners/xen/migrate.h: live migration of a running Xen PVH domU to a new
 * domain on this host, with libxl as `xl migrate` does it (source:
 * libxl_domain_suspend(LIBXL_SUSPEND_LIVE); destination:
 * libxl_domain_create_restore; the names juggled through "--incoming" and
 * "--migratedaway"), the stream through a relay that counts its bytes and
 * can hold it to a bandwidth.
 *
 * Self-contained (libxl, libc), like xl.c: hvb_xl_run drives it from its
 * watch loop (hvb_xl_cfg.mig), the runner arms it and writes the rows.
 * Processes: the runner forks a controller ("hvb-xen-mig", its own process
 * group, killed with the runner), which forks the sender ("hvb-xen-send")
 * and the receiver ("hvb-xen-recv"), each with a libxl context of its own,
 * and relays the stream between them.
 */
#ifndef HVB_XEN_MIGRATE_H
#define HVB_XEN_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "migrate_progress.h"

struct hvb_xl;

enum xen_mig_state {
	XEN_MIG_IDLE,	 /* not armed yet */
	XEN_MIG_ARMED,	 /* waiting for at_ms */
	XEN_MIG_RUNNING, /* the controller runs */
	XEN_MIG_DONE,	 /* the destination runs the guest */
	XEN_MIG_FAILED,	 /* why says why; the source runs on (or is gone) */
};

/* What xen_mig_poll saw. */
enum xen_mig_event {
	XEN_MIG_EV_NONE,
	XEN_MIG_EV_SUSPENDED, /* the source is suspended: its console says no more */
	XEN_MIG_EV_RESTORED,  /* the destination is built, paused: open its console, then go */
	XEN_MIG_EV_DONE,      /* the destination runs (res.dst_domid), the source is gone */
	XEN_MIG_EV_FAILED,    /* res.why; the source was resumed if it had been suspended */
};

/* Times are CLOCK_MONOTONIC ns (hvb_now_ns's clock), 0: not reached. */
struct xen_mig_result {
	uint64_t t_start;     /* libxl_domain_suspend called */
	uint64_t t_suspended; /* libxc: "Domain now suspended" */
	uint64_t t_restored;  /* libxl_domain_create_restore returned */
	uint64_t t_go;	      /* the runner had the destination's console */
	uint64_t t_unpaused;  /* libxl_domain_unpause of the destination returned */
	uint64_t bytes;	      /* through the relay */
	unsigned rounds;      /* pre-copy rounds (libxc's "Frames iteration N") */
	unsigned long last_round_pages; /* pages of the last pre-copy round */
	unsigned long final_pages;	/* pages sent while suspended */
	bool has_progress;		/* libxc's progress reached us */
	uint32_t dst_domid;
	char why[512];
};

struct xen_mig {
	struct xen_mig_params p;
	enum xen_mig_state state;
	uint64_t t_armed;
	pid_t ctl;	 /* the controller, 0: none */
	int ev_fd;	 /* controller -> runner: event lines */
	int cmd_fd;	 /* runner -> controller: "go" */
	uint32_t src_domid;
	bool guest_suspends; /* PV: the guest answers libxl's request itself */
	bool nonlive;	 /* PV: suspend first, then copy (no log-dirty: see xen.c) */
	char name[64];	 /* the domain's name */
	bool dst_console; /* hvb_xl_run reads the destination's console */
	char runner_why[256]; /* the runner's own reason to stop it (no console) */
	char line[1024]; /* a partial event line */
	size_t line_len;
	struct xen_mig_result res;
};

void xen_mig_init(struct xen_mig *m, const struct xen_mig_params *p);

/* Start the clock (the runner: at the first REP_BEGIN); once. */
void xen_mig_arm(struct xen_mig *m);

/* Armed and at_ms past: time to xen_mig_start. */
bool xen_mig_due(const struct xen_mig *m);

/* Fork the controller for domain domid of xl: 0, or -errno with
 * res.why (state XEN_MIG_FAILED). */
int xen_mig_start(struct xen_mig *m, struct hvb_xl *xl, uint32_t domid);

/* Read the controller's events, non-blocking: one event per call. */
enum xen_mig_event xen_mig_poll(struct xen_mig *m);

/* The runner has the destination's console: let it run. */
void xen_mig_go(struct xen_mig *m);

/* End it: a controller still running is killed (its process group) and
 * reaped, then every domain of the migration but keep_domid is destroyed
 * ("<name>--incoming", the source or the destination).  Safe to call
 * more than once and in any state. */
void xen_mig_stop(struct xen_mig *m, struct hvb_xl *xl, uint32_t keep_domid);

/* Short name of a state. */
const char *xen_mig_state_str(enum xen_mig_state s);

#endif /* HVB_XEN_MIGRATE_H */
