/*
 * runners/xen/xl.c: one Xen PVH domU through libxl (see xl.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <libxl.h>
#include <libxl_utils.h>
#include <xenstore.h>
#include <xentoollog.h>

#include "migrate.h"
#include "xl.h"

#define HVB_XL_POLL_MS       100
#define HVB_XL_TTY_WAIT_S    20.0 /* xenconsoled is slow to notice a domain under emulation */
#define HVB_XL_DRAIN_QUIET_S 0.3
#define HVB_XL_DRAIN_MAX_S   3.0

struct hvb_xl {
	xentoollog_logger_stdiostream *log;
	libxl_ctx *ctx;
	struct xs_handle *xs;
	unsigned seq;
};

static volatile sig_atomic_t hvb_xl_signal;
static struct sigaction hvb_xl_old_int, hvb_xl_old_term;

static void errf(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *hvb_xl_end_str(enum hvb_xl_end end)
{
	static const char *const names[] = {
		[HVB_XL_POWEROFF] = "poweroff",       [HVB_XL_CRASH] = "crash",
		[HVB_XL_REBOOT] = "reboot",           [HVB_XL_OTHER] = "other-shutdown",
		[HVB_XL_TIMEOUT] = "timeout",         [HVB_XL_INTERRUPTED] = "interrupted",
		[HVB_XL_FLOOD] = "console-flood",     [HVB_XL_STOPPED] = "stopped",
		[HVB_XL_VANISHED] = "vanished",
	};

	if ((unsigned)end < sizeof(names) / sizeof(names[0]) && names[end])
		return names[end];
	return "unknown";
}

/* Does /proc/xen/capabilities say this is the control domain? */
static bool is_control_domain(void)
{
	char buf[128] = "";
	FILE *f = fopen("/proc/xen/capabilities", "r");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strstr(buf, "control_d") != NULL;
}

bool hvb_xl_available(char *why, size_t len)
{
	struct xs_handle *xs;
	struct hvb_xl *xl;
	char err[256];
	int fd;

	if (access("/proc/xen", F_OK) && access("/dev/xen/privcmd", F_OK)) {
		errf(why, len, "not running under Xen (no /proc/xen, no /dev/xen/privcmd): "
			       "boot this host as a Xen dom0, or use ci/xen/run to try Xen under QEMU");
		return false;
	}
	fd = open("/dev/xen/privcmd", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		errf(why, len, "cannot open /dev/xen/privcmd (%s): %s", strerror(errno),
		     errno == EACCES || errno == EPERM ? "run hvbench as root in dom0"
						       : "load xen-privcmd (modprobe xen-privcmd)");
		return false;
	}
	close(fd);
	if (access("/proc/xen/capabilities", R_OK) == 0 && !is_control_domain()) {
		errf(why, len, "this is a Xen domU, not dom0: run hvbench in the control domain");
		return false;
	}
	xs = xs_open(0);
	if (!xs) {
		errf(why, len, "cannot connect to xenstored (%s): start it "
			       "(systemctl start xenstored, or /etc/init.d/xencommons start)",
		     strerror(errno));
		return false;
	}
	xs_close(xs);
	if (hvb_xl_open(&xl, false, err, sizeof(err))) {
		errf(why, len, "%s", err);
		return false;
	}
	hvb_xl_close(xl);
	if (why && len)
		why[0] = 0;
	return true;
}

int hvb_xl_open(struct hvb_xl **xlp, bool verbose, char *err, size_t len)
{
	struct hvb_xl *xl;
	int rc;

	*xlp = NULL;
	xl = calloc(1, sizeof(*xl));
	if (!xl) {
		errf(err, len, "out of memory");
		return -ENOMEM;
	}
	xl->log = xtl_createlogger_stdiostream(stderr, verbose ? XTL_DEBUG : XTL_ERROR,
					       XTL_STDIOSTREAM_HIDE_PROGRESS);
	if (!xl->log) {
		errf(err, len, "cannot create the libxl logger");
		rc = -ENOMEM;
		goto err_free;
	}
	if (libxl_ctx_alloc(&xl->ctx, LIBXL_VERSION, 0, (xentoollog_logger *)xl->log)) {
		errf(err, len, "libxl_ctx_alloc failed: is this a Xen dom0 with xenstored "
			       "running, and are you root?");
		rc = -ENODEV;
		goto err_log;
	}
	xl->xs = xs_open(0);
	if (!xl->xs) {
		errf(err, len, "cannot connect to xenstored: start it (xencommons)");
		rc = -ENODEV;
		goto err_ctx;
	}
	*xlp = xl;
	return 0;

err_ctx:
	libxl_ctx_free(xl->ctx);
err_log:
	xtl_logger_destroy((xentoollog_logger *)xl->log);
err_free:
	free(xl);
	return rc;
}

void hvb_xl_close(struct hvb_xl *xl)
{
	if (!xl)
		return;
	xs_close(xl->xs);
	libxl_ctx_free(xl->ctx);
	xtl_logger_destroy((xentoollog_logger *)xl->log);
	free(xl);
}

/* The run's disk as xvda: blkback in dom0 over the file or device (libxl's
 * phy backend; its hotplug script, /etc/xen/scripts/block, sets up a loop
 * device for a file and removes it when the domain goes). */
static int add_disk(const struct hvb_xl_cfg *cfg, libxl_domain_config *dc, char *err, size_t len)
{
	libxl_device_disk *d;

	if (access(cfg->disk, R_OK | W_OK)) {
		errf(err, len, "disk '%s' is not readable and writable: %s", cfg->disk,
		     strerror(errno));
		return -errno;
	}
	dc->disks = calloc(1, sizeof(*dc->disks));
	if (!dc->disks)
		return -ENOMEM;
	dc->num_disks = 1;
	d = &dc->disks[0];
	libxl_device_disk_init(d);
	d->backend_domid = 0;
	d->pdev_path = strdup(cfg->disk);
	d->vdev = strdup("xvda");
	d->backend = LIBXL_DISK_BACKEND_PHY;
	d->format = LIBXL_DISK_FORMAT_RAW;
	d->readwrite = 1;
	return d->pdev_path && d->vdev ? 0 : -ENOMEM;
}

/* The vif: netback in dom0, our mac, the caller's hotplug script (libxl
 * runs it itself when there is no udev, as in ci/xen's dom0). */
static int add_nic(const struct hvb_xl_cfg *cfg, libxl_domain_config *dc)
{
	libxl_device_nic *n;

	dc->nics = calloc(1, sizeof(*dc->nics));
	if (!dc->nics)
		return -ENOMEM;
	dc->num_nics = 1;
	n = &dc->nics[0];
	libxl_device_nic_init(n);
	n->backend_domid = 0;
	n->devid = 0;
	n->nictype = LIBXL_NIC_TYPE_VIF;
	memcpy(n->mac, cfg->nic_mac, sizeof(n->mac));
	n->script = strdup(cfg->nic_script ? cfg->nic_script : "vif-hvbench");
	return n->script ? 0 : -ENOMEM;
}

/* Fill a libxl domain config for a PVH (or PV) guest from cfg. */
static int build_config(struct hvb_xl *xl, const struct hvb_xl_cfg *cfg, libxl_domain_config *dc,
			char *err, size_t len)
{
	libxl_domain_build_info *b = &dc->b_info;
	unsigned vcpus = cfg->vcpus ? cfg->vcpus : 1;
	unsigned mem = cfg->memory_mb ? cfg->memory_mb : 32;
	char name[64];

	if (!cfg->kernel || access(cfg->kernel, R_OK)) {
		errf(err, len, "guest image '%s' is not readable", cfg->kernel ? cfg->kernel : "");
		return -ENOENT;
	}
	if (cfg->name)
		snprintf(name, sizeof(name), "%s", cfg->name);
	else
		snprintf(name, sizeof(name), "hvbench-%d-%u", (int)getpid(), xl->seq++);
	dc->c_info.type = cfg->pv ? LIBXL_DOMAIN_TYPE_PV : LIBXL_DOMAIN_TYPE_PVH;
	dc->c_info.name = strdup(name);
	libxl_domain_build_info_init_type(b, dc->c_info.type);
	b->max_vcpus = (int)vcpus;
	if (libxl_cpu_bitmap_alloc(xl->ctx, &b->avail_vcpus, (int)vcpus))
		goto nomem;
	libxl_bitmap_set_none(&b->avail_vcpus);
	for (unsigned i = 0; i < vcpus; i++)
		libxl_bitmap_set(&b->avail_vcpus, (int)i);
	/* Pin with per-vCPU hard affinity, as xl's cpus= does (the older
	 * b_info.cpumap gets freed twice by libxl 4.17's dispose).  An
	 * unpinned vCPU of a pinned domain gets every CPU. */
	if (cfg->cpu >= 0 || cfg->vcpu_cpus) {
		b->vcpu_hard_affinity = calloc(vcpus, sizeof(*b->vcpu_hard_affinity));
		if (!b->vcpu_hard_affinity)
			goto nomem;
		b->num_vcpu_hard_affinity = (int)vcpus;
		for (unsigned i = 0; i < vcpus; i++) {
			libxl_bitmap *m = &b->vcpu_hard_affinity[i];
			int pin = cfg->vcpu_cpus ? cfg->vcpu_cpus[i] : cfg->cpu;

			libxl_bitmap_init(m);
			if (libxl_cpu_bitmap_alloc(xl->ctx, m, 0))
				goto nomem;
			if (pin < 0) {
				libxl_bitmap_set_any(m);
				continue;
			}
			libxl_bitmap_set_none(m);
			libxl_bitmap_set(m, pin);
		}
	}
	b->max_memkb = (uint64_t)mem * 1024;
	b->target_memkb = b->max_memkb;
	b->kernel = strdup(cfg->kernel);
	b->cmdline = strdup(cfg->cmdline ? cfg->cmdline : "");
	dc->on_poweroff = LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
	dc->on_reboot = LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
	dc->on_crash = LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
	if (!dc->c_info.name || !b->kernel || !b->cmdline)
		goto nomem;
	if (cfg->nic_mac && add_nic(cfg, dc))
		goto nomem;
	if (cfg->disk) {
		int rc = add_disk(cfg, dc, err, len);

		if (rc == -ENOMEM)
			goto nomem;
		return rc;
	}
	return 0;
nomem:
	errf(err, len, "out of memory building the domain config");
	return -ENOMEM;
}

/* Open the domain's PV console pty (raw, non-blocking) once xenconsoled has
 * published it in xenstore. */
static int console_open(struct hvb_xl *xl, uint32_t domid, int *fdp, char *err, size_t len)
{
	double end = now_s() + HVB_XL_TTY_WAIT_S;
	char path[64];
	struct termios t;
	char *tty = NULL;
	unsigned n;
	int fd;

	snprintf(path, sizeof(path), "/local/domain/%u/console/tty", domid);
	while (!(tty = xs_read(xl->xs, XBT_NULL, path, &n)) || !n) {
		free(tty);
		tty = NULL;
		if (now_s() > end) {
			errf(err, len, "no PV console tty for domain %u after %.0f s: is xenconsoled "
				       "running?", domid, HVB_XL_TTY_WAIT_S);
			return -ETIMEDOUT;
		}
		usleep(50000);
	}
	fd = open(tty, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		errf(err, len, "cannot open console %s of domain %u: %s", tty, domid, strerror(e));
		free(tty);
		return -e;
	}
	free(tty);
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}
	*fdp = fd;
	return 0;
}

