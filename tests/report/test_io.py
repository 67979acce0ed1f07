#!/usr/bin/env python3
"""Tests of the report's Block I/O section (reports/hvbreport/io.py).

Renders the io fixture (tests/fixtures/results/make_io.py) and variants the
generator writes into a temporary directory: a second kvm run with another
notify mode, a disk without O_DIRECT.  Expected figures come from the
generator's hand-chosen medians (HAND there) or are computed here from the
fixture's CSV files, never from the code under test.

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
sys.path.insert(0, os.path.join(ROOT, "reports"))

import sectionlib  # noqa: E402
import taplib  # noqa: E402
from sectionlib import render  # noqa: E402
from hvbreport import io as io_section  # noqa: E402

FIX = os.path.join(ROOT, "tests", "fixtures", "results")
GEN = os.path.join(FIX, "make_io.py")
IO_RUN = "20261202-150000-fixhost-4646-io"
IO = os.path.join(FIX, IO_RUN)
NO_IO = os.path.join(FIX, "20261126-101500-fixhost-4242")
QD1, QD32, SEQR, WR, FLUSH = ("io/randread-4k-qd1", "io/randread-4k-qd32", "io/seqread-1m",
                              "io/randwrite-4k-qd1", "io/flush")
IO_WORKLOADS = [FLUSH, QD1, QD32, WR, SEQR, "io/seqwrite-1m"]


def generate(out, *args):
    return sectionlib.generate(GEN, out, *args)


class Rendered(sectionlib.Rendered):
    """Each report rendered once, shared by the tests."""
    prefix = "hvb-io-test-"

    @classmethod
    def make(cls, name, out):
        if name == "io":
            page = render(out, IO)
        elif name == "plots":
            page = render(out, IO, plots=True)
            page.out = out
        elif name == "no-io":
            page = render(out, NO_IO)
        elif name == "notify":   # a second run: kvm only, notify=exit, no native
            d = generate(cls.tmp, "--run-id", "20261202-160000-fixhost-4747-io",
                         "--runners", "kvm", "--notify", "exit")
            page = render(out, IO, d)
        elif name == "tmpfs":    # the page cache in the path, beside the O_DIRECT run
            d = generate(cls.tmp, "--run-id", "20261202-170000-fixhost-4848-io",
                         "--odirect", "0", "--fs", "tmpfs")
            page = render(out, IO, d)
        elif name == "no-odirect-key":
            d = generate(cls.tmp, "--run-id", "20261202-180000-fixhost-4949-io",
                         "--runners", "native,kvm")
            meta = os.path.join(d, "meta.csv")
            with open(meta, encoding="utf-8") as f:
                lines = [l for l in f if not l.startswith("disk.odirect,")]
            with open(meta, "w", encoding="utf-8") as f:
                f.writelines(lines)
            page = render(out, d)
        elif name == "absent":   # a cell with no row at all (breaks FORMAT.md)
            d = generate(cls.tmp, "--run-id", "20261202-190000-fixhost-5050-io")
            drop_cell(d, "qemu-kvm", "io/seqwrite-1m")
            page = render(out, d)
        else:
            raise KeyError(f"no page {name!r}")
        return page


def drop_cell(d, runner, workload):
    sectionlib.drop_rows(d, lambda l: f",{runner},{workload}," not in l)


def csv_rows(name):
    return sectionlib.csv_rows(IO, name)


def total_exits_per_op(runner, workload, source):
    """Median over repetitions of the total's count / ops, straight from exits.csv."""
    per = [int(r["count"]) / int(r["ops"]) for r in csv_rows("exits.csv")
           if r["runner"] == runner and r["workload"] == workload and r["source"] == source
           and r["reason"] == "total"]
    return statistics.median(per)


class TestFixture(unittest.TestCase):
    def test_01_generator_reproduces_fixture(self):
        """make_io.py writes exactly the committed io fixture (it is not stale)"""
        sectionlib.assert_reproduces(self, GEN, IO)

    def test_02_fixture_rows_follow_format(self):
        """every ok row has a value its unit allows; non-ok rows have a note and no value"""
        for r in csv_rows("samples.csv"):
            if r["status"] == "ok":
                v = float(r["value"])
                self.assertTrue(v > 0 if r["unit"] in ("ns", "cycles", "ms", "MB/s", "ops/s")
                                else v >= 0, r)
            else:
                self.assertEqual(r["value"], "", r)
                self.assertTrue(r["note"], r)


