#!/usr/bin/env bash
# Install everything rmpage needs on a fresh Debian bookworm machine, then
# fetch and build the Linux kernel it runs on. Idempotent: every step checks
# whether it is already done.
#
#   scripts/setup.sh [debug|bench]...   (default: debug)
set -euo pipefail
. "$(dirname "$0")/common.sh"

flavours=("$@")
[ ${#flavours[@]} -gt 0 ] || flavours=(debug)

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

phase packages
# Our own sources file: backports suites pinned low, so that nothing else on
# the machine is upgraded from them; we ask for them by name with -t.
src=/etc/apt/sources.list.d/rmpage.sources
want=$(cat "$RMPAGE_TOP/scripts/apt/rmpage.sources")
if [ ! -f $src ] || [ "$(cat $src)" != "$want" ]; then
	$SUDO cp "$RMPAGE_TOP/scripts/apt/rmpage.sources" $src
	$SUDO cp "$RMPAGE_TOP/scripts/apt/rmpage.pref" /etc/apt/preferences.d/rmpage.pref
	$SUDO apt-get update -q
fi
pkgs=(clang-19 lld-19 llvm-19 libclang-19-dev flex bison bc cpio kmod udev
      libelf-dev libssl-dev e2fsprogs dmsetup fio busybox-static python3
      xz-utils zstd gzip git dbench)
missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"
	done
}
export DEBIAN_FRONTEND=noninteractive
need=$(missing "${pkgs[@]}")
need_qemu=$(missing qemu-system-x86)
if [ -n "$need$need_qemu" ]; then
	echo "packages: installing" $need $need_qemu
	$SUDO apt-get update -q
	# shellcheck disable=SC2086
	[ -z "$need" ] || $SUDO apt-get install -y -q --no-install-recommends $need
	# The plain bookworm QEMU conflicts with the machine's qemu-utils 10.
	[ -z "$need_qemu" ] || $SUDO apt-get install -y -q --no-install-recommends \
		-t bookworm-backports qemu-system-x86
else
	echo "packages: all installed"
fi

phase rust
rustup component list --installed 2>/dev/null | grep -q '^rust-src' ||
	rustup component add rust-src
if ! bindgen --version 2>/dev/null | grep -q '0\.71\.1'; then
	cargo install --locked --version 0.71.1 bindgen-cli
fi

phase source
"$RMPAGE_TOP/scripts/kernel-source.sh"

for f in "${flavours[@]}"; do
	phase "kernel-$f"
	"$RMPAGE_TOP/scripts/kernel-build.sh" "$f"
done
phase ""
