#!/usr/bin/env bash
# The stand-alone tools refuse bad arguments with a message naming the
# option (hvb-vmm once took -t nan, -t 1e300 and -m 4abc), and a file they
# cannot read is an error, not an empty success (hvb-console-dump DIR
# exited 0).  Nothing here needs /dev/kvm: every case fails before a VM.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
O=${O:-build}
VMM=$O/hvb-vmm
DUMP=$O/tests/guest/hvb-console-dump
tmp=$(mktemp -d /tmp/hvb-tools-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

refuses() { # DESC PATTERN CMD...: exit 2 and stderr matches PATTERN
	local desc=$1 pat=$2 rc
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -eq 2 ] && grep -q -- "$pat" "$tmp/err"; then
		ok "$desc"
	else
		not_ok "$desc" "rc=$rc: $(head -c 300 "$tmp/err")"
	fi
}

for t in nan inf 1e300 -1 0 abc 5s ''; do
	refuses "hvb-vmm -t '$t' is refused, naming -t" "-t '$t'" "$VMM" -t "$t" /nonexistent.elf
done
for m in 4abc 0x10 1 99999 -5 ''; do
	refuses "hvb-vmm -m '$m' is refused, naming -m" "-m '$m'" "$VMM" -m "$m" /nonexistent.elf
done
for c in 0 9 2x -1 ''; do
	refuses "hvb-vmm -c '$c' is refused, naming -c" "-c '$c'" "$VMM" -c "$c" /nonexistent.elf
done
BOOT=$O/hv-bare-boot
for a in "0|0" "--help|--help" "5x|5x" "5 1g|1g" "5 4k 8|8" "5 4k 4096|4096" "5 4k 64 -1|-1"; do
	bad=${a#*|} a=${a%|*}
	# shellcheck disable=SC2086 # the words are the arguments
	refuses "hv-bare-boot $a is refused, naming '$bad'" "'$bad' is not valid there" "$BOOT" $a
done
# hv-bare-exit shares hv-bare-boot's parser (hv/bench/bench_args.c): a
# "--help" read as 0 once wrapped its unrolled loop to 4 billion rounds.
EXIT=$O/hv-bare-exit
for a in "0|exits-per-round '0'" "--help|exits-per-round '--help'" \
	"0x10|exits-per-round '0x10'" "100000001|exits-per-round '100000001'" \
	"5 0|rounds '0'" "5 5 -1|cpu '-1'" "5 5 4096|cpu '4096'"; do
	bad=${a#*|} a=${a%|*}
	# shellcheck disable=SC2086 # the words are the arguments
	refuses "hv-bare-exit $a is refused, naming $bad" "$bad is not valid there: give a whole number" \
		"$EXIT" $a
done
refuses "hv-bare-exit ' 5' (a blank first) is refused" "' 5' is not valid there" "$EXIT" " 5"
refuses "hv-bare-boot names the argument and its range" \
	"guest-mem '8' is not valid there: give a whole number from 16 to 3072" "$BOOT" 5 4k 8
# A pinned tool refuses a CPU another run holds (probes/cpulock.h), before
# any VM: held here by flock(1), which writes nothing into the lock file.
export HVB_LOCK_DIR=$tmp/locks
mkdir -p "$HVB_LOCK_DIR"
flock "$HVB_LOCK_DIR/cpu0.lock" sleep 60 &
holder=$!
wait_until 30 sh -c "! flock -n '$HVB_LOCK_DIR/cpu0.lock' true"
refuses "hv-bare-exit on a held CPU exits 2, naming it" "CPU 0 is held by pid" "$EXIT" 100 1 0
if [ -f "$O/guest/hvbench-guest.elf" ]; then
	refuses "hv-bare-boot on a held CPU exits 2, naming it" "CPU 0 is held by pid" \
		"$BOOT" 1 4k 64 0
else
	skip "no guest image ($O/guest/hvbench-guest.elf): hv-bare-boot stops before its lock"
fi
kill "$holder"
wait "$holder" 2>/dev/null
refuses "hvb-console-dump DIR fails, saying it is a directory" "Is a directory" "$DUMP" "$tmp"
printf '' >"$tmp/empty"
"$DUMP" "$tmp/empty" >/dev/null 2>&1
check "hvb-console-dump of an empty file succeeds (nothing to decode)" [ $? -eq 0 ]
tap_done
