#!/usr/bin/env python3
"""Tests of the report's Network section (reports/hvbreport/net.py).

Renders the net fixture (tests/fixtures/results/make_net.py) and variants
the generator writes into a temporary directory: a run without native, a
run of 2 repetitions, a second kvm run with another notify mode, a cell
whose loss rows were removed.  Expected figures come from the generator's
hand-chosen numbers (HAND there) or are computed here from the fixture's
CSV files, never from the code under test.

TAP output (tests/run aggregates it).
"""

import os
import re
import shutil
import statistics
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "reports"))

import taplib  # noqa: E402
import sectionlib  # noqa: E402
from sectionlib import drop_rows, render  # noqa: E402
from hvbreport import net as net_section  # noqa: E402

FIX = os.path.join(ROOT, "tests", "fixtures", "results")
GEN = os.path.join(FIX, "make_net.py")
NET_RUN = "20261202-170000-fixhost-5151-net"
NET = os.path.join(FIX, NET_RUN)
NO_NET = os.path.join(FIX, "20261202-150000-fixhost-4646-io")
RR, TXP, RXP, TXS, RXS, VERIFY = ("net/udp-rr-64", "net/tx-pps-64", "net/rx-pps-64",
                                  "net/tx-stream-1500", "net/rx-stream-1500", "net/verify")
NET_WORKLOADS = [RR, TXP, RXP, TXS, RXS, VERIFY]
LOSSY = [RR, TXP, RXP, TXS, RXS]
RUNNERS = ["native", "kvm", "kvm-loop", "qemu-kvm", "xen-pvh"]
LOOP = "in-VMM loopback, no host stack"


def generate(out, *args):
    return sectionlib.generate(GEN, out, *args)


class Rendered(sectionlib.Rendered):
    """Each report rendered once, shared by the tests."""
    prefix = "hvb-net-test-"

    @classmethod
    def make(cls, name, out):
        if name == "net":
            page = render(out, NET)
        elif name == "plots":
            page = render(out, NET, plots=True)
            page.out = out
        elif name == "no-net":
            page = render(out, NO_NET)
        elif name == "no-native":   # runners missing: no baseline, no xen-pvh
            d = generate(cls.tmp, "--run-id", "20261202-171000-fixhost-5252-net",
                         "--runners", "kvm,qemu-kvm")
            page = render(out, d)
        elif name == "two-reps":    # below min_reps: no interval anywhere
            d = generate(cls.tmp, "--run-id", "20261202-172000-fixhost-5353-net",
                         "--runners", "native,kvm", "--reps", "2")
            page = render(out, d)
        elif name == "notify":      # a second run: kvm with notify=exit, no native
            d = generate(cls.tmp, "--run-id", "20261202-173000-fixhost-5454-net",
                         "--runners", "kvm", "--notify", "exit")
            page = render(out, NET, d)
        elif name == "loop-only":   # rx-* have no value under any runner
            d = generate(cls.tmp, "--run-id", "20261202-175000-fixhost-5656-net",
                         "--runners", "kvm-loop")
            page = render(out, d)
        elif name == "blind":       # kvm tx-pps-64 without its loss rows
            d = generate(cls.tmp, "--run-id", "20261202-174000-fixhost-5555-net")
            drop_rows(d, lambda l: not re.search(
                r",kvm,net/tx-pps-64,(lost|loss_pct|reordered),", l))
            page = render(out, d)
        else:
            raise KeyError(f"no page {name!r}")
        return page


def csv_rows(name, d=NET):
    return sectionlib.csv_rows(d, name)


def values(runner, workload, metric):
    return [float(r["value"]) for r in csv_rows("samples.csv") if r["runner"] == runner
            and r["workload"] == workload and r["metric"] == metric and r["status"] == "ok"]


def median(runner, workload, metric):
    return statistics.median(values(runner, workload, metric))


def lossy_cells():
    """(runner, workload) with a datagram lost in any repetition, from samples.csv."""
    return {(r["runner"], r["workload"]) for r in csv_rows("samples.csv")
            if r["metric"] == "lost" and r["status"] == "ok" and float(r["value"]) > 0}


def row_html(p, runner, workload):
    """The <tr> of one series in one net table."""
    sec = p.section("net-" + workload, "exits")
    i = sec.index(f'<tr data-runner="{runner}" data-workload="{workload}"')
    return sec[i:sec.index("</tr>", i)]


