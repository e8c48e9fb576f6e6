#!/usr/bin/env bash
# The profile command (make profile): where the kernel's instructions go in
# 4 KiB random writes, per function, for rext2 with each engine and for the
# C ext2. It builds rmpage.ko against the bench kernel from a snapshot of
# the tree (as make bench does), the kprof TCG plugin and the static probe
# (scripts/profile/), and a 128 MiB ext2 image holding a 64 MiB /rand, then
# boots the bench VM once with -icount shift=0 and the plugin. In the guest
# (scripts/profile/profile-in-vm.sh), each configuration writes WRITES
# (default 4096) random blocks of /rand cold, fsyncs, writes them again
# over the cached folios and fsyncs, on a fresh copy of the image; the
# plugin counts the kernel's instructions in each of the four phases.
# The report (scripts/profile/report.py) gives each phase's time and the
# functions whose counts differ most between two configurations: under
# icount, time is executed instructions, so the differences add up to the
# difference in time. About two minutes once the bench kernel is built.
#
#   scripts/profile.sh [A B]     (default: rext2-rust ext2)
#
# Environment: RMPAGE_PROFILE_WRITES (4096), RMPAGE_PROFILE_TOP (30 rows
# a phase), RMPAGE_PROFILE_RESULTS (default results/profile). To see one
# function's instructions, after a run:
#
#   scripts/profile/report.py results/profile --annotate rext2-rust cold map_blocks \
#       ~/.cache/rmpage/profile-src/rmpage.ko
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$RMPAGE_TOP"
writes=${RMPAGE_PROFILE_WRITES:-4096}
top=${RMPAGE_PROFILE_TOP:-30}
results=${RMPAGE_PROFILE_RESULTS:-$RMPAGE_TOP/results/profile}
pair=("${1:-rext2-rust}" "${2:-ext2}")
[[ $writes =~ ^[1-9][0-9]*$ ]] && [ "$writes" -le 16384 ] ||
	die "RMPAGE_PROFILE_WRITES must be a number from 1 to 16384 (the blocks of /rand)"

"$RMPAGE_TOP/scripts/setup.sh" bench
kdir=$(rmpage_kdir bench)

phase build
snap=$RMPAGE_CACHE/profile-src
rmpage_snapshot "$snap"
make -s -C "$snap" KDIR="$kdir"
gcc -O2 -Wall -shared -fPIC -o "$snap/kprof.so" scripts/profile/kprof.c -lpthread
gcc -O2 -Wall -static -o "$snap/probe" scripts/profile/probe.c
echo "build: $snap (tree $(git describe --always --dirty 2>/dev/null || echo unknown))"

phase image
img=$snap/image-profile.img
if [ ! -f "$img" ]; then
	tmp=$snap/image-src
	rm -rf "$tmp" && mkdir -p "$tmp"
	head -c 64M /dev/urandom > "$tmp/rand"
	mke2fs -q -F -t ext2 -b 4096 -E nodiscard -d "$tmp" "$img.tmp" 128M > /dev/null
	rm -rf "$tmp"
	e2fsck -fn "$img.tmp" > /dev/null 2>&1 || die "the profile image does not check clean"
	mv "$img.tmp" "$img"
fi

phase vm
rm -rf "$results"
mkdir -p "$results"
(cd "$snap" && RMPAGE_QEMU_PLUGIN="$snap/kprof.so" "$RMPAGE_TOP/scripts/vm.sh" -k bench -i \
	-o "$results" -- bash scripts/profile/profile-in-vm.sh rmpage.ko "$(basename "$img")" probe "$writes")

phase report
python3 scripts/profile/report.py "$results" --top "$top" --pair "${pair[@]}" | tee "$results/report.txt"
phase ""
