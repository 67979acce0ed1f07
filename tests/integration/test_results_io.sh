#!/usr/bin/env bash
# hvbench run when writing the results goes wrong: a file system that fills
# up mid-run (for a while, or to the end), the run directory removed or
# its file system unmounted mid-run, a read-only --out.  Each ends the run with exit 1, a
# message naming the file and the error, and a run directory that never
# claims to be complete and holds only whole rows.  File systems are small
# tmpfs mounts (root); without mount permission those cases skip.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
HVBENCH=${HVBENCH:-build/hvbench}
PY=${PYTHON:-python3}
tmp=$(mktemp -d /tmp/hvb-resio-XXXXXX)
mounts=()
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	for m in "${mounts[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# mount_tmpfs DIR SIZE: a tmpfs of SIZE at DIR; 1 if mounting is not allowed.
mount_tmpfs() {
	mkdir -p "$1" && mount -t tmpfs -o "size=$2" tmpfs "$1" 2>/dev/null || return 1
	mounts+=("$1")
}

# fill DIR: take every free byte of DIR's file system (a tmpfs counts pages).
fill() {
	local free i=0
	while free=$(df --output=avail -B1 "$1" | tail -1) && [ "$free" -gt 0 ] && [ $i -lt 5 ]; do
		fallocate -l "$free" "$1/filler.$i" 2>/dev/null ||
			dd if=/dev/zero of="$1/filler.$i" bs=4096 count=$((free / 4096)) 2>/dev/null
		i=$((i + 1))
	done
	[ "$(df --output=avail -B1 "$1" | tail -1)" -eq 0 ]
}

# whole_rows DIR: every data file holds whole rows only (no torn or glued
# row), in their final or .partial names.
whole_rows() {
	"$PY" - "$1" <<'EOF'
import csv, os, sys
d = sys.argv[1]
cols = {"samples.csv": 10, "counters.csv": 11, "exits.csv": 13}
for name, n in cols.items():
    for path in (os.path.join(d, name), os.path.join(d, name + ".partial")):
        if not os.path.exists(path):
            continue
        text = open(path, newline="").read()
        if text and not text.endswith("\n"):
            sys.exit(f"{path}: ends in a torn row")
        for i, row in enumerate(csv.reader(text.splitlines(True), strict=True), 1):
            if len(row) != n:
                sys.exit(f"{path}:{i}: {len(row)} fields, not {n}: {row[:4]}...")
EOF
}

# max_rep ERRFILE: the highest repetition the progress lines reached.
max_rep() { grep -o 'rep [0-9]*/' "$1" | tr -dc '0-9\n' | sort -n | tail -1; }

# start NAME OUT ARGS...: hvbench run in the background; sets pid.
start() {
	local name=$1 out=$2
	shift 2
	"$HVBENCH" run -r native "$@" --out "$out" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pid=$!
}

# finish: wait for the run started last; sets rc.
finish() {
	wait "$pid"
	rc=$?
	pid=
}

# rows_at_least N OUT: samples.csv.partial under OUT has N lines (or the run ended).
rows_at_least() {
	[ "$(cat "$2"/*/samples.csv.partial 2>/dev/null | wc -l)" -ge "$1" ] ||
		! kill -0 "$pid" 2>/dev/null
}

# failed_run NAME DIR: the checks every run stopped by a write error passes.
failed_run() {
	local name=$1 dir=$2
	check "$name: exit status 1 (rc=$rc)" [ "$rc" -eq 1 ]
	check "$name: meta.csv says status=failed, never complete" \
		grep -q '^status,failed$' "$dir/meta.csv"
	check "$name: no data file is published under its final name" \
		[ ! -e "$dir/samples.csv" -a ! -e "$dir/counters.csv" -a -e "$dir/samples.csv.partial" ]
	if out=$(whole_rows "$dir" 2>&1); then
		ok "$name: the files hold whole rows only"
	else
		not_ok "$name: the files hold whole rows only" "$out"
	fi
}

W='cpu/*'
# ------------------------------------------- full for a while, then freed
if ! mount_tmpfs "$tmp/a" 2m; then
	skip "disk full: cannot mount a tmpfs here (needs root)"
