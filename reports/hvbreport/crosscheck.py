"""The Cross-check section: the guest's and the host's figures for the
same exit side by side (issue 15), and host CPU per operation.

Two instruments time a one-exit micro-benchmark (micro/pio-out-user,
mmio-*, hypercall, cpuid, msr-*, hlt-wake ...): the guest times the whole
operation (its ns_per_op.p50: exit + the host's handling + entry), and a
host-side source of exits.csv times the host's share of it (results/
FORMAT.md: `vmm` the reference core's TSC from KVM_RUN's return to the next
KVM_RUN, `kvm-trace` paired kvm_exit/kvm_entry, `xentrace` VMEXIT to
VMENTRY) or only counts it (`kvm-stats`, kvm-trace's events).  Per micro-
benchmark, VM runner and source one row: the guest's p50, the exit reason
that operation provokes in that source (REASONS below, first candidate with
exits), its p50 and mean time per exit, exits per operation (count / ops)
and guest − host, the transition cost (exit + entry, for a one-exit
operation).  The verdict says where the two instruments disagree beyond
what the method allows (VERDICTS); such a row is flagged, never shown as
if it agreed.

Host CPU per operation: for the micro/ and mem/ workloads of VM runners,
the CPU time of the threads that served the guest over a repetition / its
operations: `host_cpu_ns_per_op` where the runner wrote it (io/, net/
only, so far), else counters.csv's `vcpu-threads.task-clock` and
`vmm-threads.task-clock` / the note's ops=N; where neither exists, the
counters' unsupported reason.
"""

import re

from . import markup, model, stats

# Exit reasons per micro-benchmark and source, most specific first.  A
# source absent from a workload's dict is not expected to see its exit
# (e.g. `vmm` for an exit handled in the host kernel): NOT_SEEN says why.
_PIO_OUT = ["vmx.io_instruction.pio_out", "svm.ioio.pio_out"]
_PIO_IN = ["vmx.io_instruction.pio_in", "svm.ioio.pio_in"]
_MMIO_W = ["vmx.ept_misconfig.mmio_write", "vmx.ept_violation.mmio_write",
           "svm.npf.mmio_write"]
