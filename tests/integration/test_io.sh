#!/usr/bin/env bash
# io/ end to end (issue 12): the run's disk shared by native, kvm and
# qemu-kvm, every io cell ok with its per-request rows, io/verify's
# pattern checked by the host from the file afterwards, the disk gone after
# the run, on Ctrl-C and after a failure; refusals with clear errors; a
# killed run's leftover removed with a message.  Runners unavailable here
# are left out (said so); without any VM runner only native is checked.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh io
mnt=$tmp/small-fs
trap 'umount "$mnt" 2>/dev/null; hvb_cleanup' EXIT

list_workloads
grep -q '^  io/verify ' "$tmp/workloads" || skip_rest "this build has no io/verify workload"

runners=native
for r in kvm qemu-kvm; do
	if why=$(runner_why "$r"); then
		runners+=,$r
	else
		skip "$r left out of the io runs: $why"
	fi
done
IFS=, read -ra rl <<<"$runners"

# disks DIR: the hvbench disk files left in DIR.
disks() { ls -a "$1" 2>/dev/null | grep -E '^\.hvbench-disk-.*\.img$'; }

# The word at byte offset OFF of a disk hvbench filled (disk.c).
fill_word() {
	"$PY" - "$1" <<'EOF'
import sys
M = (1 << 64) - 1
z = ((int(sys.argv[1]) >> 3) + 0x9E3779B97F4A7C15) & M
z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
print("%016x" % ((z ^ (z >> 31)) | 1))
EOF
}
# word FILE OFF: the little-endian 64-bit word at OFF, as 16 hex digits.
word() { od -An -tx8 -j "$2" -N8 "$1" | tr -d ' \n'; }

# --- the main run ------------------------------------------------------------
start=$SECONDS
run main --runner "$runners" --workload io/verify,io/randread-4k-qd1 --quick --reps 1 --timeout 120
check "run over $runners x io/verify,io/randread-4k-qd1 exits 0 ($((SECONDS - start)) s)" \
	[ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || echo "# $(show main)"
check_valid "the result directory is valid" "$dir" --list "$tmp/workloads"
for r in "${rl[@]}"; do
	for w in io/verify io/randread-4k-qd1; do
		check "$r x $w: ok" has_ok "$dir" "$r" "$w"
	done
	check "$r x io/randread-4k-qd1: req_ns.p99 row" \
		row "$dir" ",$r,io/randread-4k-qd1,req_ns.p99,ns,lower,0,[0-9.e+-]+,ok,"
	check "$r x io/randread-4k-qd1: host_cpu_ns_per_op ok, its threads named" \
		row "$dir" ",$r,io/randread-4k-qd1,host_cpu_ns_per_op,ns,lower,0,[0-9.e+-]+,ok,\"host CPU of "
done
case ,$runners, in *,kvm,*)
	check "kvm x io/randread-4k-qd1: notifies_per_op (notify=ioeventfd)" \
		row "$dir" ",kvm,io/randread-4k-qd1,notifies_per_op,notifies,lower,0,[0-9.e+-]+,ok,.*notify=ioeventfd"
	check "meta: runner.kvm.blk and blk_notify" meta_has "$dir" '^runner\.kvm\.blk_notify,ioeventfd$'
	;;
esac
case ,$runners, in *,qemu-kvm,*)
	check "meta: runner.qemu-kvm.blk names cache and aio" \
		meta_has "$dir" '^runner\.qemu-kvm\.blk,.*cache=(none,aio=native|writeback,aio=threads)'
	;;
esac
for k in path size_bytes fs odirect fill; do
	check "meta: disk.$k" meta_has "$dir" "^disk\.$k,."
done
check "meta: disk.size_bytes is the 256 MiB default" meta_has "$dir" '^disk\.size_bytes,268435456$'
check "the log says how long filling the disk took" \
	grep -qE '^\[hvbench\] disk: created .* filled in [0-9.]+ s' "$dir/log.txt"
check "the disk file is gone after the run" [ -z "$(disks "$tmp/main")" ]

# --- io/verify's pattern, checked by the host from the file -----------------
# One runner per file: io/verify's checker replays one run's operations
# over a disk that held zeros before (tests/qemu/verify_disk.py).
for r in "${rl[@]}"; do
	img=$tmp/verify-$r.img
	truncate -s 16M "$img"
	run "v-$r" --runner "$r" --workload io/verify --quick --reps 1 --disk "$img" --timeout 120
	check "$r: io/verify on --disk exits 0" [ "$rc" -eq 0 ]
	[ "$rc" -eq 0 ] || echo "# $(show "v-$r")"
	check "$r: meta says the disk was given, as found" meta_has "$dir" '^disk\.fill,"?--disk file as found'
	check "$r: a --disk file is never deleted" [ -f "$img" ]
	if out=$("$PY" tests/qemu/verify_disk.py "$img" 2>&1); then
		ok "$r: the host finds io/verify's pattern in the file ($out)"
	else
		not_ok "$r: the host finds io/verify's pattern in the file" "$out"
	fi
