"""Render the report's plots with gnuplot (PNG for the page, SVG beside it).

Python writes tab-separated data files and a small driver script per plot
(variables, then common.gp and the template from reports/gnuplot/), so the
look of a plot lives in the template and can be tuned without touching code.
When gnuplot is missing or a plot fails, the report still renders and says
which plot was not drawn and why.
"""

import math
import os
import shutil
import subprocess

from . import model

TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gnuplot")
# One colour-blind-safe palette (Okabe & Ito 2008) for series; a runner keeps
# its colour in every plot of a report.  Exit reasons get another palette
# (Tol's "muted"), so a reason is never mistaken for a runner.
OKABE_ITO = ["#000000", "#0072B2", "#56B4E9", "#E69F00", "#D55E00", "#CC79A7", "#009E73",
             "#F0E442"]
RUNNER_COLORS = {"native": "#000000", "kvm": "#0072B2", "qemu-kvm": "#56B4E9",
                 "xen-pvh": "#E69F00", "xen-pv": "#D55E00", "xen-hvm": "#CC79A7",
                 "qemu-tcg": "#009E73"}
REASON_COLORS = ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677",
                 "#882255", "#AA4499", "#DDDDDD",
                 # then Tol's "light" hues that are far from the ones above
                 "#EE8866", "#BBCC33", "#FFAABB", "#77AADD"]
# Past the palette, a colour comes back with another dash, point and fill pattern.
VARIANT_DT = [1, 2, 4, 5]
VARIANT_PT = [7, 5, 9, 13]
VARIANT_FILL = [-1, 4, 5, 6]
LOG10_SPAN = 100.0   # absolute axes turn log10 past 2 decades
TIMEOUT_S = 60


def gq(text):
    """Quote a string for a gnuplot single-quoted literal ('' escapes ')."""
    return "'" + str(text).replace("'", "''") + "'"


def tsv_field(text):
    """Keep labels from breaking the tab-separated data files."""
    return str(text).replace("\t", " ").replace("\n", " ")


def num(x):
    return "?" if x is None else repr(float(x))


class Styles:
    """Colour and variant per series label, fixed once for the whole report.

    Known runners take their own colour; another run of the same runner or an
    unknown runner takes the next unused palette colour; when every colour is
    used, colours repeat with another dash / point type / fill pattern.
    """

    def __init__(self, series=()):
        self.by_label = {}
        self.assign(series)

    def assign(self, series):
        for s in series:
            self.style(s)

    def style(self, s):
        if s.label in self.by_label:
            return self.by_label[s.label]
        used = [c for c, v in self.by_label.values() if v == 0]
        c = RUNNER_COLORS.get(s.runner)
        if c is None or c in used:
            free = [x for x in OKABE_ITO if x not in used]
            c = free[0] if free else OKABE_ITO[len(self.by_label) % len(OKABE_ITO)]
        variant = sum(1 for cc, _v in self.by_label.values() if cc == c)
        self.by_label[s.label] = (c, variant)
        return c, variant

    def color(self, s):
        return self.style(s)[0]


def series_colors(series, styles=None):
    """The colour of each series (styles: the report's fixed assignment)."""
    styles = styles or Styles(series)
    return [styles.color(s) for s in series]


def reason_colors(n):
    """Colours for n exit reasons or classes: never a series colour."""
    return [REASON_COLORS[i % len(REASON_COLORS)] for i in range(n)]


def tics_cmd(axis, pairs):
    """A `set Xtics ("label" x, ...)` command as a gnuplot string for `eval`."""
    def label(text):
        return '"' + str(text).replace('"', "").replace("\\", "").replace("'", "") + '"'
    return gq(f"set {axis}tics (" + ", ".join(f"{label(l)} {x!r}" for l, x in pairs) + ")")


