"""Turn loaded runs into the tables the report shows.

Everything numeric the report prints is computed here, once, so the HTML,
the Markdown and the plots cannot disagree with each other.
"""

import fnmatch
import math
import re

from . import context, stats

RUNNER_ORDER = ["native", "kvm", "qemu-kvm", "xen-pvh", "xen-pv", "xen-hvm", "qemu-tcg"]
FAMILY_ORDER = ["boot", "micro", "cpu", "mem", "io", "net"]
MICRO_ORDER = ["micro/hypercall", "micro/pio-out-user", "micro/pio-in-user",
               "micro/pio-out-kernel", "micro/mmio-write-user", "micro/mmio-read-user",
               "micro/mmio-write-kernel", "micro/cpuid", "micro/msr-read", "micro/msr-write",
               "micro/hlt-wake", "micro/first-touch", "micro/ipi", "micro/virq-inject",
               "micro/eoi", "micro/syscall", "micro/rdtsc"]
# Which metric stands for a workload in the overhead chart, best first.
# Display order of a workload's metrics.  Which one stands for the workload
# is not decided here: `hvbench run` writes it into meta.csv as
# primary.<workload> (workloads/workload.h); runs from before that fall back
# to the first of bandwidth, ops_per_s, ns_per_op, boot_ms, as src/summary.c.
PRIMARY_METRICS = ["bandwidth", "ops_per_s", "ns_per_op", "cycles_per_op", "boot_ms"]
LEGACY_PRIMARY = ["bandwidth", "ops_per_s", "ns_per_op", "boot_ms"]
SIZE_UNITS = {"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
              "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "k": 1 << 10, "m": 1 << 20,
              "g": 1 << 30}
CHASE_RE = re.compile(r"^mem/chase-(\d+(?:\.\d+)?)([A-Za-z]*)$")
TRUE_WORDS = ("1", "yes", "true", "on", "y")
FALSE_WORDS = ("", "0", "no", "false", "off", "none", "n")


def is_native(runner):
    return runner == "native"


def truthy(value):
    """Interpret a meta value like 'yes (tcg)' or 'true' as a boolean."""
    v = value.strip().lower()
    return bool(v) and v.split()[0].strip("(),;:") in TRUE_WORDS


def falsy(value):
    v = value.strip().lower()
    return v in FALSE_WORDS or v.split()[0].strip("(),;:") in FALSE_WORDS


def emulation_reason(run, runner):
    """Why a runner's numbers say nothing about performance, or None.

    Full emulation (QEMU TCG) or a Xen nested in an emulator produce correct
    behaviour at arbitrary speed; a reader must not mistake them for a
    hypervisor's cost.
    """
    key = f"runner.{runner}.emulated"
    if truthy(run.meta.get(key, "")):
        return f"meta {key} = {run.meta[key]}"
    if runner == "qemu-tcg":
        return "runner qemu-tcg is full emulation (TCG)"
    for key in (f"runner.{runner}.accelerator", f"runner.{runner}.accel"):
        accel = run.meta.get(key, "")
        if "tcg" in accel.lower():  # the qemu runners write .accelerator
            return f"meta {key} = {accel}"
    if runner.startswith("xen"):
        for k in (f"runner.{runner}.nesting", "runner.xen.nesting"):
            v = run.meta.get(k)
            if v is not None and not falsy(v):
                return f"Xen runs nested: meta {k} = {v}"
    return None


def runner_rank(runner):
    return (RUNNER_ORDER.index(runner) if runner in RUNNER_ORDER else len(RUNNER_ORDER), runner)


def chase_size(workload):
    """Working-set size in bytes of mem/chase-<size>, or None if not a chase workload."""
    m = CHASE_RE.match(workload)
    if not m:
        return None
    unit = m.group(2).lower()
    if unit not in SIZE_UNITS:
        return None
    return int(float(m.group(1)) * SIZE_UNITS[unit])


def human_size(nbytes):
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= div and nbytes % div == 0:
            return f"{nbytes // div} {unit}"
    return f"{nbytes} B"


def family(workload):
    return workload.split("/", 1)[0] if "/" in workload else workload


