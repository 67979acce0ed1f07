"""What each run is, and where runs differ in context (results/FORMAT.md).

For render.py: a run of KVM from a Linux boot and a run of Xen from a Xen
boot of the same machine can be set side by side only if the report says
what each host was (dom0 is itself a guest: its "native" is not bare
metal) and whether the two boots were the same machine (host_identity).

The key lists are the same as `hvbench compare`'s (src/compare_context.c,
between its "context-keys" markers); tests/report/test_context.py checks
that they match, and that both name the same differing workload
parameters (param.* keys, `hvbench run --param`) for the same runs.
"""

import fnmatch

# Meta keys compared as they are.
CONTEXT_RUN_KEYS = (
    "host_name", "host_kind", "host_identity", "cpu_model", "kernel", "microcode",
    "mitigations", "quick", "batches", "goal_us", "page_size", "hvbench_version",
    # what decides SMP and interrupt figures (issue 14)
    "vcpus", "overcommit", "host.irq.apicv", "host.irq.avic", "host.irq.posted_interrupts",
    "host.irq.x2apic", "host.irq.tsc_deadline", "host.irq.halt_poll_ns",
    "host.irq.lapic_timer_advance", "host.irq.kvm_pv", "host.irq.pvm",
)
# Per-runner meta keys: runner.<name>.KEY.
# prefault: whether guest RAM was populated (and, in runs before the QMP
# populate, whether qemu-kvm's boot_ms held QEMU's -mem-prealloc).
CONTEXT_RUNNER_KEYS = ("guest_mem_mib", "image_sha256", "prefault")

# Workload parameters: param.<short>.<name> (results/FORMAT.md).
PARAM_PREFIX = "param."

HOST_KINDS = ("bare-metal", "xen-dom0", "xen-domU", "nested", "kvm-guest", "vm")
NOT_RECORDED = "(not recorded)"


def _meta(run):
    """A load.Run's meta, or a plain dict of meta keys."""
    return getattr(run, "meta", run)


def _inferred_kind(meta):
    """host_kind of a run written before hvbench recorded it: from nesting
    and hypervisor, or "unknown"."""
    nesting = meta.get("nesting", "")
    hv = meta.get("hypervisor", "")
    if nesting.startswith("pvm"):
        kind = "nested"
    elif nesting.startswith("xen dom0"):
        kind = "xen-dom0"
    elif nesting.startswith("xen domU"):
        kind = "xen-domU"
    elif hv == "none":
        kind = "bare-metal"
    elif "KVMKVMKVM" in hv:
        kind = "kvm-guest"
    elif hv:
        kind = "vm"
    else:
        return "unknown", "host_kind not recorded, nor nesting or hypervisor"
    return kind, (f"inferred (host_kind not recorded) from nesting={nesting!r}, "
                  f"hypervisor={hv!r}")


def host_kind(run):
    """(kind, evidence): meta host_kind and host_kind_evidence, or for an
    older run an inference from nesting/hypervisor that says it is one."""
    meta = _meta(run)
    kind = meta.get("host_kind")
    if kind:
        return kind, meta.get("host_kind_evidence", "")
    return _inferred_kind(meta)


def is_bare_metal_baseline(run):
    """Are this run's native numbers a bare-metal baseline?  Not under
    dom0, a domU or any VM (nested PVM included)."""
    return host_kind(run)[0] == "bare-metal"


def _runner_keys(meta):
    suffixes = tuple("." + k for k in CONTEXT_RUNNER_KEYS)
    return [k for k in meta if k.startswith("runner.") and k.endswith(suffixes)
            and k.count(".") >= 2]


def differences(runs):
    """[(key, {run index: value})] for each context key whose value is not
    the same in every run, in CONTEXT_RUN_KEYS order, then per-runner keys
    sorted.  A run key a run lacks counts as "(not recorded)" (all lacking
    it: not a difference); a per-runner key counts only among the runs that
    have that runner's key, as in `hvbench compare`."""
    metas = [_meta(r) for r in runs]
    out = []
    for key in CONTEXT_RUN_KEYS:
        values = {i: m.get(key, NOT_RECORDED) for i, m in enumerate(metas)}
        if len(set(values.values())) > 1:
            out.append((key, values))
    keys = sorted({k for m in metas for k in _runner_keys(m)})
    for key in keys:
        values = {i: m[key] for i, m in enumerate(metas) if key in m}
        if len(values) > 1 and len(set(values.values())) > 1:
            out.append((key, values))
    return out


