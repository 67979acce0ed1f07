#!/usr/bin/env bash
# `make install` into a temporary prefix gives an hvbench that works on its
# own, from any directory: it finds its guest image and its report scripts
# under PREFIX/share/hvbench (not in the source tree it was built from), a
# run and a report land under the current directory, and nothing is written
# into the source tree.  Also: DESTDIR staging, `make uninstall`, and the
# message when the installed image is missing.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh install
src=$PWD
prefix=$tmp/prefix

# The build of this test run: a sanitizer build (make check) must be
# relinked, if at all, with the same flags.
san=0
ldd "$HVBENCH" 2>/dev/null | grep -q libasan && san=1
inst() { make --no-print-directory O="$O" SANITIZE=$san "$@" >"$tmp/make.out" 2>&1; }

# check_log LOG DESC CMD...: check, and on failure show the end of LOG.
check_log() {
	local log=$1 desc=$2
	shift 2
	if "$@"; then ok "$desc"; else not_ok "$desc" "$(tail -5 "$log" | tr '\n' ' ')"; fi
}
# misses_image FILE: hvbench list's output says the guest image is unusable.
misses_image() { grep -q "build it with make" "$1"; }
has_image() { ! misses_image "$1"; }

# What the tree holds: tracked changes, untracked and ignored files (a
# report written to reports/out/ or a run to results/ would show), the
# build directories aside.
tree_state() {
	git -C "$src" status --porcelain --ignored --untracked-files=all -- . ':!build*'
}
tree_state >"$tmp/tree.before" 2>&1 || tree_state=none

inst install PREFIX="$prefix"
check_log "$tmp/make.out" "make install PREFIX=... exits 0" [ $? -eq 0 ]
check "... installs bin/hvbench" [ -x "$prefix/bin/hvbench" ]
check "... installs the guest image" \
	cmp -s "$O/guest/hvbench-guest.elf" "$prefix/share/hvbench/guest/hvbench-guest.elf"
check "... installs the report script and its modules" \
	[ -f "$prefix/share/hvbench/reports/hvbench_report.py" -a \
	  -f "$prefix/share/hvbench/reports/hvbreport/render.py" -a \
	  -f "$prefix/share/hvbench/reports/gnuplot/common.gp" ]
check "... and no rendered report or bytecode" \
	[ -z "$(find "$prefix" -name out -o -name __pycache__ -o -name report.html)" ]

# From a directory of its own, with no hint where anything is.
work=$tmp/work
mkdir -p "$work"
cd "$work" || exit 1
unset HVB_GUEST_IMAGE HVB_REPORTS_DIR
hvb=$prefix/bin/hvbench

"$hvb" list >"$tmp/list" 2>&1
check "installed hvbench list exits 0" [ $? -eq 0 ]
# kvm needs both /dev/kvm and the image: if it is unavailable, it must not
# be for want of the image.
check "... and does not miss the guest image" has_image "$tmp/list"

"$hvb" run --runner native --workload micro/rdtsc --quick --reps 1 >"$tmp/nat.out" 2>&1
rc=$?
nat=$(ls -d "$work"/results/*/ 2>/dev/null | head -1)
check_log "$tmp/nat.out" "a native --quick run exits 0" [ $rc -eq 0 ]
check "... and writes results/ under the current directory" [ -f "$nat/samples.csv" ]

HVBENCH=$hvb
if why=$(runner_why kvm); then
	"$hvb" run --runner kvm --workload micro/rdtsc --quick --reps 1 --out kvm \
		>"$tmp/kvm.out" 2>&1
	rc=$?
	kvm=$(ls -d "$work"/kvm/*/ 2>/dev/null | head -1)
	check_log "$tmp/kvm.out" "a kvm --quick run exits 0" [ $rc -eq 0 ]
	check "... booted the installed image" \
		grep -qxF "runner.kvm.image,$(realpath "$prefix")/share/hvbench/guest/hvbench-guest.elf" \
		"$kvm/meta.csv"
	check "... and measured micro/rdtsc" has_ok "$kvm" kvm micro/rdtsc
else
	skip "kvm runner unavailable here: $why"
fi

# The report: the installed script (PYTHON is a wrapper that says which
# script it was given), written under ./hvbench-report/<run-id>/.
printf '#!/bin/sh\necho "$1" >>%s\nexec %s "$@"\n' "$tmp/py.log" "$(command -v "$PY")" \
	>"$tmp/py"
chmod +x "$tmp/py"
run_id=$(basename "$nat")
PYTHON=$tmp/py "$hvb" report --no-plots "$nat" >"$tmp/rep.out" 2>&1
rc=$?
check_log "$tmp/rep.out" "hvbench report of the run exits 0" [ $rc -eq 0 ]
check "... runs the installed report script" \
	grep -qxF "$(realpath "$prefix")/share/hvbench/reports/hvbench_report.py" "$tmp/py.log"
check "... writes ./hvbench-report/<run-id>/ and prints where" \
	[ -s "$work/hvbench-report/$run_id/report.html" -a \
	  "$(tail -1 "$tmp/rep.out")" = "$work/hvbench-report/$run_id/report.html" ]

cd "$src" || exit 1
if [ "${tree_state:-}" = none ]; then
	skip "not a git checkout: cannot tell whether the source tree changed"
else
	tree_state >"$tmp/tree.after" 2>&1
	diff "$tmp/tree.before" "$tmp/tree.after" >"$tmp/tree.diff"
	check_log "$tmp/tree.diff" "nothing was written into the source tree" [ $? -eq 0 ]
fi

# A missing installed image: kvm is unavailable with a reason naming it.
rm "$prefix/share/hvbench/guest/hvbench-guest.elf"
"$hvb" list --runners >"$tmp/list2" 2>&1
check "without its image, the installed hvbench names the installed path" \
	grep -qF "$(realpath "$prefix")/share/hvbench/guest/hvbench-guest.elf" "$tmp/list2"

inst uninstall PREFIX="$prefix"
check_log "$tmp/make.out" "make uninstall removes what install put there" \
	[ $? -eq 0 -a ! -e "$prefix/bin/hvbench" -a ! -e "$prefix/share/hvbench" ]

# Staged (packaging): the tree under DESTDIR works where it lies, since the
# data is found relative to the binary.
inst install DESTDIR="$tmp/stage" PREFIX=/usr/local
check_log "$tmp/make.out" "make install DESTDIR=... stages under DESTDIR" \
	[ -x "$tmp/stage/usr/local/bin/hvbench" -a \
	  -f "$tmp/stage/usr/local/share/hvbench/guest/hvbench-guest.elf" ]
"$tmp/stage/usr/local/bin/hvbench" list --runners >"$tmp/list3" 2>&1
check "... and the staged hvbench does not miss its image" has_image "$tmp/list3"
tap_done
