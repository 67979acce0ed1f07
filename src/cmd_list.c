/* hvbench list: workloads and runners, and why a runner is unavailable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caps_probe.h"
#include "cmd.h"
#include "config.h"
#include "harness.h"
#include "json_out.h"
#include "matrix.h"
#include "opt.h"
#include "runner.h"

/* What a workload's kind means for its primary metric (workload.h):
 * the kind's name, the unit as samples.csv writes it, as the listing says
 * it, and the direction. */
struct kind_info {
	const char *name, *unit, *text, *better;
};

static const struct kind_info *kind_info(const struct hvb_workload *w)
{
	static const struct kind_info bw = { "bandwidth", "MB/s", "MB/s", "higher" };
	static const struct kind_info rate = { "rate", "ops/s", "ops/s", "higher" };
	static const struct kind_info time = { "time_per_op", "ns", "ns/op", "lower" };

	switch (w->kind) {
	case HVB_KIND_BANDWIDTH:
		return &bw;
	case HVB_KIND_RATE:
		return &rate;
	case HVB_KIND_TIME_PER_OP:
		break;
	}
	return &time;
}

/* ------------------------------------------------------------ JSON (hvbench-list/1) */

static void json_runners(struct hvb_json *j, const struct hvb_config *cfg)
{
	hvb_json_key(j, "runners");
	hvb_json_arr_begin(j);
	for (const struct hvb_runner *const *r = hvb_runners_begin(); r < hvb_runners_end(); r++) {
		char why[1024] = "";
		bool ok = (*r)->available(cfg, why, sizeof(why));

		hvb_json_obj_begin(j);
		hvb_json_kv_str(j, "name", (*r)->name);
		hvb_json_kv_str(j, "desc", (*r)->desc);
		hvb_json_kv_bool(j, "available", ok);
		hvb_json_kv_str(j, "why", ok ? NULL : why);
		hvb_json_kv_bool(j, "emulated", (*r)->emulated);
		hvb_json_kv_bool(j, "default", (*r)->in_default);
		hvb_json_obj_end(j);
	}
	hvb_json_arr_end(j);
}

static void json_params(struct hvb_json *j, const struct hvb_workload *w)
{
	hvb_json_key(j, "params");
	hvb_json_arr_begin(j);
	for (unsigned i = 0; i < HVB_PARAMS_MAX && w->params[i].name; i++) {
		const struct hvb_param *p = &w->params[i];
		char key[HVB_PARAM_KEY_MAX];

		hvb_param_key(w, p, key, sizeof(key));
		hvb_json_obj_begin(j);
		hvb_json_kv_str(j, "key", key);
		hvb_json_kv_str(j, "name", p->name);
		hvb_json_kv_str(j, "unit", p->unit);
		hvb_json_kv_int(j, "min", (long long)p->min);
		hvb_json_kv_int(j, "max", (long long)p->max);
		hvb_json_kv_int(j, "default", (long long)p->def);
		hvb_json_kv_str(j, "help", p->help);
		hvb_json_obj_end(j);
	}
	hvb_json_arr_end(j);
}

static void json_str_list(struct hvb_json *j, const char *key, const char *const *v, size_t n)
{
	hvb_json_key(j, key);
	hvb_json_arr_begin(j);
	for (size_t i = 0; i < n && v[i]; i++)
		hvb_json_str(j, v[i]);
	hvb_json_arr_end(j);
}

/* HVB_CAP_* bits as an array of their names: "PIO_USER|IRQ" as
 * ["PIO_USER", "IRQ"], none as []. */
static void json_caps(struct hvb_json *j, uint32_t caps)
{
	char buf[512], *save = NULL;

	hvb_json_arr_begin(j);
	if (caps) {
		hvb_caps_names(caps, buf, sizeof(buf));
		for (char *c = strtok_r(buf, "|", &save); c; c = strtok_r(NULL, "|", &save))
			hvb_json_str(j, c);
	}
	hvb_json_arr_end(j);
}

