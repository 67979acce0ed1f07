#!/usr/bin/env bash
# ci/fleet/playbook.yml against this machine (ansible_connection=local):
# sources archived, unpacked and built in the host's own work directory,
# the matrix run pinned, the run fetched, merged and reported.  Skips
# visibly without ansible-playbook.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh fleet-local
. tests/fleet/fleetlib.sh
need_ansible

cpu=$(($(nproc) - 1))
cat >"$tmp/inventory.ini" <<INV
[fleet]
thishost ansible_connection=local ansible_python_interpreter=/usr/bin/python3 hvb_workdir=$tmp/host hvb_cpu=$cpu
INV
playbook local "$tmp/inventory.ini" "$tmp/out"
fleet_checks local "$tmp/out" "$(uname -n)":$cpu
check "the host built in its own work directory" [ -x "$tmp/host/src/build/hvbench" ]
check "... from the archive: no .git, the commit in .hvbench-commit" \
	all_of '[ ! -e "$tmp/host/src/.git" ]' '[ -s "$tmp/host/src/.hvbench-commit" ]'
check "... and kept its result directory there" [ -L "$tmp/host/results/latest" ]
check "one host: the report has no Hosts section" lacks 'id="hosts"' "$tmp/out/report/report.html"

# A host whose run fails: the others' runs are not merged as if it had none.
cat >"$tmp/inventory2.ini" <<INV
[fleet]
thishost ansible_connection=local ansible_python_interpreter=/usr/bin/python3 hvb_workdir=$tmp/host hvb_cpu=$cpu
broken ansible_connection=local ansible_python_interpreter=/usr/bin/python3 hvb_workdir=$tmp/broken hvb_cpu=4096
INV
playbook refused "$tmp/inventory2.ini" "$tmp/out2"
check "a host whose run hvbench refuses (--cpu 4096) fails the playbook (rc $rc)" [ "$rc" -ne 0 ]
check "... at its run" \
	all_of 'grep -A3 "TASK \[hvbench_bench : Run the matrix\]" "$tmp/refused.out" | grep -q "^fatal: \[broken\]"'
check "... and the controller stops before merging, naming it" \
	all_of 'grep -q "no run from broken (its play failed" "$tmp/refused.out"' \
	'[ ! -e "$tmp/out2/merged/merge.csv" ]'
tap_done
