#!/usr/bin/env bash
# The steps of the CI templates (github-actions.yml, gitlab-ci.yml), in one
# script both call and tests/integration/test_ci_templates.sh runs as is.
#
#   ab-gate.sh build-base REV DIR   check out REV (the base branch) as a
#                                   second worktree in DIR and build it there
#   ab-gate.sh run BASE CAND        hvbench ab of BASE against CAND (hvbench
#                                   binaries or build directories), then
#                                   the reports; the exit status is the verdict
#
# run writes everything under $HVB_AB_OUT (default ab-gate), to publish as
# artifacts: ab/a/<run>, ab/b/<run> (the result directories, one per round
# and side), ab.md (the comparison as Markdown), junit.xml (one test case
# per runner, workload and metric), report-a/ and report-b/ (hvbench
# report of each side).  Under GitHub Actions the comparison also goes to
# the job summary and the verdicts become annotations.
#
# Environment (optional):
#   HVB_AB_OUT        output directory (default ab-gate; must not hold an ab/ yet)
#   HVB_AB_ROUNDS     ABBA rounds (default 10: with 10 pairs the paired test's
#                     smallest p, 2/2^10, stays below alpha 0.05 after the
#                     Benjamini-Hochberg adjustment over up to 25 metrics)
#   HVB_AB_RUNNER     runners (default kvm)
#   HVB_AB_WORKLOAD   workloads (default micro/cpuid,cpu/crc32c: short)
#   HVB_AB_THRESHOLD  smallest effect that counts, in percent (default 2)
#   HVB_AB_THRESHOLDS a thresholds file (hvbench thresholds --out FILE of a few
#                     baseline runs on this runner): per-metric minimum effects
#                     from the runner's own noise, HVB_AB_THRESHOLD for the rest.
#                     CI systems set CI=true, which puts ab in gate mode: an A/A
#                     whose intervals are wider than the threshold then ends 3
#                     (inconclusive), so a noisy runner needs this file, a larger
#                     threshold or more rounds
#   HVB_AB_RUN_ARGS   more `hvbench run` options for both sides (e.g. "--cpu 1")
#   HVBENCH           the hvbench that runs ab (default: CAND's)
#   HVB_AB_MAKE_ARGS  make options of build-base (default -j<CPUs>)
#
# Exit status of run: ab's (0 no regression, 1 regression or a cell that
# failed in the candidate only, 2 invalid input, too few rounds for the
# gate or a run that failed, 3 the gate could not judge a metric: ab is in
# gate mode under CI=true, which CI systems set), and 3 too when ab without
# the gate passed but some metric could not be judged (a skipped JUnit
# case: inconclusive, or measured on one side only): a gate must not pass
# on what it did not test.
set -euo pipefail

die() {
	echo "ab-gate: $*" >&2
	exit 2
}

build_base() {
	local rev=$1 dir=$2
	[ -e "$dir" ] && die "$dir exists: give a new directory for the base's worktree"
	git rev-parse --verify -q "$rev^{commit}" >/dev/null ||
		die "no commit '$rev' (fetch the base branch: checkout with full history)"
	git worktree add --detach "$dir" "$rev"
	# hvbench and the guest image the VM runners boot (not the tests)
	make -C "$dir" ${HVB_AB_MAKE_ARGS:--j"$(nproc)"} build/hvbench build/guest/hvbench-guest.elf
}

bin_of() {
	if [ -d "$1" ]; then echo "$1/hvbench"; else echo "$1"; fi
}

# What the JUnit file's root says, e.g. skipped="2" -> 2.
junit_count() {
	sed -n "s/.*<testsuites [^>]*$1=\"\([0-9]*\)\".*/\1/p" "$2" | head -1
}

run_gate() {
	local base=$1 cand=$2 out=${HVB_AB_OUT:-ab-gate} hvb st skipped
	local thresholds=${HVB_AB_THRESHOLDS:-}
	hvb=${HVBENCH:-$(bin_of "$cand")}
	[ -x "$hvb" ] || die "no hvbench at $hvb (build the candidate first, or set HVBENCH)"
	[ -e "$out/ab" ] && die "$out/ab exists: give a new HVB_AB_OUT"
	mkdir -p "$out"
	set +e
	# shellcheck disable=SC2086 # HVB_AB_RUN_ARGS is a list of options
	"$hvb" ab --a "$base" --b "$cand" --reps "${HVB_AB_ROUNDS:-10}" \
		--runner "${HVB_AB_RUNNER:-kvm}" --workload "${HVB_AB_WORKLOAD:-micro/cpuid,cpu/crc32c}" \
		--threshold "${HVB_AB_THRESHOLD:-2}" \
		${thresholds:+--thresholds "$thresholds"} \
		--out "$out/ab" --junit "$out/junit.xml" \
		--format markdown -- ${HVB_AB_RUN_ARGS:-} | tee "$out/ab.out"
	st=${PIPESTATUS[0]}
	# the Markdown without the workflow commands (annotations) around it
	grep -v '^::' "$out/ab.out" >"$out/ab.md"
	rm -f "$out/ab.out"
	set -e
	if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -s "$out/ab.md" ]; then
		cat "$out/ab.md" >>"$GITHUB_STEP_SUMMARY"
	fi
	# The reports are for reading: one that fails does not change the verdict.
	for side in a b; do
		[ -d "$out/ab/$side" ] || continue
		"$hvb" report --out "$out/report-$side" --title "hvbench ab: side $side" \
			"$out/ab/$side"/*/ >/dev/null ||
			echo "ab-gate: warning: the report of side $side failed (the verdict stands)" >&2
	done
	if [ "$st" -eq 0 ] && [ -s "$out/junit.xml" ]; then
		skipped=$(junit_count skipped "$out/junit.xml")
		if [ "${skipped:-0}" -gt 0 ]; then
			echo "ab-gate: $skipped metric(s) could not be judged (inconclusive or on one side" \
				"only; see $out/junit.xml): more rounds (HVB_AB_ROUNDS) or fix the cells" >&2
			st=3
		fi
	fi
	echo "ab-gate: exit $st (results in $out)" >&2
	return "$st"
}

case "${1:-}" in
build-base)
	[ $# -eq 3 ] || die "usage: $0 build-base REV DIR"
	build_base "$2" "$3"
	;;
run)
	[ $# -eq 3 ] || die "usage: $0 run BASE CAND (hvbench binaries or build directories)"
	run_gate "$2" "$3"
	;;
*)
	die "usage: $0 build-base REV DIR | run BASE CAND"
	;;
esac
