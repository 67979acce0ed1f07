/*
 * What decides interrupt costs on this host (meta.csv host.irq.*, see
 * results/FORMAT.md): APICv/AVIC and posted interrupts as KVM uses them,
 * the CPU's x2APIC and TSC-deadline timer, halt polling, the KVM PV
 * features offered to guests, and what PVM emulates.  A value that cannot
 * be read says "unknown (why)"; nothing is guessed.
 */
#ifndef HVB_PROBES_IRQ_STATE_H
#define HVB_PROBES_IRQ_STATE_H

#include <stddef.h>

#define HVB_IRQ_STATE_MAX 12

struct hvb_irq_state {
	int n;
	struct {
		const char *key; /* "apicv", "avic", ... (meta key host.irq.<key>) */
		char value[384];
	} item[HVB_IRQ_STATE_MAX];
};

/*
 * Read the state under root ("" on a real host; tests give a fake tree):
 * /sys/module/{kvm,kvm_intel,kvm_amd,kvm_pvm}/parameters, /proc/cpuinfo.
 * KVM's PV features come from KVM_GET_SUPPORTED_CPUID on /dev/kvm, or
 * under a fake root from ROOT/kvm-cpuid-40000001 (eax in hex).
 */
void hvb_irq_state_read(const char *root, struct hvb_irq_state *st);

/* Words for the KVM PV feature bits (leaf 0x40000001 eax) into buf. */
void hvb_irq_kvm_pv_words(unsigned eax, char *buf, size_t len);

#endif
