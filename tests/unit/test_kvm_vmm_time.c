/*
 * The kvm runner's per-vCPU exit timing (runners/kvm/stats.c): each vCPU
 * times into its own struct kvm_vmm_time, vCPU 0 resets them all at
 * REP_BEGIN and merges them at REP_END while the APs keep adding (the
 * lock).  Checked: the merge holds every vCPU's exits, vCPU 0's REP_BEGIN
 * exit is skipped and an AP's first one is not, and a merge taken while
 * an AP thread adds as fast as it can never loses or tears a histogram
 * (n == sum of the buckets, and the final count is exact).
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/kvm.h"
#include "tap.h"

#define IO 2 /* KVM_EXIT_IO */
#define AP_EXITS 200000

static uint64_t buckets(const struct hvb_lathist *h)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < HVB_LATHIST_BUCKETS; i++)
		n += h->bucket[i];
	return n;
}

static void probe_of(struct kvm_rep_probe *p, unsigned vcpus)
{
	memset(p, 0, sizeof(*p));
	p->n_vmm_time = vcpus;
	p->vmm_time = calloc(vcpus, sizeof(*p->vmm_time));
	p->vmm_merged = calloc(1, sizeof(*p->vmm_merged));
}

static void merged_and_skip(void)
{
	struct kvm_rep_probe p;
	const struct kvm_vmm_time *m;

	probe_of(&p, 3);
	kvm_vmm_time_begin_all(&p);
	kvm_vmm_time_exit(kvm_vmm_time_of(&p, 0), IO, 999999); /* REP_BEGIN's own */
	kvm_vmm_time_exit(kvm_vmm_time_of(&p, 0), IO, 100);
	kvm_vmm_time_exit(kvm_vmm_time_of(&p, 1), IO, 200);
	kvm_vmm_time_exit(kvm_vmm_time_of(&p, 2), IO, 300);
	kvm_vmm_time_exit(kvm_vmm_time_of(&p, 2), 1000, 50); /* unknown reason: [0] */
	m = kvm_vmm_time_collect(&p);
	TAP_EQ_INT(m->by_reason[IO].n, 3, "one io exit from each of 3 vCPUs");
	TAP_EQ_INT(m->by_reason[IO].sum, 600, "vCPU 0's REP_BEGIN exit skipped, the APs' first kept");
	TAP_EQ_INT(m->by_reason[IO].max, 300, "max over the vCPUs");
	TAP_EQ_INT(m->by_reason[0].n, 1, "a reason past the table counted in [0]");
	TAP_OK(kvm_vmm_time_of(&p, 3) == NULL, "no histogram for a vCPU the VM does not have");
	kvm_vmm_time_begin_all(&p);
	m = kvm_vmm_time_collect(&p);
	TAP_EQ_INT(m->by_reason[IO].n, 0, "REP_BEGIN empties every vCPU's");
	free(p.vmm_time);
	free(p.vmm_merged);
}

/* Set by the merging thread once a merge saw the AP's first half: the AP
 * adds its second half only then, so at least two merges overlap its
 * adding however the threads are scheduled (a loaded CI host ran the AP to
 * its end before the first merge). */
static int half_seen;

static void *ap_adds(void *arg)
{
	struct kvm_vmm_time *t = arg;

	for (unsigned i = 0; i < AP_EXITS; i++) {
		if (i == AP_EXITS / 2)
			while (!__atomic_load_n(&half_seen, __ATOMIC_ACQUIRE))
				sched_yield();
		kvm_vmm_time_exit(t, IO, 1 + (i & 1023));
	}
	return NULL;
}

static void concurrent(void)
{
	struct kvm_rep_probe p;
	const struct kvm_vmm_time *m;
	pthread_t t;
	unsigned torn = 0, merges = 0;
	uint64_t last = 0;
	bool monotonic = true;

	probe_of(&p, 2);
	kvm_vmm_time_begin_all(&p);
	pthread_create(&t, NULL, ap_adds, kvm_vmm_time_of(&p, 1));
	do {
		m = kvm_vmm_time_collect(&p);
		torn += buckets(&m->by_reason[IO]) != m->by_reason[IO].n;
		monotonic &= m->by_reason[IO].n >= last;
		last = m->by_reason[IO].n;
		merges++;
		if (last >= AP_EXITS / 2)
			__atomic_store_n(&half_seen, 1, __ATOMIC_RELEASE);
	} while (last < AP_EXITS);
	pthread_join(t, NULL);
	m = kvm_vmm_time_collect(&p);
	TAP_EQ_INT(torn, 0, "no merge saw a histogram half-updated");
	TAP_OK(monotonic, "the AP's count only grows between merges");
	TAP_EQ_INT(m->by_reason[IO].n, AP_EXITS, "every AP exit is in the final merge");
	TAP_OK(merges > 1, "merged while the AP was adding");
	free(p.vmm_time);
	free(p.vmm_merged);
}

int main(void)
{
	merged_and_skip();
	concurrent();
	return tap_done();
}
