"""The report's block I/O section: io/* workloads, runner by runner.

What it sets side by side, per io workload and series (native first): the
workload's primary metric (IOPS for queue depth 32, MB/s for sequential,
time per request for depth 1 and flush) with the interval of its median,
the slowdown vs native, the request latency percentiles, exits and device
notifications per request, and the host CPU spent per request.  Every
number comes from `hvbench summarize` (via model.Series) or, for exits,
from exits.csv through model.exit_classes: nothing is computed anew here
but the choice of what to show.  A value that is not there is a Missing
with its status and reason, never a 0 or a blank.

Also what served the requests (meta runner.<r>.blk, runner.<r>.blk_notify,
disk.*) and the warnings a reader needs: the page cache was in the path
(disk.odirect 0), or the runs set side by side used different notify
modes or disk set-ups.
"""

import os

from . import markup, model, section
from .section import NOT_RECORDED, Missing, Stat

FAMILY = "io"
IOPS = "ops_per_s"
LATENCY = ("req_ns.p50", "req_ns.p99", "req_ns.p999", "req_ns.max")
NOTIFIES = "notifies_per_op"
HOST_CPU = "host_cpu_ns_per_op"
# The run's disk, first in this order; any other disk.* key follows, sorted.
DISK_KEYS = ("disk.path", "disk.size_bytes", "disk.fs", "disk.odirect", "disk.odirect_note",
             "disk.fill", "disk.owned")
# Disk keys that change what a request costs; disk.path differs per run anyway.
DISK_FLAGS = ("disk.odirect", "disk.fs", "disk.size_bytes", "disk.fill")
KIND = "io"   # data-kind prefix (section.py)
PER = "req"   # what an exit count is per


def io_workloads(workloads):
    return [w for w in workloads if model.family(w) == FAMILY]


def blk_key(runner):
    return f"runner.{runner}.blk"


def notify_key(runner):
    return f"runner.{runner}.blk_notify"


def label(s):
    """The series' name, with its notify mode where the runner records one:
    two kvm runs with different modes must not read as one configuration."""
    mode = s.run.meta.get(notify_key(s.runner))
    return f"{s.label} · notify={mode}" if mode else s.label


def _problem_reason(rows):
    notes = sorted({r["note"] for r in rows if r["note"]})
    reps = sorted({r["rep"] for r in rows if r["rep"] is not None})
    where = f" (repetitions {model.rep_list(reps)})" if reps else ""
    return "; ".join(notes) + where


def missing(s, w, metric, absent_why):
    """Why a series has no value of metric for w: the row that says so (a
    non-ok row of that metric, then one of the whole cell), the cell's
    status, or n/a with absent_why when the cell ran and wrote no such row."""
    rows = [p for p in s.problems if p["workload"] == w and p["metric"] == metric]
    if not rows:
        rows = [p for p in s.problems if p["workload"] == w and not p["metric"]]
    if rows:
        return Missing(rows[0]["status"], _problem_reason(rows))
    status, why = model.cell_status(s, w)
    if status in ("ok", "partly"):
        return Missing("n/a", absent_why)
    return Missing(status, why)


def stat(s, w, metric, absent_why):
    """Stat (hvbench summarize's median, its interval and n) or Missing."""
    got = model.summary_stat(s, w, metric)
    if got is None:
        return missing(s, w, metric, absent_why)
    unit, better = s.unit[(w, metric)]
    bad = [p for p in s.problems if p["workload"] == w and p["metric"] == metric]
    partly = Missing(bad[0]["status"], _problem_reason(bad)) if bad else None
    return Stat(got[0], got[1], got[2], unit, better, partly)


def _notes(s, w, metric):
    return sorted(s.notes.get((w, metric), set()))


def common_note(notes):
    """What every repetition's note says.  Runners write the threads they
    counted, then that repetition's own figures ("host CPU of the vCPU
    thread + the I/O thread (thread CPU clocks, ns): 8198092 ns over 25
    operations, ..."): the statement is the part before the last ": " that
    all notes share (for one note: before a ": " followed by figures)."""
    if not notes:
        return ""
    text = notes[0] if len(notes) == 1 else os.path.commonprefix(notes)
    cut = text.rfind(": ")
    if cut > 0 and (len(notes) > 1 or text[cut + 2:cut + 3].isdigit()):
        return text[:cut]
    if len(notes) == 1:
        return text
    return "; ".join(notes[:2]) + (f" (+{len(notes) - 2} more)" if len(notes) > 2 else "")


