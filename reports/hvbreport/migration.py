"""The Migration section: result directories of `hvbench migrate` (issue 18).

A migration grid run's rows carry the grid point in the runner column,
`<runner>.d<dirty MiB/s>.w<wss MiB>.b<bandwidth MiB/s, 0 = unlimited>.t<downtime
target ms>`, and the migration's figures as `migrate.*` rows of workload
migrate/dirty, one per repetition (each its own run and migration):
migrate.total_ms, migrate.downtime_ms (the VMM's), migrate.guest_downtime_ms
(the guest's largest heartbeat gap), migrate.bytes, migrate.rounds,
migrate.converged (results/FORMAT.md "Migration rows", "Migration grid runs").

Per runner: one table row per grid point (median [min, max] over the
repetitions; a point with failed rows says so with the reason, and a page the
guest found wrong after the move is a "Memory lost" banner of its own) and a plot of
total time, VMM downtime and guest downtime against the dirty rate, one set of
lines per (working set, bandwidth, downtime target).  A nested host gets a
banner: migration there copies memory through a nested hypervisor.
"""

import re
import statistics

from . import markup, plots

POINT_RE = re.compile(r"^(?P<base>.+)\.d(?P<d>[0-9]+)\.w(?P<w>[0-9]+)\.b(?P<b>[0-9]+)"
                      r"\.t(?P<t>[0-9]+)$")
WORKLOAD = "migrate/dirty"
# (metric, column head, unit shown, factor to it)
COLUMNS = [("migrate.total_ms", "total", "ms", 1.0),
           ("migrate.downtime_ms", "downtime (VMM)", "ms", 1.0),
           ("migrate.guest_downtime_ms", "downtime (guest)", "ms", 1.0),
           ("migrate.bytes", "sent", "MiB", 1 / 1048576),
           ("migrate.rounds", "rounds", "", 1.0),
           ("migrate.converged", "converged", "", 1.0)]
BAD_BANNERS = ("memory-lost", "failed")
HEAD = ["dirty rate (MiB/s)", "wss (MiB)", "bandwidth (MiB/s)", "target (ms)"] + \
    [f"{h} ({u})" if u else h for _m, h, u, _k in COLUMNS] + ["reps", "problems"]

INTRO = ("Live migration of the migrate/dirty guest, from `hvbench migrate`: per runner and "
         "grid point (the guest's dirty rate, its working set, the link's bandwidth, 0 = "
         "unlimited, and the downtime target), the migration's total time, the downtime the "
         "VMM measured beside the one the guest saw (its largest heartbeat gap), the bytes "
         "sent, the pre-copy rounds and whether it converged (1) — lower is better for all "
         "but converged. Each repetition is its own run and migration: median [min, max] "
         "over them. Both VMMs are on this one host: the link is a unix socket, so "
         "bandwidth is memory-copy speed unless the grid sets one.")


class Point:
    def __init__(self, g, s):
        self.series = s
        self.rate, self.wss, self.bw, self.dt = (int(g[k]) for k in "dwbt")
        self.fig = {}
        for m, _h, _u, k in COLUMNS:
            v = [x * k for x in s.reps(WORKLOAD, m) if x is not None]
            self.fig[m] = (statistics.median(v) if v else None,
                           (min(v), max(v)) if v else None, len(v))
        self.problems = [f"{r['status']}: {r.get('note') or ''}".strip()
                         for r in s.problems_of.get(WORKLOAD, [])]

    @property
    def combo(self):
        return (self.wss, self.bw, self.dt)

    def cell(self, m):
        med, span, n = self.fig[m]
        if med is None:
            return "—"
        if m == "migrate.converged":  # a yes/no per rep: how many of them
            yes = sum(1 for v in self.series.reps(WORKLOAD, m) if v)
            return f"{yes} of {n}"
        if n > 1 and span[0] != span[1]:
            return f"{markup.fmt(med)} [{markup.fmt(span[0])}, {markup.fmt(span[1])}]"
        return markup.fmt(med)

    @property
    def reps(self):
        return max(n for _m, _s, n in self.fig.values())


class Group:
    """The grid points of one runner of one run."""

    def __init__(self, run, index, base, points):
        self.run, self.index, self.runner = run, index, base
        self.points = sorted(points, key=lambda p: (p.wss, p.bw, p.dt, p.rate))
        self.anchor = f"migration-{index}-{re.sub('[^A-Za-z0-9-]', '-', base)}"
        self.label = f"{base} (run {index + 1})"
        self.grid = run.meta.get("migrate.grid", "")

    def warnings(self):
        out = []
        nesting = self.run.meta.get("nesting", "")
        if nesting.startswith("pvm") or self.run.meta.get("host_kind") == "nested":
            out.append(("nested", "Nested host (PVM)",
                        "these migrations ran on a nested host (guest ring 0 "
                        "instruction-emulated, dirty tracking through the outer "
                        "hypervisor): times and downtimes are this host's, not a hardware "
                        "host's, and the 2 CPUs are shared with everything else running"))
        lost = [(p, m[m.index("memory lost:"):]) for p in self.points for m in p.problems
                if "memory lost:" in m]
        if lost:
            # Louder than a failed run: the guest saw its memory wrong after
            # the move, whatever the times say (the kind is the workload's).
            out.append(("memory-lost", "Memory lost",
                        "the guest's check after the move found pages that do not hold "
                        "what was written, so these migrations are wrong whatever their "
                        "times (README migrate/: the kind of damage says whose): "
                        + "; ".join(f"d{p.rate} w{p.wss} b{p.bw} t{p.dt}: {m}"
                                    for p, m in lost)))
        failed = [p for p in self.points if p.problems]
        if failed:
            out.append(("failed", "Points with failed runs",
                        "; ".join(f"d{p.rate} w{p.wss} b{p.bw} t{p.dt}: {p.problems[0]}"
                                  for p in failed)))
        if self.run.meta.get("status") == "interrupted":
            out.append(("interrupted", "Interrupted",
                        f"the grid stopped at {self.run.meta.get('interrupted_at', '?')}: "
                        "later points are missing"))
        return out

    def rows(self):
        return [[str(p.rate), str(p.wss), str(p.bw) if p.bw else "unlimited", str(p.dt)]
                + [p.cell(m) for m, _h, _u, _k in COLUMNS]
                + [str(p.reps), "; ".join(p.problems)] for p in self.points]


