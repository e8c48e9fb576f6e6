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
#   scripts/vm.sh [-k debug|bench] [-o OUTDIR] [-m MEM] [-i] -- COMMAND...
#     -i   count guest time in executed instructions (-icount shift=0)
# RMPAGE_QEMU_PLUGIN: a TCG plugin to load, with dir=OUTDIR as its argument.
#
# The VM is stopped after RMPAGE_VM_TIMEOUT seconds (default 3600), so that a
# guest that never finishes fails the run instead of outlasting it.
set -euo pipefail
. "$(dirname "$0")/common.sh"

flavour=debug out= mem=3G icount=
while getopts k:o:m:i opt; do
	case $opt in
	k) flavour=$OPTARG ;;
	o) out=$OPTARG ;;
	m) mem=$OPTARG ;;
	i) icount=1 ;;
	*) die "usage: $0 [-k debug|bench] [-o OUTDIR] [-m MEM] [-i] -- COMMAND..." ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || die "no command"

kdir=$(rmpage_kdir "$flavour")
[ -f "$kdir/.rmpage-built" ] || die "kernel $flavour not built: run scripts/setup.sh $flavour"
out=${out:-$(mktemp -d /tmp/rmpage-vm.XXXXXX)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/rc"

# The initramfs: busybox and our init; rebuilt only when they change.
initrd=$RMPAGE_CACHE/initramfs-$(cat /bin/busybox "$RMPAGE_TOP/scripts/vm-init.sh" | sha256sum | cut -c1-12).cpio.gz
if [ ! -f "$initrd" ]; then
	tmp=$(mktemp -d)
	mkdir -p "$tmp/bin"
	cp /bin/busybox "$tmp/bin/busybox"
	cp "$RMPAGE_TOP/scripts/vm-init.sh" "$tmp/init"
	chmod +x "$tmp/init"
	(cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) > "$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
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
qemu_args=(
	-machine q35,accel=tcg -cpu max,la57=off -smp 2 -m "$mem"
	-kernel "$kdir/arch/x86/boot/bzImage" -initrd "$initrd"
	-append "console=ttyS0 loglevel=4 panic=-1 oops=panic reboot=t kasan_multi_shot log_buf_len=32M"
	-display none -no-reboot -nodefaults
	-serial "file:$out/console.log" -serial stdio
	-fsdev local,id=hostroot,path=/,security_model=none,readonly=on
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
	-fsdev "local,id=src,path=$PWD,security_model=none,readonly=on"
	-device virtio-9p-pci,fsdev=src,mount_tag=rmpage_src
	-fsdev "local,id=out,path=$out,security_model=none"
	-device virtio-9p-pci,fsdev=out,mount_tag=rmpage_out
)
[ -z "$icount" ] || qemu_args+=(-icount shift=0)
# A TCG plugin (scripts/profile.sh's kprof), given the output directory.
[ -z "${RMPAGE_QEMU_PLUGIN:-}" ] || qemu_args+=(-plugin "$RMPAGE_QEMU_PLUGIN,dir=$out")

limit=${RMPAGE_VM_TIMEOUT:-3600}
set +e
timeout --kill-after=10 "$limit" qemu-system-x86_64 "${qemu_args[@]}" </dev/null
qemu_rc=$?
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
