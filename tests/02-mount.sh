#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Mounting mke2fs images of each block size, statfs as the C ext2 reports
# it, remounting between read-only and read-write, and refusing what rext2
# cannot serve: each refusal has its errno and exactly one "rext2:" line in
# dmesg.
. "$(dirname "$0")/lib/rmpage.sh"

ktap_print_header
ktap_set_plan 49
rm_load
mnt=$WORK/mnt
mkdir -p "$mnt"

# statfs_fields DIR: what stat -f and df say about the file system at DIR:
# total, free and available blocks, inodes and free inodes, name length,
# fsid, block size, type; df's sizes and inode counts.
statfs_fields() {
	echo "$(stat -f -c '%b %f %a %c %d %l %i %S %t' "$1") /$(df -k --output=size,used,avail,itotal,iused,iavail "$1" | tail -n 1 | tr -s ' ')"
}

# same_statfs DESC IMG: stat -f and df of a read-only rext2 mount of IMG
# equal the C ext2's (one test).
same_statfs() {
	local desc=$1 img=$2 dev r c
	dev=$(rm_loop "$img" ro)
	mount -t rext2 -o ro "$dev" "$mnt" && r=$(statfs_fields "$mnt") && umount "$mnt"
	mount -t ext2 -o ro "$dev" "$mnt" && c=$(statfs_fields "$mnt") && umount "$mnt"
	losetup -d "$dev"
	ktap_check_all "$desc: stat -f and df on rext2 equal the C ext2's (rext2 '$r', C ext2 '$c')" \
		'[ -n "$r" ] && [ "$r" = "$c" ]'
}

for bs in 1024 2048 4096; do
	img=$WORK/mount-$bs.img
	rm_mkfs "$img" $bs 32M
	dev=$(rm_loop "$img" ro)
	rm_mark
	err=$($SYS mount "$dev" "$mnt" rext2 ro)
	ktap_check "mount of a $bs-byte-block mke2fs image succeeds (got $err)" [ "$err" = OK ]
	got=$(stat -f -c '%S %t' "$mnt" 2>/dev/null)
	ktap_check "statfs reports block size $bs and the ext2 magic (got '$got')" [ "$got" = "$bs ef53" ]
	ktap_check "root directory of the $bs image lists lost+found" [ -d "$mnt/lost+found" ]
	umount "$mnt"
	losetup -d "$dev"
	ktap_check "e2fsck -fn is clean on the $bs image after mount and umount" \
		rm_fsck "$img"
	same_statfs "$bs-byte blocks, sparse_super" "$img"
done
# Without sparse_super every group has a super block copy and descriptors.
img=$WORK/dense.img
rm_mkfs "$img" 1024 32M "" -O ^sparse_super,^resize_inode
same_statfs "1024-byte blocks without sparse_super" "$img"
# 4 KiB blocks in 8 groups of 2048 blocks: copies in 0, 1, 3, 5 and 7.
img=$WORK/groups.img
rm_mkfs "$img" 4096 64M "" -g 2048
same_statfs "4096-byte blocks in 8 groups, sparse_super" "$img"

# try_mount DESC ERRNO DEV ro|rw: the mount fails with ERRNO and prints
# exactly one rext2 line (two tests).
try_mount() {
	local desc=$1 want=$2 dev=$3 mode=$4 err lines
	rm_mark
	err=$($SYS mount "$dev" "$mnt" rext2 "$mode")
	lines=$(rm_rext2_lines)
	ktap_check "$desc: mount fails with $want (got $err)" [ "$err" = "$want" ]
	ktap_check "$desc: exactly one rext2 line in dmesg (got $lines: $(rm_rext2_last))" [ "$lines" = 1 ]
	[ "$err" = OK ] && umount "$mnt"
	return 0
}

