/*
 * host.irq.* (probes/irq_state.c) and the nesting text (lib/meta.c) on fake
 * /proc + /sys trees: an Intel KVM host with APICv and posted interrupts,
 * an AMD one with AVIC off, our nested PVM, an old kernel and a host where
 * nothing is readable (every value says unknown or not applicable, none is
 * guessed); a nested KVM host under QEMU TCG names TCG once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "irq_state.h"
#include "meta.h"
#include "tap.h"
#include "util.h"

static char base[] = "/tmp/hvb-test-host-irq-XXXXXX";

static void put(const char *root, const char *path, const char *text)
{
	char *p = xasprintf("%s%s", root, path), *dir = xstrdup(p);
	FILE *f;

	*strrchr(dir, '/') = '\0';
	hvb_mkdir_p(dir);
	f = fopen(p, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		perror(p);
		exit(2);
	}
	free(dir);
	free(p);
}

static char *host(const char *name, const char *flags, const char *vmx_flags)
{
	char *root = xasprintf("%s/%s", base, name);
	char *ci = xasprintf("processor\t: 0\nflags\t\t: fpu %s\n%s%s%s\n\nprocessor\t: 1\n"
			     "flags\t\t: fpu\n",
			     flags, vmx_flags ? "vmx flags\t: " : "", vmx_flags ? vmx_flags : "",
			     vmx_flags ? "\n" : "");

	put(root, "/proc/cpuinfo", ci);
	free(ci);
	return root;
}

static const char *value(const struct hvb_irq_state *st, const char *key)
{
	for (int i = 0; i < st->n; i++)
		if (!strcmp(st->item[i].key, key))
			return st->item[i].value;
	return "(absent)";
}

static void expect(const struct hvb_irq_state *st, const char *key, const char *want)
{
	const char *v = value(st, key);

	TAP_OK(strstr(v, want) != NULL, key);
	if (!strstr(v, want))
		printf("# %s = %s, wanted %s\n", key, v, want);
}

static void kvm_params(const char *root, const char *halt)
{
	put(root, "/sys/module/kvm/parameters/halt_poll_ns", halt);
	put(root, "/sys/module/kvm/parameters/halt_poll_ns_grow", "2\n");
	put(root, "/sys/module/kvm/parameters/halt_poll_ns_grow_start", "10000\n");
	put(root, "/sys/module/kvm/parameters/halt_poll_ns_shrink", "0\n");
	put(root, "/sys/module/kvm/parameters/lapic_timer_advance", "Y\n");
}

static void test_intel(void)
{
	struct hvb_irq_state st;
	char *r = host("intel", "vmx x2apic tsc_deadline_timer",
		       "vnmi posted_intr invvpid ept_x_only vapic_reg vid");

	kvm_params(r, "200000\n");
	put(r, "/sys/module/kvm_intel/parameters/enable_apicv", "Y\n");
	put(r, "/sys/module/kvm_intel/parameters/enable_ipiv", "N\n");
	put(r, "/kvm-cpuid-40000001", "0x1007efb\n");
	hvb_irq_state_read(r, &st);
	expect(&st, "apicv", "on (kvm_intel enable_apicv=Y)");
	expect(&st, "avic", "not applicable (kvm_amd not loaded)");
	expect(&st, "posted_interrupts", "on (vmx flags posted_intr; kvm_intel enable_apicv=Y, "
					 "enable_ipiv=N)");
	expect(&st, "x2apic", "yes");
	expect(&st, "tsc_deadline", "yes (/proc/cpuinfo flag tsc_deadline_timer)");
	expect(&st, "halt_poll_ns", "200000 (grow 2, grow_start 10000, shrink 0)");
	expect(&st, "lapic_timer_advance", "on");
	expect(&st, "kvm_pv", "PV_EOI=yes PV_SEND_IPI=yes PV_SCHED_YIELD=yes POLL_CONTROL=yes");
	expect(&st, "kvm_pv", "eax=0x1007efb");
	expect(&st, "pvm", "not pvm");
	free(r);
}

static void test_amd(void)
{
	struct hvb_irq_state st;
	char *r = host("amd", "svm tsc_deadline_timer_not_this", NULL);

	kvm_params(r, "0\n");
	put(r, "/sys/module/kvm_amd/parameters/avic", "0\n");
	put(r, "/kvm-cpuid-40000001", "0x40\n");
	hvb_irq_state_read(r, &st);
	expect(&st, "apicv", "not applicable (kvm_intel not loaded)");
	expect(&st, "avic", "off (kvm_amd avic=0)");
	expect(&st, "posted_interrupts", "not applicable (kvm_intel not loaded; AMD: see "
					 "host.irq.avic)");
	expect(&st, "x2apic", "no (/proc/cpuinfo flag x2apic)");
	expect(&st, "tsc_deadline", "no"); /* a longer flag is not the flag */
	expect(&st, "halt_poll_ns", "0 (");
	expect(&st, "kvm_pv", "PV_EOI=yes PV_SEND_IPI=no PV_SCHED_YIELD=no POLL_CONTROL=no");
	free(r);
}