class Row:
    """One series on one io workload."""

    def __init__(self, rep, exit_cells, bases, overhead, s, w, metric):
        self.series, self.label = s, label(s)
        self.status = model.cell_status(s, w)
        # A cell without any number: one status for the whole row.
        self.cell_missing = section.cell_missing(self.status)
        self.primary = stat(s, w, metric, f"no {metric} row: the cell recorded other metrics")
        self.native = model.is_native(s.runner)
        self.slowdown, self.baseline_note = section.slowdown(overhead, s)  # model.Cmp, Missing
        self.iops = stat(s, w, IOPS, f"no {IOPS} row: requests per second not counted")
        self.latency = {m: stat(s, w, m, "no req_ns.* rows: requests not timed one by one")
                        for m in LATENCY}
        self.exits = section.exits(exit_cells, s, w, _problem_reason)
        self.notifies = stat(s, w, NOTIFIES, f"no {NOTIFIES} row: only a runner that counts "
                                             "its device's notifications writes it (kvm)")
        self.notify_note = common_note(_notes(s, w, NOTIFIES))
        self.host_cpu = stat(s, w, HOST_CPU, f"no {HOST_CPU} row for this cell")
        self.host_cpu_note = common_note(_notes(s, w, HOST_CPU))
        self.host_cpu_vs_native = section.host_cpu_vs_native(bases, s, w, HOST_CPU,
                                                             self.host_cpu)


class Table:
    """One io workload: its primary metric and a Row per series."""

    def __init__(self, w, metric, unit, better, rows):
        self.workload, self.metric, self.unit, self.better = w, metric, unit, better
        self.rows = rows

    @property
    def shows_iops(self):
        """IOPS beside the primary metric, unless it is the primary metric."""
        return self.metric != IOPS


class Section:
    """Everything the io section shows; empty (no tables) without io/*."""

    def __init__(self, rep):
        self.runs = rep.runs
        workloads = io_workloads(rep.workloads)
        self.series = [s for s in rep.series if any(w in s.workloads for w in workloads)]
        self.tables, self.io_runs, self.warnings = [], [], []
        if not workloads:
            return
        bases = model.Baselines(rep.series)
        overhead = section.overheads(rep)
        exit_cells = section.exit_cells(rep, FAMILY)
        for w in workloads:
            metric = model.primary_metric(rep.series, w)
            if metric is None:   # no series has a number: one row per series with why
                unit, better = "", ""
            else:
                unit, better = model.metric_info(rep.series, w, metric)
            # A cell its run asked for and has no row for stays a row (absent).
            rows = [Row(rep, exit_cells, bases, overhead.get(w, {}), s, w, metric or "")
                    for s in self.series
                    if w in s.workloads or model.cell_status(s, w)[0] == "absent"]
            self.tables.append(Table(w, metric, unit, better, rows))
        self.io_runs = sorted({s.run_index for s in self.series})
        self.warnings = odirect_warnings(self.runs, self.io_runs) + \
            difference_warnings(self.runs, self.io_runs, self.series)

    def __bool__(self):
        return bool(self.tables)

    def disk_keys(self):
        return section.prefixed_keys(self.runs, self.io_runs, "disk.", DISK_KEYS)

    def disk(self, run_index):
        return section.meta_values(self.runs[run_index].meta, self.disk_keys())

    def served(self):
        """(series, blk, notify) per series: what served its requests."""
        return [(s, s.run.meta.get(blk_key(s.runner), NOT_RECORDED),
                 s.run.meta.get(notify_key(s.runner))) for s in self.series]


def odirect_warnings(runs, io_runs):
    """A banner per run whose disk was not opened with O_DIRECT (or does not say)."""
    out = []
    for i in io_runs:
        meta = runs[i].meta
        v = meta.get("disk.odirect")
        where = f"run {i + 1} ({runs[i].run_id})"
        fs = meta.get("disk.fs", NOT_RECORDED)
        why = meta.get("disk.odirect_note")
        if v is None:
            out.append((f"io-odirect-{i + 1}", "O_DIRECT not recorded",
                        f"{where} has no disk.odirect: whether the host's page cache was in "
                        "the path of its io/* requests is unknown"))
        elif model.falsy(v):
            out.append((f"io-odirect-{i + 1}", "Page cache in the I/O path",
                        f"{where} has disk.odirect = {v} (disk.fs {fs}"
                        + (f"; {why}" if why else "") + "): its disk was opened without "
                        "O_DIRECT, so the host's page cache served or absorbed requests; its "
                        "io/* figures are not device figures"))
        elif not model.truthy(v):
            out.append((f"io-odirect-{i + 1}", "O_DIRECT unclear",
                        f"{where} has disk.odirect = {v!r}, neither 1 nor 0"))
    return out


