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

# rm_stat MNTDEV NAME: a counter of the mount on MNTDEV (e.g. loop0).
rm_stat() {
	awk -v k="$2" '$1 == k { print $2 }' "/sys/kernel/debug/rext2/$1/stats"
}
