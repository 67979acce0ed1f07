#!/usr/bin/env python3
"""Machine-readable output (results/FORMAT.md "JSON output"): the schema
checker of tests/lib/jsonschema_lite.py itself, and every document kind on
the fixture result directories, each validated against its schema under
results/schema/: `hvbench export` (JSON Lines samples and run documents),
`hvbench report --format json`, `hvbench list --format json` and `hvbench
info --format json`.  A real short run is tests/integration/test_json_output.sh.

TAP output like test_report.py (tests/run aggregates it)."""

import copy
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jsonschema_lite as js  # noqa: E402
import taplib  # noqa: E402

FIX = os.path.join(ROOT, "tests", "fixtures", "results")
COMPLETE = os.path.join(FIX, "20261126-101500-fixhost-4242")
RUNNING = os.path.join(FIX, "20261126-113000-fixhost-4343")
DOM0 = os.path.join(FIX, "20261202-121906-hvb-dom0-121")
IRQ = os.path.join(FIX, "20261202-210000-fixhost-6161-irq")
CAP = os.path.join(FIX, "20261203-190000-fixhost-8181-cap")
SCHEMA_DIR = os.path.join(ROOT, "results", "schema")
HVBENCH = os.environ.get("HVBENCH") or os.path.join(ROOT, "build", "hvbench")


def fixtures():
    return sorted(os.path.join(FIX, d) for d in os.listdir(FIX)
                  if os.path.isfile(os.path.join(FIX, d, "meta.csv")))


def schema(name):
    return js.load_schema(os.path.join(SCHEMA_DIR, f"{name}.schema.json"))


def hvbench(*args, cwd=None):
    return subprocess.run([HVBENCH] + list(args), capture_output=True, text=True, cwd=cwd,
                          check=False)


