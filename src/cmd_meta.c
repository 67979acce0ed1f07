/*
 * Meta keys of the commands that run child runs (cmd_meta.h).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd_meta.h"
#include "config.h"
#include "matrix.h"
#include "util.h"

void hvb_cmd_meta_utc(struct hvb_sink *sink, const char *key)
{
	char buf[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	hvb_sink_meta(sink, key, buf);
}

char *hvb_cmd_line(int argc, char **argv)
{
	char *cmd = xstrdup("hvbench");

	for (int i = 0; i < argc; i++) {
		char *t = xasprintf("%s %s", cmd, argv[i]);
		free(cmd);
		cmd = t;
	}
	return cmd;
}

void hvb_cmd_signals(void (*handler)(int))
{
	signal(SIGINT, handler);
	signal(SIGTERM, handler);
	signal(SIGHUP, handler);
	signal(SIGPIPE, SIG_IGN);
}

int hvb_cmd_sink_open(struct hvb_sink **sink, const char *out, const char *run_id)
{
	int e = hvb_sink_open(sink, out, run_id);

	if (e)
		hvb_err("cannot create the result directory %s/%s: %s (choose another with --out)",
			out, run_id, strerror(-e));
	return e;
}

int hvb_cmd_runners_available(const char *list, const char *image, const char *guest_mem,
			      char *err, size_t len)
{
	struct hvb_selection sel = { 0 };
	struct hvb_config cfg;
	int r = 0;

	if (hvb_config_load(&cfg, image, err, len))
		return -1;
	if (hvb_config_guest_mem(&cfg, guest_mem, err, len) ||
	    hvb_select_runners(list, &cfg, &sel, err, len))
		r = -1;
	hvb_selection_free(&sel);
	hvb_config_free(&cfg);
	return r;
}
