#!/usr/bin/env python3
"""Tests of tools/probe-overhead with a stand-in hvbench.

The stand-in (written here) answers `run --out DIR` with a result
directory whose primary metric depends on the probe's environment
variables (HVB_KVM_TRACE=1: 1.5x slower, HVB_VMM_EXIT_TIMING on: 1.05x)
and whose meta runner.<r>.probes says what it saw, so the ratios, the alternation of sides, the verdicts
and the check of the switch are known without a VM.  A second stand-in
ignores the switch in its meta: the tool must refuse its runs.

TAP output (tests/run aggregates it).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "report"))
import taplib  # noqa: E402

TOOL = os.path.join(ROOT, "tools", "probe-overhead")
# The stand-in hvbench: one run directory per call, named by a counter so
# that the order of the calls is the order of the directories.
FAKE = r'''#!/usr/bin/env python3
import os, sys
args = sys.argv[1:]
out = args[args.index("--out") + 1]
runner = args[args.index("--runner") + 1]
e = os.environ.get
log = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(out))), "calls")
with open(log, "a") as f:
    f.write(f"{os.path.basename(os.path.dirname(out))} {os.path.basename(out)} "
            f"{e('HVB_KVM_TRACE', '-')} {e('HVB_VMM_COUNTERS', '-')} "
            f"{e('HVB_VMM_EXIT_TIMING', '-')} {e('HVB_KVM_STATS', '-')} "
            f"{e('HVB_KVM_VMM_COUNTERS', '-')} {runner}\n")
n = sum(1 for _ in open(log))
sw = lambda name, default: e(name, default) == "1"
trace = sw("HVB_KVM_TRACE", "0")
counters = sw("HVB_VMM_COUNTERS", "1")
timing = sw("HVB_VMM_EXIT_TIMING", "1")
stats = sw("HVB_KVM_STATS", "1")
w = lambda on: "on" if on else "off"
word = w(trace)
if e("FAKE_IGNORES_SWITCH"):
    word = "off"
d = os.path.join(out, f"run-{n:03d}")
os.makedirs(d)
with open(os.path.join(d, "meta.csv"), "w") as f:
    f.write("key,value\nprimary.micro/pio-out-user,ns_per_op\nprimary.mem/stream-copy,bandwidth\n")
    if runner == "kvm":
        f.write(f"runner.kvm.probes,kvm-stats={w(stats)} vmm-exit-timing={w(timing)} "
                f"kvm-trace={word} vmm-counters={w(counters)}\n")
    else:
        f.write(f"runner.{runner}.probes,kvm-stats={w(stats)} vmm-counters={w(counters)}\n")
# round-to-round drift (n) that both sides share; the probes' own costs:
# kvm-trace 1.5x, the exit timing 1.05x (default on: must be flagged)
drift = 1 + 0.01 * n
cost = (1.5 if trace else 1.0) * (1.05 if timing else 1.0)
ns = 1000 * drift * cost
bw = 5000 / drift / (1.25 if trace else 1.0)
with open(os.path.join(d, "samples.csv"), "w") as f:
    f.write("run_id,runner,workload,metric,unit,better,rep,value,status,note\n")
    f.write(f"r,{runner},micro/pio-out-user,ns_per_op,ns,lower,0,{ns},ok,\n")
    f.write(f"r,{runner},micro/pio-out-user,cycles_per_op,cycles,lower,0,{ns * 3},ok,\n")
    f.write(f"r,{runner},mem/stream-copy,bandwidth,MB/s,higher,0,{bw},ok,\n")
    f.write(f"r,{runner},micro/hlt-wake,,,,,,skipped,no wake-up source\n")
'''


def tool(*args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, TOOL] + list(args), capture_output=True, text=True,
                          env=e, timeout=120)


class TestProbeOverhead(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hvb-po-test-")
        cls.fake = os.path.join(cls.tmp, "hvbench")
        with open(cls.fake, "w") as f:
            f.write(FAKE)
        os.chmod(cls.fake, 0o755)
        cls.out = os.path.join(cls.tmp, "work", "po")
        # a caller's switch must not leak into the sides
        cls.p = tool("--hvbench", cls.fake, "--probes", "none,kvm-trace,vmm-exit-timing",
                     "--rounds", "3", "--out", cls.out, env={"HVB_KVM_VMM_COUNTERS": "0",
                                                             "HVB_KVM_STATS": "0"})
        cls.rows = {}
        for line in cls.p.stdout.splitlines():
            f = line.split()
            if len(f) > 6 and f[1] == "kvm":
                cls.rows[(f[0], f[2])] = (float(f[6]), line)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_01_runs_and_prints(self):
        """the stand-in's runs: exit 0 and a row per probe and workload"""
        self.assertEqual(self.p.returncode, 0, self.p.stderr)
        self.assertIn(("kvm-trace", "micro/pio-out-user"), self.rows)
        self.assertIn(("none", "mem/stream-copy"), self.rows)
        self.assertNotIn(("kvm-trace", "micro/hlt-wake"), self.rows)

    def test_02_alternating_sides_and_environment(self):
        """rounds alternate off on / on off, and each side gets its environment"""
        calls = [l.split() for l in open(os.path.join(self.tmp, "work", "calls"))]
        trace = [c for c in calls if c[0] == "kvm-trace"]
        self.assertEqual([c[1] for c in trace], ["off", "on", "on", "off", "off", "on"])
        self.assertTrue(all(c[2] == ("1" if c[1] == "on" else "0") for c in trace), trace)
        self.assertTrue(all(c[2:7] == ["-"] * 5 for c in calls if c[0] == "none"), calls)
        timing = [c for c in calls if c[0] == "vmm-exit-timing"]
        self.assertTrue(all(c[4] == ("1" if c[1] == "on" else "0") and c[2] == "-"
                            for c in timing), timing)

    def test_03_ratios(self):
        """on/off of ns (lower is better) and off/on of MB/s (higher is better)"""
        # the drift of 1 % per call makes the sides' medians differ slightly;
        # the ratio must be near the stand-in's cost, not 1 and not inverted
        self.assertAlmostEqual(self.rows[("kvm-trace", "micro/pio-out-user")][0], 1.5, delta=0.03)
        self.assertAlmostEqual(self.rows[("kvm-trace", "mem/stream-copy")][0], 1.25, delta=0.03)
        self.assertAlmostEqual(self.rows[("none", "micro/pio-out-user")][0], 1.0, delta=0.03)

    def test_04_verdicts(self):
        """every round slower: must be off; the A/A rows are the noise floor"""
        self.assertIn("> 2 % in every round: must be off by default; it is off by default",
                      self.rows[("kvm-trace", "micro/pio-out-user")][1])
        self.assertIn("noise floor (A/A)", self.rows[("none", "micro/pio-out-user")][1])
        self.assertIn("> 2 % in every round: must be off by default -- it is ON by default",
                      self.rows[("vmm-exit-timing", "micro/pio-out-user")][1])
        self.assertIn("within 2 %", self.rows[("vmm-exit-timing", "mem/stream-copy")][1])

    def test_05_analyze_again(self):
        """--analyze DIR prints the same table from the runs"""
        again = tool("--analyze", self.out, "--probes", "none,kvm-trace,vmm-exit-timing")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(again.stdout, self.p.stdout)

    def test_06_switch_not_taken(self):
        """runs whose meta does not show the switch are refused (exit 1, named)"""
        out = os.path.join(self.tmp, "work2", "po")
        p = tool("--hvbench", self.fake, "--probes", "kvm-trace", "--rounds", "1", "--out", out,
                 env={"FAKE_IGNORES_SWITCH": "1"})
        self.assertEqual(p.returncode, 1)
        self.assertIn("expected kvm-trace=on", p.stderr)

    def test_07_runner_selects_its_probes(self):
        """--runner qemu-kvm: its A/A control and switches, run under qemu-kvm, checked
        against runner.qemu-kvm.probes"""
        out = os.path.join(self.tmp, "work3", "po")
        p = tool("--hvbench", self.fake, "--runner", "qemu-kvm", "--rounds", "1", "--out", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        calls = [l.split() for l in open(os.path.join(self.tmp, "work3", "calls"))]
        self.assertEqual(sorted({c[0] for c in calls}),
                         ["none-qemu", "qemu-kvm-stats", "qemu-vmm-counters"])
        self.assertTrue(all(c[7] == "qemu-kvm" for c in calls), calls)
        stats = [c for c in calls if c[0] == "qemu-kvm-stats"]
        self.assertTrue(all(c[5] == ("1" if c[1] == "on" else "0") for c in stats), stats)
        counters = [c for c in calls if c[0] == "qemu-vmm-counters"]
        self.assertTrue(all(c[3] == ("1" if c[1] == "on" else "0") for c in counters), counters)
        self.assertIn("qemu-kvm-stats", p.stdout)

    def test_08_usage(self):
        """an unknown probe or no hvbench: usage errors (exit 2)"""
        p = tool("--probes", "bogus")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown probe 'bogus'", p.stderr)
        p = tool("--hvbench", os.path.join(self.tmp, "nothing"), "--out", self.tmp)
        self.assertEqual(p.returncode, 2)
        self.assertIn("not an executable hvbench", p.stderr)
        p = tool("--runner", "bogus")
        self.assertEqual(p.returncode, 2)
        self.assertIn("no probe of runner 'bogus'", p.stderr)
        p = tool("--runner", "qemu-kvm", "--probes", "kvm-trace")
        self.assertEqual(p.returncode, 2)
        self.assertIn("kvm-trace is a probe of kvm, not of --runner qemu-kvm", p.stderr)


def main():
    return taplib.run_classes(TestProbeOverhead)


if __name__ == "__main__":
    sys.exit(main())
