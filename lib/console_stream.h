/*
 * Host-side console line assembler: turns a console byte stream (QEMU
 * serial, Xen PV console), delivered in chunks of any size, into records
 * (workloads/console_codec.h) and ordinary console text.
 *
 * - Lines end with '\n' ("\r\n" too).  A record that starts mid-line (text
 *   without a newline before it) is split off: the text part is text.
 * - Lines are bounded: a line longer than HVB_CONSOLE_TEXT_MAX bytes yields
 *   its first HVB_CONSOLE_TEXT_MAX bytes as text and the rest up to the next
 *   newline is discarded and counted, so a flood cannot grow memory.
 * - Sequence numbers: records are expected as 0, 1, 2, ...; a record whose
 *   seq was already passed is a duplicate (dropped, counted), a jump ahead
 *   counts the missing records as lost (the record itself is delivered).
 */
#ifndef HVB_CONSOLE_STREAM_H
#define HVB_CONSOLE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "console_codec.h"

/* Longest console line kept (longer than a record line, which is 537 bytes). */
#define HVB_CONSOLE_TEXT_MAX 1024

struct hvb_console_stats {
	unsigned long records;		    /* delivered */
	unsigned long text_lines;	    /* ordinary console lines (including cut ones) */
	unsigned long corrupt;		    /* record lines that failed length/hex/crc */
	unsigned long duplicates;	    /* records with an already-seen seq (dropped) */
	unsigned long lost;		    /* records missing from the seq sequence */
	unsigned long overlong;		    /* lines cut at HVB_CONSOLE_TEXT_MAX */
	unsigned long long discarded_bytes; /* bytes dropped from over-long lines */
};

struct hvb_console_stream {
	/* Called for every record in seq order; a non-zero return stops
	 * hvb_console_stream_feed, which returns it. */
	int (*on_record)(void *arg, const struct hvb_record *rec, uint32_t seq);
	/* Called for every text line (without its newline; not NUL-terminated,
	 * may hold any byte).  May be NULL. */
	void (*on_text)(void *arg, const char *text, size_t len);
	void *arg;
	struct hvb_console_stats stats;
	/* Caller's timestamp of the bytes about to be fed (e.g. when they were
	 * read); line_stamp is the stamp of the first byte of the line being
	 * delivered, so on_record can tell when a record started to arrive. */
	uint64_t stamp, line_stamp;
	/* private */
	uint32_t next_seq;
	bool skipping; /* inside an over-long line */
	size_t len;
	char line[HVB_CONSOLE_TEXT_MAX];
};

/* Prepare s; expects seq 0 first. */
void hvb_console_stream_init(struct hvb_console_stream *s,
			     int (*on_record)(void *arg, const struct hvb_record *rec,
					      uint32_t seq),
			     void (*on_text)(void *arg, const char *text, size_t len), void *arg);

/* Consume n bytes.  0, or the first non-zero on_record return (bytes after
 * that record's line are not consumed). */
int hvb_console_stream_feed(struct hvb_console_stream *s, const void *buf, size_t n);

/* End of stream: an unterminated last line is handled as if it ended here
 * (a cut-off record line counts as corrupt).  Same return as feed. */
int hvb_console_stream_finish(struct hvb_console_stream *s);

#endif