def workload_rank(workload):
    fam = family(workload)
    frank = FAMILY_ORDER.index(fam) if fam in FAMILY_ORDER else len(FAMILY_ORDER)
    if workload in MICRO_ORDER:
        return (frank, fam, 0, MICRO_ORDER.index(workload), workload)
    size = chase_size(workload)
    if size is not None:
        return (frank, fam, 1, size, workload)
    return (frank, fam, 0 if fam != "mem" else 2, 0, workload)


class ProblemRow(dict):
    """A non-ok sample row from the summary, shaped like load.Row."""

    def __init__(self, values, where):
        super().__init__(values)
        self.where = where


class Summary:
    """`hvbench summarize`'s document (schema hvbench-summary/1), indexed."""

    def __init__(self, doc):
        if doc.get("schema") != "hvbench-summary/1":
            raise ValueError(f"hvbench summarize wrote schema {doc.get('schema')!r}, "
                             f"expected 'hvbench-summary/1'")
        self.doc = doc
        self.ratios = {(r["base"], r["cand"]): r for r in doc["ratios"]}


class Series:
    """One runner of one run: the unit drawn as a bar group or a line."""

    def __init__(self, run, run_index, runner):
        self.run = run
        self.run_index = run_index
        self.runner = runner
        self.label = runner
        self.emulated = emulation_reason(run, runner)
        self.values = {}     # (workload, metric) -> [[rep, value]]
        self.metrics = {}    # workload -> [metric with values], in summary order
        self.notes = {}      # (workload, metric) -> set of ok-row notes
        self.unit = {}       # metric key -> (unit, better)
        self.problems = []   # non-ok sample rows
        self.problems_of = {}  # workload -> its rows of problems, in order
        self.workloads = set()
        self.entry = {}      # (workload, metric) -> (index, summary series entry)
        self.summary = None

    def reps(self, workload, metric):
        return [v for _, v in sorted(self.values.get((workload, metric), []),
                                     key=lambda rv: (rv[0] is None, rv[0] or 0))]

    def median(self, workload, metric):
        """Median over repetitions (hvbench summarize's), or None."""
        e = self.entry.get((workload, metric))
        return e[1]["median"] if e else None

    @property
    def key(self):
        return (self.run_index, self.runner)


def build_series(runs):
    """Series per (run, runner) from the summary attached to the runs
    (run.summary, hvbench_report.py); label runners that occur in several runs."""
    summ = runs[0].summary if runs else None
    if runs and summ is None:
        raise ValueError("no hvbench summarize output attached to the runs")
    series = {}

    def get(i, runner):
        s = series.get((i, runner))
        if s is None:
            s = series[(i, runner)] = Series(runs[i], i, runner)
            s.summary = summ
        return s

    for c in summ.doc["cells"] if summ else []:
        get(c["run"], c["runner"]).workloads.update(c["workloads"])
    for idx, e in enumerate(summ.doc["series"] if summ else []):
        s = get(e["run"], e["runner"])
        k = (e["workload"], e["metric"])
        s.values[k] = e["values"]  # [rep, value] pairs, shared with the document
        s.metrics.setdefault(k[0], []).append(k[1])
        s.unit[k] = (e["unit"], e["better"])
        s.entry[k] = (idx, e)
        if e["notes"]:
            s.notes[k] = {n.strip() for n in e["notes"] if n.strip()}
    for p in summ.doc["problems"] if summ else []:
        file, _, line = p["where"].rpartition(":")
        s = get(p["run"], p["runner"])
        row = ProblemRow(p, f"{file.rpartition('/')[2]}:{line}")
        s.problems.append(row)
        s.problems_of.setdefault(p["workload"], []).append(row)
    ordered = sorted(series.values(), key=lambda s: (runner_rank(s.runner), s.run_index))
    count = {}
    for s in ordered:
        count[s.runner] = count.get(s.runner, 0) + 1
    for s in ordered:
        if count[s.runner] > 1:
            s.label = f"{s.runner} (run {s.run_index + 1})"
    return ordered


def all_workloads(series):
    return sorted({w for s in series for w in s.workloads}, key=workload_rank)


