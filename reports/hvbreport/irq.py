"""The Interrupts section (micro/ipi-self ... micro/io-kick, issue 14) and
the SMP scaling view (workloads with <metric>.smpN rows).

Interrupts: one table laid out like Dall et al. (ISCA 2016), rows the
operations, columns the runners; each cell the median over repetitions of
the per-operation p50 and p99 (req_ns.* where the workload timed every
operation, else ns_per_op and the batches' ns_per_op.p99), the mechanism
from the sample note (x2APIC, xAPIC, Xen event channels, a native
analogue), and the cell's status and reason where it has no number.  Any
further `*.p50` metric of a workload (the parts workloads/micro/irq.c
times with rt_req_part: deliver_ns.p50 of the IPIs, send -> the
receiving handler; kick_ns.p50 and host_ns.p50 of micro/virq-inject, the
guest's kick -> the host's receipt -> its inject, before the injection
that req_ns times) is shown under its numbers as the split.

SMP scaling: per workload and runner, the one-CPU figure (<metric>), the
N-CPU aggregate (<metric>.smpN) and the efficiency: aggregate / (N x
one-CPU) for a rate (higher is better: bandwidth, ops/s); for a time per
operation (lower is better; the harness's aggregate is the mean over the
CPUs) the same throughput ratio, one-CPU / aggregate.  A run whose meta
says `overcommit` (more vCPUs than host CPUs) is labelled so.
"""

import re

from . import markup, model

# (workload, operation as the table names it, Dall et al.'s / kvm-unit-tests' counterpart)
OPERATIONS = [
    ("micro/ipi-self", "self-IPI (send → handler → EOI)",
     "kvm-unit-tests self_ipi_sti_nop, x2apic_self_ipi_sti_nop"),
    ("micro/ipi-self-hlt", "self-IPI with interrupts off, then sti; hlt (ended by it)",
     "kvm-unit-tests self_ipi_sti_hlt"),
    ("micro/ipi-self-tpr", "self-IPI held by the TPR, delivered by lowering it",
     "kvm-unit-tests self_ipi_tpr, self_ipi_tpr_sti_nop"),
    ("micro/ipi", "IPI round trip, target spinning", "Dall: virtual IPI; kvm-unit-tests ipi"),
    ("micro/ipi-halted", "IPI round trip, target halted", "kvm-unit-tests ipi_halt"),
    ("micro/apic-read", "interrupt-controller register read (trap)",
     "Dall: interrupt controller trap; kvm-unit-tests apic*"),
    ("micro/eoi", "EOI", "Dall: virtual IRQ completion; kvm-unit-tests eoi"),
    ("micro/tpr-write", "TPR / CR8 write", "kvm-unit-tests mov_to_cr8"),
    ("micro/tpr-read", "TPR / CR8 read", "kvm-unit-tests mov_from_cr8"),
    ("micro/timer-arm", "one-shot timer arm (TSC-deadline)", "kvm-unit-tests tscdeadline"),
    ("micro/timer-latency", "timer deadline → handler", "kvm-unit-tests tscdeadline_immed"),
    ("micro/virq-inject", "virtual IRQ injection: host → guest handler",
     "Dall: I/O latency in"),
    ("micro/io-kick", "I/O kick: guest → host receipt", "Dall: I/O latency out"),
    ("micro/msr-write-gsbase", "wrmsr IA32_KERNEL_GS_BASE (usually passed through)",
     "kvm-unit-tests wr_kernel_gs_base"),
    ("micro/pause-loop", "one pause of a pause loop (pause-loop exiting)",
     "kvm-unit-tests ple_round_robin"),
]
WORKLOADS = [w for w, _op, _c in OPERATIONS]
LATENCY = (("req_ns.p50", "req_ns.p99"), ("ns_per_op", "ns_per_op.p99"))
SMP_RE = re.compile(r"^(?P<base>.+)\.smp(?P<n>[0-9]+)$")
# What the harness puts before the cell's note on req_ns rows (results/FORMAT.md)
REQ_COUNT_RE = re.compile(r"^[0-9]+ request times( kept of [0-9]+ \(HVB_REQ_MAX\))?(; |$)")

INTRO = ("Interrupt costs per operation, rows the operations and columns the runners, laid "
         "out like Dall et al.'s table (ISCA 2016; the counterpart column names theirs and "
         "kvm-unit-tests' x86/vmexit.c): p50 and p99 of each operation's own latency "
         "(req_ns.*, where the workload timed every operation; else ns_per_op, the mean "
         "per operation, and the p99 of its batches), each the median over repetitions; "
         "the mechanism is the sample note's; the split (delivery to the handler; the "
         "lowering TPR write to the handler; the kick and the host's turnaround before an "
         "injection) is shown where the workload "
         "gave it. Lower is better. The host's "
         "interrupt features (host.irq.* in meta.csv) follow the table.")
