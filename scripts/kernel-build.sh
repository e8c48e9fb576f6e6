#!/usr/bin/env bash
# Build the kernel flavour (debug|bench) out of tree in the cache, keyed on a
# hash of the config fragments and the version: a second run with nothing
# changed does nothing.
set -euo pipefail
. "$(dirname "$0")/common.sh"

flavour=${1:-debug}
src=$(rmpage_src)
out=$(rmpage_kdir "$flavour")
[ -f "$src/.rmpage-unpacked" ] || "$RMPAGE_TOP/scripts/kernel-source.sh"
if [ -f "$out/.rmpage-built" ]; then
	echo "kernel: $out (cached)"
	exit 0
fi

kmake() {
	make -C "$src" O="$out" ARCH=x86_64 LLVM="$RMPAGE_LLVM" -j"$(nproc)" "$@"
}

mkdir -p "$out"
kmake -s tinyconfig
(cd "$out" && KCONFIG_CONFIG=.config "$src/scripts/kconfig/merge_config.sh" -m -O . .config \
	"$RMPAGE_TOP/config/common.config" "$RMPAGE_TOP/config/$flavour.config" >/dev/null)
kmake -s olddefconfig

# A fragment line that did not take (a missing dependency) fails here, not as
# a puzzling test failure later.
bad=0
while IFS= read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	opt=${line%%=*} val=${line#*=}
	if [ "$val" = n ]; then
		grep -q "^$opt=" "$out/.config" && { echo "kernel: $opt is set, wanted n"; bad=1; }
	else
		grep -qx "$line" "$out/.config" || { echo "kernel: wanted $line, got: $(grep "^$opt=\|$opt is not set" "$out/.config")"; bad=1; }
	fi
done < <(cat "$RMPAGE_TOP/config/common.config" "$RMPAGE_TOP/config/$flavour.config")
[ $bad = 0 ] || die "config fragment did not apply; see above"

echo "kernel: building $flavour in $out (about 10-15 minutes on 2 cores)"
kmake -s
kmake -s modules_prepare
touch "$out/.rmpage-built"
echo "kernel: $out"
