#!/usr/bin/env bash
# The guest's ring-3 virtio-net driver (workloads/rt/virtio_net.c) against
# QEMU's own virtio-net-device on -machine microvm,acpi=off, driven by hand
# (no runner): a tap in a network namespace this test creates, the tap's
# side at 10.78.0.1 with a small responder (tests/qemu/net_echo.py), the
# guest at 10.78.0.2 running net/verify, which sends ECHO datagrams of 64 to
# 1514-byte frames and checks every reply byte for byte, while the responder
# checks every datagram that arrived (the other direction).  Under KVM
# (skipped without a usable /dev/kvm) and TCG; then an echo corrupted on
# the way back and one never answered (the cell fails naming seq and
# byte), and the driver's refusals (a device MAC other than net.mac, a
# legacy transport, no HVB_CAP_NET).  Needs root, /dev/net/tun and ip(8):
# skipped, with the reason, without them.  The namespace goes in a trap.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
O=${O:-build}
PY=${PYTHON:-python3}
. tests/lib/qemu_guest.sh
NS=hvbtest-net-$$
TAP=hvbt$$
GUEST_MAC=02:68:76:62:00:02
PEER_MAC=02:68:76:62:00:01
tmp=$(mktemp -d /tmp/hvb-vnet-XXXXXX)
echo_pid=

