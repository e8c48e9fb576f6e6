#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Corrupted ext2 images for rmpage's fuzz test (tests/15-fuzz.sh), made by
the project itself, deterministic by seed.

From a clean base image (mke2fs -t ext2 -d of the varied tree that `tree`
builds: files mapped by direct, indirect and double indirect blocks, a
sparse file, an empty file, a directory of many entries, fast, slow and
dangling symlinks, a fifo, a device node, hard links), variant INDEX of
SEED is the base with one targeted corruption, chosen by a random
generator seeded with "SEED:INDEX" (and the base's block size): a super
block field, a group descriptor field, bitmap bits, an inode field, a block
pointer, a directory entry, a symlink's length, or random bytes flipped in
one metadata block. The image is parsed here (super block, descriptors,
inode table, block maps, directory entries); nothing else is needed.

  fuzzimg.py tree DIR                   build the source tree in DIR
  fuzzimg.py base DIR IMAGE BS          mke2fs DIR into IMAGE (BS: 1024|4096),
                                        with fixed UUID, hash seed and times
  fuzzimg.py variant BASE SEED INDEX OUT
                                        write variant INDEX of SEED made from
                                        BASE to OUT; print its description
  fuzzimg.py --selftest                 build both bases in a temporary
                                        directory and check that variants are
                                        deterministic and change the image

The same base, seed and index give a byte-identical variant; the base
itself is the same wherever the same mke2fs builds it (times, UUID and hash
seed are fixed), so a seed and an index printed by the test replay on the
host: `fuzzimg.py tree t && fuzzimg.py base t b.img 4096 && fuzzimg.py
variant b.img SEED INDEX v.img`.
"""
import hashlib
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

from mktree import data  # the same bytes for the same seed, everywhere

KIB, MIB = 1 << 10, 1 << 20
# Fixed so that two builds of the base are the same image.
FIXED_TIME = 1700000000
FIXED_UUID = "0b5e55ed-f022-4e0b-8a5e-000000000015"
FIXED_HASH_SEED = "0b5e55ed-f022-4e0b-8a5e-0000000000ff"
# Per block size: the image size, blocks per group (several groups, so that
# descriptors and bitmaps other than group 0's are there to corrupt), the
# inode count and size.
GEOMETRY = {
    1024: dict(size="4M", group=1024, inodes=64, inode_size=128),
    4096: dict(size="4M", group=512, inodes=64, inode_size=256),
}

S_IFMT = 0o170000
S_IFDIR, S_IFREG, S_IFLNK = 0o040000, 0o100000, 0o120000
ROOT_INO = 2


def make_tree(top):
    """Builds the base tree in `top` (which must not exist or be empty)."""
    os.makedirs(top, exist_ok=True)

    def put(name, size):
        with open(os.path.join(top, name), "wb") as f:
            f.write(data(size, name))

    put("empty", 0)
    put("tiny", 100)
    put("direct", 10 * KIB)          # direct blocks only
    put("indirect", 200 * KIB)       # the indirect block at 1 KiB blocks, direct+indirect at 4 KiB
    put("dind", 300 * KIB)           # the double indirect block at 1 KiB blocks
    put("appendme", 3000)            # targets of the write phase
    put("truncme", 50 * KIB)
    put("unlinkme", 5000)
    # Sparse: data at the start, after a hole, and past 5 MiB (the double
    # indirect block at both block sizes).
    with open(os.path.join(top, "sparse"), "wb") as f:
        for off in (0, 70 * KIB, 5 * MIB + 4 * KIB):
            f.seek(off)
            f.write(data(4 * KIB, f"sparse@{off}"))
    for sub in ("dir/sub/deep", "dir/emptydir", "many"):
        os.makedirs(os.path.join(top, sub), exist_ok=True)
    put("dir/sub/deep/leaf", 6000)
    put("linked", 7000)
    os.link(os.path.join(top, "linked"), os.path.join(top, "dir/linked2"))
    # Names long enough (up to 255 bytes) that the directory takes two
    # blocks at 4 KiB and five at 1 KiB; few enough that a walk stays short
    # under TCG.
    for i in range(22):
        put(f"many/entry-{i:03d}-" + "x" * (245 - (i * 29) % 140), (i * 137) % 3000)
    os.symlink("tiny", os.path.join(top, "fastlink"))
    os.symlink("./" * 40 + "tiny", os.path.join(top, "slowlink"))
    os.symlink("nowhere/at/all", os.path.join(top, "dangling"))
    os.mkfifo(os.path.join(top, "fifo"))
    try:
        os.mknod(os.path.join(top, "null"), 0o20666, os.makedev(1, 3))
    except PermissionError:
        pass  # not root (a host-side build): no device node
    for dirpath, dirnames, filenames in os.walk(top, topdown=False):
        for name in filenames + dirnames:
            os.utime(os.path.join(dirpath, name), (FIXED_TIME, FIXED_TIME), follow_symlinks=False)
    os.utime(top, (FIXED_TIME, FIXED_TIME))


def make_base(top, image, bs):
    """mke2fs -d `top` into `image` at block size `bs`, then fixes the
    times mke2fs copied from the tree (ctime cannot be set by utime)."""
    geo = GEOMETRY[bs]
    if os.path.exists(image):
        os.unlink(image)
    env = dict(os.environ, E2FSPROGS_FAKE_TIME=str(FIXED_TIME))
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", "-b", str(bs), "-g", str(geo["group"]),
                    "-N", str(geo["inodes"]), "-I", str(geo["inode_size"]), "-U", FIXED_UUID,
                    "-E", f"hash_seed={FIXED_HASH_SEED},root_owner=0:0", "-d", top, image, geo["size"]],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    with open(image, "r+b") as f:
        img = bytearray(f.read())
        fs = Ext2(img)
        for ino in fs.used_inodes():
            off = fs.inode_offset(ino)
            for field in (8, 12, 16):
                struct.pack_into("<I", img, off + field, FIXED_TIME)
            if fs.inode_size > 128:  # the extra times past the first 128 bytes
                img[off + 128:off + fs.inode_size] = bytes(fs.inode_size - 128)
        f.seek(0)
        f.write(img)


def short(name):
    """A name for a description: long ones cut, with their length."""
    text = name.decode(errors="replace")
    return text if len(text) <= 24 else f"{text[:16]}...({len(text)})"


class Ext2:
    """The parts of an ext2 image the corruptions aim at, parsed from its
    bytes: geometry, descriptors, used inodes, block maps, directory
    entries (found by walking the tree from the root)."""

    def __init__(self, img):
        self.img = img
        sb = 1024
        (self.inodes_count, self.blocks_count, _r, _fb, _fi, self.first_data_block,
         log_bs, _lf, self.blocks_per_group, _fpg, self.inodes_per_group) = struct.unpack_from("<11I", img, sb)
        self.bs = 1024 << log_bs
        self.rev = struct.unpack_from("<I", img, sb + 76)[0]
        self.inode_size = struct.unpack_from("<H", img, sb + 88)[0] if self.rev else 128
        self.groups = -(-(self.blocks_count - self.first_data_block) // self.blocks_per_group)
        self.gdt_block = self.first_data_block + 1
        self.gd = []
        for g in range(self.groups):
            off = self.gdt_block * self.bs + 32 * g
            bb, ib, it, fb, fi, ud = struct.unpack_from("<3I3H", img, off)
            self.gd.append(dict(block_bitmap=bb, inode_bitmap=ib, inode_table=it, offset=off))
        self.inode_table_blocks = -(-self.inodes_per_group * self.inode_size // self.bs)
        self.inodes = {}       # ino -> mode, of every inode reached from the root
        self.pointers = {}     # ino -> [(where in the image, level, value)] of its block map
        self.map_blocks = {}   # ino -> [indirect blocks of its map]
        self.data_blocks = {}  # ino -> [data blocks]
        self.entries = []      # (dir ino, image offset, block end offset) of each directory entry
        self.dir_blocks = []
        self._walk()

    def inode_offset(self, ino):
        group, index = divmod(ino - 1, self.inodes_per_group)
        return self.gd[group]["inode_table"] * self.bs + index * self.inode_size

    def inode(self, ino):
        off = self.inode_offset(ino)
        mode, _uid, size, _a, _c, _m, dtime, _gid, links, blocks, flags = struct.unpack_from("<HHIIIIIHHII", self.img, off)
        return dict(mode=mode, size=size, links=links, blocks=blocks, flags=flags, offset=off)

    def used_inodes(self):
        return sorted(self.inodes)

    def is_fast_symlink(self, ino):
        node = self.inode(ino)
        return node["mode"] & S_IFMT == S_IFLNK and node["blocks"] == 0

    def _block_map(self, ino):
        """The pointers of `ino`'s block map: (image offset, level, block)."""
        off = self.inode_offset(ino)
        pointers, maps, datas = [], [], []

        def follow(where, block, level):
            pointers.append((where, level, block))
            if block == 0 or block >= self.blocks_count:
                return
            if level == 0:
                datas.append(block)
                return
            maps.append(block)
            entries = struct.unpack_from(f"<{self.bs // 4}I", self.img, block * self.bs)
            for i, entry in enumerate(entries):
                if entry:
                    follow(block * self.bs + 4 * i, entry, level - 1)

        for slot in range(15):
            where = off + 40 + 4 * slot
            follow(where, struct.unpack_from("<I", self.img, where)[0], max(0, slot - 11))
        self.pointers[ino] = [p for p in pointers if p[2]]
        self.map_blocks[ino] = maps
        self.data_blocks[ino] = datas

    def _walk(self):
        todo = [ROOT_INO]
        self.inodes[ROOT_INO] = self.inode(ROOT_INO)["mode"]
        self.names = {ROOT_INO: "/"}  # for descriptions: long names cut
        self.paths = {ROOT_INO: ""}  # as the walk of a mount names them
        self.links = {ROOT_INO: [""]}  # every path of an inode (hard links)
        while todo:
            ino = todo.pop()
            mode = self.inodes[ino]
            if mode & S_IFMT in (S_IFDIR, S_IFREG) or (mode & S_IFMT == S_IFLNK and not self.is_fast_symlink(ino)):
                self._block_map(ino)
            if mode & S_IFMT != S_IFDIR:
                continue
            for block in self.data_blocks[ino]:
                self.dir_blocks.append((ino, block))
                pos, end = block * self.bs, (block + 1) * self.bs
                while pos < end:
                    child, rec_len, name_len, _ft = struct.unpack_from("<IHBB", self.img, pos)
                    if rec_len < 8:
                        break
                    self.entries.append((ino, pos, end))
                    name = bytes(self.img[pos + 8:pos + 8 + name_len])
                    if child and name not in (b".", b".."):
                        path = self.paths[ino] + "/" + name.decode(errors="replace")
                        self.links.setdefault(child, []).append(path)
                    if child and name not in (b".", b"..") and child not in self.inodes:
                        self.inodes[child] = self.inode(child)["mode"]
                        self.names[child] = self.names[ino].rstrip("/") + "/" + short(name)
                        self.paths[child] = self.paths[ino] + "/" + name.decode(errors="replace")
                        todo.append(child)
                    pos += rec_len

    def of_type(self, fmt):
        return [ino for ino, mode in sorted(self.inodes.items()) if mode & S_IFMT == fmt]


# Super block fields: (name, offset, struct format).
SB_FIELDS = [
    ("s_inodes_count", 0, "I"), ("s_blocks_count", 4, "I"), ("s_r_blocks_count", 8, "I"),
    ("s_free_blocks_count", 12, "I"), ("s_free_inodes_count", 16, "I"),
    ("s_first_data_block", 20, "I"), ("s_log_block_size", 24, "I"), ("s_log_frag_size", 28, "I"),
    ("s_blocks_per_group", 32, "I"), ("s_frags_per_group", 36, "I"), ("s_inodes_per_group", 40, "I"),
    ("s_magic", 56, "H"), ("s_state", 58, "H"), ("s_rev_level", 76, "I"), ("s_first_ino", 84, "I"),
    ("s_inode_size", 88, "H"), ("s_feature_compat", 92, "I"), ("s_feature_incompat", 96, "I"),
    ("s_feature_ro_compat", 100, "I"),
]
GD_FIELDS = [("bg_block_bitmap", 0, "I"), ("bg_inode_bitmap", 4, "I"), ("bg_inode_table", 8, "I"),
             ("bg_free_blocks_count", 12, "H"), ("bg_free_inodes_count", 14, "H"),
             ("bg_used_dirs_count", 16, "H")]
INODE_FIELDS = [("i_mode", 0, "H"), ("i_size", 4, "I"), ("i_size_high", 108, "I"),
                ("i_links_count", 26, "H"), ("i_blocks", 28, "I"), ("i_flags", 32, "I"),
                ("i_dtime", 20, "I"), ("i_file_acl", 104, "I")]
MASK = {"B": 0xff, "H": 0xffff, "I": 0xffffffff}


class Corrupter:
    """One corruption of `fs`'s image, chosen by `rng`; each method returns
    the description of what it did."""

    def __init__(self, fs, rng):
        self.fs, self.rng, self.img = fs, rng, fs.img
        # Paths whose block map now leads into metadata: what a read of
        # them gives depends on what the mount wrote there (the super
        # block's mount count and times, ...), so it differs between file
        # systems without either being wrong.
        self.onto_metadata = []

    def get(self, off, fmt):
        return struct.unpack_from("<" + fmt, self.img, off)[0]

    def put(self, off, fmt, value):
        struct.pack_into("<" + fmt, self.img, off, value & MASK[fmt])

    def set_field(self, what, off, fmt, value):
        old = self.get(off, fmt)
        self.put(off, fmt, value)
        return f"{what} {old:#x} -> {self.get(off, fmt):#x}"

    def count_value(self, old, fmt):
        """An interesting replacement for a count or size `old`."""
        rng = self.rng
        return rng.choice([0, 1, old - 1, old + 1, old * 2, old + rng.randrange(1, 1 << 12),
                           MASK[fmt], MASK[fmt] // 2 + 1, rng.randrange(MASK[fmt] + 1)])

    def block_value(self, kind=None):
        """A bad block number: past the device, or into the metadata."""
        fs, rng = self.fs, self.rng
        gd = rng.choice(fs.gd)
        choices = {
            "past the device": rng.choice([fs.blocks_count, fs.blocks_count + rng.randrange(1, 1 << 16),
                                           0xffffffff, 0x80000000]),
            "block 0": 0,
            "the super block": fs.first_data_block,
            "the descriptors": fs.gdt_block,
            "a block bitmap": gd["block_bitmap"],
            "an inode bitmap": gd["inode_bitmap"],
            "the inode table": gd["inode_table"] + rng.randrange(fs.inode_table_blocks),
        }
        kind = kind or rng.choice(sorted(choices))
        return kind, choices[kind]

    def sb_field(self):
        fs, rng = self.fs, self.rng
        name, off, fmt = rng.choice(SB_FIELDS)
        off += 1024
        old = self.get(off, fmt)
        if name == "s_log_block_size" or name == "s_log_frag_size":
            value = rng.choice([0, 1, 2, 3, 4, 7, 31, 0xffffffff])
        elif name == "s_magic":
            value = old ^ rng.randrange(1, 0x10000)
        elif name == "s_state":
            value = rng.choice([0, 2, 3, 0xffff])
        elif name == "s_rev_level":
            value = rng.choice([0, 2, 7, 0xffffffff])
        elif name == "s_inode_size":
            value = rng.choice([0, 64, 127, 129, 130, fs.bs, fs.bs * 2, 0xffff, old * 2, old // 2])
        elif name == "s_first_ino":
            value = rng.choice([0, 1, 2, 5, 10, 12, fs.inodes_count, fs.inodes_count + 1])
        elif name.startswith("s_feature"):
            bit = 1 << rng.randrange(32)
            if old and rng.random() < 0.4:
                bit = rng.choice([1 << i for i in range(32) if old >> i & 1])
            value = old ^ bit
        else:
            value = self.count_value(old, fmt)
        if value & MASK[fmt] == old:
            value = old ^ 1
        return "super block " + self.set_field(name, off, fmt, value)

    def gd_field(self):
        fs, rng = self.fs, self.rng
        group = rng.randrange(fs.groups)
        name, field_off, fmt = rng.choice(GD_FIELDS)
        off = fs.gd[group]["offset"] + field_off
        old = self.get(off, fmt)
        if fmt == "I":
            other = rng.choice(fs.gd)
            choice = rng.randrange(4)
            if choice == 0:
                kind, value = self.block_value()
            elif choice == 1:
                kind, value = "another location of the table", rng.choice(
                    [other["block_bitmap"], other["inode_bitmap"], other["inode_table"]])
            elif choice == 2:
                kind, value = "overlapping", old + rng.choice([-1, 1, 2, fs.inode_table_blocks - 1])
            else:
                datas = [b for bl in fs.data_blocks.values() for b in bl]
                kind, value = "a file's data block", rng.choice(datas)
        else:
            kind, value = "count", self.count_value(old, fmt)
        if value & MASK[fmt] == old:
            value = old ^ 1
        return f"group {group} descriptor ({kind}) " + self.set_field(name, off, fmt, value)

    def bitmap(self):
        fs, rng = self.fs, self.rng
        if rng.random() < 0.5:
            group = rng.randrange(fs.groups)
            base = fs.gd[group]["block_bitmap"] * fs.bs
            first = fs.first_data_block + group * fs.blocks_per_group
            how = rng.choice(["clear a used data block", "clear metadata", "set free bits",
                              "clear all", "set all"])
            in_group = [b for bl in fs.data_blocks.values() for b in bl
                        if first <= b < first + fs.blocks_per_group]
            in_group += [b for bl in fs.map_blocks.values() for b in bl
                         if first <= b < first + fs.blocks_per_group]
            if how == "clear a used data block" and in_group:
                bits = rng.sample(sorted(set(in_group)), min(len(set(in_group)), rng.choice([1, 1, 3, 20])))
                self.clear_bits(base, [b - first for b in bits])
                return f"group {group} block bitmap: cleared the bits of used blocks {bits[:5]}"
            if how in ("clear metadata", "clear a used data block"):
                gd = fs.gd[group]
                bits = [gd["block_bitmap"], gd["inode_bitmap"]] + [gd["inode_table"] + i for i in range(fs.inode_table_blocks)]
                bits = [b - first for b in bits if first <= b < first + fs.blocks_per_group]
                self.clear_bits(base, bits)
                return f"group {group} block bitmap: cleared the bits of its metadata ({len(bits)} blocks)"
            if how == "set free bits":
                free = [i for i in range(min(fs.blocks_per_group, fs.bs * 8)) if not self.img[base + i // 8] >> (i % 8) & 1]
                bits = rng.sample(free, min(len(free), rng.choice([1, 10, 500])))
                for i in bits:
                    self.img[base + i // 8] |= 1 << (i % 8)
                return f"group {group} block bitmap: set {len(bits)} free bits"
            fill = 0 if how == "clear all" else 0xff
            self.img[base:base + fs.bs] = bytes([fill]) * fs.bs
            return f"group {group} block bitmap: {how}"
        group = rng.randrange(fs.groups)
        base = fs.gd[group]["inode_bitmap"] * fs.bs
        first = group * fs.inodes_per_group + 1
        used = [i for i in fs.used_inodes() if first <= i < first + fs.inodes_per_group]
        how = rng.choice(["clear used inodes", "clear all", "set all"])
        if how == "clear used inodes" and used:
            inos = rng.sample(used, min(len(used), rng.choice([1, 1, 5])))
            self.clear_bits(base, [i - first for i in inos])
            return f"group {group} inode bitmap: cleared the bits of used inodes {inos}"
        fill = 0 if how != "set all" else 0xff
        self.img[base:base + fs.bs] = bytes([fill]) * fs.bs
        return f"group {group} inode bitmap: {'set all' if fill else 'clear all'}"

    def pick_inode(self, owners=None):
        """An inode of a kind chosen first (the root, a directory, a regular
        file, a symlink, a special file), so that the entries of
        the big directory do not make most choices regular files."""
        fs, rng = self.fs, self.rng
        owners = owners or fs.used_inodes()
        kinds = {}
        for ino in owners:
            kind = "root" if ino == ROOT_INO else fs.inodes[ino] & S_IFMT
            kinds.setdefault(kind, []).append(ino)
        return rng.choice(kinds[rng.choice(sorted(kinds, key=str))])

    def clear_bits(self, base, bits):
        for i in bits:
            self.img[base + i // 8] &= ~(1 << (i % 8)) & 0xff

    def inode_field(self):
        fs, rng = self.fs, self.rng
        ino = self.pick_inode()
        name, field_off, fmt = rng.choice(INODE_FIELDS)
        off = fs.inode_offset(ino) + field_off
        old = self.get(off, fmt)
        if name == "i_mode":
            kind = (old >> 12) + rng.randrange(1, 16) & 15  # another type, valid or not
            value = kind << 12 | (old & 0o7777 if rng.random() < 0.7 else rng.randrange(0o10000))
        elif name == "i_links_count":
            value = rng.choice([0, 0, 1, 0xffff, old + 1])
        elif name == "i_flags":
            value = old | (1 << rng.randrange(32)) if rng.random() < 0.8 else rng.choice([0xffffffff, 0x80000, 0x1000])
        elif name == "i_dtime":
            value = rng.choice([1, FIXED_TIME, 0xffffffff])
        elif name == "i_file_acl":
            value = self.block_value()[1]
        else:
            value = self.count_value(old, fmt)
        if value & MASK[fmt] == old:
            value = old ^ 1
        return f"inode {ino} {fs.names[ino]} " + self.set_field(name, off, fmt, value)

    def pointer(self):
        fs, rng = self.fs, self.rng
        owners = [ino for ino in fs.used_inodes() if fs.pointers.get(ino)]
        ino = self.pick_inode(owners)
        where, level, old = rng.choice(fs.pointers[ino])
        choice = rng.randrange(5)
        if choice == 0 and level > 0:
            kind, value = "itself (a loop)", old
            if rng.random() < 0.5 and fs.map_blocks[ino]:
                # An entry inside the map block pointing back at it.
                block = rng.choice(fs.map_blocks[ino])
                where = block * fs.bs + 4 * rng.randrange(min(fs.bs // 4, 8))
                kind, value = "its own map block (a loop)", block
        elif choice == 1:
            others = [b for i, bl in fs.data_blocks.items() if i != ino for b in bl]
            kind, value = "another file's block (shared)", rng.choice(others)
        elif choice == 2 and fs.map_blocks[ino] and level == 0:
            kind, value = "its own map block", rng.choice(fs.map_blocks[ino])
        else:
            kind, value = self.block_value()
            if kind not in ("past the device", "block 0"):
                # By inode: a hard link reads the same blocks.
                self.onto_metadata += fs.links[ino]
        if value == old:
            value = old + 1
        what = {0: "data", 1: "indirect", 2: "double indirect", 3: "triple indirect"}[level]
        inside = "in the inode" if fs.inode_offset(ino) <= where < fs.inode_offset(ino) + fs.inode_size else f"in map block {where // fs.bs}"
        return f"inode {ino} {fs.names[ino]} {what} pointer {inside} -> {kind}: " + self.set_field(
            "block", where, "I", value)

    def dirent(self):
        fs, rng = self.fs, self.rng
        dir_ino = rng.choice(sorted({e[0] for e in fs.entries}))
        dir_ino, pos, end = rng.choice([e for e in fs.entries if e[0] == dir_ino])
        child, rec_len, name_len, ftype = struct.unpack_from("<IHBB", self.img, pos)
        name = short(bytes(self.img[pos + 8:pos + 8 + name_len]))
        what = rng.choice(["rec_len", "rec_len", "name_len", "inode", "inode", "file_type"])
        if what == "rec_len":
            kind, value = rng.choice([("0", 0), ("odd", rec_len | 1 if rec_len & 3 != 1 else rec_len + 2),
                                      ("not a multiple of 4", rec_len + 2), ("too big", 0xfffc),
                                      ("crossing the block", end - pos + 4), ("below the name", 8 + (name_len & ~3)),
                                      ("12", 12), ("the whole block", fs.bs)])
            field = (4, "H")
        elif what == "name_len":
            kind, value = rng.choice([("past rec_len", rec_len - 8 + rng.randrange(1, 8)), ("0", 0),
                                      ("255", 255)])
            field = (6, "B")
        elif what == "inode":
            reserved = [1] + list(range(3, 11))
            kind, value = rng.choice([("0", 0), ("reserved", rng.choice(reserved)),
                                      ("past the last", fs.inodes_count + rng.choice([1, 100])),
                                      ("huge", 0xffffffff), ("the root", ROOT_INO),
                                      ("an unused inode", max(fs.used_inodes()) + rng.randrange(1, 20))])
            field = (0, "I")
        else:
            kind, value = rng.choice([("unknown", rng.randrange(8, 256)), ("other type", rng.randrange(0, 8))])
            field = (7, "B")
        off, fmt = field
        old = self.get(pos + off, fmt)
        if value & MASK[fmt] == old:
            value = old ^ (4 if what == "rec_len" else 1)
        return f"directory {fs.names[dir_ino]} entry '{name}' {what} ({kind}) " + self.set_field("value", pos + off, fmt, value)

    def symlink(self):
        fs, rng = self.fs, self.rng
        links = fs.of_type(S_IFLNK)
        ino = rng.choice(links)
        off = fs.inode_offset(ino)
        if fs.is_fast_symlink(ino):
            kind, size = rng.choice([("fast, size 60", 60), ("fast, size 61", 61), ("fast, size 100", 100),
                                     ("fast, size of a block", fs.bs), ("fast, size 0", 0),
                                     ("fast, i_blocks set (looks slow)", None)])
            if size is None:
                return f"symlink {fs.names[ino]} {kind}: " + self.set_field("i_blocks", off + 28, "I", fs.bs // 512)
        else:
            kind, size = rng.choice([("slow, size past its block", fs.bs + 1), ("slow, size 2 blocks", 2 * fs.bs),
                                     ("slow, size 0", 0), ("slow, size 4 GiB-1", 0xffffffff),
                                     ("slow, i_blocks 0 (looks fast)", None)])
            if size is None:
                return f"symlink {fs.names[ino]} {kind}: " + self.set_field("i_blocks", off + 28, "I", 0)
        return f"symlink {fs.names[ino]} {kind}: " + self.set_field("i_size", off + 4, "I", size)

    def flip(self):
        fs, rng = self.fs, self.rng
        regions = {
            "super block": (1024, 1024 + 104),  # through the feature words
            "descriptors": (fs.gdt_block * fs.bs, fs.gdt_block * fs.bs + 32 * fs.groups),
        }
        gd = rng.choice(fs.gd)
        regions["block bitmap"] = (gd["block_bitmap"] * fs.bs, (gd["block_bitmap"] + 1) * fs.bs)
        # The group's bits and a little of the padding after them.
        regions["inode bitmap"] = (gd["inode_bitmap"] * fs.bs,
                                   gd["inode_bitmap"] * fs.bs + max(fs.inodes_per_group // 8, 16))
        ino = rng.choice(fs.used_inodes())
        regions["inode table"] = (fs.inode_offset(ino), fs.inode_offset(ino) + 128)
        dir_ino, block = rng.choice(fs.dir_blocks)
        regions["directory block"] = (block * fs.bs, (block + 1) * fs.bs)
        maps = [b for bl in fs.map_blocks.values() for b in bl]
        map_start = rng.choice(maps) * fs.bs if maps else 0
        regions["map block"] = (map_start, map_start + fs.bs)
        name = rng.choice(sorted(regions) + ["inode table", "directory block"])
        start, end = regions[name]
        n = min(rng.choice([1, 1, 2, 4, 8]), end - start)
        spots = sorted(rng.sample(range(start, end), n))
        for spot in spots:
            self.img[spot] ^= rng.randrange(1, 256)
        where = {"inode table": f" (inode {ino} {fs.names[ino]})", "directory block": f" ({block} of {fs.names[dir_ino]})"}.get(name, "")
        return f"{n} random bytes flipped in the {name}{where} at {[s - start for s in spots]}"


# The corruption classes and their weights: the file-level ones more often
# than the super block, which the C ext2 mostly refuses at mount.
CLASSES = [("sb_field", 2), ("gd_field", 2), ("bitmap", 2), ("inode_field", 4), ("pointer", 4),
           ("dirent", 4), ("symlink", 1), ("flip", 4)]


class Base:
    """A base image's bytes and their parse, made once: parsing under TCG
    costs more than the mounts of a variant."""

    def __init__(self, data):
        self.data = bytes(data)
        self.fs = Ext2(bytearray(self.data))


def variant(base, seed, index, notes=None):
    """Variant `index` of `seed` made from `base` (a Base, or the image's
    bytes): (image bytes, description). `notes`, a dict, gets
    "onto_metadata": the paths whose block map the corruption led into
    metadata."""
    if not isinstance(base, Base):
        base = Base(base)
    img = bytearray(base.data)
    # The parse is of the base; the corruption goes to this copy.
    fs = base.fs
    fs.img = img
    rng = random.Random(f"{seed}:{index}:{fs.bs}")
    names = [n for n, w in CLASSES for _ in range(w)]
    cls = rng.choice(names)
    corrupter = Corrupter(fs, rng)
    desc = getattr(corrupter, cls)()
    if img == base.data:
        # Bits already set, a count already at the value: flip bytes instead.
        cls, desc = "flip", f"({desc}: no change) " + corrupter.flip()
    if notes is not None:
        notes["onto_metadata"] = corrupter.onto_metadata
    return bytes(img), f"{cls}: {desc}"


def base_paths(base_dir):
    """The bases made by `ensure_bases` in base_dir, by block size."""
    return {bs: os.path.join(base_dir, f"base-{bs}.img") for bs in GEOMETRY}


def variant_base(seed, index):
    """The block size of the base variant `index` of `seed` is made from:
    1 and 4 KiB alternate, starting with one chosen by the seed."""
    return (1024, 4096)[(index + random.Random(str(seed)).randrange(2)) % 2]


def selftest():
    with tempfile.TemporaryDirectory() as tmp:
        top = os.path.join(tmp, "tree")
        make_tree(top)
        shas = {}
        for bs in GEOMETRY:
            image = os.path.join(tmp, f"base-{bs}.img")
            make_base(top, image, bs)
            again = os.path.join(tmp, f"again-{bs}.img")
            make_base(top, again, bs)
            with open(image, "rb") as f:
                base = f.read()
            with open(again, "rb") as f:
                assert f.read() == base, "two builds of the base differ"
            fs = Base(base).fs
            assert len(fs.used_inodes()) > 30 and fs.map_blocks, "the walk missed the tree"
            dind = [i for i in fs.used_inodes() if any(level == 2 for _, level, _ in fs.pointers.get(i, []))]
            assert dind, "no file with a double indirect block"
            shas[bs] = hashlib.sha256(base).hexdigest()[:16]
            classes = set()
            parsed = Base(base)
            for index in range(300):
                one, desc = variant(parsed, 7, index)
                two, desc2 = variant(base, 7, index)
                assert one == two and desc == desc2, f"variant {index} is not deterministic"
                assert one != base, f"variant {index} ({desc}) changed nothing"
                classes.add(desc.split(":")[0])
            assert classes == {c for c, _ in CLASSES}, f"classes reached: {classes}"
            assert variant(base, 8, 0) != variant(base, 7, 0)
        shutil.rmtree(top)
    print(f"selftest ok: bases {shas}, 300 variants per base deterministic, all classes reached")


def main(argv):
    if argv[1:2] == ["--selftest"]:
        selftest()
    elif argv[1] == "tree":
        make_tree(argv[2])
    elif argv[1] == "base":
        make_base(argv[2], argv[3], int(argv[4]))
    elif argv[1] == "variant":
        with open(argv[2], "rb") as f:
            base = f.read()
        img, desc = variant(base, argv[3], int(argv[4]))
        with open(argv[5], "wb") as f:
            f.write(img)
        print(desc)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
