/*
 * The responder (peer.h): a forked process in the link's namespace that
 * serves hvb/netproto.h on one UDP socket.
 *
 * After fork the child only makes system calls and formats nothing (the
 * parent may have threads: no allocation, no stdio); what went wrong at
 * start-up goes back through the handshake pipe as a stage and an errno,
 * which the parent turns into the reason.
 *
 * Serving: recvmmsg in batches of PEER_BATCH (blocking until at least one
 * datagram, MSG_WAITFORONE), ECHO answers collected and sent with one
 * sendmmsg per batch, so a rate workload costs the responder a few system
 * calls per batch rather than two per datagram.  One session at a time
 * (the last RESET's): ECHO is answered whatever its session (the workload
 * matches replies itself), but only the current session's ECHO and SINK
 * are counted; others are rx_stale.  A STREAM of the current session is
 * sent at once (the responder reads nothing meanwhile: the workload asks
 * for at most a few thousand datagrams per request), then its STATS.
 *
 * Socket buffers: SO_RCVBUFFORCE / SO_SNDBUFFORCE of PEER_SOCKBUF (we are
 * root, so net.core.rmem_max does not cap it), else SO_RCVBUF / SO_SNDBUF
 * as far as the sysctl allows; what the kernel granted is in the
 * description (hvb_peer_describe).  4 MiB holds ~2800 MTU datagrams or
 * ~5000 small ones (each costs a full skb truesize), more than one STREAM
 * chunk or a TX batch of the workloads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hvb/netproto.h"
#include "netns.h"
#include "peer.h"

#define PEER_BATCH	    64
#define PEER_BUF	    2048 /* > HVB_NET_PAYLOAD_MTU: a longer datagram is bad */
#define PEER_SOCKBUF	    (4 << 20)
#define PEER_HANDSHAKE_MS   5000
#define PEER_STOP_MS	    1000
#define PEER_SPIN_NS	    100000 /* pacing: sleep for longer gaps, spin for shorter */
#define PEER_HANDSHAKE_FD   3

struct hvb_peer {
	pid_t pid;
	int cpu;
	uint32_t ip;
	uint16_t port;
	int rcvbuf, sndbuf; /* what the kernel granted the socket */
};

/* What the child tells the parent once: bound (err 0) or why not. */
struct handshake {
	int err;	   /* errno, 0 = serving */
	char stage[48];	   /* what failed: "setns", "bind", ... */
	int rcvbuf, sndbuf; /* what the kernel granted (getsockopt) */
};

/* ------------------------------------------------------------ serving */

