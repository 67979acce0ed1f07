#!/usr/bin/env python3
"""Structural check of a JUnit XML file (stdlib only, no XSD).

Checks what Jenkins, GitLab and GitHub's JUnit reporters read, and that
the counts add up:

  <testsuites name tests failures errors skipped time>
    <testsuite name tests failures errors skipped time [timestamp hostname]>
      <properties><property name value/>...</properties>
      <testcase classname name time>
        [<failure message type>text</failure> | <error message type/> |
         <skipped message/>] [<system-out/>] [<system-err/>]
      </testcase>
      [<system-out/>] [<system-err/>]

Counts are non-negative integers, times non-negative decimals; a suite's
tests/failures/errors/skipped equal its test cases and their outcomes, the
root's equal the sums over its suites.  A test case has at most one
outcome element.  Unknown elements or missing attributes are errors.

Usage: check_junit.py FILE [--tests N] [--failures N] [--skipped N] [--errors N]
Prints "ok" or one problem per line ("invalid: ..."); exit 0 if valid, 1 if not.
As a module: problems(path) returns the list of problems.
"""
import re
import sys
import xml.etree.ElementTree as ET

COUNTS = ("tests", "failures", "errors", "skipped")
DECIMAL = re.compile(r"^[0-9]+(\.[0-9]+)?$")
INTEGER = re.compile(r"^[0-9]+$")
OUTCOMES = {"failure": ("message", "type"), "error": ("message", "type"),
            "skipped": ("message",)}


def _require(el, attrs, where, out):
    for a in attrs:
        if a not in el.attrib:
            out.append("%s: <%s> has no %s attribute" % (where, el.tag, a))


def _number(el, attr, rx, where, out):
    v = el.get(attr)
    if v is not None and not rx.match(v):
        out.append("%s: %s=%r is not a non-negative %s" %
                   (where, attr, v, "integer" if rx is INTEGER else "decimal"))


def _check_case(case, where, out):
    _require(case, ("classname", "name", "time"), where, out)
    _number(case, "time", DECIMAL, where, out)
    outcome = None
    for child in case:
        if child.tag in OUTCOMES:
            if outcome:
                out.append("%s: both <%s> and <%s>" % (where, outcome, child.tag))
            outcome = child.tag
            _require(child, OUTCOMES[child.tag], where, out)
        elif child.tag not in ("system-out", "system-err"):
            out.append("%s: unexpected <%s> in <testcase>" % (where, child.tag))
    return outcome


def _check_properties(props, where, out):
    for p in props:
        if p.tag != "property":
            out.append("%s: unexpected <%s> in <properties>" % (where, p.tag))
        else:
            _require(p, ("name", "value"), where + " property", out)


def _check_suite(suite, where, out):
    """The suite's counted outcomes, checked against its attributes."""
    _require(suite, ("name",) + COUNTS + ("time",), where, out)
    for a in COUNTS:
        _number(suite, a, INTEGER, where, out)
    _number(suite, "time", DECIMAL, where, out)
    seen = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for child in suite:
        if child.tag == "testcase":
            seen["tests"] += 1
            name = "%s testcase %s %s" % (where, child.get("classname"), child.get("name"))
            outcome = _check_case(child, name, out)
            if outcome:
                seen[{"failure": "failures", "error": "errors",
                      "skipped": "skipped"}[outcome]] += 1
        elif child.tag == "properties":
            _check_properties(child, where, out)
        elif child.tag not in ("system-out", "system-err"):
            out.append("%s: unexpected <%s> in <testsuite>" % (where, child.tag))
    for a in COUNTS:
        if suite.get(a, "").isdigit() and int(suite.get(a)) != seen[a]:
            out.append("%s: %s=%s but %d counted" % (where, a, suite.get(a), seen[a]))
    return seen


def problems(path):
    out = []
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as e:
        return ["not well-formed XML: %s" % e]
    if root.tag != "testsuites":
        return ["root element is <%s>, not <testsuites>" % root.tag]
    _require(root, ("name",) + COUNTS + ("time",), "testsuites", out)
    for a in COUNTS:
        _number(root, a, INTEGER, "testsuites", out)
    _number(root, "time", DECIMAL, "testsuites", out)
    total = dict.fromkeys(COUNTS, 0)
    suites = 0
    for i, suite in enumerate(root):
        if suite.tag != "testsuite":
            out.append("testsuites: unexpected <%s>" % suite.tag)
            continue
        suites += 1
        seen = _check_suite(suite, "testsuite %d (%s)" % (i + 1, suite.get("name")), out)
        for a in COUNTS:
            total[a] += seen[a]
    if not suites:
        out.append("testsuites: no <testsuite>")
    for a in COUNTS:
        if root.get(a, "").isdigit() and int(root.get(a)) != total[a]:
            out.append("testsuites: %s=%s but the suites have %d" % (a, root.get(a), total[a]))
    return out


def main(argv):
    if len(argv) < 2:
        print("usage: check_junit.py FILE [--tests N] [--failures N] [--skipped N] [--errors N]",
              file=sys.stderr)
        return 2
    path, expect = argv[1], {}
    args = argv[2:]
    while args:
        if len(args) < 2 or args[0][2:] not in COUNTS or not args[0].startswith("--"):
            print("check_junit.py: unknown argument %r" % args[0], file=sys.stderr)
            return 2
        expect[args[0][2:]] = int(args[1])
        args = args[2:]
    out = problems(path)
    if not out:
        root = ET.parse(path).getroot()
        for a, n in expect.items():
            if int(root.get(a)) != n:
                out.append("testsuites: %s=%s, expected %d" % (a, root.get(a), n))
    for p in out:
        print("invalid: " + p)
    if not out:
        print("ok")
    return 1 if out else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
