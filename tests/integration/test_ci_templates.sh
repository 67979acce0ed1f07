#!/usr/bin/env bash
# The CI templates (ci/templates/github-actions.yml, gitlab-ci.yml): real
# YAML with what each CI system needs (parsed with python3-yaml, skipped
# visibly without it), and their steps run here as the templates write
# them, taken from the YAML: GitHub's gate step on an A/A run (the same
# build on both sides: exit 0, with GITHUB_ACTIONS=true as on GitHub), and
# GitLab's on an injected regression (the candidate runs cpu/crc32c with
# --param crc32c.passes=4, four passes per operation: exit 1).  A gate
# that could not judge a metric exits non-zero too.
#
# The checkouts are made up: `build` is this tree's build directory (or a
# wrapper of it that injects the regression) and the base's build is this
# tree's too, so no step builds anything.  HVB_TEST_CI_BUILD=1 also runs
# the build steps (both builds, minutes) in a clone of this repository.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
ROOT=$PWD
O=${O:-build}
HVBENCH=${HVBENCH:-$O/hvbench}
case $HVBENCH in /*) ;; *) HVBENCH=$ROOT/$HVBENCH ;; esac
case $O in /*) ;; *) O=$ROOT/$O ;; esac
PY=${PYTHON:-python3}
STEPS="$PY $ROOT/tests/lib/ci_steps.py"
GH=$ROOT/ci/templates/github-actions.yml
GL=$ROOT/ci/templates/gitlab-ci.yml
tmp=$(mktemp -d /tmp/hvb-citpl-XXXXXX)
trap 'rm -rf "$tmp"; [ -d "$tmp-clone" ] && rm -rf "$tmp-clone"' EXIT
unset GITHUB_ACTIONS GITHUB_STEP_SUMMARY CI

yaml=1
for t in "github $GH" "gitlab $GL"; do
	# shellcheck disable=SC2086 # "kind file"
	out=$($STEPS check $t 2>&1)
	rc=$?
	if [ $rc -eq 77 ]; then
		skip "${t%% *} template: no python3-yaml to parse it (apt-get install python3-yaml; ci/deps.d/templates)"
		yaml=
	else
		check "${t%% *} template: valid YAML with what the CI system needs ($out)" [ $rc -eq 0 ]
	fi
done

# The gate step of a template, as the YAML has it (without PyYAML: its line).
gate_step() {
	if [ -n "$yaml" ]; then
		$STEPS steps "$1" "$2" | grep -F 'ci/templates/ab-gate.sh run '
	else
		sed -n 's/^ *\(- \|run: \)\(ci\/templates\/ab-gate.sh run .*\)$/\2/p' "$2"
	fi
}
tpl_env() {
	if [ -n "$yaml" ]; then
		$STEPS env "$1" "$2"
	else
		sed -n 's/^ *\(HVB_AB_[A-Z]*\): "\{0,1\}\([^"]*\)"\{0,1\}$/\1=\2/p' "$2" | sort
	fi
}
gh_step=$(gate_step github "$GH")
gl_step=$(gate_step gitlab "$GL")
check "each template has one gate step ($gh_step | $gl_step)" \
	[ "$(echo "$gh_step" | wc -l)" -eq 1 -a "$(echo "$gl_step" | wc -l)" -eq 1 -a -n "$gh_step" -a -n "$gl_step" ]
tpl_env github "$GH" >"$tmp/gh.env"
tpl_env gitlab "$GL" >"$tmp/gl.env"
check "both templates set the same HVB_AB_* variables" \
	sh -c "[ -s '$tmp/gh.env' ] && cmp -s '$tmp/gh.env' '$tmp/gl.env'"
# The script's own defaults are the templates' values.
bad=""
while IFS== read -r k v; do
	grep -qF "\${$k:-$v}" ci/templates/ab-gate.sh || bad="$bad $k=$v"
done <"$tmp/gh.env"
check "ab-gate.sh defaults to the templates' values (${bad:-all})" [ -z "$bad" ]
check "ab-gate.sh is valid bash" bash -n ci/templates/ab-gate.sh
ci/templates/ab-gate.sh bogus >/dev/null 2>"$tmp/u.err"
check "ab-gate.sh with an unknown step: exit 2 and its usage" \
	sh -c "[ $? -eq 2 ] && grep -q 'usage:' '$tmp/u.err'"

# The gate steps measure (A/A rounds must agree within the threshold): make
# test runs them; under make check's sanitizer build the rounds are slower
# and noisier than any fixed threshold, and nothing in them is C code the
# rest of the suite does not run under the sanitizers.
case $O in */check)
	skip "the templates' gate steps (timed ab rounds): run by make test, not under the sanitizer build"
	tap_done
	exit ;;
