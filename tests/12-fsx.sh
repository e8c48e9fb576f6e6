#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The random-operation checker (tests/lib/fsx.py) on rext2 with each engine
# and on the in-kernel C ext2, at 1 KiB blocks (files of up to 3 MiB cross
# the single and double indirect starts): 2 processes at once, each in a
# directory of its own with a seed of its own, every step checked against
# the process's in-memory model. Memory is kept short meanwhile: the test
# kernel has no memory cgroup, so a balloon of anonymous memory (there is
# no swap) takes the free memory down to RMPAGE_FSX_SLACK MiB above the
# low watermark, where kswapd wakes, and again after each reclaim, so that
# the page cache can grow only by reclaiming itself; the reclaim counters (pgscan, pgsteal_file) and nr_written must
# grow during the run. Then the file system is unmounted and mounted again and
# both directories must match the models (names, inode numbers, link
# counts, sizes, sha256); then e2fsck -fn is clean and a read-only mount
# under the C ext2 shows the same.
#
# RMPAGE_FSX_CONFIGS (default "rust": the model is the reference, the C
# ext2 is what the last check mounts, and the engines differ in data I/O,
# which 09-write covers with both) picks the configurations;
# RMPAGE_FSX_OPS (default 20000) is the number of operations on the first
# configuration, over both processes and all rounds, and
# RMPAGE_FSX_OTHER_OPS (default 6000) on each of the others, so that
# make check stays within its time; RMPAGE_FSX_ROUNDS
# (default 1) splits them into rounds, each in fresh directories and ended
# by a remount and a check (the previous round's directories are then
# removed); RMPAGE_FSX_SEED (default 1) is the first seed (round r, process
# p: SEED + 2 (r - 1) + p); RMPAGE_FSX_SLACK (default 16) the balloon's
# slack. scripts/soak.sh runs the long mode through these.
#
# A failing process prints its seed, its step, its last 50 operations and
# the command that replays it: `python3 tests/lib/fsx.py --seed S --ops N
# ... DIR` in an empty directory on a fresh mount of the same configuration.
. "$(dirname "$0")/lib/rmpage.sh"
FSX="python3 -S $(dirname "$0")/lib/fsx.py"

read -r -a configs <<< "${RMPAGE_FSX_CONFIGS:-rust}"
has() { [[ " ${configs[*]} " == *" $1 "* ]]; }
for cfg in "${configs[@]}"; do
	case $cfg in rust | c | ext2) ;; *) echo "unknown configuration $cfg" >&2; exit 1 ;; esac
done
first_ops=${RMPAGE_FSX_OPS:-20000}
other_ops=${RMPAGE_FSX_OTHER_OPS:-6000}
rounds=${RMPAGE_FSX_ROUNDS:-1}
seed=${RMPAGE_FSX_SEED:-1}
slack=${RMPAGE_FSX_SLACK:-16}

