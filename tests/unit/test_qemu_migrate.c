/*
 * The QEMU migration engine's pure parts (runners/qemu/migrate.c): the
 * query-migrate reply parser against replies recorded from QEMU 7.2 on
 * this host (tests/fixtures/qmp/migrate-*.json) and against hostile ones,
 * the trigger's environment, and the source's extra -qmp socket.  The
 * migration itself is tests/integration/test_qemu_migrate.sh.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qemu/migrate.h"
#include "qmp_fixture.h"
#include "tap.h"
#include "util.h"

/* Parse text as a QMP reply and its return value: the parser's result. */
static int parse_text(struct qemu_mig_info *mi, const char *text, char *why, size_t len)
{
	struct qj_doc d;
	int e = qj_parse(&d, text, strlen(text));

	if (!e)
		e = qemu_mig_info_parse(mi, &d, qj_get(&d, 0, "return"), why, len);
	qj_free(&d);
	return e;
}

static int parse_fixture(struct qemu_mig_info *mi, const char *name)
{
	char *text = qmp_fixture(name), why[200] = "";
	int e;

	if (!text) {
		TAP_OK(0, name);
		return -ENOENT;
	}
	e = parse_text(mi, text, why, sizeof(why));
	free(text);
	if (e)
		printf("# %s: %s\n", name, why);
	return e;
}

static void recorded(void)
{
	struct qemu_mig_info mi;

	TAP_EQ_INT(parse_fixture(&mi, "migrate-none.json"), 0, "none: before any migrate");
	TAP_EQ_STR(mi.status, "none", "no status member reads as none");
	TAP_OK(!mi.has_ram && !mi.has_total, "none: no figures");
	TAP_EQ_INT(parse_fixture(&mi, "migrate-setup.json"), 0, "setup parses");
	TAP_EQ_STR(mi.status, "setup", "setup: status");
	TAP_EQ_INT(parse_fixture(&mi, "migrate-active.json"), 0, "active parses");
	TAP_EQ_STR(mi.status, "active", "active: status");
	TAP_OK(mi.has_total && mi.total_ms == 83 && mi.has_setup && mi.setup_ms == 12,
	       "active: total-time 83 ms, setup-time 12 ms");
	TAP_OK(mi.has_expected && mi.expected_downtime_ms == 300, "active: expected-downtime 300");
	TAP_OK(!mi.has_downtime, "active: no downtime yet");
	TAP_OK(mi.has_ram && mi.transferred == 2233388 && mi.remaining == 1069363200 &&
		       mi.ram_total == 1073819648,
	       "active: ram transferred, remaining, total");
	TAP_OK(mi.dirty_sync_count == 1 && mi.page_size == 4096 && mi.dirty_pages_rate == 0,
	       "active: round 1, 4 KiB pages, no dirty rate yet");
	TAP_EQ_INT(parse_fixture(&mi, "migrate-completed.json"), 0, "completed parses");
	TAP_EQ_STR(mi.status, "completed", "completed: status");
	TAP_OK(mi.has_downtime && mi.downtime_ms == 0 && mi.total_ms == 310,
	       "completed: downtime 0 ms, total-time 310 ms");
	TAP_OK(mi.transferred == 4902623 && mi.remaining == 0 && mi.dirty_sync_count == 3,
	       "completed: 4902623 bytes, nothing remaining, 3 rounds");
	TAP_OK(mi.mbps > 132.11 && mi.mbps < 132.12, "completed: mbps as a fraction");
	TAP_EQ_INT(parse_fixture(&mi, "migrate-slow.json"), 0, "1 MiB/s active parses");
	TAP_OK(mi.total_ms == 301 && mi.remaining > mi.transferred,
	       "1 MiB/s: far from done after 301 ms");
	TAP_EQ_INT(parse_fixture(&mi, "migrate-cancelled.json"), 0, "cancelled parses");
	TAP_EQ_STR(mi.status, "cancelled", "cancelled: status");
	TAP_EQ_INT(parse_fixture(&mi, "migrate-failed.json"), 0, "failed parses");
	TAP_EQ_STR(mi.status, "failed", "failed: status");
	TAP_EQ_STR(mi.error, "Unable to write to socket: Broken pipe", "failed: error-desc kept");
}

