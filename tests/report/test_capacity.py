#!/usr/bin/env python3
"""Tests of the report's Capacity section (reports/hvbreport/capacity.py).

Renders the capacity fixture (tests/fixtures/results/make_capacity.py) and
variants: a run interrupted during a step (partial), an emulated runner,
native, a host with enough CPUs (no overcommit), a run without slo_pass
rows, and a run that is not a capacity run (the interrupts fixture: no
section).  Expected figures are computed here from the fixture's CSV files
(medians over repetitions), never from the code under test.

TAP output (tests/run aggregates it).
"""

import os
import shutil
import statistics
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import taplib  # noqa: E402
import sectionlib  # noqa: E402
from sectionlib import render  # noqa: E402

FIX = os.path.join(ROOT, "tests", "fixtures", "results")
GEN = os.path.join(FIX, "make_capacity.py")
CAP = os.path.join(FIX, "20261203-190000-fixhost-8181-cap")
NOT_CAP = os.path.join(FIX, "20261202-210000-fixhost-6161-irq")
PROBE = "svc/open-loop"
STEPS = [1, 2, 3, 4]


class Rendered(sectionlib.Rendered):
    prefix = "hvb-capacity-test-"
    VARIANTS = {
        "partial": ("20261203-191000-fixhost-8282-cap", "--partial"),
        "emulated": ("20261203-192000-fixhost-8383-cap", "--runner", "qemu-tcg"),
        "native": ("20261203-193000-fixhost-8484-cap", "--runner", "native"),
        "roomy": ("20261203-194000-fixhost-8585-cap", "--cpus", "8"),
        "unjudged": ("20261203-195000-fixhost-8686-cap", "--no-slo-pass"),
    }

    @classmethod
    def make(cls, name, out):
        if name == "cap":
            return render(out, CAP)
        if name == "cap-plots":
            return render(out, CAP, plots=True)
        if name == "not-cap":
            return render(out, NOT_CAP)
        run_id, *args = cls.VARIANTS[name]
        d = sectionlib.generate(GEN, cls.tmp, "--run-id", run_id, *args)
        return render(out, "--allow-partial", d) if name == "partial" else render(out, d)


def rows(d=CAP):
    return sectionlib.csv_rows(d, "samples.csv")


def median(runner, workload, metric, d=CAP):
    v = [float(r["value"]) for r in rows(d) if r["runner"] == runner and
         r["workload"] == workload and r["metric"] == metric and r["status"] == "ok"]
    return statistics.median(v) if v else None


def meta(d=CAP):
    return {r["key"]: r["value"] for r in sectionlib.csv_rows(d, "meta.csv")}


def value(page, n, kind, metric=None):
    want = {"kind": kind, "n": str(n)}
    if metric:
        want["metric"] = metric
    return page.value(**want)


class TestFixture(unittest.TestCase):
    def test_01_generator_writes_the_fixture(self):
        """make_capacity.py without options writes the committed fixture"""
        sectionlib.assert_reproduces(self, GEN, CAP)

    def test_02_fixture_has_the_contract(self):
        """the fixture has <runner>.n<N> rows, .vm<i> rows, capacity/step and capacity.* meta"""
        runners = {r["runner"] for r in rows()}
        self.assertEqual(runners, {f"kvm.n{n}" for n in STEPS})
        metrics = {(r["workload"], r["metric"]) for r in rows()}
        for m in ("req_ns.p99", "req_ns.p99.vm0", "ops_per_s", "ops_per_s.vm0"):
            self.assertIn((PROBE, m), metrics)
        for m in ("slo_pass", "tput_pct", "boot_ms.p50", "boot_ms.p99", "mem_pss_kib.vm0",
                  "mem_pss_kib", "host_cpu_pct.vm0", "host_cpu_pct"):
            self.assertIn(("capacity/step", m), metrics)
        for k in ("capacity.slo", "capacity.n_max", "capacity.failed_at", "capacity.why",
                  "capacity.steps", "capacity.n3.verdict", "capacity.n3.overcommit"):
            self.assertIn(k, meta())


