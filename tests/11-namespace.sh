#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The namespace (issue 8): create, mknod (fifo, socket, char and block
# devices), mkdir, rmdir, link, unlink, fast and slow symlinks, rename in a
# directory, across directories, over a file and over an empty directory,
# RENAME_NOREPLACE, setattr, a directory of several blocks, 255-byte names,
# an open file unlinked while in use, and each refusal with its errno
# (tests/lib/nsops.py does and checks them), at 1, 2 and 4 KiB blocks, on
# rext2 with each engine and on the C ext2, each from a fresh mke2fs image.
# The C ext2 runs first: every errno (and the far-future time it stores,
# and its link limit) is compared with what it gave in the same boot; its
# own run is compared with its documented behaviour. After each run:
# unmount, e2fsck -fn clean, the moved directories' '..' entries on disk
# (debugfs), and the tree (names, types, modes, owners, link counts, sizes,
# rdev, sha256, symlink targets) read by a cold read-only mount of the C
# ext2 and of rext2 equals the C ext2's tree. ENOSPC on images with few
# inodes and with no free block, once per configuration. Then a 5,120-entry tree extracted with
# tar -x, half of it removed, copied again beside it with cp -a, all
# removed: the free block and inode counts return exactly. EMLINK at the
# C ext2's 32,000 links, for link and for mkdir, from an inode whose link
# count debugfs set just under the limit (32,000 real links would take
# minutes under TCG): the errnos are the C ext2's on the same image.
#
# RMPAGE_NS_CONFIGS (default "rust c ext2") picks the configurations,
# RMPAGE_NS_BS (default "1024 4096", to keep make check within its time;
# add 2048 for the third size) the block sizes of the operations for rext2
# with the Rust engine and for the C ext2, RMPAGE_NS_C_BS
# (default "4096") those for rext2 with the C engine (what differs between
# the engines is the data I/O, which 09-write and 10-write-pitfalls cover
# at every block size); at RMPAGE_NS_TOOLS_BS (default 1024) the
# operations are made with the shell tools (touch, mknod, mkdir, ln, mv,
# rm, rmdir, chmod, chown, touch -d, truncate), at the others with the same
# system calls from python (a process start costs most of a second under
# TCG). The bulk test (at RMPAGE_NS_BULK_BS, default 4096) and the EMLINK
# test run on the configurations in RMPAGE_NS_BULK_CONFIGS and
# RMPAGE_NS_EMLINK_CONFIGS; by default the bulk on one only, the first of
# rust, c, ext2 asked for (copying 5,000 entries takes minutes under TCG
# with the debug kernel, and what it checks, freeing, is rext2's whichever
# engine does the data I/O), and EMLINK on that one and the C ext2.
. "$(dirname "$0")/lib/rmpage.sh"
NS="python3 -S $(dirname "$0")/lib/nsops.py"

read -r -a asked <<< "${RMPAGE_NS_CONFIGS:-rust c ext2}"
# The C ext2 first: the others are compared with what it did.
configs=()
for cfg in "${asked[@]}"; do
	case $cfg in rust | c | ext2) ;; *) echo "unknown configuration $cfg" >&2; exit 1 ;; esac
	[ "$cfg" = ext2 ] && configs=(ext2 "${configs[@]}") || configs+=("$cfg")
done
has() { [[ " ${configs[*]} " == *" $1 "* ]]; }
one=ext2
has c && one=c
has rust && one=rust
read -r -a bulk_cfgs <<< "${RMPAGE_NS_BULK_CONFIGS-$one}"
emlink_default=$one
[ "$one" != ext2 ] && has ext2 && emlink_default="ext2 $one"
read -r -a emlink_cfgs <<< "${RMPAGE_NS_EMLINK_CONFIGS-$emlink_default}"
bulk_bs=${RMPAGE_NS_BULK_BS:-4096}
tools_bs=${RMPAGE_NS_TOOLS_BS:-1024}
read -r -a sizes <<< "${RMPAGE_NS_BS-1024 4096}"
read -r -a c_sizes <<< "${RMPAGE_NS_C_BS-4096}"
# runs_at CFG BS: whether CFG's operations run at block size BS.
runs_at() {
	if [ "$1" = c ]; then
		[[ " ${c_sizes[*]} " == *" $2 "* ]]
	else
		[[ " ${sizes[*]} " == *" $2 "* ]]
	fi
}
all_sizes=$(printf '%s\n' "${sizes[@]}" "${c_sizes[@]}" | sort -nu)
runs=0
for bs in $all_sizes; do
	for cfg in "${configs[@]}"; do
		runs_at "$cfg" "$bs" && runs=$((runs + 1))
	done