def difference_warnings(runs, io_runs, series):
    """Banners when the runs set side by side had different disk set-ups or
    served the same runner's requests differently (notify mode, backend)."""
    if len(io_runs) < 2:
        return []
    out = []
    disk = [f"{k}: {d}" for k in DISK_FLAGS
            if (d := section.differing({i: runs[i].meta.get(k, NOT_RECORDED) for i in io_runs}))]
    if disk:
        out.append(("io-disk-diff", "Disks differ between runs",
                    "the io/* figures of different runs were measured on differently set-up "
                    "disks, so a gap between them (and a slowdown against another run's "
                    "native) measures the disk as well: " + "; ".join(disk)))
    notify, blk = [], []
    for r in sorted({s.runner for s in series}, key=model.runner_rank):
        have = [s.run_index for s in series if s.runner == r]
        for key, acc in ((notify_key(r), notify), (blk_key(r), blk)):
            d = section.differing({i: runs[i].meta.get(key, NOT_RECORDED) for i in have})
            if d:
                acc.append(f"{key}: {d}")
    if notify:
        out.append(("io-notify-diff", "Notify modes differ between runs",
                    "the same runner notified its device differently, so its rows measure "
                    "the notification path as well (each row is labelled with its mode): "
                    + "; ".join(notify)))
    if blk:
        out.append(("io-blk-diff", "Block back-ends differ between runs",
                    "the same runner's requests were served differently: " + "; ".join(blk)))
    return out


def build(rep):
    return Section(rep)


# ------------------------------------------------------------------ HTML

def _r():
    return markup


class NaNotes:
    """The n/a reasons of one table, said once under it (grouped by reason,
    naming the runners) instead of in every cell of every native row."""

    def __init__(self):
        self.by_reason = {}

    def add(self, label, reason):
        labels = self.by_reason.setdefault(reason, [])
        if label not in labels:
            labels.append(label)

    def lines(self):
        return [f"{', '.join(labels)}: {reason}" for reason, labels in self.by_reason.items()]


def _missing_html(m, w, s, metric, na):
    return section.missing_html(m, w, s, metric, na, KIND)


def _stat_html(v, w, s, metric, na, ci=True):
    r = _r()
    if isinstance(v, Missing):
        return _missing_html(v, w, s, metric, na)
    interval = f' <span class=ci>{r.fmt_ci(v.ci)}</span>' if ci and v.ci else ""
    title = f"n={v.n}" + (f", interval of the median {r.fmt_ci(v.ci)}" if v.ci else "")
    partly = ""
    if v.partly:   # some repetitions have no value: say which and why
        partly = (f'<br><span{r.data_attrs(runner=s.label, workload=w, metric=metric, kind="io-partly", status=v.partly.status)}>'
                  f'{r.status_badge(v.partly.status, v.partly.reason)}</span> <span class=ci>'
                  f'n={v.n}; {r.esc(v.partly.reason)}</span>')
    return (f'<span title="{r.esc(title)}"{r.data_attrs(runner=s.label, workload=w, metric=metric, kind="io", value=repr(v.median))}>'
            f'{r.fmt(v.median)}</span>{interval}{partly}')


def _slowdown_html(row, w, metric, na):
    r = _r()
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
    if s.emulated:
        cls = "mut"
    ci = (f'<span class=ci>{r.fmt_ci(x.ci, r.fmt_ratio)}</span>' if x.ci else
          f'<span class=ci>no interval: {r.esc(x.ci_why or "too few repetitions")}</span>')
    note = f'<br><span class=ci>{r.esc(row.baseline_note)}</span>' if row.baseline_note else ""
    return (f'<b class="{cls}"{r.data_attrs(runner=s.label, workload=w, metric=metric, kind="io-slowdown", value=repr(x.slowdown))}>'
            f'{r.fmt_ratio(x.slowdown)}</b><br>{ci}{note}')


