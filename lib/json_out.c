#include "json_out.h"

#include <math.h>
#include <stdlib.h>

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static int utf8_len(const unsigned char *s)
{
	unsigned cp, n, min;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	for (unsigned i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return (int)n;
}

void hvb_json_write_string(FILE *f, const char *s)
{
	const unsigned char *c = (const unsigned char *)s;

	fputc('"', f);
	while (*c) {
		int n = utf8_len(c);

		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c == '\n')
			fputs("\\n", f);
		else if (*c == '\t')
			fputs("\\t", f);
		else if (*c == '\r')
			fputs("\\r", f);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(f, "\\u%04x", *c);
		else if (!n)
			fputs("\\ufffd", f); /* not UTF-8: JSON must be */
		else
			fwrite(c, 1, (size_t)n, f);
		c += n ? n : 1;
	}
	fputc('"', f);
}

void hvb_json_init(struct hvb_json *j, FILE *f, bool pretty)
{
	*j = (struct hvb_json){ .f = f, .pretty = pretty };
}

static void indent(struct hvb_json *j)
{
	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* Before any value or key: the comma and line break it needs. */
static void sep(struct hvb_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth == 0)
		return;
	if (j->has_item[j->depth - 1])
		fputc(',', j->f);
	j->has_item[j->depth - 1] = true;
	indent(j);
}

static void json_open(struct hvb_json *j, char c)
{
	sep(j);
	fputc(c, j->f);
	if (j->depth >= HVB_JSON_DEPTH)
		abort(); /* a programming error: no document nests this deep */
	j->has_item[j->depth++] = false;
}

static void json_close(struct hvb_json *j, char c)
{
	bool had = j->has_item[--j->depth];

	if (had)
		indent(j);
	fputc(c, j->f);
}

void hvb_json_obj_begin(struct hvb_json *j)
{
	json_open(j, '{');
}

void hvb_json_obj_end(struct hvb_json *j)
{
	json_close(j, '}');
}

void hvb_json_arr_begin(struct hvb_json *j)
{
	json_open(j, '[');
}

void hvb_json_arr_end(struct hvb_json *j)
{
	json_close(j, ']');
}

void hvb_json_key(struct hvb_json *j, const char *key)
{
	sep(j);
	hvb_json_write_string(j->f, key);
	fputs(j->pretty ? ": " : ":", j->f);
	j->after_key = true;
}

void hvb_json_str(struct hvb_json *j, const char *s)
{
	sep(j);
	if (s)
		hvb_json_write_string(j->f, s);
	else
		fputs("null", j->f);
}

/* The shortest of %.15g..%.17g that reads back as v: exact, and 95.959
 * rather than 95.959000000000003. */
void hvb_json_num(struct hvb_json *j, double v)
{
	char buf[40];

	sep(j);
	if (!isfinite(v)) {
		fputs("null", j->f);
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	fputs(buf, j->f);
}

void hvb_json_int(struct hvb_json *j, long long v)
{
	sep(j);
	fprintf(j->f, "%lld", v);
}

void hvb_json_bool(struct hvb_json *j, bool v)
{
	sep(j);
	fputs(v ? "true" : "false", j->f);
}

void hvb_json_null(struct hvb_json *j)
{
	sep(j);
	fputs("null", j->f);
}

void hvb_json_kv_str(struct hvb_json *j, const char *key, const char *s)
{
	hvb_json_key(j, key);
	hvb_json_str(j, s);
}

void hvb_json_kv_num(struct hvb_json *j, const char *key, double v)
{
	hvb_json_key(j, key);
	hvb_json_num(j, v);
}

void hvb_json_kv_int(struct hvb_json *j, const char *key, long long v)
{
	hvb_json_key(j, key);
	hvb_json_int(j, v);
}

void hvb_json_kv_bool(struct hvb_json *j, const char *key, bool v)
{
	hvb_json_key(j, key);
	hvb_json_bool(j, v);
}

void hvb_json_end(struct hvb_json *j)
{
	fputc('\n', j->f);
}
