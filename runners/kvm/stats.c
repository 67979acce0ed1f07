/*
 * The probes that bracket every repetition under the kvm runner: the
 * vCPU's and the VM's KVM binary statistics (counters.csv, and the exit
 * counters among them in exits.csv) and the core's own count of exits
 * that reached userspace.  Read while the vCPU is stopped at the
 * REP_BEGIN and REP_END record exits, so the deltas include the REP_END
 * exit itself (FORMAT.md says so).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "config.h"
#include "kvm.h"
#include "util.h"
#include "watchdog.h"

/* The KVM binary stats fds of the vCPU and the VM, or why not (the rows
 * say it at every REP_END). */
static void stats_open(struct kvm_rep_probe *p, struct vm *vm, struct vcpu *vcpu)
{
	int r = kvm_stats_open(vcpu->fd, &p->vcpu_st);

	if (!r)
		r = kvm_stats_open(vm->fd, &p->vm_st);
	if (!r && !(r = kvm_stats_snap_init(p->vcpu_st, &p->vcpu_a)) &&
	    !(r = kvm_stats_snap_init(p->vcpu_st, &p->vcpu_b)) &&
	    !(r = kvm_stats_snap_init(p->vm_st, &p->vm_a)))
		r = kvm_stats_snap_init(p->vm_st, &p->vm_b);
	if (r)
		snprintf(p->unsupported, sizeof(p->unsupported), "%s", kvm_stats_strerror(r));
}

void kvm_probe_open(struct kvm_rep_probe *p, struct vm *vm, struct vcpu *vcpu,
		    const struct hvb_config *cfg)
{
	memset(p, 0, sizeof(*p));
	if (cfg->kvm_stats)
		stats_open(p, vm, vcpu);
	else /* not opened at all: the rows say so (FORMAT.md) */
		snprintf(p->unsupported, sizeof(p->unsupported), "off: HVB_KVM_STATS=0");
	/* HVB_VMM_EXIT_TIMING=0: no histograms, so kvm_vmm_time_of gives NULL
	 * and the vmm rows are counts without latency. */
	if (cfg->vmm_exit_timing) {
		p->n_vmm_time = vm->n_vcpus ? vm->n_vcpus : 1;
		p->vmm_time = xcalloc(p->n_vmm_time, sizeof(*p->vmm_time));
		p->vmm_merged = xcalloc(1, sizeof(*p->vmm_merged));
	}
	p->open = true;
}

/* The events `perf kvm stat` pairs, and those that fire where they do not
 * (nested PVM: README, "What fires here"). */
static const char *const trace_events[] = {
	"kvm_exit", "kvm_entry",     "kvm_pio",	  "kvm_mmio",	    "kvm_userspace_exit",
	"kvm_msr",  "kvm_hypercall", "kvm_cpuid", "kvm_page_fault", "kvm_emulate_insn",
};

/* On vCPU 0's thread, before its seccomp filter (perf_event_open, mmap and
 * the enabling ioctl are not in it): from here on only the ring is read. */
void kvm_trace_start(struct kvm_rep_probe *p, bool wanted)
{
	int r;

	if (!wanted)
		return;
	r = kvm_trace_open(&p->trace, (pid_t)gettid(), trace_events,
			   sizeof(trace_events) / sizeof(trace_events[0]), p->trace_why,
			   sizeof(p->trace_why));
	if (!r && (r = kvm_trace_enable(p->trace, true))) {
		snprintf(p->trace_why, sizeof(p->trace_why), "enabling the tracepoints: %s",
			 strerror(-r));
		kvm_trace_close(p->trace);
		p->trace = NULL;
	}
	if (r)
		return;
	p->trace_acct = xcalloc(1, sizeof(*p->trace_acct));
	kvm_trace_acct_init(p->trace_acct, kvm_trace_events(p->trace));
}

static void trace_stop(struct kvm_rep_probe *p)
{
	kvm_trace_close(p->trace);
	free(p->trace_acct);
	p->trace = NULL, p->trace_acct = NULL;
}

