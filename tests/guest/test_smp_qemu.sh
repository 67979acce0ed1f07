#!/usr/bin/env bash
# SMP and interrupts of the guest runtime under QEMU TCG (full emulation:
# the ring-0 paths run as on hardware): APs started by INIT-SIPI-SIPI
# (smp=sipi) check in and run work; self-IPI, PING/PONG to a halted and to
# a spinning AP, and the LAPIC timer each arrive exactly once per send
# (counted in the guest by selftest=smp, which logs one record per check);
# hostile cases: a never-EOI'd STORM (the guest still finishes), a vCPU
# that never checks in (the run goes on with fewer, and says so), bad words.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
O=${O:-build}
. tests/lib/qemu_guest.sh
tmp=$(mktemp -d /tmp/hvb-smp-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

need_qemu
need_built

# --- the AP entry note (HVB_NOTE_AP_ENTRY 0x4841, "hvbench") names hvb_ap_start
ap_note() { readelf -n "$IMAGE" | awk '/hvbench .*0x00004841/ { getline; print $3 $4 $5 $6 }'; }
ap_sym() { nm "$IMAGE" | awk '$3 == "hvb_ap_start" { print $1 }'; }
le32() { local h=$1; echo "${h:6:2}${h:4:2}${h:2:2}${h:0:2}"; }
if command -v readelf >/dev/null && command -v nm >/dev/null; then
	check "the image's HVB_NOTE_AP_ENTRY note is the AP entry (hvb_ap_start)" \
		eval '[ -n "$(ap_note)" ] && [ $((16#$(le32 "$(ap_note)"))) = $((16#$(ap_sym))) ]'
else
	skip "readelf/nm not installed (binutils)"
fi

# boot NAME CMDLINE [qemu args...]: as tests/guest/test_guest_qemu.sh.
boot() {
	local name=$1 cmdline=$2
	shift 2
	timeout 90 qemu-system-x86_64 -nodefaults -accel tcg -cpu max -m 256M -display none \
		-no-reboot -monitor none -kernel "$IMAGE" -append "$cmdline" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -serial "file:$tmp/$name.out" "$@" \
		>"$tmp/$name.qemu" 2>&1
	echo $? >"$tmp/$name.rc"
	"$DUMP" "$tmp/$name.out" >"$tmp/$name.rec"
}

rc_is() { [ "$(cat "$tmp/$1.rc")" = "$2" ]; }
logs() { grep -E '^[0-9]+ LOG ' "$tmp/$1.rec" | sed 's/.* text=//'; }
has_log() { logs "$1" | grep -qE "$2"; }
show() { sed 's/^/#   /' "$tmp/$1.rec" "$tmp/$1.qemu" | cut -c1-200 | head -24; }
# check_log NAME DESCRIPTION REGEX
check_log() {
	if has_log "$1" "$3"; then ok "$2"; else
		not_ok "$2" "no LOG record matching: $3"
		show "$1"
	fi
}

# HVB_CAP_IRQ | HVB_CAP_CPUID
IRQ_CAPS=0x4020
common="w=micro/rdtsc tsc_khz=1000000 dev=serial goal_us=200 batches=3 quick=1"
st="guest rt: selftest smp:"

for machine in pc microvm; do
	for pt in 2m 4k; do
		n="sipi_${machine}_$pt"
		boot "$n" "$common caps=$IRQ_CAPS vcpus=2 smp=sipi selftest=smp pt=$pt" -smp 2 -M "$machine"
		what="$machine, pt=$pt, -smp 2"
		check "$what: the run completes (QEMU status 1) with DONE" \
			eval "rc_is $n 1 && grep -q ' DONE ' $tmp/$n.rec"
		check_log "$n" "$what: every vCPU checked in (one LOG record each)" \
			"^guest rt: cpu 1 up \(smp=sipi, apic id [0-9]+, idle: hlt\)"
		check_log "$n" "$what: both CPUs ran work, twice, and know their index" "^$st work ok cpus=2/2"
		check_log "$n" "$what: each start woke the halted AP with one WAKE IPI" "^$st wake ok wakeups=2/2"
		check_log "$n" "$what: all CPUs allocate and free at once, no block shared" "^$st alloc ok bad=0/0"
		check "$what: records from both CPUs at once, none damaged" \
			eval "has_log $n '^$st record from cpu 1\$' && has_log $n '^$st record from cpu 0\$' && grep -q 'corrupt=0 lost=0' $tmp/$n.rec"
		check_log "$n" "$what: 8 self-IPIs, each arrived once" "^$st self ok arrived=8/8"
		check_log "$n" "$what: PING to a halted AP: 8 PINGs there, 8 PONGs back" "^$st ping ok pongs=8/8"
		check_log "$n" "$what: PING to a spinning AP: 8 PONGs" "^$st ping-spin ok pongs=8/8"
		check_log "$n" "$what: a PING held at CPU 1 (interrupts off) survives CPU 0's interrupts" \
			"^$st cross ok held PING answered=1/1"
		check_log "$n" "$what: 8 timers, each fired once" "^$st timer ok fired=8/8"
		check_log "$n" "$what: 8 self-IPIs sent with interrupts off, each ended its bounded sti; hlt" \
			"^$st halt-self ok woken by the self-IPI=8/8"
		check_log "$n" "$what: a halt on an interrupt nobody sends ends by its backstop timer" \
			"^$st halt-lost ok ended by the backstop=1/1"
		check_log "$n" "$what: a never-EOI'd STORM blocks its class until EOI'd by hand" \
			"^$st storm ok in-service=1/1"
		check_log "$n" "$what: after two EOIs the pending STORM and SELF arrive" \
			"^$st storm ok after-eoi=2/2"
		check_log "$n" "$what: a flood of 10000 never-EOI'd IPIs: merged, CPU 0 goes on" \
			"^$st flood ok delivered=[0-9]+/10000"
		check_log "$n" "$what: no check failed, mechanism named" \
			"^$st done, failures=0 mech=(xAPIC|x2APIC) timer=(TSC-deadline|LAPIC one-shot)"
	done
done

# --- xAPIC forced where the CPU would offer x2APIC (apic=xapic)
boot xapic "$common caps=$IRQ_CAPS vcpus=2 smp=sipi selftest=smp apic=xapic" -smp 2
check_log xapic "apic=xapic: the xAPIC ran every check" "^$st done, failures=0 mech=xAPIC"

# --- more CPUs than vcpus=: the extra ones park, the run uses 2
boot extra "$common caps=$IRQ_CAPS vcpus=2 smp=sipi selftest=smp" -smp 4
check "-smp 4, vcpus=2: the run completes" rc_is extra 1
check_log extra "-smp 4, vcpus=2: two CPUs run work" "^$st work ok cpus=2/2"
check "-smp 4, vcpus=2: no third CPU checks in" eval "! has_log extra '^guest rt: cpu 2 up'"

# --- a vCPU that never comes up: reported, the run goes on with fewer
boot missing "$common caps=$IRQ_CAPS vcpus=3 smp=sipi selftest=smp" -smp 2
check "vcpus=3 on -smp 2: the run completes" eval "rc_is missing 1 && grep -q ' DONE ' $tmp/missing.rec"
check_log missing "vcpus=3 on -smp 2: a LOG record names the CPU that did not check in" \
	"^guest rt: smp: cpu 2 did not check in within [0-9]+ ms \(smp=sipi\): running on 2 of 3 vCPUs"
check_log missing "vcpus=3 on -smp 2: the note says 2 of 3" "cpus: 2 of 3 vCPUs"

# --- without HVB_CAP_IRQ: APs spin, no interrupt is touched
boot noirq "$common caps=0x20 vcpus=2 smp=sipi selftest=smp" -smp 2
check "no HVB_CAP_IRQ: the run completes" rc_is noirq 1
check_log noirq "no HVB_CAP_IRQ: the AP idles spinning" "^guest rt: cpu 1 up \(smp=sipi, idle: pause\)"
check_log noirq "no HVB_CAP_IRQ: work still runs on both" "^$st work ok cpus=2/2"
check_log noirq "no HVB_CAP_IRQ: interrupt checks skipped with the reason" \
	"^$st interrupts skipped: .*HVB_CAP_IRQ"

# --- micro/hlt-wake with interrupts: the LAPIC timer wakes sti; hlt
boot hlt "w=micro/hlt-wake tsc_khz=1000000 dev=serial goal_us=200 batches=3 quick=1 caps=0x40a0" -smp 1
check "micro/hlt-wake with HVB_CAP_IRQ|HLT: measured, woken by the LAPIC timer" \
	eval "rc_is hlt 1 && grep -q 'SAMPLE workload=micro/hlt-wake .*text=.*LAPIC timer' $tmp/hlt.rec"

# --- bad words: a clear verdict
boot badv "$common caps=$IRQ_CAPS vcpus=9" -smp 2
check "vcpus=9: HVB_EXIT_PANIC (status 7) with the reason" \
	eval "rc_is badv 7 && has_log badv 'vcpus= must be 1..8'"
boot badsmp "$common caps=$IRQ_CAPS vcpus=2 smp=bogus" -smp 2
check "smp=bogus: HVB_EXIT_PANIC (status 7) with the reason" \
	eval "rc_is badsmp 7 && has_log badsmp 'smp= must be direct, sipi or xen'"

tap_done