done

read -r n_ops n_nospc <<< "$($NS count ops enospc-inodes,enospc-blocks)"
# The plan: per block size and configuration, the mount, the operations,
# umount, e2fsck, the '..' entries and the two cold trees; per
# configuration, at its first block size, the two ENOSPC images' mount +
# checks + umount + e2fsck; per bulk configuration, 9 checks; per EMLINK
# configuration, mount + 2 checks + umount, and on those that are rext2, 2
# on an attribute block.
per_bs=$((1 + n_ops + 5))
xattr_cfgs=()
for cfg in "${emlink_cfgs[@]}"; do
	[ "$cfg" = ext2 ] || xattr_cfgs+=("$cfg")
done
plan=$((runs * per_bs + ${#configs[@]} * (3 + n_nospc) + 9 * ${#bulk_cfgs[@]} + 4 * ${#emlink_cfgs[@]} + 2 * ${#xattr_cfgs[@]}))
ktap_print_header
ktap_set_plan $plan
ktap_print_msg "configurations: ${configs[*]}; $per_bs checks per block size and configuration ($runs runs), 9 bulk checks at $bulk_bs-byte blocks on: ${bulk_cfgs[*]}; 4 EMLINK checks on: ${emlink_cfgs[*]}"

if has rust || has c || [ -f "$RMPAGE_KO" ]; then
	rm_load || ktap_exit_fail_msg "cannot load $RMPAGE_KO"
fi
mnt=$WORK/mnt mnt2=$WORK/mnt2
mkdir -p "$mnt" "$mnt2"
t_start=$(date +%s)

# lap WHAT: adds WHAT and the milliseconds since the last lap to $laps.
lap() {
	local now
	now=$(date +%s%N)
	laps="$laps $1 $(( (now - ${lap_at:-$now}) / 1000000 ))ms"
	lap_at=$now
}
# mounted_as FSTYPE [DIR]: DIR ($mnt) is a mount of FSTYPE (read in bash:
# each process start costs most of a second under TCG).
mounted_as() {
	local dev dir fstype rest
	while read -r dev dir fstype rest; do
		[ "$dir" = "${2:-$mnt}" ] && [ "$fstype" = "$1" ] && return 0
	done < /proc/self/mounts
	return 1
}

# section NAME CFG N "MOUNTPOINT..." SECTION DIR [SECTION DIR]... OPTIONS...:
# nsops.py run of each SECTION in its DIR, if each MOUNTPOINT is mounted
# as CFG (never on the tmpfs below); one KTAP line per check; of the N
# checks, those it did not reach fail, one line each.
section() {
	local name=$1 cfg=$2 n=$3 mounts=$4 i=0 line rc= m ok=1
	shift 4
	for m in $mounts; do
		mounted_as "$(cfg_fstype "$cfg")" "$m" || ok=
	done
	if [ -n "$ok" ]; then
		timeout 900 $NS run "$@" > "$WORK/sec.out" 2> "$WORK/sec.err"
		rc=$?
		while IFS= read -r line; do
			case $line in
			"ok	"*) ktap_test_pass "$name: ${line#ok	}"; i=$((i + 1)) ;;
			"not ok	"*) ktap_test_fail "$name: ${line#not ok	}"; i=$((i + 1)) ;;
			*) echo "# $line" ;;
			esac
		done < "$WORK/sec.out"
		tail -n 5 "$WORK/sec.err" | sed 's/^/# nsops: /'
	fi
	while [ $i -lt "$n" ]; do
		i=$((i + 1))
		ktap_test_fail "$name: check $i of $n not reached (${rc:+nsops.py exited with status $rc}${rc:-not run: $mounts not all mounted as $(cfg_fstype "$cfg")})"
	done
}

# peer_args KIND BS CFG: --record to the C ext2's record file when CFG is
# ext2, else --peer to it (if the C ext2 ran) and --record to CFG's own.
peer_args() {
	local peer=$WORK/ns-peer-$1-$2.json
	if [ "$3" = ext2 ]; then
		echo --record "$peer"
	else
		[ -f "$peer" ] && echo --peer "$peer"
		echo --record "$WORK/ns-rec-$1-$2-$3.json"
	fi
}