def tds(tr):
    return tr.split("<td")[1:]


class TestFixture(unittest.TestCase):
    def test_01_generator_reproduces_fixture(self):
        """make_net.py writes exactly the committed net fixture (it is not stale)"""
        sectionlib.assert_reproduces(self, GEN, NET)

    def test_02_fixture_rows_follow_format(self):
        """ok rows have values their unit allows; every loss-counting cell has lost,
        loss_pct and reordered in every repetition; verify has none"""
        have = {}
        for r in csv_rows("samples.csv"):
            if r["status"] == "ok":
                v = float(r["value"])
                self.assertTrue(v > 0 if r["unit"] in ("ns", "cycles", "ms", "MB/s", "ops/s")
                                else v >= 0, r)
                have.setdefault((r["runner"], r["workload"], r["metric"]), 0)
                have[(r["runner"], r["workload"], r["metric"])] += 1
            else:
                self.assertEqual(r["value"], "", r)
                self.assertTrue(r["note"], r)
        for (runner, w, m), n in have.items():
            if m == "ns_per_op" and w in LOSSY:
                for metric in ("lost", "loss_pct", "reordered"):
                    self.assertEqual(have.get((runner, w, metric)), n, (runner, w, metric))
        self.assertFalse([k for k in have if k[1] == VERIFY and k[2] == "lost"])
        self.assertEqual(lossy_cells(), {("kvm", TXP), ("qemu-kvm", TXP), ("kvm", RXP),
                                         ("kvm", RR), ("qemu-kvm", RXS)})


