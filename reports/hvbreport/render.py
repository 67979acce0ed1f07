"""Write report.html (self-contained: CSS and PNGs inlined) and summary.md.

Every number comes from model.py; this module only formats.  Every table
header carries its unit and direction, numeric cells carry data-* attributes
(runner, workload, metric, value) so tests and scripts can read the page
without scraping text.
"""

import datetime
import re

from . import context as ctx, model, plots, stats
from .markup import (
    EMU_TEXT,
    HIGHER,
    LOWER,
    arrow,
    data_attrs,
    direction,
    esc,
    figure,
    fmt,
    fmt_ci,
    fmt_pct,
    fmt_ratio,
    md_cell,
    md_table,
    runner_head,
    status_badge)
from . import io as io_section
from . import net as net_section
from . import capacity as capacity_section
from . import migration as migration_section
from . import irq as irq_section
from . import crosscheck as crosscheck_section
from . import hosts as hosts_section

IMPORTANT_KEYS = ["status", "interrupted_at", "run_id", "started_utc", "finished_utc",
                  "host_name", "cpu_model", "cpu_count", "mem_total_kib", "tsc_khz", "kernel",
                  "hypervisor", "nesting", "mitigations", "thp", "hugepages_total", "governor",
                  "topology", "compiler", "workload_cflags", "runners", "workloads", "reps",
                  "quick", "hvbench_version", "hvbench_commit", "command_line", "format_version"]
VIRT_FLAGS = ["hypervisor", "vmx", "svm", "ept", "vpid", "npt", "ept_ad", "flexpriority",
              "tpr_shadow", "vnmi", "pcid", "invpcid", "x2apic", "tsc_deadline_timer",
              "constant_tsc", "nonstop_tsc", "avx2", "avx512f", "md_clear", "flush_l1d",
              "arch_capabilities"]

CSS = """
:root { --fg:#1b1f24; --mut:#57606a; --line:#d0d7de; --bg2:#f6f8fa; --ok:#1a7f37; --bad:#cf222e;
        --warn:#9a6700; --info:#0969da; }
* { box-sizing: border-box; }
body { font: 13px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
       color: var(--fg); margin: 0 auto; max-width: 1400px; padding: 12px 24px 60px; }
h1 { font-size: 22px; margin: 8px 0 2px; }
h2 { font-size: 17px; margin: 28px 0 6px; padding-top: 6px; border-top: 2px solid var(--line); }
h3 { font-size: 14px; margin: 16px 0 4px; }
p, li { max-width: 110ch; }
.sub { color: var(--mut); margin: 0 0 8px; }
nav { display: flex; flex-wrap: wrap; gap: 4px 14px; padding: 6px 10px; background: var(--bg2);
      border: 1px solid var(--line); border-radius: 6px; margin: 10px 0; }
nav a { color: var(--info); text-decoration: none; }
.banner { border-left: 5px solid var(--info); background: #ddf4ff; padding: 8px 12px;
          margin: 8px 0; border-radius: 4px; }
.banner.bad { border-color: var(--bad); background: #ffebe9; }
.banner.warn { border-color: var(--warn); background: #fff8c5; }
.banner b { font-weight: 650; }
table { border-collapse: collapse; margin: 6px 0 10px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 3px 7px; vertical-align: top; }
th { background: var(--bg2); font-weight: 600; text-align: left; }
td.n, th.n { text-align: right; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
p.cap { color: var(--mut); margin: 8px 0 2px; }
.mut { color: var(--mut); }
.small { font-size: 11.5px; }
.mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 11.5px; }
.wrap { word-break: break-all; }
.emu { display: inline-block; background: #fbefff; color: #8250df; border: 1px solid #d8b9ff;
       border-radius: 10px; padding: 0 6px; font-size: 11px; font-weight: 500; white-space: nowrap; }
.st { display: inline-block; border-radius: 10px; padding: 0 6px; font-size: 11px;
      white-space: nowrap; border: 1px solid transparent; }
.st-ok { background: #dafbe1; color: var(--ok); }
.st-skipped, .st-n\\/a { background: #eaeef2; color: var(--mut); }
.st-unsupported { background: #fff8c5; color: var(--warn); }
.st-failed, .st-absent { background: #ffebe9; color: var(--bad); }
.st-partly { background: #fff1e5; color: #bc4c00; }
.st-running, .st-interrupted { background: #ffebe9; color: var(--bad); font-weight: 600; }
.st-complete { background: #dafbe1; color: var(--ok); }
.ci { color: var(--mut); font-size: 11px; }
.worse { color: var(--bad); }
.better { color: var(--ok); }
.diff td { background: #fff8c5 !important; }
figure { margin: 8px 0 14px; }
.figs { display: flex; flex-wrap: wrap; gap: 10px 16px; align-items: flex-start; }
.figs figure { margin: 4px 0; flex: 0 1 auto; max-width: 100%; min-width: 0; }
.figs figcaption { max-width: 60ch; }
.scroll { overflow-x: auto; max-width: 100%; }
table.meta td { max-width: 70ch; }
#micro-table { font-size: 11.5px; }
#micro-table td, #micro-table th { padding: 2px 4px; }
#micro-table td:first-child { max-width: 150px; }
figure img { max-width: 100%; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--mut); font-size: 12px; max-width: 120ch; }
.noplot { border: 1px dashed var(--bad); color: var(--bad); padding: 8px; border-radius: 4px;
          margin: 6px 0; }
details > summary { cursor: pointer; color: var(--info); margin: 4px 0; }
.grid td { text-align: center; padding: 2px 4px; }
.grid td:first-child { text-align: left; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
          margin: 0 3px 0 2px; vertical-align: baseline; border: 1px solid #0003; }
.dir { font-size: 11px; color: var(--mut); font-weight: 400; white-space: nowrap; }
"""


class Report:
    """Collects everything the renderers need, computed once."""

    def __init__(self, runs, title, seed, plotter, allow_partial):
        self.runs, self.title, self.seed, self.plotter = runs, title, seed, plotter
        self.allow_partial = allow_partial
        self.series = model.build_series(runs)
        self.workloads = model.all_workloads(self.series)
        self.overhead = model.overhead_table(self.series, self.workloads, seed)
        self.micro = model.micro_table(self.series, self.workloads, seed)
        self.chase = model.chase_table(self.series, self.workloads, seed)
        self.exits = model.exit_table(runs, self.series)
        self.counters = model.counter_table(runs, self.series)
        self.problems = model.problems(runs, self.series)
        self.matrix = model.matrix(self.series, self.workloads)
        self.headline = model.headline(self.overhead, net_section.glance_labels(self.overhead))
        self.versus = model.versus_table(self.series, self.workloads)
        self.run_set_warnings = ctx.report_warnings(
            runs, sorted({s.run_index for s in self.series if model.is_native(s.runner)}))
        self.hosts = hosts_section.build(self)  # which machine each run is from
        self.run_set_warnings += self.hosts.warnings
        self.io = io_section.build(self)  # the io section; its banners join the others
        self.run_set_warnings += self.io.warnings
        self.net = net_section.build(self)  # the net section; its banners too
        self.run_set_warnings += self.net.warnings
        self.irq = irq_section.build(self)  # Interrupts and SMP scaling
        self.crosscheck = crosscheck_section.build(self)  # guest vs host instruments
        self.capacity = capacity_section.build(self)  # hvbench capacity's steps (N VMs)
        self.migration = migration_section.build(self)  # hvbench migrate's grid points
        self.generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        self.overhead_plots = []
        self.workload_plots = []
        if plotter is not None and plotter.available:
            self._draw()

    def _draw(self):
        """Render every plot up front so the HTML can embed them."""
        p = self.plotter
        p.styles.assign(self.series)  # a series keeps its colour in every plot
        self.overhead_plots = plots.overhead_plots(p, self.overhead, self.series,
                                                   self.net.left_out, self.net.flag)
        self.workload_plots = plots.workload_plots(p, self.overhead, self.series, self.seed,
                                                   self.net.flag)
        plots.micro_plot(p, self.micro, self.series)
        plots.chase_plots(p, self.chase, self.series, self.seed)
        plots.exits_plot(p, self.exits)
        if self.io:
            io_section.plot(p, self)
        if self.net:
            net_section.plot(p, self)
        if self.capacity:
            capacity_section.plot(p, self)
        if self.migration:
            migration_section.plot(p, self)

    @property
    def resamples(self):
        """Bootstrap resamples of the intervals shown: the engine's, as it wrote them."""
        return self.runs[0].summary.doc["resamples"]

    @property
    def confidence_pct(self):
        return round(self.runs[0].summary.doc["confidence"] * 100)

    @property
    def partial_runs(self):
        return [r for r in self.runs if r.incomplete]

    @property
    def emulated(self):
        return [s for s in self.series if s.emulated]


