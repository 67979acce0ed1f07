#include "meta.h"

#include <cpuid.h>
#include <dirent.h>
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
