#include "irq_state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The contents of ROOT/path, first line, no newline; false if unreadable. */
static bool read_line(const char *root, const char *path, char *buf, size_t len)
{
	char p[PATH_MAX];
	FILE *f;
	bool ok;

	snprintf(p, sizeof(p), "%s%s", root, path);
	f = fopen(p, "r");
	if (!f)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

static bool exists(const char *root, const char *path)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s%s", root, path);
	return access(p, F_OK) == 0;
}

/* The value of /proc/cpuinfo's first "key : value" line (e.g. "flags",
 * "vmx flags"), space-padded at both ends so " word " matches whole words. */
static bool cpuinfo_words(const char *root, const char *key, char *buf, size_t len)
{
	char p[PATH_MAX], *line = NULL;
	size_t cap = 0, klen = strlen(key);
	bool found = false;
	FILE *f;

	snprintf(p, sizeof(p), "%s/proc/cpuinfo", root);
	f = fopen(p, "r");
	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		char *colon = strchr(line, ':');

		if (strncmp(line, key, klen) || !colon ||
		    strspn(line + klen, " \t") != (size_t)(colon - line) - klen)
			continue;
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(buf, len, " %s ", colon + 1);
		found = true;
	}
	free(line);
	fclose(f);
	return found;
}

static bool has_word(const char *words, const char *w)
{
	char pat[64];

	snprintf(pat, sizeof(pat), " %s ", w);
	return strstr(words, pat) != NULL;
}

static bool param_on(const char *v)
{
	return !strcmp(v, "Y") || !strcmp(v, "y") || !strcmp(v, "1");
}

static char *add(struct hvb_irq_state *st, const char *key)
{
	st->item[st->n].key = key;
	return st->item[st->n++].value;
}

#define SET(st, key, ...) snprintf(add(st, key), sizeof(st->item[0].value), __VA_ARGS__)

/* A boolean module parameter of a vendor module: on/off/not applicable/unknown. */
static void module_switch(struct hvb_irq_state *st, const char *root, const char *key,
			  const char *module, const char *param)
{
	char path[128], mod[96], v[64];

	snprintf(mod, sizeof(mod), "/sys/module/%s", module);
	snprintf(path, sizeof(path), "%s/parameters/%s", mod, param);
	if (!exists(root, mod))
		SET(st, key, "not applicable (%s not loaded)", module);
	else if (!read_line(root, path, v, sizeof(v)))
		SET(st, key, "unknown (%s loaded, %s unreadable)", module, path);
	else
		SET(st, key, "%s (%s %s=%s)", param_on(v) ? "on" : "off", module, param, v);
}

/*
 * Posted interrupts: VMX's posted-interrupt processing, which KVM uses only
 * with APICv (and IPI virtualization, enable_ipiv, on top of it).  The CPU
 * side is the "vmx flags" line (Linux >= 5.8); AMD's equivalent is AVIC.
 */
static void posted_interrupts(struct hvb_irq_state *st, const char *root)
{
	char vmx[2048], apicv[16] = "?", ipiv[16] = "", ipiv_note[48] = "";

	if (!exists(root, "/sys/module/kvm_intel")) {
		SET(st, "posted_interrupts", "not applicable (kvm_intel not loaded%s)",
		    exists(root, "/sys/module/kvm_amd") ? "; AMD: see host.irq.avic" : "");
		return;
	}
	read_line(root, "/sys/module/kvm_intel/parameters/enable_apicv", apicv, sizeof(apicv));
	if (read_line(root, "/sys/module/kvm_intel/parameters/enable_ipiv", ipiv, sizeof(ipiv)))
		snprintf(ipiv_note, sizeof(ipiv_note), ", enable_ipiv=%s", ipiv);
	if (!cpuinfo_words(root, "vmx flags", vmx, sizeof(vmx)))
		SET(st, "posted_interrupts",
		    "unknown (no 'vmx flags' in /proc/cpuinfo: Linux < 5.8; kvm_intel "
		    "enable_apicv=%s%s)", apicv, ipiv_note);
	else if (!has_word(vmx, "posted_intr"))
		SET(st, "posted_interrupts", "no (the CPU's vmx flags lack posted_intr)");
	else
		SET(st, "posted_interrupts", "%s (vmx flags posted_intr; kvm_intel enable_apicv=%s%s)",
		    param_on(apicv) ? "on" : "off", apicv, ipiv_note);
}

static void cpu_flag(struct hvb_irq_state *st, const char *root, const char *key,
		     const char *flag)
{
	char flags[8192];

	if (!cpuinfo_words(root, "flags", flags, sizeof(flags)))
		SET(st, key, "unknown (no flags line in /proc/cpuinfo)");
	else
		SET(st, key, "%s (/proc/cpuinfo flag %s)", has_word(flags, flag) ? "yes" : "no",
		    flag);
}

static void halt_poll(struct hvb_irq_state *st, const char *root)
{
	const char *dir = "/sys/module/kvm/parameters/";
	char v[4][32], path[128];
	static const char *const name[] = { "halt_poll_ns", "halt_poll_ns_grow",
					    "halt_poll_ns_grow_start", "halt_poll_ns_shrink" };

	if (!exists(root, "/sys/module/kvm")) {
		SET(st, "halt_poll_ns", "not applicable (kvm not loaded)");
		return;
	}
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s%s", dir, name[i]);
		if (!read_line(root, path, v[i], sizeof(v[i])))
			strcpy(v[i], "?");
	}
	if (!strcmp(v[0], "?"))
		SET(st, "halt_poll_ns", "unknown (%shalt_poll_ns unreadable)", dir);
	else
		SET(st, "halt_poll_ns", "%s (grow %s, grow_start %s, shrink %s)", v[0], v[1], v[2],
		    v[3]);
}

