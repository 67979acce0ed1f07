/*
 * runners/xen/migrate.c: a live migration of a running Xen PVH or PV domU to a
 * new domain on this host through libxl (see migrate.h).
 *
 * The runner's process only forks the controller and reads its event
 * lines; everything that blocks in libxl runs in the controller's
 * children, each with a libxl context of its own (made after
 * libxl_postfork_child_noexec, as libxl_event.h asks of a child that
 * does not exec):
 *
 *   sender    libxl_domain_suspend(LIBXL_SUSPEND_LIVE) into its socket
 *             (PV: without LIVE, xen.c says why: suspended, then copied);
 *             libxc's progress ("Frames iteration N", "Domain now
 *             suspended") comes back through libxl-save-helper to the
 *             logger here, which counts the rounds and stamps the suspend
 *   receiver  libxl_domain_create_restore of the source's own config
 *             (libxl_retrieve_domain_configuration, as xl sends it) as
 *             "<name>--incoming", paused; at "go" renamed to <name> and
 *             unpaused
 *   relay     the controller copies sender -> receiver, counting bytes,
 *             held to bw_bytes per second when set (a link modelled)
 *   suspend   libxl 4.17 suspends only an HVM domain itself
 *             (xc_domain_shutdown); a PVH or PV one it asks through
 *             xenstore (control/shutdown = "suspend").  PVH: the guest
 *             runtime has no PV drivers to answer, so the controller
 *             answers for it, as libxl does for an HVM guest without
 *             them: xc_domain_shutdown(SHUTDOWN_suspend), then the ack
 *             (""); a PVH domain's state is all in Xen's HVM context, so
 *             the guest needs to know nothing of it.  PV: the guest
 *             answers itself (workloads/rt/xen_suspend.c: the ack, then
 *             SCHEDOP_shutdown(suspend)); the controller only stamps the
 *             ack, where the guest stops.
 *
 * Event lines, controller -> runner: "suspended", "restored DOMID",
 * "done k=v ...", "failed WHY"; runner -> controller: "go".
 */
#include "migrate.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libxl.h>
#include <libxl_utils.h>
#include <xenctrl.h>
#include <xenstore.h>
#include <xentoollog.h>

#include "xl.h"

#define MIG_RELAY_BUF	(256 * 1024)
#define MIG_STOP_WAIT_MS 10000 /* a failing sender gets this long to give up */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *xen_mig_state_str(enum xen_mig_state s)
{
	static const char *const names[] = { "idle", "armed", "running", "done", "failed" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

void xen_mig_init(struct xen_mig *m, const struct xen_mig_params *p)
{
	memset(m, 0, sizeof(*m));
	m->p = *p;
	m->ev_fd = m->cmd_fd = -1;
	m->src_domid = m->res.dst_domid = (uint32_t)INVALID_DOMID;
	snprintf(m->res.why, sizeof(m->res.why),
		 "no migration: the guest ended before the trigger (its first repetition + %u ms)",
		 p->at_ms);
}

void xen_mig_arm(struct xen_mig *m)
{
	if (m->state != XEN_MIG_IDLE)
		return;
	m->t_armed = mono_ns();
	m->state = XEN_MIG_ARMED;
}

bool xen_mig_due(const struct xen_mig *m)
{
	return m->state == XEN_MIG_ARMED && mono_ns() >= m->t_armed + (uint64_t)m->p.at_ms * 1000000;
}

/* ------------------------------------------------------------ the logger */

/* A libxl logger of the children: errors (all with p.debug) on stderr,
 * the last error kept for the verdict, and libxc's progress turned into
 * rounds and the suspend's time stamp. */
struct mig_logger {
	xentoollog_logger vtable;
	bool debug;
	char last_error[300];
	struct xen_mig_rounds r;
	uint64_t t_suspended;
	int ev_fd;		/* "suspended" goes out at once */
};

static void mig_logger_vmessage(xentoollog_logger *lg, xentoollog_level level, int errnoval,
				const char *context, const char *format, va_list al)
{
	struct mig_logger *l = (struct mig_logger *)lg;
	char msg[200];

	vsnprintf(msg, sizeof(msg), format, al);
	if (level >= XTL_ERROR)
		snprintf(l->last_error, sizeof(l->last_error), "%s%s%s", msg,
			 errnoval > 0 ? ": " : "", errnoval > 0 ? strerror(errnoval) : "");
	if (level >= XTL_ERROR || l->debug)
		fprintf(stderr, "hvb-xen-mig[%d] %.3f: %s: %s: %s\n", (int)getpid(),
			(double)mono_ns() / 1e9,
			xtl_level_to_string(level), context ? context : "", l->last_error[0] &&
			level >= XTL_ERROR ? l->last_error : msg);
}

static void say(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One event line on fd (a pipe: short lines go in one write). */
static void say(int fd, const char *fmt, ...)
{
	char buf[768];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(fd, buf, (size_t)n) < 0) {
		/* the reader is gone: nothing to tell */
	}
}

static void mig_logger_progress(xentoollog_logger *lg, const char *context, const char *doing,
				int percent, unsigned long done, unsigned long total)
{
	struct mig_logger *l = (struct mig_logger *)lg;

	(void)context, (void)percent;
	if (xen_mig_rounds_note(&l->r, doing, total)) {
		l->t_suspended = mono_ns();
		say(l->ev_fd, "suspended %" PRIu64, l->t_suspended);
	}
	if (l->debug && doing)
		fprintf(stderr, "hvb-xen-mig[%d] %.3f: progress: %s %lu/%lu\n", (int)getpid(),
			(double)mono_ns() / 1e9, doing, done, total);
}

static void mig_logger_destroy(xentoollog_logger *lg)
{
	(void)lg;
}

/* A child's own libxl context, its logger l. */
static libxl_ctx *child_ctx(struct mig_logger *l, bool debug, int ev_fd)
{
	libxl_ctx *ctx = NULL;

	memset(l, 0, sizeof(*l));
	l->vtable.vmessage = mig_logger_vmessage;
	l->vtable.progress = mig_logger_progress;
	l->vtable.destroy = mig_logger_destroy;
	l->debug = debug;
	xen_mig_rounds_init(&l->r);
	l->ev_fd = ev_fd;
	if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, &l->vtable))
		return NULL;
	return ctx;
}

