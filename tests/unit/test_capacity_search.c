/*
 * The capacity search (src/capacity_search.c) against synthetic load curves
 * whose edge is known: monotone, noisy, an edge at 1, never failing up to
 * --max-vms, failing at 1; a stop mid-search; and the SLO rule (median over
 * repetitions of the worst probe VM, [min, max], throughput vs N = 1).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "capacity_search.h"
#include "stats.h"
#include "tap.h"

/* A load curve: p99(n) in µs, optionally with deterministic noise. */
struct curve {
	double base_us, per_vm_us; /* p99 = base + per_vm * (n - 1) */
	double noise_us;           /* +- this much, pseudo-random per n */
	double slo_us;
	unsigned measured[4097];   /* how often each n was measured */
	unsigned calls, stop_after; /* stop_after: -EINTR at that call (0: never) */
};

static double curve_p99(const struct curve *c, unsigned n)
{
	double p = c->base_us + c->per_vm_us * (n - 1);

	if (c->noise_us > 0) {
		struct hvb_rng r;

		hvb_rng_seed(&r, n * 7919u);
		p += (2 * hvb_rng_uniform(&r) - 1) * c->noise_us;
	}
	return p;
}

static int measure(void *arg, unsigned n, struct hvb_cap_verdict *v)
{
	struct curve *c = arg;

	if (c->stop_after && ++c->calls >= c->stop_after)
		return -EINTR;
	c->measured[n]++;
	v->pass = curve_p99(c, n) <= c->slo_us;
	snprintf(v->why, sizeof(v->why), "p99 %.1f us at n=%u", curve_p99(c, n), n);
	return 0;
}

static bool measured_once_at_most(const struct curve *c)
{
	for (unsigned n = 0; n <= 4096; n++)
		if (c->measured[n] > 1)
			return false;
	return true;
}

static void test_monotone(void)
{
	/* p99 = 100 + 50 (n-1) <= 420: n <= 7.4, so N_max = 7. */
	struct curve c = { .base_us = 100, .per_vm_us = 50, .slo_us = 420 };
	struct hvb_cap_result r;
	char steps[256];

	TAP_EQ_INT(hvb_cap_search(64, measure, &c, &r), 0, "monotone: the search ends");
	TAP_EQ_INT(r.n_max, 7, "monotone: N_max is the known edge 7");
	TAP_EQ_INT(r.failed_at, 8, "monotone: it failed at 8");
	TAP_OK(r.done && !r.stopped, "monotone: done, not stopped");
	hvb_cap_steps_str(&r, steps, sizeof(steps));
	TAP_EQ_STR(steps, "1:pass 2:pass 4:pass 8:fail 6:pass 7:pass",
		   "monotone: sweep 1,2,4,8 then bisection 6,7");
	TAP_OK(strstr(r.why, "n=8") != NULL, "monotone: why is the failing step's verdict");
	TAP_OK(measured_once_at_most(&c), "monotone: no N measured twice");
}

static void test_large_edge(void)
{
	/* Edge at 1000 with max 4096: a sweep to 1024, then ~9 bisection steps. */
	struct curve c = { .base_us = 1, .per_vm_us = 1, .slo_us = 1000 };
	struct hvb_cap_result r;

	TAP_EQ_INT(hvb_cap_search(4096, measure, &c, &r), 0, "edge 1000: ends");
	TAP_EQ_INT(r.n_max, 1000, "edge 1000: N_max 1000");
	TAP_EQ_INT(r.failed_at, 1001, "edge 1000: failed at 1001");
	TAP_OK(r.n_steps <= 11 + 10, "edge 1000: logarithmic number of steps");
}

