#!/usr/bin/env bash
# The benchmark command (make bench): set up the bench kernel (no KASAN, no
# lockdep; idempotent), build rmpage.ko against it from a snapshot of the
# working tree in the cache (the tree's own build products, made against the
# debug kernel, are left alone), make the benchmark image, then boot the VM
# twice with scripts/bench-in-vm.sh: once with -icount shift=0 (guest time
# counts executed instructions, so runs agree within about 1%: the primary
# figures) and once without (wall clock under TCG: shown beside them). Ends
# with results/bench/report.md and results/bench/bench.png.
#
#   scripts/bench.sh
#
# Environment: RMPAGE_BENCH_REPS (repetitions, default 5), RMPAGE_BENCH_MIB
# (size of the file read, default 256), RMPAGE_BENCH_RAND_MIB (bytes read by
# the random 4 KiB reads and written by the random 4 KiB writes, default
# 16), RMPAGE_BENCH_WRITE_REPS (repetitions of the write rows, default 3;
# 0 skips the writes), RMPAGE_BENCH_INSMOD (module parameters, e.g.
# large_folios=0; default none), RMPAGE_BENCH_META_REPS (repetitions of
# the metadata rows in the icount boot, default 2; 0 skips them),
# RMPAGE_BENCH_META_WALL_REPS (the same in the wall-clock boot, default 1),
# RMPAGE_BENCH_WRAND_RUNS (runs of the random-write job summed in each
# repetition, default 4), RMPAGE_BENCH_ONLY (meta: run the metadata rows alone, no reads and no
# writes; with RMPAGE_BENCH_META_WALL_REPS=0 the wall-clock boot is skipped;
# default everything), RMPAGE_BENCH_WALL (0: no wall-clock boot; default 1),
# RMPAGE_BENCH_ICOUNT_SLEEP (off: the icount boot runs with sleep=off, see
# below; default on), RMPAGE_BENCH_RESULTS (default results/bench).
#
# Under icount, QEMU's clock follows the host's while every guest CPU idles
# (sleep=on), so the rows that wait (the writes) spread by a few percent
# between repetitions. With RMPAGE_BENCH_ICOUNT_SLEEP=off idle time jumps to
# the next guest timer instead: the write rows repeat within 0.3% in one
# boot (not from boot to boot), but every wait lasts until a timer fires
# (the raw device's cold read loses 12%), so the figures judged are those
# of the default. To compare the write rows closely (one icount boot, about
# 14 minutes):
#
#   RMPAGE_BENCH_ICOUNT_SLEEP=off RMPAGE_BENCH_WALL=0 RMPAGE_BENCH_REPS=1 \
#     RMPAGE_BENCH_META_REPS=0 RMPAGE_BENCH_META_WALL_REPS=0 scripts/bench.sh
#
# To try the metadata rows alone, in one icount boot with one repetition
# (about 7 minutes):
#
#   RMPAGE_BENCH_ONLY=meta RMPAGE_BENCH_META_REPS=1 RMPAGE_BENCH_META_WALL_REPS=0 scripts/bench.sh
#
# The writes (sequential write + fsync, rewrite in place + fsync, 4 KiB
# random writes + fsync) run on rext2 with each engine and on the C ext2,
# each on a fresh copy of a second image: an empty file to write and a
# preallocated one to overwrite.
#
# The metadata rows (create 10,000 files of 4 KiB + sync, stat them cold,
# unlink them + sync, untar a source tree + sync) run on rext2 with each
# engine and on the C ext2, each on a fresh copy of a third image (empty,
# 4 KiB blocks, mke2fs); every copy must pass e2fsck -fn afterwards. Their
# icount figures repeat within 0.1%, and one repetition of them costs about
# 5 minutes in each boot on this 2-core host (rext2's lookups scan the whole
# directory): hence 2 repetitions under icount and 1 under wall clock, to
# keep make bench near 35 minutes. The
# tarball is made here once from the kernel source (fs/ and include/linux,
# about 5,200 files) and kept in the cache. A copy that fails e2fsck fails
# the benchmark, after the report is written.
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$RMPAGE_TOP"
t0=$(date +%s)
reps=${RMPAGE_BENCH_REPS:-5}
mib=${RMPAGE_BENCH_MIB:-256}
rand_mib=${RMPAGE_BENCH_RAND_MIB:-16}
modparams=${RMPAGE_BENCH_INSMOD:-}
wreps=${RMPAGE_BENCH_WRITE_REPS:-3}
mreps=${RMPAGE_BENCH_META_REPS:-2}
mwreps=${RMPAGE_BENCH_META_WALL_REPS:-1}
only=${RMPAGE_BENCH_ONLY:-}
wrand_runs=${RMPAGE_BENCH_WRAND_RUNS:-4}
wall=${RMPAGE_BENCH_WALL:-1}
icount_sleep=${RMPAGE_BENCH_ICOUNT_SLEEP:-on}
results=${RMPAGE_BENCH_RESULTS:-$RMPAGE_TOP/results/bench}
for v in "$reps" "$mib" "$rand_mib" "$wrand_runs"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || die "RMPAGE_BENCH_REPS, _MIB, _RAND_MIB and _WRAND_RUNS must be positive integers"
done
[[ $wreps =~ ^[0-9]+$ ]] || die "RMPAGE_BENCH_WRITE_REPS must be a number"
[[ $mreps =~ ^[0-9]+$ ]] || die "RMPAGE_BENCH_META_REPS must be a number"
[[ $mwreps =~ ^[0-9]+$ ]] || die "RMPAGE_BENCH_META_WALL_REPS must be a number"
[[ $wall =~ ^[01]$ ]] || die "RMPAGE_BENCH_WALL must be 0 or 1"
[[ $icount_sleep =~ ^(on|off)$ ]] || die "RMPAGE_BENCH_ICOUNT_SLEEP must be on or off"
case $only in
"") ;;
meta) [ "$mreps" -gt 0 ] || die "RMPAGE_BENCH_ONLY=meta needs RMPAGE_BENCH_META_REPS > 0" ;;
*) die "RMPAGE_BENCH_ONLY must be empty or meta" ;;
esac
# The file the random writes overwrite: 64 MiB, or more if they write more.
wrand_mib=$((rand_mib > 64 ? rand_mib : 64))
[ "$rand_mib" -le "$mib" ] || die "RMPAGE_BENCH_RAND_MIB ($rand_mib) is larger than RMPAGE_BENCH_MIB ($mib)"

