#!/usr/bin/env python3
"""Check a disk file that io/verify wrote (workloads/io/verify.c has the
pattern): every 64 KiB block holds zeros or the complete pattern of the
last operation that chose it, and no operation's block is missing.

    verify_disk.py DISK [--ops N]

The file must have held zeros before, and have seen one io/verify cell (one
guest boot, or one native child): every cell starts again at op 0, so a
second one leaves blocks the replay of the last cannot explain.

--ops N: the guest ran N operations (its LOG line "io/verify: N operations");
the largest op index found in the file must then be N - 1.  Prints one line
of figures and exits 0 if the file is right, else prints the first problem
(block, sector, word) and exits 1.
"""
import argparse
import struct
import sys

SEED = 0x6876626B76657269
MAGIC = 0x4649524556425648
M64 = (1 << 64) - 1
SECTORS = 128  # 64 KiB
WORDS = 64  # per 512-byte sector


def mix(x):
    x &= M64
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & M64
    x ^= x >> 31
    return x


def op_hash(k):
    return mix(SEED + k)


def expected_sector(k, s):
    h = op_hash(k)
    return [MAGIC, k, s] + [mix(h ^ (s * WORDS + i)) for i in range(3, WORDS)]


def check(path, ops):
    with open(path, "rb") as f:
        data = f.read()
    blocks = len(data) // (SECTORS * 512)
    if blocks == 0:
        return "the disk is smaller than one 64 KiB block", None
    found = {}  # block -> k written there
    for b in range(blocks):
        raw = data[b * SECTORS * 512:(b + 1) * SECTORS * 512]
        if raw.count(0) == len(raw):
            continue
        first = struct.unpack_from("<3Q", raw, 0)
        if first[0] != MAGIC:
            return f"block {b} (sector {b * SECTORS}): neither zeros nor the pattern", None
        k = first[1]
        if op_hash(k) % blocks != b:
            return f"block {b}: holds op {k}, whose block is {op_hash(k) % blocks}", None
        for j in range(SECTORS):
            s = b * SECTORS + j
            got = struct.unpack_from(f"<{WORDS}Q", raw, j * 512)
            want = expected_sector(k, s)
            for i in range(WORDS):
                if got[i] != want[i]:
                    return (f"block {b}, sector {s}, byte {i * 8}: {got[i]:#x}, "
                            f"op {k} wrote {want[i]:#x}"), None
        found[b] = k
    if not found:
        return "no block holds the pattern (nothing was written?)", None
    last = max(found.values())
    if ops is not None and last != ops - 1:
        return f"the last op in the file is {last}, the guest ran {ops} ops", None
    # Replay the ops: each block must hold the last op that chose it.
    want = {}
    for k in range(last + 1):
        want[op_hash(k) % blocks] = k
    for b, k in sorted(want.items()):
        if found.get(b) != k:
            return (f"block {b}: op {k} was the last to write it, the file holds "
                    f"{'zeros' if b not in found else 'op %d' % found[b]}"), None
    for b in found:
        if b not in want:
            return f"block {b}: written, but no op up to {last} chose it", None
    return None, (last + 1, len(found), blocks)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("disk")
    ap.add_argument("--ops", type=int)
    a = ap.parse_args()
    problem, figures = check(a.disk, a.ops)
    if problem:
        print(f"verify_disk: {a.disk}: {problem}")
        return 1
    ops, written, blocks = figures
    print(f"verify_disk: {a.disk}: {ops} ops, {written} of {blocks} blocks hold "
          f"their last op's pattern, the rest zeros")
    return 0


if __name__ == "__main__":
    sys.exit(main())
