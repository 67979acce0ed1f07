/*
 * hvbench exits: the exit table of a run, read from its exits.csv, the way
 * `perf kvm stat report` shows one: per runner, workload and source, every
 * reason with its count, its share, the time per exit and, where the
 * source times each exit, the percentiles of that time.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "opt.h"
#include "results.h"
#include "stats.h"
#include "util.h"

static const char exits_usage[] =
	"exits [options] RESULT_DIR\n\n"
	"Print the VM exits of a run (exits.csv) as tables, one per runner, workload\n"
	"and source (kvm-stats, vmm, xentrace, ...): per reason the count summed over\n"
	"the repetitions, its share (of the source's `total` row where it has one,\n"
	"else of the sum of its reasons), exits per operation (count / ops) and the\n"
	"mean time per exit (total_ns / count) where the source times exits; where it\n"
	"times each exit, p50/p90/p99 are the median over the repetitions of each\n"
	"repetition's percentile and max the largest. `-` is unknown; reasons with no\n"
	"exits are left out. guest_ns/op is the guest's own time per operation of the\n"
	"workload (samples.csv ns_per_op.p50, else ns_per_op; median over the\n"
	"repetitions), beside each reason so the host's time per exit and the guest's\n"
	"whole operation can be read together (their difference is the transition for\n"
	"a one-exit operation; `hvbench report`'s Cross-check judges it). --runner and\n"
	"--workload take shell globs (micro/*). Exit status: 0 ok, 1 no rows match,\n"
	"2 usage or an unreadable run.";

/* The rows of one (runner, workload, source, reason). */
struct reason_sum {
	const struct hvb_exit_row *first;
	double count, ops, total_ns, timed_count;
	unsigned reps, timed_reps, lat_reps;
	double *p50, *p90, *p99, max;
};

struct table {
	const struct hvb_exit_row *key; /* runner, workload, source */
	struct reason_sum *r;
	size_t n;
	bool has_guest; /* the guest's ns per operation of the workload */
	double guest_ns;
};

static bool same_table(const struct hvb_exit_row *a, const struct hvb_exit_row *b)
{
	return !strcmp(a->runner, b->runner) && !strcmp(a->workload, b->workload) &&
	       !strcmp(a->source, b->source);
}

static void push(double **v, unsigned n, double x)
{
	*v = realloc(*v, (n + 1) * sizeof(**v));
	if (!*v)
		abort();
	(*v)[n] = x;
}

static void add_row(struct reason_sum *s, const struct hvb_exit_row *x)
{
	s->count += x->count;
	s->reps++;
	if (x->has_ops)
		s->ops += x->ops;
	if (x->has_total) {
		s->total_ns += x->total_ns;
		s->timed_count += x->count;
		s->timed_reps++;
	}
	if (x->has_latency) {
		push(&s->p50, s->lat_reps, x->p50_ns);
		push(&s->p90, s->lat_reps, x->p90_ns);
		push(&s->p99, s->lat_reps, x->p99_ns);
		s->max = s->lat_reps && s->max > x->max_ns ? s->max : x->max_ns;
		s->lat_reps++;
	}
}

static void table_add(struct table *t, const struct hvb_exit_row *x)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->r[i].first->reason, x->reason)) {
			add_row(&t->r[i], x);
			return;
		}
	t->r = realloc(t->r, (t->n + 1) * sizeof(*t->r));
	if (!t->r)
		abort();
	t->r[t->n] = (struct reason_sum){ .first = x };
	add_row(&t->r[t->n++], x);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* `total` first, then by count, largest first (perf kvm stat's order). */
static int cmp_reason(const void *a, const void *b)
{
	const struct reason_sum *x = a, *y = b;
	bool tx = !strcmp(x->first->reason, "total"), ty = !strcmp(y->first->reason, "total");

	if (tx != ty)
		return tx ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->first->reason, y->first->reason);
}

static void cell(char *buf, size_t len, bool known, const char *fmt, double v)
{
	if (known)
		snprintf(buf, len, fmt, v);
	else
		snprintf(buf, len, "-");
}

