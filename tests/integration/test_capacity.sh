#!/usr/bin/env bash
# hvbench capacity end to end (README "Capacity", results/FORMAT.md
# "Capacity"): a small real search natively and under kvm (N = 1..4,
# --quick), its rows and meta; an SLO that fails at N=1; the probe that
# outlives --timeout (the failure path); Ctrl-C mid-step (exit 130, the run
# interrupted with what was measured); kill -9 of the command; Ctrl-C under
# qemu-kvm (QEMU a grandchild).  After each, no VM of the step may be left
# running.  The probe is svc/open-loop (the default) where this build has
# it, else micro/timer-latency (per request too).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh capacity

if "$HVBENCH" list --workloads | grep -q '^  svc/open-loop '; then
	PROBE=${HVB_CAPACITY_PROBE:-svc/open-loop}
else
	PROBE=${HVB_CAPACITY_PROBE:-micro/timer-latency}
fi

# cap NAME ARGS...: hvbench capacity --out $tmp/NAME ARGS..., like run.
cap() {
	local name=$1
	shift
	HVB_TEST_RUN=$tmp/$name "$HVBENCH" capacity --out "$tmp/$name" "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
	dir=$(run_dir "$name")
}

# left NAME: pids of hvbench processes of capacity run NAME still alive.
left() { run_procs "$1" 'hvbench'; }
none_left() { [ -z "$(left "$1")" ]; }

# rows_ok DIR RUNNER: the rows of one step of a search (python: exact checks).
rows_ok() {
	"$PY" - "$@" <<'PY'
import csv, sys
d, runner, probe, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rows = [r for r in csv.DictReader(open(d + "/samples.csv")) if r["runner"] == "%s.n%d" % (runner, n)]
ok = {(r["workload"], r["metric"], r["rep"]): r for r in rows if r["status"] == "ok"}
def need(cond, what):
    if not cond:
        print("# %s.n%d: %s" % (runner, n, what)); sys.exit(1)
# The probe VM's own rows and their aggregate, every repetition.
for rep in ("0", "1"):
    need((probe, "req_ns.p99.vm0", rep) in ok, "no req_ns.p99.vm0 rep " + rep)
    agg = ok.get((probe, "req_ns.p99", rep))
    need(agg and "worst of 1 VM" in agg["note"], "no worst-VM aggregate req_ns.p99 rep " + rep)
    need(float(agg["value"]) == float(ok[(probe, "req_ns.p99.vm0", rep)]["value"]),
         "aggregate of one probe VM is that VM's value")
# The step's verdict and costs.
need(("capacity/step", "slo_pass", "0") in ok, "no slo_pass")
for i in range(n):
    need(("capacity/step", "host_cpu_pct.vm%d" % i, "0") in ok, "no host_cpu_pct.vm%d" % i)
    need(any(r["metric"] == "mem_pss_kib.vm%d" % i for r in rows), "no mem_pss_kib.vm%d" % i)
need(("capacity/step", "mem_pss_kib", "0") in ok, "no mean mem_pss_kib")
# Background VMs: vm1.. run cpu/sha256; stopped as asked is skipped, never failed.
bg = [r for r in rows if r["workload"] == "cpu/sha256"]
need(bg, "no cpu/sha256 row")
need(not [r for r in bg if r["status"] == "failed"], "a background row failed")
need(n == 1 or any(r["metric"].endswith(".vm1") for r in bg) or
     any("stopped when the probes were done" in r["note"] for r in bg),
     "background vm1 left neither rows nor the stop note")
PY
}