/* ------------------------------------------------------------ the children */

static void child_setup(const char *comm)
{
	prctl(PR_SET_NAME, comm);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
}

/* A child's start: its name, signals and libxl context (or its end,
 * saying so on ev). */
static libxl_ctx *child_start(const char *comm, const char *who, struct mig_logger *l,
			      bool debug, int ev)
{
	libxl_ctx *ctx;

	child_setup(comm);
	ctx = child_ctx(l, debug, ev);
	if (!ctx) {
		say(ev, "error the %s could not open a libxl context", who);
		_exit(1);
	}
	return ctx;
}

/* The sender: the save into fd, live unless nonlive; its verdict on ev. */
static void __attribute__((noreturn)) sender_main(uint32_t domid, int fd, int ev, bool debug,
						  bool nonlive)
{
	struct mig_logger l;
	libxl_ctx *ctx;
	uint64_t t0;
	int rc;

	ctx = child_start("hvb-xen-send", "sender", &l, debug, ev);
	t0 = mono_ns();
	say(ev, "start %" PRIu64, t0);
	rc = libxl_domain_suspend(ctx, domid, fd, nonlive ? 0 : LIBXL_SUSPEND_LIVE, NULL);
	xen_mig_rounds_end(&l.r);
	if (rc) {
		say(ev, "error libxl_domain_suspend failed (libxl error %d): %s", rc,
		    l.last_error[0] ? l.last_error : "its messages on stderr say why");
		_exit(1);
	}
	say(ev, "saved %u %lu %lu %d", l.r.rounds, l.r.last_round_pages, l.r.final_pages,
	    l.r.has_progress);
	libxl_ctx_free(ctx);
	_exit(0);
}

/* "name--suffix" */
static void name_with(char *buf, size_t len, const char *name, const char *suffix)
{
	snprintf(buf, len, "%s--%s", name, suffix);
}

