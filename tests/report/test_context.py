#!/usr/bin/env python3
"""Tests of reports/hvbreport/context.py (host kind, context differences,
same host) on the fixture result directories and on meta dicts that stand
for a dom0, a domU, bare metal and our nested PVM host; and that its key
lists are the ones `hvbench compare` uses (src/compare_context.c).

TAP output like test_report.py (tests/run aggregates it)."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "reports"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hvbreport import context, load  # noqa: E402
import taplib  # noqa: E402

HVBENCH = os.environ.get("HVBENCH") or os.path.join(ROOT, "build", "hvbench")
FIX = os.path.join(ROOT, "tests", "fixtures", "results")
COMPLETE = os.path.join(FIX, "20261126-101500-fixhost-4242")
TCG = os.path.join(FIX, "20261126-120000-fixhost-4444")

IDENT = "dd00a0a2840df90b"
LINUX_BOOT = {"host_name": "box", "host_kind": "bare-metal",
              "host_kind_evidence": "cpuid hypervisor: none; ...", "host_identity": IDENT,
              "kernel": "6.1.0-27-amd64", "cpu_model": "AMD EPYC", "microcode": "0x1000065",
              "runner.kvm.guest_mem_mib": "1024", "runner.native.pinning": "cpu1"}
XEN_BOOT = dict(LINUX_BOOT, **{"host_kind": "xen-dom0",
                               "host_kind_evidence": "/proc/xen/capabilities: control_d",
                               "kernel": "6.1.0-27-amd64 (Xen 4.17)",
                               "runner.xen-pvh.guest_mem_mib": "1024"})
del XEN_BOOT["runner.kvm.guest_mem_mib"]


class TestHostKind(unittest.TestCase):
    def test_recorded(self):
        """host_kind: the recorded kind and evidence (dom0)"""
        self.assertEqual(context.host_kind(XEN_BOOT),
                         ("xen-dom0", "/proc/xen/capabilities: control_d"))

    def test_inferred_fixture(self):
        """host_kind of a run without host_kind: inferred, and says so"""
        kind, evidence = context.host_kind(load.load_run(COMPLETE))
        self.assertEqual(kind, "bare-metal")
        self.assertIn("inferred", evidence)

    def test_inferred_kinds(self):
        """host_kind inferred from nesting/hypervisor: nested PVM, domU, dom0, KVM guest"""
        cases = [({"nesting": "pvm (/dev/kvm is kvm_pvm ...)", "hypervisor": "KVMKVMKVM"},
                  "nested"),
                 ({"nesting": "xen domU (CPUID: XenVMMXenVMM)", "hypervisor": "Xen"}, "xen-domU"),
                 ({"nesting": "xen dom0 (CPUID: XenVMMXenVMM)", "hypervisor": "Xen"}, "xen-dom0"),
                 ({"nesting": "no /dev/kvm", "hypervisor": "KVMKVMKVM (0x40000000)"},
                  "kvm-guest"),
                 ({}, "unknown")]
        for meta, want in cases:
            self.assertEqual(context.host_kind(meta)[0], want, meta)

    def test_bare_metal_baseline(self):
        """is_bare_metal_baseline: bare metal yes; dom0, domU, nested no"""
        self.assertTrue(context.is_bare_metal_baseline(LINUX_BOOT))
        for kind in ("xen-dom0", "xen-domU", "nested", "kvm-guest", "vm"):
            self.assertFalse(context.is_bare_metal_baseline({"host_kind": kind}), kind)


class TestDifferences(unittest.TestCase):
    def test_same_run(self):
        """differences of a run with itself: none"""
        run = load.load_run(COMPLETE)
        self.assertEqual(context.differences([run, run]), [])

    def test_fixtures(self):
        """differences of the two complete fixtures: quick, and nothing else"""
        diff = dict(context.differences([load.load_run(COMPLETE), load.load_run(TCG)]))
        self.assertEqual(diff, {"quick": {0: "0", 1: "1"}})  # the only one (by hand)

    def test_two_boots(self):
        """differences of a Linux and a Xen boot: host_kind and kernel, in key order"""
        diff = context.differences([LINUX_BOOT, XEN_BOOT])
        self.assertEqual([k for k, _ in diff], ["host_kind", "kernel"])
        self.assertEqual(diff[1][1], {0: "6.1.0-27-amd64", 1: "6.1.0-27-amd64 (Xen 4.17)"})

    def test_runner_keys(self):
        """a per-runner key counts among the runs that have it; not recorded counts"""
        a = dict(LINUX_BOOT)
        b = dict(LINUX_BOOT, **{"runner.kvm.guest_mem_mib": "2048"})
        c = dict(LINUX_BOOT)
        del c["microcode"]
        diff = dict(context.differences([a, b, c]))
        self.assertEqual(diff["runner.kvm.guest_mem_mib"], {0: "1024", 1: "2048", 2: "1024"})
        self.assertEqual(diff["microcode"], {0: "0x1000065", 1: "0x1000065",
                                             2: context.NOT_RECORDED})
        self.assertNotIn("runner.native.pinning", diff)

    def test_prefault_key(self):
        """runner.<name>.prefault is context: HVB_PREFAULT=0 against the default"""
        on = "on: QEMU -mem-prealloc populates all guest RAM before boot, inside boot_ms"
        runs = [dict(LINUX_BOOT, **{"runner.qemu-kvm.prefault": v})
                for v in (on, "off: HVB_PREFAULT=0")]
        diff = dict(context.differences(runs))
        self.assertEqual(diff["runner.qemu-kvm.prefault"], {0: on, 1: "off: HVB_PREFAULT=0"})


# Two runs' workload parameters, every case of the rule at once: passes
# differs; extra is in B only and A ran sort (counts, "(not recorded)");
# hops is in B only but A did not run chase-16KiB (does not count); k is in
# A only and B's workloads are globs (micro/* may be any: counts); blocks
# is equal.
PARAMS_A = {"workloads": "cpu/sort,cpu/sha256", "param.sort.passes": "1",
            "param.sha256.blocks": "8", "param.stream-copy.k": "1"}
PARAMS_B = {"workloads": "micro/*,cpu/*", "param.sort.passes": "4", "param.sha256.blocks": "8",
            "param.sort.extra": "7", "param.chase-16KiB.hops": "3"}
PARAMS_DIFF = ["param.sort.extra", "param.sort.passes", "param.stream-copy.k"]


class TestParamDifferences(unittest.TestCase):
    def test_rule(self):
        """param_differences: differing values, and keys one run lacks where it ran the workload"""
        diff = dict(context.param_differences([PARAMS_A, PARAMS_B]))
        self.assertEqual(sorted(diff), PARAMS_DIFF)
        self.assertEqual(diff["param.sort.passes"], {0: "1", 1: "4"})
        self.assertEqual(diff["param.sort.extra"], {0: context.NOT_RECORDED, 1: "7"})
        self.assertEqual(diff["param.stream-copy.k"], {0: "1", 1: context.NOT_RECORDED})

    def test_no_workloads_key(self):
        """a run without meta workloads may have run anything: a key it lacks counts"""
        diff = dict(context.param_differences([{}, {"param.sort.passes": "1"}]))
        self.assertEqual(diff, {"param.sort.passes": {0: context.NOT_RECORDED, 1: "1"}})

    def test_same(self):
        """equal parameters, and none at all: no difference"""
        self.assertEqual(context.param_differences([PARAMS_A, dict(PARAMS_A)]), [])
        self.assertEqual(context.param_differences([LINUX_BOOT, XEN_BOOT]), [])

    def test_not_context(self):
        """parameters are not context keys (a warning of their own)"""
        self.assertEqual(context.differences([dict(LINUX_BOOT, **PARAMS_A),
                                              dict(LINUX_BOOT, **PARAMS_B)]), [])

    def test_warning(self):
        """report: the parameters warning names each key, its workload and both values"""
        w = dict((x[0], x[2]) for x in context.report_warnings([PARAMS_A, PARAMS_B], []))
        self.assertIn("param.sort.passes (cpu/sort): run 1 1, run 2 4", w["params-diff"])
        self.assertIn("param.sort.extra (cpu/sort): run 1 (not recorded), run 2 7",
                      w["params-diff"])
        self.assertNotIn("hops", w["params-diff"])
        self.assertIn("not the hypervisor", w["params-diff"])
        same = context.report_warnings([PARAMS_A, dict(PARAMS_A)], [])
        self.assertNotIn("params-diff", [x[0] for x in same])


def _run_copy(parent, name, extra):
    """A copy of the COMPLETE fixture as run NAME with meta keys extra (a
    workloads value replaces the fixture's)."""
    d = os.path.join(parent, name)
    shutil.copytree(COMPLETE, d)
    old = os.path.basename(COMPLETE)
    for f in os.listdir(d):
        if f.endswith(".csv"):
            path = os.path.join(d, f)
            with open(path) as fh:
                text = fh.read().replace(old, name)
            if f == "meta.csv":
                text = re.sub(r"(?m)^workloads,.*\n", "", text)
                text += "".join(f'{k},"{v}"\n' for k, v in extra.items())
            with open(path, "w") as fh:
                fh.write(text)
    return d


@unittest.skipUnless(os.access(HVBENCH, os.X_OK), f"{HVBENCH} not built (make)")
class TestParamsAgreeWithCompare(unittest.TestCase):
    def test_same_keys(self):
        """hvbench compare and the report name the same differing parameters of the same runs"""
        with tempfile.TemporaryDirectory() as tmp:
            a = _run_copy(tmp, "20261126-101500-fixhost-1", PARAMS_A)
            b = _run_copy(tmp, "20261126-101500-fixhost-2", PARAMS_B)
            p = subprocess.run([HVBENCH, "compare", "--no-gate", "--format", "json", a, b],
                               capture_output=True, text=True)
            self.assertIn(p.returncode, (0, 1), p.stderr)
            c_keys = {x["key"]: (x["base"], x["cand"]) for x in json.loads(p.stdout)["params_differ"]}
            py = context.param_differences([load.load_run(a), load.load_run(b)])
        self.assertEqual(sorted(c_keys), PARAMS_DIFF)
        self.assertEqual(sorted(c_keys), [k for k, _ in py])
        self.assertEqual(c_keys, {k: (v[0], v[1]) for k, v in py})


class TestSameHost(unittest.TestCase):
    def test_same_host(self):
        """same_host: two boots with one identity yes, another identity no, unknown None"""
        self.assertTrue(context.same_host(LINUX_BOOT, XEN_BOOT))
        self.assertFalse(context.same_host(LINUX_BOOT, dict(XEN_BOOT, host_identity="0" * 16)))
        self.assertIsNone(context.same_host(LINUX_BOOT, load.load_run(COMPLETE)))


class TestKeyLists(unittest.TestCase):
    def test_match_c(self):
        """the key lists are the ones of src/compare_context.c"""
        with open(os.path.join(ROOT, "src", "compare_context.c")) as f:
            text = f.read()
        block = re.search(r"/\* context-keys: begin \*/(.*)/\* context-keys: end \*/", text, re.S)
        self.assertIsNotNone(block, "markers missing in src/compare_context.c")
        arrays = dict(re.findall(r"(hvb_ctx_\w+_keys)\[\] = \{(.*?)\};", block.group(1), re.S))
        self.assertEqual(tuple(re.findall(r'"([^"]+)"', arrays["hvb_ctx_run_keys"])),
                         context.CONTEXT_RUN_KEYS)
        self.assertEqual(tuple(re.findall(r'"([^"]+)"', arrays["hvb_ctx_runner_keys"])),
                         context.CONTEXT_RUNNER_KEYS)


class TestReportWarnings(unittest.TestCase):
    def test_dom0_baseline(self):
        """report: a native baseline in dom0 is labelled, bare metal is not"""
        w = context.report_warnings([LINUX_BOOT, XEN_BOOT], [0, 1])
        ids = [x[0] for x in w]
        self.assertNotIn("baseline-1", ids)
        self.assertIn("baseline-2", ids)
        self.assertIn("xen-dom0", dict((x[0], x[2]) for x in w)["baseline-2"])

    def test_two_boots(self):
        """report: two boots of one machine are said to be one machine, with the kernel difference"""
        w = dict((x[0], x[2]) for x in context.report_warnings([LINUX_BOOT, XEN_BOOT], []))
        self.assertIn("one machine by host_identity", w["context-diff"])
        self.assertIn("kernel: run 1 6.1.0-27-amd64, run 2 6.1.0-27-amd64 (Xen 4.17)",
                      w["context-diff"])

    def test_other_machine(self):
        """report: runs of two machines are said to be two machines"""
        other = dict(LINUX_BOOT, host_identity="0123456789abcdef")
        w = dict((x[0], x[2]) for x in context.report_warnings([LINUX_BOOT, other], []))
        self.assertIn("different machines", w["context-diff"])

    def test_single_run(self):
        """report: one bare-metal run, nothing to warn about"""
        self.assertEqual(context.report_warnings([LINUX_BOOT], [0]), [])


def main():
    return taplib.run_classes(TestHostKind, TestDifferences, TestParamDifferences,
                              TestParamsAgreeWithCompare, TestSameHost, TestKeyLists,
                              TestReportWarnings)


if __name__ == "__main__":
    sys.exit(main())