def metric_info(series, workload, metric):
    for s in series:
        if (workload, metric) in s.unit:
            return s.unit[(workload, metric)]
    return None


def metrics_of(series, workload):
    ms = {m for s in series for m in s.metrics.get(workload, ())}
    return sorted(ms, key=lambda m: (PRIMARY_METRICS.index(m) if m in PRIMARY_METRICS
                                     else len(PRIMARY_METRICS), m))


def primary_metric(series, workload):
    """The metric that stands for the workload: meta primary.<workload> of the
    runs (they agree, or the first run's wins), else the legacy order.  None
    when no series has a value of it (every cell skipped or failed)."""
    for s in series:
        m = s.run.meta.get("primary." + workload)
        if m:
            return m if metric_info(series, workload, m) else None
    ms = set(metrics_of(series, workload))
    for m in LEGACY_PRIMARY:
        if m in ms:
            return m
    ms = [m for m in metrics_of(series, workload) if "." not in m]
    return ms[0] if ms else None


class Baselines:
    """Find the native series each other series is compared with, and say why."""

    def __init__(self, series):
        self.natives = [s for s in series if is_native(s.runner)]

    def for_series(self, s):
        same_run = [n for n in self.natives if n.run_index == s.run_index]
        if same_run:
            return same_run[0], None
        if len(self.natives) == 1:
            n = self.natives[0]
            # Another run's native is a fair baseline only on the same machine:
            # by host_identity where both runs record it (two boots of one
            # machine, e.g. Linux for kvm and Xen for xen-*), else by name and CPU.
            same = context.same_host(n.run, s.run)
            if same is False:
                return None, (f"the only native run (run {n.run_index + 1}) is another machine "
                              "by host_identity: no cross-machine baseline")
            if same:
                return n, (f"baseline native from run {n.run_index + 1} (same machine by "
                           "host_identity)")
            for key in ("host_name", "cpu_model"):
                a, b = n.run.meta.get(key), s.run.meta.get(key)
                if a != b:
                    return None, (f"the only native run (run {n.run_index + 1}) has {key} "
                                  f"{a!r}, this run {b!r}: no cross-machine baseline")
            return n, f"baseline native from run {n.run_index + 1}"
        if not self.natives:
            return None, "no native runner in the input"
        return None, "several native runs and none in this series' run: baseline ambiguous"


class Cmp:
    """A slowdown of series against base: >1 means series is worse than base.

    The numbers are hvbench summarize's (`ratios`: compare's bootstrap, same
    seed scheme); a pair it did not compute (not the workload's primary
    metric) gets the ratio of medians and no interval, with the reason.
    """

    def __init__(self, series, base, workload, metric, unit, better, seed=None):
        self.series, self.base, self.workload, self.metric = series, base, workload, metric
        self.unit, self.better = unit, better
        self.values = series.reps(workload, metric)
        self.base_values = base.reps(workload, metric)
        self.median = series.median(workload, metric)
        self.base_median = base.median(workload, metric)
        self.slowdown = self.ci = None
        self.ci_why = None
        self.n_base, self.n_cand = len(self.base_values), len(self.values)
        r = _summary_ratio(base, series, workload, metric)
        if r is not None:
            self.slowdown = r["slowdown"]
            self.ci = tuple(r["ci"]) if r["ci"] else None
            self.ci_why = r["ci_why"]
        elif self.median and self.base_median:
            self.slowdown = (self.median / self.base_median if better == "lower"
                             else self.base_median / self.median)
            self.ci_why = "not the workload's primary metric: no interval computed"

    @property
    def overhead_pct(self):
        return None if self.slowdown is None else (self.slowdown - 1) * 100


def _summary_ratio(base, cand, workload, metric):
    eb, ec = base.entry.get((workload, metric)), cand.entry.get((workload, metric))
    if eb is None or ec is None or base.summary is None:
        return None
    return base.summary.ratios.get((eb[0], ec[0]))


