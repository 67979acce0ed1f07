"""What the device sections (io.py: block I/O, net.py: network) share.

Both set one table per workload side by side, runner by runner: missing
values as status badges, exits per operation by class, a latency plot of
box and whiskers.  The pieces are the same but for names: `kind` is the
prefix of the section's data-kind attributes ("io", "net"), `per` the
operation an exit count is divided by ("req", "packet").  Output is what
each section wrote on its own before; nothing here decides what to show.
"""

import collections

from . import markup, model

# A section's median of one metric for one series (partly: a Missing for the
# repetitions whose rows are not ok, the median is over the others, or
# None), and a value that is not there, with its status and reason.
Stat = collections.namedtuple("Stat", "median ci n unit better partly", defaults=(None,))
Missing = collections.namedtuple("Missing", "status reason")


def differing(values):
    """{run index: value} -> listed text when the values are not all equal."""
    if len(set(values.values())) < 2:
        return None
    return ", ".join(f"run {i + 1} {v}" for i, v in sorted(values.items()))


NOT_RECORDED = "(not recorded)"


def prefixed_keys(runs, run_indexes, prefix, first):
    """The meta keys of the runs' set-up (disk.*, net.*): first in that order,
    then any other key with that prefix, sorted."""
    more = sorted({k for i in run_indexes for k in runs[i].meta
                   if k.startswith(prefix) and k not in first})
    return list(first) + more


def meta_values(meta, keys):
    return {k: meta.get(k, NOT_RECORDED) for k in keys}


# ------------------------------------------------------------------- rows

def overheads(rep):
    """{workload: {series key: (model.Cmp or None, why)}} from Overhead vs native."""
    return {r["workload"]: {s.key: (cmp, why) for s, cmp, why in r["cells"]}
            for r in rep.overhead}


def cell_missing(status):
    """A cell without any number: one status for the whole row, else None."""
    return Missing(*status) if status[0] not in ("ok", "partly") else None


def slowdown(overhead, s):
    """(model.Cmp or Missing, the baseline's note) of a guest series against
    native from overheads(rep)[w]; (None, None) for native itself."""
    if model.is_native(s.runner):
        return None, None
    cmp, why = overhead.get(s.key, (None, "no native baseline"))
    return (cmp if cmp is not None else Missing("n/a", why or "no baseline")), why


def host_cpu_vs_native(bases, s, w, metric, host_cpu):
    """The guest's host CPU per operation against native's (model.Cmp), or
    None natively, without a value or without a native baseline."""
    base, _why = bases.for_series(s)
    if (model.is_native(s.runner) or base is None or not isinstance(host_cpu, Stat)
            or not base.reps(w, metric)):
        return None
    return model.Cmp(s, base, w, metric, host_cpu.unit, host_cpu.better)


# ------------------------------------------------------------------ exits

def exit_cells(rep, family):
    """(workload, series key) -> [exit_classes cell per source], family only."""
    out = {}
    rows = [t for t in rep.exits if model.family(t["workload"]) == family]
    for w, cells in model.exit_classes(rows):
        for c in cells:
            out.setdefault((w, c["series"].key), []).append(c)
    return out


def exits(exit_cells, s, w, reason):
    """The series' exit cells for w, or Missing with why there are none;
    reason(rows) words the counters.csv rows that said why."""
    cells = exit_cells.get((w, s.key))
    if cells:
        return cells
    if model.is_native(s.runner):
        return Missing("n/a", "no VM exits natively")
    status, why = model.cell_status(s, w)
    if status not in ("ok", "partly"):
        return Missing(status, why)
    said = [r for r in s.run.counters if r["runner"] == s.runner and r["workload"] == w
            and r["status"] != "ok" and "exit" in r["event"]]
    if said:
        return Missing(said[0]["status"], reason(said))
    return Missing("n/a", "no exits.csv rows: this runner does not count exits")


def exit_classes_text(c):
    """'MMIO / NPF / EPT 1, other 2' per operation (per repetition where ops is unknown)."""
    from . import exit_classes as ec
    out = []
    for k in ec.CLASS_KEYS:
        if k in c["classes"]:
            x = c["classes"][k]
            out.append(f'{ec.CLASS_LABEL[k]} ' + (markup.fmt(x["per_op"]) if x["per_op"] is not None
                                                  else f'{markup.fmt(x["per_rep"])}/rep'))
    return ", ".join(out)


def exit_total_text(c, per):
    if c["total_per_op"] is not None:
        return f'{markup.fmt(c["total_per_op"])} /{per}'
    if c["total_per_rep"] is not None:
        return f'{markup.fmt(c["total_per_rep"])} /rep (ops unknown)'
    return "no total"   # the source counts some kinds only (vmm): its classes follow


# ------------------------------------------------------------------- HTML

def missing_html(m, w, s, metric, na, kind):
    """A missing value: its status badge (hover: the reason), and the reason
    beside it, or, for n/a, in the note under the table."""
    r = markup
    attrs = r.data_attrs(runner=s.label, workload=w, metric=metric, kind=f"{kind}-missing",
                         status=m.status)
    badge = f'<span{attrs}>{r.status_badge(m.status, m.reason)}</span>'
    if m.status == "n/a" and na is not None:
        na.add(s.label, m.reason)
        return badge
    return f'{badge} <span class="ci">{r.esc(m.reason)}</span>'


