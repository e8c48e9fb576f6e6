#!/usr/bin/env bash
# The demo: set up (idempotent), build rmpage.ko, boot the test VM, load the
# module, make an ext2 image with the standard mke2fs, mount it through rext2
# from a loop device, read files back and compare them with their source, and
# show the mount, the kernel log and the read engine's counters.
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$RMPAGE_TOP"
"$RMPAGE_TOP/scripts/setup.sh" debug
phase module
make -s KDIR="$(rmpage_kdir debug)"
phase vm-demo
"$RMPAGE_TOP/scripts/vm.sh" -k debug -o "$RMPAGE_TOP/results/demo" -- bash scripts/demo-in-vm.sh
phase ""
