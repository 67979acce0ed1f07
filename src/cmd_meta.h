/*
 * What the commands that write one result directory from child runs
 * (capacity, migrate) do alike: their meta keys, signals, the directory,
 * and the check that a runner can run here before any child starts.
 */
#ifndef HVB_CMD_META_H
#define HVB_CMD_META_H

#include "sink.h"

/* "hvbench ARGV..." (malloc'ed): meta command_line. */
char *hvb_cmd_line(int argc, char **argv);

/* key = the UTC time now, ISO 8601 (started_utc, finished_utc). */
void hvb_cmd_meta_utc(struct hvb_sink *sink, const char *key);

/* SIGINT, SIGTERM, SIGHUP to handler (the command stops and keeps what it
 * measured), SIGPIPE ignored. */
void hvb_cmd_signals(void (*handler)(int));

/* Open the run's result directory out/run_id; on failure say so with what
 * to do.  0 or -errno. */
int hvb_cmd_sink_open(struct hvb_sink **sink, const char *out, const char *run_id);

/* The runners of list (comma-separated) exist and are available here with
 * this image and guest memory (NULL: defaults)?  0, or -1 with err saying
 * why not (hvb_select_runners' words). */
int hvb_cmd_runners_available(const char *list, const char *image, const char *guest_mem,
			      char *err, size_t len);

#endif