# tree_is WANT DESCRIPTION GOT: the tree GOT (a file) is WANT; prints the
# differing lines as KTAP comments if not.
tree_is() {
	if [ -s "$3" ] && cmp -s "$1" "$3"; then
		ktap_test_pass "$2 ($(wc -l < "$1") entries)"
	else
		diff "$1" "$3" 2>&1 | head -n 12 | cut -c1-200 | sed 's/^/# /'
		ktap_test_fail "$2"
	fi
}

# dotdots IMAGE DIR...: for each DIR, the inode its '..' entry names on
# disk and its parent's inode (the parent's '.' entry), from one debugfs.
dotdots() {
	local dir cmds=
	for dir in "${@:2}"; do
		cmds+="ls -p $dir"$'\n'"ls -p ${dir%/*}"$'\n'
	done
	debugfs -f - "$1" <<< "$cmds" 2> /dev/null | awk -F/ '
		/^debugfs: / { if (k) printf "%s ", got; k++; got = "-" }
		k % 2 == 1 && $6 == ".." { got = $2 }
		k % 2 == 0 && k && $6 == "." { got = $2 }
		END { print got }'
}

# enospc CFG NAME BS: the ENOSPC sections on two small images: few inodes
# (mke2fs -N 16) at $mnt, few blocks (2 MiB, -m 0) at $mnt2.
enospc() {
	local cfg=$1 name=$2 bs=$3 ino=$WORK/ns-inodes.img blk=$WORK/ns-blocks.img d1 d2 rc1 rc2
	rm_mkfs "$ino" "$bs" 2M "" -N 16 -m 0
	rm_mkfs "$blk" "$bs" 2M "" -N 64 -m 0
	d1=$(rm_loop "$ino") d2=$(rm_loop "$blk")
	ktap_check_all "$name: mount of two fresh 2 MiB images, one of 16 inodes, one with no blocks reserved" \
		'mount_cfg "$cfg" "$d1" "$mnt" && mount_cfg "$cfg" "$d2" "$mnt2"'
	# shellcheck disable=SC2046
	section "$name" "$cfg" "$n_nospc" "$mnt $mnt2" enospc-inodes "$mnt" enospc-blocks "$mnt2" \
		--bs "$bs" $(peer_args enospc "$bs" "$cfg")
	umount "$mnt"
	rc1=$?
	umount "$mnt2"
	rc2=$?
	ktap_check "$name: umount of both (status $rc1 $rc2)" [ "$rc1$rc2" = 00 ]
	losetup -d "$d1" "$d2"
	rm_fsck "$ino"
	rc1=$?
	rm_fsck "$blk"
	rc2=$?
	ktap_check "$name: e2fsck -fn is clean on both after ENOSPC (exit $rc1 and $rc2)" [ "$rc1$rc2" = 00 ]
	rm -f "$ino" "$blk"
}

