#!/usr/bin/env bash
# The guest image under QEMU TCG (full emulation: ring-0 paths run as on
# hardware): PVH boot, records over the serial console decoded with the
# project's codec, exit codes through isa-debug-exit, and deliberate faults
# reported as FAULT records instead of a triple fault.
#
# QEMU's isa-debug-exit makes QEMU exit with (code << 1) | 1: OK = 1,
# BADCMD = 3, FAULT = 5, PANIC = 7 (abi.h enum hvb_exit_code).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
O=${O:-build}
. tests/lib/qemu_guest.sh
tmp=$(mktemp -d /tmp/hvb-guest-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

need_qemu
need_built

# boot NAME CMDLINE [qemu args...]: serial capture in $tmp/NAME.out,
# decoded records in $tmp/NAME.rec, QEMU's exit status in $tmp/NAME.rc.
boot() {
	local name=$1 cmdline=$2
	shift 2
	timeout 60 qemu-system-x86_64 -nodefaults -accel tcg -cpu max -m 256M -display none \
		-no-reboot -monitor none -kernel "$IMAGE" -append "$cmdline" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -serial "file:$tmp/$name.out" "$@" \
		>"$tmp/$name.qemu" 2>&1
	echo $? >"$tmp/$name.rc"
	"$DUMP" "$tmp/$name.out" >"$tmp/$name.rec"
	echo $? >"$tmp/$name.dumprc"
}

rc_is() { [ "$(cat "$tmp/$1.rc")" = "$2" ]; }
rec() { grep -E "^[0-9]+ $2 " "$tmp/$1.rec"; }
first_type() { awk '$2 != "LOG" { print $2; exit }' "$tmp/$1.rec"; }
last_type() { grep -v '^#' "$tmp/$1.rec" | awk 'END { print $2 }'; }
show() { sed 's/^/#   /' "$tmp/$1.rec" "$tmp/$1.qemu" | cut -c1-200 | head -20; }

common="tsc_khz=1000000 dev=serial goal_us=200 batches=3 quick=1"

# --- a normal run: two workloads, every record arrives and decodes
boot run "w=micro/syscall,micro/rdtsc $common"
if rc_is run 1; then ok "a run exits with HVB_EXIT_OK (QEMU status 1)"; else
	not_ok "a run exits with HVB_EXIT_OK (QEMU status 1)" "status $(cat "$tmp/run.rc")"
	show run
fi
check "every record line decodes (no corrupt or lost record)" [ "$(cat "$tmp/run.dumprc")" = 0 ]
check "HELLO comes first (after LOG records)" [ "$(first_type run)" = HELLO ]
check "the runtime logs its set-up (XCR0 with SSE and AVX under -cpu max)" \
	eval "rec run LOG | grep -qE 'text=guest rt: xcr0=0x[0-9a-f]*[67] pages=2M free=[0-9]+ ring0_cycles=[0-9]+ hc=vmcall'"
check "DONE comes last" [ "$(last_type run)" = DONE ]
# HELLO u64[0] = TSC at the PVH entry, u64[1] = TSC at the first workload instruction.
hello_ok() {
	local u
	u=$(rec run HELLO | sed -n 's/.* u64=\([^ ]*\) .*/\1/p' | tr ',' ' ')
	set -- $u
	[ $# -eq 4 ] && [ $(($1)) -gt 0 ] && [ $(($2)) -gt $(($1)) ]
}
check "HELLO: entry TSC before first-workload TSC" hello_ok
for w in micro/syscall micro/rdtsc; do
	check "$w: ns_per_op sample" grep -qE "SAMPLE workload=$w metric=ns_per_op unit=ns .* value=[0-9]" "$tmp/run.rec"
done
check "samples carry the guest note of micro/syscall" \
	grep -q 'SAMPLE workload=micro/syscall .*text=guest ring 3' "$tmp/run.rec"

# --- 4 KiB page tables (pt=4k): page tables rebuilt in ring 3, cr3 in ring 0
boot pt4k "w=micro/rdtsc pt=4k $common"
check "pt=4k: the run completes" rc_is pt4k 1
check "pt=4k: DONE arrives" [ "$(last_type pt4k)" = DONE ]

# --- RAM above 4 GiB (QEMU puts 2 of 5 GiB there): fresh pages come from the
# top of RAM, so micro/first-touch writes above 4 GiB, with either page size
for pt in 2m 4k; do
	boot "high_$pt" "w=micro/first-touch $common caps=0x100 pt=$pt" -m 5G
	if rc_is "high_$pt" 1 && rec "high_$pt" RELEASE | grep -q 'u64=0x1[0-9a-f]\{8\},' &&
		grep -q 'SAMPLE workload=micro/first-touch metric=ns_per_op ' "$tmp/high_$pt.rec"; then
		ok "pt=$pt, 5 GiB: first touches above 4 GiB, RELEASE records name them"
	else
		not_ok "pt=$pt, 5 GiB: first touches above 4 GiB, RELEASE records name them"
		show "high_$pt"
	fi
done

# --- capabilities: a workload whose instruction the host did not grant is skipped
boot caps "w=micro/cpuid,micro/pio-out-user $common caps=0"
check "caps=0: micro/cpuid skipped, never executed" \
	grep -q 'STATUS workload=micro/cpuid .*status=1 ' "$tmp/caps.rec"
check "caps=0: micro/pio-out-user skipped" \
	grep -q 'STATUS workload=micro/pio-out-user .*status=1 ' "$tmp/caps.rec"
boot cpuid "w=micro/cpuid $common caps=0x20"
check "caps=CPUID: micro/cpuid measured under TCG" \
	grep -q 'SAMPLE workload=micro/cpuid metric=ns_per_op ' "$tmp/cpuid.rec"

# --- bad input: a clear verdict, not a hang
boot badcmd "w=micro/rdtsc dev=serial"
check "missing tsc_khz: HVB_EXIT_BADCMD (status 3) with a LOG record" \
	eval 'rc_is badcmd 3 && rec badcmd LOG | grep -q "bad command line"'
boot baddev "w=micro/rdtsc tsc_khz=1000000 dev=nosuch"
check "unknown dev=: HVB_EXIT_PANIC (status 7) with a reason" \
	eval 'rc_is baddev 7 && rec baddev LOG | grep -q "dev= must be"'

# --- deliberate faults: FAULT record (vector, error, rip, cr2), exit FAULT
fault_case() {
	local word=$1 vector=$2 pattern=$3 name=fault_$1
	boot "$name" "w=micro/rdtsc $common fault=$word"
	if rc_is "$name" 5 && rec "$name" FAULT | grep -qE "u64=$vector,.*text=.*$pattern"; then
		ok "fault=$word: FAULT record, vector $vector, exit status 5"
	else
		not_ok "fault=$word: FAULT record, vector $vector, exit status 5"
		show "$name"
	fi
}
fault_case ud 0x6 "#UD in ring 3"
fault_case pf 0xe "#PF in ring 3"
fault_case null 0xe "#PF in ring 3"
fault_case gp 0xd "#GP in ring 3"
fault_case de 0 "#DE in ring 3"
fault_case ring0 0x6 "#UD in ring 0"
check "fault=pf: cr2 is the faulting address" \
	eval "rec fault_pf FAULT | grep -q 'u64=0xe,0x4,0x[0-9a-f]*,0x10000000000 '"
check "fault=null: cr2 is 0 (page 0 unmapped)" \
	eval "rec fault_null FAULT | grep -q 'u64=0xe,0x4,0x[0-9a-f]*,0 '"

tap_done
