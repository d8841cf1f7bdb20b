#!/usr/bin/env python3
"""Count the guest instructions a code path executes, per function.

Boots an image in QEMU (one vCPU, halted at reset, gdbstub on a private
port), runs to the N-th hit of a start symbol, then single-steps STEPS
instructions (interrupts are masked while QEMU single-steps) and prints how
many were spent in each function and how often the start symbol was entered,
so a hot path's cost can be split by function:

    scripts/insn_profile.py --append "sr.bench sr.only=yield" \\
        --start task_yield --skip 100 --steps 2000

A path that starts in an interrupt (the UART's RX handler) is reached with
--after (the start symbol's breakpoint is set only once AFTER was hit, e.g.
when the reader has blocked), --feed (the image's serial requests are
answered as the test runner does, scripts/serial_feed.py) and --until (the
count stops at the first instruction of UNTIL, e.g. the reader's clock read):

    scripts/insn_profile.py --append "sr.bench sr.only=uart" --feed \\
        --after sched_block_waitq_begin --start pl011_port_irq --until clock_ns --skip 5 --steps 800

Extra QEMU arguments follow "--". Defaults boot qemu-virt-bl's Image on one
Cortex-A76 with QEMU's own DTB, under -icount shift=0,sleep=off as make bench
does (guest time advances by instructions, not while gdb steps). Do not step
into WFI: under icount a halted vCPU being single-stepped never wakes.
"""
import argparse
import bisect
import os
import socket
import subprocess
import sys
import tempfile

import serial_feed


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def symbols(elf):
    """Sorted (address, name) of the ELF's functions."""
    out = subprocess.run(["aarch64-linux-gnu-nm", "-n", elf], check=True,
                         capture_output=True, text=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tT":
            syms.append((int(parts[0], 16), parts[2]))
    return syms


# Steps with raw remote packets: gdb's own stepi runs whole "atomic
# sequences" (it treats LDAR and friends as load-exclusive) without stopping.
GDB_SCRIPT = """
import gdb
gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("target remote 127.0.0.1:{port}")
gdb.execute("break *{first:#x}")
for _ in range({skip} + 1):
    gdb.execute("continue", to_string=True)
gdb.execute("delete")
if {start:#x} != {first:#x}:
    gdb.execute("break *{start:#x}")
    gdb.execute("continue", to_string=True)
    gdb.execute("delete")
out = open("{trace}", "w")
for _ in range({steps}):
    reply = gdb.execute("maint packet p20", to_string=True)
    val = reply.split("received: ")[1].strip().strip('"')
    out.write("%x\\n" % int.from_bytes(bytes.fromhex(val), "little"))
    gdb.execute("maint packet s", to_string=True)
out.close()
gdb.execute("kill")
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="qemu-virt-bl")
    ap.add_argument("--append", required=True, help="kernel command line")
    ap.add_argument("--start", required=True, help="symbol where counting starts")
    ap.add_argument("--skip", type=int, default=10, help="hits of --start to let pass first")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--after", help="count from the first --start hit after the SKIP+1-th hit of this symbol")
    ap.add_argument("--until", help="stop counting at the first instruction of this symbol")
    ap.add_argument("--feed", action="store_true", help="answer the image's serial requests")
    ap.add_argument("qemu_extra", nargs="*")
    args = ap.parse_args()

    build = f"build/{args.board}"
    elf, image = f"{build}/sr.elf", f"{build}/Image"
    syms = symbols(elf)
    addrs = [a for a, _ in syms]
    by_name = dict((n, a) for a, n in syms)
    for name in (args.start, args.after, args.until):
        if name and name not in by_name:
            sys.exit(f"insn_profile: no symbol {name} in {elf}")
    start = by_name[args.start]
    first = by_name[args.after] if args.after else start
    port = free_port()
    qemu = ["qemu-system-aarch64", "-M", "virt,gic-version=3,virtualization=on",
            "-cpu", "cortex-a76", "-smp", "1", "-m", "1G", "-nographic", "-nic", "none",
            "-semihosting", "-kernel", image, "-append", args.append,
            "-icount", "shift=0,sleep=off",
            "-S", "-gdb", f"tcp:127.0.0.1:{port}"] + args.qemu_extra
    with tempfile.TemporaryDirectory() as tmp:
        trace, script = os.path.join(tmp, "trace"), os.path.join(tmp, "gdb.py")
        with open(script, "w") as f:
            f.write(GDB_SCRIPT.format(port=port, start=start, first=first, skip=args.skip,
                                      steps=args.steps, trace=trace))
        feed = subprocess.PIPE if args.feed else subprocess.DEVNULL
        vm = subprocess.Popen(qemu, stdin=feed, stdout=feed, stderr=subprocess.DEVNULL)
        if args.feed:
            serial_feed.pump(vm, open(os.devnull, "wb"))
        try:
            gdb = subprocess.run(["gdb-multiarch", "--batch", "-nx", "-x", script, elf],
                                 capture_output=True, text=True, timeout=300)
        finally:
            vm.kill()
            vm.wait()
        pcs = [int(l, 16) for l in open(trace)] if os.path.exists(trace) else []
        if os.environ.get("INSN_TRACE"):
            subprocess.run(["cp", trace, os.environ["INSN_TRACE"]])
    if not pcs:
        sys.exit("insn_profile: no trace (did the start symbol run?)\n" + gdb.stdout + gdb.stderr)
    if args.until:
        # From the start up to (not including) UNTIL's first instruction.
        stop = [i for i, pc in enumerate(pcs) if pc == by_name[args.until]]
        if not stop:
            sys.exit(f"insn_profile: {args.until} not reached in {args.steps} steps")
        pcs = pcs[:stop[0]]
    else:
        # Whole iterations only: from the first entry up to (not including) the last.
        starts = [i for i, pc in enumerate(pcs) if pc == start]
        if len(starts) >= 2:
            pcs = pcs[:starts[-1]]
    per_fn, entries = {}, 0
    for pc in pcs:
        i = bisect.bisect_right(addrs, pc) - 1
        name = syms[i][1] if i >= 0 else "?"
        per_fn[name] = per_fn.get(name, 0) + 1
        entries += pc == start
    print(f"{len(pcs)} instructions, {entries} entries of {args.start}: "
          f"{len(pcs) / max(entries, 1):.1f} per entry")
    for name, n in sorted(per_fn.items(), key=lambda kv: -kv[1]):
        print(f"  {n:7d}  {n / max(entries, 1):7.1f}/entry  {name}")


if __name__ == "__main__":
    main()