class Section:
    def __init__(self, rep):
        groups = {}
        for s in rep.series:
            g = POINT_RE.match(s.runner)
            if g and WORKLOAD in s.workloads:
                groups.setdefault((s.run_index, g["base"]), []).append(Point(g, s))
        self.groups = [Group(rep.runs[i], i, base, pts)
                       for (i, base), pts in sorted(groups.items())]

    def __bool__(self):
        return bool(self.groups)


def build(rep):
    return Section(rep)


def nav_items(rep):
    return [("migration", "Migration")] if rep.migration else []


# ------------------------------------------------------------------- plots

def plot(plotter, rep):
    """One chart per runner: total time and both downtimes against the dirty
    rate, one block per (wss, bandwidth, target) (gnuplot `index`)."""
    for g in rep.migration.groups:
        combos = sorted({p.combo for p in g.points})
        blocks, vals = [], []
        for c in combos:
            lines = []
            for p in (p for p in g.points if p.combo == c):
                row = [str(p.rate)]
                for m in ("migrate.total_ms", "migrate.downtime_ms", "migrate.guest_downtime_ms"):
                    med, span, _n = p.fig[m]
                    lo, hi = span if span else (med, med)
                    row += [plots.num(med), plots.num(lo), plots.num(hi)]
                    vals += [v for v in (med, lo, hi) if v is not None]
                lines.append("\t".join(row))
            blocks.append("\n".join(lines))
        if not vals:
            continue
        titles = " ".join(f"w{w}.b{b}.t{t}" for w, b, t in combos)
        rates = sorted({p.rate for p in g.points})
        log, ylo, yhi = plots.absolute_axis(vals)
        plotter.render(g.anchor, "migration.gp", {"datafile": "\n\n\n".join(blocks) + "\n"},
                       {"nblocks": str(len(combos)), "titles": plots.gq(titles),
                        "xtics_cmd": plots.tics_cmd("x", [(str(r), r) for r in rates]),
                        "logx": "1" if len(rates) > 1 and rates[-1] / rates[0] > 20 else "0",
                        "xlo": repr(rates[0] * 0.8), "xhi": repr(rates[-1] * 1.25),
                        "logy": "1" if log else "0", "ylo": repr(ylo), "yhi": repr(yhi)},
                       [], size=(720, 440))


# -------------------------------------------------------------------- HTML

def _table_html(g):
    r = markup
    head = "".join(f"<th>{r.esc(h)}</th>" for h in HEAD)
    body = []
    for p, row in zip(g.points, g.rows()):
        attrs = r.data_attrs(runner=g.runner, rate=str(p.rate), wss=str(p.wss), bw=str(p.bw),
                             target=str(p.dt))
        cls = ' class="bad"' if p.problems else ""
        body.append(f"<tr{attrs}{cls}>" + "".join(f"<td>{r.esc(c)}</td>" for c in row)
                    + "</tr>")
    return f'<table class="migration" id="{r.esc(g.anchor)}-table"><tr>{head}</tr>' \
           + "".join(body) + "</table>"


def html(rep):
    sec = rep.migration
    if not sec:
        return ""
    r = markup
    out = ['<h2 id="migration">Migration</h2>', f'<p class="mut">{r.esc(INTRO)}</p>']
    for g in sec.groups:
        out.append(f'<h3 id="{r.esc(g.anchor)}">{r.esc(g.label)}</h3>')
        for wid, head, text in g.warnings():
            out.append(f'<div class="banner {"bad" if wid in BAD_BANNERS else "warn"}" '
                       f'id="{r.esc(g.anchor)}-{wid}-banner"><b>{r.esc(head)}</b>: '
                       f'{r.esc(text)}.</div>')
        if g.grid:
            out.append(f'<p class="small">Grid: {r.esc(g.grid)}</p>')
        out.append('<div class="figs">' + r.figure(
            rep.plotter, g.anchor,
            "Migration total time, VMM downtime and guest downtime (ms, median with [min, "
            "max] over repetitions) against the guest's dirty rate (MiB/s), per working "
            "set, bandwidth and downtime target") + "</div>")
        out.append(_table_html(g))
    return "\n".join(out)


# ---------------------------------------------------------------- Markdown

def markdown(rep):
    sec = rep.migration
    if not sec:
        return []
    out = ["", "## Migration", "", INTRO]
    for g in sec.groups:
        out += ["", f"### {g.label}", ""]
        for _wid, head, text in g.warnings():
            out += [f"> **{head}**: {text}.", ""]
        if g.grid:
            out += [f"Grid: {g.grid}", ""]
        out.append(markup.md_table(HEAD, g.rows()))
    return out
