#!/usr/bin/env bash
# hvbench thresholds and compare/ab --thresholds, end to end on
# tests/fixtures/thresholds/ (make_history.py): the same candidate is a
# regression under the 2% default and no change under thresholds derived
# from a noisy history; another is no change under the default and a
# regression under the tighter thresholds of a quiet history.  Refusals
# (too few runs, mixed hosts, malformed files) exit 2 saying why.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh thresh
fix=tests/fixtures/thresholds
base=$fix/judged/20261203-100000-fixhost-base
slow5=$fix/judged/20261203-110000-fixhost-slow5
slow1=$fix/judged/20261203-120000-fixhost-slow1

# hvb NAME ARGS...: hvbench ARGS, stdout in $tmp/NAME.out, stderr in .err, rc
hvb() {
	local name=$1
	shift
	"$HVBENCH" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
}
out_has() { grep -qE -- "$2" "$tmp/$1.out"; }
err_has() { grep -qE -- "$2" "$tmp/$1.err"; }

"$PY" $fix/make_history.py --out "$tmp/regen" >/dev/null
check "make_history.py still writes the committed fixtures" \
	diff -r "$tmp/regen" "$fix" -x make_history.py
bad_runs=
for d in $fix/*/*/; do
	"$PY" tests/lib/check_results.py "$d" >/dev/null || bad_runs="$bad_runs $d"
done
check "... every one a valid result directory (check_results.py)${bad_runs:+:$bad_runs}" [ -z "$bad_runs" ]

# --- derivation
hvb noisy thresholds --out "$tmp/noisy.csv" $fix/noisy/*/
check "thresholds from the noisy history: exit 0 (rc $rc)" [ "$rc" -eq 0 ]
check "... 8 lines in the file, after its header" [ "$(wc -l <"$tmp/noisy.csv")" -eq 9 ]
check "... kvm stream bandwidth: 12.71% from 5 runs, 25 reps, noise 4.237%" \
	grep -qx 'kvm,mem/stream-copy,bandwidth,12.71,5,25,4.237,3,1,fixhost (host_identity 5eed0f1a2b3c4d5e),2026-12-02T04:00:00Z' "$tmp/noisy.csv"
check "... the table says runs and reps per line" out_has noisy '^native +cpu/crc32c +ns_per_op +5 +25 +4.24% +12.71%$'
check "... and which key it left out, why" out_has noisy 'kvm boot boot_ms: measured in 2 of 5 runs, need at least 3'
hvb quiet thresholds --floor 0.5 --out "$tmp/quiet.csv" $fix/quiet/*/
check "thresholds from the quiet history, floor 0.5: 0.7296%" \
	grep -q '^native,cpu/crc32c,ns_per_op,0.7296,5,25,0.2432,3,0.5,' "$tmp/quiet.csv"
check "... a key without noise at the floor" grep -q '^kvm,boot,boot_ms,0.5,5,25,0,' "$tmp/quiet.csv"

# --- the verdicts
hvb d5 compare "$base" "$slow5"
check "5% slower, default 2%: regression, exit 1 (rc $rc)" [ "$rc" -eq 1 ]
check "... 8 metrics regressed" out_has d5 'per metric: 8 regression'
check "... no threshold column without a file" sh -c "! grep -q 'threshold  *verdict' '$tmp/d5.out'"
hvb n5 compare --thresholds "$tmp/noisy.csv" "$base" "$slow5"
check "5% slower, noisy history's 12.71%: exit 0 (rc $rc)" [ "$rc" -eq 0 ]
check "... no regression, every metric no change" out_has n5 'per metric: 0 regression\(s\), 0 improvement\(s\), 9 no change'
check "... each row names its threshold and line" \
	out_has n5 '^kvm +mem/stream-copy +bandwidth .* 12\.71% \(line 4\) +no change$'
check "... a key without a line says default" out_has n5 '^kvm +boot +boot_ms .* 2% \(default\) +no change$'
check "... the legend names the file" out_has n5 "^threshold: per metric, the first matching line of $tmp/noisy.csv; --threshold 2% \(default\)"
hvb d1 compare "$base" "$slow1"
check "1.2% slower, default 2%: no change, exit 0 (rc $rc)" [ "$rc" -eq 0 ]
hvb q1 compare --thresholds "$tmp/quiet.csv" "$base" "$slow1"
check "1.2% slower, quiet history's 0.73%: regression, exit 1 (rc $rc)" [ "$rc" -eq 1 ]
check "... 8 metrics regressed under their line's threshold" out_has q1 'per metric: 8 regression'
check "... e.g. native crc32c ns_per_op at 0.7296% (line 8)" out_has q1 '^native +cpu/crc32c +ns_per_op .* 0\.7296% \(line 8\) +regression$'

