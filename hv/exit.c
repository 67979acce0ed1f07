/*
 * The run loop and the exit dispatch table (see exit.h).
 */
#include "exit.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "dev.h"
#include "dirty.h"
#include "watchdog.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define unlikely(x)  __builtin_expect(!!(x), 0)

static const char *const reason_names[] = {
    [KVM_EXIT_UNKNOWN] = "unknown",
    [KVM_EXIT_EXCEPTION] = "exception",
    [KVM_EXIT_IO] = "io",
    [KVM_EXIT_HYPERCALL] = "hypercall",
    [KVM_EXIT_DEBUG] = "debug",
    [KVM_EXIT_HLT] = "hlt",
    [KVM_EXIT_MMIO] = "mmio",
    [KVM_EXIT_IRQ_WINDOW_OPEN] = "irq_window_open",
    [KVM_EXIT_SHUTDOWN] = "shutdown",
    [KVM_EXIT_FAIL_ENTRY] = "fail_entry",
    [KVM_EXIT_INTR] = "intr",
    [KVM_EXIT_SET_TPR] = "set_tpr",
    [KVM_EXIT_TPR_ACCESS] = "tpr_access",
    [KVM_EXIT_NMI] = "nmi",
    [KVM_EXIT_INTERNAL_ERROR] = "internal_error",
    [KVM_EXIT_SYSTEM_EVENT] = "system_event",
    [KVM_EXIT_IOAPIC_EOI] = "ioapic_eoi",
    [KVM_EXIT_X86_RDMSR] = "x86_rdmsr",
    [KVM_EXIT_X86_WRMSR] = "x86_wrmsr",
    [KVM_EXIT_X86_BUS_LOCK] = "x86_bus_lock",
    [KVM_EXIT_DIRTY_RING_FULL] = "dirty_ring_full",
};

const char *hv_exit_reason_name(uint32_t reason)
{
	if (reason < ARRAY_LEN(reason_names) && reason_names[reason])
		return reason_names[reason];
	return "unknown";
}

const char *hv_outcome_name(enum hv_outcome outcome)
{
	switch (outcome) {
	case HV_RUNNING:
		return "running";
	case HV_SHUTDOWN:
		return "shutdown";
	case HV_TIMEOUT:
		return "timeout";
	case HV_INTERRUPTED:
		return "interrupted";
	case HV_CRASH:
		return "crash";
	case HV_GUEST_ERROR:
		return "guest error";
	case HV_HOST_ERROR:
		return "host error";
	}
	return "?";
}

int vm_stop(struct vm *vm, struct vcpu *vcpu, enum hv_outcome outcome, const char *fmt, ...)
{
	struct hv_verdict *v = &vm->verdict;
	enum hv_outcome running = HV_RUNNING;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	va_list ap;

	/* vCPU threads may race to it (SMP): the first one decides. */
	if (!__atomic_compare_exchange_n(&v->outcome, &running, outcome, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return HV_STOP;
	va_start(ap, fmt);
	vsnprintf(v->msg, sizeof(v->msg), fmt, ap);
	va_end(ap);
	if (vcpu) {
		v->exit_reason = vcpu->run->exit_reason;
		if (!vcpu_regs_get(vcpu, &regs)) {
			v->have_regs = true;
			v->rip = regs.rip, v->rsp = regs.rsp, v->rflags = regs.rflags;
		}
		if (!vcpu_sregs_get(vcpu, &sregs))
			v->cr0 = sregs.cr0;
	}
	return HV_STOP;
}

void vm_verdict_reset(struct vm *vm)
{
	memset(&vm->verdict, 0, sizeof(vm->verdict));
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vm->vcpus[i]->run->immediate_exit = 0;
}

/* rip for messages while the vCPU is stopped in an exit (cold paths only). */
static unsigned long long rip_of(struct vcpu *vcpu)
{
	struct kvm_regs regs;

	return vcpu_regs_get(vcpu, &regs) ? ~0ull : (unsigned long long)regs.rip;
}

/* ------------------------------------------------------------ handlers */

static int exit_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;
	unsigned size = run->io.size, count = run->io.count;
	uint16_t port = run->io.port;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	const struct vm_pio *d = NULL;

	/* The kernel fills these, but a bad offset would make us touch memory
	 * outside the kvm_run mapping: check, cheaply. */
	if (unlikely(run->io.data_offset >= vm->run_size || !size || size > 4 ||
		     (uint64_t)size * count > vm->run_size - run->io.data_offset))
		return vm_stop(vm, vcpu, HV_HOST_ERROR,
			       "KVM reported port I/O with size %u count %u at offset %llu", size,
			       count, (unsigned long long)run->io.data_offset);
	for (unsigned i = 0; i < vm->n_pio; i++)
		if (port >= vm->pio[i].first && port <= vm->pio[i].last) {
			d = &vm->pio[i];
			break;
		}
	if (unlikely(!d))
		return vm_stop(
		    vm, vcpu, HV_GUEST_ERROR,
		    "guest %s port 0x%x (%u byte%s), which no device handles (rip 0x%llx)",
		    out ? "wrote to" : "read from", port, size, size > 1 ? "s" : "", rip_of(vcpu));
	for (unsigned i = 0; i < count; i++, data += size) {
		if (!out)
			memset(data, 0, size);
		if (d->fn(d->opaque, vcpu, port, data, size, out) != HV_CONTINUE)
			return HV_STOP;
	}
	return HV_CONTINUE;
}

static int exit_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;
	uint64_t gpa = run->mmio.phys_addr;
	unsigned len = run->mmio.len;

	if (unlikely(!len || len > sizeof(run->mmio.data)))
		return vm_stop(vm, vcpu, HV_HOST_ERROR, "KVM reported an MMIO access of %u bytes",
			       len);
	for (unsigned i = 0; i < vm->n_mmio; i++) {
		const struct vm_mmio *m = &vm->mmio[i];
		if (gpa >= m->gpa && gpa - m->gpa < m->len && len <= m->len - (gpa - m->gpa)) {
			if (!run->mmio.is_write)
				memset(run->mmio.data, 0, len);
			return m->fn(m->opaque, vcpu, gpa, run->mmio.data, len, run->mmio.is_write);
		}
	}
	return vm_stop(vm, vcpu, HV_GUEST_ERROR,
		       "guest %s %u byte%s at guest-physical 0x%llx, which is neither RAM nor a "
		       "device (rip 0x%llx)",
		       run->mmio.is_write ? "wrote" : "read", len, len > 1 ? "s" : "",
		       (unsigned long long)gpa, rip_of(vcpu));
}