struct peer_state {
	int fd;
	uint32_t session;
	bool have_high;
	uint32_t high; /* the highest seq of the session seen so far */
	struct hvb_net_ctl ctr;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Send n prepared messages, all of them: a refused one (ENOBUFS, ...) is
 * counted in tx_errors and skipped, the others still go. */
static void send_all(struct peer_state *st, struct mmsghdr *v, unsigned n)
{
	unsigned done = 0;

	while (done < n) {
		int r = sendmmsg(st->fd, v + done, n - done, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			st->ctr.tx_errors++;
			done++;
			continue;
		}
		done += (unsigned)r;
	}
}

static void put_hdr(uint8_t *p, uint8_t type, uint32_t session, uint32_t seq, uint64_t stamp)
{
	struct hvb_net_hdr h = {
		.magic = HVB_NET_MAGIC,
		.version = HVB_NET_VERSION,
		.type = type,
		.session = session,
		.seq = seq,
		.stamp = stamp,
	};

	memcpy(p, &h, sizeof(h));
}

/* One datagram to dst, counted in tx_errors if refused (not in
 * tx_datagrams: STATS answers are control, not data). */
static void send_one(struct peer_state *st, const void *p, size_t len,
		     const struct sockaddr_in *dst)
{
	while (sendto(st->fd, p, len, 0, (const struct sockaddr *)dst, sizeof(*dst)) < 0) {
		if (errno != EINTR) {
			st->ctr.tx_errors++;
			return;
		}
	}
}

static void answer_stats(struct peer_state *st, const struct hvb_net_hdr *req,
			 const struct sockaddr_in *dst)
{
	uint8_t buf[sizeof(struct hvb_net_hdr) + sizeof(struct hvb_net_ctl)];

	put_hdr(buf, HVB_NET_STATS, st->session, req->seq, req->stamp);
	memcpy(buf + sizeof(struct hvb_net_hdr), &st->ctr, sizeof(st->ctr));
	send_one(st, buf, sizeof(buf), dst);
}

/* Wait until t (CLOCK_MONOTONIC ns): sleep for the long part, spin the
 * rest, so paced datagrams leave close to their time. */
static void wait_until(uint64_t t)
{
	uint64_t now = now_ns();

	if (t > now + PEER_SPIN_NS) {
		uint64_t wake = t - PEER_SPIN_NS / 2;
		struct timespec ts = { .tv_sec = (time_t)(wake / 1000000000ull),
				       .tv_nsec = (long)(wake % 1000000000ull) };

		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	}
	while (now_ns() < t)
		;
}

/* count DATA datagrams of size bytes, seq 0..count-1, in sendmmsg batches
 * (unpaced) or one at a time at rate per second. */
static void send_stream(struct peer_state *st, const struct hvb_net_hdr *req,
			const struct hvb_net_ctl *ctl, const struct sockaddr_in *dst)
{
	static uint8_t data[PEER_BATCH][HVB_NET_PAYLOAD_MTU];
	struct iovec iov[PEER_BATCH];
	struct mmsghdr v[PEER_BATCH];
	uint32_t size = ctl->size, rate = ctl->rate;
	unsigned batch = rate ? 1 : PEER_BATCH;
	uint64_t t0 = now_ns();

	memset(v, 0, sizeof(v));
	for (uint32_t seq = 0; seq < ctl->count;) {
		unsigned k = 0;

		for (; k < batch && seq < ctl->count; k++, seq++) {
			put_hdr(data[k], HVB_NET_DATA, st->session, seq, req->stamp);
			iov[k] = (struct iovec){ data[k], size };
			v[k].msg_hdr = (struct msghdr){ .msg_name = (void *)dst,
							.msg_namelen = sizeof(*dst),
							.msg_iov = &iov[k],
							.msg_iovlen = 1 };
		}
		if (rate)
			wait_until(t0 + (uint64_t)(seq - 1) * 1000000000ull / rate);
		send_all(st, v, k);
		st->ctr.tx_datagrams += k;
	}
}

static void count_rx(struct peer_state *st, const struct hvb_net_hdr *h, size_t len)
{
	st->ctr.rx_datagrams++;
	st->ctr.rx_bytes += len;
	if (st->have_high && h->seq < st->high) {
		st->ctr.rx_reordered++;
		return;
	}
	st->high = h->seq;
	st->have_high = true;
}

static void reset_session(struct peer_state *st, uint32_t session)
{
	st->session = session;
	st->have_high = false;
	st->high = 0;
	memset(&st->ctr, 0, sizeof(st->ctr));
}

/* A checked protocol header, or false (rx_bad). */
static bool parse_hdr(const uint8_t *p, size_t len, int flags, struct hvb_net_hdr *h)
{
	if (len < sizeof(*h) || (flags & MSG_TRUNC))
		return false;
	memcpy(h, p, sizeof(*h));
	return h->magic == HVB_NET_MAGIC && h->version == HVB_NET_VERSION &&
	       h->type >= HVB_NET_ECHO && h->type <= HVB_NET_RESET;
}

/* STREAM: the request's ctl, valid sizes only. */
static bool parse_stream(const uint8_t *p, size_t len, struct hvb_net_ctl *ctl)
{
	if (len < sizeof(struct hvb_net_hdr) + offsetof(struct hvb_net_ctl, rx_datagrams))
		return false;
	memset(ctl, 0, sizeof(*ctl));
	memcpy(ctl, p + sizeof(struct hvb_net_hdr), offsetof(struct hvb_net_ctl, rx_datagrams));
	return ctl->size >= sizeof(struct hvb_net_hdr) && ctl->size <= HVB_NET_PAYLOAD_MTU &&
	       !ctl->flags;
}

/* Handle one datagram; ECHO answers go into out (sent by the caller). */
static void handle(struct peer_state *st, struct mmsghdr *in, struct mmsghdr *out,
		   unsigned *n_out, void (*flush)(struct peer_state *, struct mmsghdr *, unsigned *))
{
	const uint8_t *p = in->msg_hdr.msg_iov->iov_base;
	const struct sockaddr_in *src = in->msg_hdr.msg_name;
	size_t len = in->msg_len;
	struct hvb_net_ctl ctl;
	struct hvb_net_hdr h;
	bool ours;

	if (!parse_hdr(p, len, in->msg_hdr.msg_flags, &h)) {
		st->ctr.rx_bad++;
		return;
	}
	ours = h.session == st->session;
	switch (h.type) {
	case HVB_NET_ECHO:
		if (ours)
			count_rx(st, &h, len);
		else
			st->ctr.rx_stale++;
		out[*n_out].msg_hdr = in->msg_hdr;
		out[*n_out].msg_hdr.msg_iov->iov_len = len;
		(*n_out)++;
		st->ctr.tx_datagrams++;
		break;
	case HVB_NET_SINK:
		if (ours)
			count_rx(st, &h, len);
		else
			st->ctr.rx_stale++;
		break;
	case HVB_NET_STREAM:
		flush(st, out, n_out); /* answers first: they came before */
		if (!ours)
			st->ctr.rx_stale++;
		else if (!parse_stream(p, len, &ctl))
			st->ctr.rx_bad++;
		else
			send_stream(st, &h, &ctl, src);
		answer_stats(st, &h, src);
		break;
	case HVB_NET_STATS:
		flush(st, out, n_out);
		answer_stats(st, &h, src);
		break;
	case HVB_NET_RESET:
		flush(st, out, n_out);
		reset_session(st, h.session);
		answer_stats(st, &h, src);
		break;
	}
}

static void flush_out(struct peer_state *st, struct mmsghdr *out, unsigned *n_out)
{
	send_all(st, out, *n_out);
	*n_out = 0;
}

static __attribute__((noreturn)) void serve(int fd)
{
	static uint8_t buf[PEER_BATCH][PEER_BUF];
	static struct sockaddr_in src[PEER_BATCH];
	static struct iovec iov[PEER_BATCH];
	static struct mmsghdr in[PEER_BATCH], out[PEER_BATCH];
	struct peer_state st = { .fd = fd };

	for (;;) {
		unsigned n_out = 0;
		int n;

		for (unsigned i = 0; i < PEER_BATCH; i++) {
			iov[i] = (struct iovec){ buf[i], PEER_BUF };
			in[i].msg_hdr = (struct msghdr){ .msg_name = &src[i],
							 .msg_namelen = sizeof(src[i]),
							 .msg_iov = &iov[i],
							 .msg_iovlen = 1 };
		}
		n = recvmmsg(fd, in, PEER_BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			_exit(3);
		}
		for (int i = 0; i < n; i++)
			handle(&st, &in[i], out, &n_out, flush_out);
		flush_out(&st, out, &n_out);
	}
}

/* ------------------------------------------------------------ start-up */

static int handshake_fd = -1; /* the child's end of the pipe */

static __attribute__((noreturn)) void child_fail(const char *stage, int err)
{
	struct handshake hs = { .err = err ? err : EIO };

	strncpy(hs.stage, stage, sizeof(hs.stage) - 1);
	(void)!write(handshake_fd, &hs, sizeof(hs));
	_exit(2);
}

static void grow_buffer(int fd, int force, int plain)
{
	int v = PEER_SOCKBUF;

	if (setsockopt(fd, SOL_SOCKET, force, &v, sizeof(v)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, plain, &v, sizeof(v));
}

static int sock_size(int fd, int opt)
{
	int v = 0;
	socklen_t l = sizeof(v);

	getsockopt(fd, SOL_SOCKET, opt, &v, &l);
	return v;
}

/* In the child: namespace, pinning, fds, socket; then serve forever. */
static __attribute__((noreturn)) void child(const struct hvb_netns *ns, int cpu, pid_t parent,
					    int hs_fd, uint32_t ip, uint16_t port)
{
	struct handshake hs = { 0 };
	struct sockaddr_in addr = { .sin_family = AF_INET };
	int fd;

	handshake_fd = hs_fd;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail("prctl(PR_SET_PDEATHSIG)", errno);
	if (getppid() != parent) /* died before the prctl */
		_exit(2);
	if (ns->ns_fd >= 0 && setns(ns->ns_fd, CLONE_NEWNET) < 0)
		child_fail("setns into the namespace", errno);
	/* The namespace fd may have been PEER_HANDSHAKE_FD: moved only now. */
	if (dup2(hs_fd, PEER_HANDSHAKE_FD) < 0)
		child_fail("dup2", errno);
	handshake_fd = PEER_HANDSHAKE_FD;
	/* Nothing of the runner's (taps, disk, pipes) stays open in here. */
	if (syscall(SYS_close_range, PEER_HANDSHAKE_FD + 1, ~0u, 0) < 0)
		child_fail("close_range", errno);
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0)
			child_fail("sched_setaffinity", errno);
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		child_fail("socket(AF_INET, SOCK_DGRAM)", errno);
	grow_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
	grow_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);
	addr.sin_addr.s_addr = htonl(ip);
	addr.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		child_fail("bind", errno);
	hs.rcvbuf = sock_size(fd, SO_RCVBUF);
	hs.sndbuf = sock_size(fd, SO_SNDBUF);
	if (write(handshake_fd, &hs, sizeof(hs)) != sizeof(hs))
		_exit(2);
	close(handshake_fd);
	serve(fd);
}