class TestSection(unittest.TestCase):
    def setUp(self):
        self.p = Rendered.get("net")

    def test_01_section_nav_order(self):
        """the section, its nav link, one table per net workload in reading order"""
        self.assertIn("net", self.p.ids)
        self.assertIn("#net", self.p.links)
        sec = self.p.section("net", "exits")
        at = [sec.index(f'id="net-{w}"') for w in NET_WORKLOADS]
        self.assertEqual(at, sorted(at))
        self.assertNotIn("cpu/sha256", sec)
        self.assertIn("## Network", self.p.md)
        for w in NET_WORKLOADS:
            self.assertIn(f"### {w}", self.p.md)

    def test_02_runner_order(self):
        """native first, then kvm, kvm-loop, qemu-kvm, xen-pvh"""
        sec = self.p.section("net-" + RR, "net-" + TXP)
        at = [sec.index(f'data-runner="{r}" data-workload="{RR}">') for r in RUNNERS]
        self.assertEqual(at, sorted(at))

    def test_03_primary_in_shown_units(self):
        """RR in µs per round trip, pps as packets/s, streams as Gbit/s = MB/s x 8 / 1000"""
        f = self.p.find
        kvm = f(runner="kvm", workload=RR, metric="ns_per_op", kind="net")
        self.assertEqual([(float(c["data-value"]), float(c["data-shown"]), c["data-unit"])
                          for c in kvm], [(46000.0, 46.0, "µs")])
        tx = f(runner="qemu-kvm", workload=TXP, metric="ops_per_s", kind="net")
        self.assertEqual([(float(c["data-value"]), c["data-unit"]) for c in tx],
                         [(95000.0, "packets/s")])
        for runner, mbs in (("native", 900), ("kvm", 300), ("kvm-loop", 700)):
            st = f(runner=runner, workload=TXS, metric="bandwidth", kind="net")
            self.assertEqual(len(st), 1)
            self.assertEqual(float(st[0]["data-value"]), median(runner, TXS, "bandwidth"))
            self.assertEqual(float(st[0]["data-value"]), mbs)
            self.assertAlmostEqual(float(st[0]["data-shown"]), mbs * 8 / 1000, places=12)
            self.assertEqual(st[0]["data-unit"], "Gbit/s")
        tables = {c["data-workload"]: c["data-unit"] for c in f() if "data-unit" in c
                  and "data-runner" not in c}
        self.assertEqual(tables, {RR: "µs", TXP: "packets/s", RXP: "packets/s",
                                  TXS: "Gbit/s", RXS: "Gbit/s", VERIFY: "µs"})
        tr = row_html(self.p, "native", TXS)
        self.assertIn(">7.2</span>", tr)
        self.assertIn("900 MB/s", tr)
        self.assertIn("Gbit/s UDP payload", self.p.section("net-" + TXS, "net-" + RXS))

    def test_04_interval_of_the_median(self):
        """the primary's interval is summarize's, shown in the same unit (5 reps: [min, max])"""
        lo, hi = min(values("kvm", RR, "ns_per_op")), max(values("kvm", RR, "ns_per_op"))
        self.assertIn(f"[{lo / 1000:.4g}, {hi / 1000:.4g}]", row_html(self.p, "kvm", RR))

    def test_05_slowdown(self):
        """slowdown vs native, >1 worse, and the same number Overhead vs native shows"""
        v = self.p.value
        for runner, w, want in (("kvm", RR, 46000 / 21000), ("kvm", TXP, 450000 / 120000),
                                ("qemu-kvm", TXS, 900 / 250), ("xen-pvh", RXP, 400000 / 70000),
                                ("kvm-loop", RR, 12000 / 21000)):
            metric = {RR: "ns_per_op", TXP: "ops_per_s", RXP: "ops_per_s",
                      TXS: "bandwidth"}[w]
            got = v(runner=runner, workload=w, metric=metric, kind="net-slowdown")
            self.assertAlmostEqual(got, want, places=9, msg=(runner, w))
            self.assertEqual(got, v(runner=runner, workload=w, metric=metric, kind="slowdown"))

    def test_06_latency_percentiles(self):
        """req_ns p50/p99/p999/max of udp-rr-64: median over repetitions, shown in µs"""
        for runner in RUNNERS:
            for metric in net_section.LATENCY:
                c = self.p.find(runner=runner, workload=RR, metric=metric, kind="net")
                self.assertEqual(len(c), 1, (runner, metric))
                self.assertEqual(float(c[0]["data-value"]), median(runner, RR, metric))
                self.assertAlmostEqual(float(c[0]["data-shown"]),
                                       median(runner, RR, metric) / 1000, places=9)
        self.assertEqual(self.p.value(runner="native", workload=RR, metric="req_ns.p50",
                                      kind="net"), 21000 * 0.95)
        # only the workload that times its round trips has latency columns
        self.assertNotIn("round-trip latency", self.p.section("net-" + TXP, "net-" + RXP))

    def test_07_loss_flags(self):
        """exactly the cells that lost a datagram in any repetition are flagged"""
        flags = {(c["data-runner"], c["data-workload"]): c["data-flag"]
                 for c in self.p.find(kind="net-loss-flag")}
        want = lossy_cells()
        self.assertEqual({k for k, v in flags.items() if v == "loss"}, want)
        self.assertEqual({k for k, v in flags.items() if v != "loss"},
                         {(r, w) for r in RUNNERS for w in LOSSY
                          if (r, w) not in want and (r, w) not in
                          {("kvm-loop", RXP), ("kvm-loop", RXS), ("xen-pvh", RXS)}})
        self.assertFalse([k for k in flags if k[1] == VERIFY])   # functional: no loss column
        for runner, w in want:
            self.assertIn("LOSS", row_html(self.p, runner, w))

    def test_08_loss_figures(self):
        """the loss medians are the fixture's; a median of 0 still says where it lost"""
        for runner, w in lossy_cells():
            c = self.p.find(runner=runner, workload=w, metric="lost", kind="net-loss")
            self.assertEqual(len(c), 1)
            self.assertEqual(float(c[0]["data-value"]), median(runner, w, "lost"))
            self.assertEqual(float(c[0]["data-pct"]), median(runner, w, "loss_pct"))
        tr = row_html(self.p, "kvm", TXP)
        self.assertIn("median 0.8 % (96 datagrams) lost; in 5 of 5 repetitions, worst 98 "
                      "datagrams", tr)
        tr = row_html(self.p, "kvm", RXP)   # median 0: lost in 2 repetitions of 5
        self.assertEqual(median("kvm", RXP, "lost"), 0)
        self.assertIn("median 0 % (0 datagrams) lost; in 2 of 5 repetitions, worst 37 "
                      "datagrams (0.37 %)", tr)
        self.assertIn("no loss", row_html(self.p, "native", TXP))

    def test_09_loss_beside_throughput(self):
        """a throughput with loss: its loss in the very next cell, both tinted"""
        for runner, w in lossy_cells():
            cells = tds(row_html(self.p, runner, w))
            self.assertIn('kind="net"', cells[1])
            self.assertIn('kind="net-loss-flag" data-flag="loss"', cells[2])
            self.assertIn("#ffebe9", cells[1])
            self.assertIn("#ffebe9", cells[2])
        self.assertNotIn("#ffebe9", row_html(self.p, "native", TXP))

    def test_10_loss_in_overhead_table_and_banner(self):
        """Overhead vs native and a banner say the loss too; clean cells say nothing"""
        f = self.p.find
        got = {(c["data-runner"], c["data-workload"]) for c in f(kind="overhead-loss")}
        # udp-rr-64's and rx/tx's primary figures stand in Overhead vs native
        self.assertEqual(got, lossy_cells())
        self.assertIn("net-loss-banner", self.p.ids)
        i = self.p.text.index('id="net-loss-banner"')
        banner = self.p.text[i:self.p.text.index("</div>", i)]
        for runner, w in lossy_cells():
            self.assertIn(f"{runner} × {w}", banner)
        self.assertNotIn(f"native × {TXP}", banner)
        self.assertNotIn("net-loss-unknown-banner", self.p.ids)
        self.assertIn("> **Datagrams lost**", self.p.md)
        line = next(l for l in self.p.md.splitlines() if l.startswith(f"| {TXP} | ops_per_s"))
        self.assertIn("120,000: 3.750× [", line)
        self.assertIn("(LOSS: median 0.8 % (96 datagrams) lost", line)

    def test_11_reordered(self):
        """reordering is shown (xen-pvh rx-pps-64: 3 median) but is not loss"""
        c = self.p.find(runner="xen-pvh", workload=RXP, metric="reordered", kind="net-reordered")
        self.assertEqual([float(x["data-value"]) for x in c], [median("xen-pvh", RXP,
                                                                      "reordered")])
        self.assertEqual(median("xen-pvh", RXP, "reordered"), 3)
        self.assertNotIn(("xen-pvh", RXP), lossy_cells())
        self.assertIn("3 datagrams reordered median; in 5 of 5 repetitions, worst 5",
                      row_html(self.p, "xen-pvh", RXP))

    def test_12_loopback_labelled(self):
        """kvm-loop: 'in-VMM loopback, no host stack' on its rows, its slowdown uncoloured,
        and beside its Overhead vs native figures"""
        for w in (RR, TXP, TXS, VERIFY, RXP):
            self.assertIn(LOOP, tds(row_html(self.p, "kvm-loop", w))[0])
        for w in (RR, TXP):
            self.assertNotIn(LOOP, row_html(self.p, "kvm", w))
        tr = row_html(self.p, "kvm-loop", RR)
        self.assertIn('<b class="mut" data-runner="kvm-loop"', tr)
        self.assertIn(f"{LOOP}: not native", tds(tr)[3])
        over = self.p.section("overhead", "workloads")
        i = over.index(f'data-runner="kvm-loop" data-workload="{RR}" data-metric="ns_per_op" '
                       'data-kind="slowdown"')
        self.assertIn(LOOP, over[i:over.index("</td>", i)])
        self.assertIn(f"0.571× [", self.p.md)
        self.assertIn(f"| kvm-loop · notify=ioeventfd ({LOOP}) | 12 [", self.p.md)
        # tx-* under the loopback: its note says what counted as delivered
        self.assertIn("net.reflect=1: delivered = reflected frames the guest received",
                      tds(row_html(self.p, "kvm-loop", TXP))[1])
        self.assertNotIn("guest ring 3", tds(row_html(self.p, "kvm", TXP))[1])

    def test_12b_glance_without_loopback(self):
        """At a glance averages kvm, qemu-kvm, xen-pvh over net/*, not the loopback"""
        got = {c["data-runner"] for c in self.p.find(kind="geomean")}
        self.assertEqual(got, {"kvm", "qemu-kvm", "xen-pvh"})
        # net/* over the workloads all three have: kvm's geomean from the HAND medians
        ratios = [46000 / 21000, 450000 / 120000, 400000 / 100000, 900 / 300, 800 / 280,
                  110000 / 60000]
        want = statistics.geometric_mean(ratios[:3] + ratios[3:4] + ratios[5:])  # no rx-stream
        cells = [c for c in self.p.find(kind="geomean", runner="kvm") if
                 c["data-group"] == "net/*"]
        self.assertAlmostEqual(float(cells[0]["data-value"]), want, places=9)
        self.assertIn("in-VMM loopback (kvm-loop: no host stack) are not shown",
                      self.p.section("headline", "meta"))

    def test_13_cells_without_numbers(self):
        """skipped and failed cells: one row with status and reason, no number"""
        f = self.p.find
        for runner, w, status, why in (
                ("kvm-loop", RXP, "skipped", "net.reflect=1: the in-VMM loopback reflects"),
                ("kvm-loop", RXS, "skipped", "has no responder"),
                ("xen-pvh", RXS, "failed", "netfront: RX ring stalled")):
            self.assertTrue(f(runner=runner, workload=w, status=status), (runner, w))
            self.assertIn(why, row_html(self.p, runner, w))
            self.assertFalse(f(runner=runner, workload=w, kind="net"))
            line = next(l for l in self.p.md.splitlines() if l.startswith(f"| {runner} ")
                        and f"{w}" not in l and f"| {status}: " in l and why in l)
            self.assertTrue(line)

    def test_14_exits_per_packet(self):
        """exits per packet: exits.csv total / ops, median over repetitions, per source"""
        exits = csv_rows("exits.csv")
        for runner, w, source in (("kvm", RR, "kvm-stats"), ("xen-pvh", TXP, "xentrace"),
                                  ("kvm-loop", TXS, "kvm-stats")):
            want = statistics.median(int(r["count"]) / int(r["ops"]) for r in exits
                                     if (r["runner"], r["workload"], r["source"],
                                         r["reason"]) == (runner, w, source, "total"))
            got = self.p.value(runner=runner, workload=w, source=source,
                               kind="net-exits-per-op")
            self.assertAlmostEqual(got, want, places=9)
        self.assertIn("3.5 /packet", row_html(self.p, "xen-pvh", TXP))
        m = self.p.find(runner="qemu-kvm", workload=RR, metric="exits", kind="net-missing")
        self.assertEqual([c["data-status"] for c in m], ["n/a"])

    def test_15_cpu_and_notifies(self):
        """host CPU, responder CPU, notifies per packet; what is missing says why"""
        v, f = self.p.value, self.p.find
        for runner in ("native", "kvm", "kvm-loop", "qemu-kvm"):
            for w in (RR, TXS):
                self.assertEqual(v(runner=runner, workload=w, metric="host_cpu_ns_per_op",
                                   kind="net"), median(runner, w, "host_cpu_ns_per_op"))
        self.assertAlmostEqual(v(runner="kvm", workload=RR, metric="host_cpu_ns_per_op",
                                 kind="net-slowdown"), 9000 / 2500, places=9)
        self.assertEqual(v(runner="qemu-kvm", workload=TXP, metric="peer_cpu_ns_per_op",
                           kind="net"), 1800)
        self.assertEqual(v(runner="kvm", workload=TXP, metric="notifies_per_op", kind="net"),
                         0.25)
        m = f(runner="kvm-loop", workload=RR, metric="peer_cpu_ns_per_op", kind="net-missing")
        self.assertEqual([c["data-status"] for c in m], ["n/a"])
        self.assertIn("in-VMM loopback: no responder", self.p.section("net-" + RR,
                                                                       "net-" + TXP))
        m = f(runner="xen-pvh", workload=RR, metric="host_cpu_ns_per_op", kind="net-missing")
        self.assertEqual([c["data-status"] for c in m], ["unsupported"])
        self.assertIn("dom0&#x27;s netback threads are not readable", row_html(self.p,
                                                                              "xen-pvh", RR))

    def test_16_served_by(self):
        """what carried the frames, the link's meta, the threads said once per runner"""
        sec = self.p.section("net", "net-" + RR)
        for text in ("virtio-net mmio v2, backend=tap, notify=ioeventfd",
                     "virtio-net mmio v2, backend=loopback, notify=ioeventfd", "loopback",
                     "qemu virtio-net-device, tap, vhost=off", "xen netfront, netback vif",
                     "AF_PACKET on veth hvb0n", "net.netns", "hvb-5151-0", "net.peer",
                     "pid 4711, cpu 1, 10.78.0.1:7878/udp", "10.78.0.2",
                     "host CPU: host CPU of the vCPU thread + the virtio-net I/O thread",
                     "responder CPU: host CPU of the responder (pid 4711, CPU 1)"):
            self.assertIn(text, sec)
        self.assertNotIn("REP_BEGIN..REP_END", self.p.section("net", "exits"))
        self.assertIn("kvm · notify=ioeventfd", row_html(self.p, "kvm", RR))

    def test_17_markdown(self):
        """summary.md: every table, the units in the headers, statuses with reasons"""
        md = self.p.md
        self.assertIn("| ns_per_op (µs, lower is better) |", md)
        self.assertIn("| bandwidth (Gbit/s, higher is better) |", md)
        self.assertIn("| ops_per_s (packets/s, higher is better) |", md)
        line = next(l for l in md.splitlines() if l.startswith("| native | 7.2 ["))
        self.assertIn("no loss (5 reps)", line)
        line = next(l for l in md.splitlines() if l.startswith("| qemu-kvm | 95,000"))
        self.assertIn("**LOSS** median 2.505 % (238 datagrams) lost", line)
        self.assertIn("unsupported: dom0's netback threads are not readable", md)


