#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Allocation failures (failslab, fail_page_alloc), aimed by the stacktrace
# filter at the call chains that pass through rmpage's text, swept
# deterministically with fail-nth (tests/lib/faults.py): each operation is
# run once with its 1st allocation under the module failing, once with its
# 2nd, and so on until it completes without reaching the N-th. Operations:
# a rw mount; cold reads through readahead and through read_folio alone, of
# a file whose large folios are read whole (mostly) and of one whose every
# large folio is read in pieces (split); the split readahead again with
# engine=c, as a baseline, with RMPAGE_FAULTS_CONFIGS="rust c"; an overwrite
# and a create, each with fsync
# (writeback). After every step the operation failed with a clean errno or
# did its work, what it read or wrote reads back cold, and it can be redone
# without faults; read_folio never gives ENOMEM (fs/mpage.c falls back to
# the buffer_head path, which allocates as it must, and so must the split
# path). The kernel log and kmemleak are judged for the whole run by
# tests/run-in-vm.sh.
. "$(dirname "$0")/lib/rmpage.sh"

ktap_print_header
c_sweep=0
[[ " ${RMPAGE_FAULTS_CONFIGS:-rust} " == *" c "* ]] && c_sweep=1
ktap_set_plan $((12 + c_sweep))
FAULTS="python3 $(dirname "${BASH_SOURCE[0]}")/lib/faults.py"
[ -e /sys/kernel/debug/failslab ] && [ -e /sys/kernel/debug/fail_page_alloc ] ||
	ktap_exit_fail_msg "no failslab or fail_page_alloc in this kernel"
rm_unload
insmod "$RMPAGE_KO" large_folios=1 || ktap_exit_fail_msg "cannot load $RMPAGE_KO"
mnt=$WORK/mnt
src=$WORK/faults-src
mkdir -p "$mnt" "$src"
head -c 256K /dev/urandom > "$src/plain"
head -c 48K /dev/urandom > "$src/whole"
head -c 64K /dev/urandom > "$src/new"
head -c 16K /dev/urandom > "$src/small"

