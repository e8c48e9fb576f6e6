#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Deterministic allocation-failure sweeps for rmpage's tests/16-faults.sh.

  faults.py aim MODULE          point failslab and fail_page_alloc at the call
                                chains through MODULE's text, or print why not
  faults.py unaim               let the fault attributes fail nothing
  faults.py sweep OP ARGS...    sweep OP (below), print what it saw

A sweep runs OP with the N-th allocation of this thread that the fault
attributes let fail failing (/proc/thread-self/fail-nth), for N = 1, 2, ...,
until OP completes without reaching its N-th: every allocation OP makes under
the module is failed once, in order. After each step, with nothing armed, it
checks that OP failed with a clean errno or did its work, that the data reads
back (cold) as it should, and that nothing was left half done. It prints '#'
lines, then one line "swept P errnos E:C,... bad B" (B: steps that went
wrong, each described on a '#' line before).

OPs (DIR is the mount point, DEV its device, SRC the source of a file):
  mount DEV DIR FILE SRC              mount rw as rext2; FILE reads as SRC
  read readahead|read_folio DEV DIR FILE SRC
      a cold read of FILE. readahead: nothing of it cached. read_folio: its
      large folios are in the page cache but not uptodate (a fault with the
      device failing every bio left them: see leave_not_uptodate), so that
      read_folio alone reads them.
  write DIR FILE SRC                  FILE (same size as SRC, other bytes)
                                      overwritten with SRC, then fsync
  create DIR FILE SRC                 FILE created, written with SRC, fsync

With FAULTS_TRACE=1 in the environment, each step prints a '#' line with
its result and timings.
"""
import ctypes
import errno
import mmap
import os
import signal
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
FI = "/sys/kernel/debug"
ATTRS = ("failslab", "fail_page_alloc")
CAP = 5000  # more injection points than any OP here has
TRACE = os.environ.get("FAULTS_TRACE") == "1"


def put(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def errname(code):
    return errno.errorcode.get(code, str(code))


def drop_caches():
    os.sync()
    put("/proc/sys/vm/drop_caches", 3)


def read_all(path, chunk=16384):
    """The bytes of PATH, read in CHUNK-sized calls (so that readahead ramps
    up to large folios)."""
    out = bytearray()
    fd = os.open(path, os.O_RDONLY)
    try:
        while True:
            got = os.read(fd, chunk)
            if not got:
                return bytes(out)
            out += got
    finally:
        os.close(fd)


def stats(dev):
    """The rext2 counters of the mount on DEV."""
    path = f"{FI}/rext2/{os.path.basename(dev)}/stats"
    try:
        with open(path) as f:
            pairs = (line.split() for line in f)
            return {p[0]: int(p[1]) for p in pairs if len(p) >= 2 and p[1].isdigit()}
    except OSError:
        return {}


def module_text(module):
    """[start, end) of MODULE's text: its symbols' span in /proc/kallsyms,
    the end stretched past the last function but not into another module."""
    mine, others = [], []
    with open("/proc/kallsyms") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 4 or parts[1] not in "tT":
                continue
            addr = int(parts[0], 16)
            (mine if parts[3] == f"[{module}]" else others).append(addr)
    if not mine or min(mine) == 0:
        return None
    start, end = min(mine), max(mine) + 0x10000
    for addr in others:
        if start < addr < end:
            end = addr
    return start, end


def aim(module):
    """GFP_KERNEL, NOFS and NOIO allocations (those that may sleep) may fail,
    at any order, highmem or not; failures are quiet (fail-nth alone decides
    which); with the stacktrace filter, only those whose call chain passes
    through MODULE's text."""
    span = module_text(module)
    filtered = os.path.exists(f"{FI}/failslab/require-start")
    for attr in ATTRS:
        d = f"{FI}/{attr}"
        put(f"{d}/probability", 0)
        put(f"{d}/verbose", 0)
        put(f"{d}/ignore-gfp-wait", "N")
        if filtered and span:
            put(f"{d}/stacktrace-depth", 32)
            put(f"{d}/require-start", span[0])
            put(f"{d}/require-end", span[1])
    put(f"{FI}/fail_page_alloc/min-order", 0)
    put(f"{FI}/fail_page_alloc/ignore-gfp-highmem", "N")
    if filtered and span:
        print(f"aimed at {module}'s text {span[0]:#x}-{span[1]:#x} ({span[1] - span[0]} bytes)")
    else:
        print(f"not aimed (stacktrace filter {'present' if filtered else 'absent'}, "
              f"module text {'found' if span else 'not found'}): every allocation of the task counts")


