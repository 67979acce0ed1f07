#!/usr/bin/env bash
# hvbench compare when base and cand ran a workload with different
# parameters (meta param.*, `run --param`): a warning names each key with
# both values under its workload, that workload's rows say "params differ"
# (table, JSON, JUnit, GitHub annotations), and in gate mode they are not
# comparable (inconclusive, exit 3) even though their figures regressed.
# A parameter one side lacks counts only where that side ran the workload.
# hvbench ab expects its sides to differ so: it says so and keeps the
# verdicts (a real native A/B of cpu/crc32c with --b-args --param).
#
# The fixtures' workloads have no parameters of their own: compare reads
# param.* keys from meta.csv without knowing the workloads' descriptors,
# so made-up ones (param.sort.passes) test it as well as real ones.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh cmpparam
fix=tests/fixtures/results/20261126-101500-fixhost-4242

# mkrun NAME SLOWDOWN PARAM_LINES...: a copy of the fixture with run_id
# NAME, cpu/sort SLOWDOWN times slower, selecting cpu/sort and cpu/sha256
# (as a run records the names its globs selected), with these param.* rows.
mkrun() {
	local d=$tmp/$1 slow=$2
	shift 2
	cp -r "$fix" "$d"
	sed -i "s/20261126-101500-fixhost-4242/${d##*/}/g" "$d"/*.csv
	sed -i 's|^workloads,.*|workloads,"cpu/sort,cpu/sha256"|' "$d/meta.csv"
	awk -F, -v OFS=, -v s="$slow" '
		$3 == "cpu/sort" && $4 == "ns_per_op" { $8 = $8 * s }
		$3 == "cpu/sort" && $4 == "ops_per_s" { $8 = $8 / s } 1' "$d/samples.csv" >"$d/s.tmp"
	mv "$d/s.tmp" "$d/samples.csv"
	printf '%s\n' "$@" >>"$d/meta.csv"
}
mkrun base 1 param.sort.passes,1 param.sha256.blocks,8
mkrun cand 4 param.sort.passes,4 param.sha256.blocks,8 param.sort.extra,7 \
	param.chase-16KiB.hops,3
mkrun same 1 param.sort.passes,1 param.sha256.blocks,8
mkrun alike 1 param.sort.passes,4 param.sha256.blocks,8

CMP=("$HVBENCH" compare --workload 'cpu/*' --no-boot)
compare() { # compare NAME ARGS...: stdout in $tmp/NAME.out, stderr in .err, rc
	local name=$1
	shift
	"${CMP[@]}" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
}

compare diff --no-gate "$tmp/base" "$tmp/cand"
check "different parameters, no gate: the regression stands (exit 1, rc $rc)" [ "$rc" -eq 1 ]
warning=$(grep '^WARNING: workload parameters differ between base and cand' "$tmp/diff.out")
check "one warning says the workload parameters differ" [ "$(grep -c '^WARNING: workload parameters differ' "$tmp/diff.out")" -eq 1 ]
check "... naming the workload, the key and both values" \
	grep -qF "cpu/sort (param.sort.passes: base '1', cand '4'" <<<"$warning"
check "... and a key base lacks though it ran the workload, as not recorded" \
	grep -qF "param.sort.extra: base '(not recorded)', cand '7'" <<<"$warning"
lacks() { ! grep -q "$1" <<<"$warning"; }
check "... not a key of a workload base did not run (chase-16KiB)" lacks chase-16KiB
check "... nor an equal one (param.sha256.blocks)" lacks sha256
check "... which is not in the context warning (that lists host and settings)" \
	sh -c "! grep '^WARNING: context differs' '$tmp/diff.out' | grep -q param"
check "... and on stderr too" grep -q 'warning: compare: workload parameters differ' "$tmp/diff.err"
check "the changed workload's rows say so in the verdict column" \
	sh -c "[ \$(grep -c '^native  *cpu/sort .*regression (params differ)\$' '$tmp/diff.out') -eq 2 ]"
check "... the other workloads' rows do not" sh -c "! grep 'cpu/sha256' '$tmp/diff.out' | grep -q 'params'"
check "... and a note per runner and workload lists the parameters" \
	grep -qF "  kvm cpu/sort: param.sort.passes: base '1', cand '4'" "$tmp/diff.out"

compare other --no-gate --workload cpu/sha256 "$tmp/base" "$tmp/cand"
check "the changed workload left out (--workload): exit 0, the warning still names its parameters" \
	sh -c "[ $rc -eq 0 ] && grep -qF \"WARNING: workload parameters differ between base and cand: no workload compared (param.sort.passes: base '1', cand '4'\" '$tmp/other.out'"
check "... and no row is marked" sh -c "! grep -q '(params differ)' '$tmp/other.out'"

compare same "$tmp/base" "$tmp/same"
check "equal parameters: no such warning, no row marked" \
	sh -c "! grep -q 'params' '$tmp/same.out' && ! grep -q 'workload parameters' '$tmp/same.err'"

compare gate --gate "$tmp/base" "$tmp/cand"
check "gate mode: not comparable, exit 3 (inconclusive), not 1 (rc $rc)" [ "$rc" -eq 3 ]
check "... the rows say not comparable" \
	sh -c "[ \$(grep -c 'cpu/sort .*not comparable (params)\$' '$tmp/gate.out') -eq 8 ]"
check "... no regression is counted" grep -q '^summary: 0 workload(s) regressed$' "$tmp/gate.out"
check "... the gate names each with why and what to do" \
	grep -q "^  kvm cpu/sort ns_per_op: not comparable: the workload ran with different parameters (param.sort.passes: base '1', cand '4'.*rerun with the same --param" "$tmp/gate.out"
check "... the unchanged workloads are judged as before" \
	sh -c "! grep -q 'cpu/sha256.*not comparable' '$tmp/gate.out'"

compare json --gate --format json "$tmp/base" "$tmp/cand"
check "JSON: exit 3 as the table" [ "$rc" -eq 3 ]
check "JSON: params_differ lists each key with both values, and the rows mark it" \
	$PY - "$tmp/json.out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["params_differ"] == [
    {"key": "param.sort.passes", "base": "1", "cand": "4"},
    {"key": "param.sort.extra", "base": "(not recorded)", "cand": "7"}], d["params_differ"]
for r in d["rows"]:
    sort = r["workload"] == "cpu/sort"
    assert r["not_comparable"] == sort, r
    assert (r["params_differ"] is not None) == sort, r
    if sort:
        assert r["verdict"] == "inconclusive" and r["reason"].startswith("not comparable"), r
        assert "param.sort.passes: base '1', cand '4'" in r["params_differ"], r
assert d["summary"]["exit_status"] == 3 and d["summary"]["regression"] == 0, d["summary"]
assert any("workload parameters differ" in w for w in d["warnings"]), d["warnings"]
EOF

compare junit --gate --junit "$tmp/gate.xml" --annotations github "$tmp/base" "$tmp/cand"
check "JUnit, gate: cpu/sort fails as not-comparable, saying why" \
	$PY - "$tmp/gate.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
cases = list(ET.parse(sys.argv[1]).getroot().iter("testcase"))
for c in cases:
    f = c.find("failure")
    if c.get("classname").endswith(".cpu/sort"):
        assert f is not None and f.get("type") == "not-comparable", c.attrib
        assert f.get("message").startswith("not-comparable (gate): not comparable"), f.attrib
    else:
        assert f is None, c.attrib
EOF
out=$($PY tests/lib/check_junit.py "$tmp/gate.xml" --failures 8 --errors 0)
check "... the file is valid, 8 failures (the not comparable rows) ($out)" [ "$out" = ok ]
check "annotations, gate: an ::error per not comparable row" \
	sh -c "[ \$(grep -c '^::error title=hvbench compare%3A not-comparable .* cpu/sort ' '$tmp/junit.out') -eq 8 ]"

compare junit2 --no-gate --junit "$tmp/nogate.xml" --annotations github "$tmp/base" "$tmp/cand"
check "JUnit, no gate: the regression fails as one, its message names the parameters" \
	$PY - "$tmp/nogate.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
for c in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    if c.get("classname").endswith(".cpu/sort"):
        f = c.find("failure")
        assert f is not None and f.get("type") == "regression", c.attrib
        assert "workload parameters differ (param.sort.passes: base '1', cand '4'" in f.get("message"), f.attrib
        assert "not a hypervisor change" in f.text, f.text
EOF
check "annotations, no gate: the regression's ::error names the parameters" \
	sh -c "grep '^::error title=hvbench compare%3A regression native cpu/sort ns_per_op::' '$tmp/junit2.out' | grep -q 'workload parameters differ (param.sort.passes'"

compare annot --no-gate --annotations github "$tmp/base" "$tmp/alike"
check "annotations: a no-change row of a changed workload still gets a ::warning naming the parameters" \
	sh -c "grep '^::warning title=hvbench compare%3A no change kvm cpu/sort ns_per_op::' '$tmp/annot.out' |
	       grep -qF \"workload parameters differ (param.sort.passes: base '1', cand '4')\""
check "... and none for the unchanged workloads" sh -c "! grep -q '^::warning.*cpu/sha256' '$tmp/annot.out'"

# ab: a --param on one side is what the A/B tests.  Native, a quick run
# of cpu/crc32c per round: the figures are not checked, only what ab says.
"$HVBENCH" ab --runner native --workload cpu/crc32c --reps 3 --no-gate --format json \
	--b-args '--param crc32c.passes=2' --out "$tmp/ab" -- --quick >"$tmp/ab.json" 2>"$tmp/ab.err"
rc=$?
check "ab with --b-args --param: compared (exit 0 or 1, rc $rc)" [ "$rc" -le 1 ]
[ "$rc" -le 1 ] || tail -5 "$tmp/ab.err" | sed 's/^/# /'
check "... says the sides differ in that parameter as set up, verdicts standing" \
	$PY - "$tmp/ab.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["params_differ"] == [{"key": "param.crc32c.passes", "base": "1", "cand": "2"}], d["params_differ"]
w = [w for w in d["warnings"] if "workload parameters differ" in w]
assert len(w) == 1 and "as the sides were set up" in w[0] and "cpu/crc32c (param.crc32c.passes" in w[0], w
for r in d["rows"]:
    assert not r["not_comparable"], r
    assert (r["params_differ"] is not None) == (r["workload"] == "cpu/crc32c"), r
EOF
tap_done
