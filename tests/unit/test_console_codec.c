/*
 * Console record codec (workloads/console_codec.c) and the host line
 * assembler (src/console_stream.c): round trips, CRC-32C, and the damage a
 * serial console really does — split reads, bit flips, truncation, bad hex,
 * duplicated and lost records, records mixed with ordinary console text.
 */
#include <stdlib.h>
#include <string.h>

#include "console_codec.h"
#include "console_stream.h"
#include "tap.h"

static void make_record(struct hvb_record *r, uint32_t i)
{
	memset(r, 0, sizeof(*r));
	r->magic = HVB_RECORD_MAGIC;
	r->version = HVB_ABI_VERSION;
	r->type = HVB_REC_SAMPLE;
	r->size = sizeof(*r);
	r->rep = i;
	strcpy(r->workload, "micro/cpuid");
	strcpy(r->metric, "ns_per_op");
	strcpy(r->unit, "ns");
	r->better = HVB_LOWER_IS_BETTER;
	r->value = 1.5 * i;
	r->u64[3] = 0xfedcba9876543210ull ^ i;
	strcpy(r->text, "note");
}

/* ------------------------------------------------------------ codec */

static void test_crc(void)
{
	TAP_EQ_INT(hvb_crc32c("123456789", 9), 0xe3069283, "crc32c standard check value");
	TAP_EQ_INT(hvb_crc32c("", 0), 0, "crc32c of nothing is 0");
	/* RFC 3720 B.4: 32 bytes of zeros. */
	{
		unsigned char z[32] = {0};
		TAP_EQ_INT(hvb_crc32c(z, sizeof(z)), 0x8a9136aa,
			   "crc32c of 32 zero bytes (RFC 3720)");
	}
}

static void test_roundtrip(void)
{
	struct hvb_record in, out;
	char line[HVB_CONSOLE_LINE_LEN + 2];
	uint32_t seq = 0;
	size_t n;
	int bad = 0;

	make_record(&in, 7);
	n = hvb_console_encode(&in, 0x1234abcd, line);
	TAP_EQ_INT(n, HVB_CONSOLE_LINE_LEN, "encode returns the line length");
	TAP_EQ_INT(HVB_CONSOLE_LINE_LEN, 537, "a line is 537 bytes");
	TAP_OK(!memcmp(line, "@hvb1 1234abcd ", 15), "line starts with prefix and seq");
	TAP_OK(line[n - 1] == '\n' && line[n - 10] == ' ', "line ends with ' crc\\n'");
	for (size_t i = 0; i < n - 1; i++)
		if (line[i] >= 'A' && line[i] <= 'Z')
			bad++;
	TAP_EQ_INT(bad, 0, "encoder writes lowercase hex only");

	memset(&out, 0xaa, sizeof(out));
	TAP_EQ_INT(hvb_console_decode(line, n, &out, &seq), HVB_CONSOLE_RECORD,
		   "decode of an encoded line is a record");
	TAP_OK(!memcmp(&in, &out, sizeof(in)), "decoded record equals the original, byte for byte");
	TAP_EQ_INT(seq, 0x1234abcd, "seq survives the round trip");
	TAP_EQ_INT(hvb_console_decode(line, n - 1, &out, &seq), HVB_CONSOLE_RECORD,
		   "decode without the newline");
	line[n - 1] = '\r', line[n] = '\n';
	TAP_EQ_INT(hvb_console_decode(line, n + 1, &out, &seq), HVB_CONSOLE_RECORD,
		   "decode with \\r\\n");
}

