# Scaffolding shared by the shell tests that drive hvbench runners
# (tests/integration/test_kvm_run.sh, test_qemu.sh, test_native_run.sh,
# test_native_counters.sh, test_page_size.sh, test_matrix.sh).  Source it
# from the repository root with a short name for the temporary directory:
#
#	cd "$(dirname "$0")/../.."
#	. tests/lib/runner.sh kvm
#
# It sources tap.sh (ok, not_ok, skip, check, wait_until, tap_done) and sets
#	O, HVBENCH, PY	the build directory, the hvbench binary, python3
#	GUEST		the guest image ($O/guest/hvbench-guest.elf)
#	tmp		a fresh directory, removed at exit (KEEP=1 keeps it),
#			together with a run still going in the background
#	HVB_LOCK_DIR	the CPU locks: $tmp/cpu-locks unless already set
# Runs write their output under $tmp/NAME (see run); checks read it.
. tests/lib/tap.sh
O=${O:-build}
HVBENCH=${HVBENCH:-$O/hvbench}
PY=${PYTHON:-python3}
GUEST=$O/guest/hvbench-guest.elf
tmp=$(mktemp -d "/tmp/hvb-${1:-test}-XXXXXX")
# CPU locks (probes/cpulock.h) of this test alone unless tests/run set the
# suite's: tests check correctness, not speed, and another worktree's suite
# running at the same time must not make them refuse.
export HVB_LOCK_DIR=${HVB_LOCK_DIR:-$tmp/cpu-locks}
bg= bg_name=

