#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""System calls the shell cannot make with an exact errno, for rmpage's tests.

  sys.py mount DEV DIR FSTYPE [ro|rw]   print the errno name (OK on success)
  sys.py remount DIR ro|rw              print the errno name of remounting DIR
  sys.py delete_module NAME             print the errno name of delete_module(O_NONBLOCK)
  sys.py poke FILE OFFSET FMT VALUE     write struct.pack('<'+FMT, VALUE) at OFFSET
  sys.py peek FILE OFFSET FMT           print struct.unpack('<'+FMT, ...) at OFFSET
  sys.py mmap_sha256 FILE               sha256 of FILE read through mmap
  sys.py read PATH | stat PATH | list PATH | write PATH
                                        print the errno name of reading the
                                        whole file, lstat, listing a directory,
                                        or opening PATH for writing and
                                        appending a byte to it
  sys.py pwrite PATH OFFSET             print the errno name of writing a byte
                                        at OFFSET of PATH
"""
import ctypes
import errno
import hashlib
import mmap
import os
import struct
import sys

libc = ctypes.CDLL(None, use_errno=True)
MS_RDONLY = 1
MS_REMOUNT = 32


def errname(ret):
    if ret == 0:
        return "OK"
    return errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))


def main(argv):
    cmd = argv[1]
    if cmd == "mount":
        dev, where, fstype = (a.encode() for a in argv[2:5])
        flags = MS_RDONLY if (argv[5] if len(argv) > 5 else "ro") == "ro" else 0
        print(errname(libc.mount(dev, where, fstype, ctypes.c_ulong(flags), None)))
    elif cmd == "remount":
        flags = MS_REMOUNT | (MS_RDONLY if argv[3] == "ro" else 0)
        print(errname(libc.mount(None, argv[2].encode(), None, ctypes.c_ulong(flags), None)))
    elif cmd == "delete_module":
        libc.syscall.restype = ctypes.c_long
        ret = libc.syscall(176, argv[2].encode(), os.O_NONBLOCK)  # x86_64 delete_module
        print(errname(ret))
    elif cmd == "poke":
        path, off, fmt, value = argv[2], int(argv[3], 0), argv[4], int(argv[5], 0)
        with open(path, "r+b") as f:
            f.seek(off)
            f.write(struct.pack("<" + fmt, value))
    elif cmd == "peek":
        path, off, fmt = argv[2], int(argv[3], 0), argv[4]
        with open(path, "rb") as f:
            f.seek(off)
            data = f.read(struct.calcsize("<" + fmt))
        print(struct.unpack("<" + fmt, data)[0])
    elif cmd == "mmap_sha256":
        h = hashlib.sha256()
        with open(argv[2], "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size:
                with mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
                    for off in range(0, size, 1 << 20):
                        h.update(m[off:off + (1 << 20)])
        print(h.hexdigest())
    elif cmd in ("read", "stat", "list", "write", "pwrite"):
        try:
            if cmd == "read":
                with open(argv[2], "rb") as f:
                    while f.read(1 << 20):
                        pass
            elif cmd == "stat":
                os.lstat(argv[2])
            elif cmd == "write":
                fd = os.open(argv[2], os.O_WRONLY | os.O_APPEND)
                try:
                    os.write(fd, b"x")
                finally:
                    os.close(fd)
            elif cmd == "pwrite":
                fd = os.open(argv[2], os.O_WRONLY)
                try:
                    os.pwrite(fd, b"x", int(argv[3], 0))
                finally:
                    os.close(fd)
            else:
                os.listdir(argv[2])
            print("OK")
        except OSError as e:
            print(errno.errorcode.get(e.errno, str(e.errno)))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
