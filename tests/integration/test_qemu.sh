#!/usr/bin/env bash
# The QEMU runners end to end.
#  1. Transport and hostile cases with stand-in guests (tests/qemu/stub.S):
#     records over the serial line, console damage, a protocol breach, a
#     guest that never ends, a console flood, a QEMU that dies, Ctrl-C.
#  2. The real guest image under qemu-tcg (micro + cpu, functional: ring-0
#     micro benchmarks give ok samples, labelled emulation) and under
#     qemu-kvm where /dev/kvm is usable.
# Skips visibly when QEMU, KVM or the guest image is missing.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh qemu
STUBS=$O/tests/qemu

command -v qemu-system-x86_64 >/dev/null ||
	skip_rest "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"

# boot NAME IMAGE ARGS...: run NAME with IMAGE as the guest image.
boot() {
	local name=$1
	HVB_GUEST_IMAGE=$2 run "$name" "${@:3}"
}
# qemu_on NAME: run NAME has a QEMU process (another worktree's does not
# count: run_procs).
qemu_on() { [ -n "$(run_procs "$1" qemu-system)" ]; }
no_qemu_left() { ! qemu_on "$1"; }

# ------------------------------------------------------------ stand-in guests
boot ok "$STUBS/stub-ok.elf" -r qemu-tcg -w micro/rdtsc --reps 1
if [ "$rc" -eq 0 ] && row "$dir" ',qemu-tcg,micro/rdtsc,ns_per_op,ns,lower,0,12.5,ok,stub guest'; then
	ok "records travel over the serial line into samples.csv"
else
	not_ok "records travel over the serial line into samples.csv" "$(show ok)"
fi
check "boot time is its own metric (boot/boot_ms, ms, lower)" \
	row "$dir" ',qemu-tcg,boot,boot_ms,ms,lower,0,[0-9.]+,ok,.*emulated'
for k in version machine cpu accelerator emulated; do
	check "meta has runner.qemu-tcg.$k" grep -q "^runner.qemu-tcg.$k," "$dir/meta.csv"
done
check "meta runner.qemu-tcg.probes: counters on QEMU's threads, no KVM statistics under TCG" \
	grep -q '^runner.qemu-tcg.probes,vmm-counters=on$' "$dir/meta.csv"
check "console text goes to the log" grep -q 'console: .*stub: hello from the test guest' "$dir/log.txt"
check "the QEMU command is logged, telling the guest dev=serial, caps and mmio_user" \
	grep -qE "rep 0: qemu-system-x86_64 .* -append 'w=micro/rdtsc .* dev=serial caps=0x[0-9a-f]+ mmio_user=0xff000000'" \
	"$dir/log.txt"

# HVB_VMM_COUNTERS=0 switches the counters on QEMU's threads off, under TCG too
HVB_VMM_COUNTERS=0 boot vc0 "$STUBS/stub-ok.elf" -r qemu-tcg -w micro/rdtsc --reps 1
check "HVB_VMM_COUNTERS=0: runner.qemu-tcg.probes says vmm-counters=off, no (vcpu|vmm)-threads rows" \
	sh -c "[ $rc -eq 0 ] && grep -q '^runner.qemu-tcg.probes,vmm-counters=off\$' '$dir/meta.csv' &&
	       ! grep -qE ',qemu-tcg,[^,]*,[0-9]+,(vcpu|vmm)-threads' '$dir/counters.csv'"

boot damaged "$STUBS/stub-damaged.elf" -r qemu-tcg -w micro/rdtsc --reps 1
check "a damaged console still delivers the intact records" \
	row "$dir" ',qemu-tcg,micro/rdtsc,ns_per_op,ns,lower,0,12.5,ok'
check "damage is counted in the log (corrupt, lost, duplicates, over-long)" \
	grep -q 'console damage: 2 corrupt lines, 2 records lost, 1 duplicates dropped, 1 over-long' \
	"$dir/log.txt"
check "control bytes in console text are escaped" grep -q 'console: .*\\x1b' "$dir/log.txt"

boot proto "$STUBS/stub-proto.elf" -r qemu-tcg -w micro/rdtsc --reps 1
if [ "$rc" -eq 1 ] && row "$dir" ',micro/rdtsc,,,,,,failed,protocol error: record 1: bad magic'; then
	ok "a record that breaks the ABI fails the cell with a protocol error"
