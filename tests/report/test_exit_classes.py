#!/usr/bin/env python3
"""Tests of the exit taxonomy (reports/hvbreport/exit_classes.py) and of the
report's exits-per-operation table, on the recorded Xen run and the
synthetic kvm / qemu-kvm fixture.

Every reason name a runner can write is taken from the C sources themselves
(probes/xentrace.c, hv/exit.c, runners/kvm/stats.c), so a name added there
without a row in the table fails here.  Expected numbers are computed from
the CSV files with the csv module, not with the code under test.
TAP output, like test_report.py.
"""

import csv
import html.parser
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
import taplib  # noqa: E402
from hvbreport import exit_classes as ec  # noqa: E402
from hvbreport import load  # noqa: E402

SCRIPT = os.path.join(ROOT, "reports", "hvbench_report.py")
FIX = os.path.join(ROOT, "tests", "fixtures", "results")
KVM_QEMU = os.path.join(FIX, "20261126-101500-fixhost-4242")
XEN = os.path.join(FIX, "20261202-121906-hvb-dom0-121")


def c_array(path, name):
    """The string literals of the C array `name` in path, NULL as None, in order."""
    text = open(os.path.join(ROOT, path)).read()
    m = re.search(r"\b" + re.escape(name) + r"\[[^\]]*\]\s*=\s*\{(.*?)\};", text, re.S)
    if not m:
        raise AssertionError(f"{path}: array {name} not found")
    body = re.sub(r"\[[^\]]*\]\s*=", "", m.group(1))
    return [None if t == "NULL" else t[1:-1]
            for t in re.findall(r'"[^"]*"|\bNULL\b', body)]


def xentrace_names():
    """Every name probes/xentrace.c can give an exit code or PV entry."""
    src = "probes/xentrace.c"
    names = {"svm." + n for n in c_array(src, "svm_names") + c_array(src, "svm_high") if n}
    names |= {f"svm.exception_{v}" for v in c_array(src, "vectors") if v}
    names |= {f"svm.exception_{i}" for i in range(32)}
    names |= {f"svm.cr{i}_{k}" for i in range(16) for k in ("read", "write", "write_trap")}
    names |= {f"svm.dr{i}_{k}" for i in range(16) for k in ("read", "write")}
    names |= {"svm.invalid", "svm.0x7f", "vmx.0x45"}
    names |= {"vmx." + n for n in c_array(src, "vmx_names") if n}
    names |= {"pv.hypercall." + n for n in c_array(src, "hypercalls") if n}
    names |= {"pv.hypercall.11", "pv.0x2"}
    names |= {"pv." + n for n in c_array(src, "pv_events") if n}
    return names


def vmm_names():
    return {"userspace_" + n for n in c_array("hv/exit.c", "reason_names") if n} | \
        {"userspace_unknown"}


# KVM's x86 per-vCPU statistics that probes/kvm_stats.c's
# kvm_stats_exit_reason turns into exit reasons (for the kvm runner and
# qemu-kvm's query-stats rows alike): the
# "<name>_exits" ones (Linux 6.1 arch/x86/include/asm/kvm_host.h and
# virt/kvm), halt_exits, hypercalls, insn_emulation.
KVM_EXIT_STATS = ["io_exits", "mmio_exits", "signal_exits", "irq_window_exits",
                  "nmi_window_exits", "halt_exits", "request_irq_exits", "irq_exits",
                  "notify_window_exits", "hypercalls", "insn_emulation"]


def kvm_stats_names():
    text = open(os.path.join(ROOT, "probes/kvm_stats.c")).read()
    # The mapping kvm_stats_exit_reason applies (if it changes, this test
    # must follow).
    assert '"halt_exits"' in text and '"hlt"' in text and '"_exits"' in text, \
        "probes/kvm_stats.c: kvm_stats_exit_reason changed; update this test"
    out = set()
    for s in KVM_EXIT_STATS:
        out.add({"halt_exits": "hlt", "hypercalls": "hypercall"}.get(s, s[:-6] if s.endswith(
            "_exits") else s))
    return out


