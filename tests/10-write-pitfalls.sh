#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Write-side bugs that fs/mpage.c, fs/buffer.c and the C ext2 already paid
# for (their numbers in /work/shared/notes/mpage-pitfalls.md in brackets),
# each checked on a read-write rext2 mount with the Rust engine doing the
# writeback (and the C engine too with RMPAGE_WPITFALLS_CONFIGS="rust c"),
# each ending with umount, e2fsck -fn,
# and the files compared with what the workload (tests/lib/pitfalls.py)
# computed from its seeds, or with the C ext2's read of the same image:
#  - sub-page writes into uncached pages, racing writeback and whole-page
#    reads under memory pressure, read back what was written [1];
#  - pages dirtied through mmap and cut off by truncate while sync runs
#    leak no block: the free counts agree with e2fsck [3];
#  - bytes stored through mmap past EOF in the last page never reach the
#    disk, and read as zeroes once the file is extended [11];
#  - indirect blocks freed while still dirty (a truncate right after a
#    write into the indirect range) are not written over their next
#    owner's data [12, 18];
#  - truncate zeroes the rest of the new last block on disk too, so an
#    extend shows zeroes, also where it falls inside a large folio [19];
#  - truncate racing block allocation by pwrite and mmap stores leaves the
#    block map and bitmaps consistent [21];
#  - a reader never sees zeroes inside what an appender has written [22];
#  - a mapper error in the middle of a dirty range stops neither the
#    writeback of the folios after it nor fsync's EIO, and leaves no folio
#    locked or under writeback (with debug_nobh, so that writeback maps
#    folios through the mapper at all) [15].
# Starting a process is what costs most in the test VM: one helper process
# serves every step (tests/lib/pitfalls.py serve), reading its files back
# itself, and each group's image is made once and copied for each engine.
. "$(dirname "$0")/lib/rmpage.sh"
# RMPAGE_WPITFALLS_CONFIGS (default "rust") picks the engines: the checks
# guard the Rust engine's writeback and rext2's allocation and truncate;
# "rust c" adds the C fs/mpage.c doing the writeback over the same rext2
# (09-write runs both engines at every block size).
read -r -a ENGINES <<< "${RMPAGE_WPITFALLS_CONFIGS:-rust}"

