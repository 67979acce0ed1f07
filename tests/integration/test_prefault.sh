#!/usr/bin/env bash
# HVB_PREFAULT (default 1): kvm and qemu-kvm populate all guest RAM before
# the guest runs, so setups that write hundreds of MiB (STREAM) do not pay
# a host fault per 4 KiB page through nested PVM. Checked here: kvm
# populates it (madvise succeeded: the log says how much), in a boot phase
# of its own left out of boot_ms (the other phases still add up to it),
# and meta.csv says so; the first-touch workloads are still measured on
# fresh memory (ok rows); HVB_PREFAULT=0 turns it off and says so; qemu-kvm
# starts QEMU paused with RAM as a backend, populates it over QMP (QEMU's
# RSS grows by it) in a window left out of boot_ms (logged phases, row
# notes, meta); a refused qom-set runs unprefaulted and says so, a QEMU
# whose QMP never answers fails the boot, and no QEMU is left either way;
# a job that migrates is not populated (kvm and qemu-kvm); a value other
# than 0 or 1 is refused before any run.
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
qargs=(--workload mem/stream-copy --quick --reps 2 --batches 2 --goal-us 1000 --guest-mem 256)
run q --runner qemu-kvm "${qargs[@]}"
check "qemu-kvm with prefault: the run completes (exit $rc)" [ "$rc" -eq 0 ]
check "QEMU starts paused with guest RAM as a backend and a QMP socket, no -mem-prealloc" \
	sh -c "grep -q '\[qemu-kvm\] rep 0: qemu-system-x86_64 .* -m 256M .* -S -object memory-backend-ram,id=hvbram,size=256M -machine memory-backend=hvbram -qmp unix:/tmp/hvbench-prealloc-[^ ]*/qmp.sock,server=on,wait=off' '$dir/log.txt' &&
	       ! grep -q -- '-mem-prealloc' '$dir/log.txt'"
# QEMU's RSS grows by guest RAM across the qom-set: it did populate (less
# what QEMU had written before, the guest image; unpopulated it is ~0).
populated() {
	[ "$(sed -n 's/.*guest RAM prefaulted: 256 MiB in [0-9.]* ms (outside boot_ms); QEMU.s RSS \([0-9]*\) -> \([0-9]*\) MiB$/\1 \2/p' "$dir/log.txt" |
		awk '$2 - $1 >= 240 { n++ } END { print n + 0 }')" -eq 2 ]
}
check "every boot populated all 256 MiB over QMP (QEMU's RSS grew by it)" populated
check "every boot's phases have the prefault, marked not in boot_ms" \
	[ "$(grep -c '\[qemu-kvm\] boot phases (ms, boot_ms [0-9.]*): qemu-start [0-9.]* prefault(not-in-boot_ms) [0-9.]* cont [0-9.]* run-to-hello [0-9.]*$' "$dir/log.txt")" -eq 2 ]
sums=$(boot_phase_sums "$dir/log.txt")
check "boot_ms is the sum of the other phases ($(echo $sums))" adds_up
# boot_ms rows: the logged phases' boot_ms, the note names the window left out.
boot_rows_match() {
	local logged rows
	logged=$(sed -n 's/.*boot phases (ms, boot_ms \([0-9.]*\)).*prefault(not-in-boot_ms) \([0-9.]*\) .*/\1 \2/p' "$dir/log.txt")
	rows=$(grep ',qemu-kvm,boot,boot_ms,ms,lower,[01],' "$dir/samples.csv" |
		sed -n 's/.*,boot_ms,ms,lower,[01],\([0-9.e+-]*\),ok,"QEMU fork -> first workload instruction (HELLO), less the \([0-9.]*\) ms QEMU was paused populating guest RAM (prefault);.*/\1 \2/p' |
		awk '{ printf "%.3f %s\n", $1, $2 }')
	[ -n "$rows" ] && [ "$(wc -l <<<"$rows")" -eq 2 ] && [ "$rows" = "$logged" ]
}
check "boot_ms rows leave the window out and say so (as the log's phases)" boot_rows_match
check "mem/stream-copy is measured on the populated RAM (ok rows)" \
	[ "$(grep -c ',qemu-kvm,mem/stream-copy,bandwidth,MB/s,higher,[01],[0-9.e+-]*,ok,' "$dir/samples.csv")" -eq 2 ]
check "meta.csv: runner.qemu-kvm.prefault says on, outside boot_ms" \
	grep -q '^runner.qemu-kvm.prefault,"on: QEMU started paused (-S), all guest RAM (memory-backend-ram hvbram) populated over QMP (qom-set prealloc), then cont; outside boot_ms' "$dir/meta.csv"
