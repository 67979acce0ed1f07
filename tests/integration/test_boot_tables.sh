#!/usr/bin/env bash
# pt=4k under the kvm runner: the core builds the guest's 4 KiB page tables
# before entry (hv/paging.c, pt_root=) and the guest uses them. Every boot
# of a --page-size 4k run says HELLO; the guest still reports 4 KiB tables
# and the same page notes as a guest that built its own (the memory
# workloads run on the same mappings); each boot logs where its boot_ms
# went, with the tables step in it, and the later boots map the template
# the first left. The guest refuses tables it cannot trust, naming why
# (hvb-vmm passes pt_root= words without building anything).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh boottables
need_runner kvm

run k4 --runner kvm --workload 'micro/first-touch,mem/chase-4MiB' --quick --reps 3 \
	--batches 2 --goal-us 1000 --page-size 4k
check "kvm --page-size 4k: the run completes (exit $rc)" [ "$rc" -eq 0 ]
s=$dir/samples.csv
check "three boots, each with an ok boot_ms row" \
	[ "$(grep -c ',kvm,boot,boot_ms,ms,lower,[0-9]*,[0-9.e+-]*,ok,' "$s")" -eq 3 ]
check "the guest reports 4 KiB page tables on every boot" \
	[ "$(grep -c 'guest rt: xcr0=[0-9a-fx]* pages=4k' "$dir/log.txt")" -eq 3 ]
check "mem/chase-4MiB's note names the guest's 4 KiB tables" \
	grep -q ',kvm,mem/chase-4MiB,.*guest page tables: 4 KiB pages (pt=4k)' "$s"
check "micro/first-touch is measured (ok rows) with its usual note" \
	grep -q ',kvm,micro/first-touch,ns_per_op,ns,lower,0,[0-9.e+-]*,ok,EPT/NPT violation per 4 KiB guest page' "$s"
check "every boot logs its phases, the page tables among them" \
	[ "$(grep -c 'boot phases (ms, boot_ms [0-9.]*):.* paging [0-9.]* ' "$dir/log.txt")" -eq 3 ]
# The phases add up to boot_ms (the probes and the prefault are shown but
# not counted).
sums=$(boot_phase_sums "$dir/log.txt")
adds_up() { [ -n "$sums" ] && ! grep -q bad <<<"$sums"; }
check "the phases in boot_ms add up to it ($(echo $sums))" adds_up
paging=($(sed -n 's/.* paging \([0-9.]*\) .*/\1/p' "$dir/log.txt"))
check "later boots map the template: paging ${paging[2]:-?} ms < 0.5 ms" \
	awk -v p="${paging[2]:-9}" 'BEGIN { exit !(p < 0.5) }'

# 2m: no tables built, nothing in the paging step.
run k2 --runner kvm --workload mem/chase-4MiB --quick --reps 1 --batches 2 --goal-us 1000 \
	--page-size 2m
check "kvm --page-size 2m: the run completes (exit $rc)" [ "$rc" -eq 0 ]
check "2m: the guest reports 2 MiB tables" grep -q 'pages=2M' "$dir/log.txt"
p2=$(sed -n 's/.* paging \([0-9.]*\) .*/\1/p' "$dir/log.txt")
check "2m: the core built no tables (paging ${p2:-?} ms < 0.02)" \
	awk -v p="${p2:-9}" 'BEGIN { exit !(p < 0.02) }'

# Tables the guest must refuse (hvb-vmm builds none: the words lie).
vmm() { timeout 30 "$O/hvb-vmm" "$GUEST" w=cpu/crc32c tsc_khz=1000000 dev=hvb "$@" 2>&1; }
out=$(vmm pt=4k pt_root=0x200000)
check "pt_root= in RAM is refused with the reason" \
	grep -q 'LOG.*pt_root= is not a page of a reserved memory-map range below 4 GiB' <<<"$out"
out=$(vmm pt=4k pt_root=0x1000)
check "pt_root= on a page that holds no tables is refused (upper levels)" \
	grep -q 'LOG.*pt_root= tables leave RAM without a page table' <<<"$out"
out=$(vmm pt_root=0x200000)
check "pt_root= without pt=4k is refused" \
	grep -q 'LOG.*pt_root= (host-built 4 KiB page tables) without pt=4k' <<<"$out"
check "a refusal is a PANIC exit (code 3), not a fault" grep -q 'shut down with code 3' <<<"$out"
tap_done