static void vmm_time_lock(struct kvm_vmm_time *t)
{
	while (__atomic_exchange_n(&t->lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&t->lock, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
}

static void vmm_time_unlock(struct kvm_vmm_time *t)
{
	__atomic_store_n(&t->lock, 0, __ATOMIC_RELEASE);
}

struct kvm_vmm_time *kvm_vmm_time_of(struct kvm_rep_probe *p, unsigned id)
{
	return p->vmm_time && id < p->n_vmm_time ? &p->vmm_time[id] : NULL;
}

void kvm_vmm_time_exit(void *arg, uint32_t reason, uint64_t cycles)
{
	struct kvm_vmm_time *t = arg;

	vmm_time_lock(t);
	if (t->skip_next)
		t->skip_next = false;
	else
		hvb_lathist_add(&t->by_reason[reason < HV_EXIT_REASONS ? reason : 0], cycles);
	vmm_time_unlock(t);
}

void kvm_vmm_time_merge(struct kvm_vmm_time *dst, const struct kvm_vmm_time *src)
{
	for (unsigned i = 0; i < HV_EXIT_REASONS; i++)
		hvb_lathist_merge(&dst->by_reason[i], &src->by_reason[i]);
}

static void vmm_time_reset(struct kvm_vmm_time *t)
{
	for (unsigned i = 0; i < HV_EXIT_REASONS; i++)
		hvb_lathist_reset(&t->by_reason[i]);
}

void kvm_vmm_time_begin_all(struct kvm_rep_probe *p)
{
	for (unsigned v = 0; p->vmm_time && v < p->n_vmm_time; v++) {
		struct kvm_vmm_time *t = &p->vmm_time[v];

		vmm_time_lock(t);
		vmm_time_reset(t);
		/* Only vCPU 0 is in the REP_BEGIN record exit (this call). */
		t->skip_next = v == 0;
		vmm_time_unlock(t);
	}
}

const struct kvm_vmm_time *kvm_vmm_time_collect(struct kvm_rep_probe *p)
{
	if (!p->vmm_time)
		return NULL;
	vmm_time_reset(p->vmm_merged);
	for (unsigned v = 0; v < p->n_vmm_time; v++) {
		struct kvm_vmm_time *t = &p->vmm_time[v];

		vmm_time_lock(t);
		kvm_vmm_time_merge(p->vmm_merged, t);
		vmm_time_unlock(t);
	}
	return p->vmm_merged;
}

void kvm_probe_close(struct kvm_rep_probe *p)
{
	if (!p->open)
		return;
	kvm_stats_snap_free(&p->vcpu_a), kvm_stats_snap_free(&p->vcpu_b);
	kvm_stats_snap_free(&p->vm_a), kvm_stats_snap_free(&p->vm_b);
	kvm_stats_close(p->vcpu_st);
	kvm_stats_close(p->vm_st);
	free(p->vmm_time);
	free(p->vmm_merged);
	p->vmm_time = p->vmm_merged = NULL;
	p->n_vmm_time = 0;
	trace_stop(p);
	p->open = false;
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
	    (reason = kvm_stats_exit_reason(name, rb, sizeof(rb))))
		hvb_out_exit(d->kj->out, .workload = d->rec->workload, .rep = d->rec->rep,
			     .reason = reason, .count = (uint64_t)(delta < 0 ? 0 : delta),
			     .source = "kvm-stats", .has_ops = ops != 0, .ops = ops);
	return 0;
}

static double cycles_ns(uint64_t cycles, uint64_t tsc_khz)
{
	return (double)cycles * 1e6 / (double)tsc_khz;
}

void kvm_user_exits_sum(const struct vm *vm, uint64_t sum[HV_EXIT_REASONS])
{
	memset(sum, 0, HV_EXIT_REASONS * sizeof(sum[0]));
	for (unsigned v = 0; v < vm->n_vcpus; v++)
		for (unsigned i = 0; i < HV_EXIT_REASONS; i++)
			sum[i] += __atomic_load_n(&vm->vcpus[v]->exit_counts[i], __ATOMIC_RELAXED);
}

/* The core's own count of exits that reached userspace, by reason, summed
 * over the vCPUs (the APs' counts move while vCPU 0 is stopped here: the
 * rows are then exact for vCPU 0 and within one exit per AP), with the time
 * it spent on them, every vCPU's histogram merged (FORMAT.md: the REP_END
 * exit is counted but not timed: its handling writes these rows). */
static void write_user_exits(struct kvm_job *kj, const struct hvb_record *rec)
{
	const uint64_t *before = kj->probe.user_exits;
	const struct kvm_vmm_time *t = kvm_vmm_time_collect(&kj->probe);
	uint64_t uc[HV_EXIT_REASONS], ops = kj->c.rep_ops, khz = kj->job->tsc_khz;

	kvm_user_exits_sum(kj->vm, uc);

	for (unsigned i = 0; i < HV_EXIT_REASONS; i++) {
		const struct hvb_lathist *h = t ? &t->by_reason[i] : NULL;
		bool timed = h && h->n && khz;
		char reason[48];

		if (uc[i] == before[i])
			continue;
		snprintf(reason, sizeof(reason), "userspace_%s", hv_exit_reason_name(i));
		hvb_out_exit(kj->out, .workload = rec->workload, .rep = rec->rep,
			     .reason = reason, .count = uc[i] - before[i], .source = "vmm",
			     .has_ops = ops != 0, .ops = ops, .timed = timed,
			     .total_ns = timed ? cycles_ns(h->sum, khz) : 0, .has_latency = timed,
			     .p50_ns = timed ? cycles_ns(hvb_lathist_quantile(h, 0.50), khz) : 0,
			     .p90_ns = timed ? cycles_ns(hvb_lathist_quantile(h, 0.90), khz) : 0,
			     .p99_ns = timed ? cycles_ns(hvb_lathist_quantile(h, 0.99), khz) : 0,
			     .max_ns = timed ? cycles_ns(h->max, khz) : 0);
	}
}

static void trace_counter(struct kvm_job *kj, const struct hvb_record *rec, const char *event,
			  uint64_t v, const char *note)
{
	hvb_out_counter(kj->out, .workload = rec->workload, .rep = rec->rep, .event = event,
			.has_value = true, .value = (double)v, .source = "kvm-trace", .note = note);
}

/* kvm-trace rows of the repetition: the records since REP_BEGIN's drain,
 * up to and including the REP_END exit's (as kvm-stats). */
static void write_trace(struct kvm_job *kj, const struct hvb_record *rec)
{
	struct kvm_rep_probe *p = &kj->probe;
	struct kvm_trace_acct *a = p->trace_acct;
	uint64_t ops = kj->c.rep_ops;
	int r;

	if (!p->trace) {
		if (kj->job->cfg->kvm_trace)
			hvb_out_counter(kj->out, .workload = rec->workload, .rep = rec->rep,
					.event = "kvm-trace", .source = "kvm-trace",
					.status = HVB_ST_UNSUPPORTED, .note = p->trace_why);
		return;
	}
	if ((r = kvm_trace_drain(p->trace, a))) {
		hvb_out_counter(kj->out, .workload = rec->workload, .rep = rec->rep,
				.event = "kvm-trace", .source = "kvm-trace", .status = HVB_ST_FAILED,
				.note = "the ring buffer holds a malformed record");
		return;
	}
	for (unsigned i = 0; i < a->n; i++) {
		const struct kvm_trace_reason *x = &a->r[i];
		const struct hvb_lathist *h = &x->h;
		bool t = x->timed && h->n;

		hvb_out_exit(kj->out, .workload = rec->workload, .rep = rec->rep,
			     .reason = x->name, .count = x->count, .source = "kvm-trace",
			     .has_ops = ops != 0, .ops = ops, .timed = t, .total_ns = (double)h->sum,
			     .has_latency = t, .p50_ns = (double)hvb_lathist_quantile(h, 0.50),
			     .p90_ns = (double)hvb_lathist_quantile(h, 0.90),
			     .p99_ns = (double)hvb_lathist_quantile(h, 0.99), .max_ns = (double)h->max);
	}
	trace_counter(kj, rec, "kvm-trace.lost_records", a->lost_records,
		      "records the kernel dropped (ring full): counts are a lower bound if > 0");
	trace_counter(kj, rec, "kvm-trace.unpaired",
		      a->exit_without_entry + a->entry_without_exit + a->dropped_pending,
		      "kvm_exit without kvm_entry, entry without exit, exits dropped at a loss");
	trace_counter(kj, rec, "kvm-trace.migrations", a->migrations,
		      "exit and entry on different CPUs (paired anyway)");
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
	write_trace(kj, rec);
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
		if (p->vmm.open) /* no hand-off when the counters are off */
			hvb_vmm_relay_end(&kj->relay, kj->out, rec->workload, rec->rep,
					  kj->c.rep_ops);
		kvm_record_placement(kj);
		return;
	}
	kvm_user_exits_sum(kj->vm, p->user_exits);
	kvm_vmm_time_begin_all(p);
	if (p->trace) { /* what came before the repetition is not in it */
		kvm_trace_drain(p->trace, NULL);
		kvm_trace_acct_reset(p->trace_acct);
	}
	if (!p->unsupported[0] && (__kvm_stats_snapshot(p->vcpu_st, &p->vcpu_a) ||
				   __kvm_stats_snapshot(p->vm_st, &p->vm_a)))
		snprintf(p->unsupported, sizeof(p->unsupported), "reading the stats fd failed");
	per_request_rep(kj, rec, true);
	if (p->vmm.open)
		hvb_vmm_relay_begin(&kj->relay);
	p->t0_ns = hv_now_ns();
}
