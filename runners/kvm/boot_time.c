/*
 * Where a kvm boot's time goes (kvm.h, struct kvm_boot_clock): laps of the
 * core's clock through kvm_setup and the vCPU thread's start, and the
 * guest's part from its HELLO record.  One log line per boot, so a slow
 * boot names its slow step instead of being guessed at.
 */
#include <stdio.h>

#include "kvm.h"
#include "watchdog.h"

static const char *const phase_names[KVM_BOOT_PHASES] = {
    [KVM_BOOT_VM] = "vm",
    [KVM_BOOT_IRQCHIP] = "irqchip",
    [KVM_BOOT_MEMORY] = "memory",
    [KVM_BOOT_PREFAULT] = "prefault(not-in-boot_ms)",
    [KVM_BOOT_VCPUS] = "vcpus",
    [KVM_BOOT_IMAGE] = "image",
    [KVM_BOOT_PAGING] = "paging",
    [KVM_BOOT_DEVICES] = "devices",
    [KVM_BOOT_START] = "start-info",
    [KVM_BOOT_THREAD] = "thread",
    [KVM_BOOT_PROBES] = "probes(not-in-boot_ms)",
    [KVM_BOOT_APS] = "aps",
    [KVM_BOOT_SECCOMP] = "seccomp",
    [KVM_BOOT_ENTRY] = "first-entry",
    [KVM_BOOT_GUEST] = "guest",
};

void kvm_boot_clock_start(struct kvm_boot_clock *c, uint64_t now_ns)
{
	*c = (struct kvm_boot_clock){.lap_ns = now_ns};
}

void kvm_boot_lap(struct kvm_boot_clock *c, enum kvm_boot_phase phase)
{
	uint64_t now = hv_now_ns();

	c->ns[phase] += now - c->lap_ns;
	c->lap_ns = now;
	if (phase == KVM_BOOT_SECCOMP)
		c->first_run_ns = now;
}

void kvm_boot_skip(struct kvm_boot_clock *c)
{
	c->lap_ns = hv_now_ns();
}

uint64_t kvm_boot_exclude(struct kvm_boot_clock *c, enum kvm_boot_phase phase)
{
	uint64_t before = c->ns[phase];

	kvm_boot_lap(c, phase);
	return c->ns[phase] - before;
}

/* The guest's stamps may precede the first KVM_RUN by a rounding of the
 * TSC conversion: never a negative step. */
void kvm_boot_guest(struct kvm_boot_clock *c, uint64_t entry_ns, uint64_t first_ns)
{
	c->ns[KVM_BOOT_ENTRY] = entry_ns > c->first_run_ns ? entry_ns - c->first_run_ns : 0;
	c->ns[KVM_BOOT_GUEST] = first_ns > entry_ns ? first_ns - entry_ns : 0;
}

void kvm_boot_log(const struct kvm_boot_clock *c, const struct hvb_out *out, double boot_ms)
{
	char line[600];
	int n = snprintf(line, sizeof(line), "boot phases (ms, boot_ms %.3f):", boot_ms);

	for (unsigned i = 0; i < KVM_BOOT_PHASES && n > 0 && (size_t)n < sizeof(line); i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %s %.3f", phase_names[i],
			      (double)c->ns[i] / 1e6);
	hvb_out_log(out, "%s", line);
}