"$RMPAGE_TOP/scripts/setup.sh" bench
kdir=$(rmpage_kdir bench)

# The snapshot of the tree (rmpage_snapshot): the VM runs from it as well,
# so edits made in the tree while the benchmark runs change nothing.
# Images are kept.
phase module
snap=$RMPAGE_CACHE/bench-src
rmpage_snapshot "$snap"
rev=$(git describe --always --dirty 2>/dev/null || echo unknown)
make -s -C "$snap" KDIR="$kdir"
echo "module: $snap/rmpage.ko (tree $rev, kernel $kdir)"

# The image: made here, not in the guest, with the same mke2fs (the guest runs
# the host's binaries), because populating 10,000 entries under TCG takes
# minutes. Kept in the cache per size, so that runs read the same image.
phase image
img=$snap/image-${mib}M.img
if [ ! -f "$img" ] || [ ! -f "$img.sha256" ]; then
	tmp=$snap/image-src
	rm -rf "$tmp" "$img" "$img.sha256"
	mkdir -p "$tmp/dir"
	head -c "${mib}M" /dev/urandom > "$tmp/big"
	(cd "$tmp/dir" && seq -f 'entry-%05g' 0 9999 | xargs touch)
	sha256sum < "$tmp/big" | cut -d' ' -f1 > "$img.sha256.tmp"
	mke2fs -q -F -t ext2 -b 4096 -d "$tmp" "$img.tmp" $((mib + 64))M
	rm -rf "$tmp"
	mv "$img.tmp" "$img"
	mv "$img.sha256.tmp" "$img.sha256"
fi
echo "image: $img ($(mke2fs -V 2>&1 | head -n 1))"

# The write image: an empty /seq to write, a random /rand to overwrite, room
# for /seq and its indirect blocks, and every block mke2fs leaves free filled
# with 0xff (no discard), so that data a write loses cannot read back as the
# zeroes the sequential rows write.
wimg=$snap/image-write-${mib}M-${wrand_mib}M.img
if [ "$wreps" -gt 0 ] && [ ! -f "$wimg" ]; then
	tmp=$snap/image-write-src
	rm -rf "$tmp" "$wimg.tmp"
	mkdir -p "$tmp"
	: > "$tmp/seq"
	head -c "${wrand_mib}M" /dev/urandom > "$tmp/rand"
	head -c "$((mib + wrand_mib + 64))M" /dev/zero | tr '\0' '\377' > "$wimg.tmp"
	mke2fs -q -F -t ext2 -b 4096 -E nodiscard,lazy_itable_init=0 -d "$tmp" "$wimg.tmp"
	e2fsck -fn "$wimg.tmp" > /dev/null || die "the write image does not check clean"
	rm -rf "$tmp"
	mv "$wimg.tmp" "$wimg"
