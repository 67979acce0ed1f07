#!/usr/bin/env bash
# The guest's ring-3 virtio-blk driver (workloads/rt/virtio*.c) against
# QEMU's own virtio-blk on -machine microvm, driven by hand (no runner):
# io/verify writes, flushes, reads back and compares in the guest, then the
# host checks the file (tests/qemu/verify_disk.py replays the seeded
# offsets).  Under KVM (skipped without a usable /dev/kvm) and TCG; plus
# the driver's refusals (legacy transport, no window, no HVB_CAP_BLK) and a
# write error injected mid-run (blkdebug), which must fail the cell with the
# sector in the reason.
#
# QEMU 7.2 microvm adds virtio_mmio.device= to a PVH kernel's command line
# only with acpi=off (8 transports, the first device on the last:
# 512@0xfeb00e00:12); with ACPI on, its default, it adds nothing and has 24
# transports, the first device at 0xfeb02e00 (irq 24 + 23 on the second
# IOAPIC): there the word is ours.  Both are tested.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
O=${O:-build}
PY=${PYTHON:-python3}
. tests/lib/qemu_guest.sh
tmp=$(mktemp -d /tmp/hvb-vblk-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

need_qemu
need_built

WORD="virtio_mmio.device=512@0xfeb02e00:47"
CAPS_BLK=0x1000 # HVB_CAP_BLK
common="w=io/verify tsc_khz=1000000 dev=serial goal_us=2000 batches=3 quick=1"
modern="-global virtio-mmio.force-legacy=false"

# boot NAME ACCEL CMDLINE [qemu args...]: serial capture decoded into
# $tmp/NAME.rec, QEMU's exit status in $tmp/NAME.rc (isa-debug-exit: OK = 1).
# MACHINE (default microvm) is -machine's value.
boot() {
	local name=$1 accel=$2 cmdline=$3 cpu=max
	shift 3
	[ "$accel" = kvm ] && cpu=host,-arch-capabilities
	timeout 120 qemu-system-x86_64 -nodefaults -machine "${MACHINE:-microvm}" -accel "$accel" \
		-cpu "$cpu" -m 256M -display none -no-reboot -monitor none -kernel "$IMAGE" \
		-append "$cmdline" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -serial "file:$tmp/$name.out" "$@" \
		>"$tmp/$name.qemu" 2>&1
	echo $? >"$tmp/$name.rc"
	"$DUMP" "$tmp/$name.out" >"$tmp/$name.rec"
}

# disk NAME: a fresh sparse 16 MiB file (256 blocks of 64 KiB).
disk() {
	rm -f "$tmp/$1.img"
	truncate -s 16M "$tmp/$1.img"
	echo "$tmp/$1.img"
}

drive() { echo "-drive id=d0,file=$1,if=none,format=raw,cache=none,aio=native -device virtio-blk-device,drive=d0"; }
rc_is() { [ "$(cat "$tmp/$1.rc")" = "$2" ]; }
status_of() { sed -n 's/.* STATUS workload=io\/verify .*status=\([0-9]*\) .*text=\(.*\)/\1 \2/p' "$tmp/$1.rec"; }
ops_of() { sed -n 's/.*text=io\/verify: \([0-9]*\) operations.*all verified.*/\1/p' "$tmp/$1.rec"; }
show() { sed 's/^/#   /' "$tmp/$1.rec" "$tmp/$1.qemu" | cut -c1-240 | head -20; }

# verified NAME ACCEL: io/verify ran, every op verified in the guest, and
# the host finds the same in the file.
verified() {
	local name=$1 accel=$2 img ops
	img=$(disk "$name")
	# shellcheck disable=SC2046,SC2086
	boot "$name" "$accel" "$common caps=$CAPS_BLK $WORD" $modern $(drive "$img")
	ops=$(ops_of "$name")
	if rc_is "$name" 1 && [ -n "$ops" ] && [ "$ops" -ge 2 ] &&
		grep -q 'SAMPLE workload=io/verify metric=ns_per_op .*text=virtio-blk mmio v2 @0xfeb02e00' \
			"$tmp/$name.rec"; then
		ok "$accel: io/verify verifies $ops operations in the guest (virtio-blk mmio v2)"
	else
		not_ok "$accel: io/verify verifies its operations in the guest (virtio-blk mmio v2)"
		show "$name"
		return
	fi
	if "$PY" tests/qemu/verify_disk.py "$img" --ops "$ops" >"$tmp/$name.check"; then
		ok "$accel: the host finds every block's last pattern in the file ($(cut -d: -f3 "$tmp/$name.check"))"
	else
		not_ok "$accel: the host finds every block's last pattern in the file"
		sed 's/^/#   /' "$tmp/$name.check"
	fi
	# The checker can fail: one flipped byte in the last op's block.
	sector=$(sed -n 's/.*last op [0-9]* at sector \([0-9]*\).*/\1/p' "$tmp/$name.rec")
	printf '\x5a' | dd of="$img" bs=1 seek=$((sector * 512 + 700)) conv=notrunc status=none
	if ! "$PY" tests/qemu/verify_disk.py "$img" >"$tmp/$name.bad" &&
		grep -q "sector $((sector + 1)), byte 184" "$tmp/$name.bad"; then
		ok "$accel: a flipped byte in the file is found, by sector and byte"
	else
		not_ok "$accel: a flipped byte in the file is found, by sector and byte"
		sed 's/^/#   /' "$tmp/$name.bad"
	fi
}

if [ -w /dev/kvm ]; then
	verified kvm kvm
else
	skip "kvm: /dev/kvm is missing or not writable (the TCG cases still run)"
fi
verified tcg tcg

# acpi=off: QEMU writes the word itself, for the transport it chose.
img=$(disk acpioff)
# shellcheck disable=SC2046,SC2086
MACHINE=microvm,acpi=off boot acpioff tcg "$common caps=$CAPS_BLK" $modern $(drive "$img")
if rc_is acpioff 1 && [ -n "$(ops_of acpioff)" ] &&
	grep -q 'SAMPLE workload=io/verify metric=ns_per_op .*text=virtio-blk mmio v2 @0xfeb00e00' \
		"$tmp/acpioff.rec" && "$PY" tests/qemu/verify_disk.py "$img" --ops "$(ops_of acpioff)" >/dev/null; then
	ok "microvm,acpi=off: QEMU's own word (0xfeb00e00) is found, io/verify and the file check pass"
else
	not_ok "microvm,acpi=off: QEMU's own word (0xfeb00e00) is found, io/verify and the file check pass"
	show acpioff
fi

# QEMU 7.2's transports are legacy (version 1) unless force-legacy=false:
# refused with the reason, not driven wrongly.
img=$(disk legacy)
# shellcheck disable=SC2046,SC2086
boot legacy tcg "$common caps=$CAPS_BLK $WORD" $(drive "$img")
check "legacy transport: io/verify fails, naming version 1 and force-legacy" \
	eval 'status_of legacy | grep -q "^3 virtio-mmio v1 (legacy) device: needs v2 .*force-legacy=false)"'

img=$(disk noword)
# shellcheck disable=SC2046,SC2086
boot noword tcg "$common caps=$CAPS_BLK" $modern $(drive "$img")
check "no virtio_mmio.device= word: io/verify fails, saying so" \
	eval 'status_of noword | grep -q "^3 no virtio-blk device: no virtio_mmio.device= window"'

boot badword tcg "$common caps=$CAPS_BLK virtio_mmio.device=512@feb02e00:47" $modern $(drive "$img")
check "malformed word: io/verify fails, naming the word's format" \
	eval 'status_of badword | grep -q "^3 a virtio_mmio.device= word is malformed"'

# Windows the runtime must not map: left out with the reason, the boot goes on.
boot inram tcg "$common caps=$CAPS_BLK virtio_mmio.device=512@0x400000:5" $modern $(drive "$img")
check "a window in RAM: not mapped, io/verify fails saying so" \
	eval 'rc_is inram 1 && status_of inram | grep -q "^3 a virtio_mmio.device= window lies in RAM"'
boot high tcg "$common caps=$CAPS_BLK virtio_mmio.device=4K@0x8000000000:5" $modern $(drive "$img")
check "a window above 512 GiB: not mapped, io/verify fails saying so" \
	eval 'rc_is high 1 && status_of high | grep -q "^3 a virtio_mmio.device= window lies above 512 GiB"'

boot nocap tcg "$common caps=0 $WORD" $modern $(drive "$img")
check "without HVB_CAP_BLK: io/verify is skipped, the device untouched" \
	eval 'status_of nocap | grep -q "^1 needs the run.s disk"'

# A write error in the middle of the run (op 2's block, sectors 23424..;
# blkdebug fails every write that touches it): the cell fails with the op
# and the sector, after op 0 (setup) and op 1 went through.
img=$(disk eio)
printf '[inject-error]\nevent = "pwritev"\nerrno = "5"\nsector = "23424"\n' >"$tmp/eio.conf"
boot eio tcg "$common caps=$CAPS_BLK $WORD" $modern \
	-blockdev "driver=blkdebug,node-name=d0,config=$tmp/eio.conf,image.driver=file,image.filename=$img" \
	-device virtio-blk-device,drive=d0
if rc_is eio 1 && status_of eio | grep -q "^3 io/verify: op 2, sector 23424: write completed with an error (-EIO)$"; then
	ok "a write error mid-run fails the cell, naming op 2 and sector 23424"
else
	not_ok "a write error mid-run fails the cell, naming op 2 and sector 23424"
	show eio
fi

tap_done
