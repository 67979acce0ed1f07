#!/usr/bin/env bash
# hvbench ab --a-rev/--b-rev: two git revisions of hvbench itself, each
# checked out into a private worktree under ab's output directory, built
# with the repository's Makefile and run as its side; the resolved commits
# are recorded, a build that fails names its revision and log, and the
# worktrees are gone at the end, also after Ctrl-C.  The repository is a
# throwaway clone of this tree with one commit on top that changes the
# version string, so the runs themselves tell which build made them.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
HVBENCH=${HVBENCH:-build/hvbench}
case $HVBENCH in /*) ;; *) HVBENCH=$PWD/$HVBENCH ;; esac
if ! command -v git >/dev/null || ! command -v make >/dev/null; then
	skip "git or make is missing: ab --a-rev/--b-rev need both"
	tap_done
	exit
fi
if [ ! -e .git ]; then
	skip "this tree is no git checkout: nothing to clone revisions from"
	tap_done
	exit
fi
tmp=$(mktemp -d /tmp/hvb-abrev-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
repo=$tmp/repo
# HEAD of this tree plus what the worktree has uncommitted: the clone builds what is tested
git clone -q --no-local . "$repo" 2>"$tmp/clone.err" || { not_ok "clone this tree" "$(cat "$tmp/clone.err")"; tap_done; exit; }
git diff HEAD | (cd "$repo" && git apply --allow-empty 2>/dev/null)
git -C "$repo" -c user.name=t -c user.email=t@t commit -qam "base as tested" --allow-empty
git -C "$repo" tag base
sed -i 's/^HVB_VERSION := .*/HVB_VERSION := 0.1.0-cand/' "$repo/Makefile"
git -C "$repo" -c user.name=t -c user.email=t@t commit -qam "cand: another version string"
git -C "$repo" tag cand
echo '$(error broken on purpose)' >>"$repo/Makefile"
git -C "$repo" -c user.name=t -c user.email=t@t commit -qam "broken build"
git -C "$repo" tag broken
base=$(git -C "$repo" rev-parse base) cand=$(git -C "$repo" rev-parse cand)

# Two real builds (the unit tests skipped: --make-args), 3 tiny rounds.
out=$tmp/ab
"$HVBENCH" ab --repo "$repo" --a-rev base --b-rev cand --make-args 'TEST_BINS=' \
	--runner kvm --workload micro/cpuid --reps 3 --out "$out" --format csv -- --quick \
	>"$tmp/ab.csv" 2>"$tmp/ab.err"
rc=$?
check "two revisions built and compared (exit 0 or 1, rc $rc)" [ $rc -le 1 ]
[ $rc -le 1 ] || sed 's/^/#   /' "$tmp/ab.err" | tail -15
check "each side has its build log" sh -c "[ -s '$out/build-a.log' ] && [ -s '$out/build-b.log' ]"
check "the build ran make in the worktree" grep -q '^+ make -j[0-9]* O=build TEST_BINS=' "$out/build-a.log"
check "3 runs per side" sh -c "[ \$(ls '$out/a' | wc -l) -eq 3 ] && [ \$(ls '$out/b' | wc -l) -eq 3 ]"
check "A's runs record the resolved base commit" \
	sh -c "grep -qx 'ab.rev_commit,$base' '$out'/a/*/meta.csv && grep -qx 'ab.rev,base' '$out'/a/*/meta.csv"
check "B's runs record the resolved cand commit" \
	sh -c "grep -qx 'ab.rev_commit,$cand' '$out'/b/*/meta.csv && grep -qx 'ab.rev,cand' '$out'/b/*/meta.csv"
check "B's runs were made by the cand build (its version string)" \
	sh -c "[ \$(grep -lx 'hvbench_version,0.1.0-cand' '$out'/b/*/meta.csv | wc -l) -eq 3 ]"