/* Read what the console has now.  Returns bytes read, 0 when nothing was
 * ready, -EPIPE when the pty is gone, or the callback's -errno (-ECANCELED
 * for the flood limit). */
static long console_read(int fd, const struct hvb_xl_cfg *cfg, struct hvb_xl_outcome *out)
{
	size_t max = cfg->console_max ? cfg->console_max : (64u << 20);
	char buf[4096];
	ssize_t n;
	int rc;

	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -EPIPE;
	if (n == 0)
		return -EPIPE;
	if (out->console_bytes + (size_t)n > max)
		return -ECANCELED;
	out->console_bytes += (size_t)n;
	if (cfg->on_console) {
		rc = cfg->on_console(cfg->arg, buf, (size_t)n);
		if (rc < 0)
			return rc;
	}
	return n;
}

/* Domain state: 1 shut down (reason in *reason), 0 running, -ENOENT gone. */
static int domain_state(struct hvb_xl *xl, uint32_t domid, int *reason)
{
	libxl_dominfo info;
	int rc;

	libxl_dominfo_init(&info);
	rc = libxl_domain_info(xl->ctx, &info, domid);
	if (rc == ERROR_DOMAIN_NOTFOUND) {
		rc = -ENOENT;
	} else if (rc) {
		rc = -EIO;
	} else if (info.shutdown || info.dying) {
		*reason = info.shutdown_reason;
		rc = 1;
	}
	libxl_dominfo_dispose(&info);
	return rc;
}