else
	start a "$tmp/a/out" -w "$W" --quick --reps 40
	# Two repetitions (20 rows each) are written: the run is in full swing.
	wait_until 120 rows_at_least 41 "$tmp/a/out" || echo "# no rows within 120 s"
	fill "$tmp/a" || echo "# could not fill the tmpfs: $(df -B1 "$tmp/a" | tail -1)"
	at=$(max_rep "$tmp/a.err")
	# The job that ran into the full disk ends; a run that did not notice
	# starts a second one.  Then the space comes back.
	past() { ! kill -0 "$pid" 2>/dev/null || [ "$(max_rep "$tmp/a.err")" -ge $((at + 2)) ]; }
	wait_until 120 past
	rm -f "$tmp"/a/filler.*
	finish
	dir=$(ls -d "$tmp"/a/out/*/ | head -1)
	dir=${dir%/}
	failed_run "full for a while" "$dir"
	check "full for a while: the run stopped at the failure (rep $at, then $(max_rep "$tmp/a.err"))" \
		[ "$(max_rep "$tmp/a.err")" -lt $((at + 2)) ]
	if grep -q "No space left on device (errno 28)" "$tmp/a.err" &&
		grep -qE "$dir/(samples|counters|exits|log)\.(csv|txt)\.partial" "$tmp/a.err"; then
		ok "full for a while: the message names the file and the errno"
	else
		not_ok "full for a while: the message names the file and the errno" "$(cat "$tmp/a.err" | tail -3)"
	fi
	check "full for a while: ... and says what to do" grep -q 'free space or choose another --out' "$tmp/a.err"
	check "full for a while: failed_reason names the file and the errno" \
		grep -qE '^failed_reason,.*\.partial.*No space left on device \(errno 28\)' "$dir/meta.csv"
	"$HVBENCH" compare "$dir" "$dir" >"$tmp/cmp" 2>&1
	c=$?
	check "hvbench compare refuses the failed run as incomplete (exit $c)" \
		eval '[ "$c" -eq 2 ] && grep -q "status=failed" "$tmp/cmp"'
	"$HVBENCH" report --no-plots --out "$tmp/rep" "$dir" >"$tmp/rep.out" 2>&1
	c=$?
	check "hvbench report refuses it too (exit $c)" \
		eval '[ "$c" -eq 1 ] && grep -q "status is .failed." "$tmp/rep.out"'
	"$HVBENCH" report --allow-partial --no-plots --out "$tmp/rep" "$dir" >"$tmp/rep.out" 2>&1
	c=$?
	check "... and renders it with --allow-partial, as PARTIAL (exit $c)" \
		eval '[ "$c" -eq 0 ] && grep -q PARTIAL "$tmp/rep.out"'
fi

# -------------------------------------------------- full to the end (64 KiB)
if ! mount_tmpfs "$tmp/b" 64k; then
	skip "disk full to the end: cannot mount a tmpfs here (needs root)"
else
	start b "$tmp/b/out" -w "$W" --quick --reps 40
	finish
	dir=$(ls -d "$tmp"/b/out/*/ | head -1)
	dir=${dir%/}
	failed_run "full to the end" "$dir"
	check "full to the end: the message names the errno" \
		grep -q "No space left on device (errno 28)" "$tmp/b.err"
fi

