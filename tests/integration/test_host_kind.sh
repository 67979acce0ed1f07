#!/usr/bin/env bash
# meta.csv records host_kind, its evidence and host_identity; HVB_HOST_ROOT
# (tests only) makes hvbench read a fake dom0's /proc and /sys instead.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh hostkind
fast=(--runner native -w micro/rdtsc --quick --reps 1 --batches 2 --goal-us 1000)

run real "${fast[@]}"
check "a run records host_kind (one of the documented kinds)" \
	meta_has "$dir" '^host_kind,(bare-metal|xen-dom0|xen-domU|nested|kvm-guest|vm)$'
check "... with its evidence" meta_has "$dir" '^host_kind_evidence,"?cpuid hypervisor: '
check "... and a 16-digit host_identity" meta_has "$dir" '^host_identity,[0-9a-f]{16}$'

root=$tmp/dom0
mkdir -p "$root/proc/xen" "$root/sys/class/dmi/id"
printf 'control_d\n' >"$root/proc/xen/capabilities"
printf 'XenVMMXenVMM (0x40000000)' >"$root/cpuid-hypervisor"
printf 'model name\t: Fake CPU\nmicrocode\t: 0x42\n' >"$root/proc/cpuinfo"
HVB_HOST_ROOT=$root run fake "${fast[@]}"
check "HVB_HOST_ROOT of a dom0: host_kind xen-dom0" meta_has "$dir" '^host_kind,xen-dom0$'
check "... microcode from the fake cpuinfo" meta_has "$dir" '^microcode,0x42$'
check "... identity from its fields" meta_has "$dir" '^host_identity_fields,cpu_model microcode$'
tap_done
