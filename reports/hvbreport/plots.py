"""Render the report's plots with gnuplot (PNG for the page, SVG beside it).

Python writes tab-separated data files and a small driver script per plot
(variables, then common.gp and the template from reports/gnuplot/), so the
look of a plot lives in the template and can be tuned without touching code.
When gnuplot is missing or a plot fails, the report still renders and says
which plot was not drawn and why.
"""

import os
import shutil
import subprocess

from . import model

TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gnuplot")
RUNNER_COLORS = {"native": "#7f7f7f", "kvm": "#1f77b4", "qemu-kvm": "#17becf",
                 "xen-pvh": "#ff7f0e", "xen-pv": "#d62728", "xen-hvm": "#bcbd22",
                 "qemu-tcg": "#9467bd"}
EXTRA_COLORS = ["#2ca02c", "#8c564b", "#e377c2", "#393b79", "#637939", "#843c39"]
REASON_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a", "#637939", "#e7ba52"]
TIMEOUT_S = 60


def gq(text):
    """Quote a string for a gnuplot single-quoted literal ('' escapes ')."""
    return "'" + str(text).replace("'", "''") + "'"


def tsv_field(text):
    """Keep labels from breaking the tab-separated data files."""
    return str(text).replace("\t", " ").replace("\n", " ")


def num(x):
    return "?" if x is None else repr(float(x))


def series_colors(series):
    """A stable color per runner; repeated runners (several runs) get distinct extras."""
    used, out, extra = set(), [], iter(EXTRA_COLORS * 4)
    for s in series:
        c = RUNNER_COLORS.get(s.runner)
        if c is None or c in used:
            c = next(extra)
        used.add(c)
        out.append(c)
    return out


def series_title(s):
    return s.label + (" (emulated)" if s.emulated else "")


class Plotter:
    """Finds gnuplot once and renders named plots into out_dir/plots/."""

    def __init__(self, out_dir, gnuplot=None):
        self.dir = os.path.join(out_dir, "plots")
        self.made = {}       # name -> {"png": path, "svg": path}
        self.failed = {}     # name -> reason
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
        colors = series_colors(series)
        if series:
            lines.append(f"array TITLES[{len(series)}] = [" +
                         ", ".join(gq(series_title(s)) for s in series) + "]")
            lines.append(f"array COLORS[{len(series)}] = [" + ", ".join(gq(c) for c in colors) + "]")
            lines.append(f"array EMU[{len(series)}] = [" +
                         ", ".join("1" if s.emulated else "0" for s in series) + "]")
        lines += list(extra)
        w, h = size
        common = os.path.join(TEMPLATES, "common.gp")
        tmpl = os.path.join(TEMPLATES, template)
        font = 'font "DejaVu Sans,10"'
        driver = "\n".join(lines + [
            f"set terminal {self.png_term} noenhanced size {w},{h} {font}",
            f"set output {gq(name + '.png')}",
            f"load {gq(common)}",
            f"load {gq(tmpl)}",
            "set output",
            f"set terminal svg noenhanced size {w},{h} {font} background rgb 'white'",
            f"set output {gq(name + '.svg')}",
            "replot",
            "set output",
        ]) + "\n"
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