static void test_corrupt(void)
{
	struct hvb_record in, out;
	char line[HVB_CONSOLE_LINE_LEN], bad[HVB_CONSOLE_LINE_LEN + 8];
	uint32_t seq;
	size_t n;
	int caught = 0, tried = 0;

	make_record(&in, 3);
	n = hvb_console_encode(&in, 5, line);

	/* Every single-bit flip anywhere after the mark, in every position. */
	for (size_t i = 4; i < n - 1; i++)
		for (int bit = 0; bit < 8; bit++) {
			memcpy(bad, line, n);
			bad[i] ^= (char)(1 << bit);
			if (bad[i] == '\n')
				continue; /* would split the line: the stream tests cover that */
			tried++;
			caught += hvb_console_decode(bad, n, &out, &seq) == HVB_CONSOLE_CORRUPT;
		}
	TAP_OK(tried > 4000 && caught == tried, "every single-bit flip after the mark is caught");
	if (caught != tried)
		printf("#   caught %d of %d\n", caught, tried);

	memcpy(bad, line, n);
	bad[6] ^= 1; /* '0' -> '1': a different but valid-looking seq */
	TAP_EQ_INT(hvb_console_decode(bad, n, &out, &seq), HVB_CONSOLE_CORRUPT,
		   "a damaged seq fails the crc (crc covers seq)");

	TAP_EQ_INT(hvb_console_decode(line, n - 20, &out, &seq), HVB_CONSOLE_CORRUPT,
		   "truncated line is corrupt");
	TAP_EQ_INT(hvb_console_decode(line, 10, &out, &seq), HVB_CONSOLE_CORRUPT,
		   "line cut after the prefix is corrupt");
	TAP_EQ_INT(hvb_console_decode("@hvb", 4, &out, &seq), HVB_CONSOLE_CORRUPT,
		   "bare mark is corrupt");
	memcpy(bad, line, n - 1);
	memcpy(bad + n - 1, "00\n", 3);
	TAP_EQ_INT(hvb_console_decode(bad, n + 2, &out, &seq), HVB_CONSOLE_CORRUPT,
		   "over-long line (wrong length) is corrupt");

	memcpy(bad, line, n);
	bad[20] = 'g';
	TAP_EQ_INT(hvb_console_decode(bad, n, &out, &seq), HVB_CONSOLE_CORRUPT,
		   "non-hex digit in the record is corrupt");
	memcpy(bad, line, n);
	for (size_t i = 15; i < 15 + 512; i++)
		if (bad[i] >= 'a' && bad[i] <= 'f') {
			bad[i] = (char)(bad[i] - 'a' + 'A');
			break;
		}
	TAP_EQ_INT(hvb_console_decode(bad, n, &out, &seq), HVB_CONSOLE_CORRUPT,
		   "uppercase hex (not what the encoder writes) is corrupt");
	memcpy(bad, line, n);
	bad[14] = '-';
	TAP_EQ_INT(hvb_console_decode(bad, n, &out, &seq), HVB_CONSOLE_CORRUPT,
		   "missing separator is corrupt");
	memcpy(bad, line, n);
	bad[n - 2] = 'x';
	TAP_EQ_INT(hvb_console_decode(bad, n, &out, &seq), HVB_CONSOLE_CORRUPT,
		   "bad hex in the crc is corrupt");

	TAP_EQ_INT(hvb_console_decode("hello world\n", 12, &out, &seq), HVB_CONSOLE_TEXT,
		   "ordinary text is text");
	TAP_EQ_INT(hvb_console_decode("", 0, &out, &seq), HVB_CONSOLE_TEXT, "empty line is text");
	TAP_EQ_INT(hvb_console_decode("SeaBIOS @hvb1 x", 15, &out, &seq), HVB_CONSOLE_TEXT,
		   "mark not at line start is text for the codec");
}

/* ------------------------------------------------------------ stream */

struct collect {
	unsigned n;
	uint32_t seqs[64];
	uint32_t reps[64];
	char text[4096];
	size_t text_len;
	unsigned text_lines;
	int stop_at; /* return 1 from on_record at this record count (0 = never) */
};

static int got_record(void *arg, const struct hvb_record *rec, uint32_t seq)
{
	struct collect *c = arg;

	if (c->n < 64) {
		c->seqs[c->n] = seq;
		c->reps[c->n] = rec->rep;
	}
	c->n++;
	return c->stop_at && (int)c->n == c->stop_at;
}

