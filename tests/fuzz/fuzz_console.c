/*
 * Fuzzer: the console record codec's decoder (workloads/console_codec.c)
 * and the host's console line assembler (console_stream.c).  Input: console
 * bytes as a VMM's serial port delivers them.
 *
 * - The whole input as one line: hvb_console_decode() says TEXT exactly when
 *   it does not start with "@hvb", and a line it decodes as a record is the
 *   very line hvb_console_encode() writes for that record and seq (the
 *   encoding is canonical: one line per record).
 * - The input as a stream, fed at once and fed in chunks of sizes drawn
 *   from the input: both must deliver the same records and text lines in
 *   the same order and end with the same statistics.  A record of type
 *   STOP_TYPE makes on_record return non-zero (the caller stops), in both.
 */
#include "console_codec.h"
#include "console_stream.h"
#include "fuzz.h"

#define STOP_TYPE 0xffff

/* What the stream delivered: a hash of every callback with its arguments. */
struct trace {
	uint64_t hash;
	unsigned long records, texts;
};

static void mix(struct trace *t, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		t->hash = (t->hash ^ b[i]) * 0x100000001b3ull; /* FNV-1a */
}

static int on_record(void *arg, const struct hvb_record *rec, uint32_t seq)
{
	struct trace *t = arg;

	mix(t, "R", 1);
	mix(t, &seq, sizeof(seq));
	mix(t, rec, sizeof(*rec));
	t->records++;
	return rec->type == STOP_TYPE ? 1 : 0;
}

static void on_text(void *arg, const char *text, size_t len)
{
	struct trace *t = arg;

	FUZZ_CHECK(len <= HVB_CONSOLE_TEXT_MAX);
	FUZZ_CHECK(!memchr(text, '\n', len));
	mix(t, "T", 1);
	mix(t, &len, sizeof(len));
	mix(t, text, len);
	t->texts++;
}

static void check_decode(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	char enc[HVB_CONSOLE_LINE_LEN];
	struct hvb_record rec;
	size_t len = size;
	uint32_t seq;

	switch (hvb_console_decode(line, size, &rec, &seq)) {
	case HVB_CONSOLE_RECORD:
		if (len && line[len - 1] == '\n')
			len--;
		if (len && line[len - 1] == '\r')
			len--;
		FUZZ_CHECK(hvb_console_encode(&rec, seq, enc) == HVB_CONSOLE_LINE_LEN);
		FUZZ_CHECK(len == HVB_CONSOLE_LINE_LEN - 1 && !memcmp(enc, line, len));
		break;
	case HVB_CONSOLE_TEXT:
		FUZZ_CHECK(size < 4 || memcmp(line, HVB_CONSOLE_MARK, 4));
		break;
	case HVB_CONSOLE_CORRUPT:
		FUZZ_CHECK(size >= 4 && !memcmp(line, HVB_CONSOLE_MARK, 4));
		break;
	default:
		FUZZ_CHECK(!"hvb_console_decode returned an unknown result");
	}
}

static struct hvb_console_stream whole, chunked;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace tw = {0}, tc = {0};
	uint64_t rnd = 0x9e3779b97f4a7c15ull;
	int rw, rc = 0;

	check_decode(data, size);

	hvb_console_stream_init(&whole, on_record, on_text, &tw);
	rw = hvb_console_stream_feed(&whole, data, size);
	if (!rw)
		rw = hvb_console_stream_finish(&whole);

	/* Chunk sizes from a hash of the input: 0 (an empty read) to 700
	 * bytes, so lines are cut anywhere, including inside "\r\n". */
	for (size_t i = 0; i < size; i++)
		rnd = (rnd ^ data[i]) * 0x100000001b3ull;
	rnd |= 1; /* xorshift stays at 0 */
	hvb_console_stream_init(&chunked, on_record, on_text, &tc);
	for (size_t off = 0; off < size && !rc;) {
		size_t n;

		rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17; /* xorshift64 */
		n = (size_t)(rnd % 4 ? rnd % 8 : rnd % 701);
		if (n > size - off)
			n = size - off;
		chunked.stamp = off;
		rc = hvb_console_stream_feed(&chunked, data + off, n);
		off += n;
	}
	if (!rc)
		rc = hvb_console_stream_finish(&chunked);

	FUZZ_CHECK(rw == 0 || rw == 1);
	FUZZ_CHECK(rw == rc);
	FUZZ_CHECK(tw.records == tc.records && tw.texts == tc.texts && tw.hash == tc.hash);
	FUZZ_CHECK(!memcmp(&whole.stats, &chunked.stats, sizeof(whole.stats)));
	FUZZ_CHECK(whole.stats.records == tw.records && whole.stats.text_lines == tw.texts);
	return 0;
}
