/*
 * The probes that bracket every repetition under the kvm runner: the
 * vCPU's and the VM's KVM binary statistics (counters.csv, and the exit
 * counters among them in exits.csv) and the core's own count of exits
 * that reached userspace.  Read while the vCPU is stopped at the
 * REP_BEGIN and REP_END record exits, so the deltas include the REP_END
 * exit itself (FORMAT.md says so).
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "kvm.h"
#include "util.h"
#include "watchdog.h"

void kvm_probe_open(struct kvm_rep_probe *p, struct vm *vm, struct vcpu *vcpu)
{
	int r;

	memset(p, 0, sizeof(*p));
	r = kvm_stats_open(vcpu->fd, &p->vcpu_st);
	if (!r)
		r = kvm_stats_open(vm->fd, &p->vm_st);
	if (!r && !(r = kvm_stats_snap_init(p->vcpu_st, &p->vcpu_a)) &&
	    !(r = kvm_stats_snap_init(p->vcpu_st, &p->vcpu_b)) &&
	    !(r = kvm_stats_snap_init(p->vm_st, &p->vm_a)))
		r = kvm_stats_snap_init(p->vm_st, &p->vm_b);
	if (r)
		snprintf(p->unsupported, sizeof(p->unsupported), "%s", kvm_stats_strerror(r));
	p->open = true;
}

void kvm_probe_close(struct kvm_rep_probe *p)
{
	if (!p->open)
		return;
	kvm_stats_snap_free(&p->vcpu_a), kvm_stats_snap_free(&p->vcpu_b);
	kvm_stats_snap_free(&p->vm_a), kvm_stats_snap_free(&p->vm_b);
	kvm_stats_close(p->vcpu_st);
	kvm_stats_close(p->vm_st);
	p->open = false;
}

/*
 * Name of an exit reason in exits.csv for a vCPU statistic, or NULL for
 * statistics that do not count exits (pf_* count faults, insn_emulation_fail
 * failures; they stay in counters.csv).  "exits" is KVM's total.  Under PVM
 * a trapped port or MMIO access is counted in insn_emulation, not io/mmio,
 * so reasons can overlap: FORMAT.md says so.
 */
static const char *stat_reason(const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);

	if (!strcmp(name, "exits"))
		return "total";
	if (!strcmp(name, "halt_exits"))
		return "hlt";
	if (!strcmp(name, "hypercalls"))
		return "hypercall";
	if (!strcmp(name, "insn_emulation"))
		return name;
	if (n > 6 && !strcmp(name + n - 6, "_exits") && n - 6 < len) {
		memcpy(buf, name, n - 6);
		buf[n - 6] = '\0';
		return buf; /* io, mmio, irq, irq_window, nmi_window, signal, request_irq, ... */
	}
	return NULL;
}

struct delta_ctx {
	struct kvm_job *kj;
	const struct hvb_record *rec;
	const char *prefix; /* "vcpu." or "vm." */
	uint64_t span_ns;
	char note[160];
};

static int write_delta(void *arg, const char *name, double delta, const char *unit,
		       bool is_cumulative)
{
	struct delta_ctx *d = arg;
	uint64_t ops = d->kj->c.rep_ops;
	char event[160], rb[64];
	const char *reason;

	(void)unit;
	if (!is_cumulative)
		return 0; /* levels (instant/peak) are not deltas over the repetition */
	snprintf(event, sizeof(event), "%s%s", d->prefix, name);
	hvb_out_counter(d->kj->out, .workload = d->rec->workload, .rep = d->rec->rep,
			.event = event, .has_value = true, .value = delta,
			.time_enabled = d->span_ns, .time_running = d->span_ns,
			.source = "kvm-stats", .note = d->note);
	if (d->prefix[1] == 'c' && !strchr(name, '[') &&
	    (reason = stat_reason(name, rb, sizeof(rb))))
		hvb_out_exit(d->kj->out, .workload = d->rec->workload, .rep = d->rec->rep,
			     .reason = reason, .count = (uint64_t)(delta < 0 ? 0 : delta),
			     .source = "kvm-stats", .has_ops = ops != 0, .ops = ops);
	return 0;
}

/* The core's own count of exits that reached userspace, by reason. */
static void write_user_exits(struct kvm_job *kj, const struct hvb_record *rec)
{
	const uint64_t *uc = kj->vcpu->exit_counts, *before = kj->probe.user_exits;
	uint64_t ops = kj->c.rep_ops;

	for (unsigned i = 0; i < HV_EXIT_REASONS; i++) {
		char reason[48];
		if (uc[i] == before[i])
			continue;
		snprintf(reason, sizeof(reason), "userspace_%s", hv_exit_reason_name(i));
		hvb_out_exit(kj->out, .workload = rec->workload, .rep = rec->rep,
			     .reason = reason, .count = uc[i] - before[i], .source = "vmm",
			     .has_ops = ops != 0, .ops = ops);
	}
}

static void stats_unavailable(struct kvm_job *kj, const struct hvb_record *rec,
			      enum hvb_status st, const char *why)
{
	hvb_out_counter(kj->out, .workload = rec->workload, .rep = rec->rep,
			.event = "kvm-stats", .source = "kvm-stats", .status = st, .note = why);
}

