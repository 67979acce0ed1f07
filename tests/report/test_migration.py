#!/usr/bin/env python3
"""Tests of the report's Migration section (reports/hvbreport/migration.py).

Renders the migration fixture (tests/fixtures/results/make_migration.py:
kvm and qemu-kvm at dirty rates 1, 64, 256 MiB/s, 3 reps, a nested host,
one failed and one unconverged qemu-kvm repetition) and a run that is not
a migration run (the capacity fixture: no section).  Expected figures are
computed here from the fixture's samples.csv (median, min, max over
repetitions), never from the code under test.

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
GEN = os.path.join(FIX, "make_migration.py")
MIG = os.path.join(FIX, "20261204-020000-fixhost-9191-mig")
NOT_MIG = os.path.join(FIX, "20261203-190000-fixhost-8181-cap")
RATES = ["1", "64", "256"]


class Rendered(sectionlib.Rendered):
    prefix = "hvb-migration-test-"

    @classmethod
    def make(cls, name, out):
        return {"mig": lambda: render(out, MIG),
                "mig-plots": lambda: render(out, MIG, plots=True),
                "not-mig": lambda: render(out, NOT_MIG)}[name]()


def values(runner, metric):
    return [float(r["value"]) for r in sectionlib.csv_rows(MIG, "samples.csv")
            if r["runner"] == runner and r["metric"] == metric and r["status"] == "ok"]


def expect(runner, metric, k=1.0):
    v = [x * k for x in values(runner, metric)]
    return statistics.median(v), min(v), max(v)


def fmt(x):
    return f"{x:.4g}"


class TestFixture(unittest.TestCase):
    def test_00_reproduces(self):
        """make_migration.py writes exactly the committed fixture"""
        sectionlib.assert_reproduces(self, GEN, MIG)


class TestSection(unittest.TestCase):
    def test_10_present(self):
        """the Migration section, its nav entry and one table per runner"""
        p = Rendered.get("mig")
        self.assertIn("migration", p.ids)
        self.assertIn('href="#migration"', p.text)
        for g in ("migration-0-kvm", "migration-0-qemu-kvm"):
            self.assertIn(g + "-table", p.ids)

    def test_11_rows(self):
        """one row per grid point, total / downtimes / bytes as median [min, max]"""
        p = Rendered.get("mig")
        sec = p.section("migration", "problems") if 'id="problems"' in p.text else p.text
        for runner in ("kvm", "qemu-kvm"):
            for d in RATES:
                self.assertEqual(len(p.find(runner=runner, rate=d)), 1, (runner, d))
        med, lo, hi = expect("kvm.d64.w16.b0.t30", "migrate.total_ms")
        self.assertIn(f"{fmt(med)} [{fmt(lo)}, {fmt(hi)}]", sec)
        med, lo, hi = expect("kvm.d256.w16.b0.t30", "migrate.bytes", 1 / 1048576)
        self.assertIn(f"{fmt(med)} [{fmt(lo)}, {fmt(hi)}]", sec)
        med, lo, hi = expect("qemu-kvm.d64.w16.b0.t30", "migrate.guest_downtime_ms")
        self.assertIn(f"{fmt(med)} [{fmt(lo)}, {fmt(hi)}]", sec)

    def test_12_markdown(self):
        """summary.md has the section and the same figures"""
        p = Rendered.get("mig")
        self.assertIn("## Migration", p.md)
        med, lo, hi = expect("kvm.d1.w16.b0.t30", "migrate.downtime_ms")
        self.assertIn(f"| 1 | 16 | unlimited | 30 | ", p.md)
        self.assertIn(f"{fmt(med)} [{fmt(lo)}, {fmt(hi)}]", p.md)

    def test_13_absent(self):
        """a run that is not a migration grid has no Migration section"""
        p = Rendered.get("not-mig")
        self.assertNotIn("migration", p.ids)
        self.assertNotIn("## Migration", p.md)


class TestNotMisleading(unittest.TestCase):
    def test_20_nested(self):
        """a nested host says so in the section"""
        p = Rendered.get("mig")
        self.assertIn("migration-0-kvm-nested-banner", p.ids)
        self.assertIn("Nested host (PVM)", p.md)

    def test_21_failed_and_unconverged(self):
        """the failed repetition is named with its reason; converged counts reps"""
        p = Rendered.get("mig")
        self.assertIn("migration-0-qemu-kvm-failed-banner", p.ids)
        self.assertNotIn("migration-0-kvm-failed-banner", p.ids)
        self.assertIn("memory lost: page 7", p.section("migration-0-qemu-kvm",
                                                       "migration-0-qemu-kvm-table"))
        self.assertIn("| 1 of 2 |", p.md)
        self.assertIn("| 3 of 3 |", p.md)

    def test_22_memory_lost(self):
        """a page the guest found wrong after the move is its own loud verdict, named"""
        p = Rendered.get("mig")
        self.assertIn("migration-0-qemu-kvm-memory-lost-banner", p.ids)
        self.assertNotIn("migration-0-kvm-memory-lost-banner", p.ids)
        self.assertIn("> **Memory lost**: the guest's check after the move", p.md)
        self.assertIn("d256 w16 b0 t30: memory lost: page 7", p.md)


class TestPlots(unittest.TestCase):
    def test_30_plot(self):
        """one chart per runner, times against dirty rate, the data from the rows"""
        p = Rendered.get("mig-plots")
        plots_dir = os.path.join(Rendered.tmp, "out-mig-plots", "plots")
        for base in ("migration-0-kvm", "migration-0-qemu-kvm"):
            self.assertIn(f"plot-{base}", p.ids)
            for ext in ("png", "svg"):
                self.assertTrue(os.path.getsize(os.path.join(plots_dir, f"{base}.{ext}")) > 0)
        with open(os.path.join(plots_dir, "migration-0-kvm.datafile.tsv"), encoding="utf-8") as f:
            lines = [l.split("\t") for l in f.read().splitlines() if l.strip()]
        self.assertEqual([l[0] for l in lines], RATES)
        med, lo, hi = expect("kvm.d256.w16.b0.t30", "migrate.total_ms")
        self.assertEqual([float(x) for x in lines[2][1:4]], [med, lo, hi])
        med, _lo, _hi = expect("kvm.d256.w16.b0.t30", "migrate.guest_downtime_ms")
        self.assertAlmostEqual(float(lines[2][7]), med)


def main():
    try:
        return taplib.run_classes(TestFixture, TestSection, TestNotMisleading, TestPlots)
    finally:
        Rendered.cleanup()


if __name__ == "__main__":
    sys.exit(main())