def runner_sources_write():
    """Reason names that appear as string literals where runners write exits."""
    out = set()
    for path in ("runners/kvm/stats.c", "runners/xen/trace.c"):
        text = open(os.path.join(ROOT, path)).read()
        for m in re.finditer(r"\.reason\s*=\s*\"([^\"]+)\"", text):
            out.add(m.group(1))
        for m in re.finditer(r"exit_row\([^,]+,[^,]+,\s*\"([^\"]+)\"", text):
            out.add(m.group(1))
    return out


def rows(path, name="exits.csv"):
    with open(os.path.join(path, name), newline="") as f:
        return list(csv.DictReader(f))


class TestTable(unittest.TestCase):
    def check_known(self, names, source):
        unknown = sorted(n for n in names if not ec.lookup(n, source)[2])
        self.assertEqual(unknown, [], f"{source}: names without a class")

    def test_01_xentrace(self):
        """every svm.*, vmx.* and pv.* name probes/xentrace.c can write has a class"""
        names = xentrace_names()
        self.assertGreater(len(names), 200)
        self.check_known(names, "xentrace")

    def test_02_vmm(self):
        """every userspace_* reason of the reference VMM (hv/exit.c) has a class"""
        self.check_known(vmm_names(), "vmm")

    def test_03_kvm_stats(self):
        """every KVM statistic the kvm runner writes as an exit reason has a class"""
        self.check_known(kvm_stats_names(), "kvm-stats")
        for lit in runner_sources_write():
            self.assertTrue(ec.is_total(lit) or ec.lookup(lit, "kvm-stats")[2], lit)

    def test_04_classes(self):
        """the classes of the common exits are what a reader expects"""
        cases = [("io", "kvm-stats", "pio"), ("mmio", "kvm-stats", "mmio"),
                 ("hlt", "kvm-stats", "halt"), ("hypercall", "kvm-stats", "hypercall"),
                 ("irq_window", "kvm-stats", "interrupt"), ("signal", "kvm-stats", "other"),
                 ("userspace_io", "vmm", "pio"), ("svm.ioio", "xentrace", "pio"),
                 ("svm.npf", "xentrace", "mmio"), ("vmx.ept_violation", "xentrace", "mmio"),
                 ("svm.cpuid", "xentrace", "cpuid"), ("vmx.cpuid", "xentrace", "cpuid"),
                 ("svm.msr", "xentrace", "msr"), ("vmx.msr_write", "xentrace", "msr"),
                 ("svm.vmmcall", "xentrace", "hypercall"), ("vmx.vmcall", "xentrace", "hypercall"),
                 ("svm.hlt", "xentrace", "halt"), ("svm.intr", "xentrace", "interrupt"),
                 ("vmx.external_interrupt", "xentrace", "interrupt"),
                 ("svm.exception_pf", "xentrace", "exception"),
                 ("pv.hypercall.xen_version", "xentrace", "hypercall"),
                 ("pv.forced_invalid_op", "xentrace", "cpuid"),
                 ("pv.page_fault", "xentrace", "exception"), ("pv.trap", "xentrace", "exception"),
                 ("kvm-trace.EXTERNAL_INTERRUPT", None, "interrupt"),
                 ("kvm-trace.PF excp", None, "exception"), ("kvm-trace.hypercall", None,
                                                             "hypercall"),
                 ("kvm-trace.EPT_VIOLATION", None, "mmio"), ("kvm-trace.msr", None, "msr"),
                 ("kvm-trace.PAUSE_INSTRUCTION", None, "other"),
                 ("kvm-trace.IO_INSTRUCTION", None, "pio"), ("kvm-trace.npf", None, "mmio")]
        for reason, source, want in cases:
            self.assertEqual(ec.classify(reason, source), want, reason)

    def test_04b_kvm_trace_events(self):
        """kvm-trace's event names (probes/kvm_trace.c) and split pairs have a class"""
        names = {"kvm_userspace_exit." + n for n in c_array("probes/kvm_trace.c", "exit_names")}
        names |= {"kvm_mmio." + n for n in c_array("probes/kvm_trace.c", "mmio_kinds")}
        names |= {"kvm_userspace_exit.restart", "kvm_userspace_exit.error",
                  "kvm_userspace_exit.0x40", "kvm_mmio.mmio_other", "kvm_pio.pio_in",
                  "kvm_pio.pio_out", "kvm_msr.read", "kvm_msr.write", "kvm_hypercall",
                  "kvm_cpuid", "kvm_page_fault", "kvm_emulate_insn"}
        self.check_known(names, "kvm-trace")
        cases = [("kvm_pio.pio_out", "pio"), ("kvm_userspace_exit.io", "pio"),
                 ("kvm_mmio.mmio_read_unsatisfied", "mmio"), ("kvm_userspace_exit.mmio", "mmio"),
                 ("kvm_msr.write", "msr"), ("kvm_userspace_exit.hlt", "halt"),
                 ("kvm_emulate_insn", "other"), ("vmx.io_instruction.pio_out", "pio"),
                 ("svm.npf.mmio_write", "mmio"), ("vmx.ept_misconfig.mmio_read", "mmio")]
        for reason, want in cases:
            self.assertEqual(ec.classify(reason, "kvm-trace"), want, reason)
        self.assertTrue(ec.lookup("kvm_pio.pio_out", "kvm-trace")[1])
        self.assertFalse(ec.lookup("kvm_frobnicate", "kvm-trace")[2])
        # the split suffix is only kvm-trace's: xentrace's names have none
        self.assertFalse(ec.lookup("vmx.io_instruction.pio_out", "xentrace")[2])

    def test_05_overlap_notes(self):
        """counts that are not exits or overlap say so"""
        for reason, source in (("insn_emulation", "kvm-stats"), ("signal", "kvm-stats"),
                               ("pv.trap", "xentrace"), ("userspace_io", "vmm")):
            self.assertTrue(ec.lookup(reason, source)[1], reason)

    def test_06_unknown(self):
        """an unknown reason is other and flagged unknown, not dropped"""
        for reason, source in (("svm.bogus", "xentrace"), ("frobnicate", "kvm-stats"),
                               ("vmx.", "xentrace"), ("", None)):
            self.assertEqual(ec.lookup(reason, source)[0], "other")
            self.assertFalse(ec.lookup(reason, source)[2], reason)

    def test_07_recorded_run_known(self):
        """every reason of the recorded Xen run has a class"""
        self.check_known({r["reason"] for r in rows(XEN) if not ec.is_total(r["reason"])},
                         "xentrace")


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if a.get("data-kind", "").startswith("exits-"):
            self.cells.append(a)


