#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The guest side of scripts/bench.sh: in one boot, copy the benchmark image
# (4 KiB-block ext2 from mke2fs -d: one random file, one directory of 10,000
# entries) into the guest's tmpfs, attach it read-only to one loop device per
# configuration, and measure, for each repetition and each configuration in
# turn (the order rotates, to spread drift):
#
#   seq      cold sequential read of the file, dd bs=1M: time, user/sys CPU
#   rand     cold 4 KiB random reads, fio psync with a fixed seed: IOPS
#   readdir  cold listing of the directory (os.listdir, no stat): time
#
# The configurations: rext2 with engine=rust, rext2 with engine=c (the
# kernel's fs/mpage.c behind the same block mapper), the in-kernel C ext2,
# and the raw loop device (dd of the device: the ceiling). Before the timed
# repetitions, one traced cold sequential read per configuration counts the
# bios on the block_bio_queue tracepoint and checks the bytes read.
#
# "Cold" is: sync, drop_caches, then a warm-up of the tools (dd, python, fio) so
# that re-reading them over 9p is not measured.
#
# Then the writes, if WIMAGE is given: for each of rext2 engine=rust, rext2
# engine=c and the C ext2, and each repetition, a fresh copy of WIMAGE
# (4 KiB-block ext2 from mke2fs -d, free blocks filled with 0xff: an empty
# /seq and a preallocated /rand of WRAND_MIB MiB), attached read-write and
# mounted, then in turn, each after sync and drop_caches:
#
#   wseq      sequential buffered write of FILE_MIB MiB into the empty /seq,
#             dd bs=1M conv=fsync: time, user/sys CPU
#   wrewrite  the same over the same file in place (conv=notrunc,fsync)
#   wrand     4 KiB random writes into /rand, fio psync with a fixed seed
#             and end_fsync=1 (fio's runtime includes that fsync): IOPS
#             over WRAND_RUNS (default 4) runs of the same job, each
#             cold, their I/O and runtimes summed
#
# Before the timed repetitions (unless WTRACE is 0: the wall-clock boot,
# whose bios the report does not use), one traced pass per configuration (on
# its own fresh copy) runs the three rows with block_bio_queue on the device and
# counts the write bios (rwbs with W) of each, during the command and at the
# sync after it, keeps the engine's counters before and after, and checks
# the bytes: /seq reads back as zeroes (over 0xff), fio's randwrite data
# passes fio's own verification cold, and e2fsck -fn is clean at the end.
#
# Then the metadata rows, if MIMAGE is given: for each of rext2 engine=rust,
# rext2 engine=c and the C ext2, and each of MREPS repetitions, on a fresh
# copy of MIMAGE (an empty 4 KiB-block ext2 from mke2fs), mounted
# read-write, the configurations interleaved:
#
#   mcreate   10,000 files of 4 KiB in one new directory (os.open, os.write,
#             os.close in one Python process), then one sync: files/s
#   mstat     after sync and drop_caches, os.listdir of the directory and
#             os.stat of every file in it: files/s
#   munlink   after the stat row and a drop of the page cache alone (the
#             inodes and dentries it cached stay), os.unlink of every
#             file, then sync: files/s
#   muntar    on another fresh copy, after drop_caches, tar -xf of TARBALL
#             (a source tree, from the guest's tmpfs), then sync: time
#
# The three Python rows are timed inside the process, after its start; the
# loop's own cost (the create loop with its system calls replaced by Python
# no-ops) is measured once a repetition as mdry. After the unlink row and
# after the untar row the copy is unmounted and must pass e2fsck -fn
# (recorded as mfsck; a failure does not stop the rows, it makes the exit
# status 3). In the first repetition, unless WTRACE is 0 (the wall-clock
# boot), the created files are read back from the disk (between the stat
# and the unlink rows, through the cached dentries) and the extracted tree is
# compared with the tarball (tar -d), not timed. The loop device's
# completed reads and writes are kept for every row.
# ONLY=meta runs the metadata rows alone (no reads, no writes).
#
# Raw results go to $RMPAGE_OUT/raw.jsonl, one JSON object a line.
#
#   scripts/bench-in-vm.sh RMPAGE_KO IMAGE [REPS [FILE_MIB [RAND_MIB [MODPARAMS [WIMAGE [WREPS [WRAND_MIB [WTRACE [MIMAGE MREPS TARBALL [ONLY [WRAND_RUNS]]]]]]]]]]]
#
# IMAGE holds /big (FILE_MIB MiB) and /dir (10,000 entries); IMAGE.sha256 is
# /big's sha256. MODPARAMS (e.g. "large_folios=0") go to insmod. WIMAGE
# holds /seq (empty) and /rand (WRAND_MIB MiB, default 64); WREPS (default
# 3) is the number of timed repetitions of the write rows.
set -euo pipefail
usage="usage: bench-in-vm.sh RMPAGE_KO IMAGE [REPS [FILE_MIB [RAND_MIB [MODPARAMS [WIMAGE [WREPS [WRAND_MIB [WTRACE [MIMAGE MREPS TARBALL [ONLY [WRAND_RUNS]]]]]]]]]]]"
ko=${1:?$usage} image=${2:?$usage}
reps=${3:-5} mib=${4:-256} rand_mib=${5:-16} modparams=${6:-}
wimage=${7:-} wreps=${8:-3} wrand_mib=${9:-64} wtrace=${10:-1}
mimage=${11:-} mreps=${12:-3} tarball=${13:-} only=${14:-} wrand_runs=${15:-4}
[ -z "$mimage" ] || [ -n "$tarball" ] || { echo "$usage" >&2; exit 1; }
out=${RMPAGE_OUT:-/tmp/out}
raw=$out/raw.jsonl
work=/tmp/bench
tr=/sys/kernel/debug/tracing
param=/sys/module/rmpage/parameters/engine
configs=(rext2-rust rext2-c ext2 raw)
nentries=10000
: > "$raw"

