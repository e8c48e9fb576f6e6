#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Writing file data through rext2, at 1, 2 and 4 KiB blocks, with each
# engine doing the writeback (engine=rust, engine=c) and with the in-kernel
# C ext2 as the peer, all from the same mke2fs -d image: overwrites at
# unaligned offsets, appends, extends with holes, writes across the single,
# double and triple indirect starts and past 4 GiB, truncate down and up,
# mmap stores with msync, O_SYNC writes, a write+fsync loop, concurrent
# writers (tests/lib/writeload.py). Each file must then equal the same
# operations done on plain files in tmpfs (the model): on the mount after
# sync and drop_caches, and after unmounting through the C ext2 and a cold
# read-only rext2 mount, with e2fsck -fn clean. The Rust engine's write
# counters show the paths it took. Faults: a full disk (ENOSPC at write
# time, SIGBUS for an mmap store into a hole), a failing device (EIO from
# fsync, reported once to each open file), and a device that drops every
# write after an fsync (dm-flakey: the fsynced data survives).
#
# RMPAGE_WRITE_CONFIGS (default "rust c ext2") picks the configurations;
# the fault tests run on rext2 with the Rust engine, or on the first
# configuration if rust is not among them (on the C ext2, an mmap store
# into a hole of a full disk is taken and msync fails with ENOSPC: it
# allocates at writeback, not at the fault).
. "$(dirname "$0")/lib/rmpage.sh"
WL="python3 -S $(dirname "$0")/lib/writeload.py"

read -r -a configs <<< "${RMPAGE_WRITE_CONFIGS:-rust c ext2}"
has() { [[ " ${configs[*]} " == *" $1 "* ]]; }
for cfg in "${configs[@]}"; do
	case $cfg in rust | c | ext2) ;; *) echo "unknown configuration $cfg" >&2; exit 1 ;; esac
done
fault_cfg=${configs[0]}
has rust && fault_cfg=rust