static void __attribute__((noreturn)) receiver_main(libxl_domain_config *dc, const char *name,
						    int fd, int ev, int cmd, bool debug)
{
	libxl_domain_restore_params params;
	struct mig_logger l;
	uint32_t domid = (uint32_t)INVALID_DOMID;
	char incoming[96], go[8];
	libxl_ctx *ctx;
	int rc;

	ctx = child_start("hvb-xen-recv", "receiver", &l, debug, ev);
	name_with(incoming, sizeof(incoming), name, "incoming");
	free(dc->c_info.name);
	dc->c_info.name = strdup(incoming);
	libxl_domain_restore_params_init(&params);
	params.checkpointed_stream = LIBXL_CHECKPOINTED_STREAM_NONE;
	params.stream_version = 2;
	rc = libxl_domain_create_restore(ctx, dc, &domid, fd, -1, &params, NULL, NULL);
	if (rc) {
		say(ev, "error libxl_domain_create_restore failed (libxl error %d): %s", rc,
		    l.last_error[0] ? l.last_error : "its messages on stderr say why");
		_exit(1);
	}
	say(ev, "restored %u %" PRIu64, domid, mono_ns());
	if (read(cmd, go, sizeof(go)) <= 0) {
		say(ev, "error the controller went away before go");
		_exit(1);
	}
	if (libxl_domain_rename(ctx, domid, incoming, name)) {
		say(ev, "error cannot rename domain %u from %s to %s", domid, incoming, name);
		_exit(1);
	}
	if (libxl_domain_unpause(ctx, domid, NULL)) {
		say(ev, "error libxl could not unpause the destination domain %u", domid);
		_exit(1);
	}
	say(ev, "unpaused %" PRIu64, mono_ns());
	libxl_ctx_free(ctx);
	_exit(0);
}

/* ------------------------------------------------------------ the controller */

/* Destroy domain d if it exists and is not keep (libxl logs an error
 * for one that does not). */
static void destroy_other(libxl_ctx *ctx, uint32_t d, uint32_t keep)
{
	libxl_dominfo info;

	if (d == (uint32_t)INVALID_DOMID || d == keep || !d)
		return;
	libxl_dominfo_init(&info);
	if (!libxl_domain_info(ctx, &info, d))
		libxl_domain_destroy(ctx, d, NULL);
	libxl_dominfo_dispose(&info);
}


struct ctl {
	const struct xen_mig *m;
	libxl_ctx *ctx;
	xc_interface *xch;
	struct xs_handle *xs;	 /* watches the source's control/shutdown */
	char ctl_path[64];
	uint64_t t_suspend;	 /* the controller suspended the source (PV: the guest's ack) */
	bool asked;		 /* control/shutdown was seen = "suspend" */
	struct mig_logger l;
	int ev;			 /* to the runner */
	int cmd;		 /* from the runner */
	int src_sock, dst_sock;	 /* relay ends */
	int snd_ev, rcv_ev;	 /* children's event pipes */
	int rcv_cmd;		 /* to the receiver */
	pid_t snd, rcv;
	char snd_line[1024], rcv_line[1024];
	size_t snd_len, rcv_len;
	bool saved, restored, unpaused, renamed;
	uint32_t dst;
	uint64_t t_start, t_suspended, t_restored, t_go, t_unpaused, bytes;
	unsigned rounds;
	unsigned long last_pages, final_pages;
	int has_progress;
	char buf[MIG_RELAY_BUF];
	size_t buf_len, buf_off;
	bool src_eof;
	char why[512];
};

