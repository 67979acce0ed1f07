#!/usr/bin/env bash
# compare --junit FILE and --annotations github on the result fixtures: the
# JUnit file passes tests/lib/check_junit.py (the structure Jenkins, GitLab
# and GitHub read, counts that add up) and says per (runner, workload,
# metric) what the table says; a hostile note survives both escapings; the
# file is replaced by a rename and a path that cannot be written is refused
# before anything runs.  The checker itself rejects broken documents.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
HVBENCH=${HVBENCH:-build/hvbench}
PY=${PYTHON:-python3}
CHECK="$PY tests/lib/check_junit.py"
tmp=$(mktemp -d /tmp/hvb-junit-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
F=tests/fixtures/results/20261126-101500-fixhost-4242 # native, kvm, qemu-kvm, xen-pvh x 5 reps
W='micro/cpuid,micro/hypercall,micro/syscall,cpu/sha256'
unset GITHUB_ACTIONS CI

# case CLASSNAME NAME: "outcome|type|message" of that test case in $1
case_of() {
	$PY - "$@" <<'EOF'
import sys, xml.etree.ElementTree as ET
path, cls, name = sys.argv[1:4]
for c in ET.parse(path).getroot().iter("testcase"):
    if c.get("classname") == cls and c.get("name") == name:
        for tag in ("failure", "skipped"):
            e = c.find(tag)
            if e is not None:
                print("%s|%s|%s" % (tag, e.get("type", ""), e.get("message")))
                break
        else:
            print("pass||%s" % c.findtext("system-out").splitlines()[0])
EOF
}

# kvm against xen-pvh within one run: cpuid regressed, hypercall improved,
# the rest no change (tests/integration/test_compare_runners.sh).
"$HVBENCH" compare --base-runner kvm --cand-runner xen-pvh -w "$W" --junit "$tmp/r.xml" "$F" "$F" \
	>"$tmp/r.txt" 2>"$tmp/r.err"
check "a regression: exit 1 with --junit as without" [ $? -eq 1 ]
out=$($CHECK "$tmp/r.xml" --tests 8 --failures 2 --skipped 0 --errors 0)
check "valid JUnit: 8 cases, 2 failures, none skipped ($out)" [ "$out" = ok ]
check "one case per metric row of the table" \
	[ "$(grep -c '^kvm->xen-pvh ' "$tmp/r.txt")" -eq 8 ]
c=$(case_of "$tmp/r.xml" 'kvm->xen-pvh.micro/cpuid' ns_per_op)
check "cpuid ns_per_op: <failure type=regression> with ratio, interval, q, threshold ($c)" \
	[ "$c" = "failure|regression|ratio 1.38 [1.36, 1.43], q=0.0079, threshold 2%" ]
check "... the side medians in the failure's text" \
	grep -q '^base median 620.414 ns, cand median 857.513 ns (5 and 5 repetitions; lower is better)$' \
	"$tmp/r.xml"
c=$(case_of "$tmp/r.xml" 'kvm->xen-pvh.micro/hypercall' ns_per_op)
check "an improvement passes with its figures in system-out ($c)" \
	[ "$c" = "pass||ratio 0.699 [0.682, 0.724], q=0.0079, threshold 2%" ]
c=$(case_of "$tmp/r.xml" 'kvm->xen-pvh.cpu/sha256' ops_per_s)
check "higher is better: the raw ratio and the slowdown ($c)" \
	[ "$c" = "pass||ratio 1.02 [1.01, 1.03] (slowdown 0.982 [0.968, 0.993]), q=0.0079, threshold 2%" ]
check "the runner pair's '>' is escaped" grep -q 'classname="kvm-&gt;xen-pvh.micro/cpuid"' "$tmp/r.xml"
check "the suite has the settings as properties" \
	grep -q '<property name="threshold" value="2%"/>' "$tmp/r.xml"
check "no temporary file is left beside it" sh -c "! ls '$tmp'/r.xml.tmp* 2>/dev/null"

# A thresholds file: each case names its own threshold and the file's line.
printf 'runner,workload,metric,threshold_pct\n*,micro/cpuid,*,50\n' >"$tmp/t.csv"
"$HVBENCH" compare --base-runner kvm --cand-runner xen-pvh -w "$W" --thresholds "$tmp/t.csv" \
	--junit "$tmp/t.xml" "$F" "$F" >/dev/null 2>&1
check "--thresholds: cpuid's 38% is below its 50% (exit 0)" [ $? -eq 0 ]
c=$(case_of "$tmp/t.xml" 'kvm->xen-pvh.micro/cpuid' ns_per_op)
check "... its case says threshold 50% (line 2) ($c)" \
	[ "$c" = "pass||ratio 1.38 [1.36, 1.43], q=0.0079, threshold 50% (line 2)" ]
c=$(case_of "$tmp/t.xml" 'kvm->xen-pvh.micro/hypercall' ns_per_op)
check "... the others the default ($c)" [ "$c" = "pass||ratio 0.699 [0.682, 0.724], q=0.0079, threshold 2%" ]
check "... and the suite names the file" grep -q "<property name=\"thresholds\" value=\"$tmp/t.csv\"/>" "$tmp/t.xml"

# Too few repetitions for --min-reps: every row inconclusive, skipped.
"$HVBENCH" compare --base-runner kvm --cand-runner xen-pvh -w "$W" --min-reps 6 \
	--junit "$tmp/i.xml" "$F" "$F" >/dev/null 2>&1
check "inconclusive only, no gate: exit 0" [ $? -eq 0 ]
out=$($CHECK "$tmp/i.xml" --tests 8 --failures 0 --skipped 8)
check "valid: 8 skipped ($out)" [ "$out" = ok ]
c=$(case_of "$tmp/i.xml" 'kvm->xen-pvh.micro/cpuid' ns_per_op)
check "<skipped> says inconclusive and why ($c)" \
	sh -c "echo '$c' | grep -q '^skipped||inconclusive: 5 repetition(s) in base, 5 in cand: '"

# Gate mode: what the gate could not judge fails, as exit 3 does.
"$HVBENCH" compare --gate --base-runner kvm --cand-runner xen-pvh -w "$W" --min-reps 6 \
	--junit "$tmp/gi.xml" "$F" "$F" >/dev/null 2>&1
check "--gate, too few repetitions: exit 3" [ $? -eq 3 ]
out=$($CHECK "$tmp/gi.xml" --tests 8 --failures 8 --skipped 0)
check "... all 8 cases fail ($out)" [ "$out" = ok ]
c=$(case_of "$tmp/gi.xml" 'kvm->xen-pvh.micro/cpuid' ns_per_op)
check "... as <failure type=inconclusive> with the gate's reason and what to do ($c)" \
	sh -c "echo '$c' | grep -q '^failure|inconclusive|inconclusive (gate): 5 repetition(s) in base, 5 in cand: .*--reps 6'"
check "... the suite says the gate was on and why" grep -q '<property name="gate" value="--gate"/>' "$tmp/gi.xml"
CI=true "$HVBENCH" compare --base-runner kvm --cand-runner xen-pvh -w "$W" --min-reps 6 \
	--junit "$tmp/ci.xml" "$F" "$F" >/dev/null 2>&1
check "CI=true: the gate by default, the same failures (exit 3)" \
	sh -c "[ $? -eq 3 ] && $CHECK '$tmp/ci.xml' --failures 8 >/dev/null && grep -q '<property name=\"gate\" value=\"CI=true' '$tmp/ci.xml'"
"$HVBENCH" compare --gate --allow-partial -w micro/cpuid --junit "$tmp/gp.xml" --annotations github \
	"$F" tests/fixtures/results/20261126-113000-fixhost-4343 >"$tmp/gp.out" 2>&1
check "--gate with a partial cand: exit 3" [ $? -eq 3 ]
check "... the partial run is a failed case of its own, so the file fails too" \
	sh -c "$CHECK '$tmp/gp.xml' >/dev/null &&
	       grep -A1 '<testcase classname=\"gate\" name=\"cand tests/fixtures/results/20261126-113000-fixhost-4343\"' '$tmp/gp.xml' |
	       grep -q '<failure type=\"inconclusive\" message=\"a partial run (status running)'"
check "... and an ::error annotation" \
	grep -q '^::error title=hvbench compare%3A inconclusive cand tests/fixtures/results/20261126-113000-fixhost-4343::a partial run' "$tmp/gp.out"

# A cand whose kvm micro/cpuid cell failed, with a hostile note: markup,
# quotes, '%' and a line that would be a workflow command of its own.
mkdir -p "$tmp/cand"
cp "$F"/*.csv "$tmp/cand/"
$PY - "$tmp/cand" <<'EOF'
import csv, os, sys
d = sys.argv[1]
old, new = "20261126-101500-fixhost-4242", "20261126-101600-fixhost-4243"
for name in ("meta.csv", "counters.csv", "exits.csv"):
    p = os.path.join(d, name)
    s = open(p).read().replace(old, new)
    open(p, "w").write(s)
p = os.path.join(d, "samples.csv")
rows = [[new if c == old else c for c in r] for r in csv.reader(open(p, newline=""))]
rows = [r for r in rows if not (r[1] == "kvm" and r[2] == "micro/cpuid")]
rows.append([new, "kvm", "micro/cpuid", "", "", "", "0", "", "failed",
             'guest said "<boom>" & 100% dead\n::error::injected'])
with open(p, "w", newline="") as f:
    csv.writer(f, lineterminator="\n").writerows(rows)
EOF
"$HVBENCH" compare -r kvm -w micro/cpuid,micro/hypercall --junit "$tmp/f.xml" \
	--annotations github "$F" "$tmp/cand" >"$tmp/f.out" 2>"$tmp/f.err"
check "a cell failed in cand only: exit 1" [ $? -eq 1 ]
out=$($CHECK "$tmp/f.xml" --tests 4 --failures 2 --skipped 0)
check "valid JUnit despite the note: cpuid's 2 metrics fail ($out)" [ "$out" = ok ]
c=$($PY -c '
import sys, xml.etree.ElementTree as ET
for c in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    if c.get("classname") == "kvm.micro/cpuid" and c.get("name") == "ns_per_op":
        e = c.find("failure")
        print(e.get("type") + "|" + repr(e.get("message")))' "$tmp/f.xml")
check "<failure type=cand-failed>, the note read back intact, line break included ($c)" \
	[ "$c" = "cand-failed|'only in base: failed in cand: guest said \"<boom>\" & 100% dead\\n::error::injected'" ]
check "annotations follow the table" \
	sh -c "grep -n '' '$tmp/f.out' | grep '::error title=' | head -1 | cut -d: -f1 |
	       { read n; [ \"\$n\" -gt \"\$(grep -n '^summary:' '$tmp/f.out' | tail -1 | cut -d: -f1)\" ]; }"
check "::error per failed metric, title escaped (%3A)" \
	[ "$(grep -c '^::error title=hvbench compare%3A cand-failed kvm micro/cpuid ' "$tmp/f.out")" -eq 2 ]
check "the note's '%' and line break percent-encoded" \
	grep -q 'guest said "<boom>" & 100%25 dead%0A::error::injected' "$tmp/f.out"
# The table prints the note as it is: GitHub must read no command from it.
sed -n '/^::stop-commands::hvbench-[0-9a-f]\{32\}$/,/^::hvbench-[0-9a-f]\{32\}::$/p' \
	"$tmp/f.out" >"$tmp/paused"
t1=$(head -1 "$tmp/paused" | sed 's/^::stop-commands:://')
t2=$(tail -1 "$tmp/paused" | sed 's/^:://; s/::$//')
check "the table is inside ::stop-commands:: with a random token, then resumed ($t1)" \
	sh -c "[ -n '$t1' ] && [ '$t1' = '$t2' ] && grep -q '^summary:' '$tmp/paused'"
check "the note's line starts no command outside the pause" \
	sh -c "grep -q '^::error::injected' '$tmp/paused' &&
	       [ \$(grep -c '^::error::injected' '$tmp/f.out') -eq \$(grep -c '^::error::injected' '$tmp/paused') ]"
check "passing rows get no annotation" sh -c "! grep -q '^::.*micro/hypercall' '$tmp/f.out'"

# Under GitHub Actions the annotations are on by default, and it is said.
GITHUB_ACTIONS=true "$HVBENCH" compare --base-runner kvm --cand-runner xen-pvh -w "$W" \
	--min-reps 6 "$F" "$F" >"$tmp/g.out" 2>"$tmp/g.err"
check "GITHUB_ACTIONS=true: ::warning per inconclusive row" \
	[ "$(grep -c '^::warning title=hvbench compare%3A inconclusive ' "$tmp/g.out")" -eq 8 ]
check "... and stderr says why they appear" grep -q 'GITHUB_ACTIONS=true: GitHub annotations' "$tmp/g.err"
GITHUB_ACTIONS=true "$HVBENCH" compare --annotations none --base-runner kvm --cand-runner xen-pvh \
	-w "$W" "$F" "$F" >"$tmp/n.out" 2>&1
check "--annotations none turns them off (exit 1: the regression)" \
	sh -c "[ $? -eq 1 ] && ! grep -q '^::' '$tmp/n.out'"
GITHUB_ACTIONS=true "$HVBENCH" compare --format json --base-runner kvm --cand-runner xen-pvh \
	-w "$W" "$F" "$F" >"$tmp/g.json" 2>"$tmp/gj.err"
check "GITHUB_ACTIONS=true with --format json: stdout stays one JSON document" \
	$PY -c 'import json, sys; json.load(open(sys.argv[1]))' "$tmp/g.json"
check "... and stderr says there are no annotations" grep -q 'no annotations with --format json' "$tmp/gj.err"
P="--base-runner kvm --cand-runner xen-pvh"
"$HVBENCH" compare --annotations github --format csv $P "$F" "$F" >/dev/null 2>"$tmp/e"
check "--annotations github --format csv: usage error (exit 2)" \
	sh -c "[ $? -eq 2 ] && grep -q 'not with --format csv or json' '$tmp/e'"
"$HVBENCH" compare --annotations gitlab $P "$F" "$F" >/dev/null 2>"$tmp/e2"
check "--annotations gitlab: exit 2 naming the modes" \
	sh -c "[ $? -eq 2 ] && grep -q 'github or none' '$tmp/e2'"

# Atomic replacement: a new file renamed over the old one, not rewritten.
echo old >"$tmp/a.xml"
ino=$(stat -c %i "$tmp/a.xml")
"$HVBENCH" compare $P -w "$W" --junit "$tmp/a.xml" "$F" "$F" >/dev/null 2>&1
check "an existing file is replaced by a rename (new inode, whole document)" \
	sh -c "[ \"\$(stat -c %i '$tmp/a.xml')\" != $ino ] && tail -1 '$tmp/a.xml' | grep -q '^</testsuites>$'"
"$HVBENCH" compare $P --junit "$tmp/no/such/j.xml" "$F" "$F" >"$tmp/m.out" 2>"$tmp/m.err"
check "--junit in a missing directory: exit 2 before comparing" \
	sh -c "[ $? -eq 2 ] && [ ! -s '$tmp/m.out' ] && grep -q 'cannot write in $tmp/no/such' '$tmp/m.err'"
"$HVBENCH" compare $P --junit "$tmp" "$F" "$F" >/dev/null 2>"$tmp/d.err"
check "--junit naming a directory: exit 2" sh -c "[ $? -eq 2 ] && grep -q 'is a directory' '$tmp/d.err'"
"$HVBENCH" ab --a "$HVBENCH" --b "$HVBENCH" --reps 2 --out "$tmp/ab" --junit "$tmp/no/j.xml" \
	>/dev/null 2>"$tmp/ab.err"
check "ab refuses an unwritable --junit before its first round (exit 2, nothing run)" \
	sh -c "[ $? -eq 2 ] && [ ! -e '$tmp/ab' ] && grep -q -- '--junit' '$tmp/ab.err'"

# The checker rejects what a consumer would misread.
sed 's/<testsuite name="hvbench compare" tests="8" failures="2"/<testsuite name="hvbench compare" tests="8" failures="1"/' \
	"$tmp/r.xml" >"$tmp/bad1.xml"
check "checker: a suite's failures count that does not add up is rejected" \
	sh -c "! $CHECK '$tmp/bad1.xml' >'$tmp/c1' && grep -q 'failures=1 but 2 counted' '$tmp/c1'"
sed '0,/<failure message="[^"]*"/s//<failure/' "$tmp/r.xml" >"$tmp/bad2.xml"
check "checker: a <failure> without message is rejected" \
	sh -c "! $CHECK '$tmp/bad2.xml' >'$tmp/c2' && grep -q 'has no message attribute' '$tmp/c2'"
sed '0,/ classname="[^"]*"/s///' "$tmp/r.xml" >"$tmp/bad3.xml"
check "checker: a <testcase> without classname is rejected" \
	sh -c "! $CHECK '$tmp/bad3.xml' >'$tmp/c3' && grep -q 'has no classname' '$tmp/c3'"
head -c 400 "$tmp/r.xml" >"$tmp/bad4.xml"
check "checker: a torn file is rejected" sh -c "! $CHECK '$tmp/bad4.xml' >/dev/null"
tap_done