static enum hvb_xl_end end_of_reason(int reason)
{
	switch (reason) {
	case LIBXL_SHUTDOWN_REASON_POWEROFF:
		return HVB_XL_POWEROFF;
	case LIBXL_SHUTDOWN_REASON_CRASH:
		return HVB_XL_CRASH;
	case LIBXL_SHUTDOWN_REASON_REBOOT:
		return HVB_XL_REBOOT;
	default:
		return HVB_XL_OTHER;
	}
}

/* After shutdown: read what xenconsoled still forwards, until it is quiet. */
static int console_drain(int fd, const struct hvb_xl_cfg *cfg, struct hvb_xl_outcome *out)
{
	double start = now_s(), last = start;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	long n;

	while (fd >= 0 && now_s() - last < HVB_XL_DRAIN_QUIET_S &&
	       now_s() - start < HVB_XL_DRAIN_MAX_S) {
		if (poll(&p, 1, 50) <= 0)
			continue;
		n = console_read(fd, cfg, out);
		if (n < 0)
			return n == -EPIPE ? 0 : (int)n;
		if (n > 0)
			last = now_s();
	}
	return 0;
}

/* Ends of a console read error. */
static void console_stop(long n, struct hvb_xl_outcome *out)
{
	out->end = n == -ECANCELED ? HVB_XL_FLOOD : HVB_XL_STOPPED;
}