def _exits_html(row, w, na):
    return section.exits_html(row, w, na, KIND, PER)


def _host_cpu_html(row, w, na):
    r = _r()
    out = _stat_html(row.host_cpu, w, row.series, HOST_CPU, na, ci=False)
    x = row.host_cpu_vs_native
    if x is not None and x.slowdown is not None:
        out += (f'<br><span class=small{r.data_attrs(runner=row.series.label, workload=w, metric=HOST_CPU, kind="io-slowdown", value=repr(x.slowdown))}>'
                f'{r.fmt_ratio(x.slowdown)} native</span>')
    if row.host_cpu_note:
        out += f'<br><span class="ci">{r.esc(row.host_cpu_note)}</span>'
    return out


# Text-heavy cells (exits by class, the threads counted) may wrap: td.n does not.
WRAP = ' style="white-space:normal;text-align:left;min-width:12ch;max-width:28ch"'
NUM_WRAP = ' style="white-space:normal;min-width:10ch;max-width:24ch"'   # still right-aligned


def _row_head(row):
    r = _r()
    s = row.series
    return r.esc(row.label) + (f'<br><span class="emu" title="{r.esc(s.emulated)}">'
                               f'{r.EMU_TEXT}</span>' if s.emulated else "")


def _row_html(t, row, na, ncols):
    r = _r()
    s, w = row.series, t.workload
    if row.cell_missing is not None:
        return (f'<tr{r.data_attrs(runner=s.label, workload=w, status=row.status[0])}>'
                f'<td>{_row_head(row)}</td><td colspan={ncols - 1}>'
                f'{_missing_html(row.cell_missing, w, s, t.metric, None)}</td></tr>')
    tds = [f'<td>{_row_head(row)}</td>',
           f'<td class=n>{_stat_html(row.primary, w, s, t.metric, na)}</td>',
           f'<td class=n{NUM_WRAP}>{_slowdown_html(row, w, t.metric, na)}</td>']
    if t.shows_iops:
        tds.append(f'<td class=n>{_stat_html(row.iops, w, s, IOPS, na, ci=False)}</td>')
    tds += [f'<td class=n>{_stat_html(row.latency[m], w, s, m, na, ci=False)}</td>'
            for m in LATENCY]
    tds.append(f'<td class=n{WRAP}>{_exits_html(row, w, na)}</td>')
    notes = f'<br><span class=ci>{r.esc(row.notify_note)}</span>' if row.notify_note else ""
    tds.append(f'<td class=n{WRAP}>{_stat_html(row.notifies, w, s, NOTIFIES, na, ci=False)}'
               f'{notes}</td>')
    tds.append(f'<td class=n{WRAP}>{_host_cpu_html(row, w, na)}</td>')
    return f'<tr{r.data_attrs(runner=s.label, workload=w)}>{"".join(tds)}</tr>'


def _table_html(t):
    r = _r()
    w = t.workload
    if t.metric is None:
        rows = "".join(f'<tr><td>{_row_head(row)}</td><td>'
                       f'{_missing_html(Missing(*row.status), w, row.series, "", None)}</td></tr>'
                       for row in t.rows)
        return (f'<h3 class=mono id="io-{r.esc(w)}">{r.esc(w)}</h3><p class="mut">No runner has '
                f'a value for this workload.</p><table class="io-table"><thead><tr><th>runner'
                f'</th><th>cell</th></tr></thead><tbody>{rows}</tbody></table>')
    ncols = 3 + (1 if t.shows_iops else 0) + len(LATENCY) + 3
    na = NaNotes()
    trs = "".join(_row_html(t, row, na, ncols) for row in t.rows)
    iops = ('<th class=n rowspan=2>IOPS<br><span class=dir>ops_per_s, ↑</span></th>'
            if t.shows_iops else "")
    lat = "".join(f'<th class=n>{m[len("req_ns."):]}<br><span class=dir>ns, ↓</span></th>'
                  for m in LATENCY)
    foot = ""
    if na.by_reason:
        foot = ('<p class="small mut">n/a: ' + " · ".join(r.esc(x) for x in na.lines())
                + '</p>')
    return (f'<h3 class=mono id="io-{r.esc(w)}">{r.esc(w)}</h3><div class=scroll>'
            f'<table class="io-table" style="font-size:11.5px"'
            f'{r.data_attrs(workload=w, metric=t.metric)}><thead><tr>'
            f'<th rowspan=2>runner</th><th class=n rowspan=2>{r.esc(t.metric)}<br>'
            f'<span class=dir>{r.esc(t.unit)}, {r.arrow(t.better)} {r.direction(t.better)}; '
            f'median [interval]</span></th><th class=n rowspan=2>slowdown vs native<br>'
            f'<span class=dir>×, &gt;1 is worse [95% CI]</span></th>{iops}'
            f'<th colspan={len(LATENCY)}>request latency: median over repetitions</th>'
            f'<th class=n rowspan=2>exits / request<br><span class=dir>↓, per source, by '
            f'class</span></th><th class=n rowspan=2>notifies / request<br>'
            f'<span class=dir>↓</span></th><th class=n rowspan=2>host CPU ns / request<br>'
            f'<span class=dir>ns, ↓; threads counted</span></th></tr><tr>{lat}</tr></thead>'
            f'<tbody>{trs}</tbody></table></div>{foot}')


