#!/usr/bin/env python3
"""Host checks of the board tooling, printed in the sr_test.h protocol:

  dtinfo.*   build/host/dtinfo against tests/host/dtinfo/<case>.json for the
             repo's boards, fixtures and Debian's RK3399 DTBs; rejected DTBs
             (truncated, corrupted) give exit 1 and a reason, no JSON.
  sdcard.*   `make BOARD=<b> sdcard` for every board: MBR, partition, FAT,
             files byte-identical to the build, boot.scr, and for Rockchip
             boards the loaders byte-identical to Debian's package.
  flash.*    scripts/flash.py refuses what it must and, on a loop device
             (root only), writes and verifies.

Run from the repository root after `make host-tools` and scripts/deps.sh.
Exit status 0 iff every check passed.
"""
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

DTINFO = "build/host/dtinfo"
FIX = "build/host/fixtures"
LINUX_DTBS = "build/deps/linux-dtbs"
UBOOT_DEB_DIR = "build/deps/u-boot-rockchip"
EXPECTED = Path("tests/host/dtinfo")
SECTOR, IDB, ITB, PART = 512, 64, 16384, 32768

# case -> the DTB dtinfo reads
DTINFO_CASES = {
    "qemu-virt-bl": f"{FIX}/qemu-virt-bl.dtb",
    "qemu-virt": f"{FIX}/qemu-virt.dtb",
    "spin-table": f"{FIX}/spin-table.dtb",
    "three-level": f"{FIX}/three-level.dtb",
    "rockpro64": f"{LINUX_DTBS}/rk3399-rockpro64.dtb",
    "pinebook-pro": f"{LINUX_DTBS}/rk3399-pinebook-pro.dtb",
    "rock-pi-4": f"{LINUX_DTBS}/rk3399-rock-pi-4b.dtb",
}

TESTS = []


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def test(name):
    def add(fn):
        TESTS.append((name, fn))
        return fn
    return add


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def must(cmd, **kw):
    res = run(cmd, **kw)
    expect(res.returncode == 0, f"{' '.join(cmd)} failed: {(res.stderr or res.stdout).strip()}")
    return res.stdout


# --- dtinfo -------------------------------------------------------------------

def dtinfo(path):
    return run([DTINFO, str(path)])


def dtinfo_case(case, dtb):
    def check():
        res = dtinfo(dtb)
        expect(res.returncode == 0, f"dtinfo {dtb}: exit {res.returncode}: {res.stderr.strip()}")
        got = json.loads(res.stdout)
        want = json.loads((EXPECTED / f"{case}.json").read_text())
        for i, (g, w) in enumerate(zip(got.get("cpus", []), want.get("cpus", []))):
            expect(g == w, f"{case}: cpu {i} is {json.dumps(g)}, expected {json.dumps(w)}")
        for key in sorted(want.keys() | got.keys()):
            expect(got.get(key) == want.get(key),
                   f"{case}: '{key}' is {json.dumps(got.get(key))}, "
                   f"expected {json.dumps(want.get(key))}")
        caps = [c["capacity"] for c in got["cpus"]]
        expect(max(caps) == 1024, f"{case}: largest capacity {max(caps)}, not 1024")
        for c in got["cpus"]:  # the class rule, independently of the expectation file
            perf = c["capacity"] * 10 >= 1024 * 9
            expect((c["class"] == "performance") == perf,
                   f"{case}: cpu {c['index']} capacity {c['capacity']} is {c['class']}")
    return check


for _case, _dtb in DTINFO_CASES.items():
    test(f"dtinfo.{_case}")(dtinfo_case(_case, _dtb))


@test("dtinfo.rk3399_facts")
def _():
    """The RK3399 boards as the SoC is: independent of the expectation files."""
    for case in ("rockpro64", "pinebook-pro", "rock-pi-4"):
        p = json.loads(dtinfo(DTINFO_CASES[case]).stdout)
        expect([c["mpidr"] for c in p["cpus"]] == ["0x0", "0x1", "0x2", "0x3", "0x100", "0x101"],
               f"{case}: MPIDRs {[c['mpidr'] for c in p['cpus']]}")
        expect([c["class"] for c in p["cpus"]] == ["efficiency"] * 4 + ["performance"] * 2,
               f"{case}: classes {[c['class'] for c in p['cpus']]}")
        expect(p["psci"] == "smc" and p["gic"]["version"] == 3, f"{case}: psci/gic {p}")
        con = p["console"]
        expect(con["base"] == "0xff1a0000" and con["reg_shift"] == 2 and con["baud"] == 1500000
               and con["driver"] == "ns16550", f"{case}: console {con}")