/* A state of the source that its migration causes (suspended for it, or
 * destroyed by it once the destination runs): not the guest's end. */
static bool mig_own_state(const struct hvb_xl_cfg *cfg, int st, int reason)
{
	const struct xen_mig *m = cfg->mig;

	if (!m || m->state != XEN_MIG_RUNNING)
		return false;
	return st == -ENOENT || (st == 1 && reason == LIBXL_SHUTDOWN_REASON_SUSPEND);
}

/* The destination is built, paused: what the source said is read to its
 * end, then the destination's console is opened before it runs (so
 * nothing it prints is lost) and the migration told to go on.  A console
 * that does not come makes the controller give up (no "go": it resumes
 * the source). */
static int mig_switch_console(struct hvb_xl *xl, const struct hvb_xl_cfg *cfg, int *fdp,
			      struct hvb_xl_outcome *out)
{
	struct xen_mig *m = cfg->mig;
	char err[256];
	int fd, n = console_drain(*fdp, cfg, out);

	if (n < 0)
		return n;
	if (console_open(xl, m->res.dst_domid, &fd, err, sizeof(err))) {
		snprintf(m->runner_why, sizeof(m->runner_why), "%s", err);
		close(m->cmd_fd);
		m->cmd_fd = -1;
		return 0;
	}
	if (*fdp >= 0)
		close(*fdp);
	*fdp = fd;
	m->dst_console = true;
	xen_mig_go(m);
	return 0;
}

/* The migration's part of one watch step: start it when due, follow its
 * events (consoles, the domain watched).  0, or a console_read error. */