static double share_base(const struct table *t, bool *has_total)
{
	double sum = 0;

	*has_total = false;
	for (size_t i = 0; i < t->n; i++) {
		if (!strcmp(t->r[i].first->reason, "total")) {
			*has_total = true;
			return t->r[i].count;
		}
		sum += t->r[i].count;
	}
	return sum;
}

static void print_reason(const struct reason_sum *s, double base, const struct table *t)
{
	char pct[16], per_op[24], mean[24], p50[24], p90[24], p99[24], mx[24], guest[24];
	bool lat = s->lat_reps > 0;

	cell(pct, sizeof(pct), base > 0, "%.2f%%", 100.0 * s->count / base);
	cell(per_op, sizeof(per_op), s->ops > 0,
	     "%.4g", s->ops > 0 ? s->count / s->ops : 0);
	cell(mean, sizeof(mean), s->timed_count > 0, "%.0f",
	     s->timed_count > 0 ? s->total_ns / s->timed_count : 0);
	cell(p50, sizeof(p50), lat, "%.0f", lat ? median(s->p50, s->lat_reps) : 0);
	cell(p90, sizeof(p90), lat, "%.0f", lat ? median(s->p90, s->lat_reps) : 0);
	cell(p99, sizeof(p99), lat, "%.0f", lat ? median(s->p99, s->lat_reps) : 0);
	cell(mx, sizeof(mx), lat, "%.0f", s->max);
	cell(guest, sizeof(guest), t->has_guest, "%.0f", t->guest_ns);
	printf("  %-28s %12.0f %8s %10s %10s %10s %10s %10s %10s %11s\n", s->first->reason,
	       s->count, pct, per_op, mean, p50, p90, p99, mx, guest);
}

static void print_table(struct table *t)
{
	const struct hvb_exit_row *k = t->key;
	bool has_total;
	double base = share_base(t, &has_total);
	unsigned reps = 0, zero = 0;

	for (size_t i = 0; i < t->n; i++)
		reps = t->r[i].reps > reps ? t->r[i].reps : reps;
	qsort(t->r, t->n, sizeof(*t->r), cmp_reason);
	printf("%s x %s, source %s, %u repetition%s (%% of %s)\n", k->runner, k->workload,
	       *k->source ? k->source : "unknown", reps, reps == 1 ? "" : "s",
	       has_total		      ? "total"
	       : !strcmp(k->source, "kvm-trace") ? "the events' sum; events, not a partition"
						 : "the reasons' sum");
	printf("  %-28s %12s %8s %10s %10s %10s %10s %10s %10s %11s\n", "reason", "count", "%",
	       "exits/op", "ns/exit", "p50_ns", "p90_ns", "p99_ns", "max_ns", "guest_ns/op");
	for (size_t i = 0; i < t->n; i++)
		if (t->r[i].count > 0)
			print_reason(&t->r[i], base, t);
		else
			zero++;
	if (zero)
		printf("  (%u reason%s with no exits not shown)\n", zero, zero == 1 ? "" : "s");
}

static bool wanted(const struct hvb_exit_row *x, const char *runner, const char *workload)
{
	return (!runner || !fnmatch(runner, x->runner, 0)) &&
	       (!workload || !fnmatch(workload, x->workload, 0));
}

/* Tables in the order their first row appears in the file. */
static size_t group(const struct hvb_exit_row *rows, size_t n, const char *runner,
		    const char *workload, struct table **out)
{
	struct table *t = NULL;
	size_t nt = 0, i, j;

	for (i = 0; i < n; i++) {
		if (!wanted(&rows[i], runner, workload))
			continue;
		for (j = 0; j < nt && !same_table(t[j].key, &rows[i]); j++)
			;
		if (j == nt) {
			t = realloc(t, (nt + 1) * sizeof(*t));
			if (!t)
				abort();
			t[nt++] = (struct table){ .key = &rows[i] };
		}
		table_add(&t[j], &rows[i]);
	}
	*out = t;
	return nt;
}

static void free_tables(struct table *t, size_t nt)
{
	for (size_t i = 0; i < nt; i++) {
		for (size_t j = 0; j < t[i].n; j++)
			free(t[i].r[j].p50), free(t[i].r[j].p90), free(t[i].r[j].p99);
		free(t[i].r);
	}
	free(t);
}