done

# --- refusals -----------------------------------------------------------------
truncate -s 1M "$tmp/small.img"
run small --runner native --workload io/randread-4k-qd1 --quick --reps 1 --disk "$tmp/small.img"
check "--disk on a 1 MiB file: usage error (2)" [ "$rc" -eq 2 ]
check "... saying it is too small and what is needed" \
	err_has small "--disk .*small\.img is too small: 1048576 bytes, the run needs at least 16777216"
check "... and no run directory" [ -z "$dir" ]
truncate -s 32M "$tmp/ro.img"
chmod 0444 "$tmp/ro.img"
run ro --runner native --workload io/randread-4k-qd1 --quick --reps 1 --disk "$tmp/ro.img"
check "--disk on a read-only file: usage error (2), saying so" \
	eval '[ "$rc" -eq 2 ] && err_has ro "ro\.img is read-only \(mode 0444\)"'
run bigger --runner native --workload io/randread-4k-qd1 --quick --reps 1 --disk "$tmp/small.img" \
	--disk-size 64M
check "--disk smaller than --disk-size: refused" \
	eval '[ "$rc" -eq 2 ] && err_has bigger "needs at least 67108864"'
run badsize --runner native --workload io/randread-4k-qd1 --quick --reps 1 --disk-size 3X
check "--disk-size 3X: usage error naming the value" \
	eval '[ "$rc" -eq 2 ] && err_has badsize "--disk-size .3X.: give a size such as 256M"'

# A disk that does not fit: the fill fails, the run says why, no file stays.
mkdir -p "$mnt"
if mount -t tmpfs -o size=8m hvb-io-test "$mnt" 2>/dev/null; then
	HVB_TEST_RUN=$tmp/full "$HVBENCH" run --out "$mnt" --runner native \
		--workload io/randread-4k-qd1 --quick --reps 1 --disk-size 16M \
		>"$tmp/full.out" 2>"$tmp/full.err"
	rc=$?
	check "a disk larger than its file system: failure (1)" [ "$rc" -eq 1 ]
	check "... naming the disk and the errno" \
		err_has full "cannot fill the disk .*\.hvbench-disk-.*: No space left on device"
	check "... and the half-written file is removed" [ -z "$(disks "$mnt")" ]
	umount "$mnt"
else
	skip "cannot mount a small tmpfs here (the full-disk case)"
fi

# --- Ctrl-C mid-run removes the disk -------------------------------------------
start sigint --runner native --workload io/randread-4k-qd1 --reps 200 --timeout 120
cell_runs() { err_has sigint 'rep [0-9]+/200 +native +io/'; }
signal_when INT 120 cell_runs
check "SIGINT mid-run: exit 130" [ "$rc" -eq 130 ]
check "... the run is marked interrupted" meta_has "$dir" '^status,interrupted$'
check "... and the disk file is gone" [ -z "$(disks "$tmp/sigint")" ]

# The fill itself, on a run left alive long enough to look at its disk.
start look --runner native --workload io/randread-4k-qd1 --reps 200 --timeout 120
look_runs() { err_has look 'rep [0-9]+/200 +native +io/'; }
wait_until 120 look_runs
d=$(disks "$tmp/look" | head -1)
if [ -n "$d" ]; then
	f=$tmp/look/$d
	check "the disk is fully allocated (no holes)" \
		[ "$(($(stat -c %b "$f") * $(stat -c %B "$f")))" -ge "$(stat -c %s "$f")" ]
	good=1
	for off in 0 8 4096 134217728 268435448; do
		[ "$(word "$f" $off)" = "$(fill_word $off)" ] || good=0
	done
	check "... and holds the fill pattern (5 words checked, randread only reads)" [ $good -eq 1 ]
else
	not_ok "the disk of a running io run exists" "$(ls -a "$tmp/look")"
fi
# A killed run leaves its disk behind: the next run there removes it.
signal_when KILL 10 true
check "kill -9 leaves the disk file behind" [ -n "$(disks "$tmp/look")" ]
run look --runner native --workload micro/rdtsc --quick --reps 1
check "the next run in that directory exits 0" [ "$rc" -eq 0 ]
check "... removes the leftover, with a message" \
	eval '[ -z "$(disks "$tmp/look")" ] && err_has look "removed .*\.hvbench-disk-.*: the disk file of a run that is no longer running"'

# A live run's disk (its lock held) is not a leftover.
live=$tmp/live/.hvbench-disk-live.img
mkdir -p "$tmp/live"
truncate -s 16M "$live"
flock "$live" sleep 60 &
holder=$!
wait_until 10 eval 'flock -n "$live" true; [ $? -ne 0 ]'
run live --runner native --workload micro/rdtsc --quick --reps 1
check "a locked (live) run's disk stays" eval '[ "$rc" -eq 0 ] && [ -f "$live" ] && ! err_has live removed'
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
tap_done
