#!/usr/bin/env python3
"""Largest relative difference between the f32 tensors of two safetensors files.

Usage: python3 scripts/compare_safetensors.py A.safetensors B.safetensors

Per tensor, max |a - b| / max |b| (the difference relative to the tensor's scale, so that
weights near zero do not blow it up); prints each tensor's and the largest. Standard library
only: the format is an 8-byte little-endian header length, a JSON header, then the raw data.
"""

import json
import struct
import sys
from array import array


def read(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        start, end = info["data_offsets"]
        values = array("f")
        values.frombytes(data[start:end])
        if sys.byteorder != "little":
            values.byteswap()
        tensors[name] = values
    return tensors


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = read(sys.argv[1]), read(sys.argv[2])
    if a.keys() != b.keys():
        sys.exit(f"different tensors: {sorted(a)} and {sorted(b)}")
    largest = 0.0
    for name in sorted(a):
        scale = max(abs(v) for v in b[name]) or 1.0
        gap = max(abs(x - y) for x, y in zip(a[name], b[name]))
        largest = max(largest, gap / scale)
        print(f"{name}: {gap / scale:.3e}")
    print(f"largest relative difference: {largest:.3e}")


if __name__ == "__main__":
    main()
