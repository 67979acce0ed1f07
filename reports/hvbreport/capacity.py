"""The Capacity section: result directories of `hvbench capacity` (issue 16).

A capacity run measures steps of N VMs (native: N processes) at once; its
rows carry N in the runner column (`<runner>.n<N>`), per-VM rows a metric
suffix `.vm<i>`, the probe workload's aggregate rows (the worst probe VM of
each repetition, as the SLO judges them) no suffix, and the workload
`capacity/step` the step's own figures (rep 0): slo_pass (1/0), tput_pct,
boot_ms.p50/.p99 (the N VMs started at once), mem_pss_kib and host_cpu_pct
per VM (`.vm<i>`, and their mean without suffix; probes/vmcost.c and the
child's rusage).  meta.csv holds the SLO and the answer: capacity.slo
("p99<=Xus tput>=Y% (...)"), capacity.n_max, capacity.failed_at,
capacity.why, capacity.steps, capacity.n<N>.verdict / .overcommit,
interrupted_at (results/FORMAT.md, "Capacity runs").

The section groups the `<runner>.n<N>` series of a run into one curve per
runner and shows, against N: the probe's latency percentiles with the SLO
line, its throughput with the throughput SLO, and each VM's host memory and
CPU, N_max and the failing step marked; then one table row per step and
the host's memory policy (host.ksm.*, host.thp.*, host.overcommit_memory,
host.swap.*).  It must not mislead: a step whose rows are incomplete is
labelled partial with the reason, a step with more vCPUs than host CPUs
overcommitted, an emulated runner emulated; repetitions combine as the
command's SLO rule does (the median, [min, max] beside it).
"""

import re

from . import markup, model, plots

STEP_RE = re.compile(r"^(?P<base>.+)\.n(?P<n>[0-9]+)$")
VM_RE = re.compile(r"^(?P<metric>.+)\.vm(?P<i>[0-9]+)$")
STEP_WORKLOAD = "capacity/step"
# Per-VM cost rows of capacity/step: (metric, factor to the unit shown, unit shown).
PSS = ("mem_pss_kib", 1 / 1024, "MiB")
CPU = ("host_cpu_pct", 1.0, "% of one host CPU")
SLO_P99_RE = re.compile(r"p99<=([0-9.eE+-]+)us")
SLO_TPUT_RE = re.compile(r"tput>=([0-9.eE+-]+)%")
INTERRUPTED_RE = re.compile(r"^step [0-9]+ \(N=([0-9]+)\)")
LEAD_INT_RE = re.compile(r"^\s*([0-9]+)")
LATENCY = ("req_ns.p50", "req_ns.p99", "req_ns.p999", "req_ns.max")
THROUGHPUT = "ops_per_s"
MEM_KEYS = ("host.ksm.", "host.thp.", "host.overcommit_memory", "host.swap.")
# The memory policy keys in the order a reader wants them (probes/vmcost.h).
MEM_ORDER = ["host.ksm.run", "host.ksm.pages_shared", "host.ksm.pages_sharing",
             "host.thp.enabled", "host.thp.defrag", "host.overcommit_memory",
             "host.swap.total_kib", "host.swap.free_kib", "host.swap.swappiness"]
NOT_RECORDED = "(not recorded)"

INTRO = ("Steps of N VMs of one shape at once (native: N processes), from `hvbench capacity`: "
         "the probe VMs' request latency (the worst probe VM of each repetition; lower is "
         "better) and throughput (higher is better) against N, with the SLO; what each VM "
         "cost the host in memory (PSS of its process tree, or a Xen domain's memory) and "
         "CPU time (lower is better); the boot time of the N VMs started at once. "
         "Repetitions combine by their median, [min, max] over repetitions beside it, as "
         "the SLO judges them. N_max is the largest N that met the SLO; the step after it "
         "is where it failed.")


def _int(text):
    """The integer a meta value starts with ('3 (search not finished ...)'), or None."""
    m = LEAD_INT_RE.match(str(text)) if text is not None else None
    return int(m.group(1)) if m else None