_MMIO_R = ["vmx.ept_misconfig.mmio_read", "vmx.ept_violation.mmio_read", "svm.npf.mmio_read"]
_XEN_PIO = ["vmx.io_instruction", "svm.ioio"]
_XEN_MMIO = ["vmx.ept_misconfig", "vmx.ept_violation", "svm.npf"]
# kvm-stats: io_exits/mmio_exits where KVM bumps them; under PVM it never
# does and insn_emulation counts each trapped port or MMIO access instead.
_KS_PIO = ["io", "insn_emulation"]
_KS_MMIO = ["mmio", "insn_emulation"]
REASONS = {
    "micro/pio-out-user": {"vmm": ["userspace_io"], "kvm-stats": _KS_PIO,
                           "kvm-trace": _PIO_OUT + ["kvm_userspace_exit.io", "kvm_pio.pio_out"],
                           "xentrace": _XEN_PIO},
    "micro/pio-in-user": {"vmm": ["userspace_io"], "kvm-stats": _KS_PIO,
                          "kvm-trace": _PIO_IN + ["kvm_userspace_exit.io", "kvm_pio.pio_in"],
                          "xentrace": _XEN_PIO},
    "micro/pio-out-kernel": {"kvm-stats": _KS_PIO, "kvm-trace": _PIO_OUT + ["kvm_pio.pio_out"],
                             "xentrace": _XEN_PIO},
    "micro/mmio-write-user": {"vmm": ["userspace_mmio"], "kvm-stats": _KS_MMIO,
                              "kvm-trace": _MMIO_W + ["kvm_userspace_exit.mmio",
                                                      "kvm_mmio.mmio_write"],
                              "xentrace": _XEN_MMIO},
    "micro/mmio-read-user": {"vmm": ["userspace_mmio"], "kvm-stats": _KS_MMIO,
                             "kvm-trace": _MMIO_R + ["kvm_userspace_exit.mmio",
                                                     "kvm_mmio.mmio_read"],
                             "xentrace": _XEN_MMIO},
    "micro/mmio-write-kernel": {"kvm-stats": _KS_MMIO,
                                "kvm-trace": _MMIO_W + ["kvm_mmio.mmio_write"],
                                "xentrace": _XEN_MMIO},
    "micro/hypercall": {"kvm-stats": ["hypercall"],
                        "kvm-trace": ["vmx.vmcall", "svm.vmmcall", "kvm_hypercall"],
                        "xentrace": ["vmx.vmcall", "svm.vmmcall", "pv.hypercall.xen_version"]},
    # KVM has no per-kind statistic for cpuid or MSR exits: its total
    # stands in (every exit of the interval, so only an upper bound).
    "micro/cpuid": {"kvm-stats": ["total"],
                    "kvm-trace": ["vmx.cpuid", "svm.cpuid", "kvm_cpuid"],
                    "xentrace": ["vmx.cpuid", "svm.cpuid", "pv.forced_invalid_op"]},
    "micro/msr-read": {"vmm": ["userspace_x86_rdmsr"], "kvm-stats": ["total"],
                       "kvm-trace": ["vmx.msr_read", "svm.msr", "kvm_msr.read"],
                       "xentrace": ["vmx.msr_read", "svm.msr"]},
    "micro/msr-write": {"vmm": ["userspace_x86_wrmsr"], "kvm-stats": ["total"],
                        "kvm-trace": ["vmx.msr_write", "svm.msr", "kvm_msr.write"],
                        "xentrace": ["vmx.msr_write", "svm.msr"]},
    "micro/hlt-wake": {"vmm": ["userspace_hlt"], "kvm-stats": ["hlt"],
                       "kvm-trace": ["vmx.hlt", "svm.hlt", "kvm_userspace_exit.hlt"],
                       "xentrace": ["vmx.hlt", "svm.hlt"]},
}
WORKLOADS = list(REASONS)
SOURCE_ORDER = ("vmm", "kvm-trace", "xentrace", "kvm-stats")
NOT_SEEN = {"vmm": "handled in the host kernel: the exit never reaches the VMM in userspace "
                   "(the VMM's own rows here are the record exits)"}
# Why a source that can see an exit has none of it, where the cause is known.
NONE_WHY = {
    ("micro/hlt-wake", "vmm"): "hlt did not reach the VMM: with an in-kernel LAPIC (kvm's "
                               "split or kernel irqchip) KVM halts the vCPU in the kernel",
    ("micro/msr-read", "vmm"): "MSR accesses are handled in the host kernel unless the VMM "
                               "asks for them (KVM_CAP_X86_USER_SPACE_MSR)",
    ("micro/msr-write", "vmm"): "MSR accesses are handled in the host kernel unless the VMM "
                                "asks for them (KVM_CAP_X86_USER_SPACE_MSR)",
}
# The fallbacks that are not the exit's own kind: said beside the figure.
STAND_IN = {("kvm-stats", "insn_emulation"): "KVM's io/mmio counters stayed 0 (as under "
                                             "nested PVM): insn_emulation stands in",
            ("kvm-stats", "total"): "KVM has no per-kind counter for this exit: its total "
                                    "(every exit of the interval) stands in, an upper bound"}

# Exits per operation a one-exit operation may show: the interval of
# kvm-stats and vmm also holds the REP_END record's exit (and a few timer
# interrupts), so a little above 1.
PER_OP_LOW, PER_OP_HIGH = 0.9, 1.1
# qemu-kvm's kvm-stats are read over QMP around the records' console lines:
# the interval holds REP_END's line (about 530 port exits here, FORMAT.md)
# and may miss the first operations; exits beyond 1/op up to this many per
# repetition are within that method.
QMP_EXTRA_EXITS = 600
# The host's percentiles come from a log-linear histogram accurate to
# about 3 % (probes/lathist.h): a host p50 within that above the guest's
# is not a disagreement, only an unresolved transition.
HIST_PRECISION = 0.03

