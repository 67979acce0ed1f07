#!/usr/bin/env bash
# HVB_PREFAULT (default 1): kvm and qemu-kvm populate all guest RAM before
# the guest runs, so setups that write hundreds of MiB (STREAM) do not pay
# a host fault per 4 KiB page through nested PVM. Checked here: kvm
# populates it (madvise succeeded: the log says how much), in a boot phase
# of its own left out of boot_ms (the other phases still add up to it),
# and meta.csv says so; the first-touch workloads are still measured on
# fresh memory (ok rows); HVB_PREFAULT=0 turns it off and says so; qemu-kvm
# gets -mem-prealloc on QEMU's command line and meta says boot_ms holds
# it; a job that migrates is not populated (kvm and qemu-kvm); a value
# other than 0 or 1 is refused before any run.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh prefault
need_runner kvm

args=(--workload 'mem/stream-copy,micro/first-touch,mem/first-touch' --quick --reps 2
	--batches 2 --goal-us 1000 --guest-mem 256)
run on --runner kvm "${args[@]}"
check "kvm with prefault: the run completes (exit $rc)" [ "$rc" -eq 0 ]
check "meta.csv: runner.kvm.prefault says on, outside boot_ms" \
	grep -q '^runner.kvm.prefault,"on: all guest RAM populated before boot (madvise MADV_POPULATE_WRITE), outside boot_ms' "$dir/meta.csv"
check "every boot populated all 256 MiB of guest RAM" \
	[ "$(grep -c 'guest RAM prefaulted: 256 MiB in [0-9.]* ms (outside boot_ms)' "$dir/log.txt")" -eq 2 ]
check "every boot's phases have the prefault, marked not in boot_ms" \
	[ "$(grep -c 'boot phases (ms, boot_ms [0-9.]*):.* prefault(not-in-boot_ms) [0-9.]* ' "$dir/log.txt")" -eq 2 ]
# The phases add up to boot_ms without the ones marked not in it.
sums=$(boot_phase_sums "$dir/log.txt")
adds_up() { [ -n "$sums" ] && ! grep -q bad <<<"$sums"; }
check "boot_ms is the sum of the other phases ($(echo $sums))" adds_up
s=$dir/samples.csv
check "mem/stream-copy is measured (its setup self-check passed on prefaulted RAM)" \
	grep -q ',kvm,mem/stream-copy,bandwidth,MB/s,higher,1,[0-9.e+-]*,ok,' "$s"
check "micro/first-touch is still measured on fresh memory (ok rows)" \
	grep -q ',kvm,micro/first-touch,ns_per_op,ns,lower,1,[0-9.e+-]*,ok,EPT/NPT violation' "$s"
check "mem/first-touch is still measured on fresh memory (ok rows)" \
	grep -q ',kvm,mem/first-touch,bandwidth,MB/s,higher,1,[0-9.e+-]*,ok,' "$s"

HVB_PREFAULT=0 run off --runner kvm "${args[@]}"
check "kvm with HVB_PREFAULT=0: the run completes (exit $rc)" [ "$rc" -eq 0 ]
check "meta.csv says off and why" \
	grep -q '^runner.kvm.prefault,off: HVB_PREFAULT=0$' "$dir/meta.csv"
check "no boot populated guest RAM" sh -c "! grep -q 'guest RAM prefaulted' '$dir/log.txt'"
check "... and the prefault phase took nothing" \
	[ "$(grep -c 'prefault(not-in-boot_ms) 0.000 ' "$dir/log.txt")" -eq 2 ]

# A migrating job keeps unpopulated RAM (the migration's zero-page scan).
HVB_KVM_MIGRATE=dirty=log,downtime_ms=1000,rounds=5,after_ms=200 run mig --runner kvm \
	--workload migrate/dirty --reps 1 --timeout 120 --batches 10 --guest-mem 128 \
	--param dirty.wss_mib=8 --param dirty.rate=8
check "kvm with HVB_KVM_MIGRATE: the run completes (exit $rc)" [ "$rc" -eq 0 ]
check "... nothing prefaulted, and meta says why" \
	sh -c "! grep -q 'guest RAM prefaulted' '$dir/log.txt' &&
	       grep -q '^runner.kvm.prefault,off: the job migrates (HVB_KVM_MIGRATE)$' '$dir/meta.csv'"

HVB_PREFAULT=2 run bad --runner kvm "${args[@]}"
check "HVB_PREFAULT=2: exit 2 naming the variable and what to give" \
	sh -c "[ $rc -eq 2 ] && grep -q \"HVB_PREFAULT='2': give 0 (off) or 1 (on\" '$tmp/bad.err'"

if ! have qemu-kvm; then
	skip "qemu-kvm: $(runner_why qemu-kvm)"
	tap_done
	exit
fi
qargs=(--workload mem/stream-copy --quick --reps 1 --batches 2 --goal-us 1000 --guest-mem 256)
run q --runner qemu-kvm "${qargs[@]}"
check "qemu-kvm with prefault: the run completes (exit $rc)" [ "$rc" -eq 0 ]
check "QEMU's logged command line has -mem-prealloc" \
	grep -q '\[qemu-kvm\] rep 0: qemu-system-x86_64 .* -mem-prealloc' "$dir/log.txt"
check "meta.csv: runner.qemu-kvm.prefault says on, inside boot_ms" \
	grep -q '^runner.qemu-kvm.prefault,"on: QEMU -mem-prealloc populates all guest RAM before boot, inside boot_ms' "$dir/meta.csv"
HVB_PREFAULT=0 run qoff --runner qemu-kvm "${qargs[@]}"
check "qemu-kvm with HVB_PREFAULT=0: no -mem-prealloc, meta says off" \
	sh -c "[ $rc -eq 0 ] && ! grep -q -- '-mem-prealloc' '$dir/log.txt' &&
	       grep -q '^runner.qemu-kvm.prefault,off: HVB_PREFAULT=0$' '$dir/meta.csv'"
# 10 batches of 0.3 s: the guest outlasts the migration (test_qemu_migrate).
HVB_QEMU_MIGRATE_AT_MS=300 run qmig --runner qemu-kvm --workload cpu/crc32c --reps 1 --quick \
	--goal-us 300000 --batches 10 --guest-mem 256
check "qemu-kvm with HVB_QEMU_MIGRATE_AT_MS: it migrated (exit $rc)" \
	sh -c "[ $rc -eq 0 ] && grep -q ',qemu-kvm,cpu/crc32c,migrate.converged,bool,higher,0,1,ok,' '$dir/samples.csv'"
check "... without -mem-prealloc, and meta says why" \
	sh -c "! grep -q -- '-mem-prealloc' '$dir/log.txt' &&
	       grep -q '^runner.qemu-kvm.prefault,off: the job migrates (HVB_QEMU_MIGRATE_AT_MS)$' '$dir/meta.csv'"
tap_done
