#!/usr/bin/env python3
"""Run the in-image microbenchmarks and report them.

Boots build/<board>/Image with "sr.bench" under QEMU's
-icount shift=0,sleep=off: one guest instruction is one nanosecond of virtual
time, so the image's clock deltas are instruction counts, identical run to
run. Parses the image's lines

    bench: <name> <value> <unit> <at_most|at_least|report> <target>

("report": a figure without a target). The image's requests for serial
input (the UART benchmark's "SR: uart rx ready ...") are answered as
scripts/serial_feed.py describes. The I/O benchmarks get the devices of an
"io" test configuration (scripts/qemu_cmd.py): a scratch disk made and
removed here, and a virtio-rng. Prints a table (value, target, met?) and
writes build/<board>/bench.json as {"metric": value, ...}. Exit status 0 iff
every benchmark ran and met its target. Usage: run_bench.py BOARD
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

import qemu_cmd
import serial_feed


LINE = re.compile(r"^bench: (\S+) (\d+) (\S+) (at_most|at_least|report) (\d+)$")
IO = {"io": ["blk", "rng"]}


def board_command(board, io_disk):
    """The board's `make run` command, plus icount, the I/O devices and the
    bench switch."""
    out = subprocess.run(["make", "-s", "--no-print-directory", f"BOARD={board}", "print-qemu"],
                         check=True, capture_output=True, text=True).stdout.split()
    return out + ["-icount", "shift=0,sleep=off"] + qemu_cmd.io_args(IO, io_disk) + \
        ["-append", "sr.bench" + qemu_cmd.io_append(IO)]


def main():
    board = sys.argv[1] if len(sys.argv) > 1 else "qemu-virt-bl"
    with tempfile.TemporaryDirectory(dir=f"build/{board}", prefix=".bench-") as tmp, \
            tempfile.TemporaryFile() as out:
        io_disk = os.path.join(tmp, "io-disk.img")
        qemu_cmd.make_io_disk(io_disk)
        cmd = board_command(board, io_disk)
        print("running: " + " ".join(cmd), flush=True)
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        copier = serial_feed.pump(proc, out)
        try:
            returncode = proc.wait(timeout=1800)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            sys.exit("run_bench: QEMU did not finish in 30 minutes")
        finally:
            copier.join()
            proc.stdin.close()
        out.seek(0)
        lines = out.read().decode(errors="replace").splitlines()
    results, problems = {}, []
    for line in lines:
        m = LINE.match(line.strip())
        if m:
            name, value, unit, direction, target = m.groups()
            results[name] = (int(value), unit, direction, int(target))
        elif line.startswith("bench:") and "done" not in line:
            problems.append(line.strip())
        elif line.startswith("SR: PANIC"):
            problems.append(line.strip())
    if not any(l.strip() == "bench: done" for l in lines):
        problems.append("no 'bench: done' line (exit status %d)" % returncode)
    print(f"{'benchmark':<22} {'value':>12} {'unit':<15} {'target':>14}  met")
    met_all = True
    for name, (value, unit, direction, target) in results.items():
        if direction == "report":
            print(f"{name:<22} {value:>12} {unit:<15} {'(report)':>14}  -")
            continue
        met = value <= target if direction == "at_most" else value >= target
        met_all &= met
        bound = ("<= " if direction == "at_most" else ">= ") + str(target)
        print(f"{name:<22} {value:>12} {unit:<15} {bound:>14}  {'yes' if met else 'NO'}")
    with open(f"build/{board}/bench.json", "w") as f:
        json.dump({name: r[0] for name, r in results.items()}, f, indent=2)
        f.write("\n")
    print(f"wrote build/{board}/bench.json")
    for p in problems:
        print("problem: " + p)
    if problems:
        print("\n".join(lines[-30:]))
    return 0 if met_all and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
