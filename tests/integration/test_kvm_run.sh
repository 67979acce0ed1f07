#!/usr/bin/env bash
# hvbench run with the kvm runner (the reference core hv/ on /dev/kvm), end
# to end with the real guest image: samples, KVM stats rows, one userspace
# exit per micro/pio-out-user operation, boot time, and the verdicts the
# host gives a guest that faults, runs out of time, halts for good with
# interrupts off, or is interrupted.
# Skips visibly without /dev/kvm or without the guest image.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh kvm

need_runner kvm
list_workloads
families=$(families micro cpu)

# --- a quick run over micro/* and cpu/*
run r --runner kvm --quick --workload "$families"
check "quick kvm run over $families exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/r.out" | tail -20
check_valid "result directory is valid" "$dir" --runner kvm --list "$tmp/workloads"
check "samples for micro/pio-out-user" row "$dir" ',kvm,micro/pio-out-user,ns_per_op,ns,lower,0,'
check "boot time recorded (workload boot, boot_ms)" \
	row "$dir" ',kvm,boot,boot_ms,ms,lower,0,[0-9.e+-]+,ok,'
check "KVM binary stats in counters.csv (source kvm-stats)" \
	grep -q ',kvm,micro/pio-out-user,0,vcpu.exits,[0-9]*,[0-9]*,[0-9]*,kvm-stats,ok,' "$dir/counters.csv"
check "meta records the capability probe" \
	meta_has "$dir" '^runner.kvm.caps_probe,"?cpuid: (ok|no|not probed).*; hypercall: (ok|no|not probed)'
check "meta names the image and its sha256" meta_has "$dir" '^runner.kvm.image_sha256,[0-9a-f]{64}$'
check "meta says the vCPU thread ran under the seccomp filter" \
	meta_has "$dir" '^runner.kvm.seccomp,"?on: [0-9]+ syscalls allowed \(vCPU thread\), unknown -> EPERM'
# The bound row: the bare KVM_RUN loop timed in the same run, every
# repetition, > 0 ns, with the note that says what it bounds.
bound_ok() {
	"$PY" - "$1" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1] + "/samples.csv"))
        if r["runner"] == "kvm" and r["workload"] == "micro/bound-bare-kvm-run"]
reps = {r["rep"] for r in rows if r["metric"] == "ns_per_op" and r["status"] == "ok"
        and float(r["value"]) > 0 and "floor for micro/pio-out-user" in r["note"]}
pct = {r["metric"] for r in rows if r["status"] == "ok"}
sys.exit(not (reps == {"0", "1"} and {"ns_per_op.p50", "ns_per_op.p90", "ns_per_op.p99"} <= pct))
PY
}
check "bound rows (micro/bound-bare-kvm-run): ns_per_op > 0 with its note, both repetitions" \
	bound_ok "$dir"
check "meta says what the bound is and its calibrated batch" \
	sh -c "grep -q '^runner.kvm.bound,.*bare KVM_RUN loop' '$dir/meta.csv' &&
		grep -Eq '^runner.kvm.bound_exits_per_batch,[1-9][0-9]*\$' '$dir/meta.csv'"
image=$(sed -n 's/^runner.kvm.image,//p' "$dir/meta.csv")

# Userspace port exits per micro/pio-out-user operation: 1 (+ the REP_END
# record exit, which the delta includes), over the operations of exits.csv's
# ops column, which must be the count the counters' notes give.
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
        if int(r["ops"]) != ops[r["rep"]]:
            sys.exit("exits.csv ops %s, counters note ops=%d" % (r["ops"], ops[r["rep"]]))
        out.append((int(r["count"]) - 1) / int(r["ops"]))
print(" ".join("%.4f" % x for x in out))
PY
)
if [ -n "$per_op" ] && "$PY" -c "import sys; v=[float(x) for x in sys.argv[1:]]; sys.exit(not all(0.99 <= x <= 1.05 for x in v))" $per_op; then
	ok "one userspace io exit per pio-out-user operation ($per_op)"
else
	not_ok "one userspace io exit per pio-out-user operation" "got: '$per_op'"
fi