emit() { echo "$*" >> "$raw"; }
say() { echo "bench: $*"; }
# Microseconds, without a fork.
now_us() { _now=${EPOCHREALTIME/./}; }

# The image, made on the host by scripts/bench.sh, goes to this guest's
# tmpfs: the loop devices are backed by memory.
mkdir -p "$work/mnt"
img=$work/bench.img
cp "$image" "$img"
want=$(cat "$image.sha256")
say "image: $(($(stat -c %s "$img") >> 20)) MiB, 4 KiB blocks; /big's blocks: $(debugfs -R 'stat /big' "$img" 2>/dev/null | sed -n '/^BLOCKS:/{n;p}' | cut -c1-160)"

# shellcheck disable=SC2086
insmod "$ko" $modparams
declare -A dev path dir
for c in "${configs[@]}"; do
	dev[$c]=$(losetup -f --show -r "$img")
	mkdir -p "$work/mnt/$c"
	case $c in
	rext2-rust) echo rust > $param; mount -t rext2 -o ro "${dev[$c]}" "$work/mnt/$c" ;;
	rext2-c) echo c > $param; mount -t rext2 -o ro "${dev[$c]}" "$work/mnt/$c" ;;
	ext2) mount -t ext2 -o ro "${dev[$c]}" "$work/mnt/$c" ;;
	esac
	if [ $c = raw ]; then
		path[$c]=${dev[$c]} dir[$c]=
	else
		path[$c]=$work/mnt/$c/big dir[$c]=$work/mnt/$c/dir
	fi
done
echo rust > $param
d=${dev[raw]#/dev/}
emit "{\"meta\": {\"kernel\": \"$(uname -r)\", \"reps\": $reps, \"file_mib\": $mib, \"rand_mib\": $rand_mib," \
	"\"entries\": $nentries, \"read_ahead_kb\": $(cat /sys/block/$d/queue/read_ahead_kb)," \
	"\"max_sectors_kb\": $(cat /sys/block/$d/queue/max_sectors_kb)," \
	"\"modparams\": \"$modparams\", \"clocksource\": \"$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)\"," \
	"\"cpus\": $(nproc), \"cmdline\": \"$(cat /proc/cmdline)\"," \
	"\"write_reps\": $([ -n "$wimage" ] && echo "$wreps" || echo 0), \"write_rand_file_mib\": $wrand_mib, \"write_rand_runs\": $wrand_runs," \
	"\"dirty_background_ratio\": $(cat /proc/sys/vm/dirty_background_ratio), \"dirty_ratio\": $(cat /proc/sys/vm/dirty_ratio)}}"
for c in "${configs[@]}"; do say "$c: ${dev[$c]} ${path[$c]}"; done

cold() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	# The tools live on the host's root over 9p: bring them back now.
	dd if=/dev/zero of=/dev/null bs=1M count=1 status=none
	python3 -c 'import os, sys, time'
	fio --version > /dev/null
	tar --version > /dev/null
}