ktap_print_header
# Per engine: [1] 4, [3] 4, [11] 4 per block size (2), [12, 18] 4,
# [19] 5 per block size (2), [21] 3, [22] 4, [15] 5.
ktap_set_plan $((${#ENGINES[@]} * 42))
rm_load || ktap_exit_fail_msg "cannot load $RMPAGE_KO"
param=/sys/module/rmpage/parameters/engine
mnt=$WORK/mnt
src=$WORK/pitfall-src
img=$WORK/pitfall.img
mkdir -p "$mnt"
rm -rf "$src" "$WORK/helper.err" "$WORK"/stop-*
coproc PFS { exec python3 "$(dirname "$0")/lib/pitfalls.py" serve 2>> "$WORK/helper.err"; }

# run ARRAY COMMAND ARGS...: has the helper run COMMAND (see pitfalls.py)
# and reads its "[key]=value" words into the associative ARRAY, emptied
# first.
declare -A r c x
run() {
	local -n _res=$1
	local out=
	shift
	_res=()
	{ echo "$*" >&"${PFS[1]}" && IFS= read -r -t 300 out <&"${PFS[0]}"; } 2> /dev/null ||
		ktap_exit_fail_msg "no answer from the helper in 5 minutes to: $*"
	if [[ -z $out || $out == *"[error]="* ]]; then
		ktap_print_msg "helper failed: $*"
		tail -n 6 "$WORK/helper.err" | sed 's/^/#   /'
	fi
	eval "_res=($out)"
}

run r src "$src"
[ "${r[made]}" = "$src" ] || ktap_exit_fail_msg "cannot make the source files"
# The images, each made once and copied for each group and engine:
# base-NAME.img from $src/NAME (NAME up to a "-").
mkbase() { rm_mkfs "$WORK/base-$1.img" "${@:2:2}" "$src/${1%-*}" "${@:4}"; }
mkbase mid 1024 8M
mkbase small-1024 1024 4M
mkbase small-4096 4096 4M
mkbase full 1024 2M -m 0
mkbase long 1024 16M

# mount_rw ENGINE IMG: rext2 read-write on a loop device of IMG, ENGINE
# doing the I/O. ext2_mount IMG: the C ext2, read-only.
mount_rw() { echo "$1" > $param && mount -t rext2 -o loop "$2" "$mnt"; }
ext2_mount() { mount -t ext2 -o loop,ro "$1" "$mnt"; }

# check DESCRIPTION CONDITION: one test, passing if the shell CONDITION
# holds; on failure the last kernel lines that may tell why.
check() {
	if eval "$2"; then
		ktap_test_pass "$1"
	else
		ktap_test_fail "$1"
		dmesg | grep -E 'rext2|BUG|WARN|KASAN|Oops|error' | tail -n 8 | sed 's/^/# dmesg: /'
	fi
}

# fsck IMG: e2fsck -fn; sets fsck_rc, fsck_bad (its lines naming a
# problem: -n lets a wrong free count in the super block pass with exit 0)
# and fsck_blocks (its "used/total blocks"), and shows the problem lines.
fsck() {
	local line
	e2fsck -fn "$1" > "$WORK/fsck.out" 2>&1
	fsck_rc=$? fsck_bad=0 fsck_blocks=?
	while read -r line; do
		case ${line,,} in
		*wrong* | *differences* | *multiply* | *duplicate* | *illegal* | *bad* | *"should be"* | *unattached* | *deleted*)
			fsck_bad=$((fsck_bad + 1))
			[ $fsck_bad -le 8 ] && ktap_print_msg "e2fsck: $line" ;;
		esac
		[[ $line =~ ([0-9]+/[0-9]+)\ blocks ]] && fsck_blocks=${BASH_REMATCH[1]}
	done < "$WORK/fsck.out"
}
fsck_ok() { [ "$fsck_rc" = 0 ] && [ "$fsck_bad" = 0 ]; }

# umount_fsck NAME: one test: umount $mnt, e2fsck -fn $img is clean.
umount_fsck() {
	local rc=0
	umount "$mnt" || rc=$?
	fsck "$img"
	check "$1: umount (exit $rc), then e2fsck -fn exits $fsck_rc with $fsck_bad complaints ($fsck_blocks blocks used)" \
		'[ $rc = 0 ] && fsck_ok'
}

# Background loops for the races, stopped and waited for together.
loops_start() { stop=$WORK/stop-$((++nstop)) LOOPS=(); }
loop_bg() {
	(while [ ! -e "$stop" ]; do "$@" > /dev/null 2>&1; done) &
	LOOPS+=($!)
}
loops_stop() { : > "$stop"; wait "${LOOPS[@]}"; LOOPS=(); }
dropper() { echo 1 > /proc/sys/vm/drop_caches; sleep 0.1; }

# group_start NAME BASE: a fresh copy of base-BASE.img as $img; group_end:
# the group's time, and the Rust engine's counters of the last rext2 mount
# (r[stats]).
group_start() {
	name=$1 t0=$SECONDS
	run x copy "$WORK/base-$2.img" "$img"
}
group_end() {
	local st=
	[ "$e" = rust ] && st="; rust engine counters: ${r[stats]}"
	ktap_print_msg "$name: $((SECONDS - t0)) s$st"
}

# ------------------------------------------------------------------- [1]
# 1 KiB blocks, a 1 MiB file. A write of whole blocks into a page dropped
# from the cache leaves its folio not uptodate, with some buffers dirty and
# uptodate: freeing those buffers once the folio's bio is submitted (mpage's
# clean_buffers does not, for that reason) lets a read of the folio fetch
# all its blocks from disk, over the newer data if the write has not landed.
for e in "${ENGINES[@]}"; do
	group_start "sub-page writes ($e engine)" mid
	mount_rw "$e" "$img"
	loops_start
	loop_bg sync
	loop_bg dropper
	loop_bg dd if="$mnt/f" of=/dev/null bs=4096
	loop_bg cat "$mnt/f"
	run r subpage "$mnt" 5
	loops_stop
	check "$name: ${r[iters]} sub-page pwrites at 1 KiB blocks (${r[uncached]} into pages not in the cache), each followed by whole-page reads of its page and a random one, while sync, drop_caches, cat and dd loop: ${r[bad]} reads differ from the model (first: ${r[first]})" \
		'[ "${r[iters]:-0}" -ge 20 ] && [ "${r[uncached]:-0}" -ge 5 ] && [ "${r[bad]}" = 0 ]'
	check "$name: after sync and drop_caches the file reads as the model (sha256 ${r[got]:0:16}, want ${r[want]:0:16})" \
		'[ -n "${r[want]}" ] && [ "${r[got]}" = "${r[want]}" ]'
	umount_fsck "$name"
	ext2_mount "$img"
	run c digest "$mnt" f
	umount "$mnt"
	check "$name: the C ext2 reads the file as the model (sha256 ${c[f_sha]:0:16})" \
		'[ -n "${r[want]}" ] && [ "${c[f_sha]}" = "${r[want]}" ]'
	group_end
done

# ------------------------------------------------------------------- [3]
# Rounds of: extend to ~300 KiB, store into every page through a shared
# mapping (page_mkwrite allocates), unmap (the pages stay dirty), truncate
# to a random smaller size, while sync loops: writeback meets folios that
# truncate is cutting off. A block allocated for a folio wholly past EOF is
# counted used but belongs to no file.
for e in "${ENGINES[@]}"; do
	group_start "mmap stores cut by truncate ($e engine)" mid
	mount_rw "$e" "$img"
	loops_start
	loop_bg sync
	run r mmtrunc "$mnt" 4
	loops_stop
	check "$name: ${r[rounds]} rounds, ${r[stores]} stores, then sync and drop_caches: the file reads as the model (${r[gsize]} bytes, want ${r[size]}; sha256 ${r[got]:0:16}, want ${r[want]:0:16})" \
		'[ "${r[rounds]:-0}" -gt 0 ] && [ -n "${r[want]}" ] && [ "${r[got]}" = "${r[want]}" ] && [ "${r[gsize]}" = "${r[size]}" ]'
	umount_fsck "$name"
	ext2_mount "$img"
	run c digest "$mnt" "$img" m
	umount "$mnt"
	expect=$((${r[free0]:-0} - (${r[blocks1]:-0} - ${r[blocks0]:-0})))
	fsck_free=?
	[[ $fsck_blocks == */* ]] && fsck_free=$((${fsck_blocks#*/} - ${fsck_blocks%/*}))
	check "$name: free blocks: rext2's statfs ${r[free1]} before umount, the super block ${c[sbfree]}, e2fsck -fn $fsck_free (without a count found wrong), the C ext2's statfs ${c[statfs]} after remount, expected $expect (${r[free0]} at the start, the file went from ${r[blocks0]} to ${r[blocks1]} blocks)" \
		'[ "${r[free1]}" = $expect ] && [ "${c[sbfree]}" = $expect ] && [ $fsck_free = $expect ] && [ "${c[statfs]}" = $expect ] && fsck_ok'
	check "$name: the C ext2 reads the file as the model (sha256 ${c[m_sha]:0:16})" \
		'[ -n "${r[want]}" ] && [ "${c[m_sha]}" = "${r[want]}" ]'
	group_end
done

# ------------------------------------------------------------------ [11]
# A 10000-byte file: stores through a shared mapping of its last page,
# inside EOF and past it (0xaa, then 0x55), each followed by msync. The
# writeback must zero the folio past EOF each time: the bytes past EOF in
# the last block go to disk, and a truncate up that does not zero them
# (the C ext2's does not) shows them. At 1 KiB blocks the page also covers
# two blocks wholly past EOF, which must not be allocated.
for e in "${ENGINES[@]}"; do
	for bs in 1024 4096; do
		group_start "mmap stores past EOF ($e engine, $bs-byte blocks)" small-$bs
		mount_rw "$e" "$img"
		run r eofstore "$mnt"
		umount "$mnt"
		check "$name: stores inside EOF and over the ${r[past]} bytes past it, msync twice (returned ${r[msync]}); i_blocks ${r[blocks0]} before, ${r[blocks1]} after" \
			'[ "${r[msync]}" = 0,0 ] && [ -n "${r[blocks0]}" ] && [ "${r[blocks0]}" = "${r[blocks1]}" ]'
		# Remounted: the block on disk, then extended by rext2.
		mount_rw "$e" "$img"
		run x eofcheck "$mnt" 10000 16384 "$img"
		check "$name: remounted: on disk the ${x[rawlen]} bytes past EOF in block ${x[block]} hold ${x[rawnz]} nonzero bytes; extended to ${x[size]} bytes, bytes 10000 on hold ${x[readnz]} nonzero through read(), ${x[mmapnz]} through mmap; the first 10000 read as the model (${x[readsha]:0:16}, want ${r[want]:0:16})" \
			'[ "${x[rawnz]}" = 0 ] && [ "${x[readnz]}" = 0 ] && [ "${x[mmapnz]}" = 0 ] && [ -n "${r[want]}" ] && [ "${x[readsha]}" = "${r[want]}" ] && [ "${x[mmapsha]}" = "${r[want]}" ]'
		umount_fsck "$name"
		ext2_mount "$img"
		run c eofcheck "$mnt" 10000 0
		umount "$mnt"
		check "$name: the C ext2 reads the extended file (${c[size]} bytes): bytes 10000 on hold ${c[readnz]} nonzero through read(), ${c[mmapnz]} through mmap; the first 10000 as the model (${c[readsha]:0:16}, want ${r[want]:0:16})" \
			'[ "${c[readnz]}" = 0 ] && [ "${c[mmapnz]}" = 0 ] && [ -n "${r[want]}" ] && [ "${c[readsha]}" = "${r[want]}" ] && [ "${c[mmapsha]}" = "${r[want]}" ]'
		group_end
	done
done

# -------------------------------------------------------------- [12, 18]
# A 2 MiB image at 1 KiB blocks without reserved blocks: big is 12 KiB of
# data and a hole to 1.5 MiB; a write into its indirect range takes all but
# 40 free blocks (its single and double indirect blocks and the double's
# children are new and dirty), a truncate to 100017 bytes frees them at
# once, and other is appended to until ENOSPC, so it takes the freed
# blocks. An indirect block released with brelse rather than bforget, or a
# new block whose stale alias in the device's cache is not cleaned, is
# written later over other's data.
for e in "${ENGINES[@]}"; do
	group_start "freed indirect blocks reused ($e engine)" full
	mount_rw "$e" "$img"
	run r indtrunc "$mnt"
	check "$name: ${r[written]} bytes written into big's indirect range (free blocks ${r[free0]} -> ${r[free1]}), big truncated to 100017 bytes (-> ${r[free2]}), other appended to until ${r[err]} at ${r[osize]} bytes (-> ${r[free3]})" \
		'[ "${r[err]}" = ENOSPC ] && [ "${r[free2]}" -gt $((${r[free1]} + 1000)) ] && [ "${r[free3]}" -le 1 ]'
	check "$name: after sync and drop_caches big (${r[bgsize]} bytes, sha256 ${r[bgot]:0:16}) and other (${r[ogsize]} bytes, ${r[ogot]:0:16}) read as written (${r[bsize]}, ${r[bwant]:0:16}; ${r[osize]}, ${r[owant]:0:16})" \
		'[ -n "${r[bwant]}" ] && [ "${r[bgot]}" = "${r[bwant]}" ] && [ "${r[ogot]}" = "${r[owant]}" ] && [ "${r[bgsize]}" = "${r[bsize]}" ] && [ "${r[ogsize]}" = "${r[osize]}" ]'
	umount_fsck "$name"
	ext2_mount "$img"
	run c digest "$mnt" big other
	umount "$mnt"
	check "$name: the C ext2 reads big (${c[big_sha]:0:16}) and other (${c[other_sha]:0:16}) as written" \
		'[ -n "${r[bwant]}" ] && [ "${c[big_sha]}" = "${r[bwant]}" ] && [ "${c[other_sha]}" = "${r[owant]}" ]'
	group_end
done

# ------------------------------------------------------------------ [19]
# A 20000-byte pattern written over z1 and z2, z1's made durable by fsync,
# both cut to 5007 bytes, the caches dropped, both extended to 20000:
# bytes 5007 on must read zero, which for the rest of the block holding
# byte 5006 means it was zeroed on disk (block_truncate_page). And z3, 1
# MiB read cold, so that its pages sit in large folios without buffers,
# cut inside page 201 (never a folio's first): 7.3's block_truncate_page
# maps the wrong block there (it counts blocks from the page while walking
# buffers from the folio), zeroing and writing a later block of the file,
# which the cut frees, and leaving the cut-off bytes on disk.
for e in "${ENGINES[@]}"; do
	for bs in 1024 4096; do
		group_start "truncate zeroes the partial block ($e engine, $bs-byte blocks)" small-$bs
		mount_rw "$e" "$img"
		run r cut "$mnt"
		check "$name: written, cut to 5007, caches dropped, extended to 20000: read() gives the pattern then zeroes (sha256 ${r[read1]:0:16} fsynced first, ${r[read2]:0:16} not; want ${r[want]:0:16})" \
			'[ -n "${r[want]}" ] && [ "${r[read1]}" = "${r[want]}" ] && [ "${r[read2]}" = "${r[want]}" ]'
		check "$name: cold again, through mmap too (${r[mmap1]:0:16}, ${r[mmap2]:0:16})" \
			'[ -n "${r[want]}" ] && [ "${r[mmap1]}" = "${r[want]}" ] && [ "${r[mmap2]}" = "${r[want]}" ]'
		check "$name: a 1 MiB file read cold (its pages in large folios without buffers: page 201 a later page of one, ${r[tail3]}), cut inside page 201, synced, caches dropped, extended: the pattern then zeroes (sha256 ${r[read3]:0:16}, want ${r[want3]:0:16})" \
			'[ "${r[tail3]}" = 1 ] && [ -n "${r[want3]}" ] && [ "${r[read3]}" = "${r[want3]}" ]'
		umount_fsck "$name"
		ext2_mount "$img"
		run c cutcheck "$mnt" "$img"
		umount "$mnt"
		check "$name: on disk the ${c[rawlen]} bytes after byte 5006 in its block hold ${c[rawnz1]} (z1), ${c[rawnz2]} (z2) nonzero bytes; the C ext2 reads both files as the pattern then zeroes (${c[got1]:0:16}, ${c[got2]:0:16})" \
			'[ "${c[rawnz1]}" = 0 ] && [ "${c[rawnz2]}" = 0 ] && [ -n "${r[want]}" ] && [ "${c[got1]}" = "${r[want]}" ] && [ "${c[got2]}" = "${r[want]}" ]'
		group_end
	done
done

# ------------------------------------------------------------------ [21]
# For 10 seconds at 1 KiB blocks (indirect blocks from 12 KiB on): a
# truncater cuts the file to random sizes below 1 MiB, a storer writes
# through mappings of the current size (page_mkwrite allocates; a cut
# below a store ends it with SIGBUS, and a new storer starts), pwrites at
# random offsets extend it, sync loops. What the file then holds is not
# known in advance: the C ext2 must read what rext2 read.
for e in "${ENGINES[@]}"; do
	group_start "truncate racing allocation ($e engine)" long
	mount_rw "$e" "$img"
	loops_start
	loop_bg sync
	run r race "$mnt" 10 1048576
	loops_stop
	check "$name: ${r[truncates]} truncates, ${r[pwrites]} pwrites, ${r[rounds]} rounds of mmap stores (${r[sigbus]} storers ended by SIGBUS, ${r[failed]} failed otherwise); then the file reads (${r[gsize]} bytes, sha256 ${r[got]:0:16})" \
		'[ "${r[truncates]:-0}" -gt 0 ] && [ "${r[pwrites]:-0}" -gt 0 ] && [ "${r[rounds]:-0}" -gt 0 ] && [ "${r[failed]}" = 0 ] && [ -n "${r[got]}" ]'
	umount_fsck "$name (no block both used and free, no count wrong)"
	ext2_mount "$img"
	run c digest "$mnt" r
	umount "$mnt"
	check "$name: the C ext2 reads the file as rext2 did (${c[r_size]} bytes, sha256 ${c[r_sha]:0:16})" \
		'[ -n "${r[got]}" ] && [ "${c[r_sha]}" = "${r[got]}" ] && [ "${c[r_size]}" = "${r[gsize]}" ]'
	group_end
done

# ------------------------------------------------------------------ [22]
# For 5 seconds: an appender adds pieces of 1 to 7000 bytes of its data,
# publishing after each write returns the size it has written; a reader
# takes that, then the file's size (never less), and reads the last 64 KiB
# below the file's size, by pread and through a mapping: all of it must be
# the appender's data. sync and drop_caches loop, so the reader also reads
# back what writeback wrote.
for e in "${ENGINES[@]}"; do
	group_start "append and read ($e engine)" long
	mount_rw "$e" "$img"
	loops_start
	loop_bg sync
	loop_bg dropper
	run r append "$mnt" 5 4000000
	loops_stop
	check "$name: ${r[appends]} appends up to ${r[size]} bytes; ${r[reads]} preads and ${r[maps]} mmap reads of the 64 KiB below the file's size: ${r[bad]} differ from the appender's data, ${r[zeroes]} of them with zeroes (first: ${r[first]}); the size was below what the appender had written ${r[behind]} times" \
		'[ "${r[appends]:-0}" -ge 20 ] && [ "${r[reads]:-0}" -ge 5 ] && [ "${r[maps]:-0}" -ge 5 ] && [ "${r[bad]}" = 0 ] && [ "${r[behind]}" = 0 ]'
	check "$name: after sync and drop_caches the file holds what was appended (${r[gsize]} bytes, sha256 ${r[got]:0:16}; want ${r[size]}, ${r[want]:0:16})" \
		'[ -n "${r[want]}" ] && [ "${r[got]}" = "${r[want]}" ] && [ "${r[gsize]}" = "${r[size]}" ]'
	umount_fsck "$name"
	ext2_mount "$img"
	run c digest "$mnt" log
	umount "$mnt"
	check "$name: the C ext2 reads the file as appended (sha256 ${c[log_sha]:0:16})" \
		'[ -n "${r[want]}" ] && [ "${c[log_sha]}" = "${r[want]}" ]'
	group_end
done

# The helper ends at the end of its input.
pfs_pid=$PFS_PID pfs_in=${PFS[1]}
exec {pfs_in}>&-
wait "$pfs_pid"
rm -rf "$img" "$src" "$WORK"/base-*.img "$WORK"/stop-*
echo rust > $param

# ------------------------------------------------------------------ [15]
# A mapper error in the middle of a dirty range. rext2's write_begin leaves
# every written folio with mapped buffers, so writeback never asks the
# mapper; with debug_nobh a written folio gives its buffers up, as ext2's
# old nobh mode did, and writeback maps it (large_folios=0: one page per
# folio, as fs/mpage.c). A 1 MiB file at 1 KiB blocks, all of it allocated
# by mke2fs, is rewritten (no allocation), its single indirect block
# (blocks 12-267) dropped from the cache and made unreadable (a dm error
# target over its 2 sectors), and fsynced: the mapper fails for the 64
# folios over blocks 12-267, and writeback must still write the folios
# after them, report EIO once to each open file, and leave no folio locked
# or under writeback.
rm -rf "$WORK/p15-src"
mkdir -p "$WORK/p15-src"
python3 -S -c 'import sys; sys.path.insert(0, sys.argv[1]); from writeload import data; sys.stdout.buffer.write(data(1 << 20, "p15-old"))' \
	"$(dirname "$0")/lib" > "$WORK/p15-src/f"
rm_mkfs "$WORK/p15.img" 1024 4M "$WORK/p15-src"
ind=$(debugfs -R "stat /f" "$WORK/p15.img" 2> /dev/null | grep -o '(IND):[0-9]*' | head -n 1)
ind=${ind#(IND):}
[ -n "$ind" ] || ktap_exit_fail_msg "no single indirect block in the pitfall 15 image"
rm_unload
insmod "$RMPAGE_KO" debug_nobh=1 large_folios=0 || ktap_exit_fail_msg "cannot load $RMPAGE_KO debug_nobh=1"
export DM_DISABLE_UDEV=1
for e in "${ENGINES[@]}"; do
	name="mapper error mid-range ($e engine)" t0=$SECONDS
	cp "$WORK/p15.img" "$img"
	dev=$(rm_loop "$img")
	sectors=$(blockdev --getsz "$dev")
	# table BAD_TARGET: the device, with BAD_TARGET over the indirect block.
	table() {
		printf '0 %d linear %s 0\n%d 2 %s\n%d %d linear %s %d\n' \
			$((ind * 2)) "$dev" $((ind * 2)) "$1" $((ind * 2 + 2)) $((sectors - ind * 2 - 2)) "$dev" $((ind * 2 + 2))
	}
	table "linear $dev $((ind * 2))" | dmsetup create rmp15 || ktap_exit_fail_msg "dmsetup create failed"
	dmd=$(dmsetup info -c --noheadings -o blkdevname rmp15)
	echo "$e" > $param
	mount -t rext2 "/dev/$dmd" "$mnt"
	read -r r1 r2 r3 rd wb < <(timeout 300 python3 -S - "$mnt/f" "$(dirname "$0")/lib" "$(table error)" <<'PY'
import os, subprocess, sys, time
sys.path.insert(0, sys.argv[2])
from writeload import data, fsync_status as fsync
path, bad_table = sys.argv[1], sys.argv[3]
def dm(*args):
    subprocess.run(["dmsetup", *args], check=True, stdout=subprocess.DEVNULL)
new = data(1 << 20, "p15-new")
fd1 = os.open(path, os.O_RDWR)
fd2 = os.open(path, os.O_RDWR)
for off in range(0, 1 << 20, 65536):
    os.pwrite(fd1, new[off:off + 65536], off)
# The indirect block was read (clean) when write_begin mapped the blocks.
with open("/proc/sys/vm/drop_caches", "w") as f:
    f.write("3")
dm("suspend", "--nolockfs", "rmp15")
dm("load", "rmp15", "--table", bad_table)
dm("resume", "rmp15")
r1 = fsync(fd1)
r2 = fsync(fd2)
r3 = fsync(fd1)
# Every folio must be unlocked: a read of the whole file (from the cache)
# would wait forever on one left locked.
rd = "OK" if os.pread(fd1, 1 << 20, 0) == new else "DIFF"
wb = "?"
for _ in range(50):
    wb = next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("Writeback:"))
    if wb == "0":
        break
    time.sleep(0.1)
os.close(fd1)
os.close(fd2)
print(r1, r2, r3, rd, wb)
PY
	)
	if [ "$e" = rust ]; then
		maps=$(rm_stat "$dmd" write_map_calls) fbs=$(rm_stat "$dmd" write_fallbacks) wbios=$(rm_stat "$dmd" write_bios)
	fi
	table "linear $dev $((ind * 2))" | dmsetup load rmp15 && dmsetup suspend --nolockfs rmp15 && dmsetup resume rmp15
	check "$name: fsync returns EIO on the fd that wrote (got ${r1:-nothing: timed out}) and on a second fd (got $r2), then 0 (got $r3)" \
		'[ "$r1" = EIO ] && [ "$r2" = EIO ] && [ "$r3" = OK ]'
	check "$name: then the whole file reads from the cache (got $rd) and no page is under writeback (Writeback: $wb kB)" \
		'[ "$rd" = OK ] && [ "$wb" = 0 ]'
	if [ "$e" = rust ]; then
		check "$name: the engine mapped folios without buffers ($maps write mapper calls) and sent the 64 folios it could not map to the buffer_head path ($fbs fallbacks, $wbios write bios)" \
			'[ "${maps:-0}" -ge 64 ] && [ "${fbs:-0}" -ge 64 ] && [ "${wbios:-0}" -ge 1 ]'
	else
		ktap_test_skip "$name: the engine's counters" "the C engine has none"
	fi
	rc=0
	timeout 120 umount "$mnt" || rc=$?
	dmsetup remove rmp15
	losetup -d "$dev"
	fsck "$img"
	check "$name: umount (exit $rc), then e2fsck -fn exits $fsck_rc with $fsck_bad complaints" \
		'[ $rc = 0 ] && fsck_ok'
	read -r head mid tail < <(python3 -S - "$img" "$(dirname "$0")/lib" <<'PY'
import subprocess, sys
sys.path.insert(0, sys.argv[2])
from writeload import data
got = subprocess.run(["debugfs", "-R", "cat /f", sys.argv[1]], check=True, capture_output=True).stdout
old, new = data(1 << 20, "p15-old"), data(1 << 20, "p15-new")
def which(a, b):
    return "new" if got[a:b] == new[a:b] else "old" if got[a:b] == old[a:b] else "mixed"
print(which(0, 12 << 10), which(12 << 10, 268 << 10), which(268 << 10, 1 << 20))
PY
	)
	check "$name: on disk, the blocks before the indirect range hold the new data ($head), those it maps the old ($mid), and those after it the new ($tail): writeback went on past the error" \
		'[ "$head" = new ] && [ "$mid" = old ] && [ "$tail" = new ]'
	ktap_print_msg "$name: $((SECONDS - t0)) s"
done
rm_unload
rm -rf "$WORK/p15-src" "$WORK/p15.img" "$img"

ktap_finished