fi
[ "$wreps" = 0 ] || echo "write image: $wimg"

# The metadata image: empty, 4 KiB blocks, inode tables written out (ext2
# has no uninit_bg), sparse. The tarball: fs/ and include/linux of the
# kernel source, in name order, owned by root.
mimg=$snap/image-meta-512M.img
tarball=$snap/image-tree-$RMPAGE_KVER-fs-include-linux.tar
if [ "$mreps" -gt 0 ] && [ ! -f "$mimg" ]; then
	rm -f "$mimg.tmp"
	mke2fs -q -F -t ext2 -b 4096 -E lazy_itable_init=0 "$mimg.tmp" 512M > /dev/null
	e2fsck -fn "$mimg.tmp" > /dev/null 2>&1 || die "the metadata image does not check clean"
	mv "$mimg.tmp" "$mimg"
fi
if [ "$mreps" -gt 0 ] && [ ! -f "$tarball" ]; then
	tar -C "$(rmpage_src)" --sort=name --owner=0 --group=0 --numeric-owner \
		-cf "$tarball.tmp" fs include/linux
	mv "$tarball.tmp" "$tarball"
fi
[ "$mreps" = 0 ] || echo "metadata image: $mimg, tarball: $tarball ($(tar -tf "$tarball" | wc -l) entries)"

rm -rf "$results"
mkdir -p "$results"
cat > "$results/run.json" <<EOF
{"rev": "$rev", "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "host_cpus": $(nproc), "icount_sleep": "$icount_sleep",
 "host_load": "$(cut -d' ' -f1-3 /proc/loadavg)", "qemu": "$(qemu-system-x86_64 --version | head -n 1)"}
EOF

# Both boots run from the snapshot: the guest's working directory is the
# host's current one.
# The traced pass of the writes (bios, bytes checked) runs in the icount boot
# only: the report takes bios from there, and the wall-clock boot saves the
# time.
# The guest exits with 3 when a metadata image failed e2fsck -fn but every
# row ran: the report is still written, and the benchmark fails after it.
fsck_failed=0
vm_bench() {
	local mode=$1 wtrace=$2 mreps=$3 rc=0
	shift 3
	(cd "$snap" && "$RMPAGE_TOP/scripts/vm.sh" -k bench -o "$results/$mode" "$@" -- \
		bash scripts/bench-in-vm.sh rmpage.ko "$(basename "$img")" "$reps" "$mib" "$rand_mib" "$modparams" \
			"$([ "$wreps" = 0 ] || basename "$wimg")" "$wreps" "$wrand_mib" "$wtrace" \
			"$([ "$mreps" = 0 ] || basename "$mimg")" "$mreps" "$(basename "$tarball")" "$only" "$wrand_runs") || rc=$?
	case $rc in
	0) ;;
	3) fsck_failed=1 ;;
	*) die "the $mode boot failed (exit status $rc)" ;;
	esac
}
phase vm-icount
icount_args=(-i)
[ "$icount_sleep" = on ] || icount_args+=(-S)
vm_bench icount 1 "$mreps" "${icount_args[@]}"
if [ "$wall" = 1 ] && { [ "$only" != meta ] || [ "$mwreps" -gt 0 ]; }; then
	phase vm-wall
	vm_bench wall 0 "$mwreps"
fi

# The report needs matplotlib for its plot: a venv in the cache.
phase report
venv=$RMPAGE_CACHE/bench-venv
if ! "$venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
	/usr/bin/python3 -m venv "$venv"
	"$venv/bin/pip" install -q matplotlib ||
		echo "bench: could not install matplotlib; the report comes without its plot" >&2
fi
"$venv/bin/python" "$RMPAGE_TOP/scripts/bench-report.py" "$results"
phase ""
echo "# report: $results/report.md, plot: $results/bench.png (wall time $(( $(date +%s) - t0 ))s)"
[ "$fsck_failed" = 0 ] || die "a metadata image failed e2fsck -fn: see the report and $results/*/fsck-*.txt"
