"""The report's figures as one JSON document (schema hvbench-report/1,
results/schema/report.schema.json): `hvbench report --format json`.

The same Report object the HTML and Markdown renderers read, so the
numbers are the report's own (hvbench summarize's medians, slowdowns and
intervals); nothing here computes a statistic.
"""

import json

from . import model

SCHEMA = "hvbench-report/1"


def _num(x):
    """A finite float, or None (JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return x if x == x and x not in (float("inf"), float("-inf")) else None


def _run(i, run):
    m = run.meta
    return {"index": i, "run_id": run.run_id, "dir": run.path, "status": run.status,
            "host_name": m.get("host_name"), "host_identity": m.get("host_identity"),
            "started_utc": m.get("started_utc"),
            "warnings": list(run.warnings)
            + [f"{title}: {text}" for _wid, title, text in model.context_warnings(run)]}


def _overhead_cell(row, s, cmp, why):
    """One runner's figure of an overhead row; without a native figure
    (cmp None) its own median still stands, with why there is no ratio."""
    ci = cmp.ci if cmp is not None else None
    w, metric = row["workload"], row["metric"]
    return {"workload": w, "metric": metric, "unit": row["unit"],
            "better": row["better"], "run": s.run_index, "runner": s.runner, "label": s.label,
            "emulated": bool(s.emulated),
            "median": _num(cmp.median if cmp else s.median(w, metric)),
            "native_median": _num(cmp.base_median) if cmp else None,
            "n": cmp.n_cand if cmp else len(s.reps(w, metric)), "n_native": cmp.n_base if cmp else 0,
            "slowdown": _num(cmp.slowdown) if cmp else None,
            "ci_lo": _num(ci[0]) if ci else None, "ci_hi": _num(ci[1]) if ci else None,
            "why": (why or (cmp.ci_why if cmp else None)) or None}


def _glance(g):
    return {"group": g.group, "k": g.k, "workloads": list(g.common),
            "geomean": {label: _num(v) for label, v in sorted(g.per.items())}}


def _problem(p):
    return {"kind": p["kind"], "runner": p["series"].runner, "run": p["series"].run_index,
            "workload": p["workload"], "status": p["status"], "note": p["note"],
            "what": list(p["what"]), "reps": list(p["reps"])}


def document(rep):
    """The document as a dict: runs, banners, overhead vs native per cell,
    the 'At a glance' geometric means, the problems."""
    return {
        "schema": SCHEMA,
        "title": rep.title,
        "generated": rep.generated,
        "partial": bool(rep.partial_runs),
        "runs": [_run(i, r) for i, r in enumerate(rep.runs)],
        "warnings": [{"id": wid, "title": title, "text": text}
                     for wid, title, text in rep.run_set_warnings],
        "overhead": [_overhead_cell(row, s, cmp, why)
                     for row in rep.overhead for s, cmp, why in row["cells"]],
        "glance": [_glance(g) for g in rep.headline],
        "problems": [_problem(p) for p in rep.problems],
    }


def render(rep):
    """The document as text: indented, one trailing newline."""
    return json.dumps(document(rep), indent=2, allow_nan=False) + "\n"
