#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""rmpage's random-operation checker (the idea of fsx, our code).

One process works in one directory of its own: a few files, some with
several names, some unlinked while still open, all kept in an in-memory
model (names -> inodes -> content). Every step is drawn from a seeded
random generator and the model alone, never from what the file system
answers, so one seed gives one sequence of operations on any file system.
After each step what it touched is read back and compared with the model;
every --check-every steps and at the end, every file in full.

  fsx.py --seed S --ops N [OPTIONS] DIR     run N operations in DIR (made if
                                            missing, and must be empty)
  fsx.py --verify STATE DIR [STATE DIR]...  compare each DIR with the STATE
                                            that its run wrote (--state)
  fsx.py --balloon MIB                      hold anonymous memory until killed,
                                            leaving MIB free above the low
                                            watermark (see balloon())

The operations: create; write at random offsets (into the file, at its end,
past it leaving a hole, across the indirect-block starts); read; truncate
down and up; read and write through a shared mapping (a write is msynced
half of the time, left to writeback otherwise); fsync and fdatasync; rename
(to a free name, over another file, over another name of the same file);
link; unlink (of files open or not); close and (re-)open. Every
--drop-every steps: sync and drop the caches, so that reads come from the
disk. Every --remount-every steps and at the end, if --remount-cmd is given:
close everything, run the command (which unmounts and mounts the file
system again), and compare the whole model with the fresh mount.

A mismatch, or an operation failing, prints the seed, the step, the last
--log-tail operations and the command that replays the run up to that step
in an empty directory, and exits with status 1.
"""
import argparse
import collections
import errno
import hashlib
import json
import mmap
import os
import random
import signal
import sys
import time

KIB, MIB = 1 << 10, 1 << 20
PAGE = mmap.PAGESIZE
CHUNK = MIB

# The operations and how often each is drawn, relative to the others.
WEIGHTS = {
    "write": 20,
    "read": 12,
    "truncate": 6,
    "mapread": 6,
    "mapwrite": 6,
    "fsync": 2,
    "fdatasync": 2,
    "rename": 5,
    "link": 3,
    "unlink": 4,
    "create": 4,
    "open": 4,
    "close": 4,
}
# Most data operations are small; some are large enough to need a run of
# blocks and an indirect block of their own.
SIZE_CLASSES = ((60, 1, 4 * KIB), (35, 4 * KIB + 1, 32 * KIB), (5, 32 * KIB + 1, 256 * KIB))


class Mismatch(Exception):
    """What the file system answered is not what the model holds."""


class Inode:
    """A file of the model: its bytes, its names, its inode number on disk."""

    __slots__ = ("serial", "data", "names", "ino")

    def __init__(self, serial, ino):
        self.serial = serial
        self.data = bytearray()
        self.names = set()
        self.ino = ino

    def label(self):
        """How the log names the file: its serial and its names."""
        return f"#{self.serial}[{','.join(sorted(self.names)) or 'unlinked'}]"


class Handle:
    """An open descriptor (O_RDWR) of the model's file."""

    __slots__ = ("fd", "inode")

    def __init__(self, fd, inode):
        self.fd = fd
        self.inode = inode


def boundaries(block_size, limit):
    """Offsets where ext2's single, double and triple indirect maps start,
    at this block size and the other two, below limit."""
    out = set()
    for bs in {block_size, 1024, 2048, 4096}:
        per = bs // 4
        out |= {12 * bs, (12 + per) * bs, (12 + per + per * per) * bs}
    return sorted(b for b in out if b < limit)


def first_difference(got, want):
    """The offset of the first byte where got and want differ."""
    n = min(len(got), len(want))
    lo, hi = 0, n
    # Bisect on slices: comparing bytes is fast, Python loops are not.
    while hi - lo > 64:
        mid = (lo + hi) // 2
        if got[lo:mid] != want[lo:mid]:
            hi = mid
        else:
            lo = mid
    for i in range(lo, hi):
        if got[i] != want[i]:
            return i
    return n