/* The guest's ns per operation of (runner, workload): the median over the
 * ok repetitions of ns_per_op.p50 (each repetition's median batch), else of
 * ns_per_op; false when the run has neither. */
static bool guest_ns_per_op(const struct hvb_run *run, const char *runner, const char *workload,
			    double *out)
{
	static const char *const metrics[] = { "ns_per_op.p50", "ns_per_op" };
	double *v = malloc((run->n_samples + 1) * sizeof(*v));
	size_t n = 0;

	if (!v)
		abort();
	for (size_t m = 0; m < 2 && !n; m++)
		for (size_t i = 0; i < run->n_samples; i++) {
			const struct hvb_sample_row *x = &run->samples[i];

			if (x->status == HVB_ST_OK && x->has_value && !strcmp(x->runner, runner) &&
			    !strcmp(x->workload, workload) && !strcmp(x->metric, metrics[m]))
				v[n++] = x->value;
		}
	if (n)
		*out = hvb_median(v, n);
	free(v);
	return n > 0;
}

static int print_exits(const struct hvb_run *run, const char *runner, const char *workload)
{
	struct hvb_exit_row *rows;
	struct table *t;
	size_t n, nt;
	char err[1024];

	if (hvb_run_read_exits(run, &rows, &n, err, sizeof(err))) {
		hvb_err("exits: %s", err);
		return HVB_EXIT_USAGE;
	}
	nt = group(rows, n, runner, workload, &t);
	if (!nt)
		hvb_err("exits: %s: no exits.csv rows%s%s%s%s (%zu rows in all; native runs "
			"have none)",
			run->dir, runner ? " for runner " : "", runner ? runner : "",
			workload ? " and workload " : "", workload ? workload : "", n);
	for (size_t i = 0; i < nt; i++) {
		if (i)
			putchar('\n');
		t[i].has_guest = guest_ns_per_op(run, t[i].key->runner, t[i].key->workload,
						 &t[i].guest_ns);
		print_table(&t[i]);
	}
	free_tables(t, nt);
	hvb_exit_rows_free(rows, n);
	return nt ? HVB_EXIT_SUCCESS : HVB_EXIT_FAILURE;
}

static int read_run(const char *dir, bool partial, struct hvb_run *run)
{
	struct stat st;
	char err[4400];

	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		hvb_err("exits: %s: %s", dir, errno == ENOENT ? "no such directory" : "not a directory");
		return -1;
	}
	if (hvb_run_read(dir, partial, run, err, sizeof(err))) {
		hvb_err("exits: %s", err);
		return -1;
	}
	for (size_t i = 0; i < run->n_warnings; i++)
		hvb_err("exits: warning: %s", run->warnings[i]);
	return 0;
}

static int exits_main(int argc, char **argv)
{
	const char *runner = NULL, *workload = NULL;
	bool partial = false;
	const struct hvb_opt opts[] = {
		OPT_STR("runner", 'r', &runner, "GLOB", "only these runners"),
		OPT_STR("workload", 'w', &workload, "GLOB", "only these workloads"),
		OPT_FLAG("allow-partial", 0, &partial, "accept a run that did not complete"),
		OPT_END(),
	};
	struct hvb_run run;
	int npos, r = hvb_opt_parse("exits", exits_usage, opts, argc, argv, &npos);

	if (r)
		return r > 0 ? HVB_EXIT_SUCCESS : HVB_EXIT_USAGE;
	if (npos != 1) {
		hvb_err("exits: give one result directory (see hvbench exits --help)");
		return HVB_EXIT_USAGE;
	}
	if (read_run(argv[1], partial, &run))
		return HVB_EXIT_USAGE;
	r = print_exits(&run, runner, workload);
	hvb_run_free(&run);
	return r;
}

static const struct hvb_cmd exits_cmd = {
	.name = "exits",
	.summary = "the VM exits of a run by reason, with time per exit (like perf kvm stat)",
	.main = exits_main,
	.order = 7,
};
HVB_CMD(exits_cmd);
