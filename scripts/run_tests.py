#!/usr/bin/env python3
"""Run SR's tests: the host unit tests, then the in-image suites under QEMU.

The host part is build/host/unit-tests and tests/host/test_boards.py (dtinfo,
SD-card images, flashing), which runs once every board's image is built.

Both kinds of test program follow the protocol of tests/include/sr_test.h:

    ok N suite.name
    not ok N suite.name # file:line: message
    tests: P passed, F failed

and exit with status 0 iff F == 0. An image's requests for serial input
("SR: uart rx ready ...", "SR: uart tx check") are answered on QEMU's stdin
as scripts/serial_feed.py describes. While booting the image also prints
"SR: cpus online N of M", on a panic a line starting with "SR: PANIC", and it
leaves QEMU through semihosting with that exit status.

Every "ok" line counts one passed test, every "not ok" line one failed test.
A run whose output cannot be trusted counts ONE extra failed test, named
host.<what> (build, start, hang, crash, summary, exit) or <config>.boot: no
summary line or one that disagrees with the lines counted, an exit status
that disagrees with F, a crash, a hang (killed after its timeout), and for an
image also a panic or an online CPU count other than the configuration's.
A board that fails to build counts one failure, <board>.build, and its
configurations are skipped.

The in-image configurations are data, tests/image/configs.json; its fields
are described in scripts/qemu_cmd.py. Logs go to build/test-logs/. The last
line printed is "N passed, M failed"; the exit status is 0 iff M == 0.
"""
import argparse
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import qemu_cmd
import serial_feed

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = Path("build/test-logs")
HOST_BIN, HOST_FIXTURES, HOST_TIMEOUT = "build/host/unit-tests", "build/host/fixtures", 300
# dtinfo, SD-card layouts, flashing: builds each board's sdcard.img itself.
BOARDS_CHECK = [sys.executable, "tests/host/test_boards.py"]
TAIL = 40

TEST_RE = re.compile(r"^(not )?ok \d+ \S+( # .*)?$")
SUMMARY_RE = re.compile(r"^tests: (\d+) passed, (\d+) failed$")
CPUS_RE = re.compile(r"SR: cpus online (\d+) of (\d+)")

_running, _lock, _stopping = set(), threading.Lock(), threading.Event()


@dataclass
class Outcome:
    """What one run (host tests, a board build, a configuration) produced."""
    name: str
    passed: int = 0
    not_ok: list = field(default_factory=list)    # the "not ok" lines
    problems: list = field(default_factory=list)  # (kind, why): the extra failure
    extra_name: str = ""                          # its name, e.g. "<config>.boot"
    lines: list = field(default_factory=list)     # the output
    log: str = ""
    cmd: list = None
    seconds: float = 0.0
    skipped: str = ""

    @property
    def failed(self):
        return len(self.not_ok) + (1 if self.problems else 0)


def run_process(cmd, log_path, timeout):
    """Runs cmd with output to log_path. Returns (lines, status, seconds);
    status is the exit status, "hang" or "cannot start: ..."."""
    start = time.monotonic()
    with open(log_path, "wb") as log:
        try:
            with _lock:  # so that stop_all() misses no process
                if _stopping.is_set():
                    raise OSError("interrupted")
                # stdin/stdout piped: the image's serial requests are answered
                # (scripts/serial_feed.py) while the output goes to the log.
                proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, start_new_session=True)
                _running.add(proc)
        except OSError as e:
            log.write(f"cannot start {cmd[0]}: {e}\n".encode())
            status = f"cannot start: {e}"
        else:
            copier = serial_feed.pump(proc, log)
            try:
                status = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill(proc)
                status = "hang"
            copier.join()
            proc.stdin.close()
            with _lock:
                _running.discard(proc)
    text = Path(log_path).read_text(errors="replace")
    return [l.rstrip() for l in text.splitlines()], status, time.monotonic() - start


