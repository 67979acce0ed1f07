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

#include "hvb/abi.h"
#include "irq_state.h"
#include "perf.h"
#include "topology.h"
#include "util.h"
#include "vmcost.h"

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

/* (meta.h) */
const char *hvb_host_root(void)
{
	const char *r = getenv("HVB_HOST_ROOT");

	return r ? r : "";
}

/* The CPUID signature in words, for the nesting text: the raw list is the
 * `hypervisor` key, so nesting names the vendor once instead of repeating
 * it ("TCGTCGTCGTCG (0x40000000)" twice read as a stutter). */
static const char *hv_vendor_name(const char *sig)
{
	static const struct {
		const char *sig, *name;
	} v[] = {
		{ "TCGTCGTCGTCG", "QEMU TCG" }, { "KVMKVMKVM", "KVM" },
		{ "XenVMMXenVMM", "Xen" },	  { "Microsoft Hv", "Hyper-V" },
		{ "VMwareVMware", "VMware" },	  { "VBoxVBoxVBox", "VirtualBox" },
		{ "bhyve bhyve", "bhyve" },	  { "ACRNACRNACRN", "ACRN" },
	};

	if (!*sig)
		return "no hypervisor";
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		if (!strncmp(sig, v[i].sig, strlen(v[i].sig)))
			return v[i].name;
	return "another hypervisor";
}

static void host_cpuid_signature(const char *root, char *sig, size_t len);
static bool host_read(const char *root, const char *path, char *buf, size_t len);
static bool host_exists(const char *root, const char *path);
static bool host_cpuinfo(const char *root, const char *key, char *buf, size_t len);

/* "dom0" or "domU" when this kernel runs on Xen (PV or PVH), else NULL. */
static const char *xen_domain_kind(const char *root)
{
	char caps[256];

	if (!host_exists(root, "/proc/xen") && !host_exists(root, "/sys/hypervisor/type"))
		return NULL;
	if (host_read(root, "/sys/hypervisor/type", caps, sizeof(caps)) && strcmp(caps, "xen"))
		return NULL;
	if (host_read(root, "/proc/xen/capabilities", caps, sizeof(caps)))
		return strstr(caps, "control_d") ? "dom0" : "domU";
	return host_exists(root, "/dev/xen/privcmd") ? "dom0" : "domU";
}

/* Is word a whole word of the space-separated flags? */
static bool has_flag(const char *flags, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = strstr(flags, word); p; p = strstr(p + 1, word))
		if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

void hvb_meta_nesting_at(const char *root, char *buf, size_t len)
{
	char flags[8192] = "", sig[256];
	const char *xen = xen_domain_kind(root), *hv;
	bool vmx, svm;

	host_cpuinfo(root, "flags", flags, sizeof(flags));
	vmx = has_flag(flags, "vmx");
	svm = has_flag(flags, "svm");
	host_cpuid_signature(root, sig, sizeof(sig));
	hv = hv_vendor_name(sig);
	if (host_exists(root, "/sys/module/kvm_pvm"))
		snprintf(buf, len, "pvm (/dev/kvm is kvm_pvm: guest ring 0 is "
				   "instruction-emulated, no vmx/svm)");
	else if (xen)
		snprintf(buf, len, "xen %s (CPUID: %s)", xen, hv);
	else if (!host_exists(root, "/dev/kvm"))
		snprintf(buf, len, "no /dev/kvm (%s)", hv);
	else if (vmx || svm)
		snprintf(buf, len, "kvm on hardware virtualization (%s; %s)", vmx ? "vmx" : "svm",
			 *sig ? (strcmp(hv, "QEMU TCG") ? hv : "emulated by QEMU TCG")
			      : "bare metal");
	else
		snprintf(buf, len, "/dev/kvm without vmx/svm (software KVM, e.g. PVM)");
}

/* The real host's, whatever HVB_HOST_ROOT says: runners decide by it
 * (hvb_host_is_pvm), and a fake tree must not change what they run. */
void hvb_meta_nesting(char *buf, size_t len)
{
	hvb_meta_nesting_at("", buf, len);
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


/* host.irq.*: what decides interrupt costs here (probes/irq_state.c). */
static void meta_irq_state(struct hvb_sink *s, const char *root)
{
	struct hvb_irq_state st;
	char key[64];

	hvb_irq_state_read(root, &st);
	for (int i = 0; i < st.n; i++) {
		snprintf(key, sizeof(key), "host.irq.%s", st.item[i].key);
		hvb_sink_meta(s, key, st.item[i].value);
	}
}

/* host.ksm.*, host.thp.*, host.overcommit_memory, host.swap.*: the memory
 * policy that decides per-VM memory and memory-bound figures
 * (probes/vmcost.c). */
static void meta_mem_state(struct hvb_sink *s, const char *root)
{
	struct hvb_mem_state st;
	char key[64];

	hvb_mem_state_read(root, &st);
	for (int i = 0; i < st.n; i++) {
		snprintf(key, sizeof(key), "host.%s", st.item[i].key);
		hvb_sink_meta(s, key, st.item[i].value);
	}
}

static void meta_host_context(struct hvb_sink *s)
{
	const char *root = hvb_host_root();
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
	meta_irq_state(s, root);
	meta_mem_state(s, root);
}

void hvb_meta_placement(struct hvb_sink *sink, unsigned vcpus, const int *cpus,
			unsigned host_cpus, bool overcommit)
{
	char list[HVB_MAX_VCPUS * 12] = "";
	size_t at = 0;

	for (unsigned i = 0; i < vcpus && i < HVB_MAX_VCPUS && at < sizeof(list); i++)
		at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%d", i ? "," : "", cpus[i]);
	hvb_sink_metaf(sink, "vcpus", "%u", vcpus);
	hvb_sink_meta(sink, "cpus", list);
	if (overcommit)
		hvb_sink_metaf(sink, "overcommit", "yes: %u vCPUs on %u host CPU(s)", vcpus,
			       host_cpus);
	else
		hvb_sink_meta(sink, "overcommit", "no");
}