def _param_short(key):
    """The <short> of param.<short>.<name>, or None."""
    short, dot, _ = key[len(PARAM_PREFIX):].rpartition(".")
    return short if dot and short else None


def _workload_short(name):
    """"crc32c" of "cpu/crc32c" (and of "crc32c")."""
    return name.split("/", 1)[-1]


def _ran(meta, short):
    """Did the run select a workload named short after its family?  Its
    meta workloads entries may be globs (cpu/* in older runs); a run
    without the key may have run any (as `hvbench compare` has it)."""
    listed = meta.get("workloads")
    if listed is None:
        return True
    return bool(short) and any(fnmatch.fnmatchcase(short, _workload_short(e))
                               for e in listed.split(",") if e)


def param_differences(runs):
    """[(key, {run index: value})] for each workload parameter (param.*
    meta key) whose value is not the same in every run, sorted by key.  A
    run lacking the key counts as "(not recorded)" only if it ran that
    workload (a run from before the parameter); a run that did not run it
    does not count, as in `hvbench compare`."""
    metas = [_meta(r) for r in runs]
    out = []
    for key in sorted({k for m in metas for k in m if k.startswith(PARAM_PREFIX)}):
        short = _param_short(key)
        values = {i: m.get(key, NOT_RECORDED) for i, m in enumerate(metas)
                  if key in m or _ran(m, short)}
        if len(set(values.values())) > 1:
            out.append((key, values))
    return out


def param_workloads(runs, key):
    """The workloads (meta workloads names, sorted) a param key belongs to;
    [] when the runs list it only under a glob."""
    short = _param_short(key)
    return sorted({e for r in runs for e in _meta(r).get("workloads", "").split(",")
                   if e and "*" not in e and _workload_short(e) == short})


def _params_warning(runs):
    """The warning of param_differences, or None."""
    diffs = param_differences(runs)
    if not diffs:
        return None
    parts = []
    for key, vals in diffs:
        names = ", ".join(param_workloads(runs, key))
        values = ", ".join(f"run {i + 1} {v}" for i, v in sorted(vals.items()))
        parts.append(f"{key} ({names}): {values}" if names else f"{key}: {values}")
    listed = "; ".join(parts)
    return ("params-diff", "Runs differ in workload parameters",
            f"{listed}: these workloads' figures measure the changed workload, not the "
            f"hypervisor (hvbench run --param; compare runs made with the same values)")


def same_host(run_a, run_b):
    """True if both runs were on the same machine by host_identity (two
    boots of one machine share it; kernel and memory are not part of it),
    False if they were not, None if either run does not record it."""
    a = _meta(run_a).get("host_identity")
    b = _meta(run_b).get("host_identity")
    if not a or not b:
        return None
    return a == b


def report_warnings(runs, native_runs):
    """What a reader must know about the set of runs, as (id, title, text):
    a native baseline that is not bare metal (dom0, a domU, a nested host:
    its "native" already carries a hypervisor), and context keys in which the
    runs differ, with whether they are one machine by host_identity (the
    two-boot workflow: a Linux boot's kvm run beside a Xen boot's run), and
    workload parameters in which they differ (param_differences).
    native_runs: indices of the runs that have a native series."""
    out = []
    for i in native_runs:
        kind, evidence = host_kind(runs[i])
        if kind != "bare-metal":
            out.append((f"baseline-{i + 1}", "Baseline is not bare metal",
                        f"run {i + 1}'s native ran on a {kind} host ({evidence or 'no evidence'}"
                        f"): its native figures already include that layer, so a slowdown vs "
                        f"native is relative to it, not to the hardware"))
    if len(runs) < 2:
        return out
    diffs = differences(runs)
    ids = [_meta(r).get("host_identity") for r in runs]
    if all(ids) and len(set(ids)) == 1:
        where = "one machine by host_identity"
    elif all(ids):
        where = "different machines by host_identity: no cross-run comparison is fair"
    else:
        where = "host_identity not recorded by every run: same machine not established"
    if diffs:
        listed = "; ".join(f"{k}: " + ", ".join(f"run {i + 1} {v}" for i, v in sorted(vals.items()))
                           for k, vals in diffs)
        out.append(("context-diff", "Runs differ in context",
                    f"{where}; differing keys: {listed}"))
    elif not (all(ids) and len(set(ids)) == 1):
        out.append(("context-diff", "Runs may not be comparable", where))
    params = _params_warning(runs)
    if params:
        out.append(params)
    return out