class Checker:
    """The model, the operations on it and on the file system, the checks."""

    def __init__(self, args):
        self.args = args
        self.dir = args.dir
        self.rng = random.Random(args.seed)
        self.names = {}
        self.handles = []
        self.serial = 0
        self.step = 0
        self.log = collections.deque(maxlen=args.log_tail)
        self.full_log = open(args.log, "w") if args.log else None
        self.counts = collections.Counter()
        self.pool = [f"f{i:02d}" for i in range(args.files)]
        self.boundaries = boundaries(args.block_size, args.max_size)
        self.ops = list(WEIGHTS)
        self.weights = [WEIGHTS[op] for op in self.ops]

    # ------------------------------------------------------------ helpers

    def path(self, name):
        """The path of one of the pool's names."""
        return os.path.join(self.dir, name)

    def note(self, text):
        """Log an operation before it runs, so that a failure shows it."""
        line = f"{self.step} {text}"
        self.log.append(line)
        if self.full_log:
            self.full_log.write(line + "\n")

    def fail(self, what):
        """Stop the run: the report follows (main)."""
        raise Mismatch(what)

    def expect(self, cond, what):
        """Fail with what unless cond holds."""
        if not cond:
            self.fail(what)

    def compare(self, got, want, where):
        """got (bytes read) must be want (the model's bytes there)."""
        if got != want:
            i = first_difference(got, want)
            self.fail(
                f"{where}: {len(got)} bytes read, {len(want)} expected; first difference at +{i}: "
                f"read {bytes(got[i:i + 16]).hex() or 'nothing'}, model {bytes(want[i:i + 16]).hex() or 'nothing'}"
            )

    def check_range(self, handle, off, length, what):
        """Read [off, off+length) through handle and compare with the model."""
        data = handle.inode.data
        got = os.pread(handle.fd, length, off)
        self.compare(got, bytes(data[off:off + length]), f"{what}: {handle.inode.label()} pread({off}, {length})")

    def check_size(self, handle, what):
        """The size fstat gives is the model's."""
        size = os.fstat(handle.fd).st_size
        want = len(handle.inode.data)
        self.expect(size == want, f"{what}: {handle.inode.label()} has size {size}, model {want}")

    def check_links(self, inode, what):
        """The link count on disk, through a name or an open descriptor."""
        if inode.names:
            st = os.stat(self.path(min(inode.names)))
        else:
            st = os.fstat(next(h.fd for h in self.handles if h.inode is inode))
        self.expect(st.st_ino == inode.ino, f"{what}: {inode.label()} has inode {st.st_ino}, model {inode.ino}")
        want = len(inode.names)
        self.expect(st.st_nlink == want, f"{what}: {inode.label()} has {st.st_nlink} links, model {want}")

    def check_gone(self, name, what):
        """The name no longer exists."""
        try:
            os.lstat(self.path(name))
        except FileNotFoundError:
            return
        self.fail(f"{what}: {name} still exists")

    def randbytes(self, n):
        """n bytes to write, from the seed."""
        return self.rng.randbytes(n)

    def pick_length(self):
        """How many bytes a write or read moves (SIZE_CLASSES)."""
        r = self.rng.randrange(100)
        for weight, lo, hi in SIZE_CLASSES:
            if r < weight:
                return self.rng.randint(lo, hi)
            r -= weight
        raise AssertionError("size classes do not add up to 100")

    def pick_offset(self, size, length):
        """Where a write goes: in the file, at its end, past it (a hole),
        across an indirect start, anywhere."""
        limit = self.args.max_size - length
        r = self.rng.randrange(100)
        if r < 40:
            off = self.rng.randint(0, size)
        elif r < 55:
            off = size
        elif r < 80:
            off = size + self.rng.randint(1, 512 * KIB)
        elif r < 90 and self.boundaries:
            off = self.rng.choice(self.boundaries) - self.rng.randint(0, min(length, 8 * KIB))
        else:
            off = self.rng.randint(0, limit)
        return max(0, min(off, limit))

    def pick_handle(self):
        """An open descriptor to work through: mostly one already open,
        sometimes a new one opened on a name."""
        if self.handles and (not self.names or self.rng.random() < 0.8):
            return self.rng.choice(self.handles)
        if not self.names:
            return None
        return self.open_name(self.rng.choice(sorted(self.names)))

    def count_io(self, handle, length):
        """Bytes moved, and operations on files with no name left."""
        self.counts["bytes"] += length
        if not handle.inode.names:
            self.counts["unlinked"] += 1

    def open_name(self, name):
        """Open name O_RDWR (closing the oldest descriptor if --max-open
        are open) and check that it is the model's file."""
        inode = self.names[name]
        if len(self.handles) >= self.args.max_open:
            self.close_handle(self.handles[0])
        self.note(f"open {name} -> {inode.label()}")
        handle = Handle(os.open(self.path(name), os.O_RDWR), inode)
        self.handles.append(handle)
        st = os.fstat(handle.fd)
        self.expect(st.st_ino == inode.ino, f"open {name}: inode {st.st_ino}, model {inode.ino}")
        self.check_size(handle, f"open {name}")
        return handle

    def close_handle(self, handle):
        """Close one descriptor; a file with no name left is freed now."""
        self.note(f"close fd of {handle.inode.label()}")
        os.close(handle.fd)
        self.handles.remove(handle)

    def free_names(self):
        """The pool's names that no file has."""
        return [n for n in self.pool if n not in self.names]

    # --------------------------------------------------------- operations

    def op_create(self):
        """A new file under a free name, kept open."""
        free = self.free_names()
        if not free or len(self.names) >= self.args.files - 1:
            return False
        name = self.rng.choice(free)
        self.serial += 1
        self.note(f"create {name} (#{self.serial})")
        fd = os.open(self.path(name), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        st = os.fstat(fd)
        inode = Inode(self.serial, st.st_ino)
        inode.names.add(name)
        self.names[name] = inode
        if len(self.handles) >= self.args.max_open:
            self.close_handle(self.handles[0])
        self.handles.append(Handle(fd, inode))
        self.expect(st.st_size == 0 and st.st_nlink == 1, f"create {name}: size {st.st_size}, links {st.st_nlink}")
        return True

    def op_write(self):
        """pwrite random bytes at a drawn offset (pick_offset)."""
        handle = self.pick_handle()
        if handle is None:
            return False
        data = handle.inode.data
        length = self.pick_length()
        off = self.pick_offset(len(data), length)
        buf = self.randbytes(length)
        self.note(f"write {handle.inode.label()} off {off} len {length} (size {len(data)})")
        self.count_io(handle, length)
        done = os.pwrite(handle.fd, buf, off)
        self.expect(done == length, f"write: {done} of {length} bytes written")
        if off > len(data):
            data.extend(bytes(off - len(data)))
        data[off:off + length] = buf
        self.check_range(handle, off, length, "write")
        self.check_size(handle, "write")
        return True

    def op_read(self):
        """pread a drawn range, up to a little past the end."""
        handle = self.pick_handle()
        if handle is None:
            return False
        size = len(handle.inode.data)
        length = self.pick_length()
        off = self.rng.randint(0, size + 4 * KIB)
        self.note(f"read {handle.inode.label()} off {off} len {length} (size {size})")
        self.count_io(handle, length)
        self.check_range(handle, off, length, "read")
        return True

    def op_truncate(self):
        """ftruncate down, up, or anywhere up to --max-size."""
        handle = self.pick_handle()
        if handle is None:
            return False
        data = handle.inode.data
        old = len(data)
        r = self.rng.randrange(3)
        if r == 0 or old == self.args.max_size:
            new = self.rng.randint(0, old)
        elif r == 1:
            new = self.rng.randint(old, min(self.args.max_size, old + 512 * KIB))
        else:
            new = self.rng.randint(0, self.args.max_size)
        self.note(f"truncate {handle.inode.label()} {old} -> {new}")
        os.ftruncate(handle.fd, new)
        if new < old:
            del data[new:]
        else:
            data.extend(bytes(new - old))
        self.check_size(handle, "truncate")
        # Around the old and the new end: the tail of a block cut and then
        # extended must read as zeroes.
        edge = min(old, new)
        self.check_range(handle, max(0, edge - 8 * KIB), 16 * KIB, "truncate: across the cut")
        if new > old:
            self.check_range(handle, max(0, new - 4 * KIB), 8 * KIB, "truncate: at the new end")
        return True

    def mapped_range(self, size):
        """A range [off, off+length) inside a file of this size to map."""
        off = self.rng.randrange(size)
        length = self.rng.randint(1, min(size - off, self.rng.choice((512, 4 * KIB, 64 * KIB))))
        return off, length

    def op_mapread(self):
        """Read a drawn range through a shared read-only mapping."""
        handle = self.pick_handle()
        if handle is None or not handle.inode.data:
            return False
        data = handle.inode.data
        off, length = self.mapped_range(len(data))
        start = off - off % PAGE
        self.note(f"mapread {handle.inode.label()} off {off} len {length} (size {len(data)})")
        self.count_io(handle, length)
        with mmap.mmap(handle.fd, off + length - start, mmap.MAP_SHARED, mmap.PROT_READ, offset=start) as m:
            got = m[off - start:off - start + length]
        self.compare(got, bytes(data[off:off + length]), f"mapread: {handle.inode.label()} mapped at {off}, {length} bytes")
        return True

    def op_mapwrite(self):
        """Store into a drawn range through a shared mapping, msync or not."""
        handle = self.pick_handle()
        if handle is None or not handle.inode.data:
            return False
        data = handle.inode.data
        off, length = self.mapped_range(len(data))
        start = off - off % PAGE
        buf = self.randbytes(length)
        sync = self.rng.random() < 0.5
        self.note(f"mapwrite {handle.inode.label()} off {off} len {length} {'msync' if sync else 'no msync'} (size {len(data)})")
        self.count_io(handle, length)
        with mmap.mmap(handle.fd, off + length - start, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=start) as m:
            m[off - start:off - start + length] = buf
            if sync:
                m.flush()
        data[off:off + length] = buf
        self.check_range(handle, off, length, "mapwrite")
        self.check_size(handle, "mapwrite")
        return True

    def op_fsync(self, datasync=False):
        """fsync (or fdatasync) an open descriptor."""
        if not self.handles:
            return False
        handle = self.rng.choice(self.handles)
        self.note(f"{'fdatasync' if datasync else 'fsync'} {handle.inode.label()}")
        (os.fdatasync if datasync else os.fsync)(handle.fd)
        return True

    def op_fdatasync(self):
        """fdatasync an open descriptor."""
        return self.op_fsync(datasync=True)

    def op_rename(self):
        """Rename a name to another of the pool, free or taken."""
        if not self.names:
            return False
        src = self.rng.choice(sorted(self.names))
        dst = self.rng.choice([n for n in self.pool if n != src])
        inode = self.names[src]
        victim = self.names.get(dst)
        self.note(f"rename {src} {inode.label()} -> {dst}" + (f" over {victim.label()}" if victim else ""))
        os.rename(self.path(src), self.path(dst))
        if victim is inode:
            # Two names of one file: rename does nothing (POSIX).
            self.check_links(inode, "rename to another name of the same file")
            return True
        del self.names[src]
        inode.names.discard(src)
        self.names[dst] = inode
        inode.names.add(dst)
        if victim is not None:
            victim.names.discard(dst)
        self.check_gone(src, "rename")
        self.check_links(inode, "rename")
        if victim is not None:
            self.check_dropped(victim, "rename over")
        return True

    def check_dropped(self, inode, what):
        """A file that lost a name: its count, or, if open, that it still reads."""
        handle = next((h for h in self.handles if h.inode is inode), None)
        if inode.names or handle:
            self.check_links(inode, what)
        if handle and inode.data:
            off = self.rng.randrange(len(inode.data))
            self.check_range(handle, off, 4 * KIB, f"{what}: still open")

    def op_link(self):
        """A new name for a file."""
        free = self.free_names()
        if not self.names or not free:
            return False
        src = self.rng.choice(sorted(self.names))
        dst = self.rng.choice(free)
        inode = self.names[src]
        self.note(f"link {src} {inode.label()} -> {dst}")
        os.link(self.path(src), self.path(dst))
        inode.names.add(dst)
        self.names[dst] = inode
        st = os.stat(self.path(dst))
        self.expect(st.st_ino == inode.ino, f"link {dst}: inode {st.st_ino}, model {inode.ino}")
        self.check_links(inode, "link")
        return True

    def op_unlink(self):
        """Remove a name; an open file stays readable."""
        if not self.names:
            return False
        name = self.rng.choice(sorted(self.names))
        inode = self.names.pop(name)
        self.note(f"unlink {name} {inode.label()}")
        inode.names.discard(name)
        os.unlink(self.path(name))
        self.check_gone(name, "unlink")
        self.check_dropped(inode, "unlink")
        return True

    def op_open(self):
        """Open a name (again)."""
        if not self.names:
            return False
        self.open_name(self.rng.choice(sorted(self.names)))
        return True

    def op_close(self):
        """Close a descriptor."""
        if not self.handles:
            return False
        self.close_handle(self.rng.choice(self.handles))
        return True

    # ------------------------------------------------------------- phases

    def drop_caches(self):
        """Write back and drop the page cache, dentries and inodes, so that
        what follows reads from the disk."""
        self.note("sync, drop caches")
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3")

    def check_content(self, fd, inode, what):
        """The whole file through fd: size and every byte."""
        data = inode.data
        size = os.fstat(fd).st_size
        self.expect(size == len(data), f"{what}: {inode.label()} has size {size}, model {len(data)}")
        for off in range(0, max(len(data), 1), CHUNK):
            got = os.pread(fd, CHUNK, off)
            self.compare(got, bytes(data[off:off + CHUNK]), f"{what}: {inode.label()} at {off}")
        self.expect(os.pread(fd, 1, len(data)) == b"", f"{what}: {inode.label()} reads past its size")

    def check_all(self, what):
        """Every name, link count, size and byte, and every open file."""
        self.note(f"check everything ({what})")
        listed = sorted(os.listdir(self.dir))
        self.expect(listed == sorted(self.names), f"{what}: directory lists {listed}, model {sorted(self.names)}")
        inodes = {id(i): i for i in self.names.values()}
        for h in self.handles:
            inodes.setdefault(id(h.inode), h.inode)
        for inode in sorted(inodes.values(), key=lambda i: i.serial):
            self.check_links(inode, what)
            for name in inode.names:
                st = os.stat(self.path(name))
                self.expect(st.st_ino == inode.ino, f"{what}: {name} is inode {st.st_ino}, model {inode.ino}")
            if inode.names:
                fd = os.open(self.path(min(inode.names)), os.O_RDONLY)
                try:
                    self.check_content(fd, inode, what)
                finally:
                    os.close(fd)
            else:
                handle = next(h for h in self.handles if h.inode is inode)
                self.check_content(handle.fd, inode, what)

    def close_all(self):
        """Close every descriptor (the unlinked files go with them)."""
        while self.handles:
            self.close_handle(self.handles[-1])

    def remount(self):
        """Close everything, run --remount-cmd, check all against the fresh mount."""
        import subprocess  # only here: its imports cost seconds under TCG

        self.close_all()
        self.note(f"remount: {self.args.remount_cmd}")
        done = subprocess.run(self.args.remount_cmd, shell=True, cwd="/")
        self.expect(done.returncode == 0, f"remount command exited {done.returncode}")
        self.check_all("after remount")

    def one_step(self):
        """Draw operations until one applies to the model as it is, do it."""
        while True:
            op = self.rng.choices(self.ops, self.weights)[0]
            if not self.names and not self.handles:
                op = "create"
            if getattr(self, "op_" + op)():
                self.counts[op] += 1
                return

    def run(self):
        """The whole run: steps, periodic drops, checks and remounts, the state."""
        args = self.args
        os.makedirs(self.dir, exist_ok=True)
        if os.listdir(self.dir):
            sys.exit(f"fsx: {self.dir} is not empty")
        for self.step in range(1, args.ops + 1):
            self.one_step()
            if args.drop_every and self.step % args.drop_every == 0:
                self.drop_caches()
            if args.remount_every and args.remount_cmd and self.step % args.remount_every == 0:
                self.remount()
            elif args.check_every and self.step % args.check_every == 0:
                self.check_all(f"every {args.check_every} steps")
        self.check_all("at the end")
        if args.remount_cmd:
            self.remount()
        self.close_all()
        if args.state:
            self.write_state(args.state)

    def write_state(self, state):
        """What any later mount must show: each name's inode number, link
        count, size and sha256, from the model."""
        files = {}
        for name, inode in sorted(self.names.items()):
            files[name] = [inode.ino, len(inode.names), len(inode.data), hashlib.sha256(inode.data).hexdigest()]
        with open(state, "w") as f:
            json.dump({"dir": self.dir, "seed": self.args.seed, "ops": self.args.ops, "files": files}, f, indent=1)

    def replay_command(self):
        """The command that replays this run up to the current step."""
        import shlex

        a = self.args
        cmd = ["python3", os.path.abspath(sys.argv[0]), "--seed", str(a.seed), "--ops", str(self.step),
               "--files", str(a.files), "--max-size", str(a.max_size), "--block-size", str(a.block_size),
               "--max-open", str(a.max_open), "--check-every", str(a.check_every),
               "--drop-every", str(a.drop_every)]
        if a.remount_cmd:
            cmd += ["--remount-every", str(a.remount_every), "--remount-cmd", a.remount_cmd]
        return shlex.join(cmd + ["EMPTY-DIR"])

    def report(self, what):
        """The failure report: seed, step, last operations, replay command."""
        out = sys.stderr
        print(f"fsx: FAILED at step {self.step} of {self.args.ops}, seed {self.args.seed}, in {self.dir}: {what}", file=out)
        print(f"fsx: the last {len(self.log)} operations (step, operation):", file=out)
        for line in self.log:
            print(f"fsx:   {line}", file=out)
        print(f"fsx: replay: {self.replay_command()}", file=out)


def file_digest(path):
    """sha256 of a file's content."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def verify(top, state):
    """Compare the directory top with the state file a run wrote."""
    if not os.path.exists(state):
        print(f"fsx: verify {top}: no {state}: its run did not finish", file=sys.stderr)
        return False
    with open(state) as f:
        want = json.load(f)["files"]
    errors = []
    listed = sorted(os.listdir(top))
    if listed != sorted(want):
        errors.append(f"{top} lists {listed}, the model {sorted(want)}")
    for name in sorted(set(listed) & set(want)):
        st = os.stat(os.path.join(top, name))
        got = [st.st_ino, st.st_nlink, st.st_size, file_digest(os.path.join(top, name))]
        if got != want[name]:
            errors.append(f"{name}: inode, links, size, sha256 {got}, the model {want[name]}")
    for e in errors:
        print(f"fsx: verify {top}: {e}", file=sys.stderr)
    n = sum(v[2] for v in want.values())
    print(f"fsx: verify {top}: {len(want)} names, {n} bytes: {'MISMATCH' if errors else 'as the model'}")
    return not errors


def meminfo_kib(field):
    """A field of /proc/meminfo, in KiB."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/meminfo")


