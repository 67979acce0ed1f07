# shellcheck shell=bash
# Common helpers for the ci/nested scripts.  Sourced, not executed.
#
# ci/nested boots Debian's Linux kernel directly (no Xen) under
# qemu-system-x86_64 -accel tcg -cpu max: TCG emulates SVM with nested
# paging, so that Linux loads kvm_amd and has a real /dev/kvm, and with it
# vhost_net, tun and veth as modules, which this machine's own kernel
# (nested PVM) lacks.  hvbench runs inside it.  Numbers from there are
# emulation numbers: functional evidence only.
#
# It reuses ci/xen's package cache (ci/xen/fetch: the same kernel and
# busybox), ci/lib/initrd.sh for the initramfs and ci/lib/vm.sh for the
# QEMU watchdog and the result disk.
. "$(dirname "${BASH_SOURCE[0]}")/../xen/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/initrd.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vm.sh"

NESTED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# hvbench and its guest image for inside: AVX code #UDs in a KVM guest
# under TCG's SVM (a vpxor in the guest runtime faulted in ring 3 with the
# default x86-64-v3 build), so everything is built for x86-64-v2 in its own
# O=, as ci/xen does, and meta's workload_cflags say so.
NESTED_ARCH=${NESTED_WORKLOAD_ARCH:-x86-64-v2}
# Absolute always: make keys its dependency files by the path O= had, so
# switching between a relative and an absolute O= leaves stale objects.
NESTED_O=$(realpath -m "${NESTED_O:-$XEN_BUILD/nested-$NESTED_ARCH}")

die() {
	echo "ci/nested: error: $*" >&2
	exit 1
}

note() {
	echo "ci/nested: $*" >&2
}

# nested_build: hvbench, the guest image and hvb-vhost-check
# (tests/nested/vhost_check.c) for inside, in $NESTED_O.
nested_build() {
	make -s -C "$XEN_TOP" O="$NESTED_O" WORKLOAD_ARCH="$NESTED_ARCH" \
		"$NESTED_O/hvbench" "$NESTED_O/guest/hvbench-guest.elf" \
		"$NESTED_O/nested/hvb-vhost-check" ||
		die "building hvbench, the guest image and hvb-vhost-check (WORKLOAD_ARCH=$NESTED_ARCH) failed"
}
