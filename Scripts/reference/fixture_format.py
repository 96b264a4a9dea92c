"""PBFX: the little-endian fixture format shared by the reference scripts and TestSupport.

  magic b"PBFX", u32 version (1), u32 entry count, then per entry:
  u32 name length, name (UTF-8), u32 rank, rank × u32 dims, float32 data (row-major).
"""
import struct

import numpy as np


def write_fixture(path, entries):
    """entries: list of (name, array); written in the given order."""
    with open(path + ".tmp", "wb") as f:
        f.write(b"PBFX")
        f.write(struct.pack("<II", 1, len(entries)))
        for name, arr in entries:
            a = np.ascontiguousarray(np.asarray(arr, dtype=np.float32))
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)))
            f.write(nb)
            f.write(struct.pack("<I", a.ndim))
            f.write(struct.pack("<%dI" % a.ndim, *a.shape))
            f.write(a.astype("<f4").tobytes())
    import os
    os.replace(path + ".tmp", path)