check "... and A's by the base build" sh -c "! grep -q 'hvbench_version,0.1.0-cand' '$out'/a/*/meta.csv"
check "A's runs record the build's git describe" \
	grep -q "^hvbench_commit,${base:0:7}" "$out"/a/*/meta.csv
check "ab says which commit each side is" \
	sh -c "grep -q 'rev:     base = $base' '$tmp/ab.err' && grep -q 'rev:     cand = $cand' '$tmp/ab.err'"
check "boot_ms is compared next to micro/cpuid" grep -q '^kvm,boot,boot_ms,' "$tmp/ab.csv"
check "the worktrees are removed at the end" sh -c "[ ! -e '$out/src-a' ] && [ ! -e '$out/src-b' ]"
check "... and git forgot them" sh -c "[ \$(git -C '$repo' worktree list | wc -l) -eq 1 ]"

# A build that fails (A, so that no other build comes first): exit 2,
# naming the revision and the log; cleaned up.
"$HVBENCH" ab --repo "$repo" --a-rev broken --b-rev base --reps 1 --out "$tmp/broken" \
	>/dev/null 2>"$tmp/broken.err"
rc=$?
check "a failed build: exit 2 (rc $rc)" [ $rc -eq 2 ]
check "a failed build names the revision and the log" \
	grep -q "ab: --a-rev broken ([0-9a-f]*): the build failed (status [0-9]*), see $tmp/broken/build-a.log" "$tmp/broken.err"
check "the log has make's error" grep -q 'broken on purpose' "$tmp/broken/build-a.log"
check "the failed build's worktrees are removed" \
	sh -c "[ ! -e '$tmp/broken/src-a' ] && [ ! -e '$tmp/broken/src-b' ] && [ \$(git -C '$repo' worktree list | wc -l) -eq 1 ]"

# Unknown revision: refused before anything is checked out.
"$HVBENCH" ab --repo "$repo" --a-rev base --b-rev no-such-rev --out "$tmp/norev" >/dev/null 2>"$tmp/norev.err"
rc=$?
check "an unknown revision: exit 2 with why (rc $rc)" \
	sh -c "[ $rc -eq 2 ] && grep -q -- '--b-rev no-such-rev: not a commit of the repository' '$tmp/norev.err'"
check "two names of one commit are one side: refused without --aa" \
	sh -c "'$HVBENCH' ab --repo '$repo' --a-rev cand --b-rev broken~1 --out '$tmp/same' 2>&1 >/dev/null | grep -q 'A and B are the same'"
check "--a BIN and --a-rev together are refused" \
	sh -c "'$HVBENCH' ab --a '$HVBENCH' --a-rev base --repo '$repo' --out '$tmp/both' 2>&1 >/dev/null | grep -q 'not both'"

# Ctrl-C during a build: ab stops with 128+SIGINT and removes the worktree.
"$HVBENCH" ab --repo "$repo" --a-rev base --b-rev cand --reps 1 --out "$tmp/intr" \
	>/dev/null 2>"$tmp/intr.err" &
pid=$!
if wait_until 60 test -e "$tmp/intr/src-a/Makefile"; then
	wait_until 30 grep -q '^+ make' "$tmp/intr/build-a.log"
	kill -INT $pid
	wait $pid
	rc=$?
	check "Ctrl-C during a build: exit 130 (rc $rc)" [ $rc -eq 130 ]
	check "Ctrl-C during a build: says it stopped, not that the build failed" \
		sh -c "grep -q 'stopped by signal 2 while building' '$tmp/intr.err' && ! grep -q 'the build failed' '$tmp/intr.err'"
	check "Ctrl-C during a build: the worktree is removed" \
		sh -c "[ ! -e '$tmp/intr/src-a' ] && [ \$(git -C '$repo' worktree list | wc -l) -eq 1 ]"
else
	kill $pid 2>/dev/null
	wait $pid
	not_ok "Ctrl-C during a build: the worktree never appeared" "$(tail -3 "$tmp/intr.err")"
fi
tap_done
