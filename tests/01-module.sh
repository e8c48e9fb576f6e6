#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Loading and unloading rmpage: the filesystem type appears and goes, and the
# module cannot go while a rext2 filesystem is mounted.
. "$(dirname "$0")/lib/rmpage.sh"

ktap_print_header
ktap_set_plan 7
rm_unload

ok=1
for i in $(seq 10); do
	insmod "$RMPAGE_KO" || { ok=0; break; }
	grep -qw rext2 /proc/filesystems || { ok=0; break; }
	rmmod rmpage || { ok=0; break; }
	! grep -qw rext2 /proc/filesystems || { ok=0; break; }
done
ktap_check "insmod/rmmod x10: rext2 registered after each load, gone after each unload" [ $ok = 1 ]

rm_load
ktap_check "/proc/filesystems lists rext2 as a block-device filesystem" \
	grep -qxP '\trext2' /proc/filesystems

img=$WORK/mod.img
rm_mkfs "$img" 4096 16M
dev=$(rm_loop "$img" ro)
mkdir -p "$WORK/mnt"
ktap_check "mount -t rext2 -o ro $dev" mount -t rext2 -o ro "$dev" "$WORK/mnt"

# delete_module() with a held module reference returns EWOULDBLOCK (EAGAIN),
# which kmod's rmmod reports as "in use": the mount pins the module.
err=$($SYS delete_module rmpage)
ktap_check "delete_module while mounted fails with EAGAIN/EWOULDBLOCK (got $err)" [ "$err" = EAGAIN ]
ktap_check "rmmod while mounted fails and the filesystem stays usable" \
	bash -c "! rmmod rmpage 2>/dev/null && ls $WORK/mnt/lost+found >/dev/null"

umount "$WORK/mnt"
losetup -d "$dev"
ktap_check "rmmod after umount succeeds" rmmod rmpage
ktap_check "rext2 is gone from /proc/filesystems" bash -c "! grep -qw rext2 /proc/filesystems"
ktap_finished