static void test_noisy(void)
{
	/* p99 = 100 + 20 (n-1) +- 30, SLO 400: a certain pass for n <= 14
	 * (at most 390), a certain fail for n >= 18 (at least 410); between
	 * them the noise decides. */
	struct curve c = { .base_us = 100, .per_vm_us = 20, .noise_us = 30, .slo_us = 400 };
	struct hvb_cap_result r;
	bool pass_at_max = false, fail_at_failed = false;

	TAP_EQ_INT(hvb_cap_search(64, measure, &c, &r), 0, "noisy: ends");
	TAP_OK(r.n_max >= 14 && r.n_max <= 17, "noisy: N_max inside the noise band 14..17");
	TAP_EQ_INT(r.failed_at, r.n_max + 1, "noisy: failed_at is adjacent to N_max");
	for (unsigned i = 0; i < r.n_steps; i++) {
		if (r.step_n[i] == r.n_max && r.step_pass[i])
			pass_at_max = true;
		if (r.step_n[i] == r.failed_at && !r.step_pass[i])
			fail_at_failed = true;
	}
	TAP_OK(pass_at_max && fail_at_failed, "noisy: both answers were measured, not inferred");
	TAP_OK(measured_once_at_most(&c), "noisy: no N measured twice");
}

static void test_edge_at_one(void)
{
	/* n=1 passes, n=2 fails. */
	struct curve c = { .base_us = 100, .per_vm_us = 200, .slo_us = 150 };
	struct hvb_cap_result r;

	TAP_EQ_INT(hvb_cap_search(16, measure, &c, &r), 0, "edge at 1: ends");
	TAP_EQ_INT(r.n_max, 1, "edge at 1: N_max 1");
	TAP_EQ_INT(r.failed_at, 2, "edge at 1: failed at 2");
	TAP_EQ_INT(r.n_steps, 2, "edge at 1: two steps, no bisection");
}

static void test_never_fails(void)
{
	struct curve c = { .base_us = 10, .per_vm_us = 1, .slo_us = 1e9 };
	struct hvb_cap_result r;
	char steps[256];

	TAP_EQ_INT(hvb_cap_search(12, measure, &c, &r), 0, "never fails: ends");
	TAP_EQ_INT(r.n_max, 12, "never fails: N_max is --max-vms");
	TAP_EQ_INT(r.failed_at, 0, "never fails: no failing step");
	hvb_cap_steps_str(&r, steps, sizeof(steps));
	TAP_EQ_STR(steps, "1:pass 2:pass 4:pass 8:pass 12:pass",
		   "never fails: the sweep is capped at --max-vms (12 measured)");
	TAP_EQ_STR(r.why, "", "never fails: no why");
}

static void test_fails_at_one(void)
{
	struct curve c = { .base_us = 500, .per_vm_us = 1, .slo_us = 100 };
	struct hvb_cap_result r;

	TAP_EQ_INT(hvb_cap_search(8, measure, &c, &r), 0, "fails at 1: ends");
	TAP_EQ_INT(r.n_max, 0, "fails at 1: N_max 0 (nothing fits)");
	TAP_EQ_INT(r.failed_at, 1, "fails at 1: failed at 1");
	TAP_EQ_INT(r.n_steps, 1, "fails at 1: one step");
}

static void test_max_one(void)
{
	struct curve c = { .base_us = 10, .per_vm_us = 1, .slo_us = 100 };
	struct hvb_cap_result r;

	TAP_EQ_INT(hvb_cap_search(1, measure, &c, &r), 0, "max 1: ends");
	TAP_EQ_INT(r.n_max, 1, "max 1: N_max 1");
	TAP_EQ_INT(r.n_steps, 1, "max 1: one step");
	TAP_EQ_INT(hvb_cap_search(0, measure, &c, &r), -EINVAL, "max 0 is refused");
}

static void test_stopped(void)
{
	/* Ctrl-C at the 4th step (n=8): the steps before it stay. */
	struct curve c = { .base_us = 100, .per_vm_us = 50, .slo_us = 420, .stop_after = 4 };
	struct hvb_cap_result r;

	TAP_EQ_INT(hvb_cap_search(64, measure, &c, &r), -EINTR, "stopped: the error comes back");
	TAP_OK(!r.done && r.stopped == -EINTR, "stopped: not done, stopped -EINTR");
	TAP_EQ_INT(r.n_steps, 3, "stopped: the three steps before it are kept");
	TAP_EQ_INT(r.n_max, 4, "stopped: the best pass so far is 4");
	TAP_EQ_INT(r.failed_at, 0, "stopped: no fail seen yet");
}

