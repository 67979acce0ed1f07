/*
 * A small QMP client (qmp.c) and the JSON reader it needs (qmp_json.c):
 * QEMU's machine protocol over a unix socket, one command at a time, every
 * read bounded by a timeout.  Used by the qemu-kvm runner to read KVM's
 * per-vCPU statistics (query-stats) at REP_BEGIN and REP_END.
 *
 * The JSON reader is only as big as QMP's replies need: a whole document
 * into an array of nodes, depth and size bounded, strings kept raw (escapes
 * are checked, not decoded: names QMP uses are plain ASCII, and a string
 * with an escape never equals one).
 */
#ifndef HVB_RUNNERS_QEMU_QMP_H
#define HVB_RUNNERS_QEMU_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum qj_type { QJ_NULL, QJ_BOOL, QJ_NUM, QJ_STR, QJ_ARR, QJ_OBJ };

struct qj_node {
	enum qj_type type;
	int first, next;	/* first child, next sibling: node index or -1 */
	const char *key;	/* member name (raw) in an object, else NULL */
	size_t key_len;
	const char *s;		/* QJ_STR: raw text between the quotes */
	size_t len;
	bool b;			/* QJ_BOOL */
	bool is_uint;		/* QJ_NUM written as plain digits that fit uint64 */
	uint64_t u;
	double num;
};

struct qj_doc {
	struct qj_node *n;
	int count, cap;
	char err[128];		/* why qj_parse refused the text */
};

#define QJ_MAX_DEPTH 32
#define QJ_MAX_NODES 65536

/* Parse text[0..len) as one JSON value (surrounding white space allowed):
 * 0, or -EPROTO with d->err saying what and where, -ENOMEM.  Node 0 is the
 * root.  Free with qj_free (also after a failure). */
int qj_parse(struct qj_doc *d, const char *text, size_t len);
void qj_free(struct qj_doc *d);
/* The member key of object node obj, or -1 (obj not an object, no key). */
int qj_get(const struct qj_doc *d, int obj, const char *key);
/* Is node i a string equal to s? */
bool qj_str_is(const struct qj_doc *d, int i, const char *s);

/* ------------------------------------------------------------ client */

#define QMP_REPLY_MAX (1 << 20) /* a reply line longer than this is refused */

struct qmp {
	int fd;
	int timeout_ms;		/* for each reply */
	char *buf;		/* bytes read and not yet consumed */
	size_t len, cap;
	size_t consumed;	/* the line handed out last: dropped at the next read */
	char err[256];		/* why the last call failed */
};

/* Connect to QEMU's QMP socket at path (retrying while QEMU creates it,
 * within timeout_ms), read the greeting, negotiate capabilities. 0 or
 * -errno with q->err set; qmp_close in both cases. */
int qmp_open(struct qmp *q, const char *path, int timeout_ms);
/* The same on a connected stream (tests: a socketpair). Takes fd. */
int qmp_open_fd(struct qmp *q, int fd, int timeout_ms);
void qmp_close(struct qmp *q);
/* Send one command (a JSON object, one line) and parse its reply into
 * reply; *ret is the "return" member.  Asynchronous events before it are
 * skipped.  0; -EREMOTEIO: QEMU answered with an error (q->err has its
 * class and desc); -ETIMEDOUT; -EPROTO (bad JSON, no return); -EPIPE/-EIO. */
int qmp_exec(struct qmp *q, const char *cmd, struct qj_doc *reply, int *ret);
/* qmp_exec for a command whose return value does not matter. */
int qmp_exec_simple(struct qmp *q, const char *cmd);

/* ------------------------------------------------------------ KVM stats */

#define QMP_STAT_NAME 64

/* The vCPU statistics of provider kvm that count (type cumulative, not a
 * histogram), and their values summed over the vCPUs. */
struct qmp_stats {
	unsigned n;
	char (*name)[QMP_STAT_NAME];
	uint64_t *val;
};

/* From a query-stats-schemas reply (ret node): the cumulative vcpu stats.
 * 0, -ENOENT (no kvm vcpu target), -EPROTO, -ENOMEM. */
int qmp_stats_from_schema(struct qmp_stats *s, const struct qj_doc *d, int ret);
/* From a query-stats reply: s->val[i] = sum over vCPUs of stat i; a stat
 * a vCPU does not report is an error.  0, -EPROTO (with why), -ENOENT. */
int qmp_stats_values(struct qmp_stats *s, const struct qj_doc *d, int ret, char *why, size_t len);
void qmp_stats_free(struct qmp_stats *s);
/* The query-stats command for s's names (malloc'ed). */
char *qmp_stats_command(const struct qmp_stats *s);

#endif
