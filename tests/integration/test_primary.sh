#!/usr/bin/env bash
# One primary metric per workload, decided by its kind (workloads/workload.h)
# and written into meta.csv by `hvbench run`: the run summary, compare and
# the report must all use that one (a rate workload once showed ops_per_s in
# the summary and ns_per_op in the report).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
HVBENCH=${HVBENCH:-build/hvbench}
PY=${PYTHON:-python3}
tmp=$(mktemp -d /tmp/hvb-primary-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# A rate (matmul), a bandwidth (crc32c) and a time-per-op (rdtsc) workload.
W='cpu/matmul,cpu/crc32c,micro/rdtsc'
for side in a b; do
	"$HVBENCH" run -r native -w "$W" --quick --reps 3 --batches 2 --goal-us 200 \
		--out "$tmp/$side" >"$tmp/$side.out" 2>"$tmp/$side.err"
	check "run $side exits 0" [ $? -eq 0 ]
done
a=$(ls -d "$tmp"/a/*/ | head -1)
b=$(ls -d "$tmp"/b/*/ | head -1)

check "meta: primary.cpu/matmul is ops_per_s (a rate)" grep -qx 'primary.cpu/matmul,ops_per_s' "$a/meta.csv"
check "meta: primary.cpu/crc32c is bandwidth" grep -qx 'primary.cpu/crc32c,bandwidth' "$a/meta.csv"
check "meta: primary.micro/rdtsc is ns_per_op" grep -qx 'primary.micro/rdtsc,ns_per_op' "$a/meta.csv"

# The summary shows each workload's primary metric (its unit says which).
check "summary: cpu/matmul by ops_per_s" grep -qE '^ +cpu/matmul .* ops_per_s ' "$tmp/a.out"
check "summary: cpu/crc32c by bandwidth" grep -qE '^ +cpu/crc32c .* bandwidth ' "$tmp/a.out"
check "summary: micro/rdtsc by ns_per_op" grep -qE '^ +micro/rdtsc .* ns_per_op ' "$tmp/a.out"

# The report's model picks the same metric for every workload.
if out=$("$PY" - "$a" <<'PYEOF'
import csv, sys
sys.path.insert(0, "reports")
import hvbench_report
from hvbreport import load, model
run = load.load_run(sys.argv[1])
hvbench_report.summarize([run], [sys.argv[1]], False, 1)
series = model.build_series([run])
meta = dict(csv.reader(open(sys.argv[1] + "/meta.csv")))
bad = [w for w in ("cpu/matmul", "cpu/crc32c", "micro/rdtsc")
       if model.primary_metric(series, w) != meta["primary." + w]]
print("disagree: " + ",".join(bad) if bad else "agree")
sys.exit(1 if bad else 0)
PYEOF
); then ok "report: the primary metric of each workload is meta's ($out)"; else not_ok "report: the primary metric of each workload is meta's" "$out"; fi

# compare's default metrics include every workload's primary metric.
"$HVBENCH" compare --format csv "$a" "$b" >"$tmp/cmp.csv" 2>/dev/null
for wm in cpu/matmul,ops_per_s cpu/crc32c,bandwidth micro/rdtsc,ns_per_op; do
	check "compare (default metrics) compares ${wm/,/ }" grep -q "^native,$wm," "$tmp/cmp.csv"
done

# A workload skipped under every runner has a primary metric in meta but no
# value of it: the report leaves it out of the overhead table (it crashed).
"$HVBENCH" run -r native -w 'micro/pio-out-kernel,micro/rdtsc' --quick --reps 1 \
	--out "$tmp/s" >/dev/null 2>&1
"$HVBENCH" report --no-plots --out "$tmp/srep" "$tmp"/s/*/ >"$tmp/srep.out" 2>&1
check "report of a run whose only other workload was skipped everywhere exits 0" [ $? -eq 0 ]
tap_done
