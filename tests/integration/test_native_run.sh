#!/usr/bin/env bash
# hvbench run with the native runner, end to end: a valid result directory,
# bad input rejected with a clear message, interrupted and crashed runs
# marked as such (never silently truncated).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh native

list_workloads

# --- a quick native run over every family present in this build
families=$(families micro cpu mem)
run r --runner native --workload "$families" --quick
check "quick native run exits 0" [ "$rc" -eq 0 ]
check "it writes one run directory" [ -n "$dir" -a -f "$dir/meta.csv" ]
check_valid "result directory is valid" "$dir" --runner native --list "$tmp/workloads"
check "no .partial file is left behind" [ -z "$(ls "$dir"/*.partial 2>/dev/null)" ]
check "samples exist for micro/syscall" row "$dir" ',native,micro/syscall,ns_per_op,ns,lower,0,'
check "port I/O is skipped natively, with its reason" \
	row "$dir" ',native,micro/pio-out-user,,,,,,skipped,port I/O exits exist only in a VM'
check "the native analogue is noted" row "$dir" 'native analogue'
check "a progress line went to stderr" err_has r 'rep 2/2'
check "the summary names the directory" grep -q "results: $tmp/r/" "$tmp/r.out"
check "the summary counts non-ok rows" grep -qE '^[0-9]+ rows: [1-9][0-9]* skipped or unsupported .*, 0 failed$' "$tmp/r.out"

# --- bad input: one-line errors that say what to do, exit 2
expect_usage() {
	local desc=$1 pattern=$2
	shift 2
	"$HVBENCH" "$@" >"$tmp/o" 2>"$tmp/e"
	local rc=$?
	if [ "$rc" -eq 2 ] && grep -q -- "$pattern" "$tmp/e"; then
		ok "$desc"
	else
		not_ok "$desc" "rc=$rc stderr: $(head -c 300 "$tmp/e")"
	fi
}
expect_usage "unknown workload" "no workload matches 'nope/\*'" run -r native -w 'nope/*' -o "$tmp/x"
expect_usage "unknown runner" "unknown runner 'warp'" run -r warp -o "$tmp/x"
expect_usage "bad repetition count" "'abc' is not a whole number from 1 to 1000" run --reps abc
expect_usage "zero repetitions" "is not a whole number from 1 to 1000" run --reps 0
expect_usage "unknown option" "unknown option '--frobnicate'" run --frobnicate
expect_usage "missing option value" "needs a value" run --out
expect_usage "unknown command" "unknown command 'frob'" frob
check "nothing was written by rejected commands" [ ! -e "$tmp/x" ]

touch "$tmp/file"
"$HVBENCH" run -r native -w micro/rdtsc --quick -o "$tmp/file/sub" >"$tmp/o" 2>"$tmp/e"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "cannot create the result directory" "$tmp/e"; then
	ok "unwritable output directory: exit 1 with a clear message"
else
	not_ok "unwritable output directory" "rc=$rc $(cat "$tmp/e")"
fi

# --- --quick shortens only what was not given: --quick --reps 5 runs 5
run q -r native -w micro/rdtsc --quick --reps 5 --batches 10 --latest "$tmp/latest"
check "--quick --reps 5 --batches 10 keeps 5 repetitions and 10 batches" \
	[ "$(grep -cE '^(reps,5|batches,10|goal_us,2000)$' "$dir/meta.csv")" -eq 3 ]
check "--latest points a symlink at the run" [ "$(readlink "$tmp/latest")" = "${dir%/}" ]

# --- --latest replaces a symlink, never a file
run q2 -r native -w micro/rdtsc --quick --reps 1 --latest "$tmp/latest"
check "--latest moves to the newer run" [ "$(readlink "$tmp/latest")" = "${dir%/}" ]
echo keep >"$tmp/afile"
run q3 -r native -w micro/rdtsc --quick --reps 1 --latest "$tmp/afile"
check "--latest on a regular file leaves it alone" [ "$(cat "$tmp/afile")" = keep ]
check "... and says so" err_has q3 'not a symlink'

