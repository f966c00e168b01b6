#!/usr/bin/env python3
"""Checks that Go binaries are built the way the Dockerfile promises, from the ELF itself.

  elfcheck.py FILE...

For each FILE: statically linked (no PT_INTERP, no PT_DYNAMIC: CGO_ENABLED=0), no symbol table
(-ldflags -s) and no DWARF sections (-ldflags -w). `go version -m` cannot show the -ldflags of a
-trimpath build (Go leaves them out of the build info), hence this look at the file.
Prints one line per file; exit status 1 if any check fails.
"""

import struct
import sys

PT_DYNAMIC, PT_INTERP = 2, 3


def check(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return ["not a 64-bit ELF file"]
    end = "<" if data[5] == 1 else ">"
    (phoff, shoff) = struct.unpack_from(end + "QQ", data, 0x20)
    (phentsize, phnum, shentsize, shnum, shstrndx) = struct.unpack_from(end + "HHHHH", data, 0x36)
    problems = []
    for i in range(phnum):
        (ptype,) = struct.unpack_from(end + "I", data, phoff + i * phentsize)
        if ptype == PT_INTERP:
            problems.append("has an ELF interpreter (dynamically linked)")
        if ptype == PT_DYNAMIC:
            problems.append("has a dynamic section")
    names = []
    if shnum:
        str_off = struct.unpack_from(end + "Q", data, shoff + shstrndx * shentsize + 0x18)[0]
        for i in range(shnum):
            (name_off,) = struct.unpack_from(end + "I", data, shoff + i * shentsize)
            name_end = data.index(b"\0", str_off + name_off)
            names.append(data[str_off + name_off:name_end].decode())
    if ".symtab" in names:
        problems.append("has a symbol table (not built with -s)")
    debug = [n for n in names if n.startswith((".debug", ".zdebug"))]
    if debug:
        problems.append("has DWARF sections %s (not built with -w)" % ",".join(debug))
    return problems


def main(paths):
    bad = False
    for p in paths:
        problems = check(p)
        if problems:
            bad = True
            print("%s: %s" % (p, "; ".join(problems)))
        else:
            print("%s: static, no symbol table, no DWARF" % p)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