/* How a child ended, for the verdict ("" if it runs). */
static void child_end(pid_t *pid, const char *who, char *out, size_t len)
{
	int status;

	out[0] = '\0';
	if (*pid <= 0 || waitpid(*pid, &status, WNOHANG) != *pid)
		return;
	if (WIFSIGNALED(status))
		snprintf(out, len, "the %s (pid %d) was killed by signal %d (%s)", who, (int)*pid,
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (WEXITSTATUS(status))
		snprintf(out, len, "the %s (pid %d) exited with status %d", who, (int)*pid,
			 WEXITSTATUS(status));
	*pid = 0;
}

static void child_kill(pid_t *pid)
{
	int status;

	if (*pid <= 0)
		return;
	kill(*pid, SIGKILL);
	while (waitpid(*pid, &status, 0) < 0 && errno == EINTR)
		;
	*pid = 0;
}

/* A child's event line; false on a protocol error or its "error". */
static bool ctl_child_line(struct ctl *c, const char *line, bool sender)
{
	unsigned long long t = 0;
	unsigned d;

	if (!strncmp(line, "error ", 6)) {
		snprintf(c->why, sizeof(c->why), "%s", line + 6);
		return false;
	}
	if (sender && sscanf(line, "start %llu", &t) == 1) {
		c->t_start = t;
	} else if (sender && sscanf(line, "suspended %llu", &t) == 1) {
		c->t_suspended = t;
		say(c->ev, "suspended");
	} else if (sender && sscanf(line, "saved %u %lu %lu %d", &c->rounds, &c->last_pages,
				    &c->final_pages, &c->has_progress) == 4) {
		c->saved = true;
	} else if (!sender && sscanf(line, "restored %u %llu", &d, &t) == 2) {
		c->dst = d;
		c->t_restored = t;
		c->restored = true;
	} else if (!sender && sscanf(line, "unpaused %llu", &t) == 1) {
		c->t_unpaused = t;
		c->unpaused = true;
	}
	return true;
}

/* Read a child's event pipe: -1 when it failed or closed before its
 * work was done, 0 otherwise. */
static int ctl_child_read(struct ctl *c, bool sender)
{
	int *fd = sender ? &c->snd_ev : &c->rcv_ev;
	char *line = sender ? c->snd_line : c->rcv_line;
	size_t *len = sender ? &c->snd_len : &c->rcv_len;
	ssize_t n = read(*fd, line + *len, sizeof(c->snd_line) - 1 - *len);
	char *nl;

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0) {
		close(*fd);
		*fd = -1;
		if (sender ? c->saved : c->unpaused)
			return 0;
		snprintf(c->why, sizeof(c->why), "the %s ended before its part was done",
			 sender ? "sender" : "receiver");
		return -1;
	}
	*len += (size_t)n;
	line[*len] = '\0';
	while ((nl = strchr(line, '\n'))) {
		*nl = '\0';
		if (!ctl_child_line(c, line, sender))
			return -1;
		*len -= (size_t)(nl + 1 - line);
		memmove(line, nl + 1, *len + 1);
	}
	if (*len == sizeof(c->snd_line) - 1)
		*len = 0; /* an over-long line: dropped */
	return 0;
}

/* May the relay send now?  With a bandwidth, only what the link would
 * have carried since the start. */
static size_t relay_allowance(const struct ctl *c)
{
	if (!c->t_start)
		return MIG_RELAY_BUF;
	return xen_mig_allowance(c->m->p.bw_bytes, mono_ns() - c->t_start, c->bytes,
				 MIG_RELAY_BUF);
}

/* One step of the relay: -1 when the stream broke. */
static int relay_step(struct ctl *c, short src_ev, short dst_ev)
{
	ssize_t n;

	if (c->buf_off == c->buf_len && (src_ev & (POLLIN | POLLHUP))) {
		n = read(c->src_sock, c->buf, sizeof(c->buf));
		if (n < 0)
			return errno == EINTR || errno == EAGAIN ? 0 : -1;
		if (n == 0) {
			c->src_eof = true;
			shutdown(c->dst_sock, SHUT_WR);
			return 0;
		}
		c->buf_off = 0;
		c->buf_len = (size_t)n;
	}
	if (c->buf_off < c->buf_len && (dst_ev & POLLOUT)) {
		size_t want = c->buf_len - c->buf_off, may = relay_allowance(c);

		if (!may)
			return 0;
		n = write(c->dst_sock, c->buf + c->buf_off, want < may ? want : may);
		if (n < 0)
			return errno == EINTR || errno == EAGAIN ? 0 : -1;
		c->buf_off += (size_t)n;
		c->bytes += (uint64_t)n;
	}
	if (dst_ev & (POLLERR | POLLHUP))
		return c->buf_off < c->buf_len ? -1 : 0;
	return 0;
}

/* Restored and saved: the source's name goes aside, the runner is told
 * (it opens the destination's console and answers "go"). */
static int ctl_restored(struct ctl *c)
{
	char away[96];

	name_with(away, sizeof(away), c->m->name, "migratedaway");
	if (libxl_domain_rename(c->ctx, c->m->src_domid, c->m->name, away)) {
		snprintf(c->why, sizeof(c->why), "cannot rename the source domain %u to %s",
			 c->m->src_domid, away);
		return -1;
	}
	c->renamed = true;
	say(c->ev, "restored %u", c->dst);
	return 0;
}