INTRO = ("The same exit seen by two instruments: the guest's p50 ns per operation "
         "(ns_per_op.p50, each repetition's median batch, then the median over repetitions) "
         "and the host's handling time for the exit that operation provokes, from the "
         "exits.csv source named in the row (vmm: the reference core's TSC from KVM_RUN's "
         "return to the next KVM_RUN; kvm-trace: kvm_exit to kvm_entry; xentrace: VMEXIT to "
         "VMENTRY; kvm-stats and kvm-trace's events count exits without timing them). host "
         "p50 is the median over repetitions of each repetition's p50 per exit, mean the "
         "total time over the timed exits; exits/op the median over repetitions of count / "
         "ops. guest − host (p50s) is what the host's figure does not cover: for a one-exit "
         "operation the transition, exit plus entry, and the guest's own instructions. "
         "Verdicts: consistent; DISAGREE where the host's time exceeds the guest's whole "
         "operation (beyond the histogram's 3 %) or exits per operation are far from 1 "
         "(outside 0.9-1.1; for qemu-kvm's QMP statistics after allowing 600 exits per "
         "repetition for its record lines); count only where the source has no times. "
         "Lower is better for every figure.")
CPU_INTRO = ("CPU time of the host threads that served the guest over a repetition, divided "
             "by its operations (median over repetitions), beside the guest's ns per "
             "operation: host_cpu_ns_per_op where the runner wrote it, else counters.csv's "
             "task-clock of the vCPU threads and of every VMM thread (vcpu-threads, "
             "vmm-threads) over the note's ops. Counters span REP_BEGIN..REP_END as hvbench "
             "saw the records, so under qemu-* they include sending the REP_END record "
             "(about 530 serial port exits, 20-27 ms of CPU here): an upper bound for short "
             "repetitions. host CPU / guest time near 1 means a thread was busy for the "
             "whole operation. Lower is better.")

_OPS = re.compile(r"\bops=([0-9]+)")


def _rows_of(run_index, runs, runner, workload):
    return [r for r in runs[run_index].exits
            if r["runner"] == runner and r["workload"] == workload]


def _per_op(rows):
    per = [r["count"] / r["ops"] for r in rows if r.get("ops")]
    return stats.median(per) if per else None


def _timed_count(row):
    """Exits the row's total_ns is over: the vmm rows of the record port
    (userspace_io) time every exit but REP_END's (FORMAT.md)."""
    if row.get("source") == "vmm" and row["reason"] == "userspace_io":
        return max(row["count"] - 1, 0)
    return row["count"]


