#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Read-side bugs that fs/mpage.c and fs/buffer.c already paid for, each
# checked on rext2 with both engines (rmpage's and the kernel's C mpage
# behind the same mapper):
#  - BH_Boundary: the data before an indirect block goes to disk before the
#    indirect block is read, and that before the data after it;
#  - readahead bios carry REQ_RAHEAD;
#  - with large folios, the bytes past EOF in the last page read as zeroes
#    through mmap (zeroing once covered a page, not the folio);
#  - a large folio with a hole at every other block reads correctly and
#    nothing hangs (the buffer_head path once unlocked such folios wrongly);
#  - a file whose last block is the last block of a device whose size is
#    not a multiple of the page size reads without a bio past the end.
. "$(dirname "$0")/lib/rmpage.sh"

ktap_print_header
ktap_set_plan 21
rm_load
[ -d /sys/kernel/debug/tracing/events/block ] || ktap_exit_fail_msg "no block tracepoints"
param=/sys/module/rmpage/parameters/engine
mnt=$WORK/mnt
mkdir -p "$mnt"

# traced_read ENGINE DEV WANT BIOS: mount DEV cold with ENGINE, look the
# file f up, then read it with its bios traced into BIOS; sets bytes_ok to
# 1 if it read as WANT (its sha256).
traced_read() {
	rm_mount_cold "$1" "$2" "$mnt"
	stat "$mnt/f" > /dev/null # the inode, not the indirect blocks
	rm_trace_bios "$2" cat "$mnt/f" > "$4"
	bytes_ok=0
	[ "$(sha256sum < "$mnt/f")" = "$3" ] && bytes_ok=1
	umount "$mnt"
}

# bio_of BIOS SECTORS_PER_BLOCK BLOCK...: the index in BIOS of the bio that
# reads each device BLOCK (None if none does), then the number of bios.
bio_of() {
	awk -v per="$2" -v blocks="${*:3}" '
		{ s[NR - 1] = $1; n[NR - 1] = $2 }
		END {
			k = split(blocks, b, " ")
			for (j = 1; j <= k; j++) {
				at = "None"
				for (i = 0; i < NR; i++)
					if (s[i] <= b[j] * per && b[j] * per < s[i] + n[i]) { at = i; break }
				printf "%s ", at
			}
			print NR
		}' "$1"
}

# 1. BH_Boundary and REQ_RAHEAD: a 64 KiB file on 1 KiB blocks, whose
# logical block 12 is the first one mapped through the indirect block.
src=$WORK/pitfall-boundary
rm -rf "$src" && mkdir -p "$src"
head -c 64K /dev/urandom > "$src/f"
want=$(sha256sum < "$src/f")
img=$WORK/pitfall-boundary.img
rm_mkfs "$img" 1024 8M "$src"
blk11=$(debugfs -R "bmap /f 11" "$img" 2>/dev/null)
blk12=$(debugfs -R "bmap /f 12" "$img" 2>/dev/null)
ind=$(debugfs -R "stat /f" "$img" 2>/dev/null | grep -o '(IND):[0-9]*' | head -n1 | cut -d: -f2)
ktap_print_msg "data block 11 at $blk11, indirect block at $ind, data block 12 at $blk12"
dev=$(rm_loop "$img" ro)
for engine in rust c; do
	traced_read $engine "$dev" "$want" "$WORK/bios-$engine"
	ktap_check "$engine engine: the file reads back correctly" [ $bytes_ok = 1 ]
	read -r i11 iind i12 n <<< "$(bio_of "$WORK/bios-$engine" 2 "$blk11" "$ind" "$blk12")"
	ktap_print_msg "$engine engine: $n bios; block 11 in bio $i11, indirect block in bio $iind, block 12 in bio $i12"
	ktap_check_all "$engine engine: blocks 0-11 go to disk before the indirect block is read, and it before block 12" \
		'[ "$i11" != None ] && [ "$iind" != None ] && [ "$i12" != None ] &&
		[ "$i11" -lt "$iind" ] && [ "$iind" -lt "$i12" ]'
	# Every bio but the indirect block's read is readahead data.
	ra=$(awk -v ind=$((ind * 2)) '$1 != ind && $3 !~ /A/' "$WORK/bios-$engine" | wc -l)
	ktap_check_all "$engine engine: every data bio of the readahead carries REQ_RAHEAD ($ra without)" \
		'[ "$ra" = 0 ] && [ -s "$WORK/bios-$engine" ]'
