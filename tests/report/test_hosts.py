#!/usr/bin/env python3
"""Tests of reports/hvbreport/hosts.py: the Hosts dimension of a report
(which host each run is from; tests/integration/test_merge.sh renders the
fleet fixture end to end).  Runs and series are stand-ins with the fields
hosts.py reads (meta; run_index, label).

TAP output like test_report.py (tests/run aggregates it)."""

import os
import sys
import types
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "reports"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hvbreport import hosts  # noqa: E402
import taplib  # noqa: E402


def run(name, identity=None, kind="bare-metal", run_id="r"):
    meta = {"host_name": name, "host_kind": kind, "run_id": run_id}
    if identity:
        meta["host_identity"] = identity
    return types.SimpleNamespace(meta=meta, run_id=run_id)


def report(*runs):
    """A stand-in report: the runs, a native and a kvm series per run."""
    series = [types.SimpleNamespace(run_index=i, runner=r, label=f"{r} (run {i + 1})")
              for i in range(len(runs)) for r in ("native", "kvm")]
    rep = types.SimpleNamespace(runs=list(runs), series=series)
    rep.hosts = hosts.build(rep)
    return rep


class TestHosts(unittest.TestCase):
    def test_one_host(self):
        """runs of one host (name and identity): no Hosts section, no banner, no tags"""
        rep = report(run("a", "11"), run("a", "11", run_id="r2"))
        self.assertFalse(rep.hosts)
        self.assertEqual(rep.hosts.warnings, [])
        self.assertEqual(hosts.html(rep), "")
        self.assertEqual(hosts.markdown(rep), [])
        self.assertFalse(any(hasattr(s, "host") for s in rep.series))

    def test_two_hosts(self):
        """two hosts: each series tagged with its host; a banner naming both, not pooled"""
        rep = report(run("a", "11"), run("b", "22", kind="nested"))
        self.assertEqual([s.host for s in rep.series], ["a", "a", "b", "b"])
        (wid, title, text), = rep.hosts.warnings
        self.assertEqual((wid, title), ("hosts", "Runs from 2 hosts"))
        self.assertIn("a (bare-metal, host_identity 11): run 1; b (nested, host_identity 22): "
                      "run 2", text)
        self.assertIn("never pooled", text)
        self.assertNotIn("one machine", text)
        self.assertIn('data-host="b" data-identity="22" data-kind="nested"', hosts.html(rep))
        self.assertEqual(hosts.label_md(rep.series[2]), "native (run 2) @ b")

    def test_same_name_other_identity(self):
        """one name, two identities (clones): two hosts, told apart by identity"""
        rep = report(run("clone", "aaaaaaaaaaaa"), run("clone", "bbbbbbbbbbbb"))
        self.assertEqual([h.tag for h in rep.hosts.hosts], ["clone [aaaaaaaa]", "clone [bbbbbbbb]"])

    def test_same_identity_other_name(self):
        """two names, one identity (namespaces of one machine): two hosts, one machine"""
        rep = report(run("fleet-a", "33"), run("fleet-b", "33"))
        self.assertEqual(len(rep.hosts.hosts), 2)
        self.assertIn("fleet-a and fleet-b are one machine by host_identity (33)",
                      rep.hosts.warnings[0][2])

    def test_runs_grouped(self):
        """a host's runs are listed together, in report order"""
        rep = report(run("a", "1"), run("b", "2"), run("a", "1", run_id="r3"))
        self.assertEqual([(h.tag, h.runs) for h in rep.hosts.hosts], [("a", [0, 2]), ("b", [1])])
        self.assertIn("| a | 1 | bare-metal | run 1 (r), run 3 (r3) |", "\n".join(hosts.markdown(rep)))

    def test_no_identity(self):
        """runs without host_identity are hosts by name, said not recorded"""
        rep = report(run("x"), run("y"))
        self.assertIn("x (bare-metal, host_identity not recorded)", rep.hosts.warnings[0][2])


if __name__ == "__main__":
    sys.exit(taplib.run_classes(TestHosts))
