/*
 * Placement of the threads that serve a guest (thread_placement.c): where each
 * ran, with hwloc's view of that PU, into meta.csv as
 * placement.<runner>.<thread> = "pu=1 core=1 l2=1 l3=0 numa=0" (FORMAT.md).
 * Sampled at REP_END (the task's last CPU, /proc/PID/task/TID/stat field
 * 39); a later repetition's sample replaces an earlier one (the key is
 * per run: the last repetition's placement is what meta.csv keeps).
 */
#ifndef HVB_RUNNERS_COMMON_THREAD_PLACEMENT_H
#define HVB_RUNNERS_COMMON_THREAD_PLACEMENT_H

#include <sys/types.h>

struct hvb_out;

/* Record where task tid of process pid (thread "vcpu0", "io", "main", ...)
 * last ran; a task that cannot be read is recorded with the reason. */
void hvb_placement_record(const struct hvb_out *out, const char *thread, pid_t pid, pid_t tid);

/* The same for a CPU already known (sched_getcpu of the caller: a thread
 * that may not open /proc, e.g. the kvm runner's vCPU under seccomp). */
void hvb_placement_record_cpu(const struct hvb_out *out, const char *thread, int cpu);

#endif