# The core's own time per userspace exit (source vmm): every timed row has
# all four latency columns, ordered p50 <= p90 <= p99 <= max, a mean
# (total_ns over the timed exits: count - 1 for userspace_io, whose REP_END
# exit is not timed) inside [~p50/2, max], and pio-out-user's userspace_io
# rows are timed in both repetitions.
vmm_latency_ok() {
	"$PY" - "$1" <<'PY'
import csv, sys
bad, pio = [], set()
for r in csv.DictReader(open(sys.argv[1] + "/exits.csv")):
    if r["source"] != "vmm" or not r["total_ns"]:
        continue
    lat = [r[k] for k in ("p50_ns", "p90_ns", "p99_ns", "max_ns")]
    if not all(lat):
        bad.append("%s %s: latency columns %s" % (r["workload"], r["reason"], lat)); continue
    p50, p90, p99, mx = map(float, lat)
    n = int(r["count"]) - (r["reason"] == "userspace_io")
    mean = float(r["total_ns"]) / n if n else 0
    if not (0 < p50 <= p90 <= p99 <= mx) or not (p50 / 2 <= mean <= mx):
        bad.append("%s %s: p50 %g p90 %g p99 %g max %g mean %g" % (r["workload"], r["reason"], p50, p90, p99, mx, mean))
    if r["workload"] == "micro/pio-out-user" and r["reason"] == "userspace_io":
        pio.add(r["rep"])
if bad or pio != {"0", "1"}:
    sys.exit("; ".join(bad) or "pio-out-user timed in reps %s" % sorted(pio))
PY
}
check "vmm rows carry the core's time per exit (p50 <= p90 <= p99 <= max, mean inside)" \
	vmm_latency_ok "$dir"
check "meta says how the core timed its exits" \
	meta_has "$dir" '^runner.kvm.exit_timing,"?vmm: TSC from KVM_RUN'
check "meta runner.kvm.probes: the default probes (kvm-trace off, vmm-counters on)" \
	meta_has "$dir" '^runner.kvm.probes,kvm-stats=on vmm-exit-timing=on kvm-trace=off vmm-counters=on$'

# --- HVB_KVM_VMM_COUNTERS=0: no perf counters on the core's threads, and
# meta says so; anything but 0 or 1 is refused before any run
HVB_KVM_VMM_COUNTERS=0 run vc0 -r kvm -w micro/pio-out-user --quick --reps 1
check "HVB_KVM_VMM_COUNTERS=0: the run exits 0, runner.kvm.probes says vmm-counters=off" \
	sh -c "[ $rc -eq 0 ] && grep -q '^runner.kvm.probes,.* vmm-counters=off\$' '$dir/meta.csv'"
check "... and no vcpu-threads / vmm-threads rows" \
	sh -c "! grep -qE ',kvm,[^,]*,[0-9]+,(vcpu|vmm)-threads' '$dir/counters.csv'"
HVB_KVM_VMM_COUNTERS=yes run vcx -r kvm -w micro/rdtsc --quick --reps 1
check "HVB_KVM_VMM_COUNTERS=yes: exit 2 naming it" \
	sh -c "[ $rc -eq 2 ] && grep -q 'HVB_KVM_VMM_COUNTERS=.yes.' '$tmp/vcx.err'"

# --- HVB_VMM_COUNTERS, the one name for every runner: 0 is off for kvm
# too; the older HVB_KVM_VMM_COUNTERS may not contradict it
HVB_VMM_COUNTERS=0 run vn0 -r kvm -w micro/pio-out-user --quick --reps 1
check "HVB_VMM_COUNTERS=0: runner.kvm.probes says vmm-counters=off, no (vcpu|vmm)-threads rows" \
	sh -c "[ $rc -eq 0 ] && grep -q '^runner.kvm.probes,.* vmm-counters=off\$' '$dir/meta.csv' &&
	       ! grep -qE ',kvm,[^,]*,[0-9]+,(vcpu|vmm)-threads' '$dir/counters.csv'"
HVB_VMM_COUNTERS=1 HVB_KVM_VMM_COUNTERS=0 run vnx -r kvm -w micro/rdtsc --quick --reps 1
check "HVB_VMM_COUNTERS=1 with HVB_KVM_VMM_COUNTERS=0: exit 2, they disagree" \
	sh -c "[ $rc -eq 2 ] && grep -q 'HVB_VMM_COUNTERS=1 and HVB_KVM_VMM_COUNTERS=0 disagree' '$tmp/vnx.err'"

# --- HVB_VMM_EXIT_TIMING=0: the core reads no TSC around KVM_RUN; the vmm
# rows keep their counts and lose their times; meta says off
HVB_VMM_EXIT_TIMING=0 run et0 -r kvm -w micro/pio-out-user --quick --reps 1
check "HVB_VMM_EXIT_TIMING=0: the run exits 0, runner.kvm.probes says vmm-exit-timing=off" \
	sh -c "[ $rc -eq 0 ] && grep -q '^runner.kvm.probes,.* vmm-exit-timing=off ' '$dir/meta.csv'"
