#!/usr/bin/env bash
# The interrupt micro-benchmarks (issue 14) under the native runner, end to
# end: `hvbench run --runner native --workload 'micro/ipi,micro/ipi-self,
# micro/ipi-halted,micro/timer*' --vcpus 2` (the vmexit.c variants:
# test_irq_variants.sh) measures each with its native analogue (signals between the
# pinned threads, a POSIX timer), every repetition has its per-operation
# distribution (req_ns.*) and, for the IPIs, the delivery split
# (deliver_ns.*); the note names the mechanism; the counts were checked
# (a mismatch fails the cell: none failed); with one CPU the IPI round trips
# are skipped saying why, and the operations without a native analogue are
# skipped with that reason.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh irq-native

list_workloads
grep -q 'micro/ipi-self' "$tmp/workloads" || skip_rest "micro/ipi-self is not in this build"
[ "$(nproc)" -ge 2 ] || skip_rest "one host CPU: no second thread to pin apart"

run r --runner native --workload 'micro/ipi,micro/ipi-self,micro/ipi-halted,micro/timer*' --vcpus 2 --reps 2 --quick
check "native --vcpus 2 run exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || show r
check_valid "result directory is valid" "$dir" --runner native --list "$tmp/workloads"

# Every cell ok, in both repetitions, with its rows; the splits where the
# workload has the stamps; p50 <= p99; the split no larger than the whole.
check "each cell: its rows in both repetitions, splits <= the whole" "$PY" - "$dir/samples.csv" <<'PYEOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
want = {
    "micro/ipi-self": ["req_ns.p50", "req_ns.p99", "deliver_ns.p50", "deliver_ns.p99"],
    "micro/ipi": ["req_ns.p50", "req_ns.p99", "deliver_ns.p50", "deliver_ns.p99"],
    "micro/ipi-halted": ["req_ns.p50", "req_ns.p99", "deliver_ns.p50", "deliver_ns.p99"],
    "micro/timer-latency": ["req_ns.p50", "req_ns.p99"],
    "micro/timer-arm": ["ns_per_op.p50", "ns_per_op.p99"],
}
bad = [r for r in rows if r["runner"] == "native" and r["status"] != "ok"]
assert not bad, bad
v = {(r["workload"], r["metric"], r["rep"]): float(r["value"]) for r in rows}
for w, metrics in want.items():
    for rep in ("0", "1"):
        for m in ["ns_per_op"] + metrics:
            assert (w, m, rep) in v, (w, m, rep)
            assert v[(w, m, rep)] >= 0, (w, m, rep)
        if "req_ns.p50" in metrics:
            assert v[(w, "req_ns.p50", rep)] <= v[(w, "req_ns.p99", rep)], (w, rep)
        if "deliver_ns.p50" in metrics:
            assert v[(w, "deliver_ns.p50", rep)] <= v[(w, "req_ns.p50", rep)], (w, rep)
            assert v[(w, "deliver_ns.p99", rep)] <= v[(w, "req_ns.p99", rep)], (w, rep)
# Each timer-latency operation waits for its deadline: ns_per_op is at least
# the offset its note gives (req_ns starts at the deadline).
import re
for r in rows:
    if r["workload"] == "micro/timer-latency" and r["metric"] == "ns_per_op":
        ahead_us = int(re.search(r"deadline arm\+(\d+) us", r["note"]).group(1))
        assert float(r["value"]) >= ahead_us * 1000, r
PYEOF
check "notes: IPIs by signals between the threads" \
	row "$dir" ',native,micro/ipi,ns_per_op,ns,lower,0,[0-9.e+]+,ok,"?native: signals \(tgkill\); CPU 1 spinning'
check "notes: halted target in sigsuspend" \
	row "$dir" ',native,micro/ipi-halted,ns_per_op,ns,lower,0,[0-9.e+]+,ok,"?native: signals \(tgkill\); CPU 1 in sigsuspend'
check "notes: the timer is a POSIX timer, with its deadline offset" \
	row "$dir" ',native,micro/timer-latency,ns_per_op,ns,lower,0,[0-9.e+]+,ok,"?native: signals \(tgkill\); POSIX timer, SIGEV_THREAD_ID; deadline arm\+[0-9]+ us'
check "req_ns notes count the requests they stand on" "$PY" - "$dir/samples.csv" <<'PYEOF'
import csv, re, sys
for r in csv.DictReader(open(sys.argv[1])):
    if r["metric"] == "req_ns.p50":
        n = int(re.match(r"(\d+) request times", r["note"]).group(1))
        assert n >= 1, r
PYEOF
check "meta: the placement of the two threads" grep -qE '^cpus,"?[0-9]+,[0-9]+"?$' "$dir/meta.csv"

# --- one CPU: the IPI round trips need a second one, and say so
run one --runner native --workload 'micro/ipi,micro/ipi-halted,micro/ipi-self' --reps 1 --quick
check "--vcpus 1 run exits 0" [ "$rc" -eq 0 ]
for w in micro/ipi micro/ipi-halted; do
	check "$w on one CPU: skipped, saying to use --vcpus 2" \
		row "$dir" ",native,$w,,,,,,skipped,needs a second CPU to send to: run with --vcpus 2"
done
check "micro/ipi-self needs no second CPU" has_ok "$dir" native micro/ipi-self

# --- no native analogue: skipped with that reason, never measured
run none --runner native --workload 'micro/apic-read,micro/eoi,micro/tpr-write,micro/virq-inject,micro/io-kick' --reps 1 --quick
check "the no-analogue run exits 0" [ "$rc" -eq 0 ]
for w in micro/apic-read micro/eoi micro/tpr-write micro/virq-inject micro/io-kick; do
	check "$w: skipped, no native analogue" row "$dir" ",native,$w,,,,,,skipped,no native analogue: "
done
nothing_ok() { ! row "$dir" ',ok,'; }
check "... and nothing measured" nothing_ok

# Figures for the record (TAP comments).
"$PY" - "$(run_dir r)/samples.csv" <<'PYEOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for w in ("micro/ipi-self", "micro/ipi", "micro/ipi-halted", "micro/timer-arm", "micro/timer-latency"):
    def med(m):
        v = [float(r["value"]) for r in rows if r["workload"] == w and r["metric"] == m]
        return f"{statistics.median(v):.0f}" if v else "-"
    print(f"# {w}: ns_per_op {med('ns_per_op')}, req_ns p50 {med('req_ns.p50')} p99 "
          f"{med('req_ns.p99')}, deliver_ns p50 {med('deliver_ns.p50')}")
PYEOF
tap_done