# seq_read CONFIG REP: one cold sequential read.
TIMEFORMAT='%3U %3S'
seq_read() {
	local c=$1 rep=$2 t0 t1 user sys
	cold
	now_us; t0=$_now
	{ time dd if="${path[$c]}" of=/dev/null bs=1M count="$mib" status=none; } 2> "$work/time"
	now_us; t1=$_now
	read -r user sys < "$work/time"
	emit "{\"config\": \"$c\", \"test\": \"seq\", \"rep\": $rep, \"bytes\": $((mib << 20)), \"us\": $((t1 - t0)), \"user_s\": $user, \"sys_s\": $sys}"
	printf 'bench: rep %d %-10s seq     %8.1f MiB/s  sys %ss\n' "$rep" "$c" \
		"$(echo "$mib * 1000000 / $((t1 - t0))" | bc -l)" "$sys"
}

# rand_read CONFIG REP: cold 4 KiB random reads, one at a time (psync), the
# same offsets every run; fio's IOPS and mean latency.
rand_read() {
	local c=$1 rep=$2 res
	cold
	fio --name=rand --filename="${path[$c]}" --readonly --rw=randread --bs=4k \
		--size="${mib}M" --io_size="${rand_mib}M" --ioengine=psync --direct=0 \
		--randseed=1 --output-format=json --output="$work/fio.json" > /dev/null
	res=$(jq -c '.jobs[0].read | {iops: .iops, bw_bytes: .bw_bytes, io_bytes: .io_bytes, runtime_ms: .runtime, lat_mean_ns: .lat_ns.mean}' "$work/fio.json")
	emit "{\"config\": \"$c\", \"test\": \"rand\", \"rep\": $rep, \"fio\": $res}"
	printf 'bench: rep %d %-10s rand    %8.0f IOPS\n' "$rep" "$c" "$(jq '.jobs[0].read.iops' "$work/fio.json")"
}

