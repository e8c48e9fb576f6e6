#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The namespace operations of tests/11-namespace.sh, each done with the
shell tool that does it (touch, mknod, mkdir, ln, mv, chmod, chown, touch
-d, rm, rmdir) or with a system call where no tool gives the errno, and each
checked by what it left (lstat, readlink, listings, contents, statfs).

A section prints one line per check, "ok<TAB>WHAT" or "not ok<TAB>WHAT",
and "# ..." comments; it always prints `count SECTION` lines, whatever
fails, unless it dies (the shell fills in the missing ones). The shell
tools are used with --tools (tests/11-namespace.sh: at one block size);
else their system calls, made here. The outcome of
each refusal (an errno name, or OK) and of a few limits is written to
--record FILE (JSON); with --peer FILE (the C ext2's record from the same
boot) each is compared with the peer's; without one, with the C ext2's
documented behaviour, which is what the C ext2's own run is checked against.

  nsops.py count SECTION[,SECTION]...   the number of checks each SECTION (or
                                        group, summed) prints
  nsops.py run SECTION DIR [SECTION DIR]... --bs BS [--tools] [--peer F]
          [--record F] [--tree-of DIR --tree-out FILE]
                                        run each SECTION in its DIR (made if
                                        missing); --tools: with the shell
                                        tools; then the tree of DIR to FILE
  nsops.py tree [--no-dir-sizes] DIR OUT [DIR OUT]...
                                        write one sorted line per entry under
                                        DIR (lost+found left out) to OUT:
                                        path, type, mode, uid:gid, links,
                                        size (not of directories with
                                        --no-dir-sizes), then sha256, target
                                        or rdev, and mtime under ns/times/
  nsops.py cold-trees DEV DIR OUT CONFIG...
                                        mount DEV read-only at DIR as each
                                        CONFIG (ext2, rext2:ENGINE), write
                                        the tree to OUT.CONFIG
  nsops.py gentree DIR                  the bulk tree: 5,120 entries

Sections: ops (every operation and refusal), enospc-inodes (DIR on a file
system with few inodes), enospc-blocks (DIR on a small one with -m 0).
(EMLINK is 11-namespace.sh's own: from link counts debugfs set.)
"""
import ctypes
import errno
import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
import time

LIBC = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
# A time past the C ext2's s_time_max (S32_MAX): the VFS clamps it.
FAR_TIME = 2200000000
SET_TIME = 981173106  # 2001-02-03 04:05:06 UTC


class Fail(Exception):
    """A check's failure; its text says what was found."""


def data(n, seed):
    """n deterministic bytes for seed."""
    out = bytearray()
    block = hashlib.sha256(seed.encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block * 32
    return bytes(out[:n])


def errname(fn, *args):
    """The errno name fn(*args) fails with, or OK."""
    try:
        fn(*args)
        return "OK"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def renameat2(old, new, flags):
    """renameat2(2), which os.rename cannot do (it has no flags)."""
    ret = LIBC.renameat2(AT_FDCWD, os.fsencode(old), AT_FDCWD, os.fsencode(new),
                         ctypes.c_uint(flags))
    if ret:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), old)


# With --tools, the operations are made with the shell tools; without, with
# the system calls those tools make (a process start costs most of a second
# under TCG, and the ops section starts some 40).
TOOLS = False


def tool_in_python(cmd):
    """What the tool invocations of this file do, as system calls."""
    name, args = cmd[0], list(cmd[1:])
    opts = {}
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        opts[flag] = args.pop(0) if flag in ("-m", "-d", "-s") and name != "ln" else True
    if name == "touch" and "-d" in opts:
        spec = opts["-d"]
        when = int(spec[1:]) if spec.startswith("@") else {"2001-02-03 04:05:06 UTC": SET_TIME}[spec]
        os.utime(args[0], (when, when))
    elif name == "touch":
        os.close(os.open(args[0], os.O_WRONLY | os.O_CREAT, 0o666))
    elif name == "mknod":
        bits = {"p": stat.S_IFIFO, "c": stat.S_IFCHR, "b": stat.S_IFBLK}[args[1]]
        dev = os.makedev(int(args[2]), int(args[3])) if len(args) > 2 else 0
        os.mknod(args[0], bits | 0o666, dev)
        if "-m" in opts:
            os.chmod(args[0], int(opts["-m"], 8))
    elif name == "mkdir":
        for path in args:
            (os.makedirs if "-p" in opts else os.mkdir)(path, 0o777)
            if "-m" in opts:
                os.chmod(path, int(opts["-m"], 8))
    elif name == "rmdir":
        os.rmdir(args[0])
    elif name == "rm":
        os.unlink(args[0])
    elif name == "ln":
        (os.symlink if "-s" in opts else os.link)(args[0], args[1])
    elif name == "mv":
        dst = args[1]
        if "-T" not in opts and (dst.endswith("/") or os.path.isdir(dst)):
            dst = os.path.join(dst, os.path.basename(args[0]))
        os.rename(args[0], dst)
    elif name == "chown":
        uid, gid = args[0].split(":")
        os.chown(args[1], int(uid), int(gid))
    elif name == "chmod":
        os.chmod(args[1], int(args[0], 8))
    elif name == "truncate":
        os.truncate(args[0], int(opts["-s"]))
    else:
        raise Fail(f"no system call for {cmd}")


