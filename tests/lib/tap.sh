# TAP helpers for shell tests: source it, call ok/not_ok/skip, end with tap_done.
TAP_N=0
TAP_FAILED=0

# check DESC CMD...: runs CMD; ok if it succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1"
}

not_ok() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $1"
	[ -n "${2:-}" ] && echo "#   $2"
	return 0
}

skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N # SKIP $1"
}

tap_done() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds (return 0)
# or SECONDS have passed (return 1).  Wait for the state a check needs (the
# run has started a cell, QEMU exists) instead of sleeping a fixed time that
# a loaded machine can overrun.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
}