class TestSection(unittest.TestCase):
    def setUp(self):
        self.p = Rendered.get("io")

    def test_01_section_and_nav(self):
        """the io section is there, linked from the nav, one table per io/* workload"""
        self.assertIn("io", self.p.ids)
        self.assertIn("#io", self.p.links)
        for w in IO_WORKLOADS:
            self.assertIn(f"io-{w}", self.p.ids)
        self.assertNotIn("io-cpu/sha256", self.p.ids)
        sec = self.p.section("io", "exits")
        self.assertNotIn("cpu/sha256", sec)

    def test_02_native_first(self):
        """runners in each io table: native first"""
        sec = self.p.section("io-" + QD1, "io-" + QD32)
        order = [sec.index(f'data-runner="{r}" data-workload="{QD1}">')
                 for r in ("native", "kvm", "qemu-kvm", "xen-pvh")]
        self.assertEqual(order, sorted(order))

    def test_03_primary_medians(self):
        """primary metric per workload: the hand-chosen medians (qd1 ns, qd32 IOPS, seq MB/s)"""
        v = self.p.value
        self.assertEqual(v(runner="kvm", workload=QD1, metric="ns_per_op", kind="io"), 150000)
        self.assertEqual(v(runner="native", workload=QD32, metric="ops_per_s", kind="io"), 60000)
        self.assertEqual(v(runner="qemu-kvm", workload=SEQR, metric="bandwidth", kind="io"),
                         1000)
        self.assertEqual(v(runner="xen-pvh", workload=FLUSH, metric="ns_per_op", kind="io"),
                         2000000)

    def test_04_slowdown_oriented(self):
        """slowdown vs native, >1 worse: time kvm/native, IOPS and MB/s native/kvm"""
        v = self.p.value
        self.assertAlmostEqual(v(runner="kvm", workload=QD1, metric="ns_per_op",
                                 kind="io-slowdown"), 150000 / 100000, places=9)
        self.assertAlmostEqual(v(runner="kvm", workload=QD32, metric="ops_per_s",
                                 kind="io-slowdown"), 60000 / 30000, places=9)
        self.assertAlmostEqual(v(runner="qemu-kvm", workload=SEQR, metric="bandwidth",
                                 kind="io-slowdown"), 1500 / 1000, places=9)

    def test_05_slowdown_is_the_overhead_tables(self):
        """the io slowdown is the one Overhead vs native shows (one engine)"""
        for r in ("kvm", "qemu-kvm", "xen-pvh"):
            a = self.p.value(runner=r, workload=QD1, metric="ns_per_op", kind="io-slowdown")
            b = self.p.value(runner=r, workload=QD1, metric="ns_per_op", kind="slowdown")
            self.assertEqual(a, b)

    def test_06_latency_percentiles(self):
        """req_ns p50/p99/p999/max: median over repetitions (factors 0.95, 2.5, 5, 12 of ns/op)"""
        v = self.p.value
        for metric, k in (("req_ns.p50", 0.95), ("req_ns.p99", 2.5), ("req_ns.p999", 5.0),
                          ("req_ns.max", 12.0)):
            self.assertAlmostEqual(v(runner="kvm", workload=QD1, metric=metric, kind="io"),
                                   150000 * k, places=3)
        # queue depth 32: each request waits behind the others, 32 x the time per request
        self.assertAlmostEqual(v(runner="native", workload=QD32, metric="req_ns.p50", kind="io"),
                               32 * 1e9 / 60000 * 0.95, delta=0.01)
        self.assertIn("median over repetitions", self.p.section("io", "exits"))

    def test_07_exits_per_request(self):
        """exits per request: exits.csv total / ops, median over repetitions, per source"""
        for runner, w, source in (("kvm", QD1, "kvm-stats"), ("xen-pvh", QD1, "xentrace"),
                                  ("kvm", SEQR, "kvm-stats")):
            want = total_exits_per_op(runner, w, source)
            got = self.p.value(runner=runner, workload=w, source=source, kind="io-exits-per-op")
            self.assertAlmostEqual(got, want, places=9, msg=(runner, w, source))
        self.assertAlmostEqual(total_exits_per_op("kvm", QD1, "kvm-stats"), 3.0)
        # the vmm source has no total: no per-request figure, its classes instead
        vmm = self.p.find(runner="kvm", workload=QD1, source="vmm", kind="io-exits-per-op")
        self.assertTrue(vmm)
        self.assertFalse([c for c in vmm if "data-value" in c])

    def test_08_exit_classes(self):
        """exits by class: xentrace's hypercall (svm.vmmcall) 2 per request"""
        sec = self.p.section("io-" + QD1, "io-" + QD32)
        self.assertIn("hypercall 2", sec)
        self.assertIn("MMIO / NPF / EPT 0.5", sec)

    def test_09_notifies_and_host_cpu(self):
        """notifies_per_op (kvm) and host_cpu_ns_per_op with its threads and ratio to native"""
        v = self.p.value
        self.assertEqual(v(runner="kvm", workload=QD1, metric="notifies_per_op", kind="io"), 1.0)
        self.assertEqual(v(runner="kvm", workload=QD1, metric="host_cpu_ns_per_op", kind="io"),
                         21000)
        self.assertAlmostEqual(v(runner="qemu-kvm", workload=QD1, metric="host_cpu_ns_per_op",
                                 kind="io-slowdown"), 30000 / 9000, places=9)
        sec = self.p.section("io-" + QD1, "io-" + QD32)
        # the threads, said once: what every repetition's note has in common
        self.assertIn("host CPU of the vCPU thread + the I/O thread (thread CPU clocks, ns)<",
                      sec)
        self.assertNotIn("REP_BEGIN..REP_END", sec)
        self.assertIn("host CPU of all QEMU threads (vCPU, main loop, I/O)", sec)
        self.assertIn("virtio-blk notifications the device saw (notify=ioeventfd)<", sec)

    def test_10_missing_with_status(self):
        """missing values: their status and reason, never a number"""
        f = self.p.find
        # a whole failed cell: one status, no value anywhere in the io section
        row = f(runner="xen-pvh", workload=WR, status="failed")
        self.assertTrue(row)
        sec = self.p.section("io-" + WR, "io-" + SEQR)
        self.assertIn("blkfront: write returned BLKIF_RSP_ERROR", sec)
        self.assertFalse([c for c in f(runner="xen-pvh", workload=WR, kind="io")])
        # one metric unsupported in an ok cell
        m = f(runner="xen-pvh", workload=QD1, metric="host_cpu_ns_per_op", kind="io-missing")
        self.assertEqual([c["data-status"] for c in m], ["unsupported"])
        qd1 = self.p.section("io-" + QD1, "io-" + QD32)
        self.assertIn("dom0&#x27;s blkback threads are not readable", qd1)
        # not recorded at all: n/a, with the reason said under the table
        for runner, metric in (("native", "notifies_per_op"), ("native", "exits"),
                               ("qemu-kvm", "exits"), ("qemu-kvm", "notifies_per_op")):
            m = f(runner=runner, workload=QD1, metric=metric, kind="io-missing")
            self.assertEqual([c["data-status"] for c in m], ["n/a"], (runner, metric))
        self.assertIn("no VM exits natively", qd1)
        self.assertIn("this runner does not count exits", qd1)

    def test_10b_partly(self):
        """a metric with some repetitions not ok: the median of the rest, and which and why"""
        p = self.p
        self.assertAlmostEqual(p.value(runner="qemu-kvm", workload=QD32,
                                       metric="host_cpu_ns_per_op", kind="io"),
                               (30000 + 30300) / 2, places=6)
        m = p.find(runner="qemu-kvm", workload=QD32, metric="host_cpu_ns_per_op",
                   kind="io-partly")
        self.assertEqual([c["data-status"] for c in m], ["unsupported"])
        sec = p.section("io-" + QD32, "io-" + WR)
        self.assertIn("n=4; host CPU of all QEMU threads (vCPU, main loop, I/O) (process CPU "
                      "clock, ns): REP_BEGIN and REP_END were read at the same point (the "
                      "records arrived together) (repetitions 4)", sec)
        self.assertIn("(n=4; unsupported: host CPU of all QEMU threads", p.md)

    def test_11_served_by(self):
        """what served the requests: runner.<r>.blk, the notify mode, the disk keys"""
        sec = self.p.section("io", "io-" + FLUSH)
        for text in ("virtio-blk mmio, notify=ioeventfd, aio=linux-aio",
                     "qemu virtio-blk-device cache=none aio=native", "xen blkback",
                     "268435456 (256 MiB)", "ext4", "1 (O_DIRECT: no page cache)",
                     f".hvbench-disk-{IO_RUN}.img"):
            self.assertIn(text, sec)
        self.assertIn("kvm · notify=ioeventfd", self.p.section("io-" + QD1, "io-" + QD32))

    def test_12_no_banner_for_one_odirect_run(self):
        """one run on O_DIRECT: no io banner"""
        self.assertFalse([i for i in self.p.ids if i.startswith("io-") and
                          i.endswith("-banner")])

    def test_13_markdown(self):
        """summary.md: the section, its tables, statuses with reasons"""
        md = self.p.md
        self.assertIn("## Block I/O", md)
        for w in IO_WORKLOADS:
            self.assertIn(f"### {w}", md)
        line = next(l for l in md.splitlines() if l.startswith("| kvm · notify=ioeventfd")
                    and "150,000" in l)
        self.assertIn("1.500×", line)
        self.assertIn("kvm-stats 3 /req", line)
        self.assertIn("| xen-pvh | failed: blkfront: write returned BLKIF_RSP_ERROR", md)
        self.assertIn("unsupported: dom0's blkback threads are not readable", md)
        self.assertIn("n/a: native: no VM exits natively", md)