static int mig_step(struct hvb_xl *xl, const struct hvb_xl_cfg *cfg, uint32_t *domid, int *fdp,
		    struct hvb_xl_outcome *out)
{
	struct xen_mig *m = cfg->mig;
	char err[256];
	int n = 0;

	if (!m)
		return 0;
	if (xen_mig_due(m))
		xen_mig_start(m, xl, *domid);
	switch (xen_mig_poll(m)) {
	case XEN_MIG_EV_SUSPENDED:
		n = console_drain(*fdp, cfg, out);
		break;
	case XEN_MIG_EV_RESTORED:
		n = mig_switch_console(xl, cfg, fdp, out);
		break;
	case XEN_MIG_EV_DONE:
		*domid = m->res.dst_domid;
		out->domid = *domid;
		break;
	case XEN_MIG_EV_FAILED:
		/* The source runs on: its console again. */
		if (m->dst_console) {
			if (*fdp >= 0)
				close(*fdp);
			*fdp = -1;
			m->dst_console = false;
			if (console_open(xl, *domid, fdp, err, sizeof(err)))
				*fdp = -1;
		}
		break;
	case XEN_MIG_EV_NONE:
		break;
	}
	return n;
}

/* Follow a running domain until it ends; fills out->end and out->run_s.
 * A migration (cfg->mig) moves *domid and *fdp to the destination. */
static int watch(struct hvb_xl *xl, const struct hvb_xl_cfg *cfg, uint32_t *domid, int *fdp,
		 struct hvb_xl_outcome *out, char *err, size_t len)
{
	double timeout = cfg->timeout_s > 0 ? cfg->timeout_s : 60.0;
	double start = now_s();
	int reason = -1, st;
	long n;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = *fdp, .events = POLLIN },
			{ .fd = cfg->mig ? cfg->mig->ev_fd : -1, .events = POLLIN },
		};

		if (hvb_xl_signal) {
			out->end = HVB_XL_INTERRUPTED;
			break;
		}
		st = domain_state(xl, *domid, &reason);
		if (mig_own_state(cfg, st, reason))
			st = 0;
		if (st == -ENOENT) {
			out->end = HVB_XL_VANISHED;
			break;
		}
		if (st < 0) {
			errf(err, len, "libxl cannot read the state of domain %u", *domid);
			return st;
		}
		if (st == 1) {
			out->end = end_of_reason(reason);
			n = console_drain(*fdp, cfg, out);
			if (n < 0)
				console_stop(n, out);
			break;
		}
		if (now_s() - start > timeout) {
			out->end = HVB_XL_TIMEOUT;
			break;
		}
		n = mig_step(xl, cfg, domid, fdp, out);
		if (n < 0) {
			console_stop(n, out);
			break;
		}
		if (poll(p, 2, HVB_XL_POLL_MS) <= 0 || !p[0].revents)
			continue;
		do
			n = console_read(*fdp, cfg, out);
		while (n > 0);
		if (n == -EPIPE) {
			close(*fdp);
			*fdp = -1;
		} else if (n < 0) {
			console_stop(n, out);
			break;
		}
	}
	out->run_s = now_s() - start;
	return 0;
}

/* Note the signal, then pass it on to the handler the caller had. */
static void on_signal(int sig)
{
	const struct sigaction *old = sig == SIGINT ? &hvb_xl_old_int : &hvb_xl_old_term;

	hvb_xl_signal = sig;
	if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler != SIG_DFL &&
	    old->sa_handler != SIG_IGN)
		old->sa_handler(sig);
}

static void signals_catch(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	hvb_xl_signal = 0;
	sigaction(SIGINT, &sa, &hvb_xl_old_int);
	sigaction(SIGTERM, &sa, &hvb_xl_old_term);
}

static void signals_restore(void)
{
	sigaction(SIGINT, &hvb_xl_old_int, NULL);
	sigaction(SIGTERM, &hvb_xl_old_term, NULL);
}

struct libxl__ctx *hvb_xl_ctx(struct hvb_xl *xl)
{
	return xl->ctx;
}

