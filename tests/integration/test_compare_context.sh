#!/usr/bin/env bash
# hvbench compare warns when base and cand differ in context (here: the
# kernel, and the guest memory of one runner), in one warning listing each
# key with both values; identical context gives no such warning; runner
# against runner compares the two runners' own keys (guest memory).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh cmpctx
fix=tests/fixtures/results/20261126-101500-fixhost-4242

# mkrun NAME KERNEL KVM_MIB: a copy of the fixture with run_id NAME
mkrun() {
	local d=$tmp/$1
	cp -r "$fix" "$d"
	sed -i "s/20261126-101500-fixhost-4242/$1/g" "$d"/*.csv
	sed -i "s/^kernel,.*/kernel,$2/" "$d/meta.csv"
	printf 'runner.kvm.guest_mem_mib,%s\nrunner.xen-pvh.guest_mem_mib,1024\n' "$3" >>"$d/meta.csv"
}
mkrun base-1 6.1.0-27-amd64 1024
mkrun base-2 6.1.0-27-amd64 1024
mkrun cand-1 6.2.0-1-amd64 2048

compare() { # compare NAME ARGS...: output in $tmp/NAME.out
	local name=$1
	shift
	"$HVBENCH" compare "$@" >"$tmp/$name.out" 2>&1
	rc=$?
}
compare diff "$tmp/base-1" "$tmp/cand-1"
check "compare of runs that differ in context still compares (rc $rc)" [ "$rc" -le 1 ]
warning=$(grep '^WARNING: context differs between base and cand' "$tmp/diff.out")
check "one warning (in the output; stderr has it too) says the context differs" [ "$(grep -c '^WARNING: context differs' "$tmp/diff.out")" -eq 1 ]
check "... naming the kernel with both values" \
	grep -q "kernel: base '6.1.0-27-amd64', cand '6.2.0-1-amd64'" <<<"$warning"
check "... and kvm's guest memory with both values" \
	grep -q "runner.kvm.guest_mem_mib: base '1024', cand '2048'" <<<"$warning"
lacks() { ! grep -q "$1" <<<"$warning"; }
check "... but not what is equal (xen-pvh's guest memory, the host)" \
	lacks 'xen-pvh.guest_mem_mib\|host_name'
check "... nor the keys both runs lack (host_kind: not recorded in either)" lacks host_kind

compare same "$tmp/base-1" "$tmp/base-2"
check "runs of the same context: no context warning" sh -c "! grep -q 'context differs' '$tmp/same.out'"

compare cross --base-runner kvm --cand-runner xen-pvh "$tmp/cand-1" "$tmp/cand-1"
check "runner against runner: the runners' guest memory differs" \
	grep -q "context differs between base (kvm) and cand (xen-pvh): runner.\*.guest_mem_mib: base '2048', cand '1024'" "$tmp/cross.out"
compare cross-same --base-runner kvm --cand-runner xen-pvh "$tmp/base-1" "$tmp/base-1"
check "runner against runner with equal guest memory: no context warning" \
	sh -c "! grep -q 'context differs' '$tmp/cross-same.out'"
tap_done