esac

# The template's variables, with two changes for this host: a 25% minimum
# effect (the shared 2-CPU machine's A/A rounds scatter by tens of percent,
# and under CI=true, as CI systems run the steps, ab gates: an interval
# reaching past the threshold is inconclusive; the injected slowdown is 4x),
# and native where /dev/kvm is not usable.
set -a
# shellcheck disable=SC1090
. "$tmp/gh.env"
set +a
HVB_AB_THRESHOLD=25
if ! "$HVBENCH" list 2>/dev/null | grep -qE '^  kvm +available'; then
	echo "# kvm unavailable here: the gate runs the native runner"
	HVB_AB_RUNNER=native
fi
export HVB_AB_THRESHOLD HVB_AB_RUNNER

# A made-up checkout: ci/ from this tree, build/ given.
checkout() {
	mkdir -p "$1"
	ln -s "$ROOT/ci" "$1/ci"
	ln -s "$2" "$1/build"
}

# GitHub, A/A: the base's "build" is a copy of this build (hvbench and the
# guest image), as a change that alters nothing would build it.
checkout "$tmp/gh" "$O"
mkdir -p "$tmp/rt/hvbench-base/build/guest"
cp "$HVBENCH" "$tmp/rt/hvbench-base/build/hvbench"
cp "$O/guest/hvbench-guest.elf" "$tmp/rt/hvbench-base/build/guest/"
(cd "$tmp/gh" && CI=true RUNNER_TEMP=$tmp/rt BASE_REF=main GITHUB_ACTIONS=true \
	GITHUB_STEP_SUMMARY=$tmp/summary.md bash -euo pipefail -c "$gh_step") \
	>"$tmp/gh.out" 2>"$tmp/gh.err"
rc=$?
check "GitHub's gate step under CI=true (ab gates), A/A: exit 0 (ab and the step agree)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || grep -v "^hvbench: ab: round\|^  " "$tmp/gh.err" | tail -12 | sed "s/^/# /"
A=$tmp/gh/ab-gate
out=$($PY tests/lib/check_junit.py "$A/junit.xml" --failures 0 --skipped 0 --errors 0)
check "... the JUnit file is valid, nothing failed or skipped ($out)" [ "$out" = ok ]
check "... one result directory per round and side (10 + 10)" \
	[ "$(ls -d "$A"/ab/a/*/ | wc -l)" -eq "$HVB_AB_ROUNDS" -a "$(ls -d "$A"/ab/b/*/ | wc -l)" -eq "$HVB_AB_ROUNDS" ]
check "... a report of each side" [ -s "$A/report-a/report.html" -a -s "$A/report-b/report.html" ]
check "... the comparison as Markdown, also in the job summary, without commands" \
	sh -c "grep -q '^| runner | workload |' '$A/ab.md' && cmp -s '$A/ab.md' '$tmp/summary.md' &&
	       ! grep -q '^::' '$A/ab.md'"
check "... GITHUB_ACTIONS=true: annotations on (the table paused), said on stderr" \
	sh -c "grep -q '^::stop-commands::hvbench-' '$tmp/gh.out' && grep -q 'GITHUB_ACTIONS=true' '$tmp/gh.err'"
check "... and no ::error" sh -c "! grep -q '^::error' '$tmp/gh.out'"

# GitLab, an injected regression: the candidate's `run` gets
# --param crc32c.passes=4.
mkdir -p "$tmp/slow"
cat >"$tmp/slow/hvbench" <<EOF
#!/bin/sh
# the candidate with an injected regression: four CRC passes per operation
if [ "\$1" = run ]; then shift; exec "$HVBENCH" run --param crc32c.passes=4 "\$@"; fi
exec "$HVBENCH" "\$@"
EOF
chmod +x "$tmp/slow/hvbench"
checkout "$tmp/gl" "$tmp/slow"
mkdir -p "$tmp/builds/hvbench-base-7"
ln -s "$tmp/rt/hvbench-base/build" "$tmp/builds/hvbench-base-7/build"
(cd "$tmp/gl" && CI=true CI_BUILDS_DIR=$tmp/builds CI_JOB_ID=7 HVBENCH= bash -euo pipefail -c "$gl_step") \
	>"$tmp/gl.out" 2>"$tmp/gl.err"
