#include "meta.h"

#include <cpuid.h>
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "perf.h"
#include "topology.h"
#include "util.h"

int hvb_cpuinfo_get(const char *key, char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char *line = NULL;
	size_t cap = 0, klen = strlen(key);
	int r = -1;

	if (!f)
		return -1;
	while (r && getline(&line, &cap, f) > 0) {
		char *colon = strchr(line, ':');
		if (strncmp(line, key, klen) || !colon || (line[klen] != ' ' && line[klen] != '\t'))
			continue;
		colon += 1 + (colon[1] == ' ');
		colon[strcspn(colon, "\n")] = '\0';
		hvb_strlcpy(buf, colon, len);
		r = 0;
	}
	free(line);
	fclose(f);
	return r;
}

/* The CPUID hypervisor signature at `leaf` into sig[13]; false if none.
 * Xen may sit at 0x40000100 + n when it also offers another interface
 * first (Viridian), so callers scan in steps of 0x100. */
static bool hv_signature(unsigned leaf, char sig[13])
{
	unsigned a, b, c, d;

	__cpuid(leaf, a, b, c, d);
	memcpy(sig, &b, 4), memcpy(sig + 4, &c, 4), memcpy(sig + 8, &d, 4);
	sig[12] = '\0';
	for (int i = 0; i < 12; i++)
		if (sig[i] && (sig[i] < 0x20 || sig[i] > 0x7e))
			return false;
	return sig[0] != '\0' && (a >= leaf || leaf == 0x40000000); /* old KVM: eax 0 */
}

void hvb_meta_hypervisor(char *buf, size_t len)
{
	unsigned a, b, c, d;
	size_t used = 0;
	char sig[13];

	__cpuid(1, a, b, c, d);
	if (!(c & (1u << 31))) {
		hvb_strlcpy(buf, "none", len);
		return;
	}
	buf[0] = '\0';
	for (unsigned leaf = 0x40000000; leaf < 0x40010000 && used + 1 < len; leaf += 0x100)
		if (hv_signature(leaf, sig))
			used += (size_t)snprintf(buf + used, len - used, "%s%s (0x%x)",
						 used ? ", " : "", sig, leaf);
	if (!buf[0])
		hvb_strlcpy(buf, "unknown (hypervisor bit set, no signature)", len);
}

/* "dom0" or "domU" when this kernel runs on Xen (PV or PVH), else NULL. */
static const char *xen_domain_kind(void)
{
	char caps[256];

	if (access("/proc/xen", F_OK) != 0 && access("/sys/hypervisor/type", F_OK) != 0)
		return NULL;
	if (hvb_read_file("/sys/hypervisor/type", caps, sizeof(caps)) == 0 && strcmp(caps, "xen"))
		return NULL;
	if (hvb_read_file("/proc/xen/capabilities", caps, sizeof(caps)) == 0)
		return strstr(caps, "control_d") ? "dom0" : "domU";
	return access("/dev/xen/privcmd", F_OK) == 0 ? "dom0" : "domU";
}

void hvb_meta_nesting(char *buf, size_t len)
{
	char flags[4096] = "", hv[256];
	const char *xen = xen_domain_kind();
	bool vmx, svm;

	hvb_cpuinfo_get("flags", flags, sizeof(flags));
	vmx = strstr(flags, " vmx") != NULL;
	svm = strstr(flags, " svm") != NULL;
	hvb_meta_hypervisor(hv, sizeof(hv));
	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		snprintf(buf, len, "pvm (/dev/kvm is kvm_pvm: guest ring 0 is "
				   "instruction-emulated, no vmx/svm)");
	else if (xen)
		snprintf(buf, len, "xen %s (CPUID: %s)", xen, hv);
	else if (access("/dev/kvm", F_OK) != 0)
		snprintf(buf, len, "no /dev/kvm (hypervisor: %s)", hv);
	else if (vmx || svm)
		snprintf(buf, len, "kvm on hardware virtualization (%s; hypervisor: %s)",
			 vmx ? "vmx" : "svm", hv);
	else
		snprintf(buf, len, "/dev/kvm without vmx/svm (software KVM, e.g. PVM)");
}

