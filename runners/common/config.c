#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "irqchip.h"
#include "seccomp.h"
#include "util.h"

const struct hvb_env_doc hvb_env_docs[] = {
	{ "HVB_GUEST_IMAGE", "guest image when --image is not given" },
	{ "HVB_GUEST_MEM_MIB", "guest RAM of every VM runner in MiB when --guest-mem is not "
			       "given (16-3072, default 1024)" },
	{ "HVB_KVM_MEM_MIB", "deprecated alias of HVB_GUEST_MEM_MIB (an error if they differ)" },
	{ "HVB_QEMU_MEM", "no longer read: an error (use --guest-mem / HVB_GUEST_MEM_MIB)" },
	{ "HVB_SECCOMP", "0: no seccomp filter on the kvm vCPU thread (default 1)" },
	{ "HVB_KVM_TRACE", "1: trace the kvm vCPU thread's kvm tracepoints per repetition (exits.csv "
			   "source kvm-trace; default 0)" },
	{ "HVB_VMM_COUNTERS", "0: no perf counters on the VMM threads of kvm, qemu-kvm and "
			      "qemu-tcg (vcpu-threads.*, vmm-threads.*; default 1)" },
	{ "HVB_KVM_VMM_COUNTERS", "older name of HVB_VMM_COUNTERS for the kvm runner only (an "
				  "error if the two disagree)" },
	{ "HVB_VMM_EXIT_TIMING", "0: the kvm core does not time its userspace exits (exits.csv "
				 "source vmm without latency columns; default 1)" },
	{ "HVB_KVM_STATS", "0: no KVM binary statistics under kvm and no QMP query-stats under "
			   "qemu-kvm (counters.csv kvm-stats unsupported, 'off'; default 1)" },
	{ "HVB_PREFAULT", "0: kvm and qemu-kvm do not populate guest RAM before boot (default 1: "
			  "they do, outside boot_ms: qemu-kvm paused with -S while QMP populates "
			  "its RAM backend; meta runner.<name>.prefault)" },
	{ "HVB_KVM_CMDLINE_EXTRA", "extra guest command-line words under kvm (debugging)" },
	{ "HVB_KVM_BLK_NOTIFY", "how the kvm guest's virtio-blk notifies its device: ioeventfd "
				"(default), exit, sync or poll (io/ workloads)" },
	{ "HVB_KVM_NET_NOTIFY", "how the kvm guest's virtio-net notifies its device: ioeventfd "
				"(default), exit or poll; sync under kvm-loop only (net/ workloads)" },
	{ "HVB_KVM_IRQCHIP", "the kvm guest's interrupt controller: split (default: LAPICs in "
			     "the kernel, no PIC/IOAPIC), kernel (the full in-kernel irqchip) or "
			     "none (no LAPIC: hlt exits to userspace, no interrupt workloads); "
			     "split falls back to kernel, kernel to none, where KVM refuses it" },
	{ "HVB_KVM_MIGRATE", "kvm: migrate the guest to a second core process during "
			     "migrate/dirty: a spec such as dirty=log,bw_mib=100,downtime_ms=30,"
			     "rounds=10,after_ms=300 (1 = defaults; hvbench migrate sets it per "
			     "grid point)" },
	{ "HVB_QEMU", "QEMU binary (default qemu-system-x86_64)" },
	{ "HVB_QEMU_MACHINE", "QEMU machine type (default microvm; io/ needs it)" },
	{ "HVB_QEMU_MIGRATE_AT_MS", "tests and the migrate command: qemu-kvm/qemu-tcg move the "
				    "guest once to a second QEMU this many ms after its HELLO "
				    "(migrate.* rows; read by the QEMU runners at each job)" },
	{ "HVB_QEMU_MIGRATE_BW_MIBS", "that migration's max-bandwidth in MiB/s (default: no limit)" },
	{ "HVB_QEMU_MIGRATE_DOWNTIME_MS", "that migration's downtime-limit (default QEMU's, 300)" },
	{ "HVB_QEMU_MIGRATE_LIMIT_MS", "cancel that migration if not done in this many ms (converged=0; "
				       "default 60000)" },
	{ "HVB_QEMU_MIGRATE_ROUNDS", "cancel it after this many pre-copy rounds (default: no limit)" },
	{ "HVB_QEMU_PROBE_EXTRA", "extra guest words for qemu-kvm's capability probe boots" },
	{ "HVBENCH_EVENTS", "perf events counted by the native runner (comma-separated)" },
	{ "HVB_XENTRACE", "0: no exit tracing under Xen; else the xentrace binary" },
	{ "HVB_XENTRACE_KEEP", "keep the raw Xen traces in this directory" },
	{ "HVB_XEN_MIGRATE_AT_MS", "tests and the migrate command: xen-pvh, xen-pv live-migrate the domU "
				   "once, with libxl, to a new domain on this host this many ms into "
				   "its first repetition (migrate.* rows)" },
	{ "HVB_XEN_MIGRATE_BW_MIBS", "hold that migration's stream to this many MiB/s (default: no "
				     "limit)" },
	{ "HVB_XEN_MIGRATE_LIMIT_MS", "give that migration up if not done in this many ms (the "
				      "source resumed; default 120000)" },
	{ "HVB_XEN_MIGRATE_DEBUG", "1: libxl's and libxc's messages and progress of that migration "
				   "on stderr" },
	{ "HVB_XEN_MIGRATE_CANCEL", "tests, 1: give that migration up once the source is suspended "
				    "(libxl resumes it with suspend_cancel: a PV guest resumes in "
				    "place)" },
	{ "HVB_XEN_NESTING", "how this Xen itself runs, for meta.csv (ci/xen sets it)" },
	{ "HVB_XEN_VIF_SCRIPT", "the vif hotplug script of net/ under Xen (default vif-hvbench in "
				"/etc/xen/scripts)" },
	{ "HVB_REPORTS_DIR", "where `hvbench report` finds its scripts (default: installed)" },
	{ "PYTHON", "Python 3 for `hvbench report` (default python3)" },
	{ "HVB_HVBENCH", "hvbench binary the report runs for its statistics (`hvbench report` "
			 "sets it to itself)" },
	{ "HVB_HOST_ROOT", "tests only: read host_kind/host_identity/host.irq.* sources under this root" },
	{ "HVB_GNUPLOT", "gnuplot for `hvbench report`'s plots (default: gnuplot on PATH)" },
	{ "TMPDIR", "where a Xen job's raw trace is written while it runs, and a QEMU migration's "
		    "sockets (default /tmp)" },
	{ "HVB_LOCK_DIR", "directory of the per-CPU run locks cpu<N>.lock (default /run/hvbench "
			  "when writable, else $XDG_RUNTIME_DIR/hvbench, else /tmp/hvbench-<uid>)" },
	{ "XDG_RUNTIME_DIR", "the CPU locks' directory when /run/hvbench is not writable" },
	{ "HVB_CPU_LOCKS", "set by capacity for its VMs' runs: the CPU locks they share (not for "
			   "users)" },
	{ "CI", "true (or 1): compare and ab default to --gate (--no-gate turns it off)" },
	{ "GITHUB_ACTIONS", "true: compare and ab print GitHub annotations after the table "
			   "(--annotations none turns them off)" },
	{ NULL, NULL },
};