class Check:
    """One micro-benchmark x VM series x exits.csv source."""

    def __init__(self, s, w, source, rows, run_rows):
        self.series, self.workload, self.source = s, w, source
        self.guest, self.guest_metric = _guest_p50(s, w)
        self.reason = self.note = None
        self.per_op = self.host_p50 = self.host_mean = self.diff = None
        self.timed = False
        cands = REASONS[w].get(source)
        if cands is None:
            self.verdict = "not expected"
            self.why = NOT_SEEN.get(source, f"{source} does not see this exit")
            return
        by_reason = {}
        for r in rows:
            by_reason.setdefault(r["reason"], []).append(r)
        self.reason = _pick_reason(source, cands, by_reason)
        if self.reason is None:
            self.verdict, self.why = "no data", _no_data_why(w, source, cands, by_reason,
                                                             run_rows)
            return
        mine = by_reason[self.reason]
        self.note = STAND_IN.get((source, self.reason))
        self.per_op = _per_op(mine)
        self.host_p50, self.host_mean = _host_times(mine)
        self.timed = self.host_p50 is not None or self.host_mean is not None
        host = self.host_p50 if self.host_p50 is not None else self.host_mean
        if host is not None and self.guest is not None:
            self.diff = self.guest - host
        self.verdict, self.why = self._judge(mine, host)

    def _judge(self, mine, host):
        """(verdict, why): DISAGREE beyond the method, else count only or
        consistent, with what the method allowed said."""
        disagree, notes = [], []
        if self.per_op is None:
            notes.append("exits per operation unknown (no ops column)")
        elif not PER_OP_LOW <= self.per_op <= PER_OP_HIGH:
            if self._within_qmp(mine):
                notes.append(f"{markup.fmt(self.per_op)} exits/op raw, within 1 once "
                             f"{QMP_EXTRA_EXITS} exits per repetition are allowed for "
                             f"QEMU's record lines inside the QMP interval")
            else:
                disagree.append(f"{markup.fmt(self.per_op)} exits per operation, not one: "
                                f"{_per_op_why(self)}")
        if host is not None and self.guest is not None:
            if host > self.guest * (1 + HIST_PRECISION):
                disagree.append("the host's time per exit exceeds the guest's whole "
                                "operation, which contains it")
            elif host > self.guest:
                notes.append("host and guest equal within the histogram's 3 %: the transition "
                             "is not resolved")
        elif self.guest is None:
            notes.append("no guest figure")
        if disagree:
            return "DISAGREE", "; ".join(disagree)
        if not self.timed:
            return "count only", "; ".join(
                [f"{self.source} counts these exits without timing them"] + notes)
        return "consistent", "; ".join(notes)

    def _within_qmp(self, mine):
        if not self.series.runner.startswith("qemu") or self.source != "kvm-stats":
            return False
        per = [(r["count"] - QMP_EXTRA_EXITS) / r["ops"] for r in mine if r.get("ops")]
        return bool(per) and stats.median(per) <= PER_OP_HIGH and self.per_op >= PER_OP_LOW


def _pick_reason(source, cands, by_reason):
    """The first candidate with exits; else, for a source that counts every
    exit (not kvm-trace, whose events may simply not fire), the first it
    recorded as 0: 0 exits per operation is then its measurement."""
    for c in cands:
        if sum(r["count"] for r in by_reason.get(c, [])) > 0:
            return c
    if source == "kvm-trace":
        return None
    return next((c for c in cands if c in by_reason), None)


def _host_times(rows):
    """(median over repetitions of p50_ns, total_ns over the timed exits),
    each None where the rows do not have it."""
    timed = [r for r in rows if r["total_ns"] is not None and _timed_count(r) > 0]
    mean = (sum(r["total_ns"] for r in timed) / sum(_timed_count(r) for r in timed)
            if timed else None)
    lat = [r["p50_ns"] for r in rows if r.get("p50_ns") is not None]
    return (stats.median(lat) if lat else None), mean


def _no_data_why(w, source, cands, by_reason, run_rows):
    why = NONE_WHY.get((w, source)) or _why_none(source, cands, by_reason, run_rows)
    total = _per_op(by_reason.get("total", []))
    if total is not None:
        why += f" (all exits of the interval: {markup.fmt(total)} per operation)"
    return why


def _guest_p50(s, w):
    for m in ("ns_per_op.p50", "ns_per_op"):
        v = s.median(w, m)
        if v is not None:
            return v, m
    return None, None


def _per_op_why(c):
    if c.per_op < PER_OP_LOW:
        pvm = "pvm" in c.series.run.meta.get("nesting", "").lower()
        return ("most operations did not exit where this source sees them (an exit the "
                "hypervisor absorbs, or a guest that does not trap here)"
                + ("; nested PVM handles ring-3 cpuid and vmmcall without a KVM exit"
                   if pvm and c.workload in ("micro/cpuid", "micro/hypercall") else ""))
    if c.note:
        return "the stand-in counts more than this exit"
    return "the operation provokes several exits of this kind (or others share the reason)"