search_checks() {
	local runner=$1 name=$2
	check "$runner: capacity exits 0" [ "$rc" -eq 0 ]
	[ "$rc" -eq 0 ] || echo "# $(tail -c 600 "$tmp/$name.err")"
	check_valid "$runner: the result directory is valid" "$dir"
	check "$runner: steps 1, 2, 4 all pass under a 1 s SLO" \
		meta_has "$dir" '^capacity.steps,1:pass 2:pass 4:pass$'
	check "$runner: N_max is --max-vms (4), no failing step" \
		meta_has "$dir" '^capacity.n_max,4$'
	check "$runner: failed_at says none" meta_has "$dir" '^capacity.failed_at,none'
	check "$runner: --slo 'p99<=1000ms,tput>=0%' is the SLO recorded" \
		meta_has "$dir" '^capacity.slo,"?p99<=1000000us tput>=0%'
	check "$runner: runners key lists the steps" \
		meta_has "$dir" "^runners,\"?$runner.n1,$runner.n2,$runner.n4\"?$"
	check "$runner: N=4 is overcommit on this host, labelled" \
		meta_has "$dir" "^capacity.n4.overcommit,(yes|no): 4 vCPUs on [0-9]+ host CPU"
	check "$runner: each VM's outcome in meta (background stopped as asked)" \
		meta_has "$dir" '^capacity.n4.vm3,"?background cpu/sha256 on cpus [0-9]+: exited 130 \(stopped by SIGINT'
	for n in 1 2 4; do
		check "$runner: N=$n rows (per-VM, aggregate, slo_pass, costs)" rows_ok "$dir" "$runner" "$PROBE" $n
	done
	check "$runner: every VM's own run is kept under vms/" \
		[ "$(ls -d "$dir"/vms/n4/vm*/*/ | wc -l)" -eq 4 ]
	check "$runner: no VM left running" none_left "$name"
	check "$runner: hvbench summarize reads it" "$HVBENCH" summarize "$dir" -o /dev/null
}

small=(--probe "$PROBE" --background cpu/sha256 --slo 'p99<=1000ms,tput>=0%'
       --max-vms 4 --quick)

# --- usage: an unknown probe is explained; the probe must time requests
"$HVBENCH" capacity -r native --probe micro/nosuch --slo-p99-us 100 >/dev/null 2>"$tmp/u1.err"
check "an unknown probe: usage error naming a --probe to give" \
	[ $? -eq 2 ] && grep -q "no workload 'micro/nosuch'.*--probe micro/timer-latency" "$tmp/u1.err"
"$HVBENCH" capacity -r native --probe cpu/sha256 --slo-p99-us 100 >/dev/null 2>"$tmp/u2.err"
check "a probe without req_ns is refused (exit 2)" \
	[ $? -eq 2 ] && grep -q "does not time its requests" "$tmp/u2.err"
"$HVBENCH" capacity -r native --probe "$PROBE" --background "$PROBE" --slo-p99-us 100 \
	>/dev/null 2>"$tmp/u3.err"
check "the probe as background is refused (exit 2)" [ $? -eq 2 ]
"$HVBENCH" capacity -r native --probe "$PROBE" >/dev/null 2>"$tmp/u4.err"
check "--slo-p99-us is required (exit 2)" [ $? -eq 2 ] && grep -q "slo-p99-us" "$tmp/u4.err"
"$HVBENCH" capacity -r native --probe "$PROBE" --slo 'p99<100us' >/dev/null 2>"$tmp/u4b.err"
check "a malformed --slo is refused, saying what it accepts (exit 2)" \
	[ $? -eq 2 ] && grep -q "p99<=X" "$tmp/u4b.err"

"$HVBENCH" capacity -r native --probe "$PROBE" --param nosuch.rate=5 --slo-p99-us 100 \
	>/dev/null 2>"$tmp/u5.err"
check "a --param no workload of the run takes is refused (exit 2)" \
	[ $? -eq 2 ] && grep -q "names none of the probe and background" "$tmp/u5.err"

# --- native: N = 1, 2, 4 processes
cap nat -r native "${small[@]}"
search_checks native nat
check "native: no boot storm (unsupported, with why)" \
	row "$dir" ',native.n4,capacity/step,boot_ms.p50,,,0,,unsupported,no boot rows'