def _float(text):
    try:
        return float(str(text).strip())
    except (TypeError, ValueError):
        return None


def _span(xs):
    return (min(xs), max(xs)) if xs else None


class Step:
    """One N of one runner: the step's figures and what a reader must know."""

    def __init__(self, group, n, s):
        self.n, self.series = n, s
        probe = group.probe
        self.lat = {m: s.median(probe, m) for m in LATENCY}
        self.p99_reps = s.reps(probe, "req_ns.p99")
        self.tput = s.median(probe, THROUGHPUT)
        self.tput_reps = s.reps(probe, THROUGHPUT)
        self.slo_pass = s.median(STEP_WORKLOAD, "slo_pass")
        meta_verdict = group.meta.get(f"capacity.n{n}.verdict", "")
        self.meta_verdict = meta_verdict.split(":", 1)[0].strip()
        self.boot = (s.median(STEP_WORKLOAD, "boot_ms.p50"), s.median(STEP_WORKLOAD, "boot_ms.p99"))
        self.boot_missing = missing(s, "boot_ms.p50")
        self.pss = self._per_vm(s, PSS)
        self.cpu = self._per_vm(s, CPU)
        self.pss_missing = missing(s, PSS[0]) or missing(s, PSS[0] + ".vm0")
        self.cpu_missing = missing(s, CPU[0]) or missing(s, CPU[0] + ".vm0")
        self.tput_pct = s.median(STEP_WORKLOAD, "tput_pct")
        self.partial = []
        self.overcommit = ""

    @staticmethod
    def _per_vm(s, cost):
        """(mean per VM, [min, max] over the VMs or None), in the unit shown:
        the `.vm<i>` rows' medians; without them the unsuffixed row (the mean)."""
        metric, k, _unit = cost
        per = [s.median(STEP_WORKLOAD, m) for m in s.metrics.get(STEP_WORKLOAD, [])
               if (g := VM_RE.match(m)) and g["metric"] == metric]
        per = [v * k for v in per if v is not None]
        if per:
            return sum(per) / len(per), _span(per)
        mean = s.median(STEP_WORKLOAD, metric)
        return (None if mean is None else mean * k), None

    @property
    def verdict(self):
        """pass / fail from slo_pass (the meta verdict where the row is
        missing), else not judged."""
        if self.slo_pass is not None:
            return "pass" if self.slo_pass >= 0.5 else "fail"
        return self.meta_verdict if self.meta_verdict in ("pass", "fail") else "not judged"


def missing(s, metric):
    """(status, reason) of the capacity/step rows of metric that are not ok
    (boot_ms unsupported natively, a PSS never read), or None."""
    for r in s.problems_of.get(STEP_WORKLOAD, []):
        if r.get("metric") == metric:
            return r["status"], r["note"]
    return None


