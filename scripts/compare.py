#!/usr/bin/env python3
"""SR next to Linux threads, Go and Tokio on the same emulated machine (make compare).

Builds tests/compare/ into static aarch64 programs (C with glibc's pthreads,
Go with GOARCH=arm64, Rust with Tokio from Debian's packaged crates, built
offline with Debian's rustc), packs them into an initramfs whose /init runs them,
boots Debian's arm64 kernel with it in the QEMU machine `make bench` uses,
under the same -icount shift=0,sleep=off (one guest nanosecond = one guest
instruction, kernel work included), and prints their figures beside SR's
from build/<board>/bench.json (run `make bench` first). Writes
build/compare/compare.json: {"<benchmark>": {"sr": v, "linux_threads": v,
"go": v, "tokio": v}, ...} with null where a system has no such benchmark. Runs
`make bench` first when bench.json is missing.
"""
import json
import os
import re
import shlex
import stat
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "build", "compare")
KERNEL = os.path.join(ROOT, "build", "deps", "linux-kernel", "Image")
SYSTEMS = ("sr", "linux_threads", "go", "tokio")
PROGRAMS = ("init", "linux_threads", "go_bench", "tokio_bench")
# Rows in this order; SR's figure of the same name where it has one.
ROWS = ("spawn_join", "yield_switch", "sem_pingpong_same", "sem_pingpong_cross",
        "chan_pingpong_same", "chan_send_recv", "mutex_uncontended",
        "malloc_free_128", "timer_irq_to_task")


def run(cmd, **kw):
    r = subprocess.run(cmd, **kw)
    if r.returncode != 0:
        sys.exit(f"compare: failed: {' '.join(shlex.quote(c) for c in cmd)}")


def build():
    os.makedirs(OUT, exist_ok=True)
    src = os.path.join(ROOT, "tests", "compare")
    cc = ["aarch64-linux-gnu-gcc", "-O2", "-static", "-Wall", "-Wextra", "-Werror"]
    run(cc + ["-pthread", "-o", f"{OUT}/linux_threads", f"{src}/linux_threads.c"])
    run(cc + ["-o", f"{OUT}/init", f"{src}/compare_init.c"])
    env = dict(os.environ, GOOS="linux", GOARCH="arm64", CGO_ENABLED="0",
               GOCACHE=f"{OUT}/gocache", HOME=OUT, GO111MODULE="off")
    run(["go", "build", "-o", f"{OUT}/go_bench", f"{src}/go_bench.go"], env=env)
    # Debian's rustc and cargo (not a rustup toolchain that may come first in
    # PATH: only Debian's has the arm64 standard library, libstd-rust-dev),
    # offline from Debian's crate registry, linked statically.
    home = f"{OUT}/cargo-home"
    os.makedirs(home, exist_ok=True)
    with open(f"{home}/config.toml", "w") as f:
        f.write('[source.crates-io]\nreplace-with = "debian"\n'
                '[source.debian]\ndirectory = "/usr/share/cargo/registry"\n'
                '[net]\noffline = true\n'
                '[target.aarch64-unknown-linux-gnu]\nlinker = "aarch64-linux-gnu-gcc"\n'
                'rustflags = ["-C", "target-feature=+crt-static"]\n')
    env = dict(os.environ, CARGO_HOME=home, CARGO_TARGET_DIR=f"{OUT}/cargo-target",
               RUSTC="/usr/bin/rustc")
    run(["/usr/bin/cargo", "build", "--quiet", "--release", "--target", "aarch64-unknown-linux-gnu",
         "--manifest-path", f"{src}/tokio_bench/Cargo.toml"], env=env)
    run(["cp", f"{OUT}/cargo-target/aarch64-unknown-linux-gnu/release/tokio_bench",
         f"{OUT}/tokio_bench"])


def cpio_entry(name, mode, data=b"", rdev=(0, 0)):
    """One record of the newc cpio format the kernel unpacks."""
    name_b = name.encode() + b"\0"
    hdr = "070701" + "".join("%08X" % v for v in (
        0, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0))
    rec = hdr.encode() + name_b
    rec += b"\0" * (-len(rec) % 4) + data
    return rec + b"\0" * (-len(rec) % 4)


