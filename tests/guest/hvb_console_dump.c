/*
 * hvb-console-dump: decode a guest console capture (QEMU -serial output)
 * with the project's console codec and line assembler, one record per
 * line, for the guest image tests:
 *
 *   SEQ TYPE workload=W metric=M unit=U rep=R status=S value=V u64=A,B,C,D text=T
 *
 * TYPE is the record type's name (HELLO, SAMPLE, FAULT, ...).  Ends with a
 * "# stats records=N corrupt=N lost=N duplicates=N text=N" line.  Exit 1 if
 * a record line was corrupt or records were lost.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "console_stream.h"

static const char *type_name(unsigned t)
{
	static const char *const names[] = { "?",	"HELLO",  "CELL_BEGIN", "REP_BEGIN",
					     "REP_END", "SAMPLE", "STATUS",	"LOG",
					     "FAULT",	"DONE",	  "RELEASE" };
	return t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

static int print_record(void *arg, const struct hvb_record *r, uint32_t seq)
{
	(void)arg;
	printf("%u %s workload=%.*s metric=%.*s unit=%.*s rep=%u status=%d value=%.17g "
	       "u64=%#llx,%#llx,%#llx,%#llx text=%.*s\n",
	       seq, type_name(r->type), HVB_NAME_MAX, r->workload, HVB_METRIC_MAX, r->metric,
	       HVB_UNIT_MAX, r->unit, r->rep, r->status, r->value, (unsigned long long)r->u64[0],
	       (unsigned long long)r->u64[1], (unsigned long long)r->u64[2],
	       (unsigned long long)r->u64[3], HVB_TEXT_MAX, r->text);
	return 0;
}

int main(int argc, char **argv)
{
	static struct hvb_console_stream s;
	FILE *f = argc > 1 ? fopen(argv[1], "rb") : stdin;
	char buf[4096];
	size_t n;

	if (!f) {
		perror(argv[1]);
		return 2;
	}
	hvb_console_stream_init(&s, print_record, NULL, NULL);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		hvb_console_stream_feed(&s, buf, n);
	if (ferror(f)) { /* e.g. a directory: fopen succeeds, reading does not */
		fprintf(stderr, "hvb-console-dump: cannot read %s: %s\n", argc > 1 ? argv[1] : "stdin",
			strerror(errno));
		return 2;
	}
	hvb_console_stream_finish(&s);
	printf("# stats records=%lu corrupt=%lu lost=%lu duplicates=%lu text=%lu\n", s.stats.records,
	       s.stats.corrupt, s.stats.lost, s.stats.duplicates, s.stats.text_lines);
	return s.stats.corrupt || s.stats.lost ? 1 : 0;
}