check "native: the N=1 step skips the background workload, saying why" \
	row "$dir" ',native.n1,cpu/sha256,,,,,,skipped,"?N=1: no VM of this step runs it'

check "native: hvbench report renders it, the steps side by side" \
	eval '"$HVBENCH" report --no-plots --out "$tmp/rep" "$dir" >"$tmp/rep.out" 2>&1 &&
		grep -q "native.n4" "$tmp/rep/summary.md"'

# --- two probe VMs (no --background): the aggregate is the worst VM's value
worst_ok() {
	"$PY" - "$1" "$PROBE" <<'PY'
import csv, sys
d, probe = sys.argv[1], sys.argv[2]
ok = {(r["metric"], r["rep"]): float(r["value"]) for r in csv.DictReader(open(d + "/samples.csv"))
      if r["runner"] == "native.n2" and r["workload"] == probe and r["status"] == "ok"}
for rep in ("0", "1"):
    for m, pick in (("req_ns.p99", max), ("ops_per_s", min)):
        vms = [ok[(m + ".vm%d" % i, rep)] for i in (0, 1)]
        if ok[(m, rep)] != pick(vms):
            print("# %s rep %s: aggregate %s, VMs %s" % (m, rep, ok[(m, rep)], vms)); sys.exit(1)
PY
}
cap two -r native --probe "$PROBE" --slo-p99-us 1000000 --slo-tput-pct 0 --max-vms 2 --quick
check "two probe VMs: exit 0, both probes" \
	[ "$rc" -eq 0 ] && meta_has "$dir" '^capacity.n2.vm1,"?probe '
check "two probe VMs: aggregate req_ns.p99 is the higher, ops_per_s the lower VM's" worst_ok "$dir"

# --- an SLO no step meets: N_max 0, failed at 1, still exit 0 (a result)
cap tight -r native --probe "$PROBE" --slo-p99-us 0.001 --max-vms 4 --quick
check "impossible SLO: exit 0 (the search ended by its rule)" [ "$rc" -eq 0 ]
check "impossible SLO: N_max 0, failed at 1, why names the p99" \
	meta_has "$dir" '^capacity.n_max,0$' && meta_has "$dir" '^capacity.failed_at,1$' &&
	meta_has "$dir" '^capacity.why,"?p99 [0-9.e+]+ us > 0.001 us'
check "impossible SLO: slo_pass 0 for N=1" \
	row "$dir" ',native.n1,capacity/step,slo_pass,pass,higher,0,0,ok,'

# --- the failure path: probes outlive --timeout; everyone stopped and reaped
cap slow -r native --probe "$PROBE" --background cpu/sha256 --reps 1000 --timeout 2 \
	--slo-p99-us 1000000 --max-vms 2 --quick
check "timeout: the step fails, saying why" \
	meta_has "$dir" '^capacity.why,"?the probe VMs did not finish within --timeout 2 s'
check "timeout: no VM left running" none_left slow

# --- Ctrl-C mid-step (N=2: the probe and a background VM both running)
bg_started() { [ "$(cat "$tmp"/int/*/vms/n2/vm1/*/samples.csv.partial 2>/dev/null | wc -l)" -gt 1 ]; }
HVB_TEST_RUN=$tmp/int "$HVBENCH" capacity --out "$tmp/int" -r native --probe "$PROBE" \
	--background cpu/sha256 --reps 40 --slo-p99-us 1000000 --slo-tput-pct 0 --max-vms 4 \
	--quick >"$tmp/int.out" 2>"$tmp/int.err" &
pid=$!
wait_until 120 bg_started || echo "# the N=2 background never wrote a row: $(tail -c 300 "$tmp/int.err")"
kill -INT $pid
wait $pid
rc=$?
dir=$(run_dir int)
check "Ctrl-C: exit 130" [ "$rc" -eq 130 ]
check "Ctrl-C: the run is interrupted at step 2 (N=2)" \
	meta_has "$dir" '^status,interrupted$' && meta_has "$dir" '^interrupted_at,step 2 \(N=2\)$'