def sh(*cmd):
    """Run a shell tool (or its system calls: TOOLS); fail the check with
    its message if it fails."""
    if not TOOLS:
        try:
            tool_in_python(cmd)
        except OSError as e:
            raise Fail(f"{cmd[0]} {' '.join(cmd[1:])[-80:]}: {e}") from e
        return
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
    if r.returncode:
        raise Fail(f"{cmd[0]} {' '.join(cmd[1:])[-80:]}: exit {r.returncode}: "
                   f"{r.stderr.decode(errors='replace').strip()[-200:]}")


def want(what, got, expected):
    """Fail unless got == expected."""
    if got != expected:
        raise Fail(f"{what}: got {got!r}, want {expected!r}")


def write_file(path, content, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def kind(mode):
    return {stat.S_IFREG: "f", stat.S_IFDIR: "d", stat.S_IFLNK: "l", stat.S_IFIFO: "p",
            stat.S_IFSOCK: "s", stat.S_IFCHR: "c", stat.S_IFBLK: "b"}.get(stat.S_IFMT(mode), "?")


def fresh(path):
    """A new empty directory for one check's files."""
    os.mkdir(path)
    return path


class Run:
    """One section's run: where, the block size, the peer's outcomes."""

    def __init__(self, top, bs, peer, record):
        self.top, self.bs = top, bs
        self.peer = peer
        self.rec = {}
        self.record = record

    def p(self, *parts):
        return os.path.join(self.top, *parts)

    def outcome(self, key, got, documented):
        """Record got (an errno name, OK, or a number) as key's outcome and
        compare it with the peer's, or with the documented one; return the
        text the check's line ends with."""
        self.rec[key] = got
        if self.peer is not None:
            if key not in self.peer:
                raise Fail(f"got {got}; the C ext2's run has no outcome for {key}")
            expected, whose = self.peer[key], "the C ext2 gave"
        else:
            expected, whose = documented, "the C ext2 is documented to give"
        if got != expected:
            raise Fail(f"got {got}; {whose} {expected}")
        return f"got {got}; {whose} {expected}"

    def refusal(self, key, documented, fn, *args):
        return self.outcome(key, errname(fn, *args), documented)


SECTIONS = {}


def check(section, what):
    """Register a check of SECTION whose line says WHAT; the function
    returns a detail for the line, or raises Fail."""
    def register(fn):
        SECTIONS.setdefault(section, []).append((what, fn))
        return fn
    return register


# ------------------------------------------------------------ operations
@check("ops", "create with touch and with open(O_CREAT|O_EXCL, 0640) + write: regular files, modes 0644 (umask 022) and 0640, sizes, one link, contents")
def op_create(r):
    d = fresh(r.p("create"))
    sh("touch", f"{d}/empty")
    write_file(f"{d}/data", data(10000, "create"), 0o640)
    e, f = os.lstat(f"{d}/empty"), os.lstat(f"{d}/data")
    want("empty", (kind(e.st_mode), oct(e.st_mode & 0o7777), e.st_size, e.st_nlink), ("f", "0o644", 0, 1))
    want("data", (kind(f.st_mode), oct(f.st_mode & 0o7777), f.st_size, f.st_nlink), ("f", "0o640", 10000, 1))
    want("data's contents", read_file(f"{d}/data") == data(10000, "create"), True)
    return "inodes %d and %d" % (e.st_ino, f.st_ino)


@check("ops", "mknod: a fifo (mknod p), a socket (bind of an AF_UNIX socket), char devices 1:3 and 4095:1048575, block devices 7:0 and 259:70000 (old and new dev encodings); types, modes, rdev")
def op_mknod(r):
    d = fresh(r.p("nodes"))
    sh("mknod", f"{d}/fifo", "p")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(f"{d}/sock")
    finally:
        s.close()
    sh("mknod", "-m", "0620", f"{d}/null", "c", "1", "3")
    sh("mknod", "-m", "0600", f"{d}/bigchr", "c", "4095", "1048575")
    sh("mknod", f"{d}/loop", "b", "7", "0")
    sh("mknod", "-m", "0640", f"{d}/bigblk", "b", "259", "70000")
    got = []
    for name in ("fifo", "sock", "null", "bigchr", "loop", "bigblk"):
        st = os.lstat(f"{d}/{name}")
        dev = f" {os.major(st.st_rdev)}:{os.minor(st.st_rdev)}" if kind(st.st_mode) in "cb" else ""
        got.append(f"{name} {kind(st.st_mode)} {st.st_mode & 0o7777:o}{dev}")
    want("nodes", got, ["fifo p 644", "sock s 755", "null c 620 1:3", "bigchr c 600 4095:1048575",
                        "loop b 644 7:0", "bigblk b 640 259:70000"])
    return ", ".join(got)


@check("ops", "mkdir: a directory with 2 links, empty, mode 0755, its '..' the parent, the parent's link count up by one per subdirectory")
def op_mkdir(r):
    d = fresh(r.p("mkdir"))
    sh("mkdir", f"{d}/a")
    sh("mkdir", "-m", "0700", f"{d}/b")
    a, b, parent = os.lstat(f"{d}/a"), os.lstat(f"{d}/b"), os.lstat(d)
    want("a", (kind(a.st_mode), a.st_nlink, oct(a.st_mode & 0o7777)), ("d", 2, "0o755"))
    want("b's mode", oct(b.st_mode & 0o7777), "0o700")
    want("parent's links", parent.st_nlink, 4)
    want("a's '..'", os.stat(f"{d}/a/..").st_ino, parent.st_ino)
    want("a's entries", os.listdir(f"{d}/a"), [])
    return f"parent has {parent.st_nlink} links"


@check("ops", "rmdir: the directory is gone (lstat ENOENT) and the parent's link count drops back")
def op_rmdir(r):
    d = fresh(r.p("rmdir"))
    sh("mkdir", f"{d}/a", f"{d}/b")
    sh("rmdir", f"{d}/a")
    want("lstat of the removed directory", errname(os.lstat, f"{d}/a"), "ENOENT")
    want("parent's links", os.lstat(d).st_nlink, 3)
    want("entries left", os.listdir(d), ["b"])
    return "parent back to 3 links"


@check("ops", "link (ln): three names of one inode with 3 links and the same contents; unlink (rm) of one: 2 links, the others read the same")
def op_link(r):
    d = fresh(r.p("link"))
    write_file(f"{d}/a", data(5000, "link"))
    sh("ln", f"{d}/a", f"{d}/b")
    sh("mkdir", f"{d}/sub")
    sh("ln", f"{d}/a", f"{d}/sub/c")
    inos = {os.lstat(f"{d}/{n}").st_ino for n in ("a", "b", "sub/c")}
    want("inodes of a, b, sub/c", len(inos), 1)
    want("links", os.lstat(f"{d}/b").st_nlink, 3)
    sh("rm", f"{d}/a")
    want("lstat of the removed name", errname(os.lstat, f"{d}/a"), "ENOENT")
    want("links after rm", (os.lstat(f"{d}/b").st_nlink, os.lstat(f"{d}/sub/c").st_nlink), (2, 2))
    want("contents", read_file(f"{d}/sub/c") == data(5000, "link"), True)
    return f"inode {inos.pop()}"


@check("ops", "unlink (rm) of a last link frees the file's blocks and inode at once (statfs free blocks and inodes back to the figures before it was written)")
def op_unlink(r):
    d = fresh(r.p("unlink"))
    before = os.statvfs(d)
    write_file(f"{d}/f", data(300000, "unlink"))
    os.sync()
    full = os.statvfs(d)
    sh("rm", f"{d}/f")
    after = os.statvfs(d)
    want("free blocks while the file was there, fewer", full.f_bfree < before.f_bfree, True)
    want("free blocks, inodes after rm", (after.f_bfree, after.f_ffree), (before.f_bfree, before.f_ffree))
    want("entries left", os.listdir(d), [])
    return f"{before.f_bfree - full.f_bfree} blocks freed"


def symlink_case(r, d, name, length):
    target = ("t/" * length)[:length - 1] + "x"
    sh("ln", "-s", target, f"{d}/{name}")
    st = os.lstat(f"{d}/{name}")
    want(f"{name}'s target", os.readlink(f"{d}/{name}") == target, True)
    want(f"{name}'s type and size", (kind(st.st_mode), st.st_size), ("l", length))
    return st.st_blocks


@check("ops", "symlink (ln -s): fast ones of 30 and 59 bytes keep their target in the inode (no block); slow ones of 60 and BS-1 bytes take one block; targets and sizes read back")
def op_symlink(r):
    d = fresh(r.p("symlink"))
    blocks = [symlink_case(r, d, name, n)
              for name, n in (("fast30", 30), ("fast59", 59), ("slow60", 60), ("slowmax", r.bs - 1))]
    want("512-byte sectors of fast30, fast59, slow60, slowmax", blocks, [0, 0, r.bs // 512, r.bs // 512])
    return f"sectors {blocks}"


@check("ops", "symlink of a 4000-byte target: OK at 4 KiB blocks, ENAMETOOLONG at 1 and 2 KiB (the C ext2 takes a target of up to BS-1 bytes)")
def op_symlink_4000(r):
    d = fresh(r.p("symlink4000"))
    target = ("long/" * 800)[:4000]
    res = r.refusal("symlink_4000", "OK" if r.bs == 4096 else "ENAMETOOLONG", os.symlink, target, f"{d}/l")
    if res.startswith("OK"):
        want("target", os.readlink(f"{d}/l") == target, True)
    return res


@check("ops", "rename (mv) within a directory: the new name has the old inode and contents, the old name is gone")
def op_rename_same_dir(r):
    d = fresh(r.p("mv"))
    write_file(f"{d}/a", data(3000, "mv"))
    ino = os.lstat(f"{d}/a").st_ino
    sh("mv", f"{d}/a", f"{d}/b")
    want("old name", errname(os.lstat, f"{d}/a"), "ENOENT")
    want("new name's inode", os.lstat(f"{d}/b").st_ino, ino)
    want("contents", read_file(f"{d}/b") == data(3000, "mv"), True)
    want("entries", os.listdir(d), ["b"])
    return f"inode {ino}"


@check("ops", "rename (mv) of a directory across directories: its '..' is the new parent, the old parent loses a link and the new one gains one, its own links and contents kept")
def op_rename_dir_across(r):
    d = fresh(r.p("mvdir"))
    sh("mkdir", "-p", f"{d}/x/sub/inner", f"{d}/y")
    write_file(f"{d}/x/sub/file", data(2000, "mvdir"))
    ino = os.lstat(f"{d}/x/sub").st_ino
    sh("mv", f"{d}/x/sub", f"{d}/y/")
    want("links of x, y", (os.lstat(f"{d}/x").st_nlink, os.lstat(f"{d}/y").st_nlink), (2, 3))
    sub = os.lstat(f"{d}/y/sub")
    want("moved directory's inode and links", (sub.st_ino, sub.st_nlink), (ino, 3))
    want("moved directory's '..'", os.stat(f"{d}/y/sub/..").st_ino, os.lstat(f"{d}/y").st_ino)
    want("its contents", sorted(os.listdir(f"{d}/y/sub")), ["file", "inner"])
    want("its file", read_file(f"{d}/y/sub/file") == data(2000, "mvdir"), True)
    want("old name", errname(os.lstat, f"{d}/x/sub"), "ENOENT")
    return "x 2 links, y 3 (the on-disk '..' is read by debugfs after unmount)"


@check("ops", "rename (mv -T) over an existing file: the target name takes the source's inode, the replaced inode keeps its other link with one link less")
def op_rename_over_file(r):
    d = fresh(r.p("mvover"))
    write_file(f"{d}/src", data(4100, "over-src"))
    write_file(f"{d}/dst", data(7000, "over-dst"))
    sh("ln", f"{d}/dst", f"{d}/dst2")
    ino = os.lstat(f"{d}/src").st_ino
    sh("mv", "-T", f"{d}/src", f"{d}/dst")
    want("target's inode", os.lstat(f"{d}/dst").st_ino, ino)
    want("target's contents", read_file(f"{d}/dst") == data(4100, "over-src"), True)
    want("replaced inode's other name: links", os.lstat(f"{d}/dst2").st_nlink, 1)
    want("replaced inode's contents", read_file(f"{d}/dst2") == data(7000, "over-dst"), True)
    want("entries", sorted(os.listdir(d)), ["dst", "dst2"])
    return f"inode {ino}"


@check("ops", "rename (mv -T) of a directory over an empty directory: the target name takes the source's inode, the parent has one subdirectory link less")
def op_rename_over_dir(r):
    d = fresh(r.p("mvoverdir"))
    sh("mkdir", "-p", f"{d}/a/keep", f"{d}/b")
    write_file(f"{d}/a/f", data(100, "overdir"))
    ino = os.lstat(f"{d}/a").st_ino
    want("parent's links before", os.lstat(d).st_nlink, 4)
    sh("mv", "-T", f"{d}/a", f"{d}/b")
    want("target's inode", os.lstat(f"{d}/b").st_ino, ino)
    want("parent's links after", os.lstat(d).st_nlink, 3)
    want("target's entries", sorted(os.listdir(f"{d}/b")), ["f", "keep"])
    want("its '..'", os.stat(f"{d}/b/..").st_ino, os.lstat(d).st_ino)
    return f"inode {ino}"


@check("ops", "renameat2(RENAME_NOREPLACE) to a free name moves the file")
def op_noreplace(r):
    d = fresh(r.p("noreplace"))
    write_file(f"{d}/a", data(10, "noreplace"))
    ino = os.lstat(f"{d}/a").st_ino
    renameat2(f"{d}/a", f"{d}/b", RENAME_NOREPLACE)
    want("entries", os.listdir(d), ["b"])
    want("b's inode", os.lstat(f"{d}/b").st_ino, ino)
    return "OK"


@check("ops", "setattr: chown 1234:5678 and 70000:70001 (32-bit ids), chmod 4751 and 1777, touch -d 2001-02-03 04:05:06 UTC (mtime and atime), truncate -s up and down")
def op_setattr(r):
    d = fresh(r.p("attr"))
    # The files whose times are set, apart: the tree shows their mtimes.
    times = fresh(r.p("times"))
    write_file(f"{times}/f", data(5000, "attr"))
    sh("mkdir", f"{d}/dir")
    write_file(f"{d}/big", b"")
    write_file(f"{d}/t", data(9000, "attr-t"))
    sh("chown", "1234:5678", f"{times}/f")
    sh("chmod", "4751", f"{times}/f")
    sh("chmod", "1777", f"{d}/dir")
    sh("chown", "70000:70001", f"{d}/big")
    sh("touch", "-d", "2001-02-03 04:05:06 UTC", f"{times}/f")
    sh("truncate", "-s", "3333", f"{d}/t")
    sh("truncate", "-s", "20000", f"{d}/big")
    f = os.lstat(f"{times}/f")
    dr, big, t = (os.lstat(f"{d}/{n}") for n in ("dir", "big", "t"))
    want("f's mode, owner", (oct(f.st_mode & 0o7777), f.st_uid, f.st_gid), ("0o4751", 1234, 5678))
    want("f's mtime, atime", (int(f.st_mtime), int(f.st_atime)), (SET_TIME, SET_TIME))
    want("dir's mode", oct(dr.st_mode & 0o7777), "0o1777")
    want("big's owner, size", (big.st_uid, big.st_gid, big.st_size), (70000, 70001, 20000))
    want("t's size and contents", read_file(f"{d}/t") == data(3333, "attr-t"), True)
    want("big's contents", read_file(f"{d}/big") == bytes(20000), True)
    return "modes, owners, times, sizes as set"


@check("ops", "touch -d of a time past 2038 (@2200000000): the time stored is the one the C ext2 stores (it clamps to its s_time_max)")
def op_far_time(r):
    d = r.p("times")
    write_file(f"{d}/far", b"far")
    sh("touch", "-d", f"@{FAR_TIME}", f"{d}/far")
    return r.outcome("far_mtime", int(os.lstat(f"{d}/far").st_mtime), 2**31 - 1)


def long_name(i, length):
    head = f"e{i:04d}-"
    return head + "n" * (length - len(head))


@check("ops", "a directory grown past one block: 240 entries of 180-240-byte names, then a third removed and 40 added; listing, size (a multiple of BS, more than one block) and every file's contents (its own name's number)")
def op_big_dir(r):
    d = fresh(r.p("bigdir"))
    names = {long_name(i, 180 + i % 61): i for i in range(240)}
    for name, i in names.items():
        write_file(f"{d}/{name}", str(i).encode())
    size = os.lstat(d).st_size
    want("size after 240 entries: a multiple of BS over one block", (size % r.bs, size > r.bs), (0, True))
    want("listing after 240", set(os.listdir(d)) == set(names), True)
    for name, i in list(names.items()):
        if i % 3 == 0:
            os.unlink(f"{d}/{name}")
            del names[name]
    for i in range(240, 280):
        name = long_name(i, 20 + i % 200)
        write_file(f"{d}/{name}", str(i).encode())
        names[name] = i
    listing = os.listdir(d)
    want("listing after removing and adding", (len(listing), set(listing) == set(names)), (len(names), True))
    bad = [n for n, i in names.items() if read_file(f"{d}/{n}") != str(i).encode()]
    want("files whose contents are another's", bad[:3], [])
    return f"{len(names)} entries, {os.lstat(d).st_size // r.bs} blocks"


@check("ops", "names of exactly 255 bytes: a file, a directory, a symlink, a hard link and a rename target, listed and looked up")
def op_name_255(r):
    d = fresh(r.p("name255"))
    n = {c: c * 255 for c in "fdslr"}
    write_file(f"{d}/{n['f']}", b"255")
    sh("mkdir", f"{d}/{n['d']}")
    sh("ln", "-s", n["f"], f"{d}/{n['s']}")
    sh("ln", f"{d}/{n['f']}", f"{d}/{n['l']}")
    write_file(f"{d}/short", b"renamed")
    sh("mv", f"{d}/short", f"{d}/{n['r']}")
    want("listing", sorted(os.listdir(d)), sorted(n.values()))
    want("kinds", [kind(os.lstat(f"{d}/{n[c]}").st_mode) for c in "fdslr"], ["f", "d", "l", "f", "f"])
    want("through the symlink", read_file(f"{d}/{n['s']}"), b"255")
    want("the renamed file", read_file(f"{d}/{n['r']}"), b"renamed")
    return "5 names of 255 bytes"


@check("ops", "an open file unlinked while written and read: writes and reads go on, its blocks and inode stay taken until close (statfs), then come back exactly")
def op_open_unlinked(r):
    d = fresh(r.p("openunlinked"))
    before = os.statvfs(d)
    fd = os.open(f"{d}/f", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data(200000, "ou1"))
        os.fsync(fd)
        written = os.statvfs(d)
        os.unlink(f"{d}/f")
        unlinked = os.statvfs(d)
        want("entries after unlink", os.listdir(d), [])
        os.pwrite(fd, data(150000, "ou2"), 200000)
        os.fsync(fd)
        grown = os.statvfs(d)
        want("size through the fd", os.fstat(fd).st_size, 350000)
        want("links through the fd", os.fstat(fd).st_nlink, 0)
        want("contents read back", os.pread(fd, 350000, 0) == data(200000, "ou1") + data(150000, "ou2"), True)
    finally:
        os.close(fd)
    after = os.statvfs(d)
    want("free blocks, inodes right after unlink (nothing freed)", (unlinked.f_bfree, unlinked.f_ffree),
         (written.f_bfree, written.f_ffree))
    want("free blocks fell while writing after unlink", grown.f_bfree < unlinked.f_bfree, True)
    want("free blocks, inodes after close (all back)", (after.f_bfree, after.f_ffree),
         (before.f_bfree, before.f_ffree))
    return f"{before.f_bfree - grown.f_bfree} blocks held until close"


# ------------------------------------------------------------- refusals
def refusal_dir(r):
    """The fixtures of the refusals: a file, an empty and a full directory."""
    d = r.p("refuse")
    if not os.path.isdir(d):
        os.mkdir(d)
        write_file(f"{d}/file", data(100, "refuse"))
        os.mkdir(f"{d}/empty")
        os.mkdir(f"{d}/full")
        write_file(f"{d}/full/x", b"x")
        os.makedirs(f"{d}/tree/sub/deeper")
    return d


def creat_excl(path):
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))


def creat(path):
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))


