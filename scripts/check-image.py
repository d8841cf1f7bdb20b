#!/usr/bin/env python3
"""Post-link checks of sr.elf.

1. Adding the symbol table (second link) moved no text symbol.
2. Every dynamic relocation is R_AARCH64_RELATIVE (all head.S can apply)
   and none targets text (text is mapped read-only).
3. The Image header fields are where the boot protocol expects them.
"""
import struct
import subprocess
import sys


def text_symbols(nm, elf):
    out = subprocess.run([nm, '-n', '--defined-only', elf], check=True,
                         capture_output=True, text=True).stdout
    syms = {}
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in 'tT' and not p[2].startswith('$'):
            syms[p[2]] = int(p[0], 16)
    return syms


def all_symbols(nm, elf):
    out = subprocess.run([nm, elf], check=True, capture_output=True, text=True).stdout
    return {p[2]: int(p[0], 16) for p in (l.split() for l in out.splitlines()) if len(p) == 3}


def check_header(image, syms):
    """The arm64 Image header (Linux Documentation/arch/arm64/booting.rst)."""
    with open(image, 'rb') as f:
        head = f.read(64)
    text_offset, image_size, flags = struct.unpack_from('<QQQ', head, 8)
    want_size = syms['_end'] - syms['_start']
    if head[56:60] != b'ARM\x64':
        sys.exit('check-image: %s: no ARM\\x64 magic at offset 56' % image)
    if text_offset != 0 or flags != 0xa or image_size != want_size:
        sys.exit('check-image: %s: text_offset 0x%x flags 0x%x image_size 0x%x (want 0, 0xa, 0x%x)'
                 % (image, text_offset, flags, image_size, want_size))
    print('check-image: %s header ok, image_size 0x%x' % (image, image_size))


def main():
    args = sys.argv[1:]
    if args[0] == '--image':
        nm, image, elf = args[1], args[2], args[3]
        check_header(image, all_symbols(nm, elf))
        return
    nm = 'nm'
    if args[0] == '--nm':
        nm, args = args[1], args[2:]
    stage1, final = args
    prefix = nm[:-2]
    a, b = text_symbols(nm, stage1), text_symbols(nm, final)
    moved = [n for n in a if n in b and a[n] != b[n]]
    if moved:
        sys.exit('check-image: symbols moved between links: %s' % ', '.join(moved[:5]))

    rel = subprocess.run([prefix + 'readelf', '-rW', final], check=True,
                         capture_output=True, text=True).stdout
    syms = all_symbols(nm, final)
    text_end = syms['__text_end']
    count = 0
    for line in rel.splitlines():
        p = line.split()
        if len(p) >= 3 and p[2].startswith('R_AARCH64'):
            count += 1
            if p[2] != 'R_AARCH64_RELATIVE':
                sys.exit('check-image: unsupported relocation %s at %s' % (p[2], p[0]))
            if int(p[0], 16) < text_end:
                sys.exit('check-image: relocation in text at %s' % p[0])
            addend = int(p[3], 16)
            if not syms['_start'] <= addend <= syms['_end']:
                sys.exit('check-image: relocation at %s of 0x%x, outside the image: a GOT entry '
                         'of an absolute symbol (use link_constant() in C)' % (p[0], addend))
    table = (syms['__rela_end'] - syms['__rela_start']) // 24
    if table != count:
        sys.exit('check-image: __rela_start..__rela_end covers %d relocations, .rela.dyn has %d'
                 % (table, count))
    print('check-image: %d relocations, all R_AARCH64_RELATIVE outside text' % count)


if __name__ == '__main__':
    main()