hvb csv compare --format csv --thresholds "$tmp/quiet.csv" "$base" "$slow1"
check "CSV with a file: threshold_pct and threshold_source columns" \
	sh -c "head -1 '$tmp/csv.out' | grep -q ',workload_verdict,threshold_pct,threshold_source$'"
check "... per row" grep -q '^native,cpu/crc32c,ns_per_op,.*,regression,0.729[0-9]*,line 8$' "$tmp/csv.out"
hvb csv0 compare --format csv "$base" "$slow1"
check "CSV without a file: the columns as before" \
	sh -c "head -1 '$tmp/csv0.out' | grep -q ',workload_verdict$'"
hvb json compare --format json --thresholds "$tmp/noisy.csv" "$base" "$slow5"
check "JSON with a file: valid, a thresholds key, per row threshold_pct and source" \
	"$PY" -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d['thresholds'] == sys.argv[2], d['thresholds']
r = [x for x in d['rows'] if x['runner'] == 'kvm' and x['metric'] == 'bandwidth'][0]
assert abs(r['threshold_pct'] - 12.71) < 1e-9 and r['threshold_source'] == 'line 4', r
b = [x for x in d['rows'] if x['workload'] == 'boot'][0]
assert b['threshold_pct'] == 2 and b['threshold_source'] == 'default', b
" "$tmp/json.out" "$tmp/noisy.csv"

# --- refusals
hvb few thresholds --out "$tmp/few.csv" $fix/quiet/20261201-00*/ $fix/quiet/20261201-01*/
check "2 runs: exit 2, saying 3 are needed (rc $rc)" \
	sh -c "[ $rc -eq 2 ] && grep -q 'needs at least 3 runs' '$tmp/few.err' && [ ! -e '$tmp/few.csv' ]"
other=$tmp/20261201-050000-fixhost-other
cp -r $fix/quiet/20261201-000000-fixhost-quiet0 "$other"
sed -i "s/20261201-000000-fixhost-quiet0/20261201-050000-fixhost-other/; s/^host_identity,.*/host_identity,0000111122223333/" "$other"/*.csv
hvb mixed thresholds --out "$tmp/mixed.csv" $fix/quiet/*/ "$other"
check "runs of another host: exit 2 naming both identities (rc $rc)" \
	sh -c "[ $rc -eq 2 ] && grep -q \"different hosts (host_identity '5eed0f1a2b3c4d5e | 0000111122223333')\" '$tmp/mixed.err'"
hvb mixed-ok thresholds --mixed-hosts --out "$tmp/mixed.csv" $fix/quiet/*/ "$other"
check "... --mixed-hosts: written, with a warning (rc $rc)" \
	sh -c "[ $rc -eq 0 ] && grep -q 'warning: thresholds: the baseline runs differ in host_identity' '$tmp/mixed-ok.err'"
check "... the lines say 6 runs" grep -q '^native,cpu/crc32c,ns_per_op,[0-9.]*,6,30,' "$tmp/mixed.csv"
hvb noout thresholds $fix/quiet/*/
check "no --out: exit 2 (rc $rc)" sh -c "[ $rc -eq 2 ] && grep -q 'give --out FILE' '$tmp/noout.err'"

printf 'runner,workload,metric,threshold_pct\nkvm,cpu/*,ns_per_op,2\nkvm,cpu/*,ns_per_op,lots\n' >"$tmp/bad.csv"
hvb bad compare --thresholds "$tmp/bad.csv" "$base" "$slow5"
check "compare with a malformed file: exit 2 with FILE:LINE (rc $rc)" \
	sh -c "[ $rc -eq 2 ] && grep -q \"$tmp/bad.csv:3: threshold_pct 'lots' is not a percentage\" '$tmp/bad.err'"
check "... and no comparison printed" [ ! -s "$tmp/bad.out" ]
hvb abbad ab --a /nonexistent --b /nonexistent --thresholds "$tmp/bad.csv" --reps 2
check "ab with a malformed file: exit 2 before running anything (rc $rc)" \
	sh -c "[ $rc -eq 2 ] && grep -q 'ab: --thresholds $tmp/bad.csv:3' '$tmp/abbad.err' && ! grep -q 'rounds' '$tmp/abbad.err'"
hvb missing compare --thresholds "$tmp/none.csv" "$base" "$slow5"
check "a missing file: exit 2 naming it (rc $rc)" \
	sh -c "[ $rc -eq 2 ] && grep -q 'none.csv: No such file' '$tmp/missing.err'"
tap_done
