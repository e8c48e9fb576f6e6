#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Mounting mke2fs images of each block size, and refusing what rext2 cannot
# serve: each refusal has its errno and exactly one "rext2:" line in dmesg.
. "$(dirname "$0")/lib/rmpage.sh"

ktap_print_header
ktap_set_plan 30
rm_load
mnt=$WORK/mnt
mkdir -p "$mnt"

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
done

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
ro=$(awk -v m="$mnt" '$2 == m { print $4 }' /proc/mounts | cut -d, -f1)
same=0
[ "$err" = "$want" ] && [ "$ro" = ro ] && same=1
ktap_check "remount read-write is refused like the C ext2's ($want): got $err, the mount stays $ro" [ $same = 1 ]
ktap_check "remount read-write: one rext2 line (got $(rm_rext2_lines): $(rm_rext2_last))" [ "$(rm_rext2_lines)" = 1 ]
umount "$mnt"
losetup -d "$dev"

ktap_finished
