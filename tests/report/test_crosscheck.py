#!/usr/bin/env python3
"""Tests of the report's Cross-check section (reports/hvbreport/crosscheck.py):
the guest's ns per operation beside the host's time for the exit it
provokes, exits per operation, the transition and the verdict; host CPU
per operation.

Renders the cross-check fixture (tests/fixtures/results/make_crosscheck.py)
and its --pvm variant.  Expected figures are computed here from the
fixture's CSV files (medians over repetitions, count / ops, total_ns over
the timed exits), never from the code under test; the verdicts are the
ones the generator's cases were built to provoke.

TAP output (tests/run aggregates it).
"""

import os
import re
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
GEN = os.path.join(FIX, "make_crosscheck.py")
XC = os.path.join(FIX, "20261203-120000-fixhost-7171-xc")
NO_MICRO = os.path.join(FIX, "20261202-150000-fixhost-4646-io")


class Rendered(sectionlib.Rendered):
    prefix = "hvb-xc-test-"

    @classmethod
    def make(cls, name, out):
        if name == "xc":
            return render(out, XC)
        if name == "pvm":
            d = sectionlib.generate(GEN, cls.tmp, "--run-id", "20261203-121000-fixhost-7272-xc",
                                    "--pvm")
            return render(out, d)
        if name == "no-micro":
            return render(out, NO_MICRO)
        raise KeyError(name)


def exits(runner, workload, source, reason, d=XC):
    return [r for r in sectionlib.csv_rows(d, "exits.csv") if r["runner"] == runner and
            r["workload"] == workload and r["source"] == source and r["reason"] == reason]


def guest_p50(runner, workload):
    v = [float(r["value"]) for r in sectionlib.csv_rows(XC, "samples.csv")
         if r["runner"] == runner and r["workload"] == workload and
         r["metric"] == "ns_per_op.p50" and r["status"] == "ok"]
    return statistics.median(v)


def per_op(rows):
    return statistics.median(int(r["count"]) / int(r["ops"]) for r in rows)


def host_mean(rows, record_port=False):
    timed = sum(int(r["count"]) - (1 if record_port else 0) for r in rows)
    return sum(float(r["total_ns"]) for r in rows) / timed


def verdict(page, runner, workload, source):
    got = page.find(runner=runner, workload=workload, source=source, kind="xc-verdict")
    got += page.find(runner=runner, workload=workload, source=source, kind="xc-none")
    if len(got) != 1:
        raise AssertionError(f"{len(got)} verdict cells for {runner} {workload} {source}")
    return got[0]["data-verdict"]


class TestFixture(unittest.TestCase):
    def test_01_generator_writes_the_fixture(self):
        """make_crosscheck.py without options writes exactly the committed fixture"""
        sectionlib.assert_reproduces(self, GEN, XC)


