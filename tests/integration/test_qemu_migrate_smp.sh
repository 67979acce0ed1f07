#!/usr/bin/env bash
# Live migration of a 2-vCPU guest under qemu-kvm (runners/qemu/migrate.c,
# issue 18): QEMU carries every vCPU itself; ours is the guest (a writer on
# each vCPU, every page checked) and the destination's placement.  Checks
# that migrate/dirty with --vcpus 2 converges with both slices written and
# no page lost, and that once the source quit the destination's vCPU 1
# thread is pinned where the source's was.  Skips visibly without QEMU, a
# usable /dev/kvm or the guest image.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh qemumigsmp

need_qemu_guest
need_runner qemu-kvm
[ "$(nproc)" -ge 2 ] || skip_rest "fewer than 2 host CPUs for --vcpus 2"
export TMPDIR=$tmp/t
mkdir -p "$TMPDIR"

# writes DIR K: the writes the slice of vCPU K counted (empty: no line).
writes() {
	sed -n "s/.*slice of vCPU $2: pages [0-9]*+[0-9]*, \([0-9]*\) writes.*/\1/p" \
		"$1/log.txt" 2>/dev/null | tail -1
}
# The allowed CPUs of the "CPU 1/KVM" thread of the one QEMU left, the
# destination (-incoming), once the source quit.
dst_vcpu1_cpus() {
	local p t
	p=$(run_procs mv 'qemu-system')
	[ "$(echo "$p" | wc -w)" = 1 ] && grep -q -- '-incoming' "/proc/$p/cmdline" 2>/dev/null || return 1
	for t in /proc/"$p"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = "CPU 1/KVM" ] &&
			sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$t/status"
	done
}
dst_pinned() { [ -n "$(dst_vcpu1_cpus)" ] && [ "$(dst_vcpu1_cpus)" != "$(cat "$tmp/allcpus")" ]; }
sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status >"$tmp/allcpus"

HVB_QEMU_MIGRATE_AT_MS=300 HVB_QEMU_MIGRATE_DOWNTIME_MS=30 start mv --runner qemu-kvm --vcpus 2 \
	--workload migrate/dirty --reps 1 --batches 30 --param dirty.rate=64 --param dirty.wss_mib=16
if wait_until 60 dst_pinned; then
	got=$(dst_vcpu1_cpus)
else
	got=
fi
wait "$bg"; rc=$?; bg=; dir=$(run_dir mv)
check "2 vCPUs under qemu-kvm, migrating: the run exits 0" [ "$rc" -eq 0 ]
check "it converged" grep -qE ',qemu-kvm,migrate/dirty,migrate\.converged,bool,higher,0,1,ok,' "$dir/samples.csv"
check "both slices verified on the destination: 0 lost pages" \
	grep -qE ',qemu-kvm,migrate/dirty,lost_pages,pages,lower,0,0,ok,' "$dir/samples.csv"
for v in 0 1; do
	w=$(writes "$dir" $v)
	check "vCPU $v wrote its slice (${w:-no line})" [ "${w:-0}" -gt 0 ]
done
pin=$(sed -n 's/.*vCPU 1 thread [0-9]* pinned to cpu \([0-9]*\).*/\1/p' "$dir/log.txt" | head -1)
check "the destination's vCPU 1 pinned where the source's was (cpu ${pin:-?}, got ${got:-none})" \
	[ -n "$pin" -a "$got" = "$pin" ]
check "no QEMU left" [ -z "$(run_procs mv qemu-system)" ]
tap_done
