"""The report's network section: net/* workloads, runner by runner.

What it sets side by side, per net workload and series (native first, then
kvm and its variants, qemu-kvm and its variants, Xen): the workload's
primary metric (time per round trip for net/udp-rr-64, packets/s for the
pps workloads, Gbit/s for the streams) with the interval of its median, the
loss right beside it (lost datagrams, loss %, reordered: any loss in any
repetition is flagged, so a throughput figure never stands without the loss
it was measured with), the slowdown vs native, the round-trip percentiles,
exits and device notifications per packet, and the CPU per packet of the
host threads that served the VM and of the responder.  Every number comes
from `hvbench summarize` (via model.Series) or, for exits, from exits.csv
through model.exit_classes; only the unit shown changes (ns -> µs, MB/s ->
Gbit/s = MB/s x 8 / 1000, ops/s -> packets/s).  A value that is not there
is a section.Missing with its status and reason, never a 0 or a blank.

Also what carried the frames (meta runner.<r>.net, .net_backend,
.net_notify, net.*) and the warnings a reader needs: datagrams were lost,
or the runs set side by side carried frames differently.  The in-VMM
loopback (kvm-loop) crosses no host stack: its rows and its slowdown say
so, so no reader takes it for the path native crossed.
"""

from . import markup, model, section
from .io import NaNotes, common_note, stat
from .section import NOT_RECORDED, Missing, Stat

FAMILY = "net"
KIND = "net"     # data-kind prefix (section.py)
PER = "packet"   # what an exit count is per
RR = "net/udp-rr-64"
FUNCTIONAL = ("net/verify",)      # content checks: no loss counted (workload.h)
# Reading order: latency, rates, streams, then the functional check.
WORKLOAD_ORDER = [RR, "net/tx-pps-64", "net/rx-pps-64", "net/tx-stream-1500",
                  "net/rx-stream-1500", "net/verify"]
LATENCY = ("req_ns.p50", "req_ns.p99", "req_ns.p999", "req_ns.max")
LOSS, LOSS_PCT, REORDERED = "lost", "loss_pct", "reordered"
HOST_CPU, PEER_CPU, NOTIFIES = "host_cpu_ns_per_op", "peer_cpu_ns_per_op", "notifies_per_op"
# The runners of issue 13 in the order a reader compares them: the baseline,
# the reference core with its back-ends, QEMU with and without vhost, Xen.
RUNNER_ORDER = ["native", "kvm", "kvm-vhost", "kvm-loop", "qemu-kvm", "qemu-kvm-vhost",
                "xen-pvh", "xen-pv", "xen-hvm", "qemu-tcg"]
LOOPBACK_TEXT = "in-VMM loopback, no host stack"
LOOPBACK_WHY = ("the core reflects each frame back inside the VMM: no tap, no host network "
                "stack, no responder, so it is not the path native crosses")
NET_KEYS = ("net.netns", "net.link", "net.peer", "net.guest_ip", "net.peer_ip")
PLAIN_NOTES = ("", "guest ring 3", "ring 3")
LOSS_BG = ' style="background:#ffebe9"'


def net_workloads(workloads):
    """The net/* workloads in the order they are read: latency, rates, streams,
    then the functional check (workloads not named here follow, sorted)."""
    def rank(w):
        return (WORKLOAD_ORDER.index(w) if w in WORKLOAD_ORDER else len(WORKLOAD_ORDER), w)
    return sorted((w for w in workloads if model.family(w) == FAMILY), key=rank)


def net_key(runner):
    return f"runner.{runner}.net"


def backend_key(runner):
    return f"runner.{runner}.net_backend"


def notify_key(runner):
    return f"runner.{runner}.net_notify"


def runner_rank(runner):
    return (RUNNER_ORDER.index(runner) if runner in RUNNER_ORDER else len(RUNNER_ORDER), runner)


def is_loopback(s):
    """The in-VMM loopback: by its back-end in meta, else by the runner's name."""
    meta = s.run.meta
    backend = meta.get(backend_key(s.runner))
    if backend is not None:
        return backend.strip().lower() in ("loopback", "loop")
    return s.runner == "kvm-loop" or "backend=loopback" in meta.get(net_key(s.runner), "")


def label(s):
    """The series' name with its notify mode where the runner records one."""
    mode = s.run.meta.get(notify_key(s.runner))
    return f"{s.label} · notify={mode}" if mode else s.label


# ------------------------------------------------------------------ units

def shown_unit(metric, unit):
    """(factor, unit shown) for a metric of the section: round trips in µs,
    bandwidth in Gbit/s (decimal: MB/s x 8 / 1000), rates as packets/s."""
    if unit == "ns" and (metric == "ns_per_op" or metric.startswith("req_ns.")):
        return 1e-3, "µs"
    if unit == "MB/s":
        return 8e-3, "Gbit/s"
    if unit == "ops/s":
        return 1.0, "packets/s"
    return 1.0, unit


