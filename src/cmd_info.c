/*
 * hvbench info: what this host offers for benchmarking, in sections (CPU,
 * KVM, interrupts, PMU, Xen, QEMU, topology, memory, mitigations, runners), as text or
 * as CSV (section,key,value) for scripts.  Every probe says what it found
 * or why it could not look; nothing here changes the host.
 */
#include <cpuid.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/kvm.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "host.h"
#include "irq_state.h"
#include "json_out.h"
#include "kvm_stats.h"
#include "meta.h"
#include "opt.h"
#include "perf.h"
#include "csvfile.h"
#include "runner.h"
#include "topology.h"
#include "tsc.h"
#include "util.h"

/* ------------------------------------------------------------ output */

enum info_format { INFO_TEXT, INFO_CSV, INFO_JSON };

static enum info_format out_fmt;
static const char *cur_section;
/* --format json (hvbench-info/1): sections stream into one document */
static struct hvb_json json;

static void section(const char *name)
{
	if (out_fmt == INFO_JSON) {
		if (cur_section) {
			hvb_json_arr_end(&json); /* the previous section's entries */
			hvb_json_obj_end(&json);
		}
		hvb_json_obj_begin(&json);
		hvb_json_kv_str(&json, "name", name);
		hvb_json_key(&json, "entries");
		hvb_json_arr_begin(&json);
	}
	cur_section = name;
	if (out_fmt == INFO_TEXT)
		printf("\n%s\n", name);
}

static void put(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(const char *key, const char *fmt, ...)
{
	char val[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (out_fmt == INFO_JSON) {
		hvb_json_obj_begin(&json);
		hvb_json_kv_str(&json, "key", key);
		hvb_json_kv_str(&json, "value", val);
		hvb_json_obj_end(&json);
	} else if (out_fmt == INFO_CSV) {
		const char *row[3] = { cur_section, key, val };
		hvb_csv_write_row(stdout, row, 3);
	} else {
		printf("  %-26s %s\n", key, val);
	}
}

/* ------------------------------------------------------------ CPU */

static bool has_flag(const char *flags, const char *flag)
{
	size_t n = strlen(flag);

	for (const char *p = flags; (p = strstr(p, flag)); p += n)
		if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

/* "present: a b; absent: c d" for a list of flags. */
static void flag_line(const char *key, const char *flags, const char *const *names, size_t n)
{
	char yes[256] = "", no[256] = "";

	for (size_t i = 0; i < n; i++) {
		char *dst = has_flag(flags, names[i]) ? yes : no;
		size_t used = strlen(dst);

		snprintf(dst + used, 256 - used, "%s%s", used ? " " : "", names[i]);
	}
	put(key, "%s%s%s%s", yes[0] ? yes : "none", no[0] ? " (absent: " : "", no,
	    no[0] ? ")" : "");
}

static void info_cpu(void)
{
	static const char *const virt[] = { "vmx", "svm", "ept", "npt", "vpid", "hypervisor" };
	static const char *const vec[] = { "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512vl" };
	static const char *const tsc[] = { "tsc", "rdtscp", "constant_tsc", "nonstop_tsc",
					   "tsc_deadline_timer", "tsc_known_freq" };
	char flags[8192] = "", buf[512], vflags[2048] = "";
	unsigned a, b, c, d;
	uint64_t khz;

	section("CPU");
	put("model", "%s", hvb_cpuinfo_get("model name", buf, sizeof(buf)) ? "unknown" : buf);
	put("logical CPUs", "%ld online", sysconf(_SC_NPROCESSORS_ONLN));
	hvb_cpuinfo_get("flags", flags, sizeof(flags));
	/* Newer kernels list ept/vpid etc. on a separate "vmx flags" line. */
	if (!hvb_cpuinfo_get("vmx flags", vflags, sizeof(vflags))) {
		size_t n = strlen(flags);
		snprintf(flags + n, sizeof(flags) - n, " %s", vflags);
	}
	flag_line("virtualization flags", flags, virt, ARRAY_SIZE(virt));
	flag_line("vector flags", flags, vec, ARRAY_SIZE(vec));
	flag_line("TSC flags", flags, tsc, ARRAY_SIZE(tsc));
	if (__get_cpuid(0x80000007, &a, &b, &c, &d))
		put("invariant TSC (CPUID)", "%s", d & (1u << 8) ? "yes" : "no");
	else
		put("invariant TSC (CPUID)", "unknown (leaf 0x80000007 not available)");
	khz = hvb_tsc_khz_measure(50);
	if (khz)
		put("TSC frequency", "%.3f MHz (measured against CLOCK_MONOTONIC_RAW)", khz / 1e3);
	else
		put("TSC frequency", "unusable (not monotonic while measuring)");
	hvb_meta_hypervisor(buf, sizeof(buf));
	put("running on hypervisor", "%s", buf);
}

/* ------------------------------------------------------------ KVM */

struct kvm_cap_name {
	int cap;
	const char *name;
	bool count; /* the value is a number, not a yes/no */
};

static const struct kvm_cap_name kvm_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", false },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", false },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", false },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD", false },
	{ KVM_CAP_BINARY_STATS_FD, "KVM_CAP_BINARY_STATS_FD", false },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", false },
	{ KVM_CAP_X86_USER_SPACE_MSR, "KVM_CAP_X86_USER_SPACE_MSR", false },
	{ KVM_CAP_X86_DISABLE_EXITS, "KVM_CAP_X86_DISABLE_EXITS", false },
	{ KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM", false },
	{ KVM_CAP_COALESCED_MMIO, "KVM_CAP_COALESCED_MMIO", false },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", false },
	{ KVM_CAP_GET_TSC_KHZ, "KVM_CAP_GET_TSC_KHZ", false },
	{ KVM_CAP_TSC_CONTROL, "KVM_CAP_TSC_CONTROL", false },
	{ KVM_CAP_XSAVE, "KVM_CAP_XSAVE", false },
	{ KVM_CAP_NESTED_STATE, "KVM_CAP_NESTED_STATE", false },
	{ KVM_CAP_NR_VCPUS, "KVM_CAP_NR_VCPUS", true },
	{ KVM_CAP_MAX_VCPUS, "KVM_CAP_MAX_VCPUS", true },
	{ KVM_CAP_NR_MEMSLOTS, "KVM_CAP_NR_MEMSLOTS", true },
};

static void dev_owner(const struct stat *st, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(st->st_uid);
	struct group *gr = getgrgid(st->st_gid);

	snprintf(buf, len, "mode %04o, %s:%s", st->st_mode & 07777, pw ? pw->pw_name : "?",
		 gr ? gr->gr_name : "?");
}

/* Create a VM and a vCPU only to count their binary statistics. */
static void kvm_stats_line(int kvm)
{
	struct kvm_stats *vm_st = NULL, *vcpu_st = NULL;
	int vm, vcpu = -1, r1, r2 = -ENODEV;

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		put("KVM_CREATE_VM", "fails: %s", strerror(errno));
		return;
	}
	put("KVM_CREATE_VM", "works");
	r1 = kvm_stats_open(vm, &vm_st);
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu >= 0)
		r2 = kvm_stats_open(vcpu, &vcpu_st);
	if (r1 || r2)
		put("binary statistics", "unavailable: %s", kvm_stats_strerror(r1 ? r1 : r2));
	else
		put("binary statistics", "%u per VM, %u per vCPU (exits, io_exits, ...)",
		    kvm_stats_count(vm_st), kvm_stats_count(vcpu_st));
	kvm_stats_close(vcpu_st);
	kvm_stats_close(vm_st);
	if (vcpu >= 0)
		close(vcpu);
	close(vm);
}

