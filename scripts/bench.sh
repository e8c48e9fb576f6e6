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
# the random 4 KiB reads, default 16), RMPAGE_BENCH_INSMOD (module
# parameters, e.g. large_folios=0; default none), RMPAGE_BENCH_RESULTS
# (default results/bench).
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$RMPAGE_TOP"
t0=$(date +%s)
reps=${RMPAGE_BENCH_REPS:-5}
mib=${RMPAGE_BENCH_MIB:-256}
rand_mib=${RMPAGE_BENCH_RAND_MIB:-16}
modparams=${RMPAGE_BENCH_INSMOD:-}
results=${RMPAGE_BENCH_RESULTS:-$RMPAGE_TOP/results/bench}
for v in "$reps" "$mib" "$rand_mib"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || die "RMPAGE_BENCH_REPS, _MIB and _RAND_MIB must be positive integers"
done
[ "$rand_mib" -le "$mib" ] || die "RMPAGE_BENCH_RAND_MIB ($rand_mib) is larger than RMPAGE_BENCH_MIB ($mib)"

"$RMPAGE_TOP/scripts/setup.sh" bench
kdir=$(rmpage_kdir bench)

# The snapshot: every file git knows of (tracked or not ignored), as it is
# in the working tree now. The VM runs from it as well, so edits made in
# the tree while the benchmark runs change nothing. Images are kept.
phase module
snap=$RMPAGE_CACHE/bench-src
mkdir -p "$snap"
find "$snap" -mindepth 1 -maxdepth 1 ! -name 'image-*' -exec rm -rf {} +
git ls-files -z -co --exclude-standard |
	while IFS= read -r -d '' f; do if [ -f "$f" ]; then printf '%s\0' "$f"; fi; done |
	xargs -0 -r cp --parents -t "$snap"
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

rm -rf "$results"
mkdir -p "$results"
cat > "$results/run.json" <<EOF
{"rev": "$rev", "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "host_cpus": $(nproc),
 "host_load": "$(cut -d' ' -f1-3 /proc/loadavg)", "qemu": "$(qemu-system-x86_64 --version | head -n 1)"}
EOF

# Both boots run from the snapshot: the guest's working directory is the
# host's current one.
vm_bench() {
	local mode=$1
	shift
	(cd "$snap" && "$RMPAGE_TOP/scripts/vm.sh" -k bench -o "$results/$mode" "$@" -- \
		bash scripts/bench-in-vm.sh rmpage.ko "$(basename "$img")" "$reps" "$mib" "$rand_mib" "$modparams")
}
phase vm-icount
vm_bench icount -i
phase vm-wall
vm_bench wall

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
