#!/usr/bin/env bash
# CPU locks (probes/cpulock.h, README "CPU locks"): while a run holds its CPU a
# second run pinned there refuses (exit 2, naming the CPU, the holder's pid,
# command line and run directory) and leaves no result directory; a run on
# another CPU goes ahead; --no-cpu-lock measures anyway, recorded in meta;
# ab and capacity refuse a held CPU as well; kill -9 of the holder frees the
# CPU (the kernel drops the flock).  Then, with nothing held: ab's rounds
# take and drop the lock one after another, and capacity's VMs share the
# locks of the capacity run instead of refusing each other.  All native,
# cpu/crc32c, --quick.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh cpulock

export HVB_LOCK_DIR=$tmp/locks # this test's own, whatever tests/run set
LD=$HVB_LOCK_DIR
W=cpu/crc32c
read -r C0 C1 _ < <("$PY" -c 'import os; print(*sorted(os.sched_getaffinity(0)), "-", "-")')
if "$HVBENCH" list --workloads | grep -q '^  svc/open-loop '; then
	PROBE=svc/open-loop
else
	PROBE=micro/timer-latency
fi

# cmd NAME CMD ARGS...: hvbench CMD ARGS..., output in $tmp/NAME.out|err; sets rc.
cmd() {
	local name=$1
	shift
	HVB_TEST_RUN=$tmp/$name "$HVBENCH" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
}
holds() { grep -qx "pid $1" "$LD/cpu$2.lock" 2>/dev/null; }
free_cpu() { flock -n "$LD/cpu$1.lock" true; }

# --- a holder on C0
start hold -r native -w $W --quick --reps 1000 --goal-us 50000 --cpu "$C0"
holder=$bg
wait_until 60 holds "$holder" "$C0"
check "the holder's lock file names its pid" holds "$holder" "$C0"
hold_dir=$(run_dir hold)
check "... its command line" \
	grep -q "^command hvbench run --out $tmp/hold .*--reps 1000 " "$LD/cpu$C0.lock"
grep -qx "run_dir ${hold_dir%/}" "$LD/cpu$C0.lock" && ok "... run_dir is the holder's" ||
	not_ok "... run_dir is the holder's" "$(cat "$LD/cpu$C0.lock")"

run same -r native -w $W --quick --cpu "$C0"
check "a second run on CPU $C0 exits 2" [ "$rc" -eq 2 ]
check "... naming the CPU and the holder's pid" \
	err_has same "CPU $C0 is in use by another run: pid $holder \(hvbench run --out $tmp/hold "
check "... its run directory and what to do" \
	err_has same "run directory ${hold_dir%/},.*--cpus.*--no-cpu-lock"
check "... and leaves no result directory" [ -z "$(run_dir same)" ]

if [ "$C1" != - ]; then
	run cpus -r native -w $W --quick --vcpus 2 --cpus "$C1,$C0"
	check "--cpus $C1,$C0 exits 2" [ "$rc" -eq 2 ]
	check "... refused for CPU $C0" err_has cpus "CPU $C0 is in use.*pid $holder"
	check "... and holds nothing of CPU $C1 after refusing" free_cpu "$C1"
	run other -r native -w $W --quick --cpu "$C1"
	check "a run on CPU $C1 meanwhile exits 0" [ "$rc" -eq 0 ]
	check "... its meta cpu_lock names CPU $C1 and its lock file" \
		meta_has "$dir" "^cpu_lock,cpus $C1 \(flock $LD/cpu$C1.lock\)$"
	check "... released at its end" free_cpu "$C1"
	check_valid "... its result directory is valid" "$dir"
else
	skip "one CPU only: no second CPU for a run beside the holder"
fi

run anyway -r native -w $W --quick --cpu "$C0" --no-cpu-lock
check "--no-cpu-lock on the held CPU exits 0" [ "$rc" -eq 0 ]
check "... recorded: meta cpu_lock off (--no-cpu-lock)" \
	meta_has "$dir" '^cpu_lock,off \(--no-cpu-lock\)$'
check "... with a warning naming the holder" \
	err_has anyway "warning: CPU\(s\) $C0 \(pid $holder\) locked by other runs"

cmd abheld ab --aa --a "$O" --b "$O" --reps 1 -r native -w $W --out "$tmp/abheld" -- --quick \
	--cpu "$C0"
check "ab on the held CPU stops with exit 2" [ "$rc" -eq 2 ]
check "... quoting its run's refusal" grep -q "it ends: .*CPU $C0 is in use.*pid $holder" \
	"$tmp/abheld.err"

capargs=(-r native --probe "$PROBE" --background cpu/sha256 --slo 'p99<=1000ms,tput>=0%'
	 --max-vms 2 --quick)
cmd capheld capacity --out "$tmp/capheld" "${capargs[@]}"
check "capacity with a CPU held exits 2" [ "$rc" -eq 2 ]
check "... naming the holder" grep -q "CPU $C0 is in use.*pid $holder" "$tmp/capheld.err"
check "... before any VM ran (no result directory)" [ -z "$(ls -A "$tmp/capheld" 2>/dev/null)" ]

# --- kill -9 of the holder: no stale lock
kill -KILL "$holder"
wait "$holder" 2>/dev/null # (bash reports it "Killed")
bg=
wait_until 30 free_cpu "$C0"
check "after kill -9 of the holder CPU $C0 is free" free_cpu "$C0"
check "... its lock file stays (only the flock went)" [ -f "$LD/cpu$C0.lock" ]
run after -r native -w $W --quick --cpu "$C0"
check "... and a new run on it exits 0" [ "$rc" -eq 0 ]
check "... and names itself in the lock file" grep -q "^run_dir ${dir%/}$" "$LD/cpu$C0.lock"

# --- ab: children one after another, no deadlock on each other
cmd ab ab --aa --a "$O" --b "$O" --reps 2 -r native -w $W --out "$tmp/ab" -- --quick --cpu "$C0"
check "ab of 2 rounds on CPU $C0 ends (0 or 1, not 2)" [ "$rc" -le 1 ]
[ "$rc" -le 1 ] || echo "# $(tail -c 400 "$tmp/ab.err")"
n=$(grep -l "^cpu_lock,cpus $C0 (flock $LD/cpu$C0.lock)$" "$tmp"/ab/[ab]/*/meta.csv 2>/dev/null |
	wc -l)
check "... each of its 4 runs locked CPU $C0 itself ($n)" [ "$n" -eq 4 ]
check "... and nothing is left locked" free_cpu "$C0"

# --- capacity: its VMs share its locks
cmd cap capacity --out "$tmp/cap" "${capargs[@]}"
cdir=$(run_dir cap)
check "capacity of up to 2 VMs exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || echo "# $(tail -c 400 "$tmp/cap.err")"
check "... its meta cpu_lock names the CPUs it locked once" \
	meta_has "$cdir" "^cpu_lock,\"?cpus $C0[,0-9]* \(flock $LD/cpu$C0.lock"
vms=$(ls "$cdir"/vms/n*/vm*/*/meta.csv 2>/dev/null | wc -l)
shared=$(grep -l "^cpu_lock,cpus [0-9]* (flock .*; passed down by pid [0-9]*: cpus [0-9]*)$" \
	"$cdir"/vms/n*/vm*/*/meta.csv 2>/dev/null | wc -l)
check "... each of its $vms VM runs (3: N=1, N=2) used the capacity run's lock ($shared)" \
	[ "$vms" -eq 3 -a "$shared" -eq 3 ]
check "... and nothing is left locked" free_cpu "$C0"
tap_done