static void info_kvm(void)
{
	struct stat st;
	char buf[256];
	int kvm, v;

	section("KVM");
	if (stat("/dev/kvm", &st)) {
		put("/dev/kvm", "absent (%s): load kvm_intel/kvm_amd (or kvm_pvm), or run on a "
				"host with virtualization enabled",
		    strerror(errno));
		return;
	}
	dev_owner(&st, buf, sizeof(buf));
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		put("/dev/kvm", "present (%s), not usable: %s%s", buf, strerror(errno),
		    errno == EACCES ? " (add this user to the device's group)" : "");
		return;
	}
	put("/dev/kvm", "present (%s), read-write for this user", buf);
	v = ioctl(kvm, KVM_GET_API_VERSION, 0);
	put("API version", "%d%s", v, v == KVM_API_VERSION ? "" : " (unexpected: hvbench needs 12)");
	hvb_meta_nesting(buf, sizeof(buf));
	put("nesting", "%s", buf);
	for (size_t i = 0; i < ARRAY_SIZE(kvm_caps); i++) {
		int r = ioctl(kvm, KVM_CHECK_EXTENSION, kvm_caps[i].cap);

		if (r < 0)
			put(kvm_caps[i].name, "error: %s", strerror(errno));
		else if (kvm_caps[i].count)
			put(kvm_caps[i].name, "%d", r);
		else if (r <= 1)
			put(kvm_caps[i].name, "%s", r ? "yes" : "no");
		else
			put(kvm_caps[i].name, "yes (%d)", r);
	}
	kvm_stats_line(kvm);
	close(kvm);
}

/* ------------------------------------------------------------ PMU */

