#!/usr/bin/env bash
# A run id is one safe path component whatever the host is called: readers
# refuse run ids outside [A-Za-z0-9._-], so hvbench run must never write one.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
HVBENCH=${HVBENCH:-build/hvbench}
PY=${PYTHON:-python3}
tmp=$(mktemp -d /tmp/hvb-runid-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if ! unshare -u true 2>/dev/null; then
	skip "no UTS namespace here (unshare -u): cannot give the host a hostile name"
	tap_done
	exit
fi
unshare -u "$PY" -c 'import os, socket, sys
socket.sethostname("we:ird h+ost")
os.execv(sys.argv[1], sys.argv[1:])' "$HVBENCH" run -r native -w micro/rdtsc --quick --reps 1 \
	--out "$tmp/r" >"$tmp/out" 2>&1
check "a run on a host named 'we:ird h+ost' exits 0" [ $? -eq 0 ]
id=$(ls "$tmp/r")
check "its run id is made safe ($id)" sh -c "echo '$id' | grep -qE '^[0-9]{8}-[0-9]{6}-we-ird-h-ost-[0-9]+\$'"
"$HVBENCH" report --no-plots --out "$tmp/rep" "$tmp/r/$id" >/dev/null 2>&1
check "... and the report reads it" [ $? -eq 0 ]
tap_done