class TestSection(unittest.TestCase):
    def test_10_present(self):
        """the section is there, in the nav and in summary.md"""
        p = Rendered.get("cap")
        self.assertIn("capacity", p.ids)
        self.assertIn("#capacity", p.links)
        self.assertIn("## Capacity", p.md)
        self.assertIn("**N_max = 3**, failed at N = 4", p.md)

    def test_11_answer(self):
        """N_max and the failing step are meta's"""
        p = Rendered.get("cap")
        self.assertEqual(p.value(kind="capacity-nmax"), float(meta()["capacity.n_max"]))
        self.assertEqual(p.value(kind="capacity-failed-at"), float(meta()["capacity.failed_at"]))

    def test_12_latency(self):
        """each step's p50/p99/p99.9/max are the medians over repetitions of the aggregate rows"""
        p = Rendered.get("cap")
        for n in STEPS:
            for m in ("req_ns.p50", "req_ns.p99", "req_ns.p999", "req_ns.max"):
                self.assertAlmostEqual(value(p, n, "capacity-lat", m),
                                       median(f"kvm.n{n}", PROBE, m), places=3, msg=(n, m))

    def test_13_throughput_against_n1(self):
        """probe throughput and its share of the N = 1 figure"""
        p = Rendered.get("cap")
        base = median("kvm.n1", PROBE, "ops_per_s")
        for n in STEPS:
            t = median(f"kvm.n{n}", PROBE, "ops_per_s")
            self.assertAlmostEqual(value(p, n, "capacity-tput"), t, places=3)
            self.assertAlmostEqual(value(p, n, "capacity-tput-pct"), 100 * t / base, places=6)

    def test_14_cost_per_vm(self):
        """PSS (MiB) and host CPU (% of one CPU) per VM: the mean over the VMs of each VM's row"""
        p = Rendered.get("cap")
        for n in STEPS:
            for kind, metric, k in (("capacity-pss", "mem_pss_kib", 1 / 1024),
                                    ("capacity-cpu", "host_cpu_pct", 1)):
                per = [median(f"kvm.n{n}", "capacity/step", f"{metric}.vm{i}") * k
                       for i in range(n)]
                self.assertAlmostEqual(value(p, n, kind), sum(per) / n, places=6, msg=(n, kind))
        self.assertIn("202 for 3 VMs", p.md)   # 66 x (1 + 1.02 + 1.04): the step's total

    def test_15_verdicts(self):
        """slo_pass becomes pass/fail; N_max and the failing step are marked in the table"""
        p = Rendered.get("cap")
        got = {int(c["data-n"]): c["data-verdict"] for c in p.find(kind="capacity-verdict")}
        self.assertEqual(got, {1: "pass", 2: "pass", 3: "pass", 4: "fail"})
        self.assertIn("| 3 | pass (N_max) |", p.md)
        self.assertIn("| 4 | fail (failed here) |", p.md)

    def test_16_how_sure(self):
        """repetitions and [min, max] of p99 at N_max and at the failing step"""
        p = Rendered.get("cap")
        lo = min(float(r["value"]) for r in rows() if r["runner"] == "kvm.n3"
                 and r["metric"] == "req_ns.p99") / 1000
        self.assertIn(f"N_max = 3: p99 420 µs [{lo:g}, 441] µs over 3 repetition(s)", p.md)
        self.assertIn("failed at N = 4: p99 2600 µs", p.md)

    def test_17_overcommit(self):
        """steps with more vCPUs than host CPUs are labelled, the others not"""
        p = Rendered.get("cap")
        oc = {int(c["data-n"]) for c in p.find(kind="capacity-overcommit")}
        self.assertEqual(oc, {3, 4})   # 1 vCPU per VM on 2 host CPUs
        self.assertIn("capacity-kvm-1-overcommit-banner", p.ids)
        self.assertIn("overcommitted (3 vCPUs on 2 host CPU(s))", p.md)
        roomy = Rendered.get("roomy")
        self.assertEqual(roomy.find(kind="capacity-overcommit"), [])
        self.assertNotIn("capacity-kvm-1-overcommit-banner", roomy.ids)

    def test_18_native(self):
        """natively nothing boots: boot is unsupported with the reason, and no step is partial for it"""
        p = Rendered.get("native")
        self.assertIn("unsupported: no boot rows: this runner boots no guest (native)", p.md)
        self.assertEqual(p.find(kind="capacity-partial"), [])
        self.assertEqual(p.value(kind="capacity-nmax"), 3.0)

    def test_19_host_memory_policy(self):
        """every host.ksm/thp/overcommit/swap key of meta.csv is shown with its value"""
        p = Rendered.get("cap")
        shown = {c["data-key"]: c for c in p.find(kind="capacity-host")}
        keys = [k for k in meta() if k.startswith(("host.ksm.", "host.thp.", "host.swap.",
                                                   "host.overcommit_memory"))]
        self.assertEqual(len(keys), 9)
        self.assertEqual(set(shown), set(keys))
        for k in keys:
            self.assertIn(f"| {k} | {meta()[k]} |", p.md)


