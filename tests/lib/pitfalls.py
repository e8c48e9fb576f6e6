#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The workloads of tests/10-write-pitfalls.sh. File contents come from
seeds, data(n, seed) being a prefix of data(m, seed) for n < m, so each
workload knows what its files must hold without the file system under
test. Each command prints its results on one line of "[key]=value" words,
for the shell to read into an associative array.

  pitfalls.py serve                     run the commands below, one per line
                                        of stdin (starting a process is the
                                        dearest thing in the test VM, and
                                        python the dearest process)
  pitfalls.py src TOP                   the files the images are made from:
                                        TOP/mid ([1], [3]), small ([11],
                                        [19]), full ([12, 18]), long ([21],
                                        [22])
  pitfalls.py copy FROM TO              copy a file (an image)
  pitfalls.py subpage DIR SECS          [1] sub-page pwrites into uncached
                                        pages, each page read back whole
  pitfalls.py mmtrunc DIR SECS          [3] truncate up, store into every page
                                        through a mapping, unmap, truncate
                                        down, in rounds
  pitfalls.py eofstore DIR              [11] stores past EOF in the last page,
                                        msync, twice
  pitfalls.py eofcheck DIR OLD NEWSIZE [IMG]
                                        [11] (with IMG: the bytes past OLD in
                                        their block on disk), truncate up to
                                        NEWSIZE (unless 0), read the bytes
                                        past OLD through read() and mmap
  pitfalls.py indtrunc DIR              [12, 18] write into big's indirect
                                        range, truncate it, append to other
                                        until ENOSPC
  pitfalls.py cut DIR                   [19] write, truncate to 5007, drop
                                        caches, truncate up, read
  pitfalls.py cutcheck DIR IMG          [19] the files, and the rest of the
                                        block of byte 5006 on disk
  pitfalls.py race DIR SECS MAX         [21] a truncater against pwrites and
                                        mmap stores
  pitfalls.py append DIR SECS MAX       [22] an appender, and a reader that
                                        checks what it reads
  pitfalls.py digest DIR [IMG] NAME...  sha256 and size of DIR/NAME (and
                                        with IMG, the super block's and
                                        statfs's free block counts)

DIR is the mount point; the workloads end with sync and drop_caches, then
read their files back, and report the Rust engine's counters of the mount.
"""
import ctypes
import errno
import hashlib
import mmap
import os
import random
import shlex
import shutil
import signal
import struct
import sys
import time
import traceback

PAGE = mmap.PAGESIZE
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                      ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.msync.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
libc.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
# sync_file_range: wait for writeback in progress, start it, wait for it.
SYNC_RANGE_AND_WAIT = 1 | 2 | 4
MS_SYNC = 4
MAP_FAILED = ctypes.c_void_p(-1).value
COUNTERS = ("write_bios", "write_folios", "write_fallbacks", "write_split_folios",
            "write_boundary_submits", "blocks_allocated", "write_errors")


def data(n, seed):
    """n bytes of seed's data; a prefix of any longer run of the same seed."""
    return hashlib.shake_256(seed.encode()).digest(n) if n > 0 else b""


def sha(buf):
    return hashlib.sha256(buf).hexdigest()


def put(**kw):
    print(" ".join(f"[{k}]={shlex.quote(str(v))}" for k, v in kw.items()))


def pwrite_all(fd, buf, off):
    done = 0
    while done < len(buf):
        done += os.pwrite(fd, buf[done:], off + done)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def errname(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def first_diff(a, b):
    n = min(len(a), len(b))
    return next((i for i in range(n) if a[i] != b[i]), n)


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def stats(top):
    """The Rust engine's write counters of the rext2 mount at top."""
    dev = os.stat(top).st_dev
    try:
        name = os.path.basename(os.readlink(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}"))
        with open(f"/sys/kernel/debug/rext2/{name}/stats") as f:
            pairs = dict(line.split()[:2] for line in f if line.strip())
    except OSError:
        return "none"
    return " ".join(f"{k} {pairs.get(k, '?')}" for k in COUNTERS)


def cmap(fd, length, prot):
    addr = libc.mmap(None, length, prot, mmap.MAP_SHARED, fd, 0)
    if addr in (None, MAP_FAILED):
        raise OSError(ctypes.get_errno(), "mmap")
    return addr


def mmap_read(path):
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return b""
        with mmap.mmap(f.fileno(), size, mmap.MAP_SHARED, mmap.PROT_READ) as m:
            return m[:]


def raw_block(img, ino, lblk):
    """Inode ino's direct block lblk in the ext2 image img, read from the
    image itself (the super block, the group descriptor, the inode): its
    number and its bytes."""
    assert lblk < 12
    with open(img, "rb") as f:
        f.seek(1024)
        sb = f.read(1024)
        first, log = struct.unpack_from("<II", sb, 20)
        ipg, rev = struct.unpack_from("<I", sb, 40)[0], struct.unpack_from("<I", sb, 76)[0]
        isize = struct.unpack_from("<H", sb, 88)[0] if rev else 128
        bs = 1024 << log
        group, index = divmod(ino - 1, ipg)
        f.seek((first + 1) * bs + group * 32 + 8)
        table = struct.unpack("<I", f.read(4))[0]
        f.seek(table * bs + index * isize + 40 + 4 * lblk)
        blk = struct.unpack("<I", f.read(4))[0]
        f.seek(blk * bs)
        return blk, f.read(bs)


def sb_free(img):
    """s_free_blocks_count of the super block in img."""
    with open(img, "rb") as f:
        f.seek(1024 + 12)
        return struct.unpack("<I", f.read(4))[0]


# ------------------------------------------------------------------ sources
def mk(path, size, seed, n=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data(size if n is None else n, seed))
        f.truncate(size)


def cmd_copy(src, dst):
    shutil.copyfile(src, dst)
    put(copied=os.path.getsize(dst))


def cmd_src(top):
    mk(f"{top}/mid/f", 1 << 20, "p1")
    mk(f"{top}/mid/m", 3000, "p3")
    mk(f"{top}/small/a", 10000, "p11")
    mk(f"{top}/small/z1", 20000, "p19src")
    mk(f"{top}/small/z2", 20000, "p19src")
    mk(f"{top}/small/z3", 1 << 20, "p19big")
    mk(f"{top}/full/big", 1536 << 10, "p12/big", 12288)
    mk(f"{top}/full/other", 1000, "p12/other")
    mk(f"{top}/long/r", 4000, "p21")
    mk(f"{top}/long/log", 5000, "p22")
    put(made=top)


# ---------------------------------------------------------------------- [1]
def cmd_subpage(top, secs):
    """Each write covers part of one page after the page was dropped from the
    cache (POSIX_FADV_DONTNEED drops it if it is clean: every other page is
    written back first with sync_file_range), so the folio that
    takes it is not uptodate: a third of the writes are whole blocks from
    the page's start (the folio's buffers then are dirty ones followed by
    unmapped ones, which mpage writes as a bio), a third whole blocks
    elsewhere, a third a few bytes at an odd offset. The page, and another
    one, are then read back whole and must equal the model: a read that
    fetched the blocks from disk over the newer page-cache data shows the
    old bytes."""
    path = f"{top}/f"
    fd = os.open(path, os.O_RDWR)
    size = os.fstat(fd).st_size
    pages = size // PAGE
    model = bytearray(data(size, "p1"))
    addr = cmap(fd, size, mmap.PROT_READ)  # for mincore only, never touched
    vec = ctypes.create_string_buffer(1)
    rng = random.Random(1)
    iters = uncached = bad = 0
    first = "none"
    end = time.monotonic() + secs
    while time.monotonic() < end:
        p = rng.randrange(pages)
        base = p * PAGE
        if iters % 2 == 0:
            # A dirty page cannot be dropped, and the sync loop alone leaves
            # few pages clean at the moment of a write on a fast machine:
            # every other page is written back first.
            libc.sync_file_range(fd, base, PAGE, SYNC_RANGE_AND_WAIT)
        os.posix_fadvise(fd, base, PAGE, os.POSIX_FADV_DONTNEED)
        libc.mincore(addr + base, PAGE, vec)
        if not vec.raw[0] & 1:
            uncached += 1
        kind = iters % 3
        if kind == 0:
            off, n = base, rng.randint(1, 3) * 1024
        elif kind == 1:
            b0 = rng.randint(1, 3)
            off, n = base + b0 * 1024, rng.randint(1, 4 - b0) * 1024
        else:
            at = rng.randrange(PAGE - 1)
            off, n = base + at, rng.randint(1, min(1500, PAGE - at))
        buf = data(n, f"p1/{iters}")
        pwrite_all(fd, buf, off)
        model[off:off + n] = buf
        for q in (p, rng.randrange(pages)):
            got = os.pread(fd, PAGE, q * PAGE)
            want = bytes(model[q * PAGE:(q + 1) * PAGE])
            if got != want:
                bad += 1
                if first == "none":
                    d = first_diff(got, want)
                    first = (f"page{q}+{d}:write{iters}@{off}+{n}:"
                             f"got{got[d:d + 4].hex()}:want{want[d:d + 4].hex()}")
        iters += 1
    libc.munmap(addr, size)
    os.close(fd)
    drop_caches()
    put(iters=iters, uncached=uncached, bad=bad, first=first, want=sha(model),
        got=sha(read_file(path)), stats=stats(top))


# ---------------------------------------------------------------------- [3]
def cmd_mmtrunc(top, secs):
    """Rounds of: extend to ~300 KiB, store into every page through a
    shared mapping, unmap (the pages stay dirty), truncate to a smaller
    size; the shell runs sync in a loop meanwhile."""
    path = f"{top}/m"
    fd = os.open(path, os.O_RDWR)
    st = os.fstat(fd)
    model = bytearray(data(st.st_size, "p3"))
    free0, blocks0 = os.statvfs(top).f_bfree, st.st_blocks
    rounds = stores = 0
    end = time.monotonic() + secs
    while time.monotonic() < end and rounds < 200:
        big = 256 * 1024 + (rounds * 4099) % 65536
        small = (rounds * 7919) % (big // 2) + 1
        os.ftruncate(fd, big)
        model[len(model):] = bytes(big - len(model))
        with mmap.mmap(fd, big, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE) as m:
            at = (rounds * 131) % (PAGE - 64)
            for base in range(0, big - at - 64, PAGE):
                buf = data(64, f"p3/{rounds}/{base}")
                m[base + at:base + at + 64] = buf
                model[base + at:base + at + 64] = buf
                stores += 1
        os.ftruncate(fd, small)
        del model[small:]
        rounds += 1
    os.close(fd)
    drop_caches()
    got = read_file(path)
    vfs = os.statvfs(top)
    blocks1 = os.stat(path).st_blocks
    put(rounds=rounds, stores=stores, size=len(model), want=sha(model), gsize=len(got),
        got=sha(got), free0=free0, free1=vfs.f_bfree, blocks0=blocks0 * 512 // vfs.f_bsize,
        blocks1=blocks1 * 512 // vfs.f_bsize, stats=stats(top))


# --------------------------------------------------------------------- [11]
def cmd_eofstore(top):
    """Non-zero bytes stored past EOF in the last page (0xaa, then 0x55),
    with data inside EOF, each time written back by msync."""
    path = f"{top}/a"
    fd = os.open(path, os.O_RDWR)
    st = os.fstat(fd)
    size = st.st_size
    length = (size + PAGE - 1) // PAGE * PAGE
    model = bytearray(data(size, "p11"))
    addr = cmap(fd, length, mmap.PROT_READ | mmap.PROT_WRITE)
    rc = []
    for k, fill in ((0, 0xAA), (1, 0x55)):
        at = size - 1000 + 300 * k
        buf = data(100, f"p11/{k}")
        ctypes.memmove(addr + at, buf, 100)
        model[at:at + 100] = buf
        ctypes.memset(addr + size, fill, length - size)
        rc.append(str(libc.msync(addr, length, MS_SYNC)))
    libc.munmap(addr, length)
    blocks1 = os.fstat(fd).st_blocks
    os.close(fd)
    put(msync=",".join(rc), past=length - size, blocks0=st.st_blocks, blocks1=blocks1,
        want=sha(model), stats=stats(top))


def cmd_eofcheck(top, old, newsize=None, img=None):
    """With IMG: the bytes past OLD (the size the stores saw) in the block
    holding byte OLD - 1, read from the image. With NEWSIZE: the file is
    extended to it first. Then the file through read() and through a
    mapping: the nonzero bytes past OLD, and the sha256 of those before."""
    path = f"{top}/a"
    fd = os.open(path, os.O_RDWR if newsize else os.O_RDONLY)
    st = os.fstat(fd)
    out = {}
    if img:
        bs = os.statvfs(top).f_bsize
        blk, raw = raw_block(img, st.st_ino, (old - 1) // bs)
        tail = raw[old % bs:] if old % bs else b""
        out.update(block=blk, rawlen=len(tail), rawnz=len(tail) - tail.count(0))
    if newsize:
        os.ftruncate(fd, newsize)
    size = os.fstat(fd).st_size
    got = os.pread(fd, size, 0)
    with mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ) as m:
        mm = m[:]
    os.close(fd)
    put(size=size, readnz=len(got) - old - got[old:].count(0),
        mmapnz=len(mm) - old - mm[old:].count(0), readsha=sha(got[:old]),
        mmapsha=sha(mm[:old]), **out)


# ----------------------------------------------------------------- [12, 18]
def cmd_indtrunc(top):
    """big (12 KiB of data, a hole to 1.5 MiB) gets nearly every free block
    by a write into its indirect range, so its indirect blocks are new and
    dirty, and a truncate to 100017 bytes frees them at once; other is then
    appended to until ENOSPC, so it takes the freed blocks."""
    big, other = f"{top}/big", f"{top}/other"
    fd = os.open(big, os.O_RDWR)
    size = os.fstat(fd).st_size
    model = bytearray(data(12288, "p12/big") + bytes(size - 12288))
    vfs = os.statvfs(top)
    free0, bs = vfs.f_bfree, vfs.f_bsize
    n = (free0 - 40) * bs
    buf = data(n, "p12/write")
    for off in range(0, n, 65536):
        pwrite_all(fd, buf[off:off + 65536], 12288 + off)
    model[len(model):] = bytes(max(0, 12288 + n - len(model)))
    model[12288:12288 + n] = buf
    free1 = os.statvfs(top).f_bfree
    os.ftruncate(fd, 100017)
    del model[100017:]
    free2 = os.statvfs(top).f_bfree
    os.close(fd)
    fd = os.open(other, os.O_WRONLY | os.O_APPEND)
    have = os.fstat(fd).st_size
    stream = data(have + (free2 + 64) * bs, "p12/other")
    pos, err = have, "none"
    while pos < len(stream):
        try:
            w = os.write(fd, stream[pos:pos + 8192])
        except OSError as e:
            err = errname(e)
            break
        if w == 0:
            break
        pos += w
    os.close(fd)
    free3 = os.statvfs(top).f_bfree
    drop_caches()
    gb, go = read_file(big), read_file(other)
    put(written=n, free0=free0, free1=free1, free2=free2, free3=free3, err=err,
        osize=pos, owant=sha(stream[:pos]), bsize=len(model), bwant=sha(model),
        ogsize=len(go), ogot=sha(go), bgsize=len(gb), bgot=sha(gb), stats=stats(top))


# --------------------------------------------------------------------- [19]
CUT, FULL = 5007, 20000
# z3: cut at a byte of page 201, which is never the first page of a large
# folio (201 is odd).
CUT3, FULL3 = 201 * 4096 + 777, 1 << 20


def in_large_folio(path, index):
    """Whether page index of the file is in the page cache as a page of a
    large folio other than its first (/proc/self/pagemap gives the page
    frame mapped there, /proc/kpageflags its KPF_COMPOUND_TAIL bit)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        with mmap.mmap(f.fileno(), size, mmap.MAP_SHARED, mmap.PROT_READ) as m:
            m[index * PAGE]  # fault the page in
            st = os.fstat(f.fileno())
            start = None
            with open("/proc/self/maps") as maps:
                for line in maps:
                    fields = line.split()
                    if len(fields) >= 6 and int(fields[4]) == st.st_ino and fields[5] == os.path.realpath(path):
                        start = int(fields[0].split("-")[0], 16)
            if start is None:
                return False
            with open("/proc/self/pagemap", "rb") as pm:
                pm.seek((start // PAGE + index) * 8)
                entry = struct.unpack("<Q", pm.read(8))[0]
            if not entry >> 63:
                return False
            with open("/proc/kpageflags", "rb") as kf:
                kf.seek((entry & ((1 << 55) - 1)) * 8)
                flags = struct.unpack("<Q", kf.read(8))[0]
            return bool(flags >> 16 & 1)


def cmd_cut(top):
    """z1 and z2: a pattern written over the whole file, z1's made durable
    by fsync, then both cut to 5007 bytes; caches dropped; both extended to
    20000 and read, cold, through read() and then through mmap."""
    for name, durable in (("z1", True), ("z2", False)):
        fd = os.open(f"{top}/{name}", os.O_RDWR)
        pwrite_all(fd, data(FULL, "p19"), 0)
        if durable:
            os.fsync(fd)
        os.ftruncate(fd, CUT)
        os.close(fd)
    drop_caches()
    for name in ("z1", "z2"):
        os.truncate(f"{top}/{name}", FULL)
    r = [sha(read_file(f"{top}/{n}")) for n in ("z1", "z2")]
    drop_caches()
    m = [sha(mmap_read(f"{top}/{n}")) for n in ("z1", "z2")]
    # z3 is read cold first: readahead leaves its pages in large folios
    # without buffers, and the cut falls inside one, after its first page.
    z3 = f"{top}/z3"
    with open(z3, "rb", buffering=0) as f:
        # In 16 KiB calls: readahead's folios grow from window to window.
        while f.read(16384):
            pass
    tail = in_large_folio(z3, CUT3 // 4096)
    os.truncate(z3, CUT3)
    os.sync()
    drop_caches()
    os.truncate(z3, FULL3)
    r3 = sha(read_file(z3))
    put(want=sha(data(CUT, "p19") + bytes(FULL - CUT)), read1=r[0], read2=r[1],
        mmap1=m[0], mmap2=m[1], tail3=int(tail), read3=r3,
        want3=sha(data(CUT3, "p19big") + bytes(FULL3 - CUT3)), stats=stats(top))


def cmd_cutcheck(top, img):
    bs = os.statvfs(top).f_bsize
    out = {}
    for k, name in ((1, "z1"), (2, "z2")):
        path = f"{top}/{name}"
        _, raw = raw_block(img, os.stat(path).st_ino, (CUT - 1) // bs)
        tail = raw[CUT % bs:]
        out[f"rawnz{k}"] = len(tail) - tail.count(0)
        out[f"got{k}"] = sha(read_file(path))
    put(rawlen=bs - CUT % bs, **out)


def spawn(fn, *args):
    """fn(*args) in a child process, which never returns here: its exit
    status is 0 if fn returned, 1 if it raised (the traceback on stderr)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn(*args)
            code = 0
        except BaseException:  # noqa: BLE001 - shown, and counted as failed
            traceback.print_exc()
        finally:
            os._exit(code)
    return pid


# --------------------------------------------------------------------- [21]
def cmd_race(top, secs, maxsize):
    """A truncater cuts the file to random sizes; a storer writes through
    mappings of the current size (a truncate below a store kills it with
    SIGBUS: it is started again); this process extends the file by pwrite
    at random offsets."""
    path = f"{top}/r"
    end = time.monotonic() + secs
    counts = mmap.mmap(-1, 16)  # truncates, mapping rounds

    def bump(k):
        at = 8 * k
        counts[at:at + 8] = (int.from_bytes(counts[at:at + 8], "little") + 1).to_bytes(8, "little")

    def truncater():
        rng = random.Random(2)
        fd = os.open(path, os.O_RDWR)
        while time.monotonic() < end:
            os.ftruncate(fd, rng.randrange(maxsize))
            bump(0)

    def storer(seed):
        rng = random.Random(seed)
        fd = os.open(path, os.O_RDWR)
        while time.monotonic() < end:
            size = os.fstat(fd).st_size
            try:
                m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            except ValueError:  # cut to 0, or below size, since the fstat
                continue
            with m:
                for k in range(8):
                    m[rng.randrange(size)] = k + 1
            bump(1)

    trunc = spawn(truncater)
    stor = spawn(storer, 0)
    rng = random.Random(3)
    fd = os.open(path, os.O_RDWR)
    writes = sigbus = other = 0
    while True:
        done = time.monotonic() >= end
        if not done:
            off = rng.randrange(maxsize - 8192)
            pwrite_all(fd, data(rng.randint(1, 8192), f"p21/{writes}"), off)
            writes += 1
        pid, st = os.waitpid(stor, 0 if done else os.WNOHANG)
        if pid == 0:
            continue
        if os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGBUS:
            sigbus += 1
        elif st != 0:
            other += 1
        if done:
            break
        stor = spawn(storer, sigbus + other)
    os.close(fd)
    _, st = os.waitpid(trunc, 0)
    other += st != 0
    drop_caches()
    got = read_file(path)
    put(truncates=int.from_bytes(counts[0:8], "little"), pwrites=writes,
        rounds=int.from_bytes(counts[8:16], "little"), sigbus=sigbus, failed=other,
        gsize=len(got), got=sha(got), stats=stats(top))


# --------------------------------------------------------------------- [22]
def cmd_append(top, secs, maxbytes):
    """The appender publishes (in shared memory) how much it has written
    after each write returns; the reader takes that, then the file's size
    (which must not be less), and reads the last 64 KiB below the size, by
    pread and through a mapping: every byte below the size must be the
    appender's."""
    path = f"{top}/log"
    stream = data(maxbytes, "p22")
    start = os.path.getsize(path)
    shared = mmap.mmap(-1, 8)
    shared[:8] = start.to_bytes(8, "little")
    end = time.monotonic() + secs
    r, w = os.pipe()

    def reader():
        os.close(r)
        fd = os.open(path, os.O_RDONLY)
        reads = maps = bad = zeroes = behind = 0
        first = "none"
        while time.monotonic() < end:
            written = int.from_bytes(shared[:8], "little")
            top_ = os.fstat(fd).st_size
            if top_ < written:
                behind += 1
            lo = max(0, top_ - 65536)
            if reads <= maps:
                got = os.pread(fd, top_ - lo, lo)
                reads += 1
            else:
                with mmap.mmap(fd, top_, mmap.MAP_SHARED, mmap.PROT_READ) as m:
                    got = m[lo:top_]
                maps += 1
            want = stream[lo:top_]
            if got != want:
                bad += 1
                d = first_diff(got, want)
                zeroes += got[d:d + 1] in (b"\0", b"")
                if first == "none":
                    first = f"{lo + d}:written{top_}:got{got[d:d + 8].hex()}:want{want[d:d + 8].hex()}"
        os.write(w, f"{reads} {maps} {bad} {zeroes} {behind} {first}".encode())

    rpid = spawn(reader)
    os.close(w)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    pos = start
    sizes = (1, 100, 1023, 1025, 4095, 4097, 7000, 3)
    appends = 0
    while time.monotonic() < end and pos < maxbytes:
        n = min(sizes[appends % len(sizes)], maxbytes - pos)
        pos += os.write(fd, stream[pos:pos + n])
        shared[:8] = pos.to_bytes(8, "little")
        appends += 1
    os.close(fd)
    _, st = os.waitpid(rpid, 0)
    with os.fdopen(r) as f:
        rep = f.read().split()
    reads, maps, bad, zeroes, behind, first = rep if st == 0 and len(rep) == 6 else ["failed"] * 6
    drop_caches()
    got = read_file(path)
    put(appends=appends, size=pos,
        want=sha(stream[:pos]), reads=reads, maps=maps, bad=bad, zeroes=zeroes, behind=behind,
        first=first,
        gsize=len(got), got=sha(got), stats=stats(top))


def cmd_digest(top, names, img=None):
    out = {}
    for name in names:
        buf = read_file(f"{top}/{name}")
        out[f"{name}_sha"], out[f"{name}_size"] = sha(buf), len(buf)
    if img:
        out.update(sbfree=sb_free(img), statfs=os.statvfs(top).f_bfree)
    put(**out)


def serve():
    """One command per line of stdin, one line of results each on stdout
    ("[error]=..." if it raised; the traceback goes to stderr)."""
    for line in sys.stdin:
        try:
            run(line.split())
        except Exception as e:  # noqa: BLE001 - reported, and the next command runs
            traceback.print_exc()
            put(error=type(e).__name__)
        sys.stdout.flush()
        sys.stderr.flush()


def run(argv):
    cmd, a = argv[0], argv[1:]
    if cmd == "copy":
        cmd_copy(a[0], a[1])
    elif cmd == "src":
        cmd_src(a[0])
    elif cmd == "subpage":
        cmd_subpage(a[0], float(a[1]))
    elif cmd == "mmtrunc":
        cmd_mmtrunc(a[0], float(a[1]))
    elif cmd == "eofstore":
        cmd_eofstore(a[0])
    elif cmd == "eofcheck":
        cmd_eofcheck(a[0], int(a[1]), int(a[2]) or None, a[3] if len(a) > 3 else None)
    elif cmd == "indtrunc":
        cmd_indtrunc(a[0])
    elif cmd == "cut":
        cmd_cut(a[0])
    elif cmd == "cutcheck":
        cmd_cutcheck(a[0], a[1])
    elif cmd == "race":
        cmd_race(a[0], float(a[1]), int(a[2]))
    elif cmd == "append":
        cmd_append(a[0], float(a[1]), int(a[2]))
    elif cmd == "digest":
        img = a[1] if len(a) > 1 and a[1].endswith(".img") else None
        cmd_digest(a[0], a[2:] if img else a[1:], img)
    else:
        raise ValueError(f"unknown command {cmd}")


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        serve()
    elif len(sys.argv) > 2:
        run(sys.argv[1:])
    else:
        sys.exit(__doc__)
