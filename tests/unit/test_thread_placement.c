/*
 * Placement probes (probes/topology.c): the processor field of
 * /proc/PID/task/TID/stat parsed from hand-made lines (hostile command
 * names included) and from this thread's own, pinned; hwloc's description
 * of a PU.
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tap.h"
#include "topology.h"

/* A stat line with command comm and processor cpu (field 39). */
static void stat_line(char *buf, size_t len, const char *comm, const char *cpu)
{
	int o = snprintf(buf, len, "1234 (%s) S", comm);

	for (int field = 4; field <= 38; field++)
		o += snprintf(buf + o, len - (size_t)o, " %d", field);
	snprintf(buf + o, len - (size_t)o, " %s 0 0 0\n", cpu);
}

static void parse_cases(void)
{
	char line[512];

	stat_line(line, sizeof(line), "CPU 0/KVM", "7");
	TAP_EQ_INT(hvb_topo_stat_cpu(line), 7, "vCPU thread name with space and slash");
	stat_line(line, sizeof(line), "a) b) (c", "3");
	TAP_EQ_INT(hvb_topo_stat_cpu(line), 3, "parentheses in the name: fields after the last ')'");
	stat_line(line, sizeof(line), "x", "x1");
	TAP_EQ_INT(hvb_topo_stat_cpu(line), -EPROTO, "non-numeric processor refused");
	stat_line(line, sizeof(line), "x", "99999999");
	TAP_EQ_INT(hvb_topo_stat_cpu(line), -EPROTO, "absurd processor refused");
	TAP_EQ_INT(hvb_topo_stat_cpu("1234 (x) S 1 2 3"), -EPROTO, "truncated line refused");
	TAP_EQ_INT(hvb_topo_stat_cpu("no parentheses at all"), -EPROTO, "no name refused");
	TAP_EQ_INT(hvb_topo_stat_cpu(""), -EPROTO, "empty refused");
}

static void live_cases(void)
{
	int pu = hvb_topo_default_pu(), cpu;
	char desc[160], pin[160];
	regex_t re;

	if (pu < 0 || hvb_topo_pin_thread(pu, pin, sizeof(pin))) {
		TAP_SKIP("cannot pin to a PU here");
		return;
	}
	usleep(1000); /* be rescheduled onto it */
	cpu = hvb_topo_task_cpu((int)getpid(), (int)syscall(SYS_gettid));
	TAP_EQ_INT(cpu, pu, "a pinned thread's stat says its PU");
	TAP_EQ_INT(hvb_topo_task_cpu((int)getpid(), 0), -ENOENT, "no such task: -ENOENT");
	TAP_EQ_INT(hvb_topo_describe_pu(pu, desc, sizeof(desc)), 0, "PU described");
	regcomp(&re, "^pu=[0-9]+ core=([0-9]+|none) l2=([0-9]+|none) l3=([0-9]+|none) "
		     "numa=([0-9]+|none)$", REG_EXTENDED | REG_NOSUB);
	TAP_OK(!regexec(&re, desc, 0, NULL, 0), desc);
	regfree(&re);
	TAP_OK(strstr(desc, "numa=none") == NULL, "every PU has a NUMA node (hwloc 2 cpusets)");
	TAP_EQ_INT(hvb_topo_describe_pu(1 << 20, desc, sizeof(desc)), -EINVAL, "no such PU");
	TAP_EQ_INT(hvb_topo_describe_pu(-1, desc, sizeof(desc)), -EINVAL, "negative PU");
}

int main(void)
{
	parse_cases();
	live_cases();
	return tap_done();
}
