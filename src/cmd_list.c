/* hvbench list: workloads and runners, and why a runner is unavailable. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "config.h"
#include "harness.h"
#include "matrix.h"
#include "opt.h"
#include "runner.h"

static const char *kind_unit(const struct hvb_workload *w)
{
	switch (w->kind) {
	case HVB_KIND_BANDWIDTH:
		return "MB/s, higher is better";
	case HVB_KIND_RATE:
		return "ops/s, higher is better";
	case HVB_KIND_TIME_PER_OP:
		break;
	}
	return "ns/op, lower is better";
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
		printf("  %-24s %-24s %s\n", w[i]->name, kind_unit(w[i]), w[i]->desc);
		list_params(w[i]);
	}
	free(w);
	/* Rows runners write beside the workloads (results/FORMAT.md): a
	 * reader of a result directory meets them, so say what they are. */
	printf("\nrows runners add (not selectable with --workload):\n");
	printf("  %-24s %-24s %s\n", HVB_BOOT_WORKLOAD, "ms, lower is better",
	       "guest boot time (every booting runner)");
	printf("  %-24s %-24s %s\n", "micro/bound-bare-kvm-run", "ns/op, lower is better",
	       "kvm: bare KVM_RUN loop per port exit in the same run, the floor for "
	       "micro/pio-out-user (with any micro/*)");
}

static int list_main(int argc, char **argv)
{
	bool only_runners = false, only_workloads = false;
	const struct hvb_opt opts[] = {
		OPT_FLAG("runners", 0, &only_runners, "list runners only"),
		OPT_FLAG("workloads", 0, &only_workloads, "list workloads only"),
		OPT_END(),
	};
	int npos, r = hvb_opt_parse("list", "list [--runners|--workloads]", opts, argc, argv, &npos);

	if (r)
		return r > 0 ? HVB_EXIT_SUCCESS : HVB_EXIT_USAGE;
	if (npos) {
		fprintf(stderr,
			"hvbench list: unexpected argument '%s' (list takes only --runners or "
			"--workloads)\n",
			argv[1]);
		return HVB_EXIT_USAGE;
	}
	if (only_runners && only_workloads)
		only_runners = only_workloads = false; /* both asked for: list both */
	if (!only_workloads) {
		struct hvb_config cfg;
		char err[300];

		if (hvb_config_load(&cfg, NULL, err, sizeof(err))) {
			fprintf(stderr, "hvbench list: %s\n", err);
			return HVB_EXIT_USAGE;
		}
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