class TestVariants(unittest.TestCase):
    def test_01_no_net_no_section(self):
        """a run without net/*: no section, no nav link, no banner, nothing in summary.md"""
        p = Rendered.get("no-net")
        self.assertNotIn("net", p.ids)
        self.assertNotIn("#net", p.links)
        self.assertNotIn("Network", p.text)
        self.assertNotIn("## Network", p.md)
        self.assertFalse([i for i in p.ids if i.startswith("net-")])

    def test_02_missing_runners(self):
        """no native and no xen-pvh in the run: no slowdown (with why), no rows for them"""
        p = Rendered.get("no-native")
        sec = p.section("net", "exits")
        self.assertNotIn('data-runner="native"', sec)
        self.assertNotIn('data-runner="xen-pvh"', sec)
        m = p.find(runner="kvm", workload=RR, metric="ns_per_op", kind="net-missing")
        self.assertEqual([c["data-status"] for c in m], ["n/a"])
        self.assertIn("no native runner in the input", sec)
        self.assertEqual(p.value(runner="kvm", workload=RR, metric="ns_per_op", kind="net"),
                         46000)
        self.assertFalse(p.find(kind="net-slowdown"))

    def test_03_two_reps_no_interval(self):
        """below min_reps (3): no interval of the median nor of the slowdown"""
        p = Rendered.get("two-reps")
        tr = row_html(p, "kvm", RR)
        self.assertNotIn("<span class=ci>[", tds(tr)[1])
        self.assertIn("no interval: ", tr)
        self.assertIn("fewer than 3", tr)

    def test_04_notify_modes_differ(self):
        """two runs with kvm at different notify modes: a banner, labelled rows, run 1's
        native as baseline"""
        p = Rendered.get("notify")
        self.assertIn("net-diff-banner", p.ids)
        i = p.text.index('id="net-diff-banner"')
        banner = p.text[i:p.text.index("</div>", i)]
        self.assertIn("runner.kvm.net_notify: run 1 ioeventfd, run 2 exit", banner)
        sec = p.section("net", "exits")
        self.assertIn("kvm (run 1) · notify=ioeventfd", sec)
        self.assertIn("kvm (run 2) · notify=exit", sec)
        self.assertAlmostEqual(p.value(runner="kvm (run 2)", workload=RR, metric="ns_per_op",
                                       kind="net-slowdown"), 46000 / 21000, places=9)
        self.assertIn("baseline native from run 1", row_html(p, "kvm (run 2)", RR))

    def test_04b_no_runner_has_a_value(self):
        """a workload no runner has a value for: its table says so, rows keep the reason"""
        p = Rendered.get("loop-only")
        sec = p.section("net-" + RXP, "net-" + TXS)
        self.assertIn("No runner has a value for this workload.", sec)
        self.assertTrue(p.find(runner="kvm-loop", workload=RXP, status="skipped"))
        self.assertIn("has no responder", sec)
        self.assertIn(LOOP, sec)
        self.assertFalse(p.find(kind="net-loss-flag", workload=RXP))

    def test_05_loss_not_recorded(self):
        """a throughput cell without loss rows: flagged 'loss not recorded', and a banner"""
        p = Rendered.get("blind")
        c = p.find(runner="kvm", workload=TXP, kind="net-loss-flag")
        self.assertEqual([x["data-flag"] for x in c], ["unknown"])
        self.assertIn("loss not recorded", row_html(p, "kvm", TXP))
        self.assertIn("net-loss-unknown-banner", p.ids)
        i = p.text.index('id="net-loss-unknown-banner"')
        self.assertIn(f"kvm × {TXP}", p.text[i:p.text.index("</div>", i)])
        self.assertIn("**loss not recorded**", p.md)


