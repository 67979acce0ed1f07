#!/usr/bin/env python3
"""Read the CI templates (ci/templates/*.yml) for tests/integration/test_ci_templates.sh.

Usage:
  ci_steps.py check github|gitlab FILE   structural checks; "ok" or one problem a line
  ci_steps.py steps github|gitlab FILE   the shell commands of the job, one a line
  ci_steps.py env github|gitlab FILE     the job's HVB_AB_* variables, KEY=VALUE a line

Needs PyYAML (Debian python3-yaml); exit 77 without it, so the caller can
skip visibly.  Exit 1 when a check fails.
"""
import sys

try:
    import yaml
except ImportError:
    sys.exit(77)

GATE = "ci/templates/ab-gate.sh"


def github(doc):
    # YAML 1.1 reads the key `on` as true
    on = doc.get("on", doc.get(True)) or {}
    job = doc["jobs"]["ab"]
    steps = job["steps"]
    return {
        "problems": [p for p, bad in (
            ("runs on pull_request", "pull_request" not in on),
            ("runs on a self-hosted runner labelled kvm",
             not {"self-hosted", "kvm"} <= set(job.get("runs-on", []))),
            ("checks out with the whole history (fetch-depth 0)",
             not any(s.get("uses", "").startswith("actions/checkout@") and
                     s.get("with", {}).get("fetch-depth") == 0 for s in steps)),
            ("uploads the output directory as an artifact, always",
             not any(s.get("uses", "").startswith("actions/upload-artifact@") and
                     s.get("if") == "always()" and
                     s.get("with", {}).get("path", "").rstrip("/") == job["env"]["HVB_AB_OUT"]
                     for s in steps)),
        ) if bad],
        "steps": [s["run"] for s in steps if "run" in s],
        "env": job["env"],
    }


def gitlab(doc):
    job = doc["hvbench-ab"]
    var = job["variables"]
    art = job.get("artifacts", {})
    return {
        "problems": [p for p, bad in (
            ("runs for merge requests",
             not any("merge_request_event" in r.get("if", "") for r in job.get("rules", []))),
            ("runs on a runner tagged kvm", "kvm" not in job.get("tags", [])),
            ("clones the whole history (GIT_DEPTH 0)", str(var.get("GIT_DEPTH")) != "0"),
            ("artifacts always, the output directory",
             art.get("when") != "always" or
             var["HVB_AB_OUT"] not in [p.rstrip("/") for p in art.get("paths", [])]),
            ("artifacts:reports:junit is the JUnit file",
             art.get("reports", {}).get("junit") != var["HVB_AB_OUT"] + "/junit.xml"),
        ) if bad],
        "steps": job["script"],
        "env": var,
    }


def main(argv):
    what, kind, path = argv[1:4]
    t = {"github": github, "gitlab": gitlab}[kind](yaml.safe_load(open(path)))
    if what == "check":
        gate = [s for s in t["steps"] if GATE in s]
        if not any(GATE + " build-base " in s for s in gate) or \
           not any(GATE + " run " in s for s in gate):
            t["problems"].append("builds the base and runs the gate through " + GATE)
        for p in t["problems"]:
            print("missing: " + p)
        if not t["problems"]:
            print("ok")
        return 1 if t["problems"] else 0
    if what == "steps":
        for s in t["steps"]:
            print(s.strip().replace("\n", " "))
    elif what == "env":
        for k, v in sorted(t["env"].items()):
            if k.startswith("HVB_AB_"):
                print("%s=%s" % (k, v))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