class Group:
    """The steps of one runner of one run, with the run's SLO and answer."""

    def __init__(self, run, index, base, by_n):
        self.run, self.index, self.runner = run, index, base
        meta = run.meta
        self.meta = meta
        self.probe = self._probe(meta, by_n)
        self.emulated = model.emulation_reason(run, base) or next(
            (s.emulated for s in by_n.values() if s.emulated), None)
        slo = meta.get("capacity.slo", "")
        self.slo_text = slo
        g = SLO_P99_RE.search(slo)
        self.slo_p99_us = _float(g.group(1)) if g else None
        g = SLO_TPUT_RE.search(slo)
        self.slo_tput_pct = _float(g.group(1)) if g else None
        self.n_max_text = meta.get("capacity.n_max")
        self.n_max = _int(self.n_max_text)
        self.failed_at_text = meta.get("capacity.failed_at", "")
        self.failed_at = _int(self.failed_at_text)
        self.why = meta.get("capacity.why", "")
        g = INTERRUPTED_RE.match(meta.get("interrupted_at", ""))
        self.interrupted_in = int(g.group(1)) if g else None
        self.order = self._order(meta.get("capacity.steps", ""))
        self.vcpus = _int(meta.get("vcpus", "1")) or 1
        self.host_cpus = _int(meta.get("cpu_count"))
        self.reps = _int(meta.get("reps"))
        self.steps = [Step(self, n, by_n[n]) for n in sorted(by_n)]
        base_step = self.step(1)
        for st in self.steps:
            if (st.tput_pct is None and base_step and base_step.tput
                    and st.tput is not None):
                st.tput_pct = 100.0 * st.tput / base_step.tput
            st.partial = self._partial(st)
            st.overcommit = self._overcommit(st.n)

    @staticmethod
    def _probe(meta, by_n):
        """The probe workload: meta capacity.probe, else the workload whose
        aggregate rows have req_ns.p99."""
        named = meta.get("capacity.probe")
        ws = {w for s in by_n.values() for w in s.metrics}
        if named in ws:
            return named
        for s in by_n.values():
            for w in sorted(s.metrics):
                if w != STEP_WORKLOAD and "req_ns.p99" in s.metrics[w]:
                    return w
        return named or "(no probe rows)"

    @staticmethod
    def _order(text):
        """The N of capacity.steps ('1:pass 2:pass 4:fail 3:pass') in the order measured."""
        return [n for n in (_int(t.split(":")[0]) for t in text.split()) if n is not None]

    def step(self, n):
        return next((st for st in self.steps if st.n == n), None)

    def stopped_in(self):
        """The N an incomplete run stopped in: meta interrupted_at
        ('step 4 (N=4)'; 'before step ...' is none), else the steps with rows
        that capacity.steps does not list (no verdict for them yet), else
        the last step it lists, else the largest N."""
        at = self.meta.get("interrupted_at", "")
        if at:
            return {self.interrupted_in} if self.interrupted_in else set()
        unlisted = {st.n for st in self.steps if self.order and st.n not in self.order}
        if unlisted:
            return unlisted
        if self.order:
            return {self.order[-1]}
        return {self.steps[-1].n} if self.steps else set()

    def _partial(self, st):
        """Why a step's figures are not a full measurement ([] if they are)."""
        out = []
        s = st.series
        for w in (self.probe, STEP_WORKLOAD):
            status, why = model.cell_status(s, w)
            if status in ("partly", "ok"):
                # rows that are unsupported or skipped by design (no boot
                # natively, a background VM stopped as asked) do not make a
                # step partial; a failed one does
                bad = [r for r in s.problems_of.get(w, []) if r["status"] == "failed"]
                if bad:
                    out.append(f"{w}: {len(bad)} failed row(s): " + "; ".join(
                        sorted({r['note'] for r in bad})))
            elif status != "n/a":
                out.append(f"{w} {status}: {why}")
        if self.reps and st.p99_reps and len(st.p99_reps) < self.reps:
            out.append(f"{len(st.p99_reps)} of {self.reps} repetitions")
        if st.slo_pass is None:
            out.append("no slo_pass row: the step was not judged")
        if self.run.incomplete and st.n in self.stopped_in():
            out.append(f"the run is {self.run.status}: it stopped during or after this step")
        return out

    def _overcommit(self, n):
        """The step's capacity.n<N>.overcommit when it says yes (or "" for no),
        else N x vCPUs against cpu_count."""
        said = self.meta.get(f"capacity.n{n}.overcommit")
        if said is not None:
            return said.split(":", 1)[1].strip() if model.truthy(said) and ":" in said else (
                said if model.truthy(said) else "")
        if not self.host_cpus:
            return ""
        threads = n * self.vcpus
        if threads <= self.host_cpus:
            return ""
        what = "worker threads" if model.is_native(self.runner) else "vCPUs"
        return f"{n} × {self.vcpus} = {threads} {what} on {self.host_cpus} host CPU(s)"

    @property
    def label(self):
        return f"{self.runner} (run {self.index + 1})" if self.run_count > 1 else self.runner

    run_count = 1

    @property
    def anchor(self):
        return "capacity-" + re.sub(r"[^A-Za-z0-9-]", "-", f"{self.runner}-{self.index + 1}")

    def how_sure(self):
        """Repetitions and [min, max] of the SLO figures at N_max and the failing step."""
        out = []
        for what, n in (("N_max", self.n_max), ("failed at N", self.failed_at)):
            st = self.step(n) if n else None
            if st is None:
                continue
            text = (f"{what} = {n}: p99 {us(st.lat['req_ns.p99'])} "
                    f"{span_us(_span(st.p99_reps))} over {len(st.p99_reps)} repetition(s)")
            if st.tput is not None:
                text += (f", throughput {markup.fmt(st.tput)} ops/s "
                         f"{span_fmt(_span(st.tput_reps))}")
                if st.tput_pct is not None:
                    text += f" ({st.tput_pct:.0f} % of N = 1)"
            out.append(text)
        return out

    def warnings(self):
        """(id, title, text) a reader must see before the numbers."""
        out = []
        if self.emulated:
            out.append(("emulated", "Emulated runner",
                        f"{markup.EMU_TEXT} ({self.emulated}): N_max of an emulator says "
                        "nothing about how many VMs a hypervisor carries"))
        oc = [st for st in self.steps if st.overcommit]
        if oc:
            out.append(("overcommit", "vCPUs overcommitted",
                        f"from N = {oc[0].n} ({oc[0].overcommit}) the VMs time-share host "
                        "CPUs: latency and throughput there measure the host scheduler too"))
        part = [st for st in self.steps if st.partial]
        if part:
            out.append(("partial", "Partial steps",
                        "; ".join(f"N = {st.n}: {', '.join(st.partial)}" for st in part)))
        if self.n_max is None:
            out.append(("no-nmax", "No N_max recorded",
                        "meta capacity.n_max is missing: the search did not write its answer"))
        elif self.n_max == 0:
            out.append(("nmax-0", "Not even one VM met the SLO",
                        self.why or "N = 1 failed"))
        if self.n_max is not None and self.n_max_text.strip() != str(self.n_max):
            out.append(("nmax-note", "N_max is qualified",
                        f"capacity.n_max = {self.n_max_text}"))
        if self.meta.get("nesting", "").startswith("pvm"):
            out.append(("nested", "Nested host (PVM)",
                        "guest ring 0 is instruction-emulated here: N_max and the per-VM "
                        "costs are this nested host's, not a hardware host's"))
        return out