@unittest.skipUnless(shutil.which("gnuplot"), "gnuplot not installed")
class TestPlot(unittest.TestCase):
    def test_01_latency_plot(self):
        """net-latency: drawn, inlined in the section, its data the medians shown, in µs"""
        p = Rendered.get("plots")
        self.assertIn("plot-net-latency", p.section("net", "net-" + RR))
        plots = os.path.join(p.out, "plots")
        for ext in ("png", "svg", "gp"):
            self.assertTrue(os.path.getsize(os.path.join(plots, "net-latency." + ext)) > 0)
        with open(os.path.join(plots, "net-latency.statfile.tsv"), encoding="utf-8") as f:
            blocks = f.read().split("\n\n\n")
        self.assertEqual(len(blocks), len(RUNNERS))    # every runner has round trips
        kvm = [float(x) for x in blocks[1].splitlines()[0].split("\t")[1:]]
        self.assertEqual(kvm, [median("kvm", RR, m) / 1000 for m in net_section.LATENCY[:3]])
        with open(os.path.join(plots, "net-latency.gp"), encoding="utf-8") as f:
            self.assertIn("µs", f.read() + open(os.path.join(
                ROOT, "reports", "gnuplot", "net.gp"), encoding="utf-8").read())


    def test_02_overhead_chart(self):
        """net charts vs native: the loopback left out, LOSS above every lossy bar (and in
        Runners side by side)"""
        p = Rendered.get("plots")
        with open(os.path.join(p.out, "plots", "overhead-net.gp"), encoding="utf-8") as f:
            script = f.read().split("set terminal svg")[0]   # the PNG half
        titles = re.search(r"array TITLES\[\d+\] = \[(.*)\]", script).group(1)
        self.assertEqual(titles, "'kvm', 'qemu-kvm', 'xen-pvh'")
        self.assertEqual(script.count("'LOSS'"), len(lossy_cells()))
        with open(os.path.join(p.out, "plots", "overhead-cpu.gp"), encoding="utf-8") as f:
            self.assertIn("'kvm-loop'", f.read())   # not a net workload: drawn
        self.assertIn("for net/*, the in-VMM loopback", p.section("overhead", "workloads"))
        with open(os.path.join(p.out, "plots", "workloads-net.gp"), encoding="utf-8") as f:
            script = f.read().split("set terminal svg")[0]
        self.assertEqual(script.count("''LOSS''"), len(lossy_cells()))   # inside PMARK strings