static void info_pmu(void)
{
	char buf[512], why[200];

	section("PMU (perf_event, events encoded by libpfm4)");
	hvb_perf_pmu_summary(buf, sizeof(buf));
	put("hardware events", "%s", buf);
	put("perf_event_paranoid", "%s",
	    hvb_read_file("/proc/sys/kernel/perf_event_paranoid", buf, sizeof(buf)) ? "unknown"
										      : buf);
	for (size_t i = 0; i < hvb_perf_n_default; i++) {
		int r = hvb_perf_probe(hvb_perf_default_events[i], why, sizeof(why));

		/* why already starts with "not supported" or "permission denied". */
		put(hvb_perf_default_events[i], "%s", r == 1 ? "supported" : why);
	}
}

/* ------------------------------------------------------------ Xen */

/* Is a process with this comm running? */
static bool process_running(const char *comm)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool found = false;

	while (d && !found && (e = readdir(d))) {
		char path[300], name[64];

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		found = !hvb_read_file(path, name, sizeof(name)) && !strcmp(name, comm);
	}
	if (d)
		closedir(d);
	return found;
}

static void info_xen(void)
{
	char buf[256], path[512];
	bool xen_dir = access("/proc/xen", F_OK) == 0;

	section("Xen");
	if (!xen_dir)
		put("/proc/xen", "absent (not running under Xen, or xenfs not mounted)");
	else if (!hvb_read_file("/proc/xen/capabilities", buf, sizeof(buf)))
		put("/proc/xen", "present, capabilities '%s'%s", buf,
		    strstr(buf, "control_d") ? " (this is dom0)" : " (a domU)");
	else
		put("/proc/xen", "present (capabilities unreadable: mount xenfs on /proc/xen)");
	put("/dev/xen/privcmd", "%s",
	    access("/dev/xen/privcmd", F_OK) ? "absent" : "present (toolstack can issue hypercalls)");
	put("/sys/hypervisor/type", "%s",
	    hvb_read_file("/sys/hypervisor/type", buf, sizeof(buf)) ? "absent" : buf);
	put("xenstored", "%s",
	    process_running("xenstored") || process_running("oxenstored") ? "running"
									   : "not running");
	put("xl", "%s", !hvb_find_exe("xl", path, sizeof(path)) ? path : "not on PATH");
}

/* ------------------------------------------------------------ QEMU */

static void info_qemu(void)
{
	char path[512], cmd[600], line[256] = "";
	FILE *p;

	section("QEMU");
	if (hvb_find_exe("qemu-system-x86_64", path, sizeof(path))) {
		put("qemu-system-x86_64", "not on PATH (apt-get install qemu-system-x86)");
		return;
	}
	put("qemu-system-x86_64", "%s", path);
	snprintf(cmd, sizeof(cmd), "'%s' --version 2>&1", path);
	p = popen(cmd, "r");
	if (p && fgets(line, sizeof(line), p))
		line[strcspn(line, "\n")] = '\0';
	if (p)
		pclose(p);
	put("version", "%s", line[0] ? line : "unknown (--version printed nothing)");
}

/* ------------------------------------------------------------ interrupts */

/* What decides interrupt costs here: the host.irq.* meta keys of a run. */
static void info_irq(void)
{
	struct hvb_irq_state st;

	section("Interrupts (meta host.irq.*)");
	hvb_irq_state_read(hvb_host_root(), &st);
	for (int i = 0; i < st.n; i++)
		put(st.item[i].key, "%s", st.item[i].value);
}

/* ------------------------------------------------------------ topology, memory */

static void info_topology(void)
{
	char buf[512];

	section("Topology");
	hvb_topo_summary(buf, sizeof(buf));
	put("summary", "%s", buf);
	put("PUs allowed to hvbench", "%d", hvb_topo_pu_count());
	put("default pinning", "CPU %d (the last PU, away from CPU 0's housekeeping)",
	    hvb_topo_default_pu());
}

/* Value of a /proc/meminfo line, e.g. "24576000 kB". */
static int meminfo(const char *key, char *buf, size_t len)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	size_t n = strlen(key);
	int r = -ENOENT;

	while (f && r && fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, n) || line[n] != ':')
			continue;
		line[strcspn(line, "\n")] = '\0';
		hvb_strlcpy(buf, line + n + 1 + strspn(line + n + 1, " "), len);
		r = 0;
	}
	if (f)
		fclose(f);
	return r;
}