def us(ns):
    return "—" if ns is None else f"{markup.fmt(ns / 1000)} µs"


def span_us(sp):
    return "" if not sp else f"[{markup.fmt(sp[0] / 1000)}, {markup.fmt(sp[1] / 1000)}] µs"


def span_fmt(sp):
    return "" if not sp else f"[{markup.fmt(sp[0])}, {markup.fmt(sp[1])}]"


class Section:
    def __init__(self, rep):
        groups = {}
        for s in rep.series:
            g = STEP_RE.match(s.runner)
            if g:
                groups.setdefault((s.run_index, g["base"]), {})[int(g["n"])] = s
        self.groups = [Group(rep.runs[i], i, base, by_n)
                       for (i, base), by_n in sorted(groups.items(),
                                                     key=lambda kv: (kv[0][0],
                                                                     model.runner_rank(kv[0][1])))]
        bases = [g.runner for g in self.groups]
        for g in self.groups:
            g.run_count = 2 if bases.count(g.runner) > 1 else 1
        self.host = host_memory(sorted({g.index for g in self.groups}), rep.runs)

    def __bool__(self):
        return bool(self.groups)


def host_memory(run_indexes, runs):
    """[(key, [value per run])] of the memory policy keys, for the capacity runs."""
    have = {k for i in run_indexes for k in runs[i].meta if k.startswith(MEM_KEYS)}
    keys = [k for k in MEM_ORDER if k in have] + sorted(have - set(MEM_ORDER))
    if not keys:   # a run from before these keys: say so, key by key
        keys = ["host.ksm.run", "host.thp.enabled", "host.overcommit_memory"]
    return run_indexes, [(k, [runs[i].meta.get(k, NOT_RECORDED) for i in run_indexes])
                         for k in keys]


def build(rep):
    return Section(rep)


def nav_items(rep):
    return [("capacity", "Capacity")] if rep.capacity else []


