# SPDX-License-Identifier: GPL-2.0
# Shared helpers for rmpage's VM tests. Sourced by tests/NN-*.sh, which run
# as root inside the test VM (scripts/vm.sh), from the repository's top.

. "$(dirname "${BASH_SOURCE[0]}")/ktap.sh"
RMPAGE_KO=${RMPAGE_KO:-$PWD/rmpage.ko}
SYS="python3 $(dirname "${BASH_SOURCE[0]}")/sys.py"
WORK=${WORK:-/tmp/rmpage-work}
mkdir -p "$WORK"

rm_loaded() { grep -q '^rmpage ' /proc/modules; }
rm_load() { rm_loaded || insmod "$RMPAGE_KO" "$@"; }
rm_unload() { ! rm_loaded || rmmod rmpage; }

# rm_mkfs IMAGE BLOCKSIZE SIZE [SRCDIR [MKE2FS OPTIONS...]]
rm_mkfs() {
	local img=$1 bs=$2 size=$3 src=${4:-}
	shift 4 2>/dev/null || shift $#
	rm -f "$img"
	mke2fs -q -F -t ext2 -b "$bs" ${src:+-d "$src"} "$@" "$img" "$size" >/dev/null
}

# rm_fsck IMAGE: e2fsck -fn, quietly; its exit status.
rm_fsck() { e2fsck -fn "$1" >/dev/null 2>&1; }

# rm_loop IMAGE [ro]: attach IMAGE to a free loop device, print its path.
rm_loop() { losetup -f --show ${2:+-r} "$1"; }

# The number of "rext2:" lines printed in dmesg since rm_mark.
rm_mark() { RM_MARK=$(dmesg | wc -l); }
rm_rext2_lines() { dmesg | tail -n +$((RM_MARK + 1)) | grep -c 'rext2:' || true; }
rm_rext2_last() { dmesg | tail -n +$((RM_MARK + 1)) | grep 'rext2:' | tail -n 1; }

rm_drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

# rm_mount_cold ENGINE DEV DIR: mount DEV read-only as rext2 at DIR with
# ENGINE (rust|c) reading its data, then drop the caches.
rm_mount_cold() {
	echo "$1" > /sys/module/rmpage/parameters/engine
	mount -t rext2 -o ro "$2" "$3"
	rm_drop_caches
}

# mount_cfg CFG DEV [DIR]: mount DEV read-write at DIR ($mnt) as CFG (rust|c:
# rext2 with that engine doing the I/O; ext2: the in-kernel C ext2).
mount_cfg() {
	if [ "$1" != ext2 ]; then
		echo "$1" > /sys/module/rmpage/parameters/engine
	fi
	mount -t "$(cfg_fstype "$1")" "$2" "${3:-$mnt}"
}
# cfg_name CFG: how the tests name a configuration.
cfg_name() { case $1 in ext2) echo "C ext2" ;; *) echo "rext2 engine=$1" ;; esac; }
# cfg_fstype CFG: the file system type a configuration mounts.
cfg_fstype() { case $1 in ext2) echo ext2 ;; *) echo rext2 ;; esac; }

# rm_stat MNTDEV NAME: a counter of the mount on MNTDEV (e.g. loop0).
rm_stat() {
	awk -v k="$2" '$1 == k { print $2 }' "/sys/kernel/debug/rext2/$1/stats"
}

# rm_trace_bios DEV COMMAND...: runs COMMAND (its output discarded) with the
# block layer's block_bio_queue tracepoint on DEV, and prints one line for
# each bio queued on DEV meanwhile: "sector sectors rwbs".
rm_trace_bios() {
	local dev=$1 tr=/sys/kernel/debug/tracing major minor
	shift
	major=$((16#$(stat -c %t "$dev"))) minor=$((16#$(stat -c %T "$dev")))
	echo 0 > $tr/tracing_on
	echo > $tr/trace
	echo "dev == $(( (major << 20) | minor ))" > $tr/events/block/block_bio_queue/filter
	echo 1 > $tr/events/block/block_bio_queue/enable
	echo 1 > $tr/tracing_on
	"$@" > /dev/null
	echo 0 > $tr/tracing_on
	echo 0 > $tr/events/block/block_bio_queue/enable
	awk '{ for (i = 1; i < NF; i++) if ($i == "block_bio_queue:") { print $(i + 3), $(i + 5), $(i + 2); break } }' $tr/trace
}
