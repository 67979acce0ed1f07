/*
 * The QMP client and its JSON reader (runners/qemu/qmp*.c) against replies
 * recorded from QEMU 7.2 on this host (tests/fixtures/qmp/README.md),
 * served by a child process on a socketpair, and against hostile input:
 * malformed JSON, error replies, a silent or vanishing server.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvm_stats.h"
#include "qemu/qmp.h"
#include "qmp_fixture.h"
#include "tap.h"

static void json_cases(void)
{
	static const char *bad[] = { "", "{", "[1,]", "{\"a\" 1}", "\"abc", "[1 2]", "tru",
				     "{\"a\":1}x", "\"\\q\"", "\"\\u12\"", "-", "1.2.3x",
				     "\"a\x01\"" };
	struct qj_doc d;
	char deep[QJ_MAX_DEPTH * 2 + 8];
	int k;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = qj_parse(&d, bad[i], strlen(bad[i]));
		char desc[200];
		snprintf(desc, sizeof(desc), "refused: '%s' (%s)", bad[i], d.err);
		TAP_OK(r == -EPROTO && d.err[0], desc);
		qj_free(&d);
	}
	memset(deep, '[', QJ_MAX_DEPTH + 1);
	memset(deep + QJ_MAX_DEPTH + 1, ']', QJ_MAX_DEPTH + 1);
	TAP_EQ_INT(qj_parse(&d, deep, (size_t)(QJ_MAX_DEPTH + 1) * 2), -EPROTO, "too deep refused");
	qj_free(&d);
	TAP_EQ_INT(qj_parse(&d, " {\"a\": [true, false, null, -1.5e2, 18446744073709551615],"
				"\"b\\n\": \"x\\\"y\"} ", 80),
		   -EPROTO, "length cut inside the text: refused");
	qj_free(&d);
	{
		const char *t = " {\"a\": [true, false, null, -1.5e2, 18446744073709551615, "
				"18446744073709551616], \"b\": \"x\\\"y\"} ";
		TAP_EQ_INT(qj_parse(&d, t, strlen(t)), 0, "a mixed document parses");
		k = qj_get(&d, 0, "a");
		TAP_OK(k >= 0 && d.n[k].type == QJ_ARR, "member a is an array");
		k = d.n[k].first;
		TAP_OK(d.n[k].type == QJ_BOOL && d.n[k].b, "true");
		k = d.n[k].next;
		TAP_OK(d.n[k].type == QJ_BOOL && !d.n[k].b, "false");
		k = d.n[d.n[k].next].next;
		TAP_OK(d.n[k].type == QJ_NUM && d.n[k].num == -150 && !d.n[k].is_uint, "-1.5e2");
		k = d.n[k].next;
		TAP_OK(d.n[k].is_uint && d.n[k].u == UINT64_MAX, "2^64-1 exact");
		k = d.n[k].next;
		TAP_OK(!d.n[k].is_uint, "2^64 is not an exact unsigned");
		TAP_OK(qj_get(&d, 0, "b") >= 0 && !qj_str_is(&d, qj_get(&d, 0, "b"), "x\"y"),
		       "a string with an escape never equals a plain one");
		TAP_EQ_INT(qj_get(&d, 0, "zz"), -1, "missing member");
		qj_free(&d);
	}
}

/* The server: the greeting, then for each command line read, the next
 * reply; "SILENT" answers nothing, "CLOSE" hangs up. */
static pid_t serve(int fd, const char *const *replies)
{
	pid_t pid = fork();
	char c;

	if (pid)
		return pid;
	for (size_t i = 0; replies[i]; i++) {
		if (i) /* a command first */
			while (read(fd, &c, 1) == 1 && c != '\n')
				;
		if (!strcmp(replies[i], "CLOSE"))
			_exit(0);
		if (!strcmp(replies[i], "SILENT")) {
			pause();
			_exit(0);
		}
		if (write(fd, replies[i], strlen(replies[i])) < 0)
			_exit(1);
	}
	while (read(fd, &c, 1) == 1)
		;
	_exit(0);
}

struct session {
	struct qmp q;
	pid_t child;
	int rc;
};

static void start(struct session *s, const char *const *replies, int timeout_ms)
{
	int sv[2];

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	s->child = serve(sv[1], replies);
	close(sv[1]);
	s->rc = qmp_open_fd(&s->q, sv[0], timeout_ms);
}

static void finish(struct session *s)
{
	qmp_close(&s->q);
	kill(s->child, SIGKILL);
	waitpid(s->child, NULL, 0);
}

