# Helpers of the kvm migration tests (tests/integration/test_migrate_kvm*.sh),
# sourced after tests/lib/runner.sh.

# metric DIR NAME: the value of the kvm migrate/dirty row NAME (rep 0).
metric() {
	awk -F, -v m="$2" '$2 == "kvm" && $3 == "migrate/dirty" && $4 == m && $9 == "ok" \
		{ print $8; exit }' "$1/samples.csv" 2>/dev/null
}

# dest_reading PID: the destination has read more than 1 MiB of the stream.
dest_reading() {
	local r
	r=$(awk '/^rchar:/ { print $2 }' "/proc/$1/io" 2>/dev/null)
	[ -n "$r" ] && [ "$r" -gt 1048576 ]
}
dest_pid() { run_procs "$1" 'migrate-dest --fd' | head -1; }
has_dest() { [ -n "$(dest_pid "$1")" ]; }

# kill_dest NAME WHAT RUN-ARGS...: start run NAME (HVB_KVM_MIGRATE from the
# caller's environment), kill -9 its destination once it is reading the
# stream; the cell must fail saying the destination went away, and no
# destination and no VM process of the run be left.  WHAT starts the
# checks' names.
kill_dest() {
	local name=$1 what=$2 d
	shift 2
	start "$name" "$@"
	wait_until 60 has_dest "$name"
	d=$(dest_pid "$name")
	if [ -z "$d" ] || ! wait_until 60 dest_reading "$d"; then
		not_ok "$what, destination killed: it was migrating" "$(show "$name")"
		return
	fi
	kill -9 "$d"
	wait "$bg"; rc=$?; bg=; dir=$(run_dir "$name")
	grep -qE 'migrate/dirty,,,,[0-9]*,,failed,.*migration failed: .*destination went away' \
		"$dir/samples.csv" 2>/dev/null &&
		ok "$what, destination killed: the cell failed saying it went away" ||
		not_ok "$what, destination killed: the cell failed saying it went away" "$(show "$name")"
	[ -z "$(dest_pid "$name")" ] && ok "no destination left" || not_ok "no destination left"
	[ -z "$(run_procs "$name" 'hvbench')" ] && ok "no VM process of the run is left" ||
		not_ok "no VM process of the run is left"
}
