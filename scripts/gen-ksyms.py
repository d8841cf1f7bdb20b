#!/usr/bin/env python3
"""Generate the image's symbol table (.ksyms) as assembly.

Reads `nm -n --defined-only sr.elf` on stdin and keeps text symbols (t/T).
Offsets are relative to _start, so the table needs no relocation. With
--empty, emits an empty table for the first link (same symbols, no data).
"""
import sys


def emit(symbols):
    out = ['    .section .ksyms, "a"', '    .balign 4']
    out.append('    .global ksyms_count, ksyms_offsets, ksyms_name_offsets, ksyms_names')
    out.append('ksyms_count: .long %d' % len(symbols))
    out.append('ksyms_offsets:')
    out += ['    .long 0x%x' % off for off, _ in symbols]
    out.append('ksyms_name_offsets:')
    pos = 0
    for _, name in symbols:
        out.append('    .long %d' % pos)
        pos += len(name) + 1
    out.append('ksyms_names:')
    out += ['    .asciz "%s"' % name for _, name in symbols]
    return '\n'.join(out) + '\n'


def main():
    if '--empty' in sys.argv:
        sys.stdout.write(emit([]))
        return
    base = None
    symbols = {}
    for line in sys.stdin:
        parts = line.split()
        if len(parts) != 3:
            continue
        addr, kind, name = int(parts[0], 16), parts[1], parts[2]
        if name == '_start':
            base = addr
        if kind not in 'tT' or name.startswith('$') or name.startswith('.L'):
            continue
        symbols.setdefault(addr, name)   # first name at an address wins
    if base is None:
        sys.exit('gen-ksyms: no _start symbol')
    table = sorted((addr - base, name) for addr, name in symbols.items() if addr >= base)
    sys.stdout.write(emit(table))


if __name__ == '__main__':
    main()
