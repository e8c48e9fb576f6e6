#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The write workload of tests/09-write.sh: deterministic content from
seeds, so that the same operations on plain files (the model, in tmpfs) give
the expected result without the file system under test.

  writeload.py src DIR                  the tree that mke2fs -d copies
  writeload.py fault-src DIR            the fault tests' tree
  writeload.py run DIR BS [--stats FILE SNAP] [--digest OUT] [--model] PHASE...
                                        run the phases on DIR's files (made by
                                        src); with --stats, copy FILE (the
                                        counters) to SNAP.0 before and SNAP.N
                                        after the Nth phase; with --digest,
                                        write the digest to OUT at the end;
                                        --model: DIR is the model (tmpfs), no
                                        drop_caches
  writeload.py digest DIR BS            one line per file: path size sha256
                                        (of the far files' written windows)
  writeload.py digest-mounts DEV DIR BS OUT CONFIG...
                                        mount DEV read-only at DIR as each
                                        CONFIG (ext2, rext2:ENGINE), drop the
                                        caches, write the digest to OUT.CONFIG
  writeload.py mkfile PATH SIZE SEED    a file of SIZE bytes of SEED's data
  writeload.py pwrite PATH [OFF LEN SEED]... [fsync]
                                        write LEN bytes of SEED's data at OFF
                                        (each triple), then fsync if asked
  writeload.py fill [PATH SEED CHUNK]...
                                        write CHUNK-byte pieces of SEED's data
                                        until write() fails, then fsync; print
                                        "ERRNO BYTES FSYNC FREE" (errno names;
                                        FREE: free blocks when write failed)
  writeload.py sha [SIZE SEED]...       sha256 of SIZE bytes of SEED's data
  writeload.py mmstore PATH OFF LEN     store LEN bytes at OFF through a shared
                                        mapping, print "stored", msync, print
                                        its errno name (a SIGBUS kills it)

Phases (each file is written by one phase only, so they run in any order):
  seq     a cold sequential write of a fresh file (8 MiB at 4 KiB blocks,
          1 MiB otherwise), then fsync
  bnd     one write across logical block 12 (direct to single indirect) of
          a fresh file, then fsync
  mmap    stores through a shared mapping, msync: into data, and into holes
          (at 1 KiB blocks one hole is followed by data in the same page)
  rest    overwrite in place at unaligned offsets; append; extend past EOF
          leaving holes; writes across the single, double and triple
          indirect starts and past 4 GiB; truncate down and up to unaligned
          sizes, with the file's pages dropped in between; O_SYNC writes; a
          write+fsync loop; 4 concurrent writers on 4 files and 2 on one
          file at disjoint interleaved ranges; sync and drop caches
"""
import errno
import hashlib
import mmap
import os
import sys
import time

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
# The files the far writes leave sparse, whose bytes are hashed only around
# their start, their end and the far offsets once they pass 1 MiB: reading
# gigabytes of holes under TCG is no test of writing.
SPARSE = ("far2", "far3", "far4g")
BIG = MIB
WINDOW = 64 * KIB


def fsync_status(fd):
    """fsync(fd): "OK", or the name of its errno."""
    try:
        os.fsync(fd)
        return "OK"
    except OSError as e:
        return errname(e)


def data(n, seed):
    """n pseudo-random bytes, the same for the same seed."""
    out = bytearray()
    block = hashlib.sha256(seed.encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:n])


def starts(bs):
    """Byte offsets where the single, double and triple indirect maps start."""
    p = bs // 4
    return 12 * bs, (12 + p) * bs, (12 + p + p * p) * bs


def far_offsets(bs):
    s1, s2, s3 = starts(bs)
    p = bs // 4
    return [s1, s2, s2 + 3 * p * bs + 5, s3, s3 + p * p * bs, 4 * GIB + 12345]


SRC = {
    # name: (size, [(offset, length) of data; the rest is zeroes, i.e. holes])
    "over": (200000, None),
    "app": (5000, None),
    "ext": (3000, None),
    "far1": (1000, None),
    "far2": (1000, None),
    "far3": (1000, None),
    "far3t": (1000, None),
    "far4g": (1000, None),
    "trunc": (100000, None),
    "mm": (150001, None),
    "mmhole": (65536, [(1024, 7168), (9216, 7168), (20480, 45056)]),
    "osync": (10000, None),
    "fsl": (0, None),
    "c0": (1000, None), "c1": (1000, None), "c2": (1000, None), "c3": (1000, None),
    "cshared": (0, None),
    "seq": (0, None),
    "bnd": (0, None),
    "untouched": (50000, None),
    "dir/keep": (7777, None),
}

# The fault tests' tree: files to fill a disk with, a file with a hole,
# files to fail and to crash.
FAULT_SRC = {
    "fill": (0, None),
    "fill2": (0, None),
    "fill3": (0, None),
    "fill4": (0, None),
    "holey": (20480, [(0, 8192), (12288, 8192)]),
    "eio": (262144, None),
    "dur": (4096, None),
}


def make_src(top, tree=SRC):
    for name, (size, pieces) in tree.items():
        path = os.path.join(top, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            if pieces is None:
                f.write(data(size, "src/" + name))
            else:
                f.truncate(size)
                for off, n in pieces:
                    f.seek(off)
                    f.write(data(n, f"src/{name}@{off}"))


def pwrite(fd, name, off, n):
    buf = data(n, f"{name}@{off}")
    done = 0
    while done < n:
        done += os.pwrite(fd, buf[done:], off + done)


def open_rw(top, name, flags=0):
    return os.open(os.path.join(top, name), os.O_RDWR | flags)


def drop_caches():
    """sync and drop every clean cache: pages, dentries and inodes (not in
    the model, where it would only slow the test VM down by dropping the
    9p caches of the tools it runs)."""
    os.sync()
    if MODEL[0]:
        return
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def drop_pages(fd):
    """Drop one file's clean pages from the page cache, so that the next
    read of them comes from the disk."""
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


MODEL = [False]
_T = [time.monotonic()]


def tick(label=None):
    """With WRITELOAD_TIMES set, the time since the last tick on stderr."""
    now = time.monotonic()
    if label and os.environ.get("WRITELOAD_TIMES"):
        print(f"writeload: {label} {now - _T[0]:.1f}s", file=sys.stderr)
    _T[0] = now


def phase_seq(top, bs):
    size = 8 * MIB if bs == 4096 else MIB
    fd = open_rw(top, "seq")
    for off in range(0, size, MIB):
        pwrite(fd, "seq", off, MIB)
    os.fsync(fd)
    os.close(fd)


def phase_bnd(top, bs):
    fd = open_rw(top, "bnd")
    pwrite(fd, "bnd", 0, 16 * bs + 100)
    os.fsync(fd)
    os.close(fd)


def store(m, name, off, n):
    m[off:off + n] = data(n, f"{name}@mmap{off}")


def phase_mmap(top, bs):
    for name, stores in (("mm", [(0, 10), (4095, 3), (70000, 5000), (150001 - 7, 7)]),
                         # 100: the hole of [0, 1024), followed by data in
                         # its page; 8192+1000 and 16384+2000: holes of
                         # 1 KiB and 4 KiB; 30000: data.
                         ("mmhole", [(100, 10), (9192, 20), (18384, 30), (30000, 40)])):
        fd = open_rw(top, name)
        size = os.fstat(fd).st_size
        with mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE) as m:
            for off, n in stores:
                store(m, name, off, n)
            m.flush()  # msync(MS_SYNC)
        os.close(fd)


def writer(top, name, slots, first, every, size):
    """Write slots first, first+every, ... of `size` bytes each, then fsync."""
    fd = open_rw(top, name)
    for i in range(first, slots, every):
        pwrite(fd, name, 1000 + i * size if name != "cshared" else i * size, size)
    os.fsync(fd)
    os.close(fd)


def concurrent(top):
    jobs = [("c0", 40, 0, 1, 7001), ("c1", 40, 0, 1, 7001), ("c2", 40, 0, 1, 7001),
            ("c3", 40, 0, 1, 7001), ("cshared", 60, 0, 2, 3001), ("cshared", 60, 1, 2, 3001)]
    pids = []
    for job in jobs:
        pid = os.fork()
        if pid == 0:
            try:
                writer(top, *job)
                os._exit(0)
            except BaseException as e:  # noqa: BLE001 - report and fail the child
                print(f"writer {job}: {e!r}", file=sys.stderr)
                os._exit(1)
        pids.append(pid)
    bad = [pid for pid in pids if os.waitpid(pid, 0)[1] != 0]
    if bad:
        sys.exit(f"{len(bad)} concurrent writers failed")


def phase_rest(top, bs):
    s1, s2, s3 = starts(bs)
    p = bs // 4
    # Overwrite in place, unaligned; the last one ends exactly at EOF.
    fd = open_rw(top, "over")
    for off, n in ((1, 1), (1023, 2), (4095, 4099), (5000, 70000), (150000, 1), (199000, 1000)):
        pwrite(fd, "over", off, n)
    os.close(fd)
    tick("overwrite")
    # Append.
    fd = open_rw(top, "app", os.O_APPEND)
    for n in (1, 1023, 4097, 30000, 777):
        off = os.fstat(fd).st_size
        buf = data(n, f"app@{off}")
        assert os.write(fd, buf) == n
    os.close(fd)
    tick("append")
    # Extend past EOF, leaving holes (inside the last block, and whole blocks).
    fd = open_rw(top, "ext")
    pwrite(fd, "ext", 3000 + 5 * bs + 123, 200)
    pwrite(fd, "ext", MIB + 17, 50)
    os.close(fd)
    tick("extend")
    # Far writes: across the direct/single, single/double and
    # double/triple starts, one block deeper in the triple map, past 4 GiB.
    fd = open_rw(top, "far1")
    pwrite(fd, "far1", s1 - 100, 300)
    os.close(fd)
    fd = open_rw(top, "far2")
    pwrite(fd, "far2", s2 - 100, 300)
    pwrite(fd, "far2", s2 + 3 * p * bs + 5, 200)
    os.close(fd)
    fd = open_rw(top, "far3")
    pwrite(fd, "far3", s3 - 100, 300)
    pwrite(fd, "far3", s3 + p * p * bs, bs)
    os.close(fd)
    fd = open_rw(top, "far4g")
    pwrite(fd, "far4g", 4 * GIB + 12345, 5000)
    os.close(fd)
    tick("far")
    # A triple indirect tree made, written back, then freed by truncate.
    fd = open_rw(top, "far3t")
    pwrite(fd, "far3t", s3 + 1000, 2000)
    os.fsync(fd)
    os.ftruncate(fd, 777)
    os.close(fd)
    tick("far3t")
    # Truncate down to mid-block, write it back and drop it from the page
    # cache, then up: the gap reads zero (the block's tail was zeroed on
    # disk too).
    fd = open_rw(top, "trunc")
    os.ftruncate(fd, 5007)
    drop_pages(fd)
    os.ftruncate(fd, 50013)
    pwrite(fd, "trunc", 60000, 100)
    os.ftruncate(fd, 3 * bs + 1)
    os.ftruncate(fd, 3 * bs + 4001)
    os.close(fd)
    tick("truncate")
    # O_SYNC writes: inside, across EOF, and past it with a hole.
    fd = open_rw(top, "osync", os.O_SYNC)
    for off, n in ((1, 100), (5000, 9000), (20 * bs + 3, 1000)):
        pwrite(fd, "osync", off, n)
    os.close(fd)
    tick("osync")
    # write + fsync, 16 times.
    fd = open_rw(top, "fsl")
    for i in range(16):
        pwrite(fd, "fsl", i * 3000, 3000)
        os.fsync(fd)
    os.close(fd)
    tick("fsync loop")
    concurrent(top)
    tick("concurrent")
    drop_caches()
    tick("drop_caches")


PHASES = {"seq": phase_seq, "bnd": phase_bnd, "mmap": phase_mmap, "rest": phase_rest}


def errname(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def fill(path, seed, chunk):
    """Append pieces of data(.., seed) until write() fails; the file then
    holds data(BYTES, seed)[:BYTES] where BYTES is printed."""
    st = os.statvfs(os.path.dirname(path) or ".")
    buf = data(min(64 * MIB, st.f_bfree * st.f_frsize + 2 * MIB), seed)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    pos, err = os.fstat(fd).st_size, "OK"
    assert pos == 0
    free = -1
    while True:
        try:
            n = os.write(fd, buf[pos:pos + chunk])
        except OSError as e:
            err = errname(e)
            free = os.statvfs(os.path.dirname(path) or ".").f_bfree
            break
        if n == 0:
            err = "ZERO"
            break
        pos += n
        if pos >= len(buf):
            break
    try:
        os.fsync(fd)
        sync = "OK"
    except OSError as e:
        sync = errname(e)
    os.close(fd)
    print(err, pos, sync, free)


def windows(name, size, bs):
    if name not in SPARSE or size <= BIG:
        return [(0, size)]
    points = [0, size] + [o for o in far_offsets(bs) if o < size]
    spans = sorted((max(0, o - WINDOW), min(size, o + WINDOW)) for o in points)
    merged = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def digest(top, bs):
    lines = []
    for root, dirs, files in os.walk(top):
        if root == top and "lost+found" in dirs:
            dirs.remove("lost+found")
        for name in files:
            path = os.path.join(root, name)
            size = os.stat(path).st_size
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for a, b in windows(os.path.relpath(path, top), size, bs):
                    f.seek(a)
                    while a < b:
                        chunk = f.read(min(MIB, b - a))
                        if not chunk:
                            break
                        h.update(chunk)
                        a += len(chunk)
            lines.append(f"{os.path.relpath(path, top)} {size} {h.hexdigest()}")
    print("\n".join(sorted(lines)))


def run(argv):
    """run DIR BS [--stats FILE SNAP] [--digest OUT] [--model] PHASE..."""
    top, bs, rest = argv[0], int(argv[1]), argv[2:]
    stats = snap = out = None
    phases = []
    while rest:
        if rest[0] == "--stats":
            stats, snap, rest = rest[1], rest[2], rest[3:]
        elif rest[0] == "--digest":
            out, rest = rest[1], rest[2:]
        elif rest[0] == "--model":
            MODEL[0], rest = True, rest[1:]
        else:
            phases.append(rest.pop(0))

    def snapshot(i):
        if stats:
            with open(stats) as f, open(f"{snap}.{i}", "w") as o:
                o.write(f.read())
    snapshot(0)
    for i, phase in enumerate(phases):
        tick()
        PHASES[phase](top, bs)
        tick(phase)
        snapshot(i + 1)
    if out:
        with open(out, "w") as f:
            sys.stdout = f
            digest(top, bs)
            sys.stdout = sys.__stdout__
        tick("digest")


def digest_mounts(dev, top, bs, out, configs):
    """Mount DEV read-only at TOP as each of CONFIGS in turn (ext2, or
    rext2:ENGINE) and write each digest to OUT.CONFIG. Each mount is cold:
    its inodes and page cache are its own, and the block device's cache
    goes with the last close of the device (DEV must not be open else)."""
    import subprocess
    for config in configs:
        fstype, _, engine = config.partition(":")
        if engine:
            with open("/sys/module/rmpage/parameters/engine", "w") as f:
                f.write(engine)
        with open(f"{out}.{config}", "w") as f:
            if subprocess.run(["mount", "-t", fstype, "-o", "ro", dev, top]).returncode:
                continue
            try:
                tick()
                sys.stdout = f
                digest(top, bs)
            finally:
                sys.stdout = sys.__stdout__
                subprocess.run(["umount", top], check=True)
            tick(f"digest {config}")


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "src":
        make_src(args[0])
    elif cmd == "fault-src":
        make_src(args[0], FAULT_SRC)
    elif cmd == "run":
        run(args)
    elif cmd == "digest":
        digest(args[0], int(args[1]))
    elif cmd == "digest-mounts":
        digest_mounts(args[0], args[1], int(args[2]), args[3], args[4:])
    elif cmd == "mkfile":
        with open(args[0], "wb") as f:
            f.write(data(int(args[1]), args[2]))
    elif cmd == "pwrite":
        fd = os.open(args[0], os.O_RDWR)
        rest = args[1:]
        while len(rest) >= 3:
            off, n, seed, rest = int(rest[0]), int(rest[1]), rest[2], rest[3:]
            buf = data(n, seed)
            done = 0
            while done < n:
                done += os.pwrite(fd, buf[done:], off + done)
        if rest == ["fsync"]:
            os.fsync(fd)
        elif rest:
            sys.exit(__doc__)
        os.close(fd)
    elif cmd == "fill":
        for i in range(0, len(args) - 2, 3):
            fill(args[i], args[i + 1], int(args[i + 2]))
    elif cmd == "sha":
        for i in range(0, len(args) - 1, 2):
            print(hashlib.sha256(data(int(args[i]), args[i + 1])).hexdigest())
    elif cmd == "mmstore":
        fd = os.open(args[0], os.O_RDWR)
        off, n = int(args[1]), int(args[2])
        with mmap.mmap(fd, os.fstat(fd).st_size, mmap.MAP_SHARED,
                       mmap.PROT_READ | mmap.PROT_WRITE) as m:
            m[off:off + n] = data(n, f"mmstore@{off}")
            print("stored", flush=True)
            try:
                m.flush()
                print("OK")
            except OSError as e:
                print(errname(e))
        os.close(fd)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