def shown(value, metric, unit):
    return None if value is None else value * shown_unit(metric, unit)[0]


# ------------------------------------------------------------------ loss

class Loss:
    """A series' loss on one workload: the medians of lost, loss_pct and
    reordered (Stat or Missing), and what the repetitions hold, so that a
    loss in one repetition is flagged even when the median is 0."""

    def __init__(self, s, w):
        why = "no loss rows: this cell did not count its datagrams"
        self.lost = stat(s, w, LOSS, why)
        self.pct = stat(s, w, LOSS_PCT, why)
        self.reordered = stat(s, w, REORDERED, why)
        lost, pct = s.reps(w, LOSS), s.reps(w, LOSS_PCT)
        per_rep = lost or pct
        self.n = len(per_rep)
        self.reps_lossy = sum(1 for v in per_rep if v > 0)
        self.max_lost = max(lost) if lost else None
        self.max_pct = max(pct) if pct else None
        reord = s.reps(w, REORDERED)
        self.reps_reordered = sum(1 for v in reord if v > 0)
        self.n_reordered = len(reord)
        self.max_reordered = max(reord) if reord else None

    @property
    def recorded(self):
        return isinstance(self.lost, Stat) or isinstance(self.pct, Stat)

    @property
    def flagged(self):
        """Any datagram lost in any repetition."""
        return self.reps_lossy > 0

    @property
    def why_missing(self):
        return self.lost if isinstance(self.lost, Missing) else self.pct


# ------------------------------------------------------------------ model

def _notes(s, w, metric):
    return common_note(sorted(s.notes.get((w, metric), set())))


class Row:
    """One series on one net workload."""

    def __init__(self, exit_cells, bases, overhead, s, w, metric, functional):
        self.series, self.label = s, label(s)
        self.loopback = is_loopback(s)
        self.status = model.cell_status(s, w)
        self.cell_missing = section.cell_missing(self.status)
        self.primary = stat(s, w, metric, f"no {metric} row: the cell recorded other metrics")
        # What the workload says about its figures (the driver, under the
        # loopback that delivered = reflected frames), unless only "ring 3".
        note = _notes(s, w, metric)
        self.primary_note = "" if note in PLAIN_NOTES else note
        self.native = model.is_native(s.runner)
        self.slowdown, self.baseline_note = section.slowdown(overhead, s)
        self.loss = None if functional else Loss(s, w)
        self.latency = {m: stat(s, w, m, "no req_ns.* rows: round trips not timed one by one")
                        for m in LATENCY}
        self.exits = section.exits(exit_cells, s, w, lambda said: said[0]["note"])
        self.notifies = stat(s, w, NOTIFIES, f"no {NOTIFIES} row: only a runner that counts "
                                             "its device's notifications writes it (kvm)")
        self.notify_note = _notes(s, w, NOTIFIES)
        self.host_cpu = stat(s, w, HOST_CPU, f"no {HOST_CPU} row for this cell")
        self.host_cpu_note = _notes(s, w, HOST_CPU)
        peer_why = ("in-VMM loopback: no responder" if self.loopback
                    else f"no {PEER_CPU} row for this cell")
        self.peer_cpu = stat(s, w, PEER_CPU, peer_why)
        self.peer_cpu_note = _notes(s, w, PEER_CPU)
        self.host_cpu_vs_native = section.host_cpu_vs_native(bases, s, w, HOST_CPU,
                                                             self.host_cpu)


class Table:
    """One net workload: its primary metric and a Row per series."""

    def __init__(self, w, metric, unit, better, rows):
        self.workload, self.metric, self.unit, self.better = w, metric, unit, better
        self.rows = rows
        self.functional = w in FUNCTIONAL
        self.has_latency = any(isinstance(r.latency[LATENCY[0]], Stat) for r in rows)

    @property
    def shown_unit(self):
        return shown_unit(self.metric or "", self.unit)[1]


