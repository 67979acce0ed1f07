#!/usr/bin/env bash
# hvbench run --page-size: a bad value is a usage error; the size reaches
# every runner (native: madvise, what smaps shows in the cell notes; kvm and
# qemu-kvm: the guest word pt=4k and the guest's own report of its page
# tables); meta records it; compare warns when mem/* rows of two runs
# differ in page size, and stays quiet when they do not.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/runner.sh pagesize
fast=(--quick --reps 1 --batches 2 --goal-us 1000 --workload mem/chase-4MiB)

# --- bad values: exit 2, a message naming the option, no run directory
for bad in 1g 4096 ""; do
	run bad --runner native "${fast[@]}" --page-size "$bad"
	check "--page-size '$bad' is a usage error (exit 2, got $rc)" [ "$rc" -eq 2 ]
	check "--page-size '$bad': the message says what to give" \
		grep -q "page-size '$bad': give 4k or 2m" "$tmp/bad.err"
done
check "no result directory after a usage error" [ ! -e "$tmp/bad" ]

runners=native
have kvm && runners=$runners,kvm
have qemu-kvm && runners4=$runners,qemu-kvm || runners4=$runners
thp=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)

run_size() { # run_size SIZE RUNNERS: the run directory in $dir
	run "$1" --runner "$2" "${fast[@]}" --page-size "$1"
	check "run --runner $2 --page-size $1 exits 0" [ "$rc" -eq 0 ]
}
note() { # note RUNNER: the note of the ns_per_op sample
	grep ",$1,mem/chase-4MiB,ns_per_op,ns," "$dir/samples.csv" | head -1
}

# --- 4k (the default: also check that giving nothing means 4k)
run_size 4k "$runners4"
check "meta page_size is 4k" grep -qx 'page_size,4k' "$dir/meta.csv"
check "meta runner.native.page_size says MADV_NOHUGEPAGE" \
	grep -q '^runner.native.page_size,"\?4k: workload buffers madvise(MADV_NOHUGEPAGE)' "$dir/meta.csv"
check "native cell note: 4 KiB pages, no huge page in smaps" \
	grep -q 'native 4 KiB pages (smaps: 0 of [0-9]* kB huge)' <<<"$(note native)"
if have kvm; then
	check "kvm meta: pt=4k and MADV_NOHUGEPAGE backing" \
		grep -q '^runner.kvm.page_size,"\?4k: guest word pt=4k.*MADV_NOHUGEPAGE' "$dir/meta.csv"
	check "kvm guest reports 4 KiB page tables" grep -q '\[kvm\].*guest rt:.* pages=4k' "$dir/log.txt"
	check "kvm cell note: 4 KiB guest pages" grep -q 'guest page tables: 4 KiB pages (pt=4k)' <<<"$(note kvm)"
else
	skip "kvm runner unavailable: page size in the guest not checked"
fi
if have qemu-kvm; then
	check "qemu-kvm command line carries pt=4k" grep -q "\[qemu-kvm\].*-append '.* pt=4k " "$dir/log.txt"
	check "qemu-kvm meta: THP off for QEMU" grep -q '^runner.qemu-kvm.page_size,"\?4k: .*PR_SET_THP_DISABLE' "$dir/meta.csv"
	check "qemu-kvm guest reports 4 KiB page tables" grep -q '\[qemu-kvm\].*guest rt:.* pages=4k' "$dir/log.txt"
else
	skip "qemu-kvm runner unavailable"
fi
base=$dir
run default --runner native "${fast[@]}"
check "without --page-size the run is 4k" grep -qx 'page_size,4k' "$dir/meta.csv"

# --- 2m
run_size 2m "$runners"
check "meta page_size is 2m" grep -qx 'page_size,2m' "$dir/meta.csv"
n=$(note native)
if [ "$thp" = never ]; then
	check "THP 'never': the native note says 2m was not obtained" \
		grep -q "native 4 KiB: 2m asked, host THP is 'never'" <<<"$n"
else
	check "native note: 2m asked, THP mode '$thp' and what smaps shows" \
		grep -q "native 2m asked, THP $thp: [0-9]* of [0-9]* kB huge (smaps)" <<<"$n"
	if grep -q "THP $thp: 0 of" <<<"$n"; then
		skip "THP gave no huge page to the buffer (memory fragmented?): obtained size not checked"
	else
		ok "native buffer got huge pages ($(sed 's/.*THP/THP/; s/ (smaps).*//' <<<"$n"))"
	fi
fi
if have kvm; then
	check "kvm meta: 2 MiB guest page tables, MADV_HUGEPAGE backing" \
		grep -q '^runner.kvm.page_size,"\?2m: guest page tables map RAM with 2 MiB pages.*MADV_HUGEPAGE' "$dir/meta.csv"
	check "kvm guest reports 2 MiB page tables" grep -q '\[kvm\].*guest rt:.* pages=2M' "$dir/log.txt"
else
	skip "kvm runner unavailable"
fi

# --- compare: mismatch warns (stderr and the table), a match does not
"$HVBENCH" compare "$base" "$dir" >"$tmp/cmp.out" 2>"$tmp/cmp.err"
check "compare 4k vs 2m warns on stderr (native)" \
	grep -q 'warning: compare: page size differs for mem/\* under native: base 4k, cand 2m' "$tmp/cmp.err"
check "compare 4k vs 2m warns in the table" grep -q '^WARNING: page size differs for mem/\*' "$tmp/cmp.out"
"$HVBENCH" compare --format json "$base" "$dir" >"$tmp/cmp.json" 2>/dev/null
check "compare --format json lists the warning" grep -q '"warnings": \[".*page size differs' "$tmp/cmp.json"
"$HVBENCH" compare "$base" "$base" >"$tmp/same.out" 2>"$tmp/same.err"
check "compare of equal page sizes does not warn" \
	bash -c "! grep -qi 'page size' '$tmp/same.err' '$tmp/same.out'"
tap_done
