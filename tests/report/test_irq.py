#!/usr/bin/env python3
"""Tests of the report's Interrupts section and SMP scaling view
(reports/hvbreport/irq.py).

Renders the interrupts fixture (tests/fixtures/results/make_irq.py) and
variants: an overcommitted run, a run without any interrupt or smp
workload (the io fixture).  Expected figures are computed here from the
fixture's CSV files (medians over repetitions), never from the code under
test.

TAP output (tests/run aggregates it).
"""

import os
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
GEN = os.path.join(FIX, "make_irq.py")
IRQ = os.path.join(FIX, "20261202-210000-fixhost-6161-irq")
NO_IRQ = os.path.join(FIX, "20261202-150000-fixhost-4646-io")
RUNNERS = ["native", "kvm", "qemu-kvm", "xen-pv"]
OPS = ["micro/ipi-self", "micro/ipi", "micro/ipi-halted", "micro/apic-read", "micro/eoi",
       "micro/tpr-write", "micro/timer-arm", "micro/timer-latency", "micro/virq-inject",
       "micro/io-kick", "micro/tpr-read", "micro/ipi-self-hlt", "micro/ipi-self-tpr",
       "micro/msr-write-gsbase", "micro/pause-loop"]
PER_REQUEST = ["micro/ipi-self", "micro/ipi", "micro/ipi-halted", "micro/timer-latency",
               "micro/virq-inject", "micro/io-kick", "micro/ipi-self-hlt", "micro/ipi-self-tpr"]
# kvm-unit-tests x86/vmexit.c's names of the variants (the counterpart column)
KUT = {"micro/tpr-read": "mov_from_cr8", "micro/ipi-self-hlt": "self_ipi_sti_hlt",
       "micro/ipi-self-tpr": "self_ipi_tpr", "micro/msr-write-gsbase": "wr_kernel_gs_base",
       "micro/pause-loop": "ple_round_robin"}


class Rendered(sectionlib.Rendered):
    prefix = "hvb-irq-test-"

    @classmethod
    def make(cls, name, out):
        if name == "irq":
            return render(out, IRQ)
        if name == "no-irq":
            return render(out, NO_IRQ)
        if name == "not-overcommitted":   # overcommit recorded as a false word
            d = sectionlib.generate(GEN, cls.tmp, "--run-id", "20261202-212000-fixhost-6363-irq",
                                    "--overcommit")
            meta = os.path.join(d, "meta.csv")
            with open(meta, encoding="utf-8") as f:
                text = f.read()
            with open(meta, "w", encoding="utf-8") as f:
                f.write(text.replace("overcommit,yes (", "overcommit,no ("))
            return render(out, d)
        if name == "overcommit":
            d = sectionlib.generate(GEN, cls.tmp, "--run-id", "20261202-211000-fixhost-6262-irq",
                                    "--overcommit")
            return render(out, d)
        raise KeyError(name)


def rows(d=IRQ):
    return sectionlib.csv_rows(d, "samples.csv")


def median(runner, workload, metric, d=IRQ):
    v = [float(r["value"]) for r in rows(d) if r["runner"] == runner and
         r["workload"] == workload and r["metric"] == metric and r["status"] == "ok"]
    return statistics.median(v) if v else None


def cell_status(runner, workload):
    got = [r for r in rows() if r["runner"] == runner and r["workload"] == workload]
    return got[0]["status"], got[0]["note"]


class TestFixture(unittest.TestCase):
    def test_01_generator_writes_the_fixture(self):
        """make_irq.py without options writes exactly the committed fixture"""
        sectionlib.assert_reproduces(self, GEN, IRQ)