static void meta_file(struct hvb_sink *s, const char *key, const char *path, const char *def)
{
	char buf[512];
	hvb_sink_meta(s, key, hvb_read_file(path, buf, sizeof(buf)) == 0 ? buf : def);
}

static void meta_mitigations(struct hvb_sink *s)
{
	const char *dir = "/sys/devices/system/cpu/vulnerabilities";
	DIR *d = opendir(dir);
	struct dirent *e;
	char *acc = xstrdup("");

	while (d && (e = readdir(d))) {
		char path[512], val[256], *n;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (hvb_read_file(path, val, sizeof(val)))
			continue;
		n = xasprintf("%s%s%s=%s", acc, *acc ? ";" : "", e->d_name, val);
		free(acc);
		acc = n;
	}
	if (d)
		closedir(d);
	hvb_sink_meta(s, "mitigations", *acc ? acc : "unavailable");
	free(acc);
}

static void meta_cpu(struct hvb_sink *s)
{
	char buf[8192];

	hvb_sink_meta(s, "cpu_model", hvb_cpuinfo_get("model name", buf, sizeof(buf)) ? "unknown"
										       : buf);
	hvb_sink_meta(s, "cpu_flags", hvb_cpuinfo_get("flags", buf, sizeof(buf)) ? "" : buf);
	hvb_sink_metaf(s, "cpu_count", "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	hvb_sink_metaf(s, "mem_total_kib", "%llu",
		       (unsigned long long)sysconf(_SC_PHYS_PAGES) *
			       (unsigned long long)sysconf(_SC_PAGESIZE) / 1024);
	hvb_meta_hypervisor(buf, sizeof(buf));
	hvb_sink_meta(s, "hypervisor", buf);
	hvb_meta_nesting(buf, sizeof(buf));
	hvb_sink_meta(s, "nesting", buf);
	hvb_topo_summary(buf, sizeof(buf));
	hvb_sink_meta(s, "topology", buf);
	hvb_perf_pmu_summary(buf, sizeof(buf));
	hvb_sink_meta(s, "pmu", buf);
}

static void meta_host_context(struct hvb_sink *s);

void hvb_meta_host(struct hvb_sink *s)
{
	struct utsname u;
	char host[256];

	if (uname(&u) == 0) {
		hvb_sink_meta(s, "host_name", u.nodename);
		hvb_sink_metaf(s, "kernel", "%s %s", u.release, u.version);
		hvb_sink_meta(s, "arch", u.machine);
	}
	if (gethostname(host, sizeof(host)) == 0)
		hvb_sink_meta(s, "host_name", host);
	meta_cpu(s);
	meta_host_context(s);
	meta_mitigations(s);
	meta_file(s, "thp", "/sys/kernel/mm/transparent_hugepage/enabled", "unavailable");
	meta_file(s, "hugepages_total", "/proc/sys/vm/nr_hugepages", "unavailable");
	meta_file(s, "governor", "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor",
		  "unavailable (no cpufreq)");
	hvb_sink_meta(s, "hvbench_version", hvb_version);
	hvb_sink_meta(s, "hvbench_commit", hvb_commit);
	hvb_sink_meta(s, "compiler", "gcc " __VERSION__);
	hvb_sink_meta(s, "workload_cflags", HVB_WORKLOAD_CGFLAGS);
}

/*
 * Host kind and identity.  Everything is read through host_path(), under a
 * root directory that is "" on a real host and a fake tree in the tests
 * (HVB_HOST_ROOT), so dom0, domU, nested and bare metal are testable on
 * any machine.  CPUID cannot be faked by files: under a fake root it comes
 * from the file ROOT/cpuid-hypervisor (the signature, empty: no bit).
 */
static void host_path(const char *root, const char *path, char *out, size_t len)
{
	snprintf(out, len, "%s%s", root, path);
}