rc=$?
check "GitLab's gate step under CI=true, injected regression: exit 1" [ $rc -eq 1 ]
[ $rc -eq 1 ] || tail -5 "$tmp/gl.err" | sed 's/^/# /'
B=$tmp/gl/ab-gate
out=$($PY tests/lib/check_junit.py "$B/junit.xml" --errors 0)
check "... the JUnit file (artifacts:reports:junit) is valid ($out)" [ "$out" = ok ]
for m in bandwidth ns_per_op; do
	check "... cpu/crc32c $m is a <failure type=regression>" \
		$PY -c '
import sys, xml.etree.ElementTree as ET
path, runner, metric = sys.argv[1:]
c = [c for c in ET.parse(path).getroot().iter("testcase")
     if c.get("classname") == runner + ".cpu/crc32c" and c.get("name") == metric]
sys.exit(not (c and c[0].find("failure") is not None and
              c[0].find("failure").get("type") == "regression"))' "$B/junit.xml" "$HVB_AB_RUNNER" "$m"
done
check "... the injection is on record: param.crc32c.passes 4 in every B run, 1 in every A run" \
	sh -c "[ \$(grep -l '^param.crc32c.passes,4$' '$B'/ab/b/*/meta.csv | wc -l) -eq $HVB_AB_ROUNDS ] &&
	       [ \$(grep -l '^param.crc32c.passes,1$' '$B'/ab/a/*/meta.csv | wc -l) -eq $HVB_AB_ROUNDS ]"

# Rounds too few for any verdict: the gate must not pass (ab-gate.sh exits
# 3 on the skipped test cases; an ab that refuses such rounds up front
# exits 2).
checkout "$tmp/few" "$O"
(cd "$tmp/few" && HVB_AB_ROUNDS=2 ci/templates/ab-gate.sh run "$tmp/rt/hvbench-base/build" build) \
	>/dev/null 2>"$tmp/few.err"
rc=$?
check "2 rounds: the gate does not pass (exit $rc: 3 inconclusive, or 2 refused)" \
	sh -c "{ [ $rc -eq 3 ] && grep -q 'could not be judged' '$tmp/few.err'; } || [ $rc -eq 2 ]"

# The build steps themselves: a clone of this repository, its branch as
# both the pull request and the base (an A/A of two builds).
if [ "${HVB_TEST_CI_BUILD:-}" != 1 ]; then
	skip "the templates' build steps (two builds of the tree, minutes): HVB_TEST_CI_BUILD=1 runs them"
	tap_done
	exit
fi
branch=$(git rev-parse --abbrev-ref HEAD)
git clone -q "$ROOT" "$tmp-clone/co"
cd "$tmp-clone/co" || exit 1
mkdir -p "$tmp-clone/rt"
$STEPS steps github "$GH" | grep -v -e 'ci/deps' -e 'ab-gate.sh run ' >"$tmp/build-steps"
while read -r step; do
	RUNNER_TEMP=$tmp-clone/rt BASE_REF=$branch bash -euo pipefail -c "$step" </dev/null >"$tmp/b.log" 2>&1
	check "GitHub step: $step" [ $? -eq 0 ] || tail -5 "$tmp/b.log" | sed 's/^/# /'
	case $step in *build-base*)
		check "... the base is built (hvbench and the guest image)" \
			[ -x "$tmp-clone/rt/hvbench-base/build/hvbench" -a -s "$tmp-clone/rt/hvbench-base/build/guest/hvbench-guest.elf" ]
		CI=true RUNNER_TEMP=$tmp-clone/rt bash -euo pipefail -c "$gh_step" </dev/null >/dev/null 2>"$tmp/b2.err"
		check "the gate step on the two builds of one commit: exit 0" [ $? -eq 0 ] ;;
	esac
done <"$tmp/build-steps"
tap_done