def overhead_plots(plotter, table, series):
    """One bar chart per workload family (their scales differ by orders of magnitude)."""
    # Emulated runners are functional checks: a 14x TCG bar would flatten the
    # real hypervisors into the axis and invite a wrong reading, so they are
    # left out of the charts (the tables still show them, labelled).
    others = [s for s in series if not model.is_native(s.runner) and not s.emulated]
    names = []
    fams = []
    for row in table:
        fam = model.family(row["workload"])
        if model.chase_size(row["workload"]) is not None:
            continue  # has its own section and plot
        if fam not in fams:
            fams.append(fam)
    for fam in fams:
        rows = [r for r in table if model.family(r["workload"]) == fam
                and model.chase_size(r["workload"]) is None]
        present = [s for s in others if any(c[0] is s and c[1] for r in rows for c in r["cells"])]
        if not present:
            continue
        cmps = []
        for r in rows:
            cells = {c[0].label: c[1] for c in r["cells"]}
            if any(c and c.slowdown for c in cells.values()):
                cmps.append((r["workload"], [cells.get(s.label) for s in present]))
        if not cmps:
            continue
        vals = [v for _w, cs in cmps for c in cs if c and c.slowdown
                for v in ([c.slowdown] + list(c.ci or []))]
        # Large spreads (exits: 3x..60x) need a log axis of the ratio; small
        # ones (cpu, mem: +1..5 %) read better as overhead % from a zero base.
        logy = max(vals) / max(min(vals), 1e-12) > 20
        tf = (lambda x: x) if logy else (lambda x: (x - 1) * 100)
        lines = []
        for w, cs in cmps:
            fields = [tsv_field(w.split("/", 1)[-1])]
            for c in cs:
                if c is None or c.slowdown is None:
                    fields += ["?", "?", "?"]
                    continue
                lo, hi = c.ci if c.ci else (c.slowdown, c.slowdown)
                fields += [num(tf(c.slowdown)), num(tf(lo)), num(tf(hi))]
            lines.append("\t".join(fields))
        name = f"overhead-{fam}"
        width = max(600, min(1200, 140 + 28 * len(lines) * (len(present) + 1)))
        what = "slowdown vs native (x)" if logy else "overhead vs native (%)"
        plotter.render(name, "overhead.gp", {"datafile": "\n".join(lines) + "\n"},
                       {"plot_title": gq(f"{fam}/*: {what}, median ratio, 95% bootstrap CI"),
                        "logy": "1" if logy else "0"}, present, size=(width, 420))
        names.append(name)
    return names


def xtics_cmd(pairs):
    """A `set xtics ("label" x, ...)` command as a gnuplot string for `eval`."""
    def label(text):
        return '"' + str(text).replace('"', "").replace("\\", "").replace("'", "") + '"'
    return gq("set xtics (" + ", ".join(f"{label(l)} {x}" for l, x in pairs) + ")")


def micro_plot(plotter, micro_rows, series):
    present = [s for s in series if any(c["series"] is s and c["ns_per_op"] for r in micro_rows
                                        for c in r["cells"])]
    # Workloads nobody measured would be empty slots: the table lists them.
    micro_rows = [r for r in micro_rows if any(c["ns_per_op"] for c in r["cells"])]
    if not present or not micro_rows:
        return None
    n = len(present)
    boxw = 0.8 / n
    stat_blocks, point_blocks = [], []
    for i, s in enumerate(present):
        off = (i - (n - 1) / 2) * boxw
        sl, pl = [], []
        for x, r in enumerate(micro_rows):
            cell = next(c for c in r["cells"] if c["series"] is s)
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
    plotter.render("micro-dist", "micro_dist.gp",
                   {"statfile": "\n\n\n".join(stat_blocks) + "\n",
                    "pointfile": "\n\n\n".join(point_blocks) + "\n"},
                   {"xtics_cmd": xtics_cmd(labels), "boxw": repr(boxw)},
                   present, size=(int(width), 500))
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
    plotter.render("chase", "chase.gp", {"datafile": "\n\n\n".join(blocks) + "\n"},
                   {"xtics_cmd": tics}, present, size=(600, 420))
    names = ["chase"]
    bases = model.Baselines(series)
    others = [s for s in present if not model.is_native(s.runner)]
    rblocks, rseries = [], []
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
        if rows:
            rblocks.append("\n".join(rows))
            rseries.append(s)
    if rseries:
        plotter.render("chase-ratio", "chase_ratio.gp", {"datafile": "\n\n\n".join(rblocks) + "\n"},
                       {"xtics_cmd": tics}, rseries, size=(600, 420))
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
    colors = [REASON_COLORS[i % len(REASON_COLORS)] for i in range(len(reasons))]
    width = max(800, min(1500, 300 + 24 * len(rows)))
    plotter.render("exits", "exits.gp", {"datafile": "\n".join(lines) + "\n"},
                   {"NR": str(len(reasons))}, [], size=(int(width), 520),
                   extra=[f"array RCOLORS[{len(colors)}] = [" + ", ".join(gq(c) for c in colors) + "]"])
    return "exits"