# ------------------------------------------------------------------- plots

def _plot_names(g):
    base = g.anchor
    return {"latency": base + "-latency", "throughput": base + "-throughput",
            "cost": base + "-cost"}


def _marks(g, st_list):
    """gnuplot commands: N_max and the failing step as vertical lines, the
    overcommitted range shaded, partial steps labelled."""
    out = []
    if g.n_max:
        out.append(f"set arrow 1 from first {g.n_max}, graph 0 to first {g.n_max}, graph 1 "
                   "nohead dt 2 lw 1.5 lc rgb '#1a7f37' front")
        out.append(f"set label 1 {plots.gq(f'N_max = {g.n_max}')} at first {g.n_max}, graph 0.62 "
                   "left offset 0.5,0 font ',9' tc rgb '#1a7f37' front")
    if g.failed_at:
        out.append(f"set arrow 2 from first {g.failed_at}, graph 0 to first {g.failed_at}, graph 1 "
                   "nohead dt 3 lw 1.5 lc rgb '#cf222e' front")
        out.append(f"set label 2 {plots.gq(f'failed at {g.failed_at}')} at first {g.failed_at}, "
                   "graph 0.54 left offset 0.5,0 font ',9' tc rgb '#cf222e' front")
    oc = [st.n for st in st_list if st.overcommit]
    if oc:
        lo = oc[0] - 0.5
        hi = st_list[-1].n + 0.5
        out.append(f"set object 1 rect from first {lo}, graph 0 to first {hi}, graph 1 "
                   "fc rgb '#fff8c5' fs solid 0.6 noborder behind")
        out.append(f"set label 3 'vCPUs overcommitted' at first {lo}, graph 0.03 left "
                   "offset 0.5,0 font ',8' tc rgb '#9a6700' front")
    for k, st in enumerate([st for st in st_list if st.partial], 10):
        out.append(f"set label {k} 'partial' at first {st.n}, graph 0.08 center font ',8' "
                   "tc rgb '#bc4c00' front")
    if g.emulated:
        out.append(f"set label 4 {plots.gq(markup.EMU_TEXT)} at graph 0.5, graph 0.5 center "
                   "font ',12' tc rgb '#8250df' front")
    return out


def _xtics(st_list):
    return plots.tics_cmd("x", [(str(st.n), st.n) for st in st_list])


def _xrange(st_list):
    return repr(st_list[0].n - 0.5), repr(st_list[-1].n + 0.5)


def plot(plotter, rep):
    for g in rep.capacity.groups:
        st_list = g.steps
        if not st_list:
            continue
        names = _plot_names(g)
        xlo, xhi = _xrange(st_list)
        marks = _marks(g, st_list)
        rows, vals = [], []
        for st in st_list:
            lat = [None if st.lat[m] is None else st.lat[m] / 1000 for m in LATENCY]
            sp = _span(st.p99_reps)
            lo, hi = (sp[0] / 1000, sp[1] / 1000) if sp else (lat[1], lat[1])
            rows.append("\t".join([str(st.n), plots.num(lat[0]), plots.num(lat[1]),
                                   plots.num(lo), plots.num(hi), plots.num(lat[2]),
                                   plots.num(lat[3])]))
            vals += [v for v in lat + [lo, hi] if v is not None]
        if g.slo_p99_us:
            vals.append(g.slo_p99_us)
        log, ylo, yhi = plots.absolute_axis(vals)
        common = {"xtics_cmd": _xtics(st_list), "xlo": xlo, "xhi": xhi}
        if vals:
            plotter.render(names["latency"], "capacity_latency.gp",
                           {"datafile": "\n".join(rows) + "\n"},
                           dict(common, slo=repr(g.slo_p99_us or -1.0), logy="1" if log else "0",
                                ylo=repr(ylo), yhi=repr(yhi)),
                           [], size=(640, 420), extra=marks)
        trows, tvals = [], []
        for st in st_list:
            sp = _span(st.tput_reps)
            lo, hi = sp if sp else (st.tput, st.tput)
            trows.append("\t".join([str(st.n), plots.num(st.tput), plots.num(lo), plots.num(hi)]))
            tvals += [v for v in (st.tput, lo, hi) if v is not None]
        base = g.step(1)
        tslo = (base.tput * g.slo_tput_pct / 100 if base and base.tput and g.slo_tput_pct
                else -1.0)
        if tvals:
            plotter.render(names["throughput"], "capacity_throughput.gp",
                           {"datafile": "\n".join(trows) + "\n"},
                           dict(common, slo=repr(tslo), yhi=repr(max(tvals + [tslo]) * 1.15)),
                           [], size=(640, 420), extra=marks)
        crows, mem, cpu = [], [], []
        for st in st_list:
            crows.append("\t".join([str(st.n), plots.num(st.pss[0]), plots.num(st.cpu[0])]))
            mem += [st.pss[0]] if st.pss[0] is not None else []
            cpu += [st.cpu[0]] if st.cpu[0] is not None else []
        if mem or cpu:
            plotter.render(names["cost"], "capacity_cost.gp",
                           {"datafile": "\n".join(crows) + "\n"},
                           dict(common, memhi=repr(max(mem or [1]) * 1.2),
                                cpuhi=repr(max(cpu or [1]) * 1.2)),
                           [], size=(640, 420), extra=marks)


