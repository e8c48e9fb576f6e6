#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The fuzz test's driver (tests/15-fuzz.sh): mounts corrupted images
(tests/lib/fuzzimg.py) under the C ext2 and under rext2 with each engine,
walks and writes them, and compares what they did.

  fuzzrun.py WORKDIR SEED VARIANTS "CONFIGS" REPRO_DIR

One process does everything, with system calls (mount, umount, the loop
device's ioctls, /dev/kmsg): a process start costs most of a second under
TCG, and the run has 3 mounts per variant to make (a fork costs a fifth
of a second). Each mount runs in a worker thread (mount, walk, write phase,
unmount), which tells the main thread which stage it is in; a worker that
does not finish in time is a hang (or a stuck unmount, by its stage),
reported with a reproducer, and ends the run: the mount it holds cannot
be taken down, so the main thread closes its output and exits without it.

The walk: every directory listed with getdents64 through a 280-byte buffer,
then lseek to an entry's d_off (seekdir to telldir) must give the entries
after it; lstat of every entry, up to 64 KiB of every regular file (in
chunks spread over the file, so that indirect and double indirect blocks
are met), readlink of every symlink. The write phase: create and write a
file, append to one, truncate one, unlink one, mkdir. Then the kernel log
since the mount is searched for reports.

Output: "# " lines (one per variant, tallies) and one line per check,
"ok<TAB>DESCRIPTION" or "not ok<TAB>DESCRIPTION" (CHECKS of them).
"""
import ctypes
import errno
import fcntl
import gzip
import hashlib
import os
import re
import queue
import stat
import struct
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fuzzimg  # noqa: E402

CHECKS = 6
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SYS_GETDENTS64 = 217  # x86_64
LOOP_SET_FD, LOOP_CLR_FD, LOOP_CTL_GET_FREE = 0x4C00, 0x4C01, 0x4C82
REPORT = re.compile(r"BUG:|WARNING:|Oops|KASAN|possible .*locking|circular locking|hung task|"
                    r"blocked for more than|UBSAN|general protection|kernel BUG|panicked")
# Per-file read cap and the walk's limits (a corrupt directory can be
# huge, or contain its ancestors).
READ_CAP = 64 * 1024
CHUNK = 8 * 1024
MAX_ENTRIES = 1500
MAX_DEPTH = 8
MAX_GETDENTS = 400
# The smallest buffer that holds an entry of a 255-byte name (19 + 256
# bytes, 8-aligned): smaller ones fail such a directory with EINVAL.
GETDENTS_BUF = 280
MOUNT_TIMEOUT = int(os.environ.get("RMPAGE_FUZZ_TIMEOUT", "120"))
CFG_NAMES = {"ext2": "C ext2", "rust": "rext2 engine=rust", "c": "rext2 engine=c"}


def errname(code):
    """The name of errno `code` (EIO, ...)."""
    return errno.errorcode.get(code, str(code))


def call(fn, *args):
    """fn(*args), or the errno name of its OSError as "E:NAME"."""
    try:
        return fn(*args)
    except OSError as e:
        return "E:" + errname(e.errno)


class Kmsg:
    """New kernel log lines since the last read, from /dev/kmsg."""

    def __init__(self):
        self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)

    def read(self):
        lines = []
        while True:
            try:
                rec = os.read(self.fd, 8192)
            except BlockingIOError:
                return lines
            except BrokenPipeError:  # records overwritten: go on from the next
                continue
            text = rec.decode(errors="replace")
            head, _, msg = text.partition(";")
            lines.append(msg.split("\n")[0])


# ---- the walk and the write phase, in the worker thread ----

def getdents(fd, limit):
    """All entries of the open directory fd, read GETDENTS_BUF bytes at a
    time: ([(name, d_off)], error or None)."""
    buf = ctypes.create_string_buffer(GETDENTS_BUF)
    out = []
    for _ in range(limit):
        n = libc.syscall(SYS_GETDENTS64, fd, buf, GETDENTS_BUF)
        if n < 0:
            return out, "E:" + errname(ctypes.get_errno())
        if n == 0:
            return out, None
        raw = buf.raw[:n]
        pos = 0
        while pos < n:
            _ino, off, reclen, _type = struct.unpack_from("<QqHB", raw, pos)
            name = raw[pos + 19:pos + reclen].split(b"\0", 1)[0]
            out.append((name, off))
            pos += reclen
    return out, "E:LIMIT"


def list_dir(path, stats):
    """The names in directory `path`, or "E:..." if listing failed; checks
    that seeking to an entry's d_off gives the entries after it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as e:
        return "E:" + errname(e.errno)
    try:
        entries, err = getdents(fd, MAX_GETDENTS)
        if err:
            return err
        if len(entries) >= 3:
            for k in (0, len(entries) // 2, len(entries) - 2):
                os.lseek(fd, entries[k][1], os.SEEK_SET)
                again, err2 = getdents(fd, 1)
                want = [e[0] for e in entries[k + 1:k + 1 + len(again)]]
                if err2 is None and [e[0] for e in again] != want:
                    stats["seek_mismatch"].append(f"{path.decode(errors='replace')} at entry {k}")
                    break
        return sorted(e[0] for e in entries)
    finally:
        os.close(fd)


def read_file(path, size):
    """The sha256 (16 hex digits) of up to READ_CAP bytes of `path`, read
    in chunks spread over its `size`; "E:..." on an error."""
    with open(path, "rb", buffering=0) as f:
        h = hashlib.sha256()
        if size <= READ_CAP:
            offsets = [0]
            lengths = [READ_CAP]
        else:
            n = READ_CAP // CHUNK
            offsets = sorted({(size * i // n) & ~4095 for i in range(n)})
            lengths = [CHUNK] * len(offsets)
        for off, length in zip(offsets, lengths):
            got = os.pread(f.fileno(), length, off)
            h.update(b"%d:%d;" % (off, len(got)))
            h.update(got)
        return h.hexdigest()[:16]


def walk(top):
    """What the walk saw: {relative path: value} (a file's digest, a
    symlink's target, a directory's names, or "E:..."), and stats."""
    data = {}
    stats = {"errors": 0, "seek_mismatch": [], "entries": 0}
    seen = set()
    todo = [(b"", 0)]
    while todo and stats["entries"] < MAX_ENTRIES:
        rel, depth = todo.pop()
        path = top + rel if rel else top
        st = call(os.lstat, path)
        if isinstance(st, str):
            data[rel] = st
            stats["errors"] += 1
            continue
        if (st.st_dev, st.st_ino) in seen and stat.S_ISDIR(st.st_mode):
            continue
        kind = st.st_mode & 0o170000
        if kind == 0o040000:
            seen.add((st.st_dev, st.st_ino))
            names = list_dir(path, stats)
            data[rel] = names if isinstance(names, str) else [n.decode(errors="replace") for n in names]
            if isinstance(names, str):
                stats["errors"] += 1
                continue
            if depth < MAX_DEPTH:
                for name in names:
                    if name not in (b".", b".."):
                        todo.append((rel + b"/" + name, depth + 1))
                        stats["entries"] += 1
        elif kind == 0o100000:
            value = call(read_file, path, st.st_size)
            data[rel] = value
            stats["errors"] += isinstance(value, str) and value.startswith("E:")
        elif kind == 0o120000:
            value = call(os.readlink, path)
            data[rel] = value if isinstance(value, str) else "L:" + value.decode(errors="replace")
            stats["errors"] += value.startswith("E:") if isinstance(value, str) else 0
    return {k.decode(errors="replace"): v for k, v in data.items()}, stats


def write_phase(top, cfg):
    """Create, append, truncate, unlink, mkdir: {operation: "OK", "E:..."
    or "skipped (why)"}.

    The C ext2's write phase skips what makes the C ext2 itself WARN, so
    that its baseline does not fail the suite's kernel log check:
    drop_nlink() WARNs when unlink meets an inode whose link count is
    already 0, and inc_nlink() when mkdir links into a directory whose
    count is 0 (the C ext2 loads such inodes when i_dtime is 0). rext2
    does both."""
    ops = {}

    def create():
        fd = os.open(top + b"/fuzz-new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, fuzzimg.data(9000, "new"))
        finally:
            os.close(fd)

    def append():
        fd = os.open(top + b"/appendme", os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, fuzzimg.data(5000, "append"))
        finally:
            os.close(fd)

    def unlink():
        if cfg == "ext2" and os.lstat(top + b"/unlinkme").st_nlink == 0:
            return "skipped (link count 0: the C ext2 WARNs in drop_nlink)"
        os.unlink(top + b"/unlinkme")

    def mkdir():
        if cfg == "ext2" and os.lstat(top).st_nlink == 0:
            return "skipped (root's link count 0: the C ext2 WARNs in inc_nlink)"
        os.mkdir(top + b"/fuzz-dir")

    for name, fn in (("create", create), ("append", append),
                     ("truncate", lambda: os.truncate(top + b"/truncme", 1000)),
                     ("unlink", unlink), ("mkdir", mkdir)):
        result = call(fn)
        ops[name] = result if isinstance(result, str) else "OK"
    return ops


def mount_walk_write(dev, mnt, cfg, say):
    """In the worker thread: mount, walk, write, unmount; each stage and
    then the result go to `say` as lines."""
    try:
        fstype = b"ext2" if cfg == "ext2" else b"rext2"
        opts = b"errors=remount-ro" if cfg == "ext2" else None
        say("stage", "mount")
        if libc.mount(dev.encode(), mnt, fstype, ctypes.c_ulong(0), opts) != 0:
            say("result", {"mount": "E:" + errname(ctypes.get_errno())})
            return
        say("stage", "walk")
        data, stats = walk(mnt)
        say("stage", "write")
        ops = write_phase(mnt, cfg)
        say("stage", "umount")
        rc = libc.umount2(mnt, 0)
        umount = "OK" if rc == 0 else "E:" + errname(ctypes.get_errno())
        say("result", {"mount": "OK", "data": data, "stats": stats, "ops": ops, "umount": umount})
    except Exception:
        say("result", {"mount": "crash", "trace": traceback.format_exc()})


# ---- the main thread ----

class Loop:
    """A loop device over an image file, attached and detached by ioctl."""

    def __init__(self, image):
        with open("/dev/loop-control", "rb") as ctl:
            self.number = fcntl.ioctl(ctl, LOOP_CTL_GET_FREE)
        self.dev = f"/dev/loop{self.number}"
        img = os.open(image, os.O_RDWR)
        fd = os.open(self.dev, os.O_RDWR)
        try:
            fcntl.ioctl(fd, LOOP_SET_FD, img)
        finally:
            os.close(fd)
            os.close(img)

    def detach(self):
        # With ours the only opener, the device is unbound when we close it.
        fd = os.open(self.dev, os.O_RDWR)
        try:
            fcntl.ioctl(fd, LOOP_CLR_FD, 0)
        except OSError:
            pass
        finally:
            os.close(fd)


def write_sparse(path, image):
    """`image` to a new file at `path`, its zero chunks left as holes: the
    images are mostly empty, and copying megabytes three times a variant
    is a good part of its time under TCG."""
    chunk = 64 * 1024
    zero = bytes(chunk)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.ftruncate(fd, len(image))
        for off in range(0, len(image), chunk):
            piece = image[off:off + chunk]
            if piece != zero[:len(piece)]:
                os.pwrite(fd, piece, off)
    finally:
        os.close(fd)


def run_mount(cfg, image_bytes, work, mnt):
    """One configuration on a fresh copy of the image: (result dict, stage
    it hung in or None, milliseconds)."""
    image = os.path.join(work, "fuzz-cur.img")
    write_sparse(image, image_bytes)
    if cfg != "ext2":
        with open("/sys/module/rmpage/parameters/engine", "w") as f:
            f.write(cfg)
    loop = Loop(image)
    start = time.monotonic()
    said = queue.Queue()
    threading.Thread(target=mount_walk_write, args=(loop.dev, mnt, cfg, lambda *m: said.put(m)),
                     daemon=True).start()
    stage, result = None, None
    while result is None:
        left = start + MOUNT_TIMEOUT - time.monotonic()
        try:
            kind, what = said.get(timeout=max(left, 0.001))
        except queue.Empty:
            break
        if kind == "stage":
            stage = what
        else:
            result = what
    ms = int((time.monotonic() - start) * 1000)
    if result is None:
        return None, stage or "start", ms
    loop.detach()
    return result, None, ms


def summary(result):
    """A configuration's outcome in a few characters."""
    if result["mount"] != "OK":
        return "refused " + result["mount"][2:] if result["mount"].startswith("E:") else result["mount"]
    errs = result["stats"]["errors"]
    wr = sum(1 for v in result["ops"].values() if v.startswith("E:"))
    text = f"walked, {errs} errors, {wr} write errors"
    if result["umount"] != "OK":
        text += f", umount {result['umount']}"
    return text


def compare(base, other, paths=None):
    """Paths whose values both read without error and differ."""
    bad = []
    for path in sorted(paths if paths is not None else set(base) & set(other)):
        a, b = base.get(path), other.get(path)
        if a is None or b is None or isinstance(a, str) and a.startswith("E:") or \
                isinstance(b, str) and b.startswith("E:"):
            continue
        if a != b:
            bad.append(path)
    return bad


def under_any(path, tops):
    """Whether `path` is one of `tops` or lies below one of them (a
    directory read from metadata names what it likes)."""
    return any(path == top or path.startswith(top + "/") for top in tops)


def wrong_vs_base(reference, data):
    """Paths rext2 read without error whose value is not the base's (a
    path the base does not have counts as wrong)."""
    bad = []
    for path, value in sorted(data.items()):
        if isinstance(value, str) and value.startswith("E:"):
            continue
        if reference.get(path) != value:
            bad.append(path)
    return bad


class Run:
    """One fuzz run: the bases, the variants, the tallies and the checks."""

    def __init__(self, work, seed, variants, configs, repro):
        self.work, self.seed, self.variants, self.configs, self.repro = work, seed, variants, configs, repro
        self.kmsg = Kmsg()
        self.checks = []
        self.tally = {cfg: {"refused": 0, "walked": 0, "errors": 0} for cfg in configs}
        self.rext2_reports, self.ext2_reports, self.hangs = [], [], []
        self.refusal_bad, self.data_bad, self.seek_bad = [], [], []
        self.refusal_cases = self.data_compared = self.not_compared = 0
        self.saved = 0
        self.skips = 0

    def check(self, ok, desc):
        """Records one check's line for the end of the output."""
        self.checks.append(("ok" if ok else "not ok") + "\t" + desc)

    def save(self, index, bs, image, desc, whys, lines):
        """Keeps variant `index` as a reproducer (the first 10 only):
        the image, gzipped, and what happened (`whys`, then the kernel log
        `lines`), with the commands that remake it."""
        if self.saved >= 10:
            return
        self.saved += 1
        os.makedirs(self.repro, exist_ok=True)
        name = os.path.join(self.repro, f"seed-{self.seed}-index-{index}")
        with gzip.open(name + ".img.gz", "wb") as f:
            f.write(image)
        with open(name + ".txt", "w") as f:
            f.write(f"seed {self.seed} index {index} base {bs}-byte blocks\n{desc}\n")
            f.write("\n".join(whys) + "\n")
            f.write(f"replay: python3 tests/lib/fuzzimg.py tree t && python3 tests/lib/fuzzimg.py base t "
                    f"b.img {bs} && python3 tests/lib/fuzzimg.py variant b.img {self.seed} {index} v.img\n")
            f.write("kernel log:\n" + "\n".join(lines) + "\n")
        print(f"# reproducer saved: {name}.img.gz ({whys[0]}); the same image on the host: "
              f"fuzzimg.py tree t; fuzzimg.py base t b.img {bs}; fuzzimg.py variant b.img {self.seed} {index} v.img")

    def bases(self):
        """Builds the tree and the bases, and walks each clean base under
        every configuration: (all clean, notes on what was not)."""
        top = os.path.join(self.work, "fuzz-tree")
        if not os.path.isdir(top):
            fuzzimg.make_tree(top)
        self.base = {}
        for bs, path in fuzzimg.base_paths(self.work).items():
            fuzzimg.make_base(top, path, bs)
            with open(path, "rb") as f:
                self.base[bs] = fuzzimg.Base(f.read())
            print(f"# base {bs}-byte blocks: sha256 {hashlib.sha256(self.base[bs].data).hexdigest()[:16]}")
        # The source tree through the same walk: what every clean mount must show.
        source, _ = walk(top.encode())
        self.reference = {}
        clean_ok = True
        notes = []
        for bs in self.base:
            for cfg in self.configs:
                result, hung, _ms = run_mount(cfg, self.base[bs].data, self.work, self.mnt)
                lines = [l for l in self.kmsg.read() if REPORT.search(l)]
                if hung or result["mount"] != "OK" or result["stats"]["errors"] or lines or \
                        any(v != "OK" for v in result["ops"].values()):
                    clean_ok = False
                    errs = [f"{p}: {v}" for p, v in result.get("data", {}).items() if isinstance(v, str) and v.startswith("E:")]
                    notes.append(f"{bs} {cfg}: {hung or summary(result)} {errs[:3]} {result.get('ops')} {lines[:3]}")
                    if hung:
                        self.hangs.append(f"clean {bs}-byte base: {CFG_NAMES[cfg]} hung in stage {hung}")
                        return False, notes
                    continue
                self.reference.setdefault(bs, dict(result["data"]))
                data = dict(result["data"])
                data.pop("/lost+found", None)
                data[""] = [n for n in data[""] if n != "lost+found"]
                if data != source:
                    clean_ok = False
                    notes.append(f"{bs} {cfg}: differs from the source tree at "
                                 f"{[p for p in set(data) | set(source) if data.get(p) != source.get(p)][:5]}")
        return clean_ok, notes

    def variant(self, index):
        """Makes, mounts, walks and compares variant `index`; False if a
        hang ends the run."""
        bs = fuzzimg.variant_base(self.seed, index)
        start = time.monotonic()
        notes = {}
        image, desc = fuzzimg.variant(self.base[bs], self.seed, index, notes)
        # Not compared: data read through a map that leads into metadata.
        volatile = set(notes["onto_metadata"])
        gen_ms = int((time.monotonic() - start) * 1000)
        results, parts, whys, klog, details = {}, [], [], [], []
        for cfg in self.configs:
            result, hung, ms = run_mount(cfg, image, self.work, self.mnt)
            lines = self.kmsg.read()
            klog += [f"{cfg}: {line}" for line in lines]
            reports = [line for line in lines if REPORT.search(line)]
            if hung:
                why = f"{CFG_NAMES[cfg]} hung in stage {hung} (> {MOUNT_TIMEOUT}s)"
                klog += [f"{cfg}: {line}" for line in self.kmsg.read()]
                self.hangs.append(f"{index}: {why}")
                self.save(index, bs, image, desc, [why], klog)
                print(f"# {index} {bs // 1024}k: {'; '.join(parts)}; {why} | {desc}")
                return False
            if reports:
                who = self.ext2_reports if cfg == "ext2" else self.rext2_reports
                who.append(f"{index} ({CFG_NAMES[cfg]}): {reports[0]}")
                whys.append(f"kernel report under {CFG_NAMES[cfg]}")
            if result["mount"] == "crash":
                print("# walker crashed: " + result["trace"].replace("\n", "\n# "))
                self.rext2_reports.append(f"{index}: walker crashed under {CFG_NAMES[cfg]}")
                continue
            if result["mount"] == "OK" and result["umount"] != "OK":
                why = f"{CFG_NAMES[cfg]}: umount failed with {result['umount']}"
                self.hangs.append(f"{index}: {why}")
                whys.append(why)
                # The mount is still there: take it away before the next.
                libc.umount2(self.mnt, 2)
            results[cfg] = result
            self.count(index, cfg, result)
            parts.append(f"{cfg} {summary(result)} {ms}ms")
        c_ext2 = results.get("ext2")
        for cfg in results:
            if cfg == "ext2" or c_ext2 is None:
                continue
            mine, name = results[cfg], CFG_NAMES[cfg]
            if c_ext2["mount"] != "OK":
                self.refusal_cases += 1
                if mine["mount"] == "OK":
                    wrong = [p for p in wrong_vs_base(self.reference[bs], mine["data"]) if not under_any(p, volatile)]
                    if wrong:
                        whys.append(f"the C ext2 refuses the mount, {name} reads other data than the base's")
                        self.refusal_bad.append(f"{index} {cfg}: {wrong[:3]}")
                        details += [f"{path}: base {self.reference[bs].get(path)!r:.80}, {name} "
                                    f"{mine['data'][path]!r:.80}" for path in wrong[:20]]
            elif mine["mount"] == "OK":
                read_by_both = set(mine["data"]) & set(c_ext2["data"])
                both = [p for p in read_by_both if not under_any(p, volatile)]
                self.not_compared += len(read_by_both) - len(both)
                self.data_compared += len(both)
                bad = compare(c_ext2["data"], mine["data"], both)
                if bad:
                    whys.append(f"{name} reads other data than the C ext2")
                    self.data_bad.append(f"{index} {cfg}: {bad[:3]}")
                    details += [f"{path}: C ext2 {c_ext2['data'][path]!r:.80}, {name} "
                                f"{mine['data'][path]!r:.80}" for path in bad[:20]]
        verdict = "agree" if not whys else "FAIL: " + ", ".join(whys)
        total_ms = int((time.monotonic() - start) * 1000)
        print(f"# {index} {bs // 1024}k: {'; '.join(parts)}; {verdict}; made in {gen_ms}ms, "
              f"{total_ms}ms in all | {desc}")
        if whys:
            self.save(index, bs, image, desc, whys + parts + details, klog)
        return True

    def count(self, index, cfg, result):
        """Adds a configuration's outcome on variant `index` to the tallies."""
        tally = self.tally[cfg]
        if result["mount"] != "OK":
            tally["refused"] += 1
            return
        tally["walked"] += 1
        tally["errors"] += result["stats"]["errors"] > 0
        self.skips += sum(1 for v in result["ops"].values() if v.startswith("skipped"))
        if cfg != "ext2" and result["stats"]["seek_mismatch"]:
            self.seek_bad.append(f"{index} {cfg}: {result['stats']['seek_mismatch'][0]}")

    def main(self):
        """The bases, the variants, the tallies, the checks."""
        self.mnt = os.path.join(self.work, "fuzz-mnt").encode()
        os.makedirs(self.mnt, exist_ok=True)
        clean, notes = self.bases()
        for note in notes:
            print("# clean base: " + note)
        self.check(clean, f"the clean bases (1 and 4 KiB blocks) mount, walk and take the write phase "
                          f"without an error under {', '.join(CFG_NAMES[c] for c in self.configs)}, "
                          f"and the walk shows the source tree")
        done = 0
        start = time.monotonic()
        if clean or self.reference:
            for index in range(self.first, self.first + self.variants):
                if not self.variant(index):
                    break
                done += 1
        elapsed = time.monotonic() - start
        print(f"# {done} of {self.variants} variants of seed {self.seed} (from index {self.first}) "
              f"in {elapsed:.0f}s")
        for cfg in self.configs:
            t = self.tally[cfg]
            print(f"# {CFG_NAMES[cfg]}: refused {t['refused']}, walked {t['walked']} "
                  f"({t['errors']} of them with errors)")
        for name, items in (("kernel reports under rext2", self.rext2_reports),
                            ("kernel reports under the C ext2", self.ext2_reports),
                            ("hangs or failed unmounts", self.hangs),
                            ("refused by the C ext2, wrong data from rext2", self.refusal_bad),
                            ("data differing between rext2 and the C ext2", self.data_bad),
                            ("rext2 seekdir mismatches", self.seek_bad)):
            for item in items[:10]:
                print(f"# {name}: {item}")
        n = f"{done} variants of seed {self.seed}"
        rext2 = [c for c in self.configs if c != "ext2"]
        self.check(done == self.variants and not self.rext2_reports and not self.hangs,
                   f"{n}: no kernel report, hang or stuck unmount under {', '.join(CFG_NAMES[c] for c in rext2)}")
        self.check(done == self.variants and not self.ext2_reports,
                   f"{n}: no kernel report or hang under the C ext2 (the baseline; "
                   f"{self.skips} write steps skipped where it would WARN)")
        has_ext2 = "ext2" in self.configs and rext2
        self.check(has_ext2 and done == self.variants and not self.refusal_bad,
                   f"every variant the C ext2 refuses at mount, rext2 refuses too or reads only the base's data "
                   f"({self.refusal_cases} refusals x rext2 configurations)")
        self.check(has_ext2 and done == self.variants and not self.data_bad,
                   f"what rext2 reads (file data, symlink targets, directory names) equals what the C ext2 "
                   f"reads where both read without error ({self.data_compared} paths compared; "
                   f"{self.not_compared} not, whose block map the variant led into metadata)")
        self.check(done == self.variants and not self.seek_bad,
                   "rext2's getdents64 with a 280-byte buffer and lseek to an entry's d_off agree on every "
                   "directory listed without error")
        for line in self.checks:
            print(line)
        assert len(self.checks) == CHECKS
        if self.hangs:
            # A worker stuck in the kernel keeps the process from exiting;
            # closing the output lets the test script finish.
            sys.stdout.flush()
            os.close(1)
            os.close(2)
            os._exit(0)


def main(argv):
    """fuzzrun.py WORKDIR SEED VARIANTS "CONFIGS" REPRO_DIR"""
    work, seed, variants, configs, repro = argv[1], argv[2], int(argv[3]), argv[4].split(), argv[5]
    sys.stdout.reconfigure(line_buffering=True)
    run = Run(work, seed, variants, configs, repro)
    run.first = int(os.environ.get("RMPAGE_FUZZ_FIRST", "0"))
    run.main()


if __name__ == "__main__":
    main(sys.argv)
