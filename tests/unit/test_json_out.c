/*
 * lib/json_out.c: the writer every JSON document of hvbench goes through
 * (run, info, list, export).  Commas and nesting, escaping, invalid UTF-8,
 * numbers that read back exactly, null for what JSON cannot hold.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"
#include "tap.h"

/* What fn writes, compact or pretty, as a string (malloc'ed). */
static char *written(void (*fn)(struct hvb_json *), bool pretty)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct hvb_json j;

	hvb_json_init(&j, f, pretty);
	fn(&j);
	fclose(f);
	return buf;
}

static void nested(struct hvb_json *j)
{
	hvb_json_obj_begin(j);
	hvb_json_kv_str(j, "a", "x");
	hvb_json_key(j, "l");
	hvb_json_arr_begin(j);
	hvb_json_int(j, 1);
	hvb_json_obj_begin(j);
	hvb_json_obj_end(j);
	hvb_json_arr_begin(j);
	hvb_json_arr_end(j);
	hvb_json_null(j);
	hvb_json_arr_end(j);
	hvb_json_kv_bool(j, "t", true);
	hvb_json_kv_str(j, "n", NULL);
	hvb_json_obj_end(j);
}

static void escapes(struct hvb_json *j)
{
	hvb_json_str(j, "q\" b\\ n\n t\t r\r c\x01 del\x7f é");
}

static void bad_utf8(struct hvb_json *j)
{
	/* a lone continuation byte, a truncated sequence, an overlong '/', a surrogate */
	hvb_json_str(j, "a\x80 b\xc3 c\xc0\xaf d\xed\xa0\x80 e");
}

static void numbers(struct hvb_json *j)
{
	hvb_json_arr_begin(j);
	hvb_json_num(j, 95.959);
	hvb_json_num(j, 0.1 + 0.2);
	hvb_json_num(j, NAN);
	hvb_json_num(j, INFINITY);
	hvb_json_num(j, -0.5);
	hvb_json_int(j, -3);
	hvb_json_arr_end(j);
}

static void pretty_doc(struct hvb_json *j)
{
	hvb_json_obj_begin(j);
	hvb_json_kv_int(j, "a", 1);
	hvb_json_key(j, "b");
	hvb_json_arr_begin(j);
	hvb_json_arr_end(j);
	hvb_json_obj_end(j);
	hvb_json_end(j);
}

/* fn writes exactly want (shown beside what it wrote when not). */
static void expect(void (*fn)(struct hvb_json *), bool pretty, const char *want, const char *desc)
{
	char *s = written(fn, pretty);

	TAP_EQ_STR(s, want, desc);
	free(s);
}

int main(void)
{
	expect(nested, false, "{\"a\":\"x\",\"l\":[1,{},[],null],\"t\":true,\"n\":null}",
	       "commas and nesting: one comma between members, none after the last");
	expect(escapes, false, "\"q\\\" b\\\\ n\\n t\\t r\\r c\\u0001 del\\u007f é\"",
	       "escapes: quote, backslash, control characters; UTF-8 kept");
	expect(bad_utf8, false, "\"a\\ufffd b\\ufffd c\\ufffd\\ufffd d\\ufffd\\ufffd\\ufffd e\"",
	       "invalid UTF-8 becomes U+FFFD byte by byte (the output stays valid JSON)");
	expect(numbers, false, "[95.959,0.30000000000000004,null,null,-0.5,-3]",
	       "numbers: shortest text that reads back exactly; NaN and infinity are null");
	expect(pretty_doc, true, "{\n  \"a\": 1,\n  \"b\": []\n}\n",
	       "pretty: indented, empty array inline");
	return tap_done();
}
