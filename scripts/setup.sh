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
      libelf-dev libssl-dev e2fsprogs fio busybox-static python3-pip
      xz-utils rsync zstd)
missing=()
for p in "${pkgs[@]}" qemu-system-x86; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ -f /var/lib/apt/lists/lock ] && $SUDO apt-get update -q
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get install -y -q --no-install-recommends \
		$(printf '%s\n' "${missing[@]}" | grep -vx qemu-system-x86 || true) || true
	$SUDO apt-get install -y -q --no-install-recommends -t bookworm-backports \
		qemu-system-x86 "${missing[@]/qemu-system-x86/}"
fi

phase rust
rustup component list --installed 2>/dev/null | grep -q '^rust-src' ||
	rustup component add rust-src
if ! bindgen --version 2>/dev/null | grep -q '0\.71\.1'; then
	cargo install --locked --version 0.71.1 bindgen-cli
fi
if ! command -v vng >/dev/null; then
	pip install --quiet --root-user-action=ignore 'virtme-ng==1.38'
fi

phase source
"$RMPAGE_TOP/scripts/kernel-source.sh"

for f in "${flavours[@]}"; do
	phase "kernel-$f"
	"$RMPAGE_TOP/scripts/kernel-build.sh" "$f"
done
phase ""
