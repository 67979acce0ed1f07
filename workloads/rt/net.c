/*
 * rt_net_* (workload.h) in the guest: one entry point per call, served by
 * the network driver of the platform in use (rt_platform->net), so net/
 * bodies never test a platform.  The addresses come from the net.* words
 * (workloads/networds.c) before the driver opens.  Before a successful
 * rt_net_open every other call refuses (-ENODEV / 0).
 */
#include "harness.h"
#include "rt.h"
#include "workload.h"

#define RT_ENODEV 19
#define RT_EINVAL 22

static const struct rt_net_ops *net_open_ops; /* set once open succeeded */
static struct rt_net_info net_info;

int rt_net_open(struct rt_net_info *info, const char **why)
{
	const struct rt_net_ops *ops = rt_platform->net;
	struct rt_net_info fresh = { 0 };
	int e;

	if (net_open_ops) {
		*info = net_info;
		return 0;
	}
	if (!ops) {
		*why = "this platform has no network driver";
		return -RT_ENODEV;
	}
	e = hvb_net_words(hvb_harness_cmdline(), &fresh, why);
	if (e < 0)
		return e;
	e = ops->open(&fresh, why);
	if (e < 0)
		return e;
	net_info = fresh;
	net_open_ops = ops;
	*info = net_info;
	return 0;
}

int rt_net_send(const void *frame, uint32_t len)
{
	if (!net_open_ops)
		return -RT_ENODEV;
	if (!frame || len < RT_NET_FRAME_MIN || len > RT_NET_FRAME_MAX)
		return -RT_EINVAL;
	return net_open_ops->send(frame, len);
}

void rt_net_kick(void)
{
	if (net_open_ops)
		net_open_ops->kick();
}

uint32_t rt_net_recv(void *buf, uint32_t max)
{
	if (!net_open_ops || !buf || !max)
		return 0;
	return net_open_ops->recv(buf, max);
}

void rt_net_stats(struct rt_net_stats *st)
{
	*st = (struct rt_net_stats){ 0 };
	if (net_open_ops)
		net_open_ops->stats(st);
}
