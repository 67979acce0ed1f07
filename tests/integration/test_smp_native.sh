#!/usr/bin/env bash
# hvbench run --vcpus with the native runner, end to end: an smp workload
# gets its <metric>.smp2 rows, the placement is in meta (vcpus, cpus,
# overcommit) and in the cells' notes, and bad --vcpus / --cpus are usage
# errors that say what to do.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh smp-native

list_workloads
grep -q 'mem/stream-copy' "$tmp/workloads" || skip_rest "mem/stream-copy is not in this build"
ncpu=$(nproc)

# --- two workers: the smp rows beside the one-CPU ones
run r --runner native --workload mem/stream-copy --vcpus 2 --quick
check "--vcpus 2 run exits 0" [ "$rc" -eq 0 ]
check_valid "result directory is valid" "$dir" --runner native --list "$tmp/workloads"
for m in bandwidth bandwidth.smp2 bandwidth.smp2.per_cpu bandwidth.smp2.cpu0 bandwidth.smp2.cpu1; do
	check "$m row, every repetition" \
		[ "$(grep -cE ",native,mem/stream-copy,$m,MB/s,higher,[01],[0-9.e+]+,ok," "$dir/samples.csv")" -eq 2 ]
done
check "meta: vcpus 2" grep -qx 'vcpus,2' "$dir/meta.csv"
check "meta: cpus, one per vCPU" grep -qE '^cpus,"?[0-9]+,[0-9]+"?$' "$dir/meta.csv"
if [ "$ncpu" -ge 2 ]; then
	check "meta: not overcommitted on $ncpu CPUs" grep -qx 'overcommit,no' "$dir/meta.csv"
fi
check "the smp note says where the threads ran" row "$dir" 'bandwidth\.smp2,.*native: 2 threads on host CPUs [0-9]+,[0-9]+ \(ran on '
# per_cpu is the aggregate's half, in every repetition
check "per_cpu = smp2 / 2" "$PY" - "$dir/samples.csv" <<'PYEOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
v = {(r["metric"], r["rep"]): float(r["value"]) for r in rows
     if r["workload"] == "mem/stream-copy" and r["status"] == "ok"}
for rep in ("0", "1"):
    agg, per = v[("bandwidth.smp2", rep)], v[("bandwidth.smp2.per_cpu", rep)]
    assert abs(agg / 2 - per) <= 1e-9 * agg, (agg, per)
PYEOF

# --- a workload without smp keeps its rows and gets none of smp
run one --runner native --workload micro/rdtsc --vcpus 2 --quick
check "micro/rdtsc under --vcpus 2: no smp rows" [ "$rc" -eq 0 ] && ! row "$dir" 'smp2'

# --- more vCPUs than host CPUs: allowed, recorded
over=$((ncpu + 1))
if [ "$over" -le 8 ]; then
	run over --runner native --workload cpu/crc32c --vcpus "$over" --quick --reps 1
	check "--vcpus $over on $ncpu CPUs runs" [ "$rc" -eq 0 ]
	check "meta: overcommit says so" grep -qE "^overcommit,yes: $over vCPUs on $ncpu host CPU" "$dir/meta.csv"
	check "bandwidth.smp$over rows" row "$dir" ",cpu/crc32c,bandwidth\.smp$over,MB/s,"
else
	skip "more than 7 CPUs here: no overcommit within 8 vCPUs"
fi

# --- bad input: exit 2 and a message that says what to do
expect_usage() {
	local desc=$1 pattern=$2
	shift 2
	"$HVBENCH" "$@" >"$tmp/usage.out" 2>"$tmp/e"
	local rc=$?
	if [ "$rc" -eq 2 ] && grep -q -- "$pattern" "$tmp/e"; then
		ok "$desc"
	else
		not_ok "$desc" "rc=$rc stderr: $(head -c 300 "$tmp/e")"
	fi
}
expect_usage "--vcpus 0" "vcpus: .0. is not a whole number from 1 to 8" run -r native -w micro/rdtsc --vcpus 0 -o "$tmp/x"
expect_usage "--vcpus 9" "vcpus: .9. is not a whole number from 1 to 8" run -r native -w micro/rdtsc --vcpus 9 -o "$tmp/x"
expect_usage "--cpus with a CPU not allowed" "CPU 4000 is not available to this process" \
	run -r native -w micro/rdtsc --vcpus 2 --cpus 0,4000 -o "$tmp/x"
expect_usage "--cpus shorter than --vcpus" "names 1 CPU(s), --vcpus is 2" \
	run -r native -w micro/rdtsc --vcpus 2 --cpus 0 -o "$tmp/x"
expect_usage "--cpus junk" "give host CPU numbers separated by commas" \
	run -r native -w micro/rdtsc --vcpus 2 --cpus 0,x -o "$tmp/x"
expect_usage "--cpus that disagrees with --cpu" "drop --cpu or put it first" \
	run -r native -w micro/rdtsc --vcpus 1 --cpus 0 --cpu 1 -o "$tmp/x"
check "nothing was written by rejected commands" [ ! -e "$tmp/x" ]
tap_done