/* How a reaped child ended, for reasons. */
static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended (status 0x%x)", status);
}

/* The child's handshake: 0, or -errno with why (the child is reaped). */
static int read_handshake(struct hvb_peer *p, int rfd, char *why, size_t len)
{
	struct pollfd pfd = { .fd = rfd, .events = POLLIN };
	char addr[INET_ADDRSTRLEN];
	struct in_addr a = { htonl(p->ip) };
	struct handshake hs;
	ssize_t n = 0;
	int status, r;

	inet_ntop(AF_INET, &a, addr, sizeof(addr));
	while ((r = poll(&pfd, 1, PEER_HANDSHAKE_MS)) < 0 && errno == EINTR)
		;
	if (r > 0)
		while ((n = read(rfd, &hs, sizeof(hs))) < 0 && errno == EINTR)
			;
	if (n == (ssize_t)sizeof(hs) && !hs.err) {
		p->rcvbuf = hs.rcvbuf;
		p->sndbuf = hs.sndbuf;
		return 0;
	}
	if (r == 0)
		kill(p->pid, SIGKILL);
	waitpid(p->pid, &status, 0);
	if (r == 0) {
		snprintf(why, len, "responder for %s:%u: no answer within %d ms (killed)", addr,
			 p->port, PEER_HANDSHAKE_MS);
		return -ETIMEDOUT;
	}
	if (n == (ssize_t)sizeof(hs)) {
		snprintf(why, len, "responder for %s:%u: %s: %s", addr, p->port, hs.stage,
			 strerror(hs.err));
		return -hs.err;
	}
	{
		char st[64];

		describe_status(status, st, sizeof(st));
		snprintf(why, len, "responder for %s:%u %s before it was bound", addr, p->port, st);
	}
	return -ECHILD;
}

