#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Corrupt metadata met at run time: each case gives EUCLEAN (or EIO/ELOOP
# where the VFS decides) and one "rext2:" line per failed operation, never a
# crash, hang or KASAN report (the kernel log check after all tests sees to
# that), and the rest of the filesystem stays readable. Corrupt allocation
# metadata met while writing (a bitmap that marks metadata free, a free
# count that disagrees with the bitmap) fails the write with EUCLEAN, one
# "rext2:" line says so, and the mount is read-only from then on. What the
# C ext2 refuses and answers with errnos of its own, rext2 answers with
# them too, compared with the C ext2 on the same image: a root inode that
# is not a directory refuses the mount (EINVAL) and writes nothing; a
# directory entry naming a reserved inode (EINVAL at lookup), an inode past
# the last (EIO) or a deleted inode (EIO) fails with one "rext2:" line and
# turns a read-write mount read-only.
. "$(dirname "$0")/lib/rmpage.sh"

ktap_print_header
ktap_set_plan 36
rm_load
mnt=$WORK/mnt
mkdir -p "$mnt"
src=$WORK/corrupt-src
rm -rf "$src"
mkdir -p "$src/d" "$src/d2" "$src/a/b"
head -c 20000 /dev/urandom > "$src/direct"
head -c 200000 /dev/urandom > "$src/indirect"
head -c 4096 /dev/urandom > "$src/ok"
for i in 1 2 3; do echo $i > "$src/d/f$i"; done
echo x > "$src/d2/x"
img=$WORK/corrupt.img
rm_mkfs "$img" 4096 16M "$src"
dbg() { debugfs -w -R "$1" "$img" >/dev/null 2>&1; }
dbg_out() { debugfs -R "$1" "$img" 2>/dev/null; }

# Block pointers beyond the file system (4096 blocks).
dbg "sif /direct block[2] 1000000"
ind=$(dbg_out "stat /indirect" | grep -o '(IND):[0-9]*' | cut -d: -f2)
python3 -c "import sys; f = open(sys.argv[1], 'r+b'); f.seek(int(sys.argv[2]) * 4096); f.write(b'\xff' * 4096)" "$img" "$ind"
# Directory entries: d's first block, "." at 0 and ".." at 12.
dblk=$(dbg_out "blocks /d" | awk '{print $1}')
$SYS poke "$img" $((dblk * 4096 + 4)) H 5
d2blk=$(dbg_out "blocks /d2" | awk '{print $1}')
$SYS poke "$img" $((d2blk * 4096 + 12 + 6)) B 200
# Sizes that disagree with the inode's kind.
mkdir -p "$src/e"
dbg "mkdir /e"
dbg "sif /e size 1000"
dbg "write $src/ok /big"
dbg "sif /big size 0xffffffff00001000"
# A directory that contains its own ancestor.
dbg "link /a /a/b/up"

dev=$(rm_loop "$img" ro)
mount -t rext2 -o ro "$dev" "$mnt"

# expect DESC WANTED... -- COMMAND: one test for the errno, one for the
# number of rext2 lines it printed (1).
expect() {
	local desc=$1 w err lines ok=0
	shift
	local wanted=()
	while [ "$1" != -- ]; do wanted+=("$1"); shift; done
	shift
	rm_drop_caches
	rm_mark
	err=$("$@")
	lines=$(rm_rext2_lines)
	for w in "${wanted[@]}"; do [ "$err" = "$w" ] && ok=1; done
	ktap_check "$desc: ${wanted[*]} (got $err)" [ $ok = 1 ]
	ktap_check "$desc: one rext2 line in dmesg (got $lines: $(rm_rext2_last))" [ "$lines" = 1 ]
}

expect "data block pointer beyond the file system" EUCLEAN -- $SYS read "$mnt/direct"
expect "indirect block full of bad pointers" EUCLEAN -- $SYS read "$mnt/indirect"
expect "directory entry with rec_len 5" EUCLEAN -- $SYS list "$mnt/d"
expect "directory entry with name_len past rec_len" EUCLEAN -- $SYS list "$mnt/d2"
expect "directory whose size is not a whole number of blocks" EUCLEAN -- $SYS stat "$mnt/e"
expect "regular file larger than the format allows" EUCLEAN -- $SYS stat "$mnt/big"

err=$($SYS stat "$mnt/a/b/up/b/up")
ktap_check_all "a directory that contains its ancestor: lookup fails with ELOOP or EIO (got $err)" \
	'[ "$err" = ELOOP ] || [ "$err" = EIO ]'
