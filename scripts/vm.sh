#!/usr/bin/env bash
# Boot a kernel of ours under QEMU (TCG: KVM guests hang on these machines),
# with the host's root filesystem shared read-only over 9p, and run one
# command in it as root, in the current directory (shared read-only as well,
# at /tmp/rmpage-src, since the guest's /tmp is a fresh tmpfs and the
# directory may live under the host's /tmp). The command's output
# streams to our stdout; its exit status becomes ours. Everything the guest
# writes to $RMPAGE_OUT (guest path /tmp/out) lands in the host directory
# given with -o.
#
#   scripts/vm.sh [-k debug|bench] [-o OUTDIR] [-m MEM] [-i [-S]] -- COMMAND...
#     -i   count guest time in executed instructions (-icount shift=0)
#     -S   with -i: sleep=off, so that time spent with every guest CPU idle
#          jumps to the next guest timer instead of following the host's
#          clock (repeatable to a fraction of a percent, but every wait
#          lasts until a timer fires)
# RMPAGE_QEMU_PLUGIN: a TCG plugin to load, with dir=OUTDIR as its argument.
#
# The VM is stopped after RMPAGE_VM_TIMEOUT seconds (default 3600), so that a
# guest that never finishes fails the run instead of outlasting it; a boot
# that has not reached init after RMPAGE_VM_BOOT_TIMEOUT seconds (default
# 300) is retried, up to three boots.
set -euo pipefail
. "$(dirname "$0")/common.sh"

flavour=debug out= mem=3G icount= icount_sleep=on
while getopts k:o:m:iS opt; do
	case $opt in
	k) flavour=$OPTARG ;;
	o) out=$OPTARG ;;
	m) mem=$OPTARG ;;
	i) icount=1 ;;
	S) icount_sleep=off ;;
	*) die "usage: $0 [-k debug|bench] [-o OUTDIR] [-m MEM] [-i [-S]] -- COMMAND..." ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$icount" ] || [ "$icount_sleep" = on ] || die "-S is for -i only"
