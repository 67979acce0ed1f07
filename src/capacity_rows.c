/*
 * Children's results into the capacity run's rows (capacity_rows.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity_rows.h"
#include "results.h"
#include "util.h"

/* realloc or die, as xcalloc does (util.h has no xrealloc). */
static void *xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size);

	if (!q) {
		hvb_err("out of memory");
		abort();
	}
	return q;
}

/* The worst value of one (workload, metric, rep) so far. */
struct aggr {
	char *workload, *metric, *unit;
	int better;
	long rep;
	double worst;
	unsigned vms;
	bool probe; /* from probe VMs (the probe workload) */
};

struct aggr_set {
	struct aggr *v;
	size_t n, cap;
};

static struct aggr *aggr_find(struct aggr_set *s, const struct hvb_sample_row *r)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].rep == r->rep && !strcmp(s->v[i].workload, r->workload) &&
		    !strcmp(s->v[i].metric, r->metric))
			return &s->v[i];
	return NULL;
}

static void aggr_add(struct aggr_set *s, const struct hvb_sample_row *r, bool probe)
{
	struct aggr *a;

	if (r->status != HVB_ST_OK || !r->has_value || !r->better || r->rep < 0)
		return; /* only measured values with a direction have a worst */
	if ((a = aggr_find(s, r))) {
		bool worse = r->better == HVB_LOWER_IS_BETTER ? r->value > a->worst
							       : r->value < a->worst;
		if (worse)
			a->worst = r->value;
		a->vms++;
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = (struct aggr){ .workload = xstrdup(r->workload),
				      .metric = xstrdup(r->metric),
				      .unit = xstrdup(r->unit ? r->unit : ""),
				      .better = r->better, .rep = r->rep, .worst = r->value,
				      .vms = 1, .probe = probe };
}

static void aggr_free(struct aggr_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].workload);
		free(s->v[i].metric);
		free(s->v[i].unit);
	}
	free(s->v);
}

static void push(double **v, size_t *n, double x)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(double));
	(*v)[(*n)++] = x;
}

/* A cell status row (no metric): once per (runner_n, workload), the other
 * VMs' to log.txt, since a second such row would repeat its key. */
static void copy_cell_status(struct hvb_sink *sink, const char *runner_n, unsigned vm,
			     const struct hvb_sample_row *r, char ***seen, size_t *nseen)
{
	char *note = xasprintf("vm%u: %s", vm, r->note ? r->note : "");

	for (size_t i = 0; i < *nseen; i++)
		if (!strcmp((*seen)[i], r->workload)) {
			hvb_sink_log(sink, NULL, "%s %s %s: %s", runner_n, r->workload,
				     hvb_status_name(r->status), note);
			free(note);
			return;
		}
	*seen = xrealloc(*seen, (*nseen + 1) * sizeof(char *));
	(*seen)[(*nseen)++] = xstrdup(r->workload);
	hvb_sink_cell_status(sink, runner_n, r->workload, r->status, note);
	free(note);
}

static void copy_row(struct hvb_sink *sink, const char *runner_n, unsigned vm,
		     const struct hvb_sample_row *r)
{
	char *metric = xasprintf("%s.vm%u", r->metric, vm);

	hvb_sink_sample(sink, runner_n,
			&(const struct hvb_sample_out){ .workload = r->workload, .metric = metric,
							.unit = r->unit, .better = r->better,
							.rep = (unsigned)r->rep, .value = r->value,
							.status = r->status, .note = r->note });
	free(metric);
}

/* Copy vm0's runner.<runner>.* keys as runner.<runner_n>.*, primary.* as is. */
static void copy_meta(struct hvb_sink *sink, const char *runner, const char *runner_n,
		      const struct hvb_run *run)
{
	char *prefix = xasprintf("runner.%s.", runner);
	size_t pl = strlen(prefix);

	for (size_t i = 0; i < run->n_meta; i++) {
		const char *k = run->meta_keys[i];

		if (!strncmp(k, prefix, pl)) {
			char *key = xasprintf("runner.%s.%s", runner_n, k + pl);

			hvb_sink_meta(sink, key, run->meta_values[i]);
			free(key);
		} else if (!strncmp(k, "primary.", 8)) {
			hvb_sink_meta(sink, k, run->meta_values[i]);
		}
	}
	free(prefix);
}

static void run_unreadable(struct hvb_sink *sink, const char *runner_n,
			   const struct hvb_cap_vm *vm, const char *why)
{
	char outcome[96], *metric = xasprintf("run.vm%u", vm->index), *note;

	hvb_cap_vm_outcome(vm, outcome, sizeof(outcome));
	note = xasprintf("vm%u (%s) %s: %s; see %s/hvbench.out", vm->index, vm->workload, outcome,
			 why, vm->dir);
	hvb_sink_sample(sink, runner_n,
			&(const struct hvb_sample_out){ .workload = "capacity/step",
							.metric = metric,
							.status = HVB_ST_FAILED, .note = note });
	free(metric);
	free(note);
}

