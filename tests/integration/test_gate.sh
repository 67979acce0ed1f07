#!/usr/bin/env bash
# compare's gate mode and --ratio-to on the gate fixtures
# (tests/fixtures/gate/make_gate.py): the exit status of every outcome with
# and without --gate and CI=true, the reason and what to do for each
# inconclusive metric, and the ratio to native cancelling a slower host.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
HVBENCH=${HVBENCH:-build/hvbench}
PYTHON=${PYTHON:-python3}
tmp=$(mktemp -d /tmp/hvb-gate-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
G=tests/fixtures/gate
fx() { echo $G/*-gate-"$1"; }
BASE=$(fx base)

# cmp NAME ARGS...: run compare with CI unset, output in $tmp/NAME.{out,err},
# exit status in $rc.
cmp() {
	local name=$1
	shift
	env -u CI "$HVBENCH" compare "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
}
has() { grep -qF -- "$2" "$tmp/$1.out"; }
err_has() { grep -qF -- "$2" "$tmp/$1.err"; }

"$PYTHON" "$G/make_gate.py" --out "$tmp/fx" >/dev/null
check "make_gate.py writes exactly the committed fixtures (they are not stale)" \
	diff -r "$tmp/fx" "$G" -x make_gate.py -x __pycache__

# ------------------------------------------------------ no change (A/A)
cmp same "$BASE" "$(fx same)"
check "A/A without the gate: exit 0, the mode said (off, the default)" \
	sh -c "[ $rc -eq 0 ] && grep -qF 'gate: off (the default; --gate, or CI=true in the environment, turns it on)' '$tmp/same.out'"
cmp same_g --gate "$BASE" "$(fx same)"
check "A/A with --gate: every metric judged, exit 0" \
	sh -c "[ $rc -eq 0 ] && grep -qF 'gate: PASS: all 6 gated metric(s) judged, none regressed' '$tmp/same_g.out'"
CI=true "$HVBENCH" compare "$BASE" "$(fx same)" >"$tmp/same_ci.out" 2>&1
check "A/A under CI=true: the gate is on, says why, passes (exit 0)" \
	sh -c "[ $? -eq 0 ] && grep -qF 'gate: on (CI=true in the environment; --no-gate turns it off)' '$tmp/same_ci.out' && grep -qF 'gate: PASS' '$tmp/same_ci.out'"

# ---------------------------------------------- regression, improvement
cmp reg "$BASE" "$(fx regress)"
check "regression without the gate: exit 1" [ $rc -eq 1 ]
cmp reg_g --gate "$BASE" "$(fx regress)"
check "regression with --gate: exit 1, not 3" \
	sh -c "[ $rc -eq 1 ] && grep -qF 'gate: FAIL: regression (exit 1)' '$tmp/reg_g.out'"
CI=true "$HVBENCH" compare "$BASE" "$(fx regress)" >/dev/null 2>&1
check "regression under CI=true: exit 1" [ $? -eq 1 ]
cmp imp "$BASE" "$(fx improve)"
check "improvement without the gate: exit 0" sh -c "[ $rc -eq 0 ] && grep -q 'kvm  *cpu/sha256 .* improvement' '$tmp/imp.out'"
cmp imp_g --gate "$BASE" "$(fx improve)"
check "improvement with --gate: judged, exit 0" sh -c "[ $rc -eq 0 ] && grep -qF 'gate: PASS' '$tmp/imp_g.out'"

# ------------------------------------------- inconclusive: the straddle
cmp str "$BASE" "$(fx straddle)"
check "a wide interval without the gate: 'no change', exit 0" \
	sh -c "[ $rc -eq 0 ] && grep -q 'kvm  *cpu/sha256 .* no change' '$tmp/str.out'"
cmp str_g --gate "$BASE" "$(fx straddle)"
check "... with --gate: inconclusive, exit 3" [ $rc -eq 3 ]
check "... naming the metric, why, and what to do" \
	has str_g "kvm cpu/sha256 ns_per_op: no verdict: the 95% CI of the slowdown ["
check "... (the interval reaches past the threshold, q not below alpha, add repetitions)" \
	sh -c "grep -F 'kvm cpu/sha256 ns_per_op: no verdict' '$tmp/str_g.out' | grep -F 'reaches past the 2% threshold and q=' | grep -qF 'is not below alpha, so a slowdown of up to'"
check "... only that metric: the others were judged" \
	has str_g "gate: INCONCLUSIVE (exit 3): 1 gated metric(s) or run(s) could not be judged"
check "... and said on stderr too" err_has str_g "compare: gate: INCONCLUSIVE (exit 3)"
CI=true "$HVBENCH" compare "$BASE" "$(fx straddle)" >/dev/null 2>&1
check "... under CI=true: exit 3" [ $? -eq 3 ]
CI=true "$HVBENCH" compare --no-gate "$BASE" "$(fx straddle)" >"$tmp/str_ng.out" 2>&1
check "... CI=true --no-gate: exit 0, 'gate: off (--no-gate)'" \
	sh -c "[ $? -eq 0 ] && grep -qF 'gate: off (--no-gate)' '$tmp/str_ng.out'"
printf 'runner,workload,metric,threshold_pct\nkvm,cpu/sha256,ns_per_op,10\n' >"$tmp/th.csv"
cmp str_th --gate --thresholds "$tmp/th.csv" "$BASE" "$(fx straddle)"
check "... the same with a 10% threshold for it (--thresholds): within it, the gate passes" \
	sh -c "[ $rc -eq 0 ] && grep -qF 'gate: PASS: all 6 gated metric(s) judged' '$tmp/str_th.out'"

# ------------------------------------------- too few reps: --quick (2) vs 3
cmp few "$(fx quick)" "$(fx three)"
check "2 reps vs 3 without the gate: inconclusive, yet exit 0 (as before)" \
	sh -c "[ $rc -eq 0 ] && grep -q '6 inconclusive' '$tmp/few.out'"
check "... and it says that the gate would fail on them" \
	has few "gate: off: inconclusive metrics do not change the exit status; --gate fails on them"
cmp few_g --gate "$(fx quick)" "$(fx three)"
check "2 reps vs 3 with --gate: exit 3" [ $rc -eq 3 ]
check "... each metric named, why, what to do (4 reps: 2/C(8,4) < 0.05), and not --quick" \
	has few_g "kvm micro/cpuid ns_per_op: 2 repetition(s) in base, 3 in cand: need at least 3 per side; rerun with --reps 4 or more on each side (not --quick: it runs 2 repetitions)"
check "... all 6 of them" sh -c "[ \$(grep -c ': 2 repetition(s) in base, 3 in cand' '$tmp/few_g.out') -eq 12 ]"
CI=true "$HVBENCH" compare "$(fx quick)" "$(fx three)" >/dev/null 2>&1
check "... under CI=true: exit 3" [ $? -eq 3 ]
cmp few_json --gate --format json "$(fx quick)" "$(fx three)"
check "json: valid, exit_status 3, the gate's mode and items" \
	"$PYTHON" -c "
import json, sys
d = json.load(open('$tmp/few_json.out'))
g = d['gate']
assert d['summary']['exit_status'] == 3, d['summary']
assert g['on'] is True and g['why'] == '--gate', g
assert len(g['inconclusive']) == 6, g
assert g['inconclusive'][0]['what'] == 'kvm cpu/sha256 ns_per_op', g
assert 'rerun with --reps 4' in g['inconclusive'][0]['why'], g
"
check "... and the process exit status 3" [ $rc -eq 3 ]
cmp few_csv --gate --format csv "$(fx quick)" "$(fx three)"
check "csv: rows on stdout, the gate on stderr, exit 3" \
	sh -c "[ $rc -eq 3 ] && ! grep -q gate '$tmp/few_csv.out' && grep -qF 'hvbench: compare: gate: INCONCLUSIVE (exit 3)' '$tmp/few_csv.err' && grep -qF 'hvbench: compare:   kvm micro/cpuid ns_per_op: 2 repetition(s)' '$tmp/few_csv.err'"

# ------------------------------------- one side only, partial, nothing
cmp one "$BASE" "$(fx onlyside)"
check "a metric on one side only, without the gate: exit 0" [ $rc -eq 0 ]
cmp one_g --gate "$BASE" "$(fx onlyside)"
check "... with --gate: exit 3, named with what to do" \
	sh -c "[ $rc -eq 3 ] && grep -qF 'kvm mem/stream-copy bandwidth: only in base (not in cand'\''s results): measure it on both sides, or leave it out' '$tmp/one_g.out'"
cmp part --gate "$BASE" "$(fx partial)"
check "a partial run without --allow-partial: invalid input, exit 2" [ $rc -eq 2 ]
cmp part_g --gate --allow-partial "$BASE" "$(fx partial)"
check "... with --allow-partial --gate: exit 3, the run named" \
	sh -c "[ $rc -eq 3 ] && grep -q 'cand .*gate-partial: a partial run (status interrupted at rep 5, runner kvm): .*rerun it to completion' '$tmp/part_g.out'"
cmp part_ng --allow-partial "$BASE" "$(fx partial)"
check "... with --allow-partial, no gate: exit 0" [ $rc -eq 0 ]
cmp none -w 'nothing/*' "$BASE" "$(fx same)"
check "nothing compared without the gate: usage, exit 2" [ $rc -eq 2 ]
cmp none_g --gate -w 'nothing/*' "$BASE" "$(fx same)"
check "nothing compared with --gate: inconclusive, exit 3, said" \
	sh -c "[ $rc -eq 3 ] && grep -qF 'gate: INCONCLUSIVE, nothing was compared' '$tmp/none_g.err'"
cmp both --gate --no-gate "$BASE" "$(fx same)"
check "--gate with --no-gate: usage, exit 2" \
	sh -c "[ $rc -eq 2 ] && grep -qF 'contradict' '$tmp/both.err'"

# ------------------------------------------------------------ --ratio-to
cmp host "$BASE" "$(fx hostslow)"
check "host 30% slower for both runners: plain compare says regression (exit 1)" \
	sh -c "[ $rc -eq 1 ] && grep -q 'per metric: 6 regression(s)' '$tmp/host.out'"
cmp host_r --gate --ratio-to native "$BASE" "$(fx hostslow)"
check "... --ratio-to native: no change, the gate passes (exit 0)" \
	sh -c "[ $rc -eq 0 ] && grep -q 'per metric: 0 regression(s), 0 improvement(s), 3 no change' '$tmp/host_r.out' && grep -qF 'gate: PASS: all 3 gated metric(s) judged' '$tmp/host_r.out'"
check "... native's own rows are not compared, and the table says what is" \
	sh -c "! grep -q '^native ' '$tmp/host_r.out' && grep -qF 'ratio to native: each value is the runner'\''s over native'\''s in the same repetition' '$tmp/host_r.out'"
cmp host_csv --ratio-to native --format csv "$BASE" "$(fx hostslow)"
check "csv: unit ratio, direction kept, kvm/native medians 1.025 (sha256) and 0.95 (stream-copy)" \
	sh -c "grep -qE '^kvm,cpu/sha256,ns_per_op,ratio,lower,6,6,1\.02[45][0-9]*,1\.02[45][0-9]*,' '$tmp/host_csv.out' && grep -qE '^kvm,mem/stream-copy,bandwidth,ratio,higher,6,6,0\.9[45][0-9]*,0\.9[45][0-9]*,' '$tmp/host_csv.out'"
check "the ratio is per repetition (kvm rep i over native rep i), not over native's median" \
	"$PYTHON" -c "
import csv, statistics
rows = [r for r in csv.DictReader(open('$BASE/samples.csv')) if r['workload'] == 'cpu/sha256']
v = {(r['runner'], int(r['rep'])): float(r['value']) for r in rows}
per_rep = statistics.median(v['kvm', i] / v['native', i] for i in range(6))
by_median = statistics.median(v['kvm', i] for i in range(6)) / statistics.median(v['native', i] for i in range(6))
assert abs(per_rep - by_median) > 1e-8, (per_rep, by_median)
got = [r for r in csv.DictReader(open('$tmp/host_csv.out')) if r['workload'] == 'cpu/sha256']
assert abs(float(got[0]['base_median']) - per_rep) < 1e-11, (got[0]['base_median'], per_rep)
"
cmp vm "$BASE" "$(fx vmslow)"
check "only kvm 30% slower: plain compare says regression (exit 1)" \
	sh -c "[ $rc -eq 1 ] && grep -q 'per metric: 3 regression(s)' '$tmp/vm.out'"
cmp vm_r --gate --ratio-to native "$BASE" "$(fx vmslow)"
check "... --ratio-to native: regression too, kvm 1.300x slower (exit 1)" \
	sh -c "[ $rc -eq 1 ] && grep -qE '^kvm +cpu/sha256 +ns_per_op +ratio .* 1\.300× slower .* regression' '$tmp/vm_r.out' && grep -q 'per metric: 3 regression(s)' '$tmp/vm_r.out'"
cmp nat_r --gate --ratio-to native "$BASE" "$(fx nonative)"
check "native's cell missing in a run: that row inconclusive with the reason, exit 3" \
	sh -c "[ $rc -eq 3 ] && grep -qF 'kvm cpu/sha256 ns_per_op: --ratio-to native: $(fx nonative) has no native value of cpu/sha256 ns_per_op to divide by (skipped: skipped by the fixture: no reference value); measure native in every run' '$tmp/nat_r.out'"
check "a repetition native lacks: divided by the median of native's, said, the row judged" \
	sh -c "grep -qF '1 value(s) of $(fx nonative) divided by the median of native'\''s repetitions in that run' '$tmp/nat_r.err' && grep -qE '^kvm +micro/cpuid +ns_per_op +ratio .* no change' '$tmp/nat_r.out'"
cmp nat_ng --ratio-to native "$BASE" "$(fx nonative)"
check "... without the gate: exit 0" [ $rc -eq 0 ]
# Cells native has no analogue of (skipped, or no row at all: boot) on both
# sides are compared as absolute values, said once, and gated.
"$PYTHON" "$G/make_gate.py" --noanalogue "$tmp/na" >/dev/null
cmp na_r --gate --ratio-to native "$tmp"/na/base/* "$tmp"/na/cand/*
check "no analogue on both sides: boot_ms and cpu/sha256 compared absolute (ms, ns), all judged, exit 0" \
	sh -c "[ $rc -eq 0 ] && grep -qE '^kvm +boot +boot_ms +ms .* no change' '$tmp/na_r.out' && grep -qE '^kvm +cpu/sha256 +ns_per_op +ns .* no change' '$tmp/na_r.out' && grep -qE '^kvm +micro/cpuid +ns_per_op +ratio .* no change' '$tmp/na_r.out'"
check "... a warning names them as absolute values, not ratios" \
	grep -qF -- '--ratio-to native: native has no analogue of cpu/sha256, boot (no row, or skipped): their metrics are compared as absolute values' "$tmp/na_r.err"
"$PYTHON" "$G/make_gate.py" --noanalogue "$tmp/nv" --cand-vm 1.2 >/dev/null
cmp nv_r --gate --ratio-to native "$tmp"/nv/base/* "$tmp"/nv/cand/*
check "... kvm 20% slower: boot_ms and cpu/sha256 regress as absolute values (exit 1)" \
	sh -c "[ $rc -eq 1 ] && grep -qE '^kvm +boot +boot_ms +ms .* 1\.200× slower .* regression' '$tmp/nv_r.out' && grep -qE '^kvm +cpu/sha256 +ns_per_op +ns .* 1\.200× slower .* regression' '$tmp/nv_r.out'"
cmp cross --ratio-to native --base-runner kvm --cand-runner native "$BASE" "$(fx same)"
check "--ratio-to with --base-runner: refused (exit 2)" \
	sh -c "[ $rc -eq 2 ] && grep -qF 'do not go together' '$tmp/cross.err'"

# Paired rounds as ab writes them: in every round the cand run saw a host
# 30% slower; --ratio-to cancels it within each round's run.
"$PYTHON" "$G/make_gate.py" --rounds "$tmp/r" --cand-host 1.3 >/dev/null
a=$(ls -d "$tmp"/r/a/* | paste -sd,) b=$(ls -d "$tmp"/r/b/* | paste -sd,)
cmp pr --paired --gate --base "$a" --cand "$b"
check "rounds, host 30% slower in every cand run: paired plain compare says regression (exit 1)" \
	[ $rc -eq 1 ]
cmp pr_r --paired --gate --ratio-to native --base "$a" --cand "$b"
check "... paired --ratio-to native: no change in 6 pairs, the gate passes (exit 0)" \
	sh -c "[ $rc -eq 0 ] && grep -qE '^kvm +cpu/sha256 +ns_per_op +ratio +6 pairs .* no change' '$tmp/pr_r.out'"
"$PYTHON" "$G/make_gate.py" --rounds "$tmp/v" --cand-host 1.3 --cand-vm 1.2 >/dev/null
a=$(ls -d "$tmp"/v/a/* | paste -sd,) b=$(ls -d "$tmp"/v/b/* | paste -sd,)
cmp pv_r --paired --gate --ratio-to native --base "$a" --cand "$b"
check "... kvm 20% slower on top: paired --ratio-to native finds 1.200x (exit 1)" \
	sh -c "[ $rc -eq 1 ] && grep -qE '^kvm +cpu/sha256 +ns_per_op +ratio +6 pairs .* 1\.200× slower .* regression' '$tmp/pv_r.out'"
tap_done