int hvb_xl_vcpu_ns(struct hvb_xl *xl, uint32_t domid, uint64_t *ns)
{
	int nb = 0, nrcpus = 0;
	libxl_vcpuinfo *v = libxl_list_vcpu(xl->ctx, domid, &nb, &nrcpus);

	if (!v)
		return -EIO;
	*ns = 0;
	for (int i = 0; i < nb; i++)
		*ns += v[i].vcpu_time;
	libxl_vcpuinfo_list_free(v, nb);
	return 0;
}

int hvb_xl_vcpu_pcpus(struct hvb_xl *xl, uint32_t domid, int *cpu, unsigned n)
{
	int nb = 0, nrcpus = 0;
	libxl_vcpuinfo *v = libxl_list_vcpu(xl->ctx, domid, &nb, &nrcpus);

	if (!v)
		return -EIO;
	for (unsigned i = 0; i < n; i++)
		cpu[i] = -1;
	for (int i = 0; i < nb; i++)
		if (v[i].vcpuid < n && v[i].online)
			cpu[v[i].vcpuid] = (int)v[i].cpu;
	libxl_vcpuinfo_list_free(v, nb);
	return 0;
}

int hvb_xl_version(struct hvb_xl *xl, char *buf, size_t len)
{
	const libxl_version_info *v = libxl_get_version_info(xl->ctx);

	if (!v)
		return -EIO;
	snprintf(buf, len, "%d.%d%s", v->xen_version_major, v->xen_version_minor,
		 v->xen_version_extra ? v->xen_version_extra : "");
	return 0;
}

int hvb_xl_run(struct hvb_xl *xl, const struct hvb_xl_cfg *cfg, struct hvb_xl_outcome *out,
	       char *err, size_t len)
{
	libxl_domain_config dc;
	uint32_t domid = (uint32_t)INVALID_DOMID;
	int fd = -1, rc, lrc;
	double t0;

	memset(out, 0, sizeof(*out));
	out->domid = (uint32_t)INVALID_DOMID;
	libxl_domain_config_init(&dc);
	rc = build_config(xl, cfg, &dc, err, len);
	if (rc)
		goto out_config;
	signals_catch();
	t0 = now_s();
	lrc = libxl_domain_create_new(xl->ctx, &dc, &domid, NULL, NULL);
	out->domid = domid;
	if (lrc) {
		errf(err, len, "libxl could not create the %s domain from %s (libxl error %d; "
			       "its messages above say why)", cfg->pv ? "PV" : "PVH", cfg->kernel, lrc);
		rc = -EIO;
		goto out_destroy;
	}
	out->create_s = now_s() - t0;
	rc = console_open(xl, domid, &fd, err, len);
	if (rc)
		goto out_destroy;
	if (cfg->on_created) {
		rc = cfg->on_created(cfg->arg, xl, domid, err, len);
		if (rc)
			goto out_destroy;
	}
	if (libxl_domain_unpause(xl->ctx, domid, NULL)) {
		errf(err, len, "libxl could not unpause domain %u", domid);
		rc = -EIO;
		goto out_destroy;
	}
	rc = watch(xl, cfg, &domid, &fd, out, err, len);
	if (!rc && out->end == HVB_XL_INTERRUPTED) {
		errf(err, len, "interrupted by signal %d; domain %u destroyed", (int)hvb_xl_signal,
		     domid);
		rc = -EINTR;
	}
out_destroy:
	if (fd >= 0)
		close(fd);
	if (cfg->mig)
		xen_mig_stop(cfg->mig, xl, domid);
	if (domid != (uint32_t)INVALID_DOMID) {
		lrc = libxl_domain_destroy(xl->ctx, domid, NULL);
		if (lrc && lrc != ERROR_DOMAIN_NOTFOUND && !rc) {
			errf(err, len, "libxl could not destroy domain %u (libxl error %d): "
				       "remove it with 'xl destroy %u'", domid, lrc, domid);
			rc = -EIO;
		}
	}
	signals_restore();
out_config:
	libxl_domain_config_dispose(&dc);
	return rc;
}