int hvb_peer_start(const struct hvb_netns *ns, int cpu, struct hvb_peer **out, char *why,
		   size_t len)
{
	struct hvb_peer *p;
	pid_t parent = getpid();
	int fds[2], e;

	*out = NULL;
	if (!ns || !ns->peer_ip) {
		snprintf(why, len, "responder: the link has no peer address");
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(why, len, "responder: out of memory");
		return -ENOMEM;
	}
	p->cpu = cpu;
	p->ip = ns->peer_ip;
	p->port = ns->peer_port ? ns->peer_port : HVB_NET_PEER_PORT;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		e = -errno;
		snprintf(why, len, "responder: pipe: %s", strerror(errno));
		free(p);
		return e;
	}
	p->pid = fork();
	if (p->pid < 0) {
		e = -errno;
		snprintf(why, len, "responder: fork: %s", strerror(errno));
		close(fds[0]), close(fds[1]);
		free(p);
		return e;
	}
	if (!p->pid)
		child(ns, cpu, parent, fds[1], p->ip, p->port);
	close(fds[1]);
	e = read_handshake(p, fds[0], why, len);
	close(fds[0]);
	if (e < 0) {
		free(p);
		return e;
	}
	*out = p;
	return 0;
}

pid_t hvb_peer_pid(const struct hvb_peer *p)
{
	return p ? p->pid : -1;
}

void hvb_peer_describe(const struct hvb_peer *p, char *buf, size_t len)
{
	char addr[INET_ADDRSTRLEN];
	struct in_addr a;

	if (!p) {
		snprintf(buf, len, "none");
		return;
	}
	char cpu[16] = "unpinned";

	a.s_addr = htonl(p->ip);
	inet_ntop(AF_INET, &a, addr, sizeof(addr));
	if (p->cpu >= 0)
		snprintf(cpu, sizeof(cpu), "cpu %d", p->cpu);
	snprintf(buf, len, "pid %d, %s, %s:%u, SO_RCVBUF %d, SO_SNDBUF %d", (int)p->pid, cpu, addr,
		 p->port, p->rcvbuf, p->sndbuf);
}

/* Poll for the child's end for up to ms; true once reaped. */
static bool reap_within(struct hvb_peer *p, int ms, int *status)
{
	for (int waited = 0;; waited += 10) {
		pid_t r = waitpid(p->pid, status, WNOHANG);

		if (r == p->pid || (r < 0 && errno == ECHILD))
			return true;
		if (waited >= ms)
			return false;
		usleep(10000);
	}
}

bool hvb_peer_stop(struct hvb_peer *p, char *why, size_t len)
{
	bool alive = true;
	int status = 0;

	if (!p)
		return true;
	if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
		char st[64];

		describe_status(status, st, sizeof(st));
		snprintf(why, len, "the responder (pid %d) was gone before the stop: %s", (int)p->pid,
			 st);
		alive = false;
	} else {
		kill(p->pid, SIGTERM);
		if (!reap_within(p, PEER_STOP_MS, &status)) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
		}
	}
	free(p);
	return alive;
}
