/*
 * Output of a comparison (compare_render.c): the aligned table, CSV, JSON or
 * Markdown of a struct hvb_cmp_result, for `hvbench compare` and `ab`.
 */
#ifndef HVB_COMPARE_RENDER_H
#define HVB_COMPARE_RENDER_H

#include <stddef.h>
#include <stdio.h>

#include "compare.h"

enum hvb_cmp_format { HVB_FMT_TABLE, HVB_FMT_CSV, HVB_FMT_JSON, HVB_FMT_MARKDOWN };

/* The directories of both sides (JSON lists them). */
struct hvb_cmp_args {
	char **base, **cand;
	size_t n_base, n_cand;
};

/* Print res in fmt to out.  CSV holds rows only: its summary (and a
 * partial comparison's warning) go to stderr. */
void hvb_cmp_render(FILE *out, const struct hvb_cmp_result *res, const struct hvb_cmp_opts *o,
		    const struct hvb_cmp_args *a, enum hvb_cmp_format fmt);

#endif