def exits_html(row, w, na, kind, per):
    r = markup
    s = row.series
    if isinstance(row.exits, Missing):
        return missing_html(row.exits, w, s, "exits", na, kind)
    parts = []
    for c in row.exits:
        classes = exit_classes_text(c)
        value = repr(c["total_per_op"]) if c["total_per_op"] is not None else None
        parts.append(f'<span{r.data_attrs(runner=s.label, workload=w, source=c["source"], kind=f"{kind}-exits-per-op", value=value)}>'
                     f'<b>{r.esc(exit_total_text(c, per))}</b></span> <span class=ci>'
                     f'{r.esc(c["source"])}</span>'
                     + (f'<br><span class=ci>{r.esc(classes)}</span>' if classes else ""))
    return "<br>".join(parts)


def html_section(anchor, title, intro, parts, banners, warnings, tables):
    """The section's skeleton: heading, intro, parts (what served the runs,
    the plot), a line pointing at the section's banners (called `banners`),
    then one table per workload."""
    r = markup
    out = [f'<h2 id="{anchor}">{title}</h2>', f'<p class="mut">{r.esc(intro)}</p>'] + parts
    if warnings:
        out.append(f'<p class="small">Read the {banners} banners at the top of the page: '
                   + ", ".join(f'<a href="#{r.esc(wid)}-banner">{r.esc(head)}</a>'
                               for wid, head, _t in warnings) + '.</p>')
    return "\n".join(out + tables)


# --------------------------------------------------------------- Markdown

def md_section(title, intro, warnings, setup, tables, md_table):
    """The section's Markdown: heading, intro, its banners as quotes, the
    setup tables (what served the runs), then each workload's table from
    md_table(t), or its cells' status where no runner has a value."""
    r = markup
    out = ["", f"## {title}", "", intro, ""]
    for _wid, head, text in warnings:
        out += [f"> **{head}**: {text}.", ""]
    out.append(setup[0])
    for x in setup[1:]:
        out += ["", x]
    for t in tables:
        out += ["", f"### {t.workload}", ""]
        if t.metric is None:
            out.append(r.md_table(["runner", "cell"], [[row.label, f"{row.status[0]}: "
                                                        f"{row.status[1]}"] for row in t.rows]))
            continue
        out += md_table(t)
    return out


def md_na_lines(na):
    """The note under a Markdown table that says why its n/a cells are n/a."""
    return ["", "n/a: " + "; ".join(na.lines()) + "."] if na.by_reason else []


def md_missing(m, label, na):
    if m.status == "n/a":
        na.add(label, m.reason)
        return "n/a"
    return f"{m.status}: {m.reason}"


def md_exits(row, na, per):
    if isinstance(row.exits, Missing):
        return md_missing(row.exits, row.label, na)
    parts = []
    for c in row.exits:
        classes = exit_classes_text(c)
        parts.append(f'{c["source"]} {exit_total_text(c, per)}'
                     + (f" ({classes})" if classes else ""))
    return "; ".join(parts)


# ------------------------------------------------------------------- plot

def latency_plot(plotter, name, script, sec, tables, latency, scale=None, width_min=800,
                 height=500):
    """Latency per workload and runner (gnuplot/<script>): box p50 to p99,
    whisker to p99.9, dot at max, each the median over repetitions, in the
    unit scale(median) gives.  Emulated runners are left out, as in every
    chart; a cell without latency is a dashed outline with its status
    (never a gap).  latency: the four metrics, p50 first, max last."""
    from . import plots
    scale = scale or (lambda v: v)
    present = [s for s in sec.series if not s.emulated and any(
        row.series is s and isinstance(row.latency[latency[0]], Stat)
        for t in tables for row in t.rows)]
    if not tables or not present:
        return None
    n = len(present)
    boxw = 0.8 / n
    stat_blocks, max_blocks, markers, vals = [], [], [], []
    for i, s in enumerate(present):
        off = (i - (n - 1) / 2) * boxw
        sl, ml = [], []
        for x, t in enumerate(tables):
            row = next((row for row in t.rows if row.series is s), None)
            got = [row.latency.get(m) if row else None for m in latency]
            if all(isinstance(v, Stat) for v in got[:3]):
                p50, p99, p999 = (scale(v.median) for v in got[:3])
                sl.append(f"{x + off}\t{plots.num(p50)}\t{plots.num(p99)}\t{plots.num(p999)}")
                vals += [p50, p99, p999]
                if isinstance(got[3], Stat):
                    ml.append(f"{x + off}\t{plots.num(scale(got[3].median))}")
                    vals.append(scale(got[3].median))
            else:
                status = (row.cell_missing or got[0]).status if row else "n/a"
                if status != "n/a":
                    markers.append((x + off - boxw * 0.4, x + off + boxw * 0.4, status,
                                    plotter.styles.color(s)))
        stat_blocks.append("\n".join(sl or ["?\t?\t?\t?"]))
        max_blocks.append("\n".join(ml or ["?\t?"]))
    labels = [(t.workload.split("/", 1)[-1], x) for x, t in enumerate(tables)]
    log, lo, hi = plots.absolute_axis(vals)
    width = max(width_min, min(1400, 200 + 90 * len(tables) * max(1, n / 2)))
    plotter.render(name, script, {"statfile": "\n\n\n".join(stat_blocks) + "\n",
                                  "maxfile": "\n\n\n".join(max_blocks) + "\n"},
                   {"xtics_cmd": plots.xtics_cmd(labels), "boxw": repr(boxw),
                    "logy": "1" if log else "0", "ylo": repr(lo), "yhi": repr(hi)},
                   present, size=(int(width), height), extra=plots.marker_cmds(markers, 0.0, 0.3))
    return name
