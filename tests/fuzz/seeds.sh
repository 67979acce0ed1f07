#!/usr/bin/env bash
# seeds.sh MKSEEDS OUT [GUEST_IMAGE]: the fuzzers' seed corpora, one
# directory per fuzzer under OUT (replaced as a whole), from
#   - tests/fuzz/corpus/NAME/   committed seeds (small real inputs)
#   - MKSEEDS                   generated ones (mkseeds.c)
#   - tests/fixtures/           xentrace files
#   - GUEST_IMAGE               the real guest image, stripped, when built
# Run from the top of the tree (make fuzz-seeds does).
set -euo pipefail
mkseeds=$1 out=$2 image=${3:-}
tmp=$out.tmp

rm -rf "$tmp"
mkdir -p "$tmp"/{elf,console,xentrace}
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

rm -rf "$out"
mv "$tmp" "$out"
