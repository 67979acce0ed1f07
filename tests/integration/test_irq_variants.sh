#!/usr/bin/env bash
# kvm-unit-tests x86/vmexit.c's remaining variants as micro-benchmarks
# (issue 14): micro/tpr-read (mov_from_cr8), micro/ipi-self-hlt
# (self_ipi_sti_hlt), micro/ipi-self-tpr (self_ipi_tpr), micro/msr-write-gsbase
# (wr_kernel_gs_base) and micro/pause-loop (ple_round_robin's pause loop).
# Natively: ipi-self-hlt and pause-loop measured (native analogues), the rest
# skipped with the reason.  Under qemu-tcg (a faithful LAPIC and CR8) and
# kvm (here nested PVM: CR8 and MSRs are emulated through the gate), at 1
# and 2 vCPUs: every one measured, none failed (a failure is what the
# exactly-once count or the TPR's hold gives), the splits present, the note
# naming the mechanism.  kvm without an irqchip skips the interrupt ones
# naming HVB_CAP_IRQ and still measures the others.  A runner that is
# unavailable here is skipped visibly.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh irq-variants

list_workloads
grep -q 'micro/ipi-self-tpr' "$tmp/workloads" || skip_rest "micro/ipi-self-tpr is not in this build"

FIVE='micro/tpr-read,micro/ipi-self-hlt,micro/ipi-self-tpr,micro/msr-write-gsbase,micro/pause-loop'

# cells DIR RUNNER: each of FIVE measured in every repetition with its rows
# (req_ns.* and the split for the per-request ones, split <= the whole);
# nothing failed; the notes say what ran.
cells() {
	"$PY" - "$1/samples.csv" "$2" <<'PYEOF'
import csv, re, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["runner"] == sys.argv[2]]
failed = [r for r in rows if r["status"] == "failed"]
assert not failed, failed[0]
v = {(r["workload"], r["metric"], r["rep"]): float(r["value"]) for r in rows if r["status"] == "ok"}
note = {r["workload"]: r["note"] for r in rows if r["metric"] == "ns_per_op"}
want = {"micro/tpr-read": [], "micro/msr-write-gsbase": [], "micro/pause-loop": [],
        "micro/ipi-self-hlt": ["req_ns.p50", "req_ns.p99", "deliver_ns.p50", "deliver_ns.p99"],
        "micro/ipi-self-tpr": ["req_ns.p50", "req_ns.p99", "unmask_ns.p50", "unmask_ns.p99"]}
reps = sorted({r["rep"] for r in rows if r["rep"]})
assert reps, "no repetitions"
for w, metrics in want.items():
    for rep in reps:
        for m in ["ns_per_op"] + metrics:
            assert (w, m, rep) in v, (w, m, rep)
        for part in ("deliver_ns", "unmask_ns"):
            if part + ".p50" in metrics:
                assert v[(w, part + ".p50", rep)] <= v[(w, "req_ns.p50", rep)], (w, part, rep)
assert re.match(r"x2?APIC; mov from CR8 through the runtime's gate", note["micro/tpr-read"]), note
assert re.match(r"x2?APIC; self-IPI with interrupts off, then sti; hlt", note["micro/ipi-self-hlt"]), note
assert re.match(r"x2?APIC; TPR 15 \(CR8, gate\), self-IPI held, TPR 0 delivers it",
                note["micro/ipi-self-tpr"]), note
assert note["micro/msr-write-gsbase"].startswith("wrmsr IA32_KERNEL_GS_BASE"), note
assert note["micro/pause-loop"].startswith("ring-3 pause loop"), note
PYEOF
}

# figures DIR RUNNER LABEL: TAP comments, medians of the rows shown.
figures() {
	"$PY" - "$1/samples.csv" "$2" "$3" <<'PYEOF'
import csv, statistics, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["runner"] == sys.argv[2]]
ws = []
for r in rows:
    if r["workload"].startswith("micro/") and r["workload"] not in ws:
        ws.append(r["workload"])
