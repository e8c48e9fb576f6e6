#!/usr/bin/env bash
# Fetch Debian's linux-source-$RMPAGE_KVER and unpack it into the cache.
set -euo pipefail
. "$(dirname "$0")/common.sh"

src=$(rmpage_src)
[ -f "$src/.rmpage-unpacked" ] && { echo "source: $src (cached)"; exit 0; }

pkg=linux-source-$RMPAGE_KVER
mkdir -p "$RMPAGE_CACHE/deb"
if ! apt-cache show "$pkg" >/dev/null 2>&1; then
	avail=$(apt-cache search --names-only '^linux-source-[0-9.]+$' | cut -d' ' -f1 | sort -V | tr '\n' ' ')
	die "$pkg is not in the apt sources (Debian's backports keep only the newest kernel).
Available: ${avail:-none}. Set RMPAGE_KVER in scripts/common.sh to one of them."
fi
(cd "$RMPAGE_CACHE/deb" && ls "$pkg"_*.deb >/dev/null 2>&1 || apt-get download "$pkg")
deb=$(ls "$RMPAGE_CACHE/deb/$pkg"_*.deb | sort -V | tail -n1)
rm -rf "$src.tmp" && mkdir -p "$src.tmp"
echo "source: unpacking $deb"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$src.tmp" --wildcards '*.tar.xz'
tarball=$(find "$src.tmp" -name 'linux-source-*.tar.xz' | head -n1)
tar -xJf "$tarball" -C "$src.tmp"
rm -f "$tarball"
rm -rf "$src"
mv "$src.tmp/linux-source-$RMPAGE_KVER" "$src"
rm -rf "$src.tmp"
touch "$src/.rmpage-unpacked"
echo "source: $src"