class TestNotMisleading(unittest.TestCase):
    def test_20_partial(self):
        """a step cut short is partial, with why; the run's N_max is the one so far"""
        p = Rendered.get("partial")
        part = {int(c["data-n"]) for c in p.find(kind="capacity-partial")}
        self.assertEqual(part, {4})
        self.assertIn("capacity-kvm-1-partial-banner", p.ids)
        self.assertIn("1 of 3 repetitions", p.md)
        self.assertIn("no slo_pass row: the step was not judged", p.md)
        self.assertIn("the run is interrupted: it stopped during or after this step", p.md)
        verdict = {int(c["data-n"]): c["data-verdict"] for c in p.find(kind="capacity-verdict")}
        self.assertEqual(verdict[4], "not judged")
        self.assertEqual(p.value(kind="capacity-nmax"), 2.0)
        self.assertEqual(p.find(kind="capacity-failed-at"), [])
        self.assertIn("capacity-kvm-1-nmax-note-banner", p.ids)
        self.assertIn("search not finished: a lower bound at most", p.md)
        self.assertIn("failed at: none yet", p.md)

    def test_21_complete_steps_are_not_partial(self):
        """a complete run has no partial step"""
        self.assertEqual(Rendered.get("cap").find(kind="capacity-partial"), [])

    def test_22_emulated(self):
        """an emulated runner's capacity says it is emulation"""
        p = Rendered.get("emulated")
        self.assertIn("capacity-qemu-tcg-1-emulated-banner", p.ids)
        self.assertIn("N_max of an emulator says nothing", p.md)
        self.assertIn("### qemu-tcg (emulation: functional only, not performance)", p.md)
        self.assertNotIn("capacity-kvm-1-emulated-banner", Rendered.get("cap").ids)

    def test_23a_overcommit_from_meta(self):
        """capacity.n<N>.overcommit decides, not a guess: 'no' there is not overcommitted"""
        self.assertNotIn("capacity-kvm-1-overcommit-banner", Rendered.get("roomy").ids)
        self.assertIn("capacity-kvm-1-overcommit-banner", Rendered.get("cap").ids)

    def test_23_unjudged(self):
        """without slo_pass rows no step reads as pass or fail"""
        p = Rendered.get("unjudged")
        verdict = {c["data-verdict"] for c in p.find(kind="capacity-verdict")}
        self.assertEqual(verdict, {"not judged"})
        self.assertEqual({int(c["data-n"]) for c in p.find(kind="capacity-partial")}, set(STEPS))

    def test_24_not_a_capacity_run(self):
        """a run that is not a capacity run has no Capacity section, link or Markdown"""
        p = Rendered.get("not-cap")
        self.assertNotIn("capacity", p.ids)
        self.assertNotIn("#capacity", p.links)
        self.assertNotIn("## Capacity", p.md)
        self.assertEqual([c for c in p.cells if c.get("data-kind", "").startswith("capacity")],
                         [])


@unittest.skipUnless(shutil.which(os.environ.get("HVB_GNUPLOT", "gnuplot")), "no gnuplot")
class TestPlots(unittest.TestCase):
    def test_30_plots(self):
        """latency, throughput and cost plots are drawn, with the SLO line and N_max"""
        p = Rendered.get("cap-plots")
        plots_dir = os.path.join(Rendered.tmp, "out-cap-plots", "plots")
        for name in ("latency", "throughput", "cost"):
            base = f"capacity-kvm-1-{name}"
            self.assertIn(f"plot-{base}", p.ids)
            for ext in ("png", "svg"):
                self.assertTrue(os.path.getsize(os.path.join(plots_dir, f"{base}.{ext}")) > 0)
            with open(os.path.join(plots_dir, f"{base}.gp"), encoding="utf-8") as f:
                gp = f.read()
            self.assertIn("'N_max = 3'", gp)
            self.assertIn("'failed at 4'", gp)
            self.assertIn("vCPUs overcommitted", gp)
        with open(os.path.join(plots_dir, "capacity-kvm-1-latency.gp"), encoding="utf-8") as f:
            self.assertIn("slo = 500.0", f.read())
        with open(os.path.join(plots_dir, "capacity-kvm-1-throughput.gp"), encoding="utf-8") as f:
            base = median("kvm.n1", PROBE, "ops_per_s")
            self.assertIn(f"slo = {base * 90 / 100!r}", f.read())
        with open(os.path.join(plots_dir, "capacity-kvm-1-latency.datafile.tsv"),
                  encoding="utf-8") as f:
            first = f.readline().split("\t")
        self.assertEqual(first[0], "1")
        self.assertAlmostEqual(float(first[2]), median("kvm.n1", PROBE, "req_ns.p99") / 1000)


def main():
    try:
        return taplib.run_classes(TestFixture, TestSection, TestNotMisleading, TestPlots)
    finally:
        Rendered.cleanup()


if __name__ == "__main__":
    sys.exit(main())
