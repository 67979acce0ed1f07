#!/usr/bin/env bash
# hvbench run --guest-mem: one guest RAM size for every VM runner. Bad
# values and conflicting (deprecated) variables are usage errors naming
# them; the size reaches kvm and qemu-kvm (meta runner.<r>.guest_mem_mib)
# and a working set that no longer fits is skipped with the reason, never
# failed or shrunk; the native runner is untouched by it.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh guestmem
fast=(--quick --reps 1 --batches 2 --goal-us 1000)

for bad in 8 4096 1G ""; do
	run bad --runner native "${fast[@]}" -w micro/rdtsc --guest-mem "$bad"
	check "--guest-mem '$bad' is a usage error (exit 2, got $rc)" [ "$rc" -eq 2 ]
	check "--guest-mem '$bad': the message says what to give" \
		grep -q "guest-mem '$bad': give guest RAM in MiB" "$tmp/bad.err"
done
HVB_KVM_MEM_MIB=512 HVB_GUEST_MEM_MIB=1024 run conflict -r native "${fast[@]}" -w micro/rdtsc
check "HVB_KVM_MEM_MIB and HVB_GUEST_MEM_MIB that disagree: usage error naming both" \
	sh -c "[ $rc -eq 2 ] && grep -q 'HVB_KVM_MEM_MIB=512 and HVB_GUEST_MEM_MIB=1024 disagree' '$tmp/conflict.err'"
HVB_QEMU_MEM=1G run oldqemu -r native "${fast[@]}" -w micro/rdtsc
check "HVB_QEMU_MEM is refused with what to give instead" \
	sh -c "[ $rc -eq 2 ] && grep -q 'HVB_QEMU_MEM=.1G. is no longer read: give --guest-mem' '$tmp/oldqemu.err'"

vms=
have kvm && vms=kvm
have qemu-kvm && vms=${vms:+$vms,}qemu-kvm
[ -n "$vms" ] || skip_rest "neither kvm nor qemu-kvm is usable here"

# 64 MiB: mem/chase-4MiB fits, mem/chase-32MiB (32 MiB + 1/8 + 32 MiB) does not.
run small --runner "native,$vms" "${fast[@]}" -w 'mem/chase-4MiB,mem/chase-32MiB' \
	--guest-mem 64
check "run --guest-mem 64 exits 0 (got $rc)" [ "$rc" -eq 0 ]
for r in ${vms//,/ }; do
	check "meta runner.$r.guest_mem_mib is 64" meta_has "$dir" "^runner\.$r\.guest_mem_mib,64$"
	check "$r: mem/chase-4MiB still measures in 64 MiB" has_ok "$dir" "$r" mem/chase-4MiB
	check "$r: mem/chase-32MiB is skipped for lack of memory, not failed" \
		row "$dir" ",$r,mem/chase-32MiB,.*,skipped,.*not enough free memory"
done
check "native: mem/chase-32MiB measures (--guest-mem is for guests only)" \
	has_ok "$dir" native mem/chase-32MiB

HVB_GUEST_MEM_MIB=96 run envmem --runner "$vms" "${fast[@]}" -w mem/chase-4MiB
check "HVB_GUEST_MEM_MIB=96 exits 0 (got $rc)" [ "$rc" -eq 0 ]
for r in ${vms//,/ }; do
	check "HVB_GUEST_MEM_MIB reaches $r's meta" meta_has "$dir" "^runner\.$r\.guest_mem_mib,96$"
done
tap_done
