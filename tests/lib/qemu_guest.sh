# What the tests that boot the guest image under QEMU themselves share
# (tests/guest/, tests/qemu/).  Source after tests/lib/tap.sh, with O set.
IMAGE=$O/guest/hvbench-guest.elf
DUMP=$O/tests/guest/hvb-console-dump

# need_qemu: where QEMU is missing, end the test with a visible skip.
need_qemu() {
	command -v qemu-system-x86_64 >/dev/null && return 0
	skip "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
	tap_done
	exit
}

# need_built: the image and the record decoder must be built; if not, end
# the test failed (make builds both: a missing one is a broken build).
need_built() {
	local f
	for f in "$IMAGE" "$DUMP"; do
		if [ ! -e "$f" ]; then
			not_ok "$f is built (run make first)"
			tap_done
			exit
		fi
	done
}