class Section:
    """Everything the net section shows; empty (no tables) without net/*."""

    def __init__(self, rep):
        self.runs = rep.runs
        workloads = net_workloads(rep.workloads)
        self.series = sorted((s for s in rep.series if any(w in s.workloads for w in workloads)),
                             key=lambda s: (runner_rank(s.runner), s.run_index))
        self.tables, self.net_runs, self.warnings, self.rows, self.said = [], [], [], {}, {}
        if not workloads:
            return
        bases = model.Baselines(rep.series)
        overhead = section.overheads(rep)
        exit_cells = section.exit_cells(rep, FAMILY)
        for w in workloads:
            metric = model.primary_metric(rep.series, w)
            unit, better = model.metric_info(rep.series, w, metric) if metric else ("", "")
            rows = [Row(exit_cells, bases, overhead.get(w, {}), s, w, metric or "",
                        w in FUNCTIONAL)
                    for s in self.series
                    if w in s.workloads or model.cell_status(s, w)[0] == "absent"]
            for row in rows:
                self.rows[(row.series.key, w)] = row
            self.tables.append(Table(w, metric, unit, better, rows))
        self.said = self._say_notes_once()
        self.net_runs = sorted({s.run_index for s in self.series})
        self.warnings = loss_warnings(self.tables) + difference_warnings(self.runs, self.series)

    def __bool__(self):
        return bool(self.tables)

    NOTE_ATTRS = (("host CPU", "host_cpu_note"), ("responder CPU", "peer_cpu_note"),
                  ("notifications", "notify_note"))

    def _say_notes_once(self):
        """What a series' CPU and notification rows counted is usually the same
        on every net workload: said once per series (in the served table)
        instead of in every cell.  {series key: [(what, note)]}."""
        said = {}
        for s in self.series:
            rows = [t_row for t_row in self.rows.values() if t_row.series is s]
            for what, attr in self.NOTE_ATTRS:
                notes = {getattr(r, attr) for r in rows if getattr(r, attr)}
                if len(notes) == 1:
                    said.setdefault(s.key, []).append((what, notes.pop()))
                    for r in rows:
                        setattr(r, attr, "")
        return said

    def net_keys(self):
        return section.prefixed_keys(self.runs, self.net_runs, "net.", NET_KEYS)

    def link(self, run_index):
        return section.meta_values(self.runs[run_index].meta, self.net_keys())

    def served(self):
        """(series, runner.<r>.net, backend, notify) per series."""
        return [(s, s.run.meta.get(net_key(s.runner), NOT_RECORDED),
                 s.run.meta.get(backend_key(s.runner)), s.run.meta.get(notify_key(s.runner)))
                for s in self.series]

    def row(self, s, w):
        return self.rows.get((s.key, w))

    def left_out(self, s, w):
        """Charts against native leave the loopback's net figures out."""
        row = self.row(s, w)
        return row is not None and row.loopback

    def flag(self, s, w):
        """'LOSS' for a chart's bar measured with datagrams lost, else ""."""
        row = self.row(s, w)
        return "LOSS" if row is not None and row.loss is not None and row.loss.flagged else ""


def loss_text(loss):
    """'median 0.8 % (96 datagrams) lost; in 5 of 5 repetitions, worst 98
    datagrams (0.8167 %)': the medians, then how many repetitions lost
    anything and the worst one, so a median of 0 never hides a loss."""
    r = markup
    pct = f"{r.fmt(loss.pct.median)} {loss.pct.unit}" if isinstance(loss.pct, Stat) else None
    lost = (f"{r.fmt(loss.lost.median)} {loss.lost.unit}" if isinstance(loss.lost, Stat)
            else None)
    text = "median " + (f"{pct} ({lost})" if pct and lost else pct or lost) + " lost"
    if loss.flagged:
        unit = loss.lost.unit if isinstance(loss.lost, Stat) else ""
        worst = (f"{r.fmt(loss.max_lost)} {unit}".strip() if loss.max_lost is not None
                 else None)
        worst_pct = f"{r.fmt(loss.max_pct)} %" if loss.max_pct is not None else None
        text += (f"; in {loss.reps_lossy} of {loss.n} repetitions, worst "
                 + (f"{worst} ({worst_pct})" if worst and worst_pct else worst or worst_pct))
    return text


def reorder_text(loss):
    r = markup
    if not isinstance(loss.reordered, Stat) or not loss.reps_reordered:
        return ""
    return (f"{r.fmt(loss.reordered.median)} {loss.reordered.unit} reordered median; in "
            f"{loss.reps_reordered} of {loss.n_reordered} repetitions, worst "
            f"{r.fmt(loss.max_reordered)}")


def loss_warnings(tables):
    """One banner listing every cell that lost datagrams (in any repetition),
    and one for throughput cells that did not count their loss."""
    lossy, blind = [], []
    for t in tables:
        for row in t.rows:
            if row.loss is None or row.cell_missing is not None:
                continue
            if row.loss.flagged:
                lossy.append(f"{row.series.label} × {t.workload}: {loss_text(row.loss)}")
            elif not row.loss.recorded and isinstance(row.primary, Stat):
                blind.append(f"{row.series.label} × {t.workload}")
    out = []
    if lossy:
        out.append(("net-loss", "Datagrams lost",
                    "these net/* cells lost datagrams, so their figures are per delivered "
                    "datagram and their loss stands beside them in Network: "
                    + "; ".join(lossy)))
    if blind:
        out.append(("net-loss-unknown", "Loss not recorded",
                    "these net/* cells have figures but no lost / loss_pct rows, so whether "
                    "they lost datagrams is unknown: " + "; ".join(blind)))
    return out


