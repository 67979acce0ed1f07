/*
 * Selection of runners and workloads from user lists: runner names
 * ("native,kvm") and workload globs ("mem/chase-4KiB,cpu/sha256" or with
 * wildcards), shared by run, list and tests.
 */
#ifndef HVB_MATRIX_H
#define HVB_MATRIX_H

#include <stddef.h>

#include "runner.h"

struct hvb_config;
#include "workload.h"

struct hvb_selection {
	const struct hvb_runner **runners;
	size_t n_runners;
	const char **workloads;
	size_t n_workloads;
};

/*
 * Resolve a comma-separated runner list.  NULL or "default" = every
 * available runner marked in_default; "all" = every available runner.
 * Naming an unavailable runner is an error (message says why and what to do).
 * 0 or -EINVAL with a message in err.
 */
int hvb_select_runners(const char *list, const struct hvb_config *cfg, struct hvb_selection *sel,
		       char *err, size_t len);

/*
 * Resolve comma-separated workload globs against the registered workloads,
 * in registration order, each at most once.  NULL = all; a glob matching
 * nothing, or a list naming none ("" or ","), is an error.  0 or -EINVAL with a message in err.
 */
int hvb_select_workloads(const char *globs, struct hvb_selection *sel, char *err, size_t len);

/* Order of names for people: numbers compare by value and binary size
 * suffixes count, so mem/chase-512KiB < mem/chase-1MiB < mem/chase-16MiB. */
int hvb_name_cmp(const char *a, const char *b);

/* Every registered workload sorted by hvb_name_cmp; caller frees *out (not the elements). */
size_t hvb_workloads_sorted(const struct hvb_workload ***out);

void hvb_selection_free(struct hvb_selection *sel);

#endif
