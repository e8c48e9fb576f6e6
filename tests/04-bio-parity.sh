#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Bio parity: a cold sequential read of a contiguous 64 MiB file submits no
# more bios with rmpage's engine than with the kernel's C fs/mpage.c on the
# same image, and the engine's own counters agree with the block layer's
# block_bio_queue tracepoint.
. "$(dirname "$0")/lib/rmpage.sh"

ktap_print_header
ktap_set_plan 6
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
ktap_check "all three reads return the file's bytes" \
	[ "$r_sha" = "${want%% *}" ] && [ "$c_sha" = "${want%% *}" ] && [ "$e_sha" = "${want%% *}" ]
ktap_check "rust engine submits no more bios than the C engine ($r_bios <= $c_bios)" [ "$r_bios" -le "$c_bios" ]
ktap_check "rust engine submits no more bios than the C ext2 ($r_bios <= $e_bios)" [ "$r_bios" -le "$e_bios" ]
ktap_check "engine counter matches the tracepoint on data bios ($counted counted, $traced traced)" \
	[ "$counted" = "$traced" ] && [ "$traced" -gt 0 ]
ktap_check "engine read the file exactly once ($r_bytes bytes)" [ "$r_bytes" = $((64 << 20)) ]
ktap_check "a contiguous file never takes the buffer_head path ($r_fb fallbacks)" [ "$r_fb" = 0 ]
ktap_finished
