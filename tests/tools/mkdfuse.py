#!/usr/bin/env python3
"""Build the DfuSe part of a .dfu file (ST UM0391 layout): the 11-byte
"DfuSe" prefix, one 274-byte target prefix per alt setting, and the elements
(address, size, data). The DFU suffix with its CRC is deliberately NOT added
here: tests add it with Debian's `dfu-suffix -S 0x011a -a`, so the CRC the
parser checks comes from an independent implementation (dfu-util's).

usage: mkdfuse.py OUT [--name ALT=NAME]... ALT:ADDR:FILE...
Elements with the same ALT go into one target, in the order given."""
import struct
import sys


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    out, names, elems = argv[1], {}, {}
    order = []
    args = argv[2:]
    i = 0
    while i < len(args):
        if args[i] == "--name":
            alt, name = args[i + 1].split("=", 1)
            names[int(alt, 0)] = name.encode()
            i += 2
            continue
        alt, addr, path = args[i].split(":", 2)
        alt = int(alt, 0)
        if alt not in elems:
            elems[alt] = []
            order.append(alt)
        with open(path, "rb") as f:
            elems[alt].append((int(addr, 0), f.read()))
        i += 1
    targets = b""
    for alt in order:
        body = b"".join(struct.pack("<II", a, len(d)) + d for a, d in elems[alt])
        name = names.get(alt, b"")
        targets += (b"Target" + struct.pack("<BI", alt, 1 if name else 0)
                    + name.ljust(255, b"\0")[:255]
                    + struct.pack("<II", len(body), len(elems[alt])) + body)
    prefix = b"DfuSe" + struct.pack("<BIB", 1, 11 + len(targets), len(order))
    with open(out, "wb") as f:
        f.write(prefix + targets)


if __name__ == "__main__":
    main(sys.argv)