def ratio(base_series, cand_series, workload, metric):
    """Runner against runner (any two series, across runs too): a Cmp with
    slowdown, ci, ci_why, n_base, n_cand; None when either has no value."""
    info = base_series.unit.get((workload, metric))
    if info is None or (workload, metric) not in cand_series.unit:
        return None
    return Cmp(cand_series, base_series, workload, metric, info[0], info[1])


def overhead_table(series, workloads, seed):
    """Rows of (workload, metric, unit, better, native series, [Cmp or reason per series])."""
    bases = Baselines(series)
    others = [s for s in series if not is_native(s.runner)]
    rows = []
    for w in workloads:
        metric = primary_metric(series, w)
        if metric is None:
            continue
        unit, better = metric_info(series, w, metric)
        cells = []
        for s in others:
            base, why = bases.for_series(s)
            if base is None:
                cells.append((s, None, why))
            elif not s.reps(w, metric):
                cells.append((s, None, cell_status(s, w)[1] or "no value"))
            elif not base.reps(w, metric):
                cells.append((s, None, "native: " + (cell_status(base, w)[1] or "no value")))
            else:
                cells.append((s, Cmp(s, base, w, metric, unit, better, seed), why))
        rows.append({"workload": w, "metric": metric, "unit": unit, "better": better,
                     "natives": list(bases.natives), "cells": cells})
    return rows


def cell_status(s, workload):
    """(status, reason) of a runner x workload cell: ok, skipped, unsupported, failed, absent."""
    ok = workload in s.metrics
    probs = s.problems_of.get(workload, [])
    if ok and not probs:
        return "ok", ""
    if ok:
        statuses = sorted({r["status"] for r in probs})
        notes = "; ".join(sorted({r["note"] for r in probs}))
        return "partly", f"some rows {'/'.join(statuses)}: {notes}"
    if probs:
        st = probs[0]["status"]
        return st, "; ".join(sorted({r["note"] for r in probs}))
    if workload not in run_workloads(s.run):
        return "n/a", f"not in run {s.run_index + 1}'s matrix"
    if not requested(s.run, workload):
        return "n/a", "not a requested workload (a runner-specific measurement, e.g. guest boot)"
    return "absent", ("no row for this cell (run incomplete)" if s.run.incomplete
                      else "no row for this cell: the result file breaks FORMAT.md")


def run_workloads(run):
    """Workloads that appear anywhere in a run (cached): its effective matrix."""
    cached = getattr(run, "_workloads", None)
    if cached is None:
        cached = {w for c in run.summary.doc["cells"] if c["run"] == run.index
                  for w in c["workloads"]}
        run._workloads = cached
    return cached


def requested(run, workload):
    """Was the workload in the run's requested matrix (meta `workloads`, names or globs)?

    Unknown (no key) counts as requested, so a missing row stays visible.
    """
    spec = run.meta.get("workloads", "").strip()
    if not spec:
        return True
    return any(fnmatch.fnmatchcase(workload, p.strip()) for p in spec.split(",") if p.strip())


def matrix(series, workloads):
    """Cell status grid: workload -> [(series, status, reason)]."""
    return [(w, [(s, *cell_status(s, w)) for s in series]) for w in workloads]


def summary_stat(s, workload, metric, seed=None):
    """(median, ci, n) over repetitions for one series/workload/metric, or None.

    From hvbench summarize: ci is the order-statistic interval of the median,
    None below its min_reps (seed is the report's, already given to it).
    """
    e = s.entry.get((workload, metric))
    if e is None:
        return None
    e = e[1]
    return e["median"], tuple(e["ci"]) if e["ci"] else None, e["n"]


# The kvm runner's bound row (results/FORMAT.md): the bare KVM_RUN loop's
# ns per userspace port exit in the same run, the floor under the core's
# userspace exit benchmarks.
BOUND_WORKLOAD = "micro/bound-bare-kvm-run"
BOUNDED_WORKLOADS = ("micro/pio-out-user", "micro/pio-in-user", "micro/mmio-write-user",
                     "micro/mmio-read-user")