# The plan: per block size, 7 checks per configuration, 1 more for rust
# (2 more at 4 KiB, 2 more at 1 KiB) and 1 for c; then 16 fault checks,
# and 2 on the blocks reserved for root per configuration they run on.
reserved_cfgs=$fault_cfg
[ "$fault_cfg" != ext2 ] && has ext2 && reserved_cfgs="$fault_cfg ext2"
plan=$((16 + 2 * $(wc -w <<< "$reserved_cfgs")))
for bs in 1024 2048 4096; do
	plan=$((plan + 7 * ${#configs[@]}))
	has rust && plan=$((plan + 1 + (bs == 4096 ? 2 : 0) + (bs == 1024 ? 2 : 0)))
	has c && plan=$((plan + 1))
done
ktap_print_header
ktap_set_plan $plan

# The module: needed by rust and c; with ext2 alone, used for the cold
# rext2 read if it is there.
if has rust || has c || [ -f "$RMPAGE_KO" ]; then
	rm_load || ktap_exit_fail_msg "cannot load $RMPAGE_KO"
fi
mnt=$WORK/mnt
mkdir -p "$mnt"
src=$WORK/write-src
rm -rf "$src"
$WL src "$src"

# counter SNAP NAME: counter NAME in SNAP, a copy of a mount's stats file
# ($WORK/snap.N: N=0 before the workload, 1-4 after each of its phases);
# delta SNAP1 SNAP2 NAME: how much it grew from one to the other.
counter() { awk -v k="$2" '$1 == k { print $2 }' "$WORK/snap.$1" 2>/dev/null; }
delta() {
	local a b
	a=$(counter "$1" "$3") b=$(counter "$2" "$3")
	echo $(( ${b:-0} - ${a:-0} ))
}

# digest_is WANT DESCRIPTION GOT: the digest GOT (a file) is WANT; prints
# the differing lines as KTAP comments if not.
digest_is() {
	if cmp -s "$1" "$3"; then
		ktap_test_pass "$2"
	else
		diff "$1" "$3" 2>&1 | head -n 8 | sed 's/^/# /'
		ktap_test_fail "$2"
	fi
}

phases="seq bnd mmap rest"
for bs in 1024 2048 4096; do
	base=$WORK/write-$bs.img
	rm_mkfs "$base" "$bs" 32M "$src" -N 64
	# The model: the same operations on plain files in tmpfs.
	model=$WORK/write-model
	rm -rf "$model"
	cp -a --sparse=always "$src" "$model"
	$WL run "$model" "$bs" --model --digest "$WORK/want-$bs" $phases ||
		ktap_exit_fail_msg "the model's workload failed"
	rm -rf "$model"

	for cfg in "${configs[@]}"; do
		name="bs $bs, $(cfg_name "$cfg")"
		img=$WORK/write-$bs-$cfg.img
		cp --sparse=always "$base" "$img"
		dev=$(rm_loop "$img")
		ktap_check "$name: read-write mount succeeds" mount_cfg "$cfg" "$dev"
		# The counters before and after each phase (snap.0 to snap.4):
		# the cold sequential write, the write across block 12, the mmap
		# stores, the rest.
		stats=/sys/kernel/debug/rext2/${dev#/dev/}/stats
		snap=()
		[ "$cfg" = ext2 ] || snap=(--stats "$stats" "$WORK/snap")
		rm -f "$WORK"/snap.* "$WORK/got"
		# The workload ends with sync and drop_caches, then the digest.
		timeout 600 $WL run "$mnt" "$bs" "${snap[@]}" --digest "$WORK/got" $phases 2> "$WORK/wl.err"
		rc=$?
		tail -n 4 "$WORK/wl.err" | sed 's/^/# /'
		ktap_check "$name: the workload's writes, truncates, mmap stores and fsyncs all succeed (status $rc)" [ $rc = 0 ]
		digest_is "$WORK/want-$bs" "$name: after sync and drop_caches every file reads as the model (sha256 and size)" "$WORK/got"

		if [ "$cfg" = rust ]; then
			ktap_print_msg "$name stats: $(tr '\n' ' ' < "$WORK/snap.4")"
			wb=$(counter 4 write_bios) wbytes=$(counter 4 write_bytes)
			alloc=$(counter 4 blocks_allocated) werr=$(counter 4 write_errors)
			wmap=$(counter 4 write_map_calls)
			ktap_check_all "$name: write counters moved (write_bios $wb, write_bytes $wbytes, blocks_allocated $alloc, write_map_calls $wmap) with no write errors ($werr)" \
				'[ "${wb:-0}" -gt 0 ] && [ "${wbytes:-0}" -gt 0 ] && [ "${alloc:-0}" -gt 0 ] && [ "$werr" = 0 ]'
			if [ "$bs" = 4096 ]; then
				sb=$(delta 0 1 write_bios) sbytes=$(delta 0 1 write_bytes)
				avg=$(counter 1 avg_write_bio_bytes)
				ktap_check_all "$name: cold sequential 8 MiB write + fsync: write_bios $sb > 0, write_bytes $sbytes >= 8 MiB" \
					'[ "$sb" -gt 0 ] && [ "$sbytes" -ge $((8 << 20)) ]'
				ktap_check "$name: cold sequential 8 MiB write: avg_write_bio_bytes $avg >= 65536 (bytes/bios over the write: $((sbytes / (sb > 0 ? sb : 1))))" \
					[ "${avg:-0}" -ge 65536 ]
			fi
			if [ "$bs" = 1024 ]; then
				bsub=$(delta 1 2 write_boundary_submits)
				fb=$(delta 2 3 write_fallbacks)
				ktap_check "$name: a write across block 12 submits at the boundary (write_boundary_submits +$bsub)" \
					[ "$bsub" -gt 0 ]
				ktap_check "$name: mmap-dirtied folios with a hole before data go to block_write_full_folio (write_fallbacks +$fb)" \
					[ "$fb" -gt 0 ]
			fi
		elif [ "$cfg" = c ]; then
			# blocks_allocated is the block allocator's, which both
			# engines share; the rest are the Rust engine's.
			nonzero=$(awk '$2 ~ /^[0-9]+$/ && $2 != 0 && $1 != "blocks_allocated" { printf "%s=%s ", $1, $2 }' "$WORK/snap.4")
			n=$(grep -cE '^[a-z_]+ [0-9]+$' "$WORK/snap.4")
			ktap_check_all "$name: the Rust engine's $n counters all stay 0 (nonzero: ${nonzero:-none}; blocks_allocated $(counter 4 blocks_allocated))" \
				'[ -z "$nonzero" ] && [ "$n" -gt 10 ]'
		fi

		ktap_check "$name: umount succeeds" umount "$mnt"
		losetup -d "$dev"
		ktap_check "$name: e2fsck -fn is clean after the writes" rm_fsck "$img"
		# Cold read-only mounts: the C ext2, then rext2 (with the engine
		# that wrote, or rust after the C ext2 wrote).
		e=$cfg
		[ "$e" = ext2 ] && e=rust
		reads=(ext2)
		rm_loaded && reads+=("rext2:$e")
		dev=$(rm_loop "$img" ro)
		rm -f "$WORK"/ro.*
		$WL digest-mounts "$dev" "$mnt" "$bs" "$WORK/ro" "${reads[@]}"
		digest_is "$WORK/want-$bs" "$name: the C ext2 reads every file as the model" "$WORK/ro.ext2"
		if rm_loaded; then
			digest_is "$WORK/want-$bs" "$name: a cold read-only rext2 mount (engine=$e) reads every file as the model" "$WORK/ro.rext2:$e"
		else
			ktap_test_skip "$name: a cold read-only rext2 mount reads every file as the model" "no rmpage.ko"
		fi
		losetup -d "$dev"
		rm -f "$img"
	done
	rm -f "$base"
done

# ---------------------------------------------------------------- faults
fname=$(cfg_name "$fault_cfg")
ktap_print_msg "fault tests on $fname"
fsrc=$WORK/fault-src
rm -rf "$fsrc"
$WL fault-src "$fsrc"
bfree() { stat -f -c %f "$mnt"; }

# 1. Full disk, 4 KiB blocks: ENOSPC at write time, fsync of the rest
# fine, SIGBUS for an mmap store into a hole, the data written before
# intact after remount, space back after truncate.
img=$WORK/full.img
rm_mkfs "$img" 4096 4M "$fsrc" -N 32
dev=$(rm_loop "$img")
mount_cfg "$fault_cfg" "$dev"
# 64 KiB writes until one fails: the last is cut short where the blocks
# run out, as the C ext2 allocating block by block cuts it, so the disk is
# full when write() fails (rext2 writes a large folio at a time, and once
# failed that write whole, leaving up to 15 blocks); then files of 4 KiB
# writes without indirect blocks (12 blocks each) take whatever is left.
{
	read -r err1 n1 sync1 free1
	read -r err2 n2 sync2 free2
	read -r err3 n3 sync3 _
	read -r err4 n4 sync4 _
} < <(timeout 300 $WL fill "$mnt/fill" fill 65536 "$mnt/fill2" fill2 4096 \
	"$mnt/fill3" fill3 4096 "$mnt/fill4" fill4 4096)
ktap_check_all "full disk ($fname): write() fails with ENOSPC at write time (got $err1 after $n1 bytes with $free1 blocks free, then $err2 $err3 $err4 after $n2 + $n3 + $n4 bytes of 4 KiB writes)" \
	'[ "$err1 $err2 $err3 $err4" = "ENOSPC ENOSPC ENOSPC ENOSPC" ] && [ "${n1:-0}" -gt $((2 << 20)) ]'
ktap_check_all "full disk: the 64 KiB appends filled the disk to its last block before ENOSPC ($n1 bytes, $((n1 % 65536)) of them by a write cut short; $free1 blocks free)" \
	'[ "$free1" = 0 ]'
left=$(bfree)
ktap_check "full disk: fsync after ENOSPC succeeds (got $sync1 $sync2 $sync3 $sync4; $left blocks left free)" \
	test "$sync1 $sync2 $sync3 $sync4" = "OK OK OK OK"
# rext2 allocates at the first store (page_mkwrite), so the store gets
# SIGBUS; the C ext2 allocates at writeback: the store lands in the page
# cache and msync fails with ENOSPC.
out=$(timeout 120 $WL mmstore "$mnt/holey" $((8192 + 100)) 10 2> /dev/null)
rc=$?
out=$(echo $out)
if [ "$fault_cfg" = ext2 ]; then
	ktap_check "full disk: an mmap store into a hole is taken, msync fails with ENOSPC (got '$out', exit status $rc; $left blocks free)" \
		[ "$out" = "stored ENOSPC" ]
else
	ktap_check_all "full disk: an mmap store into a hole gets SIGBUS (exit status $rc, want 135; '$out'; $left blocks free)" \
		'[ "$rc" = 135 ] && [ -z "$out" ]'
fi
umount "$mnt"
mount_cfg "$fault_cfg" "$dev"
want=$($WL sha "${n1:-0}" fill "${n2:-0}" fill2 "${n3:-0}" fill3 "${n4:-0}" fill4 | tr '\n' ' ')
got=$(for f in fill fill2 fill3 fill4; do sha256sum < "$mnt/$f" | cut -d' ' -f1; done | tr '\n' ' ')
ktap_check "full disk: after remount the $((n1 + n2 + n3 + n4)) bytes written before ENOSPC read back exactly" \
	test "$got" = "$want"
before=$(bfree)
truncate -s $((n1 / 2 + 1001)) "$mnt/fill"
after=$(bfree)
$WL pwrite "$mnt/fill" $((n1 / 2 + 1001)) $((512 << 10)) refill fsync 2> "$WORK/refill.err"
rc=$?
ktap_check_all "full disk: truncating the file frees space ($before -> $after free blocks) and a 512 KiB write + fsync works again (status $rc)" \
	'[ "$after" -gt "$before" ] && [ "$rc" = 0 ]'
umount "$mnt"
losetup -d "$dev"
ktap_check "full disk: e2fsck -fn is clean after filling, truncating and refilling" rm_fsck "$img"
rm -f "$img"

# 1b. The blocks reserved for root (mke2fs -m 10): a user's appends stop
# with ENOSPC while the reserve is still free (give or take the indirect
# block an append may take with its data), as the C ext2's do; root's go on
# into it.
reserved_blocks() {
	local cfg=$1 name rsrc reserved uerr un ufree rerr rn rfree slack
	name=$(cfg_name "$cfg")
	rsrc=$WORK/reserved-src
	rm -rf "$rsrc"
	mkdir -p "$rsrc"
	: > "$rsrc/user"
	: > "$rsrc/root"
	chown 1000:1000 "$rsrc/user"
	img=$WORK/reserved.img
	rm_mkfs "$img" 4096 4M "$rsrc" -m 10 -N 32
	reserved=$(dumpe2fs -h "$img" 2> /dev/null | awk -F: '/^Reserved block count/ { print $2 + 0 }')
	dev=$(rm_loop "$img")
	mount_cfg "$cfg" "$dev"
	# The user runs a copy of the load from the guest's tmpfs: the shared
	# source tree may not let other users in.
	install -m 0644 "$(dirname "$0")/lib/writeload.py" "$WORK/writeload.py"
	read -r uerr un _ ufree < <(setpriv --reuid=1000 --regid=1000 --clear-groups \
		timeout 300 python3 -S "$WORK/writeload.py" fill "$mnt/user" user 4096)
	read -r rerr rn _ rfree < <(timeout 300 $WL fill "$mnt/root" rootfill 4096)
	# The C ext2 reads its free count from a per-CPU counter, roughly
	# (percpu_counter_read_positive): its users may take up to a counter
	# batch per CPU (32 blocks here) of the reserve.
	slack=2
	[ "$cfg" = ext2 ] && slack=$((2 + 32 * $(nproc)))
	ktap_check_all "reserved blocks ($name): uid 1000's appends stop with $uerr after $un bytes with $ufree blocks free ($reserved reserved, $slack of slack); root's go on: $rn bytes, then $rerr with $rfree free" \
		'[ "$uerr $rerr" = "ENOSPC ENOSPC" ] && [ "$ufree" -ge $((reserved - slack)) ] && [ "$ufree" -le $((reserved + 1)) ] && [ "${un:-0}" -gt $((1 << 20)) ] && [ "${rn:-0}" -gt 0 ] && [ "$rfree" -lt "$ufree" ]'
	umount "$mnt"
	losetup -d "$dev"
	ktap_check "reserved blocks ($name): e2fsck -fn is clean" rm_fsck "$img"
	rm -f "$img"
}
for cfg in $reserved_cfgs; do reserved_blocks "$cfg"; done

# 2. Write errors (fail_make_request on the loop device): fsync reports EIO
# to each open file once (errseq), nothing hangs, and a rewrite once the
# device is well again reaches the disk.
fi=/sys/kernel/debug/fail_make_request
img=$WORK/eio.img
rm_mkfs "$img" 1024 32M "$fsrc" -N 32
dev=$(rm_loop "$img")
d=${dev#/dev/}
mount_cfg "$fault_cfg" "$dev"
echo 100 > $fi/probability
echo -1 > $fi/times
echo 0 > $fi/verbose
read -r r1 r2 r3 r4 < <(timeout 300 python3 -S - "$mnt/eio" "/sys/block/$d/make-it-fail" "$(dirname "$0")/lib" <<'PY'
import os, sys
sys.path.insert(0, sys.argv[3])
from writeload import data, fsync_status as fsync
path, knob = sys.argv[1], sys.argv[2]
def fault(on):
    with open(knob, "w") as f:
        f.write("1" if on else "0")
fd1 = os.open(path, os.O_RDWR)
fd2 = os.open(path, os.O_RDWR)
os.pwrite(fd1, data(65536, "eio1"), 4096)
fault(True)
r1 = fsync(fd1)
fault(False)
r2 = fsync(fd2)
r3 = fsync(fd1)
os.pwrite(fd1, data(65536, "eio2"), 4096)
r4 = fsync(fd1)
os.close(fd1)
os.close(fd2)
print(r1, r2, r3, r4)
PY
)
echo 0 > "/sys/block/$d/make-it-fail"
ktap_check "write error ($fname): fsync on the fd that wrote returns EIO (got ${r1:-nothing: timed out})" [ "$r1" = EIO ]
ktap_check "write error: fsync on a second fd open on the file returns EIO too, device well again (got $r2)" [ "$r2" = EIO ]
ktap_check "write error: a second fsync on the first fd returns 0, the error was reported once (got $r3)" [ "$r3" = OK ]
rm_drop_caches
cp "$fsrc/eio" "$WORK/eio-want"
$WL pwrite "$WORK/eio-want" 4096 65536 eio2
want=$(sha256sum < "$WORK/eio-want") got=$(timeout 120 sha256sum < "$mnt/eio")
ktap_check_all "write error: after the fault, rewrite + fsync succeed (got $r4) and read back after drop_caches" \
	'[ "$r4" = OK ] && [ "$got" = "$want" ]'
if [ "$fault_cfg" = ext2 ]; then
	ktap_test_skip "write error: the engine counted the failed writes" "C ext2 has no counters"
else
	werr=$(rm_stat "$d" write_errors)
	ktap_check "write error: the engine counted the failed writes (write_errors $werr)" [ "${werr:-0}" -gt 0 ]
fi
ktap_check "write error: umount succeeds" timeout 120 umount "$mnt"
losetup -d "$dev"
e2fsck -fn "$img" > "$WORK/eio-fsck" 2>&1
ktap_print_msg "write error: e2fsck -fn exit $? afterwards ($(grep -ciE 'error|differ|wrong' "$WORK/eio-fsck") complaints)"
rm -f "$img"

# 3. Durability (dm-flakey): data fsynced into a fresh indirect range
# survives a device that then drops every write, including the writeback
# of later, unsynced writes and of the umount.
export DM_DISABLE_UDEV=1
img=$WORK/dur.img
rm_mkfs "$img" 1024 32M "$fsrc" -N 32
dev=$(rm_loop "$img")
sectors=$(blockdev --getsz "$dev")
dmsetup create rmflakey --table "0 $sectors flakey $dev 0 3600 0" ||
	ktap_exit_fail_msg "dmsetup create failed"
dm=/dev/mapper/rmflakey
[ -b $dm ] || dm=/dev/$(dmsetup info -c --noheadings -o blkdevname rmflakey)
mount_cfg "$fault_cfg" "$dm"
$WL pwrite "$mnt/dur" 16389 300000 dur1 fsync
rc=$?
dmsetup load rmflakey --table "0 $sectors flakey $dev 0 0 3600 1 drop_writes"
dmsetup suspend --nolockfs rmflakey
dmsetup resume rmflakey
$WL pwrite "$mnt/dur" 0 4096 dur2 100000 5000 dur3 400000 2000 dur4
timeout 120 umount "$mnt"
dmsetup remove rmflakey
cp "$fsrc/dur" "$WORK/dur-want"
$WL pwrite "$WORK/dur-want" 16389 300000 dur1
want=$(sha256sum < "$WORK/dur-want")
mount -t ext2 -o ro "$dev" "$mnt"
got=$(sha256sum < "$mnt/dur") size=$(stat -c %s "$mnt/dur")
ino=$(stat -c %i "$mnt/dur")
umount "$mnt"
ktap_check_all "durability ($fname): after fsync (status $rc) and a device dropping every later write, the C ext2 reads the fsynced file (size $size)" \
	'[ "$rc" = 0 ] && [ "$got" = "$want" ]'
losetup -d "$dev"
e2fsck -fn "$img" > "$WORK/dur-fsck" 2>&1
fsck_rc=$?
grep -vE '^Pass [0-9]|^$' "$WORK/dur-fsck" | head -n 12 | sed 's/^/# e2fsck -fn: /'
ktap_check_all "durability: e2fsck -fn finds the fsynced file's inode $ino intact (exit $fsck_rc; no complaint naming it)" \
	'[ "$fsck_rc" -le 4 ] && ! grep -qiE "inode $ino[^0-9]|illegal|duplicate|bad block" "$WORK/dur-fsck"'
e2fsck -fy "$img" > /dev/null 2>&1
fixed=$?
dev=$(rm_loop "$img" ro)
mount -t ext2 -o ro "$dev" "$mnt"
got=$(sha256sum < "$mnt/dur")
umount "$mnt"
losetup -d "$dev"
ktap_check_all "durability: once e2fsck -fy has repaired the crash (exit $fixed), e2fsck -fn is clean and the file still reads the fsynced bytes" \
	'[ "$fixed" -le 1 ] && rm_fsck "$img" && [ "$got" = "$want" ]'
rm -f "$img"

ktap_finished
