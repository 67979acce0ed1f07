/*
 * The JSON reader of the QMP client (qmp.h): recursive descent over one
 * reply, into a node array.  Bounded (depth, nodes) because the text comes
 * from another process; every refusal says what and at which byte.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp.h"

struct qj_parser {
	struct qj_doc *d;
	const char *p, *start, *end;
	int depth;
};

static int fail(struct qj_parser *ps, const char *what)
{
	snprintf(ps->d->err, sizeof(ps->d->err), "bad JSON at byte %td: %s", ps->p - ps->start,
		 what);
	return -EPROTO;
}

static void skip_ws(struct qj_parser *ps)
{
	while (ps->p < ps->end && strchr(" \t\r\n", *ps->p) && *ps->p)
		ps->p++;
}

static int new_node(struct qj_parser *ps, enum qj_type t)
{
	struct qj_doc *d = ps->d;

	if (d->count == QJ_MAX_NODES)
		return fail(ps, "too many values");
	if (d->count == d->cap) {
		int cap = d->cap ? d->cap * 2 : 64;
		struct qj_node *n = realloc(d->n, (size_t)cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		d->n = n, d->cap = cap;
	}
	memset(&d->n[d->count], 0, sizeof(d->n[0]));
	d->n[d->count].type = t;
	d->n[d->count].first = d->n[d->count].next = -1;
	return d->count++;
}

/* A string's raw text: escapes checked (\uXXXX needs four hex digits),
 * control characters refused. */
static int scan_string(struct qj_parser *ps, const char **s, size_t *len)
{
	const char *p = ++ps->p;

	while (p < ps->end && *p != '"') {
		if ((unsigned char)*p < 0x20)
			return ps->p = p, fail(ps, "control character in a string");
		if (*p++ != '\\')
			continue;
		if (p == ps->end)
			break;
		if (*p == 'u') {
			for (int i = 1; i <= 4; i++)
				if (p + i >= ps->end || !strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
					return ps->p = p, fail(ps, "bad \\u escape");
			p += 5;
		} else if (*p && strchr("\"\\/bfnrt", *p)) {
			p++;
		} else {
			return ps->p = p, fail(ps, "bad escape");
		}
	}
	if (p >= ps->end)
		return fail(ps, "unterminated string");
	*s = ps->p, *len = (size_t)(p - ps->p);
	ps->p = p + 1;
	return 0;
}

static int parse_number(struct qj_parser *ps, struct qj_node *n)
{
	const char *p = ps->p;
	char buf[64], *e;
	bool digits_only = true;
	size_t l;

	if (p < ps->end && *p == '-')
		p++, digits_only = false;
	while (p < ps->end && *p && strchr("0123456789.eE+-", *p)) {
		if (*p < '0' || *p > '9')
			digits_only = false;
		p++;
	}
	l = (size_t)(p - ps->p);
	if (!l || l >= sizeof(buf))
		return fail(ps, "bad number");
	memcpy(buf, ps->p, l);
	buf[l] = '\0';
	errno = 0;
	n->num = strtod(buf, &e);
	if (*e || (buf[0] == '-' ? buf[1] : buf[0]) < '0' || (buf[0] == '-' ? buf[1] : buf[0]) > '9')
		return fail(ps, "bad number");
	if (digits_only) {
		errno = 0;
		n->u = strtoull(buf, &e, 10);
		n->is_uint = !errno && !*e;
	}
	ps->p = p;
	return 0;
}

static int parse_value(struct qj_parser *ps);

static bool take_word(struct qj_parser *ps, const char *w)
{
	size_t l = strlen(w);

	if ((size_t)(ps->end - ps->p) < l || memcmp(ps->p, w, l))
		return false;
	ps->p += l;
	return true;
}

/* Members or elements up to the closing bracket, linked as children. */
static int parse_children(struct qj_parser *ps, int parent, char close, bool keyed)
{
	int prev = -1, child, r;
	const char *key = NULL;
	size_t key_len = 0;

	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close)
		return ps->p++, 0;
	for (;;) {
		skip_ws(ps);
		if (keyed) {
			if (ps->p >= ps->end || *ps->p != '"')
				return fail(ps, "expected a member name");
			if ((r = scan_string(ps, &key, &key_len)))
				return r;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				return fail(ps, "expected ':'");
			ps->p++;
		}
		if ((child = parse_value(ps)) < 0)
			return child;
		ps->d->n[child].key = key, ps->d->n[child].key_len = key_len;
		if (prev < 0)
			ps->d->n[parent].first = child;
		else
			ps->d->n[prev].next = child;
		prev = child;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close)
			return ps->p++, 0;
		return fail(ps, keyed ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

/* One value: its node index, or -errno. */
static int parse_value(struct qj_parser *ps)
{
	int i, r = 0;
	char c;

	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "value expected");
	c = *ps->p;
	if (c == '{' || c == '[') {
		if (++ps->depth > QJ_MAX_DEPTH)
			return fail(ps, "nested too deep");
		if ((i = new_node(ps, c == '{' ? QJ_OBJ : QJ_ARR)) < 0)
			return i;
		r = parse_children(ps, i, c == '{' ? '}' : ']', c == '{');
		ps->depth--;
	} else if (c == '"') {
		const char *s;
		size_t len;
		if ((i = new_node(ps, QJ_STR)) < 0 || (r = scan_string(ps, &s, &len)))
			return i < 0 ? i : r;
		ps->d->n[i].s = s, ps->d->n[i].len = len;
	} else if (take_word(ps, "true") || take_word(ps, "false")) {
		if ((i = new_node(ps, QJ_BOOL)) >= 0)
			ps->d->n[i].b = ps->p[-1] == 'e' && ps->p[-2] == 'u';
	} else if (take_word(ps, "null")) {
		i = new_node(ps, QJ_NULL);
	} else {
		if ((i = new_node(ps, QJ_NUM)) >= 0)
			r = parse_number(ps, &ps->d->n[i]);
	}
	return r ? r : i;
}

int qj_parse(struct qj_doc *d, const char *text, size_t len)
{
	struct qj_parser ps = { .d = d, .p = text, .start = text, .end = text + len };
	int r;

	memset(d, 0, sizeof(*d));
	r = parse_value(&ps);
	if (r < 0)
		return r;
	skip_ws(&ps);
	return ps.p == ps.end ? 0 : fail(&ps, "text after the value");
}

void qj_free(struct qj_doc *d)
{
	free(d->n);
	d->n = NULL;
	d->count = d->cap = 0;
}

int qj_get(const struct qj_doc *d, int obj, const char *key)
{
	size_t l = strlen(key);

	if (obj < 0 || obj >= d->count || d->n[obj].type != QJ_OBJ)
		return -1;
	for (int c = d->n[obj].first; c >= 0; c = d->n[c].next)
		if (d->n[c].key_len == l && !memcmp(d->n[c].key, key, l))
			return c;
	return -1;
}

bool qj_str_is(const struct qj_doc *d, int i, const char *s)
{
	return i >= 0 && i < d->count && d->n[i].type == QJ_STR && d->n[i].len == strlen(s) &&
	       !memcmp(d->n[i].s, s, d->n[i].len);
}
