/*
 * The kvm runner's capability-probe boot (runners/common/caps_probe.h has
 * the engine): the guest image once, on this thread, with the probe's
 * words and capabilities and a short watchdog, since under PVM a probed
 * instruction can hang KVM_RUN.
 */
#include <stdio.h>
#include <stdlib.h>

#include "caps_probe.h"
#include "guest.h"
#include "kvm.h"
#include "util.h"

#define KVM_PROBE_TIMEOUT_S 3

void kvm_probe_boot(void *arg, struct hvb_probe_boot *b)
{
	const struct hvb_job *job = arg;
	struct kvm_job *kj = xcalloc(1, sizeof(*kj));
	struct hv_run_opts o = { .timeout_ns = KVM_PROBE_TIMEOUT_S * 1000000000ull,
				 .stop_flag = job->stop };
	const struct hv_verdict *v;

	kj->job = job;
	kj->probing = b;
	if (kvm_setup(kj, b->words, b->offer & HVB_PROBED_CAPS, b->why, sizeof(b->why)))
		goto out;
	vcpu_run(kj->vcpu, &o);
	v = &kj->vm->verdict;
	if (v->outcome == HV_SHUTDOWN)
		snprintf(b->why, sizeof(b->why), "did not run (guest exit code %d: %s)",
			 v->guest_code, hvb_guest_exit_name(v->guest_code));
	else
		snprintf(b->why, sizeof(b->why), "%s: %s", hv_outcome_name(v->outcome), v->msg);
out:
	vm_destroy(kj->vm);
	free(kj);
}
