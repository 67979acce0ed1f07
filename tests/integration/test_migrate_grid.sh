#!/usr/bin/env bash
# hvbench migrate end to end (README "Migration grid", results/FORMAT.md
# "Migration grid runs"): 2-point grids under kvm and (where a guest image
# and QEMU are here) qemu-kvm:
#   - one valid result directory, rows per point under
#     <runner>.d<rate>.w<wss>.b<bw>.t<downtime>, each rep its own run
#   - converged 1 at the lowest dirty rate (1 MiB/s, no bandwidth limit)
#   - QEMU points get migrate.guest_downtime_ms too (from the heartbeat)
#   - a point whose run fails (a working set above half the guest's RAM) is
#     a failed row saying why, and the grid goes on
#   - native, and a runner unavailable here (xen-pvh and xen-pv outside a
#     Xen dom0), are refused with exit 2 before anything runs
#   - --batch-ms reaches each child as dirty.batch_ms
#   - Ctrl-C mid-grid: exit 130, the run interrupted, what was measured kept.
# Correctness only: no figure is compared with a time.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh miggrid

# mig NAME ARGS...: hvbench migrate --out $tmp/NAME ARGS..., like run.
mig() {
	local name=$1
	shift
	HVB_TEST_RUN=$tmp/$name "$HVBENCH" migrate --out "$tmp/$name" "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
	dir=$(run_dir "$name")
}

# value DIR RUNNER METRIC REP: the ok value of that row.
value() {
	awk -F, -v r="$2" -v m="$3" -v k="$4" '$2 == r && $3 == "migrate/dirty" && $4 == m &&
		$7 == k && $9 == "ok" { print $8; exit }' "$1/samples.csv" 2>/dev/null
}

mig native --runner native
[ "$rc" = 2 ] && err_has native 'runner native: not yet' && [ -z "$dir" ] &&
	ok "native is refused with exit 2, before any run" || not_ok "native is refused" "$(show native)"
# xen-pvh and xen-pv migrate (ci/xen/migrate-test), but only in a Xen dom0.
for x in xen-pvh xen-pv; do
	mig "$x" --runner "kvm,$x"
	[ "$rc" = 2 ] && err_has "$x" "runner '$x' is not available here" && [ -z "$dir" ] &&
		! err_has "$x" 'not yet' &&
		ok "$x is accepted, then refused here as unavailable (no Xen)" ||
		not_ok "$x is accepted, then refused as unavailable" "$(show "$x")"
done
HVB_GUEST_IMAGE=$tmp/no-such-image mig noimg --runner kvm
[ "$rc" = 2 ] && err_has noimg "runner 'kvm' is not available here: cannot open guest image" &&
	[ -z "$dir" ] && ok "an unavailable runner is refused once, with exit 2, before any run" ||
	not_ok "an unavailable runner is refused before any run" "$(show noimg)"
mig zero --runner kvm --dirty-rate 0
[ "$rc" = 2 ] && err_has zero 'dirty-rate.*at least 1 MiB/s' &&
	ok "--dirty-rate 0 is refused saying the lowest rate" || not_ok "--dirty-rate 0 refused" "$(show zero)"