/* A workload and its descriptor (workloads/workload.h), as data. */
static void json_workload(struct hvb_json *j, const struct hvb_workload *w)
{
	hvb_json_obj_begin(j);
	hvb_json_kv_str(j, "name", w->name);
	hvb_json_kv_str(j, "desc", w->desc);
	hvb_json_kv_str(j, "kind", kind_info(w)->name);
	hvb_json_kv_str(j, "metric", hvb_kind_primary(w->kind));
	hvb_json_kv_str(j, "unit", kind_info(w)->unit);
	hvb_json_kv_str(j, "better", kind_info(w)->better);
	hvb_json_key(j, "needs");
	json_caps(j, w->needs);
	hvb_json_kv_bool(j, "per_request", w->per_request);
	json_str_list(j, "req_parts", w->req_parts, HVB_REQ_PARTS);
	hvb_json_kv_str(j, "req_count", w->req_count);
	hvb_json_kv_bool(j, "counts_loss", w->counts_loss);
	hvb_json_kv_bool(j, "smp", w->smp);
	hvb_json_kv_int(j, "fixed_ops", (long long)w->fixed_ops);
	json_params(j, w);
	hvb_json_obj_end(j);
}

static void json_workloads(struct hvb_json *j)
{
	const struct hvb_workload **w;
	size_t n = hvb_workloads_sorted(&w);

	hvb_json_key(j, "workloads");
	hvb_json_arr_begin(j);
	for (size_t i = 0; i < n; i++)
		json_workload(j, w[i]);
	hvb_json_arr_end(j);
	free(w);
}

static void list_runners(const struct hvb_config *cfg)
{
	printf("runners:\n");
	for (const struct hvb_runner *const *r = hvb_runners_begin(); r < hvb_runners_end(); r++) {
		char why[1024] = "";
		bool ok = (*r)->available(cfg, why, sizeof(why));
		printf("  %-14s %-13s %s%s\n", (*r)->name, ok ? "available" : "unavailable",
		       (*r)->desc, (*r)->emulated ? " [emulation: functional only]" : "");
		if (!ok)
			printf("  %-14s %-13s why: %s\n", "", "", why);
	}
}

/* A workload's parameters under it: the --param key, range, default, help. */
static void list_params(const struct hvb_workload *w)
{
	for (unsigned j = 0; j < HVB_PARAMS_MAX && w->params[j].name; j++) {
		const struct hvb_param *p = &w->params[j];
		char key[HVB_PARAM_KEY_MAX];

		hvb_param_key(w, p, key, sizeof(key));
		printf("  %-24s --param %s=N (%s, %llu-%llu, default %llu): %s\n", "", key,
		       p->unit, (unsigned long long)p->min, (unsigned long long)p->max,
		       (unsigned long long)p->def, p->help);
	}
}

static void list_workloads(void)
{
	const struct hvb_workload **w;
	size_t n = hvb_workloads_sorted(&w);

	printf("workloads:\n");
	for (size_t i = 0; i < n; i++) {
		char unit[40];

		snprintf(unit, sizeof(unit), "%s, %s is better", kind_info(w[i])->text,
			 kind_info(w[i])->better);
		printf("  %-24s %-24s %s\n", w[i]->name, unit, w[i]->desc);
		list_params(w[i]);
	}
	free(w);
	/* Rows runners write beside the workloads (results/FORMAT.md): a
	 * reader of a result directory meets them, so say what they are
	 * (added_rows of the JSON document: the same two). */
	printf("\nrows runners add (not selectable with --workload):\n");
	printf("  %-24s %-24s %s\n", HVB_BOOT_WORKLOAD, "ms, lower is better",
	       "guest boot time (every booting runner)");
	printf("  %-24s %-24s %s\n", "micro/bound-bare-kvm-run", "ns/op, lower is better",
	       "kvm: bare KVM_RUN loop per port exit in the same run, the floor for "
	       "micro/pio-out-user (with any micro/*)");
}

