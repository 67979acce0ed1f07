#!/usr/bin/env bash
# Live migration under kvm end to end (HVB_KVM_MIGRATE, runners/kvm/migrate.c):
# `hvbench run --runner kvm --workload migrate/dirty` with the guest moved
# to a second core process during its repetition:
#   - a low dirty rate, no bandwidth limit: the rows of the guest (from the
#     destination: lost_pages 0, the heartbeat gaps) and of the migration
#     (migrate.converged 1, .rounds, .downtime_ms, .guest_downtime_ms, .bytes)
#   - a dirty rate above a 4 MiB/s link with a 1 ms target and 3 rounds:
#     converged 0 after exactly 3 rounds, still completed and verified
#   - the destination killed (-9) mid-migration: the cell fails saying it
#     went away, and no destination is left
#   - the source killed (-9) mid-migration: its destination goes too
#   - a malformed HVB_KVM_MIGRATE is refused saying what is accepted.
# Correctness only: no figure is compared with a time.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh migkvm
. tests/lib/migrate_kvm.sh

[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip_rest "no usable /dev/kvm"
# 40 batches of 100 ms: the repetition outlasts every migration below.
RUN="--runner kvm --workload migrate/dirty --reps 1 --timeout 120 --batches 40 --guest-mem 128"
W8="--param dirty.wss_mib=8"

HVB_KVM_MIGRATE=dirty=log,downtime_ms=1000,rounds=5,after_ms=200 run conv $RUN $W8 \
	--param dirty.rate=8
[ "$rc" = 0 ] && [ -n "$dir" ] && ok "converging: the run completed" || not_ok "converging: the run completed" "$(show conv)"
[ "$(metric "$dir" lost_pages)" = 0 ] && ok "the guest verified every page on the destination" ||
	not_ok "the guest verified every page on the destination" "$(show conv)"
[ "$(metric "$dir" migrate.converged)" = 1 ] && ok "converged = 1 at a low dirty rate" ||
	not_ok "converged = 1 at a low dirty rate" "$(show conv)"
for m in migrate.total_ms migrate.downtime_ms migrate.guest_downtime_ms migrate.bytes migrate.rounds \
	migrate.final_pages req_ns.max bandwidth; do
	[ -n "$(metric "$dir" "$m")" ] && ok "row $m present" || not_ok "row $m present" "$(show conv)"
done
grep -q 'verdict: shutdown: on the destination' "$dir/log.txt" 2>/dev/null &&
	ok "the guest ended on the destination" || not_ok "the guest ended on the destination"
meta_has "$dir" '^runner\.kvm\.migrate,"?dirty=log,' && ok "meta says how it migrated" ||
	not_ok "meta says how it migrated"
check "the run's results are valid" "$PY" tests/lib/check_results.py "$dir"

HVB_KVM_MIGRATE=dirty=log,bw_mib=4,downtime_ms=1,rounds=3,after_ms=200 run noconv $RUN \
	--param dirty.wss_mib=1 --param dirty.rate=64
[ "$(metric "$dir" migrate.converged)" = 0 ] && ok "above the link: converged = 0" ||
	not_ok "above the link: converged = 0" "$(show noconv)"
[ "$(metric "$dir" migrate.rounds)" = 3 ] && ok "it ended by the round limit (3)" ||
	not_ok "it ended by the round limit (3)" "$(show noconv)"
[ "$(metric "$dir" lost_pages)" = 0 ] && ok "and still completed by stop-and-copy, verified" ||
	not_ok "and still completed by stop-and-copy, verified" "$(show noconv)"

SLOW="dirty=log,bw_mib=1,downtime_ms=1,rounds=50,after_ms=100"
HVB_KVM_MIGRATE=$SLOW kill_dest kdst "1 vCPU" $RUN $W8 --param dirty.rate=64

HVB_KVM_MIGRATE=$SLOW start ksrc $RUN $W8 --param dirty.rate=64
wait_until 60 has_dest ksrc
d=$(dest_pid ksrc)
if [ -n "$d" ] && wait_until 60 dest_reading "$d"; then
	kill -9 "$bg"
	wait "$bg" 2>/dev/null; bg=
	wait_until 20 test ! -e "/proc/$d" && ok "source killed: its destination went too" ||
		not_ok "source killed: its destination went too"
	[ -z "$(run_procs ksrc 'hvbench')" ] && ok "no VM process of the run is left" ||
		not_ok "no VM process of the run is left"
else
	not_ok "source killed: it was migrating" "$(show ksrc)"
fi

HVB_KVM_MIGRATE=dirty=bitmap run bad $RUN
[ "$rc" = 2 ] && err_has bad 'dirty=bitmap: give log, clear or ring' &&
	ok "a malformed HVB_KVM_MIGRATE is refused saying what is accepted" ||
	not_ok "a malformed HVB_KVM_MIGRATE is refused saying what is accepted" "rc=$rc $(tail -c 300 "$tmp/bad.err")"

tap_done