[ $# -gt 0 ] || die "no command"

kdir=$(rmpage_kdir "$flavour")
[ -f "$kdir/.rmpage-built" ] || die "kernel $flavour not built: run scripts/setup.sh $flavour"
out=${out:-$(mktemp -d /tmp/rmpage-vm.XXXXXX)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/rc"

# The initramfs: busybox and our init; rebuilt only when they change. Each
# builder writes a file of its own and renames it into place, so the VMs
# make check starts side by side never interleave their writes to one file.
initrd=$RMPAGE_CACHE/initramfs-$(cat /bin/busybox "$RMPAGE_TOP/scripts/vm-init.sh" | sha256sum | cut -c1-12).cpio.gz
if [ ! -f "$initrd" ]; then
	tmp=$(mktemp -d "$RMPAGE_CACHE/initramfs.XXXXXX")
	mkdir -p "$tmp/root/bin"
	cp /bin/busybox "$tmp/root/bin/busybox"
	cp "$RMPAGE_TOP/scripts/vm-init.sh" "$tmp/root/init"
	chmod +x "$tmp/root/init"
	(cd "$tmp/root" && find . | cpio -o -H newc --quiet | gzip -1) > "$tmp/initramfs.cpio.gz"
	mv "$tmp/initramfs.cpio.gz" "$initrd"
	rm -rf "$tmp"
fi

# The command travels as a file in the output directory, with the tests'
# knobs from our environment (RMPAGE_*_CONFIGS, RMPAGE_NS_*, RMPAGE_FSX_*,
# RMPAGE_FUZZ_*, RMPAGE_TEST_TIMEOUT); the host's paths (RMPAGE_RESULTS,
# RMPAGE_CACHE, ...) stay here.
{
	echo "cd /tmp/rmpage-src"
	for knob in $(compgen -e | grep -E '^RMPAGE_([A-Z0-9]+_CONFIGS|(NS|FSX|FUZZ)_[A-Z0-9_]+|TEST_TIMEOUT)$' || true); do
		printf 'export %s=%q\n' "$knob" "${!knob}"
	done
	printf '%q ' "$@"
	echo
} > "$out/cmd"

# la57=off: with 5-level paging, an interrupt that arrives while the boot
# CPU's feature bits are being refilled (identify_cpu) finds KASAN judging
# direct-map addresses by 4-level bounds: a flood of "wild-memory-access"
# reports that, under host load, kept a boot from ever finishing.
# log_buf_len: a whole test run's kernel log (the fuzzer's and the fault
# sweeps' lines among it) fits, so that what is judged from a mark onwards
# has not left the ring buffer; 7.3's default (LOG_BUF_SHIFT=17, 128 KiB)
# is full before the third test.
# earlyprintk, loglevel=7: the whole boot on the console (console.log), so
# that a boot that stops shows where; init lowers the level to 4 before the
# command, whose kernel messages stay out of the console and in dmesg.
qemu_args=(
	-machine q35,accel=tcg -cpu max,la57=off -smp 2 -m "$mem"
	-kernel "$kdir/arch/x86/boot/bzImage" -initrd "$initrd"
	-append "console=ttyS0 earlyprintk=serial,ttyS0 loglevel=7 panic=-1 oops=panic reboot=t kasan_multi_shot log_buf_len=32M"
	-display none -no-reboot -nodefaults
	-serial "file:$out/console.log" -serial stdio
	-fsdev local,id=hostroot,path=/,security_model=none,readonly=on
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
	-fsdev "local,id=src,path=$PWD,security_model=none,readonly=on"
	-device virtio-9p-pci,fsdev=src,mount_tag=rmpage_src
	-fsdev "local,id=out,path=$out,security_model=none"
	-device virtio-9p-pci,fsdev=out,mount_tag=rmpage_out
)
[ -z "$icount" ] || qemu_args+=(-icount "shift=0,sleep=$icount_sleep")
# A TCG plugin (scripts/profile.sh's kprof), given the output directory.
[ -z "${RMPAGE_QEMU_PLUGIN:-}" ] || qemu_args+=(-plugin "$RMPAGE_QEMU_PLUGIN,dir=$out")

# A boot that has not reached our init (vm-init.sh marks $out/booted just
# before it runs the command) after RMPAGE_VM_BOOT_TIMEOUT seconds is
# stopped and the VM booted again, up to three boots. Nothing of rmpage runs
# before that mark, and a boot under TCG takes 10 to 30 seconds; a CI run
# once lost a VM's whole hour to a boot that printed nothing and never
# reached init, so the console logs the boot at loglevel 7 (init lowers it
# to 4 before the command) and keeps each abandoned boot's log.
limit=${RMPAGE_VM_TIMEOUT:-3600}
boot_limit=${RMPAGE_VM_BOOT_TIMEOUT:-300}
boots=3
started=$(date +%s)
qemu_pid=
trap '[ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null' EXIT
set +e
for ((boot = 1; ; boot++)); do
	rm -f "$out/booted" "$out/rc"
	left=$((limit - ($(date +%s) - started)))
	timeout --kill-after=10 "$left" qemu-system-x86_64 "${qemu_args[@]}" </dev/null &
	qemu_pid=$!
	for ((waited = 0; waited < boot_limit; waited++)); do
		[ ! -e "$out/booted" ] && kill -0 "$qemu_pid" 2>/dev/null || break
		sleep 1
	done
	[ ! -e "$out/booted" ] && kill -0 "$qemu_pid" 2>/dev/null || break
	kill "$qemu_pid"
	wait "$qemu_pid"
	mv "$out/console.log" "$out/console-boot$boot.log"
	echo "vm: boot $boot of $boots had not reached init after ${boot_limit}s (RMPAGE_VM_BOOT_TIMEOUT); end of its console log (console-boot$boot.log):" >&2
	tail -n 20 "$out/console-boot$boot.log" >&2
	if [ "$boot" -ge "$boots" ]; then
		qemu_pid=
		exit 124
	fi
done
wait "$qemu_pid"
qemu_rc=$?
qemu_pid=
set -e
if [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
	echo "vm: stopped after ${limit}s (RMPAGE_VM_TIMEOUT); first report and end of the console log:" >&2
	grep -m1 -A30 -E 'BUG:|WARNING:|Oops|panic' "$out/console.log" >&2 || true
	tail -n 30 "$out/console.log" >&2
	exit 124
fi
if [ ! -f "$out/rc" ]; then
	echo "vm: the guest stopped without finishing its command; console log:" >&2
	tail -n 60 "$out/console.log" >&2
	exit 125
fi
exit "$(cat "$out/rc")"
