#!/usr/bin/env bash
# --workload keeps boot: every VM runner records boot_ms (workload "boot")
# next to the workloads it ran, and a comparison narrowed to what the guest
# ran must still judge the boot (it once dropped it); --no-boot leaves it
# out, '-w boot' compares boot alone, and `run --workload boot` says why
# boot is no workload to run.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
HVBENCH=${HVBENCH:-build/hvbench}
tmp=$(mktemp -d /tmp/hvb-cmpboot-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
F=tests/fixtures/results/20261126-101500-fixhost-4242 # no boot rows of its own

# Two runs alike but for kvm's boot: 100-104 ms in base, 150-154 ms in cand.
base=$tmp/20261126-101500-fixhost-4242 cand=$tmp/20261126-101600-fixhost-4243
cp -r "$F" "$base"
cp -r "$F" "$cand"
sed -i 's/20261126-101500-fixhost-4242/20261126-101600-fixhost-4243/' "$cand"/*.csv
for r in 0 1 2 3 4; do
	echo "20261126-101500-fixhost-4242,kvm,boot,boot_ms,ms,lower,$r,10$r,ok," >>"$base/samples.csv"
	echo "20261126-101600-fixhost-4243,kvm,boot,boot_ms,ms,lower,$r,15$r,ok," >>"$cand/samples.csv"
done

"$HVBENCH" compare --format csv --runner kvm -w micro/cpuid "$base" "$cand" >"$tmp/w.csv" 2>"$tmp/w.err"
rc=$?
check "-w micro/cpuid: the slower boot is a regression (exit 1, rc $rc)" [ $rc -eq 1 ]
check "-w micro/cpuid: boot_ms is in the verdict" \
	grep -qE '^kvm,boot,boot_ms,ms,lower,5,5,102,152,.*,regression,' "$tmp/w.csv"
check "-w micro/cpuid: the named workload is compared too" grep -q '^kvm,micro/cpuid,ns_per_op,' "$tmp/w.csv"
check "-w micro/cpuid: no other workload" sh -c "! cut -d, -f2 '$tmp/w.csv' | tail -n +2 | grep -qv '^boot$\|^micro/cpuid$'"

"$HVBENCH" compare --format csv --runner kvm -w micro/cpuid --no-boot "$base" "$cand" >"$tmp/n.csv" 2>/dev/null
rc=$?
check "--no-boot: boot left out, no regression (exit 0, rc $rc)" [ $rc -eq 0 ]
check "--no-boot: no boot row" sh -c "! grep -q ',boot,' '$tmp/n.csv'"
check "--no-boot: micro/cpuid still compared" grep -q '^kvm,micro/cpuid,ns_per_op,' "$tmp/n.csv"

"$HVBENCH" compare --format csv -w boot "$base" "$cand" >"$tmp/b.csv" 2>/dev/null
rc=$?
check "-w boot: boot alone, a regression (exit 1, rc $rc)" [ $rc -eq 1 ]
check "-w boot: one row, boot_ms" sh -c "[ \$(tail -n +2 '$tmp/b.csv' | wc -l) -eq 1 ] && grep -q '^kvm,boot,boot_ms,' '$tmp/b.csv'"

"$HVBENCH" compare -w boot --no-boot "$base" "$cand" >/dev/null 2>"$tmp/bn.err"
rc=$?
check "-w boot --no-boot: exit 2 with why (rc $rc)" \
	sh -c "[ $rc -eq 2 ] && grep -q 'leaves nothing to compare' '$tmp/bn.err'"

"$HVBENCH" compare --format csv "$base" "$cand" >"$tmp/all.csv" 2>/dev/null
check "no --workload: boot_ms compared as before" grep -q '^kvm,boot,boot_ms,ms,lower,5,5,102,152,' "$tmp/all.csv"

"$HVBENCH" run --runner kvm --workload boot --out "$tmp/run" >/dev/null 2>"$tmp/run.err"
rc=$?
check "run --workload boot: exit 2 (rc $rc)" [ $rc -eq 2 ]
check "run --workload boot: says boot comes with every VM run and how to compare it alone" \
	sh -c "grep -q 'records boot_ms (workload boot) in every run' '$tmp/run.err' && grep -q 'compare --workload boot' '$tmp/run.err'"
check "run --workload boot: nothing written" [ ! -e "$tmp/run" ]
tap_done
