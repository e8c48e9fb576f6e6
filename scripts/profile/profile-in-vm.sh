#!/usr/bin/env bash
# The guest side of scripts/profile.sh: loads RMPAGE_KO, then for a warm-up
# run (not counted) and for rext2 with engine=rust, rext2 with engine=c and
# the C ext2, each on a fresh copy of IMAGE in tmpfs, runs the probe over
# /rand (cold writes, fsync, warm writes, fsync) with the kprof plugin
# counting each phase, and checks the copy with e2fsck -fn afterwards.
#
#   scripts/profile/profile-in-vm.sh RMPAGE_KO IMAGE PROBE WRITES
set -euo pipefail
ko=$1 image=$2 probe=$(readlink -f "$3") writes=$4
out=${RMPAGE_OUT:-/tmp/out}
work=/tmp/profile
param=/sys/module/rmpage/parameters/engine
mkdir -p "$work/mnt"
insmod "$ko"
# Module addresses hold from here on: the report resolves them with this.
cat /proc/kallsyms > "$out/kallsyms.txt"

run() { # TAG FSTYPE [ENGINE] [PROFILED]
	local tag=$1 fstype=$2 engine=${3:-} profiled=${4:-1} dev
	cp "$image" "$work/img"
	dev=$(losetup -f --show "$work/img")
	[ -z "$engine" ] || echo "$engine" > $param
	mount -t "$fstype" "$dev" "$work/mnt"
	echo rust > $param
	# The probe comes over 9p: read it once, then start cold.
	cat "$probe" > /dev/null
	sync
	echo 3 > /proc/sys/vm/drop_caches
	PROF_DIR=$([ "$profiled" = 1 ] && echo "$out" || true) PROF_TAG=$tag \
		"$probe" "$work/mnt/rand" "$writes" | tee -a "$out/times.txt"
	umount "$work/mnt"
	losetup -d "$dev"
	e2fsck -fn "$work/img" > "$out/fsck-$tag.txt" 2>&1 ||
		{ echo "profile: $tag: the image fails e2fsck -fn" >&2; exit 1; }
}

: > "$out/times.txt"
# The first run after boot finds the page allocator's lists in a state the
# others do not: it warms them up and is not counted.
run warmup ext2 "" 0 > /dev/null
run rext2-rust rext2 rust
run rext2-c rext2 c
run ext2 ext2