check "... no fallback, and the prefault's QMP sockets are gone" \
	sh -c "! grep -q prefault_fallback '$dir/meta.csv' &&
	       ! ls -d \$(sed -n 's|.* -qmp unix:\(/tmp/hvbench-prealloc-[^/]*\)/.*|\1|p' '$dir/log.txt') 2>/dev/null"
HVB_PREFAULT=0 run qoff --runner qemu-kvm "${qargs[@]}"
check "qemu-kvm with HVB_PREFAULT=0: not paused, no backend, meta says off" \
	sh -c "[ $rc -eq 0 ] && ! grep -q -- ' -S \|memory-backend\|hvbench-prealloc' '$dir/log.txt' &&
	       grep -q '^runner.qemu-kvm.prefault,off: HVB_PREFAULT=0$' '$dir/meta.csv'"

# Failure paths, through a QEMU wrapper (HVB_QEMU) that records its pid.
# A qom-set QEMU refuses (no object of that name): the guest runs unprefaulted.
wrap() {
	printf '#!/usr/bin/env bash\necho $$ >>%q\n%s\nexec qemu-system-x86_64 "${a[@]}"\n' \
		"$tmp/$1.pids" "$2" >"$tmp/$1.sh"
	chmod +x "$tmp/$1.sh"
}
qemu_gone() { ! xargs -r kill -0 <"$tmp/$1.pids" 2>/dev/null; }
wrap rename 'a=("${@//id=hvbram/id=other}"); a=("${a[@]//memory-backend=hvbram/memory-backend=other}")'
HVB_QEMU=$tmp/rename.sh run qren --runner qemu-kvm "${qargs[@]}"
check "a refused qom-set: the run completes unprefaulted (exit $rc)" \
	sh -c "[ $rc -eq 0 ] && [ \$(grep -c ',qemu-kvm,mem/stream-copy,bandwidth,MB/s,higher,[01],[0-9.e+-]*,ok,' '$dir/samples.csv') -eq 2 ]"
check "... the log and meta.csv say the prefault fell back, and why" \
	sh -c "[ \$(grep -c 'rep [01]: prefault: qom-set prealloc refused, running unprefaulted: .*hvbram' '$dir/log.txt') -eq 2 ] &&
	       ! grep -q 'guest RAM prefaulted\|boot phases' '$dir/log.txt' &&
	       ! grep -q ',qemu-kvm,boot,boot_ms,.*less the' '$dir/samples.csv' &&
	       grep -q '^runner.qemu-kvm.prefault_fallback,\"\?rep 1 of mem/stream-copy: qom-set prealloc refused, running unprefaulted: ' '$dir/meta.csv'"
check "... and no QEMU is left" qemu_gone rename
# No QMP socket: QEMU stays paused; after 10 s the job fails and QEMU is stopped.
wrap nosock 'a=(); for x in "$@"; do case $x in *hvbench-prealloc*) unset "a[$((${#a[@]} - 1))]";; *) a+=("$x");; esac; done'
HVB_QEMU=$tmp/nosock.sh run qnosock --runner qemu-kvm "${qargs[@]}" --reps 1
check "a QEMU whose QMP never answers: the boot fails and says why (exit $rc)" \
	sh -c "[ $rc -ne 0 ] && grep -q ',qemu-kvm,boot,boot_ms,ms,lower,0,,failed,\"\?prefault: QEMU.s QMP socket: not there within 10 s of QEMU.s start; QEMU stopped (HVB_PREFAULT=0 boots without it)' '$dir/samples.csv'"
check "... and no QEMU is left" qemu_gone nosock
# 10 batches of 0.3 s: the guest outlasts the migration (test_qemu_migrate).
HVB_QEMU_MIGRATE_AT_MS=300 run qmig --runner qemu-kvm --workload cpu/crc32c --reps 1 --quick \
	--goal-us 300000 --batches 10 --guest-mem 256
check "qemu-kvm with HVB_QEMU_MIGRATE_AT_MS: it migrated (exit $rc)" \
	sh -c "[ $rc -eq 0 ] && grep -q ',qemu-kvm,cpu/crc32c,migrate.converged,bool,higher,0,1,ok,' '$dir/samples.csv'"
check "... not paused for a prefault, and meta says why" \
	sh -c "! grep -q -- 'hvbench-prealloc' '$dir/log.txt' &&
	       grep -q '^runner.qemu-kvm.prefault,off: the job migrates (HVB_QEMU_MIGRATE_AT_MS)$' '$dir/meta.csv'"
tap_done
