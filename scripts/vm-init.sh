#!/bin/busybox sh
# PID 1 of rmpage's test VM: mount the host's root (read-only) over 9p, give
# it fresh /proc, /sys, /dev, /tmp and /run, mount the host's working
# directory at /tmp/rmpage-src, run the command from the host in
# a chroot with its output on ttyS1 (after marking the boot done in the
# output directory), store its exit status, and reboot (QEMU
# runs with -no-reboot, so that ends the VM).
/bin/busybox mkdir -p /proc /sys /dev /host
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev
h=/host
/bin/busybox mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose hostroot $h
/bin/busybox mount -t proc proc $h/proc
/bin/busybox mount -t sysfs sys $h/sys
/bin/busybox mount -t devtmpfs dev $h/dev
/bin/busybox mount -t debugfs debugfs $h/sys/kernel/debug
/bin/busybox mount -t tmpfs -o size=75% tmp $h/tmp
/bin/busybox mount -t tmpfs run $h/run
/bin/busybox mkdir -p $h/tmp/out $h/tmp/rmpage-src $h/dev/pts $h/dev/shm
/bin/busybox ln -sf /proc/self/fd $h/dev/fd
/bin/busybox ln -sf /proc/self/fd/0 $h/dev/stdin
/bin/busybox ln -sf /proc/self/fd/1 $h/dev/stdout
/bin/busybox ln -sf /proc/self/fd/2 $h/dev/stderr
/bin/busybox mount -t devpts devpts $h/dev/pts
/bin/busybox mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 rmpage_out $h/tmp/out
/bin/busybox mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose rmpage_src $h/tmp/rmpage-src
/bin/busybox hostname rmpage-vm
# The boot was logged to the console at loglevel 7; the command's kernel
# messages go only to dmesg. The mark tells vm.sh that the boot is done.
echo 4 > /proc/sys/kernel/printk
/bin/busybox touch $h/tmp/out/booted
export HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export TERM=dumb LANG=C.UTF-8 RMPAGE_OUT=/tmp/out RMPAGE_VM=1
/bin/busybox chroot $h /bin/bash /tmp/out/cmd </dev/null >/dev/ttyS1 2>&1
echo $? > $h/tmp/out/rc
/bin/busybox dmesg > $h/tmp/out/dmesg.log
/bin/busybox sync
/bin/busybox umount $h/tmp/out
/bin/busybox reboot -f