def _why_none(source, cands, by_reason, run_rows):
    """Why a source has no exits of the expected reason for the workload."""
    if source == "kvm-trace":
        paired = any(r["source"] == "kvm-trace" and r["reason"].startswith(("vmx.", "svm."))
                     for r in run_rows)
        if not paired:
            return ("no kvm_exit/kvm_entry pairs in this run, so no host time (they do not "
                    "fire under nested PVM: README, What fires here); and none of "
                    + ", ".join(c for c in cands if not c.startswith(("vmx.", "svm.")))
                    + " either")
    zero = [c for c in cands if c in by_reason]
    if zero:
        return f"{', '.join(zero)}: 0 in every repetition"
    return f"no {' / '.join(cands)} rows"


def _vm_series(rep):
    return [s for s in rep.series if not model.is_native(s.runner)]


def _sources(rows):
    found = {r.get("source") or "unknown" for r in rows}
    return [x for x in SOURCE_ORDER if x in found] + sorted(found - set(SOURCE_ORDER))


class Missing:
    """A micro-benchmark x VM series with no exits.csv rows at all."""

    def __init__(self, s, w):
        self.series, self.workload = s, w
        self.guest, self.guest_metric = _guest_p50(s, w)
        st, reason = model.cell_status(s, w)
        if st not in ("ok", "partly"):
            self.why = f"{st}: {reason}"
        else:
            self.why = "no exits.csv rows: this runner recorded no exits for the workload"


class HostCpu:
    """One micro/ or mem/ workload x VM series: host CPU ns per operation."""

    def __init__(self, s, w, counters):
        self.series, self.workload = s, w
        self.guest = s.median(w, "ns_per_op")
        self.sampled = s.median(w, "host_cpu_ns_per_op")
        self.vcpu, self.vcpu_why = _clock_per_op(counters, "vcpu-threads")
        self.vmm, self.vmm_why = _clock_per_op(counters, "vmm-threads")

    def __bool__(self):
        return any(x is not None for x in (self.sampled, self.vcpu, self.vmm))


def _clock_per_op(counters, scope):
    """(median ns per op of scope.task-clock, None) or (None, why)."""
    ok = [r for r in counters if r["event"] == scope + ".task-clock" and r["status"] == "ok"]
    per = []
    for r in ok:
        m = _OPS.search(r["note"])
        if m and int(m.group(1)) > 0 and r["value"] is not None:
            per.append(r["value"] / int(m.group(1)))
    if per:
        return stats.median(per), None
    bad = [r for r in counters if r["event"] in (scope, scope + ".task-clock")
           and r["status"] != "ok"]
    if not bad and not ok:   # kvm under seccomp: one vmm-threads row says why for both
        bad = [r for r in counters if r["event"] == "vmm-threads" and r["status"] != "ok"]
    if bad:
        return None, f"{bad[0]['status']}: {bad[0]['note']}"
    if ok:
        return None, "task-clock rows without ops=N in their note"
    return None, "no counters.csv rows for it"


class Section:
    def __init__(self, rep):
        present = set(rep.workloads)
        self.workloads = [w for w in WORKLOADS if w in present]
        self.checks = []   # Check or Missing, in workload then series order
        for w in self.workloads:
            for s in _vm_series(rep):
                if model.cell_status(s, w)[0] == "n/a":
                    continue
                rows = _rows_of(s.run_index, rep.runs, s.runner, w)
                if not rows:
                    self.checks.append(Missing(s, w))
                    continue
                run_rows = rep.runs[s.run_index].exits
                for src in _sources(rows):
                    mine = [r for r in rows if (r.get("source") or "unknown") == src]
                    if src in REASONS[w] or src in NOT_SEEN:
                        self.checks.append(Check(s, w, src, mine, run_rows))
        self.cpu = []
        for w in rep.workloads:
            if model.family(w) not in ("micro", "mem"):
                continue
            for s in _vm_series(rep):
                if w not in s.workloads or w == model.BOUND_WORKLOAD:
                    continue
                cnt = [r for r in rep.runs[s.run_index].counters
                       if r["runner"] == s.runner and r["workload"] == w]
                self.cpu.append(HostCpu(s, w, cnt))

    @property
    def disagreements(self):
        return [c for c in self.checks if getattr(c, "verdict", "") == "DISAGREE"]

    def __bool__(self):
        return bool(self.checks or self.cpu)