class TestBanners(unittest.TestCase):
    def test_01_no_io_no_section(self):
        """a run without io/* workloads: no section, no nav link, nothing in summary.md"""
        p = Rendered.get("no-io")
        self.assertNotIn("io", p.ids)
        self.assertNotIn("#io", p.links)
        self.assertNotIn("Block I/O", p.text)
        self.assertNotIn("Block I/O", p.md)

    def test_02_notify_modes_differ(self):
        """two runs, kvm with notify=ioeventfd and notify=exit: a banner and labelled rows"""
        p = Rendered.get("notify")
        self.assertIn("io-notify-diff-banner", p.ids)
        i = p.text.index('id="io-notify-diff-banner"')
        banner = p.text[i:p.text.index("</div>", i)]
        self.assertIn("runner.kvm.blk_notify: run 1 ioeventfd, run 2 exit", banner)
        self.assertIn("io-blk-diff-banner", p.ids)   # runner.kvm.blk says the mode too
        self.assertNotIn("io-disk-diff-banner", p.ids)
        sec = p.section("io", "exits")
        self.assertIn("kvm (run 1) · notify=ioeventfd", sec)
        self.assertIn("kvm (run 2) · notify=exit", sec)
        self.assertIn("Notify modes differ between runs", p.md)
        self.assertIn("| kvm (run 2) · notify=exit | 150,000", p.md)
        self.assertIn("(baseline native from run 1)", p.md)

    def test_03_cross_run_baseline_and_exit_notify(self):
        """run 2 (no native) against run 1's native; notify=exit: 1 MMIO exit to the VMM/request"""
        p = Rendered.get("notify")
        self.assertAlmostEqual(p.value(runner="kvm (run 2)", workload=QD1, metric="ns_per_op",
                                       kind="io-slowdown"), 1.5, places=9)
        self.assertIn("baseline native from run 1", p.section("io-" + QD1, "io-" + QD32))
        sec = p.section("io-" + QD1, "io-" + QD32)
        self.assertIn("MMIO / NPF / EPT 1", sec)
        self.assertAlmostEqual(p.value(runner="kvm (run 2)", workload=QD1, source="kvm-stats",
                                       kind="io-exits-per-op"), 4.0, places=9)

    def test_04_page_cache_banner(self):
        """disk.odirect 0: a banner says the page cache is in the path; disks differ too"""
        p = Rendered.get("tmpfs")
        self.assertIn("io-odirect-2-banner", p.ids)
        self.assertNotIn("io-odirect-1-banner", p.ids)
        i = p.text.index('id="io-odirect-2-banner"')
        banner = p.text[i:p.text.index("</div>", i)]
        self.assertIn("page cache", banner)
        self.assertIn("not device figures", banner)
        self.assertIn("tmpfs", banner)
        self.assertIn("io-disk-diff-banner", p.ids)
        i = p.text.index('id="io-disk-diff-banner"')
        banner = p.text[i:p.text.index("</div>", i)]
        self.assertIn("disk.odirect: run 1 1, run 2 0", banner)
        self.assertIn("disk.fs: run 1 ext4, run 2 tmpfs", banner)
        self.assertIn("Page cache in the I/O path", p.md)
        self.assertIn("0 (page cache in the path)", p.section("io", "io-" + FLUSH))

    def test_05_odirect_not_recorded(self):
        """no disk.odirect key: a banner says it is unknown, the table says (not recorded)"""
        p = Rendered.get("no-odirect-key")
        self.assertIn("io-odirect-1-banner", p.ids)
        self.assertIn("O_DIRECT not recorded", p.text)
        self.assertIn("(not recorded)", p.section("io", "io-" + FLUSH))