def floor_of(s, w, seed):
    """(floor median ns, figure / floor) for a bounded exit benchmark of a
    series that recorded the bound, else None."""
    if w not in BOUNDED_WORKLOADS:
        return None
    floor, fig = summary_stat(s, BOUND_WORKLOAD, "ns_per_op", seed), summary_stat(s, w, "ns_per_op", seed)
    if not floor or not fig or floor[0] <= 0:
        return None
    return floor[0], fig[0] / floor[0]


def micro_table(series, workloads, seed):
    """VM-exit micro-benchmarks: per workload, per series: ns, cycles, p50, p99
    medians, and "floor": (bare KVM_RUN ns/exit, × floor) where it applies."""
    rows = []
    for w in workloads:
        if family(w) != "micro":
            continue
        cells = []
        for s in series:
            cell = {"series": s, "status": cell_status(s, w)}
            for metric in ("ns_per_op", "cycles_per_op", "ns_per_op.p50", "ns_per_op.p90",
                           "ns_per_op.p99"):
                cell[metric] = summary_stat(s, w, metric, seed)
            cell["notes"] = sorted(s.notes.get((w, "ns_per_op"), set()))
            cell["floor"] = floor_of(s, w, seed)
            cells.append(cell)
        rows.append({"workload": w, "cells": cells})
    return rows


def chase_table(series, workloads, seed):
    """Pointer-chase latency per working-set size: [(size, workload, {label: stat})]."""
    out = []
    for w in workloads:
        size = chase_size(w)
        if size is None:
            continue
        per = {s.label: summary_stat(s, w, "ns_per_op", seed) for s in series}
        out.append((size, w, per))
    return sorted(out)


TOTAL_REASONS = ("all", "total", "exits")


def exit_table(runs, series):
    """Exit reasons per (series, workload), as a list of dicts.

    Keys: series, workload, parts {reason: (median count, ns per exit or
    None, n)} for reasons with a non-zero median, zero [reasons whose median
    is 0], total (median of an "all"/"total" row, else the sum of parts),
    total_given (the source wrote a total), overlap (the parts do not add up
    to the given total: the source's reasons overlap or are incomplete, as
    KVM's stats do: insn_emulation accompanies userspace_io, pf_* are faults).
    """
    by_key = {s.key: s for s in series}
    acc = {}
    for i, run in enumerate(runs):
        for row in run.exits:
            s = by_key.get((i, row["runner"]))
            if s is None:
                s = Series(run, i, row["runner"])   # exits without samples: still show them
                by_key[s.key] = s
            d = acc.setdefault((s.key, row["workload"]), {})
            d.setdefault(row["reason"], []).append(row)
    table = []
    for (skey, w), reasons in acc.items():
        all_rows = [r for rs in reasons.values() for r in rs]
        parts, zero, total = {}, [], None
        for reason, rows in reasons.items():
            med = stats.median([r["count"] for r in rows])
            if reason.lower() in TOTAL_REASONS:
                total = med
                continue
            if med == 0:
                zero.append(reason)
                continue
            timed = [r for r in rows if r["total_ns"] is not None]
            tot = sum(r["count"] for r in timed)
            ns_per = (sum(r["total_ns"] for r in timed) / tot) if timed and tot else None
            parts[reason] = (med, ns_per, len(rows))
        psum = sum(p[0] for p in parts.values())
        overlap = total is not None and abs(psum - total) > max(1.0, 0.01 * total)
        table.append({"series": by_key[skey], "workload": w, "parts": parts,
                      "zero": sorted(zero), "total": psum if total is None else total,
                      "total_given": total is not None, "overlap": overlap, "sum": psum,
                      "rows": all_rows})
    table.sort(key=lambda t: (workload_rank(t["workload"]), runner_rank(t["series"].runner),
                              t["series"].run_index))
    return table


def _per_op(rows):
    """Median over repetitions of count / ops, or None if no row knows its ops."""
    by_rep = {}
    for r in rows:
        if r.get("ops"):
            by_rep.setdefault(r["rep"], [0.0, r["ops"]])[0] += r["count"]
    return stats.median([c / o for c, o in by_rep.values()]) if by_rep else None


