#!/usr/bin/env bash
# Machine-readable output on a real short run (native, --quick, cpu/crc32c):
# `hvbench run --format json` puts one JSON document alone on stdout (the
# table and progress on stderr), and it, `hvbench export` (JSON Lines and
# json), `hvbench report --format json`, `list` and `info` fit their
# schemas under results/schema/ (tests/lib/jsonschema_lite.py).  The
# fixtures are tests/report/test_json_export.py's.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
HVBENCH=${HVBENCH:-build/hvbench}
PY=${PYTHON:-python3}
VALIDATE="$PY tests/lib/jsonschema_lite.py"
S=results/schema
tmp=$(mktemp -d /tmp/hvb-json-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# is_json FILE: the whole file is one JSON document and nothing else
is_json() { "$PY" -c 'import json,sys; json.load(sys.stdin)' <"$1"; }

"$HVBENCH" run --runner native --workload cpu/crc32c --quick --out "$tmp/res" \
	--format json >"$tmp/run.json" 2>"$tmp/run.err"
rc=$?
check "run --format json exits 0" [ "$rc" -eq 0 ]
check "run --format json: stdout is pure JSON" is_json "$tmp/run.json"
check "run --format json: fits run.schema.json" $VALIDATE $S/run.schema.json "$tmp/run.json"
check "run --format json: the table and results line went to stderr" \
	sh -c 'grep -q "^results: " "$0" && grep -q "cpu/crc32c" "$0"' "$tmp/run.err"
dir=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["dir"])' <"$tmp/run.json")
check "run --format json: dir is the run directory" [ -f "$dir/samples.csv" ]
check "run --format json: run id, complete, one ok cell with the median of samples.csv" \
	"$PY" - "$tmp/run.json" "$dir" <<'PY'
import csv, json, os, statistics, sys
doc, d = json.load(open(sys.argv[1])), sys.argv[2]
rows = list(csv.DictReader(open(os.path.join(d, "samples.csv"))))
cell, = doc["cells"]
vals = [float(r["value"]) for r in rows if r["status"] == "ok" and r["metric"] == cell["metric"]]
ok = (doc["run_id"] == os.path.basename(d) and doc["status"] == "complete"
      and cell["status"] == "ok" and (cell["runner"], cell["workload"]) == ("native", "cpu/crc32c")
      and cell["metric"] == "bandwidth" and cell["n"] == 2 and len(vals) == 2
      and abs(cell["median"] - statistics.median(vals)) <= 1e-9 * cell["median"]
      and doc["rows"] == len(rows))
sys.exit(0 if ok else 1)
PY

"$HVBENCH" export "$dir" >"$tmp/s.jsonl" 2>"$tmp/export.err"
check "export jsonl exits 0" [ "$?" -eq 0 ]
rows=$("$PY" -c 'import csv,sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1]))))' "$dir/samples.csv")
check "export jsonl: one line per samples.csv row ($rows)" [ "$(wc -l <"$tmp/s.jsonl")" -eq "$rows" ]
check "export jsonl: every line fits sample.schema.json" \
	$VALIDATE --lines $S/sample.schema.json "$tmp/s.jsonl"
check "export jsonl: this host's identity and kernel on every line" "$PY" - "$tmp/s.jsonl" "$dir" <<'PY'
import csv, json, os, sys
meta = {r["key"]: r["value"] for r in csv.DictReader(open(os.path.join(sys.argv[2], "meta.csv")))}
lines = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if lines and all(x["host_identity"] == meta["host_identity"]
                            and x["context"]["kernel"] == meta["kernel"]
                            and x["context"]["runner_page_size"] == meta["runner.native.page_size"]
                            for x in lines) else 1)
PY
"$HVBENCH" export --format json "$dir" >"$tmp/export.json"
check "export json: the same document run printed (but dir as given)" "$PY" - "$tmp/export.json" "$tmp/run.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
sys.exit(0 if a == b else 1)
PY

"$HVBENCH" report --format json "$dir" >"$tmp/report.json" 2>"$tmp/report.err"
check "report --format json exits 0" [ "$?" -eq 0 ]
check "report --format json: stdout is pure JSON" is_json "$tmp/report.json"
check "report --format json: fits report.schema.json" $VALIDATE $S/report.schema.json "$tmp/report.json"
check "report --format json: wrote no report directory" [ ! -e hvbench-report/"$(basename "$dir")" ]

"$HVBENCH" list --format json >"$tmp/list.json"
check "list --format json: fits list.schema.json" $VALIDATE $S/list.schema.json "$tmp/list.json"
"$HVBENCH" info --format json >"$tmp/info.json" 2>/dev/null
check "info --format json: pure JSON, fits info.schema.json" \
	sh -c 'is_json() { "$0" -c "import json,sys; json.load(sys.stdin)" <"$1"; }; is_json "$1" && '"$VALIDATE"' '$S'/info.schema.json "$1"' "$PY" "$tmp/info.json"

# An interrupted run still ends with its document, status interrupted.
"$HVBENCH" run -r native -w 'micro/syscall,micro/rdtsc' --reps 200 -o "$tmp/int" --format json \
	>"$tmp/int.json" 2>"$tmp/int.err" &
pid=$!
has_samples() {
	[ "$(cat "$tmp"/int/*/samples.csv.partial 2>/dev/null | wc -l)" -gt 1 ] ||
		! kill -0 $pid 2>/dev/null
}
wait_until 120 has_samples || echo "# no samples within 120 s: $(tail -c 300 "$tmp/int.err")"
kill -INT $pid
wait $pid
rc=$?
check "interrupted run --format json: exit 130" [ "$rc" -eq 130 ]
check "... stdout is one document that fits run.schema.json" \
	sh -c '"$0" -c "import json,sys; json.load(sys.stdin)" <"$1" && '"$VALIDATE"' '$S'/run.schema.json "$1"' "$PY" "$tmp/int.json"
check "... status interrupted, with the rows it kept" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["status"] == "interrupted" and d["rows"] > 0 and d["cells"] else 1)' "$tmp/int.json"

for cmd in run list info; do
	"$HVBENCH" $cmd --format xml >"$tmp/bad.out" 2>"$tmp/bad.err"
	rc=$?
	check "$cmd --format xml: exit 2, says the formats, nothing on stdout" \
		sh -c '[ "$0" -eq 2 ] && grep -q "format must be" "$1" && [ ! -s "$2" ]' "$rc" "$tmp/bad.err" "$tmp/bad.out"
done
tap_done