@unittest.skipUnless(shutil.which("gnuplot"), "gnuplot not installed")
class TestPlot(unittest.TestCase):
    def test_01_latency_plot(self):
        """io-latency plot: drawn, inlined in the section, its data the medians shown"""
        p = Rendered.get("plots")
        self.assertIn("plot-io-latency", p.ids)
        self.assertIn("plot-io-latency", p.section("io", "io-" + FLUSH))
        plots = os.path.join(p.out, "plots")
        for ext in ("png", "svg", "gp"):
            self.assertTrue(os.path.getsize(os.path.join(plots, "io-latency." + ext)) > 0)
        with open(os.path.join(plots, "io-latency.statfile.tsv"), encoding="utf-8") as f:
            blocks = f.read().split("\n\n\n")
        # series order: native, kvm, ...; workloads in report order (flush first, then qd1)
        kvm_qd1 = [float(x) for x in blocks[1].splitlines()[1].split("\t")[1:]]
        self.assertEqual(kvm_qd1, [150000 * 0.95, 150000 * 2.5, 150000 * 5.0])
        with open(os.path.join(plots, "io-latency.gp"), encoding="utf-8") as f:
            script = f.read()
        self.assertIn("failed", script)       # qemu-kvm's flush: a marked gap, not nothing
        self.assertIn("unsupported", script)  # xen-pvh's seq workloads


