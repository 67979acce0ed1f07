#!/usr/bin/env bash
# Live migration of a 2-vCPU kvm guest (runners/kvm/migrate.c, issue 18):
# `hvbench run --runner kvm --vcpus 2 --workload migrate/dirty` with the
# guest moved to a second core process while both vCPUs write their slice
# of the working set:
#   - every vCPU moved: meta runner.kvm.migrate_vcpus 2, both vCPUs ran at
#     the destination (its log lines), the guest ended there
#   - both slices written and verified on the destination (the slice log
#     lines count their writes from the pages' generations), lost_pages 0,
#     the migration rows present; the same with the per-vCPU dirty ring
#   - the destination killed (-9) mid-migration: the cell fails saying it
#     went away, and no destination or VM process of the run is left.
# Correctness only: no figure is compared with a time.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh migsmp
. tests/lib/migrate_kvm.sh

[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip_rest "no usable /dev/kvm"
[ "$(nproc)" -ge 2 ] || skip_rest "fewer than 2 host CPUs for --vcpus 2"
RUN="--runner kvm --vcpus 2 --workload migrate/dirty --reps 1 --timeout 120 --batches 40 --guest-mem 128"
W8="--param dirty.wss_mib=8"

# writes DIR K: the writes the slice of vCPU K counted (empty: no line).
writes() {
	sed -n "s/.*slice of vCPU $2: pages [0-9]*+[0-9]*, \([0-9]*\) writes.*/\1/p" \
		"$1/log.txt" 2>/dev/null | tail -1
}

HVB_KVM_MIGRATE=dirty=log,downtime_ms=1000,rounds=5,after_ms=200 run conv $RUN $W8 \
	--param dirty.rate=8
[ "$rc" = 0 ] && [ -n "$dir" ] && ok "2 vCPUs: the run completed" || not_ok "2 vCPUs: the run completed" "$(show conv)"
meta_has "$dir" '^runner\.kvm\.migrate_vcpus,"?2 ' && ok "meta says 2 vCPUs migrated" ||
	not_ok "meta says 2 vCPUs migrated" "$(show conv)"
for v in 0 1; do
	grep -q "migration: destination vCPU $v: ran on cpu" "$dir/log.txt" 2>/dev/null &&
		ok "vCPU $v ran on the destination" || not_ok "vCPU $v ran on the destination" "$(show conv)"
	w=$(writes "$dir" $v)
	[ -n "$w" ] && [ "$w" -gt 0 ] && ok "vCPU $v wrote its slice ($w writes)" ||
		not_ok "vCPU $v wrote its slice" "$(show conv)"
done
grep -q 'verdict: shutdown: on the destination' "$dir/log.txt" 2>/dev/null &&
	ok "the guest ended on the destination" || not_ok "the guest ended on the destination" "$(show conv)"
[ "$(metric "$dir" lost_pages)" = 0 ] && ok "both slices verified on the destination: 0 lost pages" ||
	not_ok "both slices verified on the destination: 0 lost pages" "$(show conv)"
for m in migrate.total_ms migrate.downtime_ms migrate.guest_downtime_ms migrate.bytes \
	migrate.rounds migrate.converged req_ns.max bandwidth; do
	[ -n "$(metric "$dir" "$m")" ] && ok "row $m present" || not_ok "row $m present" "$(show conv)"
done
check "the run's results are valid" "$PY" tests/lib/check_results.py "$dir"

# The dirty ring is per vCPU: each vCPU's ring must be harvested, or the
# pages only the AP wrote would be missed.
HVB_KVM_MIGRATE=dirty=ring,downtime_ms=30,rounds=10,after_ms=200 run ring $RUN $W8 \
	--param dirty.rate=64 --param dirty.pattern=1
[ "$rc" = 0 ] && [ "$(metric "$dir" lost_pages)" = 0 ] && [ -n "$(metric "$dir" migrate.rounds)" ] &&
	ok "2 vCPUs, dirty=ring, random writes: migrated, both slices verified" ||
	not_ok "2 vCPUs, dirty=ring, random writes: migrated, both slices verified" "$(show ring)"

HVB_KVM_MIGRATE=dirty=log,bw_mib=1,downtime_ms=1,rounds=50,after_ms=100 \
	kill_dest kdst "2 vCPUs" $RUN $W8 --param dirty.rate=64

tap_done