# The image, made by the C ext2 at 4 KiB blocks: "plain" written alone
# (contiguous but for its indirect block at 48 KiB); "whole" (48 KiB, direct
# blocks only, contiguous: its folios are read whole); "frag" and "other"
# appended in turns of 12 KiB with a sync between, so that every large
# folio of "frag" spans blocks that are not contiguous and is read in
# pieces.
img=$WORK/faults.img
rm_mkfs "$img" 4096 32M
dev=$(rm_loop "$img")
d=${dev#/dev/}
mount -t ext2 "$dev" "$mnt"
cp "$src/plain" "$mnt/plain"
cp "$src/whole" "$mnt/whole"
python3 - "$mnt" "$src/frag" <<'PY'
import hashlib, os, sys
top, keep = sys.argv[1], sys.argv[2]
frag = open(f"{top}/frag", "wb"); other = open(f"{top}/other", "wb")
data = b""
for i in range(16):
    for f, tag in ((frag, b"f"), (other, b"o")):
        turn = hashlib.sha256(tag + str(i).encode()).digest() * 384  # 12 KiB
        f.write(turn)
        f.flush(); os.fsync(f.fileno())
        if f is frag:
            data += turn
frag.close(); other.close()
open(keep, "wb").write(data)
PY
head -c 64K /dev/urandom > "$src/over"
cp "$src/over" "$mnt/over"
umount "$mnt"
echo 1024 > /sys/block/$d/queue/read_ahead_kb

aimed=$($FAULTS aim rmpage)
ktap_print_msg "$aimed"
ktap_check "failslab and fail_page_alloc are aimed at rmpage's text by the stacktrace filter" \
	[ "${aimed#aimed at}" != "$aimed" ]

# sweep DESCRIPTION OP ARGS...: one test, passing if the sweep found
# injection points and no step went wrong; its tally goes to a '#' line.
start=$(date +%s)
sweep() {
	local desc=$1 out last t0=$(date +%s)
	shift
	out=$(timeout 300 $FAULTS sweep "$@" 2>&1)
	echo "$out" | grep '^#'
	last=$(echo "$out" | tail -n 1)
	ktap_print_msg "$1 $2: $last ($(( $(date +%s) - t0 ))s)"
	ktap_check_all "$desc ($last)" \
		'[ "${last#swept }" != "$last" ] && [ "${last##* bad }" = 0 ] && [ "$(echo "$last" | cut -d" " -f2)" -gt 0 ]'
}

echo rust > /sys/module/rmpage/parameters/engine
sweep "mount (rw, engine=rust) fails cleanly at every allocation under rmpage, leaves nothing mounted, and mounts and reads back once it succeeds" \
	mount "$dev" "$mnt" whole "$src/whole"
mount -t rext2 "$dev" "$mnt" || ktap_exit_fail_msg "cannot mount $dev"
sweep "cold readahead of a mostly contiguous file: the reader gets the data or a clean errno, and it reads back cold" \
	read readahead "$dev" "$mnt" plain "$src/plain"
sweep "cold readahead of a file read in split folios: the reader gets the data or a clean errno, and it reads back cold" \
	read readahead "$dev" "$mnt" frag "$src/frag"
out=$(timeout 300 $FAULTS sweep read read_folio "$dev" "$mnt" whole "$src/whole" 2>&1)
echo "$out" | grep '^#'
last=$(echo "$out" | tail -n 1)
ktap_check_all "read_folio of large folios read whole: an allocation failure falls back to buffer_heads, never ENOMEM; right data, reads back cold ($last)" \
	'[ "${last#swept }" != "$last" ] && [ "${last##* bad }" = 0 ] && [ "$(echo "$last" | cut -d" " -f2)" -gt 0 ]'
out=$(timeout 300 $FAULTS sweep read read_folio "$dev" "$mnt" frag "$src/frag" 2>&1)
echo "$out" | grep '^#'
last=$(echo "$out" | tail -n 1)
splits=$(echo "$out" | sed -n 's/.*split_folios \([0-9]*\).*/\1/p')
ktap_check_all "read_folio of split large folios: an allocation failure falls back to buffer_heads as for whole folios, never ENOMEM; right data ($last)" \
	'[ "${last#swept }" != "$last" ] && [ "${last##* bad }" = 0 ] && [ "$(echo "$last" | cut -d" " -f2)" -gt 0 ]'
ktap_check "the read_folio sweep did read large folios in pieces ($splits split folios)" [ "${splits:-0}" -gt 0 ]
# The C engine (fs/mpage.c under rext2's address space operations) as the
# baseline, with RMPAGE_FAULTS_CONFIGS="rust c": the same sweep of the
# split file.
umount "$mnt"
if [[ " ${RMPAGE_FAULTS_CONFIGS:-rust} " == *" c "* ]]; then
	echo c > /sys/module/rmpage/parameters/engine
	mount -t rext2 "$dev" "$mnt" || ktap_exit_fail_msg "cannot mount $dev"
	sweep "engine=c, cold readahead of the split file: the reader gets the data or a clean errno, and it reads back cold" \
		read readahead "$dev" "$mnt" frag "$src/frag"
	umount "$mnt"
	echo rust > /sys/module/rmpage/parameters/engine
fi
mount -t rext2 "$dev" "$mnt" || ktap_exit_fail_msg "cannot mount $dev"
sweep "overwrite + fsync (writeback of allocated blocks): a clean errno or done, redone without faults, reads back cold" \
	write "$mnt" over "$src/over"
sweep "create + write + fsync (block and inode allocation, writeback): a clean errno or done, redone without faults, reads back cold" \
	create "$mnt" small "$src/small"
ktap_print_msg "sweeps took $(( $(date +%s) - start ))s"
$FAULTS unaim
ktap_check "umount after the sweeps succeeds" umount "$mnt"
losetup -d "$dev"
ktap_check "e2fsck -fn is clean after the failed mounts, reads and writes" rm_fsck "$img"
left=$(cat /sys/kernel/debug/failslab/probability /sys/kernel/debug/fail_page_alloc/probability \
	/proc/thread-self/fail-nth | tr '\n' ' ')
ktap_check "nothing is left armed (failslab, fail_page_alloc probability, fail-nth: $left)" \
	[ "$left" = "0 0 0 " ]
rm_unload
ktap_finished