cleanup() {
	[ -n "$echo_pid" ] && kill "$echo_pid" 2>/dev/null && wait "$echo_pid" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

why_not=
if ! command -v qemu-system-x86_64 >/dev/null; then
	why_not="qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
elif [ "$(id -u)" != 0 ]; then
	why_not="needs root (a network namespace and a tap)"
elif [ ! -c /dev/net/tun ]; then
	why_not="/dev/net/tun is missing (modprobe tun)"
elif ! command -v ip >/dev/null; then
	why_not="ip(8) is not installed (apt-get install iproute2)"
fi
if [ -n "$why_not" ]; then
	skip "$why_not"
	tap_done
	exit
fi
need_built

# The link: a tap whose host side is the responder's interface, no IPv6
# (no router solicitations on the wire), the guest's MAC a permanent
# neighbour (the guest answers no ARP).
if ! { ip netns add "$NS" &&
	ip -n "$NS" tuntap add dev "$TAP" mode tap &&
	ip -n "$NS" link set "$TAP" address "$PEER_MAC" &&
	ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1" &&
	ip -n "$NS" addr add 10.78.0.1/30 dev "$TAP" &&
	ip -n "$NS" link set "$TAP" up &&
	ip -n "$NS" neigh add 10.78.0.2 lladdr "$GUEST_MAC" dev "$TAP" nud permanent; } 2>"$tmp/ns.err"; then
	skip "cannot set up a namespace with a tap here: $(head -1 "$tmp/ns.err")"
	tap_done
	exit
fi

# The guest times out by its TSC: give it the real frequency when known.
tsc_khz=$(build/hvbench info 2>/dev/null | sed -n 's/^ *TSC frequency *\([0-9]*\)\.\([0-9]*\) MHz.*/\1\2/p' | head -1)
[ -n "$tsc_khz" ] || tsc_khz=1000000
NETW="net.mac=$GUEST_MAC net.ip=10.78.0.2 net.peer_mac=$PEER_MAC net.peer_ip=10.78.0.1"
CAPS_NET=0x2000 # HVB_CAP_NET
common="w=net/verify tsc_khz=$tsc_khz dev=serial batches=3"
modern="-global virtio-mmio.force-legacy=false"

# responder NAME [net_echo.py args]: start it in the namespace, bound.
responder() {
	local name=$1
	shift
	rm -f "$tmp/$name.ready"
	ip netns exec "$NS" "$PY" tests/qemu/net_echo.py --report "$tmp/$name.echo" \
		--ready "$tmp/$name.ready" "$@" 2>"$tmp/$name.echo.err" &
	echo_pid=$!
	wait_until 10 test -e "$tmp/$name.ready"
}

# stop_responder: SIGTERM, it writes its report.
stop_responder() {
	kill "$echo_pid" 2>/dev/null
	wait "$echo_pid" 2>/dev/null
	echo_pid=
}

# boot NAME ACCEL CMDLINE [qemu args...]: serial capture decoded into
# $tmp/NAME.rec, QEMU's exit status in $tmp/NAME.rc (isa-debug-exit: OK = 1).
boot() {
	local name=$1 accel=$2 cmdline=$3 cpu=max
	shift 3
	[ "$accel" = kvm ] && cpu=host,-arch-capabilities
	ip netns exec "$NS" timeout 300 qemu-system-x86_64 -nodefaults -machine microvm,acpi=off \
		-accel "$accel" -cpu "$cpu" -m 256M -display none -no-reboot -monitor none \
		-kernel "$IMAGE" -append "$cmdline" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -serial "file:$tmp/$name.out" "$@" \
		>"$tmp/$name.qemu" 2>&1
	echo $? >"$tmp/$name.rc"
	"$DUMP" "$tmp/$name.out" >"$tmp/$name.rec"
}

nic() { echo "-netdev tap,id=n0,ifname=$TAP,script=no,downscript=no -device virtio-net-device,netdev=n0,mac=${1:-$GUEST_MAC}"; }
rc_is() { [ "$(cat "$tmp/$1.rc")" = "$2" ]; }
status_of() { sed -n 's/.* STATUS workload=net\/verify .*status=\([0-9]*\) .*text=\(.*\)/\1 \2/p' "$tmp/$1.rec"; }
trips_of() { sed -n 's/.*text=net\/verify: \([0-9]*\) round trips, all verified.*/\1/p' "$tmp/$1.rec"; }
ns_of() { sed -n 's/.* SAMPLE workload=net\/verify metric=ns_per_op unit=ns .*value=\([0-9]*\).*/\1/p' "$tmp/$1.rec"; }
show() { sed 's/^/#   /' "$tmp/$1.rec" "$tmp/$1.qemu" "$tmp/$1.echo" 2>/dev/null | cut -c1-240 | head -24; }

# verified NAME ACCEL: every round trip verified in the guest, every
# datagram verified by the responder, and the two agree on the count.
verified() {
	local name=$1 accel=$2 trips
	responder "$name"
	# shellcheck disable=SC2046,SC2086
	boot "$name" "$accel" "$common caps=$CAPS_NET $NETW" $modern $(nic)
	stop_responder
	trips=$(trips_of "$name")
	if rc_is "$name" 1 && [ -n "$trips" ] && [ "$trips" -ge 33 ] &&
		grep -q "text=net/verify: $trips round trips, all verified, passed over [0-9]*, responder rx $trips tx $trips" "$tmp/$name.rec" &&
		grep -q 'SAMPLE workload=net/verify metric=ns_per_op .*text=virtio-net mmio v2 @0xfeb00e00, polled used rings, rx 256, tx 256, event idx' \
			"$tmp/$name.rec"; then
		ok "$accel: net/verify checks $trips echoes of 64..1514 B frames in the guest (virtio-net mmio v2; $(ns_of "$name" | head -1) ns per round trip)"
	else
		not_ok "$accel: net/verify checks its echoes in the guest (virtio-net mmio v2)"
		show "$name"
		return
	fi
	if grep -q "^echo=$trips good=$trips bad=0 first_bad=- resets=1 stats=1 other=0$" "$tmp/$name.echo"; then
		ok "$accel: the responder finds every one of the $trips datagrams as the guest computed it"
	else
		not_ok "$accel: the responder finds every datagram as the guest computed it"
		show "$name"
	fi
}

if [ -w /dev/kvm ]; then
	verified kvm kvm
else
	skip "kvm: /dev/kvm is missing or not writable (the TCG cases still run)"
fi
verified tcg tcg

# The responder's own check can fail: a datagram with one byte off.
check "the responder's pattern check finds a flipped byte, by seq and offset" \
	"$PY" -c 'import sys; sys.path.insert(0, "tests/qemu"); import net_echo as e
p = bytes(e.HDR.size) + e.pattern(6, e.frame_len(6) - e.HDRS)
assert e.first_difference(6, p) is None
bad = p[:300] + bytes([p[300] ^ 1]) + p[301:]
assert e.first_difference(6, bad) == 300, e.first_difference(6, bad)
assert e.first_difference(6, p[:-1]) == len(p) - 1'

# The echo of seq 5 comes back with payload byte 100 flipped: the cell
# fails naming the seq and the byte's offset in the frame (42 + 100).
ACCEL=tcg
[ -w /dev/kvm ] && ACCEL=kvm
responder corrupt --corrupt 5:100
# shellcheck disable=SC2046,SC2086
boot corrupt "$ACCEL" "$common caps=$CAPS_NET $NETW" $modern $(nic)
stop_responder
if rc_is corrupt 1 && status_of corrupt | grep -q "^3 net/verify: seq 5: byte 142 of the echo reads 0x[0-9a-f]*, sent 0x[0-9a-f]*$"; then
	ok "a corrupted echo fails the cell, naming seq 5 and byte 142 ($(status_of corrupt | sed 's/.*reads/reads/'))"
else
	not_ok "a corrupted echo fails the cell, naming seq 5 and byte 142"
	show corrupt
fi

# The echo of seq 3 never comes: the cell fails after 2 s, naming seq 3.
responder drop --drop 3
# shellcheck disable=SC2046,SC2086
boot drop "$ACCEL" "$common caps=$CAPS_NET $NETW" $modern $(nic)
stop_responder
check "an echo that never comes fails the cell, naming seq 3" \
	eval 'rc_is drop 1 && status_of drop | grep -q "^3 net/verify: seq 3: no answer within 2 s$"'

# Refusals: the device's MAC is not net.mac; a legacy transport; no
# HVB_CAP_NET (skipped, the device untouched); no responder at all.
# shellcheck disable=SC2046,SC2086
boot wrongmac tcg "$common caps=$CAPS_NET $NETW" $modern $(nic 02:68:76:62:00:99)
check "a device MAC other than net.mac: refused, both named" \
	eval 'rc_is wrongmac 1 && status_of wrongmac | grep -q "^3 virtio-net: the device.s MAC 02:68:76:62:00:99 is not net.mac=02:68:76:62:00:02$"'
# shellcheck disable=SC2046
boot legacy tcg "$common caps=$CAPS_NET $NETW" $(nic)
check "legacy transport: refused, naming version 1 and force-legacy" \
	eval 'status_of legacy | grep -q "^3 virtio-mmio v1 (legacy) device: needs v2 .*force-legacy=false)"'
# shellcheck disable=SC2046,SC2086
boot nocap tcg "$common caps=0 $NETW" $modern $(nic)
check "without HVB_CAP_NET: net/verify is skipped" eval 'status_of nocap | grep -q "^1 ."'
# shellcheck disable=SC2046,SC2086
boot nopeer tcg "$common caps=$CAPS_NET $NETW" $modern $(nic)
check "no responder: the cell fails saying RESET went unanswered" \
	eval 'status_of nopeer | grep -q "^3 net/verify: the responder did not answer RESET (3 tries, 2 s each)$"'
# shellcheck disable=SC2046,SC2086
boot nowords tcg "$common caps=$CAPS_NET" $modern $(nic)
check "no net.* words: the cell fails naming net.mac=" \
	eval 'status_of nowords | grep -q "^3 net.mac= is missing"'

tap_done
