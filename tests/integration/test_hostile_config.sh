#!/usr/bin/env bash
# Hostile configuration and environment, each once accepted or mishandled:
# hvbench as PID 1 (a container) failed every native cell; --cpu beyond the
# CPUs was accepted; a bad HVB_KVM_MEM_MIB was silently 2048; qemu-* booted
# an image of another ABI or another architecture; an image replaced mid-run
# booted in later jobs under the first hash; a directory as the image read
# as "0 bytes".
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh hostile
GUEST=${O:-build}/guest/hvbench-guest.elf

# --- PID 1: the native child must not take its parent for dead
if unshare -p -f --mount-proc true 2>/dev/null; then
	unshare -p -f --mount-proc "$HVBENCH" run -r native -w 'micro/rdtsc,cpu/crc32c' --quick \
		--reps 1 --out "$tmp/pid1" >"$tmp/pid1.out" 2>&1
	rc=$?
	dir=$(run_dir pid1)
	check "hvbench as PID 1 (unshare -p): the run exits 0" [ "$rc" -eq 0 ]
	check "... and its native cells have samples" has_ok "$dir" native micro/rdtsc
else
	skip "no PID namespace here (unshare -p): cannot run hvbench as PID 1"
fi

# --- --cpu beyond the CPUs this process may use
run cpu -r native -w micro/rdtsc --quick --reps 1 --cpu 4095
check "--cpu 4095 on this host: usage error (exit 2)" [ "$rc" -eq 2 ]
check "... naming the option" err_has cpu '--cpu 4095: no such CPU'
check "... and no run directory" [ ! -d "$tmp/cpu" ]

# --- settings from the environment are parsed strictly (set but empty is
# an error too, as for HVB_SECCOMP)
for v in abc 0 15 999999 -5 ''; do
	HVB_KVM_MEM_MIB=$v run mem -r native -w micro/rdtsc --quick --reps 1
	check "HVB_KVM_MEM_MIB='$v': usage error naming it" \
		sh -c "[ $rc -eq 2 ] && grep -q \"HVB_KVM_MEM_MIB='$v'\" '$tmp/mem.err'"
	rm -rf "$tmp/mem"
done

if [ ! -r "$GUEST" ]; then
	skip "no guest image ($GUEST): image checks"
	tap_done
	exit
fi

# --- every runner checks the image the same way: another ABI, another arch
"$PY" - "$GUEST" "$tmp" <<'PYEOF'
import sys
img = open(sys.argv[1], "rb").read()
note = b"hvbench\x00\x01\x00\x00\x00"
assert img.count(note) == 1
open(sys.argv[2] + "/abi2.elf", "wb").write(img.replace(note, b"hvbench\x00\x02\x00\x00\x00"))
i386 = bytearray(img)
i386[18:20] = (3).to_bytes(2, "little")  # e_machine = EM_386
open(sys.argv[2] + "/i386.elf", "wb").write(i386)
PYEOF
for bad in abi2 i386; do
	for r in qemu-tcg kvm; do
		if ! have "$r"; then
			skip "$r with a $bad image: $(runner_why "$r")"
			continue
		fi
		run "img-$r-$bad" -r "$r" -w micro/rdtsc --quick --reps 1 --image "$tmp/$bad.elf"
		check "$r refuses an image of $bad (exit 2, 'not usable')" \
			sh -c "[ $rc -eq 2 ] && grep -q 'is not usable' '$tmp/img-$r-$bad.err'"
	done
done
mkdir -p "$tmp/imgdir"
HVB_GUEST_IMAGE=$tmp/imgdir "$HVBENCH" list >"$tmp/dirlist" 2>&1
check "a directory as the image: runners say it is a directory" grep -q 'is a directory, not an image file' "$tmp/dirlist"

# --- the image is read and hashed once: replacing it mid-run changes nothing
if have kvm; then
	cp "$GUEST" "$tmp/swap.elf"
	sha=$(sha256sum "$tmp/swap.elf" | cut -d' ' -f1)
	start swap -r kvm -w micro/rdtsc --quick --reps 3 --image "$tmp/swap.elf"
	replaced() { err_has swap 'rep 1/3  kvm ' && head -c 4096 /dev/urandom >"$tmp/swap.elf"; }
	wait_until 120 replaced
	wait $bg
	rc=$?
	dir=$(run_dir swap)
	check "an image replaced after the first job: the run still exits 0" [ "$rc" -eq 0 ]
	check "... every repetition booted (3 boot rows ok)" \
		[ "$(grep -c ',kvm,boot,boot_ms,ms,lower,[0-9],[0-9.e+-]*,ok,' "$dir/samples.csv")" -eq 3 ]
	check "... and meta has the hash of what booted" meta_has "$dir" "^runner.kvm.image_sha256,$sha\$"
else
	skip "kvm: $(runner_why kvm)"
fi
tap_done
