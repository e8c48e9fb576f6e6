#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Prints one sorted line per entry under DIR: path, type, size, and the
sha256 of its contents (regular files) or its target (symlinks). Files
larger than 1 GiB are hashed only around 0, 4 GiB and their end, so that a
5 GiB sparse file stays cheap. lost+found is left out.

  manifest.py DIR [--mmap] [--names] [--max-size N]
    --mmap        read files through mmap instead of read()
    --names       names and types only (directory listings)
    --max-size N  leave out files larger than N bytes
"""
import hashlib
import mmap
import os
import sys

GIB = 1 << 30
RANGES = [(0, 1 << 20), (4 * GIB - (1 << 20), 2 << 20), (-(1 << 20), 1 << 20)]


def digest(path, size, use_mmap):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        if size > GIB:
            for off, n in RANGES:
                off = off if off >= 0 else size + off
                f.seek(off)
                h.update(f.read(n))
        elif use_mmap and size:
            with mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
                for off in range(0, size, 1 << 20):
                    h.update(m[off:off + (1 << 20)])
        else:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()


def main():
    top = sys.argv[1]
    use_mmap = "--mmap" in sys.argv
    names = "--names" in sys.argv
    max_size = int(sys.argv[sys.argv.index("--max-size") + 1]) if "--max-size" in sys.argv else None
    lines = []
    for root, dirs, files in os.walk(top):
        if root == top and "lost+found" in dirs:
            dirs.remove("lost+found")
        for name in dirs + files:
            p = os.path.join(root, name)
            rel = os.path.relpath(p, top)
            st = os.lstat(p)
            if os.path.islink(p):
                kind, extra = "l", os.readlink(p)
            elif os.path.isdir(p):
                kind, extra = "d", ""
            else:
                kind = "f"
                extra = "" if names else digest(p, st.st_size, use_mmap)
            if kind == "f" and max_size is not None and st.st_size > max_size:
                continue
            size = "" if kind == "d" else str(st.st_size)
            lines.append(f"{rel} {kind} {size} {extra}".rstrip())
    print("\n".join(sorted(lines)))


if __name__ == "__main__":
    main()
