#include "compare_context.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define NOT_RECORDED "(not recorded)"

/*
 * The key lists are the contract with reports/hvbreport/context.py
 * (CONTEXT_RUN_KEYS, CONTEXT_RUNNER_KEYS): tests/report/test_context.py
 * reads them between these markers and checks that both lists match.
 */
/* context-keys: begin */
const char *const hvb_ctx_run_keys[] = {
	"host_name", "host_kind", "host_identity", "cpu_model", "kernel", "microcode",
	"mitigations", "quick", "batches", "goal_us", "page_size", "hvbench_version",
	/* what decides SMP and interrupt figures (issue 14) */
	"vcpus", "overcommit", "host.irq.apicv", "host.irq.avic", "host.irq.posted_interrupts",
	"host.irq.x2apic", "host.irq.tsc_deadline", "host.irq.halt_poll_ns",
	"host.irq.lapic_timer_advance", "host.irq.kvm_pv", "host.irq.pvm",
	NULL,
};
/* prefault: whether guest RAM was populated (and, in runs before the QMP
 * populate, whether qemu-kvm's boot_ms held QEMU's -mem-prealloc) */
const char *const hvb_ctx_runner_keys[] = { "guest_mem_mib", "image_sha256", "prefault", NULL };
/* context-keys: end */

static long ctx_find(const struct hvb_cmp_context *c, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->key[i], key))
			return (long)i;
	return -1;
}

/* Remember key=value; a second, different value of the same side is joined. */
static void ctx_put(struct hvb_cmp_context *c, const char *key, const char *value)
{
	long i = ctx_find(c, key);
	char *joined;

	if (i >= 0) {
		if (strcmp(c->value[i], value) && !strstr(c->value[i], value)) {
			joined = xasprintf("%s | %s", c->value[i], value);
			free(c->value[i]);
			c->value[i] = joined;
		}
		return;
	}
	c->key = realloc(c->key, (c->n + 1) * sizeof(*c->key));
	c->value = realloc(c->value, (c->n + 1) * sizeof(*c->value));
	if (!c->key || !c->value)
		abort();
	c->key[c->n] = xstrdup(key);
	c->value[c->n++] = xstrdup(value);
}

/* Is meta key `k` runner.<r>.KEY of a listed KEY (and of `runner` if set)? */
static const char *runner_key(const char *k, const char *runner)
{
	const char *dot, *tail;

	if (strncmp(k, "runner.", 7) || !(dot = strchr(k + 7, '.')))
		return NULL;
	tail = dot + 1;
	if (runner && (strlen(runner) != (size_t)(dot - k - 7) || strncmp(k + 7, runner, strlen(runner))))
		return NULL;
	for (size_t i = 0; hvb_ctx_runner_keys[i]; i++)
		if (!strcmp(tail, hvb_ctx_runner_keys[i]))
			return tail;
	return NULL;
}

#define PARAM_PREFIX "param."

static bool is_param(const char *key)
{
	return !strncmp(key, PARAM_PREFIX, strlen(PARAM_PREFIX));
}

/* Remember the entries of a run's meta workloads (a comma-separated list). */
static void ctx_note_ran(struct hvb_cmp_context *c, const struct hvb_run *run)
{
	const char *list = hvb_run_meta(run, "workloads");
	char *copy, *save = NULL;

	if (!list) {
		c->ran_any = true;
		return;
	}
	copy = xstrdup(list);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t i = 0;
		while (i < c->n_ran && strcmp(c->ran[i], t))
			i++;
		if (i < c->n_ran)
			continue;
		c->ran = realloc(c->ran, (c->n_ran + 1) * sizeof(*c->ran));
		if (!c->ran)
			abort();
		c->ran[c->n_ran++] = xstrdup(t);
	}
	free(copy);
}

void hvb_cmp_context_note(struct hvb_cmp_context *c, const struct hvb_run *run,
			  const char *runner)
{
	ctx_note_ran(c, run);
	for (size_t i = 0; i < run->n_meta; i++)
		if (is_param(run->meta_keys[i]))
			ctx_put(c, run->meta_keys[i], run->meta_values[i]);
	for (size_t i = 0; hvb_ctx_run_keys[i]; i++) {
		const char *v = hvb_run_meta(run, hvb_ctx_run_keys[i]);
		ctx_put(c, hvb_ctx_run_keys[i], v ? v : NOT_RECORDED);
	}
	for (size_t i = 0; i < run->n_meta; i++) {
		const char *tail = runner_key(run->meta_keys[i], runner);
		char *k;
		if (!tail)
			continue;
		k = runner ? xasprintf("runner.*.%s", tail) : xstrdup(run->meta_keys[i]);
		ctx_put(c, k, run->meta_values[i]);
		free(k);
	}
}

static char *append(char *acc, const char *key, const char *b, const char *c)
{
	char *n = xasprintf("%s%s%s: base '%s', cand '%s'", acc ? acc : "", acc ? "; " : "", key,
			    b, c);
	free(acc);
	return n;
}

