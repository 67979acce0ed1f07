#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seccomp.h"
#include "util.h"

const struct hvb_env_doc hvb_env_docs[] = {
	{ "HVB_GUEST_IMAGE", "guest image when --image is not given" },
	{ "HVB_GUEST_MEM_MIB", "guest RAM of every VM runner in MiB when --guest-mem is not "
			       "given (16-3072, default 1024)" },
	{ "HVB_KVM_MEM_MIB", "deprecated alias of HVB_GUEST_MEM_MIB (an error if they differ)" },
	{ "HVB_QEMU_MEM", "no longer read: an error (use --guest-mem / HVB_GUEST_MEM_MIB)" },
	{ "HVB_SECCOMP", "0: no seccomp filter on the kvm vCPU thread (default 1)" },
	{ "HVB_KVM_CMDLINE_EXTRA", "extra guest command-line words under kvm (debugging)" },
	{ "HVB_KVM_BLK_NOTIFY", "how the kvm guest's virtio-blk notifies its device: ioeventfd "
				"(default), exit, sync or poll (io/ workloads)" },
	{ "HVB_KVM_NET_NOTIFY", "how the kvm guest's virtio-net notifies its device: ioeventfd "
				"(default), exit or poll; sync under kvm-loop only (net/ workloads)" },
	{ "HVB_QEMU", "QEMU binary (default qemu-system-x86_64)" },
	{ "HVB_QEMU_MACHINE", "QEMU machine type (default microvm; io/ needs it)" },
	{ "HVB_QEMU_PROBE_EXTRA", "extra guest words for qemu-kvm's capability probe boots" },
	{ "HVBENCH_EVENTS", "perf events counted by the native runner (comma-separated)" },
	{ "HVB_XENTRACE", "0: no exit tracing under Xen; else the xentrace binary" },
	{ "HVB_XENTRACE_KEEP", "keep the raw Xen traces in this directory" },
	{ "HVB_XEN_NESTING", "how this Xen itself runs, for meta.csv (ci/xen sets it)" },
	{ "HVB_XEN_VIF_SCRIPT", "the vif hotplug script of net/ under Xen (default vif-hvbench in "
				"/etc/xen/scripts)" },
	{ "HVB_REPORTS_DIR", "where `hvbench report` finds its scripts (default: installed)" },
	{ "PYTHON", "Python 3 for `hvbench report` (default python3)" },
	{ "HVB_HVBENCH", "hvbench binary the report runs for its statistics (`hvbench report` "
			 "sets it to itself)" },
	{ "HVB_HOST_ROOT", "tests only: read host_kind/host_identity sources under this root" },
	{ "HVB_GNUPLOT", "gnuplot for `hvbench report`'s plots (default: gnuplot on PATH)" },
	{ "TMPDIR", "where a Xen job's raw trace is written while it runs (default /tmp)" },
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