check_valid "Ctrl-C: the interrupted run is valid" "$dir" --expect-status interrupted
check "Ctrl-C: step 1's verdict is kept" row "$dir" ',native.n1,capacity/step,slo_pass,pass,higher,0,1,ok,'
check "Ctrl-C: what step 2 measured is kept (the background's rows)" \
	row "$dir" ',native.n2,cpu/sha256,bandwidth.vm1,MB/s,higher,0,'
check "Ctrl-C: no VM left running" none_left int

# --- kill -9 of the command: the VMs get SIGTERM (PR_SET_PDEATHSIG) and end
# (In a subshell whose stderr is dropped: bash reports a killed job.)
(
	HVB_TEST_RUN=$tmp/k9 "$HVBENCH" capacity --out "$tmp/k9" -r native --probe "$PROBE" \
		--reps 1000 --slo-p99-us 1000000 --max-vms 2 --quick >/dev/null 2>&1 &
	echo $! >"$tmp/k9.pid"
	wait
) 2>/dev/null &
vm_running() { [ -s "$tmp/k9.pid" ] && [ -n "$(run_procs k9 'hvbench run')" ]; }
wait_until 60 vm_running || echo "# no VM started within 60 s"
kill -9 "$(cat "$tmp/k9.pid")"
wait
check "kill -9: its VMs end by themselves" wait_until 60 none_left k9

# --- kvm: the same small search with VMs
if have kvm; then
	cap kvm -r kvm "${small[@]}"
	search_checks kvm kvm
	check "kvm: the boot storm's p50 and p99 at N=4" \
		row "$dir" ',kvm.n4,capacity/step,boot_ms.p50,ms,lower,0,[0-9.e+-]+,ok,over the first boot of 4 of 4' &&
		row "$dir" ',kvm.n4,capacity/step,boot_ms.p99,ms,lower,0,'
	check "kvm: vm0's runner meta copied per step" meta_has "$dir" '^runner.kvm.n4.guest_mem_mib,'
	cap kvm2 -r kvm "${small[@]}"
	"$HVBENCH" compare "$(run_dir kvm)" "$(run_dir kvm2)" >"$tmp/cmp.out" 2>&1
	crc=$?
	check "kvm: hvbench compare reads two capacity runs (exit 0 or 1, not 2)" [ "$crc" -le 1 ]
	check "kvm: ... and compares per step (kvm.n4)" grep -q 'kvm.n4' "$tmp/cmp.out"
else
	skip "kvm runner unavailable: $(runner_why kvm)"
fi
# --- qemu-kvm: QEMU is a grandchild (the VM's run starts it); Ctrl-C mid-step
# must leave no QEMU behind either.
if have qemu-kvm; then
	HVB_TEST_RUN=$tmp/qint "$HVBENCH" capacity --out "$tmp/qint" -r qemu-kvm --probe "$PROBE" \
		--reps 50 --slo-p99-us 1000000 --max-vms 2 --quick --guest-mem 256 \
		>"$tmp/qint.out" 2>"$tmp/qint.err" &
	pid=$!
	qemu_up() { [ -n "$(run_procs qint 'qemu-system')" ]; }
	wait_until 120 qemu_up || echo "# no QEMU within 120 s: $(tail -c 300 "$tmp/qint.err")"
	kill -INT $pid
	wait $pid
	rc=$?
	dir=$(run_dir qint)
	check "qemu-kvm Ctrl-C: exit 130, the run interrupted" \
		[ "$rc" -eq 130 ] && meta_has "$dir" '^status,interrupted$'
	check "qemu-kvm Ctrl-C: no QEMU and no VM left running" eval \
		'[ -z "$(run_procs qint "qemu-system|hvbench")" ]'
else
	skip "qemu-kvm runner unavailable: $(runner_why qemu-kvm)"
fi
tap_done