hvb_cleanup() {
	if [ -n "$bg" ] && kill -0 "$bg" 2>/dev/null; then
		kill -TERM "$bg" 2>/dev/null
		wait "$bg" 2>/dev/null
	fi
	if [ -n "${KEEP:-}" ]; then
		echo "# kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap hvb_cleanup EXIT

# skip_rest REASON: the rest of the test cannot run here: say why, end.
skip_rest() {
	skip "$1"
	tap_done
	exit
}

# run_dir NAME: the run directory hvbench made under $tmp/NAME (or nothing).
run_dir() { ls -d "$tmp/$1"/*/ 2>/dev/null | head -1; }

# run NAME ARGS...: hvbench run --out $tmp/NAME ARGS..., its stdout and
# stderr in $tmp/NAME.out and $tmp/NAME.err; sets rc and dir.  Environment
# assignments in front (HVB_GUEST_IMAGE=... run NAME ...) reach hvbench.
# hvbench and what it starts (a native child, QEMU) inherit
# HVB_TEST_RUN=$tmp/NAME, which run_procs finds them by.
run() {
	local name=$1
	shift
	HVB_TEST_RUN=$tmp/$name "$HVBENCH" run --out "$tmp/$name" "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
	dir=$(run_dir "$name")
}

# start NAME ARGS...: the same run in the background; signal_when ends it.
start() {
	bg_name=$1
	shift
	HVB_TEST_RUN=$tmp/$bg_name "$HVBENCH" run --out "$tmp/$bg_name" "$@" \
		>"$tmp/$bg_name.out" 2>"$tmp/$bg_name.err" &
	bg=$!
}

# run_procs NAME ERE: the pids of processes of run NAME (their environment
# has its HVB_TEST_RUN) whose command line matches ERE.  Only this test's
# processes, whatever another worktree running the same test boots: a VMM's
# command line need not name anything of ours (QEMU gets the guest image
# as /proc/self/fd/N).
run_procs() {
	local p f=()
	for p in $(pgrep -f -- "$2"); do
		f+=("/proc/$p/environ")
	done
	[ ${#f[@]} -gt 0 ] || return 0
	grep -lzxF "HVB_TEST_RUN=$tmp/$1" "${f[@]}" 2>/dev/null | cut -d/ -f3
}

# running: the background run has not ended.
running() { [ -n "$bg" ] && kill -0 "$bg" 2>/dev/null; }

# signal_when SIG SECONDS COND...: wait until COND holds or the background
# run has ended (at most SECONDS), send it SIG and reap it; sets rc and dir.
# Wait for the state the signal must find (a cell runs, QEMU exists), never
# a fixed time: a background job starts with SIGINT ignored until hvbench
# installs its handler, so an early SIGINT would be lost.
signal_when() {
	local sig=$1 secs=$2
	shift 2
	wait_until "$secs" hvb_ready "$@" ||
		echo "# not ready within $secs s ($*): $(tail -c 300 "$tmp/$bg_name.err")"
	kill -"$sig" "$bg" 2>/dev/null
	wait "$bg" 2>/dev/null
	rc=$?
	bg=
	dir=$(run_dir "$bg_name")
}
hvb_ready() { "$@" || ! running; }

# err_has NAME ERE: the stderr of run NAME matches.
err_has() { grep -qE -- "$2" "$tmp/$1.err"; }

# row DIR ERE: a samples.csv row of DIR matches the extended regex.
row() { grep -qE -- "$2" "$1/samples.csv" 2>/dev/null; }

# has_ok DIR RUNNER WORKLOAD: the cell has ok ns_per_op samples.
has_ok() { row "$1" ",$2,$3,ns_per_op,ns,lower,[0-9]+,[0-9.e+-]+,ok,"; }

# meta_has DIR ERE: a meta.csv line of DIR matches.
meta_has() { grep -qE -- "$2" "$1/meta.csv" 2>/dev/null; }

# show NAME: what a failed check on run NAME prints: its status, the end of
# its stderr, its first rows that are not ok.
show() {
	echo "rc=$rc $(tail -c 400 "$tmp/$1.err" 2>/dev/null)" \
		"$(grep -v ',ok,' "$dir/samples.csv" 2>/dev/null | head -3)"
}

# check_valid DESC DIR [check_results.py options]: the result directory
# is valid (tests/lib/check_results.py against results/FORMAT.md).
check_valid() {
	local desc=$1 out
	shift
	if out=$("$PY" tests/lib/check_results.py "$@"); then
		ok "$desc ($out)"
	else
		not_ok "$desc" "$out"
	fi
}

# runner_why RUNNER: nothing if `hvbench list` says RUNNER is available
# here (with the environment of the call: HVB_GUEST_IMAGE=... runner_why),
# else why not, as hvbench says it; status 0 available, 1 not, 2 hvbench
# list itself failed.
runner_why() {
	local l
	if ! l=$("$HVBENCH" list --runners 2>&1); then
		echo "hvbench list failed: $(head -c 300 <<<"$l")"
		return 2
	fi
	grep -qE "^  $1 +available" <<<"$l" && return 0
	l=$(grep -A1 -E "^  $1 " <<<"$l" | sed -n 's/.*why: //p')
	echo "${l:-runner $1 is not in hvbench list}"
	return 1
}

# have RUNNER: the runner is available here.
have() { runner_why "$1" >/dev/null; }

# need_runner RUNNER: the rest of the test needs RUNNER: skip it, saying
# why, where the runner is unavailable (a failure if hvbench list fails).
need_runner() {
	local why
	why=$(runner_why "$1")
	case $? in
	0) ;;
	1) skip_rest "$1 runner unavailable: $why" ;;
	*)
		not_ok "hvbench list runs" "$why"
		tap_done
		exit
		;;
	esac
}

# list_workloads: `hvbench list --workloads` into $tmp/workloads (for
# families and check_results.py --list).
list_workloads() { "$HVBENCH" list --workloads >"$tmp/workloads"; }

# families FAMILY...: the globs FAMILY/* of those families this build has,
# comma-separated (list_workloads first).
families() {
	local re
	re=$(IFS='|'; echo "$*")
	awk '/\// {split($1, p, "/"); print p[1] "/*"}' "$tmp/workloads" | sort -u |
		grep -E "^($re)/" | paste -sd, -
}

# need_qemu_guest: the rest of the test needs QEMU and the guest image:
# skip it, saying what to install or build, where either is missing.
need_qemu_guest() {
	command -v qemu-system-x86_64 >/dev/null ||
		skip_rest "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
	[ -r "$GUEST" ] || skip_rest "no guest image ($GUEST): make all"
}

# boot_phase_sums LOG: for each kvm `boot phases` line of LOG, "ok" when
# the phases in boot_ms (all but those marked not-in-boot_ms: the probes,
# the prefault) add up to it, else "bad:BOOT_MS!=SUM"; nothing without one.
boot_phase_sums() {
	sed -n 's/.*boot phases (ms, boot_ms \([0-9.]*\)): \(.*\)/\1 \2/p' "$1" |
		awk '{ sum = 0; for (i = 2; i < NF; i += 2) if ($i !~ /not-in-boot_ms/) sum += $(i + 1)
		       d = sum - $1; if (d < 0) d = -d
		       print (d < 0.05 + $1 * 0.01) ? "ok" : "bad:" $1 "!=" sum }'
}