def build(rep):
    return Section(rep)


def nav_items(rep):
    return [("crosscheck", "Cross-check")] if rep.crosscheck else []


def ns(x):
    if x is None:
        return "—"
    return f"{markup.fmt(x / 1000)} µs" if abs(x) >= 10000 else f"{markup.fmt(x)} ns"


def _val(x):
    return repr(x) if x is not None else None


# ------------------------------------------------------------------- HTML

def _guest_html(c, common):
    r = markup
    if c.guest is None:
        st, why = model.cell_status(c.series, c.workload)
        return (f'<td{r.data_attrs(**common, kind="xc-guest", status=st)}>'
                f'{r.status_badge(st, why)} <span class=ci>{r.esc(why)}</span></td>')
    return (f'<td class=n{r.data_attrs(**common, kind="xc-guest", metric=c.guest_metric, value=_val(c.guest))}>'
            f'{r.esc(ns(c.guest))}</td>')


def _guest_md(c):
    if c.guest is None:
        return "%s: %s" % model.cell_status(c.series, c.workload)
    return ns(c.guest)


def _check_html(c):
    r = markup
    s, w = c.series, c.workload
    common = dict(runner=s.label, workload=w)
    guest = _guest_html(c, common)
    if isinstance(c, Missing):
        return (f'<tr><td class=mono>{r.esc(w)}</td><td>{r.runner_head(s)}</td>{guest}'
                f'<td colspan=6{r.data_attrs(**common, kind="xc-missing")}>'
                f'<span class=ci>{r.esc(c.why)}</span></td></tr>')
    src = dict(common, source=c.source)
    if c.reason is None:
        return (f'<tr><td class=mono>{r.esc(w)}</td><td>{r.runner_head(s)}</td>{guest}'
                f'<td>{r.esc(c.source)}</td><td colspan=4{r.data_attrs(**src, kind="xc-none", verdict=c.verdict)}>'
                f'<span class=ci>{r.esc(c.why)}</span></td>'
                f'<td><span class="st st-skipped">{r.esc(c.verdict)}</span></td></tr>')
    reason = f'<span class=mono>{r.esc(c.reason)}</span>'
    if c.note:
        reason += f' <span title="{r.esc(c.note)}">ⓘ</span><br><span class=ci>{r.esc(c.note)}</span>'
    host = (f'<td class=n{r.data_attrs(**src, kind="xc-host-p50", value=_val(c.host_p50))}>'
            f'{r.esc(ns(c.host_p50))}<br><span class=ci{r.data_attrs(**src, kind="xc-host-mean", value=_val(c.host_mean))}>'
            f'mean {r.esc(ns(c.host_mean))}</span></td>' if c.timed else
            f'<td class=n{r.data_attrs(**src, kind="xc-host-p50")}><span class=ci>not timed</span></td>')
    per_op = (f'<td class=n{r.data_attrs(**src, kind="xc-per-op", value=_val(c.per_op))}>'
              f'{r.esc(markup.fmt(c.per_op))}</td>')
    diff = (f'<td class=n{r.data_attrs(**src, kind="xc-diff", value=_val(c.diff))}>'
            f'{r.esc(ns(c.diff))}</td>')
    cls = {"DISAGREE": "st-failed", "consistent": "st-ok"}.get(c.verdict, "st-partly")
    verdict = (f'<td{r.data_attrs(**src, kind="xc-verdict", verdict=c.verdict)}>'
               f'<span class="st {cls}">{r.esc(c.verdict)}</span>'
               + (f'<br><span class=ci>{r.esc(c.why)}</span>' if c.why else "") + '</td>')
    return (f'<tr><td class=mono>{r.esc(w)}</td><td>{r.runner_head(s)}</td>{guest}'
            f'<td>{r.esc(c.source)}</td><td>{reason}</td>{host}{per_op}{diff}{verdict}</tr>')


