#!/usr/bin/env bash
# net/ end to end (issue 13): `hvbench run --runner native,kvm,kvm-loop,
# qemu-kvm --workload 'net/*' --reps 2 --quick`: every (runner, workload)
# has its primary rows with units, loss rows (counts_loss workloads), host
# CPU rows (and the responder's, and kvm's notifications), the run's net.*
# meta keys; each job's namespace is gone after success, after a failure,
# on Ctrl-C, and after kill -9 the next run removes it, saying so.  The
# vhost variants are unavailable where /dev/vhost-net is missing, and say
# why.  Needs root and /dev/net/tun (skipped otherwise, with the reason);
# runners unavailable here are left out (said so).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh net

[ "$(id -u)" -eq 0 ] || skip_rest "needs root (network namespaces, taps)"
[ -c /dev/net/tun ] || skip_rest "no /dev/net/tun: modprobe tun"
list_workloads
grep -q '^  net/' "$tmp/workloads" || skip_rest "this build has no net/ workloads"
mapfile -t wl < <(awk '$1 ~ /^net\// {print $1}' "$tmp/workloads")

# --- the vhost variants ------------------------------------------------------
vhost_runners=
for r in kvm-vhost qemu-kvm-vhost; do
	why=$(runner_why "$r")
	if [ -e /dev/vhost-net ]; then
		[ -z "$why" ] && vhost_runners+=,$r
		[ -n "$why" ] && skip "$r unavailable although /dev/vhost-net exists: $why"
	else
		check "$r: unavailable without /dev/vhost-net, saying so ($why)" \
			grep -q 'no /dev/vhost-net' <<<"$why"
	fi
done

runners=native
for r in kvm kvm-loop qemu-kvm; do
	if why=$(runner_why "$r"); then
		runners+=,$r
	else
		skip "$r left out of the net runs: $why"
	fi
done
runners+=$vhost_runners
IFS=, read -ra rl <<<"$runners"

# netns_of PID: the namespaces a run with that pid made (and left).
netns_of() { ls /run/netns 2>/dev/null | grep -E "^hvb-$1-[0-9]+$"; }
# pid_of DIR: the pid of the hvbench that wrote the run directory DIR.
pid_of() { basename "$1" | sed 's/.*-//'; }
# procs_of NAME: processes of run NAME still alive (hvbench, responder, QEMU).
procs_of() { run_procs "$1" '.'; }

# --- the main run ----------------------------------------------------------
start=$SECONDS
run main --runner "$runners" --workload 'net/*' --reps 2 --quick --timeout 180
check "run over $runners x net/* exits 0 ($((SECONDS - start)) s)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || echo "# $(show main)"
check_valid "the result directory is valid" "$dir" --list "$tmp/workloads"
for r in "${rl[@]}"; do
	for w in "${wl[@]}"; do
		metric=$(sed -n "s|^primary\.$w,||p" "$dir/meta.csv")
		# kvm-loop: nothing sends a stream to the guest (net.reflect=1).
		if [ "$r" = kvm-loop ] && [[ $w == net/rx-* ]]; then
			check "$r x $w: skipped, the link reflects frames" \
				row "$dir" ",$r,$w,,,,,,skipped,.*reflects frames"
			continue
		fi
		check "$r x $w: $metric ok in both repetitions, with its unit" \
			eval 'row "$dir" ",$r,$w,$metric,[^,]+,(lower|higher),0,[0-9.e+-]+,ok," &&
			      row "$dir" ",$r,$w,$metric,[^,]+,(lower|higher),1,[0-9.e+-]+,ok,"'
		check "$r x $w: host_cpu_ns_per_op, its threads named" \
			row "$dir" ",$r,$w,host_cpu_ns_per_op,ns,lower,[01],[0-9.e+-]+,ok,\"host CPU of "
		if [ "$w" != net/verify ]; then
			check "$r x $w: loss rows (lost, loss_pct, reordered)" \
				eval 'row "$dir" ",$r,$w,lost,[^,]*,lower,0,[0-9.e+-]+,ok," &&
				      row "$dir" ",$r,$w,loss_pct,[^,]*,lower,0,[0-9.e+-]+,ok," &&
				      row "$dir" ",$r,$w,reordered,[^,]*,lower,0,[0-9.e+-]+,ok,"'
		fi
		if [ "$r" != kvm-loop ]; then
			check "$r x $w: peer_cpu_ns_per_op (the responder)" \
				row "$dir" ",$r,$w,peer_cpu_ns_per_op,ns,lower,[01],[0-9.e+-]+,ok,\"host CPU of the responder"
		fi
		case $r in kvm*)
			check "$r x $w: notifies_per_op" \
				row "$dir" ",$r,$w,notifies_per_op,notifies,lower,0,[0-9.e+-]+,ok,\"virtio-net"
		esac
	done
