#!/usr/bin/env bash
# hvbench ab sides as configurations: one hvbench with two environments,
# two sets of run options, or a wrapper command; each side's runs record
# what made the side (meta.csv ab.*) and ab prints both sides; identical
# sides are refused unless --aa (an A/A run); --workload keeps boot_ms in
# the verdict and --workload boot alone compares boot.  Real kvm runs of
# tiny workloads, 3 rounds.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
HVBENCH=${HVBENCH:-build/hvbench}
case $HVBENCH in /*) ;; *) HVBENCH=$PWD/$HVBENCH ;; esac
tmp=$(mktemp -d /tmp/hvb-absides-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if ! "$HVBENCH" list --runners 2>/dev/null | grep -qE '^  kvm +available'; then
	skip "no usable /dev/kvm: the sides run the kvm runner"
	tap_done
	exit
fi
AB=("$HVBENCH" ab --runner kvm --workload cpu/crc32c --reps 3 --format csv)

# --- environments: HVB_GUEST_MEM_MIB is read by the run and recorded
"${AB[@]}" --a-env HVB_GUEST_MEM_MIB=64 --b-env HVB_GUEST_MEM_MIB=128 --out "$tmp/env" \
	-- --quick >"$tmp/env.csv" 2>"$tmp/env.err"
rc=$?
check "env sides: compared (exit 0 or 1, rc $rc)" [ $rc -le 1 ]
[ $rc -le 1 ] || sed 's/^/#   /' "$tmp/env.err" | tail -8
check "env sides: A's runs record A's environment" \
	sh -c "[ \$(grep -lx 'ab.env,HVB_GUEST_MEM_MIB=64' '$tmp'/env/a/*/meta.csv | wc -l) -eq 3 ]"
check "env sides: B's runs record B's environment" \
	sh -c "[ \$(grep -lx 'ab.env,HVB_GUEST_MEM_MIB=128' '$tmp'/env/b/*/meta.csv | wc -l) -eq 3 ]"
check "env sides: each run ran in its side's environment" \
	sh -c "grep -qx 'runner.kvm.guest_mem_mib,64' '$tmp'/env/a/*/meta.csv && grep -qx 'runner.kvm.guest_mem_mib,128' '$tmp'/env/b/*/meta.csv && ! grep -q 'guest_mem_mib,128' '$tmp'/env/a/*/meta.csv"
check "env sides: the runs say which side and round they are" \
	sh -c "grep -qx 'ab.side,A' '$tmp'/env/a/*/meta.csv && grep -qx 'ab.side,B' '$tmp'/env/b/*/meta.csv && grep -qx 'ab.round,3' '$tmp'/env/b/*/meta.csv"
check "env sides: the binary and its version are recorded" \
	sh -c "grep -qx 'ab.binary,$HVBENCH' '$tmp'/env/a/*/meta.csv && grep -q '^ab.binary_version,hvbench ' '$tmp'/env/b/*/meta.csv"
check "env sides: ab prints both sides' environments" \
	sh -c "grep -q 'A (base): $HVBENCH' '$tmp/env.err' && grep -q '  env:     HVB_GUEST_MEM_MIB=64' '$tmp/env.err' && grep -q '  env:     HVB_GUEST_MEM_MIB=128' '$tmp/env.err'"
check "--workload cpu/crc32c: boot_ms is in the verdict" grep -q '^kvm,boot,boot_ms,ms,lower,3,3,' "$tmp/env.csv"
check "--workload cpu/crc32c: and crc32c itself" grep -q '^kvm,cpu/crc32c,' "$tmp/env.csv"

# --- run options per side, quoted; the table names both sides on stdout
"$HVBENCH" ab --runner kvm --workload cpu/crc32c --reps 3 --a-args "--guest-mem '64'" \
	--b-args '--guest-mem 96 --goal-us 1000' --out "$tmp/args" -- --quick >"$tmp/args.out" 2>"$tmp/args.err"
rc=$?
check "args sides: compared (exit 0 or 1, rc $rc)" [ $rc -le 1 ]
check "args sides: each side's options reach its runs (last, after the shared ones)" \
	sh -c "grep -q '^command_line,.* --quick --guest-mem 64$' '$tmp'/args/a/*/meta.csv && grep -q '^command_line,.* --quick --guest-mem 96 --goal-us 1000$' '$tmp'/args/b/*/meta.csv"
check "args sides: recorded as given" \
	sh -c "grep -qx \"ab.args,--guest-mem '64'\" '$tmp'/args/a/*/meta.csv && grep -qx 'ab.args,--guest-mem 96 --goal-us 1000' '$tmp'/args/b/*/meta.csv"
check "args sides: the table shows what was compared" \
	sh -c "grep -q '^A (base): ' '$tmp/args.out' && grep -q '^  args:    --guest-mem 96 --goal-us 1000' '$tmp/args.out'"
check "args sides: compare's context warning names the difference" grep -q 'guest_mem_mib' "$tmp/args.out"