SAMPLED_WHY = "not written for this workload (the runners write it for io/ and net/ only)"


class Notes:
    """Reasons said once under a table: a cell shows n/a [k]."""

    def __init__(self):
        self.texts = []

    def ref(self, why):
        if why not in self.texts:
            self.texts.append(why)
        return self.texts.index(why) + 1


def _cpu_columns(sec):
    """(name, kind, attribute, why attribute) of the host CPU table; the
    host_cpu_ns_per_op column only where some row has it."""
    cols = [("vCPU threads CPU / op", "xc-cpu-vcpu", "vcpu", "vcpu_why"),
            ("all VMM threads CPU / op", "xc-cpu-vmm", "vmm", "vmm_why")]
    if any(x.sampled is not None for x in sec.cpu):
        cols.insert(0, ("host_cpu_ns_per_op", "xc-cpu-sampled", "sampled", None))
    return cols


def _cpu_html(x, cols, notes):
    r = markup
    s, w = x.series, x.workload
    common = dict(runner=s.label, workload=w)
    head = f'<tr><td class=mono>{r.esc(w)}</td><td>{r.runner_head(s)}</td>'
    if x.guest is None and not x:
        st, why = model.cell_status(s, w)
        return (head + f'<td colspan={len(cols) + 1}{r.data_attrs(**common, kind="xc-cpu-missing", status=st)}>'
                f'{r.status_badge(st, why)} <span class=ci>{r.esc(why)}</span></td></tr>')
    cells = [f'<td class=n>{r.esc(ns(x.guest))}</td>']
    for _name, kind, attr, why_attr in cols:
        v = getattr(x, attr)
        if v is None:
            why = getattr(x, why_attr) if why_attr else SAMPLED_WHY
            cells.append(f'<td{r.data_attrs(**common, kind=kind)} title="{r.esc(why)}">'
                         f'<span class=ci>n/a [{notes.ref(why)}]</span></td>')
            continue
        ratio = f'<br><span class=ci>{v / x.guest:.2f} × guest time</span>' if x.guest else ""
        cells.append(f'<td class=n{r.data_attrs(**common, kind=kind, value=_val(v))}>'
                     f'{r.esc(ns(v))}{ratio}</td>')
    return head + "".join(cells) + '</tr>'


def _cpu_table_html(sec):
    r = markup
    cols, notes = _cpu_columns(sec), Notes()
    body = "".join(_cpu_html(x, cols, notes) for x in sec.cpu)
    out = ['<table id="host-cpu-table"><thead><tr><th>workload</th><th>runner</th>'
           '<th class=n>guest ns/op</th>' + "".join(f"<th>{r.esc(c[0])}</th>" for c in cols)
           + f'</tr></thead><tbody>{body}</tbody></table>']
    if not any(c[2] == "sampled" for c in cols):
        out.append(f'<p class="small">host_cpu_ns_per_op: {r.esc(SAMPLED_WHY)}.</p>')
    if notes.texts:
        out.append('<ol class="small" id="host-cpu-notes">'
                   + "".join(f"<li>{r.esc(t)}</li>" for t in notes.texts) + '</ol>')
    return "\n".join(out)