static void json_added_row(struct hvb_json *j, const char *workload, const char *metric,
			   const char *unit, const char *desc)
{
	hvb_json_obj_begin(j);
	hvb_json_kv_str(j, "workload", workload);
	hvb_json_kv_str(j, "metric", metric);
	hvb_json_kv_str(j, "unit", unit);
	hvb_json_kv_str(j, "better", "lower");
	hvb_json_kv_str(j, "desc", desc);
	hvb_json_obj_end(j);
}

/* One document: {"schema", "runners": [...], "workloads": [...],
 * "added_rows": [...]}, a list left out as --runners/--workloads ask. */
static int list_json(const struct hvb_config *cfg, bool runners, bool workloads)
{
	struct hvb_json j;

	hvb_json_init(&j, stdout, true);
	hvb_json_obj_begin(&j);
	hvb_json_kv_str(&j, "schema", "hvbench-list/1");
	if (runners)
		json_runners(&j, cfg);
	if (workloads) {
		json_workloads(&j);
		hvb_json_key(&j, "added_rows");
		hvb_json_arr_begin(&j);
		json_added_row(&j, HVB_BOOT_WORKLOAD, "boot_ms", "ms",
			       "guest boot time (every booting runner)");
		json_added_row(&j, "micro/bound-bare-kvm-run", "ns_per_op", "ns",
			       "kvm: bare KVM_RUN loop per port exit in the same run, the floor "
			       "for micro/pio-out-user (with any micro/*)");
		hvb_json_arr_end(&j);
	}
	hvb_json_obj_end(&j);
	hvb_json_end(&j);
	return fflush(stdout) ? HVB_EXIT_FAILURE : HVB_EXIT_SUCCESS;
}

static int list_main(int argc, char **argv)
{
	bool only_runners = false, only_workloads = false;
	const char *format = "text";
	const struct hvb_opt opts[] = {
		OPT_FLAG("runners", 0, &only_runners, "list runners only"),
		OPT_FLAG("workloads", 0, &only_workloads, "list workloads only"),
		OPT_STR("format", 'f', &format, "text|json",
			"text (default) or one JSON document (hvbench-list/1, "
			"results/FORMAT.md)"),
		OPT_END(),
	};
	struct hvb_config cfg;
	char err[300];
	int npos, r = hvb_opt_parse("list", "list [--runners|--workloads] [--format text|json]",
				   opts, argc, argv, &npos);

	if (r)
		return r > 0 ? HVB_EXIT_SUCCESS : HVB_EXIT_USAGE;
	if (npos) {
		fprintf(stderr,
			"hvbench list: unexpected argument '%s' (list takes only --runners or "
			"--workloads)\n",
			argv[1]);
		return HVB_EXIT_USAGE;
	}
	if (strcmp(format, "text") && strcmp(format, "json")) {
		fprintf(stderr, "hvbench list: --format must be text or json, not '%s'\n", format);
		return HVB_EXIT_USAGE;
	}
	if (only_runners && only_workloads)
		only_runners = only_workloads = false; /* both asked for: list both */
	if (!only_workloads && hvb_config_load(&cfg, NULL, err, sizeof(err))) {
		fprintf(stderr, "hvbench list: %s\n", err);
		return HVB_EXIT_USAGE;
	}
	if (!strcmp(format, "json")) {
		r = list_json(&cfg, !only_workloads, !only_runners);
		if (!only_workloads)
			hvb_config_free(&cfg);
		return r;
	}
	if (!only_workloads) {
		list_runners(&cfg);
		hvb_config_free(&cfg);
	}
	if (!only_runners && !only_workloads)
		printf("\n");
	if (!only_runners)
		list_workloads();
	return HVB_EXIT_SUCCESS;
}

static const struct hvb_cmd list_cmd = {
	.name = "list",
	.summary = "list workloads and runners (and why a runner is unavailable)",
	.main = list_main,
	.order = 1,
};
HVB_CMD(list_cmd);
