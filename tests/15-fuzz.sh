#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Corrupted images (issue 9): RMPAGE_FUZZ_VARIANTS (default 100) variants
# of RMPAGE_FUZZ_SEED (default 1; printed) made by tests/lib/fuzzimg.py from
# clean mke2fs -d images of a varied tree at 1 and 4 KiB blocks, each with
# one corruption (super block, group descriptor, bitmap, inode field, block
# pointer, directory entry, symlink length, or bytes flipped in a metadata
# block). Each variant is mounted read-write from a fresh copy by the C
# ext2, rext2 with the Rust engine and rext2 with the C engine
# (RMPAGE_FUZZ_CONFIGS, default "ext2 rust c"), walked (getdents64 with a
# 280-byte buffer, the smallest for a 255-byte name, and lseek to d_off;
# lstat, up to 64 KiB of every file, readlink), written (create, append,
# truncate, unlink, mkdir) and unmounted, by tests/lib/fuzzrun.py, which
# prints one line per variant: what each configuration did and whether
# rext2 agreed with the C ext2.
# Checks: the clean bases walk without an error and show the source tree;
# no kernel report, hang or stuck unmount under rext2 (a variant that gives
# one is saved with its seed and index under $RMPAGE_OUT/fuzz-repro/); the
# same for the C ext2, the baseline (whose write phase skips the two steps
# that make the C ext2 itself WARN, on link counts of 0); every variant the
# C ext2 refuses at mount, rext2 refuses or reads only the base's data;
# what rext2 reads equals what the C ext2 reads where both read; rext2's
# seekdir agrees with its readdir. RMPAGE_FUZZ_TIMEOUT (default 120) is the
# seconds one mount, walk, write phase and unmount may take;
# RMPAGE_FUZZ_FIRST (default 0) the first index (to replay a variant:
# RMPAGE_FUZZ_SEED=S RMPAGE_FUZZ_FIRST=I RMPAGE_FUZZ_VARIANTS=1). Data read
# through a block map that a variant led into metadata is not compared
# (the super block holds what each mount wrote there).
. "$(dirname "$0")/lib/rmpage.sh"

seed=${RMPAGE_FUZZ_SEED:-1}
variants=${RMPAGE_FUZZ_VARIANTS:-100}
configs=${RMPAGE_FUZZ_CONFIGS:-ext2 rust c}
for cfg in $configs; do
	case $cfg in rust | c | ext2) ;; *) echo "unknown configuration $cfg" >&2; exit 1 ;; esac
done
checks=6
ktap_print_header
ktap_set_plan $checks
ktap_print_msg "seed $seed, $variants variants, configurations: $configs (replay one on the host: python3 tests/lib/fuzzimg.py --help)"
rm_load || ktap_exit_fail_msg "cannot load $RMPAGE_KO"
work=$WORK/fuzz
mkdir -p "$work"
repro=${RMPAGE_OUT:-/tmp/out}/fuzz-repro

i=0
while IFS= read -r line; do
	case $line in
	"ok	"*) ktap_test_pass "${line#ok	}"; i=$((i + 1)) ;;
	"not ok	"*) ktap_test_fail "${line#not ok	}"; i=$((i + 1)) ;;
	*) echo "$line" ;;
	esac
done < <(python3 -S "$(dirname "$0")/lib/fuzzrun.py" "$work" "$seed" "$variants" "$configs" "$repro" 2>&1)
while [ $i -lt $checks ]; do
	i=$((i + 1))
	ktap_test_fail "check $i of $checks not reached (tests/lib/fuzzrun.py stopped)"
done
[ $KTAP_CNT_FAIL = 0 ] && rm -rf "$work"
ktap_finished