/* No in-kernel irqchip: hlt exits here and the vCPU simply resumes after it
 * ("halt exit + resume"), which is what micro/hlt-wake measures. */
static int exit_hlt(struct vcpu *vcpu)
{
	(void)vcpu;
	return HV_CONTINUE;
}

/* Only reaches userspace if KVM_CAP_EXIT_HYPERCALL is enabled (it is not):
 * answer like KVM's null hypercall. */
static int exit_hypercall(struct vcpu *vcpu)
{
	vcpu->run->hypercall.ret = (uint64_t)-1000; /* -KVM_ENOSYS */
	return HV_CONTINUE;
}

static int exit_shutdown(struct vcpu *vcpu)
{
	return vm_stop(vcpu->vm, vcpu, HV_CRASH,
		       "guest triple-faulted (KVM_EXIT_SHUTDOWN) at rip 0x%llx: an exception it "
		       "could not handle, e.g. a fault before its IDT was set up",
		       rip_of(vcpu));
}

static int exit_internal_error(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	unsigned n = run->internal.ndata < 4 ? run->internal.ndata : 4;
	char extra[96] = "";

	for (unsigned i = 0, off = 0; i < n && off < sizeof(extra); i++)
		off += (unsigned)snprintf(extra + off, sizeof(extra) - off, " 0x%llx",
					  (unsigned long long)run->internal.data[i]);
	return vm_stop(vcpu->vm, vcpu, HV_CRASH,
		       "KVM internal error, suberror %u%s (data%s) at rip 0x%llx",
		       run->internal.suberror,
		       run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
			   ? " (instruction emulation failed)"
			   : "",
		       n ? extra : " none", rip_of(vcpu));
}

static int exit_fail_entry(struct vcpu *vcpu)
{
	return vm_stop(vcpu->vm, vcpu, HV_CRASH,
		       "KVM could not enter the guest (hardware entry failure reason 0x%llx, "
		       "rip 0x%llx)",
		       (unsigned long long)vcpu->run->fail_entry.hardware_entry_failure_reason,
		       rip_of(vcpu));
}

static int exit_system_event(struct vcpu *vcpu)
{
	static const char *const types[] = {[KVM_SYSTEM_EVENT_SHUTDOWN] = "shutdown",
					    [KVM_SYSTEM_EVENT_RESET] = "reset",
					    [KVM_SYSTEM_EVENT_CRASH] = "crash"};
	uint32_t t = vcpu->run->system_event.type;

	return vm_stop(vcpu->vm, vcpu, HV_CRASH, "guest system event %u (%s) at rip 0x%llx", t,
		       t < ARRAY_LEN(types) && types[t] ? types[t] : "unknown", rip_of(vcpu));
}

static int exit_intr(struct vcpu *vcpu)
{
	(void)vcpu;
	return HV_CONTINUE; /* a signal arrived; the loop checks the kick flags */
}

static int exit_unexpected(struct vcpu *vcpu)
{
	uint32_t reason = vcpu->run->exit_reason;

	return vm_stop(vcpu->vm, vcpu, HV_GUEST_ERROR,
		       "unexpected exit %u (%s) at rip 0x%llx: the core does not handle it", reason,
		       hv_exit_reason_name(reason), rip_of(vcpu));
}

