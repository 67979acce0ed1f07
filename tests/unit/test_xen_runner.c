/* The Xen runners off Xen: both are registered, and say precisely why they
 * cannot run; their meta says whether a net/ job would get a vif (the
 * hotplug script is there or not). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "results.h"
#include "runner.h"
#include "sink.h"
#include "tap.h"
#include "util.h"

static void check(const char *name)
{
	const struct hvb_runner *r = hvb_runner_find(name);
	char why[512] = "";
	struct hvb_config cfg;
	bool ok;

	TAP_OK(r != NULL, name);
	if (!r)
		return;
	TAP_OK(r->available && r->run && r->describe, "descriptor is complete");
	if (!access("/proc/xen/capabilities", F_OK)) {
		TAP_SKIP("this host is running under Xen; the off-Xen checks do not apply");
		return;
	}
	if (hvb_config_load(&cfg, NULL, why, sizeof(why)))
		return;
	ok = r->available(&cfg, why, sizeof(why));
	hvb_config_free(&cfg);
	TAP_OK(!ok, "not available on a host that is not a Xen dom0");
	TAP_OK(why[0] != '\0', "a reason is given");
	TAP_OK(strstr(why, "not running under Xen") || strstr(why, "libxl") ||
		       strstr(why, "privcmd"),
	       "the reason names what is missing");
	printf("# %s: why: %s\n", name, why);
}

/* runner.<name>.<what> of describe() with HVB_XEN_VIF_SCRIPT = script. */
static char *describe_meta(const char *name, const char *script, const char *what)
{
	char tmpl[] = "/tmp/hvb-xen-runner-XXXXXX", why[512], *dir, *v = NULL, key[64];
	const struct hvb_runner *r = hvb_runner_find(name);
	struct hvb_config cfg;
	struct hvb_sink *sink;
	struct hvb_run run;

	if (!r || !mkdtemp(tmpl) || hvb_sink_open(&sink, tmpl, "r1"))
		return NULL;
	setenv("HVB_XEN_VIF_SCRIPT", script, 1);
	if (!hvb_config_load(&cfg, NULL, why, sizeof(why))) {
		const struct hvb_out out = { .sink = sink, .runner = name };

		r->describe(r, &cfg, &out);
		hvb_config_free(&cfg);
	}
	unsetenv("HVB_XEN_VIF_SCRIPT");
	dir = xasprintf("%s/r1", tmpl);
	if (!hvb_sink_finish(sink, "complete", NULL, 0) &&
	    !hvb_run_read(dir, false, &run, why, sizeof(why))) {
		snprintf(key, sizeof(key), "runner.%s.%s", name, what);
		v = hvb_run_meta(&run, key) ? xstrdup(hvb_run_meta(&run, key)) : NULL;
		if (!v && hvb_run_meta(&run, "runner.xen-pvh.libxl"))
			v = xstrdup("(stub)");
		hvb_run_free(&run);
	}
	free(dir);
	return v;
}

static char *net_meta(const char *name, const char *script)
{
	return describe_meta(name, script, "net");
}

/* How each runner starts APs and delivers interrupts (--vcpus, HVB_CAP_IRQ). */
static void check_smp_meta(void)
{
	char *pvh_smp = describe_meta("xen-pvh", "vif-x", "smp");
	char *pv_smp = describe_meta("xen-pv", "vif-x", "smp");
	char *pvh_irq = describe_meta("xen-pvh", "vif-x", "irq");
	char *pv_irq = describe_meta("xen-pv", "vif-x", "irq");

	if (pvh_smp && !strcmp(pvh_smp, "(stub)")) {
		TAP_SKIP("built without libxl: no smp meta in the stub");
	} else {
		TAP_OK(pvh_smp && strstr(pvh_smp, "vcpu_hvm_context") && strstr(pvh_smp, "VCPUOP_up"),
		       "xen-pvh smp meta: APs by VCPUOP_initialise (vcpu_hvm_context) + VCPUOP_up");
		TAP_OK(pv_smp && strstr(pv_smp, "vcpu_guest_context") && strstr(pv_smp, "VCPUOP_up"),
		       "xen-pv smp meta: APs by VCPUOP_initialise (vcpu_guest_context) + VCPUOP_up");
		TAP_OK(pvh_irq && strstr(pvh_irq, "LAPIC") && strstr(pvh_irq, "HVB_CAP_IRQ"),
		       "xen-pvh irq meta: Xen's emulated LAPIC, HVB_CAP_IRQ");
		TAP_OK(pv_irq && strstr(pv_irq, "event channels") && strstr(pv_irq, "HVB_CAP_IRQ"),
		       "xen-pv irq meta: event channels, HVB_CAP_IRQ");
	}
	free(pvh_smp);
	free(pv_smp);
	free(pvh_irq);
	free(pv_irq);
}

/* runner.<name>.probes: xentrace=on unless HVB_XENTRACE=0 (FORMAT.md). */
static void check_probes_meta(void)
{
	char *on, *off, *pv_off;

	unsetenv("HVB_XENTRACE");
	on = describe_meta("xen-pvh", "vif-x", "probes");
	setenv("HVB_XENTRACE", "0", 1);
	off = describe_meta("xen-pvh", "vif-x", "probes");
	pv_off = describe_meta("xen-pv", "vif-x", "probes");
	unsetenv("HVB_XENTRACE");
	if (on && !strcmp(on, "(stub)")) {
		TAP_SKIP("built without libxl: no probes meta in the stub");
	} else {
		TAP_OK(on && !strcmp(on, "xentrace=on"), "probes meta: xentrace=on by default");
		TAP_OK(off && !strcmp(off, "xentrace=off"), "probes meta: HVB_XENTRACE=0 gives xentrace=off");
		TAP_OK(pv_off && !strcmp(pv_off, "xentrace=off"), "xen-pv probes meta: xentrace=off too");
	}
	printf("# probes meta: %s | %s | %s\n", on ? on : "-", off ? off : "-", pv_off ? pv_off : "-");
	free(on);
	free(off);
	free(pv_off);
}

static void check_net_meta(void)
{
	char *none = net_meta("xen-pvh", "/nonexistent/vif-x"), *rel = net_meta("xen-pv", "vif-x-no");
	char *yes = net_meta("xen-pv", "/bin/sh");

	if (none && !strcmp(none, "(stub)")) {
		TAP_SKIP("built without libxl: no vif in the stub");
	} else {
		TAP_OK(none && strstr(none, "none: no executable vif hotplug script /nonexistent/vif-x"),
		       "no script at the path: net meta says none and names the path");
		TAP_OK(rel && strstr(rel, "/etc/xen/scripts/vif-x-no"),
		       "a bare name is looked up in /etc/xen/scripts, as libxl does");
		TAP_OK(yes && !strncmp(yes, "xen netfront, netback vif (hotplug script /bin/sh", 49),
		       "an executable script: xen netfront, netback vif");
	}
	printf("# net meta: %s | %s | %s\n", none ? none : "-", rel ? rel : "-", yes ? yes : "-");
	free(none);
	free(rel);
	free(yes);
}

int main(void)
{
	check_net_meta();
	check_smp_meta();
	check_probes_meta();
	check("xen-pvh");
	check("xen-pv");
	return tap_done();
}
