#!/usr/bin/env python3
"""Tests of reports/hvbench_report.py on the fixture result directories.

Output is TAP-like (`ok N - desc`, `not ok N - desc`, `ok N # SKIP why`)
because tests/run aggregates TAP lines from every test program.  Numbers
are checked against medians and ratios computed by hand from the HAND cells
of tests/fixtures/results/make_fixtures.py, not against the code under test.
"""

import csv
import html
import html.parser
import os
import re
import shutil
import json
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taplib import TapResult  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "reports", "hvbench_report.py")
FIX = os.path.join(ROOT, "tests", "fixtures", "results")
COMPLETE = os.path.join(FIX, "20261126-101500-fixhost-4242")
TCG = os.path.join(FIX, "20261126-120000-fixhost-4444")
PARTIAL = os.path.join(FIX, "20261126-113000-fixhost-4343")
MALFORMED = os.path.join(ROOT, "tests", "fixtures", "malformed")
HAVE_GNUPLOT = shutil.which("gnuplot") is not None


def run_report(*args, env=None):
    """Run the CLI as `hvbench report` will: a separate python3 process."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, SCRIPT] + list(args), capture_output=True, text=True,
                          env=e, timeout=300)


class Page(html.parser.HTMLParser):
    """Collects ids, data-* cells, table ids, images and links of report.html."""

    def __init__(self):
        super().__init__()
        self.ids, self.cells, self.imgs, self.links = set(), [], [], []
        self.opened, self.closed = {}, {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.opened[tag] = self.opened.get(tag, 0) + 1
        if "id" in a:
            self.ids.add(a["id"])
        if "data-value" in a or "data-key" in a or "data-status" in a:
            self.cells.append(a)
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        if tag in ("a", "link", "script"):
            self.links.append(a.get("href") or a.get("src") or "")

    def handle_endtag(self, tag):
        self.closed[tag] = self.closed.get(tag, 0) + 1

    def value(self, **want):
        """The data-value of the cells whose data-* attributes match `want`.

        The same number appears in several tables (overhead, micro, all
        metrics); they must agree, which this checks too.
        """
        hits = [c for c in self.cells
                if all(c.get("data-" + k.replace("_", "-")) == v for k, v in want.items())]
        if not hits:
            raise AssertionError(f"no cell matches {want}")
        values = {float(c["data-value"]) for c in hits}
        if len(values) != 1:
            raise AssertionError(f"tables disagree on {want}: {sorted(values)}")
        return values.pop()


def parse(path):
    p = Page()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    p.feed(text)
    p.text = text
    return p


def copy_fixture(src, tmp, name=None):
    dst = os.path.join(tmp, name or os.path.basename(src))
    shutil.copytree(src, dst)
    return dst


def edit_meta(path, key, value):
    """Set one meta.csv key in a copied fixture."""
    meta = os.path.join(path, "meta.csv")
    with open(meta, newline="") as f:
        rows = list(csv.reader(f))
    found = False
    for r in rows[1:]:
        if r[0] == key:
            r[1], found = value, True
    if not found:
        rows.append([key, value])
    with open(meta, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


class Rendered:
    """Renders the main fixture once (complete + tcg runs); tests share it."""
    tmp = out = page = proc = None

    @classmethod
    def get(cls):
        if cls.page is None:
            cls.tmp = tempfile.mkdtemp(prefix="hvb-report-test-")
            cls.out = os.path.join(cls.tmp, "out")
            cls.proc = run_report("--out", cls.out, "--title", "fixture report", COMPLETE, TCG)
            if cls.proc.returncode == 0:
                cls.page = parse(os.path.join(cls.out, "report.html"))
        return cls


class TestCli(unittest.TestCase):
    def test_01_usage_no_args(self):
        """no RESULT_DIR is a usage error (exit 2)"""
        r = run_report()
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("usage", r.stderr.lower())

    def test_02_usage_bad_option(self):
        """an unknown option is a usage error (exit 2)"""
        self.assertEqual(run_report("--frobnicate", COMPLETE).returncode, 2)

    def test_03_renders(self):
        """complete + tcg fixture renders report.html and summary.md (exit 0)"""
        R = Rendered.get()
        self.assertEqual(R.proc.returncode, 0, R.proc.stderr)
        self.assertEqual(R.proc.stdout.strip(), os.path.join(R.out, "report.html"))
        self.assertTrue(os.path.getsize(os.path.join(R.out, "summary.md")) > 0)

    def test_04_default_out(self):
        """without --out the report goes to ./hvbench-report/<run-id>, never the source tree"""
        with tempfile.TemporaryDirectory() as cwd:
            r = subprocess.run([sys.executable, SCRIPT, "--no-plots", TCG], cwd=cwd,
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr)
            out = os.path.join(os.path.realpath(cwd), "hvbench-report",
                               "20261126-120000-fixhost-4444")
            self.assertEqual(r.stdout.strip(), os.path.join(out, "report.html"))
            self.assertTrue(os.path.getsize(os.path.join(out, "summary.md")) > 0)
        self.assertFalse(os.path.exists(os.path.join(ROOT, "reports", "out",
                                                     "20261126-120000-fixhost-4444")))


class TestStructure(unittest.TestCase):
    def setUp(self):
        self.R = Rendered.get()
        if self.R.page is None:
            self.fail("report did not render: " + self.R.proc.stderr)
        self.p = self.R.page

    def test_05_sections(self):
        """every section is present"""
        for sid in ("context", "matrix", "overhead", "micro", "chase", "exits", "counters",
                    "problems", "all", "meta", "method", "overhead-table", "micro-table",
                    "chase-table", "exits-table", "counter-support", "problems-table"):
            self.assertIn(sid, self.p.ids)

    def test_06_ratio_of_a_rate(self):
        """cpu/sha256 kvm: 1e9/1025 vs 1e9/1000 ops/s -> slowdown 1.025 (hand-computed)"""
        # A rate workload stands by ops_per_s, as in the run summary (the
        # fixture has no primary.* keys: the legacy order applies).
        self.assertAlmostEqual(self.p.value(runner="native", workload="cpu/sha256",
                                            metric="ops_per_s", kind="median"), 1e6, places=2)
        self.assertAlmostEqual(self.p.value(runner="kvm", workload="cpu/sha256",
                                            metric="ops_per_s", kind="median"), 1e9 / 1025,
                               places=2)
        self.assertAlmostEqual(self.p.value(runner="kvm", workload="cpu/sha256",
                                            metric="ops_per_s", kind="slowdown"), 1.025, places=6)

    def test_07_ratio_higher_is_better(self):
        """mem/stream-triad kvm: bandwidth 11400 vs 12000 MB/s -> slowdown 12000/11400"""
        self.assertEqual(self.p.value(runner="kvm", workload="mem/stream-triad",
                                      metric="bandwidth", kind="median"), 11400.0)
        self.assertAlmostEqual(self.p.value(runner="kvm", workload="mem/stream-triad",
                                            metric="bandwidth", kind="slowdown"),
                               12000.0 / 11400.0, places=12)

    def test_08_micro_median(self):
        """micro/hypercall kvm: median of 412.5 405 420 398.5 410 is 410 ns"""
        self.assertEqual(self.p.value(runner="kvm", workload="micro/hypercall",
                                      metric="ns_per_op", kind="median"), 410.0)

    def test_39_floor_beside_exit_figures(self):
        """kvm's userspace exit figures have the bare KVM_RUN floor of the same run beside them"""
        with open(os.path.join(COMPLETE, "samples.csv"), newline="") as f:
            vals = sorted(float(r["value"]) for r in csv.DictReader(f)
                          if r["runner"] == "kvm" and r["metric"] == "ns_per_op"
                          and r["workload"] == "micro/bound-bare-kvm-run")
        self.assertEqual(len(vals), 5)
        for w in ("micro/pio-out-user", "micro/pio-in-user", "micro/mmio-write-user"):
            self.assertAlmostEqual(self.p.value(runner="kvm", workload=w, metric="floor",
                                                kind="median"), vals[2], places=9)
        t = self.p.text[self.p.text.index('id="micro-floor"'):]
        t = t[:t.index("</table>")]
        self.assertIn("floor: bare KVM_RUN exit", t)
        self.assertIn("bounds the kvm runner", self.p.text)
        self.assertIn(f"{4200 / vals[2]:.2f}"[:4], t)     # × floor of pio-out-user, ~1.05
        # Only the kvm runner measured it, and only exit benchmarks are bounded.
        self.assertNotIn(">qemu-kvm<", t)
        self.assertNotIn("micro/hypercall", t)

    def test_09_ci_brackets_estimate(self):
        """the bootstrap CI printed for kvm cpu/sha256 brackets 1.025 and is reproducible"""
        m = re.search(r'data-workload="cpu/sha256" data-metric="ops_per_s" data-kind="slowdown"'
                      r'[^>]*>1\.025×</b>.*?\[([\d.]+)×, ([\d.]+)×\]', self.p.text, re.S)
        self.assertIsNotNone(m)
        lo, hi = float(m.group(1)), float(m.group(2))
        self.assertTrue(lo <= 1.025 <= hi, (lo, hi))
        again = os.path.join(self.R.tmp, "again")
        r = run_report("--no-plots", "--out", again, COMPLETE, TCG)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(m.group(0), parse(os.path.join(again, "report.html")).text)

    def test_10_problems_listed(self):
        """every skipped / unsupported / failed reason of the fixtures is listed"""
        table = self.p.text[self.p.text.index('id="problems-table"'):]
        for reason in ("rdmsr needs ring 0", "PVH domU has no device model",
                       "guest did not wake within the 2 s watchdog",
                       "guest has no virtual PMU", "EOPNOTSUPP", "TCG guest has no PMU",
                       "--quick: large working sets skipped under emulation",
                       "per-domain exit counters need xentrace"):
            self.assertIn(html_escape(reason), table)
        self.assertIn({"data-runner": "native", "data-workload": "micro/msr-read",
                       "data-status": "skipped"},
                      [{k: v for k, v in c.items() if k in ("data-runner", "data-workload",
                                                              "data-status")}
                       for c in self.p.cells])

    def test_11_counters_multiplexed_unsupported(self):
        """multiplexed and unsupported counters are shown as such"""
        sup = self.p.text[self.p.text.index('id="counter-support"'):]
        sup = sup[:sup.index("</table>")]
        self.assertRegex(sup, r"multiplexed: ran ≥ 50%")
        self.assertIn("unsupported", sup)

    def test_12_every_meta_key(self):
        """every meta.csv key of both runs is in the metadata table"""
        keys = {c["data-key"] for c in self.p.cells if "data-key" in c}
        for d in (COMPLETE, TCG):
            with open(os.path.join(d, "meta.csv"), newline="") as f:
                for row in list(csv.reader(f))[1:]:
                    self.assertIn(row[0], keys)

    def test_13_emulated_labelled(self):
        """qemu-tcg is labelled emulation-only and kept out of the overhead charts"""
        self.assertIn("emulation-banner", self.p.ids)
        self.assertIn("emulation: functional only, not performance", self.p.text)
        if HAVE_GNUPLOT:
            with open(os.path.join(self.R.out, "plots", "overhead-cpu.gp")) as f:
                self.assertNotIn("qemu-tcg", f.read())

    def test_14_units_direction(self):
        """every numeric table states unit and direction"""
        for tid in ("overhead-table", "micro-table", "chase-table", "exits-table", "all-table"):
            t = self.p.text[self.p.text.index(f'id="{tid}"'):]
            t = t[:t.index("</thead>")]
            self.assertRegex(t, r"(lower|higher) is better|direction", tid)
        self.assertIn("ns, ↓ lower is better", self.p.text)
        self.assertIn("MB/s, ↑ higher is better", self.p.text)

    def test_15_self_contained(self):
        """the page loads nothing from the network and its tags balance"""
        for link in self.p.links + self.p.imgs:
            self.assertFalse(link.startswith(("http:", "https:", "//")), link)
        for tag in ("table", "tr", "div", "details", "figure"):
            self.assertEqual(self.p.opened.get(tag, 0), self.p.closed.get(tag, 0), tag)

    def test_16_plots(self):
        """gnuplot renders PNG and SVG for every plot, PNGs are inlined"""
        if not HAVE_GNUPLOT:
            self.skipTest("gnuplot not installed")
        for name in ("overhead-micro", "overhead-cpu", "overhead-mem", "micro-dist", "chase",
                     "chase-ratio", "exits"):
            for ext in ("png", "svg"):
                path = os.path.join(self.R.out, "plots", f"{name}.{ext}")
                self.assertTrue(os.path.getsize(path) > 1000, path)
        self.assertTrue(any(src.startswith("data:image/png;base64,") for src in self.p.imgs))
        self.assertNotIn("plots-banner", self.p.ids)

    def test_17_markdown(self):
        """summary.md has the overhead row and the reasons"""
        with open(os.path.join(self.R.out, "summary.md"), encoding="utf-8") as f:
            md = f.read()
        self.assertRegex(md, r"\| cpu/sha256 \| ops_per_s \(ops/s, higher is better\) \| "
                             r"1,000,000 \| 975,610: 1\.025×")
        self.assertIn("rdmsr needs ring 0", md)
        self.assertIn("qemu-tcg**: emulation: functional only, not performance", md)

    def test_18_chase_parsed(self):
        """pointer-chase sizes are parsed from the names and ordered by size"""
        t = self.p.text[self.p.text.index('id="chase-table"'):]
        sizes = re.findall(r"<td class=n>(\d+ [KMG]iB)</td>", t[:t.index("</table>")])
        self.assertEqual(sizes, ["16 KiB", "256 KiB", "4 MiB", "32 MiB", "128 MiB", "512 MiB"])

    def test_32_headline_geomean(self):
        """'At a glance' cpu/* for kvm is the geometric mean of the three kvm cpu slowdowns"""
        xs = [self.p.value(runner="kvm", workload=w, metric="ops_per_s", kind="slowdown")
              for w in ("cpu/matmul", "cpu/sha256", "cpu/sort")]
        g = (xs[0] * xs[1] * xs[2]) ** (1 / 3)
        self.assertAlmostEqual(self.p.value(runner="kvm", group="cpu/*", kind="geomean"), g,
                               places=12)
        self.assertNotIn('data-group="micro/*"', self.p.text)


