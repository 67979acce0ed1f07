#include "compare_context.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

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
/* prefault: whether qemu-kvm's boot_ms holds QEMU's -mem-prealloc */
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

void hvb_cmp_context_note(struct hvb_cmp_context *c, const struct hvb_run *run,
			  const char *runner)
{
	for (size_t i = 0; hvb_ctx_run_keys[i]; i++) {
		const char *v = hvb_run_meta(run, hvb_ctx_run_keys[i]);
		ctx_put(c, hvb_ctx_run_keys[i], v ? v : "(not recorded)");
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
		if (j < 0 && per_runner)
			continue;
		if (j >= 0 && !strcmp(base->value[i], cand->value[j]))
			continue;
		list = append(list, base->key[i], base->value[i],
			      j >= 0 ? cand->value[j] : "(not recorded)");
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

void hvb_cmp_context_free(struct hvb_cmp_context *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->key[i]), free(c->value[i]);
	free(c->key);
	free(c->value);
	c->n = 0;
	c->key = c->value = NULL;
}