def difference_warnings(runs, series):
    """A banner when the same runner carried frames differently in the runs
    set side by side (runner.<r>.net, .net_backend, .net_notify)."""
    diffs = []
    for r in sorted({s.runner for s in series}, key=runner_rank):
        have = [s.run_index for s in series if s.runner == r]
        if len(have) < 2:
            continue
        for key in (net_key(r), backend_key(r), notify_key(r)):
            d = section.differing({i: runs[i].meta.get(key, NOT_RECORDED) for i in have})
            if d:
                diffs.append(f"{key}: {d}")
    if not diffs:
        return []
    return [("net-diff", "Network set-ups differ between runs",
             "the same runner carried its frames differently, so its rows measure that "
             "difference as well (each row is labelled with its notify mode): "
             + "; ".join(diffs))]


def build(rep):
    return Section(rep)


def glance_labels(overhead_rows):
    """The runners 'At a glance' averages: model.headline's default (every
    non-emulated series with a slowdown) without the in-VMM loopback, whose
    ratios to native compare paths that differ (its cpu/* is kvm's anyway)."""
    return sorted({s.label for r in overhead_rows for s, cmp, _why in r["cells"]
                   if cmp is not None and cmp.slowdown and not s.emulated
                   and not is_loopback(s)})


# ------------------------------------------------------------------ HTML

def _missing_html(m, w, s, metric, na):
    return section.missing_html(m, w, s, metric, na, KIND)


def _stat_html(v, w, s, metric, na, ci=True, unit=None):
    """A median in the unit shown (data-value: as recorded), its interval."""
    r = markup
    if isinstance(v, Missing):
        return _missing_html(v, w, s, metric, na)
    k, u = shown_unit(metric, v.unit if unit is None else unit)
    interval = (f' <span class=ci>{r.fmt_ci(tuple(x * k for x in v.ci))}</span>'
                if ci and v.ci else "")
    title = f"n={v.n}; {r.fmt(v.median)} {v.unit}" + (
        f", interval of the median {r.fmt_ci(v.ci)}" if v.ci else "")
    partly = ""
    if v.partly:
        partly = (f'<br><span{r.data_attrs(runner=s.label, workload=w, metric=metric, kind="net-partly", status=v.partly.status)}>'
                  f'{r.status_badge(v.partly.status, v.partly.reason)}</span> <span class=ci>'
                  f'n={v.n}; {r.esc(v.partly.reason)}</span>')
    return (f'<span title="{r.esc(title)}"{r.data_attrs(runner=s.label, workload=w, metric=metric, kind="net", value=repr(v.median), shown=repr(v.median * k), unit=u)}>'
            f'{r.fmt(v.median * k)}</span>{interval}{partly}')


def _primary_html(t, row, na):
    r = markup
    out = _stat_html(row.primary, t.workload, row.series, t.metric, na)
    if isinstance(row.primary, Stat) and t.shown_unit == "Gbit/s":
        out += f'<br><span class=ci>{r.fmt(row.primary.median)} MB/s</span>'
    if isinstance(row.primary, Stat) and t.functional:
        out += '<br><span class=ci>content checked both ways</span>'
    if row.primary_note:
        out += f'<br><span class=ci>{r.esc(row.primary_note)}</span>'
    return out


def _loss_html(row, w, na):
    r = markup
    s, loss = row.series, row.loss
    if not loss.recorded:
        m = loss.why_missing
        if m.status == "n/a":   # figures without their loss: never silently
            return (f'<span{r.data_attrs(runner=s.label, workload=w, kind="net-loss-flag", flag="unknown")}>'
                    f'<span class="st st-failed" title="{r.esc(m.reason)}">loss not recorded'
                    f'</span></span> <span class=ci>{r.esc(m.reason)}</span>')
        return _missing_html(m, w, s, LOSS, na)
    value = loss.lost.median if isinstance(loss.lost, Stat) else None
    pct = loss.pct.median if isinstance(loss.pct, Stat) else None
    flag = "loss" if loss.flagged else "none"
    head = (f'<span class="st st-failed" title="datagrams lost in {loss.reps_lossy} of '
            f'{loss.n} repetitions">LOSS</span> ' if loss.flagged else "")
    body = (f'<b class=worse>{r.esc(loss_text(loss))}</b>' if loss.flagged
            else f'<span class=better>no loss</span> <span class=ci>'
                 f'({loss.n} repetitions, 0 lost)</span>')
    out = (f'<span{r.data_attrs(runner=s.label, workload=w, kind="net-loss-flag", flag=flag)}>'
           f'{head}</span><span{r.data_attrs(runner=s.label, workload=w, metric=LOSS, kind="net-loss", value=None if value is None else repr(value), pct=None if pct is None else repr(pct))}>'
           f'{body}</span>')
    if isinstance(loss.pct, Stat) and isinstance(loss.lost, Missing) and not loss.flagged:
        out += f'<br><span class=ci>lost: {r.esc(loss.lost.reason)}</span>'
    reord = reorder_text(loss)
    if reord:
        out += (f'<br><span{r.data_attrs(runner=s.label, workload=w, metric=REORDERED, kind="net-reordered", value=repr(loss.reordered.median))}>'
                f'<span class="st st-unsupported">reordered</span> {r.esc(reord)}</span>')
    elif isinstance(loss.reordered, Missing) and loss.reordered.status != "n/a":
        out += "<br>" + _missing_html(loss.reordered, w, s, REORDERED, na)
    return out