/* The vCPU's dirty ring is full (dirty.h ring mode): harvest it and go
 * back in; without tracking in progress nobody asked for a ring. */
static int exit_dirty_ring_full(struct vcpu *vcpu)
{
	int r = vcpu->vm->dirty ? hv_dirty_ring_full(vcpu->vm->dirty, vcpu) : -ENODEV;

	if (!r)
		return HV_CONTINUE;
	return vm_stop(vcpu->vm, vcpu, HV_HOST_ERROR, "dirty ring full and not harvested: %s",
		       strerror(-r));
}

typedef int (*exit_fn)(struct vcpu *);

static const exit_fn exit_handlers[] = {
    [KVM_EXIT_IO] = exit_io,
    [KVM_EXIT_MMIO] = exit_mmio,
    [KVM_EXIT_HYPERCALL] = exit_hypercall,
    [KVM_EXIT_HLT] = exit_hlt,
    [KVM_EXIT_SHUTDOWN] = exit_shutdown,
    [KVM_EXIT_INTERNAL_ERROR] = exit_internal_error,
    [KVM_EXIT_FAIL_ENTRY] = exit_fail_entry,
    [KVM_EXIT_SYSTEM_EVENT] = exit_system_event,
    [KVM_EXIT_INTR] = exit_intr,
    [KVM_EXIT_DIRTY_RING_FULL] = exit_dirty_ring_full,
};

/* ------------------------------------------------------------ run loop */

void vcpu_kick(struct vcpu *vcpu, pthread_t thread)
{
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill(thread, HV_KICK_SIGNAL);
}

int __vcpu_run(struct vcpu *vcpu)
{
	return ioctl(vcpu->fd, KVM_RUN, 0) < 0 ? -errno : 0;
}

static void stop_kicked(struct vcpu *vcpu, const struct hv_watchdog *wd,
			const struct hv_run_opts *o, int why)
{
	struct vm *vm = vcpu->vm;

	if (why == HV_TIMEOUT)
		vm_stop(vm, vcpu, HV_TIMEOUT,
			"guest did not finish within %.1f s (%llu exits so far, last %s)",
			(double)o->timeout_ns / 1e9, (unsigned long long)vcpu->n_exits,
			vcpu->n_exits ? hv_exit_reason_name(vcpu->run->exit_reason) : "none");
	else
		vm_stop(vm, vcpu, HV_INTERRUPTED, "interrupted by the user");
	(void)wd;
}

enum hv_outcome vcpu_run(struct vcpu *vcpu, const struct hv_run_opts *opts)
{
	struct vm *vm = vcpu->vm;
	struct hv_watchdog wd;
	uint64_t t_exit = 0;
	bool timed = false;
	int r, why;

	if (vm->verdict.outcome != HV_RUNNING)
		return vm->verdict.outcome;
	r = watchdog_start(&wd, vcpu, opts->timeout_ns, opts->stop_flag);
	if (r) {
		vm_stop(vm, NULL, HV_HOST_ERROR, "cannot start the watchdog: %s", strerror(-r));
		return vm->verdict.outcome;
	}
	for (;;) {
		if (opts->exit_time && timed) /* the previous exit's time in the VMM */
			opts->exit_time(opts->exit_time_arg, vcpu->run->exit_reason,
					__builtin_ia32_rdtsc() - t_exit);
		r = ioctl(vcpu->fd, KVM_RUN, 0);
		timed = opts->exit_time && r >= 0;
		if (timed)
			t_exit = __builtin_ia32_rdtsc();
		if (unlikely(r < 0)) {
			r = errno;
			why = watchdog_kicked(&wd);
			if (!why && opts->stop_flag && *opts->stop_flag)
				why = HV_INTERRUPTED;
			if (why) {
				stop_kicked(vcpu, &wd, opts, why);
				break;
			}
			/* Another thread ended the run (vcpu_kick, or an AP's
			 * verdict): leave now, not at the watchdog's poll. */
			if (__atomic_load_n(&vm->verdict.outcome, __ATOMIC_ACQUIRE) != HV_RUNNING)
				break;
			if (r == EINTR || r == EAGAIN)
				continue; /* some other signal: go back in */
			vm_stop(vm, vcpu, HV_HOST_ERROR, "KVM_RUN failed: %s", strerror(r));
			break;
		}
		vcpu->n_exits++;
		uint32_t reason = vcpu->run->exit_reason;
		vcpu->exit_counts[reason < HV_EXIT_REASONS ? reason : 0]++;
		exit_fn fn = reason < ARRAY_LEN(exit_handlers) ? exit_handlers[reason] : NULL;
		if (unlikely(!fn))
			fn = exit_unexpected;
		if (fn(vcpu) != HV_CONTINUE)
			break;
	}
	watchdog_stop(&wd);
	return vm->verdict.outcome;
}