char *hvb_cmp_context_diff(const struct hvb_cmp_context *base, const struct hvb_cmp_context *cand,
			   const char *base_runner, const char *cand_runner)
{
	char *list = NULL, *msg;

	for (size_t i = 0; i < base->n; i++) {
		long j = ctx_find(cand, base->key[i]);
		bool per_runner = !strncmp(base->key[i], "runner.", 7);
		if (is_param(base->key[i])) /* hvb_cmp_context_params() */
			continue;
		if (j < 0 && per_runner)
			continue;
		if (j >= 0 && !strcmp(base->value[i], cand->value[j]))
			continue;
		list = append(list, base->key[i], base->value[i],
			      j >= 0 ? cand->value[j] : NOT_RECORDED);
	}
	if (!list)
		return NULL;
	if (base_runner)
		msg = xasprintf("context differs between base (%s) and cand (%s): %s; the "
				"difference may come from these as well as from the runners",
				base_runner, cand_runner, list);
	else
		msg = xasprintf("context differs between base and cand: %s; the difference may "
				"come from these as well as from the change",
				list);
	free(list);
	return msg;
}

char *hvb_cmp_context_pooled(const struct hvb_cmp_context *c, const char *side)
{
	/* identity first: two machines may share a name (a fleet of clones) */
	static const char *const keys[] = { "host_identity", "host_name" };

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		long i = ctx_find(c, keys[k]);
		if (i >= 0 && strstr(c->value[i], " | "))
			return xasprintf("%s pools runs of several hosts (%s '%s'): its figures mix "
					 "machines; give one host's runs per side (an hvbench merge "
					 "folder's merge.csv says which run is which host's)",
					 side, keys[k], c->value[i]);
	}
	return NULL;
}

/* The <short> of param.<short>.<name> (malloc'ed), or NULL. */
static char *param_short(const char *key)
{
	const char *s = key + strlen(PARAM_PREFIX), *dot = strrchr(s, '.');

	if (!is_param(key) || !dot || dot == s)
		return NULL;
	return strndup(s, (size_t)(dot - s));
}

/* The name after the family: "crc32c" of "cpu/crc32c" (and of "crc32c"). */
static const char *workload_short(const char *workload)
{
	const char *slash = strchr(workload, '/');

	return slash ? slash + 1 : workload;
}

bool hvb_cmp_param_of(const char *key, const char *workload)
{
	char *s = param_short(key);
	bool of = s && !strcmp(s, workload_short(workload));

	free(s);
	return of;
}

/* Did a run of side c select the workload a param key belongs to?  An
 * entry of meta workloads may be a glob (cpu/ and a star, in older runs). */
static bool ctx_ran(const struct hvb_cmp_context *c, const char *key)
{
	char *s = param_short(key);
	bool ran = c->ran_any;

	for (size_t i = 0; s && i < c->n_ran && !ran; i++)
		ran = hvb_glob_match(workload_short(c->ran[i]), s);
	free(s);
	return ran;
}

static void param_add(struct hvb_cmp_param **out, size_t *n, const char *key, const char *b,
		      const char *c)
{
	*out = realloc(*out, (*n + 1) * sizeof(**out));
	if (!*out)
		abort();
	(*out)[(*n)++] = (struct hvb_cmp_param){ xstrdup(key), xstrdup(b), xstrdup(c) };
}

size_t hvb_cmp_context_params(const struct hvb_cmp_context *base,
			      const struct hvb_cmp_context *cand, struct hvb_cmp_param **out)
{
	size_t n = 0;

	*out = NULL;
	for (size_t i = 0; i < base->n; i++) {
		long j = ctx_find(cand, base->key[i]);
		if (!is_param(base->key[i]) || (j >= 0 && !strcmp(base->value[i], cand->value[j])))
			continue;
		if (j >= 0 || ctx_ran(cand, base->key[i]))
			param_add(out, &n, base->key[i], base->value[i],
				  j >= 0 ? cand->value[j] : NOT_RECORDED);
	}
	for (size_t j = 0; j < cand->n; j++)
		if (is_param(cand->key[j]) && ctx_find(base, cand->key[j]) < 0 &&
		    ctx_ran(base, cand->key[j]))
			param_add(out, &n, cand->key[j], NOT_RECORDED, cand->value[j]);
	return n;
}

void hvb_cmp_params_free(struct hvb_cmp_param *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i].key), free(p[i].base), free(p[i].cand);
	free(p);
}

void hvb_cmp_context_free(struct hvb_cmp_context *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->key[i]), free(c->value[i]);
	for (size_t i = 0; i < c->n_ran; i++)
		free(c->ran[i]);
	free(c->key);
	free(c->value);
	free(c->ran);
	c->n = c->n_ran = 0;
	c->key = c->value = c->ran = NULL;
	c->ran_any = false;
}
