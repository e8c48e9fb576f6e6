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
# Raw results go to $RMPAGE_OUT/raw.jsonl, one JSON object a line.
#
#   scripts/bench-in-vm.sh RMPAGE_KO IMAGE [REPS [FILE_MIB [RAND_MIB [MODPARAMS]]]]
#
# IMAGE holds /big (FILE_MIB MiB) and /dir (10,000 entries); IMAGE.sha256 is
# /big's sha256. MODPARAMS (e.g. "large_folios=0") go to insmod.
set -euo pipefail
usage="usage: bench-in-vm.sh RMPAGE_KO IMAGE [REPS [FILE_MIB [RAND_MIB [MODPARAMS]]]]"
ko=${1:?$usage} image=${2:?$usage}
reps=${3:-5} mib=${4:-256} rand_mib=${5:-16} modparams=${6:-}
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
	"\"cpus\": $(nproc), \"cmdline\": \"$(cat /proc/cmdline)\"}}"
for c in "${configs[@]}"; do say "$c: ${dev[$c]} ${path[$c]}"; done

cold() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	# The tools live on the host's root over 9p: bring them back now.
	dd if=/dev/zero of=/dev/null bs=1M count=1 status=none
	python3 -c 'import os, sys, time'
	fio --version > /dev/null
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

for c in "${configs[@]}"; do
	[ $c = raw ] || umount "$work/mnt/$c"
	losetup -d "${dev[$c]}"
done
rmmod rmpage
say "done: $raw"