static bool host_read(const char *root, const char *path, char *buf, size_t len)
{
	char p[PATH_MAX];

	host_path(root, path, p, sizeof(p));
	return hvb_read_file(p, buf, len) == 0;
}

static bool host_exists(const char *root, const char *path)
{
	char p[PATH_MAX];

	host_path(root, path, p, sizeof(p));
	return access(p, F_OK) == 0;
}

/* The CPUID hypervisor signature ("" if the hypervisor bit is clear). */
static void host_cpuid_signature(const char *root, char *sig, size_t len)
{
	char buf[256];

	if (*root) {
		if (!host_read(root, "/cpuid-hypervisor", sig, len))
			sig[0] = '\0';
		return;
	}
	hvb_meta_hypervisor(buf, sizeof(buf));
	hvb_strlcpy(sig, strcmp(buf, "none") ? buf : "", len);
}

/* Does the DMI product or vendor name a virtual machine?  The name, or NULL. */
static const char *dmi_vm_name(const char *vendor, const char *product)
{
	static const char *const vm[] = { "QEMU",	"KVM",	  "VMware", "VirtualBox",
					  "Virtual Machine", "Xen", "Bochs", "innotek",
					  "Parallels",	 "Amazon EC2", "Google Compute Engine" };

	for (size_t i = 0; i < ARRAY_SIZE(vm); i++)
		if (strstr(vendor, vm[i]) || strstr(product, vm[i]))
			return vm[i];
	return NULL;
}

static const char *classify_host(const char *root, const char *sig, const char *dmi_vm,
				 bool *xen)
{
	char buf[256] = "";

	*xen = false;
	if (host_read(root, "/proc/xen/capabilities", buf, sizeof(buf)) ||
	    host_exists(root, "/proc/xen")) {
		*xen = true;
		return strstr(buf, "control_d") ? "xen-dom0" : "xen-domU";
	}
	if (host_read(root, "/sys/hypervisor/type", buf, sizeof(buf)) && !strcmp(buf, "xen")) {
		*xen = true;
		return "xen-domU";
	}
	if (!*sig && !dmi_vm)
		return "bare-metal";
	if (host_exists(root, "/sys/module/kvm_pvm") || host_exists(root, "/dev/kvm"))
		return "nested";
	if (strstr(sig, "KVMKVMKVM"))
		return "kvm-guest";
	return "vm";
}

void hvb_meta_host_kind(const char *root, char *kind, size_t klen, char *evidence, size_t elen)
{
	char sig[256], caps[256] = "", type[64] = "", vendor[128] = "", product[128] = "";
	const char *dmi_vm, *k;
	bool xen;

	host_cpuid_signature(root, sig, sizeof(sig));
	host_read(root, "/sys/class/dmi/id/sys_vendor", vendor, sizeof(vendor));
	host_read(root, "/sys/class/dmi/id/product_name", product, sizeof(product));
	dmi_vm = dmi_vm_name(vendor, product);
	k = classify_host(root, sig, dmi_vm, &xen);
	hvb_strlcpy(kind, k, klen);
	if (!host_read(root, "/proc/xen/capabilities", caps, sizeof(caps)))
		hvb_strlcpy(caps, host_exists(root, "/proc/xen") ? "(unreadable)" : "absent",
			    sizeof(caps));
	if (!host_read(root, "/sys/hypervisor/type", type, sizeof(type)))
		hvb_strlcpy(type, "absent", sizeof(type));
	snprintf(evidence, elen,
		 "cpuid hypervisor: %s; /sys/hypervisor/type: %s; /proc/xen/capabilities: %s; "
		 "dmi: %s / %s%s; kvm_pvm: %s; /dev/kvm: %s",
		 *sig ? sig : "none", type, *caps ? caps : "(empty)", *vendor ? vendor : "?",
		 *product ? product : "?", dmi_vm ? " (a VM)" : "",
		 host_exists(root, "/sys/module/kvm_pvm") ? "loaded" : "no",
		 host_exists(root, "/dev/kvm") ? "present" : "absent");
}

