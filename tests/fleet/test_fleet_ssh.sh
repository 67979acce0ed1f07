#!/usr/bin/env bash
# ci/fleet/playbook.yml against two "hosts" made here: each a network
# namespace with its own UTS namespace (its own hostname, so meta.csv's
# host_name differs honestly) running an sshd on a veth address, reached
# with ansible_connection=ssh and a key generated for the test; each host
# has its own work directory on the shared file system and its own CPU.
# The merged folder must hold both hosts' runs and the report must group
# them by host.  Everything is torn down at exit.  Skips visibly without
# root, ansible-playbook, sshd, ssh-keygen, unshare or ip.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh fleet-ssh
. tests/fleet/fleetlib.sh
need_ansible
[ "$(id -u)" -eq 0 ] || skip_rest "not root: network namespaces and sshd need it"
for t in /usr/sbin/sshd ssh ssh-keygen unshare ip; do
	command -v "$t" >/dev/null ||
		skip_rest "$t not installed (openssh-server, openssh-client, util-linux, iproute2)"
done

pids=() netns=() links=() made_run_sshd=
teardown() {
	local p n l
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	# what still lives in a host's namespace is ours: the sessions Ansible's
	# ssh ControlPersist keeps open
	for n in "${netns[@]}"; do
		p=$(ip netns pids "$n" 2>/dev/null)
		[ -n "$p" ] && kill $p 2>/dev/null
	done
	for n in "${netns[@]}"; do ip netns del "$n" 2>/dev/null; done
	for l in "${links[@]}"; do ip link del "$l" 2>/dev/null; done
	[ -n "$made_run_sshd" ] && rmdir /run/sshd 2>/dev/null
	hvb_cleanup
}
trap teardown EXIT

# sshd's privilege separation directory (the package's service makes it).
if [ ! -d /run/sshd ]; then
	mkdir -m 0755 /run/sshd && made_run_sshd=1
fi
ssh-keygen -q -t ed25519 -N '' -f "$tmp/client_key"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/host_key"
cp "$tmp/client_key.pub" "$tmp/authorized_keys"
net=10.79.$(($$ % 250))

# host NAME INDEX: namespace, veth pair, hostname NAME, sshd on $net.(4*INDEX+2).
host() {
	local name=$1 i=$2 ns=hvbfleet-$$-$2 here=hvf$2h$$ there=hvf$2g$$
	local addr=$net.$((4 * i + 2))
	ip netns add "$ns" && netns+=("$ns") || return 1
	ip link add "$here" type veth peer name "$there" && links+=("$here") || return 1
	ip link set "$there" netns "$ns" &&
		ip addr add "$net.$((4 * i + 1))/30" dev "$here" && ip link set "$here" up &&
		ip -n "$ns" addr add "$addr/30" dev "$there" && ip -n "$ns" link set "$there" up &&
		ip -n "$ns" link set lo up || return 1
	cat >"$tmp/sshd-$name.conf" <<CONF
ListenAddress $addr
HostKey $tmp/host_key
PidFile $tmp/sshd-$name.pid
AuthorizedKeysFile $tmp/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
CONF
	ip netns exec "$ns" unshare --uts sh -c \
		"hostname $name && exec /usr/sbin/sshd -D -e -f $tmp/sshd-$name.conf" \
		>"$tmp/sshd-$name.log" 2>&1 &
	pids+=($!)
	wait_until 10 sh -c "ip netns exec $ns ss -ltn | grep -q '$addr:22 '"
}
check "host fleet-a: a namespace with its own hostname and an sshd" host fleet-a 0
check "host fleet-b: the same, another address" host fleet-b 1
ssh_ok() { # the host answers over ssh with its own hostname
	[ "$(ssh -i "$tmp/client_key" -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "root@$1" uname -n)" = "$2" ]
}
check "fleet-a answers over ssh as fleet-a" ssh_ok "$net.2" fleet-a
check "fleet-b answers over ssh as fleet-b" ssh_ok "$net.6" fleet-b

ncpu=$(nproc)
cat >"$tmp/inventory.ini" <<INV
[fleet]
fleet-a ansible_host=$net.2 hvb_workdir=$tmp/hosts/a hvb_cpu=0 ansible_remote_tmp=$tmp/hosts/a/.ansible-tmp
fleet-b ansible_host=$net.6 hvb_workdir=$tmp/hosts/b hvb_cpu=$((ncpu > 1 ? 1 : 0)) ansible_remote_tmp=$tmp/hosts/b/.ansible-tmp

[fleet:vars]
ansible_connection=ssh
ansible_user=root
ansible_python_interpreter=/usr/bin/python3
ansible_ssh_private_key_file=$tmp/client_key
ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'
INV
playbook ssh "$tmp/inventory.ini" "$tmp/out"
fleet_checks ssh "$tmp/out" fleet-a:0 fleet-b:$((ncpu > 1 ? 1 : 0))
check "each host built and ran in its own work directory" \
	all_of '[ -L "$tmp/hosts/a/results/latest" ]' '[ -L "$tmp/hosts/b/results/latest" ]' \
	'[ "$(readlink "$tmp/hosts/a/results/latest")" != "$(readlink "$tmp/hosts/b/results/latest")" ]'
html=$tmp/out/report/report.html
check "the report groups the runs by host: a Hosts section with both" \
	all_of "grep -q 'data-host=\"fleet-a\"' \"\$html\"" "grep -q 'data-host=\"fleet-b\"' \"\$html\""
check "... a banner that says the runs are from 2 hosts" grep -q 'Runs from 2 hosts' "$html"
check "... and that they are one machine by host_identity" \
	grep -q 'fleet-a and fleet-b are one machine by host_identity' "$html"
tap_done