def open_ro(path):
    os.close(os.open(path, os.O_RDONLY))


REFUSALS = [
    # key, what, documented errno, operation, arguments (under refuse/)
    ("eexist_create", "open(O_CREAT|O_EXCL) of an existing name", "EEXIST", creat_excl, ("file",)),
    ("eexist_mkdir", "mkdir over an existing file", "EEXIST", os.mkdir, ("file",)),
    ("eexist_mkdir_dir", "mkdir over an existing directory", "EEXIST", os.mkdir, ("empty",)),
    ("eexist_link", "link onto an existing name", "EEXIST", os.link, ("file", "empty")),
    ("eexist_symlink", "symlink onto an existing name", "EEXIST", os.symlink, ("/x", "file")),
    ("eexist_mknod", "mknod (fifo) onto an existing name", "EEXIST", os.mkfifo, ("file",)),
    ("eexist_noreplace", "renameat2(RENAME_NOREPLACE) onto an existing name", "EEXIST",
     lambda a, b: renameat2(a, b, RENAME_NOREPLACE), ("full/x", "file")),
    ("enoent_open", "open of a missing name", "ENOENT", open_ro, ("missing",)),
    ("enoent_unlink", "unlink of a missing name", "ENOENT", os.unlink, ("missing",)),
    ("enoent_rmdir", "rmdir of a missing name", "ENOENT", os.rmdir, ("missing",)),
    ("enoent_rename", "rename of a missing name", "ENOENT", os.rename, ("missing", "other")),
    ("enoent_link", "link of a missing name", "ENOENT", os.link, ("missing", "other")),
    ("enoent_create", "create in a missing directory", "ENOENT", creat, ("missing/f",)),
    ("enotdir_create", "create under a regular file", "ENOTDIR", creat, ("file/f",)),
    ("enotdir_rmdir", "rmdir of a regular file", "ENOTDIR", os.rmdir, ("file",)),
    ("enotdir_rename", "rename of a directory over a regular file", "ENOTDIR", os.rename, ("empty", "file")),
    ("eisdir_rename", "rename of a regular file over a directory", "EISDIR", os.rename, ("file", "empty")),
    ("eisdir_unlink", "unlink of a directory", "EISDIR", os.unlink, ("empty",)),
    ("enotempty_rmdir", "rmdir of a non-empty directory", "ENOTEMPTY", os.rmdir, ("full",)),
    ("enotempty_rename", "rename of a directory over a non-empty directory", "ENOTEMPTY", os.rename, ("empty", "full")),
    ("enametoolong_create", "create of a 256-byte name", "ENAMETOOLONG", creat, ("N" * 256,)),
    ("enametoolong_mkdir", "mkdir of a 256-byte name", "ENAMETOOLONG", os.mkdir, ("N" * 256,)),
    ("enametoolong_symlink", "symlink named with 256 bytes", "ENAMETOOLONG", os.symlink, ("file", "N" * 256)),
    ("enametoolong_link", "link to a 256-byte name", "ENAMETOOLONG", os.link, ("file", "N" * 256)),
    ("enametoolong_rename", "rename to a 256-byte name", "ENAMETOOLONG", os.rename, ("file", "N" * 256)),
    ("enametoolong_lookup", "lstat of a 256-byte name", "ENAMETOOLONG", os.lstat, ("N" * 256,)),
    ("einval_subdir", "rename of a directory into its own subdirectory", "EINVAL", os.rename, ("tree", "tree/sub/moved")),
    ("einval_self", "rename of a directory to a name inside itself", "EINVAL", os.rename, ("tree", "tree/moved")),
    ("einval_exchange", "renameat2(RENAME_EXCHANGE), which the C ext2 does not take", "EINVAL",
     lambda a, b: renameat2(a, b, RENAME_EXCHANGE), ("full", "empty")),
]