def html_escape(s):
    return html.escape(s, quote=True)


class TestPartial(unittest.TestCase):
    def test_19_partial_refused(self):
        """a run with status running is refused without --allow-partial (exit 1)"""
        with tempfile.TemporaryDirectory() as tmp:
            r = run_report("--out", tmp, PARTIAL)
            self.assertEqual(r.returncode, 1)
            self.assertIn("--allow-partial", r.stderr)
            self.assertIn("'running'", r.stderr)
            self.assertFalse(os.path.exists(os.path.join(tmp, "report.html")))

    def test_20_partial_flagged(self):
        """with --allow-partial the header says PARTIAL and the torn row is reported"""
        with tempfile.TemporaryDirectory() as tmp:
            r = run_report("--allow-partial", "--no-plots", "--out", tmp, PARTIAL)
            self.assertEqual(r.returncode, 0, r.stderr)
            p = parse(os.path.join(tmp, "report.html"))
            self.assertIn("partial-banner", p.ids)
            self.assertIn("[PARTIAL]</title>", p.text)
            self.assertIn("dropped a torn last row", p.text)
            self.assertIn("PARTIAL", r.stderr)

    def test_21_interrupted_refused(self):
        """an interrupted run is refused too, and names where it stopped"""
        with tempfile.TemporaryDirectory() as tmp:
            d = copy_fixture(TCG, tmp)
            edit_meta(d, "status", "interrupted")
            edit_meta(d, "interrupted_at", "qemu-tcg cpu/sha256 rep 2")
            r = run_report("--out", os.path.join(tmp, "o"), d)
            self.assertEqual(r.returncode, 1)
            self.assertIn("rep 2", r.stderr)


    def test_21a_failed_refused_then_flagged(self):
        """a run stopped by a failed write (status failed, data in *.partial) is
        incomplete: refused with its reason, rendered as PARTIAL with --allow-partial"""
        with tempfile.TemporaryDirectory() as tmp:
            d = copy_fixture(PARTIAL, tmp)
            why = "cannot write counters.csv.partial: No space left on device (errno 28)"
            edit_meta(d, "status", "failed")
            edit_meta(d, "failed_reason", why)
            r = run_report("--out", os.path.join(tmp, "o"), d)
            self.assertEqual(r.returncode, 1)
            self.assertIn("'failed'", r.stderr)
            self.assertIn(why, r.stderr)
            self.assertIn("--allow-partial", r.stderr)
            r = run_report("--allow-partial", "--no-plots", "--out", os.path.join(tmp, "o"), d)
            self.assertEqual(r.returncode, 0, r.stderr)
            p = parse(os.path.join(tmp, "o", "report.html"))
            self.assertIn("partial-banner", p.ids)
            self.assertIn("writing the results failed", p.text)
            self.assertIn(html_escape(why), p.text)


