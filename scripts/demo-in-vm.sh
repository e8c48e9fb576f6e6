#!/bin/bash
# The guest side of scripts/demo.sh: read an mke2fs image through rext2, then
# write it (overwrite, append, truncate, fsync), make a small tree (files,
# directories, a symlink, a hard link, a rename, a removal), and check the
# result with e2fsck, the C ext2 and a fresh rext2 mount.
set -eu
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; eval "$@"; }
src=/tmp/demo-src img=/tmp/demo.img mnt=/mnt
mkdir -p $src/docs $src/data
cp -r src rust-bindings $src/docs/
head -c 8M /dev/urandom > $src/data/random-8M
truncate -s 1M $src/data/sparse && echo tail >> $src/data/sparse
ln -s docs/src/rmpage.rs $src/link
: > $src/data/log

say insmod rmpage.ko
say "grep rext2 /proc/filesystems"
say "mke2fs -q -t ext2 -b 1024 -d $src $img 64M"
dev=$(losetup -f --show $img)
say "mount -t rext2 $dev $mnt"
say "mount | grep rext2"
say "df -h $mnt"
say "ls -l $mnt $mnt/data"
say "readlink $mnt/link"
echo 3 > /proc/sys/vm/drop_caches
say "(cd $src && find . -type f | sort | xargs sha256sum) > /tmp/want; (cd $mnt && find . -path ./lost+found -prune -o -type f -print | sort | xargs sha256sum) > /tmp/got; cmp /tmp/want /tmp/got && echo all \$(wc -l < /tmp/got) files read back identical to their source"
say "cat /sys/kernel/debug/rext2/${dev#/dev/}/stats"
say "dd if=/dev/urandom of=/tmp/payload bs=1M count=16 status=none; dd if=/tmp/payload of=$mnt/data/random-8M bs=1M conv=notrunc,fsync status=none && echo overwrote random-8M with 16 MiB, fsync"
say "for i in 1 2 3; do echo line \$i >> $mnt/data/log; done; python3 -c \"import os; fd = os.open('$mnt/data/log', os.O_WRONLY); os.fsync(fd)\"; cat $mnt/data/log"
say "truncate -s 100000 $mnt/data/sparse && ls -l $mnt/data"
say "cat /sys/kernel/debug/rext2/${dev#/dev/}/stats"
say "mkdir -p $mnt/tree/sub && echo note > $mnt/tree/note && ln -s sub/renamed $mnt/tree/link && ln $mnt/tree/note $mnt/tree/hard && mv $mnt/tree/note $mnt/tree/sub/renamed && mkdir $mnt/tree/gone && rmdir $mnt/tree/gone && rm $mnt/tree/hard && ls -lR $mnt/tree"
say "umount $mnt"
say "e2fsck -fn $img"
say "mount -t ext2 -o ro $dev $mnt && cmp /tmp/payload $mnt/data/random-8M && echo C ext2 reads back the 16 MiB written through rext2; cat $mnt/data/log; umount $mnt"
say "mount -t ext2 -o ro $dev $mnt && ls -lR $mnt/tree && cat $mnt/tree/link; umount $mnt"
say "mount -t rext2 -o ro $dev $mnt && cmp /tmp/payload $mnt/data/random-8M && echo a fresh rext2 mount reads the same; umount $mnt"
say "rmmod rmpage"
say "dmesg | grep -E 'rmpage|rext2'"
