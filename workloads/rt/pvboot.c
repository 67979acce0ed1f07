/*
 * The PV boot's result (struct rt_pv_boot), published by pv.c once the
 * image runs as a Xen PV domU and read by main.c and xen.c.  It lives on
 * its own so that xen.c, which tells PVH from PV in its console code,
 * needs nothing of pv.c, which calls xen.c's hypercalls: no circle.
 */
#include "pv.h"

static const struct rt_pv_boot *published;

const struct rt_pv_boot *rt_pv(void)
{
	return published;
}

void rt_pv_publish(const struct rt_pv_boot *boot)
{
	published = boot;
}