done
losetup -d "$dev"

# 1b. A boundary inside a large folio: 4 KiB blocks, where the single
# indirect array ends at block 1035 (4140 KiB into the file) and the next
# block needs the double indirect block and one of its indirect blocks. A
# large folio around it is split there by the rust engine, so the data
# before the boundary still goes out first; the C engine reads the folio
# through buffer_heads after mapping past the boundary, so it reads the
# metadata first: that order shows the boundary did fall inside a folio.
src=$WORK/pitfall-boundary4k
rm -rf "$src" && mkdir -p "$src"
head -c 6M /dev/urandom > "$src/f"
want=$(sha256sum < "$src/f")
img=$WORK/pitfall-boundary4k.img
rm_mkfs "$img" 4096 16M "$src"
b1035=$(debugfs -R "bmap /f 1035" "$img" 2>/dev/null)
b1036=$(debugfs -R "bmap /f 1036" "$img" 2>/dev/null)
dind=$(debugfs -R "stat /f" "$img" 2>/dev/null | grep -o '(DIND):[0-9]*' | cut -d: -f2)
ktap_print_msg "data block 1035 at $b1035, double indirect block at $dind, data block 1036 at $b1036"
dev=$(rm_loop "$img" ro)
echo 1024 > "/sys/block/${dev#/dev/}/queue/read_ahead_kb"
for engine in rust c; do
	traced_read $engine "$dev" "$want" "$WORK/bios4k-$engine"
	read -r i1035 idind i1036 n <<< "$(bio_of "$WORK/bios4k-$engine" 8 "$b1035" "$dind" "$b1036")"
	ktap_print_msg "$engine engine: $n bios; block 1035 in bio $i1035, double indirect block in bio $idind, block 1036 in bio $i1036"
	if [ $engine = rust ]; then
		ktap_check_all "rust engine, large folios: the file reads back correctly; block 1035 goes to disk before the double indirect block is read, and it before block 1036" \
			'[ $bytes_ok = 1 ] && [ "$i1035" != None ] && [ "$idind" != None ] && [ "$i1036" != None ] &&
			[ "$i1035" -lt "$idind" ] && [ "$idind" -lt "$i1036" ]'
	else
		ktap_check_all "c engine: the file reads back correctly; the boundary fell inside a large folio (the double indirect block was read before block 1035)" \
			'[ $bytes_ok = 1 ] && [ "$i1035" != None ] && [ "$idind" != None ] && [ "$idind" -lt "$i1035" ]'
	fi
done
losetup -d "$dev"

