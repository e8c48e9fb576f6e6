#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Read errors from the device (CONFIG_FAIL_MAKE_REQUEST on the loop device):
# the reader gets EIO, not zeroes; readahead stops at the first failed
# mapping instead of asking the mapper for every folio of a dead device; no
# folio stays locked; and once the fault is gone the same file reads
# correctly. A large folio read in pieces of which one fails (dm-error under
# that piece's blocks) is not uptodate: the reader gets EIO even for the
# bytes of the pieces that were read, and nothing of it is served until a
# read succeeds.
. "$(dirname "$0")/lib/rmpage.sh"

ktap_print_header
ktap_set_plan 14
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

# 3. One piece of a split folio fails. At 1 KiB blocks the file's block 268
# lies past its double indirect block and that block's first indirect
# block, so a large folio over blocks 256-271 (or more) is read in pieces;
# dm-error fails the device's sectors under blocks 268-271 only, the rest
# maps straight through.
sectors=$(blockdev --getsz "$dev")
pfirst=$(debugfs -R "bmap /file 268" "$img" 2>/dev/null)
plast=$(debugfs -R "bmap /file 271" "$img" 2>/dev/null)
[ "$((plast - pfirst))" = 3 ] || ktap_exit_fail_msg "blocks 268-271 of the file are not contiguous ($pfirst..$plast)"
bad=$((pfirst * 2))
table() { # table BAD_TARGET: linear around sectors bad..bad+7, BAD_TARGET on them
	printf '0 %d linear %s 0\n%d 8 %s\n%d %d linear %s %d\n' \
		"$bad" "$dev" "$bad" "$1" "$((bad + 8))" "$((sectors - bad - 8))" "$dev" "$((bad + 8))"
}
table error | dmsetup create rmsplit || ktap_exit_fail_msg "dmsetup create failed"
dmd=$(dmsetup info -c --noheadings -o blkdevname rmsplit)
dm=/dev/mapper/rmsplit
[ -b $dm ] || dm=/dev/$dmd
echo 4096 > /sys/block/$dmd/queue/read_ahead_kb
mount -t rext2 -o ro "$dm" "$mnt"
rm_drop_caches
splits0=$(rm_stat "$dmd" split_folios)
# read_at OFFSET LEN: reads LEN bytes from OFFSET in 16 KiB calls (so that
# readahead ramps up to large folios); prints OK if they equal the source's,
# else "ERRNO at OFFSET" of the first call that failed (or DIFF), within 2
# minutes (a folio left locked would hang it).
read_at() {
	timeout 120 python3 -c 'import errno, os, sys
path, src, off, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
want = open(src, "rb").read()
fd = os.open(path, os.O_RDONLY)
pos = off
while pos < off + n:
    try:
        got = os.pread(fd, min(16384, off + n - pos), pos)
    except OSError as e:
        print(errno.errorcode[e.errno], "at", pos)
        sys.exit()
    if not got or got != want[pos:pos + len(got)]:
        print("DIFF at", pos)
        sys.exit()
    pos += len(got)
print("OK")' "$mnt/file" "$WORK/ioerr-src/file" "$1" "$2"
}
first=$(read_at 0 1048576)
splits=$(( $(rm_stat "$dmd" split_folios) - splits0 ))
ktap_check_all "a split folio whose piece over blocks 268-271 fails gives the reader EIO at its start, 256 KiB, or before 268 KiB (got $first; $splits split folios)" \
	'[ "${first% at *}" = EIO ] && [ "${first#* at }" -ge 262144 ] && [ "${first#* at }" -lt 274432 ] && [ "$splits" -ge 1 ]'
again=$(read_at 262144 1024)
ktap_check "the bytes of its first piece (block 256), read fine, are not served either (got $again)" [ "$again" = "EIO at 262144" ]
later=$(read_at 2097152 65536)
ktap_check "folios away from it read correctly (got $later)" [ "$later" = OK ]
table "linear $dev $bad" | dmsetup load rmsplit && dmsetup suspend rmsplit && dmsetup resume rmsplit
healed=$(read_at 0 1048576)
ktap_check "once the device heals, the folio reads correctly (got $healed)" [ "$healed" = OK ]
ktap_check "umount after the split folio's failure succeeds" umount "$mnt"
dmsetup remove rmsplit
losetup -d "$dev"
ktap_check "e2fsck -fn is clean: nothing was written" rm_fsck "$img"
ktap_finished
