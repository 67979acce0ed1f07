#!/usr/bin/env bash
# hvbench run --vcpus 2 with the real guest image under the kvm runner (the
# reference core starts the APs at the AP entry note, smp=direct), the
# guest's own SMP and interrupt self-test switched on (selftest=smp through
# HVB_KVM_CMDLINE_EXTRA; QEMU's side, smp=sipi, is tests/guest/
# test_smp_qemu.sh, booting QEMU itself): every vCPU checks in and runs work; where the runner grants
# HVB_CAP_IRQ, each interrupt kind arrives exactly once per send (counted in
# the guest), and kicks / injections of the interrupt bench device too.
# STORM (a never-EOI'd vector must block its priority class) is the one
# check allowed to fail: nested PVM re-delivers such vectors, which the
# guest reports; the run must still finish.  Skips a runner visibly where
# it is unavailable, or hvbench has no --vcpus yet.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh smp

if ! "$HVBENCH" run --help 2>&1 | grep -q -- '--vcpus'; then
	skip_rest "hvbench run has no --vcpus option yet (smp-work)"
fi

st="guest rt: selftest smp:"
logs() { sed -n "s/^.*workload side: //p" "$1/log.txt" 2>/dev/null; }
has_log() { logs "$1" | grep -qE -- "$2"; }

for runner in kvm; do
	if ! have "$runner"; then
		skip "$runner runner unavailable: $(runner_why "$runner")"
		continue
	fi
	HVB_KVM_CMDLINE_EXTRA=selftest=smp HVB_TEST_RUN="$tmp/$runner" "$HVBENCH" run --out "$tmp/$runner" \
		--runner "$runner" --workload micro/rdtsc --reps 1 --quick --vcpus 2 \
		>"$tmp/$runner.out" 2>"$tmp/$runner.err"
	rc=$?
	dir=$(run_dir "$runner")
	if [ "$rc" -ne 0 ] || [ -z "$dir" ]; then
		not_ok "$runner --vcpus 2: the run completes" "exit $rc: $(tail -3 "$tmp/$runner.err")"
		continue
	fi
	ok "$runner --vcpus 2: the run completes"
	# Both vCPU threads' perf counters, read for the filtered vCPU thread
	# by the job's main thread (the seccomp filter is on by default).
	check "$runner: vcpu-threads.task-clock summed over 2 vCPU threads under seccomp" \
		grep -qE ",$runner,micro/rdtsc,0,vcpu-threads\.task-clock,[1-9][0-9]*,[0-9]+,[0-9]+,software,ok,summed over 2 vCPU threads" \
		"$dir/counters.csv"
	check "$runner: meta says every vCPU times its exits" \
		meta_has "$dir" "^runner\.$runner\.exit_timing,.*on every vCPU's thread"
	check "$runner: meta caps in hex and by name" \
		meta_has "$dir" "^runner\.$runner\.caps,\"?0x[0-9a-f]+ \(PIO_USER\|"
	if meta_has "$dir" "^runner\.$runner\.irq_delivery,\"?yes"; then
		check "$runner: interrupts delivered: IRQ among the meta caps" \
			meta_has "$dir" "^runner\.$runner\.caps,.*[(|]IRQ[|)]"
	else
		check "$runner: no interrupt delivery: no IRQ among the meta caps" \
			bash -c "! grep -qE '^runner\.$runner\.caps,.*[(|]IRQ[|)]' '$dir/meta.csv'"
	fi
	if ! has_log "$dir" "^$st done"; then
		skip "$runner: the runner does not pass its extra words to the guest (no selftest records)"
		continue
	fi
	check "$runner: vCPU 1 checked in" has_log "$dir" "^guest rt: cpu 1 up "
	check "$runner: both CPUs ran work" has_log "$dir" "^$st work ok cpus=2/2"
	check "$runner: every CPU allocated and logged at once" has_log "$dir" "^$st alloc ok bad=0/0"
	if has_log "$dir" "^$st interrupts skipped"; then
		skip "$runner: no interrupts granted: $(logs "$dir" | sed -n "s/^$st interrupts skipped: //p")"
		continue
	fi
	for c in "wake ok wakeups=2/2" "self ok arrived=8/8" "ping ok pongs=8/8" \
		"ping-spin ok pongs=8/8" "timer ok fired=8/8" "flood ok"; do
		check "$runner: $c" has_log "$dir" "^$st $c"
	done
	if has_log "$dir" "^$st kick "; then
		check "$runner: each kick served once" has_log "$dir" "^$st kick ok served=8/8"
	fi
	if has_log "$dir" "^$st virq "; then
		check "$runner: each injection arrived once" has_log "$dir" "^$st virq ok arrived=16/16"
	fi
	failures=$(logs "$dir" | sed -n "s/^$st done, failures=\([0-9]*\).*/\1/p")
	storms=$(logs "$dir" | grep -c "^$st storm FAILED")
	check "$runner: no failure but STORM's ($storms)" [ "${failures:-x}" = "$storms" ]
	[ "$storms" = 0 ] || echo "# $runner: a never-EOI'd vector was delivered again (nested PVM does this)"
done

# hvb-vmm -c 2: the standalone VMM starts the AP too (no irqchip: it spins
# while idle) and the guest's two CPUs run work.
VMM=$(dirname "$HVBENCH")/hvb-vmm
if [ ! -x "$VMM" ] || [ ! -r "$GUEST" ] || ! have kvm; then
	skip "hvb-vmm -c 2: no hvb-vmm, guest image or usable kvm"
else
	"$VMM" -c 2 -t 60 "$GUEST" dev=hvb caps=0x1 selftest=smp w=micro/rdtsc quick=1 \
		>"$tmp/vmm.out" 2>"$tmp/vmm.err"
	check "hvb-vmm -c 2: the guest shut down cleanly" grep -q "^verdict: shutdown" "$tmp/vmm.out"
	check "hvb-vmm -c 2: the guest got vcpus=2 smp=direct, vCPU 1 checked in" \
		grep -q "guest rt: cpu 1 up (smp=direct" "$tmp/vmm.out"
	check "hvb-vmm -c 2: both CPUs ran work" grep -q "selftest smp: work ok cpus=2/2" "$tmp/vmm.out"
fi

tap_done