class TestUnits(unittest.TestCase):
    def test_01_shown_unit(self):
        """ns -> µs for times, MB/s -> Gbit/s (x 8 / 1000), ops/s -> packets/s, others as is"""
        s = net_section.shown_unit
        self.assertEqual(s("ns_per_op", "ns"), (1e-3, "µs"))
        self.assertEqual(s("req_ns.p999", "ns"), (1e-3, "µs"))
        self.assertEqual(s("host_cpu_ns_per_op", "ns"), (1.0, "ns"))
        self.assertEqual(s("bandwidth", "MB/s"), (8e-3, "Gbit/s"))
        self.assertEqual(s("ops_per_s", "ops/s"), (1.0, "packets/s"))
        self.assertEqual(s("lost", "datagrams"), (1.0, "datagrams"))
        self.assertAlmostEqual(net_section.shown(1250, "bandwidth", "MB/s"), 10.0)

    def test_02_loopback_detection(self):
        """the loopback by meta net_backend first, else runner name or runner.<r>.net"""
        class Run:
            def __init__(self, **meta):
                self.meta = meta

        class S:
            def __init__(self, runner, **meta):
                self.runner, self.run = runner, Run(**meta)
        loop = net_section.is_loopback
        self.assertTrue(loop(S("kvm-loop")))
        self.assertFalse(loop(S("kvm")))
        self.assertTrue(loop(S("kvm", **{"runner.kvm.net_backend": "loopback"})))
        self.assertFalse(loop(S("kvm-loop", **{"runner.kvm-loop.net_backend": "tap"})))
        self.assertTrue(loop(S("kvm", **{"runner.kvm.net": "virtio-net, backend=loopback"})))


def main():
    try:
        return taplib.run_classes(TestFixture, TestSection, TestVariants, TestPlot, TestUnits)
    finally:
        Rendered.cleanup()


if __name__ == "__main__":
    sys.exit(main())
