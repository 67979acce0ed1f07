#!/usr/bin/env bash
# Host-side probes of the VM runners (issue 15): qemu-kvm's KVM statistics
# over QMP into exits.csv / counters.csv, and the placement keys in meta.csv
# for qemu-kvm and kvm.  Skips visibly without QEMU, a usable /dev/kvm or
# the guest image.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh qemustats

need_qemu_guest
"$HVBENCH" list 2>/dev/null | grep -qE '^ *qemu-kvm .*(yes|usable)' ||
	[ -w /dev/kvm ] || skip_rest "/dev/kvm not usable here"

run pio --runner qemu-kvm,kvm --workload micro/pio-out-user --reps 1 --quick
if [ "$rc" -ne 0 ] || [ -z "$dir" ]; then
	not_ok "qemu-kvm,kvm run of micro/pio-out-user" "$(show pio)"
	tap_done
	exit
fi

# qemu-kvm rows: a total from kvm-stats with ops, not below any other
# reason's count.  Not compared with ops: the REP_BEGIN reading comes late
# by the QMP round trip (missing operations) and REP_END's console line is
# inside (hundreds of exits): FORMAT.md.
exits_ok() {
	awk -F, '$2 == "qemu-kvm" && $8 == "kvm-stats" {
		if ($5 == "total") { total = $6; ops = $9 } else if ($6 > max) max = $6
	} END { exit !(total > 0 && ops > 0 && total >= max) }' "$dir/exits.csv"
}
check "qemu-kvm exits.csv: total from kvm-stats > 0, with ops, >= every reason" exits_ok
check "qemu-kvm's reasons are the kvm runner's names" \
	bash -c "cut -d, -f2,5,8 '$dir/exits.csv' | grep '^qemu-kvm,.*,kvm-stats$' | cut -d, -f2 | sort >'$tmp/q';
		 cut -d, -f2,5,8 '$dir/exits.csv' | grep '^kvm,.*,kvm-stats$' | cut -d, -f2 | sort >'$tmp/k';
		 [ -s '$tmp/q' ] && comm -23 '$tmp/q' '$tmp/k' | grep -q . && exit 1; exit 0"
check "pf_* are counters.csv rows (not exits), with the QMP round trips in the note" \
	grep -qE ',qemu-kvm,micro/pio-out-user,0,vcpu\.pf_taken,[0-9]+,[0-9]+,[0-9]+,kvm-stats,ok,"QMP query-stats .*round trips [0-9]+ us and [0-9]+ us' \
	"$dir/counters.csv"
check "no pf_ reason in exits.csv" bash -c "! grep -q ',pf_' '$dir/exits.csv'"
check "no QMP socket left behind" bash -c "! grep -o '/tmp/hvbench-qmp-[A-Za-z0-9]*' '$dir/log.txt' | xargs -r ls -d 2>/dev/null | grep -q ."

# Counters on VMM threads: software events counted, hardware events either
# counted or unsupported with a reason, never an empty ok or a zero
# standing in for "unsupported".
check "qemu-kvm vcpu-threads.task-clock counted (> 0 ns)" \
	grep -qE ',qemu-kvm,micro/pio-out-user,0,vcpu-threads\.task-clock,[1-9][0-9]*,[0-9]+,[0-9]+,software,ok,summed over 1 vCPU' \
	"$dir/counters.csv"
check "qemu-kvm vmm-threads.page-faults counted over QEMU's threads" \
	grep -qE ',qemu-kvm,micro/pio-out-user,0,vmm-threads\.page-faults,[0-9]+,[0-9]+,[0-9]+,software,ok,summed over [0-9]+ VMM' \
	"$dir/counters.csv"
hw_ok() {
	awk -F, '$2 == "qemu-kvm" && $5 ~ /^(vcpu|vmm)-threads\.(cycles|instructions):m[gh]$/ {
		n++
		if ($9 != "pmu") bad = 1
		if ($10 == "unsupported" && ($6 != "" || $11 == "")) bad = 1
		if ($10 == "ok" && $6 == "") bad = 1
	} END { exit !(n == 8 && !bad) }' "$dir/counters.csv"
}
check "hardware :mh/:mg rows: counted, or unsupported with a reason and no value" hw_ok
# kvm's counters are read by the job's main thread for the filtered vCPU
# thread (vmm_counters.h, the relay): counted with the filter on (the
# default) as without it.
check "meta: kvm's vCPU seccomp filter is on (the default)" \
	meta_has "$dir" '^runner\.kvm\.seccomp,"?on: '
check "kvm under its seccomp filter: vcpu-threads.task-clock counted" \
	grep -qE ',kvm,micro/pio-out-user,0,vcpu-threads\.task-clock,[1-9][0-9]*,[0-9]+,[0-9]+,software,ok,summed over 1 vCPU' \
	"$dir/counters.csv"