ktap_print_header
ktap_set_plan $((7 * ${#configs[@]}))
ktap_print_msg "$first_ops operations on ${configs[0]}, $other_ops on each other configuration, in $rounds round(s) of 2 processes; first seed $seed; balloon slack $slack MiB"

if has rust || has c; then
	rm_load || ktap_exit_fail_msg "cannot load $RMPAGE_KO"
fi
mnt=$WORK/mnt
mkdir -p "$mnt"

# vmstat NAME: a counter of /proc/vmstat.
vmstat() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }
VMSTATS="pgscan_kswapd pgscan_direct pgsteal_file workingset_refault_file nr_written nr_vmscan_immediate_reclaim"

# verify_round R DESCRIPTION...: both directories of round R against their
# models; prints what differs as comments; status 0 if all match.
verify_round() {
	local r=$1 rc
	$FSX --verify "$WORK/fsx-r$r-p0.state" "$mnt/r$r-p0" "$WORK/fsx-r$r-p1.state" "$mnt/r$r-p1" > "$WORK/verify.out" 2>&1
	rc=$?
	sed 's/^/# /' "$WORK/verify.out" | head -n 24
	return $rc
}

# The balloon, for all configurations: filling it takes a while.
rm -f "$WORK/balloon.out"
$FSX --balloon "$slack" > "$WORK/balloon.out" 2>&1 &
balloon=$!
for _ in $(seq 900); do
	grep -q ready "$WORK/balloon.out" && break
	sleep 0.1
done
ktap_print_msg "balloon: $(cat "$WORK/balloon.out")"

for cfg in "${configs[@]}"; do
	name=$(cfg_name "$cfg")
	ops=$other_ops
	[ "$cfg" = "${configs[0]}" ] && ops=$first_ops
	per=$((ops / 2 / rounds))
	img=$WORK/fsx-$cfg.img
	rm_mkfs "$img" 1024 128M "" -N 512
	dev=$(rm_loop "$img")
	ktap_check "$name: read-write mount succeeds" mount_cfg "$cfg" "$dev"

	declare -A before=()
	for k in $VMSTATS; do before[$k]=$(vmstat "$k"); done
	ktap_print_msg "$name: MemFree $(awk '/^MemFree/ { print int($2 / 1024) }' /proc/meminfo) MiB at the start"

	start=$(date +%s)
	failed=() remount_bad=() statuses=()
	for r in $(seq "$rounds"); do
		pids=()
		for p in 0 1; do
			s=$((seed + 2 * (r - 1) + p))
			# Well within run-in-vm.sh's 1500 s for the whole test
			# at make check's size (about 50 operations a second).
			timeout $((300 + per / 25)) $FSX --seed "$s" --ops "$per" --state "$WORK/fsx-r$r-p$p.state" \
				"$mnt/r$r-p$p" > "$WORK/fsx-r$r-p$p.out" 2>&1 &
			pids+=($!)
		done
		for p in 0 1; do
			wait "${pids[$p]}"
			rc=$?
			statuses+=("$rc")
			if [ "$rc" = 0 ]; then
				[ "$r" = 1 ] || [ "$r" = "$rounds" ] && sed 's/^/# /' "$WORK/fsx-r$r-p$p.out"
			else
				failed+=("round $r process $p (exit $rc)")
				sed 's/^/# /' "$WORK/fsx-r$r-p$p.out" | head -n 70
			fi
		done
		# The round ends with a remount and both directories checked
		# against the models; the previous round's are removed then.
		umount "$mnt" && mount_cfg "$cfg" "$dev" || { remount_bad+=("round $r: remount failed"); break; }
		verify_round "$r" || remount_bad+=("round $r")
		if [ "$r" -gt 1 ]; then
			rm -rf "$mnt/r$((r - 1))-p0" "$mnt/r$((r - 1))-p1" || remount_bad+=("round $((r - 1)): rm -rf failed")
		fi
		[ "$r" = "$rounds" ] || ktap_print_msg "$name: round $r done after $(( $(date +%s) - start ))s"
	done
	secs=$(( $(date +%s) - start ))

	grown() { echo $(( $(vmstat "$1") - ${before[$1]} )); }
	delta=
	for k in $VMSTATS; do delta+="$k +$(grown "$k") "; done
	ktap_print_msg "$name: during the run: $delta"
	scanned=$(( $(grown pgscan_kswapd) + $(grown pgscan_direct) ))
	stolen=$(grown pgsteal_file) written=$(grown nr_written)

	ktap_check_all "$name: 2 processes x $rounds round(s) x $per operations, every step as the model, in ${secs}s (exit statuses ${statuses[*]}${failed:+; failed: ${failed[*]}})" \
		'[ ${#failed[@]} = 0 ] && [ ${#statuses[@]} = $((2 * rounds)) ]'
	ktap_check_all "$name: reclaim ran during the run (pgscan +$scanned, pgsteal_file +$stolen) and writeback did (nr_written +$written)" \
		'[ "$scanned" -gt 0 ] && [ "$stolen" -gt 0 ] && [ "$written" -gt 0 ]'
	ktap_check_all "$name: after each round's umount and mount, both directories are as the models (names, inodes, links, sizes, sha256)${remount_bad:+; not: ${remount_bad[*]}}" \
		'[ ${#remount_bad[@]} = 0 ]'
	ktap_check "$name: umount succeeds" umount "$mnt"
	losetup -d "$dev"
	ktap_check "$name: e2fsck -fn is clean" rm_fsck "$img"
	dev=$(rm_loop "$img" ro)
	ok=0
	if mount -t ext2 -o ro "$dev" "$mnt"; then
		rm_drop_caches
		verify_round "$rounds" && ok=1
		umount "$mnt"
	fi
	losetup -d "$dev"
	ktap_check "$name: a read-only mount under the C ext2 shows the last round's files as the models" [ $ok = 1 ]
	rm -f "$img" "$WORK"/fsx-r*-p*.state
done

kill -TERM $balloon
wait $balloon
ktap_print_msg "$(tail -n 1 "$WORK/balloon.out")"
ktap_finished