def refusal_check(key, what, documented, fn, args):
    def run(r):
        d = refusal_dir(r)
        return r.refusal(key, documented, fn, *(os.path.join(d, a) for a in args))
    SECTIONS.setdefault("ops", []).append((f"refused: {what} ({key})", run))


for _refusal in REFUSALS:
    refusal_check(*_refusal)


@check("ops", "symlink of a BS-byte target (the C ext2 takes at most BS-1 bytes)")
def op_symlink_too_long(r):
    d = refusal_dir(r)
    return r.refusal("enametoolong_target", "ENAMETOOLONG", os.symlink, "t" * r.bs, f"{d}/toolong")


@check("ops", "the refusals left the fixtures as they were (entries, link counts, contents)")
def op_refusals_changed_nothing(r):
    d = refusal_dir(r)
    want("entries", sorted(os.listdir(d)), ["empty", "file", "full", "tree"])
    want("full/ entries", os.listdir(f"{d}/full"), ["x"])
    want("links of file, empty, full, tree", [os.lstat(f"{d}/{n}").st_nlink for n in ("file", "empty", "full", "tree")],
         [1, 2, 2, 3])
    want("file's contents", read_file(f"{d}/file") == data(100, "refuse"), True)
    want("tree/sub entries", os.listdir(f"{d}/tree/sub"), ["deeper"])
    return "unchanged"


