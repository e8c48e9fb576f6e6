#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Teardown racing I/O in flight, with each engine (engine=rust, engine=c):
# a cold read killed while its readahead bios are in flight, the mount
# lazily unmounted and the module unloaded the moment it can go; an unmount
# that writes back a dirty file, with the module unloaded the moment it can
# go; drop_caches in a loop under readers that check every byte; and a
# device taken away under a mount: a loop device detached (losetup -d,
# deferred while the mount holds it) and a dm device whose table is wiped
# (every I/O fails). Each teardown case passes only if the module did
# unload, the I/O was really in flight (the device's inflight counters), and
# the kernel log has no report since the case began.
#
# The debug kernel has no dm-delay (config/: dm-flakey only) and no block
# cgroup throttling, so the loop device is slowed by its queue limits:
# 4 KiB requests (max_sectors_kb) and a short queue, so that each large bio
# is split into many requests that wait for tags.
. "$(dirname "$0")/lib/rmpage.sh"

engines=(rust c)
ktap_print_header
ktap_set_plan $((3 * ${#engines[@]} + 3))
rm_load || ktap_exit_fail_msg "cannot load $RMPAGE_KO"
param=/sys/module/rmpage/parameters/engine
mnt=$WORK/mnt
src=$WORK/teardown-src
mkdir -p "$mnt" "$src"
head -c 16M /dev/urandom > "$src/big"
head -c 8M /dev/urandom > "$WORK/teardown-dirty"
for n in 1 2 3 4; do head -c $((n * 512))K /dev/urandom > "$src/f$n"; done
img=$WORK/teardown.img
rm_mkfs "$img" 4096 48M "$src"
pat='BUG:|WARNING:|Oops|KASAN|possible .*locking|circular locking|hung task|blocked for more than|general protection|UBSAN'

# slow DEV: small requests and a short queue on loop device DEV.
slow() {
	local q=/sys/block/${1#/dev/}/queue
	echo 4 > $q/max_sectors_kb
	echo 4 > $q/nr_requests 2>/dev/null || true
	echo 1024 > $q/read_ahead_kb
}

# The waits poll without forking (a fork and exec takes tens of
# milliseconds under TCG), so they are Python.
cat > "$WORK/teardown.py" <<'EOF'
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
cmd, args = sys.argv[1], sys.argv[2:]
if cmd == 'inflight':
    # inflight DEV reads|writes [READY]: waits up to 20 s for requests of
    # that direction in flight on DEV; prints how many it saw (0: none).
    # Creates the file READY once it is polling.
    path, col = '/sys/block/%s/inflight' % args[0], 0 if args[1] == 'reads' else 1
    end = time.monotonic() + 20
    while time.monotonic() < end:
        n = int(open(path).read().split()[col])
        if len(args) > 2:
            open(args.pop(), 'w').close()
        if n:
            break
        time.sleep(0.001)
    print(n)
elif cmd == 'unload':
    # unload: delete_module("rmpage") as soon as the module can go (up to
    # 60 s); prints the seconds it took, or "never".
    t0 = time.monotonic()
    while libc.delete_module(b'rmpage', 0o4000) != 0:  # O_NONBLOCK
        if time.monotonic() - t0 > 60:
            print('never')
            sys.exit()
        time.sleep(0.001)
    print('%.2f' % (time.monotonic() - t0))
EOF
wait_inflight() { python3 -S "$WORK/teardown.py" inflight "${1#/dev/}" "$2" ${3:+"$3"}; }
unload_asap() { python3 -S "$WORK/teardown.py" unload; }

# reports: kernel reports since rm_mark.
reports() { dmesg | tail -n +$((RM_MARK + 1)) | grep -E "$pat" | head -n 5; }

# 1. A cold read through readahead, killed with bios in flight; the mount
# was lazily unmounted, so the reader's exit tears the super block down
# (evict waits for the folios under read) and the module goes next.
read_teardown() {
	local engine=$1 dev pid seen took bad
	rm_mark
	dev=$(rm_loop "$img" ro)
	slow "$dev"
	rm_mount_cold "$engine" "$dev" "$mnt"
	dd if="$mnt/big" of=/dev/null bs=1M 2>/dev/null &
	pid=$!
	seen=$(wait_inflight "$dev" reads)
	umount -l "$mnt"
	kill -9 $pid
	took=$(unload_asap)
	wait $pid 2>/dev/null
	losetup -d "$dev"
	bad=$(reports)
	[ -z "$bad" ] || echo "$bad" | sed 's/^/# /'
	ktap_check_all "engine=$engine: reader killed with $seen reads in flight, lazy umount, rmmod after ${took}s, no kernel report" \
		'[ "$seen" -gt 0 ] && [ "$took" != never ] && ! rm_loaded && [ -z "$bad" ]'
	rm_load
}

# 2. An unmount that writes a dirty file back, the module unloaded the
# moment the unmount lets it; the data must have reached the disk.
write_teardown() {
	local engine=$1 dev wimg=$WORK/teardown-w.img pid poller seen took bad rc got
	rm_mark
	rm_mkfs "$wimg" 4096 48M
	dev=$(rm_loop "$wimg")
	slow "$dev"
	echo "$engine" > $param
	mount -t rext2 "$dev" "$mnt"
	cp "$WORK/teardown-dirty" "$mnt/dirty"
	# The poller first, or a fast unmount is over before it looks.
	rm -f "$WORK/polling"
	wait_inflight "$dev" writes "$WORK/polling" > "$WORK/seen" &
	poller=$!
	while [ ! -e "$WORK/polling" ]; do sleep 0.05; done
	umount "$mnt" &
	pid=$!
	wait $poller
	seen=$(cat "$WORK/seen")
	took=$(unload_asap)
	wait $pid
	rc=$?
	got=$(mount -t ext2 -o ro "$dev" "$mnt" && sha256sum < "$mnt/dirty"; umount "$mnt")
	losetup -d "$dev"
	bad=$(reports)
	[ -z "$bad" ] || echo "$bad" | sed 's/^/# /'
	ktap_check_all "engine=$engine: umount with $seen writes in flight, rmmod after ${took}s, no kernel report, the file on disk is the source, e2fsck -fn clean" \
		'[ "$seen" -gt 0 ] && [ "$rc" = 0 ] && [ "$took" != never ] && ! rm_loaded && [ -z "$bad" ] &&
		[ "$got" = "$(sha256sum < "$WORK/teardown-dirty")" ] && rm_fsck "$wimg"'
	rm -f "$wimg"
	rm_load
}

# 3. drop_caches every 50 ms while files are read again and again; every
# read must give the source's bytes.
drop_caches_reads() {
	local engine=$1 dev dropper wrong=0 reads=0 f i bad
	rm_mark
	dev=$(rm_loop "$img" ro)
	echo 128 > /sys/block/${dev#/dev/}/queue/read_ahead_kb
	rm_mount_cold "$engine" "$dev" "$mnt"
	python3 -S -c 'import time
while True:
    open("/proc/sys/vm/drop_caches", "w").write("3")
    time.sleep(0.05)' &
	dropper=$!
	for ((i = 0; i < 2; i++)); do
		for f in f1 f2 f3; do
			reads=$((reads + 1))
			cmp -s "$mnt/$f" "$src/$f" || wrong=$((wrong + 1))
		done
	done
	kill $dropper
	wait $dropper 2>/dev/null
	umount "$mnt"
	losetup -d "$dev"
	bad=$(reports)
	[ -z "$bad" ] || echo "$bad" | sed 's/^/# /'
	ktap_check_all "engine=$engine: $reads reads under drop_caches every 50 ms, $wrong differ from the source, no kernel report" \
		'[ "$wrong" = 0 ] && [ -z "$bad" ]'
}

# timed CASE ARGS...: runs a case and says how long it took.
timed() {
	local t0=$SECONDS
	"$@"
	ktap_print_msg "$* took $((SECONDS - t0))s"
}

for engine in "${engines[@]}"; do
	timed read_teardown "$engine"
	timed write_teardown "$engine"
	timed drop_caches_reads "$engine"
done

# 4. The device goes under the mount. First losetup -d: the mount holds the
# loop device, so the detach is deferred to its last close; reads go on
# with the right bytes, the unmount works, and the device is gone after.
rm_mark
dev=$(rm_loop "$img" ro)
rm_mount_cold rust "$dev" "$mnt"
losetup -d "$dev"
rm_drop_caches
ok=1
for f in big f1 f2 f3 f4; do cmp -s "$mnt/$f" "$src/$f" || ok=0; done
umount "$mnt"
sleep 0.2
ktap_check_all "losetup -d under a mount: reads give the source's bytes, umount works, the loop device is detached after it" \
	'[ "$ok" = 1 ] && ! losetup "$dev" >/dev/null 2>&1'

# Then a dm device whose table is wiped (every I/O fails) while readers
# go: each read gives the source's bytes or fails with EIO, never other
# bytes; the unmount, the removal and the module's unload work.
cat > "$WORK/reader.py" <<'EOF'
import hashlib, os, sys, time
src, mnt, stop = sys.argv[1], sys.argv[2], sys.argv[3]
want = {f: hashlib.sha256(open(os.path.join(src, f), 'rb').read()).hexdigest()
        for f in ('big', 'f1', 'f2', 'f3', 'f4')}
counts = {'ok': 0, 'EIO': 0, 'wrong': 0, 'other': 0}
while not os.path.exists(stop):
    if counts['ok'] >= len(want):
        open(stop + '.read', 'w').close()
    for f, h in want.items():
        try:
            with open(os.path.join(mnt, f), 'rb') as fh:
                got = hashlib.sha256(fh.read()).hexdigest()
            counts['ok' if got == h else 'wrong'] += 1
        except OSError as e:
            counts['EIO' if e.errno == 5 else 'other'] += 1
            if e.errno != 5:
                print('#', f, e, file=sys.stderr)
print(counts['ok'], counts['EIO'], counts['wrong'], counts['other'])
EOF
dev=$(rm_loop "$img" ro)
sectors=$(blockdev --getsz "$dev")
dmsetup create rmgone --table "0 $sectors linear $dev 0" || ktap_exit_fail_msg "dmsetup create failed"
dm=/dev/mapper/rmgone
[ -b $dm ] || dm=/dev/$(dmsetup info -c --noheadings -o blkdevname rmgone)
rm_mount_cold rust "$dm" "$mnt"
rm -f "$WORK/stop" "$WORK/stop.read"
python3 -S "$WORK/reader.py" "$src" "$mnt" "$WORK/stop" > "$WORK/reader.out" &
reader=$!
# Every file read correctly once before the device goes.
for ((i = 0; i < 600; i++)); do [ -e "$WORK/stop.read" ] && break; sleep 0.1; done
losetup -d "$dev"
dmsetup wipe_table rmgone
for i in 1 2 3; do echo 3 > /proc/sys/vm/drop_caches; sleep 0.3; done
touch "$WORK/stop"
wait $reader
read -r ok eio wrong other < "$WORK/reader.out"
umount "$mnt"
umounted=$?
dmsetup remove rmgone
removed=$?
ktap_check_all "dm table wiped under a mount with readers: $ok reads correct (every file before), $eio EIO after, $wrong wrong, $other other errors; umount and dmsetup remove work" \
	'[ "${ok:-0}" -ge 5 ] && [ "${eio:-0}" -gt 0 ] && [ "${wrong:-1}" = 0 ] && [ "${other:-1}" = 0 ] && [ "$umounted" = 0 ] && [ "$removed" = 0 ]'
took=$(unload_asap)
bad=$(reports)
[ -z "$bad" ] || echo "$bad" | sed 's/^/# /'
ktap_check_all "after the device went: rmmod works (${took}s), no kernel report" \
	'[ "$took" != never ] && ! rm_loaded && [ -z "$bad" ]'
rm -f "$img"
ktap_finished