done
for k in net.netns net.peer net.guest_ip net.peer_ip net.link; do
	check "meta has $k" meta_has "$dir" "^$k,"
done
check "net.link names each runner's link" \
	eval 'meta_has "$dir" "^net.link,.*veth \\(native\\)" || [[ $runners != native* ]]'
for r in "${rl[@]}"; do
	check "meta has runner.$r.net" meta_has "$dir" "^runner\.$r\.net,"
	case $r in kvm*)
		check "meta has runner.$r.net_backend and net_notify" \
			eval 'meta_has "$dir" "^runner\.$r\.net_backend," &&
			      meta_has "$dir" "^runner\.$r\.net_notify,"'
	esac
done
check "kvm-loop's device reflects, with no namespace: net.reflect=1 in its command line" \
	eval '[[ ,$runners, != *,kvm-loop,* ]] || grep -q "\[kvm-loop\].*reflected" "$dir/log.txt"'
pid=$(pid_of "$dir")
check "after the run no namespace of it is left" [ -z "$(netns_of "$pid")" ]
check "... nor a process of it (responder, QEMU)" [ -z "$(procs_of main)" ]

# --- HVB_KVM_NET_NOTIFY: every mode carries the frames; a bad one is refused --
if have kvm; then
	for mode in exit poll; do
		HVB_KVM_NET_NOTIFY=$mode run "notify-$mode" --runner kvm --workload net/verify --reps 1 --quick
		check "kvm notify=$mode: net/verify ok" eval '[ "$rc" -eq 0 ] && has_ok "$dir" kvm net/verify'
		check "... recorded as runner.kvm.net_notify,$mode" meta_has "$dir" "^runner\.kvm\.net_notify,$mode$"
	done
	HVB_KVM_NET_NOTIFY=bogus run bad-notify --runner kvm --workload net/verify --reps 1 --quick
	check "HVB_KVM_NET_NOTIFY=bogus: usage error naming it" \
		eval '[ "$rc" -ne 0 ] && err_has bad-notify "HVB_KVM_NET_NOTIFY=.bogus."'
else
	skip "kvm unavailable: the notify modes"
fi

# --- a runner that fails: the guest faults before its workloads ----------------
if have kvm; then
	HVB_KVM_CMDLINE_EXTRA=fault=ud run fail --runner kvm --workload net/verify --reps 1 --quick
	check "a failing kvm job: failure (1)" [ "$rc" -eq 1 ]
	check "... its net cell failed with the guest's fault" \
		row "$dir" ",kvm,net/verify,,,,,,failed,"
	check "... and its namespace is gone" [ -z "$(netns_of "$(pid_of "$dir")")" ]
else
	skip "kvm unavailable: the failure case"
fi

# --- Ctrl-C mid-run ------------------------------------------------------------
# On the runner the run starts with, so that the namespace exists at once.
r0=${rl[1]:-native}
start sigint --runner "$r0" --workload net/verify --reps 200 --timeout 120
ns_exists() { [ -n "$(netns_of "$bg")" ] && err_has sigint "rep [0-9]+/200 +$r0 +net/"; }
spid=$bg
signal_when INT 120 ns_exists
check "SIGINT mid-run ($r0): exit 130" [ "$rc" -eq 130 ]
check "... the run is marked interrupted" meta_has "$dir" '^status,interrupted$'
check "... its namespace is gone" [ -z "$(netns_of "$spid")" ]
wait_until 5 eval '[ -z "$(procs_of sigint)" ]'
check "... and the responder with it" [ -z "$(procs_of sigint)" ]

# --- kill -9: the next run removes the leftover --------------------------------
start killed --runner "$r0" --workload net/verify --reps 200 --timeout 120
kpid=$bg
kill_ready() { [ -n "$(netns_of "$kpid")" ] && err_has killed "rep [0-9]+/200 +$r0 +net/"; }
signal_when KILL 120 kill_ready
left=$(netns_of "$kpid")
check "kill -9 leaves the namespace behind ($left)" [ -n "$left" ]
wait_until 5 eval '[ -z "$(procs_of killed)" ]'
check "... but not the responder (it dies with its parent)" [ -z "$(procs_of killed)" ]
run after --runner native --workload micro/rdtsc --quick --reps 1
check "the next run exits 0" [ "$rc" -eq 0 ]
check "... removes the leftover namespace" [ -z "$(netns_of "$kpid")" ]
check "... and says so" err_has after "removed network namespace hvb-$kpid-[0-9]+ left by hvbench pid $kpid"
tap_done
