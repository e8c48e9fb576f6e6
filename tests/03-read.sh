#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Reading through rext2, cold cache, with both engines (rmpage's Rust engine
# and the kernel's C fs/mpage.c behind the same block mapper; the C engine
# at 1 and 4 KiB blocks): every file's sha256 equals its source and the
# in-kernel C ext2's; with rmpage's engine at 1 and 4 KiB blocks also
# through mmap and with 4 concurrent readers;
# listings and symlink targets match; the engine's counters show the paths
# it took.
. "$(dirname "$0")/lib/rmpage.sh"
MANIFEST="python3 $(dirname "$0")/lib/manifest.py"

ktap_print_header
ktap_set_plan 28
rm_load
src=$WORK/tree
rm -rf "$src"
python3 "$(dirname "$0")/lib/mktree.py" "$src"
$MANIFEST "$src" > "$WORK/want"
$MANIFEST "$src" --max-size 8388608 > "$WORK/want-small"
ktap_print_msg "fixture: $(wc -l < "$WORK/want") entries, $(du -sh --apparent-size "$src" | cut -f1) apparent"
mnt=$WORK/mnt
mkdir -p "$mnt"

param=/sys/module/rmpage/parameters/engine
for bs in 1024 2048 4096; do
	img=$WORK/read-$bs.img
	rm_mkfs "$img" $bs 256M "$src"
	dev=$(rm_loop "$img" ro)
	d=${dev#/dev/}
	# The peer: the in-kernel C ext2 on the same image.
	mount -t ext2 -o ro "$dev" "$mnt"
	rm_drop_caches
	$MANIFEST "$mnt" > "$WORK/ext2-$bs"
	umount "$mnt"
	ktap_check "bs $bs: C ext2 reads the fixture identical to its source" cmp -s "$WORK/want" "$WORK/ext2-$bs"

	# The C engine at 1 and 4 KiB only: its paths are the kernel's own,
	# and 2 KiB blocks add nothing to them that 1 and 4 do not.
	engines="rust c"
	[ $bs = 2048 ] && engines=rust
	for engine in $engines; do
		rm_mount_cold $engine "$dev" "$mnt"
		$MANIFEST "$mnt" > "$WORK/got"
		ktap_check "bs $bs, $engine engine: every file's sha256, size and symlink target equal the source" \
			cmp -s "$WORK/want" "$WORK/got"
		ktap_check "bs $bs, $engine engine: same bytes as the C ext2 mount" cmp -s "$WORK/ext2-$bs" "$WORK/got"
		# mmap and concurrent readers on everything but the 64 MiB file,
		# which read() has just covered, with rmpage's engine at the
		# smallest and the largest block size: TCG time is precious, and
		# the C engine's paths are the kernel's own.
		if [ $engine = rust ] && [ $bs != 2048 ]; then
			rm_drop_caches
			$MANIFEST "$mnt" --mmap --max-size 8388608 > "$WORK/got-mmap"
			ktap_check "bs $bs, $engine engine: mmap reads equal the source" \
				cmp -s "$WORK/want-small" "$WORK/got-mmap"
			rm_drop_caches
			for i in 1 2 3 4; do $MANIFEST "$mnt" --max-size 8388608 > "$WORK/conc-$i" & done
			wait
			ok=1
			for i in 1 2 3 4; do cmp -s "$WORK/want-small" "$WORK/conc-$i" || ok=0; done
			ktap_check "bs $bs, $engine engine: 4 concurrent cold readers all read the source's bytes" [ $ok = 1 ]
		fi
		if [ $engine = rust ]; then
			bios=$(rm_stat "$d" bios) boundary=$(rm_stat "$d" boundary_submits)
			holes=$(rm_stat "$d" hole_folios) errs=$(rm_stat "$d" read_errors)
			ktap_print_msg "bs $bs rust stats: $(tr '\n' ' ' < /sys/kernel/debug/rext2/$d/stats)"
			ktap_check_all "bs $bs: engine counted bios ($bios), boundary submits ($boundary), all-hole folios ($holes), no read errors ($errs)" \
				'[ "$bios" -gt 0 ] && [ "$boundary" -gt 0 ] && [ "$holes" -gt 0 ] && [ "$errs" = 0 ]'
		fi
		umount "$mnt"
	done
	losetup -d "$dev"
	ktap_check "bs $bs: e2fsck -fn clean after the reads" rm_fsck "$img"
done
echo rust > $param

# Fragmented on purpose, through the C ext2: two files appended in turns
# with a sync between (discontiguous blocks inside a folio), and files whose
# folios start with a hole and continue with data.
img=$WORK/frag.img
rm_mkfs "$img" 1024 64M
dev=$(rm_loop "$img")
mount -t ext2 "$dev" "$mnt"
python3 - "$mnt" <<'PY'
import os, sys, hashlib
top = sys.argv[1]
a = open(f"{top}/a", "wb"); b = open(f"{top}/b", "wb")
for i in range(600):
    for f, tag in ((a, b"a"), (b, b"b")):
        f.write(hashlib.sha256(tag + str(i).encode()).digest() * 48)  # 1536 bytes
        f.flush(); os.fsync(f.fileno())
a.close(); b.close()
# Large files in 48 KiB turns: every folio of 64 KiB or more straddles a
# discontinuity, so large folios must be read in pieces.
c = open(f"{top}/c", "wb"); d = open(f"{top}/d", "wb")
for i in range(100):
    for f, tag in ((c, b"c"), (d, b"d")):
        f.write(hashlib.sha256(tag + str(i).encode()).digest() * 1536)  # 48 KiB
        f.flush(); os.fsync(f.fileno())
c.close(); d.close()
for i in range(8):
    with open(f"{top}/hole-then-data-{i}", "wb") as f:
        for page in range(16):
            f.seek(page * 4096 + 1024 * (1 + i % 3))
            f.write(hashlib.sha256(bytes([i, page])).digest() * 32)
PY
rm_drop_caches
$MANIFEST "$mnt" > "$WORK/frag-want"
umount "$mnt"
ktap_check "fragmented image (built by C ext2) passes e2fsck -fn" rm_fsck "$img"
losetup -d "$dev"
dev=$(rm_loop "$img" ro)
d=${dev#/dev/}
echo 1024 > /sys/block/$d/queue/read_ahead_kb
for large in 1 0; do
	umount "$mnt" 2>/dev/null
	rm_unload
	insmod "$RMPAGE_KO" large_folios=$large
	mount -t rext2 -o ro "$dev" "$mnt"
	rm_drop_caches
	$MANIFEST "$mnt" > "$WORK/frag-got"
	ktap_check "fragmented image, large_folios=$large: rext2 reads what C ext2 wrote" \
		cmp -s "$WORK/frag-want" "$WORK/frag-got"
	fallbacks=$(rm_stat "$d" fallbacks) splits=$(rm_stat "$d" split_folios)
	ktap_print_msg "fragmented, large_folios=$large: $(tr '\n' ' ' < /sys/kernel/debug/rext2/$d/stats)"
	if [ $large = 1 ]; then
		ktap_check "large folios that mpage would give to buffer_heads are read in pieces ($splits split folios)" \
			[ "$splits" -ge 1 ]
	else
		ktap_check_all "page-sized folios: discontiguous and hole-then-data folios take the buffer_head path ($fallbacks fallbacks, $splits splits)" \
			'[ "$fallbacks" -ge 8 ] && [ "$splits" = 0 ]'
	fi
	umount "$mnt"
done
rm_unload
losetup -d "$dev"
ktap_finished
