/*
 * What one VM costs the host (hvbench capacity, results/FORMAT.md
 * "Capacity"): the memory and CPU time of the process tree that is the VM
 * (an `hvbench run` child and its VMM, e.g. QEMU, below it), or of a Xen
 * domain; and the host's memory policy that decides those figures (KSM,
 * THP, overcommit, swap: meta host.ksm.*, host.thp.*, host.overcommit_memory,
 * host.swap.*).
 */
#ifndef HVB_PROBES_VMCOST_H
#define HVB_PROBES_VMCOST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hvb_vmcost {
	uint64_t pss_kib; /* proportional set size (KiB) of the tree / domain memory */
	uint64_t cpu_ns;  /* host CPU time (user + system) of the tree / domain */
	char why[160];    /* on failure: what went wrong and what to do */
};

/*
 * Cost of pid and every live descendant (found by the ppid field of
 * /proc/N/stat: /proc/N/task/T/children needs CONFIG_PROC_CHILDREN, which
 * not every kernel has).
 *
 * pss_kib: the sum of Pss of /proc/N/smaps_rollup (or /proc/N/smaps on
 * kernels before 4.14): a page shared by two VMs counts half in each, so
 * the sum over the VMs of a host is what they use together.  Swapped-out
 * pages are not in it.
 *
 * cpu_ns: utime + stime + cutime + cstime of /proc/N/stat over the tree:
 * every thread, live or exited, and the children already reaped (a VMM
 * the run has waited for).  Resolution: one clock tick (1/USER_HZ, 10 ms
 * at 100 Hz) per process.  A child reaped between the reads of itself and
 * of its parent can be counted twice or not at all: read the tree while
 * the VM runs, or once after it has been reaped.
 *
 * Cost: one read of /proc/N/stat for every process of the host, then the
 * smaps_rollup of the tree: 3-5 ms per call with 120 processes on our
 * nested (PVM) 2-CPU host at load 10; a caller that polls several VMs
 * pays that per VM and poll.
 *
 * Returns 0, or -errno with why set: -ESRCH when pid is gone (exited and
 * reaped), -EACCES when its memory map may not be read (another user's
 * process: run as that user or root), -EINVAL for pid <= 0.  A descendant
 * that exits during the walk is left out, not an error.
 */
int hvb_vmcost_read(pid_t pid, struct hvb_vmcost *c);

/*
 * The same for a Xen domain, from `xl list NAME` (on PATH; root in dom0):
 * pss_kib = the domain's memory (Mem, MiB; a domain's memory is its own,
 * not shared, so its allocation is the equivalent of PSS; a device model
 * in dom0, if the domain has one, is not included), cpu_ns = Time(s) (all
 * its vCPUs, 0.1 s resolution).  Returns 0, or -errno with why: -ENOENT
 * when xl is not there or the domain does not exist, -EIO when its output
 * is not understood.
 */
int hvb_vmcost_read_domain(const char *name, struct hvb_vmcost *c);

/* Parse the output of `xl list NAME` (header line + one domain line) into
 * c; 0 or -EIO with why.  Split out for the tests. */
int hvb_vmcost_parse_xl_list(const char *text, const char *name, struct hvb_vmcost *c);

#define HVB_MEM_STATE_MAX 10

/* Host memory policy, one meta key per item (host.<key>).  A value that
 * cannot be read says "unknown (why)"; nothing is guessed. */
struct hvb_mem_state {
	int n;
	struct {
		const char *key; /* "ksm.run", "thp.enabled", "overcommit_memory", ... */
		char value[160];
	} item[HVB_MEM_STATE_MAX];
};

/*
 * Read the state under root ("" on a real host; tests give a fake tree):
 * /sys/kernel/mm/ksm/{run,pages_shared,pages_sharing},
 * /sys/kernel/mm/transparent_hugepage/{enabled,defrag} (the selected word),
 * /proc/sys/vm/overcommit_memory (+ overcommit_ratio under mode 2),
 * /proc/meminfo SwapTotal / SwapFree, /proc/sys/vm/swappiness.
 */
void hvb_mem_state_read(const char *root, struct hvb_mem_state *st);

#endif