static void got_text(void *arg, const char *text, size_t len)
{
	struct collect *c = arg;

	if (c->text_len + len + 1 < sizeof(c->text)) {
		memcpy(c->text + c->text_len, text, len);
		c->text_len += len;
		c->text[c->text_len++] = '|';
		c->text[c->text_len] = '\0';
	}
	c->text_lines++;
}

static uint64_t xorshift(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Append the encoding of record i with seq to buf. */
static size_t put(char *buf, uint32_t i, uint32_t seq)
{
	struct hvb_record r;

	make_record(&r, i);
	return hvb_console_encode(&r, seq, buf);
}

static size_t puts_(char *buf, const char *s)
{
	size_t n = strlen(s);

	memcpy(buf, s, n);
	return n;
}

static void feed_chunks(struct hvb_console_stream *s, const char *buf, size_t n, uint64_t *rng)
{
	size_t off = 0;

	while (off < n) {
		size_t k = 1 + (size_t)(xorshift(rng) % 97);
		if (k > n - off)
			k = n - off;
		hvb_console_stream_feed(s, buf + off, k);
		off += k;
	}
}

static void test_stream_split(void)
{
	static char buf[16 * HVB_CONSOLE_LINE_LEN + 256];
	struct hvb_console_stream s;
	struct collect c = {0};
	uint64_t rng = 0x1234567;
	size_t n = 0;
	int in_order = 1;

	n += puts_(buf + n, "SeaBIOS (version 1.16)\r\n");
	for (uint32_t i = 0; i < 8; i++) {
		n += put(buf + n, i, i);
		if (i == 3)
			n += puts_(buf + n, "guest: hello from the console\n");
	}
	hvb_console_stream_init(&s, got_record, got_text, &c);
	feed_chunks(&s, buf, n, &rng);
	hvb_console_stream_finish(&s);
	TAP_EQ_INT(c.n, 8, "8 records split in random chunks all arrive");
	for (unsigned i = 0; i < 8 && i < c.n; i++)
		in_order &= c.seqs[i] == i && c.reps[i] == i;
	TAP_OK(in_order, "... in order, with their contents");
	TAP_EQ_INT(s.stats.text_lines, 2, "interleaved console text: 2 text lines");
	TAP_EQ_STR(c.text, "SeaBIOS (version 1.16)|guest: hello from the console|",
		   "text lines come out whole, without \\r\\n");
	TAP_EQ_INT(s.stats.corrupt + s.stats.lost + s.stats.duplicates, 0, "no damage counted");

	/* One byte at a time. */
	memset(&c, 0, sizeof(c));
	hvb_console_stream_init(&s, got_record, got_text, &c);
	for (size_t i = 0; i < n; i++)
		hvb_console_stream_feed(&s, buf + i, 1);
	TAP_EQ_INT(c.n, 8, "byte-at-a-time feed delivers all 8 records");
}

static void test_stream_damage(void)
{
	static char buf[16 * HVB_CONSOLE_LINE_LEN + 256];
	struct hvb_console_stream s;
	struct collect c = {0};
	uint64_t rng = 42;
	size_t n = 0, at;

	n += put(buf + n, 0, 0);
	at = n;
	n += put(buf + n, 1, 1);
	buf[at + 100] ^= 0x04; /* bit flip in record 1 */
	n += put(buf + n, 2, 2);
	n += put(buf + n, 2, 2); /* duplicated */
	at = n;
	n += put(buf + n, 3, 3);
	memmove(buf + at + 200, buf + at + 300, n - (at + 300)); /* truncated record 3 */
	n -= 100;
	n += put(buf + n, 4, 4);
	at = n;
	n += put(buf + n, 5, 5);
	buf[at + 50] = 'z';	 /* bad hex in 5 */
	n += put(buf + n, 7, 7); /* 6 lost on the way */
	n += puts_(buf + n, "partial text then ");
	n += put(buf + n, 8, 8); /* glued to text without a newline */
	n += put(buf + n, 1, 1); /* late duplicate */
	n += put(buf + n, 9, 9);

	hvb_console_stream_init(&s, got_record, got_text, &c);
	feed_chunks(&s, buf, n, &rng);
	hvb_console_stream_finish(&s);
	TAP_EQ_INT(c.n, 6, "records 0 2 4 7 8 9 delivered");
	TAP_OK(c.seqs[0] == 0 && c.seqs[1] == 2 && c.seqs[2] == 4 && c.seqs[3] == 7 &&
		   c.seqs[4] == 8 && c.seqs[5] == 9,
	       "... with the expected sequence numbers");
	TAP_EQ_INT(s.stats.corrupt, 3, "bit flip, truncation and bad hex counted as corrupt");
	TAP_EQ_INT(s.stats.duplicates, 2, "same seq twice: dropped and counted (twice)");
	TAP_EQ_INT(s.stats.lost, 4, "lost records counted: 1, 3, 5 (corrupt) and 6 (missing)");
	TAP_EQ_STR(c.text, "partial text then |", "text before a glued record is text");
}

static void test_stream_flood(void)
{
	static char big[10000];
	struct hvb_console_stream s;
	struct collect c = {0};
	char rec[HVB_CONSOLE_LINE_LEN];
	size_t n;

	memset(big, 'A', sizeof(big));
	hvb_console_stream_init(&s, got_record, got_text, &c);
	for (int i = 0; i < 100; i++)
		hvb_console_stream_feed(&s, big, sizeof(big)); /* 1 MB without a newline */
	TAP_EQ_INT(s.stats.overlong, 1, "a flood without newline is cut once");
	TAP_EQ_INT(s.stats.discarded_bytes, 100 * sizeof(big) - HVB_CONSOLE_TEXT_MAX,
		   "... and everything past the bound is discarded and counted");
	TAP_EQ_INT(c.text_lines, 1, "... keeping its first bytes as one text line");
	TAP_OK(s.len <= HVB_CONSOLE_TEXT_MAX, "buffer stays bounded");
	n = put(rec, 0, 0);
	hvb_console_stream_feed(&s, "\n", 1);
	hvb_console_stream_feed(&s, rec, n);
	TAP_EQ_INT(c.n, 1, "a record after the flood still arrives");

	/* A cut-off record at end of stream. */
	hvb_console_stream_feed(&s, rec, 300);
	hvb_console_stream_finish(&s);
	TAP_EQ_INT(s.stats.corrupt, 1, "record cut by end of stream is corrupt");
}

static void test_stream_stop(void)
{
	static char buf[4 * HVB_CONSOLE_LINE_LEN];
	struct hvb_console_stream s;
	struct collect c = {.stop_at = 2};
	size_t n = 0;

	for (uint32_t i = 0; i < 4; i++)
		n += put(buf + n, i, i);
	hvb_console_stream_init(&s, got_record, NULL, &c);
	TAP_EQ_INT(hvb_console_stream_feed(&s, buf, n), 1,
		   "on_record's non-zero return stops feed");
	TAP_EQ_INT(c.n, 2, "... right after that record");
}

static uint64_t seen_stamp;

static int got_stamp(void *arg, const struct hvb_record *rec, uint32_t seq)
{
	struct hvb_console_stream *s = arg;

	(void)rec, (void)seq;
	seen_stamp = s->line_stamp;
	return 0;
}

static void test_stream_stamp(void)
{
	struct hvb_console_stream s;
	char rec[HVB_CONSOLE_LINE_LEN];
	size_t n = put(rec, 0, 0);

	hvb_console_stream_init(&s, got_stamp, NULL, &s);
	s.stamp = 100;
	hvb_console_stream_feed(&s, "text\n", 5);
	s.stamp = 200;
	hvb_console_stream_feed(&s, rec, 10);
	s.stamp = 300;
	hvb_console_stream_feed(&s, rec + 10, n - 10);
	TAP_EQ_INT(seen_stamp, 200, "line_stamp is the stamp of the record's first byte");
}

/* "@hvb2": zero runs as "zNN"; the same records, the same checks. */
static void test_compact(void)
{
	char line[HVB_CONSOLE_LINE_LEN + 2], bad[HVB_CONSOLE_LINE_LEN + 8];
	struct hvb_record in, out, all0, none0;
	uint32_t seq = 0;
	size_t n;

	make_record(&in, 7);
	n = hvb_console_encode_z(&in, 42, line);
	TAP_OK(n < HVB_CONSOLE_LINE_LEN / 2 && !strncmp(line, "@hvb2 0000002a ", 15) &&
		       line[n - 1] == '\n',
	       "compact: a typical record is under half of @hvb1's 537 bytes");
	TAP_EQ_INT(hvb_console_decode(line, n, &out, &seq), HVB_CONSOLE_RECORD, "compact decodes");
	TAP_OK(!memcmp(&in, &out, sizeof(in)) && seq == 42, "... to the same record and seq");
	memset(&all0, 0, sizeof(all0));
	n = hvb_console_encode_z(&all0, 1, line);
	TAP_EQ_INT(n, 6 + 9 + 5 + 10, "256 zero bytes: a run of ff, then one 00 (a run is 2..ff)");
	memset(&out, 0xaa, sizeof(out));
	TAP_OK(hvb_console_decode(line, n, &out, &seq) == HVB_CONSOLE_RECORD &&
		       !memcmp(&all0, &out, sizeof(out)),
	       "all zeros round-trips");
	memset(&none0, 0x5c, sizeof(none0));
	n = hvb_console_encode_z(&none0, 2, line);
	TAP_EQ_INT(n, HVB_CONSOLE_LINE_LEN, "no zero byte: as long as @hvb1, never longer");
	TAP_OK(hvb_console_decode(line, n, &out, &seq) == HVB_CONSOLE_RECORD &&
		       !memcmp(&none0, &out, sizeof(out)),
	       "no zero byte round-trips");
	/* Damage: every one must be refused, none taken for text. */
	n = hvb_console_encode_z(&in, 3, line);
	memcpy(bad, line, n);
	bad[20] ^= 1;
	TAP_EQ_INT(hvb_console_decode(bad, n, &out, &seq), HVB_CONSOLE_CORRUPT, "a flipped bit");
	TAP_EQ_INT(hvb_console_decode(line, n - 5, &out, &seq), HVB_CONSOLE_CORRUPT, "truncated");
	memcpy(bad, line, n);
	{
		char *z = memchr(bad + 15, 'z', n - 15);

		TAP_OK(z != NULL, "the record has a run");
		if (z) {
			z[1] = 'f', z[2] = 'f';
			TAP_EQ_INT(hvb_console_decode(bad, n, &out, &seq), HVB_CONSOLE_CORRUPT,
				   "a run past the record's end");
			z[1] = '0', z[2] = '0';
			TAP_EQ_INT(hvb_console_decode(bad, n, &out, &seq), HVB_CONSOLE_CORRUPT,
				   "a run of 0 (the encoder writes 2..ff)");
			z[1] = '0', z[2] = 'G';
			TAP_EQ_INT(hvb_console_decode(bad, n, &out, &seq), HVB_CONSOLE_CORRUPT,
				   "a run length that is not hex");
		}
	}
	memcpy(bad, line, n - 10);
	memcpy(bad + n - 10, "00", 2);
	memcpy(bad + n - 8, line + n - 10, 10);
	TAP_EQ_INT(hvb_console_decode(bad, n + 2, &out, &seq), HVB_CONSOLE_CORRUPT,
		   "a byte more than the record holds");
}

int main(void)
{
	test_crc();
	test_roundtrip();
	test_compact();
	test_corrupt();
	test_stream_split();
	test_stream_damage();
	test_stream_flood();
	test_stream_stop();
	test_stream_stamp();
	return tap_done();
}