/* The runner's "go": on to the receiver. */
static int ctl_go(struct ctl *c)
{
	char buf[16];
	ssize_t n = read(c->cmd, buf, sizeof(buf));

	if (n <= 0) {
		snprintf(c->why, sizeof(c->why), "the runner went away before go");
		return -1;
	}
	c->t_go = mono_ns();
	if (write(c->rcv_cmd, "go\n", 3) != 3) {
		snprintf(c->why, sizeof(c->why), "the receiver went away before go");
		return -1;
	}
	return 0;
}

/* libxl asked the source to suspend (control/shutdown = "suspend"):
 * suspend it from here, then acknowledge, as a guest's PV drivers would;
 * a PV guest does both itself, its ack (the node cleared) is stamped.
 * -1 with c->why when Xen refuses. */
static int ctl_suspend_answer(struct ctl *c)
{
	unsigned n;
	char **ev = xs_read_watch(c->xs, &n), *v;
	bool asked;

	free(ev);
	v = xs_read(c->xs, XBT_NULL, c->ctl_path, &n);
	asked = v && !strcmp(v, "suspend");
	free(v);
	if (c->m->guest_suspends) {
		if (!asked && c->asked && !c->t_suspend)
			c->t_suspend = mono_ns();
		c->asked |= asked;
		return 0;
	}
	if (!asked || c->t_suspend)
		return 0;
	if (xc_domain_shutdown(c->xch, c->m->src_domid, SHUTDOWN_suspend)) {
		snprintf(c->why, sizeof(c->why), "Xen refused to suspend domain %u: %s",
			 c->m->src_domid, strerror(errno));
		return -1;
	}
	c->t_suspend = mono_ns();
	if (!xs_write(c->xs, XBT_NULL, c->ctl_path, "", 0)) {
		snprintf(c->why, sizeof(c->why), "cannot acknowledge the suspend in xenstore (%s)",
			 c->ctl_path);
		return -1;
	}
	return 0;
}

/* The relay and the children until the destination runs: 0, or -1
 * with c->why. */
static int ctl_loop(struct ctl *c)
{
	uint64_t limit = c->t_start + (uint64_t)c->m->p.limit_ms * 1000000;

	for (;;) {
		bool full = c->buf_off < c->buf_len, held = full && !relay_allowance(c);
		/* Read only into an empty buffer, write only what may go: a
		 * relay held to its bandwidth sleeps in poll, not spins. */
		struct pollfd p[6] = {
			{ .fd = c->src_eof || full ? -1 : c->src_sock, .events = POLLIN },
			{ .fd = c->dst_sock, .events = full && !held ? POLLOUT : 0 },
			{ .fd = c->snd_ev, .events = POLLIN },
			{ .fd = c->rcv_ev, .events = POLLIN },
			{ .fd = c->restored && c->saved && !c->t_go ? c->cmd : -1, .events = POLLIN },
			{ .fd = xs_fileno(c->xs), .events = POLLIN },
		};
		int timeout = held ? 2 : 100;

		if (c->unpaused)
			return 0;
		/* Suspended by then for certain (libxc says so): the undo
		 * resumes it with suspend_cancel. */
		if (c->m->p.cancel && c->t_suspended) {
			snprintf(c->why, sizeof(c->why), "given up once the source was suspended, "
				 "as HVB_XEN_MIGRATE_CANCEL=1 asks");
			return -1;
		}
		if (mono_ns() > limit) {
			snprintf(c->why, sizeof(c->why), "not done within %u ms "
				 "(HVB_XEN_MIGRATE_LIMIT_MS): given up, %" PRIu64 " bytes relayed",
				 c->m->p.limit_ms, c->bytes);
			return -1;
		}
		if (poll(p, 6, timeout) < 0 && errno != EINTR)
			return -1;
		if (p[5].revents && ctl_suspend_answer(c))
			return -1;
		if (relay_step(c, p[0].revents, p[1].revents)) {
			snprintf(c->why, sizeof(c->why), "the stream broke after %" PRIu64
				 " bytes (%s)", c->bytes, strerror(errno));
			return -1;
		}
		if ((p[2].revents && ctl_child_read(c, true)) ||
		    (p[3].revents && ctl_child_read(c, false)))
			return -1;
		if (c->restored && c->saved && !c->renamed && ctl_restored(c))
			return -1;
		if (p[4].revents && ctl_go(c))
			return -1;
	}
}

