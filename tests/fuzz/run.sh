#!/usr/bin/env bash
# run.sh FUZZ_DIR NAME SECONDS [LIBFUZZER_ARGS...]: run FUZZ_DIR/fuzz_NAME
# for SECONDS over a fresh copy of its seeds (FUZZ_DIR/seeds/NAME) in
# FUZZ_DIR/run/NAME/ (corpus/, log, crash inputs, TMPDIR), then print one
# line: executions and coverage from libFuzzer's final statistics, or why
# it failed.  Exit status 1 on a crash, leak, sanitizer report, timeout or
# out-of-memory (or missing statistics).  Run from the top of the tree.
set -uo pipefail
dir=$1 name=$2 secs=$3
shift 3
bin=$dir/fuzz_$name work=$dir/run/$name dict=tests/fuzz/$name.dict

rm -rf "$work"
mkdir -p "$work/corpus" "$work/tmp"
cp -r "$dir/seeds/$name/." "$work/corpus/"
seeds=$(find "$work/corpus" -type f | wc -l)
args=(-max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
	-artifact_prefix="$work/")
[ -f "$dict" ] && args+=(-dict="$dict")

# The watchdog only catches a fuzzer that hangs outside libFuzzer's own
# -timeout (e.g. at start-up).
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} TMPDIR=$work/tmp \
	timeout -k 5 $((secs * 2 + 60)) "$bin" "${args[@]}" "$@" "$work/corpus" >"$work/log" 2>&1
rc=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -1)
status=$(grep -E '^#[0-9]+.*cov: [0-9]+ ft: [0-9]+' "$work/log" | tail -1)
cov=$(sed -E 's/.* cov: ([0-9]+) .*/\1/' <<<"$status")
ft=$(sed -E 's/.* ft: ([0-9]+) .*/\1/' <<<"$status")
corp=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$status")

if [ "$rc" -eq 0 ] && [ -n "$execs" ] && [ -n "$cov" ]; then
	echo "fuzz_$name: ${execs} execs in ${secs} s (${speed}/s), cov: $cov ft: $ft, corpus $seeds -> $corp inputs"
	exit 0
fi

why=$(grep -m1 -E 'ERROR: (libFuzzer|[A-Za-z]+Sanitizer)|runtime error:|property does not hold' \
	"$work/log" | sed -E 's/^==[0-9]+==//')
[ "$rc" -eq 124 ] && why="no end after $((secs * 2 + 60)) s (killed)"
input=$(sed -n 's/.*Test unit written to //p' "$work/log" | tail -1)
echo "fuzz_$name: FAILED (exit $rc) after ${execs:-?} execs: ${why:-no statistics}${input:+; input: $input}; log: $work/log"
grep -E -A12 'ERROR: |runtime error:|property does not hold' "$work/log" | head -30 | sed 's/^/    /' >&2
exit 1
