#!/usr/bin/env bash
# hvbench run --vcpus 2 under qemu-tcg: QEMU gets -smp 2 and the guest
# vcpus=2 smp=sipi, both vCPU threads are pinned to their --cpus entries,
# and an smp workload either has its .smp2 rows (a guest runtime that
# started both CPUs) or is skipped saying so - never measured on one CPU
# under a run that says 2.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh smp-qemu

[ -f "$GUEST" ] || skip_rest "no guest image ($GUEST)"
"$HVBENCH" list 2>/dev/null | grep -qE '^ *qemu-tcg +available' ||
	skip_rest "qemu-tcg is not available here ($("$HVBENCH" list 2>/dev/null | grep qemu-tcg))"
[ "$(nproc)" -ge 2 ] || skip_rest "one host CPU: nothing to pin apart"

run r --runner qemu-tcg --workload cpu/crc32c --vcpus 2 --cpus 1,0 --quick --reps 1
check "the run finishes (cells ok or skipped)" [ -n "$dir" -a -f "$dir/samples.csv" ]
check "QEMU got -smp 2" grep -q -- '-smp 2 ' "$dir/log.txt"
check "the guest got vcpus=2 smp=sipi" grep -qE 'vcpus=2 ([^ ]+ )*smp=sipi' "$dir/log.txt"
check "vCPU 0's thread pinned to cpu 1" grep -qE 'vCPU thread [0-9]+ pinned to cpu 1' "$dir/log.txt"
check "vCPU 1's thread pinned to cpu 0" grep -qE 'vCPU 1 thread [0-9]+ pinned to cpu 0' "$dir/log.txt"
check "meta: the placement" grep -qx 'cpus,"1,0"' "$dir/meta.csv"
if row "$dir" ',qemu-tcg,cpu/crc32c,bandwidth,MB/s,'; then
	check "measured: with its smp2 rows" row "$dir" ',qemu-tcg,cpu/crc32c,bandwidth\.smp2,MB/s,'
	check "... and each CPU's" row "$dir" ',qemu-tcg,cpu/crc32c,bandwidth\.smp2\.cpu1,MB/s,'
else
	check "not measured: skipped with why" \
		row "$dir" ',qemu-tcg,cpu/crc32c,,,,,,skipped,"vcpus=2 asked, this environment runs 1 CPU'
fi

# qemu-tcg grants IRQ and HLT without a probe (TCG's LAPIC timer wakes
# `sti; hlt`): micro/hlt-wake is measured there, the caps say so by name.
run hlt --runner qemu-tcg --workload micro/hlt-wake --vcpus 2 --cpus 1,0 --quick --reps 1
check "qemu-tcg: meta caps name IRQ and HLT" meta_has "$dir" '^runner\.qemu-tcg\.caps,"?0x[0-9a-f]+ \(.*HLT.*IRQ'
check "qemu-tcg: micro/hlt-wake measured" row "$dir" ',qemu-tcg,micro/hlt-wake,ns_per_op,ns,lower,0,[0-9.]+,ok,'

# qemu-kvm: HVB_CAP_IRQ only from the interrupt probe's boot (QEMU's
# in-kernel LAPIC), its outcome in meta either way; every vCPU thread
# among vcpu-threads.
if ! "$HVBENCH" list 2>/dev/null | grep -qE '^ *qemu-kvm +available'; then
	skip "qemu-kvm unavailable: $("$HVBENCH" list 2>/dev/null | grep -A1 '^ *qemu-kvm ' | tail -1)"
	tap_done
	exit
fi
run kirq --runner qemu-kvm --workload micro/hlt-wake,micro/rdtsc --vcpus 2 --cpus 1,0 --quick --reps 1
check "qemu-kvm: the run finishes" [ -n "$dir" -a -f "$dir/samples.csv" ]
check "qemu-kvm: the interrupt probe's outcome in meta" \
	meta_has "$dir" '^runner\.qemu-kvm\.irq,"?(granted: the guest.s self-test|not granted: )'
if meta_has "$dir" '^runner\.qemu-kvm\.irq,"?granted'; then
	check "qemu-kvm: IRQ granted: among the caps by name" meta_has "$dir" '^runner\.qemu-kvm\.caps,"?0x[0-9a-f]+ \(.*[(|]IRQ[|)]'
	check "qemu-kvm: ... and micro/hlt-wake, woken by the LAPIC timer, measured" \
		row "$dir" ',qemu-kvm,micro/hlt-wake,ns_per_op,ns,lower,0,[0-9.]+,ok,'
else
	check "qemu-kvm: IRQ refused: not among the caps" \
		bash -c "! grep -qE '^runner\.qemu-kvm\.caps,.*[(|]IRQ[|)]' '$dir/meta.csv'"
	echo "# qemu-kvm: $(grep '^runner\.qemu-kvm\.irq,' "$dir/meta.csv")"
fi
check "qemu-kvm: vcpu-threads summed over both vCPU threads" \
	grep -qE ',qemu-kvm,micro/rdtsc,0,vcpu-threads\.task-clock,[0-9]+,[0-9]+,[0-9]+,software,ok,summed over 2 vCPU threads' \
	"$dir/counters.csv"
tap_done