# ---------------------------------------------------------------- sections

def header(rep):
    out = [f"<h1>{esc(rep.title)}</h1>"]
    runners = ", ".join(series_key(rep, s) for s in rep.series)
    out.append(f'<p class="sub">hvbench report · {len(rep.runs)} run(s): '
               + ", ".join(f"<b>{i + 1}</b> = <span class=mono>{esc(r.run_id)}</span> "
                           f"{status_badge(r.status)}" for i, r in enumerate(rep.runs))
               + f" · runners (plot colour): {runners} · generated {esc(rep.generated)} · "
               f'context: <a href="#meta">run metadata</a></p>')
    for r in rep.partial_runs:
        what = {"running": "the writer died or is still running: data comes from *.partial "
                           "files and cells may be missing or cut short",
                "interrupted": "the run was stopped by a signal"
                               + (f" at {r.meta['interrupted_at']}" if r.meta.get("interrupted_at")
                                  else "") + ": only the cells that finished are here",
                "failed": "writing the results failed"
                          + (f" ({r.meta['failed_reason']})" if r.meta.get("failed_reason")
                             else "") + ", so the run stopped there: data comes from *.partial "
                          "files and cells may be missing"}
        out.append(f'<div class="banner bad" id="partial-banner"><b>PARTIAL REPORT</b> — run '
                   f'<span class=mono>{esc(r.run_id)}</span> has status <b>{esc(r.status)}</b>: '
                   f'{esc(what.get(r.status, "incomplete"))}. Rendered because --allow-partial '
                   f'was given; do not compare these numbers as if complete.</div>')
    for r in rep.runs:
        for w in r.warnings:
            out.append(f'<div class="banner warn"><b>Input warning</b> ({esc(r.run_id)}): {esc(w)}</div>')
    out.extend(page_size_banners(rep))
    for r in rep.runs:
        for wid, title, text in model.context_warnings(r):
            out.append(f'<div class="banner warn" id="{wid}-banner"><b>{esc(title)}</b> '
                       f'({esc(r.run_id)}): {esc(text)}.</div>')
    for wid, title, text in rep.run_set_warnings:
        out.append(f'<div class="banner warn" id="{wid}-banner"><b>{esc(title)}</b>: '
                   f'{esc(text)}.</div>')
    if rep.emulated:
        items = "; ".join(f"<b>{esc(s.label)}</b> ({esc(s.emulated)})" for s in rep.emulated)
        out.append(f'<div class="banner warn" id="emulation-banner"><span class="emu">{EMU_TEXT}'
                   f'</span> {items}. These runners check that the guest code works; their '
                   f'timings say nothing about a hypervisor\'s cost and are left out of the '
                   f'overhead charts.</div>')
    p = rep.plotter
    if p is None or not p.available:
        why = "disabled with --no-plots" if p is None else p.why_not
        out.append(f'<div class="banner bad" id="plots-banner"><b>Plots were not drawn</b>: '
                   f'{esc(why)}. Tables below are complete.</div>')
    elif p.failed:
        out.append('<div class="banner bad" id="plots-banner"><b>Some plots were not drawn</b>: '
                   + "; ".join(f"{esc(k)}: {esc(v)}" for k, v in p.failed.items()) + "</div>")
    if not any(s.values for s in rep.series):
        out.append('<div class="banner bad" id="empty-banner"><b>No measurements</b>: no ok '
                   'sample in ' + ("these runs" if len(rep.runs) > 1 else "this run") +
                   '. Every reason the writer gave is listed below.</div>')
    nprob = len(rep.problems)
    if nprob:
        out.append(f'<div class="banner">{nprob} skipped / unsupported / failed entries, each with '
                   f'its reason: see <a href="#problems">Skipped, unsupported and failed</a>.</div>')
    return "\n".join(out)


def series_key(rep, s):
    """A runner's name with the colour it has in every plot (the legend of the page)."""
    p = rep.plotter
    if p is None or not p.available:
        return esc(s.label)
    return (f'<span class="swatch" style="background:{esc(p.styles.color(s))}"'
            f'{data_attrs(runner=s.label, color=p.styles.color(s))}></span>{esc(s.label)}')


def page_size_banners(rep):
    """Warn when mem/* rows side by side ran with different page sizes: their
    gap would be the TLB, not the hypervisor (meta page_size, --page-size)."""
    out, sizes = [], {}
    for i, r in enumerate(rep.runs):
        # runners with any samples.csv row of mem/* (hvbench summarize's cells)
        mem = {s.runner for s in rep.series
               if s.run_index == i and any(w.startswith("mem/") for w in s.workloads)}
        ps = r.meta.get("page_size")
        if ps:
            sizes.setdefault(ps, []).append(r.run_id)
        elif "native" in mem and len(mem) > 1:
            out.append(f'<div class="banner warn" id="page-size-banner"><b>Page sizes differ</b> '
                       f'({esc(r.run_id)}): this run has no page_size (it predates --page-size): '
                       f'native ran mem/* on 4 KiB pages, guests on 2 MiB guest page tables, so '
                       f'the native-vs-guest gap of mem/* includes the page size. Rerun with '
                       f'--page-size.</div>')
    if len(sizes) > 1:
        items = "; ".join(f"{esc(k)}: {esc(', '.join(v))}" for k, v in sorted(sizes.items()))
        out.append(f'<div class="banner warn" id="page-size-banner"><b>Page sizes differ</b> '
                   f'between runs ({items}): mem/* rows from different runs measure the page '
                   f'size as well.</div>')
    return out


def nav(extra=()):
    items = [("headline", "At a glance"), ("meta", "Run context (metadata)"), ("matrix", "Matrix"), ("overhead", "Overhead vs native"),
             ("workloads", "Runners side by side"), ("versus", "Runner against runner"),
             ("micro", "VM-exit micro-benchmarks"), ("chase", "Pointer chase"), *extra,
             ("exits", "Exit reasons"), ("counters", "Counters"),
             ("problems", "Skipped / unsupported / failed"), ("all", "All metrics"),
             ("method", "Method")]
    return "<nav>" + "".join(f'<a href="#{k}">{esc(v)}</a>' for k, v in items) + "</nav>"


def split_mitigations(value):
    """Split "name=state;name=state" where a state may itself contain ';'."""
    parts = []
    for frag in value.split(";"):
        if parts and not re.match(r"^\s*[A-Za-z0-9_]+=", frag):
            parts[-1] += ";" + frag
        elif frag.strip():
            parts.append(frag.strip())
    return parts


def meta_value(key, value):
    if key == "mitigations":
        return '<span class="small">' + " · ".join(
            f"<b>{esc(p.split('=', 1)[0])}</b>={esc(p.split('=', 1)[1])}" if "=" in p else esc(p)
            for p in split_mitigations(value)) + "</span>"
    if key == "cpu_flags":
        return f'<span class="mono wrap small">{esc(value)}</span>'
    if key == "status":
        return status_badge(value)
    if key in ("command_line", "workload_cflags", "kernel", "hvbench_commit"):
        return f'<span class="mono">{esc(value)}</span>'
    return esc(value)


def _meta_rows(rep, keys):
    multi = len(rep.runs) > 1
    rows = []
    for k in keys:
        vals = [r.meta.get(k) for r in rep.runs]
        cls = ' class="diff"' if multi and len(set(vals)) > 1 else ""
        cells = "".join(f"<td>{meta_value(k, v) if v is not None else '<span class=mut>(absent)</span>'}</td>"
                        for v in vals)
        rows.append(f"<tr{cls}{data_attrs(key=k)}><th class=mono>{esc(k)}</th>{cells}</tr>")
    return rows


def _meta_head(rep):
    return "".join(f"<th>run {i + 1}<br><span class=dir>{esc(r.path)}</span></th>"
                   for i, r in enumerate(rep.runs))


def glance_labels(rep):
    return [s.label for s in rep.series if not model.is_native(s.runner) and not s.emulated
            and any(s.label in g.per for g in rep.headline)]


def left_out_text(g):
    """'mem/first-touch (kvm only)': workloads not in every runner's mean."""
    return ", ".join(f"{w} ({', '.join(ls)} only)" if ls else w
                     for w, ls in sorted(g.left_out.items(), key=lambda t: model.workload_rank(t[0])))


