#!/usr/bin/env python3
"""QEMU command lines for the in-image test configurations.

tests/image/configs.json is a list of configurations (data, not code):

    name     unique name; the log goes to build/test-logs/<name>.log
    board    boards/<board>: `make BOARD=<board> image` builds build/<board>/
    machine  -M value, e.g. "virt,gic-version=3,virtualization=on"
    cpu      -cpu value
    smp      -smp value, e.g. "8,clusters=2,cores=4"
    mem      -m value, e.g. "2G"
    dtb      "board": -dtb build/<board>/<board>.dtb; "qemu": QEMU's own DTB;
             a path to a .dts: compiled with dtc to build/test-dtbs/<name>.dtb
    kernel   "Image": build/<board>/Image; "elf": build/<board>/sr.elf
    cpus     how many CPUs the image must report online (ignored with "expect")
    timeout  seconds before the run is killed and counted as a hang
    extra    (optional) list of extra QEMU arguments
    append   (optional) kernel command line, default "sr.test"
    expect   (optional) a run that must fail in a given way instead of running
             the suites: {"exit": status, "patterns": [regex, ...]}; it counts
             as one test, <name>.expect, passed iff the exit status matches and
             every pattern matches some line of the output
    disk     (optional) "sdcard": boot from a disk as a board does. The runner
             builds a temporary SD-card image (scripts/mk_sdcard.py: MBR, FAT
             with the kernel file, the dtb and a boot.scr whose bootargs are
             `append`), attaches it as a virtio disk instead of passing
             -kernel/-dtb/-append, and removes it afterwards; U-Boot (in
             `extra`) finds boot.scr and runs booti
    io       (optional) I/O devices for the I/O suites, a list of "blk",
             "rng" and "net2": "blk" attaches a scratch disk the runner
             creates (make_io_disk: IO_DISK_BYTES bytes, IO_DISK_MAGIC at
             offset 0) and removes afterwards, "rng" a virtio-rng, "net2" two
             virtio-nets on one QEMU hub (IO_NET_MACS); the image is told with
             "sr.io=blk,rng,net2" on its command line, so the suites require
             exactly those devices (virtio-mmio devices on the virt machine);
             "blkerr" adds a disk whose sector IO_ERR_SECTOR always fails
    boots    (optional) 2: boot twice on the same scratch disk (needs "io"
             with "blk"); the second boot gets "sr.boot=2" (persistence)
    note     (optional) free text for humans

Usage: python3 scripts/qemu_cmd.py [--configs FILE] NAME
prints the command line of configuration NAME (run it from the repo root).
"""
import argparse
import json
import shlex
import sys

QEMU = "qemu-system-aarch64"
CONFIGS = "tests/image/configs.json"
KERNEL_FILES = {"Image": "Image", "elf": "sr.elf"}
DTB_CHOICES = ("board", "qemu")
FIELDS = {"name": str, "board": str, "machine": str, "cpu": str, "smp": (str, int),
          "mem": str, "dtb": str, "kernel": str, "cpus": int, "timeout": (int, float)}
OPTIONAL = {"extra": list, "note": str, "append": str, "expect": dict, "disk": str,
            "io": list, "boots": int}
IO_DEVICES = ("blk", "rng", "net2", "blkerr")
# "blkerr": a second disk behind QEMU's blkdebug driver that fails every read
# and write touching sector IO_ERR_SECTOR with EIO (the guest sees the
# device's I/O-error status); its header says IO_ERR_DISK_MAGIC.
IO_ERR_DISK_MAGIC = b"SR-IO-ERROR-DISK\n"
IO_ERR_SECTOR = 4096
# "net2": two virtio-net devices on one QEMU hub, with these MACs.
IO_NET_MACS = ("52:54:00:53:52:01", "52:54:00:53:52:02")
IO_DISK_BYTES = 16 << 20
IO_DISK_MAGIC = b"SR-IO-TEST-DISK\n"


def make_io_disk(path, magic=IO_DISK_MAGIC):
    """The scratch disk of an "io" configuration: zeros, the magic line and
    its size in bytes (decimal, newline-terminated) at the start."""
    with open(path, "wb") as f:
        f.write(magic + b"%d\n" % IO_DISK_BYTES)
        f.truncate(IO_DISK_BYTES)


def err_disk_path(io_disk):
    """Where the "blkerr" disk goes: next to the scratch disk."""
    return io_disk + ".err"


def make_io_disks(cfg, io_disk):
    """Every disk file an "io" configuration needs."""
    make_io_disk(io_disk)
    if "blkerr" in cfg.get("io", []):
        make_io_disk(err_disk_path(io_disk), IO_ERR_DISK_MAGIC)


def io_args(cfg, io_disk):
    """QEMU arguments for the configuration's I/O devices."""
    args = []
    for dev in cfg.get("io", []):
        if dev == "blk":
            args += ["-drive", f"if=none,format=raw,id=iodisk,file={io_disk}",
                     "-device", "virtio-blk-device,drive=iodisk"]
        elif dev == "rng":
            args += ["-device", "virtio-rng-device"]
        elif dev == "blkerr":
            errors = [{"event": ev, "errno": 5, "sector": IO_ERR_SECTOR, "once": False}
                      for ev in ("read_aio", "write_aio")]
            # The raw format driver raises the read_aio/write_aio events
            # that arm blkdebug's rules.
            node = {"driver": "raw", "node-name": "ioerrdisk",
                    "file": {"driver": "blkdebug", "inject-error": errors,
                             "image": {"driver": "file", "filename": err_disk_path(io_disk)}}}
            args += ["-blockdev", json.dumps(node, separators=(",", ":")),
                     "-device", "virtio-blk-device,drive=ioerrdisk"]
        elif dev == "net2":
            for i, mac in enumerate(IO_NET_MACS):
                args += ["-netdev", f"hubport,id=ionet{i},hubid=0",
                         "-device", f"virtio-net-device,netdev=ionet{i},mac={mac}"]
    return args


