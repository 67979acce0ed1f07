#include "matrix.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util.h"

static void add_runner(struct hvb_selection *sel, const struct hvb_runner *r)
{
	for (size_t i = 0; i < sel->n_runners; i++)
		if (sel->runners[i] == r)
			return;
	sel->runners = realloc(sel->runners, (sel->n_runners + 1) * sizeof(*sel->runners));
	if (!sel->runners)
		abort();
	sel->runners[sel->n_runners++] = r;
}

static void add_available(struct hvb_selection *sel, const struct hvb_config *cfg,
			  bool defaults_only)
{
	char why[1024];

	for (const struct hvb_runner *const *r = hvb_runners_begin(); r < hvb_runners_end(); r++)
		if ((!defaults_only || (*r)->in_default) && (*r)->available(cfg, why, sizeof(why)))
			add_runner(sel, *r);
}

static int add_named(struct hvb_selection *sel, const struct hvb_config *cfg, const char *name,
		     char *err, size_t len)
{
	const struct hvb_runner *r = hvb_runner_find(name);
	char why[1024] = "";

	if (!r) {
		snprintf(err, len, "unknown runner '%s' (see 'hvbench list')", name);
		return -EINVAL;
	}
	if (!r->available(cfg, why, sizeof(why))) {
		snprintf(err, len, "runner '%s' is not available here: %s", name, why);
		return -EINVAL;
	}
	add_runner(sel, r);
	return 0;
}

int hvb_select_runners(const char *list, const struct hvb_config *cfg, struct hvb_selection *sel,
		       char *err, size_t len)
{
	char *copy, *tok, *save = NULL;
	int r = 0;

	if (!list || !*list)
		list = "default";
	copy = xstrdup(list);
	for (tok = strtok_r(copy, ",", &save); tok && !r; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "default"))
			add_available(sel, cfg, true);
		else if (!strcmp(tok, "all"))
			add_available(sel, cfg, false);
		else
			r = add_named(sel, cfg, tok, err, len);
	}
	free(copy);
	if (!r && !sel->n_runners) {
		snprintf(err, len, "no runner selected (see 'hvbench list')");
		r = -EINVAL;
	}
	return r;
}

static void add_workload(struct hvb_selection *sel, const char *name)
{
	for (size_t i = 0; i < sel->n_workloads; i++)
		if (!strcmp(sel->workloads[i], name))
			return;
	sel->workloads = realloc(sel->workloads, (sel->n_workloads + 1) * sizeof(char *));
	if (!sel->workloads)
		abort();
	sel->workloads[sel->n_workloads++] = name;
}

/* A number at *p with an optional binary size suffix (KiB, MiB, GiB), as
 * bytes; advances *p past it. */
static unsigned long long sized_number(const char **p)
{
	char *end;
	unsigned long long v = strtoull(*p, &end, 10);
	static const char *const units[] = { "KiB", "MiB", "GiB" };

	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (!strncmp(end, units[i], 3)) {
			v <<= 10 * (i + 1);
			end += 3;
			break;
		}
	*p = end;
	return v;
}

int hvb_name_cmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			unsigned long long x = sized_number(&a), y = sized_number(&b);
			if (x != y)
				return x < y ? -1 : 1;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		a++, b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

static int by_name(const void *a, const void *b)
{
	const struct hvb_workload *const *x = a, *const *y = b;
	return hvb_name_cmp((*x)->name, (*y)->name);
}

size_t hvb_workloads_sorted(const struct hvb_workload ***out)
{
	size_t n = (size_t)(hvb_workloads_end() - hvb_workloads_begin());
	const struct hvb_workload **v = xcalloc(n, sizeof(*v));

	memcpy(v, hvb_workloads_begin(), n * sizeof(*v));
	qsort(v, n, sizeof(*v), by_name);
	*out = v;
	return n;
}

int hvb_select_workloads(const char *globs, struct hvb_selection *sel, char *err, size_t len)
{
	char *copy, *tok, *save = NULL;
	int r = 0;

	const struct hvb_workload **all;
	size_t n = hvb_workloads_sorted(&all);

	if (globs && !globs[strspn(globs, ", ")]) {
		/* -w '' or -w ',': an empty list is a mistake, not "all". */
		snprintf(err, len, "the workload list '%s' names no workload (omit --workload for "
				   "all, or see 'hvbench list')", globs);
		free(all);
		return -EINVAL;
	}
	copy = xstrdup(globs ? globs : "*");
	for (tok = strtok_r(copy, ",", &save); tok && !r; tok = strtok_r(NULL, ",", &save)) {
		bool matched = false;
		for (size_t i = 0; i < n; i++)
			if (hvb_glob_match(tok, all[i]->name)) {
				add_workload(sel, all[i]->name);
				matched = true;
			}
		if (!matched && !strcmp(tok, HVB_BOOT_WORKLOAD)) {
			/* listed by `hvbench list`, but it is what every VM job does */
			snprintf(err, len, "'boot' is not a workload to run: every VM runner "
					   "records boot_ms (workload boot) in every run, whatever "
					   "it runs; give the workloads to boot for (e.g. micro/cpuid), "
					   "and 'hvbench compare --workload boot' compares boot alone");
			r = -EINVAL;
		} else if (!matched) {
			snprintf(err, len, "no workload matches '%s' (see 'hvbench list')", tok);
			r = -EINVAL;
		}
	}
	free(copy);
	free(all);
	return r;
}

void hvb_selection_free(struct hvb_selection *sel)
{
	free(sel->runners);
	free(sel->workloads);
	memset(sel, 0, sizeof(*sel));
}