def kill(proc):
    """Kills proc's whole process group (it leads its own session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def stop_all():
    """On ^C: start nothing more, kill what runs."""
    _stopping.set()
    with _lock:
        for proc in list(_running):
            kill(proc)


def check_output(out, status, timeout):
    """Counts the test lines and checks summary and exit status against them."""
    out.passed = sum(1 for l in out.lines if TEST_RE.match(l) and l.startswith("ok"))
    out.not_ok = [l for l in out.lines if TEST_RE.match(l) and l.startswith("not ok")]
    summaries = [SUMMARY_RE.match(l) for l in out.lines if SUMMARY_RE.match(l)]
    if status == "hang":
        out.problems.append(("hang", f"hung: killed after {timeout} s"))
    elif isinstance(status, str):
        out.problems.append(("start", status))
    elif status < 0:
        out.problems.append(("crash", f"killed by signal {-status}"))
    if not summaries:
        exited = f" (exit status {status})" if isinstance(status, int) and status > 0 else ""
        out.problems.append(("summary", f'no "tests: P passed, F failed" summary line{exited}'))
    elif len(summaries) > 1:
        out.problems.append(("summary", f"{len(summaries)} summary lines"))
    elif (int(summaries[0][1]), int(summaries[0][2])) != (out.passed, len(out.not_ok)):
        out.problems.append(("summary", f'summary "{summaries[0][0]}" but counted '
                                        f"{out.passed} ok, {len(out.not_ok)} not ok"))
    failed = int(summaries[-1][2]) if summaries else None  # no summary: no verdict to match
    if failed is not None and isinstance(status, int) and status >= 0 \
            and (status == 0) != (failed == 0):
        out.problems.append(("exit", f"exit status {status} but summary says {failed} failed"))


def check_boot(out, cfg):
    """The image-only checks: online CPU count and panics."""
    cpus = [CPUS_RE.search(l) for l in out.lines if CPUS_RE.search(l)]
    if not cpus:
        out.problems.append(("boot", '"SR: cpus online N of M" missing'))
    elif int(cpus[-1][1]) != cfg["cpus"]:
        out.problems.append(("boot", f'"{cpus[-1][0]}" but expected {cfg["cpus"]} online'))
    panics = [l for l in out.lines if l.startswith("SR: PANIC")]
    if panics:
        out.problems.insert(0, ("panic", panics[0]))


def make(target_args, log_name):
    """Runs make; returns None on success, else an Outcome describing the failure."""
    cmd = ["make", "--no-print-directory"] + target_args
    out = Outcome(log_name, cmd=cmd, log=str(LOG_DIR / f"{log_name}.log"))
    out.lines, status, out.seconds = run_process(cmd, out.log, None)
    if status == 0:
        return None
    out.problems.append(("build", f"`{' '.join(cmd)}` failed ({status})"))
    return out


def run_host(build):
    out = make(["host-tests", "host-tools"], "host-build") if build else None
    if out:
        out.name, out.extra_name = "host", "host.build"
        return out
    cmd = [HOST_BIN, HOST_FIXTURES]
    out = Outcome("host", cmd=cmd, log=str(LOG_DIR / "host.log"))
    if not Path(HOST_BIN).is_file():
        out.problems.append(("build", f"{HOST_BIN} missing"))
    else:
        out.lines, status, out.seconds = run_process(cmd, out.log, HOST_TIMEOUT)
        check_output(out, status, HOST_TIMEOUT)
    out.extra_name = "host." + out.problems[0][0] if out.problems else ""
    return out


def run_host_boards():
    out = Outcome("host-boards", cmd=BOARDS_CHECK, log=str(LOG_DIR / "host-boards.log"))
    out.lines, status, out.seconds = run_process(BOARDS_CHECK, out.log, HOST_TIMEOUT)
    check_output(out, status, HOST_TIMEOUT)
    out.extra_name = "host-boards." + out.problems[0][0] if out.problems else ""
    return out


def compile_test_dtb(cfg):
    """Builds the configuration's own DTB from its .dts; a problem string or None."""
    if not cfg["dtb"].endswith(".dts"):
        return None
    target = qemu_cmd.dtb_path(cfg)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", target, cfg["dtb"]],
                         capture_output=True, text=True)
    return None if res.returncode == 0 else f"dtc {cfg['dtb']}: {res.stderr.strip()}"