def mutated(tmp, src, name, edit):
    data = bytearray(Path(src).read_bytes())
    data = edit(data)
    out = Path(tmp) / name
    out.write_bytes(bytes(data))
    return out


def put32(data, off, value):
    data[off:off + 4] = struct.pack(">I", value)
    return data


@test("dtinfo.rejects_truncated_and_corrupt")
def _():
    src = DTINFO_CASES["rockpro64"]
    size = Path(src).stat().st_size
    off_struct = struct.unpack(">I", Path(src).read_bytes()[8:12])[0]
    cases = [(f"trunc{n}", lambda d, n=n: d[:n], "truncated" if n else "empty")
             for n in (1, 39, 40, 100, size // 2, size - 1)]
    cases[0] = ("trunc0", lambda d: d[:0], "empty file")
    cases += [
        ("magic", lambda d: put32(d, 0, 0x12345678), "bad header"),
        ("totalsize", lambda d: put32(d, 4, size + 4096), "truncated"),
        ("struct-token", lambda d: put32(d, off_struct, 0xdeadbeef), "corrupt blob"),
        ("strings-offset", lambda d: put32(d, 12, size * 2), "dt: "),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name, edit, why in cases:
            path = mutated(tmp, src, f"{name}.dtb", edit)
            res = dtinfo(path)
            expect(res.returncode == 1, f"{name}: exit {res.returncode}, expected 1")
            expect(res.stdout == "", f"{name}: printed JSON for a bad blob")
            expect(res.stderr.startswith(f"dtinfo: {path}: ") and why in res.stderr,
                   f"{name}: stderr {res.stderr.strip()!r} lacks {why!r}")


@test("dtinfo.missing_file_and_usage")
def _():
    res = dtinfo("build/no-such.dtb")
    expect(res.returncode == 2 and "No such file" in res.stderr, f"missing: {res}")
    res = run([DTINFO])
    expect(res.returncode == 2 and "usage" in res.stderr, f"usage: {res}")


@test("dtinfo.unknown_uart_has_no_driver")
def _():
    with tempfile.TemporaryDirectory() as tmp:
        dtb = Path(tmp) / "mystery.dtb"
        shutil.copy(DTINFO_CASES["qemu-virt"], dtb)
        must(["fdtput", "-t", "s", str(dtb), "/pl011@9000000", "compatible",
              "vendor,mystery-uart"])
        p = json.loads(dtinfo(dtb).stdout)
        expect(p["console"]["compatible"] == "vendor,mystery-uart"
               and p["console"]["driver"] is None, f"console {p['console']}")


# --- SD-card images ------------------------------------------------------------

def board_var(board, var):
    m = re.search(rf"^{var}\s*:?=\s*(\S+)", Path(f"boards/{board}/board.mk").read_text(), re.M)
    return m[1] if m else None


def fat_files(img):
    out = must(["mdir", "-b", "-i", f"{img}@@{PART * SECTOR}", "::"],
               env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})
    return sorted(Path(line.strip()).name for line in out.splitlines() if line.strip())


def fat_read(img, name, tmp):
    dst = Path(tmp) / f"fat-{name}"
    must(["mcopy", "-n", "-i", f"{img}@@{PART * SECTOR}", f"::{name}", str(dst)],
         env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})
    return dst.read_bytes()


def package_loaders(uboot, tmp):
    debs = sorted(Path(UBOOT_DEB_DIR).glob("u-boot-rockchip_*_arm64.deb"))
    expect(debs, f"no u-boot-rockchip package in {UBOOT_DEB_DIR} (scripts/deps.sh)")
    root = Path(tmp) / "deb"
    must(["dpkg-deb", "-x", str(debs[-1]), str(root)])
    d = root / "usr/lib/u-boot" / uboot
    return (d / "idbloader.img").read_bytes(), (d / "u-boot.itb").read_bytes()


def check_mbr(img, data):
    expect(data[510:512] == b"\x55\xaa", "MBR: no 0x55AA signature")
    entries = [data[446 + 16 * i:462 + 16 * i] for i in range(4)]
    boot, ptype = entries[0][0], entries[0][4]
    start, count = struct.unpack("<II", entries[0][8:16])
    expect(boot == 0x80 and ptype == 0x0c, f"partition 1: boot 0x{boot:x} type 0x{ptype:x}")
    expect(start == PART, f"partition 1 starts at sector {start}, expected {PART}")
    expect(start + count == len(data) // SECTOR,
           f"partition 1 ends at {start + count}, image has {len(data) // SECTOR} sectors")
    expect(all(e == bytes(16) for e in entries[1:]), "partitions 2-4 not empty")
    fat = data[PART * SECTOR:PART * SECTOR + SECTOR]
    expect(fat[82:90] == b"FAT32   " and fat[510:512] == b"\x55\xaa",
           "partition 1 does not hold a FAT32 boot sector")


def check_boot_scr(scr, dtb_name):
    magic, _, _, size = struct.unpack(">IIII", scr[:16])
    os_, arch, itype = scr[28], scr[29], scr[30]
    expect(magic == 0x27051956 and itype == 6 and arch == 22,  # IH_TYPE_SCRIPT, IH_ARCH_ARM64
           f"boot.scr: magic 0x{magic:x} type {itype} arch {arch}")
    text = scr[64 + 8:64 + size].decode(errors="replace")
    for needle in ("load ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} Image",
                   f"${{fdt_addr_r}} {dtb_name}", "booti ${kernel_addr_r} - ${fdt_addr_r}"):
        expect(needle in text, f"boot.scr lacks {needle!r}")


def sdcard_case(board):
    def check():
        with tempfile.TemporaryDirectory() as tmp:
            img = Path(tmp) / "sdcard.img"  # not build/<b>/sdcard.img: that one is the user's
            res = run(["make", "--no-print-directory", f"BOARD={board}", "sdcard",
                       f"SDCARD={img}"])
            expect(res.returncode == 0, f"make BOARD={board} sdcard: {res.stdout[-500:]}"
                                        f"{res.stderr[-500:]}")
            check_sdcard(board, img, tmp)
    return check


def check_sdcard(board, img, tmp):
    data = img.read_bytes()
    check_mbr(img, data)
    dtb_name = f"{board}.dtb"
    expect(fat_files(img) == sorted(["Image", dtb_name, "boot.scr", "boot.cmd"]),
           f"FAT holds {fat_files(img)}")
    expect(fat_read(img, "Image", tmp) == Path(f"build/{board}/Image").read_bytes(),
           "FAT Image differs from build/<b>/Image")
    dtb = fat_read(img, dtb_name, tmp)
    expect(dtb == Path(f"build/{board}/{dtb_name}").read_bytes(), "FAT DTB differs")
    src = board_var(board, "BOARD_DTB_FILE")
    if src:
        expect(dtb == Path(src).read_bytes(), f"FAT DTB differs from Debian's {src}")
    check_boot_scr(fat_read(img, "boot.scr", tmp), dtb_name)
    uboot = board_var(board, "BOARD_UBOOT")
    if uboot:
        idb, itb = package_loaders(uboot, tmp)
        at = data[IDB * SECTOR:IDB * SECTOR + len(idb)]
        expect(at == idb, f"sector {IDB} does not hold the package's idbloader.img")
        at = data[ITB * SECTOR:ITB * SECTOR + len(itb)]
        expect(at == itb, f"sector {ITB} does not hold the package's u-boot.itb")
    else:
        expect(data[SECTOR:PART * SECTOR].count(0) == (PART - 1) * SECTOR,
               "sectors 1..32767 not empty on a board without loaders")


for _board in sorted(p.name for p in Path("boards").iterdir() if (p / "board.mk").exists()):
    test(f"sdcard.{_board}")(sdcard_case(_board))


# --- flashing -----------------------------------------------------------------

FLASH_IMAGE_SIZE = 3 << 20 | 512    # not a multiple of flash.py's 4 MiB chunks


def flash_image(tmp):
    """A pseudo-random image (every byte matters when verifying) with an MBR
    holding one partition (sectors 2048..4095), in tmp."""
    data = bytearray(random.Random(7).randbytes(FLASH_IMAGE_SIZE))
    data[446:512] = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x83, b"\0\0\0", 2048, 2048) \
        + bytes(48) + b"\x55\xaa"
    path = Path(tmp) / "image.img"
    path.write_bytes(bytes(data))
    return path


