# Shared settings for rmpage's scripts. Sourced, not run.
#
# The kernel version lives here and nowhere else.
RMPAGE_KVER=${RMPAGE_KVER:-7.3}
RMPAGE_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RMPAGE_CACHE=${RMPAGE_CACHE:-$HOME/.cache/rmpage}
RMPAGE_LLVM=${RMPAGE_LLVM:--19}
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm${RMPAGE_LLVM}/lib}
export PATH="$HOME/.cargo/bin:/usr/lib/llvm${RMPAGE_LLVM}/bin:$PATH"

# Which kernel flavour a command wants: "debug" (tests) or "bench".
rmpage_kdir() {
	local flavour=$1 hash
	hash=$(cat "$RMPAGE_TOP/config/common.config" "$RMPAGE_TOP/config/$flavour.config" \
		<(echo "$RMPAGE_KVER $RMPAGE_LLVM") | sha256sum | cut -c1-12)
	echo "$RMPAGE_CACHE/build-$RMPAGE_KVER-$flavour-$hash"
}

rmpage_src() {
	echo "$RMPAGE_CACHE/linux-source-$RMPAGE_KVER"
}

# Phase timing: "phase NAME" starts a phase and closes the previous one.
_phase_name=
_phase_start=
phase() {
	local now
	now=$(date +%s)
	if [ -n "$_phase_name" ]; then
		printf '== phase %-10s %4ss\n' "$_phase_name" $((now - _phase_start))
	fi
	_phase_name=$1
	_phase_start=$now
	[ -n "$1" ] && echo "== $1 ..."
	return 0
}

die() {
	echo "rmpage: $*" >&2
	exit 1
}

# rmpage_snapshot DIR: every file git knows of (tracked, or untracked and
# not ignored), as it is in the working tree now, copied into DIR, which is
# emptied first but for the images kept there (image-*). make bench and
# make profile build and boot from one, so that edits made in the tree
# while they run change nothing.
rmpage_snapshot() {
	local snap=$1
	mkdir -p "$snap"
	find "$snap" -mindepth 1 -maxdepth 1 ! -name 'image-*' -exec rm -rf {} +
	(cd "$RMPAGE_TOP" && git ls-files -z -co --exclude-standard |
		while IFS= read -r -d '' f; do if [ -f "$f" ]; then printf '%s\0' "$f"; fi; done |
		xargs -0 -r cp --parents -t "$snap")
}