def io_append(cfg, boot=1):
    """What the command line gains for the I/O devices and the boot number."""
    extra = ""
    if cfg.get("io"):
        extra += " sr.io=" + ",".join(cfg["io"])
    if boot > 1:
        extra += f" sr.boot={boot}"
    return extra
DISK_CHOICES = ("sdcard",)
TEST_DTB_DIR = "build/test-dtbs"


def kernel_path(cfg):
    return f"build/{cfg['board']}/{KERNEL_FILES[cfg['kernel']]}"


def dtb_path(cfg):
    """The -dtb file, or None when QEMU generates the DTB."""
    if cfg["dtb"] == "board":
        return f"build/{cfg['board']}/{cfg['board']}.dtb"
    if cfg["dtb"].endswith(".dts"):
        return f"{TEST_DTB_DIR}/{cfg['name']}.dtb"
    return None


def command(cfg, append=None, disk="<temporary sdcard.img>", io_disk="<temporary io disk>",
            boot=1):
    """The QEMU command; disk is the image file of a "disk" configuration,
    io_disk the scratch disk of an "io" one, boot which boot of it."""
    if append is None:
        append = cfg.get("append", "sr.test") + io_append(cfg, boot)
    cmd = [QEMU, "-M", cfg["machine"], "-cpu", cfg["cpu"], "-smp", str(cfg["smp"]),
           "-m", cfg["mem"], "-nographic", "-nic", "none", "-semihosting"]
    if "disk" in cfg:
        cmd += ["-drive", f"if=none,format=raw,id=sd,file={disk}",
                "-device", "virtio-blk-device,drive=sd"]
        return cmd + [str(a) for a in cfg.get("extra", [])]
    if dtb_path(cfg):
        cmd += ["-dtb", dtb_path(cfg)]
    cmd += ["-kernel", kernel_path(cfg), "-append", append]
    return cmd + io_args(cfg, io_disk) + [str(a) for a in cfg.get("extra", [])]


def _check(cfg, where):
    """Raises ValueError saying what is wrong with one entry."""
    if not isinstance(cfg, dict):
        raise ValueError(f"{where}: not an object")
    for key, kind in FIELDS.items():
        if not isinstance(cfg.get(key), kind) or isinstance(cfg.get(key), bool):
            raise ValueError(f"{where}: missing or bad '{key}'")
    for key in cfg.keys() - FIELDS.keys():
        if key not in OPTIONAL or not isinstance(cfg[key], OPTIONAL[key]):
            raise ValueError(f"{where}: unknown or bad key '{key}'")
    if cfg["dtb"] not in DTB_CHOICES and not cfg["dtb"].endswith(".dts"):
        raise ValueError(f"{where}: 'dtb' must be one of {DTB_CHOICES} or a .dts path")
    exp = cfg.get("expect")
    if exp is not None and (not isinstance(exp.get("exit"), int) or
                            not isinstance(exp.get("patterns"), list) or not exp["patterns"]):
        raise ValueError(f"{where}: 'expect' needs an integer 'exit' and a non-empty 'patterns'")
    if "disk" in cfg and (cfg["disk"] not in DISK_CHOICES or cfg["dtb"] == "qemu"):
        raise ValueError(f"{where}: 'disk' must be one of {DISK_CHOICES}, with a dtb file")
    io = cfg.get("io", [])
    if any(d not in IO_DEVICES for d in io) or len(set(io)) != len(io) or \
            ("io" in cfg and ("disk" in cfg or "expect" in cfg)):
        raise ValueError(f"{where}: 'io' lists devices of {IO_DEVICES}, once each, "
                         "without 'disk' or 'expect'")
    if "boots" in cfg and (cfg["boots"] not in (1, 2) or "blk" not in io):
        raise ValueError(f"{where}: 'boots' is 1 or 2 and needs 'io' with \"blk\"")
    if cfg["kernel"] not in KERNEL_FILES:
        raise ValueError(f"{where}: 'kernel' must be one of {tuple(KERNEL_FILES)}")
    if cfg["cpus"] < 1 or cfg["timeout"] <= 0:
        raise ValueError(f"{where}: 'cpus' and 'timeout' must be positive")


def load_configs(path=CONFIGS):
    """The validated list of configurations; ValueError if malformed."""
    with open(path) as f:
        configs = json.load(f)
    if not isinstance(configs, list):
        raise ValueError(f"{path}: expected a JSON list")
    for i, cfg in enumerate(configs):
        _check(cfg, f"{path} entry {i}")
    names = [c["name"] for c in configs]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise ValueError(f"{path}: duplicate names {dups}")
    return configs


def main():
    ap = argparse.ArgumentParser(description="Print a test configuration's QEMU command.")
    ap.add_argument("--configs", default=CONFIGS)
    ap.add_argument("name")
    args = ap.parse_args()
    for cfg in load_configs(args.configs):
        if cfg["name"] == args.name:
            print(shlex.join(command(cfg)))
            return 0
    print(f"no configuration named {args.name!r}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