# -------------------------------------------------------------------- HTML

def _step_attrs(g, st, kind, value=None, metric=None):
    return markup.data_attrs(runner=g.runner, n=str(st.n), kind=kind, metric=metric,
                             value=None if value is None else repr(value))


def _per_vm_text(v, n, missing_value):
    """'67.32 [66, 68.64]; 202 for 3 VMs': the mean per VM, [min, max] over the
    VMs where they differ, and the step's total; a missing value's status."""
    median, sp = v
    if median is None:
        return f"{missing_value[0]}: {missing_value[1]}" if missing_value else "—"
    f = markup.fmt
    return (f(median) + (f" [{f(sp[0])}, {f(sp[1])}]" if sp and sp[0] != sp[1] else "")
            + (f"; {f(median * n)} for {n} VMs" if n > 1 else ""))


def _boot_text(st):
    if st.boot[0] is None and st.boot_missing:
        return f"{st.boot_missing[0]}: {st.boot_missing[1]}"
    return f"{markup.fmt(st.boot[0])} / {markup.fmt(st.boot[1])}"


COLUMNS = ["N", "SLO", "p50", "p99 [min, max]", "p99.9", "max", "probe ops/s [min, max]",
           "% of N = 1", "boot p50 / p99 (ms)", "PSS per VM (MiB) [min, max over the VMs]",
           "host CPU per VM (% of one CPU) [min, max over the VMs]", "notes"]


def step_cells(st):
    """The figure columns of a step's row: (kind, value, text, metric), shared
    by the HTML and the Markdown table so they cannot disagree."""
    lat = st.lat
    return [
        ("capacity-lat", lat["req_ns.p50"], us(lat["req_ns.p50"]), "req_ns.p50"),
        ("capacity-lat", lat["req_ns.p99"],
         f'{us(lat["req_ns.p99"])} {span_us(_span(st.p99_reps))}'.strip(), "req_ns.p99"),
        ("capacity-lat", lat["req_ns.p999"], us(lat["req_ns.p999"]), "req_ns.p999"),
        ("capacity-lat", lat["req_ns.max"], us(lat["req_ns.max"]), "req_ns.max"),
        ("capacity-tput", st.tput, f"{markup.fmt(st.tput)} {span_fmt(_span(st.tput_reps))}".strip(),
         None),
        ("capacity-tput-pct", st.tput_pct,
         "—" if st.tput_pct is None else f"{st.tput_pct:.1f} %", None),
        ("capacity-boot", st.boot[1], _boot_text(st), None),
        ("capacity-pss", st.pss[0], _per_vm_text(st.pss, st.n, st.pss_missing), None),
        ("capacity-cpu", st.cpu[0], _per_vm_text(st.cpu, st.n, st.cpu_missing), None),
    ]