# readdir CONFIG REP: a cold listing of the large directory, without stat:
# os.listdir (opendir, getdents, closedir) timed inside a Python process
# started beforehand, since starting `ls` costs more than the listing and
# varies by a few milliseconds even under icount.
readdir() {
	local c=$1 rep=$2 n us
	[ -n "${dir[$c]}" ] || return 0
	cold
	read -r n us < <(python3 -c 'import os, sys, time
t = time.perf_counter_ns()
n = len(os.listdir(sys.argv[1]))
print(n, (time.perf_counter_ns() - t) // 1000)' "${dir[$c]}")
	[ "$n" = $nentries ] || { say "$c: readdir found $n entries, want $nentries"; exit 1; }
	emit "{\"config\": \"$c\", \"test\": \"readdir\", \"rep\": $rep, \"entries\": $n, \"us\": $us}"
	printf 'bench: rep %d %-10s readdir %8.2f ms\n' "$rep" "$c" "$(echo "$us / 1000" | bc -l)"
}

# traced CONFIG: a cold sequential read with block_bio_queue counted on the
# configuration's loop device; then the bytes are checked (from the cache
# that read filled) and the engine's counters kept.
traced() {
	local c=$1 d=${dev[$1]#/dev/} major minor n sectors sha stats=null
	major=$((16#$(stat -c %t "${dev[$c]}"))) minor=$((16#$(stat -c %T "${dev[$c]}")))
	cold
	echo 0 > $tr/tracing_on
	echo > $tr/trace
	echo "dev == $(((major << 20) | minor))" > $tr/events/block/block_bio_queue/filter
	echo 1 > $tr/events/block/block_bio_queue/enable
	echo 1 > $tr/tracing_on
	dd if="${path[$c]}" of=/dev/null bs=1M count="$mib" status=none
	echo 0 > $tr/tracing_on
	echo 0 > $tr/events/block/block_bio_queue/enable
	read -r n sectors < <(grep block_bio_queue $tr/trace |
		awk '{ for (i = 1; i < NF; i++) if ($i == "+") s += $(i + 1); n++ } END { print n + 0, s + 0 }')
	[ "$n" -gt 0 ] || { say "$c: no bios traced"; exit 1; }
	local lost
	lost=$(awk '/^overrun/ { s += $2 } END { print s + 0 }' $tr/per_cpu/cpu*/stats)
	[ "$lost" = 0 ] || { say "$c: the trace buffer overran ($lost events lost)"; exit 1; }
	if [ $c != raw ]; then
		sha=$(sha256sum < "${path[$c]}")
		[ "${sha%% *}" = "$want" ] || { say "$c: read back a different file"; exit 1; }
	fi
	if [ -f /sys/kernel/debug/rext2/$d/stats ]; then
		stats=$(awk 'BEGIN { printf "{" } NF == 2 && n++ { printf ", " } NF == 2 { v = $2; if (v !~ /^[0-9]+$/) v = "\"" v "\""; printf "\"%s\": %s", $1, v } END { printf "}" }' \
			/sys/kernel/debug/rext2/$d/stats)
	fi
	emit "{\"config\": \"$c\", \"test\": \"bios\", \"bios\": $n, \"sectors\": $sectors, \"engine_stats\": $stats}"
	printf 'bench: %-10s %6d bios, average %6.1f KiB%s\n' "$c" "$n" \
		"$(echo "$sectors / 2 / $n" | bc -l)" "$([ $c = raw ] || echo ", bytes checked")"
}

echo 16384 > $tr/buffer_size_kb
if [ "$only" != meta ]; then
	say "traced reads (bios per configuration)"
	for c in "${configs[@]}"; do traced "$c"; done

	for rep in $(seq 1 "$reps"); do
		n=${#configs[@]}
		for i in $(seq 0 $((n - 1))); do
			c=${configs[$(((i + rep - 1) % n))]}
			seq_read "$c" "$rep"
			rand_read "$c" "$rep"
			readdir "$c" "$rep"
		done
	done
fi

for c in "${configs[@]}"; do
	[ $c = raw ] || umount "$work/mnt/$c"
	losetup -d "${dev[$c]}"
done
# The read image is not needed any more: its memory goes back to the writes.
rm -f "$img"

# ---- The writes ----
wconfigs=(rext2-rust rext2-c ext2)
wbase=$work/write-base.img
wimg=$work/write.img
wmnt=$work/mnt/write
mkdir -p "$wmnt"
wbytes=$((mib << 20))

# wsetup CONFIG: a fresh copy of the write image, attached read-write to a
# loop device ($wdev) and mounted at $wmnt as CONFIG.
wsetup() {
	rm -f "$wimg"
	cp --sparse=never "$wbase" "$wimg"
	wdev=$(losetup -f --show "$wimg")
	case $1 in
	rext2-rust) echo rust > $param; mount -t rext2 "$wdev" "$wmnt" ;;
	rext2-c) echo c > $param; mount -t rext2 "$wdev" "$wmnt" ;;
	ext2) mount -t ext2 "$wdev" "$wmnt" ;;
	esac
	echo rust > $param
}
# wteardown [fsck]: unmount, detach, optionally e2fsck -fn, remove the copy.
wteardown() {
	umount "$wmnt"
	losetup -d "$wdev"
	if [ "${1:-}" = fsck ] && ! e2fsck -fn "$wimg" > "$work/fsck.out" 2>&1; then
		say "e2fsck -fn of the written image is not clean:"
		head -n 20 "$work/fsck.out"
		exit 1
	fi
	rm -f "$wimg"
}

# stats_json DEV: the rext2 counters of the mount on DEV as a JSON object,
# or null for the C ext2.
stats_json() {
	local f=/sys/kernel/debug/rext2/${1#/dev/}/stats
	if [ -f "$f" ]; then
		awk 'BEGIN { printf "{" } NF == 2 && n++ { printf ", " } NF == 2 { v = $2; if (v !~ /^[0-9]+$/) v = "\"" v "\""; printf "\"%s\": %s", $1, v } END { printf "}" }' "$f"
	else
		echo null
	fi
}

# The commands of the three rows, the same in the traced pass and the timed
# runs (but for fio's verification headers in the traced randwrite).
wdd() { # ROW
	local conv=fsync
	[ "$1" = rewrite ] && conv=notrunc,fsync
	dd if=/dev/zero of="$wmnt/seq" bs=1M count="$mib" conv=$conv status=none
}
wfio() { # [FIO OPTIONS...]
	fio --name=wrand --filename="$wmnt/rand" --rw=randwrite --bs=4k \
		--size="${wrand_mib}M" --io_size="${rand_mib}M" --ioengine=psync --direct=0 \
		--randseed=1 --end_fsync=1 --output-format=json --output="$work/fio.json" "$@" > /dev/null
}

# wcount: the write bios queued since the trace began: "bios sectors
# flushes", where flushes are the write bios without data (preflushes).
wcount() {
	awk '{ for (i = 1; i < NF; i++) if ($i == "block_bio_queue:") {
		if ($(i + 2) ~ /W/) { n++; s += $(i + 5); if ($(i + 5) == 0) f++ }
		break } } END { print n + 0, s + 0, f + 0 }' $tr/trace
}

# wtraced CONFIG: the traced pass.
wtraced() {
	local c=$1 row major minor s0 s1 n sectors flushes n2 sectors2 flushes2 lost
	wsetup "$c"
	major=$((16#$(stat -c %t "$wdev"))) minor=$((16#$(stat -c %T "$wdev")))
	for row in seq rewrite rand; do
		cold
		s0=$(stats_json "$wdev")
		echo 0 > $tr/tracing_on
		echo > $tr/trace
		echo "dev == $(((major << 20) | minor))" > $tr/events/block/block_bio_queue/filter
		echo 1 > $tr/events/block/block_bio_queue/enable
		echo 1 > $tr/tracing_on
		if [ $row = rand ]; then
			wfio --verify=crc32c --do_verify=0 --verify_state_save=0
		else
			wdd $row
		fi
		read -r n sectors flushes < <(wcount)
		s1=$(stats_json "$wdev")
		sync
		echo 0 > $tr/tracing_on
		echo 0 > $tr/events/block/block_bio_queue/enable
		read -r n2 sectors2 flushes2 < <(wcount)
		lost=$(awk '/^overrun/ { s += $2 } END { print s + 0 }' $tr/per_cpu/cpu*/stats)
		[ "$lost" = 0 ] || { say "$c: the trace buffer overran ($lost events lost)"; exit 1; }
		[ "$n" -gt 0 ] || { say "$c $row: no write bios traced"; exit 1; }
		# The bytes, read back cold through the same mount.
		echo 3 > /proc/sys/vm/drop_caches
		if [ $row = rand ]; then
			wfio --verify=crc32c --verify_only=1 --verify_fatal=1 --verify_state_load=0 --verify_state_save=0 ||
				{ say "$c: fio's randwrite data does not verify"; exit 1; }
		else
			[ "$(stat -c %s "$wmnt/seq")" = "$wbytes" ] &&
				cmp -s -n "$wbytes" "$wmnt/seq" /dev/zero ||
				{ say "$c $row: /seq does not read back as $mib MiB of zeroes"; exit 1; }
		fi
		emit "{\"config\": \"$c\", \"test\": \"wbios\", \"row\": \"$row\", \"bios\": $n, \"sectors\": $sectors," \
			"\"flushes\": $flushes, \"sync_bios\": $((n2 - n)), \"sync_sectors\": $((sectors2 - sectors))," \
			"\"engine_before\": $s0, \"engine_after\": $s1}"
		printf 'bench: %-10s w%-8s %6d write bios, average %7.1f KiB (+%d bios at the next sync), bytes checked\n' \
			"$c" "$row" "$n" "$(echo "$sectors / 2 / $n" | bc -l)" $((n2 - n))
	done
	wteardown fsck
}

# wtimed CONFIG REP: the three rows, timed, on a fresh copy.
wtimed() {
	local c=$1 rep=$2 row t0 t1 user sys res
	wsetup "$c"
	for row in seq rewrite; do
		cold
		now_us; t0=$_now
		{ time wdd $row; } 2> "$work/time"
		now_us; t1=$_now
		read -r user sys < "$work/time"
		emit "{\"config\": \"$c\", \"test\": \"w$row\", \"rep\": $rep, \"bytes\": $wbytes, \"us\": $((t1 - t0)), \"user_s\": $user, \"sys_s\": $sys}"
		printf 'bench: rep %d %-10s w%-8s %8.1f MiB/s  sys %ss\n' "$rep" "$c" "$row" \
			"$(echo "$mib * 1000000 / $((t1 - t0))" | bc -l)" "$sys"
	done
	# fio gives its runtime in whole milliseconds: one run of about 85 ms
	# moves in steps of 1.2%, and runs differ by a millisecond or two even
	# under icount. The same job, cold each time, WRAND_RUNS times, summed,
	# resolves a quarter of that.
	local fio_us=0 i
	: > "$work/fio-runs.json"
	for i in $(seq 1 "$wrand_runs"); do
		cold
		now_us; t0=$_now
		wfio
		now_us; t1=$_now
		fio_us=$((fio_us + t1 - t0))
		jq -c '.jobs[0].write | {io_bytes: .io_bytes, runtime_ms: .runtime, lat_mean_ns: .lat_ns.mean}' \
			"$work/fio.json" >> "$work/fio-runs.json"
	done
	res=$(jq -cs '(map(.io_bytes) | add) as $io | (map(.runtime_ms) | add) as $ms |
		{iops: ($io / 4096 * 1000 / $ms), bw_bytes: ($io * 1000 / $ms), io_bytes: $io, runtime_ms: $ms,
		 lat_mean_ns: (map(.lat_mean_ns) | add / length), runs: length}' "$work/fio-runs.json")
	emit "{\"config\": \"$c\", \"test\": \"wrand\", \"rep\": $rep, \"fio\": $res, \"fio_us\": $fio_us}"
	printf 'bench: rep %d %-10s wrand    %8.0f IOPS\n' "$rep" "$c" "$(echo "$res" | jq '.iops')"
	emit "{\"config\": \"$c\", \"test\": \"wstats\", \"rep\": $rep, \"engine_stats\": $(stats_json "$wdev")}"
	wteardown
}

if [ -n "$wimage" ] && [ "$only" != meta ]; then
	cp --sparse=never "$wimage" "$wbase"
	say "write image: $(($(stat -c %s "$wbase") >> 20)) MiB, 4 KiB blocks, free blocks 0xff; /rand: $wrand_mib MiB"
	if [ "$wtrace" != 0 ]; then
		say "traced writes (write bios per configuration and row)"
		for c in "${wconfigs[@]}"; do wtraced "$c"; done
	fi

	for rep in $(seq 1 "$wreps"); do
		n=${#wconfigs[@]}
		for i in $(seq 0 $((n - 1))); do
			wtimed "${wconfigs[$(((i + rep - 1) % n))]}" "$rep"
		done
	done
	rm -f "$wbase"
fi


# ---- The metadata rows ----
mconfigs=(rext2-rust rext2-c ext2)
mbase=$work/meta-base.img
mimg=$work/meta.img
mmnt=$work/mnt/meta
mtar=$work/tree.tar
mtool=$work/meta.py
fsck_failed=0
mkdir -p "$mmnt"

# The tool of the create, stat and unlink rows: one Python process per row,
# started (and its imports loaded) before its clock starts; it prints the
# files it handled and the microseconds of its timed part.
cat > "$mtool" <<'PY'
"""bench meta tool: OP DIR FILES, OP one of dry, create, stat, verify, unlink."""
import os
import sys
import time

op, path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = [f"f{i:05d}" for i in range(count)]
# 4 KiB a file, its name in every 16 bytes: a block that lands in the wrong
# file shows when it is read back.
payload = [(name.ljust(15) + "\n").encode() * 256 for name in names]
FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL


def create(dfd, open_, write, close, sync):
    """Create, write and close every file, then sync; nanoseconds."""
    start = time.perf_counter_ns()
    for name, data in zip(names, payload):
        fd = open_(name, FLAGS, 0o644, dir_fd=dfd)
        if write(fd, data) != 4096:
            sys.exit(f"short write to {name}")
        close(fd)
    sync()
    return time.perf_counter_ns() - start


def opendir():
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY)


if op == "dry":
    # The loop's own cost: the same loop with the system calls replaced by
    # Python functions that do nothing.
    ns = create(-1, lambda name, flags, mode, dir_fd=None: 3,
                lambda fd, data: len(data), lambda fd: None, lambda: None)
elif op == "create":
    os.mkdir(path)
    ns = create(opendir(), os.open, os.write, os.close, os.sync)
elif op == "stat":
    dfd = opendir()
    start = time.perf_counter_ns()
    found = os.listdir(dfd)
    total = 0
    for name in found:
        total += os.stat(name, dir_fd=dfd).st_size
    ns = time.perf_counter_ns() - start
    if sorted(found) != names or total != count * 4096:
        sys.exit(f"stat: {len(found)} files of {total} bytes, want {count} of {count * 4096}")
elif op == "verify":
    dfd = opendir()
    start = time.perf_counter_ns()
    for name, data in zip(names, payload):
        fd = os.open(name, os.O_RDONLY, dir_fd=dfd)
        got = os.read(fd, 8192)
        os.close(fd)
        if got != data:
            sys.exit(f"verify: {name} reads back {len(got)} different bytes")
    ns = time.perf_counter_ns() - start
elif op == "unlink":
    dfd = opendir()
    start = time.perf_counter_ns()
    for name in names:
        os.unlink(name, dir_fd=dfd)
    os.sync()
    ns = time.perf_counter_ns() - start
    left = os.listdir(dfd)
    if left:
        sys.exit(f"unlink: {len(left)} files left")
else:
    sys.exit(f"unknown op {op}")
print(count, ns // 1000)
PY

# msetup CONFIG: a fresh copy of the metadata image, attached read-write to a
# loop device ($mdev) and mounted at $mmnt as CONFIG.
msetup() {
	rm -f "$mimg"
	cp --sparse=always "$mbase" "$mimg"
	mdev=$(losetup -f --show "$mimg")
	case $1 in
	rext2-rust) echo rust > $param; mount -t rext2 "$mdev" "$mmnt" ;;
	rext2-c) echo c > $param; mount -t rext2 "$mdev" "$mmnt" ;;
	ext2) mount -t ext2 "$mdev" "$mmnt" ;;
	esac
	echo rust > $param
}

# mteardown CONFIG REP AFTER: unmount, detach, e2fsck -fn of the copy. A
# copy that does not check clean is recorded and reported, the rows go on,
# and the run fails at the end (exit status 3).
mteardown() {
	local c=$1 rep=$2 after=$3 clean=true
	umount "$mmnt"
	losetup -d "$mdev"
	if ! e2fsck -fn "$mimg" > "$work/fsck.out" 2>&1; then
		clean=false fsck_failed=1
		say "$c rep $rep: e2fsck -fn after $after is not clean:"
		head -n 20 "$work/fsck.out"
		cp "$work/fsck.out" "$out/fsck-$c-$after-$rep.txt"
	fi
	emit "{\"config\": \"$c\", \"test\": \"mfsck\", \"rep\": $rep, \"after\": \"$after\", \"clean\": $clean}"
	rm -f "$mimg"
}

# mio: the requests and sectors the image's loop device has completed so
# far (its /sys/block stat: reads, read sectors, writes, write sectors).
mio() {
	local f
	read -ra f < "/sys/block/${mdev#/dev/}/stat"
	echo "${f[0]} ${f[2]} ${f[4]} ${f[6]}"
}
# mio_json BEFORE AFTER: the difference, as JSON.
mio_json() {
	local -a a b
	read -ra a <<< "$1"
	read -ra b <<< "$2"
	echo "{\"r\": $((b[0] - a[0])), \"rs\": $((b[1] - a[1])), \"w\": $((b[2] - a[2])), \"ws\": $((b[3] - a[3]))}"
}

# mrow CONFIG REP ROW: one row of the tool on $mmnt/many, recorded.
mrow() {
	local c=$1 rep=$2 row=$3 n us io0 io1
	io0=$(mio)
	read -r n us < <(python3 "$mtool" "$row" "$mmnt/many" $nfiles) ||
		{ say "$c: the $row row failed"; exit 1; }
	io1=$(mio)
	[ "$n" = $nfiles ] || { say "$c: the $row row handled '$n' files"; exit 1; }
	emit "{\"config\": \"$c\", \"test\": \"m$row\", \"rep\": $rep, \"files\": $n, \"us\": $us," \
		"\"io\": $(mio_json "$io0" "$io1")}"
	printf 'bench: rep %d %-10s %-7s %8.0f files/s  (%.1f ms)\n' "$rep" "$c" "$row" \
		"$(echo "$n * 1000000 / $us" | bc -l)" "$(echo "$us / 1000" | bc -l)"
}

# muntar CONFIG REP: extract the tree into the mount, then sync.
muntar() {
	local c=$1 rep=$2 t0 t1 user sys io0 io1
	cold
	io0=$(mio)
	now_us; t0=$_now
	{ time { tar -xf "$mtar" -C "$mmnt" && sync; }; } 2> "$work/time"
	now_us; t1=$_now
	io1=$(mio)
	read -r user sys < "$work/time"
	emit "{\"config\": \"$c\", \"test\": \"muntar\", \"rep\": $rep, \"files\": $tar_files," \
		"\"entries\": $tar_entries, \"bytes\": $tar_bytes, \"us\": $((t1 - t0)), \"user_s\": $user, \"sys_s\": $sys," \
		"\"io\": $(mio_json "$io0" "$io1")}"
	printf 'bench: rep %d %-10s untar   %8.0f files/s  (%.1f ms)\n' "$rep" "$c" \
		"$(echo "$tar_files * 1000000 / $((t1 - t0))" | bc -l)" "$(echo "($t1 - $t0) / 1000" | bc -l)"
}

# mtimed CONFIG REP: the four rows on fresh copies; in the first
# repetition of the icount boot (WTRACE not 0), the data is read back cold
# (not timed) before it goes.
mtimed() {
	local c=$1 rep=$2
	msetup "$c"
	cold
	mrow "$c" "$rep" create
	cold
	mrow "$c" "$rep" stat
	# Unlink after the cold stat, with the inodes and dentries it cached
	# (the row measures removing, not looking up), but without the page
	# cache: so that the first repetition can read the files back from the
	# disk (through those dentries: a cold lookup of 10,000 names costs
	# more than the check) and leave the unlink row as it finds it in the
	# others.
	sync
	echo 1 > /proc/sys/vm/drop_caches
	if [ "$rep" = 1 ] && [ "$wtrace" != 0 ]; then
		python3 "$mtool" verify "$mmnt/many" $nfiles > /dev/null ||
			{ say "$c: the created files do not read back"; exit 1; }
		echo 1 > /proc/sys/vm/drop_caches
	fi
	mrow "$c" "$rep" unlink
	mteardown "$c" "$rep" unlink
	msetup "$c"
	muntar "$c" "$rep"
	if [ "$rep" = 1 ] && [ "$wtrace" != 0 ]; then
		cold
		tar -df "$mtar" -C "$mmnt" > "$work/tar-diff" 2>&1 ||
			{ say "$c: the extracted tree differs from the tarball:"; head -n 20 "$work/tar-diff"; exit 1; }
	fi
	mteardown "$c" "$rep" untar
}

if [ -n "$mimage" ]; then
	nfiles=10000
	cp --sparse=always "$mimage" "$mbase"
	cp "$tarball" "$mtar"
	tar_entries=$(tar -tf "$mtar" | wc -l)
	tar_files=$(tar -tvf "$mtar" | grep -c '^-')
	tar_bytes=$(tar -tvf "$mtar" | awk '/^-/ { s += $3 } END { print s + 0 }')
	say "metadata image: $(($(stat -c %s "$mbase") >> 20)) MiB, 4 KiB blocks; tarball: $tar_files files, $tar_entries entries, $((tar_bytes >> 20)) MiB"
	emit "{\"mmeta\": {\"reps\": $mreps, \"files\": $nfiles, \"file_bytes\": 4096, \"image_mib\": $(($(stat -c %s "$mbase") >> 20))," \
		"\"tarball\": \"$(basename "$tarball")\", \"tar_files\": $tar_files, \"tar_entries\": $tar_entries, \"tar_bytes\": $tar_bytes}}"
	for rep in $(seq 1 "$mreps"); do
		read -r n us < <(python3 "$mtool" dry /nonexistent $nfiles)
		emit "{\"config\": \"tool\", \"test\": \"mdry\", \"rep\": $rep, \"files\": $n, \"us\": $us}"
		printf 'bench: rep %d the create loop alone (no system calls): %.1f ms\n' "$rep" "$(echo "$us / 1000" | bc -l)"
		n=${#mconfigs[@]}
		for i in $(seq 0 $((n - 1))); do
			mtimed "${mconfigs[$(((i + rep - 1) % n))]}" "$rep"
		done
	done
	rm -f "$mbase" "$mtar"
fi

rmmod rmpage
say "done: $raw"
[ "$fsck_failed" = 0 ] || { say "an image failed e2fsck -fn (see above)"; exit 3; }