def _served_html(sec):
    r = _r()
    served = sec.served()
    any_notify = any(n for _s, _b, n in served)
    rows = "".join(
        f'<tr{r.data_attrs(runner=s.label, key=blk_key(s.runner))}><td>{r.esc(s.label)}</td>'
        f'<td class=n>{s.run_index + 1}</td><td class=mono>{r.esc(blk)}</td>'
        + (f'<td class=mono>{r.esc(n) if n else "—"}</td>' if any_notify else "") + '</tr>'
        for s, blk, n in served)
    runs = "".join(f"<th>run {i + 1}</th>" for i in sec.io_runs)
    disk = "".join(
        f'<tr{r.data_attrs(key=k)}><th class=mono>{r.esc(k)}</th>'
        + "".join(f'<td class=mono>{r.esc(_disk_value(k, sec.disk(i)[k]))}</td>'
                  for i in sec.io_runs) + '</tr>'
        for k in sec.disk_keys())
    return ('<div class="figs"><table id="io-served"><thead><tr><th>runner</th>'
            '<th class=n>run</th><th>what served the requests<br><span class=dir>meta '
            'runner.&lt;r&gt;.blk</span></th>'
            + ('<th>notify<br><span class=dir>runner.&lt;r&gt;.blk_notify</span></th>'
               if any_notify else "") +
            f'</tr></thead><tbody>{rows}</tbody></table><table id="io-disk"><thead><tr>'
            f'<th>the run\'s disk<br><span class=dir>meta disk.*</span></th>{runs}</tr>'
            f'</thead><tbody>{disk}</tbody></table></div>')


def _disk_value(key, value):
    if key == "disk.size_bytes" and value.isdigit():
        return f"{value} ({model.human_size(int(value))})"
    if key == "disk.odirect" and value != NOT_RECORDED:
        return value + (" (O_DIRECT: no page cache)" if model.truthy(value)
                        else " (page cache in the path)" if model.falsy(value) else "")
    return value


INTRO = ("One operation of an io/* workload is one request to the run's disk (one file for "
         "every runner of a run; what served the requests is in the tables below). Per "
         "workload and runner, native first: the workload's primary metric (time per request "
         "at queue depth 1 and for flush, IOPS at depth 32, MB/s sequential), median over "
         "repetitions [distribution-free interval of the median], and the slowdown vs native, "
         ">1 is worse [95% bootstrap interval], both from hvbench summarize as in Overhead vs "
         "native. Request latency: each repetition's percentile over every request it timed "
         "(req_ns.*), then the median over repetitions. Exits / request: per source, the "
         "median over repetitions of exits.csv's total count / ops, and by exit class "
         "(exit_classes.py); sources overlap and are never added. Notifies / request: the "
         "device notifications the runner counted per request (notifies_per_op). Host CPU / "
         "request: CPU time of the host threads that served the repetition (named under each "
         "value) over its requests, median over repetitions, and its ratio to native's "
         "(ratio of medians, no interval). A missing value shows its status and reason.")


