/*
 * The capacity search and the SLO rule (capacity_search.h): pure.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity_search.h"
#include "stats.h"

/* Measure n once and remember it; 0 or the callback's error. */
static int step(struct hvb_cap_result *res, hvb_cap_measure_fn measure, void *arg, unsigned n,
		bool *pass)
{
	struct hvb_cap_verdict v = { .pass = false };
	int e;

	if (res->n_steps >= HVB_CAP_MAX_STEPS)
		return -E2BIG; /* cannot happen for max_vms <= 4096: a bug if it does */
	e = measure(arg, n, &v);
	if (e)
		return e;
	res->step_n[res->n_steps] = n;
	res->step_pass[res->n_steps] = v.pass;
	res->n_steps++;
	*pass = v.pass;
	if (v.pass) {
		if (n > res->n_max)
			res->n_max = n;
	} else if (!res->failed_at || n < res->failed_at) {
		res->failed_at = n;
		snprintf(res->why, sizeof(res->why), "%s", v.why);
	}
	return 0;
}

/* Doubling from 1 until a fail or max_vms; *lo = last pass (0 if none). */
static int sweep(struct hvb_cap_result *res, unsigned max_vms, hvb_cap_measure_fn measure,
		 void *arg, unsigned *lo, unsigned *hi)
{
	unsigned n = 1;

	*lo = 0;
	*hi = 0;
	for (;;) {
		bool pass;
		int e = step(res, measure, arg, n, &pass);

		if (e)
			return e;
		if (!pass) {
			*hi = n;
			return 0;
		}
		*lo = n;
		if (n == max_vms)
			return 0;
		n = n > max_vms / 2 ? max_vms : n * 2;
	}
}

int hvb_cap_search(unsigned max_vms, hvb_cap_measure_fn measure, void *arg,
		   struct hvb_cap_result *res)
{
	unsigned lo, hi;
	int e;

	memset(res, 0, sizeof(*res));
	if (max_vms < 1)
		return -EINVAL;
	e = sweep(res, max_vms, measure, arg, &lo, &hi);
	/* Bisect: lo passed, hi failed, every N between them unmeasured. */
	while (!e && hi && hi - lo > 1) {
		unsigned mid = lo + (hi - lo) / 2;
		bool pass;

		e = step(res, measure, arg, mid, &pass);
		if (!e && pass)
			lo = mid;
		else if (!e)
			hi = mid;
	}
	res->stopped = e;
	res->done = !e;
	if (!e) { /* the answer is the adjacent pair found, not stray passes above it */
		res->n_max = lo;
		res->failed_at = hi;
	}
	return e;
}

void hvb_cap_steps_str(const struct hvb_cap_result *res, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < res->n_steps && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%u:%s", i ? " " : "", res->step_n[i],
				 res->step_pass[i] ? "pass" : "fail");
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

void hvb_cap_figure_of(const double *x, size_t n, struct hvb_cap_figure *f)
{
	f->n = n;
	f->median = f->min = f->max = NAN;
	if (!n)
		return;
	f->median = hvb_median(x, n);
	f->min = f->max = x[0];
	for (size_t i = 1; i < n; i++) {
		if (x[i] < f->min)
			f->min = x[i];
		if (x[i] > f->max)
			f->max = x[i];
	}
}

/* The throughput half of the SLO; true when it passes (why untouched). */
static bool judge_tput(const struct hvb_cap_slo *slo, unsigned n, const struct hvb_cap_figure *thr,
		       double base_tput, char *why, size_t len)
{
	double pct;

	if (slo->tput_pct <= 0 || n == 1)
		return true;
	if (!thr->n) {
		snprintf(why, len, "no ops_per_s from the probe VMs (their cells failed or were "
				   "skipped: see the vms/ runs' samples.csv)");
		return false;
	}
	if (!(base_tput > 0)) {
		snprintf(why, len, "no N=1 throughput to compare with (the N=1 step has no "
				   "ops_per_s)");
		return false;
	}
	pct = 100.0 * thr->median / base_tput;
	if (pct >= slo->tput_pct)
		return true;
	snprintf(why, len,
		 "per-VM throughput %.1f%% of N=1 < %.4g%% (median %.4g ops/s over %zu reps, "
		 "[%.4g, %.4g])",
		 pct, slo->tput_pct, thr->median, thr->n, thr->min, thr->max);
	return false;
}