static void hostile(void)
{
	static const char *bad[] = {
		"{\"return\": []}",
		"{\"return\": {\"status\": 3}}",
		"{\"return\": {\"status\": \"active-but-a-status-far-too-long-to-be-one\"}}",
		"{\"return\": {\"status\": \"active\", \"total-time\": -1}}",
		"{\"return\": {\"status\": \"active\", \"downtime\": \"5\"}}",
		"{\"return\": {\"status\": \"active\", \"ram\": 7}}",
		"{\"return\": {\"status\": \"active\", \"ram\": {\"transferred\": 1.5}}}",
		"{\"return\": {\"status\": \"active\", \"ram\": {\"mbps\": \"fast\"}}}",
		"{\"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}}",
	};
	struct qemu_mig_info mi;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char why[200] = "", desc[300];
		int e = parse_text(&mi, bad[i], why, sizeof(why));
		snprintf(desc, sizeof(desc), "refused: %s (%s)", bad[i], why);
		TAP_OK(e == -EPROTO && why[0], desc);
	}
}

static void env_cases(void)
{
	struct qemu_migrate_params p;
	char why[200] = "";
	bool on = true;

	unsetenv("HVB_QEMU_MIGRATE_AT_MS");
	TAP_EQ_INT(qemu_migrate_params_env(&p, &on, why, sizeof(why)), 0, "no trigger set: ok");
	TAP_OK(!on, "no trigger set: off");
	setenv("HVB_QEMU_MIGRATE_AT_MS", "250", 1);
	setenv("HVB_QEMU_MIGRATE_BW_MIBS", "3", 1);
	setenv("HVB_QEMU_MIGRATE_DOWNTIME_MS", "50", 1);
	setenv("HVB_QEMU_MIGRATE_LIMIT_MS", "4000", 1);
	setenv("HVB_QEMU_MIGRATE_ROUNDS", "7", 1);
	TAP_EQ_INT(qemu_migrate_params_env(&p, &on, why, sizeof(why)), 0, "all set: ok");
	TAP_OK(on && p.at_ms == 250 && p.max_bw == 3u << 20 && p.downtime_ms == 50 &&
		       p.limit_ms == 4000 && p.max_rounds == 7 && p.cpu == -1,
	       "all set: values, bandwidth in bytes/s");
	setenv("HVB_QEMU_MIGRATE_BW_MIBS", "lots", 1);
	TAP_EQ_INT(qemu_migrate_params_env(&p, &on, why, sizeof(why)), -EINVAL, "malformed: refused");
	TAP_OK(strstr(why, "HVB_QEMU_MIGRATE_BW_MIBS=lots") != NULL, "malformed: why names it");
	unsetenv("HVB_QEMU_MIGRATE_BW_MIBS");
	setenv("HVB_QEMU_MIGRATE_AT_MS", "-5", 1);
	TAP_EQ_INT(qemu_migrate_params_env(&p, &on, why, sizeof(why)), -EINVAL, "negative: refused");
	unsetenv("HVB_QEMU_MIGRATE_AT_MS");
}

static void setup_cases(void)
{
	struct qemu_migrate_params p = { .at_ms = 1, .cpu = -1 };
	struct qemu_migrate m;
	char why[200] = "", tmp[] = "/tmp/hvb-tqm-XXXXXX";
	char *argv[8] = { xstrdup("qemu"), NULL };
	struct stat st;

	TAP_OK(mkdtemp(tmp) != NULL, "a TMPDIR");
	setenv("TMPDIR", tmp, 1);
	TAP_EQ_INT(qemu_migrate_init(&m, &p, why, sizeof(why)), 0, "init");
	TAP_OK(!strncmp(m.dir, tmp, strlen(tmp)) && !stat(m.dir, &st) && S_ISDIR(st.st_mode),
	       "the socket directory is under TMPDIR");
	TAP_OK(m.p.max_bw == QEMU_MIG_BW_UNLIMITED && m.p.limit_ms == QEMU_MIG_LIMIT_MS,
	       "defaults: no bandwidth limit, QEMU_MIG_LIMIT_MS");
	TAP_EQ_INT(qemu_migrate_argv(&m, argv, 8), 0, "the source's -qmp added");
	TAP_OK(argv[1] && !strcmp(argv[1], "-qmp") && strstr(argv[2], m.src_qmp) &&
		       strstr(argv[2], "server=on,wait=off"),
	       "-qmp unix:<dir>/src-qmp.sock,server=on,wait=off");
	TAP_EQ_INT(qemu_migrate_argv(&m, argv, 4), -E2BIG, "no room: refused");
	TAP_OK(!qemu_migrate_after_switch(&m, hvb_now_ns()), "nothing is after a switch never made");
	qemu_migrate_close(&m);
	TAP_OK(stat(m.src_qmp, &st) && errno == ENOENT, "close removes the directory");
	for (char **a = argv; *a; a++)
		free(*a);
	rmdir(tmp);
	unsetenv("TMPDIR");
}

int main(void)
{
	recorded();
	hostile();
	env_cases();
	setup_cases();
	return tap_done();
}