def html(rep):
    """The section, or "" when the runs have no io/* workload."""
    sec = rep.io
    if not sec:
        return ""
    r = _r()
    modes = "; ".join(f"{r.esc(s.label)}: notify={r.esc(n)}" for s, _b, n in sec.served() if n)
    fig = r.figure(rep.plotter, PLOT, "Request latency per io/* workload and runner "
                   "(req_ns.*; log10 axis past two decades, else linear from 0): box = "
                   "p50 to p99, whisker to p99.9, dot = max, each the median over "
                   "repetitions; a dashed outline marks a cell without latency, with its "
                   "status; emulated runners left out; lower is better"
                   + (f" ({modes})" if modes else "") + ".",
                   missing="no io/* workload timed its requests")
    return section.html_section("io", "Block I/O", INTRO, [_served_html(sec), fig], "I/O",
                                sec.warnings, [_table_html(t) for t in sec.tables])


def nav_items(rep):
    return [("io", "Block I/O")] if rep.io else []


# -------------------------------------------------------------- Markdown

def _md_value(v, label, na, ci=True):
    r = _r()
    if isinstance(v, Missing):
        return section.md_missing(v, label, na)
    return (r.fmt(v.median) + (f" {r.fmt_ci(v.ci)}" if ci and v.ci else "")
            + (f" (n={v.n}; {v.partly.status}: {v.partly.reason})" if v.partly else ""))


def _md_slowdown(row, na):
    r = _r()
    if row.native:
        return "baseline"
    x = row.slowdown
    if isinstance(x, Missing):
        return section.md_missing(x, row.label, na)
    if x is None or x.slowdown is None:
        return section.md_missing(Missing("n/a", "no ratio (a median of 0, or no direction)"),
                           row.label, na)
    return (r.fmt_ratio(x.slowdown) + (f" {r.fmt_ci(x.ci, r.fmt_ratio)}" if x.ci else "")
            + (f" ({row.baseline_note})" if row.baseline_note else ""))


def _md_exits(row, na):
    return section.md_exits(row, na, PER)


def _md_host_cpu(row, na):
    r = _r()
    out = _md_value(row.host_cpu, row.label, na, ci=False)
    x = row.host_cpu_vs_native
    if x is not None and x.slowdown is not None:
        out += f" ({r.fmt_ratio(x.slowdown)} native)"
    if row.host_cpu_note:
        out += f" [{row.host_cpu_note}]"
    return out


def _md_table(t):
    r = _r()
    head = ["runner", f"{t.metric} ({t.unit}, {r.direction(t.better)})", "slowdown vs native"]
    head += ["IOPS"] if t.shows_iops else []
    head += ["p50 ns", "p99 ns", "p99.9 ns", "exits/req", "notifies/req", "host CPU ns/req"]
    rows, na = [], NaNotes()
    for row in t.rows:
        if row.cell_missing is not None:
            m = row.cell_missing
            rows.append([row.label, f"{m.status}: {m.reason}"] + [m.status] * (len(head) - 2))
            continue
        cells = [row.label, _md_value(row.primary, row.label, na), _md_slowdown(row, na)]
        cells += [_md_value(row.iops, row.label, na, ci=False)] if t.shows_iops else []
        cells += [_md_value(row.latency[m], row.label, na, ci=False) for m in LATENCY[:3]]
        cells += [_md_exits(row, na), _md_value(row.notifies, row.label, na, ci=False),
                  _md_host_cpu(row, na)]
        rows.append(cells)
    out = [r.md_table(head, rows)]
    return out + section.md_na_lines(na)


def markdown(rep):
    """The section's Markdown lines ([] without io/*)."""
    sec = rep.io
    if not sec:
        return []
    r = _r()
    served = r.md_table(["runner", "run", "served by (runner.<r>.blk)", "notify"],
                        [[s.label, str(s.run_index + 1), blk, n or "—"]
                         for s, blk, n in sec.served()])
    disk = r.md_table(["the run's disk"] + [f"run {i + 1}" for i in sec.io_runs],
                      [[k] + [_disk_value(k, sec.disk(i)[k]) for i in sec.io_runs]
                       for k in sec.disk_keys()])
    return section.md_section("Block I/O", INTRO, sec.warnings, [served, disk], sec.tables,
                              _md_table)


# ----------------------------------------------------------------- plot

PLOT = "io-latency"


def plot(plotter, rep):
    """Request latency per io workload and runner (gnuplot/io.gp), in ns
    (section.latency_plot)."""
    sec = rep.io
    tables = [t for t in sec.tables if t.metric and any(
        isinstance(row.latency[LATENCY[0]], Stat) for row in t.rows)]
    return section.latency_plot(plotter, PLOT, "io.gp", sec, tables, LATENCY)