# ---------------------------------------------------------------- ENOSPC
def fill_names(d, prefix, limit, make):
    """make(path) for new names until it fails; (count, errno name)."""
    for n in range(limit):
        try:
            make(f"{d}/{prefix}{n}")
        except OSError as e:
            return n, errno.errorcode.get(e.errno, str(e.errno))
    return limit, "OK"


@check("enospc-inodes", "creating empty files until one fails: ENOSPC after as many files as statfs had free inodes")
def ino_fill(r):
    free = os.statvfs(r.top).f_ffree
    n, err = fill_names(r.top, "f", 100000, creat_excl)
    res = r.outcome("inodes_fill", err, "ENOSPC")
    want(f"files made ({free} inodes were free)", n, free)
    want("free inodes after", os.statvfs(r.top).f_ffree, 0)
    return f"{res}, after {n} files"


@check("enospc-inodes", "with no inode free: mkdir fails")
def ino_mkdir(r):
    return r.refusal("inodes_mkdir", "ENOSPC", os.mkdir, r.p("dir"))


@check("enospc-inodes", "with no inode free: symlink fails")
def ino_symlink(r):
    return r.refusal("inodes_symlink", "ENOSPC", os.symlink, "target", r.p("link"))


@check("enospc-inodes", "with no inode free: mknod (fifo) fails")
def ino_mknod(r):
    return r.refusal("inodes_mknod", "ENOSPC", os.mkfifo, r.p("fifo"))