def _per_rep(rows):
    by_rep = {}
    for r in rows:
        by_rep[r["rep"]] = by_rep.get(r["rep"], 0) + r["count"]
    return stats.median(list(by_rep.values())) if by_rep else 0


def exit_classes(exit_rows):
    """Exits side by side in common classes (exit_classes.py), per workload.

    exit_rows: exit_table's result.  Returns [(workload, [cell])] in workload
    order, cells in series order; a cell is a dict: series, source (who
    counted), total_per_op (the source's total per operation, or None),
    total_per_rep, ops_known, classes {class: {per_op, per_rep, ns_per_exit,
    reasons [(raw reason, per_op, per_rep, note)]}} for classes with exits,
    unknown [raw reasons the table does not know: counted as other], and
    ns_per_op (the series' median of the same workload, or None).  A series
    with exits from two sources (kvm: kvm-stats and vmm) has one cell per
    source: their counts overlap, so they are never added together.
    """
    from . import exit_classes as ec
    out = {}
    for t in exit_rows:
        by_source = {}
        for r in t["rows"]:
            by_source.setdefault(r.get("source") or "", []).append(r)
        for source, rows in sorted(by_source.items()):
            cell = {"series": t["series"], "source": source or "unknown", "classes": {},
                    "unknown": [], "ops_known": any(r.get("ops") for r in rows),
                    "ns_per_op": t["series"].median(t["workload"], "ns_per_op")}
            totals = [r for r in rows if ec.is_total(r["reason"])]
            cell["total_per_op"] = _per_op(totals) if totals else None
            cell["total_per_rep"] = _per_rep(totals) if totals else None
            reasons = {}
            for r in rows:
                if not ec.is_total(r["reason"]):
                    reasons.setdefault(r["reason"], []).append(r)
            for reason, rs in sorted(reasons.items()):
                cls, note, known = ec.lookup(reason, source)
                if not known:
                    cell["unknown"].append(reason)
                per_rep = _per_rep(rs)
                if per_rep == 0:
                    continue
                c = cell["classes"].setdefault(cls, {"rows": [], "reasons": []})
                c["rows"] += rs
                c["reasons"].append((reason, _per_op(rs), per_rep, note))
            for c in cell["classes"].values():
                timed = [r for r in c["rows"] if r["total_ns"] is not None]
                n = sum(r["count"] for r in timed)
                c["ns_per_exit"] = sum(r["total_ns"] for r in timed) / n if timed and n else None
                c["per_op"], c["per_rep"] = _per_op(c["rows"]), _per_rep(c["rows"])
                c["reasons"].sort(key=lambda x: -x[2])
                del c["rows"]
            out.setdefault(t["workload"], []).append(cell)
    return sorted(out.items(), key=lambda kv: workload_rank(kv[0]))


def counter_table(runs, series):
    """Counters per workload: [(workload, [(series, event, source, summary)])].

    summary: {"status", "median", "n", "min_running" (fraction of time the
    counter ran, < 1 means multiplexed and scaled), "notes"}.
    """
    by_key = {s.key: s for s in series}
    acc = {}
    for i, run in enumerate(runs):
        for row in run.counters:
            s = by_key.get((i, row["runner"]))
            if s is None:
                s = by_key[(i, row["runner"])] = Series(run, i, row["runner"])
            acc.setdefault((row["workload"], s.key, row["event"], row["source"]), []).append(row)
    out = {}
    for (w, skey, event, source), rows in acc.items():
        ok = [r for r in rows if r["status"] == "ok"]
        fracs = [r["time_running"] / r["time_enabled"] for r in ok
                 if r["time_enabled"] and r["time_running"] is not None]
        summ = {
            "status": "ok" if ok else rows[0]["status"],
            "median": stats.median([r["value"] for r in ok]) if ok else None,
            "n": len(ok),
            "min_running": min(fracs) if fracs else None,
            "notes": sorted({r["note"].strip() for r in rows if r["note"].strip()}),
            "bad": sorted({r["status"] for r in rows if r["status"] != "ok"}),
        }
        out.setdefault(w, []).append((by_key[skey], event, source, summ))
    result = []
    for w in sorted(out, key=workload_rank):
        items = sorted(out[w], key=lambda t: (runner_rank(t[0].runner), t[0].run_index,
                                              t[2], t[1]))
        result.append((w, items))
    return result