def _slowdown_html(row, w, metric, na):
    r = markup
    s = row.series
    if row.native:
        return '<span class="mut">baseline</span>'
    x = row.slowdown
    if isinstance(x, Missing):
        return _missing_html(x, w, s, metric, na)
    if x is None or x.slowdown is None:
        return _missing_html(Missing("n/a", "no ratio (a median of 0, or no direction)"), w, s,
                             metric, na)
    cls = "worse" if x.ci and x.ci[0] > 1.0 else ("better" if x.ci and x.ci[1] < 1.0 else "")
    if s.emulated or row.loopback:   # a number, not a verdict against native's path
        cls = "mut"
    ci = (f'<span class=ci>{r.fmt_ci(x.ci, r.fmt_ratio)}</span>' if x.ci else
          f'<span class=ci>no interval: {r.esc(x.ci_why or "too few repetitions")}</span>')
    note = f'<br><span class=ci>{r.esc(row.baseline_note)}</span>' if row.baseline_note else ""
    if row.loopback:
        note += (f'<br><span class="emu" style="white-space:normal" '
                 f'title="{r.esc(LOOPBACK_WHY)}">{LOOPBACK_TEXT}: not native\'s path</span>')
    return (f'<b class="{cls}"{r.data_attrs(runner=s.label, workload=w, metric=metric, kind="net-slowdown", value=repr(x.slowdown))}>'
            f'{r.fmt_ratio(x.slowdown)}</b><br>{ci}{note}')


def _exits_html(row, w, na):
    return section.exits_html(row, w, na, KIND, PER)


def _cpu_html(v, note, w, s, metric, na, vs_native=None):
    r = markup
    out = _stat_html(v, w, s, metric, na, ci=False)
    if vs_native is not None and vs_native.slowdown is not None:
        out += (f'<br><span class=small{r.data_attrs(runner=s.label, workload=w, metric=metric, kind="net-slowdown", value=repr(vs_native.slowdown))}>'
                f'{r.fmt_ratio(vs_native.slowdown)} native</span>')
    if note:
        out += f'<br><span class="ci">{r.esc(note)}</span>'
    return out


WRAP = ' style="white-space:normal;text-align:left;min-width:12ch;max-width:28ch"'
NUM_WRAP = ' style="white-space:normal;min-width:10ch;max-width:24ch"'
LOSS_WRAP = (' style="background:#ffebe9;white-space:normal;text-align:left;min-width:12ch;'
             'max-width:28ch"')


def _row_head(row):
    r = markup
    s = row.series
    out = r.esc(row.label)
    if s.emulated:
        out += f'<br><span class="emu" title="{r.esc(s.emulated)}">{r.EMU_TEXT}</span>'
    if row.loopback:
        out += f'<br><span class="emu" title="{r.esc(LOOPBACK_WHY)}">{LOOPBACK_TEXT}</span>'
    return out


def _columns(t):
    """(head html, cell function) per column after runner and primary."""
    cols = []
    if not t.functional:
        cols.append(('<th rowspan=2>loss<br><span class=dir>↓, any loss flagged</span></th>',
                     lambda row, w, na: (_loss_html(row, w, na),
                                         LOSS_WRAP if row.loss.flagged else WRAP)))
    cols.append(('<th class=n rowspan=2>slowdown vs native<br><span class=dir>×, &gt;1 is '
                 'worse [95% CI]</span></th>',
                 lambda row, w, na: (_slowdown_html(row, w, t.metric, na), NUM_WRAP)))
    if t.has_latency:
        for m in LATENCY:
            cols.append((None, lambda row, w, na, m=m: (
                _stat_html(row.latency[m], w, row.series, m, na, ci=False), "")))
    cols.append(('<th class=n rowspan=2>exits / packet<br><span class=dir>↓, per source,<br>by '
                 'class</span></th>', lambda row, w, na: (_exits_html(row, w, na), WRAP)))
    cols.append(('<th class=n rowspan=2>notifies / packet<br><span class=dir>↓</span></th>',
                 lambda row, w, na: (_cpu_html(row.notifies, row.notify_note, w, row.series,
                                               NOTIFIES, na), WRAP)))
    cols.append(('<th class=n rowspan=2>host CPU / packet<br><span class=dir>ns, ↓; '
                 'not the responder</span></th>',
                 lambda row, w, na: (_cpu_html(row.host_cpu, row.host_cpu_note, w, row.series,
                                               HOST_CPU, na, row.host_cpu_vs_native), WRAP)))
    cols.append(('<th class=n rowspan=2>responder CPU<br>/ packet<br><span class=dir>ns, ↓</span></th>',
                 lambda row, w, na: (_cpu_html(row.peer_cpu, row.peer_cpu_note, w, row.series,
                                               PEER_CPU, na), WRAP)))
    return cols