def check_expected(out, status, cfg):
    """An "expect" run: one test that passes iff it failed exactly as described."""
    exp, why = cfg["expect"], []
    if status != exp["exit"]:
        why.append(f"exit status {status}, expected {exp['exit']}")
    for pat in exp["patterns"]:
        if not any(re.search(pat, l) for l in out.lines):
            why.append(f"no line matches /{pat}/")
    if why:
        out.problems.append(("expect", "; ".join(why)))
    else:
        out.passed = 1


def make_disk(cfg, path):
    """Builds a "disk" configuration's SD-card image at path; a problem or None."""
    res = subprocess.run([sys.executable, "scripts/mk_sdcard.py", "--out", path,
                          "--image", qemu_cmd.kernel_path(cfg), "--dtb", qemu_cmd.dtb_path(cfg),
                          "--append", cfg.get("append", "sr.test")],
                         capture_output=True, text=True)
    return None if res.returncode == 0 else res.stderr.strip() or "mk_sdcard failed"


def run_config(cfg):
    """One configuration; a "disk" one on its own temporary SD-card image, an
    "io" one with its own scratch disk (both removed afterwards); a two-boot
    one boots twice on the same scratch disk, its outcomes added up."""
    if "disk" not in cfg and "io" not in cfg:
        return run_config_with(cfg, None)
    with tempfile.TemporaryDirectory(dir="build", prefix=f".{cfg['name']}-") as tmp:
        if "disk" in cfg:
            return run_config_with(cfg, str(Path(tmp) / "sdcard.img"))
        io_disk = str(Path(tmp) / "io-disk.img")
        qemu_cmd.make_io_disks(cfg, io_disk)
        out = run_config_with(cfg, None, io_disk)
        for boot in range(2, cfg.get("boots", 1) + 1):
            if out.failed:
                break
            more = run_config_with(cfg, None, io_disk, boot)
            more.passed += out.passed
            more.not_ok = out.not_ok + more.not_ok
            more.lines = out.lines + [f"--- boot {boot} ---"] + more.lines
            more.seconds += out.seconds
            out = more
        return out


def run_config_with(cfg, disk, io_disk=None, boot=1):
    cmd = qemu_cmd.command(cfg, disk=disk, io_disk=io_disk, boot=boot)
    expecting = "expect" in cfg
    name = cfg["name"] + (f".round{cfg['round']}" if "round" in cfg else "")
    out = Outcome(name, cmd=cmd,
                  extra_name=f"{name}." + ("expect" if expecting else "boot"),
                  log=str(LOG_DIR / (f"{name}.log" if boot == 1 else f"{name}.boot{boot}.log")))
    problem = compile_test_dtb(cfg)
    if problem:
        out.problems.append(("build", problem))
        return out
    missing = [p for p in (qemu_cmd.kernel_path(cfg), qemu_cmd.dtb_path(cfg))
               if p and not Path(p).is_file()]
    if missing:
        out.problems.append(("build", f"missing {', '.join(missing)}"))
        return out
    problem = disk and make_disk(cfg, disk)
    if problem:
        out.problems.append(("build", problem))
        return out
    out.lines, status, out.seconds = run_process(cmd, out.log, cfg["timeout"])
    if expecting:
        check_expected(out, status, cfg)
    else:
        check_output(out, status, cfg["timeout"])
        check_boot(out, cfg)
    return out


def report(heading, out):
    """One progress line, plus the details when something failed."""
    if out.skipped:
        print(f"{heading}: skipped, {out.skipped}")
        return
    print(f"{heading}: {out.passed} passed, {out.failed} failed ({out.seconds:.1f} s)")
    if not out.failed:
        return
    for line in out.not_ok:
        print(f"    {line}")
    if out.problems:
        print(f"    {out.extra_name}: " + "; ".join(why for _, why in out.problems))
    if out.cmd:
        print(f"    command: {shlex.join(out.cmd)}")
    if out.lines:
        print(f"    last {min(TAIL, len(out.lines))} lines of {out.log}:")
        for line in out.lines[-TAIL:]:
            print(f"    | {line}")