class TestInterrupts(unittest.TestCase):
    def setUp(self):
        self.page = Rendered.get("irq")

    def test_02_section_and_nav(self):
        """the Interrupts and SMP scaling headings exist and the nav links them"""
        for i in ("irq", "smp"):
            self.assertIn(i, self.page.ids)
            self.assertIn("#" + i, self.page.links)

    def test_03_p50_p99_per_operation(self):
        """p50/p99: req_ns.* for per-request operations, else ns_per_op and ns_per_op.p99"""
        seen = 0
        for w in OPS:
            for r in RUNNERS:
                if cell_status(r, w)[0] != "ok":
                    continue
                p50, p99 = (("req_ns.p50", "req_ns.p99") if w in PER_REQUEST
                            else ("ns_per_op", "ns_per_op.p99"))
                self.assertAlmostEqual(self.page.value(runner=r, workload=w, kind="irq-p50"),
                                       median(r, w, p50), msg=(r, w))
                self.assertAlmostEqual(self.page.value(runner=r, workload=w, kind="irq-p99"),
                                       median(r, w, p99), msg=(r, w))
                self.assertEqual(self.page.find(runner=r, workload=w, kind="irq-p50")[0]
                                 ["data-metric"], p50)
                seen += 1
        self.assertEqual(seen, 46)

    def test_04_missing_cells_say_why(self):
        """a cell without numbers shows its status and the reason from the row"""
        missing = 0
        for w in OPS:
            for r in RUNNERS:
                st, note = cell_status(r, w)
                if st == "ok":
                    continue
                got = self.page.find(runner=r, workload=w, kind="irq-missing")
                self.assertEqual([c["data-status"] for c in got], [st], (r, w))
                self.assertIn(note.replace("'", "&#x27;"), self.page.section("irq", "smp"))
                missing += 1
        self.assertEqual(missing, 14)

    def test_05_mechanism_from_note(self):
        """the mechanism is the sample note's"""
        sec = self.page.section("irq", "smp")
        for note in ("x2APIC (split irqchip)", "Xen event channels (EVTCHNOP_bind_ipi)",
                     "native: signals (tgkill)"):
            self.assertIn(note, sec)
        self.assertEqual(len(self.page.find(runner="kvm", kind="irq-mech")), len(OPS))
        self.assertNotIn("request times", sec,
                         "the harness's request counts (req_ns notes) are not the mechanism")

    def test_06_split(self):
        """the parts before virq-inject's injection and the IPIs' delivery are shown (p50s)"""
        for r in ("native", "kvm", "xen-pv"):
            for m in ("kick_ns", "host_ns"):
                self.assertAlmostEqual(
                    self.page.value(runner=r, workload="micro/virq-inject", kind="irq-split",
                                    metric=m), median(r, "micro/virq-inject", m + ".p50"))
        for w in ("micro/ipi-self", "micro/ipi", "micro/ipi-halted"):
            self.assertAlmostEqual(self.page.value(runner="kvm", workload=w,
                                                   kind="irq-split", metric="deliver_ns"),
                                   median("kvm", w, "deliver_ns.p50"))
        self.assertAlmostEqual(self.page.value(runner="kvm", workload="micro/ipi-self-tpr",
                                               kind="irq-split", metric="unmask_ns"),
                               median("kvm", "micro/ipi-self-tpr", "unmask_ns.p50"))
        self.assertEqual(self.page.find(workload="micro/io-kick", kind="irq-split"), [])
        self.assertEqual(len(self.page.find(runner="kvm", workload="micro/ipi-self",
                                            kind="irq-split")), 1,
                         "deliver_ns once: a part's .p99 is not a split of its own")

    def test_07_host_features(self):
        """every host.irq.* key of meta.csv is listed with its value"""
        meta = dict((r["key"], r["value"]) for r in sectionlib.csv_rows(IRQ, "meta.csv"))
        sec = self.page.section("irq", "smp")
        keys = [k for k in meta if k.startswith("host.irq.")]
        self.assertEqual(len(keys), 8)
        for k in keys:
            self.assertIn(k, sec)
            self.assertIn(k, self.page.md)

    def test_08_markdown(self):
        """summary.md has both tables, the reasons and the Dall counterparts"""
        md = self.page.md
        self.assertIn("## Interrupts", md)
        self.assertIn("## SMP scaling", md)
        self.assertIn("Dall: I/O latency in", md)
        self.assertIn("skipped: this platform's interrupts have no APIC registers", md)

    def test_12_variant_counterparts(self):
        """each vmexit.c variant has its row, named after kvm-unit-tests, in HTML and Markdown"""
        sec = self.page.section("irq", "smp")
        for w, name in KUT.items():
            self.assertTrue(self.page.find(runner="kvm", workload=w, kind="irq-p50"), w)
            self.assertIn("kvm-unit-tests " + name, sec, w)
            line = [ln for ln in self.page.md.splitlines() if ("kvm-unit-tests " + name) in ln]
            self.assertEqual(len(line), 1, (w, name))
        self.assertIn("no native analogue: a process has no task priority (TPR)", sec)


class TestScaling(unittest.TestCase):
    def test_09_efficiency(self):
        """aggregate / (N x one-CPU) for rates, one-CPU / aggregate for times"""
        page = Rendered.get("irq")
        for r in RUNNERS:
            one, agg = (median(r, "mem/stream-triad", m)
                        for m in ("bandwidth", "bandwidth.smp2"))
            self.assertAlmostEqual(page.value(runner=r, workload="mem/stream-triad",
                                              kind="smp-eff"), agg / (2 * one))
            self.assertAlmostEqual(page.value(runner=r, workload="mem/stream-triad",
                                              kind="smp-agg"), agg)
            one, agg = (median(r, "cpu/sha256", m) for m in ("ns_per_op", "ns_per_op.smp2"))
            self.assertAlmostEqual(page.value(runner=r, workload="cpu/sha256",
                                              kind="smp-eff"), one / agg)
        self.assertNotIn("overcommitted", page.section("smp", "problems")
                         if "problems" in page.ids else page.text)

    def test_10_overcommitted(self):
        """a run whose meta says overcommit is labelled so"""
        page = Rendered.get("overcommit")
        self.assertIn("overcommitted", page.text)
        self.assertIn("(overcommitted)", page.md)
        page = Rendered.get("not-overcommitted")
        self.assertNotIn("overcommitted", page.section("smp", "problems"))
        self.assertIn("smp", page.ids)

    def test_11_no_section_without_workloads(self):
        """a run without interrupt or smp workloads has neither section"""
        page = Rendered.get("no-irq")
        self.assertNotIn("irq", page.ids)
        self.assertNotIn("smp", page.ids)
        self.assertNotIn("## Interrupts", page.md)


def main():
    try:
        return taplib.run_classes(TestFixture, TestInterrupts, TestScaling)
    finally:
        Rendered.cleanup()


if __name__ == "__main__":
    sys.exit(main())