def _verdict_text(g, st):
    return st.verdict + (" (N_max)" if st.n == g.n_max else "") + \
        (" (failed here)" if st.n == g.failed_at else "")


def _verdict_html(g, st):
    cls = {"pass": "ok", "fail": "failed"}.get(st.verdict, "partly")
    out = (f'<span{_step_attrs(g, st, "capacity-verdict")} data-verdict="{st.verdict}">'
           f'{markup.status_badge(cls, st.verdict)}</span>')
    if st.n == g.n_max:
        out += ' <b class="better">N_max</b>'
    if st.n == g.failed_at:
        out += ' <b class="worse">failed here</b>'
    return out


def _table_html(g):
    r = markup
    head = "<tr>" + "".join(f"<th>{r.esc(c)}</th>" for c in COLUMNS) + "</tr>"
    rows = []
    for st in g.steps:
        notes = []
        if st.overcommit:
            notes.append(f'<span class="st st-partly" title="{r.esc(st.overcommit)}"'
                         f'{_step_attrs(g, st, "capacity-overcommit")}>overcommitted</span> '
                         f'<span class="ci">{r.esc(st.overcommit)}</span>')
        if st.partial:
            notes.append(f'<span class="st st-partly"{_step_attrs(g, st, "capacity-partial")}>'
                         f'partial</span> <span class="ci">{r.esc("; ".join(st.partial))}</span>')
        cells = "".join(f'<td class="n"><span{_step_attrs(g, st, kind, value, metric)}>'
                        f'{r.esc(text)}</span></td>' for kind, value, text, metric in step_cells(st))
        rows.append(f"<tr><td class=n><b>{st.n}</b></td><td>{_verdict_html(g, st)}</td>{cells}"
                    f'<td class="small">{"<br>".join(notes)}</td></tr>')
    return f'<div class="scroll"><table class="capacity">{head}{"".join(rows)}</table></div>'


def _slo_text(g):
    if g.slo_p99_us is None:
        return g.slo_text or NOT_RECORDED
    parts = [f"p99 ≤ {markup.fmt(g.slo_p99_us)} µs"]
    if g.slo_tput_pct:
        parts.append(f"per-VM probe throughput ≥ {markup.fmt(g.slo_tput_pct)} % of N = 1")
    return " and ".join(parts) + " (median over repetitions of the worst probe VM)"


def _answer_text(g):
    """'N_max = 3, failed at N = 4: <why>' in words (the N values marked up by the caller)."""
    if g.failed_at:
        return f"failed at N = {g.failed_at}: {g.why}"
    return f"failed at: {g.failed_at_text or NOT_RECORDED}" + (f" ({g.why})" if g.why else "")


def _setup_text(g):
    m = g.meta
    return (f"SLO: {_slo_text(g)}. Probe: {g.probe} in "
            f"{m.get('capacity.probe_vms', NOT_RECORDED)} VM(s); background: "
            f"{m.get('capacity.background', NOT_RECORDED)}. VM shape: {g.vcpus} vCPU(s), guest "
            f"memory {m.get('capacity.guest_mem', NOT_RECORDED)}; host CPUs: "
            f"{g.host_cpus or NOT_RECORDED}. Steps in the order measured: "
            f"{m.get('capacity.steps', NOT_RECORDED)}.")


def _summary_html(g):
    r = markup
    nmax = "(not recorded)" if g.n_max is None else str(g.n_max)
    failed = (f', failed at N = <span{r.data_attrs(runner=g.runner, kind="capacity-failed-at", value=str(g.failed_at))}>'
              f'{g.failed_at}</span>: {r.esc(g.why)}' if g.failed_at
              else ", " + r.esc(_answer_text(g)))
    out = [f'<p><b>N_max = <span{r.data_attrs(runner=g.runner, kind="capacity-nmax", value=nmax)}>'
           f'{r.esc(nmax)}</span></b>{failed}</p>',
           f'<p class="small">{r.esc(_setup_text(g))}</p>']
    sure = g.how_sure()
    if sure:
        out.append('<p class="small">How sure: ' + r.esc("; ".join(sure)) + ".</p>")
    return out


