/*
 * The end-of-run summary of `hvbench run` (src/summary.c): its figure
 * beside each guest median is the slowdown vs native, > 1 is worse,
 * whichever way the metric points (as compare and the report print it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "summary.h"
#include "tap.h"

#define ROW(r, w, m, u, b, n, v)                                                              \
	{ .runner = r, .workload = w, .metric = m, .unit = u, .better = b, .rep = n,          \
	  .has_value = true, .value = v, .status = HVB_ST_OK, .note = "" }

static struct hvb_sample_row rows[] = {
	/* 10% less bandwidth under kvm: slower, slowdown 1.11 */
	ROW("native", "mem/stream-copy", "bandwidth", "MB/s", HVB_HIGHER_IS_BETTER, 0, 10000),
	ROW("native", "mem/stream-copy", "bandwidth", "MB/s", HVB_HIGHER_IS_BETTER, 1, 10000),
	ROW("kvm", "mem/stream-copy", "bandwidth", "MB/s", HVB_HIGHER_IS_BETTER, 0, 9000),
	ROW("kvm", "mem/stream-copy", "bandwidth", "MB/s", HVB_HIGHER_IS_BETTER, 1, 9000),
	/* 25% more time under kvm: slowdown 1.25 */
	ROW("native", "micro/rdtsc", "ns_per_op", "ns", HVB_LOWER_IS_BETTER, 0, 20),
	ROW("kvm", "micro/rdtsc", "ns_per_op", "ns", HVB_LOWER_IS_BETTER, 0, 25),
	/* 20% more ops/s under kvm: faster, slowdown 0.83 */
	ROW("native", "cpu/matmul", "ops_per_s", "ops/s", HVB_HIGHER_IS_BETTER, 0, 1000),
	ROW("kvm", "cpu/matmul", "ops_per_s", "ops/s", HVB_HIGHER_IS_BETTER, 0, 1200),
};

/* The summary line of a workload, or "". */
static const char *line_of(const char *out, const char *workload)
{
	static char line[256];
	const char *p = strstr(out, workload), *e;

	if (!p)
		return "";
	e = strchr(p, '\n');
	snprintf(line, sizeof(line), "%.*s", e ? (int)(e - p) : (int)strlen(p), p);
	return line;
}

int main(void)
{
	struct hvb_run run = { .n_samples = sizeof(rows) / sizeof(rows[0]), .samples = rows };
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	TAP_EQ_INT(hvb_summary_print(f, &run), 0, "no failed cells");
	fclose(f);
	printf("# %s\n", line_of(out, "mem/stream-copy"));
	TAP_OK(strstr(line_of(out, "mem/stream-copy"), "9000 (1.11×)") != NULL,
	       "10% less MB/s than native: slowdown 1.11× (> 1, worse)");
	TAP_OK(strstr(line_of(out, "micro/rdtsc"), "25 (1.25×)") != NULL,
	       "25% more ns than native: slowdown 1.25×");
	TAP_OK(strstr(line_of(out, "cpu/matmul"), "1200 (0.83×)") != NULL,
	       "20% more ops/s than native: slowdown 0.83× (< 1, better)");
	TAP_OK(strstr(out, "slowdown vs native, > 1 is worse") != NULL,
	       "the table states the convention");
	TAP_OK(strstr(out, "(x") == NULL && strstr(out, "0.90×") == NULL,
	       "no median/native ratio that reads the other way");
	free(out);
	return tap_done();
}
