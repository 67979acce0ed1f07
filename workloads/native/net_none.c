/*
 * Placeholder until the native network backend (workloads/native/net.c,
 * AF_PACKET on the run's veth: branch net-wl) is merged: weak rt_net_*
 * that refuse, so that the host program and the unit tests link with the
 * net/ workloads while the parts of issue 13 land one by one.  The strong
 * definitions of native/net.c replace these at link time; once it is in,
 * this file and its line in workloads/module.mk go.  Natively, until then,
 * every net/ workload's setup fails with the reason below, never silently.
 */
#include "workload.h"

#define ENODEV_ 19

__attribute__((weak)) int rt_net_open(struct rt_net_info *info, const char **why)
{
	(void)info;
	*why = "this build has no native network backend (workloads/native/net.c)";
	return -ENODEV_;
}

__attribute__((weak)) int rt_net_send(const void *frame, uint32_t len)
{
	(void)frame, (void)len;
	return -ENODEV_;
}

__attribute__((weak)) void rt_net_kick(void)
{
}

__attribute__((weak)) uint32_t rt_net_recv(void *buf, uint32_t max)
{
	(void)buf, (void)max;
	return 0;
}

__attribute__((weak)) void rt_net_stats(struct rt_net_stats *st)
{
	*st = (struct rt_net_stats){ 0 };
}