def failure_names(out):
    names = [f"{out.name}:" + l.split(" #")[0].split()[-1] for l in out.not_ok]
    return names + ([out.extra_name] if out.problems else [])


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-j", "--jobs", type=int, default=1, help="configurations run at once")
    ap.add_argument("--only", action="append", metavar="SUBSTR",
                    help="run only configurations whose name contains SUBSTR (repeatable)")
    ap.add_argument("--no-host", action="store_true", help="skip the host unit tests")
    ap.add_argument("--no-build", action="store_true", help="use build/ as it is; run no make")
    ap.add_argument("--list", action="store_true", help="list configurations and exit")
    ap.add_argument("--configs", help=f"configurations file (default {qemu_cmd.CONFIGS})")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="run every configuration N times, each round with its own name and "
                         "log (NAME.roundR): a soak for races that show once in a while")
    args = ap.parse_args()
    if args.jobs < 1:
        ap.error("-j must be at least 1")
    args.configs = os.path.abspath(args.configs) if args.configs else ROOT / qemu_cmd.CONFIGS
    return args


def all_boards():
    return sorted(p.name for p in Path("boards").iterdir() if (p / "board.mk").exists())


def run_all(args, configs):
    outcomes = []
    if not args.no_host:
        outcomes.append(run_host(not args.no_build))
        report("[host] unit tests", outcomes[-1])
    # Every image first (in parallel within each board): the board tooling
    # checks package all boards' images and must not build them inside their
    # own time limit.
    boards = list(dict.fromkeys(c["board"] for c in configs))
    if not args.no_host:
        boards += [b for b in all_boards() if b not in boards]
    broken = {}
    for board in boards:
        out = None if args.no_build else make([f"-j{os.cpu_count() or 1}", f"BOARD={board}",
                                               "image"], f"build-{board}")
        if out:
            out.name = out.extra_name = f"{board}.build"
            broken[board] = out
            outcomes.append(out)
            report(f"[build] {board}", out)
    if not args.no_host:
        outcomes.append(run_host_boards())
        report("[host] dtinfo, SD-card images, flashing", outcomes[-1])
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {}
        for i, cfg in enumerate(configs, 1):
            if cfg["board"] in broken:
                skip = Outcome(cfg["name"], skipped=f"board {cfg['board']} did not build")
                outcomes.append(skip)
                report(f"[{i}/{len(configs)}] {cfg['name']}", skip)
            else:
                futures[pool.submit(run_config, cfg)] = i
        try:
            for fut in as_completed(futures):
                outcomes.append(fut.result())
                report(f"[{futures[fut]}/{len(configs)}] {outcomes[-1].name}", outcomes[-1])
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            stop_all()
            raise
    return outcomes


def main():
    sys.stdout.reconfigure(line_buffering=True)
    args = parse_args()
    os.chdir(ROOT)  # all paths below, and in the commands printed, are relative to it
    try:
        configs = qemu_cmd.load_configs(args.configs)
    except (OSError, ValueError) as e:
        sys.exit(f"run_tests: {e}")
    if args.only:
        configs = [c for c in configs if any(s in c["name"] for s in args.only)]
        if not configs:
            sys.exit(f"run_tests: no configuration matches {args.only}")
    if args.repeat < 1:
        sys.exit("run_tests: --repeat needs N >= 1")
    if args.repeat > 1:
        configs = [dict(c, round=r) for r in range(1, args.repeat + 1) for c in configs]
    if args.list:
        for i, cfg in enumerate(configs, 1):
            print(f"[{i}] {cfg['name']}: {shlex.join(qemu_cmd.command(cfg))}")
        return 0
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    try:
        outcomes = run_all(args, configs)
    except KeyboardInterrupt:
        stop_all()
        print("\ninterrupted")
        return 130
    failures = [n for out in outcomes for n in failure_names(out)]
    if failures:
        print("failed: " + " ".join(failures))
    passed, failed = sum(o.passed for o in outcomes), sum(o.failed for o in outcomes)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