timeout 120 find "$mnt" > /dev/null 2>&1
rc=$?
ktap_check "find over the corrupt image terminates (exit $rc)" [ $rc != 124 ]
ktap_check "undamaged files still read correctly" cmp -s "$src/ok" "$mnt/ok"
ktap_check "umount of the corrupt image succeeds" umount "$mnt"
losetup -d "$dev"

# append FILE: print the errno name of appending 64 KiB to FILE with fsync.
append() {
	python3 - "$1" <<'PY'
import errno, os, sys
try:
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"x" * 65536)
    os.fsync(fd)
    print("OK")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
PY
}

# alloc_corrupt DESC PATCH: a fresh image of the same tree, PATCH applied to
# it (a function taking the image), mounted read-write; appending to "ok"
# needs a block (three tests).
alloc_corrupt() {
	local desc=$1 aimg=$WORK/alloc.img adev err err2 lines ro
	rm_mkfs "$aimg" 4096 16M "$src"
	$2 "$aimg"
	adev=$(rm_loop "$aimg")
	mount -t rext2 "$adev" "$mnt"
	rm_mark
	err=$(append "$mnt/ok")
	lines=$(rm_rext2_lines)
	ro=$(awk -v m="$mnt" '$2 == m { print $4 }' /proc/mounts | cut -d, -f1)
	err2=$(append "$mnt/ok")
	umount "$mnt"
	losetup -d "$adev"
	ktap_check "$desc: the write fails with EUCLEAN (got $err)" [ "$err" = EUCLEAN ]
	ktap_check "$desc: one rext2 line in dmesg (got $lines: $(rm_rext2_last))" [ "$lines" = 1 ]
	ktap_check_all "$desc: the mount is read-only from then on ($ro), the next write gets EROFS (got $err2)" \
		'[ "$ro" = ro ] && [ "$err2" = EROFS ]'
}