class TestScale(unittest.TestCase):
    def test_01_no_samples_csv(self):
        """the io section needs no samples.csv: every sample fact is hvbench summarize's"""
        import builtins
        import hvbench_report
        from hvbreport import render as render_mod
        real_open, opened = builtins.open, []

        def guarded(path, *args, **kwargs):
            if os.path.basename(str(path)).startswith("samples.csv"):
                opened.append(path)
            return real_open(path, *args, **kwargs)
        builtins.open = guarded
        try:
            runs = hvbench_report.load_all([IO], False)
            rep = render_mod.Report(runs, "t", 1, None, False)
            html_text, md = render_mod.render_html(rep), render_mod.render_md(rep)
        finally:
            builtins.open = real_open
        self.assertEqual(opened, [])
        self.assertIn('id="io"', html_text)
        self.assertIn("## Block I/O", md)


class TestAbsent(unittest.TestCase):
    def test_01_absent_cell_is_a_row(self):
        """a requested cell with no row at all is an 'absent' row, not left out"""
        p = Rendered.get("absent")
        rows = p.find(runner="qemu-kvm", workload="io/seqwrite-1m", status="absent")
        self.assertTrue(rows)
        sec = p.section("io-io/seqwrite-1m", "exits")
        self.assertIn("the result file breaks FORMAT.md", sec)


class FakeRun:
    def __init__(self, run_id, **meta):
        self.run_id, self.meta = run_id, {k.replace("_", "."): v for k, v in meta.items()}


class TestWarnings(unittest.TestCase):
    def test_01_odirect_values(self):
        """odirect_warnings: 1 none, 0 page cache, absent unknown, other unclear"""
        runs = [FakeRun("a", disk_odirect="1"), FakeRun("b", disk_odirect="0"),
                FakeRun("c"), FakeRun("d", disk_odirect="maybe")]
        got = {wid: title for wid, title, _ in io_section.odirect_warnings(runs, [0, 1, 2, 3])}
        self.assertEqual(got, {"io-odirect-2": "Page cache in the I/O path",
                               "io-odirect-3": "O_DIRECT not recorded",
                               "io-odirect-4": "O_DIRECT unclear"})

    def test_02_only_io_runs(self):
        """runs without io/* series raise no io banner"""
        runs = [FakeRun("a", disk_odirect="0"), FakeRun("b")]
        self.assertEqual(io_section.odirect_warnings(runs, []), [])
        self.assertEqual(io_section.difference_warnings(runs, [0], []), [])


class TestNotes(unittest.TestCase):
    def test_01_common_note(self):
        """common_note: the threads the notes share, without one repetition's figures"""
        c = io_section.common_note
        self.assertEqual(c(["host CPU of A (x): 12 ns over 5 operations, REP_BEGIN..REP_END",
                            "host CPU of A (x): 97 ns over 7 operations, REP_BEGIN..REP_END"]),
                         "host CPU of A (x)")
        self.assertEqual(c(["host CPU of A: 12 ns over 5 operations"]), "host CPU of A")
        self.assertEqual(c(["native analogue: getppid()"]), "native analogue: getppid()")
        self.assertEqual(c(["one", "two", "three"]), "one; two (+1 more)")
        self.assertEqual(c([]), "")


def main():
    try:
        return taplib.run_classes(TestFixture, TestSection, TestBanners, TestScale, TestAbsent, TestPlot, TestWarnings, TestNotes)
    finally:
        Rendered.cleanup()


if __name__ == "__main__":
    sys.exit(main())