def flash(image, dev, *opts, answer=""):
    return run([sys.executable, "scripts/flash.py", "--image", str(image), "--dev", str(dev),
                *opts], input=answer)


@test("flash.refuses_plain_file_and_no_device")
def _():
    with tempfile.TemporaryDirectory() as tmp:
        image, target = flash_image(tmp), Path(tmp) / "card.img"
        target.write_bytes(b"\x5a" * 4096)
        res = flash(image, target, "--force", "--yes")
        expect(res.returncode == 1 and "not a block device" in res.stderr, f"file: {res}")
        expect(target.read_bytes() == b"\x5a" * 4096, "the plain file was modified")
        res = flash(image, "")
        expect(res.returncode == 1 and "no device" in res.stderr, f"no DEV: {res}")
        res = flash(Path(tmp) / "missing.img", "/dev/null")
        expect(res.returncode == 1 and "no such image" in res.stderr, f"no image: {res}")


def losetup(path, *opts):
    return must(["losetup", "-f", "--show", *opts, str(path)]).strip()


@test("flash.loop_device")
def _():
    if os.geteuid() != 0 or not shutil.which("losetup") or not Path("/dev/loop-control").exists():
        raise Skip("needs root and loop devices")
    with tempfile.TemporaryDirectory() as tmp:
        img_path = flash_image(tmp)
        image = img_path.read_bytes()
        backing = Path(tmp) / "card.img"
        fill = b"\x5a" * (len(image) + (1 << 20))
        backing.write_bytes(fill)
        loop, note = losetup(backing, "-P"), None
        try:
            res = flash(img_path, loop, "--yes")
            expect(res.returncode == 1 and "not a removable disk" in res.stderr, f"plain: {res}")
            res = flash(img_path, loop, "--force", answer="no\n")
            expect(res.returncode == 1 and "not confirmed" in res.stderr
                   and f"to {loop}" in res.stdout, f"answer no: {res}")
            res = flash(img_path, loop, "--force", "--max-gib", "0", "--yes")
            expect(res.returncode == 0, f"size bound forced: {res}")
            expect(backing.read_bytes()[:len(image)] == image, "not written")
            res = flash(img_path, loop, "--max-gib", "0", "--yes")
            expect(res.returncode == 1 and "not a removable" in res.stderr, f"unforced: {res}")
            res = flash(img_path, loop, "--force", "--yes")
            expect(res.returncode == 0 and f"wrote and verified {len(image)} bytes" in res.stdout,
                   f"forced: {res}")
            # The card now has a partition table: its partition is refused,
            # where the kernel shows loop partitions (not every kernel does).
            run(["blockdev", "--rereadpt", loop])
            part = f"{loop}p1"
            if Path(part).exists():
                res = flash(img_path, part, "--force", "--yes")
                expect(res.returncode == 1 and "not a whole disk" in res.stderr, f"part: {res}")
            else:
                note = "partition refusal not exercised: this kernel shows no loop partitions"
        finally:
            run(["losetup", "-d", loop])
        data = backing.read_bytes()
        expect(data[:len(image)] == image and data[len(image):] == fill[len(image):],
               "the backing file is not the image followed by the untouched rest")
    return note