def problems(runs, series):
    """Every non-ok sample or counter row, grouped, with its reason.

    Rows that differ only by repetition or metric collapse into one line
    (listing the repetitions and metrics), so one skipped cell is one line.
    """
    by_key = {s.key: s for s in series}
    groups = {}
    for i, run in enumerate(runs):
        for row in (r for s in series if s.run_index == i for r in s.problems):
            s = by_key[(i, row["runner"])]
            k = ("sample", s.label, row["workload"], row["status"], row["note"].strip())
            g = groups.setdefault(k, {"what": set(), "reps": set(), "where": row.where,
                                      "series": s})
            if row["metric"].strip():
                g["what"].add(row["metric"])
            if row["rep"] is not None:
                g["reps"].add(row["rep"])
        for row in run.counters:
            if row["status"] == "ok":
                continue
            # One event unsupported in every workload is one fact: group by
            # event across workloads (the workload list is kept).
            s = by_key.get((i, row["runner"])) or Series(run, i, row["runner"])
            k = ("counter", s.label, f"{row['event']} ({row['source']})", row["status"],
                 row["note"].strip())
            g = groups.setdefault(k, {"what": set(), "reps": set(), "where": row.where,
                                      "series": s, "workloads": set()})
            g["workloads"].add(row["workload"])
            if row["rep"] is not None:
                g["reps"].add(row["rep"])
    out = []
    for (kind, label, what, status, note), g in groups.items():
        if kind == "counter":
            wls = sorted(g["workloads"], key=workload_rank)
            out.append({"kind": kind, "label": label, "workload": wls[0] if len(wls) == 1 else
                        f"{len(wls)} workloads", "workloads": wls, "status": status, "note": note,
                        "what": [what], "reps": sorted(g["reps"]), "where": g["where"],
                        "series": g["series"]})
        else:
            out.append({"kind": kind, "label": label, "workload": what, "workloads": [what],
                        "status": status, "note": note, "what": sorted(g["what"]),
                        "reps": sorted(g["reps"]), "where": g["where"], "series": g["series"]})
    out.sort(key=lambda p: (p["kind"] != "sample", workload_rank(p["workloads"][0]),
                            runner_rank(p["series"].runner), p["label"], p["status"], p["what"]))
    return out


def rep_list(reps):
    """Compact "0-4, 7" form of a list of repetition indices."""
    if not reps:
        return "cell"
    parts, start, prev = [], reps[0], reps[0]
    for r in reps[1:] + [None]:
        if r is not None and r == prev + 1:
            prev = r
            continue
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
        if r is not None:
            start = prev = r
    return ", ".join(parts)


def headline_group(workload):
    """The 'At a glance' group of a workload, or None (micro/* is not averaged)."""
    fam = family(workload)
    if fam == "micro":
        return None
    if chase_size(workload) is not None:
        return "mem/chase-*"
    return f"{fam}/*" + (" (other)" if fam == "mem" else "")


class Glance:
    """One 'At a glance' row: a group's geometric-mean slowdowns over the
    workloads EVERY shown runner has (so the runners' means are over the same
    set), the k of that set, and what was left out and why."""

    def __init__(self, group, common, per, left_out):
        self.group = group
        self.common = common        # workloads in every runner's mean
        self.per = per              # label -> geomean over common
        self.left_out = left_out    # workload -> labels that have a slowdown for it

    @property
    def k(self):
        return len(self.common)


