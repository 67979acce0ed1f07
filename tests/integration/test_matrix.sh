#!/usr/bin/env bash
# The declared runner x workload matrix (tests/matrix.txt): for every runner
# it names, one `hvbench run --quick --reps 1` over the runner's declared
# workloads; then every cell is checked against the declaration (status,
# reason) by tests/lib/matrix.py and the result directory against
# results/FORMAT.md.  A runner unavailable here (no /dev/kvm, no QEMU, not
# a Xen dom0, no guest image) is skipped with hvbench's reason.
# HVB_MATRIX=FILE checks another declaration; HVB_MATRIX_RUNNERS=kvm,native
# only those runners.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh matrix
MATRIX=${HVB_MATRIX:-tests/matrix.txt}

list_workloads
# Every run first (hvbench then never reads this list from its stdin).
if ! out=$("$PY" tests/lib/matrix.py runs "$MATRIX" "$tmp/workloads" 2>&1) || [ -z "$out" ]; then
	not_ok "$MATRIX declares runs" "$out"
	tap_done
	exit
fi
mapfile -t runs <<<"$out"

for r in "${runs[@]}"; do
	IFS=$'\t' read -r runner globs <<<"$r"
	case ",${HVB_MATRIX_RUNNERS:-$runner}," in *",$runner,"*) ;; *) continue ;; esac
	why=$(runner_why "$runner")
	case $? in
	0) ;;
	1)
		skip "$runner runner unavailable: $why"
		continue
		;;
	*)
		not_ok "hvbench list runs" "$why"
		continue
		;;
	esac
	start=$SECONDS
	run "$runner" --runner "$runner" --workload "$globs" --quick --reps 1 --timeout 120
	check "$runner: run over $globs exits 0 ($((SECONDS - start)) s)" [ "$rc" -eq 0 ]
	[ "$rc" -eq 0 ] || echo "# $(show "$runner")"
	check_valid "$runner: result directory is valid" "$dir" --runner "$runner" \
		--list "$tmp/workloads"
	if ! out=$("$PY" tests/lib/matrix.py check "$MATRIX" "$runner" "${dir:-$tmp/$runner}" \
		"$tmp/workloads" 2>&1); then
		not_ok "$runner: the cells checked against $MATRIX" "$out"
		continue
	fi
	while IFS=$'\t' read -r verdict desc why; do
		if [ "$verdict" = ok ]; then ok "$desc"; else not_ok "$desc" "$why"; fi
	done <<<"$out"
done
tap_done
