#!/usr/bin/env bash
# compare runner against runner: --base-runner kvm --cand-runner xen-pvh sets
# one hypervisor against another, within one run or across runs, with the
# same statistics as base-vs-candidate (compare once keyed rows on the
# runner, so xen-pvh could never be set against kvm).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
HVBENCH=${HVBENCH:-build/hvbench}
tmp=$(mktemp -d /tmp/hvb-cmprun-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
F=tests/fixtures/results/20261126-101500-fixhost-4242 # kvm, xen-pvh, ... x 5 reps

"$HVBENCH" compare --format csv --base-runner kvm --cand-runner xen-pvh "$F" "$F" \
	>"$tmp/c.csv" 2>"$tmp/c.err"
check "kvm against xen-pvh within one run: a verdict, not a usage error (exit 1: xen-pvh cpuid is slower)" [ $? -eq 1 ]
# micro/hypercall: kvm median 410 ns, xen-pvh 286.499 ns (the fixture's hand values)
check "micro/hypercall: keyed kvm->xen-pvh, medians 410 vs 286.499, an improvement" \
	grep -qE '^kvm->xen-pvh,micro/hypercall,ns_per_op,ns,lower,5,5,410,286\.49[0-9]*,0\.698[0-9]*,-30\.12[0-9]*,.*,improvement,' "$tmp/c.csv"
check "every row is keyed by the pair" sh -c "! tail -n +2 '$tmp/c.csv' | grep -v '^kvm->xen-pvh,'"
check "no row of a third runner" sh -c "! grep -q 'qemu-kvm\|native' '$tmp/c.csv'"

# The other way round, the same numbers in reverse.
"$HVBENCH" compare --format csv --base-runner xen-pvh --cand-runner kvm "$F" "$F" >"$tmp/r.csv" 2>/dev/null
check "xen-pvh against kvm: 286.499 vs 410, a regression (exit 1)" \
	sh -c "[ $? -eq 1 ] && grep -qE '^xen-pvh->kvm,micro/hypercall,ns_per_op,ns,lower,5,5,286\.49[0-9]*,410,.*,regression,' '$tmp/r.csv'"

# Slowdown, > 1 is worse, whichever way the metric points: kvm's
# mem/stream-copy has 2.8% less MB/s than native (ratio 0.97, slowdown 1.03),
# and its bandwidth and ns_per_op regressions are one regressed workload.
"$HVBENCH" compare --base-runner native --cand-runner kvm -w 'mem/stream-copy,cpu/*' "$F" "$F" \
	>"$tmp/n.txt" 2>&1
check "native->kvm: a regression (exit 1)" [ $? -eq 1 ]
check "less MB/s reads as a slowdown above 1" \
	grep -qE '^native->kvm +mem/stream-copy +bandwidth .* 1\.029× slower +\[1\.0[0-9]+, 1\.0[0-9]+\]' "$tmp/n.txt"
check "the table states the convention" grep -q '^slowdown: > 1 is worse' "$tmp/n.txt"
check "two regressed metrics of one workload count once, both named" \
	grep -q 'workload(s) regressed: .*native->kvm mem/stream-copy (bandwidth, ns_per_op)' "$tmp/n.txt"
check "... and per metric twice" grep -q 'per metric: [0-9]* regression(s)' "$tmp/n.txt"
"$HVBENCH" compare --format csv --base-runner native --cand-runner kvm -w mem/stream-copy "$F" "$F" \
	>"$tmp/n.csv" 2>/dev/null
check "csv: raw ratio 0.97 kept, slowdown 1.03 added, workload verdict" \
	grep -qE '^native->kvm,mem/stream-copy,bandwidth,MB/s,higher,5,5,[0-9.]+,[0-9.]+,0\.971[0-9]*,.*,0,1\.029[0-9]*,1\.0[0-9]*,1\.0[0-9]*,regression$' "$tmp/n.csv"

"$HVBENCH" compare --base-runner kvm "$F" "$F" >/dev/null 2>"$tmp/e"
check "--base-runner without --cand-runner is a usage error (exit 2)" [ $? -eq 2 ]
check "... saying both are needed" grep -q 'needs both --base-runner and --cand-runner' "$tmp/e"
"$HVBENCH" compare --base-runner kvm --cand-runner xen-pvh "$F,$F" "$F" >/dev/null 2>"$tmp/e2"
check "a run twice on one side is still refused (exit 2)" [ $? -eq 2 ]
tap_done
