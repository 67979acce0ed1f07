#!/usr/bin/env python3
"""The declared runner x workload matrix (tests/matrix.txt) and its check.

Usage:
  matrix.py runs MATRIX LIST
      One line per runner the matrix names, in its order:
      RUNNER<TAB>GLOBS, GLOBS being what to give --workload (the runner's
      globs that match a workload of LIST).
  matrix.py check MATRIX RUNNER DIR LIST
      Check the result directory DIR, a run of RUNNER over its GLOBS,
      against the matrix.  One line per check: "ok<TAB>DESC" or
      "not ok<TAB>DESC<TAB>WHY" (test_matrix.sh makes them TAP lines).

LIST is the output of `hvbench list --workloads`.  Stdlib only.
"""
import csv
import fnmatch
import os
import re
import sys

STATUSES = ("ok", "skipped", "unsupported")


class Line:
    def __init__(self, where, runner, globs, expect, reason):
        self.where, self.runner, self.globs = where, runner, globs
        self.expect, self.reason = expect, reason

    def matches(self, cell):
        return any(fnmatch.fnmatchcase(cell, g) for g in self.globs)


def read_matrix(path):
    lines = []
    for n, text in enumerate(open(path), start=1):
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        parts = text.split(None, 3)
        where = "%s:%d" % (path, n)
        if len(parts) < 3:
            sys.exit("%s: expected RUNNER GLOBS EXPECT [REASON]" % where)
        runner, globs, expect = parts[0], parts[1].split(","), parts[2].split("|")
        reason = parts[3] if len(parts) > 3 else ""
        bad = [s for s in expect if s not in STATUSES]
        if bad or not all(globs):
            sys.exit("%s: bad status %s (give %s) or empty glob" % (where, bad, "|".join(STATUSES)))
        if expect != ["ok"] and not reason:
            sys.exit("%s: a cell that may be %s needs a reason pattern" % (where, "|".join(expect)))
        if expect == ["ok"] and reason:
            sys.exit("%s: an ok cell has no reason" % where)
        try:
            re.compile(reason)
        except re.error as e:
            sys.exit("%s: reason pattern: %s" % (where, e))
        lines.append(Line(where, runner, globs, expect, reason))
    return lines


def read_list(path):
    names = []
    for text in open(path):
        if text.startswith("rows runners add"):
            break  # not selectable workloads: each runner's own cells follow
        parts = text.split()
        if parts and "/" in parts[0]:
            names.append(parts[0])
    return names


def runners(lines):
    seen = []
    for line in lines:
        if line.runner not in seen:
            seen.append(line.runner)
    return seen


def selection(lines, runner, workloads):
    """The runner's globs that select workloads, and the workloads they select."""
    globs, selected = [], []
    for line in lines:
        if line.runner != runner:
            continue
        for g in line.globs:
            hit = [w for w in workloads if fnmatch.fnmatchcase(w, g)]
            if hit and g not in globs:
                globs.append(g)
            selected += [w for w in hit if w not in selected]
    return globs, selected


def cmd_runs(matrix, listfile):
    lines, workloads = read_matrix(matrix), read_list(listfile)
    for r in runners(lines):
        globs, _ = selection(lines, r, workloads)
        print("%s\t%s" % (r, ",".join(globs)))


def cmd_check(matrix, runner, d, listfile):
    lines = [l for l in read_matrix(matrix) if l.runner == runner]
    workloads = read_list(listfile)
    out = []

    def report(good, desc, why=""):
        out.append("ok\t" + desc if good else "not ok\t%s\t%s" % (desc, why))

    path = os.path.join(d, "samples.csv")
    if not lines or not os.path.exists(path):
        report(False, "%s: samples.csv to check" % runner,
               "no line for %s in %s" % (runner, matrix) if not lines else "no " + path)
        print("\n".join(out))
        return
    rows = {}
    for r in csv.DictReader(open(path, newline="")):
        if r["runner"] == runner:
            rows.setdefault(r["workload"], []).append(r)
    _, selected = selection(lines, runner, workloads)
    # Cells: the selected workloads, then the runner's own (boot), in the
    # order of the file.
    cells = selected + [c for c in rows if c not in selected]

    unmatched = [g for l in lines for g in l.globs
                 if not any(fnmatch.fnmatchcase(c, g) for c in cells)]
    report(not unmatched, "%s: every declared glob names a workload or a cell of the run" % runner,
           "matching nothing: " + ", ".join(unmatched))

    undeclared = []
    for cell in cells:
        decl = [l for l in lines if l.matches(cell)]
        if not decl:
            undeclared.append(cell)
            continue
        line = decl[-1]
        got = rows.get(cell, [])
        statuses = sorted({r["status"] for r in got})
        notes = sorted({r["note"] for r in got if r["status"] != "ok"})
        want = "|".join(line.expect)
        desc = "%s x %s: %s" % (runner, cell, "/".join(statuses) or "no row")
        if notes:
            desc += " (%s)" % "; ".join(n[:100] for n in notes)
        why = ""
        if not got:
            why = "no row at all"
        elif len(statuses) != 1:
            why = "mixed statuses %s" % statuses
        elif statuses[0] not in line.expect:
            why = "expected %s" % want
        elif statuses[0] != "ok":
            bad = [n for n in notes if not re.search(line.reason, n)]
            if bad:
                why = "reason %r does not match /%s/" % (bad[0], line.reason)
        if why:
            why += " (%s: %s %s %s)" % (line.where, ",".join(line.globs), want, line.reason)
        report(not why, desc, why)
    report(not undeclared, "%s: every cell of the run is declared" % runner,
           "undeclared: " + ", ".join(undeclared))
    print("\n".join(out))


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "runs":
        cmd_runs(a[1], a[2])
    elif len(a) == 5 and a[0] == "check":
        cmd_check(a[1], a[2], a[3], a[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
