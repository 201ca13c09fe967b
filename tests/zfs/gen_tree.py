#!/usr/bin/env python3
"""Deterministic test tree for the ZFS oracle (tests/zfs/oracle_check.sh): a few MB with
small/large files, tails, zero blocks, sparse files, hardlinks and duplicates within and
across files, compressible and incompressible content.  Usage: gen_tree.py DIR [SEED]"""
import os
import random
import sys

root = sys.argv[1]
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
WORDS = ("node_modules package index require export function return const let var "
         "import default module exports true false null undefined this that value "
         "license copyright permission software").split()


def text(n):
    out = []
    size = 0
    while size < n:
        w = rng.choice(WORDS) + (" " if rng.random() < 0.85 else "\n")
        out.append(w)
        size += len(w)
    return "".join(out)[:n].encode()


def rand(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def write(rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# Small files around the 512-byte granularity and the compression thresholds.
for n in (1, 5, 100, 200, 511, 512, 513, 600, 1000, 1023, 1024, 1500, 2048, 3000, 4095,
          4096, 4097, 5000, 7000, 8192, 9000, 12000, 16383, 16384, 16385, 20000, 40000,
          65536, 100000, 131071, 131072, 131073):
    write(f"small/text_{n}", text(n))
    write(f"small/rand_{n}", rand(n))
# Nearly incompressible blocks whose compressed size lands near 7/8 of LSIZE.
for n in (4096, 8192, 16384, 131072):
    for frac in (0.80, 0.85, 0.87, 0.875, 0.88, 0.90):
        k = int(n * frac)
        write(f"edge/mix_{n}_{frac}", rand(k) + b"\0" * (n - k))
# Tiny compressible files (<= 112 bytes compressed).
for i in range(20):
    write(f"tiny/t{i}", (b"x" * (50 + i * 37)))
# Duplicates across workspaces: the same packages in several places.
pkgs = {f"pkg{i}/f{j}": (text(rng.randint(100, 30000)) if j % 2 else rand(rng.randint(100, 9000)))
        for i in range(6) for j in range(5)}
for ws in ("ws1", "ws2", "ws3"):
    for rel, data in pkgs.items():
        if rng.random() < 0.8:
            write(f"{ws}/node_modules/{rel}", data)
# Large files with tails and repeated records inside.
chunk = rand(131072)
write("big/repeat_records", chunk * 3 + rand(50000))
write("big/repeat_16k", rand(16384) * 20 + text(5000))
write("big/text_300001", text(300001))
write("big/rand_200000", rand(200000))
write("big/copy_of_repeat", chunk * 3 + rand(50000))
# Zero blocks written as data.
write("zero/zeros_384k", b"\0" * 393216)
write("zero/zeros_100k", b"\0" * 100000)
write("zero/zeros_5k", b"\0" * 5000)
write("zero/mixed", rand(131072) + b"\0" * 262144 + text(70000))
write("zero/zero_tail", text(140000) + b"\0" * 122144)
# Sparse files: holes aligned to 128 KiB and not aligned.
for name, pieces, size in (("sparse/aligned", [(1 << 20, rand(131072))], 2 << 20),
                           ("sparse/unaligned", [(70000, text(9000)), (600000, rand(3000))], 900000),
                           ("sparse/empty_hole", [], 300000)):
    path = os.path.join(root, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        for off, data in pieces:
            f.seek(off)
            f.write(data)
        f.truncate(size)
# Hardlinks: one inode, several names.
os.makedirs(os.path.join(root, "links"), exist_ok=True)
write("links/original", text(50000))
os.link(os.path.join(root, "links/original"), os.path.join(root, "links/link1"))
os.link(os.path.join(root, "links/original"), os.path.join(root, "links/link2"))
# Empty files.
write("empty/e1", b"")
write("empty/e2", b"")