def headline_section(rep):
    """One-glance summary: geometric-mean slowdown per workload group and runner,
    over the workloads every shown runner has."""
    if not rep.headline:
        return ""
    labels = glance_labels(rep)
    head = "".join(f"<th class=n>{esc(l)}</th>" for l in labels)
    rows = []
    for g in rep.headline:
        tds = []
        for l in labels:
            if l not in g.per:
                tds.append('<td class="n mut">—</td>')
                continue
            x = g.per[l]
            # no interval for a geomean here, so no red/green verdict either
            tds.append(f'<td class=n{data_attrs(runner=l, group=g.group, kind="geomean", value=repr(x))}>'
                       f'<b>{fmt_ratio(x)}</b> <span class=small>{fmt_pct((x - 1) * 100)}</span></td>')
        left = left_out_text(g)
        rows.append(f"<tr><td class=mono>{esc(g.group)}</td>"
                    f"<td class=n{data_attrs(group=g.group, kind='k', value=str(g.k))}>{g.k}</td>"
                    f"{''.join(tds)}<td class=small>{esc(left) if left else '—'}</td></tr>")
    return (f'<h2 id="headline">At a glance</h2><p class="cap">Geometric mean of the slowdowns vs '
            f'native (&gt;1 is worse, 1.000× = native) over the k workloads of each group that '
            f'<b>every</b> runner shown here measured, so each column averages the same set; '
            f'workloads only some runners have are listed as left out, not averaged. micro/* is '
            f'not averaged (its native side is an analogue, see below); emulated runners and the '
            f'in-VMM loopback (kvm-loop: no host stack) are not shown. Per-workload values and intervals: <a href="#overhead">Overhead vs '
            f'native</a>.</p><table id="headline-table">'
            f'<thead><tr><th>group<br><span class=dir>slowdown vs native, &gt;1 is worse</span></th>'
            f'<th class=n>k</th>{head}<th>left out (not in every runner)</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def context(rep):
    """Every meta.csv key, once: the keys that most change results first, then
    every runner.* key, then the rest (collapsed), in one table."""
    keys = [k for k in IMPORTANT_KEYS if any(k in r.meta for r in rep.runs)]
    rows = _meta_rows(rep, keys)
    vflags = []
    for r in rep.runs:
        flags = set(r.meta.get("cpu_flags", "").split())
        vflags.append(" ".join(f for f in VIRT_FLAGS if f in flags) or "(none of them)")
    rows.append("<tr><th>virtualization-relevant cpu flags<br><span class=dir>(derived from "
                "cpu_flags)</span></th>" + "".join(f"<td class=mono>{esc(v)}</td>" for v in vflags)
                + "</tr>")
    rkeys = sorted({k for r in rep.runs for k in r.meta if k.startswith("runner.")})
    rows += _meta_rows(rep, rkeys)
    rest = sorted({k for r in rep.runs for k in r.meta} - set(keys) - set(rkeys))
    ncol = len(rep.runs) + 1
    note = " Rows that differ between runs are highlighted." if len(rep.runs) > 1 else ""
    more = (f'<tbody id="meta-rest"><tr><th colspan="{ncol}" class="mut">the other {len(rest)} '
            f'keys, alphabetically</th></tr>{"".join(_meta_rows(rep, rest))}</tbody>'
            if rest else "")
    return (f'<h2 id="context">Run context</h2><p class="mut">Every key of every meta.csv '
            f'({len(keys) + len(rkeys) + len(rest)} keys), each once: the keys that most change '
            f'results first, then every runner.* key, then the rest.{note}</p>'
            f'<table id="meta" class="meta"><thead><tr><th>key</th>{_meta_head(rep)}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody>{more}</table>')


def matrix_section(rep):
    head = "".join(f"<th>{runner_head(s)}</th>" for s in rep.series)
    rows = []
    for w, cells in rep.matrix:
        tds = []
        for s, st, why in cells:
            n = max((len(s.values[(w, m)]) for m in s.metrics.get(w, ())), default=0)
            text = f"ok ({n})" if st == "ok" else st
            tds.append(f'<td{data_attrs(runner=s.label, workload=w, status=st)}>'
                       f'<span class="st st-{esc(st)}" title="{esc(why)}">{esc(text)}</span></td>')
        rows.append(f"<tr><td class=mono>{esc(w)}</td>{''.join(tds)}</tr>")
    return (f'<h2 id="matrix">Matrix: what ran</h2><p class="mut">Each cell is runner × workload: '
            f'ok (repetitions with values), skipped, unsupported, failed, partly (some rows not '
            f'ok), n/a (not asked for in that run), absent (no row at all). Hover for the reason; '
            f'all reasons are listed in <a href="#problems">Skipped, unsupported and failed</a>.</p>'
            f'<table class="grid" id="matrix-table"><thead><tr><th>workload</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def overhead_section(rep):
    out = ['<h2 id="overhead">Overhead vs native</h2>',
           '<p class="mut">Slowdown = ratio of medians over repetitions, oriented so that '
           '<b>&gt; 1 means slower than native</b> for every metric (time ratio for '
           'lower-is-better metrics, native/runner for higher-is-better ones); overhead % = '
           '(slowdown − 1) × 100. 95% CI: percentile bootstrap of the ratio of medians by hvbench summarize (the engine '
           f'behind hvbench compare), resampling per-repetition values of each side ({rep.resamples} resamples, seed '
           f'{rep.seed}). Micro-benchmarks compare with a native <i>analogue</i> (see notes), so '
           'their ratios say how far an exit is from the nearest native operation.</p>']
    names = rep.overhead_plots
    if rep.plotter is not None and rep.plotter.available and not names:
        out.append('<div class="noplot">No overhead plot: no workload has both a native and a '
                   'virtual value.</div>')
    figs = []
    for name in names:
        fam = name.split("-", 1)[1]
        figs.append(figure(rep.plotter, name, f"{esc(fam)}/*: bars = median slowdown vs native "
                           "(×, log2 axis centred at 1 = native; bars grow from 1), whiskers = "
                           "95% bootstrap CI; lower is better. A dashed outline marks a cell "
                           "without a bar, with its status (skipped, unsupported, failed, no "
                           "baseline)."))
    if figs:
        out.append('<div class="figs">' + "".join(figs) + "</div>")
        out.append('<p class="small mut">Not drawn: emulated runners, cells without a native '
                   'value and, for net/*, the in-VMM loopback (no host stack: not native\'s '
                   'path); LOSS above a bar: measured with datagrams lost (the table below has '
                   'them, with reasons and loss).</p>')
    if rep.plotter is None or not rep.plotter.available:
        out.append(figure(rep.plotter, "overhead", "overhead"))
    others = [s for s in rep.series if not model.is_native(s.runner)]
    head = "".join(f'<th class=n>{runner_head(s)}</th>' for s in others)
    natives = [s for s in rep.series if model.is_native(s.runner)]
    nhead = "".join(f'<th class=n>{runner_head(s)}<br><span class=dir>baseline</span></th>'
                    for s in natives) or "<th class=n>native</th>"
    rows = []
    for r in rep.overhead:
        w, m = r["workload"], r["metric"]
        ntds = []
        for nat in r["natives"]:  # one column per native run: each run's own baseline
            nvals = nat.reps(w, m)
            if nvals:
                ntds.append(f'<td class=n><span{data_attrs(runner=nat.label, workload=w, metric=m, kind="median", value=repr(nat.median(w, m)))}>'
                            f'{fmt(nat.median(w, m))}</span> <span class=ci>n={len(nvals)}</span></td>')
            else:
                st, why = model.cell_status(nat, w)
                ntds.append(f'<td class=n>{status_badge(st, why)}</td>')
        ntd = "".join(ntds) or '<td class="n mut">no native run</td>'
        tds = []
        for s, cmp, why in r["cells"]:
            if cmp is None:
                st, swhy = model.cell_status(s, w)
                vals = s.reps(w, m)
                if vals:  # the runner has numbers, only the native side is missing
                    tds.append(f'<td class=n><span{data_attrs(runner=s.label, workload=w, metric=m, kind="median", value=repr(s.median(w, m)))}>'
                               f'{fmt(s.median(w, m))}</span> <span class=ci>n={len(vals)}</span><br>'
                               f'{status_badge("no baseline", why or "no native value")}'
                               f'{net_section.overhead_note(rep, s, w)}</td>')
                else:
                    if st in ("ok", "partly"):  # the cell ran, but not this metric
                        st, swhy = f"no {m}", f"{s.label} recorded other metrics for {w}"
                    tds.append(f'<td class="n mut small">{status_badge(st, swhy)}</td>')
                continue
            cls = "worse" if cmp.ci and cmp.ci[0] > 1.0 else ("better" if cmp.ci and cmp.ci[1] < 1.0 else "")
            extra = f'<br><span class="ci">{esc(why)}</span>' if why else ""
            extra += net_section.overhead_note(rep, s, w)  # loss, loopback beside net figures
            if s.emulated:  # a number, not a verdict: no red/green
                cls, extra = "mut", extra + '<br><span class="emu">emulated: not performance</span>'

            tds.append(
                f'<td class=n><span{data_attrs(runner=s.label, workload=w, metric=m, kind="median", value=repr(cmp.median))}>'
                f'{fmt(cmp.median)}</span> <span class=ci>n={len(cmp.values)}</span><br>'
                f'<b class="{cls}"{data_attrs(runner=s.label, workload=w, metric=m, kind="slowdown", value=repr(cmp.slowdown))}>'
                f'{fmt_ratio(cmp.slowdown)}</b> <span class="small {cls}">{fmt_pct(cmp.overhead_pct)}'
                f'</span><br><span class=ci>{fmt_ci(cmp.ci, fmt_ratio)}</span>{extra}</td>')
        rows.append(f'<tr><td class=mono>{esc(w)}</td><td class=mono>{esc(m)}'
                    f'<br><span class=dir>{esc(r["unit"])}, {arrow(r["better"])} '
                    f'{direction(r["better"])}</span></td>{ntd}{"".join(tds)}</tr>')
    out.append(f'<p class="cap">Per workload, its primary '
               f'metric (bandwidth &gt; ns_per_op &gt; ops_per_s &gt; cycles_per_op). Each cell: '
               f'median in the metric\'s unit (n = repetitions), then slowdown vs native '
               f'[95% CI] and overhead %; slowdown: ↓ lower is better, 1.000× = native. Red: CI '
               f'entirely above 1 (slower); green: entirely below. Hover a badge for its reason.'
               f'</p><div class=scroll><table id="overhead-table"><thead><tr><th>workload</th><th>metric<br><span class=dir>unit, '
               f'direction</span></th>{nhead}{head}</tr></thead>'
               f'<tbody>{"".join(rows)}</tbody></table></div>')
    return "\n".join(out)


def workloads_section(rep):
    """Every runner's primary metric per workload, side by side, in absolute units."""
    out = ['<h2 id="workloads">Runners side by side</h2>',
           '<p class="mut">Per workload family, one panel per workload: every runner\'s '
           'primary metric (the one in <a href="#overhead">Overhead vs native</a>), median over '
           'repetitions with the distribution-free interval of the median, so the hypervisors meet '
           'directly and not only through native. Absolute values in the metric\'s unit: '
           'linear from 0, log10 where a panel spans more than two decades (its axis says so). '
           'A runner has the same place and colour in every panel; a dashed outline marks a '
           'cell that has no value, with its status. Emulated runners are left out.</p>']
    if rep.plotter is None or not rep.plotter.available:
        out.append(figure(rep.plotter, "workloads", "runners side by side"))
        return "\n".join(out)
    if not rep.workload_plots:
        out.append('<div class="noplot">No workload has a value in these runs.</div>')
    for name in rep.workload_plots:
        fam = name.split("-", 1)[1]
        runners = ", ".join(s.label for s in rep.series if not s.emulated)
        out.append(figure(rep.plotter, name, f"{esc(fam)}/*: {esc(runners)} side by side, "
                          "median and 95% CI of the median per workload; each panel states "
                          "its unit, scale and direction."))
    return "\n".join(out)


def versus_section(rep):
    """Runner against runner, directly: what a researcher comparing Xen and KVM
    came for.  Each column is one pair on the same workload and metric."""
    if not rep.versus:
        return ""
    pairs = [(a, b) for a, b, _r, _w in rep.versus[0]["cells"]]
    head = "".join(f'<th class=n>{esc(b.label)}<br><span class=dir>vs {esc(a.label)}</span></th>'
                   for a, b in pairs)
    rows = []
    for r in rep.versus:
        w, m = r["workload"], r["metric"]
        tds = []
        for a, b, x, why in r["cells"]:
            if x is None or x.slowdown is None:
                tds.append(f'<td class="n mut small">{esc(why or "no ratio")}</td>')
                continue
            ci = x.ci
            cls = "worse" if ci and ci[0] > 1.0 else ("better" if ci and ci[1] < 1.0 else "")
            interval = (f'<span class=ci>{fmt_ci(ci, fmt_ratio)}</span>' if ci else
                        f'<span class=ci>no interval: {esc(x.ci_why or "too few repetitions")}</span>')
            tds.append(f'<td class=n><b class="{cls}"{data_attrs(base=a.label, cand=b.label, workload=w, metric=m, kind="versus", value=repr(x.slowdown))}>'
                       f'{fmt_ratio(x.slowdown)}</b> <span class="small {cls}">'
                       f'{fmt_pct((x.slowdown - 1) * 100)}</span><br>{interval}'
                       f' <span class=ci>n={x.n_base}/{x.n_cand}</span></td>')
        rows.append(f'<tr><td class=mono>{esc(w)}</td><td class=mono>{esc(m)}</td>{"".join(tds)}</tr>')
    return ('<h2 id="versus">Runner against runner</h2><p class="mut">Each column sets one '
            'runner directly against another on the same workload and metric (the workload\'s '
            'primary metric), without going through native: <b>slowdown of the column\'s runner '
            'vs the one named under it, &gt;1 means it is worse</b> (ratio of medians over '
            'repetitions, oriented by the metric\'s direction), with the interval computed like '
            'every other in this report. Red/green only when the whole interval is beyond 1. '
            'Emulated runners are not set against others. Each runner against its own native '
            'baseline: <a href="#overhead">Overhead vs native</a>.</p>'
            f'<table id="versus-table"><thead><tr><th>workload</th><th>metric</th>{head}</tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table>')


def short(text, n=70):
    return text if len(text) <= n else text[:n - 1] + "…"


def micro_section(rep):
    out = ['<h2 id="micro">VM-exit micro-benchmarks</h2>',
           '<p class="mut">One operation = one exit of the named kind (micro/syscall: a guest '
           'system call, no exit: the baseline). ns and cycles per operation: median over '
           'repetitions of the per-repetition value (total time / operations); p50 and p99: '
           'median over repetitions of the within-repetition percentile of per-batch values. '
           'All columns: <b>lower is better</b>. Cycles are TSC cycles (meta tsc_khz).</p>']
    if not rep.micro:
        out.append('<p class="mut">No micro/* workloads in these runs.</p>')
        return "\n".join(out)
    out.append(figure(rep.plotter, "micro-dist",
                      "Distribution per runner (ns/op; log10 axis when the values span more "
                      "than two decades, else linear from 0): box = p50 to p90, whisker to p99 "
                      "(medians over repetitions), dots = each repetition's ns/op; a dashed outline "
                      "marks a cell that did not run, with its status; lower is better."))
    present = [s for s in rep.series if any(c["series"] is s and c["status"][0] != "n/a"
                                            for r in rep.micro for c in r["cells"])]
    head2 = "".join('<th class=n>ns/op ↓</th><th class=n>cycles/op ↓</th><th class=n>p50 ns ↓</th>'
                    '<th class=n>p99 ns ↓</th>' for _ in present)
    # A note every micro cell of a runner carries (e.g. "guest ring 3") goes
    # once under the table; a workload's own note stays with the workload.
    common_notes = {}
    for s in present:
        sets = [set(c["notes"]) for r in rep.micro for c in r["cells"]
                if c["series"] is s and c["ns_per_op"]]
        common_notes[s.label] = set.intersection(*sets) if len(sets) > 1 else set()
    usual_n = {}
    for s in present:
        ns = [c["ns_per_op"][2] for r in rep.micro for c in r["cells"]
              if c["series"] is s and c["ns_per_op"]]
        if ns:
            usual_n[s.label] = max(set(ns), key=ns.count)
    head1 = "".join(f'<th colspan="4">{runner_head(s)} <span class=dir>n={usual_n.get(s.label, 0)}'
                    f'</span></th>' for s in present)
    rows = []
    for r in rep.micro:
        tds, notes = [], []
        for c in r["cells"]:
            s = c["series"]
            if s not in present:
                continue
            if not c["ns_per_op"]:
                st, why = c["status"]
                tds.append(f'<td colspan="4" class="mut small">{status_badge(st, why)} '
                           f'{esc(short(why, max(40, 160 // len(present))))}</td>')
                continue
            cells = []
            for metric in ("ns_per_op", "cycles_per_op", "ns_per_op.p50", "ns_per_op.p99"):
                v = c[metric]
                if v is None:
                    cells.append('<td class="n mut">—</td>')
                    continue
                # n only when it is not the runner's usual count (a failed repetition)
                sub = (f' <span class=ci>n={v[2]}</span>' if metric == "ns_per_op"
                       and v[2] != usual_n.get(s.label) else "")
                cells.append(f'<td class=n{data_attrs(runner=s.label, workload=r["workload"], metric=metric, kind="median", value=repr(v[0]))}>'
                             f'{fmt(v[0])}{sub}</td>')
            if c["status"][0] == "partly":
                cells[0] = cells[0].replace("</td>", f' {status_badge("partly", c["status"][1])}</td>')
            tds.extend(cells)
            own = [n for n in c["notes"] if n not in common_notes.get(s.label, set())]
            notes += [n if model.is_native(s.runner) else f"{s.label}: {n}" for n in own]
        note_html = f'<br><span class="ci">{esc("; ".join(notes))}</span>' if notes else ""
        rows.append(f'<tr><td class=mono>{esc(r["workload"])}{note_html}</td>{"".join(tds)}</tr>')
    common = [f"<b>{esc(s.label)}</b>: {esc('; '.join(sorted(common_notes[s.label])))}"
              for s in present if common_notes.get(s.label)]
    foot = ('<p class="small mut">Under each workload: the notes recorded with its samples '
            '(for native, the analogue measured instead).'
            + (f' Notes on every micro cell of a runner: {" · ".join(common)}.' if common else "")
            + '</p>')
    out.append(f'<p class="cap">Units: ns and TSC cycles per '
               f'operation; ↓ lower is better for every column.</p><div class=scroll><table id="micro-table"><thead><tr>'
               f'<th rowspan="2">workload<br><span class=dir>ns, TSC cycles;<br>↓ lower is better</span></th>'
               f'{head1}</tr><tr>{head2}</tr></thead>'
               f'<tbody>{"".join(rows)}</tbody></table></div>{foot}')
    floors = [(r["workload"], c) for r in rep.micro for c in r["cells"] if c.get("floor")]
    if floors:
        body = "".join(
            f'<tr><td class=mono>{esc(w)}</td><td>{esc(c["series"].label)}</td>'
            f'<td class=n>{fmt(c["ns_per_op"][0])}</td>'
            f'<td class=n{data_attrs(runner=c["series"].label, workload=w, metric="floor", kind="median", value=repr(c["floor"][0]))}>'
            f'{fmt(c["floor"][0])}</td><td class=n>{fmt_ratio(c["floor"][1])}</td></tr>'
            for w, c in floors)
        out.append('<p class="cap">How far each userspace exit figure is from its limit: '
                   f'<span class=mono>{esc(model.BOUND_WORKLOAD)}</span>, a bare '
                   '<span class=mono>while (ioctl(KVM_RUN) == 0)</span> loop timed in the same run '
                   '(port-out exit to userspace, no device dispatch), bounds the kvm runner\'s '
                   'userspace port and MMIO exits from below; × floor = figure / floor '
                   '(the core\'s overhead; the target for micro/pio-out-user is ≤ 1.02).</p>'
                   '<div class=scroll><table id="micro-floor"><thead><tr><th>workload</th><th>runner</th>'
                   '<th class=n>ns/op ↓</th><th class=n>floor: bare KVM_RUN exit, ns ↓</th>'
                   f'<th class=n>× floor ↓</th></tr></thead><tbody>{body}</tbody></table></div>')
    return "\n".join(out)


def chase_section(rep):
    out = ['<h2 id="chase">Memory: pointer-chase latency vs working set</h2>',
           '<p class="mut">mem/chase-&lt;size&gt;: one dependent load per operation over a random '
           'cyclic permutation of the working set. Once the working set outgrows the caches and '
           'the TLB reach, every TLB miss in a guest walks two levels of page tables (guest and '
           'EPT/NPT): the gap between native and virtual lines on the right is the 2D page-walk '
           'cost, provided every runner used the same page size (meta page_size, '
           '<span class=mono>--page-size</span>; each cell\'s note says what it got). '
           'ns per load, <b>lower is better</b>.</p>']
    if not rep.chase:
        out.append('<p class="mut">No mem/chase-* workloads in these runs.</p>')
        return "\n".join(out)
    out.append('<div class="figs">' + figure(rep.plotter, "chase", "Latency per dependent load "
               "vs working-set size (log2 x; y log10 past two decades, else linear from 0), "
               "median over repetitions with the interval of the median; "
               "lower is better.") + figure(rep.plotter, "chase-ratio", "Slowdown vs native per "
               "working-set size (ratio of medians, 95% bootstrap CI; log2 axis centred at 1 = "
               "native); lower is "
               "better.", missing="no virtual runner with a native baseline in these runs") +
               "</div>")
    present = [s for s in rep.series if any(per.get(s.label) for _, _, per in rep.chase)]
    bases = model.Baselines(rep.series)
    head = "".join(f"<th>{runner_head(s)}</th>" for s in present)
    rows = []
    for size, w, per in rep.chase:
        tds = []
        for s in present:
            st = per.get(s.label)
            if not st:
                cs = model.cell_status(s, w)
                tds.append(f'<td class="mut small">{status_badge(cs[0], cs[1])}</td>')
                continue
            ratio = ""
            base, _ = bases.for_series(s)
            if base is not None and base is not s and base.reps(w, "ns_per_op"):
                c = model.Cmp(s, base, w, "ns_per_op", "ns", "lower", rep.seed)
                ratio = (f'<br><span{data_attrs(runner=s.label, workload=w, metric="ns_per_op", kind="slowdown", value=repr(c.slowdown))}>'
                         f'{fmt_ratio(c.slowdown)}</span> <span class=ci>{fmt_ci(c.ci, fmt_ratio)}</span>')
            tds.append(f'<td class=n><span{data_attrs(runner=s.label, workload=w, metric="ns_per_op", kind="median", value=repr(st[0]))}>'
                       f'{fmt(st[0])}</span> <span class=ci>{fmt_ci(st[1])}</span>{ratio}</td>')
        rows.append(f'<tr><td class=n>{esc(model.human_size(size))}</td>'
                    f'<td class=mono>{esc(w)}</td>{"".join(tds)}</tr>')
    out.append(f'<p class="cap">Median ns per load [95% CI], and below it the '
               f'slowdown vs native [95% CI]; ↓ lower is better.</p><table id="chase-table"><thead><tr>'
               f'<th class=n>working set</th><th>workload<br><span class=dir>ns per load, ↓ lower is better; slowdown ×, ↓ lower is better</span></th>{head}</tr></thead>'
               f'<tbody>{"".join(rows)}</tbody></table>')
    return "\n".join(out)


def exits_section(rep):
    out = ['<h2 id="exits">VM exits by reason</h2>',
           '<p class="mut">From exits.csv: exits per repetition by reason (median over '
           'repetitions). Which exits a count covers depends on its source: kvm-stats counts '
           'include the few exits the measurement itself causes (record writes); xentrace '
           'counts cover exactly the timed batches (the guest marks them). '
           'ns/exit = Σ total_ns / Σ count where the source times exits. Fewer exits and '
           'cheaper exits are better.</p>']
    if not rep.exits:
        out.append('<p class="mut">exits.csv holds no rows in these runs (native runs have no '
                   'exits; some runners cannot count them: see Counters).</p>')
        return "\n".join(out)
    overlap = any(r["overlap"] for r in rep.exits)
    out.append(figure(rep.plotter, "exits", "Composition of the recorded counts per workload "
                      "and runner by exit class (reports/hvbreport/exit_classes.py; median "
                      "count per repetition, normalised to 100%; zero reasons and totals left "
                      "out)." + (
                          " <b>Some sources' reasons overlap</b> (their counts add up to more "
                          "than their total of exits), so there a bar shows the mix of counts, "
                          "not a partition of exits; the table has counts against the total."
                          if overlap else "")))
    # Reasons a runner recorded as zero everywhere are said once, not per row.
    always_zero = {}
    for r in rep.exits:
        z = set(r["zero"])
        lab = r["series"].label
        always_zero[lab] = always_zero[lab] & z if lab in always_zero else z
    rows = []
    for r in rep.exits:
        s, w, parts, total = r["series"], r["workload"], r["parts"], r["total"]
        items = []
        for reason in sorted(parts, key=lambda k: -parts[k][0]):
            cnt, nsper, _n = parts[reason]
            share = 100 * cnt / total if total else 0
            t = f", {fmt(nsper)} ns/exit" if nsper is not None else ""
            items.append(f'<span{data_attrs(runner=s.label, workload=w, reason=reason, kind="exits", value=repr(cnt))}>'
                         f'<b>{esc(reason)}</b> {fmt(cnt)} ({share:.0f}%{t})</span>')
        extra = ""
        if r["overlap"] and r["sum"] > total:
            extra += (f'<br><span class="st st-partly">overlap</span> <span class=ci>reasons add '
                      f'up to {fmt(r["sum"])}, more than the {fmt(total)} exits: they overlap or '
                      f'count events that are not exits</span>')
        elif r["overlap"]:
            extra += (f'<br><span class="st st-partly">unexplained</span> <span class=ci>reasons '
                      f'account for {fmt(r["sum"])} of the {fmt(total)} exits: the source does '
                      f'not break the rest down</span>')
        zero = [z for z in r["zero"] if z not in always_zero.get(s.label, set())]
        if zero:
            extra += f'<br><span class=ci>zero here: {esc(", ".join(zero))}</span>'
        src = "total as recorded" if r["total_given"] else "sum of reasons"
        rows.append(f'<tr><td class=mono>{esc(w)}</td><td>{runner_head(s)}</td>'
                    f'<td class=n{data_attrs(runner=s.label, workload=w, kind="exits-total", value=repr(total))}>'
                    f'{fmt(total)}<br><span class=ci>{src}</span></td>'
                    f'<td>{" · ".join(items) or "—"}{extra}</td></tr>')
    zero_note = "".join(f' Always zero for <b>{esc(l)}</b>: {esc(", ".join(sorted(z)))}.'
                        for l, z in always_zero.items() if z)
    out.append('<p class="cap">Counts: exits per repetition (median); % of the total; '
               f'ns/exit: ↓ lower is better.{zero_note}</p><table id="exits-table"><thead><tr>'
               '<th>workload</th><th>runner</th>'
               '<th class=n>exits / rep<br><span class=dir>count, ↓ lower is better</span></th>'
               '<th>by reason: median count (% of the total, ns per exit where timed)</th></tr>'
               f'</thead><tbody>{"".join(rows)}</tbody></table>')
    out.append(exit_classes_table(model.exit_classes(rep.exits)))
    return "\n".join(out)


SOURCE_SAYS = {
    "kvm-stats": "KVM's own counters: every exit to the host kernel in total; the kinds "
                 "overlap and are not a partition (insn_emulation accompanies trapped port and "
                 "MMIO accesses under PVM; signal is a return to userspace, not a guest event), "
                 "and the REP_END record's exit is inside the interval",
    "vmm": "the exits that reached the VMM in userspace: a subset of kvm-stats' total",
    "unknown": "a run from before exits.csv had a source column: who counted these exits is "
               "not recorded, so their names are classified as KVM's where they match",
    "xentrace": "Xen's trace of the domain's VM exits between the guest's markers: a partition "
                "of the total, with the time Xen spent on each; for a PV domain, its entries "
                "into Xen (hypercalls, bounced traps, emulations), which are not VM exits and "
                "have no time",
}


def _class_cell(cls, cell, w):
    """One runner's exits of one class: per operation, time per exit, raw reasons."""
    c = cell["classes"].get(cls)
    if c is None:
        return "<td class=n>—</td>"
    s = cell["series"]
    per_op = c["per_op"]
    main = (f'{fmt(per_op)} /op' if per_op is not None
            else f'{fmt(c["per_rep"])} /rep <span class=ci>(ops unknown)</span>')
    t = f'<br><span class=ci>{fmt(c["ns_per_exit"])} ns/exit</span>' if c["ns_per_exit"] else ""
    raw = "; ".join(f'{esc(r)} {fmt(po) + "/op" if po is not None else fmt(pr) + "/rep"}'
                    + (f' <span title="{esc(note)}">ⓘ</span>' if note else "")
                    for r, po, pr, note in c["reasons"])
    attrs = data_attrs(runner=s.label, workload=w, source=cell["source"], exit_class=cls,
                       kind="exits-per-op", value=repr(per_op) if per_op is not None else None)
    return (f'<td class=n{attrs}>{main}{t}<details><summary class=ci>raw</summary>'
            f'<span class="ci mono">{raw}</span></details></td>')


def exit_classes_table(by_workload):
    """Exits per operation in common classes, runners side by side (exit_classes.py)."""
    from . import exit_classes as ec
    if not by_workload:
        return ""
    sources = sorted({c["source"] for _, cells in by_workload for c in cells})
    out = ['<h3 id="exit-classes">Exits per operation in common classes</h3>',
           '<p class="mut">Every raw reason is mapped onto one class '
           '(<span class=mono>reports/hvbreport/exit_classes.py</span>); expand <i>raw</i> for '
           'the reasons behind a class. Per operation: median over repetitions of count / ops '
           '(exits.csv ops column; runs without it show counts per repetition). ns/op is the '
           'same cell\'s median ns_per_op. What each source counts:</p><ul class=mut>'
           + "".join(f'<li><b>{esc(src)}</b>: {esc(SOURCE_SAYS.get(src, "not described"))}</li>'
                     for src in sources) + '</ul>']
    unknown = sorted({(c["source"], r) for _, cells in by_workload for c in cells
                      for r in c["unknown"]})
    if unknown:
        out.append('<p class="st st-partly" id="exit-classes-unknown">Reasons the table does not '
                   'know, counted as other: ' + esc(", ".join(f"{r} ({s})" for s, r in unknown))
                   + '</p>')
    rows = []
    for w, cells in by_workload:
        head = "".join(f'<th>{runner_head(c["series"])}<br><span class=ci>{esc(c["source"])}'
                       f'</span></th>' for c in cells)
        rows.append(f'<tr class=grp><th class=mono>{esc(w)}</th>{head}</tr>')
        nsop = "".join(f'<td class=n{data_attrs(runner=c["series"].label, workload=w, source=c["source"], kind="exits-ns-per-op", value=repr(c["ns_per_op"]) if c["ns_per_op"] is not None else None)}>'
                       f'{fmt(c["ns_per_op"])}</td>' for c in cells)
        rows.append(f'<tr><td>ns per operation</td>{nsop}</tr>')
        tot = "".join(f'<td class=n{data_attrs(runner=c["series"].label, workload=w, source=c["source"], kind="exits-total-per-op", value=repr(c["total_per_op"]) if c["total_per_op"] is not None else None)}>'
                      + (f'{fmt(c["total_per_op"])} /op' if c["total_per_op"] is not None
                         else f'{fmt(c["total_per_rep"])} /rep' if c["total_per_rep"] is not None
                         else "—") + '</td>' for c in cells)
        rows.append(f'<tr><td>all exits</td>{tot}</tr>')
        present = [k for k in ec.CLASS_KEYS if any(k in c["classes"] for c in cells)]
        for k in present:
            rows.append(f'<tr><td>{esc(ec.CLASS_LABEL[k])}</td>'
                        + "".join(_class_cell(k, c, w) for c in cells) + '</tr>')
    out.append('<table id="exit-classes-table"><thead><tr><th>workload / class<br>'
               '<span class=dir>exits per operation, ↓ lower is better</span></th>'
               '<th colspan=99>runners side by side</th></tr></thead>'
               f'<tbody>{"".join(rows)}</tbody></table>')
    return "\n".join(out)


def counters_section(rep):
    out = ['<h2 id="counters">Counters</h2>',
           '<p class="mut">From counters.csv: value = delta over one repetition, median over '
           'repetitions. <b>multiplexed</b>: the counter ran only part of the time it was '
           'enabled (time_running &lt; time_enabled) and perf scaled the value up — an '
           'estimate. <b>unsupported</b>: the event could not be measured; the reason is shown. '
           'Counts have no universal direction; compare like with like.</p>']
    if not rep.counters:
        out.append('<p class="mut">counters.csv holds no rows in these runs.</p>')
        return "\n".join(out)
    # Support overview: one line per (runner, source, event) across workloads.
    support = {}
    for w, items in rep.counters:
        for s, event, source, summ in items:
            k = (s.label, source, event)
            d = support.setdefault(k, {"series": s, "ok": 0, "bad": {}, "mux": None})
            if summ["status"] == "ok":
                d["ok"] += 1
                if summ["min_running"] is not None and summ["min_running"] < 1.0:
                    d["mux"] = min(d["mux"] or 1.0, summ["min_running"])
            else:
                d["bad"].setdefault((summ["status"], "; ".join(summ["notes"])), 0)
                d["bad"][(summ["status"], "; ".join(summ["notes"]))] += 1
    rows = []
    plain = {}  # (series key) -> {source: [events ok everywhere, never scaled]}
    for (label, source, event), d in sorted(support.items(), key=lambda kv: (
            model.runner_rank(kv[1]["series"].runner), kv[0])):
        if d["ok"] and d["mux"] is None and not d["bad"]:
            plain.setdefault((label, source), {"series": d["series"], "events": [], "n": set()})
            plain[(label, source)]["events"].append(event)
            plain[(label, source)]["n"].add(d["ok"])
            continue
        state = []
        if d["ok"]:
            state.append(f'{status_badge("ok")} in {d["ok"]} workload(s)')
        if d["mux"] is not None:
            state.append(f'{status_badge("partly", "scaled")} multiplexed: ran ≥ '
                         f'{100 * d["mux"]:.0f}% of enabled time, values scaled')
        for (st, note), n in d["bad"].items():
            state.append(f'{status_badge(st)} in {n} workload(s): {esc(note)}')
        rows.append(f'<tr{data_attrs(runner=label, event=event, source=source)}><td>'
                    f'{runner_head(d["series"])}</td><td>{esc(source)}</td>'
                    f'<td class=mono>{esc(event)}</td><td>{"<br>".join(state)}</td></tr>')
    for (label, source), g in plain.items():
        n = "/".join(str(x) for x in sorted(g["n"]))
        rows.append(f'<tr{data_attrs(runner=label, source=source)}><td>{runner_head(g["series"])}'
                    f'</td><td>{esc(source)}</td><td class="mono small">{len(g["events"])} events: '
                    f'{esc(", ".join(g["events"]))}</td><td>{status_badge("ok")} in {n} '
                    f'workload(s), never scaled</td></tr>')
    out.append('<p class="cap">Which counters worked where (events that worked everywhere, '
               'never scaled, are grouped per runner and source).</p><table id="counter-support">'
               '<thead><tr><th>runner</th><th>source</th><th>event</th><th>status</th></tr></thead>'
               f'<tbody>{"".join(rows)}</tbody></table>')
    out.append("<details><summary>Counter values per workload "
               f"({len(rep.counters)} workloads)</summary>")
    for w, items in rep.counters:
        trs, zeros = [], {}
        for s, event, source, summ in items:
            if summ["status"] == "ok" and summ["median"] == 0 and (
                    summ["min_running"] is None or summ["min_running"] >= 1.0):
                zeros.setdefault((s.label, source), []).append(event)
                continue
            if summ["status"] == "ok":
                mux = ""
                if summ["min_running"] is not None and summ["min_running"] < 1.0:
                    mux = f' {status_badge("partly", "scaled")} ran {100 * summ["min_running"]:.0f}%'
                val = f'{fmt(summ["median"])} <span class=ci>n={summ["n"]}</span>{mux}'
            else:
                val = status_badge(summ["status"])
            notes = summ["notes"]
            note = "; ".join(notes[:2]) + (f" (+{len(notes) - 2} more)" if len(notes) > 2 else "")
            trs.append(f'<tr><td>{esc(s.label)}</td><td>{esc(source)}</td><td class=mono>'
                       f'{esc(event)}</td><td class=n>{val}</td><td class="small mut">'
                       f'{esc(note)}</td></tr>')
        for (label, source), evs in zeros.items():
            trs.append(f'<tr><td>{esc(label)}</td><td>{esc(source)}</td><td class="mono small" '
                       f'colspan="3">0 in every repetition: {esc(", ".join(evs))}</td></tr>')
        out.append(f'<h3 class=mono>{esc(w)}</h3><table><thead><tr><th>runner</th><th>source</th>'
                   f'<th>event</th><th class=n>median per rep<br><span class=dir>count or ns; '
                   f'no fixed direction</span></th><th>note</th></tr></thead><tbody>{"".join(trs)}'
                   f'</tbody></table>')
    out.append("</details>")
    return "\n".join(out)


def problem_workloads(p):
    if len(p["workloads"]) == 1:
        return esc(p["workloads"][0])
    return (f'<details><summary>{len(p["workloads"])} workloads</summary>'
            f'<span class=small>{esc(", ".join(p["workloads"]))}</span></details>')


def problems_section(rep):
    out = ['<h2 id="problems">Skipped, unsupported and failed</h2>',
           '<p class="mut">Every row of samples.csv and counters.csv whose status is not ok, '
           'with the reason the writer recorded. Rows that differ only in repetition or '
           'metric/event are merged.</p>']
    absent = [(s, w, why) for w, cells in rep.matrix for s, st, why in cells if st == "absent"]
    if not rep.problems and not absent:
        out.append('<p>None: every cell ran and every counter was measured.</p>')
        return "\n".join(out)
    rows = []
    for p in rep.problems:
        rows.append(f'<tr{data_attrs(runner=p["label"], workload=p["workload"], status=p["status"])}>'
                    f'<td>{status_badge(p["status"])}</td><td>{esc(p["kind"])}</td>'
                    f'<td>{runner_head(p["series"])}</td><td class=mono>{problem_workloads(p)}</td>'
                    f'<td class="mono small">{esc(", ".join(p["what"]) or ("all metrics" if p["reps"] else "whole cell"))}</td>'
                    f'<td class=n>{esc(model.rep_list(p["reps"]) if p["reps"] else "—")}</td>'
                    f'<td class=reason>{esc(p["note"])}</td>'
                    f'<td class="mono small mut">{esc(p["where"])}</td></tr>')
    for s, w, why in absent:
        rows.append(f'<tr{data_attrs(runner=s.label, workload=w, status="absent")}>'
                    f'<td>{status_badge("absent")}</td><td>sample</td><td>{runner_head(s)}</td>'
                    f'<td class=mono>{esc(w)}</td><td>whole cell</td><td class=n>—</td>'
                    f'<td class=reason>{esc(why)}</td><td></td></tr>')
    out.append('<table id="problems-table"><thead><tr><th>status</th><th>file</th><th>runner</th>'
               '<th>workload</th><th>metric / event</th><th class=n>reps</th><th>reason</th>'
               f'<th>first row</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
    return "\n".join(out)


def all_metrics_section(rep):
    head = "".join(f"<th class=n>{runner_head(s)}</th>" for s in rep.series)
    rows = []
    for w in rep.workloads:
        for m in model.metrics_of(rep.series, w):
            unit, better = model.metric_info(rep.series, w, m)
            tds = []
            for s in rep.series:
                st = model.summary_stat(s, w, m, rep.seed)
                if st is None:
                    tds.append('<td class="n mut">—</td>')
                    continue
                tds.append(f'<td class=n{data_attrs(runner=s.label, workload=w, metric=m, kind="median", value=repr(st[0]))}>'
                           f'{fmt(st[0])} <span class=ci>{fmt_ci(st[1])} n={st[2]}</span></td>')
            rows.append(f'<tr><td class=mono>{esc(w)}</td><td class=mono>{esc(m)}</td>'
                        f'<td>{esc(unit)}</td><td>{arrow(better)} {direction(better)}</td>'
                        f'{"".join(tds)}</tr>')
    return (f'<h2 id="all">All metrics</h2><details><summary>Every (workload, metric): median '
            f'over repetitions [distribution-free order-statistic interval of the median; none below 3 repetitions], n = repetitions '
            f'({len(rows)} rows)</summary><table id="all-table"><thead><tr><th>workload</th>'
            f'<th>metric</th><th>unit</th><th>direction</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></details>')


def method_section(rep):
    return f"""<h2 id="method">Method and caveats</h2>
<ul>
<li>Statistical unit: the repetition (FORMAT.md). Inner batches of one repetition are correlated and
are never pooled; every median, CI and ratio uses per-repetition values.</li>
<li>Every statistic is computed once, in C, by <code>hvbench summarize</code> (the engine and
seed scheme of <code>hvbench compare</code>); this page only renders it. Intervals of a ratio:
percentile bootstrap, {rep.resamples} resamples, {rep.confidence_pct}%, seeded per
cell from seed {rep.seed} and the cell's name (reproducible). Intervals of a median: the
distribution-free order-statistic interval (with 3–5 repetitions even [min, max] covers less than
95%: its exact coverage is `ci_coverage` in hvbench summarize's output). Below 3 repetitions on either side no interval is shown.</li>
<li>Baseline: the native runner of the same run; if a run has none and exactly one run has a native
runner, that one if it ran on the same machine (host_name, cpu_model; said next to the value); otherwise no ratio.
<li>Emulated runners ({EMU_TEXT}): meta runner.&lt;name&gt;.emulated true, runner qemu-tcg, an
accel containing tcg, or a Xen runner with a runner.&lt;name&gt;.nesting / runner.xen.nesting value.</li>
<li>Micro-benchmarks under native run the nearest native operation (the note says which); cells
with no analogue are skipped with a reason.</li>
<li>Generated by reports/hvbench_report.py (Python {esc(__import__('platform').python_version())},
standard library only) with gnuplot ({esc(rep.plotter.exe if rep.plotter and rep.plotter.exe else 'not used')}).</li>
</ul>"""


def render_html(rep):
    body = [header(rep), nav(hosts_section.nav_items(rep) + io_section.nav_items(rep) + net_section.nav_items(rep) + irq_section.nav_items(rep) + crosscheck_section.nav_items(rep) + capacity_section.nav_items(rep) + migration_section.nav_items(rep)), headline_section(rep), context(rep), hosts_section.html(rep), matrix_section(rep), overhead_section(rep),
            versus_section(rep), workloads_section(rep), micro_section(rep), chase_section(rep),
            io_section.html(rep), net_section.html(rep), irq_section.html(rep), crosscheck_section.html(rep)] + ([capacity_section.html(rep)] if rep.capacity else []) + ([migration_section.html(rep)] if rep.migration else []) + [exits_section(rep), counters_section(rep), problems_section(rep), all_metrics_section(rep),
            method_section(rep)]
    partial = " [PARTIAL]" if rep.partial_runs else ""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="hvbench reports/hvbench_report.py">'
            f'<title>{esc(rep.title)}{partial}</title><style>{CSS}</style></head><body>\n'
            + "\n".join(body) + "\n</body></html>\n")


# ---------------------------------------------------------------- markdown

def render_md(rep):
    out = [f"# {rep.title}", ""]
    for r in rep.partial_runs:
        out += [f"> **PARTIAL REPORT**: run `{r.run_id}` has status **{r.status}**; rendered with "
                f"--allow-partial. Cells may be missing.", ""]
    for s in rep.emulated:
        out += [f"> **{s.label}**: {EMU_TEXT} ({s.emulated}).", ""]
    for r in rep.runs:
        for _wid, title, text in model.context_warnings(r):
            out += [f"> **{title}** (`{r.run_id}`): {text}.", ""]
    for _wid, title, text in rep.run_set_warnings:
        out += [f"> **{title}**: {text}.", ""]
    p = rep.plotter
    if p is None or not p.available:
        out += [f"> Plots were not drawn: {p.why_not if p else 'disabled with --no-plots'}.", ""]
    out += ["Full report: `report.html` (plots in `plots/`).", "", "## Runs", ""]
    keys = ["status", "run_id", "host_name", "cpu_model", "kernel", "hypervisor", "nesting",
            "compiler", "workload_cflags", "reps"]
    out.append(md_table(["key"] + [f"run {i + 1}" for i in range(len(rep.runs))],
                        [[k] + [r.meta.get(k, "(absent)") for r in rep.runs] for k in keys]))
    out += hosts_section.markdown(rep)
    if rep.headline:
        labels = glance_labels(rep)
        out += ["", "## At a glance", "", "Geometric mean slowdown vs native per group (>1 is "
                "worse), over the k workloads every runner shown measured; micro/* and emulated "
                "runners not averaged.", ""]
        out.append(md_table(["group", "k"] + labels + ["left out"], [
            [g.group, str(g.k)] + [fmt_ratio(g.per[l]) if l in g.per else "—" for l in labels]
            + [left_out_text(g) or "—"] for g in rep.headline]))
    others = [s for s in rep.series if not model.is_native(s.runner)]
    out += ["", "## Overhead vs native", "",
            "Slowdown = ratio of medians over repetitions (>1 = slower than native; lower is "
            "better), [95% bootstrap CI]. Medians in the metric's unit.", ""]
    rows = []
    for r in rep.overhead:
        row = [r["workload"], f'{r["metric"]} ({r["unit"]}, {direction(r["better"])})']
        for nat in r["natives"]:
            nv = nat.reps(r["workload"], r["metric"])
            row.append(fmt(nat.median(r["workload"], r["metric"])) if nv
                       else model.cell_status(nat, r["workload"])[0])
        if not r["natives"]:
            row.append("—")
        for s, cmp, why in r["cells"]:
            vals = s.reps(r["workload"], r["metric"])
            if cmp is None and vals:
                row.append(f"{fmt(s.median(r['workload'], r['metric']))} (no native baseline)"
                           + net_section.overhead_note_md(rep, s, r["workload"]))
            elif cmp is None:
                row.append(model.cell_status(s, r["workload"])[0])
            else:
                row.append(f"{fmt(cmp.median)}: {fmt_ratio(cmp.slowdown)} {fmt_ci(cmp.ci, fmt_ratio)}"
                           + net_section.overhead_note_md(rep, s, r["workload"]))
        rows.append(row)
    natives = ([hosts_section.label_md(s) for s in rep.series if model.is_native(s.runner)]
               or ["native"])
    out.append(md_table(["workload", "metric"] + [f"{n} median" for n in natives] +
                        [hosts_section.label_md(s) + (" (emulated)" if s.emulated else "")
                         for s in others], rows))
    if rep.versus:
        pairs = [(a, b) for a, b, _r, _w in rep.versus[0]["cells"]]
        out += ["", "## Runner against runner", "",
                "Slowdown of the first runner of each column vs the second, directly (>1 means "
                "the first is worse), ratio of medians [interval]; primary metric.", ""]
        rows = []
        for r in rep.versus:
            row = [r["workload"], r["metric"]]
            for _a, _b, x, why in r["cells"]:
                if x is None or x.slowdown is None:
                    row.append(why or "no ratio")
                else:
                    row.append(f"{fmt_ratio(x.slowdown)} " + (fmt_ci(x.ci, fmt_ratio) if x.ci
                               else f"(no interval: {x.ci_why or 'too few repetitions'})"))
            rows.append(row)
        out.append(md_table(["workload", "metric"] + [f"{b.label} vs {a.label}" for a, b in pairs],
                            rows))
    if rep.micro:
        out += ["", "## VM-exit micro-benchmarks", "",
                "ns per operation, median over repetitions (p99 in parentheses); lower is better.", ""]
        rows = []
        for r in rep.micro:
            row = [r["workload"]]
            for c in r["cells"]:
                if c["ns_per_op"]:
                    p99 = c["ns_per_op.p99"]
                    row.append(fmt(c["ns_per_op"][0]) + (f" ({fmt(p99[0])})" if p99 else ""))
                else:
                    row.append(c["status"][0])
            rows.append(row)
        out.append(md_table(["workload"] + [s.label for s in rep.series], rows))
    if rep.chase:
        out += ["", "## Pointer chase", "", "ns per dependent load, median; lower is better.", ""]
        rows = [[model.human_size(size)] + [fmt(per[s.label][0]) if per.get(s.label) else "—"
                                            for s in rep.series] for size, _w, per in rep.chase]
        out.append(md_table(["working set"] + [s.label for s in rep.series], rows))
    out += io_section.markdown(rep)
    out += net_section.markdown(rep)
    out += irq_section.markdown(rep)
    out += crosscheck_section.markdown(rep)
    out += capacity_section.markdown(rep)
    out += migration_section.markdown(rep)
    if rep.exits:
        out += ["", "## VM exits", "", "Exits per repetition (median) and the largest reasons "
                "(% of the total; reasons may overlap where the source says so).", ""]
        rows = []
        for r in rep.exits:
            top = sorted(r["parts"].items(), key=lambda kv: -kv[1][0])[:4]
            tot = r["total"]
            rows.append([r["workload"], r["series"].label, fmt(tot),
                         ", ".join(f"{k} {fmt(v[0])} ({100 * v[0] / tot:.0f}%)" if tot else k
                                   for k, v in top) + (" (overlap)" if r["overlap"] else "")])
        out.append(md_table(["workload", "runner", "exits/rep", "largest reasons"], rows))
    out += ["", "## Skipped, unsupported and failed", ""]
    if rep.problems:
        out.append(md_table(["status", "file", "runner", "workload", "metric/event", "reps", "reason"],
                            [[p["status"], p["kind"], p["label"], p["workload"],
                              ", ".join(p["what"]) or "whole cell", model.rep_list(p["reps"]),
                              p["note"]] for p in rep.problems]))
    else:
        out.append("None.")
    if p is not None and p.made:
        out += ["", "## Plots", ""] + [f"- `plots/{n}.svg`" for n in p.made]
    out += ["", f"Generated {rep.generated} by reports/hvbench_report.py; bootstrap "
            f"{rep.resamples} resamples, seed {rep.seed}.", ""]
    return "\n".join(out)
