#!/usr/bin/env bash
# hvbench run with the kvm runner (the reference core hv/ on /dev/kvm), end
# to end with the real guest image: samples, KVM stats rows, one userspace
# exit per micro/pio-out-user operation, boot time, and the verdicts the
# host gives a guest that faults, runs out of time or is interrupted.
# Skips visibly without /dev/kvm or without the guest image.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
HVBENCH=${HVBENCH:-build/hvbench}
PY=${PYTHON:-python3}
tmp=$(mktemp -d /tmp/hvb-kvm-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if ! "$HVBENCH" list >"$tmp/list" 2>&1; then
	not_ok "hvbench list runs" "$(head -c 300 "$tmp/list")"
	tap_done
	exit
fi
if ! grep -qE '^  kvm +available' "$tmp/list"; then
	skip "kvm runner unavailable: $(grep -A1 -E '^  kvm ' "$tmp/list" | sed -n 's/.*why: //p')"
	tap_done
	exit
fi
"$HVBENCH" list --workloads >"$tmp/wl"
families=$(awk '/\// {split($1, p, "/"); print p[1] "/*"}' "$tmp/wl" | sort -u |
	grep -E '^(micro|cpu)/' | paste -sd, -)

# --- a quick run over micro/* and cpu/*
"$HVBENCH" run --runner kvm --quick --workload "$families" --out "$tmp/r" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "quick kvm run over $families exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/out" | tail -20
dir=$(ls -d "$tmp"/r/*/ 2>/dev/null | head -1)
if out=$("$PY" tests/lib/check_results.py "$dir" --runner kvm --list "$tmp/wl"); then
	ok "result directory is valid ($out)"
else
	not_ok "result directory is valid" "$out"
fi
check "samples for micro/pio-out-user" \
	grep -q ',kvm,micro/pio-out-user,ns_per_op,ns,lower,0,' "$dir/samples.csv"
check "boot time recorded (workload boot, boot_ms)" \
	grep -qE ',kvm,boot,boot_ms,ms,lower,0,[0-9.e+-]+,ok,' "$dir/samples.csv"
check "KVM binary stats in counters.csv (source kvm-stats)" \
	grep -q ',kvm,micro/pio-out-user,0,vcpu.exits,[0-9]*,[0-9]*,[0-9]*,kvm-stats,ok,' "$dir/counters.csv"
check "meta records the capability probe" grep -qE '^runner.kvm.caps_probe,"?cpuid: (ok|no|not probed).*; hypercall: (ok|no|not probed)' "$dir/meta.csv"
check "meta names the image and its sha256" grep -qE '^runner.kvm.image_sha256,[0-9a-f]{64}$' "$dir/meta.csv"
check "meta says the vCPU thread ran under the seccomp filter" \
	grep -qE '^runner.kvm.seccomp,"?on: [0-9]+ syscalls allowed \(vCPU thread\), unknown -> EPERM' "$dir/meta.csv"

# Userspace port exits per micro/pio-out-user operation: 1 (+ the REP_END
# record exit, which the delta includes).
per_op=$("$PY" - "$dir" <<'PY'
import csv, re, sys
d = sys.argv[1]
ops = {}
for r in csv.DictReader(open(d + "/counters.csv")):
    if r["workload"] == "micro/pio-out-user" and r["event"] == "vcpu.exits":
        ops[r["rep"]] = int(re.search(r"ops=(\d+)", r["note"]).group(1))
out = []
for r in csv.DictReader(open(d + "/exits.csv")):
    if r["workload"] == "micro/pio-out-user" and r["reason"] == "userspace_io":
        out.append((int(r["count"]) - 1) / ops[r["rep"]])
print(" ".join("%.4f" % x for x in out))
PY
)
if [ -n "$per_op" ] && "$PY" -c "import sys; v=[float(x) for x in sys.argv[1:]]; sys.exit(not all(0.99 <= x <= 1.05 for x in v))" $per_op; then
	ok "one userspace io exit per pio-out-user operation ($per_op)"
else
	not_ok "one userspace io exit per pio-out-user operation" "got: '$per_op'"
fi

# --- HVB_SECCOMP: 0 turns the vCPU thread's filter off, and meta says so;
# anything but 0 or 1 is a usage error naming the variable, before any run
HVB_SECCOMP=0 "$HVBENCH" run -r kvm -w micro/rdtsc --quick --reps 1 -o "$tmp/s0" >"$tmp/out" 2>&1
rc=$?
seccomp_off() { [ "$rc" -eq 0 ] && grep -q '^runner.kvm.seccomp,off: HVB_SECCOMP=0$' "$tmp"/s0/*/meta.csv; }
check "HVB_SECCOMP=0: the run exits 0 and meta says the filter was off" seccomp_off
HVB_SECCOMP=yes "$HVBENCH" run -r kvm -w micro/rdtsc --quick --reps 1 -o "$tmp/sx" >"$tmp/out" 2>&1
rc=$?
seccomp_bad() { [ "$rc" -eq 2 ] && grep -q "HVB_SECCOMP='yes': must be 0" "$tmp/out" && [ ! -d "$tmp/sx" ]; }
check "HVB_SECCOMP=yes: exit 2 naming HVB_SECCOMP, no run directory" seccomp_bad

# --- a guest that faults: the cells fail with the guest's fault as the reason
HVB_KVM_CMDLINE_EXTRA=fault=ud "$HVBENCH" run -r kvm -w micro/rdtsc --quick --reps 1 \
	-o "$tmp/f" >"$tmp/out" 2>&1
rc=$?
check "faulting guest: run exits 1" [ "$rc" -eq 1 ]
check "... the cell failed with the fault as its reason" \
	grep -q ',kvm,micro/rdtsc,,,,,,failed,guest fault: vector 6 ' "$tmp"/f/*/samples.csv
check "... the summary says failed, with no empty unit brackets" \
	sh -c "grep -qE '^ +micro/rdtsc +failed +ns_per_op\$' '$tmp/out' && ! grep -q '\[\]' '$tmp/out'"

# --- a guest that runs out of time: the watchdog ends it as a timeout
"$HVBENCH" run -r kvm -w 'micro/*' --reps 1 --goal-us 200000 --timeout 1 -o "$tmp/t" \
	>"$tmp/out" 2>&1
rc=$?
check "timed-out guest: run exits 1" [ "$rc" -eq 1 ]
check "... cells failed with a timeout verdict and the guest's rip" \
	grep -qE ',failed,"?timeout: guest did not finish within 1.0 s .*rip 0x' "$tmp"/t/*/samples.csv
check "... the verdict names rip once" \
	sh -c "! grep -hoE 'failed,.*' '$tmp'/t/*/samples.csv | grep -qE 'rip 0x.*rip 0x'"

# --- SIGINT while the guest runs: interrupted, files final.  Sent once a
# cell runs (its progress line), not after a fixed sleep: a background job
# of this shell starts with SIGINT ignored until hvbench installs its
# handler, so a SIGINT that comes earlier (a slow start on a loaded
# machine) is lost and the whole run completes with exit 0.
"$HVBENCH" run -r kvm -w 'micro/*' --reps 50 -o "$tmp/int" >"$tmp/o" 2>"$tmp/e" &
pid=$!
in_cell() { grep -q 'rep 1/50  kvm ' "$tmp/e" || ! kill -0 $pid 2>/dev/null; }
wait_until 120 in_cell || echo "# no cell started within 120 s: $(tail -c 300 "$tmp/e")"
kill -INT $pid
wait $pid
rc=$?
dir=$(ls -d "$tmp"/int/*/ 2>/dev/null | head -1)
check "SIGINT during a guest run ends with 128+2" [ "$rc" -eq 130 ]
check "... and the run is marked interrupted" grep -q '^status,interrupted$' "$dir/meta.csv"

# --- a broken image: the runner says why it cannot run
head -c 3000 "$(sed -n 's/^runner.kvm.image,//p' "$tmp"/r/*/meta.csv)" >"$tmp/trunc.elf"
HVB_GUEST_IMAGE=$tmp/trunc.elf "$HVBENCH" list >"$tmp/l2" 2>&1
check "a truncated image makes kvm unavailable, saying so" grep -q 'truncated image' "$tmp/l2"
"$HVBENCH" run -r kvm -w micro/rdtsc --image "$tmp/trunc.elf" -o "$tmp/x" >"$tmp/o" 2>&1
rc=$?
usage_naming() { [ "$rc" -eq 2 ] && grep -q "guest image $tmp/trunc.elf is not usable" "$tmp/o"; }
check "run --image with a truncated image: usage error naming the problem" usage_naming

tap_done
