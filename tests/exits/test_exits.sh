#!/usr/bin/env bash
# hvbench exits on fixtures: the recorded kvm run (tests/fixtures/exits/,
# latency columns from the core's own timing), an old run without the
# later columns, and hostile or missing input.  The expected figures are
# computed here from exits.csv with Python's csv module, not copied from
# hvbench's output.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh exits

rec=$(ls -d tests/fixtures/exits/*/ | head -1)
old=tests/fixtures/results/20261126-101500-fixhost-4242

"$HVBENCH" exits "$rec" >"$tmp/rec.out" 2>"$tmp/rec.err"
check "recorded run: exit 0" [ $? -eq 0 ]
check "... a table per runner, workload and source" \
	grep -q '^kvm x micro/pio-out-user, source vmm, 2 repetitions' "$tmp/rec.out"
check "... kvm-stats' shares are of its total row" \
	grep -q '^kvm x micro/mmio-write-user, source kvm-stats, 2 repetitions (% of total)' "$tmp/rec.out"

# expected ROW: reason count % exits/op ns/exit p50 p90 p99 max guest_ns/op of
# the vmm userspace_mmio row of micro/mmio-write-user, computed from the CSVs
# (guest_ns/op: the median of samples.csv's ns_per_op.p50 over the repetitions).
expected=$("$PY" - "$rec" <<'PY'
import csv, statistics, sys
rows = [r for r in csv.DictReader(open(sys.argv[1] + "/exits.csv"))
        if r["workload"] == "micro/mmio-write-user" and r["source"] == "vmm"]
mine = [r for r in rows if r["reason"] == "userspace_mmio"]
n = sum(int(r["count"]) for r in mine)
allc = sum(int(r["count"]) for r in rows)
ops = sum(int(r["ops"]) for r in mine)
tot = sum(float(r["total_ns"]) for r in mine)
med = lambda k: statistics.median(float(r[k]) for r in mine)
guest = statistics.median(float(r["value"]) for r in csv.DictReader(open(sys.argv[1] + "/samples.csv"))
                          if r["runner"] == "kvm" and r["workload"] == "micro/mmio-write-user"
                          and r["metric"] == "ns_per_op.p50" and r["status"] == "ok")
print("userspace_mmio %d %.2f%% %.4g %.0f %.0f %.0f %.0f %.0f %.0f" % (
    n, 100.0 * n / allc, n / ops, tot / n, med("p50_ns"), med("p90_ns"), med("p99_ns"),
    max(float(r["max_ns"]) for r in mine), guest))
PY
)
got=$(awk '/^kvm x micro\/mmio-write-user, source vmm/ {t=1; next} /^$/ {t=0} t && $1 == "userspace_mmio" {$1=$1; print}' "$tmp/rec.out")
if [ -n "$expected" ] && [ "$got" = "$expected" ]; then
	ok "... userspace_mmio: count, %, exits/op, ns/exit, percentiles and guest ns/op as computed from the CSVs"
else
	not_ok "... userspace_mmio as computed from the CSV" "got '$got', expected '$expected'"
fi
check "... the kvm-stats rows have no times (-), and the guest's ns/op beside them" \
	grep -Eq '^  total +[0-9]+ +100.00% +[0-9.]+ +- +- +- +- +- +[0-9]+$' "$tmp/rec.out"
check "... the header names the guest column" \
	grep -Eq '^  reason +count +% +exits/op +ns/exit +p50_ns +p90_ns +p99_ns +max_ns +guest_ns/op$' \
	"$tmp/rec.out"
check "... reasons with no exits are left out, and it says how many" \
	grep -q 'reasons with no exits not shown' "$tmp/rec.out"

"$HVBENCH" exits "$rec" --runner kvm --workload 'micro/pio*' >"$tmp/f.out" 2>&1
check "--workload glob: only the matching workload's tables" \
	sh -c "[ $? -eq 0 ] && grep -q '^kvm x micro/pio-out-user' '$tmp/f.out' &&
		! grep -q 'mmio-write-user' '$tmp/f.out'"
"$HVBENCH" exits "$rec" --runner qemu-kvm >"$tmp/n.out" 2>&1
check "no matching rows: exit 1 naming the filter" \
	sh -c "[ $? -eq 1 ] && grep -q 'no exits.csv rows for runner qemu-kvm' '$tmp/n.out'"

"$HVBENCH" exits "$old" >"$tmp/old.out" 2>&1
check "a run from before source/ops/latency columns: exit 0, source unknown, no times" \
	sh -c "[ $? -eq 0 ] && grep -q 'source unknown' '$tmp/old.out' &&
		grep -Eq '^  hypercall +[0-9]+ .* - +- +- +- +([0-9]+|-)$' '$tmp/old.out'"

"$HVBENCH" exits "$tmp/nowhere" >"$tmp/m.out" 2>&1
check "missing directory: exit 2, says so" \
	sh -c "[ $? -eq 2 ] && grep -q 'nowhere: no such directory' '$tmp/m.out'"

# broken COPY SED...: a copy of the recorded run with exits.csv edited.
broken() {
	local name=$1
	shift
	rm -rf "$tmp/$name" && cp -r "$rec" "$tmp/$name"
	[ $# -gt 0 ] && sed -i "$@" "$tmp/$name/exits.csv"
	"$HVBENCH" exits "$tmp/$name" >"$tmp/$name.out" 2>&1
	echo $? >"$tmp/$name.rc"
}
refused() { [ "$(cat "$tmp/$1.rc")" -eq 2 ] && grep -q -- "$2" "$tmp/$1.out"; }

# without the guest's figures of a workload its guest column is unknown (-)
rm -rf "$tmp/noguest" && cp -r "$rec" "$tmp/noguest"
sed -i '/,kvm,micro\/mmio-write-user,ns_per_op/d' "$tmp/noguest/samples.csv"
"$HVBENCH" exits "$tmp/noguest" --workload micro/mmio-write-user >"$tmp/noguest.out" 2>&1
check "no guest ns_per_op rows: guest_ns/op is -" \
	sh -c "grep -Eq '^  userspace_mmio +[0-9]+ .* +-$' '$tmp/noguest.out' &&
		! grep -Eq '^  userspace_mmio .* [0-9]+$' '$tmp/noguest.out'"
rm -rf "$tmp/nop50" && cp -r "$rec" "$tmp/nop50"
sed -i '/,kvm,micro\/mmio-write-user,ns_per_op\.p50,/d' "$tmp/nop50/samples.csv"
"$HVBENCH" exits "$tmp/nop50" --workload micro/mmio-write-user >"$tmp/nop50.out" 2>&1
mean=$("$PY" - "$tmp/nop50" <<'PY'
import csv, statistics, sys
print("%.0f" % statistics.median(float(r["value"]) for r in csv.DictReader(open(sys.argv[1] + "/samples.csv"))
                                 if r["runner"] == "kvm" and r["workload"] == "micro/mmio-write-user"
                                 and r["metric"] == "ns_per_op" and r["status"] == "ok"))
PY
)
check "without ns_per_op.p50 the guest column is ns_per_op's median ($mean)" \
	grep -Eq "^  userspace_mmio +[0-9]+ .* $mean\$" "$tmp/nop50.out"

broken noexits && rm -f "$tmp/noexits/exits.csv"
"$HVBENCH" exits "$tmp/noexits" >"$tmp/noexits.out" 2>&1; echo $? >"$tmp/noexits.rc"
check "no exits.csv: exit 2 naming the file" refused noexits 'noexits/exits.csv: missing'
broken three '2s/,\([0-9.e+]*\)$/,/'
check "three latency columns of four: refused with the line" \
	refused three 'exits.csv:2: latency columns p50_ns,p90_ns,p99_ns,max_ns: all four or none'
# swap p50 and max of a timed row: out of order
broken order '0,/,vmm,[0-9]*,[0-9.e+]*,/{/,vmm,[0-9]*,[0-9.e+]*,/s/,vmm,\([0-9]*\),\([0-9.e+]*\),\([0-9.e+]*\),\([0-9.e+]*\),\([0-9.e+]*\)$/,vmm,\1,\5,\3,\4,\2/}'
check "p90 below p50: refused" refused order 'column p90_ns: .* is below p50_ns'
broken neg '2s/^\([^,]*,[^,]*,[^,]*,[^,]*,[^,]*\),[0-9]*,/\1,-3,/'
check "a negative count: refused" refused neg 'exits.csv:2: column count: -3 is negative'
broken hex '2s/^\([^,]*,[^,]*,[^,]*,[^,]*,[^,]*\),[0-9]*,/\1,0x10,/'
check "a hexadecimal count: refused" refused hex "column count: '0x10' is not a decimal number"
broken hdr '1s/reason/cause/'
check "a wrong header: refused naming it" refused hdr 'exits.csv:1: header is'

"$HVBENCH" --help >"$tmp/help.out" 2>&1
check "hvbench --help lists exits" grep -q '^ *exits ' "$tmp/help.out"
tap_done
