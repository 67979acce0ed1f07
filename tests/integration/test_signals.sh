#!/usr/bin/env bash
# SIGTERM and SIGHUP stop a run like SIGINT: exit 128+signal, the run closed
# as interrupted with what it measured (a closed terminal or a CI job's
# cancel must not leave a run that looks like a crash, or one that looks
# complete).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
HVBENCH=${HVBENCH:-build/hvbench}
tmp=$(mktemp -d /tmp/hvb-signals-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

for sig in TERM HUP; do
	num=$(kill -l "$sig")
	"$HVBENCH" run -r native -w 'micro/syscall,micro/rdtsc' --reps 200 -o "$tmp/$sig" \
		>"$tmp/$sig.out" 2>"$tmp/$sig.err" &
	pid=$!
	# Sent once samples exist: the handler is installed by then.
	has_samples() {
		[ "$(cat "$tmp/$sig"/*/samples.csv.partial 2>/dev/null | wc -l)" -gt 1 ] ||
			! kill -0 $pid 2>/dev/null
	}
	wait_until 120 has_samples || echo "# no samples within 120 s: $(tail -c 300 "$tmp/$sig.err")"
	kill -"$sig" $pid
	wait $pid
	rc=$?
	dir=$(ls -d "$tmp/$sig"/*/ 2>/dev/null | head -1)
	check "SIG$sig ends the run with 128+$num" [ "$rc" -eq $((128 + num)) ]
	check "... the run is marked interrupted" grep -q '^status,interrupted$' "$dir/meta.csv"
	check "... its samples are final and non-empty" [ "$(wc -l <"$dir/samples.csv")" -gt 1 ]
done
tap_done