static void test_judge(void)
{
	const struct hvb_cap_slo slo = { .p99_us = 100, .tput_pct = 80 };
	/* Worst probe VM per repetition; one outlier repetition. */
	const double p99[] = { 90e3, 95e3, 300e3 }, tput[] = { 1000, 900, 700 };
	struct hvb_cap_figure p, t;
	struct hvb_cap_verdict v;

	hvb_cap_judge(&slo, 3, p99, 3, tput, 3, 1000, &p, &t, &v);
	TAP_OK(v.pass, "judge: the median (95 us) decides, not the outlier repetition");
	TAP_OK(p.median == 95e3 && p.min == 90e3 && p.max == 300e3,
	       "judge: median and [min, max] of p99");
	TAP_OK(t.median == 900, "judge: median throughput");

	hvb_cap_judge(&slo, 3, p99, 3, tput, 3, 1200, &p, &t, &v);
	TAP_OK(!v.pass && strstr(v.why, "75.0% of N=1") != NULL,
	       "judge: 900 of 1200 ops/s is 75% < 80%: fails, saying so");

	hvb_cap_judge(&slo, 1, p99, 3, tput, 3, NAN, &p, &t, &v);
	TAP_OK(v.pass, "judge: N=1 is its own throughput base");

	const double slow[] = { 150e3, 120e3 };
	hvb_cap_judge(&slo, 2, slow, 2, tput, 2, 1000, &p, &t, &v);
	TAP_OK(!v.pass && strstr(v.why, "p99 135 us > 100 us") != NULL,
	       "judge: median p99 135 us over 100 us fails, with the figure");

	hvb_cap_judge(&slo, 2, NULL, 0, tput, 2, 1000, &p, &t, &v);
	TAP_OK(!v.pass && strstr(v.why, "no req_ns.p99") != NULL,
	       "judge: no figures is a fail that says why");
	TAP_OK(isnan(p.median), "judge: no figures: NAN median");

	const struct hvb_cap_slo no_tput = { .p99_us = 100, .tput_pct = 0 };
	hvb_cap_judge(&no_tput, 4, p99, 3, NULL, 0, NAN, &p, &t, &v);
	TAP_OK(v.pass, "judge: --slo-tput-pct 0 checks latency only");
}

static void test_slo_parse(void)
{
	struct hvb_cap_slo slo = { .p99_us = 0, .tput_pct = 80 };
	char err[256];

	TAP_OK(!hvb_cap_slo_parse("p99<=500us", &slo, err, sizeof(err)) && slo.p99_us == 500 &&
	       slo.tput_pct == 80, "slo: p99<=500us, throughput rule kept at its default");
	TAP_OK(!hvb_cap_slo_parse("p99<=2ms,tput>=50%", &slo, err, sizeof(err)) &&
	       slo.p99_us == 2000 && slo.tput_pct == 50, "slo: ms and a throughput term");
	TAP_OK(!hvb_cap_slo_parse("p99<=1500ns", &slo, err, sizeof(err)) && slo.p99_us == 1.5,
	       "slo: ns");
	TAP_OK(!hvb_cap_slo_parse("tput>=0%", &slo, err, sizeof(err)) && slo.tput_pct == 0 &&
	       slo.p99_us == 1.5, "slo: tput>=0% switches the throughput rule off, p99 kept");
	static const char *const bad[] = { "p99<500us", "p99<=", "p99<=-3us", "p99<=5s",
					   "tput>=80", "tput>=120%", "p50<=3us", "p99<=5us,,x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		slo = (struct hvb_cap_slo){ .p99_us = 7, .tput_pct = 9 };
		char desc[64];

		snprintf(desc, sizeof(desc), "slo: '%s' refused, nothing changed", bad[i]);
		TAP_OK(hvb_cap_slo_parse(bad[i], &slo, err, sizeof(err)) == -EINVAL &&
		       strstr(err, "not understood") && slo.p99_us == 7 && slo.tput_pct == 9,
		       desc);
	}
}

int main(void)
{
	test_monotone();
	test_large_edge();
	test_noisy();
	test_edge_at_one();
	test_never_fails();
	test_fails_at_one();
	test_max_one();
	test_stopped();
	test_judge();
	test_slo_parse();
	return tap_done();
}
