#!/usr/bin/env bash
# The fuzzers (tests/fuzz/, libFuzzer + ASan + UBSan with clang), each for a
# few seconds over its seed corpus: one line per fuzzer with its executions
# and coverage; a crash, leak or sanitizer report fails it.  Longer runs by
# hand: make fuzz-run FUZZ_SECONDS=300 (README.md, Tests).
#
# Under `make check` (SANITIZE=1) it skips: the fuzzers are ASan + UBSan
# builds of their own, a second build and run in build/check would test the
# same thing again.  HVB_FUZZ_SECONDS changes the time per fuzzer (5).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
O=${O:-build}
secs=${HVB_FUZZ_SECONDS:-5}
fuzzers="elf console xentrace records run csv virtio_blk virtio_net kvm_trace"
cc=${FUZZ_CC:-clang}

skip_all() {
	skip "fuzzers ($fuzzers): $1"
	tap_done
	exit
}

[ "${SANITIZE:-0}" = 1 ] && skip_all "not again under make check (the fuzzers are sanitized builds; make test runs them)"
command -v "$cc" >/dev/null || skip_all "$cc is not installed (ci/deps installs it: ci/deps.d/fuzz)"
tmp=$(mktemp -d /tmp/hvb-fuzz-test-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' |
	"$cc" -x c -fsanitize=fuzzer,address,undefined -o "$tmp/probe" - 2>"$tmp/probe.err" ||
	skip_all "$cc cannot link libFuzzer ($(head -1 "$tmp/probe.err"); ci/deps installs libclang-rt-14-dev)"

# Not under the parent make's jobserver (tests/run is not a make recipe).
if ! MAKEFLAGS= make --no-print-directory -j2 O="$O" fuzz >"$tmp/build.log" 2>&1; then
	for f in $fuzzers; do not_ok "fuzz_$f builds" "make fuzz failed: $(grep -m1 -E 'error|Error' "$tmp/build.log")"; done
	sed 's/^/#   /' "$tmp/build.log" | tail -20
	tap_done
	exit
fi

for f in $fuzzers; do
	if line=$(tests/fuzz/run.sh "$O/fuzz" "$f" "$secs" 2>"$tmp/$f.err"); then
		ok "$line"
	else
		not_ok "${line:-fuzz_$f: run.sh failed}"
		sed 's/^/#   /' "$tmp/$f.err"
	fi
done
tap_done