# 2. Bytes past EOF with large folios: odd sizes on 1 KiB blocks, read
# cold with a large readahead window (large folios), then the tail of each
# file's last page looked at through mmap.
src=$WORK/pitfall-eof
rm -rf "$src" && mkdir -p "$src"
for n in 1 4097 65537 200003 1048583 3145829; do head -c $n /dev/urandom > "$src/f$n"; done
img=$WORK/pitfall-eof.img
rm_mkfs "$img" 1024 16M "$src"
dev=$(rm_loop "$img" ro)
d=${dev#/dev/}
echo 1024 > /sys/block/$d/queue/read_ahead_kb
for engine in rust c; do
	rm_mount_cold $engine "$dev" "$mnt"
	cat "$mnt"/f* > /dev/null
	bad=$(python3 - "$mnt"/f* <<-'PY'
		import ctypes, mmap, os, sys
		libc = ctypes.CDLL(None, use_errno=True)
		libc.mmap.restype = ctypes.c_void_p
		libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
		                      ctypes.c_int, ctypes.c_int, ctypes.c_long]
		libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
		page = mmap.PAGESIZE
		bad = []
		for path in sys.argv[1:]:
		    fd = os.open(path, os.O_RDONLY)
		    size = os.fstat(fd).st_size
		    length = (size + page - 1) // page * page
		    addr = libc.mmap(None, length, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
		    tail = ctypes.string_at(addr + size, length - size)
		    if tail.count(0) != len(tail):
		        bad.append(os.path.basename(path))
		    libc.munmap(addr, length)
		    os.close(fd)
		print(" ".join(bad))
	PY
	)
	ktap_check "$engine engine: past EOF, the last page of every odd-sized file reads as zeroes through mmap (bad: ${bad:-none})" \
		[ -z "$bad" ]
	if [ $engine = rust ]; then
		folios=$(rm_stat "$d" folios) bytes=$(rm_stat "$d" bytes)
		ktap_check_all "rust engine: the reads used large folios ($bytes bytes in $folios folios)" \
			'[ "$folios" -gt 0 ] && [ "$bytes" -gt $((folios * 4096)) ]'
	fi
	umount "$mnt"
done
losetup -d "$dev"

# 3. Holes at every other block, written through the C ext2 on 1 KiB
# blocks: a large folio is then 64 pieces of one block, half of them holes,
# and all the data blocks are adjacent on disk.
img=$WORK/pitfall-alt.img
rm_mkfs "$img" 1024 16M
dev=$(rm_loop "$img")
mount -t ext2 "$dev" "$mnt"
gen='
import hashlib, sys
def content(name, odd):
    out = bytearray(512 * 1024)
    for b in range(1 if odd else 0, 512, 2):
        out[b * 1024:(b + 1) * 1024] = hashlib.sha256(f"{name}{b}".encode()).digest() * 32
    return bytes(out)
'
python3 -c "$gen"'
top = sys.argv[1]
for name, odd in (("even", False), ("odd", True)):
    data = content(name, odd)
    with open(f"{top}/{name}", "wb") as f:
        for b in range(1 if odd else 0, 512, 2):
            f.seek(b * 1024)
            f.write(data[b * 1024:(b + 1) * 1024])
        f.truncate(len(data))
' "$mnt"
umount "$mnt"
losetup -d "$dev"
want=$(python3 -c "$gen"'
for name, odd in (("even", False), ("odd", True)):
    print(name, hashlib.sha256(content(name, odd)).hexdigest())
')
dev=$(rm_loop "$img" ro)
d=${dev#/dev/}
echo 1024 > /sys/block/$d/queue/read_ahead_kb
# shas DIR: "name sha" of the two files, each read within 2 minutes.
shas() {
	local f
	for f in even odd; do echo "$f $(timeout 120 sha256sum < "$1/$f" | cut -d' ' -f1)"; done
}
mount -t ext2 -o ro "$dev" "$mnt"
rm_drop_caches
ktap_check "C ext2 reads the files with a hole at every other block as written" \
	[ "$(shas "$mnt")" = "$want" ]
umount "$mnt"
for engine in rust c; do
	rm_mount_cold $engine "$dev" "$mnt"
	ktap_check "$engine engine: a hole at every other block reads correctly, without a hang" \
		[ "$(shas "$mnt")" = "$want" ]
	if [ $engine = rust ]; then
		splits=$(rm_stat "$d" split_folios)
		ktap_check "rust engine: large folios were read in pieces ($splits split folios)" \
			[ "$splits" -gt 0 ]
	fi
	umount "$mnt"
done
losetup -d "$dev"
ktap_check "the image with alternating holes passes e2fsck -fn" rm_fsck "$img"

# 4. The end of the device: 12291 KiB is 3 KiB past a page boundary, and a
# file sized to fill the file system exactly ends in its last block.
src=$WORK/pitfall-end
rm -rf "$src" && mkdir -p "$src"
head -c $((11358 * 1024 - 100)) /dev/urandom > "$src/f"
want=$(sha256sum < "$src/f")
img=$WORK/pitfall-end.img
rm_mkfs "$img" 1024 12291k "$src"
last=$(debugfs -R "bmap /f 11357" "$img" 2>/dev/null)
bytes=$(stat -c %s "$img")
ktap_check_all "the file's last block ($last) is the device's last ($((bytes / 1024 - 1))), which ends $((bytes % 4096)) bytes into a page" \
	'[ "$last" = $((bytes / 1024 - 1)) ] && [ $((bytes % 4096)) != 0 ]'
dev=$(rm_loop "$img" ro)
d=${dev#/dev/}
mount -t ext2 -o ro "$dev" "$mnt"
rm_drop_caches
ktap_check "C ext2 reads the file at the end of the device" [ "$(sha256sum < "$mnt/f")" = "$want" ]
umount "$mnt"
for engine in rust c; do
	rm_mount_cold $engine "$dev" "$mnt"
	ktap_check "$engine engine: the file at the end of the device reads back correctly" \
		[ "$(sha256sum < "$mnt/f")" = "$want" ]
	[ $engine = rust ] && errs=$(rm_stat "$d" read_errors)
	umount "$mnt"
done
ktap_check "rust engine: no read errors at the end of the device ($errs)" [ "$errs" = 0 ]
losetup -d "$dev"
echo rust > $param
ktap_finished
