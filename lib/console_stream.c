#include "console_stream.h"

#include <string.h>

void hvb_console_stream_init(struct hvb_console_stream *s,
			     int (*on_record)(void *arg, const struct hvb_record *rec,
					      uint32_t seq),
			     void (*on_text)(void *arg, const char *text, size_t len), void *arg)
{
	memset(s, 0, sizeof(*s));
	s->on_record = on_record;
	s->on_text = on_text;
	s->arg = arg;
}

static void text_line(struct hvb_console_stream *s, const char *p, size_t len)
{
	if (len && p[len - 1] == '\r')
		len--;
	s->stats.text_lines++;
	if (s->on_text)
		s->on_text(s->arg, p, len);
}

/* Sequence check: 1 = deliver, 0 = duplicate (drop). */
static int seq_accept(struct hvb_console_stream *s, uint32_t seq)
{
	int32_t ahead = (int32_t)(seq - s->next_seq); /* wrap-safe */

	if (ahead < 0) {
		s->stats.duplicates++;
		return 0;
	}
	s->stats.lost += (uint32_t)ahead;
	s->next_seq = seq + 1;
	return 1;
}

/* The first "@hvb1 " or "@hvb2 " after the line's start, or NULL. */
static const char *glued_record(const char *p, size_t len)
{
	const char *a, *b;

	if (len < 2)
		return NULL;
	a = memmem(p + 1, len - 1, HVB_CONSOLE_PREFIX, sizeof(HVB_CONSOLE_PREFIX) - 1);
	b = memmem(p + 1, len - 1, HVB_CONSOLE_PREFIX_Z, sizeof(HVB_CONSOLE_PREFIX_Z) - 1);
	return !a ? b : !b ? a : a < b ? a : b;
}

/* One complete line (without '\n'). */
static int line_done(struct hvb_console_stream *s, const char *p, size_t len)
{
	struct hvb_record rec;
	const char *mark;
	uint32_t seq;

	/* A record glued to preceding text that had no newline (either form). */
	mark = glued_record(p, len);
	if (mark) {
		text_line(s, p, (size_t)(mark - p));
		len -= (size_t)(mark - p);
		p = mark;
	}
	switch (hvb_console_decode(p, len, &rec, &seq)) {
	case HVB_CONSOLE_RECORD:
		if (!seq_accept(s, seq))
			return 0;
		s->stats.records++;
		return s->on_record ? s->on_record(s->arg, &rec, seq) : 0;
	case HVB_CONSOLE_CORRUPT:
		s->stats.corrupt++;
		return 0;
	case HVB_CONSOLE_TEXT:
	default:
		text_line(s, p, len);
		return 0;
	}
}

int hvb_console_stream_feed(struct hvb_console_stream *s, const void *buf, size_t n)
{
	const char *p = buf, *end = p + n;
	int r;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t chunk = (size_t)((nl ? nl : end) - p);

		if (s->skipping) {
			s->stats.discarded_bytes += chunk;
		} else {
			size_t room = sizeof(s->line) - s->len;
			size_t take = chunk < room ? chunk : room;

			if (!s->len)
				s->line_stamp = s->stamp;
			memcpy(s->line + s->len, p, take);
			s->len += take;
			if (take < chunk) {
				/* Over-long: keep what fits as a text line, drop the rest. */
				s->stats.overlong++;
				s->stats.discarded_bytes += chunk - take;
				text_line(s, s->line, s->len);
				s->len = 0;
				s->skipping = true;
			}
		}
		p += chunk;
		if (!nl)
			break;
		p++; /* the newline */
		if (s->skipping) {
			s->skipping = false;
			continue;
		}
		r = line_done(s, s->line, s->len);
		s->len = 0;
		if (r)
			return r;
	}
	return 0;
}

int hvb_console_stream_finish(struct hvb_console_stream *s)
{
	int r = 0;

	if (s->len && !s->skipping)
		r = line_done(s, s->line, s->len);
	s->len = 0;
	s->skipping = false;
	return r;
}