class TestCrossCheck(unittest.TestCase):
    def setUp(self):
        self.page = Rendered.get("xc")

    def test_02_section_and_nav(self):
        """the Cross-check heading exists, the nav links it, Markdown has it"""
        self.assertIn("crosscheck", self.page.ids)
        self.assertIn("#crosscheck", self.page.links)
        self.assertIn("## Cross-check: guest and host instruments", self.page.md)

    def test_03_timed_vmm_row(self):
        """vmm userspace_io: guest p50, host p50 and mean (REP_END untimed), exits/op, diff"""
        rows = exits("kvm", "micro/pio-out-user", "vmm", "userspace_io")
        want = dict(runner="kvm", workload="micro/pio-out-user", source="vmm")
        g = guest_p50("kvm", "micro/pio-out-user")
        h = statistics.median(float(r["p50_ns"]) for r in rows)
        self.assertAlmostEqual(self.page.value(runner="kvm", workload="micro/pio-out-user",
                                               kind="xc-guest"), g)
        self.assertAlmostEqual(self.page.value(**want, kind="xc-host-p50"), h)
        self.assertAlmostEqual(self.page.value(**want, kind="xc-host-mean"),
                               host_mean(rows, record_port=True))
        self.assertAlmostEqual(self.page.value(**want, kind="xc-per-op"), per_op(rows))
        self.assertAlmostEqual(self.page.value(**want, kind="xc-diff"), g - h)
        self.assertEqual(verdict(self.page, "kvm", "micro/pio-out-user", "vmm"), "consistent")

    def test_04_kvm_trace_and_xentrace_pairs(self):
        """hand-made VMX pairs of kvm-trace and xentrace are timed rows of their own"""
        for runner, w, source, reason in (
                ("kvm", "micro/pio-out-user", "kvm-trace", "vmx.io_instruction.pio_out"),
                ("xen-pvh", "micro/cpuid", "xentrace", "vmx.cpuid")):
            rows = exits(runner, w, source, reason)
            want = dict(runner=runner, workload=w, source=source)
            h = statistics.median(float(r["p50_ns"]) for r in rows)
            self.assertAlmostEqual(self.page.value(**want, kind="xc-host-p50"), h)
            self.assertAlmostEqual(self.page.value(**want, kind="xc-host-mean"), host_mean(rows))
            self.assertAlmostEqual(self.page.value(**want, kind="xc-diff"),
                                   guest_p50(runner, w) - h)
            self.assertEqual(verdict(self.page, runner, w, source), "consistent")

    def test_05_host_above_guest_is_a_disagreement(self):
        """a host time per exit above the guest's whole operation is flagged"""
        self.assertEqual(verdict(self.page, "kvm", "micro/mmio-write-user", "vmm"), "DISAGREE")
        self.assertLess(self.page.value(runner="kvm", workload="micro/mmio-write-user",
                                        source="vmm", kind="xc-diff"), 0)
        self.assertIn("crosscheck-disagree", self.page.ids)
        self.assertIn("**Disagreements beyond the method**: 4 row(s).", self.page.md)

    def test_06_exits_per_op_far_from_one(self):
        """3 MMIO exits per op, 0.001 or 2 exits per op (kvm-stats total) are flagged"""
        for runner, w, reason in (("qemu-kvm", "micro/mmio-write-user", "mmio"),
                                  ("kvm", "micro/cpuid", "total"),
                                  ("kvm", "micro/msr-read", "total")):
            rows = exits(runner, w, "kvm-stats", reason)
            self.assertAlmostEqual(self.page.value(runner=runner, workload=w, source="kvm-stats",
                                                   kind="xc-per-op"), per_op(rows))
            self.assertEqual(verdict(self.page, runner, w, "kvm-stats"), "DISAGREE", (runner, w))

    def test_07_within_the_method(self):
        """QMP's record lines and the histogram's 3 % are allowed, and said"""
        rows = exits("qemu-kvm", "micro/pio-out-user", "kvm-stats", "insn_emulation")
        self.assertGreater(per_op(rows), 1.1)
        self.assertEqual(verdict(self.page, "qemu-kvm", "micro/pio-out-user", "kvm-stats"),
                         "count only")
        self.assertIn("within 1 once 600 exits per repetition are allowed", self.page.md)
        self.assertEqual(verdict(self.page, "xen-pvh", "micro/hypercall", "xentrace"),
                         "consistent")
        self.assertIn("equal within the histogram", self.page.md)

    def test_08_stand_ins_are_named(self):
        """kvm-stats: io is 0, so insn_emulation stands in, and the row says so"""
        sec = self.page.section("crosscheck", "exits")
        self.assertIn("insn_emulation stands in", sec)
        self.assertIn("its total (every exit of the interval) stands in", sec)
        self.assertEqual(verdict(self.page, "kvm", "micro/pio-out-user", "kvm-stats"),
                         "count only")
        self.assertEqual(self.page.find(runner="kvm", workload="micro/pio-out-user",
                                        source="kvm-stats", kind="xc-host-mean"), [])

    def test_09_cells_without_data_say_why(self):
        """skipped cells, runners without exit rows, sources that never see the exit"""
        skipped = self.page.find(runner="kvm", workload="micro/hlt-wake", kind="xc-guest")
        self.assertEqual([c["data-status"] for c in skipped], ["skipped"])
        self.assertIn("needs hlt with a wake-up source", self.page.section("crosscheck", "exits"))
        self.assertEqual(len(self.page.find(runner="xen-pvh", workload="micro/pio-out-user",
                                            kind="xc-missing")), 1)
        self.assertEqual(verdict(self.page, "kvm", "micro/cpuid", "vmm"), "not expected")
        self.assertEqual(self.page.find(runner="native", kind="xc-guest"), [])

    def test_10_host_cpu_per_op(self):
        """task-clock / ops from counters.csv, host_cpu_ns_per_op, unsupported reasons"""
        cnt = sectionlib.csv_rows(XC, "counters.csv")
        for scope, kind in (("vcpu-threads", "xc-cpu-vcpu"), ("vmm-threads", "xc-cpu-vmm")):
            rows = [r for r in cnt if r["runner"] == "qemu-kvm" and
                    r["workload"] == "micro/pio-out-user" and r["event"] == scope + ".task-clock"]
            want = statistics.median(float(r["value"]) / int(re.search(r"ops=(\d+)", r["note"])[1])
                                     for r in rows)
            self.assertAlmostEqual(self.page.value(runner="qemu-kvm", workload="micro/pio-out-user",
                                                   kind=kind), want)
        v = [float(r["value"]) for r in sectionlib.csv_rows(XC, "samples.csv")
             if r["runner"] == "kvm" and r["metric"] == "host_cpu_ns_per_op"]
        self.assertAlmostEqual(self.page.value(runner="kvm", workload="mem/chase-16KiB",
                                               kind="xc-cpu-sampled"), statistics.median(v))
        self.assertIn("HVB_SECCOMP=0 counts them", self.page.section("host-cpu", "exits"))
        self.assertIn("### Host CPU per operation", self.page.md)


class TestPvm(unittest.TestCase):
    def test_11_untimed_kvm_trace(self):
        """under PVM kvm-trace's events count exits, with no time, and say why"""
        page = Rendered.get("pvm")
        self.assertEqual(verdict(page, "kvm", "micro/pio-out-user", "kvm-trace"), "count only")
        self.assertEqual(page.find(runner="kvm", workload="micro/pio-out-user",
                                   source="kvm-trace", kind="xc-host-mean"), [])
        self.assertIn("kvm_userspace_exit.io", page.section("crosscheck", "exits"))

    def test_12_no_section_without_micro(self):
        """a run without one-exit micro-benchmarks or VM micro/mem rows has no section"""
        page = Rendered.get("no-micro")
        self.assertNotIn("crosscheck", page.ids)
        self.assertNotIn("## Cross-check", page.md)


def main():
    try:
        return taplib.run_classes(TestFixture, TestCrossCheck, TestPvm)
    finally:
        Rendered.cleanup()


if __name__ == "__main__":
    sys.exit(main())
