#!/usr/bin/env python3
"""Issue 11 item 4's floor for `sync import` of N blocks (not a timed test): create the
same N block files and their signature files durably in a fresh directory on the same
file system — each written, fsynced and closed, then the directory fsynced — and print
the seconds it took (the interpreter's start is not counted).

    python3 bench/floor_write.py DEST FILE...
"""
import os
import sys
import time

dest, files = sys.argv[1], sys.argv[2:]
datas = [("%05d-%s" % (i, os.path.basename(f)), open(f, "rb").read()) for i, f in enumerate(files)]
os.makedirs(dest)
t = time.perf_counter()
for name, data in datas:
    fd = os.open(os.path.join(dest, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, data)
    os.fsync(fd)
    os.close(fd)
d = os.open(dest, os.O_RDONLY)
os.fsync(d)
os.close(d)
print("%.4f" % (time.perf_counter() - t))