static void info_memory(void)
{
	char buf[256], sz[64];

	section("Memory");
	if (meminfo("MemTotal", buf, sizeof(buf)))
		put("total", "unknown");
	else
		put("total", "%s (%.1f GiB)", buf, strtod(buf, NULL) / (1024.0 * 1024.0));
	put("transparent huge pages", "%s",
	    hvb_read_file("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof(buf))
		    ? "unavailable"
		    : buf);
	put("THP defrag", "%s",
	    hvb_read_file("/sys/kernel/mm/transparent_hugepage/defrag", buf, sizeof(buf))
		    ? "unavailable"
		    : buf);
	if (meminfo("Hugepagesize", sz, sizeof(sz)))
		snprintf(sz, sizeof(sz), "?");
	put("huge pages reserved", "%s of %s",
	    meminfo("HugePages_Total", buf, sizeof(buf)) ? "unknown" : buf, sz);
}

static void info_mitigations(void)
{
	const char *dir = "/sys/devices/system/cpu/vulnerabilities";
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort);

	section("Mitigations");
	if (n < 0) {
		put(dir, "unavailable: %s", strerror(errno));
		return;
	}
	for (int i = 0; i < n; i++) {
		char path[512], val[256];

		if (list[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
			if (!hvb_read_file(path, val, sizeof(val)))
				put(list[i]->d_name, "%s", val);
		}
		free(list[i]);
	}
	free(list);
}

static void info_runners(void)
{
	struct hvb_config cfg;
	char err[300];

	section("Runners");
	if (hvb_config_load(&cfg, NULL, err, sizeof(err))) {
		put("configuration", "%s", err);
		return;
	}
	for (const struct hvb_runner *const *r = hvb_runners_begin(); r < hvb_runners_end(); r++) {
		char why[1024] = "";
		bool ok = (*r)->available(&cfg, why, sizeof(why));

		put((*r)->name, "%s%s%s%s", ok ? "available" : "unavailable", ok ? "" : ": ",
		    ok ? "" : why, (*r)->emulated ? " [emulation: functional only]" : "");
	}
	hvb_config_free(&cfg);
}

/* ------------------------------------------------------------ command */

static int info_main(int argc, char **argv)
{
	const char *format = "text";
	const struct hvb_opt opts[] = {
		OPT_STR("format", 'f', &format, "text|csv|json",
			"text (sections), csv (section,key,value rows) or json (one "
			"document, hvbench-info/1: results/FORMAT.md)"),
		OPT_END(),
	};
	int npos, r = hvb_opt_parse("info", "info [--format text|csv|json]", opts, argc, argv,
				   &npos);

	if (r)
		return r > 0 ? HVB_EXIT_SUCCESS : HVB_EXIT_USAGE;
	if (npos) {
		fprintf(stderr,
			"hvbench info: unexpected argument '%s' (info takes only options: see "
			"'hvbench info --help')\n",
			argv[1]);
		return HVB_EXIT_USAGE;
	}
	if (strcmp(format, "text") && strcmp(format, "csv") && strcmp(format, "json")) {
		fprintf(stderr, "hvbench info: --format must be text, csv or json, not '%s'\n",
			format);
		return HVB_EXIT_USAGE;
	}
	out_fmt = !strcmp(format, "csv") ? INFO_CSV : !strcmp(format, "json") ? INFO_JSON : INFO_TEXT;
	if (out_fmt == INFO_CSV) {
		const char *hdr[3] = { "section", "key", "value" };
		hvb_csv_write_row(stdout, hdr, 3);
	} else if (out_fmt == INFO_JSON) {
		hvb_json_init(&json, stdout, true);
		hvb_json_obj_begin(&json);
		hvb_json_kv_str(&json, "schema", "hvbench-info/1");
		hvb_json_kv_str(&json, "hvbench_version", hvb_version);
		hvb_json_kv_str(&json, "hvbench_commit", hvb_commit);
		hvb_json_key(&json, "sections");
		hvb_json_arr_begin(&json);
	} else {
		printf("hvbench %s (%s): host capabilities\n", hvb_version, hvb_commit);
	}
	info_cpu();
	info_kvm();
	info_irq();
	info_pmu();
	info_xen();
	info_qemu();
	info_topology();
	info_memory();
	info_mitigations();
	info_runners();
	if (out_fmt == INFO_JSON) {
		hvb_json_arr_end(&json); /* the last section's entries */
		hvb_json_obj_end(&json);
		hvb_json_arr_end(&json);
		hvb_json_obj_end(&json);
		hvb_json_end(&json);
	}
	return fflush(stdout) ? HVB_EXIT_FAILURE : HVB_EXIT_SUCCESS;
}

static const struct hvb_cmd info_cmd = {
	.name = "info",
	.summary = "host capabilities: CPU, KVM, PMU, Xen, QEMU, topology, memory",
	.main = info_main,
	.order = 2,
};
HVB_CMD(info_cmd);
