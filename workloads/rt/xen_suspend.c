/*
 * The guest's part in its own migration under Xen PV (rt_migrate_enable,
 * rt_migrate_point: workload.h).  Everywhere else (native, hvm, PVH,
 * whose whole state is in the hypervisor's hands) both do nothing.
 *
 * How the toolstack asks: libxl writes control/shutdown = "suspend" and
 * waits up to 60 s for the guest to clear it, then for the domain to be
 * suspended.  (libxl also knows a suspend event channel the guest may
 * advertise under device/suspend/event-channel; not taken: it needs a
 * lock file and an interdomain binding in dom0 besides, and the answer
 * through xenstore is what libxl falls back to for every PV guest.)
 *
 * Free for workloads that do not migrate: nothing is watched until a
 * workload calls rt_migrate_enable (migrate/dirty, in its untimed setup),
 * which registers a xenstore watch on control/shutdown.  From then on,
 * rt_migrate_point (migrate/dirty: at each heartbeat, ~1 ms) costs two
 * loads: xenstored's watch event lands in the reply ring, and only then
 * is the node read.  On "suspend": the acknowledgement (the node
 * cleared, as libxl expects), then RT_SYS_PV_SUSPEND (pv.c), and back
 * here either in a new domain (0) or in the same one, cancelled (1).  In
 * a new domain the console and xenstore rings and ports are start_info's
 * new ones, the event channels are bound again (xen_evtirq.c), the watch
 * is registered again (the old connection's watches stay behind).  The
 * time all this takes is the guest's downtime, seen by the caller's
 * heartbeat.
 *
 * One vCPU only: the others would run on through the suspend with ports
 * and timers of the old domain (the runner refuses a PV migration with
 * more, runners/xen/xen.c).
 */
#include "pv.h"
#include "rt.h"
#include "workload.h"
#include "xen.h"
#include "xen_io.h"

#define CONTROL_SHUTDOWN "control/shutdown"

static bool watching;

void rt_migrate_enable(void)
{
	const char *why = "";
	int e;

	if (!rt_pv() || watching)
		return;
	if (rt_cpus() > 1) {
		rt_log("guest xen pv: migration: not armed: more than one vCPU runs (one only)");
		return;
	}
	if ((e = xs_init(&why)) || (e = xs_watch(CONTROL_SHUTDOWN, "hvb-suspend"))) {
		rt_log("guest xen pv: migration: cannot watch control/shutdown in xenstore: the "
		       "toolstack's suspend request would go unanswered");
		return;
	}
	watching = true;
}

/* The record of one suspend, after it (the console works again). */
static void log_resume(long rc, unsigned ports)
{
	char t[HVB_TEXT_MAX];
	size_t at;

	if (rc == 1) {
		rt_log("guest xen pv: suspend cancelled: resumed in the same domain");
		return;
	}
	if (rc) {
		rt_log("guest xen pv: suspend failed: the shared info could not be unmapped");
		return;
	}
	at = rt_text_str(t, sizeof(t), 0, "guest xen pv: resumed in a new domain: console port ");
	at = rt_text_dec(t, sizeof(t), at, rt_pv()->console_evtchn);
	at = rt_text_str(t, sizeof(t), at, ", xenstore port ");
	at = rt_text_dec(t, sizeof(t), at, rt_pv()->store_evtchn);
	at = rt_text_str(t, sizeof(t), at, ", ");
	at = rt_text_dec(t, sizeof(t), at, ports);
	rt_text_str(t, sizeof(t), at, " event channels bound again");
	rt_log(t);
}

static void suspend_now(void)
{
	unsigned ports = 0;
	long rc;

	/* libxl's "guest acknowledgement of suspend request" */
	if (xs_write(CONTROL_SHUTDOWN, ""))
		return;
	rc = (long)rt_sys(RT_SYS_PV_SUSPEND, 0, 0);
	if (rc == 0) {
		rt_xencons_resume();
		xs_resume();
		ports = rt_xen_evtchn_resume();
		if (xs_watch(CONTROL_SHUTDOWN, "hvb-suspend"))
			watching = false; /* a second migration would go unanswered */
	}
	log_resume(rc, ports);
}

void rt_migrate_point(void)
{
	static const char want[] = "suspend";
	char v[16];

	if (!watching || !xs_unsolicited())
		return;
	xs_drop_unsolicited();
	if (xs_read(CONTROL_SHUTDOWN, v, sizeof(v)) != (int)sizeof(want) - 1)
		return;
	for (unsigned i = 0; i < sizeof(want); i++)
		if (v[i] != want[i])
			return;
	suspend_now();
}