static void probe_rep_end(struct kvm_job *kj, const struct hvb_record *rec)
{
	struct kvm_rep_probe *p = &kj->probe;
	struct delta_ctx d = { .kj = kj, .rec = rec, .span_ns = hv_now_ns() - p->t0_ns };

	snprintf(d.note, sizeof(d.note),
		 "delta REP_BEGIN..REP_END record exits (includes the REP_END one); ops=%llu",
		 (unsigned long long)kj->c.rep_ops);
	write_user_exits(kj, rec);
	if (p->unsupported[0]) {
		stats_unavailable(kj, rec, HVB_ST_UNSUPPORTED, p->unsupported);
		return;
	}
	if (__kvm_stats_snapshot(p->vcpu_st, &p->vcpu_b) ||
	    __kvm_stats_snapshot(p->vm_st, &p->vm_b)) {
		stats_unavailable(kj, rec, HVB_ST_FAILED, "reading the stats fd failed");
		return;
	}
	d.prefix = "vcpu.";
	kvm_stats_delta(p->vcpu_st, &p->vcpu_a, &p->vcpu_b, write_delta, &d);
	d.prefix = "vm.";
	kvm_stats_delta(p->vm_st, &p->vm_a, &p->vm_b, write_delta, &d);
}

/* The device's notifications per request (or packet) over the repetition:
 * virtio-net's for a net/ workload, else virtio-blk's. */
static void notifies_row(struct kvm_job *kj, const struct hvb_record *rec)
{
	struct hv_blk_stats b;
	struct hv_net_stats ns;
	uint64_t ops = kj->c.rep_ops, n;
	char note[200];

	if (kj->net && hvb_hostcpu_wants_peer(rec->workload)) {
		dev_virtio_net_stats(kj->net, &ns);
		n = ns.notifies - kj->probe.net_a.notifies;
		snprintf(note, sizeof(note),
			 "virtio-net notifications the device saw (backend %s, notify=%s): %llu "
			 "over %llu operations, REP_BEGIN..REP_END%s",
			 hv_net_backend_name(kj->net_backend), hv_net_notify_name(kj->net_notify),
			 (unsigned long long)n, (unsigned long long)ops,
			 ns.kernel_datapath ? " (vhost: the kernel's kicks are not counted here)" : "");
	} else if (kj->blk) {
		dev_virtio_blk_stats(kj->blk, &b);
		n = b.notifies - kj->probe.blk_a.notifies;
		snprintf(note, sizeof(note),
			 "virtio-blk notifications the device saw (notify=%s): %llu over %llu "
			 "requests, REP_BEGIN..REP_END",
			 hv_blk_notify_name(kj->job->cfg->kvm_blk_notify), (unsigned long long)n,
			 (unsigned long long)ops);
	} else {
		return;
	}
	hvb_out_sample(kj->out, .workload = rec->workload, .metric = "notifies_per_op",
		       .unit = "notifies", .better = HVB_LOWER_IS_BETTER, .rep = rec->rep,
		       .value = ops ? (double)n / (double)ops : 0,
		       .status = ops ? HVB_ST_OK : HVB_ST_FAILED,
		       .note = ops ? note : "operations of the repetition unknown");
}

/* Per-request workloads: the runner's rows of what each request cost the
 * host (FORMAT.md: host_cpu_ns_per_op, notifies_per_op). */
static void per_request_rep(struct kvm_job *kj, const struct hvb_record *rec, bool begin)
{
	if (!hvb_hostcpu_wanted(rec->workload))
		return;
	hvb_netjob_rep(&kj->nj, kj->out, rec, kj->c.rep_ops, begin);
	if (begin) {
		if (kj->blk)
			dev_virtio_blk_stats(kj->blk, &kj->probe.blk_a);
		if (kj->net)
			dev_virtio_net_stats(kj->net, &kj->probe.net_a);
		hvb_hostcpu_begin(&kj->probe.cpu);
		return;
	}
	hvb_hostcpu_end(&kj->probe.cpu, kj->out, rec->workload, rec->rep, kj->c.rep_ops);
	notifies_row(kj, rec);
}

/* REP_BEGIN / REP_END: the vCPU is stopped at the record's port exit. */
void kvm_on_rep(void *arg, const struct hvb_record *rec, bool begin)
{
	struct kvm_job *kj = arg;
	struct kvm_rep_probe *p = &kj->probe;

	if (!begin) {
		per_request_rep(kj, rec, false);
		probe_rep_end(kj, rec);
		return;
	}
	memcpy(p->user_exits, kj->vcpu->exit_counts, sizeof(p->user_exits));
	if (!p->unsupported[0] && (__kvm_stats_snapshot(p->vcpu_st, &p->vcpu_a) ||
				   __kvm_stats_snapshot(p->vm_st, &p->vm_a)))
		snprintf(p->unsupported, sizeof(p->unsupported), "reading the stats fd failed");
	per_request_rep(kj, rec, true);
	p->t0_ns = hv_now_ns();
}
