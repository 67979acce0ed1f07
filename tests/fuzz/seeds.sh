#!/usr/bin/env bash
# seeds.sh MKSEEDS OUT [GUEST_IMAGE]: the fuzzers' seed corpora, one
# directory per fuzzer under OUT (replaced as a whole), from
#   - tests/fuzz/corpus/NAME/   committed seeds (small real inputs)
#   - MKSEEDS                   generated ones (mkseeds.c)
#   - tests/fixtures/           xentrace files, result directories
#   - GUEST_IMAGE               the real guest image, stripped, when built
# Run from the top of the tree (make fuzz-seeds does).
set -euo pipefail
mkseeds=$1 out=$2 image=${3:-}
tmp=$out.tmp

rm -rf "$tmp"
mkdir -p "$tmp"/{elf,console,xentrace,records,run,csv,virtio_blk,virtio_net,kvm_trace}
for d in tests/fuzz/corpus/*/; do
	[ -d "$d" ] || continue
	name=$(basename "$d")
	mkdir -p "$tmp/$name"
	find "$d" -maxdepth 1 -type f ! -name '*.md' -exec cp {} "$tmp/$name/" \;
done
"$mkseeds" "$tmp" tests/fuzz/corpus/console/*.txt

if [ -n "$image" ] && [ -f "$image" ] && command -v objcopy >/dev/null; then
	objcopy --strip-all "$image" "$tmp/elf/hvbench-guest.elf"
fi

cp tests/fixtures/xentrace/*.bin "$tmp/xentrace/"
cp tests/fixtures/kvm_trace/*.bin "$tmp/kvm_trace/"

# Result fixtures: fuzz_run gets meta.csv + separator (fuzz.h FUZZ_RUN_SEP)
# + the first rows of samples.csv; fuzz_csv every file's first rows.
sep=$'\n--- samples.csv ---\n'
for run in tests/fixtures/results/*/; do
	id=$(basename "$run")
	samples=$run/samples.csv
	[ -f "$samples" ] || samples=$samples.partial
	{
		cat "$run/meta.csv"
		printf '%s' "$sep"
		head -n 40 "$samples"
	} >"$tmp/run/$id"
	for f in "$run"*.csv "$run"*.csv.partial; do
		if [ -f "$f" ]; then head -n 40 "$f" >"$tmp/csv/$id-$(basename "$f")"; fi
	done
done

rm -rf "$out"
mv "$tmp" "$out"