/* A set, non-empty variable, or NULL. */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static int env_uint(const char *name, uint64_t min, uint64_t max, uint64_t def, uint64_t *out,
		    char *err, size_t len)
{
	const char *v = getenv(name);

	*out = def;
	if (!v)
		return 0;
	if (hvb_parse_uint(v, min, max, out)) {
		snprintf(err, len, "%s='%s': give a whole number from %llu to %llu (or unset it)",
			 name, v, (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	return 0;
}

/*
 * HVB_GUEST_MEM_MIB, or its deprecated alias HVB_KVM_MEM_MIB (once the kvm
 * runner's only).  HVB_QEMU_MEM took QEMU's -m syntax: it is refused rather
 * than half-parsed, so no runner silently gets another size than asked.
 */
static int guest_mem_env(struct hvb_config *cfg, char *err, size_t len)
{
	uint64_t alias;
	int r;

	if (env("HVB_QEMU_MEM")) {
		snprintf(err, len, "HVB_QEMU_MEM='%s' is no longer read: give --guest-mem MIB or "
			 "HVB_GUEST_MEM_MIB (one size for every runner)", env("HVB_QEMU_MEM"));
		return -EINVAL;
	}
	r = env_uint("HVB_GUEST_MEM_MIB", HVB_GUEST_MEM_MIN_MIB, HVB_GUEST_MEM_MAX_MIB,
		     HVB_GUEST_MEM_DEFAULT_MIB, &cfg->guest_mem_mib, err, len);
	if (r || !getenv("HVB_KVM_MEM_MIB"))
		return r;
	r = env_uint("HVB_KVM_MEM_MIB", HVB_GUEST_MEM_MIN_MIB, HVB_GUEST_MEM_MAX_MIB,
		     HVB_GUEST_MEM_DEFAULT_MIB, &alias, err, len);
	if (r)
		return r;
	if (getenv("HVB_GUEST_MEM_MIB") && alias != cfg->guest_mem_mib) {
		snprintf(err, len, "HVB_KVM_MEM_MIB=%llu and HVB_GUEST_MEM_MIB=%llu disagree: "
			 "unset the deprecated HVB_KVM_MEM_MIB", (unsigned long long)alias,
			 (unsigned long long)cfg->guest_mem_mib);
		return -EINVAL;
	}
	cfg->guest_mem_mib = alias;
	return 0;
}

int hvb_config_guest_mem(struct hvb_config *cfg, const char *mib, char *err, size_t len)
{
	if (!mib)
		return 0;
	if (hvb_parse_uint(mib, HVB_GUEST_MEM_MIN_MIB, HVB_GUEST_MEM_MAX_MIB,
			   &cfg->guest_mem_mib)) {
		snprintf(err, len, "--guest-mem '%s': give guest RAM in MiB, a whole number from "
			 "%d to %d", mib, HVB_GUEST_MEM_MIN_MIB, HVB_GUEST_MEM_MAX_MIB);
		return -EINVAL;
	}
	return 0;
}

static int blk_notify_env(struct hvb_config *cfg, char *err, size_t len)
{
	const char *v = getenv("HVB_KVM_BLK_NOTIFY");

	cfg->kvm_blk_notify = HV_BLK_NOTIFY_IOEVENTFD;
	if (!v || !hv_blk_notify_parse(v, &cfg->kvm_blk_notify))
		return 0;
	snprintf(err, len, "HVB_KVM_BLK_NOTIFY='%s': give ioeventfd, exit, sync or poll (or unset it)",
		 v);
	return -EINVAL;
}

static int net_notify_env(struct hvb_config *cfg, char *err, size_t len)
{
	const char *v = getenv("HVB_KVM_NET_NOTIFY");

	cfg->kvm_net_notify = HV_NET_NOTIFY_IOEVENTFD;
	if (!v || !hv_net_notify_parse(v, &cfg->kvm_net_notify))
		return 0;
	snprintf(err, len, "HVB_KVM_NET_NOTIFY='%s': give ioeventfd, exit or poll (sync: kvm-loop "
		 "only), or unset it", v);
	return -EINVAL;
}

static int irqchip_env(struct hvb_config *cfg, char *err, size_t len)
{
	const char *v = getenv("HVB_KVM_IRQCHIP");

	cfg->kvm_irqchip = HV_IRQCHIP_SPLIT;
	if (!v || hv_irqchip_parse(v, &cfg->kvm_irqchip))
		return 0;
	snprintf(err, len, "HVB_KVM_IRQCHIP='%s': give split, kernel or none (or unset it)", v);
	return -EINVAL;
}

static int migrate_env(struct hvb_config *cfg, char *err, size_t len)
{
	const char *v = env("HVB_KVM_MIGRATE");

	cfg->migrate.on = false;
	if (!v)
		return 0;
	return hvb_mig_cfg_parse(v, &cfg->migrate, err, len);
}

/*
 * A probe switch: unset or empty gives def, "0" off, "1" on; anything else
 * is an error naming the variable.  One parser, so every switch reads
 * alike (tools/probe-overhead sets them).
 */
static int env_switch(const char *name, bool def, bool *out, char *err, size_t len)
{
	const char *v = env(name);

	*out = def;
	if (!v)
		return 0;
	if (!strcmp(v, "0") || !strcmp(v, "1")) {
		*out = v[0] == '1';
		return 0;
	}
	snprintf(err, len, "%s='%s': give 0 (off) or 1 (on; the default is %s), or unset it", name,
		 v, def ? "on" : "off");
	return -EINVAL;
}

/* HVB_VMM_COUNTERS for every runner; HVB_KVM_VMM_COUNTERS, its older
 * kvm-only name, still decides the kvm runner's (kept: scripts set it). */
static int vmm_counters_env(struct hvb_config *cfg, char *err, size_t len)
{
	bool all, kvm;
	int r = env_switch("HVB_VMM_COUNTERS", true, &all, err, len);

	if (!r)
		r = env_switch("HVB_KVM_VMM_COUNTERS", all, &kvm, err, len);
	if (r)
		return r;
	if (env("HVB_VMM_COUNTERS") && env("HVB_KVM_VMM_COUNTERS") && kvm != all) {
		snprintf(err, len, "HVB_VMM_COUNTERS=%d and HVB_KVM_VMM_COUNTERS=%d disagree: unset "
			 "the older HVB_KVM_VMM_COUNTERS", all, kvm);
		return -EINVAL;
	}
	cfg->kvm_vmm_counters = kvm;
	cfg->qemu_vmm_counters = all;
	return 0;
}

/* Every probe switch (README "Probe overhead"). */
static int probe_switches_env(struct hvb_config *cfg, char *err, size_t len)
{
	int r = env_switch("HVB_KVM_TRACE", false, &cfg->kvm_trace, err, len);

	if (!r)
		r = vmm_counters_env(cfg, err, len);
	if (!r)
		r = env_switch("HVB_VMM_EXIT_TIMING", true, &cfg->vmm_exit_timing, err, len);
	if (!r)
		r = env_switch("HVB_KVM_STATS", true, &cfg->kvm_stats, err, len);
	return r;
}

int hvb_config_load(struct hvb_config *cfg, const char *image, char *err, size_t len)
{
	int r;

	memset(cfg, 0, sizeof(*cfg));
	cfg->image.fd = -1;
	r = guest_mem_env(cfg, err, len);
	if (r)
		return r;
	r = hv_seccomp_env(&cfg->seccomp, err, len);
	if (!r)
		r = blk_notify_env(cfg, err, len);
	if (!r)
		r = net_notify_env(cfg, err, len);
	if (!r)
		r = probe_switches_env(cfg, err, len);
	if (!r)
		r = irqchip_env(cfg, err, len);
	if (!r)
		r = migrate_env(cfg, err, len);
	if (!r)
		r = env_switch("HVB_PREFAULT", true, &cfg->prefault, err, len);
	if (r)
		return r;
	cfg->kvm_cmdline_extra = env("HVB_KVM_CMDLINE_EXTRA");
	cfg->qemu_bin = env("HVB_QEMU") ? env("HVB_QEMU") : "qemu-system-x86_64";
	/* microvm: qboot boots the PVH image in ~0.2 s instead of SeaBIOS's
	 * ~3-13 s, every qemu cell passes on it, and it has the virtio-mmio
	 * bus the io/ workloads' virtio-blk sits on. */
	cfg->qemu_machine = env("HVB_QEMU_MACHINE") ? env("HVB_QEMU_MACHINE") : "microvm";
	cfg->qemu_probe_extra = env("HVB_QEMU_PROBE_EXTRA");
	cfg->events = env("HVBENCH_EVENTS");
	cfg->xentrace = env("HVB_XENTRACE");
	cfg->xentrace_keep = env("HVB_XENTRACE_KEEP");
	cfg->xen_nesting = env("HVB_XEN_NESTING");
	hvb_image_load(&cfg->image, image);
	return 0;
}

void hvb_config_free(struct hvb_config *cfg)
{
	hvb_image_free(&cfg->image);
}

/* ------------------------------------------------------------ --param */

void hvb_param_key(const struct hvb_workload *w, const struct hvb_param *p, char *buf,
		   size_t len)
{
	const char *slash = strrchr(w->name, '/');

	snprintf(buf, len, "%s.%s", slash ? slash + 1 : w->name, p->name);
}

/* The entry of key in params, or NULL. */
static struct hvb_param_value *param_find(struct hvb_params *params, const char *key)
{
	for (unsigned i = 0; i < params->n; i++)
		if (!strcmp(params->v[i].key, key))
			return &params->v[i];
	return NULL;
}

/* The descriptor behind a key of the selection (for its range), or NULL. */
static const struct hvb_param *param_decl(const char *const *workloads, size_t n,
					  const char *key)
{
	char k[HVB_PARAM_KEY_MAX];

	for (size_t i = 0; i < n; i++) {
		const struct hvb_workload *w = hvb_workload_find(workloads[i]);

		for (unsigned j = 0; w && j < HVB_PARAMS_MAX && w->params[j].name; j++) {
			hvb_param_key(w, &w->params[j], k, sizeof(k));
			if (!strcmp(k, key))
				return &w->params[j];
		}
	}
	return NULL;
}

/* Every parameter of the selection at its default (a key two workloads
 * share is one entry: they get the same value). */
static int params_defaults(struct hvb_params *params, const char *const *workloads, size_t n,
			   char *err, size_t len)
{
	params->n = 0;
	for (size_t i = 0; i < n; i++) {
		const struct hvb_workload *w = hvb_workload_find(workloads[i]);

		for (unsigned j = 0; w && j < HVB_PARAMS_MAX && w->params[j].name; j++) {
			struct hvb_param_value v = { .value = w->params[j].def };

			hvb_param_key(w, &w->params[j], v.key, sizeof(v.key));
			if (param_find(params, v.key))
				continue;
			if (params->n == HVB_RUN_PARAMS_MAX) {
				snprintf(err, len, "--param: the selected workloads declare more "
					 "than %d parameters; select fewer", HVB_RUN_PARAMS_MAX);
				return -EINVAL;
			}
			params->v[params->n++] = v;
		}
	}
	return 0;
}

/* "open-loop.rate (req/s, 1-1000000, default 2000), ..." or a sentence
 * saying there are none. */
static void params_accepted(const struct hvb_params *params, const char *const *workloads,
			    size_t n, char *buf, size_t len)
{
	size_t at = 0;

	if (!params->n) {
		snprintf(buf, len, "the selected workloads take no parameters (hvbench list "
			 "shows those that do)");
		return;
	}
	at += (size_t)snprintf(buf, len, "the selected workloads take: ");
	for (unsigned i = 0; i < params->n && at < len; i++) {
		const struct hvb_param *p = param_decl(workloads, n, params->v[i].key);

		at += (size_t)snprintf(buf + at, len - at, "%s%s (%s, %llu-%llu, default %llu)",
				       i ? ", " : "", params->v[i].key, p->unit,
				       (unsigned long long)p->min, (unsigned long long)p->max,
				       (unsigned long long)p->def);
	}
}

/* One "KEY=VALUE" argument into params.  0 or -EINVAL with err. */
static int param_set(struct hvb_params *params, const char *const *workloads, size_t n,
		     const char *arg, char *err, size_t len)
{
	const char *eq = strchr(arg, '=');
	char key[HVB_PARAM_KEY_MAX], accepted[1024];
	const struct hvb_param *p;
	struct hvb_param_value *v;
	uint64_t val;

	if (!eq || eq == arg || !eq[1] || (size_t)(eq - arg) >= sizeof(key)) {
		snprintf(err, len, "--param '%s': give KEY=VALUE, e.g. open-loop.rate=20000", arg);
		return -EINVAL;
	}
	snprintf(key, sizeof(key), "%.*s", (int)(eq - arg), arg);
	v = param_find(params, key);
	if (!v) {
		params_accepted(params, workloads, n, accepted, sizeof(accepted));
		snprintf(err, len, "--param %s: no selected workload takes '%s'; %s", arg, key,
			 accepted);
		return -EINVAL;
	}
	if (v->given) {
		snprintf(err, len, "--param %s: '%s' is given twice; give it once", arg, key);
		return -EINVAL;
	}
	p = param_decl(workloads, n, key);
	if (hvb_parse_uint(eq + 1, p->min, p->max, &val)) {
		snprintf(err, len, "--param %s: '%s' is not a whole number from %llu to %llu (%s)",
			 arg, eq + 1, (unsigned long long)p->min, (unsigned long long)p->max,
			 p->unit);
		return -EINVAL;
	}
	v->value = val;
	v->given = true;
	return 0;
}

int hvb_config_params(struct hvb_config *cfg, const char *const *workloads, size_t n,
		      const char *const *args, unsigned nargs, char *err, size_t len)
{
	int r = params_defaults(&cfg->params, workloads, n, err, len);

	for (unsigned i = 0; !r && i < nargs; i++)
		r = param_set(&cfg->params, workloads, n, args[i], err, len);
	return r;
}
