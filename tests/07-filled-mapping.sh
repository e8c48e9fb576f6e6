#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A block mapper that returns data it filled itself (fs/mpage.c: get_block
# hands back an uptodate buffer) sends the folio to the buffer_head path; in
# 2022 that rarely used path crashed the C engine. The debug_filled_block
# module parameter makes the ext2 mapper claim block 5 of every file, and the
# file must still read correctly through read_folio (page faults without
# readahead), readahead, and mmap with readahead.
. "$(dirname "$0")/lib/rmpage.sh"

ktap_print_header
ktap_set_plan 6
rm_unload
insmod "$RMPAGE_KO" debug_filled_block=5
mnt=$WORK/mnt
mkdir -p "$mnt" "$WORK/filled-src"
head -c 1M /dev/urandom > "$WORK/filled-src/file"
want=$(sha256sum < "$WORK/filled-src/file")
img=$WORK/filled.img
rm_mkfs "$img" 1024 16M "$WORK/filled-src"
dev=$(rm_loop "$img" ro)
d=${dev#/dev/}
mount -t rext2 -o ro "$dev" "$mnt"

# read_folio only: with no readahead window, read(2) still reads ahead a
# page (page_cache_sync_ra's forced one-page readahead), but a page fault
# does not: filemap_fault creates the folio and calls read_folio on it.
echo 0 > /sys/block/$d/queue/read_ahead_kb
rm_drop_caches
got=$($SYS mmap_sha256 "$mnt/file")
fb1=$(rm_stat "$d" fallbacks)
ktap_check "read_folio path (page faults, no readahead): the file reads correctly" [ "$got" = "${want%% *}" ]
ktap_check "read_folio path: the filled block's folio took the buffer_head path ($fb1 fallbacks)" [ "$fb1" -ge 1 ]

echo 512 > /sys/block/$d/queue/read_ahead_kb
rm_drop_caches
got=$(sha256sum < "$mnt/file")
fb2=$(rm_stat "$d" fallbacks)
ktap_check "readahead path: the file reads correctly" [ "$got" = "$want" ]
ktap_check "readahead path: the filled block's folio took the buffer_head path ($((fb2 - fb1)) more)" [ "$fb2" -gt "$fb1" ]

rm_drop_caches
got=$($SYS mmap_sha256 "$mnt/file")
ktap_check "mmap with readahead reads the file correctly" [ "$got" = "${want%% *}" ]
umount "$mnt"
losetup -d "$dev"
ktap_check "rmmod after the test" rmmod rmpage
ktap_finished
