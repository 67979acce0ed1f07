/* Runner/workload selection and the order names are shown in. */
#include <string.h>

#include "config.h"
#include "matrix.h"
#include "tap.h"

static void test_name_order(void)
{
	TAP_OK(hvb_name_cmp("mem/chase-16KiB", "mem/chase-128KiB") < 0, "16KiB before 128KiB");
	TAP_OK(hvb_name_cmp("mem/chase-512KiB", "mem/chase-1MiB") < 0, "512KiB before 1MiB");
	TAP_OK(hvb_name_cmp("mem/chase-1GiB", "mem/chase-512MiB") > 0, "1GiB after 512MiB");
	TAP_OK(hvb_name_cmp("cpu/sha256", "cpu/sort") < 0, "plain names compare as text");
	TAP_OK(hvb_name_cmp("micro/a", "micro/a") == 0, "equal names are equal");
	TAP_OK(hvb_name_cmp("micro/a", "micro/ab") < 0, "a prefix comes first");
}

static void test_select_workloads(void)
{
	struct hvb_selection sel = { 0 };
	char err[256];

	TAP_EQ_INT(hvb_select_workloads("micro/cpuid,micro/*", &sel, err, sizeof(err)), 0,
		   "globs resolve");
	TAP_EQ_STR(sel.workloads[0], "micro/cpuid", "explicit name keeps its place");
	size_t n = sel.n_workloads, dup = 0;
	for (size_t i = 0; i < n; i++)
		dup += !strcmp(sel.workloads[i], "micro/cpuid");
	TAP_EQ_INT(dup, 1, "a workload matched twice is selected once");
	hvb_selection_free(&sel);
	TAP_EQ_INT(hvb_select_workloads("micro/*,nothing/*", &sel, err, sizeof(err)), -22,
		   "a glob matching nothing is an error");
	TAP_OK(strstr(err, "nothing/*") != NULL, "the error names the glob");
	hvb_selection_free(&sel);
	TAP_EQ_INT(hvb_select_workloads("", &sel, err, sizeof(err)), -22,
		   "an empty workload list is an error, not 'all'");
	hvb_selection_free(&sel);
	TAP_EQ_INT(hvb_select_workloads(",", &sel, err, sizeof(err)), -22,
		   "a list of only commas is an error");
	hvb_selection_free(&sel);
}

static void test_select_runners(void)
{
	struct hvb_selection sel = { 0 };
	struct hvb_config cfg;
	char err[256];

	if (!TAP_EQ_INT(hvb_config_load(&cfg, NULL, err, sizeof(err)), 0, "configuration loads"))
		return;
	TAP_EQ_INT(hvb_select_runners("native", &cfg, &sel, err, sizeof(err)), 0, "native selects");
	TAP_EQ_INT(sel.n_runners, 1, "one runner");
	hvb_selection_free(&sel);
	TAP_EQ_INT(hvb_select_runners("native,bogus", &cfg, &sel, err, sizeof(err)), -22,
		   "unknown runner is an error");
	TAP_OK(strstr(err, "unknown runner 'bogus'") != NULL, "the error names it");
	hvb_selection_free(&sel);
	TAP_EQ_INT(hvb_select_runners(NULL, &cfg, &sel, err, sizeof(err)), 0, "default set resolves");
	TAP_OK(sel.n_runners >= 1, "default set is not empty");
	TAP_OK(hvb_runner_find("native") && hvb_runner_find("native")->in_default,
	       "native is part of the default set");
	hvb_selection_free(&sel);
	hvb_config_free(&cfg);
}

int main(void)
{
	test_name_order();
	test_select_workloads();
	test_select_runners();
	return tap_done();
}