def ratio_axis(values):
    """The ratio convention: a log2 axis centred at 1 (native), symmetric so
    that 2x slower and 2x faster are equally far from it.  Returns (lo, hi,
    tic pairs)."""
    vals = [v for v in values if v and v > 0]
    m = max([max(v, 1 / v) for v in vals] or [1.0])
    m = max(m ** 1.15, 1.03)  # 15 % headroom in log terms
    if m >= 3:
        k = int(math.floor(math.log2(m)))
        step = 1 if k <= 5 else 2
        ups = [2.0 ** e for e in range(step, k + 1, step)]
    else:
        step = next(st for st in (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
                    if (m - 1) / st <= 5)
        ups = [1 + i * step for i in range(1, int((m - 1) / step + 1e-9) + 1)]
    tics = [(f"{1 / u:.3g}×", 1 / u) for u in reversed(ups)] + [("1×", 1.0)]
    tics += [(f"{u:.3g}×", u) for u in ups]
    return 1 / m, m, tics


def absolute_axis(values):
    """The absolute convention: linear from 0, or log10 when the values span
    more than two decades.  Returns (log, lo, hi)."""
    vals = [v for v in values if v is not None and v > 0]
    if not vals:
        return False, 0.0, 1.0
    lo, hi = min(vals), max(vals)
    if hi / lo > LOG10_SPAN:
        return True, lo / 1.6, hi * 1.6
    return False, 0.0, hi * 1.15


def marker_cmds(markers, y0, y1, start=100):
    """Dashed outlines with a status label where a bar is missing (skipped,
    unsupported, failed, no baseline), so a gap never reads as zero."""
    out = []
    for n, (xl, xr, text, color) in enumerate(markers, start):
        out.append(f"set object {n} rect from first {xl!r}, graph {y0} to first {xr!r}, "
                   f"graph {y1} fs empty border lc rgb {gq(color)} dt 2 lw 1.2 front")
        out.append(f"set label {n} {gq(text)} at first {(xl + xr) / 2!r}, graph {y0 + 0.04} "
                   f"rotate by 90 left font ',8' tc rgb '#333333' front")
    return out


def series_title(s):
    return s.label + (" (emulated)" if s.emulated else "")


class Plotter:
    """Finds gnuplot once and renders named plots into out_dir/plots/."""

    def __init__(self, out_dir, gnuplot=None):
        self.dir = os.path.join(out_dir, "plots")
        self.made = {}       # name -> {"png": path, "svg": path}
        self.failed = {}     # name -> reason
        self.styles = Styles()  # one colour per series across every plot
        self.exe, self.why_not = self._find(gnuplot)
        self.png_term = None
        if self.exe:
            self.png_term = self._png_terminal()
            if self.png_term is None:
                self.exe, self.why_not = None, f"{self.exe} has neither pngcairo nor png terminal"

    @staticmethod
    def _find(gnuplot):
        env = os.environ.get("HVB_GNUPLOT")
        exe = gnuplot or env or shutil.which("gnuplot")
        if not exe:
            return None, ("gnuplot not found on PATH: install it (Debian: apt-get install "
                          "gnuplot-nox) to get plots")
        if not (os.path.isfile(exe) and os.access(exe, os.X_OK)) and not shutil.which(exe):
            return None, f"gnuplot {exe!r} (from HVB_GNUPLOT) is not an executable"
        return exe, None

    def _png_terminal(self):
        for term in ("pngcairo", "png"):
            try:
                r = subprocess.run([self.exe, "-e", f"set terminal {term}"], capture_output=True,
                                   text=True, timeout=TIMEOUT_S)
            except (OSError, subprocess.TimeoutExpired):
                return None
            if r.returncode == 0 and not r.stderr.strip():
                return term
        return None

    @property
    def available(self):
        return self.exe is not None

    def _write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def render(self, name, template, data_files, variables, series, size=(1100, 480), extra=()):
        """Write data files, run gnuplot for PNG and SVG, remember the result.

        data_files: {variable name: file content}; variables: {name: gnuplot
        expression text}.
        """
        if not self.available:
            self.failed[name] = self.why_not
            return
        os.makedirs(self.dir, exist_ok=True)
        lines = []
        for var, content in data_files.items():
            path = self._write(f"{name}.{var}.tsv", content)
            lines.append(f"{var} = {gq(os.path.basename(path))}")
        for var, expr in variables.items():
            lines.append(f"{var} = {expr}")
        lines.append(f"NS = {len(series)}")
        if series:
            styles = [self.styles.style(s) for s in series]
            lines.append(f"array TITLES[{len(series)}] = [" +
                         ", ".join(gq(series_title(s)) for s in series) + "]")
            lines.append(f"array COLORS[{len(series)}] = [" +
                         ", ".join(gq(c) for c, _v in styles) + "]")
            lines.append(f"array EMU[{len(series)}] = [" +
                         ", ".join("1" if s.emulated else "0" for s in series) + "]")
            for arr, table in (("DT", VARIANT_DT), ("PT", VARIANT_PT), ("FILL", VARIANT_FILL)):
                lines.append(f"array {arr}[{len(series)}] = [" + ", ".join(
                    str(table[v % len(table)]) for _c, v in styles) + "]")
        w, h = size
        common = os.path.join(TEMPLATES, "common.gp")
        tmpl = os.path.join(TEMPLATES, template)
        font = 'font "DejaVu Sans,10"'
        # Each terminal draws the template afresh (multiplot cannot replot).
        body = ["reset"] + list(extra) + [f"load {gq(common)}", f"load {gq(tmpl)}", "set output"]
        driver = "\n".join(lines + [
            f"set terminal {self.png_term} noenhanced size {w},{h} {font}",
            f"set output {gq(name + '.png')}"] + body + [
            f"set terminal svg noenhanced size {w},{h} {font} background rgb 'white'",
            f"set output {gq(name + '.svg')}"] + body) + "\n"
        script = self._write(f"{name}.gp", driver)
        for ext in ("png", "svg"):  # never mistake a stale image for this render
            stale = os.path.join(self.dir, f"{name}.{ext}")
            if os.path.exists(stale):
                os.remove(stale)
        try:
            r = subprocess.run([self.exe, os.path.basename(script)], cwd=self.dir,
                               capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.failed[name] = f"gnuplot timed out after {TIMEOUT_S} s"
            return
        except OSError as e:
            self.failed[name] = f"cannot run gnuplot: {e}"
            return
        png = os.path.join(self.dir, name + ".png")
        svg = os.path.join(self.dir, name + ".svg")
        errors = [l for l in r.stderr.splitlines() if l.strip() and "warning" not in l.lower()]
        drawn = os.path.exists(png) and os.path.getsize(png) > 0 and os.path.exists(svg)
        if r.returncode != 0 or not drawn:
            self.failed[name] = ("gnuplot failed: " + " | ".join(errors[-4:] or [f"exit {r.returncode}"]))
            return
        self.made[name] = {"png": png, "svg": svg, "warnings": [l for l in r.stderr.splitlines()
                                                                if l.strip()]}


def _missing_text(s, cmp_why, workload):
    """What to write where a bar is missing: the cell's status, or why no ratio."""
    st, _why = model.cell_status(s, workload)
    if st not in ("ok", "partly"):
        return st
    return "no baseline" if cmp_why and "native" in cmp_why else "no value"


def bar_slots(n_groups, n_series):
    """x centre and half width of bar i of group j (groups at x = 0, 1, ...)."""
    bw = 0.8 / n_series
    return lambda j, i: (j + (i - (n_series - 1) / 2) * bw, bw * 0.45)


def flag_cmds(flags, start=300):
    """A short red label above a bar (e.g. LOSS: the figure was measured with
    datagrams lost), so a chart never shows such a bar bare."""
    return [f"set label {n} {gq(text)} at first {x!r}, first {y!r} center font ',8' "
            f"tc rgb '#cf222e' front" for n, (x, y, text) in enumerate(flags, start)]


def overhead_plots(plotter, table, series, left_out=None, flag=None):
    """One bar chart per workload family: slowdown vs native on the report's
    ratio axis (log2, centred at 1); missing bars are marked with their status.
    left_out(series, workload): a cell that must not be drawn against native
    (the net section's in-VMM loopback); flag(series, workload): text to put
    above its bar, or "" (the net section's LOSS)."""
    left_out = left_out or (lambda s, w: False)
    flag = flag or (lambda s, w: "")
    # Emulated runners are functional checks: a 14x TCG bar would flatten the
    # real hypervisors into the axis and invite a wrong reading, so they are
    # left out of the charts (the tables still show them, labelled).
    others = [s for s in series if not model.is_native(s.runner) and not s.emulated]
    names = []
    fams = []
    for row in table:
        if model.chase_size(row["workload"]) is None and model.family(row["workload"]) not in fams:
            fams.append(model.family(row["workload"]))  # chase has its own plots
    for fam in fams:
        rows = [r for r in table if model.family(r["workload"]) == fam
                and model.chase_size(r["workload"]) is None]
        present = [s for s in others if any(c[0] is s and c[1] and not left_out(s, r["workload"])
                                            for r in rows for c in r["cells"])]
        if not present:
            continue
        cmps = []
        for r in rows:
            cells = {c[0].label: c for c in r["cells"]}
            if any(c[1] and c[1].slowdown for c in cells.values()):
                cmps.append((r["workload"], [cells.get(s.label) for s in present]))
        if not cmps:
            continue
        slot = bar_slots(len(cmps), len(present))
        vals = [v for _w, cs in cmps for c in cs if c and c[1] and c[1].slowdown
                for v in ([c[1].slowdown] + list(c[1].ci or []))]
        lo, hi, tics = ratio_axis(vals)
        blocks, markers, flags = [], [], []
        for i, s in enumerate(present):
            lines = []
            for j, (w, cs) in enumerate(cmps):
                x, half = slot(j, i)
                c = cs[i]
                if left_out(s, w):
                    markers.append((x - half, x + half, "left out", plotter.styles.color(s)))
                    continue
                if c is None or c[1] is None or c[1].slowdown is None:
                    markers.append((x - half, x + half, _missing_text(s, c and c[2], w),
                                    plotter.styles.color(s)))
                    continue
                clo, chi = c[1].ci if c[1].ci else (c[1].slowdown, c[1].slowdown)
                lines.append("\t".join(num(v) for v in (x, c[1].slowdown, clo, chi,
                                                        x - half, x + half)))
                text = flag(s, w)
                if text:
                    flags.append((x, min(max(chi, c[1].slowdown, 1.0) * 1.12, hi), text))
            blocks.append("\n".join(lines or ["?\t?\t?\t?\t?\t?"]))
        labels = [(w.split("/", 1)[-1], j) for j, (w, _cs) in enumerate(cmps)]
        name = f"overhead-{fam}"
        width = max(600, min(1200, 140 + 28 * len(cmps) * (len(present) + 1)))
        plotter.render(name, "overhead.gp", {"datafile": "\n\n\n".join(blocks) + "\n"},
                       {"xtics_cmd": tics_cmd("x", labels), "ytics_cmd": tics_cmd("y", tics),
                        "ylo": repr(lo), "yhi": repr(hi), "xhi": repr(len(cmps) - 0.5)},
                       present, size=(width, 420),
                       extra=marker_cmds(markers, 0.5, 0.8) + flag_cmds(flags))
        names.append(name)
    return names


def workload_plots(plotter, table, series, seed, flag=None):
    """Per workload family, one panel per workload with every runner's primary
    metric side by side (absolute: median over repetitions, 95% CI of the
    median), so kvm, qemu-kvm, xen-pvh and xen-pv meet directly, not only
    through native.  flag(series, workload): text above a bar, or "" (the
    net section's LOSS).  Returns the plot names."""
    flag = flag or (lambda s, w: "")
    shown = [s for s in series if not s.emulated]
    names, fams = [], []
    for row in table:
        if model.chase_size(row["workload"]) is None and model.family(row["workload"]) not in fams:
            fams.append(model.family(row["workload"]))
    for fam in fams:
        rows = [r for r in table if model.family(r["workload"]) == fam
                and model.chase_size(r["workload"]) is None]
        if not rows or not shown:
            continue
        blocks, titles, ylabels, logs, ymin, ymax, marks = [], [], [], [], [], [], []
        for r in rows:
            w, m = r["workload"], r["metric"]
            stats_ = [model.summary_stat(s, w, m, seed) for s in shown]
            vals = [v for st in stats_ if st for v in ([st[0]] + list(st[1] or []))]
            log, lo, hi = absolute_axis(vals)
            lines, markers, flags = [], [], []
            for i, (s, st) in enumerate(zip(shown, stats_)):
                x = i + 1
                if st is None:
                    markers.append((x - 0.35, x + 0.35, model.cell_status(s, w)[0],
                                    plotter.styles.color(s)))
                    continue
                clo, chi = st[1] if st[1] else (st[0], st[0])
                if flag(s, w):
                    flags.append((x, min(max(chi, st[0]) * 1.10, hi * 0.97), flag(s, w)))
                color = int(plotter.styles.color(s)[1:], 16)
                lines.append("\t".join([num(x), num(st[0]), num(clo), num(chi),
                                        num(lo if log else 0.0), str(color)]))
            blocks.append("\n".join(lines or ["?\t?\t?\t?\t?\t0"]))
            titles.append(w.split("/", 1)[-1])
            arrow = "lower" if r["better"] == "lower" else "higher"
            ylabels.append(f"{m} ({r['unit']}{', log10' if log else ''}), {arrow} is better")
            logs.append("1" if log else "0")
            ymin.append(repr(lo))
            ymax.append(repr(hi))
            marks.append(gq("; ".join(marker_cmds(markers, 0.0, 0.45) + flag_cmds(flags))))
        n = len(rows)
        nc = min(5, n)
        nr = (n + nc - 1) // nc
        arrays = [f"array PTITLE[{n}] = [" + ", ".join(gq(t) for t in titles) + "]",
                  f"array PYLABEL[{n}] = [" + ", ".join(gq(t) for t in ylabels) + "]",
                  f"array PLOG[{n}] = [" + ", ".join(logs) + "]",
                  f"array PYMIN[{n}] = [" + ", ".join(ymin) + "]",
                  f"array PYMAX[{n}] = [" + ", ".join(ymax) + "]",
                  f"array PMARK[{n}] = [" + ", ".join(marks) + "]"]
        name = f"workloads-{fam}"
        xt = tics_cmd("x", [(s.label, i + 1) for i, s in enumerate(shown)])
        plotter.render(name, "workloads.gp", {"datafile": "\n\n\n".join(blocks) + "\n"},
                       {"xtics_cmd": xt, "NP": str(n), "NC": str(nc), "NRW": str(nr)},
                       shown, size=(min(1400, 60 + 270 * nc), 40 + 290 * nr),
                       extra=arrays)
        names.append(name)
    return names


def xtics_cmd(pairs):
    """A `set xtics ("label" x, ...)` command as a gnuplot string for `eval`."""
    return tics_cmd("x", pairs)


def micro_plot(plotter, micro_rows, series):
    present = [s for s in series if any(c["series"] is s and c["ns_per_op"] for r in micro_rows
                                        for c in r["cells"])]
    # Workloads nobody measured would be empty slots: the table lists them.
    micro_rows = [r for r in micro_rows if any(c["ns_per_op"] for c in r["cells"])]
    if not present or not micro_rows:
        return None
    n = len(present)
    boxw = 0.8 / n
    stat_blocks, point_blocks, markers = [], [], []
    for i, s in enumerate(present):
        off = (i - (n - 1) / 2) * boxw
        sl, pl = [], []
        for x, r in enumerate(micro_rows):
            cell = next(c for c in r["cells"] if c["series"] is s)
            if not cell["ns_per_op"] and cell["status"][0] != "n/a":
                markers.append((x + off - boxw * 0.4, x + off + boxw * 0.4, cell["status"][0],
                                plotter.styles.color(s)))
            p50, p90, p99 = cell["ns_per_op.p50"], cell["ns_per_op.p90"], cell["ns_per_op.p99"]
            if p50 and p90 and p99:
                sl.append(f"{x + off}\t{num(p50[0])}\t{num(p90[0])}\t{num(p99[0])}")
            for j, v in enumerate(s.reps(r["workload"], "ns_per_op")):
                jitter = (j % 5 - 2) * boxw * 0.08
                pl.append(f"{x + off + jitter}\t{num(v)}")
        stat_blocks.append("\n".join(sl or ["?\t?\t?\t?"]))
        point_blocks.append("\n".join(pl or ["?\t?"]))
    labels = [(r["workload"].split("/", 1)[-1], x) for x, r in enumerate(micro_rows)]
    width = max(800, min(1400, 200 + 70 * len(micro_rows) * max(1, n / 2)))
    vals = [float(f) for block in stat_blocks + point_blocks for line in block.split("\n")
            for f in line.split("\t")[1:] if f != "?"]
    log, lo, hi = absolute_axis(vals)
    plotter.render("micro-dist", "micro_dist.gp",
                   {"statfile": "\n\n\n".join(stat_blocks) + "\n",
                    "pointfile": "\n\n\n".join(point_blocks) + "\n"},
                   {"xtics_cmd": xtics_cmd(labels), "boxw": repr(boxw),
                    "logy": "1" if log else "0", "ylo": repr(lo), "yhi": repr(hi)},
                   present, size=(int(width), 500), extra=marker_cmds(markers, 0.0, 0.3))
    return "micro-dist"


def _size_tics(sizes):
    """Labels for working-set sizes; past 8 sizes every other one, so labels never overlap."""
    step = 1 if len(sizes) <= 8 else 2
    return [(model.human_size(b).replace(" ", "") if i % step == 0 else "", b)
            for i, b in enumerate(sizes)]


def chase_plots(plotter, chase_rows, series, seed):
    """Latency lines and slowdown lines vs working-set size."""
    if not chase_rows:
        return []
    present = [s for s in series if any(per.get(s.label) for _, _, per in chase_rows)]
    if not present:
        return []
    blocks = []
    for s in present:
        rows = []
        for size, _w, per in chase_rows:
            st = per.get(s.label)
            if st:
                lo, hi = st[1] if st[1] else (st[0], st[0])
                rows.append(f"{size}\t{num(st[0])}\t{num(lo)}\t{num(hi)}")
        blocks.append("\n".join(rows or ["?\t?\t?\t?"]))
    tics = xtics_cmd(_size_tics([c[0] for c in chase_rows]))
    vals = [v for _size, _w, per in chase_rows for s in present if per.get(s.label)
            for v in [per[s.label][0]] + list(per[s.label][1] or [])]
    log, lo, hi = absolute_axis(vals)
    plotter.render("chase", "chase.gp", {"datafile": "\n\n\n".join(blocks) + "\n"},
                   {"xtics_cmd": tics, "logy": "1" if log else "0", "ylo": repr(lo),
                    "yhi": repr(hi)}, present, size=(600, 420))
    names = ["chase"]
    bases = model.Baselines(series)
    others = [s for s in present if not model.is_native(s.runner)]
    rblocks, rseries, rvals = [], [], []
    for s in others:
        base, _why = bases.for_series(s)
        if base is None:
            continue
        rows = []
        for size, w, _per in chase_rows:
            if s.reps(w, "ns_per_op") and base.reps(w, "ns_per_op"):
                c = model.Cmp(s, base, w, "ns_per_op", "ns", "lower", seed)
                lo, hi = c.ci if c.ci else (c.slowdown, c.slowdown)
                rows.append(f"{size}\t{num(c.slowdown)}\t{num(lo)}\t{num(hi)}")
                rvals += [c.slowdown, lo, hi]
        if rows:
            rblocks.append("\n".join(rows))
            rseries.append(s)
    if rseries:
        plotter.render("chase-ratio", "chase_ratio.gp", {"datafile": "\n\n\n".join(rblocks) + "\n"},
                       {"xtics_cmd": tics, "ytics_cmd": tics_cmd("y", ratio_axis(rvals)[2]),
                        "ylo": repr(ratio_axis(rvals)[0]), "yhi": repr(ratio_axis(rvals)[1])},
                       rseries, size=(600, 420))
        names.append("chase-ratio")
    return names


def _class_shares(row):
    """{exit class: median count} of one exit_table row, each raw reason
    classified with its own source (exit_classes.py)."""
    from . import exit_classes as ec
    source = {r["reason"]: r.get("source") or "" for r in row.get("rows", [])}
    out = {}
    for reason, part in row["parts"].items():
        cls = ec.classify(reason, source.get(reason, ""))
        out[cls] = out.get(cls, 0) + part[0]
    return out


def exits_plot(plotter, exit_rows):
    """Stacked composition of the recorded counts per workload and runner, by
    exit class (the raw reasons are in the table beside it)."""
    from . import exit_classes as ec
    rows = [r for r in exit_rows if r["sum"] > 0]
    if not rows:
        return None
    shares = [_class_shares(r) for r in rows]
    classes = [k for k in ec.CLASS_KEYS if any(k in sh for sh in shares)]
    lines = ["bar\t" + "\t".join(tsv_field(ec.CLASS_LABEL[k]) for k in classes)]
    for r, sh in zip(rows, shares):
        fields = [tsv_field(f"{r['workload'].split('/', 1)[-1]} · {r['series'].label}")]
        fields += [num(100.0 * sh[k] / r["sum"]) if k in sh else "0" for k in classes]
        lines.append("\t".join(fields))
    reasons = classes
    colors = reason_colors(len(reasons))
    width = max(800, min(1500, 300 + 24 * len(rows)))
    plotter.render("exits", "exits.gp", {"datafile": "\n".join(lines) + "\n"},
                   {"NR": str(len(reasons))}, [], size=(int(width), 520),
                   extra=[f"array RCOLORS[{len(colors)}] = [" + ", ".join(gq(c) for c in colors) + "]"])
    return "exits"