def _row_html(t, row, cols, na):
    r = markup
    s, w = row.series, t.workload
    ncols = 2 + len(cols)
    if row.cell_missing is not None:
        return (f'<tr{r.data_attrs(runner=s.label, workload=w, status=row.status[0])}>'
                f'<td>{_row_head(row)}</td><td colspan={ncols - 1}>'
                f'{_missing_html(row.cell_missing, w, s, t.metric, None)}</td></tr>')
    lossy = row.loss is not None and row.loss.flagged
    tds = [f'<td>{_row_head(row)}</td>',
           f'<td class=n{LOSS_BG if lossy else ""}>{_primary_html(t, row, na)}</td>']
    for _head, cell in cols:
        html, style = cell(row, w, na)
        tds.append(f'<td class=n{style}>{html}</td>')
    return f'<tr{r.data_attrs(runner=s.label, workload=w)}>{"".join(tds)}</tr>'


def _table_html(t):
    r = markup
    w = t.workload
    if t.metric is None:
        rows = "".join(f'<tr{r.data_attrs(runner=row.series.label, workload=w, status=row.status[0])}>'
                       f'<td>{_row_head(row)}</td><td>'
                       f'{_missing_html(Missing(*row.status), w, row.series, "", None)}</td></tr>'
                       for row in t.rows)
        return (f'<h3 class=mono id="net-{r.esc(w)}">{r.esc(w)}</h3><p class="mut">No runner has '
                f'a value for this workload.</p><table class="net-table"><thead><tr><th>runner'
                f'</th><th>cell</th></tr></thead><tbody>{rows}</tbody></table>')
    cols = _columns(t)
    na = NaNotes()
    trs = "".join(_row_html(t, row, cols, na) for row in t.rows)
    heads = "".join(h for h, _c in cols[:1 + (0 if t.functional else 1)] if h)
    lat = ""
    if t.has_latency:
        heads += (f'<th colspan={len(LATENCY)}>round-trip latency: median over repetitions'
                  f'</th>')
        lat = "".join(f'<th class=n>{m[len("req_ns."):]}<br><span class=dir>µs, ↓</span></th>'
                      for m in LATENCY)
    heads += "".join(h for h, _c in cols[1 + (0 if t.functional else 1):] if h)
    what = {"µs": "per round trip" if w == RR else "per operation", "packets/s": "delivered",
            "Gbit/s": "UDP payload"}.get(t.shown_unit, "")
    foot = ""
    if na.by_reason:
        foot = ('<p class="small mut">n/a: ' + " · ".join(r.esc(x) for x in na.lines())
                + '</p>')
    if t.functional:
        foot += ('<p class="small mut">A functional workload: frames echoed with their content '
                 'checked both ways; it counts no loss (a bad or missing frame fails the cell).'
                 '</p>')
    return (f'<h3 class=mono id="net-{r.esc(w)}">{r.esc(w)}</h3><div class=scroll>'
            f'<table class="net-table" style="font-size:11.5px"'
            f'{r.data_attrs(workload=w, metric=t.metric, unit=t.shown_unit)}><thead><tr>'
            f'<th rowspan=2>runner</th><th class=n rowspan=2>{r.esc(t.metric)}: '
            f'{r.esc(t.shown_unit)} {r.esc(what)}<br><span class=dir>'
            f'{r.arrow(t.better)} {r.direction(t.better)}; median [interval]</span></th>'
            f'{heads}</tr><tr>{lat}</tr></thead><tbody>{trs}</tbody></table></div>{foot}')