def html(rep):
    sec = rep.crosscheck
    if not sec:
        return ""
    r = markup
    out = ['<h2 id="crosscheck">Cross-check: guest and host instruments</h2>',
           f'<p class="mut">{r.esc(INTRO)}</p>']
    if sec.disagreements:
        out.append('<p id="crosscheck-disagree"><span class="st st-failed">DISAGREE</span> '
                   f'The instruments disagree beyond what the method allows in '
                   f'{len(sec.disagreements)} row(s): '
                   + r.esc("; ".join(f"{c.workload} {c.series.label} {c.source}"
                                     for c in sec.disagreements)) + '</p>')
    if sec.checks:
        out.append('<table id="crosscheck-table"><thead><tr><th>workload</th><th>runner</th>'
                   '<th class=n>guest p50<br><span class=dir>ns/op, ↓</span></th>'
                   '<th>source</th><th>host reason</th>'
                   '<th class=n>host p50<br><span class=dir>ns/exit, ↓</span></th>'
                   '<th class=n>exits / op</th>'
                   '<th class=n>guest − host<br><span class=dir>transition, ns</span></th>'
                   '<th>verdict</th></tr></thead><tbody>'
                   + "".join(_check_html(c) for c in sec.checks) + '</tbody></table>')
    if sec.cpu:
        out += ['<h3 id="host-cpu">Host CPU per operation</h3>',
                f'<p class="mut">{r.esc(CPU_INTRO)}</p>', _cpu_table_html(sec)]
    return "\n".join(out)


# --------------------------------------------------------------- Markdown

def _md_row(c):
    if isinstance(c, Missing):
        return [c.workload, c.series.label, _guest_md(c), "—", "—", "—", "—", "—", c.why]
    if c.reason is None:
        return [c.workload, c.series.label, _guest_md(c), c.source, "—", "—", "—", "—",
                f"{c.verdict}: {c.why}"]
    host = (f"{ns(c.host_p50)} (mean {ns(c.host_mean)})" if c.timed else "not timed")
    reason = c.reason + (f" ({c.note})" if c.note else "")
    return [c.workload, c.series.label, _guest_md(c), c.source, reason, host,
            markup.fmt(c.per_op), ns(c.diff), c.verdict + (f": {c.why}" if c.why else "")]


def markdown(rep):
    sec = rep.crosscheck
    if not sec:
        return []
    r = markup
    out = ["", "## Cross-check: guest and host instruments", "", INTRO, ""]
    if sec.disagreements:
        out += [f"**Disagreements beyond the method**: {len(sec.disagreements)} row(s).", ""]
    if sec.checks:
        out.append(r.md_table(["workload", "runner", "guest p50", "source", "host reason",
                               "host p50 per exit", "exits/op", "guest − host", "verdict"],
                              [_md_row(c) for c in sec.checks]))
    if sec.cpu:
        out += ["", "### Host CPU per operation", "", CPU_INTRO, ""] + _cpu_md(sec)
    return out


def _cpu_md(sec):
    cols, notes = _cpu_columns(sec), Notes()
    rows = []
    for x in sec.cpu:
        row = [x.workload, x.series.label]
        if x.guest is None and not x:
            rows.append(row + ["%s: %s" % model.cell_status(x.series, x.workload)]
                        + [""] * len(cols))
            continue
        row.append(ns(x.guest))
        for _name, _kind, attr, why_attr in cols:
            v = getattr(x, attr)
            why = (getattr(x, why_attr) if why_attr else SAMPLED_WHY) if v is None else None
            row.append(ns(v) if v is not None else f"n/a [{notes.ref(why)}]")
        rows.append(row)
    out = [markup.md_table(["workload", "runner", "guest ns/op"] + [c[0] for c in cols], rows)]
    if not any(c[2] == "sampled" for c in cols):
        out += ["", f"host_cpu_ns_per_op: {SAMPLED_WHY}."]
    out += [""] + [f"{i + 1}. {t}" for i, t in enumerate(notes.texts)]
    return out