def report(*dirs):
    tmp = tempfile.mkdtemp(prefix="hvb-exit-classes-")
    r = subprocess.run([sys.executable, SCRIPT, "--no-plots", "--out", os.path.join(tmp, "o")]
                       + list(dirs), capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        shutil.rmtree(tmp)
        raise AssertionError(r.stderr)
    text = open(os.path.join(tmp, "o", "report.html"), encoding="utf-8").read()
    p = Page()
    p.feed(text)
    p.text = text
    shutil.rmtree(tmp)
    return p


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def expect_per_op(path, runner, workload, reasons):
    """By hand: median over reps of (sum of the reasons' counts) / ops."""
    per = {}
    for r in rows(path):
        if r["runner"] == runner and r["workload"] == workload and r["reason"] in reasons:
            per.setdefault(r["rep"], [0, float(r["ops"])])[0] += int(r["count"])
    return median([c / o for c, o in per.values()])


def with_ops(tmp):
    """The synthetic kvm/qemu-kvm fixture, its exits.csv given the source and
    ops columns (1000000 operations per repetition)."""
    d = os.path.join(tmp, os.path.basename(KVM_QEMU))
    shutil.copytree(KVM_QEMU, d)
    rs = rows(d)
    with open(os.path.join(d, "exits.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(list(rs[0].keys()) + ["source", "ops"])
        for r in rs:
            w.writerow(list(r.values()) + ["kvm-stats" if r["runner"] != "xen-pvh" else "",
                                           "1000000"])
    return d


class TestReport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hvb-exit-classes-fix-")
        cls.kvm = with_ops(cls.tmp)
        cls.p = report(cls.kvm, XEN)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def cell(self, **want):
        hits = [c for c in self.p.cells
                if all(c.get("data-" + k.replace("_", "-")) == v for k, v in want.items())]
        self.assertEqual(len(hits), 1, want)
        return hits[0]

    def test_01_side_by_side(self):
        """micro/hypercall: kvm, qemu-kvm, xen-pvh and xen-pv side by side, per operation"""
        self.assertIn("exit-classes-table", self.p.ids)
        runners = {c["data-runner"] for c in self.p.cells if c.get("data-kind") == "exits-per-op"
                   and c.get("data-workload") == "micro/hypercall"
                   and c.get("data-exit-class") == "hypercall"}
        for r in ("kvm", "qemu-kvm", "xen-pvh (run 2)", "xen-pv"):
            self.assertIn(r, runners)

    def test_02_xen_per_op(self):
        """xen-pvh / xen-pv exits per operation are the medians of count/ops"""
        for runner, w, cls, reasons in (
                ("xen-pvh (run 2)", "micro/cpuid", "cpuid", {"svm.cpuid"}),
                ("xen-pvh (run 2)", "micro/hypercall", "hypercall", {"svm.vmmcall"}),
                ("xen-pv", "micro/hypercall", "hypercall", {"pv.hypercall.xen_version"}),
                ("xen-pv", "micro/cpuid", "cpuid", {"pv.forced_invalid_op"}),
                ("xen-pv", "micro/first-touch", "exception",
                 {"pv.page_fault", "pv.trap", "pv.hypercall.iret"})):
            want = expect_per_op(XEN, runner.split(" ")[0], w, reasons)
            got = float(self.cell(runner=runner, workload=w, exit_class=cls,
                                  kind="exits-per-op")["data-value"])
            self.assertAlmostEqual(got, want, places=9, msg=(runner, w))
        # One cpuid exit per micro/cpuid operation: what Xen really counted.
        self.assertAlmostEqual(expect_per_op(XEN, "xen-pvh", "micro/cpuid", {"svm.cpuid"}), 1.0)

    def test_03_kvm_per_op(self):
        """kvm's hypercall exits per operation: count / 1000000 ops, median of reps"""
        want = expect_per_op(self.kvm, "kvm", "micro/hypercall", {"hypercall"})
        got = float(self.cell(runner="kvm", workload="micro/hypercall", exit_class="hypercall",
                              kind="exits-per-op")["data-value"])
        self.assertAlmostEqual(got, want, places=9)

    def test_04_ns_per_op_beside(self):
        """ns per operation of the same cell stands beside the exits"""
        s = [float(r["value"]) for r in rows(XEN, "samples.csv")
             if r["runner"] == "xen-pv" and r["workload"] == "micro/cpuid"
             and r["metric"] == "ns_per_op"]
        got = float(self.cell(runner="xen-pv", workload="micro/cpuid",
                              kind="exits-ns-per-op")["data-value"])
        self.assertAlmostEqual(got, median(s), places=6)

    def test_05_time_per_exit_and_sources(self):
        """xentrace has ns per exit; the text says what each source counts"""
        self.assertIn("ns/exit", self.p.text)
        self.assertIn("not a partition", self.p.text)
        self.assertIn("not VM exits", self.p.text)

    def test_06_old_run_without_ops(self):
        """a run without the ops column loads and shows counts per repetition"""
        p = report(KVM_QEMU)
        self.assertIn("ops unknown", p.text)
        self.assertFalse(any("data-value" in c for c in p.cells
                             if c.get("data-kind") == "exits-per-op"))

    def test_07_unknown_listed(self):
        """a reason the table does not know is listed, not dropped"""
        d = os.path.join(self.tmp, "unknown")
        shutil.copytree(XEN, d)
        with open(os.path.join(d, "exits.csv"), "a") as f:
            f.write(f"{os.path.basename(XEN)},xen-pvh,micro/cpuid,0,svm.frobnicate,3,,"
                    f"xentrace,125\n")
        p = report(d)
        self.assertIn("exit-classes-unknown", p.ids)
        self.assertIn("svm.frobnicate", p.text)

    def test_08_bad_ops(self):
        """ops 0 or not a number is refused, naming the file and line"""
        for bad in ("0", "x"):
            d = os.path.join(self.tmp, "bad" + bad)
            shutil.copytree(XEN, d)
            path = os.path.join(d, "exits.csv")
            lines = open(path).read().splitlines(True)
            lines[1] = lines[1].rsplit(",", 1)[0] + f",{bad}\n"
            open(path, "w").writelines(lines)
            with self.assertRaises(load.ResultError) as e:
                load.load_run(d)
            self.assertIn("exits.csv:2: column ops", str(e.exception))


def main():
    return taplib.run_classes(TestTable, TestReport)


if __name__ == "__main__":
    sys.exit(main())