def csv_rows(d):
    name = "samples.csv" if os.path.exists(os.path.join(d, "samples.csv")) else \
        "samples.csv.partial"
    with open(os.path.join(d, name), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def meta(d):
    with open(os.path.join(d, "meta.csv"), newline="", encoding="utf-8") as f:
        return {r["key"]: r["value"] for r in csv.DictReader(f)}


def no_duplicates(pairs):
    """json object_pairs_hook: a key twice in one object is a defect (a reader
    would keep either value)."""
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise AssertionError(f"duplicate keys in one object: {sorted(keys)}")
    return dict(pairs)


def export_lines(*dirs):
    r = hvbench("export", "--allow-partial", *dirs)
    if r.returncode != 0:
        raise AssertionError(f"hvbench export {dirs}: exit {r.returncode}: {r.stderr}")
    return [json.loads(line, object_pairs_hook=no_duplicates) for line in r.stdout.splitlines()]


def needs_hvbench(cls):
    """Skip visibly where the binary is not built."""
    if not (os.path.isfile(HVBENCH) and os.access(HVBENCH, os.X_OK)):
        return unittest.skip(f"{HVBENCH} not built (make)")(cls)
    return cls


class TestChecker(unittest.TestCase):
    S = {"type": "object", "required": ["a", "n"], "additionalProperties": False,
         "properties": {"a": {"type": "string", "enum": ["x", "y"]},
                        "n": {"type": ["integer", "null"]},
                        "v": {"type": "array", "items": {"type": "number"}},
                        "m": {"type": "object", "properties": {},
                              "additionalProperties": {"type": "string"}}}}

    def test_valid(self):
        """checker: a document that fits has no errors"""
        self.assertEqual(js.validate({"a": "x", "n": None, "v": [1, 2.5],
                                      "m": {"k": "v"}}, self.S), [])

    def test_required(self):
        """checker: a missing required property is an error naming it"""
        errs = js.validate({"a": "x"}, self.S)
        self.assertEqual(len(errs), 1)
        self.assertIn("'n'", errs[0])

    def test_types(self):
        """checker: true is not an integer, a string is not a number, 1.5 not an integer"""
        self.assertTrue(js.validate({"a": "x", "n": True}, self.S))
        self.assertTrue(js.validate({"a": "x", "n": 1.5}, self.S))
        self.assertTrue(js.validate({"a": "x", "n": 1, "v": ["1"]}, self.S))
        self.assertEqual(js.validate({"a": "x", "n": 3}, self.S), [])

    def test_enum(self):
        """checker: a value outside enum is an error"""
        self.assertTrue(js.validate({"a": "z", "n": 1}, self.S))

    def test_additional(self):
        """checker: additionalProperties false refuses, a schema checks the extra values"""
        self.assertTrue(js.validate({"a": "x", "n": 1, "zz": 1}, self.S))
        self.assertTrue(js.validate({"a": "x", "n": 1, "m": {"k": 1}}, self.S))

    def test_unsupported_keyword(self):
        """checker: a keyword it does not check is refused, not ignored"""
        with self.assertRaises(js.SchemaError):
            js.validate(1, {"type": "integer", "minimum": 0})

    def test_schema_files_use_the_subset(self):
        """every results/schema file is draft 2020-12 and uses only the checked keywords"""
        names = sorted(os.listdir(SCHEMA_DIR))
        self.assertEqual(names, ["info.schema.json", "list.schema.json", "report.schema.json",
                                 "run.schema.json", "sample.schema.json"])

        def walk(s, path):
            if isinstance(s, bool):
                return
            self.assertLessEqual(set(s), js.CHECKED | js.ANNOTATIONS, path)
            for k, sub in s.get("properties", {}).items():
                walk(sub, f"{path}.{k}")
            for k in ("items", "additionalProperties"):
                if isinstance(s.get(k), dict):
                    walk(s[k], f"{path}/{k}")
        for n in names:
            s = js.load_schema(os.path.join(SCHEMA_DIR, n))
            self.assertEqual(s["$schema"], "https://json-schema.org/draft/2020-12/schema")
            walk(s, n)


@needs_hvbench
class TestExportSamples(unittest.TestCase):
    def test_every_fixture_validates(self):
        """export jsonl: every line of every fixture fits sample.schema.json"""
        s = schema("sample")
        for d in fixtures():
            for i, line in enumerate(export_lines(d)):
                self.assertEqual(js.validate(line, s), [], f"{d} line {i + 1}")

    def test_one_line_per_row(self):
        """export jsonl: line count = samples.csv rows, in order, values as written"""
        for d in fixtures():
            if d == RUNNING:
                continue  # its torn last row is dropped by the reader (test below)
            rows, lines = csv_rows(d), export_lines(d)
            self.assertEqual(len(lines), len(rows), d)
            for row, line in zip(rows, lines):
                self.assertEqual((line["runner"], line["workload"], line["metric"] or "",
                                  line["status"]),
                                 (row["runner"], row["workload"], row["metric"],
                                  row["status"]), d)
                if row["status"] == "ok":
                    self.assertEqual(line["value"], float(row["value"]), d)
                    self.assertEqual(line["rep"], int(row["rep"]))

    def test_not_ok_is_null(self):
        """export jsonl: a row that is not ok has value null, never 0; empty fields null"""
        lines = export_lines(COMPLETE)
        bad = [x for x in lines if x["status"] != "ok"]
        self.assertTrue(bad)
        for x in bad:
            self.assertIsNone(x["value"])
            self.assertTrue(x["note"])
        cell = [x for x in bad if x["metric"] is None]
        self.assertTrue(cell)
        self.assertTrue(all(x["unit"] is None and x["better"] is None for x in cell))
        # a skipped cell has no repetition; a repetition that failed keeps its index
        self.assertTrue(any(x["rep"] is None for x in cell))
        self.assertIn(3, [x["rep"] for x in cell if x["status"] == "failed"])
        self.assertTrue(all(x["value"] is not None for x in lines if x["status"] == "ok"))

    def test_dimensions(self):
        """export jsonl: run id, RFC 3339 start, host name and identity on every line"""
        m = meta(IRQ)
        for x in export_lines(IRQ):
            self.assertEqual(x["run_id"], m["run_id"])
            self.assertEqual(x["run_started"], m["started_utc"])
            self.assertRegex(x["run_started"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertEqual(x["host_name"], m["host_name"])
            self.assertEqual(x["host_identity"], m.get("host_identity"))
            self.assertEqual(x["run_status"], "complete")

    def test_context_keys(self):
        """export jsonl: context holds compare's context keys, host.irq.*, and only
        column names of [A-Za-z0-9_]"""
        m = meta(IRQ)
        x = export_lines(IRQ)[0]
        c = x["context"]
        for k in ("kernel", "cpu_model", "microcode", "vcpus"):
            if k in m:
                self.assertEqual(c[k], m[k], k)
        irq = [k for k in m if k.startswith("host.irq.")]
        self.assertTrue(irq)
        for k in irq:
            self.assertEqual(c[k.replace(".", "_")], m[k])
        for k in c:
            self.assertRegex(k, r"^[A-Za-z0-9_]+$")
        for k in ("command_line", "started_utc", "tsc_khz", "status"):
            self.assertNotIn(k, c)

    def test_context_own_runner(self):
        """export jsonl: a row gets its own runner's runner.<name>.* keys, not another's
        (xen-pv is not xen-pvh)"""
        m = meta(DOM0)
        lines = export_lines(DOM0)
        pv = next(x for x in lines if x["runner"] == "xen-pv")
        pvh = next(x for x in lines if x["runner"] == "xen-pvh")
        self.assertEqual(pv["context"]["runner_domain"], m["runner.xen-pv.domain"])
        self.assertEqual(pvh["context"]["runner_domain"], m["runner.xen-pvh.domain"])
        self.assertEqual(pv["context"]["runner_exits"], m["runner.xen-pv.exits"])
        self.assertEqual(pvh["context"]["runner_exits"], m["runner.xen-pvh.exits"])
        self.assertNotEqual(pv["context"]["runner_exits"], pvh["context"]["runner_exits"])
        # every runner_ key of a row is one of its own runner's keys
        own = {"runner_" + k[len("runner.xen-pv."):].replace(".", "_")
               for k in m if k.startswith("runner.xen-pv.")}
        self.assertEqual({k for k in pv["context"] if k.startswith("runner_")}, own)

    def test_context_capacity_step(self):
        """export jsonl: a capacity step's rows (kvm.n4) carry runner.kvm.* keys;
        param.* keys are in context"""
        with tempfile.TemporaryDirectory() as tmp:
            d = os.path.join(tmp, os.path.basename(CAP))
            shutil.copytree(CAP, d)
            with open(os.path.join(d, "meta.csv"), "a", encoding="utf-8") as f:
                f.write("runner.kvm.guest_mem_mib,512\nparam.open-loop.rate,1234\n")
            lines = export_lines(d)
        step = [x for x in lines if re.match(r"^kvm\.n\d+$", x["runner"])]
        self.assertTrue(step)
        for x in step:
            self.assertEqual(x["context"]["runner_guest_mem_mib"], "512")
            self.assertEqual(x["context"]["param_open_loop_rate"], "1234")

    def test_partial(self):
        """export: an incomplete run is refused (exit 2) without --allow-partial, and
        says partial with it; the torn last row is left out with a warning"""
        r = hvbench("export", RUNNING)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--allow-partial", r.stderr)
        r = hvbench("export", "--allow-partial", RUNNING)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("torn", r.stderr)
        lines = [json.loads(x) for x in r.stdout.splitlines()]
        self.assertEqual(len(lines), len(csv_rows(RUNNING)) - 1)
        self.assertTrue(all(x["run_status"] == "partial" for x in lines))

    def test_required_field_removed_fails(self):
        """sample schema: a line without value, context or host_identity does not validate"""
        s = schema("sample")
        line = export_lines(COMPLETE)[0]
        for k in ("value", "context", "host_identity", "run_started", "better"):
            broken = copy.deepcopy(line)
            del broken[k]
            self.assertTrue(any(repr(k) in e for e in js.validate(broken, s)), k)

    def test_usage(self):
        """export: no directory, an unknown format, a missing directory exit 2 with why"""
        for args, what in ((["export"], "result directory"),
                           (["export", "--format", "xml", COMPLETE], "jsonl or json"),
                           (["export", "/nonexistent-hvb"], "/nonexistent-hvb")):
            r = hvbench(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(what, r.stderr)
            self.assertEqual(r.stdout, "")

    def test_out_file(self):
        """export --out: the file holds the export, no temporary left; an unwritable
        place exits 1 naming it"""
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "s.jsonl")
            r = hvbench("export", "--out", out, COMPLETE)
            self.assertEqual((r.returncode, r.stdout), (0, ""), r.stderr)
            with open(out, encoding="utf-8") as f:
                self.assertEqual(len(f.read().splitlines()), len(csv_rows(COMPLETE)))
            self.assertEqual(os.listdir(tmp), ["s.jsonl"])
            bad = os.path.join(tmp, "no-such-dir", "s.jsonl")
            r = hvbench("export", "--out", bad, COMPLETE)
            self.assertEqual(r.returncode, 1)
            self.assertIn("no-such-dir", r.stderr)


@needs_hvbench
class TestRunDocument(unittest.TestCase):
    def doc(self, *dirs):
        r = hvbench("export", "--format", "json", "--allow-partial", *dirs)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_every_fixture_validates(self):
        """export json: the run document of every fixture fits run.schema.json"""
        s = schema("run")
        for d in fixtures():
            self.assertEqual(js.validate(self.doc(d), s), [], d)

    def test_cells(self):
        """run document: one entry per cell, its status, and the median and slowdown of
        the primary metric as samples.csv gives them"""
        doc, rows, m = self.doc(COMPLETE), csv_rows(COMPLETE), meta(COMPLETE)
        cells = {(c["runner"], c["workload"]): c for c in doc["cells"]}
        self.assertEqual(len(cells), len(doc["cells"]))
        self.assertEqual(set(cells), {(r["runner"], r["workload"]) for r in rows})
        self.assertEqual(doc["rows"], len(rows))
        self.assertEqual((doc["run_id"], doc["status"], doc["reps"]),
                         (m["run_id"], "complete", int(m["reps"])))

        def med(runner, w, metric):
            return statistics.median(float(r["value"]) for r in rows if r["status"] == "ok"
                                     and (r["runner"], r["workload"], r["metric"]) ==
                                     (runner, w, metric))
        c = cells[("kvm", "cpu/sha256")]
        self.assertEqual(c["status"], "ok")
        self.assertAlmostEqual(c["median"], med("kvm", "cpu/sha256", c["metric"]), places=9)
        nat = med("native", "cpu/sha256", c["metric"])
        ratio = c["median"] / nat if c["better"] == "lower" else nat / c["median"]
        self.assertAlmostEqual(c["vs_native"], ratio, places=9)
        skipped = cells[("native", "micro/pio-out-user")]
        self.assertEqual(skipped["status"], "skipped")
        self.assertTrue(skipped["note"])
        self.assertIsNone(skipped["median"])
        failed = [c for c in doc["cells"] if c["status"] == "failed"]
        self.assertEqual(len(failed), doc["failed_rows"])

    def test_partial_and_several(self):
        """export json: a running run's status is partial; two directories give an array"""
        doc = self.doc(COMPLETE, RUNNING)
        self.assertIsInstance(doc, list)
        self.assertEqual([d["status"] for d in doc], ["complete", "partial"])
        self.assertEqual(doc[1]["meta_status"], "running")
        self.assertTrue(doc[1]["warnings"])

    def test_required_field_removed_fails(self):
        """run schema: a document without cells, status, or a cell without median fails"""
        s, doc = schema("run"), self.doc(COMPLETE)
        for k in ("cells", "status", "run_id"):
            broken = copy.deepcopy(doc)
            del broken[k]
            self.assertTrue(js.validate(broken, s), k)
        broken = copy.deepcopy(doc)
        del broken["cells"][0]["median"]
        self.assertTrue(any("median" in e for e in js.validate(broken, s)))


@needs_hvbench
class TestReportJson(unittest.TestCase):
    def report(self, *args, cwd):
        env = dict(os.environ, HVB_HVBENCH=HVBENCH)
        r = subprocess.run([HVBENCH, "report", "--format", "json"] + list(args),
                           capture_output=True, text=True, cwd=cwd, env=env, check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_fixtures_validate_and_write_nothing(self):
        """report --format json: every fixture's document fits report.schema.json; no
        files are written"""
        s = schema("report")
        with tempfile.TemporaryDirectory() as tmp:
            for d in fixtures():
                doc = self.report("--allow-partial", d, cwd=tmp)
                self.assertEqual(js.validate(doc, s), [], d)
            self.assertEqual(os.listdir(tmp), [])

    def test_figures(self):
        """report --format json: the overhead cells are the run document's medians and
        slowdowns (one computation), the glance means are over its workloads"""
        with tempfile.TemporaryDirectory() as tmp:
            doc = self.report(COMPLETE, cwd=tmp)
        run = json.loads(hvbench("export", "--format", "json", COMPLETE).stdout)
        cells = {(c["runner"], c["workload"]): c for c in run["cells"]}
        over = {(o["runner"], o["workload"]): o for o in doc["overhead"]}
        o, c = over[("kvm", "cpu/sha256")], cells[("kvm", "cpu/sha256")]
        self.assertAlmostEqual(o["median"], c["median"], places=9)
        self.assertAlmostEqual(o["slowdown"], c["vs_native"], places=9)
        self.assertIsNotNone(o["ci_lo"])
        self.assertLessEqual(o["ci_lo"], o["slowdown"])
        self.assertLessEqual(o["slowdown"], o["ci_hi"])
        g = next(g for g in doc["glance"] if g["group"] == "cpu/*")
        self.assertEqual(g["k"], len(g["workloads"]))
        self.assertIn("kvm", g["geomean"])
        self.assertEqual(doc["runs"][0]["run_id"], run["run_id"])
        self.assertFalse(doc["partial"])
        self.assertTrue(any(p["status"] == "skipped" for p in doc["problems"]))

    def test_required_field_removed_fails(self):
        """report schema: a document without overhead, or a cell without slowdown, fails"""
        s = schema("report")
        with tempfile.TemporaryDirectory() as tmp:
            doc = self.report(COMPLETE, cwd=tmp)
        broken = copy.deepcopy(doc)
        del broken["overhead"]
        self.assertTrue(js.validate(broken, s))
        broken = copy.deepcopy(doc)
        del broken["overhead"][0]["slowdown"]
        self.assertTrue(any("slowdown" in e for e in js.validate(broken, s)))


@needs_hvbench
class TestListInfo(unittest.TestCase):
    def json_of(self, *args):
        r = hvbench(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_list(self):
        """list --format json: fits list.schema.json; the workloads of the text listing,
        parameters with range and default, runners with why when unavailable"""
        doc = self.json_of("list", "--format", "json")
        self.assertEqual(js.validate(doc, schema("list")), [])
        text = hvbench("list", "--workloads").stdout
        names = re.findall(r"^  (\S+/\S+) ", text, re.M)
        self.assertEqual([w["name"] for w in doc["workloads"]],
                         [n for n in names if n not in ("micro/bound-bare-kvm-run",)])
        ol = next(w for w in doc["workloads"] if w["name"] == "svc/open-loop")
        rate = next(p for p in ol["params"] if p["key"] == "open-loop.rate")
        self.assertLessEqual(rate["min"], rate["default"])
        self.assertLessEqual(rate["default"], rate["max"])
        self.assertIn(f"open-loop.rate=N (req/s, {rate['min']}-{rate['max']}, default "
                      f"{rate['default']})", text)
        native = next(r for r in doc["runners"] if r["name"] == "native")
        self.assertTrue(native["available"])
        self.assertIsNone(native["why"])
        for r in doc["runners"]:
            self.assertEqual(r["why"] is None, r["available"], r["name"])
        self.assertEqual(self.json_of("list", "--runners", "--format", "json").keys(),
                         {"schema", "runners"})

    def test_list_required_removed_fails(self):
        """list schema: a workload without params or a runner without available fails"""
        s, doc = schema("list"), self.json_of("list", "--format", "json")
        broken = copy.deepcopy(doc)
        del broken["workloads"][0]["params"]
        self.assertTrue(js.validate(broken, s))
        broken = copy.deepcopy(doc)
        del broken["runners"][0]["available"]
        self.assertTrue(js.validate(broken, s))

    def test_info(self):
        """info --format json: fits info.schema.json; the same sections and entries as
        --format csv"""
        doc = self.json_of("info", "--format", "json")
        self.assertEqual(js.validate(doc, schema("info")), [])
        rows = list(csv.DictReader(hvbench("info", "--format", "csv").stdout.splitlines()))
        self.assertEqual([s["name"] for s in doc["sections"]],
                         list(dict.fromkeys(r["section"] for r in rows)))
        # values measured on the spot (the TSC frequency) may differ between calls
        self.assertEqual([(s["name"], e["key"]) for s in doc["sections"] for e in s["entries"]],
                         [(r["section"], r["key"]) for r in rows])
        broken = copy.deepcopy(doc)
        del broken["sections"][0]["entries"][0]["value"]
        self.assertTrue(js.validate(broken, schema("info")))


if __name__ == "__main__":
    sys.exit(taplib.run_classes(TestChecker, TestExportSamples, TestRunDocument,
                                TestReportJson, TestListInfo))