declare -A enospc_done=()
for bs in $all_sizes; do
	ref_tree=$WORK/ns-tree-$bs
	rm -f "$ref_tree" "$WORK"/ns-peer-*-$bs.json
	for cfg in "${configs[@]}"; do
		runs_at "$cfg" "$bs" || continue
		name="bs $bs, $(cfg_name "$cfg")"
		t0=$(date +%s) laps= lap_at=
		lap start
		img=$WORK/ns-$bs-$cfg.img
		rm_mkfs "$img" "$bs" 32M ""
		dev=$(rm_loop "$img")
		ktap_check "$name: read-write mount of a fresh mke2fs -t ext2 image" mount_cfg "$cfg" "$dev"
		lap mkfs+mount
		opts=(--bs "$bs")
		[ "$bs" = "$tools_bs" ] && opts+=(--tools)
		[ "$cfg" = ext2 ] && opts+=(--tree-of "$mnt" --tree-out "$ref_tree")
		# shellcheck disable=SC2046
		section "$name" "$cfg" "$n_ops" "$mnt" ops "$mnt/ns" "${opts[@]}" $(peer_args ops "$bs" "$cfg")
		lap ops
		ktap_check "$name: umount" umount "$mnt"
		losetup -d "$dev"
		ktap_check "$name: e2fsck -fn is clean after the operations" rm_fsck "$img"
		lap umount+fsck
		read -r d1 p1 d2 p2 _ <<< "$(dotdots "$img" /ns/mvdir/y/sub /ns/mvoverdir/b)"
		ktap_check_all "$name: on disk, the '..' of the directories renamed across and over a directory name their new parents (mvdir/y/sub: $d1, want $p1; mvoverdir/b: $d2, want $p2)" \
			'[ -n "$d1" ] && [ "$d1" = "$p1" ] && [ -n "$d2" ] && [ "$d2" = "$p2" ]'
		lap debugfs
		dev=$(rm_loop "$img" ro)
		e=$cfg
		[ "$e" = ext2 ] && e=rust
		reads=(ext2)
		rm_loaded && reads+=("rext2:$e")
		rm -f "$WORK"/ns-got.*
		timeout 600 $NS cold-trees "$dev" "$mnt" "$WORK/ns-got" "${reads[@]}"
		if [ -s "$ref_tree" ]; then
			tree_is "$ref_tree" "$name: a cold read-only C ext2 mount reads the tree the C ext2 made (names, types, modes, owners, links, sizes, rdev, sha256, targets)" "$WORK/ns-got.ext2"
		else
			ktap_test_skip "$name: a cold read-only C ext2 mount reads the tree the C ext2 made" "no C ext2 run"
		fi
		if rm_loaded && [ -s "$ref_tree" ]; then
			tree_is "$ref_tree" "$name: a cold read-only rext2 mount (engine=$e) reads the tree the C ext2 made" "$WORK/ns-got.rext2:$e"
		else
			ktap_test_skip "$name: a cold read-only rext2 mount reads the tree the C ext2 made" "no rmpage.ko or no C ext2 run"
		fi
		losetup -d "$dev"
		rm -f "$img"
		lap cold-trees
		# ENOSPC once per configuration: what runs out is counted in
		# blocks and inodes alike at every size.
		if [ -z "${enospc_done[$cfg]:-}" ]; then
			enospc "$cfg" "$name" "$bs"
			enospc_done[$cfg]=1
			lap enospc
		fi
		ktap_print_msg "$name: $(( $(date +%s) - t0 ))s:$laps"
	done
done

# ------------------------------------------------------------------ bulk
bsrc=$WORK/ns-bulk-src
rm -rf "$bsrc"
$NS gentree "$bsrc"
tar -C "$bsrc" -cf "$WORK/ns-bulk.tar" .
entries=$(find "$bsrc" -mindepth 1 | wc -l)
# The deterministic half: every file, symlink and hard link whose name
# ends in an odd digit.
listing() { (cd "$1" && find . -mindepth 1 | sort); }
listing "$bsrc" > "$WORK/ns-bulk-list"
(cd "$bsrc" && find . -mindepth 1 \( -type d -o ! -name '*[13579]' \) | sort) > "$WORK/ns-bulk-half"
removed=$((entries - $(wc -l < "$WORK/ns-bulk-half")))
free_counts() { stat -f -c '%f %d' "$mnt"; }
sb_counts() { dumpe2fs -h "$1" 2> /dev/null | awk -F: '/^Free blocks:/ { b = $2 + 0 } /^Free inodes:/ { i = $2 + 0 } END { print b, i }'; }

