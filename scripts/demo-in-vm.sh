#!/bin/bash
# The guest side of scripts/demo.sh.
set -eu
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; eval "$@"; }
src=/tmp/demo-src img=/tmp/demo.img mnt=/mnt
mkdir -p $src/docs $src/data
cp -r src rust-bindings $src/docs/
head -c 8M /dev/urandom > $src/data/random-8M
truncate -s 1M $src/data/sparse && echo tail >> $src/data/sparse
ln -s docs/src/rmpage.rs $src/link

say insmod rmpage.ko
say "grep rext2 /proc/filesystems"
say "mke2fs -q -t ext2 -b 1024 -d $src $img 64M"
dev=$(losetup -f --show -r $img)
say "mount -t rext2 -o ro $dev $mnt"
say "mount | grep rext2"
say "df -h $mnt"
say "ls -l $mnt $mnt/data"
say "readlink $mnt/link"
echo 3 > /proc/sys/vm/drop_caches
say "(cd $src && find . -type f | sort | xargs sha256sum) > /tmp/want; (cd $mnt && find . -path ./lost+found -prune -o -type f -print | sort | xargs sha256sum) > /tmp/got; cmp /tmp/want /tmp/got && echo all \$(wc -l < /tmp/got) files read back identical to their source"
say "cat /sys/kernel/debug/rext2/${dev#/dev/}/stats"
say "touch $mnt/new-file || true"
say "umount $mnt"
say "e2fsck -fn $img"
say "rmmod rmpage"
say "dmesg | grep -E 'rmpage|rext2'"
