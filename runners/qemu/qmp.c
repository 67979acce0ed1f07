/*
 * QMP client (qmp.h): a unix stream to QEMU, one command at a time.  QMP
 * frames messages as one JSON object per line (QEMU ends them with CRLF),
 * so a reply is read up to a newline, within the timeout, and parsed whole.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qmp.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int qmp_fail(struct qmp *q, int e, const char *what)
{
	snprintf(q->err, sizeof(q->err), "%s", what);
	return e;
}

/* One line (without its line break) into *line, *len: valid until the
 * next read.  Bounded by QMP_REPLY_MAX and the deadline. */
static int read_line(struct qmp *q, int64_t deadline, char **line, size_t *len)
{
	char *nl;

	if (q->consumed) { /* drop the line handed out last time */
		memmove(q->buf, q->buf + q->consumed, q->len - q->consumed);
		q->len -= q->consumed, q->consumed = 0;
	}
	while (!q->len || !(nl = memchr(q->buf, '\n', q->len))) {
		struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (q->len >= QMP_REPLY_MAX)
			return qmp_fail(q, -EPROTO, "QMP reply longer than 1 MiB");
		if (left <= 0 || poll(&pfd, 1, (int)left) == 0)
			return qmp_fail(q, -ETIMEDOUT, "no QMP reply within the timeout");
		if (q->len == q->cap) {
			size_t cap = q->cap ? q->cap * 2 : 4096;
			char *grown = realloc(q->buf, cap);
			if (!grown)
				return qmp_fail(q, -ENOMEM, "out of memory for a QMP reply");
			q->buf = grown, q->cap = cap;
		}
		n = read(q->fd, q->buf + q->len, q->cap - q->len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return qmp_fail(q, -EIO, "reading the QMP socket failed");
		if (n == 0)
			return qmp_fail(q, -EPIPE, "QEMU closed the QMP socket");
		q->len += (size_t)n;
	}
	*line = q->buf;
	*len = (size_t)(nl - q->buf);
	q->consumed = *len + 1;
	return 0;
}

/* The next message that is not an event, parsed into d. */
static int read_message(struct qmp *q, struct qj_doc *d)
{
	int64_t deadline = now_ms() + q->timeout_ms;
	char *line;
	size_t len;
	int r;

	for (;;) {
		if ((r = read_line(q, deadline, &line, &len)))
			return r;
		if ((r = qj_parse(d, line, len))) {
			qmp_fail(q, r, d->err);
			qj_free(d);
			return r;
		}
		if (d->n[0].type == QJ_OBJ && qj_get(d, 0, "event") >= 0) {
			qj_free(d);
			continue;
		}
		return 0;
	}
}

static int write_all(struct qmp *q, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(q->fd, s, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return qmp_fail(q, -EPIPE, "writing to the QMP socket failed (QEMU gone?)");
		s += n, len -= (size_t)n;
	}
	return 0;
}

/* An error reply's class and desc, for q->err. */
static void error_text(struct qmp *q, const struct qj_doc *d, int err)
{
	int cls = qj_get(d, err, "class"), desc = qj_get(d, err, "desc");

	snprintf(q->err, sizeof(q->err), "QEMU refused the command: %.*s: %.*s",
		 cls >= 0 && d->n[cls].type == QJ_STR ? (int)d->n[cls].len : 7,
		 cls >= 0 && d->n[cls].type == QJ_STR ? d->n[cls].s : "unknown",
		 desc >= 0 && d->n[desc].type == QJ_STR ? (int)d->n[desc].len : 10,
		 desc >= 0 && d->n[desc].type == QJ_STR ? d->n[desc].s : "no message");
}

int qmp_exec(struct qmp *q, const char *cmd, struct qj_doc *reply, int *ret)
{
	int r, err;

	memset(reply, 0, sizeof(*reply));
	if ((r = write_all(q, cmd, strlen(cmd))) || (r = write_all(q, "\n", 1)) ||
	    (r = read_message(q, reply)))
		return r;
	*ret = qj_get(reply, 0, "return");
	if (*ret >= 0)
		return 0;
	err = qj_get(reply, 0, "error");
	if (err >= 0)
		error_text(q, reply, err);
	else
		qmp_fail(q, -EPROTO, "QMP reply has neither return nor error");
	qj_free(reply);
	return err >= 0 ? -EREMOTEIO : -EPROTO;
}

int qmp_open_fd(struct qmp *q, int fd, int timeout_ms)
{
	struct qj_doc d;
	int r, ret;

	memset(q, 0, sizeof(*q));
	q->fd = fd;
	q->timeout_ms = timeout_ms;
	if ((r = read_message(q, &d)))
		return r;
	ret = qj_get(&d, 0, "QMP");
	qj_free(&d);
	if (ret < 0)
		return qmp_fail(q, -EPROTO, "the QMP socket did not greet with a QMP object");
	if ((r = qmp_exec(q, "{\"execute\":\"qmp_capabilities\"}", &d, &ret)))
		return r;
	qj_free(&d);
	return 0;
}

int qmp_open(struct qmp *q, const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = now_ms() + timeout_ms;
	int fd;

	memset(q, 0, sizeof(*q));
	q->fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return qmp_fail(q, -ENAMETOOLONG, "QMP socket path too long");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return qmp_fail(q, -errno, "cannot create a unix socket");
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return qmp_open_fd(q, fd, timeout_ms);
		close(fd);
		/* QEMU creates the socket while it starts: retry a while. */
		if ((errno != ENOENT && errno != ECONNREFUSED) || now_ms() >= deadline) {
			snprintf(q->err, sizeof(q->err), "cannot connect to QMP at %s: %s", path,
				 strerror(errno));
			return -errno;
		}
		usleep(10000);
	}
}

int qmp_exec_simple(struct qmp *q, const char *cmd)
{
	struct qj_doc d;
	int ret, e = qmp_exec(q, cmd, &d, &ret);

	qj_free(&d);
	return e;
}

void qmp_close(struct qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	free(q->buf);
	q->buf = NULL;
	q->len = q->cap = 0;
}