def unaim():
    for attr in ATTRS:
        d = f"{FI}/{attr}"
        put(f"{d}/probability", 0)
        if os.path.exists(f"{d}/require-start"):
            put(f"{d}/require-start", 0)
            put(f"{d}/require-end", (1 << 64) - 1)
            put(f"{d}/stacktrace-depth", 32)
    put(f"{FI}/fail_page_alloc/min-order", 1)


class FailNth:
    """This thread's fail-nth, kept open: arming and reading it back must not
    allocate what it counts."""

    def __init__(self):
        self.fd = os.open("/proc/thread-self/fail-nth", os.O_RDWR)

    def arm(self, n):
        os.pwrite(self.fd, str(n).encode(), 0)

    def disarm(self):
        """Whether the armed failure was injected; nothing is armed after."""
        left = int(os.pread(self.fd, 32, 0).split()[0])
        os.pwrite(self.fd, b"0", 0)
        return left == 0


def mounted(where):
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == where for line in f)


def leave_not_uptodate(path, dev):
    """Drops PATH's folios from the page cache, then reads it back into
    large folios with every bio to DEV failing, so that they stay in the
    cache, not uptodate, and the next read of PATH reads them through
    read_folio alone. A read(2) would not do: its readahead starts with
    order-0 folios and grows them only while reads succeed. A fault on a
    MADV_HUGEPAGE mapping reads PMD-sized folios (smaller near EOF) at once;
    it is taken inside write(2), from the mapping to a pipe, so that the
    failed fault gives EFAULT rather than SIGBUS."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        size = os.fstat(fd).st_size
        m = mmap.mmap(fd, size, prot=mmap.PROT_READ)
        m.madvise(mmap.MADV_HUGEPAGE)
        r, w = os.pipe()
        make_it_fail(dev, True)
        try:
            with memoryview(m) as view:
                for off in range(0, size, 2 << 20):
                    try:
                        os.write(w, view[off:off + 1])
                    except OSError:
                        pass
        finally:
            make_it_fail(dev, False)
            os.close(r)
            os.close(w)
            m.close()
    finally:
        os.close(fd)


def make_it_fail(dev, on):
    """Every bio to DEV fails (fail_make_request), or none."""
    d = f"{FI}/fail_make_request"
    if on:
        put(f"{d}/probability", 100)
        put(f"{d}/times", -1)
        put(f"{d}/verbose", 0)
    put(f"/sys/block/{os.path.basename(dev)}/make-it-fail", 1 if on else 0)


class Sweep:
    """One operation's sweep: the points swept, the errnos seen, the steps
    that went wrong."""

    def __init__(self, name):
        self.name, self.points, self.bad, self.errnos = name, 0, 0, {}

    def wrong(self, n, what):
        """Step N went wrong: WHAT (the first ten are printed)."""
        self.bad += 1
        if self.bad <= 10:
            print(f"# {self.name}: fault {n}: {what}")

    def run(self, setup, op, check):
        """setup(); op() -> errno name or "OK", with the n-th allocation
        failing; check(n, result) with nothing armed."""
        fail = FailNth()
        for n in range(1, CAP + 1):
            t0 = time.monotonic()
            setup()
            t1 = time.monotonic()
            fail.arm(n)
            try:
                result = op()
            finally:
                injected = fail.disarm()
            t2 = time.monotonic()
            check(n, result)
            if TRACE:
                print(f"# {self.name}: fault {n}: {result} injected {injected} "
                      f"setup {t1 - t0:.2f}s op {t2 - t1:.2f}s check {time.monotonic() - t2:.2f}s",
                      flush=True)
            if not injected:
                if result != "OK":
                    self.wrong(n, f"{result} with no failure injected")
                return
            self.points += 1
            self.errnos[result] = self.errnos.get(result, 0) + 1
            if result != "OK" and self.errnos[result] <= 3:
                print(f"# {self.name}: fault {n}: {result}")
        self.wrong(CAP, f"still injecting after {CAP} points")

    def report(self):
        """The last line: points swept, errnos seen, steps gone wrong."""
        tally = ",".join(f"{k}:{v}" for k, v in sorted(self.errnos.items()))
        print(f"swept {self.points} errnos {tally or '-'} bad {self.bad}")


def oserror(fn):
    try:
        fn()
        return "OK"
    except OSError as e:
        return errname(e.errno)


def sweep_mount(dev, where, file, src):
    sweep, want = Sweep("mount"), open(src, "rb").read()

    def op():
        ret = libc.mount(dev.encode(), where.encode(), b"rext2", ctypes.c_ulong(0), None)
        return "OK" if ret == 0 else errname(ctypes.get_errno())

    def check(n, result):
        if result != "OK":
            if mounted(where):
                sweep.wrong(n, f"mount failed ({result}) but {where} is mounted")
            return
        drop_caches()
        if read_all(f"{where}/{file}") != want:
            sweep.wrong(n, f"{file} does not read back as its source after the mount")
        if libc.umount2(where.encode(), 0) != 0:
            sweep.wrong(n, f"umount: {errname(ctypes.get_errno())}")

    sweep.run(lambda: None, op, check)
    sweep.report()


def sweep_read(mode, dev, where, file, src):
    sweep, want, path = Sweep(f"read {mode}"), open(src, "rb").read(), f"{where}/{file}"
    got = [b""]

    def setup():
        if mode == "readahead":
            drop_caches()
            return
        # Metadata cached; then the file's folios, large, left in the cache
        # not uptodate.
        if read_all(path) != want:
            sweep.wrong(0, f"{file} does not read back before the failing read")
        leave_not_uptodate(path, dev)

    def op():
        got[0] = b""
        try:
            got[0] = read_all(path)
            return "OK"
        except OSError as e:
            return errname(e.errno)

    def check(n, result):
        if result == "OK" and got[0] != want:
            sweep.wrong(n, "the read succeeded with wrong data")
        if mode == "read_folio" and result == "ENOMEM":
            sweep.wrong(n, "ENOMEM reached the reader: read_folio falls back to buffer_heads")
        drop_caches()
        if read_all(path) != want:
            sweep.wrong(n, "a cold read afterwards differs from the source")

    before = stats(dev)
    sweep.run(setup, op, check)
    after = stats(dev)
    moved = {k: after[k] - before.get(k, 0) for k in ("split_folios", "fallbacks", "read_errors")
             if k in after}
    print(f"# read {mode}: counters over the sweep: " +
          " ".join(f"{k} {v}" for k, v in moved.items()))
    sweep.report()


def sweep_write(kind, where, file, src):
    sweep, want, path = Sweep(kind), open(src, "rb").read(), f"{where}/{file}"

    def write_file(create):
        flags = os.O_WRONLY | (os.O_CREAT | os.O_EXCL if create else 0)
        fd = os.open(path, flags, 0o644)
        try:
            view = memoryview(want)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)

    def setup():
        if os.path.exists(path):
            os.unlink(path)
        if kind == "write":
            with open(path, "wb") as f:
                f.write(bytes(len(want)))
            os.sync()

    def op():
        return oserror(lambda: write_file(kind == "create"))

    def check(n, result):
        if result != "OK":
            # The failure left no stuck state: the same work, unarmed, goes
            # through.
            if kind == "create" and os.path.exists(path):
                os.unlink(path)
            again = oserror(lambda: write_file(kind == "create"))
            if again != "OK":
                sweep.wrong(n, f"after {result}, the write without a fault fails: {again}")
        drop_caches()
        try:
            if read_all(path) != want:
                sweep.wrong(n, f"{file} does not read back as written")
        except OSError as e:
            sweep.wrong(n, f"{file} cannot be read back: {errname(e.errno)}")

    sweep.run(setup, op, check)
    sweep.report()


def main(argv):
    # A timeout's SIGTERM still runs the cleanups (the device made to fail,
    # fail-nth armed) on its way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("killed by SIGTERM"))
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "aim":
        aim(args[0])
    elif cmd == "unaim":
        unaim()
    elif cmd == "sweep" and args[0] == "mount":
        sweep_mount(*args[1:])
    elif cmd == "sweep" and args[0] == "read":
        sweep_read(*args[1:])
    elif cmd == "sweep" and args[0] in ("write", "create"):
        sweep_write(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