check "... runner.kvm.exit_timing says off" \
	meta_has "$dir" '^runner.kvm.exit_timing,"?off \(HVB_VMM_EXIT_TIMING=0\)'
check "... vmm userspace_io counted once per operation or more, no time or latency" \
	grep -qE ',kvm,micro/pio-out-user,0,userspace_io,[1-9][0-9]*,,vmm,[1-9][0-9]*,,,,$' "$dir/exits.csv"
HVB_VMM_EXIT_TIMING=yes run etx -r kvm -w micro/rdtsc --quick --reps 1
check "HVB_VMM_EXIT_TIMING=yes: exit 2 naming it" \
	sh -c "[ $rc -eq 2 ] && grep -q 'HVB_VMM_EXIT_TIMING=.yes.' '$tmp/etx.err'"

# --- HVB_KVM_STATS=0: the stats fds are not opened; one unsupported row
# per repetition says it is off, no kvm-stats exit rows, meta says off
HVB_KVM_STATS=0 run ks0 -r kvm -w micro/pio-out-user --quick --reps 1
check "HVB_KVM_STATS=0: the run exits 0, runner.kvm.probes says kvm-stats=off" \
	sh -c "[ $rc -eq 0 ] && grep -q '^runner.kvm.probes,kvm-stats=off ' '$dir/meta.csv'"
check "... one counters.csv row: kvm-stats unsupported, 'off: HVB_KVM_STATS=0'" \
	sh -c "[ \$(grep -c ',kvm-stats,' '$dir/counters.csv') -eq 1 ] &&
	       grep -q ',kvm,micro/pio-out-user,0,kvm-stats,,,,kvm-stats,unsupported,off: HVB_KVM_STATS=0\$' '$dir/counters.csv'"
check "... no kvm-stats rows in exits.csv, the vmm rows still there" \
	sh -c "! grep -q ',kvm-stats,' '$dir/exits.csv' && grep -q ',userspace_io,.*,vmm,' '$dir/exits.csv'"
HVB_KVM_STATS=2 run ksx -r kvm -w micro/rdtsc --quick --reps 1
check "HVB_KVM_STATS=2: exit 2 naming it" \
	sh -c "[ $rc -eq 2 ] && grep -q 'HVB_KVM_STATS=.2.' '$tmp/ksx.err'"

# --- HVB_KVM_TRACE=1: kvm-trace rows (counted events under PVM, paired
# exits on hardware) with their loss counter, or a row saying why not;
# anything but 0 or 1 is refused before any run
HVB_KVM_TRACE=1 run kt -r kvm -w micro/pio-out-user --quick --reps 1
kvm_trace_ok() {
	grep -q '^runner.kvm.kvm_trace,"\?on ' "$dir/meta.csv" || return 1
	if grep -q ',kvm-trace,unsupported,' "$dir/counters.csv"; then
		echo "# kvm-trace unsupported here: $(grep ',kvm-trace,unsupported,' "$dir/counters.csv" | head -1)"
		return 0
	fi
	grep -Eq ',micro/pio-out-user,0,(kvm_pio.pio_out|vmx.io_instruction.pio_out|svm.io.pio_out),[1-9]' "$dir/exits.csv" &&
		grep -q ',micro/pio-out-user,0,kvm-trace.lost_records,' "$dir/counters.csv"
}
check "HVB_KVM_TRACE=1: the run exits 0" [ "$rc" -eq 0 ]
check "... kvm-trace rows for pio-out-user and a lost-records row (or a row saying why not)" \
	kvm_trace_ok
check "... meta runner.kvm.probes says kvm-trace=on" \
	meta_has "$dir" '^runner.kvm.probes,.* kvm-trace=on '
HVB_KVM_TRACE=yes run ktx -r kvm -w micro/rdtsc --quick --reps 1
check "HVB_KVM_TRACE=yes: exit 2 naming HVB_KVM_TRACE" \
	sh -c "[ $rc -eq 2 ] && grep -q 'HVB_KVM_TRACE=.yes.' '$tmp/ktx.err'"