/* The source as it was: its name back, resumed if it is suspended. */
static void ctl_undo(struct ctl *c, char *done, size_t len)
{
	libxl_dominfo info;
	char away[96];
	uint32_t d;

	done[0] = '\0';
	name_with(away, sizeof(away), c->m->name, "incoming");
	if (!libxl_name_to_domid(c->ctx, away, &d))
		libxl_domain_destroy(c->ctx, d, NULL);
	destroy_other(c->ctx, c->dst, (uint32_t)INVALID_DOMID);
	if (c->renamed) {
		name_with(away, sizeof(away), c->m->name, "migratedaway");
		libxl_domain_rename(c->ctx, c->m->src_domid, away, c->m->name);
	}
	libxl_dominfo_init(&info);
	if (!libxl_domain_info(c->ctx, &info, c->m->src_domid) && info.shutdown &&
	    info.shutdown_reason == LIBXL_SHUTDOWN_REASON_SUSPEND) {
		if (libxl_domain_resume(c->ctx, c->m->src_domid, 1, NULL))
			snprintf(done, len, "; the source could not be resumed");
		else
			snprintf(done, len, "; the source was resumed and runs on");
	} else {
		snprintf(done, len, "; the source was not suspended and runs on");
	}
	libxl_dominfo_dispose(&info);
}

static void __attribute__((noreturn)) ctl_fail(struct ctl *c)
{
	char snd[160], rcv[160], undo[96];
	uint64_t until = mono_ns() + (uint64_t)MIG_STOP_WAIT_MS * 1000000;

	/* The stream goes first: a sender still saving fails on its own,
	 * and leaves the domain in a state libxl can resume from. */
	close(c->src_sock);
	close(c->dst_sock);
	usleep(100000);
	child_end(&c->rcv, "receiver", rcv, sizeof(rcv));
	child_kill(&c->rcv);
	while (c->snd > 0 && mono_ns() < until) {
		child_end(&c->snd, "sender", snd, sizeof(snd));
		if (c->snd > 0)
			usleep(50000);
	}
	if (c->snd > 0)
		snprintf(snd, sizeof(snd), "the sender was killed (it did not give up)");
	child_kill(&c->snd);
	ctl_undo(c, undo, sizeof(undo));
	say(c->ev, "failed migration failed: %s%s%s%s%s%s (%" PRIu64 " bytes relayed)", c->why,
	    rcv[0] ? "; " : "", rcv, snd[0] ? "; " : "", snd, undo, c->bytes);
	_exit(1);
}

static void __attribute__((noreturn)) ctl_done(struct ctl *c)
{
	/* The destination runs: the source goes, as xl migrate ends. */
	libxl_domain_destroy(c->ctx, c->m->src_domid, NULL);
	child_kill(&c->snd);
	child_kill(&c->rcv);
	say(c->ev, "done %u %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
	    " %u %lu %lu %d", c->dst, c->t_start, c->t_suspend ? c->t_suspend : c->t_suspended,
	    c->t_restored, c->t_go,
	    c->t_unpaused, c->bytes, c->rounds, c->last_pages, c->final_pages, c->has_progress);
	_exit(0);
}

static int make_pipe(int fds[2])
{
	return pipe2(fds, O_CLOEXEC);
}