MEM_INTRO = ("What decides per-VM memory: KSM merges the identical pages of VMs of one image "
             "(their PSS then falls over time), THP moves first-touch and memory-bound figures, "
             "overcommit mode 2 refuses VM starts early, swap lets a host past its RAM slow "
             "down instead of failing (and PSS leaves swapped pages out).")


def _host_html(sec):
    r = markup
    idx, rows = sec.host
    head = "".join(f"<th>run {i + 1}</th>" for i in idx)
    body = "".join(f"<tr><td>{r.esc(k)}</td>" + "".join(f'<td class="small"'
                                                       f'{r.data_attrs(kind="capacity-host", key=k)}>'
                                                       f'{r.esc(v)}</td>' for v in vals) + "</tr>"
                   for k, vals in rows)
    return (f'<h3>Host memory policy</h3><p class="small">{r.esc(MEM_INTRO)}</p>'
            f'<table class="capacity-host"><tr><th>key</th>{head}</tr>{body}</table>')


def _banner_class(wid):
    return "bad" if wid in ("emulated", "partial", "nmax-0", "no-nmax") else "warn"


def html(rep):
    sec = rep.capacity
    if not sec:
        return ""
    r = markup
    out = ['<h2 id="capacity">Capacity</h2>', f'<p class="mut">{r.esc(INTRO)}</p>']
    for g in sec.groups:
        out.append(f'<h3 id="{r.esc(g.anchor)}">{r.esc(g.label)}'
                   + (f' <span class="emu" title="{r.esc(g.emulated)}">{r.EMU_TEXT}</span>'
                      if g.emulated else "") + "</h3>")
        for wid, head, text in g.warnings():
            out.append(f'<div class="banner {_banner_class(wid)}" id="{r.esc(g.anchor)}-{wid}-banner">'
                       f'<b>{r.esc(head)}</b>: {r.esc(text)}.</div>')
        out += _summary_html(g)
        names = _plot_names(g)
        out.append('<div class="figs">'
                   + r.figure(rep.plotter, names["latency"],
                              "Probe request latency against N (µs; p50, p99 with [min, max] "
                              "over repetitions, p99.9, max): the SLO line, N_max and the "
                              "failing step marked")
                   + r.figure(rep.plotter, names["throughput"],
                              "Probe throughput against N (ops/s, worst probe VM, [min, max]): "
                              "the throughput SLO line")
                   + r.figure(rep.plotter, names["cost"],
                              "Host cost per VM against N: PSS (MiB, left axis) and host CPU "
                              "(% of one CPU, right axis)")
                   + "</div>")
        out.append(_table_html(g))
    out.append(_host_html(sec))
    return "\n".join(out)


# ---------------------------------------------------------------- Markdown

def markdown(rep):
    sec = rep.capacity
    if not sec:
        return []
    r = markup
    out = ["", "## Capacity", "", INTRO]
    for g in sec.groups:
        out += ["", f"### {g.label}" + (f" ({r.EMU_TEXT})" if g.emulated else ""), ""]
        for _wid, head, text in g.warnings():
            out += [f"> **{head}**: {text}.", ""]
        nmax = "(not recorded)" if g.n_max is None else str(g.n_max)
        out.append(f"**N_max = {nmax}**, {_answer_text(g)}. {_setup_text(g)}")
        sure = g.how_sure()
        if sure:
            out += ["", "How sure: " + "; ".join(sure) + "."]
        rows = []
        for st in g.steps:
            notes = ([f"overcommitted ({st.overcommit})"] if st.overcommit else []) + \
                    ([f"partial ({'; '.join(st.partial)})"] if st.partial else [])
            rows.append([str(st.n), _verdict_text(g, st)]
                        + [text for _k, _v, text, _m in step_cells(st)] + ["; ".join(notes)])
        out += ["", r.md_table(COLUMNS, rows)]
    idx, host = sec.host
    out += ["", "Host memory policy: " + MEM_INTRO, "",
            r.md_table(["key"] + [f"run {i + 1}" for i in idx], [[k] + v for k, v in host])]
    return out
