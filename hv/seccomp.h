/*
 * A seccomp allowlist for the vCPU thread (Firecracker's model): once the
 * VM is set up, the thread that runs KVM_RUN may only make the system calls
 * its run loop needs -- KVM_RUN and the few KVM ioctls of the verdicts and
 * probes, the writes of records and logs, the KVM stats reads, malloc,
 * futexes, and the watchdog thread vcpu_run() starts -- and nothing that
 * opens files, sockets, processes or new mappings of code.
 *
 * Classic BPF, no libseccomp.  The filter goes on the calling thread only
 * (no SECCOMP_FILTER_FLAG_TSYNC): the process's other threads are not
 * filtered, while threads the filtered thread creates (the watchdog)
 * inherit it, as the kernel does for every clone.  Installing it also sets
 * no_new_privs on the calling thread only.
 *
 * The allowlist is the table in seccomp.c, one comment per system call
 * saying who needs it; it was measured with strace (README, "Seccomp").
 */
#ifndef HV_SECCOMP_H
#define HV_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>

/*
 * What a system call outside the allowlist gets.  A foreign ABI (a 32-bit
 * int 0x80 call, an x32 call) always kills the process: no run loop makes
 * one, so it can only be an attack.
 */
enum hv_seccomp_action {
	/*
	 * Fails with EPERM (the default for benchmarks): the caller sees an
	 * error and the run ends with a verdict and its result files, where
	 * a kill would leave a run directory that says "running".
	 */
	HV_SECCOMP_EPERM,
	/* Kills the whole process with SIGSYS (SECCOMP_RET_KILL_PROCESS). */
	HV_SECCOMP_KILL,
};

/*
 * Whether this kernel can install the filter (seccomp(2) with the actions
 * it uses: allow, errno, kill_process; SECCOMP_GET_ACTION_AVAIL, Linux >=
 * 4.14).  If not, says why in `why` (may be NULL).  Installs nothing.
 */
bool hv_seccomp_supported(char *why, size_t len);

/*
 * Install the vCPU allowlist on the calling thread: no_new_privs, then the
 * filter.  Irreversible for this thread and the threads it creates from
 * now on.  0, or -errno (-EINVAL for an unknown action; what prctl or
 * seccomp returned, e.g. -ENOSYS on a kernel without seccomp filters).
 */
int hv_seccomp_install(enum hv_seccomp_action act);

/*
 * The virtio-blk I/O thread's allowlist (seccomp.c, io_rules and the
 * iothread_rules every I/O thread has), installed by that thread on
 * itself: unknown calls fail with EPERM (a request then completes with
 * VIRTIO_BLK_S_IOERR).  0 also when the kernel cannot
 * filter (hv_seccomp_supported says no), else -errno.
 */
int hv_seccomp_io_install(void);

/*
 * The virtio-net I/O thread's allowlists (seccomp.c, net_rules: tap and
 * loopback; vhost_rules: the thread that hands the rings to vhost-net),
 * installed by that thread on itself, unknown calls -> EPERM (a frame then
 * counts as a tap error).  0 also when the kernel cannot filter, else
 * -errno.
 */
int hv_seccomp_net_install(void);
int hv_seccomp_vhost_install(void);
/* The interrupt bench device's thread (irqbench_rules: write on top of
 * iothread_rules), like the above. */
int hv_seccomp_irqbench_install(void);

/* How many system calls the filter allows (clone3's ENOSYS not counted). */
unsigned hv_seccomp_n_allowed(void);

/*
 * $HVB_SECCOMP: unset or "1" = on, "0" = off.  Any other value (even "")
 * is -EINVAL, with a message naming the variable in `err`.
 */
int hv_seccomp_env(bool *on, char *err, size_t len);

/*
 * The vCPU thread's policy, shared by the kvm runner and hvb-vmm.
 *
 * `on` is the caller's setting (hv_seccomp_env(), resolved once).
 *
 * hv_seccomp_vcpu_describe: one line for meta.csv (runner.kvm.seccomp):
 *   "on: N syscalls allowed (vCPU thread), unknown -> EPERM",
 *   "off: HVB_SECCOMP=0" or "unavailable: <why>".
 *
 * hv_seccomp_vcpu_enter: call on the vCPU thread right before vcpu_run().
 * Installs the filter (unknown system calls -> EPERM) if on, unless the
 * kernel cannot filter (then the thread runs unfiltered, as describe
 * said).  0, or -errno with the reason in `why` for an install that
 * failed; the caller should not run the guest then (the meta line
 * promised a filter).
 */
void hv_seccomp_vcpu_describe(bool on, char *out, size_t len);
int hv_seccomp_vcpu_enter(bool on, char *why, size_t len);

#endif