# --- interrupted run: SIGINT mid-run closes the run as interrupted, sent
# once samples exist.
start int -r native -w 'micro/syscall,micro/rdtsc' --reps 200
has_samples() { [ "$(cat "$tmp"/int/*/samples.csv.partial 2>/dev/null | wc -l)" -gt 1 ]; }
signal_when INT 120 has_samples
check "SIGINT ends the run with 128+2" [ "$rc" -eq 130 ]
check "the interrupted run is marked interrupted" meta_has "$dir" '^status,interrupted$'
check "it says where it stopped" meta_has "$dir" '^interrupted_at,"rep '
check "its samples file is final and non-empty" [ "$(wc -l <"$dir/samples.csv")" -gt 1 ]
check_valid "interrupted run is still a valid result directory" "$dir" --expect-status interrupted

# The native child is a fork of hvbench: a second process whose command
# line names the run's --out directory.
# processes NAME: how many processes have run NAME's --out on their command line.
processes() { pgrep -f -c -- "--out $tmp/$1( |$)"; }
# no_child NAME: none is left.
no_child() { [ "$(processes "$1")" -eq 0 ]; }

# --- crashed writer: SIGKILL leaves status=running and .partial data.
# Killed once the run directory exists and the native child is measuring.
start kill -r native -w micro/syscall --reps 200 --goal-us 3000000
child_runs() { [ "$(processes kill)" -ge 2 ] && ls "$tmp"/kill/*/meta.csv >/dev/null 2>&1; }
signal_when KILL 120 child_runs
check "a killed run stays marked running (incomplete)" meta_has "$dir" '^status,running$'
# What it was asked to do is in meta.csv from the first job on, not only at
# the end that a kill -9 never reaches.
for k in command_line host_name kernel cpu_model runners workloads reps started_utc; do
	check "the killed run's meta.csv has $k" meta_has "$dir" "^$k,"
done
check "... its matrix: runner native, workload micro/syscall, 200 reps" \
	[ "$(grep -cE '^(runners,native|workloads,micro/syscall|reps,200)$' "$dir/meta.csv")" -eq 3 ]
# PR_SET_PDEATHSIG kills the child when hvbench dies: give it 10 s at most.
wait_until 10 no_child kill
check "no native child outlives the killed hvbench" no_child kill
check "its data is in .partial files, not final ones" \
	[ -f "$dir/samples.csv.partial" -a ! -f "$dir/samples.csv" ]

# --- the native child killed from outside: the cells it took with it fail
# saying so, the run goes on.  Killed once hvbench's child exists (rep 0),
# which then measures for seconds (--goal-us; one batch keeps rep 1 short).
"$HVBENCH" run -r native -w micro/syscall,micro/rdtsc --reps 2 --goal-us 500000 --batches 1 -o "$tmp/ck" \
	>"$tmp/ck.out" 2>"$tmp/ck.err" &
pid=$!
child=
native_child() { child=$(pgrep -P $pid) || ! kill -0 $pid 2>/dev/null; }
wait_until 120 native_child || echo "# the native child did not start within 120 s"
[ -n "$child" ] && kill -KILL $child
wait $pid
rc=$?
dir=$(ls -d "$tmp"/ck/*/ 2>/dev/null | head -1)
check "a native child killed from outside: exit 1 (rc=$rc)" [ "$rc" -eq 1 ]
check "... both its cells fail, saying it was killed" \
	[ "$(grep -c ',native,micro/[a-z]*,,,,,,failed,native child killed by signal 9 (Killed)$' \
		"$dir/samples.csv")" -eq 2 ]
check "... the next repetition still runs" \
	grep -q ',native,micro/syscall,ns_per_op,ns,lower,1,' "$dir/samples.csv"
check "... and the run is complete" grep -q '^status,complete$' "$dir/meta.csv"

# --- a crash of hvbench itself prints return addresses for addr2line
case $O in
*/check) skip "crash report: the sanitizers replace hvbench's crash handler" ;;
*)
	# The handler is installed first thing in main(); a measuring child
	# means hvbench is well past that.
	start segv -r native -w micro/syscall --reps 200 --goal-us 3000000
	segv_child_runs() { [ "$(processes segv)" -ge 2 ]; }
	signal_when SEGV 120 segv_child_runs
	check "a crash ends hvbench with 128+SIGSEGV" [ "$rc" -eq 139 ]
	check "it prints where it crashed" err_has segv 'crashed; return addresses \(addr2line -e hvbench\)'
	check "... one line per frame" [ "$(grep -c '\[0x[0-9a-f]*\]$' "$tmp/segv.err")" -ge 2 ]
	wait_until 10 no_child segv
	check "no native child outlives the crashed hvbench" no_child segv
	;;
esac

tap_done