# --- HVB_SECCOMP: 0 turns the vCPU thread's filter off, and meta says so;
# anything but 0 or 1 is a usage error naming the variable, before any run
HVB_SECCOMP=0 run s0 -r kvm -w micro/rdtsc --quick --reps 1
check "HVB_SECCOMP=0: the run exits 0 and meta says the filter was off" \
	sh -c "[ $rc -eq 0 ] && grep -q '^runner.kvm.seccomp,off: HVB_SECCOMP=0\$' '$dir/meta.csv'"
check "... and runner.kvm.probes says vmm-counters=on" \
	meta_has "$dir" '^runner.kvm.probes,.* vmm-counters=on$'
HVB_SECCOMP=yes run sx -r kvm -w micro/rdtsc --quick --reps 1
seccomp_bad() { [ "$rc" -eq 2 ] && err_has sx "HVB_SECCOMP='yes': must be 0" && [ ! -d "$tmp/sx" ]; }
check "HVB_SECCOMP=yes: exit 2 naming HVB_SECCOMP, no run directory" seccomp_bad

# --- a guest that faults: the cells fail with the guest's fault as the reason
HVB_KVM_CMDLINE_EXTRA=fault=ud run f -r kvm -w micro/rdtsc --quick --reps 1
check "faulting guest: run exits 1" [ "$rc" -eq 1 ]
check "... the cell failed with the fault as its reason" \
	row "$dir" ',kvm,micro/rdtsc,,,,,,failed,guest fault: vector 6 '
check "... the summary says failed, with no empty unit brackets" \
	sh -c "grep -qE '^ +micro/rdtsc +failed +ns_per_op\$' '$tmp/f.out' && ! grep -q '\[\]' '$tmp/f.out'"

# --- a guest that runs out of time: the watchdog ends it as a timeout
run t -r kvm -w 'micro/*' --reps 1 --goal-us 200000 --timeout 1
check "timed-out guest: run exits 1" [ "$rc" -eq 1 ]
check "... cells failed with a timeout verdict and the guest's rip" \
	row "$dir" ',failed,"?timeout: guest did not finish within 1.0 s .*rip 0x'
check "... the verdict names rip once" \
	sh -c "! grep -hoE 'failed,.*' '$dir/samples.csv' | grep -qE 'rip 0x.*rip 0x'"

# --- a guest halted for good with interrupts off (fault=hang: cli; hlt in
# ring 0, before HELLO).  With the in-kernel LAPIC of the default irqchip
# that halt never leaves KVM_RUN by itself: the watchdog's kick must end it
# at --timeout with failed cells saying so, and the run must not outlive
# the job's limit by more than the core's grace (issue 14).
t0=$SECONDS
HVB_KVM_CMDLINE_EXTRA=fault=hang run h -r kvm -w micro/rdtsc --quick --reps 1 --timeout 3
took=$((SECONDS - t0))
check "halted-for-good guest: run exits 1" [ "$rc" -eq 1 ]
check "... its cell failed with the timeout verdict" \
	row "$dir" ',kvm,micro/rdtsc,,,,,,failed,"?timeout: guest did not finish within 3.0 s'
check "... the halt was the kernel's (an irqchip: $(grep -h '^runner.kvm.irqchip,' "$dir/meta.csv" | cut -d, -f2-))" \
	meta_has "$dir" '^runner.kvm.irqchip,"?(split|kernel)( \(|"?$)'
# (a kick that does not reach KVM_RUN ends at 3 s + the runner's 10 s
# grace with the VM abandoned: 13 s, and test 2 fails too)
check "... and the run ended ${took} s after it began (--timeout 3: at most 10)" \
	[ "$took" -le 10 ]

# --- SIGINT while the guest runs: interrupted, files final.  Sent once a
# cell runs (its progress line).
start int -r kvm -w 'micro/*' --reps 50
signal_when INT 120 err_has int 'rep 1/50  kvm '
check "SIGINT during a guest run ends with 128+2" [ "$rc" -eq 130 ]
check "... and the run is marked interrupted" meta_has "$dir" '^status,interrupted$'

# --- a broken image: the runner says why it cannot run
head -c 3000 "$image" >"$tmp/trunc.elf"
HVB_GUEST_IMAGE=$tmp/trunc.elf "$HVBENCH" list >"$tmp/l2" 2>&1
check "a truncated image makes kvm unavailable, saying so" grep -q 'truncated image' "$tmp/l2"
run x -r kvm -w micro/rdtsc --image "$tmp/trunc.elf"
usage_naming() { [ "$rc" -eq 2 ] && grep -q "guest image $tmp/trunc.elf is not usable" "$tmp/x.err"; }
check "run --image with a truncated image: usage error naming the problem" usage_naming

tap_done