# ----------------------------------------- the run directory removed mid-run
start rm "$tmp/rm" -w "$W" --quick --reps 40
wait_until 120 rows_at_least 41 "$tmp/rm" || echo "# no rows within 120 s"
rm -rf "$tmp"/rm/*/
at=$(max_rep "$tmp/rm.err")
finish
check "run directory removed: exit status 1 (rc=$rc)" [ "$rc" -eq 1 ]
check "... the run stops there (rep $at, then $(max_rep "$tmp/rm.err"))" \
	[ "$(max_rep "$tmp/rm.err")" -lt $((at + 2)) ]
check "... and says the directory is gone and what to do" \
	grep -q "is gone (removed, moved or its file system unmounted).*choose another --out" "$tmp/rm.err"

# ------------------------------------ its file system unmounted mid-run
if ! mount_tmpfs "$tmp/u" 2m; then
	skip "file system unmounted mid-run: cannot mount a tmpfs here (needs root)"
else
	start u "$tmp/u/out" -w "$W" --quick --reps 40
	wait_until 120 rows_at_least 41 "$tmp/u/out" || echo "# no rows within 120 s"
	umount -l "$tmp/u"
	at=$(max_rep "$tmp/u.err")
	finish
	check "file system unmounted: exit status 1 (rc=$rc)" [ "$rc" -eq 1 ]
	check "... the run stops there (rep $at, then $(max_rep "$tmp/u.err"))" \
		[ "$(max_rep "$tmp/u.err")" -lt $((at + 2)) ]
	check "... and says the directory is gone" grep -q "is gone (removed, moved or its file system unmounted)" "$tmp/u.err"
fi

# ------------------------------------------------------ a read-only --out
mkdir -p "$tmp/ro-src" "$tmp/ro"
if ! mount --bind "$tmp/ro-src" "$tmp/ro" 2>/dev/null; then
	skip "read-only --out: cannot bind-mount here (needs root)"
else
	mounts+=("$tmp/ro")
	mount -o remount,bind,ro "$tmp/ro"
	for out in "$tmp/ro" "$tmp/ro/sub"; do
		timeout 60 "$HVBENCH" run -r native -w micro/rdtsc --quick --out "$out" \
			>"$tmp/ro.out" 2>"$tmp/ro.err"
		rc=$?
		if [ "$rc" -eq 1 ] && grep -q "Read-only file system" "$tmp/ro.err" &&
			grep -q -- "--out" "$tmp/ro.err"; then
			ok "read-only --out ${out#$tmp/}: exit 1, says why and what to do"
		else
			not_ok "read-only --out ${out#$tmp/}: exit 1, says why and what to do" \
				"rc=$rc $(cat "$tmp/ro.err")"
		fi
	done
	check "... and writes nothing" [ -z "$(ls -A "$tmp/ro-src")" ]
fi

# -------------------------------------------- durability: the sync calls
# strace shows which fsync/fdatasync calls protect each step: the run
# directory's creation, every job's rows, every rename that publishes a file.
if ! command -v strace >/dev/null; then
	skip "durability: strace not installed (apt-get install strace)"
else
	strace -f -y -qq -e trace=mkdir,openat,write,pwrite64,fsync,fdatasync,rename,renameat,renameat2 \
		-o "$tmp/trace" "$HVBENCH" run -r native -w micro/rdtsc --quick --reps 3 \
		--out "$tmp/sync" >/dev/null 2>&1
	dir=$(ls -d "$tmp"/sync/*/ | head -1)
	if out=$("$PY" - "$tmp/trace" "${dir%/}" <<'EOF'
import re, sys
trace, run = sys.argv[1], sys.argv[2]
parent = run.rsplit("/", 1)[0]
ev = []  # (op, path, rename target)
for line in open(trace):
    m = re.match(r"\d+\s+(\w+)\((.*)\)\s+= (-?\d+)", line)
    if not m or int(m.group(3)) < 0:
        continue
    op, args = m.group(1), m.group(2)
    fds = re.findall(r"\d+<([^>]*)>", args)
    strs = re.findall(r'"([^"]*)"', args)
    if op == "mkdir":
        ev.append(("mkdir", strs[0], None))
    elif op in ("fsync", "fdatasync"):
        ev.append(("sync", fds[0], None))
    elif op in ("write", "pwrite64") and fds and fds[0].startswith(run + "/"):
        ev.append(("write", fds[0], None))
    elif op == "rename":
        ev.append(("rename", strs[0], strs[1]))
    elif op.startswith("renameat"):
        ev.append(("rename", fds[0] + "/" + strs[0], fds[1] + "/" + strs[1]))
mk = [i for i, e in enumerate(ev) if e[:2] == ("mkdir", run)]
if not mk:
    sys.exit("no mkdir of the run directory in the trace")
first_rename = next(i for i, e in enumerate(ev) if e[0] == "rename")
if ("sync", parent, None) not in ev[mk[0]:first_rename]:
    sys.exit("the parent is not fsync'ed after the run directory is created")
# A rename of meta.csv is fsync'ed right away; a data file's before meta.csv
# may say so (the next rename of meta.csv).
meta = run + "/meta.csv"
for i, e in enumerate(ev):
    if e[0] != "rename":
        continue
    if e[2] == meta:
        end = i + 2
    else:
        end = next((j for j in range(i + 1, len(ev)) if ev[j][0] == "rename" and
                    ev[j][2] == meta), len(ev))
    if ("sync", run, None) not in ev[i + 1:end]:
        sys.exit(f"rename {e[1]} -> {e[2]} is not followed by an fsync of the run "
                 f"directory (before: {ev[i + 1:end + 1]})")
    last_w = max([j for j in range(i) if ev[j][:2] == ("write", e[1])], default=-1)
    if ("sync", e[1], None) not in ev[last_w + 1:i]:
        sys.exit(f"{e[1]} is renamed without an fsync after its last write")
syncs = ev.count(("sync", run + "/samples.csv.partial", None))
if syncs < 3:
    sys.exit(f"samples.csv.partial synced {syncs} times in 3 jobs: not after every job")
print(f"{len(ev)} calls checked")
EOF
	); then
		ok "durability: run directory, every job's rows and every rename are fsync'ed ($out)"
	else
		not_ok "durability: run directory, every job's rows and every rename are fsync'ed" "$out"
	fi
fi

tap_done