def initramfs():
    """dev/console (so /init has a console) and the programs."""
    blob = cpio_entry("dev", stat.S_IFDIR | 0o755)
    blob += cpio_entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    for name in PROGRAMS:
        with open(f"{OUT}/{name}", "rb") as f:
            blob += cpio_entry(name, stat.S_IFREG | 0o755, f.read())
    blob += cpio_entry("TRAILER!!!", 0)
    path = f"{OUT}/initramfs.cpio"
    with open(path, "wb") as f:
        f.write(blob)
    return path


def qemu_machine(board):
    """The machine make bench boots, from `make print-qemu`, without SR's own
    DTB, kernel and semihosting (Linux gets QEMU's DTB)."""
    line = subprocess.run(["make", "-s", "--no-print-directory", f"BOARD={board}", "print-qemu"],
                          cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    out, skip = [], False
    for a in line:
        if skip:
            skip = False
            continue
        if a in ("-dtb", "-kernel"):
            skip = True
            continue
        if a == "-semihosting":
            continue
        out.append(a)
    return out


def boot(board, initrd):
    cmd = qemu_machine(board) + ["-kernel", KERNEL, "-initrd", initrd,
                                 "-append", "console=ttyAMA0 quiet panic=-1",
                                 "-icount", "shift=0,sleep=off", "-no-reboot"]
    print("compare: " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    log = f"{OUT}/linux.log"
    with open(log, "w") as f:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                           timeout=1800)
    text = open(log, errors="replace").read()
    if "compare: done" not in text:
        sys.exit(f"compare: the Linux run did not finish (exit {r.returncode}); see {log}")
    figures = {}
    for m in re.finditer(r"^compare: (\w+) (\w+) (-?\d+) ", text, re.M):
        figures.setdefault(m.group(1), {})[m.group(2)] = int(m.group(3))
    for m in re.finditer(r"^compare: (\S+ failed.*|cannot run.*)$", text, re.M):
        print("compare: " + m.group(1))
    return figures


def tokio_version():
    lock = os.path.join(ROOT, "tests", "compare", "tokio_bench", "Cargo.lock")
    m = re.search(r'name = "tokio"\nversion = "([^"]+)"', open(lock).read()) if os.path.exists(lock) else None
    return m.group(1) if m else "?"


def main():
    board = sys.argv[1] if len(sys.argv) > 1 else "qemu-virt-bl"
    bench_json = os.path.join(ROOT, "build", board, "bench.json")
    if not os.path.exists(bench_json):
        # make bench writes it (and exits 1 while targets are unmet).
        subprocess.run(["make", "--no-print-directory", f"BOARD={board}", "bench"], cwd=ROOT)
    if not os.path.exists(bench_json):
        sys.exit(f"compare: {bench_json} missing: `make bench` did not write it")
    if not os.path.exists(KERNEL):
        sys.exit("compare: no arm64 kernel: run `bash scripts/deps.sh compare`")
    sr = json.load(open(bench_json))
    build()
    figures = boot(board, initramfs())
    figures["sr"] = {k: v for k, v in sr.items() if k in ROWS}
    table = {row: {s: figures.get(s, {}).get(row) for s in SYSTEMS} for row in ROWS}
    with open(f"{OUT}/compare.json", "w") as f:
        json.dump(table, f, indent=1)

    def cell(v):
        return "-" if v is None else ("check failed" if v < 0 else f"{v:,}")

    print("\n| benchmark (guest instructions, icount) | SR | Linux threads | Go | Tokio |")
    print("|---|---|---|---|---|")
    for row in ROWS:
        print(f"| {row} | " + " | ".join(cell(table[row][s]) for s in SYSTEMS) + " |")
    print(f"\ncompare: Linux {open(os.path.join(os.path.dirname(KERNEL), 'PACKAGE')).read().strip()}, "
          f"Go {subprocess.run(['go', 'version'], capture_output=True, text=True).stdout.split()[2]}, "
          f"Tokio {tokio_version()}; "
          f"written {os.path.relpath(OUT, ROOT)}/compare.json")
    bad = [r for r in ROWS for s in SYSTEMS if table[r][s] is not None and table[r][s] < 0]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
