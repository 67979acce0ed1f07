#!/usr/bin/env python3
"""hvbench report: result directories -> report.html + summary.md (+ plots/).

Usage: hvbench_report.py [--out DIR] [--allow-partial] [--title T] RESULT_DIR_OR_FOLDER...

`hvbench report` execs exactly this script, so the CLI is a contract
(reports/README.md).  Python 3 standard library only; gnuplot for plots when
it is installed.  Exit status: 0 report written, 1 failure (bad input,
partial run refused, cannot write), 2 usage error.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hvbreport import jsonout, load, model, plots, render, stats  # noqa: E402

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
HERE = os.path.dirname(os.path.abspath(__file__))


class Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit 2 with our prefix (argparse default is 2 too)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        sys.stderr.write(f"hvbench report: {message}\n")
        sys.exit(EXIT_USAGE)


def parse_args(argv):
    p = Parser(prog="hvbench report",
               description="Render an offline HTML report and a Markdown summary from hvbench "
                           "result directories (results/FORMAT.md).")
    p.add_argument("dirs", nargs="+", metavar="RESULT_DIR",
                   help="result directory (one run), or a folder of runs (an --out parent, an "
                        "hvbench merge folder): every run in it, grouped by host")
    p.add_argument("--out", metavar="DIR",
                   help="output directory (default: ./hvbench-report/<run-id of the first dir>[+N] "
                        "under the current directory)")
    p.add_argument("--allow-partial", action="store_true",
                   help="accept runs whose status is running or interrupted; the report says "
                        "it is partial")
    p.add_argument("--title", metavar="T", help="report title")
    p.add_argument("--seed", type=int, default=stats.DEFAULT_SEED,
                   help=f"seed of the bootstrap intervals, passed to hvbench summarize (default "
                        f"{stats.DEFAULT_SEED})")
    p.add_argument("--no-plots", action="store_true", help="do not run gnuplot (tables only)")
    p.add_argument("--format", choices=("html", "json"), default="html",
                   help="html: write report.html and summary.md (default); json: print the "
                        "report's figures as one JSON document (hvbench-report/1, "
                        "results/FORMAT.md) on standard output and write no files")
    return p.parse_args(argv)


def default_out(runs):
    """./hvbench-report/<run-id>[+N] under the current directory: a report is output,
    like the run it renders, and never lands in the source tree or an installed copy."""
    if not load.valid_run_id(runs[0].run_id):  # never a path from file content unchecked
        raise load.ResultError(f"{runs[0].path}: run_id {runs[0].run_id[:80]!r} is not a run id")
    name = runs[0].run_id + (f"+{len(runs) - 1}" if len(runs) > 1 else "")
    return os.path.join(os.getcwd(), "hvbench-report", name)


def default_title(runs):
    if len(runs) == 1:
        r = runs[0]
        return f"hvbench report: {r.run_id} ({r.meta.get('host_name', '?')})"
    return f"hvbench report: {len(runs)} runs ({', '.join(r.run_id for r in runs)})"


def check_once(seen, d, run):
    """A run given twice (the same real path, or a copy: the same run_id) would
    count twice; seen holds (dir, real path, run_id) of the runs before."""
    real = os.path.realpath(d)
    for prev, prev_real, prev_id in seen:
        if real == prev_real:
            raise load.ResultError(f"{prev} and {d} are the same directory ({real}): a run "
                                   f"given more than once would count twice")
        if run.run_id == prev_id:
            raise load.ResultError(f"{prev} and {d} hold the same run (run_id {run.run_id}; a "
                                   f"copy?): a run given more than once would count twice")
    seen.append((d, real, run.run_id))


def load_all(dirs, allow_partial, seed=stats.DEFAULT_SEED):
    """Load every directory; refuse incomplete runs unless allowed.

    meta.csv, counters.csv and exits.csv are read here; samples.csv only by
    `hvbench summarize` (summarize below), whose document every run gets as
    run.summary, so a malformed samples.csv is its error (file:line).
    """
    runs, seen = [], []
    dirs = load.expand_dirs(dirs)  # a folder of runs (an --out parent, a merge) is its runs
    for d in dirs:
        run = load.load_run(d)
        check_once(seen, d, run)
        if run.incomplete and not allow_partial:
            where = (f" ({run.meta['failed_reason']}; data in *.partial files)"
                     if run.status == "failed" and run.meta.get("failed_reason") else
                     " (data in *.partial files)" if run.status in load.PARTIAL_STATUSES else
                     f" at {run.meta['interrupted_at']}" if run.meta.get("interrupted_at") else "")
            raise load.ResultError(
                f"{d}: run is incomplete: meta.csv status is {run.status!r}{where}; "
                f"pass --allow-partial to report the cells it has (the report will say it is "
                f"partial)")
        runs.append(run)
    summarize(runs, dirs, allow_partial, seed)
    load.check_units(runs)
    return runs


def find_hvbench():
    """The hvbench binary that computes the statistics: $HVB_HVBENCH (set by
    `hvbench report` to itself), $HVBENCH, build/hvbench of this source tree,
    or hvbench in PATH."""
    for var in ("HVB_HVBENCH", "HVBENCH"):
        path = os.environ.get(var)
        if path:
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
            raise load.ResultError(f"{var}={path}: not an executable hvbench binary")
    path = os.path.join(os.path.dirname(HERE), "build", "hvbench")
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    path = shutil.which("hvbench")
    if path:
        return path
    raise load.ResultError("cannot find the hvbench binary, which computes the report's "
                           "statistics (hvbench summarize): run `make`, or set HVBENCH to it")


# How hvbench prefixes summarize's errors (lib/util.c hvb_err, src/cmd_summarize.c).
SUMMARIZE_PREFIX = "hvbench: summarize: "


def summarize(runs, dirs, allow_partial, seed):
    """Run `hvbench summarize` over dirs and attach its document to the runs.

    Its reader is the one that validates samples.csv: an input error (exit
    status 2) is shown as it words it, naming the file and line.
    """
    exe = find_hvbench()
    cmd = [exe, "summarize", "--seed", str(seed)] + (["--allow-partial"] if allow_partial
                                                      else []) + ["--"] + list(dirs)
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    except OSError as e:
        raise load.ResultError(f"cannot run {exe}: {e}") from e
    if p.returncode != 0:
        msg = p.stderr.decode("utf-8", "replace").strip() or f"exit status {p.returncode}"
        if p.returncode == 2 and msg.startswith(SUMMARIZE_PREFIX) and "\n" not in msg:
            raise load.ResultError(msg[len(SUMMARIZE_PREFIX):])
        raise load.ResultError(f"{exe} summarize failed: {msg}")
    try:
        summ = model.Summary(json.loads(p.stdout))
    except (ValueError, KeyError) as e:
        raise load.ResultError(f"{exe} summarize: unreadable output: {e}") from e
    del p  # the document's text: the parsed one is all the report keeps
    for i, run in enumerate(runs):
        run.summary, run.index = summ, i
        # samples.csv's warnings (a torn last row) first, as its reader read it first
        run.warnings[:0] = [_local(w, run.path) for w in summ.doc["runs"][i]["warnings"]]


def _local(warning, path):
    """A reader warning named by file, as the report's own ones are:
    'DIR/samples.csv.partial: ...' -> 'samples.csv.partial: ...'."""
    prefix = path + "/"  # as lib/results.c joins them
    return warning[len(prefix):] if warning.startswith(prefix) else warning


def write_file(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def print_json(runs, args):
    """--format json: the document on stdout, nothing written, no plots."""
    rep = render.Report(runs, args.title or default_title(runs), args.seed, None,
                        args.allow_partial)
    sys.stdout.write(jsonout.render(rep))
    return EXIT_OK


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        runs = load_all(args.dirs, args.allow_partial, args.seed)
        out = args.out or default_out(runs)
    except load.ResultError as e:
        print(f"hvbench report: error: {e}", file=sys.stderr)
        return EXIT_FAIL
    if args.format == "json":
        return print_json(runs, args)
    try:
        os.makedirs(out, exist_ok=True)
        plotter = None if args.no_plots else plots.Plotter(out)
        rep = render.Report(runs, args.title or default_title(runs), args.seed, plotter,
                            args.allow_partial)
        write_file(os.path.join(out, "report.html"), render.render_html(rep))
        write_file(os.path.join(out, "summary.md"), render.render_md(rep))
    except OSError as e:
        print(f"hvbench report: error: cannot write {out}: {e}", file=sys.stderr)
        return EXIT_FAIL
    if plotter is not None and not plotter.available:
        print(f"hvbench report: warning: plots not drawn: {plotter.why_not}", file=sys.stderr)
    elif plotter is not None and plotter.failed:
        for name, why in plotter.failed.items():
            print(f"hvbench report: warning: plot {name} not drawn: {why}", file=sys.stderr)
    if rep.partial_runs:
        print("hvbench report: warning: PARTIAL report (--allow-partial): "
              + ", ".join(f"{r.run_id} is {r.status}" for r in rep.partial_runs), file=sys.stderr)
    print(os.path.join(out, "report.html"))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
