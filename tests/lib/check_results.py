#!/usr/bin/env python3
"""Validate a result directory against results/FORMAT.md (stdlib only).

Usage: check_results.py DIR [--runner R] [--expect-status S] [--list LISTFILE]
Prints TAP-free diagnostics; exit 0 if valid, 1 if not.  LISTFILE is the
output of `hvbench list --workloads`, used to check units match the
descriptors' kinds.
"""
import csv
import math
import os
import sys

SAMPLES = ["run_id", "runner", "workload", "metric", "unit", "better", "rep", "value",
           "status", "note"]
UNIT_OF_KIND = {"ns/op": {"ns", "cycles"}, "MB/s": {"MB/s", "ns"}, "ops/s": {"ops/s", "ns"}}
# Rows of per-request (io/) workloads whose unit is not their kind's: the
# harness's requests per second and the runners' costs per request.
PER_REQUEST_UNITS = {"ops_per_s": "ops/s", "host_cpu_ns_per_op": "ns",
                     "notifies_per_op": "notifies",
                     # net/: the responder's CPU (runners) and the loss rows (harness)
                     "peer_cpu_ns_per_op": "ns", "lost": "datagrams", "loss_pct": "%",
                     "reordered": "datagrams",
                     # svc/open-loop: requests that started more than a period late
                     "late": "requests",
                     # migrate/dirty: pages that failed the working-set check
                     "lost_pages": "pages"}
# Units whose values must be > 0 (FORMAT.md); any other (a count) may be 0.
POSITIVE_UNITS = {"ns", "cycles", "ms", "MB/s", "ops/s"}
REQUIRED_META = ["format_version", "run_id", "status", "started_utc", "finished_utc",
                 "hvbench_version", "hvbench_commit", "command_line", "kernel", "cpu_model",
                 "tsc_khz", "hypervisor", "nesting", "mitigations", "thp", "governor",
                 "topology", "compiler", "workload_cflags", "runners", "workloads", "reps"]


def fail(msg):
    print("invalid: " + msg)
    sys.exit(1)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def main():
    args = sys.argv[1:]
    d = args[0]
    opts = dict(zip(args[1::2], args[2::2]))
    meta = dict(read_csv(os.path.join(d, "meta.csv"))[1:])
    for k in REQUIRED_META:
        if k not in meta:
            fail("meta.csv lacks " + k)
    want = opts.get("--expect-status", "complete")
    if meta["status"] != want:
        fail("status is %s, expected %s" % (meta["status"], want))
    rows = read_csv(os.path.join(d, "samples.csv"))
    if rows[0] != SAMPLES:
        fail("samples.csv header %r" % rows[0])
    kinds = {}
    if "--list" in opts:
        for line in open(opts["--list"]):
            parts = line.split()
            if len(parts) >= 2 and "/" in parts[0]:
                kinds[parts[0]] = parts[1].rstrip(",")
    cells = set()
    for i, r in enumerate(rows[1:], start=2):
        if len(r) != 10:
            fail("samples.csv:%d has %d fields" % (i, len(r)))
        row = dict(zip(SAMPLES, r))
        if row["run_id"] != meta["run_id"]:
            fail("samples.csv:%d run_id differs from meta" % i)
        if "--runner" in opts and row["runner"] != opts["--runner"]:
            fail("samples.csv:%d unexpected runner %s" % (i, row["runner"]))
        cells.add((row["runner"], row["workload"]))
        if row["status"] == "ok":
            v = float(row["value"])
            if not math.isfinite(v) or v < 0 or (v == 0 and row["unit"] in POSITIVE_UNITS):
                fail("samples.csv:%d value %s is not positive" % (i, row["value"]))
            if row["better"] not in ("lower", "higher") or not row["unit"]:
                fail("samples.csv:%d lacks unit/direction" % i)
            kind = kinds.get(row["workload"])
            if PER_REQUEST_UNITS.get(row["metric"]) == row["unit"]:
                pass
            elif kind and row["unit"] not in UNIT_OF_KIND.get(kind, {row["unit"]}):
                fail("samples.csv:%d unit %s does not match the workload kind %s"
                     % (i, row["unit"], kind))
        elif row["status"] in ("skipped", "unsupported", "failed"):
            if not row["note"]:
                fail("samples.csv:%d non-ok row without a reason" % i)
            if row["value"]:
                fail("samples.csv:%d non-ok row with a value" % i)
        else:
            fail("samples.csv:%d bad status %s" % (i, row["status"]))
    expected = set(meta["workloads"].split(",")) if meta["workloads"] else set()
    for runner in meta["runners"].split(","):
        for w in expected:
            if (runner, w) not in cells and meta["status"] == "complete":
                fail("cell %s x %s has no row at all" % (runner, w))
    for name in ("counters.csv", "exits.csv"):
        if not os.path.exists(os.path.join(d, name)):
            fail(name + " missing")
    print("valid: %d rows, %d cells" % (len(rows) - 1, len(cells)))


if __name__ == "__main__":
    main()
