/*
 * The probe switches of struct hvb_config (runners/common/config.c), the
 * one place that reads them: defaults, 0 and 1, a bad value refused with
 * its name, and HVB_VMM_COUNTERS beside its older kvm-only name
 * HVB_KVM_VMM_COUNTERS.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tap.h"

static const char *const switches[] = {
	"HVB_KVM_TRACE", "HVB_VMM_COUNTERS", "HVB_KVM_VMM_COUNTERS", "HVB_VMM_EXIT_TIMING",
	"HVB_KVM_STATS",
};

static void clear_switches(void)
{
	for (size_t i = 0; i < sizeof(switches) / sizeof(switches[0]); i++)
		unsetenv(switches[i]);
}

/* Load with NAME=VALUE set (NULL: nothing set); the result, err filled. */
static int load(struct hvb_config *cfg, const char *name, const char *value, char *err,
		size_t len)
{
	int r;

	clear_switches();
	if (name)
		setenv(name, value, 1);
	err[0] = '\0';
	r = hvb_config_load(cfg, NULL, err, len);
	if (!r)
		hvb_config_free(cfg);
	return r;
}

static void check_defaults(void)
{
	struct hvb_config c;
	char err[300];

	TAP_EQ_INT(load(&c, NULL, NULL, err, sizeof(err)), 0, "no switch set: loads");
	TAP_OK(!c.kvm_trace && c.kvm_vmm_counters && c.qemu_vmm_counters && c.vmm_exit_timing &&
		       c.kvm_stats,
	       "defaults: kvm-trace off, every other probe on");
	TAP_EQ_INT(load(&c, "HVB_KVM_STATS", "", err, sizeof(err)), 0, "an empty switch: loads");
	TAP_OK(c.kvm_stats, "an empty switch is the default");
}

/* Each switch: 0 turns its probe off, 1 on, anything else is refused. */
static void check_switch(const char *name, size_t off_field)
{
	struct hvb_config c;
	char err[300], d[120];

	snprintf(d, sizeof(d), "%s=0: loads and turns its probe off", name);
	TAP_OK(!load(&c, name, "0", err, sizeof(err)) && !*(bool *)((char *)&c + off_field), d);
	snprintf(d, sizeof(d), "%s=1: on", name);
	TAP_OK(!load(&c, name, "1", err, sizeof(err)) && *(bool *)((char *)&c + off_field), d);
	snprintf(d, sizeof(d), "%s=yes: -EINVAL naming the variable and its values", name);
	TAP_OK(load(&c, name, "yes", err, sizeof(err)) == -EINVAL && strstr(err, name) &&
		       strstr(err, "'yes'") && strstr(err, "give 0 (off) or 1 (on"),
	       d);
	printf("# %s\n", err);
}

static void check_counters_names(void)
{
	struct hvb_config c;
	char err[300];

	TAP_OK(!load(&c, "HVB_VMM_COUNTERS", "0", err, sizeof(err)) && !c.kvm_vmm_counters &&
		       !c.qemu_vmm_counters,
	       "HVB_VMM_COUNTERS=0: off for kvm and QEMU");
	TAP_OK(!load(&c, "HVB_KVM_VMM_COUNTERS", "0", err, sizeof(err)) && !c.kvm_vmm_counters &&
		       c.qemu_vmm_counters,
	       "the older HVB_KVM_VMM_COUNTERS=0: off for kvm only, as before");
	clear_switches();
	setenv("HVB_VMM_COUNTERS", "0", 1);
	setenv("HVB_KVM_VMM_COUNTERS", "0", 1);
	TAP_OK(!hvb_config_load(&c, NULL, err, sizeof(err)) && !c.kvm_vmm_counters &&
		       !c.qemu_vmm_counters,
	       "both names, agreeing: loads");
	hvb_config_free(&c);
	setenv("HVB_KVM_VMM_COUNTERS", "1", 1);
	TAP_OK(hvb_config_load(&c, NULL, err, sizeof(err)) == -EINVAL &&
		       strstr(err, "HVB_VMM_COUNTERS=0 and HVB_KVM_VMM_COUNTERS=1 disagree"),
	       "both names, disagreeing: -EINVAL saying so");
	printf("# %s\n", err);
	clear_switches();
}

int main(void)
{
	check_defaults();
	check_switch("HVB_KVM_TRACE", offsetof(struct hvb_config, kvm_trace));
	check_switch("HVB_VMM_EXIT_TIMING", offsetof(struct hvb_config, vmm_exit_timing));
	check_switch("HVB_KVM_STATS", offsetof(struct hvb_config, kvm_stats));
	check_switch("HVB_VMM_COUNTERS", offsetof(struct hvb_config, qemu_vmm_counters));
	check_switch("HVB_KVM_VMM_COUNTERS", offsetof(struct hvb_config, kvm_vmm_counters));
	check_counters_names();
	return tap_done();
}
