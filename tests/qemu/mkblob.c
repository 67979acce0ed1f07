/*
 * mkblob SCENARIO > blob: the serial byte stream a stand-in guest (stub.S)
 * writes, made with the real console codec.  Scenarios:
 *
 *   ok       text, HELLO, one sample of micro/rdtsc, DONE
 *   damaged  the same with firmware noise, a bit flip, a truncated line, a
 *            duplicated record, a record glued to text, an over-long line
 *   hang     text and HELLO, then nothing (the stub hangs)
 *   flood    text without a newline (the stub repeats it forever)
 *   proto    a well-framed record that breaks the ABI (bad magic)
 *
 * Values are fixed and meaningless: these records only test the transport.
 */
#include <stdio.h>
#include <string.h>

#include "console_codec.h"

#define WORKLOAD "micro/rdtsc"

static unsigned seq;

static void rec_init(struct hvb_record *r, enum hvb_record_type type)
{
	memset(r, 0, sizeof(*r));
	r->magic = HVB_RECORD_MAGIC;
	r->version = HVB_ABI_VERSION;
	r->type = (uint16_t)type;
	r->size = sizeof(*r);
}

static void put_rec(const struct hvb_record *r, FILE *out)
{
	char line[HVB_CONSOLE_LINE_LEN];

	fwrite(line, 1, hvb_console_encode(r, seq++, line), out);
}

static void put_simple(enum hvb_record_type type, const char *workload, FILE *out)
{
	struct hvb_record r;

	rec_init(&r, type);
	snprintf(r.workload, sizeof(r.workload), "%s", workload);
	put_rec(&r, out);
}

static void put_sample(FILE *out)
{
	struct hvb_record r;

	rec_init(&r, HVB_REC_SAMPLE);
	snprintf(r.workload, sizeof(r.workload), WORKLOAD);
	snprintf(r.metric, sizeof(r.metric), "ns_per_op");
	snprintf(r.unit, sizeof(r.unit), "ns");
	snprintf(r.text, sizeof(r.text), "stub guest: fixed value");
	r.better = HVB_LOWER_IS_BETTER;
	r.value = 12.5;
	put_rec(&r, out);
}

static void put_cell(FILE *out)
{
	put_simple(HVB_REC_CELL_BEGIN, WORKLOAD, out);
	put_simple(HVB_REC_REP_BEGIN, WORKLOAD, out);
	put_simple(HVB_REC_REP_END, WORKLOAD, out);
	put_sample(out);
}

/* Record line damaged after encoding. */
static void put_damaged(FILE *out, int how)
{
	struct hvb_record r;
	char line[HVB_CONSOLE_LINE_LEN];
	size_t n;

	rec_init(&r, HVB_REC_LOG);
	snprintf(r.text, sizeof(r.text), "this record is damaged on the wire");
	n = hvb_console_encode(&r, seq++, line);
	if (how == 0) {
		line[100] ^= 0x02; /* bit flip */
		fwrite(line, 1, n, out);
	} else {
		fwrite(line, 1, 300, out); /* truncated */
		fputc('\n', out);
	}
}

int main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : "";
	struct hvb_record r;

	if (!strcmp(s, "ok")) {
		fputs("stub: hello from the test guest\n", stdout);
		put_simple(HVB_REC_HELLO, "", stdout);
		put_cell(stdout);
		put_simple(HVB_REC_DONE, "", stdout);
	} else if (!strcmp(s, "damaged")) {
		fputs("\033[2JSeaBIOS-like noise\r\n", stdout);
		put_simple(HVB_REC_HELLO, "", stdout);
		put_damaged(stdout, 0);
		put_simple(HVB_REC_CELL_BEGIN, WORKLOAD, stdout);
		seq--;
		put_simple(HVB_REC_CELL_BEGIN, WORKLOAD, stdout); /* duplicate */
		put_damaged(stdout, 1);
		fputs("text without a newline, then ", stdout);
		put_simple(HVB_REC_REP_BEGIN, WORKLOAD, stdout);
		for (int i = 0; i < 3000; i++)
			fputc('#', stdout); /* over-long line */
		fputc('\n', stdout);
		put_simple(HVB_REC_REP_END, WORKLOAD, stdout);
		put_sample(stdout);
		put_simple(HVB_REC_DONE, "", stdout);
	} else if (!strcmp(s, "hang")) {
		fputs("stub: about to hang\n", stdout);
		put_simple(HVB_REC_HELLO, "", stdout);
	} else if (!strcmp(s, "flood")) {
		fputs("flood flood flood flood flood flood flood flood ", stdout);
	} else if (!strcmp(s, "proto")) {
		put_simple(HVB_REC_HELLO, "", stdout);
		rec_init(&r, HVB_REC_SAMPLE);
		r.magic = 0xdeadbeef;
		put_rec(&r, stdout);
		put_simple(HVB_REC_DONE, "", stdout);
	} else {
		fprintf(stderr, "usage: mkblob ok|damaged|hang|flood|proto\n");
		return 2;
	}
	return fflush(stdout) ? 1 : 0;
}
