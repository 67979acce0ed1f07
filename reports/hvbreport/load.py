"""Read hvbench result directories (results/FORMAT.md, format version 1).

Every check here exists so that the report never shows a number it cannot
stand behind: a malformed row is an error naming the file and line, a partial
run is refused unless the caller accepts it, and a skipped cell stays a row
with its reason instead of disappearing.

This reads the small files: meta.csv, counters.csv and exits.csv.
samples.csv, which can hold millions of rows, is read and validated once, in
C, by `hvbench summarize` (lib/results.c, the reader `hvbench compare`
uses): the report takes every sample fact from its document
(hvbench_report.py attaches it as run.summary) and never parses samples.csv.
"""

import math
import os
import re

FORMAT_VERSION = "1"

COUNTERS_COLS = ["run_id", "runner", "workload", "rep", "event", "value", "time_enabled",
                 "time_running", "source", "status", "note"]
EXITS_COLS = ["run_id", "runner", "workload", "rep", "reason", "count", "total_ns"]
META_COLS = ["key", "value"]

STATUSES = ("ok", "skipped", "unsupported", "failed")
RUN_STATUSES = ("complete", "interrupted", "running", "failed")
# Runs whose data stays in *.partial files: the writer died, or a write failed.
PARTIAL_STATUSES = ("running", "failed")


RUN_ID_MAX = 128
_RUN_ID = re.compile(r"[A-Za-z0-9._-]{1,%d}" % RUN_ID_MAX)


def valid_run_id(run_id):
    """A run id is one safe path component (report names its output after it)."""
    return bool(_RUN_ID.fullmatch(run_id)) and run_id not in (".", "..")


class ResultError(Exception):
    """An input problem the user must fix; the message names file and line."""


class Row(dict):
    """A CSV row as a dict, remembering where it came from for error messages."""

    def __init__(self, values, name, line):
        super().__init__(values)
        self.where = f"{name}:{line}"
        self.line = line


class Run:
    """One result directory: its meta keys and the rows of its small data files
    (samples are in run.summary, hvbench summarize's document)."""

    def __init__(self, path):
        self.path = path
        self.meta = {}
        self.counters = []
        self.exits = []
        self.partial = False        # data read from *.partial files
        self.warnings = []          # things the reader tolerated, shown in the report

    @property
    def run_id(self):
        return self.meta["run_id"]  # checked by valid_run_id when loaded

    @property
    def status(self):
        return self.meta.get("status", "")

    @property
    def incomplete(self):
        """True when the run does not hold every cell it was asked for."""
        return self.status != "complete"


class _CsvError(Exception):
    def __init__(self, line, what):
        super().__init__(what)
        self.line = line


_PLAIN = re.compile(r'[^,"\r\n]*')
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # bytes surrogateescape could not decode


def _quoted(text, pos):
    """The quoted field opening at pos: (value, position after it), or None
    when the text ends inside it."""
    parts, i = [], pos + 1
    while True:
        j = text.find('"', i)
        if j < 0:
            return None
        parts.append(text[i:j])
        if not text.startswith('"', j + 1):
            return "".join(parts), j + 1
        parts.append('"')
        i = j + 2


def _records(text):
    """Yield (line, fields, ending) for each record of text.

    RFC 4180 as libcsv's strict mode reads it (lib/csvfile.c), so both
    readers split a file alike: fields verbatim, a quote only around a whole
    field, CR, LF or CRLF ending a record, blank lines skipped.  line is
    where the record starts; ending is "line" (a line break ended it), or,
    for a last record without one, "eof" or "open" (inside a quoted field).
    """
    pos, end, line = 0, len(text), 1
    while pos < end:
        if text[pos] in "\r\n":  # a blank line holds no record
            line += text[pos] == "\n"
            pos += 1
            continue
        start, fields = line, []
        while True:
            if text.startswith('"', pos):
                got = _quoted(text, pos)
                if got is None:
                    yield start, fields, "open"
                    return
                line += text.count("\n", pos, got[1])
                value, pos = got
            else:
                value = _PLAIN.match(text, pos).group()
                pos += len(value)
                if text.startswith('"', pos):
                    raise _CsvError(line, "a quote inside an unquoted field")
            fields.append(value)
            if pos >= end:
                yield start, fields, "eof"
                return
            if text[pos] == ",":
                pos += 1
                continue
            if text[pos] not in "\r\n":
                raise _CsvError(line, "text after a closing quote")
            line += text[pos] == "\n"
            pos += 1
            yield start, fields, "line"
            break