else
	not_ok "a record that breaks the ABI fails the cell with a protocol error" "$(show proto)"
fi
check "... and QEMU is gone" no_qemu_left proto

boot hang "$STUBS/stub-hang.elf" -r qemu-tcg -w micro/rdtsc --reps 1 --timeout 3
if [ "$rc" -eq 1 ] && row "$dir" 'failed,guest timed out after 3 s \(it had started\); QEMU stopped'; then
	ok "a guest that never ends gets a timeout verdict"
else
	not_ok "a guest that never ends gets a timeout verdict" "$(show hang)"
fi
check "... and QEMU is reaped" no_qemu_left hang

boot flood "$STUBS/stub-flood.elf" -r qemu-tcg -w micro/rdtsc --reps 1 --timeout 3
check "a console flood ends in a timeout verdict" row "$dir" 'failed,guest timed out after 3 s'
check "... the boot cell fails too (no HELLO)" row "$dir" ',qemu-tcg,boot,boot_ms,ms,lower,0,,failed,'
size=$(stat -c %s "$dir/log.txt" 2>/dev/null || echo 0)
check "... and the log stays bounded ($size bytes)" [ "$size" -lt 200000 ]

HVB_QEMU_MACHINE=bogus boot badmem "$STUBS/stub-ok.elf" -r qemu-tcg -w micro/rdtsc --reps 1
if [ "$rc" -eq 1 ] && row "$dir" "failed,\"?QEMU exited with status 1 before the guest started: .*unsupported machine type"; then
	ok "a QEMU that dies gets a verdict with its own error message"
else
	not_ok "a QEMU that dies gets a verdict with its own error message" "$(show badmem)"
fi

HVB_QEMU=/nonexistent/qemu "$HVBENCH" list >"$tmp/list" 2>&1
check "hvbench list says why QEMU is unavailable and what to do" \
	grep -q 'why: /nonexistent/qemu is not installed: apt-get install qemu-system-x86' "$tmp/list"

# Ctrl-C while the guest hangs: the run is closed as interrupted, QEMU
# reaped.  Sent once this run's QEMU exists (hvbench handles SIGINT by then).
HVB_GUEST_IMAGE=$STUBS/stub-hang.elf start int -r qemu-tcg -w micro/rdtsc --reps 3 --timeout 60
signal_when INT 120 qemu_on int
check "SIGINT during a guest run ends hvbench with 130" [ "$rc" -eq 130 ]
check "... the run is marked interrupted" meta_has "$dir" '^status,interrupted$'
check "... and QEMU is reaped" no_qemu_left int

# QEMU killed from outside (SIGKILL) while the guest runs: the cells of that
# boot fail saying so.  This run's QEMU is the child of this hvbench.  On
# -machine pc, whose firmware takes long enough for the kill to land before
# the stub's HELLO (microvm boots it within the time pgrep needs).
HVB_QEMU_MACHINE=pc HVB_GUEST_IMAGE=$STUBS/stub-hang.elf "$HVBENCH" run -r qemu-tcg -w micro/rdtsc --reps 1 \
	--timeout 60 -o "$tmp/qkill" >"$tmp/qkill.out" 2>"$tmp/qkill.err" &