SMP_INTRO = ("Workloads that ran on every vCPU (or worker thread) at once: the one-CPU figure, "
             "the N-CPU aggregate (<metric>.smpN: summed rates, or the mean time per "
             "operation) and the efficiency, aggregate / (N × one-CPU) for rates, one-CPU / "
             "aggregate for times (1 = perfect scaling). Medians over repetitions.")


class Cell:
    """One runner x operation: p50/p99 (Stat-like (median, metric, unit)), mechanism, split."""

    def __init__(self, s, w):
        self.series, self.workload = s, w
        self.status, self.reason = model.cell_status(s, w)
        self.p50 = self.p99 = None
        self.source = None
        for p50, p99 in LATENCY:
            if s.median(w, p50) is not None:
                self.p50, self.source = s.median(w, p50), p50
                self.p99 = s.median(w, p99)
                break
        # the notes of the metrics shown, without the harness's request
        # count that starts every req_ns note (it differs per repetition)
        shown = [m for m in ("ns_per_op", self.source) if m and (w, m) in s.notes]
        mechs = {REQ_COUNT_RE.sub("", n) for m in shown for n in s.notes[(w, m)]}
        self.mech = "; ".join(sorted(n for n in mechs if n))
        self.split = [(m.rsplit(".", 1)[0], s.median(w, m)) for m in s.metrics.get(w, [])
                      if m.endswith(".p50") and not m.startswith(("req_ns.", "ns_per_op."))]


class Scaling:
    """One runner x workload x metric x N of the SMP view."""

    def __init__(self, s, w, base, n, better):
        self.series, self.workload, self.metric, self.n = s, w, base, n
        self.one = s.median(w, base)
        self.agg = s.median(w, f"{base}.smp{n}")
        self.per_cpu = s.median(w, f"{base}.smp{n}.per_cpu")
        self.better = better
        self.eff = None
        if self.one and self.agg:
            self.eff = (self.agg / (n * self.one) if better == "higher"
                        else self.one / self.agg)
        self.overcommit = overcommitted(s.run.meta)


def overcommitted(meta):
    v = meta.get("overcommit", "")
    return v if v and not model.falsy(v) else ""


class Section:
    def __init__(self, rep):
        self.series = rep.series
        present = set(rep.workloads)
        self.operations = [(w, op, c) for w, op, c in OPERATIONS if w in present]
        self.cells = {(s.key, w): Cell(s, w) for s in self.series for w, _o, _c in self.operations}
        self.host = host_irq(rep.runs)
        self.scaling = []
        for w in rep.workloads:
            for s in self.series:
                for m in s.metrics.get(w, []):
                    g = SMP_RE.match(m)
                    if g and (w, g["base"]) in s.unit:
                        self.scaling.append(Scaling(s, w, g["base"], int(g["n"]),
                                                    s.unit[(w, g["base"])][1]))

    def __bool__(self):
        return bool(self.operations)


def host_irq(runs):
    """[(key, [value per run])] of the host.irq.* meta keys, in the runs' order."""
    keys = sorted({k for r in runs for k in r.meta if k.startswith("host.irq.")})
    return [(k, [r.meta.get(k, "(not recorded)") for r in runs]) for k in keys]


def build(rep):
    return Section(rep)


def nav_items(rep):
    return ([("irq", "Interrupts")] if rep.irq else []) + ([("smp", "SMP scaling")]
                                                          if rep.irq.scaling else [])


def ns(x):
    return "—" if x is None else (f"{markup.fmt(x / 1000)} µs" if x >= 10000
                                  else f"{markup.fmt(x)} ns")


# ------------------------------------------------------------------- HTML

def _cell_html(c):
    r = markup
    s, w = c.series, c.workload
    if c.p50 is None:
        attrs = r.data_attrs(runner=s.label, workload=w, kind="irq-missing", status=c.status)
        return (f'<td><span{attrs}>{r.status_badge(c.status, c.reason)}</span> '
                f'<span class="ci">{r.esc(c.reason)}</span></td>')
    out = [f'<b{r.data_attrs(runner=s.label, workload=w, kind="irq-p50", metric=c.source, value=repr(c.p50))}>'
           f'{r.esc(ns(c.p50))}</b>',
           f' <span class="ci"{r.data_attrs(runner=s.label, workload=w, kind="irq-p99", value=repr(c.p99) if c.p99 is not None else None)}>'
           f'p99 {r.esc(ns(c.p99))}</span>']
    if c.source != "req_ns.p50":
        out.append(' <span class="ci">(mean per op; p99 of batches)</span>')
    for name, v in c.split:
        out.append(f'<br><span class="ci"{r.data_attrs(runner=s.label, workload=w, kind="irq-split", metric=name, value=repr(v) if v is not None else None)}>'
                   f'{r.esc(name)} p50 {r.esc(ns(v))}</span>')
    if c.mech:
        out.append(f'<br><span class="small"{r.data_attrs(runner=s.label, workload=w, kind="irq-mech")}>'
                   f'{r.esc(c.mech)}</span>')
    if c.status == "partly":
        out.append(f'<br>{r.status_badge("partly", c.reason)}')
    return "<td>" + "".join(out) + "</td>"


