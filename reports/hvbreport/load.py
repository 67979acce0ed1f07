"""Read hvbench result directories (results/FORMAT.md, format version 1).

Every check here exists so that the report never shows a number it cannot
stand behind: a malformed row is an error naming the file and line, a partial
run is refused unless the caller accepts it, and a skipped cell stays a row
with its reason instead of disappearing.
"""

import csv
import io
import math
import os

FORMAT_VERSION = "1"

SAMPLES_COLS = ["run_id", "runner", "workload", "metric", "unit", "better", "rep",
                "value", "status", "note"]
COUNTERS_COLS = ["run_id", "runner", "workload", "rep", "event", "value", "time_enabled",
                 "time_running", "source", "status", "note"]
EXITS_COLS = ["run_id", "runner", "workload", "rep", "reason", "count", "total_ns"]
META_COLS = ["key", "value"]

STATUSES = ("ok", "skipped", "unsupported", "failed")
RUN_STATUSES = ("complete", "interrupted", "running", "failed")
# Runs whose data stays in *.partial files: the writer died, or a write failed.
PARTIAL_STATUSES = ("running", "failed")


class ResultError(Exception):
    """An input problem the user must fix; the message names file and line."""


class Row(dict):
    """A CSV row as a dict, remembering where it came from for error messages."""

    def __init__(self, values, name, line):
        super().__init__(values)
        self.where = f"{name}:{line}"
        self.line = line


class Run:
    """One result directory: its meta keys and the rows of its data files."""

    def __init__(self, path):
        self.path = path
        self.meta = {}
        self.samples = []
        self.counters = []
        self.exits = []
        self.partial = False        # data read from *.partial files
        self.warnings = []          # things the reader tolerated, shown in the report

    @property
    def run_id(self):
        return self.meta.get("run_id") or os.path.basename(os.path.normpath(self.path))

    @property
    def status(self):
        return self.meta.get("status", "")

    @property
    def incomplete(self):
        """True when the run does not hold every cell it was asked for."""
        return self.status != "complete"