pid=$!
qpid=
qemu_child() { qpid=$(pgrep -P $pid -x qemu-system-x86) || ! kill -0 $pid 2>/dev/null; }
wait_until 120 qemu_child || echo "# QEMU did not start within 120 s"
[ -n "$qpid" ] && kill -KILL $qpid
wait $pid
rc=$?
dir=$(ls -d "$tmp"/qkill/*/ 2>/dev/null | head -1)
if [ "$rc" -eq 1 ] && row "$dir" ',qemu-tcg,micro/rdtsc,,,,,,failed,QEMU killed by signal 9 \(Killed\)$'; then
	ok "QEMU killed from outside: its cells fail saying so (exit 1)"
else
	not_ok "QEMU killed from outside: its cells fail saying so (exit 1)" "$(show qkill)"
fi
# The stub sends HELLO before it hangs: under load that HELLO can beat the
# kill (wait_until polls every 0.1 s), and then boot_ms is rightly ok.
check "... the boot cell too (or ok: its HELLO came before the kill)" \
	eval "row '$dir' ',qemu-tcg,boot,boot_ms,ms,lower,0,,failed,QEMU killed by signal 9' || row '$dir' ',qemu-tcg,boot,boot_ms,ms,lower,0,[0-9.e+-]+,ok,'"
check "... and the run is complete" grep -q '^status,complete$' "$dir/meta.csv"

kvm_why=$(HVB_GUEST_IMAGE=$STUBS/stub-ok.elf runner_why qemu-kvm)
if [ -n "$kvm_why" ]; then
	skip "qemu-kvm stand-in boot: $kvm_why"
else
	boot kvmok "$STUBS/stub-ok.elf" -r qemu-kvm -w micro/rdtsc --reps 1
	if [ "$rc" -eq 0 ] && row "$dir" ',qemu-kvm,micro/rdtsc,ns_per_op,ns,lower,0,12.5,ok' &&
		row "$dir" ',qemu-kvm,boot,boot_ms,ms,lower,0,[0-9.]+,ok'; then
		ok "qemu-kvm boots a PVH image and collects its records and boot time"
	else
		not_ok "qemu-kvm boots a PVH image and collects its records and boot time" "$(show kvmok)"
	fi
fi

# ------------------------------------------------------------ the real guest
[ -r "$GUEST" ] || skip_rest "real guest image $GUEST not built: guest image tests skipped"

# CI time: every micro benchmark, two of the cpu family (TCG emulates AVX
# slowly: cpu/matmul alone takes a minute), three batches.
boot tcg "$GUEST" -r qemu-tcg -w 'micro/*,cpu/crc32c,cpu/sort' --quick --batches 3 --reps 1 \
	--timeout 300
check "qemu-tcg runs the guest's micro and cpu families (exit $rc)" [ "$rc" -eq 0 ]
for w in cpu/crc32c cpu/sort; do
	check "... $w gives ok samples" row "$dir" ",qemu-tcg,$w,[a-z_]+,[^,]+,(lower|higher),0,[0-9.e+-]+,ok,"
done
check "... HELLO arrived: boot_ms recorded" row "$dir" ',qemu-tcg,boot,boot_ms,ms,lower,0,[0-9.]+,ok'
for w in micro/cpuid micro/msr-read micro/msr-write; do
	if has_ok "$dir" qemu-tcg "$w"; then
		ok "ring-0 benchmark $w passes under TCG"
	else
		not_ok "ring-0 benchmark $w passes under TCG" "$(grep ",$w," "$dir/samples.csv" | head -2)"
	fi
done
for w in micro/pio-out-user micro/pio-in-user micro/mmio-write-user micro/mmio-read-user; do
	check "$w runs against QEMU's own devices under TCG" has_ok "$dir" qemu-tcg "$w"
done
check "micro/hypercall is skipped under TCG (vmcall raises #UD) with a reason" \
	row "$dir" ',qemu-tcg,micro/hypercall,,,,,,skipped,.+'
check "TCG results are labelled emulation in meta" \
	grep -q '^runner.qemu-tcg.emulated,"yes' "$dir/meta.csv"
if row "$dir" ',failed,'; then
	not_ok "no cell failed under qemu-tcg" "$(grep ',failed,' "$dir/samples.csv" | head -3)"
else
	ok "no cell failed under qemu-tcg"
fi

kvm_why=$(runner_why qemu-kvm)
if [ -n "$kvm_why" ]; then
	skip "qemu-kvm with the guest image: $kvm_why"
else
	boot kvm "$GUEST" -r qemu-kvm -w 'micro/pio-*,micro/mmio-*,micro/rdtsc,cpu/crc32c' --quick \
		--batches 3 --reps 1 --timeout 300
	check "qemu-kvm runs the guest image (exit $rc)" [ "$rc" -eq 0 ]
	check "... boot_ms recorded" row "$dir" ',qemu-kvm,boot,boot_ms,ms,lower,0,[0-9.]+,ok'
	check "... a userspace port exit is measured" has_ok "$dir" qemu-kvm micro/pio-out-user
	check "... a userspace MMIO exit is measured" has_ok "$dir" qemu-kvm micro/mmio-write-user
	check "... host-kernel exits are skipped with a reason" \
		row "$dir" ',qemu-kvm,micro/pio-out-kernel,,,,,,skipped,.+'
	check "... no capability probe when no selected workload needs one" \
		grep -q '^runner.qemu-kvm.caps_probe,"cpuid: not probed (no selected workload needs it);.*; 0 boots' \
		"$dir/meta.csv"

	# The capability probe: every probed capability has an outcome in
	# meta, granted ones give samples, refused ones skip saying why.
	probe_ws=micro/cpuid,micro/msr-read,micro/hypercall,micro/hlt-wake,micro/rdtsc
	boot probe "$GUEST" -r qemu-kvm -w "$probe_ws" --quick --batches 2 --reps 2 --timeout 300
	check "qemu-kvm runs with the capability probe (exit $rc)" [ "$rc" -eq 0 ]
	probe=$(sed -n 's/^runner.qemu-kvm.caps_probe,//p' "$dir/meta.csv")
	# "0x... (NAMES)": the hex part
	caps=$(sed -n 's/^runner.qemu-kvm.caps,"\{0,1\}\(0x[0-9a-f]*\).*/\1/p' "$dir/meta.csv")
	# name:workload:HVB_CAP_* bit (include/hvb/abi.h)
	for c in cpuid:micro/cpuid:0x20 msr:micro/msr-read:0x40 hypercall:micro/hypercall:0x10 \
		hlt:micro/hlt-wake:0x80; do
		IFS=: read -r cap w bit <<<"$c"
		case "$probe" in
		*"$cap: ok ($w ran)"*)
			check "probe: $cap granted, so $w gives samples" has_ok "$dir" qemu-kvm "$w"
			check "... and caps $caps has it" [ $((${caps:-0} & bit)) -ne 0 ] ;;
		*"$cap: no ($w: "*)
			check "probe: $cap refused, so $w is skipped saying why" \
				row "$dir" ",qemu-kvm,$w,,,,,,skipped,\"?.+; probe: .+"
			check "... and caps $caps lacks it" [ $((${caps:-0} & bit)) -eq 0 ] ;;
		*) not_ok "probe: meta records an outcome for $cap" "$probe" ;;
		esac
	done
	# hlt: with interrupts delivered (the interrupt probe, first) the
	# LAPIC timer wakes `sti; hlt` and that probe grants HLT too; without
	# them hlt runs in ring 0 with interrupts off, QEMU's in-kernel irqchip
	# never wakes it, so the probe must catch the hang with its timeout.
	if grep -q '^runner.qemu-kvm.irq,"\{0,1\}granted' "$dir/meta.csv"; then
		check "probe: interrupts granted, hlt granted with them" \
			grep -q '^runner.qemu-kvm.caps_probe,.*hlt: ok (micro/hlt-wake ran)' "$dir/meta.csv"
	else
		check "probe: a hanging capability (hlt) is caught by the timeout" \
			grep -q '^runner.qemu-kvm.caps_probe,.*hlt: no (micro/hlt-wake: timeout: no record for' \
			"$dir/meta.csv"
	fi
	n=$(grep -c 'capability probe: ' "$dir/log.txt")
	check "probe: once per run, not per repetition ($n)" [ "$n" -eq 1 ]
	check "... and the guest got the probed caps ($caps) in every repetition" \
		[ "$(grep -cE "rep [01]: .* caps=$caps " "$dir/log.txt")" -eq 2 ]

	# A probe boot that faults: nothing is granted, the reason is recorded,
	# the run itself is unaffected.
	HVB_QEMU_PROBE_EXTRA=fault=ud boot pfault "$GUEST" -r qemu-kvm -w micro/cpuid,micro/rdtsc \
		--quick --batches 2 --reps 1 --timeout 300
	check "a faulting probe: the run still succeeds (exit $rc)" [ "$rc" -eq 0 ]
	check "... meta records the fault as the probe's outcome" \
		grep -q '^runner.qemu-kvm.caps_probe,"cpuid: not probed (guest fault: vector 6 ' "$dir/meta.csv"
	check "... micro/cpuid is skipped with the probe's reason" \
		row "$dir" ',qemu-kvm,micro/cpuid,,,,,,skipped,"?.+; probe: not probed: guest fault'
	check "... and the rest runs" has_ok "$dir" qemu-kvm micro/rdtsc
fi

tap_done
