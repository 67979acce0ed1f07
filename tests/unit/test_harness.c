/* The harness's freestanding helpers, calibration and the descriptor registry. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tap.h"

static void test_cmdline(void)
{
	char buf[64];
	uint64_t v;

	TAP_OK(hvb_cmdline_get("w=a,b rep=3 x=", "rep", buf, sizeof(buf)) && !strcmp(buf, "3"),
	       "cmdline word found");
	TAP_OK(!hvb_cmdline_get("w=a,b rep=3", "re", buf, sizeof(buf)), "prefix is not a match");
	TAP_OK(!hvb_cmdline_get("w=abcdef", "w", buf, 4), "a value too long is refused");
	TAP_OK(hvb_parse_u64("0x1f", &v) && v == 31, "hex parses");
	TAP_OK(hvb_parse_u64("18446744073709551615", &v) && v == ~0ull, "max u64 parses");
	TAP_OK(!hvb_parse_u64("18446744073709551616", &v), "overflow is refused");
	TAP_OK(!hvb_parse_u64("12a", &v) && !hvb_parse_u64("", &v), "junk is refused");
}

static void test_stats(void)
{
	double v[] = { 5, 1, 4, 2, 3 };

	hvb_sort_doubles(v, 5);
	TAP_OK(v[0] == 1 && v[4] == 5, "sort");
	TAP_OK(hvb_percentile(v, 5, 0.5) == 3, "median of 1..5 is 3");
	TAP_OK(hvb_percentile(v, 5, 0.9) == 4.6, "p90 interpolates");
	TAP_OK(hvb_percentile(v, 1, 0.99) == 1, "percentile of one value");
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* The heapsort against qsort on the shapes that break sorts: random,
 * sorted, reversed, all equal, few distinct values, every small length. */
static void test_sort_u64(void)
{
	enum { N = 5000 };
	static uint64_t v[N], ref[N];
	uint64_t seed = 99;
	int bad = 0;

	for (unsigned shape = 0; shape < 5; shape++) {
		for (unsigned n = 0; n <= N; n += n < 40 ? 1 : 997) {
			for (unsigned i = 0; i < n; i++) {
				uint64_t r = rt_rand(&seed);
				v[i] = shape == 0 ? r : shape == 1 ? i : shape == 2 ? n - i : shape == 3 ? 7 : r % 3;
			}
			memcpy(ref, v, n * sizeof(v[0]));
			qsort(ref, n, sizeof(ref[0]), cmp_u64);
			hvb_sort_u64(v, n);
			bad += n && memcmp(v, ref, n * sizeof(v[0])) != 0;
		}
	}
	TAP_EQ_INT(bad, 0, "hvb_sort_u64 equals qsort (random, sorted, reversed, equal, few values; n 0..5000)");
	v[0] = ~0ull, v[1] = 0, v[2] = ~0ull - 1;
	hvb_sort_u64(v, 3);
	TAP_OK(v[0] == 0 && v[1] == ~0ull - 1 && v[2] == ~0ull, "hvb_sort_u64 orders values near 2^64");
}

static void test_percentile_u64(void)
{
	uint64_t v[1001];

	for (unsigned i = 0; i <= 1000; i++)
		v[i] = 10 * i;
	TAP_OK(hvb_percentile_u64(v, 1001, 0.5) == 5000, "median of 0, 10, ..., 10000");
	TAP_OK(hvb_percentile_u64(v, 1001, 0.999) == 9990, "p99.9 lands on a value");
	TAP_OK(hvb_percentile_u64(v, 1001, 1.0) == 10000, "p100 is the maximum");
	TAP_OK(hvb_percentile_u64(v, 2, 0.25) == 2.5, "interpolates between two values");
	TAP_OK(hvb_percentile_u64(v, 0, 0.5) == 0, "no values: 0");
}