def _served_html(sec):
    r = markup
    rows = "".join(
        f'<tr{r.data_attrs(runner=s.label, key=net_key(s.runner))}><td>{_series_head(s)}</td>'
        f'<td class=n>{s.run_index + 1}</td><td class=mono>{r.esc(net)}'
        + "".join(f'<br><span class=ci>{r.esc(what)}: {r.esc(note)}</span>'
                  for what, note in sec.said.get(s.key, [])) + '</td>'
        f'<td class=mono>{r.esc(b) if b else "—"}</td><td class=mono>{r.esc(n) if n else "—"}'
        '</td></tr>' for s, net, b, n in sec.served())
    runs = "".join(f"<th>run {i + 1}</th>" for i in sec.net_runs)
    link = "".join(
        f'<tr{r.data_attrs(key=k)}><th class=mono>{r.esc(k)}</th>'
        + "".join(f'<td class=mono>{r.esc(sec.link(i)[k])}</td>' for i in sec.net_runs)
        + '</tr>' for k in sec.net_keys())
    return ('<div class="figs"><table id="net-served"><thead><tr><th>runner</th>'
            '<th class=n>run</th><th>what carried the frames<br><span class=dir>meta '
            'runner.&lt;r&gt;.net; what its CPU and notification rows count</span></th><th>back-end<br><span class=dir>.net_backend'
            '</span></th><th>notify<br><span class=dir>.net_notify</span></th></tr></thead>'
            f'<tbody>{rows}</tbody></table><table id="net-link"><thead><tr>'
            f'<th>the run\'s link<br><span class=dir>meta net.*</span></th>{runs}</tr>'
            f'</thead><tbody>{link}</tbody></table></div>')


def _series_head(s):
    out = markup.esc(s.label)
    if is_loopback(s):
        out += (f'<br><span class="emu" title="{markup.esc(LOOPBACK_WHY)}">{LOOPBACK_TEXT}'
                '</span>')
    return out


INTRO = ("One operation of a net/* workload is one datagram (net/udp-rr-64: one round trip "
         "of a 64 B request and its echo) between the measured side and the responder, UDP "
         "over IPv4 through the host's network stack in hvbench's namespace; natively the "
         "same frames go through AF_PACKET on a veth (what carried them per runner is in the "
         "tables below). Per workload and runner, native first: the primary metric, median "
         "over repetitions [distribution-free interval of the median]: time per round trip "
         "in µs, packets/s delivered, or UDP payload throughput in Gbit/s (= MB/s × 8 / "
         "1000), each per delivered datagram, with the loss beside it: lost datagrams, "
         "loss % and reordered, medians over repetitions, and any repetition that lost "
         "anything flagged. Slowdown vs native: >1 is worse [95% bootstrap interval], as in "
         "Overhead vs native. Round-trip latency: each repetition's percentile over every "
         "round trip (req_ns.*), then the median over repetitions. Exits / packet: per "
         "source, the median over repetitions of exits.csv's total count / ops, and by exit "
         "class. Host CPU / packet: CPU time of the host threads that served the VM (named "
         "under each value; never the responder) over its operations, and its ratio to "
         "native's; responder CPU / packet: the responder's own. kvm-loop is the core's "
         "in-VMM loopback: frames never leave the VMM, so its figures isolate the virtio "
         "path and are not comparable with native's. A missing value shows its status and "
         "reason.")


def html(rep):
    """The section, or "" when the runs have no net/* workload."""
    sec = rep.net
    if not sec:
        return ""
    fig = markup.figure(rep.plotter, PLOT, "Round-trip latency per net/* workload that times "
                        "its round trips (req_ns.*, µs; log10 axis past two decades, else "
                        "linear from 0): box = p50 to p99, whisker to p99.9, dot = max, each "
                        "the median over repetitions; a dashed outline marks a cell without "
                        "latency, with its status; emulated runners left out; kvm-loop "
                        f"({LOOPBACK_TEXT}) is drawn but is not native's path; lower is "
                        "better.", missing="no net/* workload timed its round trips")
    return section.html_section("net", "Network", INTRO, [_served_html(sec), fig], "network",
                                sec.warnings, [_table_html(t) for t in sec.tables])


def nav_items(rep):
    return [("net", "Network")] if rep.net else []


def overhead_note(rep, s, w):
    """What Overhead vs native must say beside a net/* figure: its loss, and
    that kvm-loop did not cross native's path.  "" for anything else."""
    row = rep.net.row(s, w) if rep.net else None
    if row is None:
        return ""
    r = markup
    out = ""
    if row.loss is not None and row.loss.flagged:
        out += (f'<br><span{r.data_attrs(runner=s.label, workload=w, kind="overhead-loss")}>'
                f'<span class="st st-failed">LOSS</span> <span class=ci>'
                f'{r.esc(loss_text(row.loss))}</span></span>')
    if row.loopback:
        out += f'<br><span class="emu" title="{r.esc(LOOPBACK_WHY)}">{LOOPBACK_TEXT}</span>'
    return out


def overhead_note_md(rep, s, w):
    row = rep.net.row(s, w) if rep.net else None
    if row is None:
        return ""
    out = ""
    if row.loss is not None and row.loss.flagged:
        out += f" (LOSS: {loss_text(row.loss)})"
    if row.loopback:
        out += f" ({LOOPBACK_TEXT})"
    return out