# refuse NAME ERRNO PATCH...: make a fresh 4 KiB-block image, apply the patch
# (sys.py poke arguments: OFFSET FMT VALUE, offsets from the image's start),
# and expect ERRNO and one rext2 line.
refuse() {
	local name=$1 want=$2 img=$WORK/refuse.img dev
	shift 2
	rm_mkfs "$img" 4096 16M
	while [ $# -gt 0 ]; do
		$SYS poke "$img" "$1" "$2" "$3"
		shift 3
	done
	dev=$(rm_loop "$img" ro)
	try_mount "$name" "$want" "$dev" ro
	losetup -d "$dev"
}

# Super block fields (at byte 1024): s_log_block_size +24, s_magic +56,
# s_rev_level +76, s_feature_incompat +96.
refuse "bad magic" EINVAL 1080 H 0x1234
refuse "8 KiB block size" EINVAL 1048 I 3
refuse "unknown INCOMPAT feature (extents)" EINVAL 1120 I 0x42
refuse "revision 0 with feature flags set" EINVAL 1100 I 0
refuse "revision 7" EINVAL 1100 I 7

# A device smaller than the block count says.
img=$WORK/small.img
rm_mkfs "$img" 4096 16M
truncate -s 8M "$img"
dev=$(rm_loop "$img" ro)
try_mount "device smaller than the file system" EINVAL "$dev" ro
losetup -d "$dev"

# Super block fields the remount tests read: s_mnt_count (1024+52),
# s_state (1024+58: 1 clean, 0 mounted read-write or not cleanly unmounted).
sb_state() { $SYS peek "$1" 1082 H; }
sb_mnt_count() { $SYS peek "$1" 1076 H; }
mount_mode() { awk -v m="$mnt" '$2 == m { print $4 }' /proc/mounts | cut -d, -f1; }

src=$WORK/remount-src
mkdir -p "$src"
: > "$src/f"

# Read-write, then read-only: the remount writes everything and marks the
# file system clean, as an unmount would; writes fail from then on.
img=$WORK/rw-ro.img
rm_mkfs "$img" 1024 16M "$src"
head -c 1M /dev/urandom > "$WORK/data1"
dev=$(rm_loop "$img")
count0=$(sb_mnt_count "$img")
err=$($SYS mount "$dev" "$mnt" rext2 rw)
dd if="$WORK/data1" of="$mnt/f" bs=64k conv=notrunc status=none
ktap_check_all "1 KiB blocks: read-write mount and a 1 MiB write into f (mount $err, f $(stat -c %s "$mnt/f" 2>/dev/null) bytes)" \
	'[ "$err" = OK ] && cmp -s "$WORK/data1" "$mnt/f"'
mount -o remount,ro "$mnt"
rc=$? mode=$(mount_mode)
state=$(sb_state "$img") count=$(sb_mnt_count "$img")
ktap_check_all "remount read-only succeeds (exit $rc, mount $mode) and leaves the super block clean on disk (s_state $state) with the mount counted (s_mnt_count $count0 -> $count)" \
	'[ $rc = 0 ] && [ "$mode" = ro ] && [ "$state" = 1 ] && [ "$count" = $((count0 + 1)) ]'
err=$($SYS write "$mnt/f")
ktap_check "after remount read-only, a write fails with EROFS (got $err)" [ "$err" = EROFS ]
ktap_check "after remount read-only, f still reads what was written" cmp -s "$WORK/data1" "$mnt/f"
umount "$mnt"
e2fsck -fn "$img" >/dev/null 2>&1
rc=$? state=$(sb_state "$img")
ktap_check_all "after umount: e2fsck -fn exits $rc (want 0), s_state $state (want 1: clean)" \
	'[ $rc = 0 ] && [ "$state" = 1 ]'
mount -t ext2 -o ro "$dev" "$mnt" && { cmp -s "$WORK/data1" "$mnt/f"; rc=$?; umount "$mnt"; } || rc=mount
ktap_check "the C ext2 reads back the 1 MiB written before the remount (cmp: $rc)" [ "$rc" = 0 ]
losetup -d "$dev"

# Read-only, then read-write: the remount counts the mount and marks the
# file system not clean until it goes read-only again (here twice), and
# allocation works as on a read-write mount.
img=$WORK/ro-rw.img
rm_mkfs "$img" 4096 16M "$src"
head -c 1M /dev/urandom > "$WORK/data2"
head -c 64k /dev/urandom > "$WORK/data3"
dev=$(rm_loop "$img")
count0=$(sb_mnt_count "$img")
err=$($SYS mount "$dev" "$mnt" rext2 ro)
mount -o remount,rw "$mnt"
rc=$? mode=$(mount_mode)
state=$(sb_state "$img") count=$(sb_mnt_count "$img")
ktap_check_all "4 KiB blocks: read-only mount ($err), remount read-write succeeds (exit $rc, mount $mode) and marks the super block not clean (s_state $state) with the mount counted (s_mnt_count $count0 -> $count)" \
	'[ "$err" = OK ] && [ $rc = 0 ] && [ "$mode" = rw ] && [ "$state" = 0 ] && [ "$count" = $((count0 + 1)) ]'
dd if="$WORK/data2" of="$mnt/f" bs=64k conv=notrunc,fsync status=none
rc=$?
ktap_check_all "after remount read-write, a 1 MiB write with fsync into f succeeds (dd exit $rc)" \
	'[ $rc = 0 ] && cmp -s "$WORK/data2" "$mnt/f"'
mount -o remount,ro "$mnt"
rc1=$? state1=$(sb_state "$img")
mount -o remount,rw "$mnt"
rc2=$? state2=$(sb_state "$img") count=$(sb_mnt_count "$img")
cat "$WORK/data3" >> "$mnt/f"
rc3=$?
cat "$WORK/data2" "$WORK/data3" > "$WORK/data23"
ktap_check_all "remount read-only (exit $rc1, s_state $state1) and read-write again (exit $rc2, s_state $state2, s_mnt_count $count), then a 64 KiB append (exit $rc3)" \
	'[ $rc1 = 0 ] && [ "$state1" = 1 ] && [ $rc2 = 0 ] && [ "$state2" = 0 ] && [ "$count" = $((count0 + 2)) ] && [ $rc3 = 0 ] && cmp -s "$WORK/data23" "$mnt/f"'
umount "$mnt"
e2fsck -fn "$img" >/dev/null 2>&1
rc=$? state=$(sb_state "$img")
ktap_check_all "after umount: e2fsck -fn exits $rc (want 0), s_state $state (want 1: clean)" \
	'[ $rc = 0 ] && [ "$state" = 1 ]'
mount -t ext2 -o ro "$dev" "$mnt" && { cmp -s "$WORK/data23" "$mnt/f"; rc=$?; umount "$mnt"; } || rc=mount
ktap_check "the C ext2 reads back the 1 MiB and 64 KiB written after the remounts (cmp: $rc)" [ "$rc" = 0 ]
losetup -d "$dev"

# Without large_file, a read-write mount keeps files under 2 GiB (the C
# ext2 would set the feature instead): a remount read-write does too.
# (mke2fs always sets large_file: clear it, bit 1 of s_feature_ro_compat;
# without resize_inode, whose inode is a large file.)
img=$WORK/small-files.img
rm_mkfs "$img" 4096 16M "$src" -O ^resize_inode
$SYS poke "$img" 1124 I $(( $($SYS peek "$img" 1124 I) & ~0x2 ))
dev=$(rm_loop "$img")
err=$($SYS mount "$dev" "$mnt" rext2 ro)
mount -o remount,rw "$mnt"
rc=$?
past=$($SYS pwrite "$mnt/f" $((1 << 31)))
below=$($SYS pwrite "$mnt/f" $(((1 << 31) - 2)))
umount "$mnt"
rm_fsck "$img"
fsck=$?
ktap_check_all "without large_file, after remount read-write (mount $err, remount exit $rc): a write at 2 GiB fails with EFBIG (got $past), one below it succeeds (got $below), e2fsck -fn exits $fsck" \
	'[ "$err" = OK ] && [ $rc = 0 ] && [ "$past" = EFBIG ] && [ "$below" = OK ] && [ $fsck = 0 ]'
losetup -d "$dev"

# Read-write: a plain mke2fs image mounts read-write. An unknown RO_COMPAT
# feature (bit 31 of s_feature_ro_compat, byte 1024+100) refuses it, as in
# the C ext2 (ext2_fill_super: EINVAL; ext2_reconfigure: EROFS for a
# remount), while a read-only mount still works.
img=$WORK/rw.img
rm_mkfs "$img" 4096 16M
dev=$(rm_loop "$img")
err=$($SYS mount "$dev" "$mnt" rext2 rw)
[ "$err" = OK ] && umount "$mnt"
ktap_check "read-write mount of a plain image succeeds (got $err)" [ "$err" = OK ]
losetup -d "$dev"
cp "$img" "$WORK/journal.img"
$SYS poke "$img" 1124 I $(( $($SYS peek "$img" 1124 I) | 0x80000000 ))
dev=$(rm_loop "$img")
want=$($SYS mount "$dev" "$mnt" ext2 rw)
[ "$want" = OK ] && umount "$mnt"
try_mount "read-write, unknown RO_COMPAT feature (C ext2: $want)" "$want" "$dev" rw
mount -t ext2 -o ro "$dev" "$mnt" 2>/dev/null
want=$($SYS remount "$mnt" rw)
umount "$mnt" 2>/dev/null
err=$($SYS mount "$dev" "$mnt" rext2 ro)
ktap_check "read-only mount of the unknown RO_COMPAT image succeeds (got $err)" [ "$err" = OK ]
rm_mark
err=$($SYS remount "$mnt" rw)
ro=$(mount_mode)
ktap_check_all "unknown RO_COMPAT: remount read-write is refused like the C ext2's ($want): got $err, the mount stays $ro" \
	'[ "$err" = "$want" ] && [ "$want" = EROFS ] && [ "$ro" = ro ]'
ktap_check "unknown RO_COMPAT: remount read-write: one rext2 line (got $(rm_rext2_lines): $(rm_rext2_last))" [ "$(rm_rext2_lines)" = 1 ]
umount "$mnt"
losetup -d "$dev"

# A COMPAT feature rext2 does not write (has_journal, bit 2 of
# s_feature_compat, byte 1024+92) turns a read-write mount read-only (one
# warning), and a remount read-write is refused with EROFS (one line).
img=$WORK/journal.img
$SYS poke "$img" 1116 I $(( $($SYS peek "$img" 1116 I) | 0x4 ))
dev=$(rm_loop "$img")
rm_mark
err=$($SYS mount "$dev" "$mnt" rext2 rw)
ro=$(mount_mode)
lines=$(dmesg | tail -n +$((RM_MARK + 1)) | grep -c 'rext2:.*cannot be written')
rm_mark
err2=$($SYS remount "$mnt" rw)
ro2=$(mount_mode)
ktap_check_all "has_journal: a read-write mount ($err) stays read-only ($ro, $lines warning), remount read-write gives EROFS (got $err2), the mount stays $ro2" \
	'[ "$err" = OK ] && [ "$ro" = ro ] && [ "$lines" = 1 ] && [ "$err2" = EROFS ] && [ "$ro2" = ro ]'
ktap_check "has_journal: remount read-write: one rext2 line (got $(rm_rext2_lines): $(rm_rext2_last))" [ "$(rm_rext2_lines)" = 1 ]
[ "$err" = OK ] && umount "$mnt"
losetup -d "$dev"

ktap_finished
