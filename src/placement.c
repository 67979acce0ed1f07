/* --vcpus / --cpus into a placement (placement.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement.h"

/* The allowed CPU after cpu, wrapping; cpu itself if it is the only one. */
static int next_allowed(int cpu, const cpu_set_t *allowed)
{
	for (int i = 1; i <= CPU_SETSIZE; i++) {
		int c = (cpu + i) % CPU_SETSIZE;

		if (CPU_ISSET(c, allowed))
			return c;
	}
	return cpu;
}

static int parse_list(struct hvb_placement *pl, const char *list, const cpu_set_t *allowed,
		      char *err, size_t len)
{
	const char *p = list;
	unsigned n = 0;

	while (*p) {
		char *end;
		long v;

		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p || errno || v < 0 || (*end && *end != ',') || (*end && !end[1])) {
			snprintf(err, len, "--cpus '%s': give host CPU numbers separated by "
					   "commas, e.g. 0,1", list);
			return -1;
		}
		if (v >= CPU_SETSIZE || !CPU_ISSET((int)v, allowed)) {
			snprintf(err, len, "--cpus '%s': CPU %ld is not available to this "
					   "process (see 'hvbench info', Topology)", list, v);
			return -1;
		}
		if (n < HVB_MAX_VCPUS)
			pl->cpus[n] = (int)v;
		n++;
		p = *end ? end + 1 : end;
	}
	if (n != pl->vcpus) {
		snprintf(err, len, "--cpus '%s' names %u CPU(s), --vcpus is %u: give one host "
				   "CPU per vCPU", list, n, pl->vcpus);
		return -1;
	}
	return 0;
}

/* Unpinned (no CPU to pin to): no host CPU is known, none is shared. */
static void count_hosts(struct hvb_placement *pl)
{
	pl->host_cpus = 0;
	if (pl->cpus[0] < 0)
		return;
	for (unsigned i = 0; i < pl->vcpus; i++) {
		bool seen = false;

		for (unsigned j = 0; j < i; j++)
			seen |= pl->cpus[j] == pl->cpus[i];
		pl->host_cpus += !seen;
	}
	pl->overcommit = pl->host_cpus < pl->vcpus;
}

int hvb_placement_resolve(struct hvb_placement *pl, unsigned vcpus, int cpu0, const char *list,
			  const cpu_set_t *allowed, char *err, size_t len)
{
	memset(pl, 0, sizeof(*pl));
	if (vcpus < 1 || vcpus > HVB_MAX_VCPUS) {
		snprintf(err, len, "--vcpus %u: give 1..%d", vcpus, HVB_MAX_VCPUS);
		return -1;
	}
	pl->vcpus = vcpus;
	if (list) {
		if (parse_list(pl, list, allowed, err, len))
			return -1;
	} else {
		pl->cpus[0] = cpu0;
		for (unsigned i = 1; i < vcpus; i++)
			pl->cpus[i] = cpu0 < 0 ? -1 : next_allowed(pl->cpus[i - 1], allowed);
	}
	count_hosts(pl);
	return 0;
}

void hvb_placement_list(const struct hvb_placement *pl, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < pl->vcpus && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%d", i ? "," : "", pl->cpus[i]);
}
