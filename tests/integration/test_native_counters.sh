#!/usr/bin/env bash
# perf counters of the native runner: counters.csv rows per repetition, with
# unsupported events recorded as such (cross-checked with perf(1) when it is
# installed), and a bad event list failing with a clear error.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh counters

run r --runner native --workload 'micro/first-touch,micro/syscall' --quick
check "quick native run exits 0" [ "$rc" -eq 0 ]
csv=$dir/counters.csv
check "counters.csv written" [ -s "$csv" ]

# q WORKLOAD EVENT FIELD...: a small query over counters.csv (stdlib csv).
q() {
	"$PY" - "$csv" "$@" <<'PY'
import csv, sys
path, cond = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(path, newline="")))
ok = eval("(" + cond.strip() + ")", {"rows": rows, "num": lambda v: float(v) if v else None})
sys.exit(0 if ok else 1)
PY
}

check "task-clock > 0 in every repetition of every workload" q '
	len([r for r in rows if r["event"] == "task-clock"]) == 4 and
	all(r["status"] == "ok" and num(r["value"]) > 0 and r["source"] == "software"
	    for r in rows if r["event"] == "task-clock")'
check "first-touch raises page-faults in every repetition" q '
	len([r for r in rows if r["event"] == "page-faults" and r["workload"] == "micro/first-touch"]) == 2 and
	all(num(r["value"]) > 0 for r in rows
	    if r["event"] == "page-faults" and r["workload"] == "micro/first-touch")'
check "ok rows carry time_enabled >= time_running > 0" q '
	all(num(r["time_enabled"]) > 0 and 0 < num(r["time_running"]) <= num(r["time_enabled"])
	    for r in rows if r["status"] == "ok")'
check "every row is ok with a value, or unsupported with a reason and no value" q '
	all((r["status"] == "ok" and r["value"] != "") or
	    (r["status"] == "unsupported" and r["value"] == "" and r["note"] != "") for r in rows)'
check "every default event has a row per repetition" q '
	all(len([r for r in rows if r["event"] == e]) == 4 for e in
	    ["cycles", "instructions", "branch-misses", "cache-misses", "LLC-load-misses",
	     "dTLB-load-misses", "task-clock", "page-faults", "context-switches", "cpu-migrations"])'

# Independent cross-check: perf(1) says whether this kernel counts cycles.
if command -v perf >/dev/null && perf stat -x, -e task-clock true >/dev/null 2>&1; then
	if perf stat -x, -e cycles true 2>&1 | grep -q 'not supported'; then
		check "cycles unsupported here, as perf(1) says" q '
			all(r["status"] == "unsupported" for r in rows if r["event"] == "cycles")'
	else
		check "cycles counted here, as perf(1) says" q '
			all(r["status"] == "ok" for r in rows if r["event"] == "cycles")'
	fi
else
	skip "perf(1) not installed or not working: no cross-check of hardware events"
fi

check "meta.csv records the pmu key" grep -qE '^pmu,"?(available|partial|none) ' "$dir/meta.csv"

# Event lists are data; a bad name is a clear error and the cells say why.
HVBENCH_EVENTS="task-clock, minor-faults" run e1 --runner native --workload micro/syscall --reps 1
check "HVBENCH_EVENTS chooses the events" "$PY" -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/counters.csv")))
sys.exit(0 if sorted({r["event"] for r in rows}) == ["minor-faults", "task-clock"] else 1)' "$dir"
HVBENCH_EVENTS="task-clock,no-such-event" run e2 --runner native --workload micro/syscall --reps 1
check "an unknown event fails the run (exit 1)" [ "$rc" -eq 1 ]
check "the error names the event" err_has e2 "unknown event 'no-such-event'"
check "the cell is recorded failed with the reason" \
	row "$dir" "micro/syscall,,,,,,failed,.*unknown event 'no-such-event'"
tap_done