void hvb_cap_judge(const struct hvb_cap_slo *slo, unsigned n, const double *p99_ns, size_t np,
		   const double *tput, size_t nt, double base_tput, struct hvb_cap_figure *p99,
		   struct hvb_cap_figure *thr, struct hvb_cap_verdict *v)
{
	hvb_cap_figure_of(p99_ns, np, p99);
	hvb_cap_figure_of(tput, nt, thr);
	v->pass = false;
	if (!p99->n) {
		snprintf(v->why, sizeof(v->why),
			 "no req_ns.p99 from the probe VMs (their cells failed or were skipped: "
			 "see the vms/ runs' samples.csv)");
		return;
	}
	if (p99->median > slo->p99_us * 1000.0) {
		snprintf(v->why, sizeof(v->why),
			 "p99 %.4g us > %.4g us (median over %zu reps of the worst probe VM, "
			 "[%.4g, %.4g] us)",
			 p99->median / 1000.0, slo->p99_us, p99->n, p99->min / 1000.0,
			 p99->max / 1000.0);
		return;
	}
	if (!judge_tput(slo, n, thr, base_tput, v->why, sizeof(v->why)))
		return;
	v->pass = true;
	snprintf(v->why, sizeof(v->why), "p99 %.4g us <= %.4g us (median over %zu reps, [%.4g, "
					 "%.4g] us)",
		 p99->median / 1000.0, slo->p99_us, p99->n, p99->min / 1000.0, p99->max / 1000.0);
}

/* The number of one SLO term, `v` (n bytes), and what follows it in *unit. */
static int slo_number(const char *v, size_t n, double *x, char unit[8])
{
	char buf[32], *end;

	if (!n || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, v, n);
	buf[n] = 0;
	*x = strtod(buf, &end);
	if (end == buf || strlen(end) >= 8 || !isfinite(*x))
		return -EINVAL;
	strcpy(unit, end);
	return 0;
}

static int slo_p99_term(const char *v, size_t n, double *us)
{
	static const struct { const char *unit; double to_us; } units[] = {
		{ "", 1 }, { "us", 1 }, { "ms", 1e3 }, { "ns", 1e-3 },
	};
	char unit[8];
	double x;

	if (slo_number(v, n, &x, unit) || !(x > 0))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(unit, units[i].unit)) {
			*us = x * units[i].to_us;
			return 0;
		}
	return -EINVAL;
}

static int slo_tput_term(const char *v, size_t n, double *pct)
{
	char unit[8];
	double x;

	if (slo_number(v, n, &x, unit) || strcmp(unit, "%") || x < 0 || x > 100)
		return -EINVAL;
	*pct = x;
	return 0;
}

int hvb_cap_slo_parse(const char *expr, struct hvb_cap_slo *slo, char *err, size_t len)
{
	struct hvb_cap_slo out = *slo;

	for (const char *t = expr; *t;) {
		size_t n = strcspn(t, ",");
		int e = -EINVAL;

		if (n > 5 && !strncmp(t, "p99<=", 5))
			e = slo_p99_term(t + 5, n - 5, &out.p99_us);
		else if (n > 6 && !strncmp(t, "tput>=", 6))
			e = slo_tput_term(t + 6, n - 6, &out.tput_pct);
		if (e) {
			snprintf(err, len, "SLO term '%.*s' not understood: give p99<=X (X in us, "
				 "or with ns/us/ms, > 0) and/or tput>=Y%% (0-100), comma-separated, "
				 "e.g. 'p99<=500us,tput>=80%%'", (int)n, t);
			return -EINVAL;
		}
		t += n + (t[n] == ',');
	}
	*slo = out;
	return 0;
}
