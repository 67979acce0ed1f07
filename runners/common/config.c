#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seccomp.h"
#include "util.h"

const struct hvb_env_doc hvb_env_docs[] = {
	{ "HVB_GUEST_IMAGE", "guest image when --image is not given" },
	{ "HVB_KVM_MEM_MIB", "guest RAM of the kvm runner in MiB (16-3072, default 2048)" },
	{ "HVB_SECCOMP", "0: no seccomp filter on the kvm vCPU thread (default 1)" },
	{ "HVB_KVM_CMDLINE_EXTRA", "extra guest command-line words under kvm (debugging)" },
	{ "HVB_QEMU", "QEMU binary (default qemu-system-x86_64)" },
	{ "HVB_QEMU_MACHINE", "QEMU machine type (default pc)" },
	{ "HVB_QEMU_MEM", "QEMU guest memory, as -m takes it (default 1G)" },
	{ "HVB_QEMU_PROBE_EXTRA", "extra guest words for qemu-kvm's capability probe boots" },
	{ "HVBENCH_EVENTS", "perf events counted by the native runner (comma-separated)" },
	{ "HVB_XENTRACE", "0: no exit tracing under Xen; else the xentrace binary" },
	{ "HVB_XENTRACE_KEEP", "keep the raw Xen traces in this directory" },
	{ "HVB_XEN_NESTING", "how this Xen itself runs, for meta.csv (ci/xen sets it)" },
	{ "HVB_REPORTS_DIR", "where `hvbench report` finds its scripts (default: installed)" },
	{ "PYTHON", "Python 3 for `hvbench report` (default python3)" },
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

int hvb_config_load(struct hvb_config *cfg, const char *image, char *err, size_t len)
{
	int r;

	memset(cfg, 0, sizeof(*cfg));
	cfg->image.fd = -1;
	r = env_uint("HVB_KVM_MEM_MIB", HVB_KVM_MIN_MEM_MIB, HVB_KVM_MAX_MEM_MIB,
		     HVB_KVM_DEFAULT_MEM_MIB, &cfg->kvm_mem_mib, err, len);
	if (r)
		return r;
	r = hv_seccomp_env(&cfg->seccomp, err, len);
	if (r)
		return r;
	cfg->kvm_cmdline_extra = env("HVB_KVM_CMDLINE_EXTRA");
	cfg->qemu_bin = env("HVB_QEMU") ? env("HVB_QEMU") : "qemu-system-x86_64";
	cfg->qemu_machine = env("HVB_QEMU_MACHINE") ? env("HVB_QEMU_MACHINE") : "pc";
	cfg->qemu_mem = env("HVB_QEMU_MEM") ? env("HVB_QEMU_MEM") : "1G";
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
