/* Native environment of the harness (see rt_native.c). */
#ifndef HVB_RT_NATIVE_H
#define HVB_RT_NATIVE_H

#include <stdbool.h>

/* File descriptor the records go to (the native runner's pipe). */
void rt_native_set_fd(int fd);

/*
 * Call hook(rec, false) just before and hook(rec, true) just after a
 * REP_BEGIN or REP_END record is written, so probes can bracket exactly the
 * measured batches (read at BEGIN after the write, at END before it).
 */
struct hvb_record;

void rt_native_set_rep_hook(void (*hook)(const struct hvb_record *rec, bool written));

/* Page size of workload memory in KiB (4 or 2048, from --page-size):
 * rt_alloc and rt_fresh_alloc madvise their mappings accordingly. */
void rt_native_set_page_kib(unsigned kib);

/* Close the disk rt_blk_open opened and forget it, so that the next
 * rt_blk_open reads disk=/odirect= again (tests: one disk per case). */
void rt_native_blk_close(void);

/* Close the link rt_net_open opened, so that the next rt_net_open reads
 * the net.* words and netif= again (tests: another link per case). */
void rt_native_net_close(void);

/* End the worker threads of vcpus= (rt_cpu_*, smp.c): the next rt_cpus()
 * starts them anew from the harness's command line (tests). */
void rt_native_cpus_end(void);

#endif
