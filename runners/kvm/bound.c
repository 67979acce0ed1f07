/*
 * The kvm runner's bound row (Hoefler and Belli's rule 11: show how far a
 * figure is from its limit).  In every job that runs a micro workload,
 * the bare KVM_RUN loop (hv/bare_loop.c) is timed on the same vCPU thread,
 * pinned to the same CPU and under the same seccomp filter as the guest,
 * right after the guest's cells, in the same batches the harness uses:
 * workload KVM_BOUND_WORKLOAD, metrics ns_per_op and ns_per_op.p50/.p90/.p99.
 *
 * Its VM is created before the guest's (vm_create and the mmaps are not in
 * the vCPU thread's filter, and the guest's boot time must not include it),
 * timed on the vCPU thread after vcpu_run(), and written and destroyed on
 * the main thread after the join.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kvm.h"
#include "util.h"
#include "watchdog.h"

#define BOUND_NOTE                                                                         \
	"bare KVM_RUN loop, port-out exit to userspace, no device dispatch: the floor for "   \
	"micro/pio-out-user under this kvm"

static bool job_runs_micro(const struct hvb_job *job)
{
	for (size_t i = 0; i < job->n_workloads; i++)
		if (!strncmp(job->workloads[i], "micro/", 6))
			return true;
	return false;
}

void kvm_bound_describe(const struct hvb_out *out)
{
	hvb_out_meta(out, "bound",
		     KVM_BOUND_WORKLOAD ": " BOUND_NOTE "; in every job with a micro workload, "
		     "after its cells, on the vCPU thread (same CPU, same seccomp filter), "
		     "batches and goal_us as the run's; a tiny guest of its own (hv/bare_loop.c)");
}

void kvm_bound_prepare(struct kvm_job *kj)
{
	struct kvm_bound *b = &kj->bound;
	int r;

	memset(b, 0, sizeof(*b));
	if (!job_runs_micro(kj->job))
		return;
	b->wanted = true;
	r = hv_bare_guest_create(&b->guest, 0, false);
	if (r)
		snprintf(b->why, sizeof(b->why), "cannot create the bare loop's VM: %s",
			 strerror(-r));
}

/* One repetition's batches into ns[]: false (and b->why) on failure. */
static bool time_batches(struct kvm_bound *b, const struct hvb_job *job, double *ns)
{
	for (unsigned i = 0; i < job->batches; i++) {
		int r;

		if (hvb_job_stopped(job)) {
			b->stopped = true;
			return false;
		}
		r = hv_bare_time(b->guest.vcpu, b->exits_per_batch, &ns[i]);
		if (r == -EINTR) {
			b->stopped = true;
			return false;
		}
		if (r) {
			snprintf(b->why, sizeof(b->why), "bare KVM_RUN loop failed: %s",
				 r == -EIO ? "an exit other than the bench port" : strerror(-r));
			return false;
		}
	}
	return true;
}

void kvm_bound_measure(struct kvm_job *kj, bool filtered_as_promised)
{
	struct kvm_bound *b = &kj->bound;
	const struct hvb_job *job = kj->job;
	int r;

	if (!b->wanted || !b->guest.vm || hvb_job_stopped(job))
		return;
	if (!filtered_as_promised) {
		snprintf(b->why, sizeof(b->why),
			 "not measured: the vCPU thread's seccomp filter could not be set");
		return;
	}
	if (job->progress)
		job->progress(job, kj->out->runner, job->rep, KVM_BOUND_WORKLOAD);
	r = hv_bare_calibrate(b->guest.vcpu, job->goal_us, &b->exits_per_batch);
	if (r) {
		b->stopped = r == -EINTR;
		snprintf(b->why, sizeof(b->why), "bare KVM_RUN loop failed to calibrate: %s",
			 strerror(-r));
		return;
	}
	b->batch_ns = xcalloc((size_t)job->reps * job->batches, sizeof(double));
	for (unsigned rep = 0; rep < job->reps; rep++) {
		if (!time_batches(b, job, b->batch_ns + (size_t)rep * job->batches))
			return;
		b->reps_done++;
	}
}

static void write_rep(const struct hvb_out *out, unsigned rep, double *ns, unsigned n)
{
	static const struct {
		const char *metric;
		double q;
	} pct[] = { { "ns_per_op.p50", 0.50 }, { "ns_per_op.p90", 0.90 }, { "ns_per_op.p99", 0.99 } };
	double total = 0;

	/* Equal exits per batch: total time / total exits is the batch mean. */
	for (unsigned i = 0; i < n; i++)
		total += ns[i];
	hvb_out_sample(out, .workload = KVM_BOUND_WORKLOAD, .metric = "ns_per_op", .unit = "ns",
		       .better = HVB_LOWER_IS_BETTER, .rep = rep, .value = total / n,
		       .note = BOUND_NOTE);
	hvb_sort_doubles(ns, n);
	for (size_t k = 0; k < ARRAY_SIZE(pct); k++)
		hvb_out_sample(out, .workload = KVM_BOUND_WORKLOAD, .metric = pct[k].metric,
			       .unit = "ns", .better = HVB_LOWER_IS_BETTER, .rep = rep,
			       .value = hvb_percentile(ns, n, pct[k].q), .note = BOUND_NOTE);
}

void kvm_bound_finish(struct kvm_job *kj)
{
	struct kvm_bound *b = &kj->bound;
	const struct hvb_job *job = kj->job;

	if (!b->wanted)
		return;
	for (unsigned rep = 0; rep < b->reps_done; rep++)
		write_rep(kj->out, job->rep + rep, b->batch_ns + (size_t)rep * job->batches,
			  job->batches);
	if (b->reps_done)
		hvb_out_metaf(kj->out, "bound_exits_per_batch", "%llu",
			      (unsigned long long)b->exits_per_batch);
	/* Stopped by the user: no row, like every cell the user stopped. */
	for (unsigned rep = b->reps_done; rep < job->reps && !b->stopped; rep++)
		hvb_out_sample(kj->out, .workload = KVM_BOUND_WORKLOAD, .metric = "ns_per_op",
			       .unit = "ns", .better = HVB_LOWER_IS_BETTER, .rep = job->rep + rep,
			       .status = HVB_ST_FAILED,
			       .note = b->why[0] ? b->why : "the guest's run ended before it");
	hv_bare_guest_destroy(&b->guest);
	free(b->batch_ns);
	b->batch_ns = NULL;
}