static void test_pvm_and_unknown(void)
{
	struct hvb_irq_state st;
	char *r = host("pvm", "x2apic tsc_deadline_timer", NULL);

	kvm_params(r, "200000\n");
	put(r, "/sys/module/kvm_pvm/parameters/no_x2apic", "N\n");
	hvb_irq_state_read(r, &st);
	expect(&st, "pvm", "kvm_pvm: guest ring 0 instruction-emulated");
	expect(&st, "pvm", "no_x2apic=N");
	expect(&st, "apicv", "not applicable");
	expect(&st, "kvm_pv", "unknown (no ");
	free(r);

	r = host("old-intel", "vmx", NULL);
	put(r, "/sys/module/kvm_intel/parameters/enable_apicv", "N\n");
	put(r, "/sys/module/kvm/parameters/lapic_timer_advance_ns", "-1\n");
	hvb_irq_state_read(r, &st);
	expect(&st, "apicv", "off (kvm_intel enable_apicv=N)");
	expect(&st, "posted_interrupts", "unknown (no 'vmx flags' in /proc/cpuinfo");
	expect(&st, "halt_poll_ns", "unknown (/sys/module/kvm/parameters/halt_poll_ns unreadable)");
	expect(&st, "lapic_timer_advance", "-1 ns");
	free(r);

	r = xasprintf("%s/empty", base);
	put(r, "/sys/module/kvm_intel/uevent", "");
	hvb_irq_state_read(r, &st);
	TAP_EQ_INT(st.n, 9, "every key is written, readable or not");
	expect(&st, "apicv", "unknown (kvm_intel loaded, /sys/module/kvm_intel/parameters/"
			     "enable_apicv unreadable)");
	expect(&st, "x2apic", "unknown (no flags line in /proc/cpuinfo)");
	expect(&st, "halt_poll_ns", "not applicable (kvm not loaded)");
	expect(&st, "lapic_timer_advance", "not applicable (kvm not loaded)");
	free(r);
}

static void expect_nesting(const char *root, const char *want)
{
	char buf[512];

	hvb_meta_nesting_at(root, buf, sizeof(buf));
	TAP_EQ_STR(buf, want, root);
}

static void test_nesting(void)
{
	char *r = host("tcg-nested", "svm x2apic", NULL);

	put(r, "/dev/kvm", "");
	put(r, "/cpuid-hypervisor", "TCGTCGTCGTCG (0x40000000)");
	expect_nesting(r, "kvm on hardware virtualization (svm; emulated by QEMU TCG)");
	free(r);

	r = host("bare", "vmx", NULL);
	put(r, "/dev/kvm", "");
	expect_nesting(r, "kvm on hardware virtualization (vmx; bare metal)");
	free(r);

	r = host("kvm-l1", "vmxfoo", NULL);
	put(r, "/dev/kvm", "");
	put(r, "/cpuid-hypervisor", "KVMKVMKVM (0x40000000)");
	expect_nesting(r, "/dev/kvm without vmx/svm (software KVM, e.g. PVM)");
	free(r);

	r = host("dom0-tcg", "x2apic", NULL);
	put(r, "/proc/xen/capabilities", "control_d\n");
	put(r, "/cpuid-hypervisor", "TCGTCGTCGTCG (0x40000000)");
	expect_nesting(r, "xen dom0 (CPUID: QEMU TCG)");
	free(r);

	r = host("pvm-nest", "x2apic", NULL);
	put(r, "/sys/module/kvm_pvm/parameters/no_x2apic", "N\n");
	expect_nesting(r, "pvm (/dev/kvm is kvm_pvm: guest ring 0 is instruction-emulated, "
			  "no vmx/svm)");
	free(r);

	r = host("nokvm", "", NULL);
	put(r, "/cpuid-hypervisor", "Microsoft Hv (0x40000000), KVMKVMKVM (0x40000100)");
	expect_nesting(r, "no /dev/kvm (Hyper-V)");
	free(r);
}

static void test_pv_words(void)
{
	char buf[160];

	hvb_irq_kvm_pv_words(0, buf, sizeof(buf));
	TAP_EQ_STR(buf, "PV_EOI=no PV_SEND_IPI=no PV_SCHED_YIELD=no POLL_CONTROL=no PV_UNHALT=no",
		   "no PV feature");
	hvb_irq_kvm_pv_words(1u << 13 | 1u << 12, buf, sizeof(buf));
	TAP_EQ_STR(buf, "PV_EOI=no PV_SEND_IPI=no PV_SCHED_YIELD=yes POLL_CONTROL=yes PV_UNHALT=no",
		   "bits 13 and 12");
}

int main(void)
{
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 2;
	}
	test_intel();
	test_amd();
	test_pvm_and_unknown();
	test_nesting();
	test_pv_words();
	{
		char rm[80];
		snprintf(rm, sizeof(rm), "rm -rf '%s'", base);
		if (system(rm))
			printf("# could not remove %s\n", base);
	}
	return tap_done();
}
