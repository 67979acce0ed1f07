/*
 * A small streaming JSON writer for the documents hvbench prints (run,
 * info, list, export: results/FORMAT.md "JSON output").  It keeps track of
 * commas and nesting, so a command writes keys and values in order and
 * cannot emit a document that does not parse.  Strings are escaped and
 * made valid UTF-8 (a byte that is not part of a valid sequence becomes
 * U+FFFD: notes come from files); NaN and infinities become null.
 */
#ifndef HVB_JSON_OUT_H
#define HVB_JSON_OUT_H

#include <stdbool.h>
#include <stdio.h>

#define HVB_JSON_DEPTH 16

struct hvb_json {
	FILE *f;
	bool pretty;              /* indented, one member per line; else one line */
	int depth;                /* open objects and arrays */
	bool has_item[HVB_JSON_DEPTH]; /* the container at that depth has a member */
	bool after_key;           /* a key was written: its value comes next */
};

/* Write to f; pretty = indented document, else compact (a JSON Lines line). */
void hvb_json_init(struct hvb_json *j, FILE *f, bool pretty);

void hvb_json_obj_begin(struct hvb_json *j);
void hvb_json_obj_end(struct hvb_json *j);
void hvb_json_arr_begin(struct hvb_json *j);
void hvb_json_arr_end(struct hvb_json *j);
/* The key of the next value of the enclosing object. */
void hvb_json_key(struct hvb_json *j, const char *key);

/* Values: a NULL string is null; a non-finite number is null. */
void hvb_json_str(struct hvb_json *j, const char *s);
void hvb_json_num(struct hvb_json *j, double v);
void hvb_json_int(struct hvb_json *j, long long v);
void hvb_json_bool(struct hvb_json *j, bool v);
void hvb_json_null(struct hvb_json *j);

/* key + value in one call. */
void hvb_json_kv_str(struct hvb_json *j, const char *key, const char *s);
void hvb_json_kv_num(struct hvb_json *j, const char *key, double v);
void hvb_json_kv_int(struct hvb_json *j, const char *key, long long v);
void hvb_json_kv_bool(struct hvb_json *j, const char *key, bool v);

/* End the document (or the JSON Lines line) with a newline. */
void hvb_json_end(struct hvb_json *j);

/* Write s as a JSON string literal, quotes included. */
void hvb_json_write_string(FILE *f, const char *s);

#endif