/* The controller: fork the sender and the receiver, relay, conclude. */
static void __attribute__((noreturn)) ctl_main(const struct xen_mig *m, libxl_domain_config *dc,
					       int ev, int cmd)
{
	struct ctl *c = calloc(1, sizeof(*c));
	int s1[2], s2[2], se[2], re[2], rc[2];

	child_setup("hvb-xen-mig");
	setpgid(0, 0);
	if (!c)
		_exit(1);
	c->m = m;
	c->ev = ev;
	c->cmd = cmd;
	c->dst = (uint32_t)INVALID_DOMID;
	c->src_sock = c->dst_sock = c->snd_ev = c->rcv_ev = c->rcv_cmd = -1;
	c->ctx = child_ctx(&c->l, m->p.debug, -1);
	c->xch = xc_interface_open(&c->l.vtable, &c->l.vtable, 0);
	c->xs = xs_open(0);
	snprintf(c->ctl_path, sizeof(c->ctl_path), "/local/domain/%u/control/shutdown",
		 m->src_domid);
	if (!c->ctx || !c->xch || !c->xs || !xs_watch(c->xs, c->ctl_path, "hvb-suspend")) {
		say(ev, "failed migration failed: the controller could not open libxl, libxenctrl "
		    "or xenstore (or watch %s)", c->ctl_path);
		_exit(1);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s1) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s2) || make_pipe(se) ||
	    make_pipe(re) || make_pipe(rc)) {
		say(ev, "failed migration failed: no sockets or pipes: %s", strerror(errno));
		_exit(1);
	}
	c->snd = fork();
	if (c->snd == 0)
		sender_main(m->src_domid, s1[1], se[1], m->p.debug, m->nonlive);
	c->rcv = c->snd < 0 ? -1 : fork();
	if (c->rcv == 0)
		receiver_main(dc, m->name, s2[1], re[1], rc[0], m->p.debug);
	close(s1[1]), close(s2[1]), close(se[1]), close(re[1]), close(rc[0]);
	c->src_sock = s1[0];
	c->dst_sock = s2[0];
	c->snd_ev = se[0];
	c->rcv_ev = re[0];
	c->rcv_cmd = rc[1];
	fcntl(c->src_sock, F_SETFL, O_NONBLOCK);
	fcntl(c->dst_sock, F_SETFL, O_NONBLOCK);
	c->t_start = mono_ns();
	if (c->snd < 0 || c->rcv < 0) {
		snprintf(c->why, sizeof(c->why), "cannot fork: %s", strerror(errno));
		ctl_fail(c);
	}
	if (ctl_loop(c))
		ctl_fail(c);
	ctl_done(c);
}

/* ------------------------------------------------------------ the runner's side */

int xen_mig_start(struct xen_mig *m, struct hvb_xl *xl, uint32_t domid)
{
	libxl_ctx *ctx = hvb_xl_ctx(xl);
	libxl_domain_config dc;
	int ev[2], cmd[2];
	char *name;
	pid_t pid;

	m->state = XEN_MIG_FAILED;
	m->src_domid = domid;
	name = libxl_domid_to_name(ctx, domid);
	if (!name) {
		snprintf(m->res.why, sizeof(m->res.why), "migration failed: domain %u has no name",
			 domid);
		return -ENOENT;
	}
	snprintf(m->name, sizeof(m->name), "%s", name);
	free(name);
	libxl_domain_config_init(&dc);
	/* The destination is built from the source's config, as xl sends it. */
	if (libxl_retrieve_domain_configuration(ctx, domid, &dc, NULL)) {
		snprintf(m->res.why, sizeof(m->res.why), "migration failed: libxl cannot "
			 "retrieve the configuration of domain %u", domid);
		libxl_domain_config_dispose(&dc);
		return -EIO;
	}
	if (make_pipe(ev) || make_pipe(cmd)) {
		snprintf(m->res.why, sizeof(m->res.why), "migration failed: no pipes: %s",
			 strerror(errno));
		libxl_domain_config_dispose(&dc);
		return -EMFILE;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		libxl_postfork_child_noexec(ctx);
		close(ev[0]);
		close(cmd[1]);
		ctl_main(m, &dc, ev[1], cmd[0]);
	}
	close(ev[1]);
	close(cmd[0]);
	libxl_domain_config_dispose(&dc);
	if (pid < 0) {
		snprintf(m->res.why, sizeof(m->res.why), "migration failed: cannot fork: %s",
			 strerror(errno));
		close(ev[0]);
		close(cmd[1]);
		return -EAGAIN;
	}
	setpgid(pid, pid); /* both sides: no race with the kill in xen_mig_stop */
	m->ctl = pid;
	m->ev_fd = ev[0];
	m->cmd_fd = cmd[1];
	fcntl(m->ev_fd, F_SETFL, O_NONBLOCK);
	m->state = XEN_MIG_RUNNING;
	m->res.t_start = mono_ns();
	snprintf(m->res.why, sizeof(m->res.why), "migration failed: the controller ended "
		 "without a verdict");
	return 0;
}

/* "done ..." into res: false if malformed. */
static bool parse_done(struct xen_mig *m, const char *line)
{
	struct xen_mig_result *r = &m->res;
	unsigned long long t[6];
	int prog;

	if (sscanf(line, "done %u %llu %llu %llu %llu %llu %llu %u %lu %lu %d", &r->dst_domid,
		   &t[0], &t[1], &t[2], &t[3], &t[4], &t[5], &r->rounds, &r->last_round_pages,
		   &r->final_pages, &prog) != 11)
		return false;
	r->t_start = t[0];
	r->t_suspended = t[1];
	r->t_restored = t[2];
	r->t_go = t[3];
	r->t_unpaused = t[4];
	r->bytes = t[5];
	r->has_progress = prog;
	return true;
}

