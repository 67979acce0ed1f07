# shellcheck shell=bash
# Running a payload in a Linux under qemu-system-x86_64 and getting its
# results back: shared by ci/xen/run (Xen dom0) and ci/nested/run (a KVM
# host under TCG).  Sourced, not executed; the caller defines note() and
# ms_since() (ci/xen/lib.sh).
#
# The result disk (the VM's first virtio disk, /dev/vda, written by its
# /init: ci/xen/dom0-init, ci/nested/init):
#   offset 0:    one text line "HVBOUT1 <status> <tar-bytes> <sha256>\n"
#   offset 4096: a tar archive of the payload's /out
#
#   vm_watch PID SERIAL TIMEOUT_S ERE   wait for QEMU (PID) to end; kill it
#                                       when SERIAL matches ERE (a crash) or
#                                       after TIMEOUT_S.  VM_VERDICT: empty,
#                                       "crash: <line>" or "timeout after Ns"
#   vm_read_results DISK OUTDIR         unpack the result disk into OUTDIR
#                                       (replaced); VM_STATUS: the payload's
#                                       exit status.  Status 1 (with a note)
#                                       when there is no valid result

vm_watch() {
	local pid=$1 serial=$2 tmo=$3 ere=$4 start
	start=$(date +%s%N)
	VM_VERDICT=
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		if grep -qE "$ere" "$serial"; then
			VM_VERDICT="crash: $(grep -m1 -E "$ere" "$serial")"
			kill "$pid" 2>/dev/null || true
			return
		fi
		if [ "$(ms_since "$start")" -gt $((tmo * 1000)) ]; then
			VM_VERDICT="timeout after ${tmo}s"
			kill "$pid" 2>/dev/null || true
			return
		fi
	done
}

vm_read_results() {
	local disk=$1 outdir=$2 hdr magic size sum got tarf
	VM_STATUS=
	hdr=$(dd if="$disk" bs=4096 count=1 status=none | tr -d '\0' | sed -n 1p)
	read -r magic VM_STATUS size sum <<<"$hdr" || true
	if [ "${magic:-}" != HVBOUT1 ]; then
		note "the VM wrote no results"
		return 1
	fi
	rm -rf "$outdir"
	mkdir -p "$outdir"
	tarf=$outdir.tar
	dd if="$disk" bs=4096 skip=1 status=none iflag=count_bytes count="$size" >"$tarf"
	got=$(sha256sum "$tarf" | cut -d' ' -f1)
	if [ "$got" != "$sum" ]; then
		note "result archive checksum mismatch ($got != $sum)"
		return 1
	fi
	tar -C "$outdir" -xf "$tarf"
	rm -f "$tarf"
}
