# What the fleet tests (test_fleet_local.sh, test_fleet_ssh.sh) share:
# running ci/fleet/playbook.yml with an inventory, and checking what it
# left on the controller.  Source it after tests/lib/runner.sh.

# need_ansible: skip the whole test, visibly, where ansible-playbook is missing.
need_ansible() {
	case ${O:-build} in */check)
		skip_rest "already run by make test (the hosts build their own hvbench: the sanitizer build does not change it)" ;;
	esac
	command -v ansible-playbook >/dev/null ||
		skip_rest "ansible-playbook not installed (apt-get install ansible-core; ci/deps.d/fleet)"
	[ -x "$HVBENCH" ] || skip_rest "no hvbench binary at $HVBENCH (run make)"
}

# playbook NAME INVENTORY OUT: run the playbook, its output in $tmp/NAME.out, rc.
# Ansible's own state (temporary files, ssh control sockets) stays under $tmp;
# the hosts' runs take the test's CPU locks (runner.sh's HVB_LOCK_DIR, as
# every test's runs do), not those of benchmarks running on this machine.
playbook() {
	: >"$tmp/ansible.cfg" # no ansible.cfg of the machine or the user applies
	shipped=$(git describe --always --dirty) # what the controller archives now
	ANSIBLE_LOCAL_TEMP=$tmp/ansible-local ANSIBLE_SSH_CONTROL_PATH_DIR=$tmp/ansible-cp \
		ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 \
		ANSIBLE_CONFIG=$tmp/ansible.cfg \
		ansible-playbook -i "$2" ci/fleet/playbook.yml -e "fleet_out=$3" \
		-e "fleet_hvbench=$(realpath "$HVBENCH")" \
		-e "{\"hvb_run_environment\": {\"HVB_LOCK_DIR\": \"$HVB_LOCK_DIR\"}}" \
		>"$tmp/$1.out" 2>&1
	rc=$?
}

# fleet_checks NAME OUT HOST_NAME:CPU...: what one fleet run must leave, for each
# host (its host_name in meta.csv and the CPU the inventory pinned it to).
fleet_checks() {
	local log=$tmp/$1.out out=$2 m=$2/merged spec name cpu dir n=$(($# - 2))
	shift 2
	if [ "$rc" -ne 0 ]; then # what it left cannot be checked: say why, once
		not_ok "playbook succeeded (rc $rc)"
		grep -A3 '^fatal:' "$log" | cut -c1-600 | sed 's/^/# /'
		return
	fi
	ok "playbook succeeded"
	check "merge.csv of the merged folder has one run per host ($n)" \
		[ "$(tail -n +2 "$m/merge.csv" 2>/dev/null | wc -l)" -eq "$n" ]
	for spec in "$@"; do
		name=${spec%%:*} cpu=${spec#*:}
		dir=$(awk -F, -v h="$name" 'NR > 1 && $2 == h { print $1 }' "$m/merge.csv")
		check "$name: its run is in merge.csv with its host_name and status complete" \
			grep -q "^$dir,$name,[0-9a-f]*,[a-z-]*,complete," "$m/merge.csv"
		check "$name: the run directory reads (meta.csv, samples.csv)" \
			all_of '[ -n "$dir" ]' '[ -s "$m/$dir/meta.csv" ]' '[ -s "$m/$dir/samples.csv" ]'
		check "$name: it ran the inventory's matrix, pinned to CPU $cpu" \
			grep -q "^command_line,.*--runner native,kvm --workload cpu/crc32c .*--quick --cpu $cpu\"\$" "$m/$dir/meta.csv"
		check "$name: ... pinned where it ran (meta cpus $cpu)" grep -qx "cpus,$cpu" "$m/$dir/meta.csv"
		check "$name: native and kvm both have cpu/crc32c rows" \
			all_of 'grep -q ",native,cpu/crc32c," "$m/$dir/samples.csv"' \
			'grep -q ",kvm,cpu/crc32c," "$m/$dir/samples.csv"'
		check "$name: built from this tree's commit ($shipped)" \
			grep -qx "hvbench_commit,$shipped" "$m/$dir/meta.csv"
	done
	check "the report of the merged folder was written" [ -s "$out/report/report.html" ]
}

# lacks TEXT FILE: FILE does not contain TEXT.
lacks() { [ -f "$2" ] && ! grep -q -- "$1" "$2"; }

# all_of 'CMD' ...: every command (a string, evaluated) succeeds.
all_of() {
	local c
	for c; do eval "$c" || return 1; done
}