@test("flash.refuses_mounted_disk")
def _():
    if os.geteuid() != 0 or not shutil.which("losetup") or not shutil.which("mkfs.ext4"):
        raise Skip("needs root, loop devices and mkfs.ext4")
    with tempfile.TemporaryDirectory() as tmp:
        disk, mnt = Path(tmp) / "disk.img", Path(tmp) / "mnt"
        with open(disk, "wb") as f:
            f.truncate(8 << 20)
        must(["mkfs.ext4", "-q", str(disk)])
        before, image = disk.read_bytes(), flash_image(tmp)
        mnt.mkdir()
        loop = losetup(disk)
        mounted = False
        try:
            mounted = run(["mount", "-o", "ro", loop, str(mnt)]).returncode == 0
            if not mounted:
                raise Skip("cannot mount here")
            res = flash(image, loop, "--force", "--yes")
            expect(res.returncode == 1 and "in use" in res.stderr, f"mounted: {res}")
        finally:
            if mounted:
                run(["umount", str(mnt)])
            run(["losetup", "-d", loop])
        expect(disk.read_bytes() == before, "the mounted disk was modified")


def main():
    os.chdir(Path(__file__).resolve().parents[2])
    passed = failed = 0
    for n, (name, fn) in enumerate(TESTS, 1):
        try:
            note = fn()
            print(f"ok {n} {name}" + (f" # {note}" if note else ""))
            passed += 1
        except Skip as e:
            print(f"ok {n} {name} # skipped: {e}")
            passed += 1
        except Fail as e:
            print(f"not ok {n} {name} # {e}")
            failed += 1
        except Exception as e:  # a broken check is a failed check, with its reason
            where = traceback.extract_tb(e.__traceback__)[-1]
            print(f"not ok {n} {name} # {where.filename}:{where.lineno}: "
                  f"{type(e).__name__}: {e}")
            failed += 1
        sys.stdout.flush()
    print(f"tests: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