# --- a wrapper that must exec the command line it gets
cat >"$tmp/wrap.sh" <<WRAP
#!/bin/sh
echo "\$*" >>"$tmp/wrap.log"
exec "\$@"
WRAP
chmod +x "$tmp/wrap.sh"
"${AB[@]}" --b-cmd "$tmp/wrap.sh" --out "$tmp/wrap" -- --quick >"$tmp/wrap.csv" 2>"$tmp/wrap.err"
rc=$?
check "wrapper side: compared (exit 0 or 1, rc $rc)" [ $rc -le 1 ]
check "wrapper side: ran B's 3 runs, A's not" sh -c "[ \$(wc -l <'$tmp/wrap.log') -eq 3 ]"
check "wrapper side: got the hvbench run command line" grep -q "^$HVBENCH run --reps 1 --out $tmp/wrap/b " "$tmp/wrap.log"
check "wrapper side: recorded in B's runs only" \
	sh -c "grep -qx 'ab.cmd,$tmp/wrap.sh' '$tmp'/wrap/b/*/meta.csv && grep -qx 'ab.cmd,' '$tmp'/wrap/a/*/meta.csv"
"${AB[@]}" --b-cmd true --reps 1 --out "$tmp/noexec" >/dev/null 2>"$tmp/noexec.err"
rc=$?
check "a wrapper that does not exec hvbench: exit 2, says the wrapper must exec (rc $rc)" \
	sh -c "[ $rc -eq 2 ] && grep -q 'the wrapper must exec the command line it gets' '$tmp/noexec.err'"

# --- A/A: refused as identical without --aa, run with it
"${AB[@]}" --out "$tmp/aa0" >/dev/null 2>"$tmp/aa0.err"
rc=$?
check "A == B without --aa: exit 2 (rc $rc)" [ $rc -eq 2 ]
check "A == B without --aa: says so and names --aa" \
	sh -c "grep -q 'A and B are the same' '$tmp/aa0.err' && grep -q -- '--aa for an A/A run' '$tmp/aa0.err'"
check "A == B without --aa: nothing ran" [ ! -e "$tmp/aa0" ]
"${AB[@]}" --a-env X=1 --b-env X=1 --out "$tmp/aa1" >/dev/null 2>&1
check "the same environment on both sides is identical too" [ $? -eq 2 ]
"${AB[@]}" --a "$(dirname "$HVBENCH")" --b "$HVBENCH" --out "$tmp/aa2" >/dev/null 2>&1
check "a build directory and its binary are one side" [ $? -eq 2 ]
"${AB[@]}" --aa --out "$tmp/aa" -- --quick >"$tmp/aa.csv" 2>"$tmp/aa.err"
rc=$?
check "--aa: the A/A run runs and compares (rc $rc)" sh -c "[ $rc -le 1 ] && grep -q '^kvm,cpu/crc32c,' '$tmp/aa.csv'"

# --- --workload boot alone: the runs boot for micro/cpuid, boot alone compared
"$HVBENCH" ab --aa --runner kvm --workload boot --reps 3 --format csv --out "$tmp/boot" \
	>"$tmp/boot.csv" 2>"$tmp/boot.err"
rc=$?
check "--workload boot: runs and compares (rc $rc)" [ $rc -le 1 ]
check "--workload boot: the runs ran micro/cpuid" grep -q '^command_line,.* --workload micro/cpuid' "$tmp"/boot/a/*/meta.csv
check "--workload boot: boot_ms alone is compared" \
	sh -c "[ \$(tail -n +2 '$tmp/boot.csv' | wc -l) -eq 1 ] && grep -q '^kvm,boot,boot_ms,' '$tmp/boot.csv'"
"${AB[@]}" --aa --no-boot --out "$tmp/noboot" -- --quick >"$tmp/noboot.csv" 2>/dev/null
check "--no-boot: boot_ms left out" sh -c "! grep -q ',boot,' '$tmp/noboot.csv' && grep -q '^kvm,cpu/crc32c,' '$tmp/noboot.csv'"

# --- hostile side options
"${AB[@]}" --a-args "'--quick" --out "$tmp/h1" >/dev/null 2>"$tmp/h1.err"
check "an unclosed quote in --a-args: exit 2 with why" sh -c "[ $? -eq 2 ] && grep -q 'quote . is not closed' '$tmp/h1.err'"
"${AB[@]}" --b-args '--out elsewhere' --out "$tmp/h2" >/dev/null 2>"$tmp/h2.err"
check "--out in --b-args: refused (ab sets it)" sh -c "[ $? -eq 2 ] && grep -q -- \"--b-args: '--out' is set by ab itself\" '$tmp/h2.err'"
"${AB[@]}" --b-env NOVALUE --out "$tmp/h3" >/dev/null 2>"$tmp/h3.err"
check "--b-env without =: refused with the form to give" sh -c "[ $? -eq 2 ] && grep -q 'give KEY=VALUE' '$tmp/h3.err'"
tap_done