# -------------------------------------------------------------- Markdown

def _md_value(v, metric, label, na, ci=True):
    r = markup
    if isinstance(v, Missing):
        return section.md_missing(v, label, na)
    k, _u = shown_unit(metric, v.unit)
    return (r.fmt(v.median * k) + (f" {r.fmt_ci(tuple(x * k for x in v.ci))}" if ci and v.ci
                                   else "")
            + (f" (n={v.n}; {v.partly.status}: {v.partly.reason})" if v.partly else ""))


def _md_loss(row, na):
    loss = row.loss
    if not loss.recorded:
        m = loss.why_missing
        return ("**loss not recorded**" if m.status == "n/a" else section.md_missing(m, row.label, na))
    out = f"**LOSS** {loss_text(loss)}" if loss.flagged else f"no loss ({loss.n} reps)"
    reord = reorder_text(loss)
    return out + (f"; {reord}" if reord else "")


def _md_slowdown(row, na):
    r = markup
    if row.native:
        return "baseline"
    x = row.slowdown
    if isinstance(x, Missing):
        return section.md_missing(x, row.label, na)
    if x is None or x.slowdown is None:
        return section.md_missing(Missing("n/a", "no ratio (a median of 0, or no direction)"),
                           row.label, na)
    return (r.fmt_ratio(x.slowdown) + (f" {r.fmt_ci(x.ci, r.fmt_ratio)}" if x.ci else "")
            + (f" ({row.baseline_note})" if row.baseline_note else "")
            + (f" ({LOOPBACK_TEXT}: not native's path)" if row.loopback else ""))


def _md_exits(row, na):
    return section.md_exits(row, na, PER)


def _md_table(t):
    r = markup
    head = ["runner", f"{t.metric} ({t.shown_unit}, {r.direction(t.better)})"]
    head += [] if t.functional else ["loss"]
    head += ["slowdown vs native"]
    head += ["p50 µs", "p99 µs", "p99.9 µs", "max µs"] if t.has_latency else []
    head += ["exits/packet", "notifies/packet", "host CPU ns/packet", "responder CPU ns/packet"]
    rows, na = [], NaNotes()
    for row in t.rows:
        name = row.label + (f" ({LOOPBACK_TEXT})" if row.loopback else "")
        if row.cell_missing is not None:
            m = row.cell_missing
            rows.append([name, f"{m.status}: {m.reason}"] + [m.status] * (len(head) - 2))
            continue
        cells = [name, _md_value(row.primary, t.metric, row.label, na)
                 + (f" ({row.primary_note})" if row.primary_note else "")]
        cells += [] if t.functional else [_md_loss(row, na)]
        cells += [_md_slowdown(row, na)]
        if t.has_latency:
            cells += [_md_value(row.latency[m], m, row.label, na, ci=False) for m in LATENCY]
        host = _md_value(row.host_cpu, HOST_CPU, row.label, na, ci=False)
        x = row.host_cpu_vs_native
        if x is not None and x.slowdown is not None:
            host += f" ({r.fmt_ratio(x.slowdown)} native)"
        cells += [_md_exits(row, na), _md_value(row.notifies, NOTIFIES, row.label, na, ci=False),
                  host, _md_value(row.peer_cpu, PEER_CPU, row.label, na, ci=False)]
        rows.append(cells)
    out = [r.md_table(head, rows)]
    return out + section.md_na_lines(na)


def markdown(rep):
    """The section's Markdown lines ([] without net/*)."""
    sec = rep.net
    if not sec:
        return []
    r = markup
    served = r.md_table(["runner", "run", "carried by (runner.<r>.net)", "back-end", "notify"],
                        [[s.label + (f" ({LOOPBACK_TEXT})" if is_loopback(s) else ""),
                          str(s.run_index + 1),
                          net + "".join(f"; {what}: {note}"
                                        for what, note in sec.said.get(s.key, [])),
                          b or "—", n or "—"]
                         for s, net, b, n in sec.served()])
    link = r.md_table(["the run's link"] + [f"run {i + 1}" for i in sec.net_runs],
                      [[k] + [sec.link(i)[k] for i in sec.net_runs] for k in sec.net_keys()])
    return section.md_section("Network", INTRO, sec.warnings, [served, link], sec.tables,
                              _md_table)


# ----------------------------------------------------------------- plot

PLOT = "net-latency"


def plot(plotter, rep):
    """Round-trip latency per net workload and runner (gnuplot/net.gp), in
    µs (section.latency_plot)."""
    sec = rep.net
    tables = [t for t in sec.tables if t.metric and t.has_latency]
    return section.latency_plot(plotter, PLOT, "net.gp", sec, tables, LATENCY,
                                scale=lambda v: v / 1e3, width_min=700, height=460)