for w in ws:
    got = {}
    for r in rows:
        if r["workload"] == w and r["status"] == "ok":
            got.setdefault(r["metric"], []).append(float(r["value"]))
    if "ns_per_op" not in got:
        r = [r for r in rows if r["workload"] == w][0]
        print(f"# {sys.argv[3]} {w}: {r['status']}: {r['note']}")
        continue
    shown = [m for m in ("ns_per_op", "req_ns.p50", "req_ns.p99", "deliver_ns.p50",
                         "unmask_ns.p50") if m in got]
    print(f"# {sys.argv[3]} {w}: " +
          ", ".join(f"{m} {statistics.median(got[m]):.0f}" for m in shown))
PYEOF
}

# --- native: the analogues, and the skips with their reasons
run native --runner native --workload "$FIVE,micro/ipi-self" --reps 2 --quick
check "native: the run exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || show native
check_valid "native: result directory is valid" "$dir" --runner native --list "$tmp/workloads"
check "native: ipi-self-hlt measured (tgkill, signal blocked, then sigsuspend)" \
	row "$dir" ',native,micro/ipi-self-hlt,ns_per_op,ns,lower,0,[0-9.e+]+,ok,"?native: signals \(tgkill\); tgkill to self with the signal blocked, then sigsuspend'
check "native: ipi-self-hlt has its delivery split" \
	row "$dir" ',native,micro/ipi-self-hlt,deliver_ns.p50,ns,lower,1,'
check "native: pause-loop measured" \
	row "$dir" ',native,micro/pause-loop,ns_per_op,ns,lower,1,[0-9.e+]+,ok,"?native: the same pause loop'
check "native: tpr-read skipped, no native analogue" \
	row "$dir" ',native,micro/tpr-read,,,,,,skipped,no native analogue: '
check "native: ipi-self-tpr skipped, no TPR in a process" \
	row "$dir" ',native,micro/ipi-self-tpr,,,,,,skipped,no native analogue: a process has no task priority'
check "native: msr-write-gsbase skipped, ring 0 only" \
	row "$dir" ',native,micro/msr-write-gsbase,,,,,,skipped,MSR access needs ring 0'
check "native: nothing failed" bash -c "! grep -q ',failed,' '$dir/samples.csv'"
figures "$dir" native native

# --- the guest: qemu-tcg and kvm, one and two vCPUs
[ -f "$GUEST" ] || skip_rest "no guest image ($GUEST)"
for runner in qemu-tcg kvm; do
	if ! have "$runner"; then
		skip "$runner unavailable here: $(runner_why "$runner")"
		continue
	fi
	for n in 1 2; do
		if [ "$n" -gt "$(nproc)" ]; then
			skip "$runner --vcpus $n: more vCPUs than host CPUs"
			continue
		fi
		run "$runner-$n" --runner "$runner" --workload "$FIVE,micro/tpr-write,micro/msr-write" \
			--vcpus "$n" --reps 2 --quick --timeout 300
		check "$runner --vcpus $n: the run exits 0" [ "$rc" -eq 0 ]
		[ "$rc" -eq 0 ] || { show "$runner-$n"; continue; }
		check_valid "$runner --vcpus $n: result directory is valid" "$dir" --runner "$runner" \
			--list "$tmp/workloads"
		check "$runner --vcpus $n: the five measured, counts exact (none failed), splits, notes" \
			cells "$dir" "$runner"
		figures "$dir" "$runner" "$runner --vcpus $n"
	done
done

# kvm without an irqchip: no interrupt delivery, so the interrupt variants
# and the TPR ones are skipped naming HVB_CAP_IRQ; the MSR and pause
# operations need none and are measured.
if have kvm; then
	HVB_KVM_IRQCHIP=none run none --runner kvm --workload "$FIVE" --reps 1 --quick
	check "kvm, no irqchip: the run exits 0" [ "$rc" -eq 0 ]
	for w in micro/tpr-read micro/ipi-self-hlt micro/ipi-self-tpr; do
		check "... $w skipped for want of HVB_CAP_IRQ" \
			row "$dir" ",kvm,$w,,,,,,skipped,\"?needs interrupt delivery \(HVB_CAP_IRQ\)"
	done
	for w in micro/msr-write-gsbase micro/pause-loop; do
		check "... $w measured (no interrupt needed)" has_ok "$dir" kvm "$w"
	done
else
	skip "kvm unavailable here: $(runner_why kvm)"
fi
tap_done