static void recorded_session(void)
{
	char *greet = qmp_fixture("greeting.json"), *caps = qmp_fixture("capabilities.json"),
	     *schema = qmp_fixture("schemas.json"), *stats = qmp_fixture("stats.json"),
	     *err = qmp_fixture("error.json");
	const char *event = "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": "
			    "\"RESUME\"}\r\n";
	char *stats2 = malloc(strlen(event) + strlen(stats) + 1);
	struct session s;
	struct qmp_stats st;
	struct qj_doc d;
	char why[200] = "", *cmd;
	int ret, r;

	if (!greet || !caps || !schema || !stats || !err) {
		TAP_SKIP("fixtures missing");
		return;
	}
	sprintf(stats2, "%s%s", event, stats);
	start(&s, (const char *const[]){ greet, caps, schema, stats2, err, "CLOSE", NULL }, 2000);
	TAP_EQ_INT(s.rc, 0, "greeting and capabilities negotiated");
	r = qmp_exec(&s.q, "{\"execute\":\"query-stats-schemas\"}", &d, &ret);
	TAP_EQ_INT(r, 0, "schemas reply");
	TAP_EQ_INT(qmp_stats_from_schema(&st, &d, ret), 0, "vcpu schema found");
	qj_free(&d);
	/* 47 vcpu stats in QEMU 7.2 / this kernel: 2 booleans, 3 histograms. */
	TAP_EQ_INT(st.n, 42, "cumulative vcpu stats only");
	cmd = qmp_stats_command(&st);
	TAP_OK(strstr(cmd, "\"names\":[\"pf_park_timeouts\",") != NULL, "command asks by name");
	free(cmd);
	/* The recorded values reply asked for four names: narrow to those. */
	strcpy(st.name[0], "exits"), strcpy(st.name[1], "io_exits");
	strcpy(st.name[2], "pf_taken"), strcpy(st.name[3], "halt_wait_ns");
	st.n = 4;
	r = qmp_exec(&s.q, "{\"execute\":\"query-stats\"}", &d, &ret);
	TAP_EQ_INT(r, 0, "stats reply after an event (skipped)");
	TAP_EQ_INT(qmp_stats_values(&st, &d, ret, why, sizeof(why)), 0, "values read");
	TAP_EQ_INT(st.val[0], 0, "exits of a stopped vCPU: 0");
	strcpy(st.name[3], "no_such_stat");
	TAP_EQ_INT(qmp_stats_values(&st, &d, ret, why, sizeof(why)), -EPROTO, "missing stat refused");
	TAP_OK(strstr(why, "no_such_stat missing") != NULL, why);
	qj_free(&d);
	r = qmp_exec(&s.q, "{\"execute\":\"query-stats\"}", &d, &ret);
	TAP_EQ_INT(r, -EREMOTEIO, "error reply");
	TAP_OK(strstr(s.q.err, "GenericError: Parameter 'target'") != NULL, s.q.err);
	r = qmp_exec(&s.q, "{\"execute\":\"x\"}", &d, &ret);
	TAP_EQ_INT(r, -EPIPE, "server gone: EPIPE");
	qmp_stats_free(&st);
	finish(&s);
	free(greet), free(caps), free(schema), free(stats), free(err), free(stats2);
}

static void hostile_sessions(void)
{
	struct session s;

	start(&s, (const char *const[]){ "SILENT", NULL }, 200);
	TAP_EQ_INT(s.rc, -ETIMEDOUT, "silent server: timeout");
	TAP_OK(strstr(s.q.err, "timeout") != NULL, s.q.err);
	finish(&s);
	start(&s, (const char *const[]){ "{\"hello\": 1}\n", NULL }, 500);
	TAP_EQ_INT(s.rc, -EPROTO, "no QMP greeting refused");
	finish(&s);
	start(&s, (const char *const[]){ "{\"QMP\": {}}\n", "{\"return\": [1,}\n", NULL }, 500);
	TAP_EQ_INT(s.rc, -EPROTO, "malformed reply refused");
	TAP_OK(strstr(s.q.err, "bad JSON at byte") != NULL, s.q.err);
	finish(&s);
	start(&s, (const char *const[]){ "{\"QMP\": {}}\n", "{\"neither\": 1}\n", NULL }, 500);
	TAP_EQ_INT(s.rc, -EPROTO, "reply without return or error refused");
	finish(&s);
	start(&s, (const char *const[]){ "{\"QMP\": {}}\n", "CLOSE", NULL }, 500);
	TAP_EQ_INT(s.rc, -EPIPE, "hang-up during negotiation");
	finish(&s);
	{
		struct qmp q;
		TAP_OK(qmp_open(&q, "/nonexistent/qmp.sock", 50) < 0 &&
			       strstr(q.err, "cannot connect") != NULL,
		       "no socket: clear error");
		qmp_close(&q);
	}
}

/* qemu-kvm's reasons come from the table the kvm runner's names follow. */
static void reason_names(void)
{
	static const char *map[][2] = { { "exits", "total" },	      { "halt_exits", "hlt" },
					{ "hypercalls", "hypercall" },   { "io_exits", "io" },
					{ "insn_emulation", "insn_emulation" },
					{ "request_irq_exits", "request_irq" },
					{ "pf_taken", NULL },	      { "insn_emulation_fail", NULL },
					{ "_exits", NULL } };
	char buf[64];

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		const char *r = kvm_stats_exit_reason(map[i][0], buf, sizeof(buf));
		if (map[i][1])
			TAP_EQ_STR(r, map[i][1], map[i][0]);
		else
			TAP_OK(r == NULL, map[i][0]);
	}
}

int main(void)
{
	reason_names();
	signal(SIGPIPE, SIG_IGN);
	json_cases();
	recorded_session();
	hostile_sessions();
	return tap_done();
}