class TestErrors(unittest.TestCase):
    def corrupt(self, tmp, fname, line_no, new_line):
        d = copy_fixture(TCG, tmp)
        path = os.path.join(d, fname)
        with open(path) as f:
            lines = f.read().split("\n")
        lines[line_no - 1] = new_line(lines[line_no - 1])
        with open(path, "w") as f:
            f.write("\n".join(lines))
        return d

    def test_22_bad_number(self):
        """a non-numeric value is an error naming samples.csv and the line"""
        with tempfile.TemporaryDirectory() as tmp:
            def bad_value(line):
                fields = line.split(",")
                fields[7] = "12.5x"
                return ",".join(fields)
            d = self.corrupt(tmp, "samples.csv", 5, bad_value)
            r = run_report("--out", os.path.join(tmp, "o"), d)
            self.assertEqual(r.returncode, 1)
            # hvbench summarize's reader found it; its words, as the report's own
            self.assertEqual(r.stderr, f"hvbench report: error: {d}/samples.csv:5: column "
                                       f"value: '12.5x' is not a decimal number\n")

    def test_23_field_count(self):
        """a row with a missing field is an error naming counters.csv and the line"""
        with tempfile.TemporaryDirectory() as tmp:
            d = self.corrupt(tmp, "counters.csv", 3, lambda l: l.rsplit(",", 1)[0])
            r = run_report("--out", os.path.join(tmp, "o"), d)
            self.assertEqual(r.returncode, 1)
            self.assertIn("counters.csv:3:", r.stderr)

    def test_24_missing_csv(self):
        """a missing exits.csv is an error naming it"""
        with tempfile.TemporaryDirectory() as tmp:
            d = copy_fixture(TCG, tmp)
            os.remove(os.path.join(d, "exits.csv"))
            r = run_report("--out", os.path.join(tmp, "o"), d)
            self.assertEqual(r.returncode, 1)
            self.assertIn("exits.csv: missing", r.stderr)

    def test_25_not_result_dir(self):
        """a directory without meta.csv and without runs in it is not a result dir; a
        folder of runs stands for its runs (here refused for its incomplete one)"""
        with tempfile.TemporaryDirectory() as tmp:
            empty = os.path.join(tmp, "empty")
            os.mkdir(empty)
            r = run_report("--out", os.path.join(tmp, "o"), empty)
            self.assertEqual(r.returncode, 1)
            self.assertIn("not a result directory", r.stderr)
        r = run_report("--out", tempfile.gettempdir() + "/hvb-never", FIX)
        self.assertEqual(r.returncode, 1)
        self.assertIn("20261126-113000-fixhost-4343: run is incomplete", r.stderr)
        self.assertEqual(run_report(os.path.join(FIX, "nonexistent")).returncode, 1)

    def test_26_units_disagree(self):
        """the same metric in two units is an error naming both places"""
        with tempfile.TemporaryDirectory() as tmp:
            d = self.corrupt(tmp, "samples.csv", 2, lambda l: l.replace(",ns,lower,", ",us,lower,"))
            r = run_report("--out", os.path.join(tmp, "o"), d, COMPLETE)
            self.assertEqual(r.returncode, 1)
            self.assertIn("units disagree", r.stderr)
            self.assertIn("samples.csv:2", r.stderr)

    def test_26a_units_disagree_across_series(self):
        """a series in another unit or direction than another runner's is an error naming both
        (the check runs on hvbench summarize's series: the first line of each)"""
        for old, new, what in ((",ns,lower,", ",us,lower,", "is in unit 'us' but "),
                               (",ns,lower,", ",ns,higher,", "says better=higher but ")):
            with tempfile.TemporaryDirectory() as tmp:
                d = copy_fixture(TCG, tmp)
                path = os.path.join(d, "samples.csv")
                with open(path) as f:
                    lines = f.read().split("\n")
                # every qemu-tcg micro/hypercall ns_per_op row: the whole series
                lines = [l.replace(old, new) if ",micro/hypercall,ns_per_op," in l else l
                         for l in lines]
                with open(path, "w") as f:
                    f.write("\n".join(lines))
                r = run_report("--out", os.path.join(tmp, "o"), COMPLETE, d)
                self.assertEqual(r.returncode, 1)
                self.assertIn(f"{d}/samples.csv:2: micro/hypercall ns_per_op {what}"
                              f"{COMPLETE}/samples.csv:2 ", r.stderr)

    def test_27_bad_header(self):
        """a wrong header is an error naming the file and line 1"""
        with tempfile.TemporaryDirectory() as tmp:
            d = self.corrupt(tmp, "exits.csv", 1, lambda l: l.replace("reason", "cause"))
            r = run_report("--out", os.path.join(tmp, "o"), d)
            self.assertEqual(r.returncode, 1)
            self.assertIn("exits.csv:1:", r.stderr)

    def test_28_status_without_note(self):
        """a skipped row without a reason is rejected (a reason is always owed)"""
        with tempfile.TemporaryDirectory() as tmp:
            d = self.corrupt(tmp, "samples.csv", 38, lambda l: l.rsplit(",", 1)[0] + ",")
            r = run_report("--out", os.path.join(tmp, "o"), d)
            self.assertEqual(r.returncode, 1)
            self.assertIn("samples.csv:38:", r.stderr)
            self.assertIn("without a note", r.stderr)