def _table_html(sec):
    r = markup
    head = "".join(f"<th>{r.runner_head(s)}</th>" for s in sec.series)
    rows = []
    for w, op, counterpart in sec.operations:
        rows.append(f'<tr><td><b>{r.esc(op)}</b><br><span class="ci">{r.esc(w)}</span></td>'
                    f'<td class="small">{r.esc(counterpart)}</td>'
                    + "".join(_cell_html(sec.cells[(s.key, w)]) for s in sec.series) + "</tr>")
    return (f'<table class="irq"><tr><th>operation</th><th>counterpart</th>{head}</tr>'
            + "".join(rows) + "</table>")


def _host_html(sec):
    r = markup
    if not sec.host:
        return '<p class="small">host.irq.*: not recorded (a run from before these keys).</p>'
    n = len(sec.host[0][1])
    head = "".join(f"<th>run {i + 1}</th>" for i in range(n))
    rows = "".join(f"<tr><td>{r.esc(k)}</td>" + "".join(f"<td class=small>{r.esc(v)}</td>"
                                                       for v in vals) + "</tr>"
                   for k, vals in sec.host)
    return f'<table class="irq-host"><tr><th>host feature</th>{head}</tr>{rows}</table>'


def _scaling_html(sec):
    r = markup
    rows = []
    for x in sec.scaling:
        s = x.series
        unit = s.unit[(x.workload, x.metric)][0]
        eff = (f'<b{r.data_attrs(runner=s.label, workload=x.workload, kind="smp-eff", metric=x.metric, n=str(x.n), value=repr(x.eff))}>'
               f'{x.eff:.2f}</b>' if x.eff is not None else "—")
        label = r.esc(s.label) + (f' <span class="st st-partly" title="{r.esc(x.overcommit)}">'
                                  f'overcommitted</span>' if x.overcommit else "")
        rows.append(f"<tr><td>{r.esc(x.workload)}</td><td>{label}</td><td>{r.esc(x.metric)} "
                    f"({r.esc(unit)}, {r.esc(x.better)} is better)</td>"
                    f"<td>{r.esc(markup.fmt(x.one))}</td><td>{x.n}</td>"
                    f'<td{r.data_attrs(runner=s.label, workload=x.workload, kind="smp-agg", n=str(x.n), value=repr(x.agg) if x.agg is not None else None)}>'
                    f"{r.esc(markup.fmt(x.agg))}</td><td>{r.esc(markup.fmt(x.per_cpu))}</td>"
                    f"<td>{eff}</td></tr>")
    return ('<table class="smp"><tr><th>workload</th><th>runner</th><th>metric</th>'
            '<th>1 CPU</th><th>N</th><th>N-CPU aggregate</th><th>per CPU</th>'
            '<th>efficiency</th></tr>' + "".join(rows) + "</table>")


def html(rep):
    sec = rep.irq
    out = []
    if sec:
        out += ['<h2 id="irq">Interrupts</h2>', f'<p class="mut">{markup.esc(INTRO)}</p>',
                _table_html(sec), _host_html(sec)]
    if sec.scaling:
        out += ['<h2 id="smp">SMP scaling</h2>', f'<p class="mut">{markup.esc(SMP_INTRO)}</p>',
                _scaling_html(sec)]
    return "\n".join(out)


# --------------------------------------------------------------- Markdown

def _md_cell(c):
    if c.p50 is None:
        return f"{c.status}: {c.reason}"
    text = f"{ns(c.p50)} (p99 {ns(c.p99)})"
    if c.source != "req_ns.p50":
        text += " mean/op"
    text += "".join(f"; {name} p50 {ns(v)}" for name, v in c.split)
    return text + (f"; {c.mech}" if c.mech else "")


def markdown(rep):
    sec = rep.irq
    r = markup
    out = []
    if sec:
        out += ["", "## Interrupts", "", INTRO, "",
                r.md_table(["operation", "counterpart"] + [s.label for s in sec.series],
                           [[f"{op} ({w})", c] + [_md_cell(sec.cells[(s.key, w)])
                                                  for s in sec.series]
                            for w, op, c in sec.operations])]
        if sec.host:
            out += ["", r.md_table(["host feature"] + [f"run {i + 1}"
                                                       for i in range(len(sec.host[0][1]))],
                                   [[k] + vals for k, vals in sec.host])]
    if sec.scaling:
        out += ["", "## SMP scaling", "", SMP_INTRO, "",
                r.md_table(["workload", "runner", "metric", "1 CPU", "N", "N-CPU aggregate",
                            "per CPU", "efficiency"],
                           [[x.workload, x.series.label + (" (overcommitted)" if x.overcommit
                                                           else ""),
                             x.metric, r.fmt(x.one), str(x.n), r.fmt(x.agg), r.fmt(x.per_cpu),
                             f"{x.eff:.2f}" if x.eff is not None else "—"]
                            for x in sec.scaling])]
    return out
