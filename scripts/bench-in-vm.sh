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
#
# Before the timed repetitions (unless WTRACE is 0: the wall-clock boot,
# whose bios the report does not use), one traced pass per configuration (on
# its own fresh copy) runs the three rows with block_bio_queue on the device and
# counts the write bios (rwbs with W) of each, during the command and at the
# sync after it, keeps the engine's counters before and after, and checks
# the bytes: /seq reads back as zeroes (over 0xff), fio's randwrite data
# passes fio's own verification cold, and e2fsck -fn is clean at the end.
#
# Raw results go to $RMPAGE_OUT/raw.jsonl, one JSON object a line.
#
#   scripts/bench-in-vm.sh RMPAGE_KO IMAGE [REPS [FILE_MIB [RAND_MIB [MODPARAMS [WIMAGE [WREPS [WRAND_MIB [WTRACE]]]]]]]]
#
# IMAGE holds /big (FILE_MIB MiB) and /dir (10,000 entries); IMAGE.sha256 is
# /big's sha256. MODPARAMS (e.g. "large_folios=0") go to insmod. WIMAGE
# holds /seq (empty) and /rand (WRAND_MIB MiB, default 64); WREPS (default
# 3) is the number of timed repetitions of the write rows.
set -euo pipefail
usage="usage: bench-in-vm.sh RMPAGE_KO IMAGE [REPS [FILE_MIB [RAND_MIB [MODPARAMS [WIMAGE [WREPS [WRAND_MIB [WTRACE]]]]]]]]"
ko=${1:?$usage} image=${2:?$usage}
reps=${3:-5} mib=${4:-256} rand_mib=${5:-16} modparams=${6:-}
wimage=${7:-} wreps=${8:-3} wrand_mib=${9:-64} wtrace=${10:-1}
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
	"\"write_reps\": $([ -n "$wimage" ] && echo "$wreps" || echo 0), \"write_rand_file_mib\": $wrand_mib," \
	"\"dirty_background_ratio\": $(cat /proc/sys/vm/dirty_background_ratio), \"dirty_ratio\": $(cat /proc/sys/vm/dirty_ratio)}}"
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
# The read image is not needed any more: its memory goes back to the writes.
rm -f "$img"

[ -n "$wimage" ] || { rmmod rmpage; say "done: $raw"; exit 0; }

# ---- The writes ----
wconfigs=(rext2-rust rext2-c ext2)
wbase=$work/write-base.img
wimg=$work/write.img
wmnt=$work/mnt/write
mkdir -p "$wmnt"
cp --sparse=never "$wimage" "$wbase"
wbytes=$((mib << 20))
say "write image: $(($(stat -c %s "$wbase") >> 20)) MiB, 4 KiB blocks, free blocks 0xff; /rand: $wrand_mib MiB"

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
	cold
	now_us; t0=$_now
	wfio
	now_us; t1=$_now
	res=$(jq -c '.jobs[0].write | {iops: .iops, bw_bytes: .bw_bytes, io_bytes: .io_bytes, runtime_ms: .runtime, lat_mean_ns: .lat_ns.mean}' "$work/fio.json")
	emit "{\"config\": \"$c\", \"test\": \"wrand\", \"rep\": $rep, \"fio\": $res, \"fio_us\": $((t1 - t0))}"
	printf 'bench: rep %d %-10s wrand    %8.0f IOPS\n' "$rep" "$c" "$(jq '.jobs[0].write.iops' "$work/fio.json")"
	emit "{\"config\": \"$c\", \"test\": \"wstats\", \"rep\": $rep, \"engine_stats\": $(stats_json "$wdev")}"
	wteardown
}

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

rmmod rmpage
say "done: $raw"