class TestScale(unittest.TestCase):
    def test_40_samples_read_by_summarize_only(self):
        """the report's Python never opens samples.csv: every sample fact is hvbench summarize's"""
        import builtins
        sys.path.insert(0, os.path.join(ROOT, "reports"))
        import hvbench_report
        from hvbreport import render
        real_open, opened = builtins.open, []

        def guarded(path, *args, **kwargs):
            if os.path.basename(str(path)).startswith("samples.csv"):
                opened.append(path)
            return real_open(path, *args, **kwargs)
        builtins.open = guarded
        try:
            runs = hvbench_report.load_all([COMPLETE, TCG, PARTIAL], True)
            rep = render.Report(runs, "t", 1, None, True)
            html_text, md = render.render_html(rep), render.render_md(rep)
        finally:
            builtins.open = real_open
        self.assertEqual(opened, [])
        self.assertIn("samples.csv.partial: dropped a torn last row at line 38", html_text)
        self.assertIn("| micro/hypercall | kvm (run 1) | 1,191,183 |", md)


class TestEnvironment(unittest.TestCase):
    def test_29_no_gnuplot(self):
        """without gnuplot the report still renders tables and says why plots are missing"""
        with tempfile.TemporaryDirectory() as tmp:
            r = run_report("--out", tmp, COMPLETE, env={"HVB_GNUPLOT": "/nonexistent/gnuplot"})
            self.assertEqual(r.returncode, 0, r.stderr)
            p = parse(os.path.join(tmp, "report.html"))
            self.assertIn("plots-banner", p.ids)
            self.assertIn("Plots were not drawn", p.text)
            self.assertIn("/nonexistent/gnuplot", p.text)
            self.assertIn("overhead-table", p.ids)
            self.assertIn("plots not drawn", r.stderr)

    def test_30_xen_nesting_is_emulated(self):
        """a Xen runner with a nesting value is labelled emulated"""
        with tempfile.TemporaryDirectory() as tmp:
            d = copy_fixture(COMPLETE, tmp)
            edit_meta(d, "runner.xen-pvh.nesting", "L2: Xen inside qemu-tcg")
            r = run_report("--no-plots", "--out", os.path.join(tmp, "o"), d)
            self.assertEqual(r.returncode, 0, r.stderr)
            p = parse(os.path.join(tmp, "o", "report.html"))
            banner = p.text[p.text.index('id="emulation-banner"'):]
            self.assertIn("xen-pvh", banner[:banner.index("</div>")])

    def test_33_emulation_rules(self):
        """emulation detection follows what the runners write (runners/xen, cmd_run)"""
        sys.path.insert(0, os.path.join(ROOT, "reports"))
        from hvbreport import model

        class FakeRun:
            def __init__(self, meta):
                self.meta = meta
        cases = [
            ({"runner.xen-pvh.nesting": "none detected"}, "xen-pvh", False),
            ({"runner.xen-pvh.nesting": "xen under qemu-tcg"}, "xen-pvh", True),
            ({"runner.xen-pvh.nesting": "xen under qemu (kvm or other)"}, "xen-pvh", True),
            ({"runner.kvm.emulated": "yes: functional evidence only, not performance"}, "kvm", True),
            ({"runner.kvm.emulated": "no"}, "kvm", False),
            ({}, "qemu-tcg", True),
            ({"runner.qemu-x.accel": "tcg"}, "qemu-x", True),
            ({"runner.qemu-x.accelerator": "tcg"}, "qemu-x", True),  # as runners/qemu writes it
            ({"runner.qemu-x.accelerator": "kvm"}, "qemu-x", False),
            ({"nesting": "pvm (host is a guest)"}, "kvm", False),
        ]
        for meta, runner, want in cases:
            got = model.emulation_reason(FakeRun(meta), runner) is not None
            self.assertEqual(got, want, (meta, runner))

    def test_34_exit_totals_and_overlap(self):
        """an 'all' exit row is the total, not a reason; overlapping reasons are flagged"""
        with tempfile.TemporaryDirectory() as tmp:
            d = copy_fixture(COMPLETE, tmp)
            rid = "20261126-101500-fixhost-4242"
            with open(os.path.join(d, "exits.csv"), "a") as f:
                for rep in range(5):  # KVM binary stats style: a total plus overlapping stats
                    f.write(f"{rid},kvm,micro/cpuid,{rep},all,1600010,\n")
                    f.write(f"{rid},kvm,micro/cpuid,{rep},insn_emulation,1600000,\n")
                    f.write(f"{rid},kvm,micro/cpuid,{rep},pf_emulate,0,\n")
            r = run_report("--no-plots", "--out", os.path.join(tmp, "o"), d)
            self.assertEqual(r.returncode, 0, r.stderr)
            p = parse(os.path.join(tmp, "o", "report.html"))
            self.assertEqual(p.value(runner="kvm", workload="micro/cpuid", kind="exits-total"),
                             1600010.0)
            self.assertNotIn('data-reason="all"', p.text)
            row = p.text[p.text.index('data-workload="micro/cpuid" data-kind="exits-total"'):]
            row = row[:row.index("</tr>")]
            self.assertIn("overlap", row)
            self.assertIn("pf_emulate", row)  # zero here, said as such

    def test_35_no_cross_machine_baseline(self):
        """a run without native is not compared with another machine's native run"""
        with tempfile.TemporaryDirectory() as tmp:
            d = copy_fixture(TCG, tmp)
            edit_meta(d, "host_name", "otherhost")
            r = run_report("--no-plots", "--out", os.path.join(tmp, "o"), COMPLETE, d)
            self.assertEqual(r.returncode, 0, r.stderr)
            p = parse(os.path.join(tmp, "o", "report.html"))
            self.assertNotIn('data-runner="qemu-tcg" data-workload="cpu/sha256" '
                             'data-metric="ops_per_s" data-kind="slowdown"', p.text)
            self.assertIn("no cross-machine baseline", p.text)

    def test_36_page_size_banner(self):
        """a run without page_size (native 4 KiB beside guest 2 MiB) gets the banner; 4k does not"""
        R = Rendered.get()
        self.assertIsNotNone(R.page, R.proc.stderr if R.proc else "")
        self.assertIn("page-size-banner", R.page.ids)
        self.assertIn("predates --page-size", R.page.text)
        with tempfile.TemporaryDirectory() as tmp:
            d = copy_fixture(COMPLETE, tmp)
            edit_meta(d, "page_size", "4k")
            r = run_report("--no-plots", "--out", os.path.join(tmp, "o"), d)
            self.assertEqual(r.returncode, 0, r.stderr)
            p = parse(os.path.join(tmp, "o", "report.html"))
            self.assertNotIn("page-size-banner", p.ids)

    def test_38_context_banners(self):
        """--quick, a nested (PVM) host and a busy host each get a banner; none otherwise"""
        with tempfile.TemporaryDirectory() as tmp:
            d = copy_fixture(COMPLETE, tmp)
            r = run_report("--no-plots", "--out", os.path.join(tmp, "plain"), d)
            self.assertEqual(r.returncode, 0, r.stderr)
            p = parse(os.path.join(tmp, "plain", "report.html"))
            for b in ("quick-banner", "nested-banner", "busy-banner"):
                self.assertNotIn(b, p.ids)
            edit_meta(d, "quick", "1")
            edit_meta(d, "nesting", "pvm (/dev/kvm is kvm_pvm: guest ring 0 is emulated)")
            edit_meta(d, "load.kvm.3", "1.5 7.25")  # cpu_count is 2
            r = run_report("--no-plots", "--out", os.path.join(tmp, "o"), d)
            self.assertEqual(r.returncode, 0, r.stderr)
            p = parse(os.path.join(tmp, "o", "report.html"))
            for b in ("quick-banner", "nested-banner", "busy-banner"):
                self.assertIn(b, p.ids)
            self.assertIn("peak 7.25 at kvm.3", p.text)
            with open(os.path.join(tmp, "o", "summary.md"), encoding="utf-8") as f:
                md = f.read()
            self.assertIn("**Busy host**", md)
            self.assertIn("**Nested host (PVM)**", md)

    def test_37_run_id_traversal(self):
        """a run_id that climbs out of hvbench-report/ is refused; nothing is written outside"""
        with tempfile.TemporaryDirectory() as tmp:
            # a copy of reports/, and a working directory (where the report
            # would go), deep enough that ../../../ stays inside tmp
            reports = os.path.join(tmp, "a", "b", "c", "reports")
            shutil.copytree(os.path.join(ROOT, "reports"), reports,
                            ignore=shutil.ignore_patterns("out", "__pycache__"))
            d = copy_fixture(TCG, tmp)
            edit_meta(d, "run_id", "../../../escaped")
            r = subprocess.run([sys.executable, os.path.join(reports, "hvbench_report.py"),
                                "--no-plots", d], cwd=os.path.dirname(reports),
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("run_id '../../../escaped' is not a run id", r.stderr)
            written = [os.path.join(dp, n) for dp, _, names in os.walk(tmp) for n in names
                       if n in ("report.html", "summary.md")]
            self.assertEqual(written, [])

    def test_39_statistics_from_summarize(self):
        """the report's numbers are hvbench summarize's, and a missing binary is a clear error"""
        exe = os.environ.get("HVBENCH")
        if not exe or not os.access(exe, os.X_OK):
            self.skipTest("HVBENCH not set to a built hvbench")
        doc = json.loads(subprocess.run([exe, "summarize", COMPLETE, TCG], capture_output=True,
                                        check=True).stdout)
        series = doc["series"]
        r = next(r for r in doc["ratios"] if r["workload"] == "cpu/sha256" and r["ci"]
                 and series[r["base"]]["runner"] == "native"
                 and series[r["cand"]]["runner"] == "kvm" and series[r["base"]]["run"] == 0
                 and series[r["cand"]]["run"] == 0)
        m = re.search(r'data-runner="kvm" data-workload="cpu/sha256" data-metric="ops_per_s" '
                      r'data-kind="slowdown" data-value="([\d.e+-]+)"', Rendered.get().page.text)
        self.assertIsNotNone(m)
        self.assertEqual(float(m.group(1)), r["slowdown"])
        with tempfile.TemporaryDirectory() as tmp:
            r = run_report("--no-plots", "--out", os.path.join(tmp, "o"), COMPLETE,
                           env={"HVB_HVBENCH": os.path.join(tmp, "no-such-hvbench")})
            self.assertEqual(r.returncode, 1)
            self.assertIn("no-such-hvbench: not an executable hvbench binary", r.stderr)

    def test_31_duplicate_dir(self):
        """the same run given twice is an error naming both (path, spelling, symlink, copy)"""
        with tempfile.TemporaryDirectory() as tmp:
            link = os.path.join(tmp, "latest")
            os.symlink(TCG, link)
            copy = copy_fixture(TCG, tmp, "copy")
            for a, b, why in ((TCG, TCG, "are the same directory"),
                              (TCG, TCG + "/", "are the same directory"),
                              (TCG, link, "are the same directory"),
                              (TCG, copy, "hold the same run (run_id 20261126-120000-fixhost-4444")):
                r = run_report("--no-plots", "--out", os.path.join(tmp, "o"), a, b)
                self.assertEqual(r.returncode, 1, (a, b))
                self.assertIn("more than once", r.stderr)
                self.assertIn(why, r.stderr)
                self.assertIn(f"{a} and {b} ", r.stderr)


def gp_array(text, name):
    """The values of `array NAME[n] = ['a', 'b']` in a driver script, or None."""
    m = re.search(r"^array " + name + r"\[\d+\] = \[(.*)\]$", text, re.M)
    if m is None:
        return None
    return [v.replace("''", "'") for v in re.findall(r"'((?:[^']|'')*)'", m.group(1))]


class TestPlots(unittest.TestCase):
    """Plot conventions of the report (reports/README.md, "Plots")."""

    def setUp(self):
        if not HAVE_GNUPLOT:
            self.skipTest("gnuplot not installed")
        self.R = Rendered.get()
        if self.R.page is None:
            self.fail("report did not render: " + self.R.proc.stderr)
        self.dir = os.path.join(self.R.out, "plots")

    def script(self, name):
        with open(os.path.join(self.dir, name + ".gp"), encoding="utf-8") as f:
            return f.read()

    def test_p1_colours_stable_distinct(self):
        """a series has one colour in every plot, series differ, exit reasons use none of them"""
        colour_of = {}
        for fn in sorted(os.listdir(self.dir)):
            if not fn.endswith(".gp") or fn == "exits.gp":
                continue
            text = self.script(fn[:-3])
            titles, colours = gp_array(text, "TITLES"), gp_array(text, "COLORS")
            self.assertEqual(len(titles), len(colours), fn)
            for t, c in zip(titles, colours):
                self.assertEqual(colour_of.setdefault(t, c), c, f"{t} changes colour in {fn}")
        for runner in ("native", "kvm", "qemu-kvm", "xen-pvh"):
            self.assertIn(runner, colour_of)
        self.assertEqual(len(set(colour_of.values())), len(colour_of), colour_of)
        reasons = gp_array(self.script("exits"), "RCOLORS")
        self.assertTrue(reasons)
        self.assertFalse(set(c.lower() for c in reasons) & set(c.lower() for c in
                                                               colour_of.values()))
        # the page's colour key shows the same colours
        for title, c in colour_of.items():
            runner = title.replace(" (emulated)", "")
            self.assertTrue(f'data-runner="{html_escape(runner)}" data-color="{c}"'
                            in self.R.page.text, f"no colour key {c} for {runner}")

    def test_p2_more_series_than_colours(self):
        """past the palette, series still differ (colour, dash/point/pattern variant)"""
        sys.path.insert(0, os.path.join(ROOT, "reports"))
        from hvbreport import plots

        class S:
            def __init__(self, runner, label):
                self.runner, self.label = runner, label
        many = [S("kvm", f"kvm (run {i})") for i in range(1, 20)]
        st = plots.Styles(many)
        styles = [st.style(s) for s in many]
        self.assertEqual(len(set(styles)), len(many))
        self.assertEqual(st.style(many[3]), styles[3])  # asking again changes nothing
        self.assertEqual(styles[0][0], plots.RUNNER_COLORS["kvm"])

    def test_p3_skipped_marked(self):
        """a skipped / unsupported cell is a labelled outline at its bar, not a gap"""
        text = self.script("workloads-micro")
        self.assertRegex(text, r"set label \d+ ''skipped'' at first 1\.0,")   # native
        self.assertIn("''unsupported''", text)                               # xen-pvh
        with tempfile.TemporaryDirectory() as tmp:
            d = copy_fixture(COMPLETE, tmp)
            path = os.path.join(d, "samples.csv")
            with open(path) as f:
                lines = f.read().splitlines()
            keep = [l for l in lines if ",kvm,cpu/sha256," not in l]
            self.assertLess(len(keep), len(lines))
            keep.append("20261126-101500-fixhost-4242,kvm,cpu/sha256,,,,,,skipped,"
                        "test: skipped on purpose")
            with open(path, "w") as f:
                f.write("\n".join(keep) + "\n")
            out = os.path.join(tmp, "o")
            r = run_report("--out", out, d)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(out, "plots", "overhead-cpu.gp"), encoding="utf-8") as f:
                gp = f.read()
            # kvm is the first series: its sha256 bar (group 1) sits left of x = 1
            m = re.search(r"set object (\d+) rect from first ([\d.]+), graph 0.5 to first "
                          r"([\d.]+), graph 0.8 fs empty border lc rgb '#0072B2'", gp)
            self.assertIsNotNone(m, gp)
            self.assertTrue(float(m.group(2)) < 1 < float(m.group(3)) + 0.5)
            self.assertIn(f"set label {m.group(1)} 'skipped'", gp)

    def test_p4_metadata_once(self):
        """every meta key is in exactly one table row, and the header links to it"""
        keys = [c["data-key"] for c in self.R.page.cells if "data-key" in c]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        self.assertEqual(dup, [])
        self.assertEqual(self.R.page.text.count('<table id="meta"'), 1)
        self.assertEqual(self.R.page.text.count('class="meta"'), 1)
        self.assertIn('<a href="#meta">', self.R.page.text)

    def test_p5_runners_side_by_side(self):
        """a per-workload chart for each family names every (non-emulated) runner"""
        for fam in ("micro", "cpu", "mem"):
            name = f"workloads-{fam}"
            for ext in ("png", "svg"):
                self.assertTrue(os.path.getsize(os.path.join(self.dir, f"{name}.{ext}")) > 1000)
            self.assertIn(f"plot-{name}", self.R.page.ids)
            text = self.script(name)
            for runner in ("native", "kvm", "qemu-kvm", "xen-pvh"):
                self.assertIn(f'"{runner}"', text, name)
            self.assertNotIn("qemu-tcg", text)
        # every panel is one workload, with its unit and direction
        text = self.script("workloads-cpu")
        self.assertEqual(gp_array(text, "PTITLE"), ["sha256", "matmul", "sort"]
                         if "'sha256', 'matmul'" in text else sorted(gp_array(text, "PTITLE")))
        self.assertIn("ops_per_s (ops/s), higher is better", text)
        # kvm's sha256 bar is its median (hand-computed: 1e9/1025 ops/s)
        with open(os.path.join(self.dir, "workloads-cpu.datafile.tsv")) as f:
            blocks = f.read().split("\n\n\n")
        idx = gp_array(text, "PTITLE").index("sha256")
        kvm = [l.split("\t") for l in blocks[idx].splitlines() if l.startswith("2.0\t")][0]
        self.assertAlmostEqual(float(kvm[1]), 1e9 / 1025, places=3)

    def test_p6_scale_conventions(self):
        """ratio axes are log2 and centred at 1; absolute axes go log10 past two decades"""
        sys.path.insert(0, os.path.join(ROOT, "reports"))
        from hvbreport import plots
        for vals in ([1.025, 1.01], [0.5, 3.0], [26.0, 1.02], [0.97], [3.2], [3.6], [1e4]):
            lo, hi, tics = plots.ratio_axis(vals)
            self.assertAlmostEqual(lo * hi, 1.0, places=12)
            self.assertTrue(lo < min(vals) and max(vals) < hi)
            self.assertIn(("1×", 1.0), tics)
        self.assertEqual(plots.absolute_axis([10.0, 900.0])[:2], (False, 0.0))
        self.assertTrue(plots.absolute_axis([10.0, 1001.0])[0])
        for name in ("overhead-micro", "overhead-cpu", "chase-ratio"):
            text = self.script(name)
            self.assertRegex(text, r"ylo = ([\d.e-]+)")
            lo = float(re.search(r"^ylo = (\S+)$", text, re.M).group(1))
            hi = float(re.search(r"^yhi = (\S+)$", text, re.M).group(1))
            self.assertAlmostEqual(lo * hi, 1.0, places=9, msg=name)
        for tmpl in ("overhead.gp", "chase_ratio.gp"):
            with open(os.path.join(ROOT, "reports", "gnuplot", tmpl)) as f:
                t = f.read()
            self.assertIn("set logscale y 2", t)
            self.assertIn("lower is better", t)