static enum xen_mig_event event_of(struct xen_mig *m, const char *line)
{
	unsigned d;

	if (!strcmp(line, "suspended"))
		return XEN_MIG_EV_SUSPENDED;
	if (sscanf(line, "restored %u", &d) == 1) {
		m->res.dst_domid = d;
		return XEN_MIG_EV_RESTORED;
	}
	if (!strncmp(line, "done ", 5) && parse_done(m, line)) {
		m->state = XEN_MIG_DONE;
		snprintf(m->res.why, sizeof(m->res.why), "completed: the destination domain %u "
			 "runs the guest, the source was destroyed", m->res.dst_domid);
		return XEN_MIG_EV_DONE;
	}
	if (!strncmp(line, "failed ", 7)) {
		m->state = XEN_MIG_FAILED;
		snprintf(m->res.why, sizeof(m->res.why), "%s%s%s", line + 7,
			 m->runner_why[0] ? "; the runner stopped it: " : "", m->runner_why);
		return XEN_MIG_EV_FAILED;
	}
	return XEN_MIG_EV_NONE;
}

enum xen_mig_event xen_mig_poll(struct xen_mig *m)
{
	char *nl;
	ssize_t n;

	if (m->state != XEN_MIG_RUNNING)
		return XEN_MIG_EV_NONE;
	while (!(nl = memchr(m->line, '\n', m->line_len))) {
		if (m->line_len == sizeof(m->line) - 1)
			m->line_len = 0;
		n = read(m->ev_fd, m->line + m->line_len, sizeof(m->line) - 1 - m->line_len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return XEN_MIG_EV_NONE;
		if (n <= 0) {
			/* the controller died without a verdict: res.why says so */
			m->state = XEN_MIG_FAILED;
			return XEN_MIG_EV_FAILED;
		}
		m->line_len += (size_t)n;
	}
	*nl = '\0';
	{
		enum xen_mig_event e = event_of(m, m->line);

		m->line_len -= (size_t)(nl + 1 - m->line);
		memmove(m->line, nl + 1, m->line_len);
		return e;
	}
}

void xen_mig_go(struct xen_mig *m)
{
	if (m->cmd_fd >= 0 && write(m->cmd_fd, "go\n", 3) != 3) {
		/* the controller is gone: its event pipe says so */
	}
}

/* Destroy the domain called name, unless it is keep. */
static void destroy_named(libxl_ctx *ctx, const char *name, uint32_t keep)
{
	uint32_t d;

	if (!libxl_name_to_domid(ctx, name, &d))
		destroy_other(ctx, d, keep);
}

void xen_mig_stop(struct xen_mig *m, struct hvb_xl *xl, uint32_t keep_domid)
{
	libxl_ctx *ctx = hvb_xl_ctx(xl);
	char name[96];
	int status;

	if (m->ctl > 0) {
		kill(-m->ctl, SIGKILL);
		kill(m->ctl, SIGKILL);
		while (waitpid(m->ctl, &status, 0) < 0 && errno == EINTR)
			;
		m->ctl = 0;
	}
	if (m->ev_fd >= 0)
		close(m->ev_fd);
	if (m->cmd_fd >= 0)
		close(m->cmd_fd);
	m->ev_fd = m->cmd_fd = -1;
	if (m->state == XEN_MIG_RUNNING) {
		m->state = XEN_MIG_FAILED;
		snprintf(m->res.why, sizeof(m->res.why), "migration failed: the run ended while "
			 "it was in progress (the guest ended, timed out or was interrupted)");
	}
	if (m->src_domid == (uint32_t)INVALID_DOMID)
		return;
	name_with(name, sizeof(name), m->name, "incoming");
	destroy_named(ctx, name, keep_domid);
	name_with(name, sizeof(name), m->name, "migratedaway");
	destroy_named(ctx, name, keep_domid);
	destroy_other(ctx, m->src_domid, keep_domid);
	destroy_other(ctx, m->res.dst_domid, keep_domid);
}
