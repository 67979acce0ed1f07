/*
 * Host topology and pinning (hwloc).  Runners pin the workload (native
 * child, vCPU thread) to one processing unit and record where.
 */
#ifndef HVB_TOPOLOGY_H
#define HVB_TOPOLOGY_H

#include <stddef.h>

/* The PU (logical CPU, OS index) runners pin to by default: the last PU of
 * the machine, away from CPU 0 where most housekeeping interrupts land. */
int hvb_topo_default_pu(void);

/* Number of PUs (logical CPUs) allowed to this process, or -1. */
int hvb_topo_pu_count(void);

/*
 * Bind the calling thread to PU `pu` (OS index) and describe the placement
 * in desc ("pu=1 core=1 package=0 numa=0").  0 or -errno (-EINVAL: no such PU).
 */
int hvb_topo_pin_thread(int pu, char *desc, size_t len);

/*
 * Where PU `pu` (OS index) sits: "pu=1 core=1 l2=1 l3=0 numa=0" (hwloc
 * logical indexes; "l3=none" on a machine without that cache).  0 or
 * -errno (-EINVAL: no such PU, -EIO: no topology).
 */
int hvb_topo_describe_pu(int pu, char *desc, size_t len);

/*
 * The CPU a task last ran on, from the text of /proc/PID/task/TID/stat
 * (field 39, "processor"; the command name in parentheses may hold spaces
 * and parentheses, so fields are counted after the last ')'): the CPU, or
 * -EPROTO for text that is not such a line.
 */
int hvb_topo_stat_cpu(const char *stat);
/* The same read from /proc for task tid of process pid: CPU or -errno. */
int hvb_topo_task_cpu(int pid, int tid);

/* One-line summary: "packages=1 cores=2 pus=2 numa=1 l3=..." ("unavailable: why" on error). */
void hvb_topo_summary(char *buf, size_t len);

#endif
