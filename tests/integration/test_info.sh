#!/usr/bin/env bash
# hvbench info: every section is there, and what it says about this host
# matches what the host itself shows (device nodes, perf(1), qemu, nproc).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
HVBENCH=${HVBENCH:-build/hvbench}
PY=${PYTHON:-python3}
tmp=$(mktemp -d /tmp/hvb-info-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$HVBENCH" info >"$tmp/out" 2>"$tmp/err"
check "hvbench info exits 0" [ "$?" -eq 0 ]
for s in CPU KVM Interrupts PMU Xen QEMU Topology Memory Mitigations Runners; do
	check "section $s present" grep -q "^$s" "$tmp/out"
done
# line KEY: the value printed for KEY (first match, in any section)
line() { grep -m1 -E "^  $1 " "$tmp/out" | sed -E "s/^  $1 +//"; }

if [ -c /dev/kvm ]; then
	check "KVM: /dev/kvm reported present (it is)" grep -qE '^  /dev/kvm +present' "$tmp/out"
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		check "KVM: API version 12" [ "$(line 'API version')" = 12 ]
		check "KVM: binary stats capability reported" \
			grep -qE '^  KVM_CAP_BINARY_STATS_FD +(yes|no)' "$tmp/out"
		check "KVM: VM creation probed" grep -qE '^  KVM_CREATE_VM +(works|fails)' "$tmp/out"
	else
		check "KVM: not usable, with the reason" grep -qE '^  /dev/kvm +present .*not usable' "$tmp/out"
	fi
else
	check "KVM: /dev/kvm reported absent (it is)" grep -qE '^  /dev/kvm +absent' "$tmp/out"
fi
if [ -e /sys/module/kvm_pvm ]; then
	check "KVM: nesting says pvm (kvm_pvm is loaded)" grep -qE '^  nesting +pvm' "$tmp/out"
fi

mhz=$(line 'TSC frequency' | awk '{print $1}')
check "CPU: a measured TSC frequency" "$PY" -c "import sys; sys.exit(0 if float('$mhz' or 0) > 0 else 1)"
check "Topology: PUs allowed match nproc" [ "$(line 'PUs allowed to hvbench')" = "$(nproc)" ]
check "Interrupts: every host.irq.* key of a run's meta, with a value" sh -c 'for k in apicv avic posted_interrupts x2apic tsc_deadline halt_poll_ns lapic_timer_advance kvm_pv pvm; do grep -qE "^  $k +[^ ]" "$0" || exit 1; done' "$tmp/out"

check "PMU: task-clock supported" [ "$(line task-clock)" = supported ]
if command -v perf >/dev/null && perf stat -x, -e task-clock true >/dev/null 2>&1; then
	if perf stat -x, -e cycles true 2>&1 | grep -q 'not supported'; then
		check "PMU: cycles not supported, as perf(1) says" \
			grep -qE '^  cycles +not supported' "$tmp/out"
		check "PMU: summary says none" grep -qE '^  hardware events +none' "$tmp/out"
	else
		check "PMU: cycles supported, as perf(1) says" [ "$(line cycles)" = supported ]
	fi
else
	skip "perf(1) not installed or not working: no cross-check of hardware events"
fi

if [ -e /proc/xen ]; then
	check "Xen: /proc/xen present (it is)" grep -qE '^  /proc/xen +present' "$tmp/out"
else
	check "Xen: /proc/xen absent (it is)" grep -qE '^  /proc/xen +absent' "$tmp/out"
fi
if q=$(command -v qemu-system-x86_64); then
	check "QEMU: path found" [ "$(line qemu-system-x86_64)" = "$q" ]
	check "QEMU: version as qemu says" [ "$(line version)" = "$("$q" --version | head -1)" ]
else
	check "QEMU: not on PATH (it is not)" grep -qE '^  qemu-system-x86_64 +not on PATH' "$tmp/out"
fi

# CSV: parseable, three columns, the same sections.
"$HVBENCH" info --format csv >"$tmp/csv"
check "info --format csv exits 0" [ "$?" -eq 0 ]
check "CSV: header, three fields a row, every section" "$PY" - "$tmp/csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
ok = rows[0] == ["section", "key", "value"] and all(len(r) == 3 for r in rows)
secs = {r[0].split()[0] for r in rows[1:]}
ok = ok and {"CPU", "KVM", "PMU", "Xen", "QEMU", "Topology", "Memory", "Mitigations", "Runners"} <= secs
sys.exit(0 if ok else 1)
PY

"$HVBENCH" info --format yaml >/dev/null 2>"$tmp/e"
check "bad --format: exit 2" [ "$?" -eq 2 ]
check "bad --format: the message says what is accepted" grep -q 'text, csv or json' "$tmp/e"
"$HVBENCH" info extra >/dev/null 2>&1
check "unexpected argument: exit 2" [ "$?" -eq 2 ]
tap_done