# Group 0's bitmap says the first block of its inode table is free.
free_inode_table() {
	local line bitmap table
	line=$(debugfs -R stats "$1" 2>/dev/null | grep -m1 'Group  *0:')
	bitmap=$(echo "$line" | grep -o 'block bitmap at [0-9]*' | awk '{print $4}')
	table=$(echo "$line" | grep -o 'inode table at [0-9]*' | awk '{print $4}')
	python3 - "$1" "$bitmap" "$table" <<'PY'
import sys
path, bitmap, table = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "r+b") as f:
    f.seek(bitmap * 4096 + table // 8)
    byte = f.read(1)[0] & ~(1 << (table % 8))
    f.seek(bitmap * 4096 + table // 8)
    f.write(bytes([byte]))
PY
}
alloc_corrupt "block bitmap marking the inode table free" free_inode_table

# Group 0's descriptor counts one free block more than its bitmap has
# (bg_free_blocks_count at byte 12 of the descriptor in block 1).
free_count_off() {
	$SYS poke "$1" $((4096 + 12)) H $(( $($SYS peek "$1" $((4096 + 12)) H) + 1 ))
}
alloc_corrupt "group free count that disagrees with the bitmap" free_count_off

# What the C ext2 checks at mount and lookup and rext2 checks too: each case
# on a fresh image of the same tree, with the C ext2 on a copy of it (taken
# before rext2 mounts it) in the same boot for comparison.
mimg=$WORK/mcheck.img
cimg=$WORK/mcheck-c.img
mount_mode() { awk -v m="$mnt" '$2 == m { print $4 }' /proc/mounts | cut -d, -f1; }
img_sum() { sha256sum < "$1" | cut -c1-16; }

# The root inode turned into a regular file: ext2_fill_super's "corrupt
# root inode". A read-write mount attempt is refused before anything is
# written (the not-cleanly-unmounted state, the mount count).
rm_mkfs "$mimg" 4096 16M "$src"
debugfs -w -R "sif <2> mode 0100755" "$mimg" >/dev/null 2>&1
cp "$mimg" "$cimg"
before=$(img_sum "$mimg")
mdev=$(rm_loop "$mimg")
rm_mark
err=$($SYS mount "$mdev" "$mnt" rext2 rw)
lines=$(rm_rext2_lines) last=$(rm_rext2_last)
[ "$err" != OK ] || umount "$mnt"
losetup -d "$mdev"
after=$(img_sum "$mimg")
cbefore=$(img_sum "$cimg")
cdev=$(rm_loop "$cimg")
cerr=$($SYS mount "$cdev" "$mnt" ext2 rw)
[ "$cerr" != OK ] || umount "$mnt"
losetup -d "$cdev"
cafter=$(img_sum "$cimg")
ktap_check "root inode a regular file: a read-write mount is refused with EINVAL (got $err; the C ext2 gave $cerr)" \
	[ "$err" = EINVAL ]
ktap_check "root inode a regular file: one rext2 line in dmesg (got $lines: $last)" [ "$lines" = 1 ]
ktap_check "root inode a regular file: the refused read-write mount leaves the image unchanged (sha256 $before before, $after after; the C ext2's: $cbefore, $cafter)" \
	[ "$before" = "$after" ]

# set_entry_ino IMG NAME INO: the entry NAME in directory /d of IMG (4 KiB
# blocks) names inode INO from now on.
set_entry_ino() {
	local blocks
	blocks=$(debugfs -R "blocks /d" "$1" 2>/dev/null)
	python3 - "$1" "$2" "$3" $blocks <<'PY'
import struct, sys
path, name, ino = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
with open(path, "r+b") as f:
    for blk in map(int, sys.argv[4:]):
        f.seek(blk * 4096)
        b = f.read(4096)
        off = 0
        while off < 4096:
            rec_len, name_len = struct.unpack_from("<HB", b, off + 4)
            if b[off + 8:off + 8 + name_len] == name:
                f.seek(blk * 4096 + off)
                f.write(struct.pack("<I", ino))
                sys.exit(0)
            off += rec_len
sys.exit("no entry " + sys.argv[2])
PY
}

# bad_entry DESC NAME WANT LIST_WANT PATCH: a fresh image with PATCH (a
# function taking the image) applied, mounted read-write by rext2, cold:
# stat of /d/NAME fails with WANT and, unless LIST_WANT is empty, listing
# /d then fails with LIST_WANT, with one rext2 line for the two; the mount
# is read-only from then on. The C ext2 does the same stat and listing on
# a read-only mount of a copy (three or four tests).
bad_entry() {
	local desc=$1 name=$2 want=$3 lwant=$4 mdev cdev err lerr= lines last ro werr cerr clerr=
	rm_mkfs "$mimg" 4096 16M "$src"
	$5 "$mimg"
	cp "$mimg" "$cimg"
	mdev=$(rm_loop "$mimg")
	mount -t rext2 "$mdev" "$mnt"
	rm_drop_caches
	rm_mark
	err=$($SYS stat "$mnt/d/$name")
	[ -z "$lwant" ] || lerr=$($SYS list "$mnt/d")
	lines=$(rm_rext2_lines) last=$(rm_rext2_last)
	ro=$(mount_mode)
	werr=$($SYS write "$mnt/ok")
	umount "$mnt"
	losetup -d "$mdev"
	cdev=$(rm_loop "$cimg" ro)
	mount -t ext2 -o ro "$cdev" "$mnt"
	cerr=$($SYS stat "$mnt/d/$name")
	[ -z "$lwant" ] || clerr=$($SYS list "$mnt/d")
	umount "$mnt"
	losetup -d "$cdev"
	ktap_check "$desc: stat fails with $want (got $err; the C ext2 gave $cerr)" [ "$err" = "$want" ]
	if [ -n "$lwant" ]; then
		ktap_check "$desc: listing the directory fails with $lwant (got $lerr; the C ext2 gave $clerr)" \
			[ "$lerr" = "$lwant" ]
	fi
	ktap_check "$desc: one rext2 line in dmesg (got $lines: $last)" [ "$lines" = 1 ]
	ktap_check_all "$desc: the mount is read-only from then on ($ro), a write gets EROFS (got $werr)" \
		'[ "$ro" = ro ] && [ "$werr" = EROFS ]'
}

# An entry naming the resize inode (7): ext2_get_inode's "bad inode
# number" at lookup (EINVAL); the C ext2 lists it, rext2 refuses the
# listing too (EIO, what the C ext2's readdir gives for a page it refuses).
link_resize_inode() { debugfs -w -R "ln <7> /d/r7" "$1" >/dev/null 2>&1; }
bad_entry "directory entry naming the reserved resize inode 7" r7 EINVAL EIO link_resize_inode

# An entry naming the inode after the last: ext2_check_folio's "inode out
# of bounds" fails the directory's page, lookup and readdir alike (EIO).
past_last_inode() { set_entry_ino "$1" f2 $(( $($SYS peek "$1" 1024 I) + 1 )); }
bad_entry "directory entry naming the inode past s_inodes_count" f2 EIO EIO past_last_inode

# An entry naming a deleted inode (no links, a deletion time): iget gives
# ESTALE and the lookup "deleted inode referenced", EIO (ext2_lookup).
delete_f3() {
	debugfs -w -R "sif /d/f3 links_count 0" "$1" >/dev/null 2>&1
	debugfs -w -R "sif /d/f3 dtime 1700000000" "$1" >/dev/null 2>&1
}
bad_entry "directory entry naming a deleted inode" f3 EIO "" delete_f3
ktap_finished