struct copy_state {
	struct aggr_set aggr;
	char **seen;
	size_t nseen;
};

/* A background VM's cell cut short by the stop we sent it: its run says
 * "failed: interrupted", but nothing failed (capacity_vms.h). */
static bool stopped_as_asked(const struct hvb_cap_vm *vm, const struct hvb_sample_row *r)
{
	return !vm->probe && vm->signalled_stop && r->status == HVB_ST_FAILED &&
	       (!r->metric || !r->metric[0]) && r->note && strstr(r->note, "interrupted");
}

/* One VM's run: its rows, its aggregates' contributions, its first boot. */
static void copy_vm(struct hvb_sink *sink, const char *runner_n, const struct hvb_cap_vm *vm,
		    const struct hvb_run *run, const char *probe, struct copy_state *cs,
		    struct hvb_cap_step_figures *f)
{
	for (size_t j = 0; j < run->n_samples; j++) {
		const struct hvb_sample_row *r = &run->samples[j];

		if (stopped_as_asked(vm, r)) {
			struct hvb_sample_row s = *r;

			s.status = HVB_ST_SKIPPED;
			s.note = "stopped when the probes were done (SIGINT, as asked): "
				 "interrupted before this cell ended";
			copy_cell_status(sink, runner_n, vm->index, &s, &cs->seen, &cs->nseen);
		} else if (!r->metric || !r->metric[0] || r->rep < 0) {
			copy_cell_status(sink, runner_n, vm->index, r, &cs->seen, &cs->nseen);
		} else {
			copy_row(sink, runner_n, vm->index, r);
			aggr_add(&cs->aggr, r, vm->probe);
		}
		if (vm->probe && r->status == HVB_ST_FAILED)
			f->failed_rows++;
		if (vm->probe && r->status == HVB_ST_OK && !strcmp(r->workload, probe))
			f->probe_ok_rows++;
		if (r->status == HVB_ST_OK && r->rep == 0 && !strcmp(r->workload, "boot") &&
		    r->metric && !strcmp(r->metric, "boot_ms"))
			push(&f->boot_ms, &f->nboot, r->value);
	}
}

static void write_aggregates(struct hvb_sink *sink, const char *runner_n, struct aggr_set *s,
			     const char *probe, struct hvb_cap_step_figures *f)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct aggr *a = &s->v[i];
		char *note = xasprintf("worst of %u VM(s) in this repetition (%s)", a->vms,
				       a->better == HVB_LOWER_IS_BETTER ? "the highest"
									 : "the lowest");

		hvb_sink_sample(sink, runner_n,
				&(const struct hvb_sample_out){
					.workload = a->workload, .metric = a->metric,
					.unit = a->unit, .better = a->better,
					.rep = (unsigned)a->rep, .value = a->worst,
					.status = HVB_ST_OK, .note = note });
		free(note);
		if (!a->probe || strcmp(a->workload, probe))
			continue;
		if (!strcmp(a->metric, "req_ns.p99"))
			push(&f->p99_ns, &f->np, a->worst);
		else if (!strcmp(a->metric, "ops_per_s"))
			push(&f->tput, &f->nt, a->worst);
	}
}

void hvb_cap_write_step(struct hvb_sink *sink, const char *runner, const char *runner_n,
			const struct hvb_cap_step_run *step, const char *probe,
			struct hvb_cap_step_figures *f)
{
	struct copy_state cs = { 0 };

	memset(f, 0, sizeof(*f));
	for (unsigned i = 0; i < step->n; i++) {
		const struct hvb_cap_vm *vm = &step->vms[i];
		char *dir = hvb_cap_vm_run_dir(vm), err[512];
		struct hvb_run run;

		if (!dir) {
			run_unreadable(sink, runner_n, vm, "it made no run directory");
			continue;
		}
		if (hvb_run_read(dir, true, &run, err, sizeof(err))) {
			run_unreadable(sink, runner_n, vm, err);
			free(dir);
			continue;
		}
		f->runs_read++;
		if (i == 0)
			copy_meta(sink, runner, runner_n, &run);
		for (size_t w = 0; w < run.n_warnings; w++)
			hvb_sink_log(sink, NULL, "%s vm%u: %s", runner_n, i, run.warnings[w]);
		copy_vm(sink, runner_n, vm, &run, probe, &cs, f);
		hvb_run_free(&run);
		free(dir);
	}
	write_aggregates(sink, runner_n, &cs.aggr, probe, f);
	aggr_free(&cs.aggr);
	for (size_t i = 0; i < cs.nseen; i++)
		free(cs.seen[i]);
	free(cs.seen);
}

void hvb_cap_figures_free(struct hvb_cap_step_figures *f)
{
	free(f->p99_ns);
	free(f->tput);
	free(f->boot_ms);
	memset(f, 0, sizeof(*f));
}
