/* Placement of the threads serving a guest, into meta.csv (thread_placement.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "thread_placement.h"
#include "sink.h"
#include "topology.h"

static void put(const struct hvb_out *out, const char *thread, const char *desc)
{
	char key[128];

	snprintf(key, sizeof(key), "placement.%s.%s", out->runner, thread);
	hvb_sink_meta(out->sink, key, desc);
}

void hvb_placement_record_cpu(const struct hvb_out *out, const char *thread, int cpu)
{
	char desc[160];
	int r;

	if (cpu < 0)
		snprintf(desc, sizeof(desc), "unknown: %s", strerror(-cpu));
	else if ((r = hvb_topo_describe_pu(cpu, desc, sizeof(desc))))
		snprintf(desc, sizeof(desc), "pu=%d (hwloc: %s)", cpu,
			 r == -EINVAL ? "no such PU in the topology" : "no topology");
	put(out, thread, desc);
}

void hvb_placement_record(const struct hvb_out *out, const char *thread, pid_t pid, pid_t tid)
{
	char desc[160];
	int cpu = hvb_topo_task_cpu((int)pid, (int)tid);

	if (cpu >= 0)
		return hvb_placement_record_cpu(out, thread, cpu);
	snprintf(desc, sizeof(desc), "unknown: /proc/%d/task/%d/stat: %s", (int)pid, (int)tid,
		 strerror(-cpu));
	put(out, thread, desc);
}