for cfg in "${bulk_cfgs[@]}"; do
	name="bulk, bs $bulk_bs, $(cfg_name "$cfg")"
	t0=$(date +%s)
	img=$WORK/ns-bulk.img
	rm_mkfs "$img" "$bulk_bs" 128M "" -N 16384
	read -r sb_b0 sb_i0 <<< "$(sb_counts "$img")"
	dev=$(rm_loop "$img")
	ktap_check "$name: read-write mount of a fresh image ($sb_b0 blocks and $sb_i0 inodes free)" mount_cfg "$cfg" "$dev"
	# on_fs: $mnt is still the mount under test (after each remount), so
	# that no step runs on the tmpfs below.
	on_fs() { mounted_as "$(cfg_fstype "$cfg")"; }
	if on_fs; then
		read -r b0 i0 <<< "$(free_counts)"
		on_fs && mkdir -p "$mnt/b" && timeout 600 tar -C "$mnt/b" -xf "$WORK/ns-bulk.tar"
		rc_tar=$?
		t1=$(date +%s)
		# A remount, to read from the disk (drop_caches would send every
		# later process start back to 9p for its libraries). Names only
		# here; the contents after the copy again.
		umount "$mnt" && mount_cfg "$cfg" "$dev"
		rm -f "$WORK"/ns-got.*
		on_fs && listing "$mnt/b" > "$WORK/ns-got.b"
		tree_is "$WORK/ns-bulk-list" "$name: tar -x of a $entries-entry tree exits $rc_tar and, after a remount, lists the source's names" "$WORK/ns-got.b"
		read -r b1 i1 <<< "$(free_counts)"
		t2=$(date +%s)
		on_fs && timeout 600 find "$mnt/b" -mindepth 1 ! -type d -name '*[13579]' -delete
		rc_find=$?
		read -r b2 i2 <<< "$(free_counts)"
		ktap_check_all "$name: find -delete of the $removed names ending in an odd digit exits $rc_find and leaves exactly the others; free blocks $b1 -> $b2, free inodes $i1 -> $i2" \
			'[ "$rc_find" = 0 ] && [ "$(listing "$mnt/b")" = "$(cat "$WORK/ns-bulk-half")" ] && [ "$b2" -gt "$b1" ] && [ "$i2" -gt "$i1" ]'
		t3=$(date +%s)
		on_fs && timeout 600 cp -a "$bsrc" "$mnt/a"
		rc_cp=$?
		t4=$(date +%s)
		umount "$mnt" && mount_cfg "$cfg" "$dev"
		rm -f "$WORK"/ns-got.*
		on_fs && listing "$mnt/a" > "$WORK/ns-got.a"
		on_fs && listing "$mnt/b" > "$WORK/ns-got.b"
		tree_is "$WORK/ns-bulk-list" "$name: cp -a of the tree again, beside the half, exits $rc_cp and, after a remount, lists the source's names" "$WORK/ns-got.a"
		tree_is "$WORK/ns-bulk-half" "$name: after the remount, the tar -x copy lists the half left by find -delete" "$WORK/ns-got.b"
		t5=$(date +%s)
		on_fs && timeout 600 rm -rf "$mnt/a" "$mnt/b"
		rc_rm=$?
		read -r b3 i3 <<< "$(free_counts)"
		t6=$(date +%s)
		ktap_check_all "$name: rm -rf of both exits $rc_rm; statfs free blocks and inodes back to the start exactly ($b3 $i3, started at $b0 $i0)" \
			'[ "$rc_rm" = 0 ] && [ "$b3" = "$b0" ] && [ "$i3" = "$i0" ] && [ "$(listing "$mnt")" = ./lost+found ]'
		ktap_print_msg "$name: tar -x $(( t1 - t0 ))s; list $(( t2 - t1 ))s; delete $(( t3 - t2 ))s; cp -a $(( t4 - t3 ))s; trees $(( t5 - t4 ))s; rm -rf $(( t6 - t5 ))s"
	else
		for what in "tar -x" "find -delete" "cp -a" "the half after a remount" "rm -rf"; do
			ktap_test_fail "$name: $what not run: $mnt is not mounted as $(cfg_fstype "$cfg")"
		done
	fi
	ktap_check "$name: umount" umount "$mnt"
	losetup -d "$dev"
	ktap_check "$name: e2fsck -fn is clean after the copies and removals" rm_fsck "$img"
	read -r sb_b1 sb_i1 <<< "$(sb_counts "$img")"
	ktap_check_all "$name: the superblock's free blocks and inodes after unmount ($sb_b1 $sb_i1) are the fresh image's ($sb_b0 $sb_i0)" \
		'[ "$sb_b1 $sb_i1" = "$sb_b0 $sb_i0" ]'
	rm -f "$img"
	ktap_print_msg "$name: $(( $(date +%s) - t0 ))s"
done
rm -rf "$bsrc" "$WORK/ns-bulk.tar"