[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip_rest "no usable /dev/kvm"

# points_ok DIR RUNNER REPS POINT...: every rep of every point has its
# migration's rows and the guest's, and meta describes the point.
points_ok() {
	local d=$1 r=$2 reps=$3 p rep m miss
	shift 3
	for p in "$@"; do
		for rep in $(seq 0 $((reps - 1))); do
			miss=
			for m in migrate.total_ms migrate.bytes migrate.rounds migrate.converged \
				migrate.guest_downtime_ms lost_pages req_ns.max; do
				[ -n "$(value "$d" "$p" "$m" "$rep")" ] || miss="$miss $m"
			done
			[ -z "$miss" ] && ok "$p rep $rep: its migration and guest rows" ||
				not_ok "$p rep $rep: its migration and guest rows" "missing:$miss $(show grid)"
		done
		meta_has "$d" "^migrate\.$p,runner=$r dirty\.rate=" && ok "meta describes $p" ||
			not_ok "meta describes $p"
	done
}

mig grid --runner kvm --dirty-rate 1,32 --wss 8 --reps 2 --batch-ms 90 --timeout 120
[ "$rc" = 0 ] && [ -n "$dir" ] && ok "the kvm grid completed" || not_ok "the kvm grid completed" "$(show grid)"
check "the grid's result directory is valid" "$PY" tests/lib/check_results.py "$dir"
points_ok "$dir" kvm 2 kvm.d1.w8.b0.t30 kvm.d32.w8.b0.t30
[ "$(value "$dir" kvm.d1.w8.b0.t30 migrate.converged 0)" = 1 ] &&
	[ "$(value "$dir" kvm.d1.w8.b0.t30 migrate.converged 1)" = 1 ] &&
	ok "kvm: converged = 1 at the lowest dirty rate, both reps" ||
	not_ok "kvm: converged = 1 at the lowest dirty rate" "$(show grid)"
[ "$(value "$dir" kvm.d1.w8.b0.t30 lost_pages 0)" = 0 ] &&
	ok "kvm: the guest verified every page after the move" ||
	not_ok "kvm: the guest verified every page after the move"
meta_has "$dir" '^runners,"?kvm\.d1\.w8\.b0\.t30,kvm\.d32\.w8\.b0\.t30"?$' &&
	ok "the runners key lists the points in grid order" || not_ok "the runners key lists the points"
[ "$(ls -d "$dir"/runs/kvm.d1.w8.b0.t30/rep*/ 2>/dev/null | wc -l)" = 2 ] &&
	ok "each rep is its own child run (runs/<point>/rep<k>)" || not_ok "each rep is its own child run"
meta_has "$dir" '^migrate\.batch_ms,90 ' && [ "$(grep -l '^param\.dirty\.batch_ms,90$' \
	"$dir"/runs/*/rep*/*/meta.csv 2>/dev/null | wc -l)" = 4 ] &&
	ok "--batch-ms 90: in meta, and every child ran with dirty.batch_ms=90" ||
	not_ok "--batch-ms reaches every child" "$(grep -h batch_ms "$dir"/runs/*/rep*/*/meta.csv)"

# qemu-kvm: 2 points at the lowest rate (bandwidth unlimited and 1000
# MiB/s).  A "memory lost" here is a failure: migrate/dirty's 8-byte
# stores lost no page in any QEMU move measured (its 32-byte AVX stores
# did, README "Live migration under QEMU": known issue).
if [ -r "$GUEST" ] && command -v qemu-system-x86_64 >/dev/null; then
	mig qgrid --runner qemu-kvm --dirty-rate 1 --wss 8 --bandwidth 0,1000 --reps 1 --timeout 120
	[ "$rc" = 0 ] && ok "the qemu-kvm grid completed" ||
		not_ok "the qemu-kvm grid completed" "$(show qgrid)"
	! grep -q 'memory lost' "$dir/samples.csv" 2>/dev/null &&
		ok "qemu-kvm: the guest verified every page after the move" ||
		not_ok "qemu-kvm: the guest verified every page after the move" \
			"$(grep -o 'memory lost: [^,"]*' "$dir/samples.csv" | head -1)"
	points_ok "$dir" qemu-kvm 1 qemu-kvm.d1.w8.b0.t30 qemu-kvm.d1.w8.b1000.t30
	[ "$(value "$dir" qemu-kvm.d1.w8.b0.t30 migrate.converged 0)" = 1 ] &&
		ok "qemu-kvm: converged = 1 at the lowest dirty rate" ||
		not_ok "qemu-kvm: converged = 1 at the lowest dirty rate" "$(show qgrid)"
	row "$dir" ',qemu-kvm\.d1\.w8\.b0\.t30,migrate/dirty,migrate\.guest_downtime_ms,ms,lower,0,[0-9.e+-]+,ok,.*req_ns\.max' &&
		ok "qemu-kvm: the guest's downtime from its heartbeat, as kvm's" ||
		not_ok "qemu-kvm: the guest's downtime from its heartbeat"
	check "the qemu-kvm grid's result directory is valid" "$PY" tests/lib/check_results.py "$dir"
else
	skip "qemu-kvm: no guest image or no qemu-system-x86_64"
fi

# A point whose run fails: the failed row says why, the next point runs.
mig fail --runner kvm --dirty-rate 8 --wss 100,8 --reps 1 --timeout 120
[ "$rc" = 1 ] && ok "a failed point makes the command exit 1" || not_ok "a failed point: exit 1" "$(show fail)"
row "$dir" ',kvm\.d8\.w100\.b0\.t30,migrate/dirty,,,,[0-9]*,,failed,.*more than half the memory' &&
	ok "the failed point is a failed row saying why" || not_ok "the failed point says why" "$(show fail)"
[ "$(value "$dir" kvm.d8.w8.b0.t30 migrate.converged 0)" = 1 ] &&
	ok "and the next point was measured" || not_ok "and the next point was measured" "$(show fail)"
check "the result directory with a failed point is valid" "$PY" tests/lib/check_results.py "$dir"

# Ctrl-C while the second point runs: 130, interrupted, the first kept.
HVB_TEST_RUN=$tmp/int "$HVBENCH" migrate --out "$tmp/int" --runner kvm --dirty-rate 8,16 \
	--wss 8 --reps 1 --batches 64 >"$tmp/int.out" 2>"$tmp/int.err" &
bg=$!
second() { ls -d "$tmp"/int/*/runs/kvm.d16.w8.b0.t30/rep0/*/ >/dev/null 2>&1; }
if wait_until 120 second; then
	kill -INT "$bg"
	wait "$bg"; rc=$?; bg=; dir=$(run_dir int)
	[ "$rc" = 130 ] && ok "Ctrl-C: exit 130" || not_ok "Ctrl-C: exit 130" "rc=$rc"
	meta_has "$dir" '^status,interrupted' && meta_has "$dir" '^interrupted_at,kvm\.d16' &&
		ok "the run says interrupted, and where" || not_ok "the run says interrupted, and where"
	[ -n "$(value "$dir" kvm.d8.w8.b0.t30 migrate.total_ms 0)" ] &&
		ok "the point measured before Ctrl-C is kept" || not_ok "the point measured before is kept"
	wait_until 20 test -z "$(run_procs int hvbench)" && ok "no VM process of the grid is left" ||
		not_ok "no VM process of the grid is left"
else
	not_ok "Ctrl-C: the second point started" "$(tail -c 300 "$tmp/int.err")"
fi

tap_done
