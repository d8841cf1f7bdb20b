#!/usr/bin/env python3
"""Guest instructions per function and core, from a QEMU execution log.

Unlike scripts/insn_profile.py (one vCPU single-stepped through gdb for a
bounded number of steps), this counts a whole benchmark window on every
vCPU, waits and context switches included, from QEMU's own log.

Record one benchmark with the translation and execution log, unchained so
that every executed block is logged:

    $(make -s print-qemu) -icount shift=0,sleep=off \\
        -append "sr.bench sr.only=chan_send_recv" \\
        -d in_asm,exec,nochain -D /tmp/trace.txt

then count between two addresses (symbols or 0x... inside translation
blocks; e.g. the return addresses of a benchmark's two clock_ns() calls):

    scripts/trace_profile.py /tmp/trace.txt build/qemu-virt-bl/sr.elf START END [N]

Counting starts at the first executed block containing START and stops at
the next one containing END; N divides the counts (iterations). Blocks are
identified by their host code address, so re-translations of one guest
address are told apart. FUNC=name in the environment also lists that
function's instructions one by one.
"""
import bisect
import collections
import os
import re
import subprocess
import sys


def symbols(elf):
    syms = []
    out = subprocess.run(["aarch64-linux-gnu-nm", "-n", elf], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in "tTwW":
            syms.append((int(p[0], 16), p[2]))
    return syms


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    log, elf, start_s, end_s = sys.argv[1:5]
    per = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    syms = symbols(elf)
    addrs = [a for a, _ in syms]

    def sym(pc):
        i = bisect.bisect_right(addrs, pc) - 1
        return syms[i][1] if i >= 0 else "?"

    def addr(s):
        if s.startswith("0x"):
            return int(s, 16)
        for a, n in syms:
            if n == s:
                return a
        sys.exit("no symbol " + s)

    start, end = addr(start_s), addr(end_s)
    func = os.environ.get("FUNC")
    trace = re.compile(r"Trace (\d+): (\S+) \[[0-9a-f]+/([0-9a-f]+)/")
    insn = re.compile(r"^0x([0-9a-f]+):\s")
    blocks, block, pending = {}, None, None
    counts, percpu, by_addr = collections.Counter(), collections.Counter(), collections.Counter()
    inside = False
    with open(log, errors="replace") as f:
        for line in f:
            if line.startswith("IN:"):
                block = []
                continue
            m = insn.match(line)
            if m and block is not None:
                block.append(int(m.group(1), 16))
                continue
            if block:
                pending = block
            block = None
            m = trace.match(line)
            if not m:
                continue
            cpu, host, pc = int(m.group(1)), m.group(2), int(m.group(3), 16)
            if pending and pending[0] == pc:   # first execution right after translation
                blocks[host] = pending
                pending = None
            tb = blocks.get(host, [pc])
            if not inside:
                inside = tb[0] <= start <= tb[-1]
                continue
            if tb[0] <= end <= tb[-1]:
                break
            for a in tb:
                s = sym(a)
                counts[(cpu, s)] += 1
                percpu[cpu] += 1
                if s == func:
                    by_addr[a] += 1
    total = sum(percpu.values())
    print(f"total {total} ({total / per:.1f} per iteration); per cpu {dict(percpu)}")
    for (cpu, s), c in counts.most_common(40):
        print(f"{c:10d} {c / per:9.1f}  cpu{cpu} {s}")
    for a in sorted(by_addr):
        print(f"  {a:#x} {by_addr[a] / per:.1f}")


if __name__ == "__main__":
    main()