def headline(overhead_rows, labels=None):
    """Geometric mean of slowdowns per workload group and runner.

    The usual one-number summary (as SPEC does), but only over the workloads
    that every compared runner measured: averaging different sets per runner
    (one runner's mem/* with first-touch at 15x, another's without) would
    compare nothing.  micro/* is left out: its ratios are against native
    analogues, not the same operation, and a mean of them means nothing.
    Emulated runners are not averaged.  `labels` restricts the runners
    compared (default: every non-native, non-emulated series with a
    slowdown somewhere).  Returns [Glance] in group order.
    """
    slow = {}   # group -> workload -> label -> slowdown
    for r in overhead_rows:
        group = headline_group(r["workload"])
        if group is None:
            continue
        for s, cmp, _why in r["cells"]:
            if cmp is None or not cmp.slowdown or s.emulated:
                continue
            if labels is not None and s.label not in labels:
                continue
            slow.setdefault(group, {}).setdefault(r["workload"], {})[s.label] = cmp.slowdown
    shown = set(labels) if labels is not None else {
        l for per_w in slow.values() for per in per_w.values() for l in per}
    out = []
    for group in sorted(slow, key=lambda g: workload_rank(g.split(" ")[0].replace("*", "a"))):
        per_w = slow[group]
        common = sorted((w for w, per in per_w.items() if shown <= set(per)), key=workload_rank)
        left = {w: sorted(per) for w, per in per_w.items() if w not in common}
        per = {}
        for label in sorted(shown):
            xs = [per_w[w][label] for w in common]
            if xs:
                per[label] = math.exp(sum(math.log(x) for x in xs) / len(xs))
        out.append(Glance(group, common, per, left))
    return out


def context_warnings(run):
    """What a reader must know about how a run was made, as (id, title, text):
    a --quick run, a nested (PVM) host, a host that was busy while it ran
    (meta load.<runner>.<rep> = 1-min load average at start and end)."""
    out = []
    if truthy(run.meta.get("quick")):
        out.append(("quick", "Smoke run (--quick)",
                    "smaller working sets, fewer batches and short calibration goals: "
                    "the numbers check that things work, they are not a measurement"))
    nesting = run.meta.get("nesting", "")
    if nesting.startswith("pvm"):
        out.append(("nested", "Nested host (PVM)",
                    "/dev/kvm is itself nested (kvm_pvm): guest ring 0 is "
                    "instruction-emulated, so exits that reach ring 0 (cpuid, MSRs, "
                    "hypercalls, halts) cost what the nesting costs, not what KVM costs "
                    "on hardware"))
    try:
        cpus = int(run.meta.get("cpu_count", "0"))
    except ValueError:
        cpus = 0
    busy = []
    for k, v in run.meta.items():
        if not k.startswith("load."):
            continue
        try:
            peak = max(float(x) for x in v.split())
        except ValueError:
            continue
        if cpus and peak > cpus:
            busy.append((peak, k[len("load."):]))
    if busy:
        peak, where = max(busy)
        out.append(("busy", "Busy host",
                    f"the 1-minute load average exceeded the {cpus} CPUs during "
                    f"{len(busy)} repetition(s) (peak {peak:g} at {where}, runner.rep): "
                    "other work shared the machine, so spreads are wider and medians may "
                    "have moved"))
    return out


def versus_pairs(series):
    """(base, cand) pairs of the runner-against-runner view: every two
    non-native, non-emulated series, base first in runner order (kvm before
    qemu-kvm before xen-pvh ...), so each pair is shown once."""
    vms = [s for s in series if not is_native(s.runner) and not s.emulated]
    return [(a, b) for i, a in enumerate(vms) for b in vms[i + 1:]]


def versus_table(series, workloads):
    """Runner against runner on each workload's primary metric, directly (not
    through native): [{"workload", "metric", "unit", "better",
    "cells": [(base, cand, ratio or None, why)]}]."""
    pairs = versus_pairs(series)
    rows = []
    for w in workloads:
        metric = primary_metric(series, w)
        if metric is None or not pairs:
            continue
        unit, better = metric_info(series, w, metric)
        cells = []
        for a, b in pairs:
            r = None
            if a.reps(w, metric) and b.reps(w, metric):
                r = ratio(a, b, w, metric)
            why = None
            if r is None:
                missing = [s.label for s in (a, b) if not s.reps(w, metric)]
                why = f"no {metric} from " + " and ".join(missing) if missing else "no ratio"
            cells.append((a, b, r, why))
        if any(c[2] is not None for c in cells):
            rows.append({"workload": w, "metric": metric, "unit": unit, "better": better,
                         "cells": cells})
    return rows
