/*
 * runners/xen/xl.h: create, run and destroy one Xen PVH domU with libxl
 * (libxenlight, the library `xl` uses), reading its PV console.
 *
 * Self-contained (libxl, libxenstore, libc): the Xen runner (runner.h
 * descriptor) and the standalone test tool hvb-xl are built on it.  Every
 * function returns 0 or -errno unless its comment says otherwise.
 */
#ifndef HVB_XEN_XL_H
#define HVB_XEN_XL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hvb_xl;
struct xen_mig;
struct libxl__ctx;

/* What ended a domain run. */
enum hvb_xl_end {
	HVB_XL_POWEROFF = 0, /* SCHEDOP_shutdown(poweroff): the normal end */
	HVB_XL_CRASH,        /* SCHEDOP_shutdown(crash), triple fault, ... */
	HVB_XL_REBOOT,       /* SCHEDOP_shutdown(reboot) */
	HVB_XL_OTHER,        /* suspend, watchdog, soft reset */
	HVB_XL_TIMEOUT,      /* still running at cfg.timeout_s */
	HVB_XL_INTERRUPTED,  /* SIGINT/SIGTERM while running */
	HVB_XL_FLOOD,        /* printed more than cfg.console_max bytes */
	HVB_XL_STOPPED,      /* cfg.on_console asked to stop */
	HVB_XL_VANISHED,     /* someone else destroyed the domain */
};

struct hvb_xl_cfg {
	const char *name;      /* domain name; NULL: "hvbench-<pid>-<n>" */
	const char *kernel;    /* path of a PVH (or PV) ELF image (uncompressed is faster) */
	bool pv;               /* a PV domU (LIBXL_DOMAIN_TYPE_PV) instead of PVH */
	const char *cmdline;   /* start-info command line (xl's extra=); may be NULL */
	unsigned memory_mb;    /* guest memory; 0: 32 */
	unsigned vcpus;        /* 0: 1 */
	int cpu;               /* pin every vCPU to this physical CPU; -1: no pinning */
	/* Per-vCPU pinning instead (xl's cpus= list): vCPU i to vcpu_cpus[i],
	 * -1 leaves it unpinned; vcpus entries.  NULL: cpu above for all. */
	const int *vcpu_cpus;
	double timeout_s;      /* limit from unpause to shutdown; 0: 60 */
	size_t console_max;    /* console flood limit in bytes; 0: 64 MiB */
	/* dom0 path of a disk (a file or a block device) attached as xvda
	 * (vbd 51712), read-write, served by blkback (phy backend: the
	 * hotplug script puts a file on a loop device); NULL: no disk. */
	const char *disk;
	/* A vif (vif 0, netback in dom0) with mac nic_mac, set up by the
	 * hotplug script nic_script (a name in /etc/xen/scripts or a path),
	 * which must write hotplug-status connected; dom0 names the interface
	 * vif<domid>.0.  nic_mac NULL: no vif. */
	const uint8_t *nic_mac;
	const char *nic_script;
	/* Called once the domain is built (paused, its devices attached: the
	 * vif exists in dom0) and before it is unpaused.  Return 0 to go on,
	 * or -errno with err filled to give up (the domain is destroyed and
	 * hvb_xl_run returns that error).  May be NULL. */
	int (*on_created)(void *arg, struct hvb_xl *xl, uint32_t domid, char *err, size_t len);
	/* Receives the guest's PV console output in order, in chunks of any
	 * size.  Return 0 to go on, or -errno to stop the guest (the domain is
	 * destroyed and the run ends with HVB_XL_STOPPED).  May be NULL. */
	int (*on_console)(void *arg, const char *buf, size_t len);
	void *arg;
	/* A live migration to a new domain on this host (migrate.h), armed
	 * by the caller (xen_mig_arm, from a callback): the run starts it when
	 * due, reads the source's console until it is suspended, then the
	 * destination's, and follows the destination to its end (out->domid).
	 * Every domain of it is destroyed on every path.  NULL: none. */
	struct xen_mig *mig;
};

struct hvb_xl_outcome {
	enum hvb_xl_end end;
	uint32_t domid;
	double create_s;      /* libxl_domain_create_new (domain built, paused) */
	double run_s;         /* unpause -> shutdown seen (or timeout) */
	size_t console_bytes; /* console bytes delivered to on_console */
};

/*
 * Can this host run Xen domUs?  Returns true, or false with a reason in why
 * that says what is missing and what to do: not a Xen dom0 (no /proc/xen,
 * no /dev/xen/privcmd), not privileged, xenstored not running, libxl
 * context allocation failed.  Opens and closes everything it checks.
 */
bool hvb_xl_available(char *why, size_t len);

/*
 * Open a libxl context in *xlp.  On failure returns -errno and writes the
 * reason to err.  verbose: let libxl log at debug level on stderr (else
 * errors only).
 */
int hvb_xl_open(struct hvb_xl **xlp, bool verbose, char *err, size_t len);

/* Free a context from hvb_xl_open (NULL is fine). */
void hvb_xl_close(struct hvb_xl *xl);

/*
 * Create a PVH (cfg->pv: PV) domU from cfg (paused), attach to its PV console, unpause it
 * and deliver its console output to cfg->on_console until it shuts down,
 * times out, floods the console, is interrupted (SIGINT/SIGTERM, handled
 * only during this call) or on_console says stop.  The domain is destroyed
 * on every path.  Returns 0 when the run reached an end (see out->end,
 * which may still be a crash or timeout), or -errno when the domain could
 * not be created or watched (err says why).  -EINTR when interrupted.
 * A SIGINT/SIGTERM handler installed before the call is also called, so the
 * caller learns of the signal too.
 */
int hvb_xl_run(struct hvb_xl *xl, const struct hvb_xl_cfg *cfg, struct hvb_xl_outcome *out,
	       char *err, size_t len);

/* The context's libxl_ctx (migrate.c forks from it). */
struct libxl__ctx *hvb_xl_ctx(struct hvb_xl *xl);

/* CPU time all vCPUs of domid have run so far, in ns (libxl_list_vcpu,
 * Xen's own accounting): 0, or -EIO.  Callable from cfg callbacks (the
 * xl of on_created) while the domain runs. */
int hvb_xl_vcpu_ns(struct hvb_xl *xl, uint32_t domid, uint64_t *ns);

/* The physical CPU each vCPU of domid is on now (libxl_list_vcpu; -1
 * for one that is offline or past Xen's list), cpu[0..n): 0 or -EIO. */
int hvb_xl_vcpu_pcpus(struct hvb_xl *xl, uint32_t domid, int *cpu, unsigned n);

/* Xen version as "4.17.7" (major.minor + extra) into buf.  0 or -EIO. */
int hvb_xl_version(struct hvb_xl *xl, char *buf, size_t len);

/* Short name of an end ("poweroff", "crash", "timeout", ...). */
const char *hvb_xl_end_str(enum hvb_xl_end end);

#endif /* HVB_XEN_XL_H */
