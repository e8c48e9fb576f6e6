#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Bio parity: a cold sequential read of a contiguous 64 MiB file submits no
# more bios with rmpage's engine than with the kernel's C fs/mpage.c on the
# same image, and the engine's own counters agree with the block layer's
# block_bio_queue tracepoint. Then the same for writes: 64 MiB written into
# an empty file with fsync, on a fresh copy of one image for each of the
# three, submits no more write bios with rmpage's engine than with the C
# engine and the C ext2, and each image is e2fsck-clean with the bytes
# written; and 16 MiB written 4 KiB at a time (one-page folios) goes out in
# bios of 256 KiB or more, the Rust engine's having grown.
. "$(dirname "$0")/lib/rmpage.sh"

ktap_print_header
ktap_set_plan 13
rm_load
[ -d /sys/kernel/debug/tracing/events/block ] || ktap_exit_fail_msg "no block tracepoints"
src=$WORK/parity
mkdir -p "$src"
head -c 64M /dev/urandom > "$src/big"
want=$(sha256sum < "$src/big")
img=$WORK/parity.img
rm_mkfs "$img" 4096 128M "$src"
dev=$(rm_loop "$img" ro)
d=${dev#/dev/}
mnt=$WORK/mnt
mkdir -p "$mnt"
# Large readahead windows, so that bio size is the engine's choice.
echo 1024 > /sys/block/$d/queue/read_ahead_kb

# read_bios FSTYPE [data]: mount, read big cold, print "bios sha" for that
# read, and leave it mounted. The lookup of big comes before the traced read,
# so only the file's own bios (its data and indirect blocks) are counted;
# the engine's byte counter before the read goes to $WORK/bytes-before.
# With "data", the file's metadata stays cached and only its data is dropped
# before the traced read, so every traced bio is a data bio.
read_bios() {
	mount -t "$1" -o ro "$dev" "$mnt"
	rm_drop_caches
	if [ "${2:-}" = data ]; then
		cat "$mnt/big" > /dev/null
		python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$mnt/big"
	fi
	stat "$mnt/big" > /dev/null
	[ "$1" = ext2 ] || rm_stat "$d" bytes > "$WORK/bytes-before"
	local n
	n=$(rm_trace_bios "$dev" sh -c 'dd if="$1" bs=1M status=none | sha256sum > "$2"' sh \
		"$mnt/big" "$WORK/sha" | wc -l)
	echo "$n $(cut -d' ' -f1 "$WORK/sha")"
}

param=/sys/module/rmpage/parameters/engine
echo c > $param
read -r c_bios c_sha < <(read_bios rext2)
umount "$mnt"
echo rust > $param
read -r r_bios r_sha < <(read_bios rext2)
r_bytes=$(( $(rm_stat "$d" bytes) - $(cat "$WORK/bytes-before") )) r_fb=$(rm_stat "$d" fallbacks)
umount "$mnt"
read -r e_bios e_sha < <(read_bios ext2)
umount "$mnt"
# The engine's counter against the tracepoint, on data bios only: the
# counters are per mount, and this mount's first read warmed the metadata.
read -r traced _ < <(read_bios rext2 data)
all=$(rm_stat "$d" bios)
umount "$mnt"
mount -t rext2 -o ro "$dev" "$mnt"
rm_drop_caches
cat "$mnt/big" > /dev/null
warm=$(rm_stat "$d" bios)
umount "$mnt"
losetup -d "$dev"
counted=$((all - warm))

ktap_print_msg "cold 64 MiB read, read_ahead_kb 1024: bios rust $r_bios, c mpage $c_bios, C ext2 $e_bios"
ktap_check_all "all three reads return the file's bytes" \
	'[ "$r_sha" = "${want%% *}" ] && [ "$c_sha" = "${want%% *}" ] && [ "$e_sha" = "${want%% *}" ]'
ktap_check "rust engine submits no more bios than the C engine ($r_bios <= $c_bios)" [ "$r_bios" -le "$c_bios" ]
ktap_check "rust engine submits no more bios than the C ext2 ($r_bios <= $e_bios)" [ "$r_bios" -le "$e_bios" ]
ktap_check_all "engine counter matches the tracepoint on data bios ($counted counted, $traced traced)" \
	'[ "$counted" = "$traced" ] && [ "$traced" -gt 0 ]'
ktap_check "engine read the file exactly once ($r_bytes bytes)" [ "$r_bytes" = $((64 << 20)) ]
ktap_check "a contiguous file never takes the buffer_head path ($r_fb fallbacks)" [ "$r_fb" = 0 ]

# The write side. An image with an empty file to write into (rext2 cannot
# create files yet), copied fresh for each configuration.
wsrc=$WORK/parity-w
mkdir -p "$wsrc"
: > "$wsrc/empty"
rm_mkfs "$WORK/parity-w0.img" 4096 128M "$wsrc"
wimg=$WORK/parity-w.img

# data_bios TRACE IMAGE: how many of the traced write bios start in a data
# block of /empty (debugfs lists them), at 4 KiB blocks: the data bios, apart
# from the metadata each file system's fsync writes (rext2 also writes the
# bitmap and descriptor blocks its allocations changed, so that the image is
# e2fsck-clean at any crash after the fsync).
data_bios() {
	debugfs -R "blocks /empty" "$2" 2>/dev/null | python3 -c '
import sys
data = {int(b) for b in sys.stdin.read().split()}
n = 0
for line in open(sys.argv[1]):
    sector, _, rwbs = line.split()
    if "W" in rwbs and int(sector) // 8 in data:
        n += 1
print(n)' "$1"
}

# write_bios FSTYPE [BS COUNT]: mount a fresh copy read-write, write big (or
# its first COUNT blocks of BS bytes) into empty with fsync, tracing the
# write bios; unmount and print "data-bios all-bios sha fsck fallbacks
# splits grown" (the engine's counters for rext2, "-" otherwise), the sha
# read back through the C ext2.
write_bios() {
	local bs=${2:-1M} count=${3:-64}
	local wdev n all sha fsck fb=- sp=- gr=-
	cp "$WORK/parity-w0.img" "$wimg"
	wdev=$(rm_loop "$wimg")
	mount -t "$1" "$wdev" "$mnt"
	rm_drop_caches
	rm_trace_bios "$wdev" dd if="$src/big" of="$mnt/empty" bs="$bs" count="$count" conv=fsync,notrunc status=none \
		> "$WORK/wtrace"
	all=$(awk '$3 ~ /W/' "$WORK/wtrace" | wc -l)
	if [ "$1" = rext2 ]; then
		fb=$(rm_stat "${wdev#/dev/}" write_fallbacks) sp=$(rm_stat "${wdev#/dev/}" write_split_folios)
		gr=$(rm_stat "${wdev#/dev/}" bios_grown)
	fi
	umount "$mnt"
	n=$(data_bios "$WORK/wtrace" "$wimg")
	rm_fsck "$wimg" && fsck=clean || fsck=dirty
	mount -t ext2 -o ro "$wdev" "$mnt"
	sha=$(sha256sum < "$mnt/empty" | cut -d' ' -f1)
	umount "$mnt"
	losetup -d "$wdev"
	echo "$n $all $sha $fsck $fb $sp $gr"
}

# The fsync writes it all: under TCG the write takes longer than the 30 s
# after which the flusher would write the oldest pages itself, splitting a
# run where it stopped, on whichever file system happened to be slower.
vm=/proc/sys/vm
expire=$(cat $vm/dirty_expire_centisecs) period=$(cat $vm/dirty_writeback_centisecs)
echo 360000 > $vm/dirty_expire_centisecs
echo 0 > $vm/dirty_writeback_centisecs
echo c > $param
read -r wc_bios wc_all wc_sha wc_fsck _ < <(write_bios rext2)
echo rust > $param
read -r wr_bios wr_all wr_sha wr_fsck wr_fb wr_sp _ < <(write_bios rext2)
read -r we_bios we_all we_sha we_fsck _ < <(write_bios ext2)
# 16 MiB written 4 KiB at a time: one-page folios, and the Rust engine's
# bios start with room for 4 segments and grow when they fill; without the
# growth they would hold 16 KiB each (more only where pages happen to be
# adjacent in memory), where mpage's hold 1 MiB or more. How many bios
# either engine makes depends on that adjacency too, so the check is the
# engine's count of grown bios and a bound: 16 MiB in at most 64 bios.
echo c > $param
read -r sc_bios _ sc_sha sc_fsck _ < <(write_bios rext2 4k 4096)
echo rust > $param
read -r sr_bios _ sr_sha sr_fsck _ _ sr_grown < <(write_bios rext2 4k 4096)
swant=$(head -c 16M "$src/big" | sha256sum)
echo "$expire" > $vm/dirty_expire_centisecs
echo "$period" > $vm/dirty_writeback_centisecs
ktap_print_msg "64 MiB write+fsync: data write bios rust $wr_bios, c mpage $wc_bios, C ext2 $we_bios (all write bios: $wr_all, $wc_all, $we_all); rust engine: $wr_fb fallbacks, $wr_sp split folios"
ktap_check_all "all three writes put the file's bytes on disk, as the C ext2 reads them" \
	'[ "$wr_sha" = "${want%% *}" ] && [ "$wc_sha" = "${want%% *}" ] && [ "$we_sha" = "${want%% *}" ]'
ktap_check "e2fsck -fn is clean after each write (rust $wr_fsck, c $wc_fsck, C ext2 $we_fsck)" \
	[ "$wr_fsck$wc_fsck$we_fsck" = cleancleanclean ]
ktap_check_all "rust engine submits no more data write bios than the C engine ($wr_bios <= $wc_bios), and some" \
	'[ "$wr_bios" -gt 0 ] && [ "$wr_bios" -le "$wc_bios" ]'
ktap_check "rust engine submits no more data write bios than the C ext2 ($wr_bios <= $we_bios)" \
	[ "$wr_bios" -le "$we_bios" ]
ktap_check "a sequential write never takes the buffer_head path ($wr_fb fallbacks)" [ "$wr_fb" = 0 ]
ktap_check_all "16 MiB in 4 KiB writes + fsync: both engines put the bytes on disk (C ext2 reads them), e2fsck clean (rust $sr_fsck, c $sc_fsck)" \
	'[ "$sr_sha" = "${swant%% *}" ] && [ "$sc_sha" = "${swant%% *}" ] && [ "$sr_fsck$sc_fsck" = cleanclean ]'
ktap_check_all "16 MiB in 4 KiB writes + fsync: the rust engine's bios grew ($sr_grown) and average 256 KiB or more: data write bios rust $sr_bios <= 64 (c mpage $sc_bios)" \
	'[ "${sr_grown:-0}" -gt 0 ] && [ "$sr_bios" -gt 0 ] && [ "$sr_bios" -le 64 ]'

ktap_finished