# ---------------------------------------------------------------- EMLINK
# A file with 31,999 links and a directory with 31,999 (debugfs sets the
# counts; the image is not consistent afterwards, so no e2fsck): one link
# and one subdirectory each reach the limit, the next ones fail.
emlink_try() {
	timeout 120 python3 -c 'import errno, os, sys
def outcome(f, *a):
    try:
        f(*a)
        return "OK"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
m = sys.argv[1]
print(outcome(os.link, m + "/f", m + "/l1"), outcome(os.link, m + "/f", m + "/l2"),
      outcome(os.mkdir, m + "/d/s1"), outcome(os.mkdir, m + "/d/s2"), os.lstat(m + "/f").st_nlink)' "$1"
}
esrc=$WORK/ns-emlink-src
rm -rf "$esrc" && mkdir -p "$esrc/d" && echo target > "$esrc/f"
peer_eml=
for cfg in "${emlink_cfgs[@]}"; do
	name="EMLINK, $(cfg_name "$cfg")"
	img=$WORK/ns-emlink.img
	rm_mkfs "$img" 4096 16M "$esrc" -N 256
	debugfs -w -R "sif /f links_count 31999" "$img" > /dev/null 2>&1
	debugfs -w -R "sif /d links_count 31999" "$img" > /dev/null 2>&1
	dev=$(rm_loop "$img")
	ktap_check "$name: read-write mount of an image with a file and a directory of 31,999 links" mount_cfg "$cfg" "$dev"
	got=-
	mounted_as "$(cfg_fstype "$cfg")" && got=$(emlink_try "$mnt")
	read -r link1 link2 mkdir1 mkdir2 nlink <<< "$got"
	ktap_check_all "$name: link to the 32,000th link $link1, the next EMLINK ($link2; $nlink links)" \
		'[ "$link1 $link2 $nlink" = "OK EMLINK 32000" ]'
	[ "$cfg" = ext2 ] && peer_eml="$link1 $link2 $mkdir1 $mkdir2"
	ktap_check_all "$name: mkdir of the 31,999th subdirectory (32,000 links) $mkdir1, the next EMLINK ($mkdir2)${peer_eml:+; the C ext2: $peer_eml}" \
		'[ "$mkdir1 $mkdir2" = "OK EMLINK" ] && { [ -z "$peer_eml" ] || [ "$peer_eml" = "$link1 $link2 $mkdir1 $mkdir2" ]; }'
	ktap_check "$name: umount" umount "$mnt"
	losetup -d "$dev"
	rm -f "$img"
done
rm -rf "$esrc"

# ---------------------------------------------------------------- xattrs
# A file whose extended attribute has a block of its own (debugfs ea_set
# of a 1,000-byte value): removing the file frees its attribute block with
# it, as the C ext2's ext2_xattr_delete_inode does; e2fsck -fn is clean
# after. (Blocks shared by several inodes count them in their header; the
# count is dropped the same way, which debugfs cannot set up.) rext2 only:
# the test kernel's C ext2 is built without xattr support, and leaves the
# block allocated.
for cfg in "${xattr_cfgs[@]}"; do
	name="xattr block, $(cfg_name "$cfg")"
	img=$WORK/ns-xattr.img
	rm -rf "$WORK/ns-xattr-src" && mkdir -p "$WORK/ns-xattr-src" && echo data > "$WORK/ns-xattr-src/x"
	rm_mkfs "$img" 4096 16M "$WORK/ns-xattr-src"
	head -c 1000 /dev/zero | tr '\0' v > "$WORK/ns-xattr-value"
	debugfs -w -R "ea_set -f $WORK/ns-xattr-value /x user.big" "$img" > /dev/null 2>&1
	acl=$(debugfs -R "stat /x" "$img" 2>/dev/null | sed -n 's/.*File ACL: \([0-9]*\).*/\1/p')
	dev=$(rm_loop "$img")
	ok=
	if mount_cfg "$cfg" "$dev"; then
		read -r b0 _ <<< "$(free_counts)"
		rm "$mnt/x" && read -r b1 _ <<< "$(free_counts)" && ok=1
		umount "$mnt"
	fi
	losetup -d "$dev"
	ktap_check_all "$name: removing a file whose attribute block is $acl frees the file's block and the attribute block (free $b0 -> ${b1:-?})" \
		'[ -n "$ok" ] && [ "${acl:-0}" -gt 0 ] && [ "$b1" = $((b0 + 2)) ]'
	ktap_check "$name: e2fsck -fn is clean after" rm_fsck "$img"
	rm -f "$img"
done

ktap_print_msg "11-namespace: $(( $(date +%s) - t_start ))s in all"
ktap_finished