def low_watermark_kib():
    """The sum of the zones' low watermarks: under them, kswapd wakes and
    reclaims until free memory is back above the high ones."""
    pages = 0
    with open("/proc/zoneinfo") as f:
        for line in f:
            words = line.split()
            if len(words) == 2 and words[0] == "low":
                pages += int(words[1])
    return pages * PAGE // KIB


def balloon(slack_mib):
    """Hold anonymous memory (there is no swap: it cannot be reclaimed) in
    4 MiB pieces, taking the free memory down to slack_mib above the low
    watermark, and again whenever reclaim has freed more: so every few MiB
    that anything allocates (page cache, the image in tmpfs) wake kswapd,
    which reclaims cached pages, clean or to be written back. Gives 16 MiB
    back when MemAvailable falls under 8 MiB, before the OOM killer would
    have to act (it would pick the balloon first). Prints "ready" once
    there (or after a minute), and, when sent SIGTERM, what it held (MiB,
    least and most since ready)."""
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("1000")
    piece = 4 * MIB
    # MAP_POPULATE: the kernel faults the pieces in (huge pages, zeroed in
    # the kernel), far faster under TCG than storing into them.
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE
    held = []
    ceiling = low_watermark_kib() + slack_mib * KIB
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    ready, least, most = False, None, 0
    deadline = time.monotonic() + 60
    while not stop:
        free = meminfo_kib("MemFree")
        if free > ceiling + piece // KIB:
            for _ in range((free - ceiling) // (piece // KIB)):
                held.append(mmap.mmap(-1, piece, flags=flags))
        elif meminfo_kib("MemAvailable") < 8 * KIB and held:
            for _ in range(min(len(held), 4)):
                held.pop().close()
        if not ready and (free <= ceiling + 2 * piece // KIB or time.monotonic() > deadline):
            ready = True
            print(f"ready: holding {len(held) * piece // MIB} MiB, MemFree {meminfo_kib('MemFree') // KIB} MiB, "
                  f"low watermark {ceiling // KIB - slack_mib} MiB", flush=True)
        if ready:
            mib = len(held) * piece // MIB
            most = max(most, mib)
            least = mib if least is None else min(least, mib)
        time.sleep(0.2)
    print(f"balloon held {least or 0}..{most} MiB (MemFree {meminfo_kib('MemFree') // KIB} MiB, "
          f"MemAvailable {meminfo_kib('MemAvailable') // KIB} MiB at the end)", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", nargs="*", help="the directory to run in; with --verify: STATE DIR pairs")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--ops", type=int, default=10000)
    p.add_argument("--files", type=int, default=8, help="names in the pool (at most this many - 1 files)")
    p.add_argument("--max-size", type=int, default=2 * MIB)
    p.add_argument("--block-size", type=int, default=1024, help="for the indirect-start offsets")
    p.add_argument("--max-open", type=int, default=6)
    p.add_argument("--check-every", type=int, default=1000)
    p.add_argument("--drop-every", type=int, default=2000, help="0: never drop caches")
    p.add_argument("--remount-every", type=int, default=0)
    p.add_argument("--remount-cmd")
    p.add_argument("--state", help="write the final names, inodes, links, sizes, sha256 here")
    p.add_argument("--log", help="log every operation to this file")
    p.add_argument("--log-tail", type=int, default=50)
    p.add_argument("--verify", action="store_true", help="compare each DIR with its STATE")
    p.add_argument("--balloon", type=int, metavar="MIB")
    args = p.parse_args()
    if args.balloon is not None:
        balloon(args.balloon)
        return 0
    if args.verify:
        pairs = args.dir
        if not pairs or len(pairs) % 2:
            p.error("--verify wants STATE DIR pairs")
        # Every pair, even after a mismatch: all that differs is shown.
        results = [verify(pairs[i + 1], pairs[i]) for i in range(0, len(pairs), 2)]
        return 0 if all(results) else 1
    if len(args.dir) != 1:
        p.error("one directory to run in")
    args.dir = args.dir[0]
    checker = Checker(args)
    start = time.monotonic()
    try:
        checker.run()
    except Mismatch as e:
        checker.report(str(e))
        return 1
    except OSError as e:
        checker.report(f"{errno.errorcode.get(e.errno, e.errno)}: {e}")
        return 1
    mix = " ".join(f"{op} {checker.counts[op]}" for op in WEIGHTS)
    print(f"fsx: seed {args.seed}: {args.ops} operations as the model in {time.monotonic() - start:.1f}s "
          f"({mix}; {checker.counts['bytes'] // MIB} MiB moved, {checker.counts['unlinked']} data operations on unlinked open files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