static void timer_advance(struct hvb_irq_state *st, const char *root)
{
	char v[32];

	if (read_line(root, "/sys/module/kvm/parameters/lapic_timer_advance", v, sizeof(v)))
		SET(st, "lapic_timer_advance", "%s (kvm lapic_timer_advance=%s)",
		    param_on(v) ? "on" : "off", v);
	else if (read_line(root, "/sys/module/kvm/parameters/lapic_timer_advance_ns", v,
			   sizeof(v)))
		SET(st, "lapic_timer_advance", "%s ns (kvm lapic_timer_advance_ns; -1 adaptive)", v);
	else
		SET(st, "lapic_timer_advance", exists(root, "/sys/module/kvm")
			    ? "unknown (no kvm lapic_timer_advance parameter)"
			    : "not applicable (kvm not loaded)");
}

void hvb_irq_kvm_pv_words(unsigned eax, char *buf, size_t len)
{
	static const struct {
		int bit;
		const char *name;
	} f[] = {
		{ KVM_FEATURE_PV_EOI, "PV_EOI" },
		{ KVM_FEATURE_PV_SEND_IPI, "PV_SEND_IPI" },
		{ KVM_FEATURE_PV_SCHED_YIELD, "PV_SCHED_YIELD" },
		{ KVM_FEATURE_POLL_CONTROL, "POLL_CONTROL" },
		{ KVM_FEATURE_PV_UNHALT, "PV_UNHALT" },
	};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]) && used + 1 < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s=%s", used ? " " : "",
					 f[i].name, eax & (1u << f[i].bit) ? "yes" : "no");
}

/* KVM_GET_SUPPORTED_CPUID leaf 0x40000001 eax: 0, or -errno with why. */
static int kvm_pv_eax(unsigned *eax, char *why, size_t len)
{
	struct kvm_cpuid2 *c = NULL;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), r = -ENOENT;

	if (fd < 0) {
		snprintf(why, len, "cannot open /dev/kvm: %s", strerror(errno));
		return -errno;
	}
	for (unsigned n = 64; n <= 4096; n *= 2) {
		free(c);
		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			break;
		c->nent = n;
		r = ioctl(fd, KVM_GET_SUPPORTED_CPUID, c) ? -errno : 0;
		if (r != -E2BIG)
			break;
	}
	close(fd);
	if (r)
		snprintf(why, len, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-r));
	for (unsigned i = 0; !r && i < c->nent; i++)
		if (c->entries[i].function == KVM_CPUID_FEATURES) {
			*eax = c->entries[i].eax;
			free(c);
			return 0;
		}
	if (!r)
		snprintf(why, len, "KVM_GET_SUPPORTED_CPUID has no leaf 0x40000001");
	free(c);
	return r ? r : -ENOENT;
}

static void kvm_pv(struct hvb_irq_state *st, const char *root)
{
	char why[160] = "", v[32], words[160];
	unsigned eax = 0;
	bool got;

	if (*root) {
		got = read_line(root, "/kvm-cpuid-40000001", v, sizeof(v)) &&
		      sscanf(v, "%x", &eax) == 1;
		if (!got)
			snprintf(why, sizeof(why), "no %s/kvm-cpuid-40000001", root);
	} else {
		got = kvm_pv_eax(&eax, why, sizeof(why)) == 0;
	}
	if (!got) {
		SET(st, "kvm_pv", "unknown (%s)", why);
		return;
	}
	hvb_irq_kvm_pv_words(eax, words, sizeof(words));
	SET(st, "kvm_pv", "%s (offered to guests: KVM_GET_SUPPORTED_CPUID 0x40000001 eax=0x%x; "
		"the hvbench guest enables none of them)", words, eax);
}

/*
 * PVM (kvm_pvm) has no VMX/SVM underneath: no APICv, AVIC or posted
 * interrupts, so a guest's LAPIC is KVM's software LAPIC in the host
 * kernel (with an irqchip) and the guest's ring 0, where it programs the
 * LAPIC, is instruction-emulated (DESIGN.md).
 */
static void pvm(struct hvb_irq_state *st, const char *root)
{
	char x2[16];

	if (!exists(root, "/sys/module/kvm_pvm")) {
		SET(st, "pvm", "not pvm (kvm_pvm not loaded)");
		return;
	}
	if (!read_line(root, "/sys/module/kvm_pvm/parameters/no_x2apic", x2, sizeof(x2)))
		strcpy(x2, "?");
	SET(st, "pvm", "kvm_pvm: guest ring 0 instruction-emulated; no VMX/SVM, so no "
		"APICv/AVIC/posted interrupts: the LAPIC (with an irqchip) is KVM's software "
		"LAPIC in the host kernel, every guest access to it traps; kvm_pvm no_x2apic=%s",
	    x2);
}

void hvb_irq_state_read(const char *root, struct hvb_irq_state *st)
{
	st->n = 0;
	module_switch(st, root, "apicv", "kvm_intel", "enable_apicv");
	module_switch(st, root, "avic", "kvm_amd", "avic");
	posted_interrupts(st, root);
	cpu_flag(st, root, "x2apic", "x2apic");
	cpu_flag(st, root, "tsc_deadline", "tsc_deadline_timer");
	halt_poll(st, root);
	timer_advance(st, root);
	kvm_pv(st, root);
	pvm(st, root);
}
