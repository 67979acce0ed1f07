#!/usr/bin/env python3
"""Tests of the report's 'At a glance' aggregation (model.headline).

Each runner's geometric mean must be over the same workloads: the ones every
shown runner measured.  Built on hand-made overhead rows, so the expected
means are computed here, not by the code under test.
"""

import math
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "reports"))

import taplib  # noqa: E402
from hvbreport import model  # noqa: E402


class FakeSeries:
    def __init__(self, label, emulated=None):
        self.label = self.runner = label
        self.emulated = emulated


class FakeCmp:
    def __init__(self, slowdown):
        self.slowdown = slowdown


KVM, QEMU, TCG = FakeSeries("kvm"), FakeSeries("qemu-kvm"), FakeSeries("qemu-tcg", "tcg")


def row(workload, **by_label):
    cells = []
    for s in (KVM, QEMU, TCG):
        x = by_label.get(s.label.replace("-", "_"))
        cells.append((s, FakeCmp(x) if x else None, None if x else "no value"))
    return {"workload": workload, "cells": cells}


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


ROWS = [
    row("micro/cpuid", kvm=40.0, qemu_kvm=41.0),           # never averaged
    row("mem/stream-copy", kvm=1.10, qemu_kvm=1.20, qemu_tcg=9.0),
    row("mem/stream-triad", kvm=1.30, qemu_kvm=1.25),
    row("mem/first-touch", kvm=15.0),                     # kvm only: left out
    row("cpu/sha256", kvm=1.01, qemu_kvm=1.02),
    row("cpu/sort", qemu_kvm=1.05),                       # qemu-kvm only
]


class TestGlance(unittest.TestCase):
    def setUp(self):
        self.g = {g.group: g for g in model.headline(ROWS)}

    def test_01_micro_not_averaged(self):
        """micro/* has no 'At a glance' group"""
        self.assertFalse(any(k.startswith("micro") for k in self.g))

    def test_02_common_set(self):
        """mem group averages stream-copy and stream-triad for both runners (k=2)"""
        g = self.g["mem/* (other)"]
        self.assertEqual(g.common, ["mem/stream-copy", "mem/stream-triad"])
        self.assertEqual(g.k, 2)
        self.assertAlmostEqual(g.per["kvm"], geomean([1.10, 1.30]), places=12)
        self.assertAlmostEqual(g.per["qemu-kvm"], geomean([1.20, 1.25]), places=12)

    def test_03_left_out_listed(self):
        """a workload one runner lacks is listed with who has it, not averaged"""
        self.assertEqual(self.g["mem/* (other)"].left_out, {"mem/first-touch": ["kvm"]})
        self.assertEqual(self.g["cpu/*"].left_out, {"cpu/sort": ["qemu-kvm"]})
        self.assertEqual(self.g["cpu/*"].k, 1)

    def test_04_emulated_ignored(self):
        """an emulated runner neither appears nor shrinks the common set"""
        for g in self.g.values():
            self.assertNotIn("qemu-tcg", g.per)

    def test_05_restricted_labels(self):
        """restricted to kvm alone, every kvm workload is common"""
        g = {g.group: g for g in model.headline(ROWS, labels=["kvm"])}
        self.assertEqual(g["mem/* (other)"].k, 3)
        self.assertAlmostEqual(g["mem/* (other)"].per["kvm"], geomean([1.10, 1.30, 15.0]),
                               places=12)
        self.assertEqual(g["cpu/*"].left_out, {})


if __name__ == "__main__":
    sys.exit(taplib.run_classes(TestGlance))