check "kvm under its seccomp filter: vmm-threads.context-switches counted" \
	grep -qE ',kvm,micro/pio-out-user,0,vmm-threads\.context-switches,[0-9]+,[0-9]+,[0-9]+,software,ok,summed over [0-9]+ VMM' \
	"$dir/counters.csv"
check "kvm: no refusal row for the VMM threads any more" \
	bash -c "! grep -qE ',kvm,[^,]*,[0-9]+,vmm-threads,' '$dir/counters.csv'"

place='pu=[0-9]+ core=([0-9]+|none) l2=([0-9]+|none) l3=([0-9]+|none) numa=([0-9]+|none)$'
check "meta placement.qemu-kvm.vcpu0" meta_has "$dir" "^placement\.qemu-kvm\.vcpu0,$place"
check "meta placement.qemu-kvm.main" meta_has "$dir" "^placement\.qemu-kvm\.main,$place"
check "meta placement.kvm.vcpu0" meta_has "$dir" "^placement\.kvm\.vcpu0,$place"
cpu=$(grep '^placement\.kvm\.vcpu0,' "$dir/meta.csv" | sed -E 's/.*pu=([0-9]+).*/\1/')
pin=$(grep '^runner\.kvm\.pinning,' "$dir/meta.csv" | sed -nE 's/^[^,]*,pu=([0-9]+).*/\1/p')
if [ -n "$pin" ]; then
	check "the pinned kvm vCPU ran on its PU ($pin)" [ "$cpu" = "$pin" ]
fi
# Switches (README "Probe overhead"): HVB_KVM_STATS=0 starts QEMU without
# the stats QMP socket and says why in the rows; HVB_VMM_COUNTERS=0 counts nothing
# on QEMU's threads; meta runner.qemu-kvm.probes says which ran.
HVB_KVM_STATS=0 run qks0 --runner qemu-kvm --workload micro/pio-out-user --reps 1 --quick
check "HVB_KVM_STATS=0: runner.qemu-kvm.probes says kvm-stats=off vmm-counters=on" \
	sh -c "[ $rc -eq 0 ] && grep -q '^runner.qemu-kvm.probes,kvm-stats=off vmm-counters=on\$' '$dir/meta.csv'"
check "... one row: kvm-stats unsupported, 'off: HVB_KVM_STATS=0'; no kvm-stats exits" \
	sh -c "[ \$(grep -c ',kvm-stats,' '$dir/counters.csv') -eq 1 ] &&
	       grep -q ',qemu-kvm,micro/pio-out-user,0,kvm-stats,,,,kvm-stats,unsupported,off: HVB_KVM_STATS=0\$' '$dir/counters.csv' &&
	       ! grep -q ',kvm-stats,' '$dir/exits.csv'"
# The stats socket is /tmp/hvbench-qmp-*; HVB_PREFAULT's own QMP socket
# (/tmp/hvbench-prealloc-*, runners/qemu/prealloc.c) is there either way.
check "... QEMU was started without the stats QMP socket" \
	sh -c "grep -q 'rep 0: qemu-system-x86_64 ' '$dir/log.txt' && ! grep -q ' -qmp unix:/tmp/hvbench-qmp-' '$dir/log.txt'"
HVB_KVM_STATS=0 HVB_PREFAULT=0 run qks0np --runner qemu-kvm --workload micro/pio-out-user --reps 1 --quick
check "HVB_KVM_STATS=0 HVB_PREFAULT=0: QEMU was started without -qmp at all" \
	sh -c "[ $rc -eq 0 ] && grep -q 'rep 0: qemu-system-x86_64 ' '$dir/log.txt' && ! grep -q ' -qmp ' '$dir/log.txt'"
HVB_VMM_COUNTERS=0 run qvc0 --runner qemu-kvm --workload micro/pio-out-user --reps 1 --quick
check "HVB_VMM_COUNTERS=0: runner.qemu-kvm.probes says vmm-counters=off, no (vcpu|vmm)-threads rows" \
	sh -c "[ $rc -eq 0 ] && grep -q '^runner.qemu-kvm.probes,kvm-stats=on vmm-counters=off\$' '$dir/meta.csv' &&
	       ! grep -qE ',qemu-kvm,[^,]*,[0-9]+,(vcpu|vmm)-threads' '$dir/counters.csv'"
check "... the KVM stats still come over QMP" \
	grep -q ',qemu-kvm,micro/pio-out-user,0,vcpu\.exits,[0-9]*,[0-9]*,[0-9]*,kvm-stats,ok,' "$dir/counters.csv"

HVB_SECCOMP=0 run noseccomp --runner kvm --workload micro/pio-out-user --reps 1 --quick
check "kvm without seccomp: vcpu-threads.task-clock counted" \
	grep -qE ',kvm,micro/pio-out-user,0,vcpu-threads\.task-clock,[1-9][0-9]*,[0-9]+,[0-9]+,software,ok' \
	"$dir/counters.csv"
tap_done
