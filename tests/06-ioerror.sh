#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Read errors from the device (CONFIG_FAIL_MAKE_REQUEST on the loop device):
# the reader gets EIO, not zeroes; readahead stops at the first failed
# mapping instead of asking the mapper for every folio of a dead device; no
# folio stays locked; and once the fault is gone the same file reads
# correctly.
. "$(dirname "$0")/lib/rmpage.sh"

ktap_print_header
ktap_set_plan 9
rm_load
fi=/sys/kernel/debug/fail_make_request
[ -d $fi ] || ktap_exit_fail_msg "no fail_make_request in this kernel"
mnt=$WORK/mnt
mkdir -p "$mnt" "$WORK/ioerr-src"
head -c 8M /dev/urandom > "$WORK/ioerr-src/file"
img=$WORK/ioerr.img
rm_mkfs "$img" 1024 32M "$WORK/ioerr-src"
dev=$(rm_loop "$img" ro)
d=${dev#/dev/}
echo 4096 > /sys/block/$d/queue/read_ahead_kb
echo rust > /sys/module/rmpage/parameters/engine
mount -t rext2 -o ro "$dev" "$mnt"

fault() {
	echo 100 > $fi/probability
	echo -1 > $fi/times
	echo 0 > $fi/verbose
	echo 1 > /sys/block/$d/make-it-fail
}
no_fault() { echo 0 > /sys/block/$d/make-it-fail; }
want=$(sha256sum < "$WORK/ioerr-src/file")
# reads_back: the file read through rext2 (within 2 minutes: a folio left
# locked would hang it) equals its source.
reads_back() { [ "$(timeout 120 sha256sum < "$mnt/file")" = "$want" ]; }

# 1. The device fails before anything is cached: the first indirect block
# cannot be read, the mapper fails, and readahead stops there.
rm_drop_caches
stat "$mnt/file" > /dev/null # the inode (and its direct blocks) stays cached
calls0=$(rm_stat "$d" map_calls)
fault
err=$(timeout 120 $SYS read "$mnt/file")
no_fault
calls=$(( $(rm_stat "$d" map_calls) - calls0 ))
ktap_check "read from a failing device returns EIO (got $err)" [ "$err" = EIO ]
ktap_check_all "readahead stopped at the failed mapping: $calls mapper calls for 8 MiB of 1 KiB blocks" \
	'[ "$calls" -ge 1 ] && [ "$calls" -le 16 ]'
ktap_check "after the fault is gone the file reads back correctly (no folio left locked)" reads_back

# 2. Metadata cached, data not: the bios themselves fail.
python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$mnt/file"
errs0=$(rm_stat "$d" read_errors)
fault
err=$(timeout 120 $SYS read "$mnt/file")
no_fault
errs=$(( $(rm_stat "$d" read_errors) - errs0 ))
ktap_check "failed data bios give the reader EIO, not zeroes (got $err)" [ "$err" = EIO ]
ktap_check "the engine counted the failed bios ($errs read errors)" [ "$errs" -ge 1 ]
ktap_check "after the fault is gone the file reads back correctly again" reads_back
err=$(timeout 60 $SYS read "$mnt/file")
ktap_check "a cached read after recovery still succeeds (got $err)" [ "$err" = OK ]
ktap_check "umount after I/O errors succeeds" umount "$mnt"
losetup -d "$dev"
ktap_check "e2fsck -fn is clean: nothing was written" rm_fsck "$img"
ktap_finished
