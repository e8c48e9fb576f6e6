#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Builds the read-test fixture tree: files of awkward sizes, holes at the
start, middle and end, a 5 GiB sparse file, fast and slow symlinks, a
1000-entry directory and a deep path. Contents are deterministic.

  mktree.py DIR [--small]    (--small leaves out the 64 MiB file)
"""
import hashlib
import os
import sys

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30


def data(n, seed):
    """n pseudo-random bytes, the same for the same seed."""
    out = bytearray()
    block = hashlib.sha256(seed.encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:n])


def write(path, size, seed=None):
    with open(path, "wb") as f:
        f.write(data(size, seed or path))


def sparse(path, size, pieces):
    """A sparse file of `size` bytes with data only at `pieces` (offset, len)."""
    with open(path, "wb") as f:
        f.truncate(size)
        for off, n in pieces:
            f.seek(off)
            f.write(data(n, f"{path}@{off}"))


def main():
    top = sys.argv[1]
    small = "--small" in sys.argv
    os.makedirs(top, exist_ok=True)
    sizes = [0, 1, 511, 4095, 4096, 4097, 65537, MIB + 7]
    if not small:
        sizes.append(64 * MIB)
    os.makedirs(f"{top}/sizes", exist_ok=True)
    for n in sizes:
        write(f"{top}/sizes/f{n}", n)
    os.makedirs(f"{top}/holes", exist_ok=True)
    sparse(f"{top}/holes/start", 3 * MIB + 100, [(2 * MIB, MIB + 100)])
    sparse(f"{top}/holes/middle", 3 * MIB, [(0, MIB), (2 * MIB, MIB)])
    sparse(f"{top}/holes/end", 3 * MIB, [(0, MIB + 5)])
    sparse(f"{top}/holes/only", 2 * MIB, [])
    # Past 4 GiB: the double and triple indirect maps, 64-bit sizes.
    sparse(f"{top}/huge", 5 * GIB,
           [(0, 64 * KIB), (4 * GIB - 4 * KIB, 12 * KIB), (5 * GIB - 10000, 10000)])
    os.makedirs(f"{top}/links", exist_ok=True)
    os.symlink("../sizes/f4097", f"{top}/links/fast")
    slow = "../" + "/".join(["sizes"] + ["."] * 40 + ["f65537"])
    assert len(slow) > 60
    os.symlink(slow, f"{top}/links/slow")
    os.symlink("nowhere/at/all", f"{top}/links/dangling")
    os.makedirs(f"{top}/many", exist_ok=True)
    for i in range(1000):
        write(f"{top}/many/entry-{i:04d}-{'x' * (i % 50)}", i % 7)
    deep = top + "".join(f"/d{i}" for i in range(30))
    os.makedirs(deep, exist_ok=True)
    write(f"{deep}/leaf", 12345)


if __name__ == "__main__":
    main()