@check("enospc-inodes", "with no inode free: link still works (it takes no inode)")
def ino_link(r):
    return r.refusal("inodes_link", "OK", os.link, r.p("f0"), r.p("f0-link"))


@check("enospc-inodes", "after unlinking one file (both links), a create succeeds and the inodes are all taken again")
def ino_reuse(r):
    os.unlink(r.p("f0"))
    os.unlink(r.p("f0-link"))
    want("free inodes after unlink", os.statvfs(r.top).f_ffree, 1)
    creat_excl(r.p("again"))
    want("free inodes after create", os.statvfs(r.top).f_ffree, 0)
    return "1 freed, 1 taken"


def fill_file(path, chunk_size):
    """Write chunk_size pieces to a new file until a write fails: (bytes
    written, errno name)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    chunk, total = data(chunk_size, "fill"), 0
    try:
        while total < (1 << 30):
            total += os.write(fd, chunk)
    except OSError as e:
        return total, errno.errorcode.get(e.errno, str(e.errno))
    finally:
        os.close(fd)
    return total, "OK"


@check("enospc-blocks", "writing 4 KiB pieces to a file until one fails: ENOSPC; then files of one block each (no indirect block needed) until no block is left free (statfs)")
def blk_fill(r):
    total, err = fill_file(r.p("fill"), 4096)
    res = r.outcome("blocks_fill", err, "ENOSPC")
    want("the file's size", os.lstat(r.p("fill")).st_size, total)
    # The last blocks may be too few for a data block and the indirect
    # block that maps it: small files take them.
    more = []
    for i in range(64):
        n, err = fill_file(r.p(f"small{i}"), r.bs)
        more.append(n)
        if n == 0:
            break
    want("the last small file's write", err, "ENOSPC")
    want("free blocks after", os.statvfs(r.top).f_bfree, 0)
    return f"{res}, after {total} bytes, then {sum(more)} bytes in {len(more)} small files"


@check("enospc-blocks", "with no block free: mkdir fails (a directory needs a block)")
def blk_mkdir(r):
    return r.refusal("blocks_mkdir", "ENOSPC", os.mkdir, r.p("dir"))


@check("enospc-blocks", "with no block free: a slow symlink (100 bytes) fails")
def blk_slow_symlink(r):
    return r.refusal("blocks_slow_symlink", "ENOSPC", os.symlink, "s" * 100, r.p("slow"))


@check("enospc-blocks", "with no block free: a fast symlink (10 bytes) works")
def blk_fast_symlink(r):
    return r.refusal("blocks_fast_symlink", "OK", os.symlink, "s" * 10, r.p("fast"))


@check("enospc-blocks", "with no block free: an empty file is created, a 1-byte write to it fails")
def blk_empty_write(r):
    creat_excl(r.p("empty"))

    def write_one():
        fd = os.open(r.p("empty"), os.O_WRONLY)
        try:
            os.write(fd, b"x")
        finally:
            os.close(fd)
    return r.refusal("blocks_write", "ENOSPC", write_one)


@check("enospc-blocks", "with no block free: creating 255-byte names until the root directory must grow: ENOSPC")
def blk_dir_grow(r):
    n, err = fill_names(r.top, "g" * 200, 1000, lambda p: creat_excl(p + "x" * 50))
    return r.outcome("blocks_dir_grow", err, "ENOSPC") + f" after {n} entries"


@check("enospc-blocks", "after removing the full file: statfs has the blocks free again, mkdir and a write work")
def blk_reuse(r):
    os.unlink(r.p("fill"))
    free = os.statvfs(r.top).f_bfree
    os.mkdir(r.p("dir2"))
    fd = os.open(r.p("empty"), os.O_WRONLY)
    try:
        os.write(fd, b"x" * 5000)
    finally:
        os.close(fd)
    want("free blocks after unlink, more than 8", free > 8, True)
    want("contents", read_file(r.p("empty")), b"x" * 5000)
    return f"{free} blocks free"


# ------------------------------------------------------------------ tree
def tree(top, dir_sizes=True):
    """The lines of DIR's tree; dir_sizes False leaves out the sizes of
    directories (a tmpfs source's are not ext2's)."""
    lines = []
    for root, dirs, files in os.walk(top):
        if root == top and "lost+found" in dirs:
            dirs.remove("lost+found")
        for name in sorted(dirs + files):
            p = os.path.join(root, name)
            rel = os.path.relpath(p, top)
            st = os.lstat(p)
            k = kind(st.st_mode)
            if k == "l":
                extra = os.readlink(p)
            elif k == "f":
                extra = hashlib.sha256(read_file(p)).hexdigest()
            elif k in "cb":
                extra = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
            else:
                extra = ""
            if rel.startswith("ns/times/"):
                extra += f" mtime={int(st.st_mtime)}"
            size = "" if k == "d" and not dir_sizes else f" size={st.st_size}"
            lines.append(f"{rel} {k} {st.st_mode & 0o7777:o} {st.st_uid}:{st.st_gid} "
                         f"links={st.st_nlink}{size} {extra}".rstrip())
    return sorted(lines)


# -------------------------------------------------------------- the bulk
def gentree(top):
    """5,000+ entries: 120 directories up to 4 deep, 4,000 files of 0 to
    70 KiB, 600 symlinks (fast and slow), 400 extra hard links."""
    sizes = [0, 1, 17, 200, 511, 1024, 1500, 3000, 4095, 4096, 4097, 6000, 9000, 13000]
    dirs = [top]
    os.makedirs(top)
    for i in range(120):
        parent = dirs[(i * 7) % len(dirs)] if len(dirs) > 1 else top
        if parent.count("/") - top.count("/") >= 4:
            parent = top
        d = f"{parent}/d{i:03d}"
        os.mkdir(d)
        dirs.append(d)
    files = []
    for i in range(4000):
        size = 70000 if i % 250 == 0 else sizes[(i * 5) % len(sizes)]
        f = f"{dirs[i % len(dirs)]}/f{i:04d}"
        write_file(f, data(size, f"bulk{i}"))
        files.append(f)
    for i in range(600):
        target = ("../" * (i % 3)) + (f"f{i:04d}" if i % 2 else "x" * (70 + i % 30))
        os.symlink(target, f"{dirs[(i * 3) % len(dirs)]}/s{i:03d}")
    for i in range(400):
        os.link(files[(i * 9) % len(files)], f"{dirs[(i * 11) % len(dirs)]}/h{i:03d}")


def write_tree(top, out, dir_sizes=True):
    with open(out, "w") as f:
        f.write("".join(line + "\n" for line in tree(top, dir_sizes)))


def cold_trees(dev, top, out, configs):
    """Mount DEV read-only at TOP as each of CONFIGS in turn (ext2, or
    rext2:ENGINE), write its tree to OUT.CONFIG (left empty if the mount
    fails)."""
    for config in configs:
        fstype, _, engine = config.partition(":")
        if engine:
            with open("/sys/module/rmpage/parameters/engine", "w") as f:
                f.write(engine)
        open(f"{out}.{config}", "w").close()
        if subprocess.run(["mount", "-t", fstype, "-o", "ro", dev, top]).returncode:
            continue
        try:
            # Cold without drop_caches (which would send every later
            # process start back to 9p for its libraries): the mount's
            # inodes and page cache are its own, and the device's cache
            # went with its last close.
            write_tree(top, f"{out}.{config}")
        finally:
            subprocess.run(["umount", top], check=True)


def option(argv, name, default=None):
    """The value after --name in argv (removing both), or default."""
    if name not in argv:
        return default
    i = argv.index(name)
    value = argv[i + 1]
    del argv[i:i + 2]
    return value


def run_sections(pairs, bs, peer, record):
    """Run each (SECTION, DIR) of pairs: one line per check."""
    rec = {}
    for sec, top in pairs:
        r = Run(top, bs, peer, record)
        try:
            os.makedirs(top, exist_ok=True)
        except OSError as e:
            print(f"# cannot make {top}: {e}")
        times = []
        for what, fn in SECTIONS[sec]:
            start = time.monotonic()
            try:
                detail = fn(r)
                print(f"ok\t{what}: {detail}", flush=True)
            except (Fail, OSError, subprocess.SubprocessError) as e:
                why = str(e) if isinstance(e, Fail) else f"{type(e).__name__}: {e}"
                print(f"not ok\t{what}: {why}", flush=True)
            times.append((time.monotonic() - start, what[:40]))
        slow = ", ".join(f"{what}... {t:.1f}s" for t, what in sorted(times, reverse=True)[:3])
        print(f"# {sec}: {sum(t for t, _ in times):.1f}s; slowest: {slow}")
        rec.update(r.rec)
    if record:
        with open(record, "w") as f:
            json.dump(rec, f, indent=1, sort_keys=True)


def main(argv):
    global TOOLS
    argv = list(argv)
    if len(argv) < 3:
        sys.exit(__doc__)
    cmd = argv[1]
    if cmd == "count":
        print(*(sum(len(SECTIONS[sec]) for sec in group.split(",")) for group in argv[2:]))
    elif cmd == "tree":
        dir_sizes = "--no-dir-sizes" not in argv
        if not dir_sizes:
            argv.remove("--no-dir-sizes")
        for top, out in zip(argv[2::2], argv[3::2]):
            write_tree(top, out, dir_sizes)
    elif cmd == "cold-trees":
        cold_trees(argv[2], argv[3], argv[4], argv[5:])
    elif cmd == "gentree":
        gentree(argv[2])
    elif cmd == "run":
        peer_file, record = option(argv, "--peer"), option(argv, "--record")
        tree_of, tree_out = option(argv, "--tree-of"), option(argv, "--tree-out")
        bs = int(option(argv, "--bs"))
        TOOLS = "--tools" in argv
        if TOOLS:
            argv.remove("--tools")
        peer = None
        if peer_file:
            with open(peer_file) as f:
                peer = json.load(f)
        os.umask(0o022)
        run_sections(list(zip(argv[2::2], argv[3::2])), bs, peer, record)
        if tree_of:
            write_tree(tree_of, tree_out)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