/* Value of "key : value" in ROOT/proc/cpuinfo's first processor. */
static bool host_cpuinfo(const char *root, const char *key, char *buf, size_t len)
{
	char p[PATH_MAX], *line = NULL;
	size_t cap = 0, klen = strlen(key);
	bool found = false;
	FILE *f;

	host_path(root, "/proc/cpuinfo", p, sizeof(p));
	f = fopen(p, "r");
	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		char *colon = strchr(line, ':'), *v;
		/* "model" must not match "model name": only blanks up to the colon */
		if (strncmp(line, key, klen) || !colon ||
		    strspn(line + klen, " \t") != (size_t)(colon - line) - klen)
			continue;
		v = colon + 1 + (colon[1] == ' ');
		v[strcspn(v, "\n")] = '\0';
		hvb_strlcpy(buf, v, len);
		found = true;
	}
	free(line);
	fclose(f);
	return found;
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return (h ^ 0xff) * 0x100000001b3ull; /* field separator: "ab","c" != "a","bc" */
}

void hvb_meta_host_identity(const char *root, char *hash, size_t hlen, char *fields,
			    size_t flen)
{
	static const struct {
		const char *name, *cpuinfo, *file;
	} id[] = {
		{ "cpu_model", "model name", NULL },
		{ "cpu_family", "cpu family", NULL },
		{ "cpu_model_number", "model", NULL },
		{ "cpu_stepping", "stepping", NULL },
		{ "microcode", "microcode", NULL },
		{ "dmi_product", NULL, "/sys/class/dmi/id/product_name" },
		{ "dmi_product_serial", NULL, "/sys/class/dmi/id/product_serial" },
		{ "dmi_board_serial", NULL, "/sys/class/dmi/id/board_serial" },
	};
	uint64_t h = 0xcbf29ce484222325ull;
	size_t used = 0;
	char v[256];

	fields[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(id); i++) {
		bool got = id[i].cpuinfo ? host_cpuinfo(root, id[i].cpuinfo, v, sizeof(v))
					 : host_read(root, id[i].file, v, sizeof(v));
		if (!got || !*v)
			continue; /* serials: root only; microcode: not in every VM */
		h = fnv1a(fnv1a(h, id[i].name), v);
		if (used + 1 < flen)
			used += (size_t)snprintf(fields + used, flen - used, "%s%s",
						 used ? " " : "", id[i].name);
	}
	snprintf(hash, hlen, "%016llx", (unsigned long long)h);
}

/* HVB_HOST_ROOT: a fake /proc + /sys tree for the tests; unset on real hosts. */
static const char *host_root(void)
{
	const char *r = getenv("HVB_HOST_ROOT");

	return r ? r : "";
}

static void meta_host_context(struct hvb_sink *s)
{
	const char *root = host_root();
	char kind[32], evidence[1024], hash[32], fields[256], v[256];

	hvb_meta_host_kind(root, kind, sizeof(kind), evidence, sizeof(evidence));
	hvb_sink_meta(s, "host_kind", kind);
	hvb_sink_meta(s, "host_kind_evidence", evidence);
	hvb_sink_meta(s, "cpu_family", host_cpuinfo(root, "cpu family", v, sizeof(v)) ? v : "unknown");
	hvb_sink_meta(s, "cpu_model_number", host_cpuinfo(root, "model", v, sizeof(v)) ? v : "unknown");
	hvb_sink_meta(s, "cpu_stepping", host_cpuinfo(root, "stepping", v, sizeof(v)) ? v : "unknown");
	hvb_sink_meta(s, "microcode", host_cpuinfo(root, "microcode", v, sizeof(v)) ? v : "unknown");
	hvb_meta_host_identity(root, hash, sizeof(hash), fields, sizeof(fields));
	hvb_sink_meta(s, "host_identity", hash);
	hvb_sink_meta(s, "host_identity_fields", fields);
}