def _read_csv(path, expected, tolerate_torn_tail=False, warnings=None):
    """Read a CSV with a header that starts with `expected` columns.

    Extra trailing columns are allowed (FORMAT.md allows additive columns).
    A *.partial file may end in a row torn by the writer's death; with
    tolerate_torn_tail that last row is dropped with a warning instead of
    failing, since it is exactly the damage the format anticipates.
    """
    name = os.path.basename(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # tolerate a BOM
            text = f.read()
    except UnicodeDecodeError as e:
        raise ResultError(f"{path}: not UTF-8 ({e})")
    except OSError as e:
        raise ResultError(f"{path}: cannot read: {e.strerror}")
    torn_tail = bool(text) and not text.endswith("\n")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = []
    try:
        header = next(reader)
    except StopIteration:
        raise ResultError(f"{path}:1: empty file (expected header {','.join(expected)})")
    except csv.Error as e:
        raise ResultError(f"{path}:1: malformed CSV: {e}")
    header = [h.strip() for h in header]
    if header[:len(expected)] != expected:
        raise ResultError(f"{path}:1: header is {','.join(header)!r}, "
                          f"expected it to start with {','.join(expected)!r}")
    pending = []
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            if tolerate_torn_tail and torn_tail:
                if warnings is not None:
                    warnings.append(f"{name}: dropped a torn last row at line "
                                    f"{reader.line_num} (writer died mid-row)")
                break
            raise ResultError(f"{path}:{reader.line_num}: malformed CSV: {e}")
        pending.append((reader.line_num, fields))
    for i, (line, fields) in enumerate(pending):
        if not fields or fields == [""]:
            continue
        if len(fields) != len(header):
            last = i == len(pending) - 1
            if tolerate_torn_tail and torn_tail and last:
                if warnings is not None:
                    warnings.append(f"{name}: dropped a torn last row at line {line} "
                                    f"({len(fields)} of {len(header)} fields; writer died mid-row)")
                continue
            raise ResultError(f"{path}:{line}: {len(fields)} fields, header has {len(header)}")
        rows.append(Row(zip(header, fields), name, line))
    return rows


def _number(row, col, path, required, integer=False):
    """Parse a numeric field; empty means "no value" (None) unless required."""
    text = row[col].strip()
    if text == "":
        if required:
            raise ResultError(f"{path}:{row.line}: column {col} is empty")
        return None
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise ResultError(f"{path}:{row.line}: column {col}: "
                          f"{text!r} is not a {'integer' if integer else 'number'}")
    if not integer and not math.isfinite(value):
        raise ResultError(f"{path}:{row.line}: column {col}: {text!r} is not finite")
    return value


def _data_file(run, base):
    """Pick base.csv or, for a run whose writer died or failed, base.csv.partial."""
    final = os.path.join(run.path, base + ".csv")
    partial = final + ".partial"
    if run.status in PARTIAL_STATUSES:
        if os.path.exists(partial):
            run.partial = True
            return partial, True
        if os.path.exists(final):
            return final, False
        raise ResultError(f"{partial}: missing (run status is {run.status!r}, so data should be "
                          f"in {base}.csv.partial)")
    if os.path.exists(final):
        return final, False
    if os.path.exists(partial):
        raise ResultError(f"{final}: missing, but {base}.csv.partial exists although meta.csv "
                          f"says status={run.status}: the run directory is inconsistent")
    raise ResultError(f"{final}: missing (every result directory holds {base}.csv, "
                      f"see results/FORMAT.md)")


def _load_meta(run):
    path = os.path.join(run.path, "meta.csv")
    for row in _read_csv(path, META_COLS):
        key = row["key"].strip()
        if not key:
            raise ResultError(f"{path}:{row.line}: empty key")
        if key in run.meta:
            raise ResultError(f"{path}:{row.line}: duplicate key {key!r}")
        run.meta[key] = row["value"]
    version = run.meta.get("format_version")
    if version is None:
        raise ResultError(f"{path}: no format_version key")
    if version.strip() != FORMAT_VERSION:
        raise ResultError(f"{path}: format_version is {version!r}; this report reads "
                          f"version {FORMAT_VERSION}")
    if run.status not in RUN_STATUSES:
        raise ResultError(f"{path}: status is {run.status!r}, expected one of "
                          f"{', '.join(RUN_STATUSES)}")


def _check_status(row, path):
    status = row["status"].strip()
    line = row.line
    if status not in STATUSES:
        raise ResultError(f"{path}:{line}: status {status!r} is not one of {', '.join(STATUSES)}")
    if status != "ok" and not row["note"].strip():
        raise ResultError(f"{path}:{line}: status {status} without a note saying why")
    return status


def _load_samples(run):
    path, partial = _data_file(run, "samples")
    rows = _read_csv(path, SAMPLES_COLS, partial, run.warnings)
    for row in rows:
        line = row.line
        row["status"] = _check_status(row, path)
        for col in ("runner", "workload"):
            if not row[col].strip():
                raise ResultError(f"{path}:{line}: column {col} is empty")
        ok = row["status"] == "ok"
        if ok:
            for col in ("metric", "unit"):
                if not row[col].strip():
                    raise ResultError(f"{path}:{line}: column {col} is empty in an ok row")
            if row["better"] not in ("lower", "higher"):
                raise ResultError(f"{path}:{line}: better is {row['better']!r}, "
                                  f"expected lower or higher")
        row["rep"] = _number(row, "rep", path, ok, integer=True)
        row["value"] = _number(row, "value", path, ok)
        if not ok and row["value"] is not None:
            raise ResultError(f"{path}:{line}: status {row['status']} row has a value")
    run.samples = rows


def _load_counters(run):
    path, partial = _data_file(run, "counters")
    rows = _read_csv(path, COUNTERS_COLS, partial, run.warnings)
    for row in rows:
        row["status"] = _check_status(row, path)
        ok = row["status"] == "ok"
        row["rep"] = _number(row, "rep", path, False, integer=True)
        row["value"] = _number(row, "value", path, ok)
        row["time_enabled"] = _number(row, "time_enabled", path, False)
        row["time_running"] = _number(row, "time_running", path, False)
    run.counters = rows


def _load_exits(run):
    path, partial = _data_file(run, "exits")
    rows = _read_csv(path, EXITS_COLS, partial, run.warnings)
    for row in rows:
        row["rep"] = _number(row, "rep", path, True, integer=True)
        row["count"] = _number(row, "count", path, True)
        row["total_ns"] = _number(row, "total_ns", path, False)
        if not row["reason"].strip():
            raise ResultError(f"{path}:{row.line}: column reason is empty")
    run.exits = rows


def load_run(path):
    """Load one result directory, or raise ResultError saying what is wrong."""
    if not os.path.isdir(path):
        raise ResultError(f"{path}: not a directory")
    if not os.path.exists(os.path.join(path, "meta.csv")):
        hint = ""
        subdirs = [d for d in sorted(os.listdir(path))
                   if os.path.exists(os.path.join(path, d, "meta.csv"))]
        if subdirs:
            hint = f" (it contains run directories, e.g. {os.path.join(path, subdirs[-1])})"
        raise ResultError(f"{path}: not a result directory: no meta.csv{hint}")
    run = Run(path)
    _load_meta(run)
    _load_samples(run)
    _load_counters(run)
    _load_exits(run)
    return run


def check_units(runs):
    """Fail when one (workload, metric) is reported in different units or directions.

    A ratio of medians across runners is meaningless if one runner wrote ns
    and another cycles under the same name, so this is an error, not a note.
    """
    seen = {}
    for run in runs:
        for row in run.samples:
            if row["status"] != "ok":
                continue
            key = (row["workload"], row["metric"])
            here = (row["unit"], row["better"])
            where = os.path.join(run.path, row.where)
            if key not in seen:
                seen[key] = (here, where)
                continue
            first, first_where = seen[key]
            if first[0] != here[0]:
                raise ResultError(f"{where}: {key[0]} {key[1]} is in unit {here[0]!r} but "
                                  f"{first_where} has {first[0]!r}: units disagree for the same metric")
            if first[1] != here[1]:
                raise ResultError(f"{where}: {key[0]} {key[1]} says better={here[1]} but "
                                  f"{first_where} says better={first[1]}")
