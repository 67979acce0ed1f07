/* Application processors started at the AP entry (see smp.h). */
#include "smp.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "iothread.h"
#include "irqchip.h"
#include "pvh.h"

int vcpu_setup_ap(struct vcpu *vcpu, uint32_t entry)
{
	struct kvm_regs regs;
	int r;

	if (vcpu->id < 1)
		return -EINVAL;
	r = vcpu_setup_pvh(vcpu, entry);
	if (!r)
		r = vcpu_regs_get(vcpu, &regs);
	if (r)
		return r;
	regs.rbx = 0; /* no start info for an AP: only the index */
	regs.rsi = (uint64_t)vcpu->id;
	r = vcpu_regs_set(vcpu, &regs);
	/* With a LAPIC in the kernel an AP waits for INIT/SIPI; we start it. */
	if (!r && vcpu->vm->irqchip != HV_IRQCHIP_NONE)
		r = vcpu_mp_state_set(vcpu, KVM_MP_STATE_RUNNABLE);
	return r;
}

static void *ap_main(void *arg)
{
	struct hv_ap *ap = arg;
	struct hv_smp *s = ap->smp;
	struct vm *vm = ap->vcpu->vm;
	struct hv_run_opts o = s->opts;
	unsigned id = (unsigned)ap->vcpu->id;

	if (id < HV_MAX_VCPUS && s->exit_time_arg[id])
		o.exit_time_arg = s->exit_time_arg[id];
	__atomic_store_n(&ap->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	ap->pin_err = hv_thread_pin_self(ap->cpu);
	ap->cpu_first = sched_getcpu();
	if (s->enter && (ap->enter_err = s->enter(s->arg, ap->vcpu)))
		vm_stop(vm, NULL, HV_HOST_ERROR, "vCPU %d: cannot start its thread: %s",
			ap->vcpu->id, strerror(-ap->enter_err));
	else
		vcpu_run(ap->vcpu, &o);
	ap->cpu_last = sched_getcpu();
	__atomic_store_n(&ap->done, true, __ATOMIC_RELEASE);
	return NULL;
}

int hv_smp_start(struct hv_smp *s, struct vm *vm, const int *cpus, const struct hv_run_opts *opts)
{
	s->vm = vm;
	s->opts = *opts;
	s->n_aps = vm->n_vcpus ? vm->n_vcpus - 1 : 0;
	for (unsigned i = 1; i < vm->n_vcpus; i++) {
		struct hv_ap *ap = &s->ap[i];
		int r;

		ap->smp = s;
		ap->vcpu = vm->vcpus[i];
		ap->cpu = cpus ? cpus[i] : -1;
		ap->cpu_first = ap->cpu_last = -1;
		r = pthread_create(&ap->thread, NULL, ap_main, ap);
		if (r) {
			vm_stop(vm, NULL, HV_HOST_ERROR, "cannot start vCPU %u's thread: %s", i,
				strerror(r));
			return -r;
		}
		ap->started = true;
	}
	return 0;
}

/* pthread_timedjoin_np waits in a futex (the vCPU allowlist has it; it has
 * no nanosleep), up to an absolute CLOCK_REALTIME deadline. */
int hv_smp_join(struct hv_smp *s, uint64_t grace_ns)
{
	struct timespec until;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)(grace_ns / 1000000000ull);
	until.tv_nsec += (long)(grace_ns % 1000000000ull);
	if (until.tv_nsec >= 1000000000L)
		until.tv_sec++, until.tv_nsec -= 1000000000L;
	for (unsigned i = 1; i <= s->n_aps; i++) {
		struct hv_ap *ap = &s->ap[i];

		if (!ap->started)
			continue;
		if (pthread_timedjoin_np(ap->thread, NULL, &until)) {
			pthread_detach(ap->thread);
			ret = -ETIMEDOUT;
		}
		ap->started = false;
	}
	return ret;
}