def _checked_records(path, text, tolerate_torn_tail, warnings):
    """(line, fields) of every record, each valid UTF-8 without NUL bytes.

    A *.partial file may end in a record torn by the writer's death: with
    tolerate_torn_tail that last, unterminated record is dropped with a
    warning instead of read, since it is exactly the damage the format
    anticipates (FORMAT.md).  Anywhere else damage is an error.
    """
    name = os.path.basename(path)
    try:
        for line, fields, ending in _records(text):
            if ending != "line" and tolerate_torn_tail:
                if warnings is not None:
                    warnings.append(f"{name}: dropped a torn last row at line {line} "
                                    f"(the writer died while writing it)")
                return
            if ending == "open":
                raise _CsvError(line, "a quoted field is still open at the end of the file")
            for f in fields:
                if "\0" in f:
                    raise ResultError(f"{path}:{line}: NUL byte in a field")
                if _NOT_UTF8.search(f):
                    raise ResultError(f"{path}:{line}: not UTF-8")
            yield line, fields
    except _CsvError as e:
        raise ResultError(f"{path}:{e.line}: malformed CSV: {e}")


def _read_csv(path, expected, tolerate_torn_tail=False, warnings=None):
    """Read a CSV file whose header starts with the `expected` columns.

    Extra trailing columns are allowed (FORMAT.md allows additive columns);
    a UTF-8 BOM at the start is skipped.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ResultError(f"{path}: cannot read: {e.strerror}")
    text = data.decode("utf-8-sig", "surrogateescape")
    records = _checked_records(path, text, tolerate_torn_tail, warnings)
    first = next(records, None)
    if first is None:
        raise ResultError(f"{path}:1: empty file (expected header {','.join(expected)})")
    hline, header = first
    if header[:len(expected)] != expected:
        raise ResultError(f"{path}:{hline}: header is '{','.join(header)}', "
                          f"expected it to start with '{','.join(expected)}'")
    name = os.path.basename(path)
    rows = []
    for line, fields in records:
        if len(fields) != len(header):
            raise ResultError(f"{path}:{line}: {len(fields)} fields, header has {len(header)}")
        rows.append(Row(zip(header, fields), name, line))
    return rows


# FORMAT.md number syntax, as lib/results.c checks it: float() alone would
# also take "1_0", " 1 ", "inf" and "nan", int() "-1", "+1" and "1_0".
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INDEX = re.compile(r"[0-9]{1,10}")
INDEX_MAX = 2**31 - 1


def _number(row, col, path, required, integer=False):
    """Parse a numeric field; empty means "no value" (None) unless required.

    integer: a repetition index, decimal digits only, 0..INDEX_MAX.
    """
    text = row[col]
    if text == "":
        if required:
            raise ResultError(f"{path}:{row.line}: column {col} is empty")
        return None
    if integer:
        if not _INDEX.fullmatch(text) or int(text) > INDEX_MAX:
            raise ResultError(f"{path}:{row.line}: column {col}: '{text[:80]}' is not an "
                              f"integer in 0..{INDEX_MAX}")
        return int(text)
    if not _DECIMAL.fullmatch(text):
        raise ResultError(f"{path}:{row.line}: column {col}: '{text[:80]}' is not a decimal "
                          f"number")
    value = float(text)
    if not math.isfinite(value):
        raise ResultError(f"{path}:{row.line}: column {col}: '{text[:80]}' is not finite")
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
    rows = _read_csv(path, META_COLS)
    for row in rows:
        if not row["key"]:
            raise ResultError(f"{path}:{row.line}: empty key")
    for row in rows:  # after every row's own check, as lib/results.c does it
        key = row["key"]
        if key in run.meta:
            raise ResultError(f"{path}:{row.line}: duplicate key '{key[:80]}'")
        run.meta[key] = row["value"]
    version = run.meta.get("format_version")
    if version is None:
        raise ResultError(f"{path}: no format_version key")
    if version != FORMAT_VERSION:
        raise ResultError(f"{path}: format_version is '{version[:80]}'; this reader reads "
                          f"version {FORMAT_VERSION}")
    if "status" not in run.meta:
        raise ResultError(f"{path}: no status key: not an hvbench run or a damaged meta.csv")
    if run.status not in RUN_STATUSES:
        raise ResultError(f"{path}: status is '{run.status[:80]}', expected complete, "
                          f"interrupted or running")
    if "run_id" not in run.meta:
        raise ResultError(f"{path}: no run_id key")
    if not valid_run_id(run.meta["run_id"]):
        raise ResultError(f"{path}: run_id '{run.meta['run_id'][:80]}' is not a run id (1 to "
                          f"{RUN_ID_MAX} of A-Z a-z 0-9 . _ -, not . or ..)")


def _check_status(row, path):
    status = row["status"]
    line = row.line
    if status not in STATUSES:
        raise ResultError(f"{path}:{line}: status '{status[:80]}' is not one of "
                          f"{', '.join(STATUSES)}")
    if status != "ok" and not row["note"]:
        raise ResultError(f"{path}:{line}: status {status} without a note saying why")
    return status


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
        # ops (operations the exits were counted over) came later: a file
        # without the column, or an empty field, means unknown.
        row["ops"] = _number(row, "ops", path, False) if "ops" in row else None
        if row["ops"] is not None and row["ops"] <= 0:
            raise ResultError(f"{path}:{row.line}: column ops: {row['ops']:g} operations, "
                              f"must be > 0 (empty when unknown)")
        if not row["reason"]:
            raise ResultError(f"{path}:{row.line}: column reason is empty")
        _exit_latency(row, path)
    run.exits = rows


LATENCY_COLS = ("p50_ns", "p90_ns", "p99_ns", "max_ns")


def _exit_latency(row, path):
    """The per-exit latency columns (added later): numbers, all four or none;
    a file without them, or empty fields, means the source did not time
    each exit (None)."""
    given = [c for c in LATENCY_COLS if row.get(c)]
    if given and len(given) != len(LATENCY_COLS):
        raise ResultError(f"{path}:{row.line}: latency columns {','.join(LATENCY_COLS)}: "
                          f"all four or none")
    for c in LATENCY_COLS:
        row[c] = _number(row, c, path, False) if given else None


def _child_runs(path):
    """The run directories directly under a folder, by name: real directories
    (not links such as results/latest, which would list a run twice), not
    dot names, holding meta.csv; as lib/runfolder.c lists them."""
    out = []
    for name in sorted(os.listdir(path)):
        child = os.path.join(path, name)
        if (not name.startswith(".") and not os.path.islink(child) and os.path.isdir(child)
                and os.path.exists(os.path.join(child, "meta.csv"))):
            out.append(child)
    return out


def expand_dirs(paths):
    """Each path as the runs it stands for: a run directory itself, a folder
    of runs (an --out parent, an hvbench merge folder) each run in it."""
    out = []
    for p in paths:
        if os.path.isdir(p) and not os.path.exists(os.path.join(p, "meta.csv")):
            try:
                runs = _child_runs(p)
            except OSError as e:
                raise ResultError(f"{p}: cannot list: {e.strerror}")
            if runs:
                out.extend(runs)
                continue
        out.append(p)  # load_run says what is wrong with it
    return out


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
    _load_counters(run)
    _load_exits(run)
    return run


def check_units(runs):
    """Fail when one (workload, metric) is reported in different units or directions.

    A ratio of medians across runners is meaningless if one runner wrote ns
    and another cycles under the same name, so this is an error, not a note.
    Checked on `hvbench summarize`'s series (attached as run.summary), which
    are in file order of their first row and within which the unit and
    direction are already one (summarize refuses a series that changes them),
    so the first series that disagrees names the first row that does.
    """
    if not runs:
        return
    summ = runs[0].summary
    files = [r["samples"] for r in summ.doc["runs"]]
    seen = {}
    for e in summ.doc["series"]:
        key = (e["workload"], e["metric"])
        here = (e["unit"], e["better"])
        where = f"{files[e['run']]}:{e['line']}"
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