static void test_calibration(void)
{
	uint64_t goal = 1000000, n = 1;
	int steps = 0;

	/* A workload costing 37 cycles per op: calibration must reach the goal
	 * without overshooting wildly. */
	while (n * 37 < goal && steps++ < 64)
		n = hvb_calibrate_next(n, n * 37, goal);
	TAP_OK(n * 37 >= goal, "calibration reaches the goal");
	TAP_OK(n * 37 < goal * 2, "calibration does not overshoot by 2x");
	TAP_OK(steps < 10, "calibration converges in few steps");
	TAP_EQ_INT(hvb_calibrate_next(4, 0, goal), 64, "a zero-time batch grows 16x");
}

/* The floor of requests per repetition: raised to it, never past
 * HVB_REQ_FLOOR_GOALS goals per batch, never lowered. */
static void test_req_floor(void)
{
	uint64_t goal = 1000000;

	TAP_EQ_INT(hvb_req_floor(5, goal, goal, 10, 256), 26, "5/batch -> ceil(256/10)");
	TAP_EQ_INT(hvb_req_floor(300, goal, goal, 10, 256), 300, "above the floor: unchanged");
	TAP_EQ_INT(hvb_req_floor(2, goal, goal, 10, 256), 20,
		   "a 500000-cycle request: capped at 10 goals per batch");
	TAP_EQ_INT(hvb_req_floor(2, goal * 20, goal, 10, 256), 2,
		   "slower than the cap already: never lowered");
	TAP_EQ_INT(hvb_req_floor(3, 0, goal, 4, 32), 8, "no time measured: the floor");
	TAP_EQ_INT(hvb_req_floor(1, goal, goal, 0, 5), 5, "no batches: the whole floor");
}

static void test_registry(void)
{
	const struct hvb_workload *const *w;
	int bad = 0, n = 0;

	for (w = hvb_workloads_begin(); w < hvb_workloads_end(); w++, n++) {
		const char *slash = strchr((*w)->name, '/');
		if (!slash || slash == (*w)->name || !slash[1] || !(*w)->run || !(*w)->desc ||
		    strlen((*w)->name) >= HVB_NAME_MAX)
			bad++;
		if (hvb_workload_find((*w)->name) != *w)
			bad++; /* names are unique */
	}
	TAP_OK(n > 0, "workloads are registered");
	TAP_EQ_INT(bad, 0, "every workload has family/name, run(), desc, a unique short name");
	TAP_OK(hvb_workload_find("micro/cpuid") != NULL, "micro/cpuid is registered");
	TAP_OK(hvb_workload_find("nope/nope") == NULL, "unknown names are not found");
}

/* rt_text_*: appending, numbers, and truncation at the buffer's end. */
static void test_text(void)
{
	char buf[16];
	size_t at = rt_text_str(buf, sizeof(buf), 0, "op ");

	at = rt_text_dec(buf, sizeof(buf), at, 0);
	at = rt_text_str(buf, sizeof(buf), at, " ");
	at = rt_text_hex(buf, sizeof(buf), at, 0x2a);
	TAP_EQ_STR(buf, "op 0 0x2a", "text, decimal 0, hex without leading zeros");
	TAP_OK(at == strlen(buf), "returns the new end");
	at = rt_text_dec(buf, sizeof(buf), at, 18446744073709551615ull);
	TAP_EQ_STR(buf, "op 0 0x2a184467", "truncated to the buffer, NUL-terminated");
	TAP_OK(at == sizeof(buf) - 1, "end stays inside the buffer");
	TAP_OK(rt_text_str(buf, sizeof(buf), 0, NULL) == 0 && !buf[0], "NULL text: empty");
	at = rt_text_hex(buf, sizeof(buf), 0, 0);
	TAP_EQ_STR(buf, "0x0", "hex 0");
}

int main(void)
{
	test_text();
	test_cmdline();
	test_stats();
	test_sort_u64();
	test_percentile_u64();
	test_calibration();
	test_req_floor();
	test_registry();
	return tap_done();
}