def read_table():
    """tests/fixtures/malformed/cases.tsv: (case, mode, expect, [substrings])."""
    with open(os.path.join(MALFORMED, "cases.tsv"), encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f
                if line.strip() and not line.startswith("#")]
    return [(r[0], r[1], r[2], r[3:]) for r in rows]


def load_as_report(path, allow_partial):
    """What `hvbench report` does with one directory: its runs or the error."""
    sys.path.insert(0, os.path.join(ROOT, "reports"))
    import hvbench_report
    return hvbench_report.load_all([path], allow_partial)


class TestMalformedTable(unittest.TestCase):
    """The shared table of malformed directories: the C reader (test_results.c)
    must do the same with every row."""

    def test_000_fixtures_reproducible(self):
        """tests/fixtures/malformed is what make_malformed.py writes"""
        with tempfile.TemporaryDirectory() as tmp:
            r = subprocess.run([sys.executable, os.path.join(MALFORMED, "make_malformed.py"), tmp],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)

            def files(root):
                skip = ("make_malformed.py", ".gitattributes")
                return {os.path.relpath(os.path.join(d, n), root)
                        for d, dirs, names in os.walk(root) for n in names
                        if "__pycache__" not in d and n not in skip}
            self.assertEqual(files(tmp), files(MALFORMED))
            for rel in files(tmp):
                with open(os.path.join(tmp, rel), "rb") as a, \
                        open(os.path.join(MALFORMED, rel), "rb") as b:
                    self.assertEqual(a.read(), b.read(), rel)

    def check_case(self, name, mode, expect, subs):
        sys.path.insert(0, os.path.join(ROOT, "reports"))
        from hvbreport import load
        try:
            runs = load_as_report(os.path.join(MALFORMED, name), mode == "allow-partial")
        except load.ResultError as e:
            self.assertEqual(expect, "refuse", f"refused: {e}")
            for s in subs:
                self.assertIn(s, str(e))
            return
        self.assertNotEqual(expect, "refuse", "accepted")
        warnings = "\n".join(runs[0].warnings)
        if expect == "accept":
            self.assertEqual(warnings, "", "accepted with warnings")
        for s in subs:
            self.assertIn(s, warnings)


def _add_table_tests():
    for i, (name, mode, expect, subs) in enumerate(read_table()):
        def test(self, name=name, mode=mode, expect=expect, subs=subs):
            self.check_case(name, mode, expect, subs)
        test.__doc__ = f"malformed table: {name} ({mode}): {expect}"
        setattr(TestMalformedTable, f"test_{i + 1:03d}_{name.replace('-', '_')}", test)


_add_table_tests()


def main():
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    for cls in (TestCli, TestStructure, TestPartial, TestErrors, TestScale, TestEnvironment,
                TestPlots, TestMalformedTable):
        suite.addTests(loader.loadTestsFromTestCase(cls))
    result = TapResult()
    try:
        suite.run(result)
    finally:
        if Rendered.tmp:
            shutil.rmtree(Rendered.tmp, ignore_errors=True)
    print(f"1..{result.n}")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
