#!/usr/bin/env python3
"""Write an SD-card image to a card, safely (`make BOARD=<b> flash DEV=/dev/sdX`).

Refuses, always: a target that is not a block device, a partition rather than
a whole disk, a disk with a mounted (or swap) partition, a disk smaller than
the image. Refuses unless --force (FORCE=1): a disk the kernel does not
report as removable (SD slots, mmcblk*, count as removable) and a disk larger
than --max-gib (256 GiB): the marks of a system disk. Shows what it will
write where and asks for "yes" unless --yes (YES=1). Writes, flushes to the
device, drops the cached pages and reads the image back to compare.

Exit status 0 when written and verified, 1 otherwise (nothing is written
unless every check passed and the answer was yes).
"""
import argparse
import os
import stat
import sys
from pathlib import Path

CHUNK = 4 << 20
GIB = 1 << 30


class Refused(Exception):
    pass


def sysfs_dir(st):
    """/sys/dev/block/MAJ:MIN of a block device, resolved."""
    return Path(f"/sys/dev/block/{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}").resolve()


def read_sysfs(path, default=""):
    try:
        return Path(path).read_text().strip()
    except OSError:
        return default


def partitions(disk_dir):
    """Kernel names of the disk's partitions."""
    return [p.name for p in disk_dir.iterdir() if (p / "partition").exists()]


def mounted_parts(names):
    """Which of the kernel device names are mounted or used as swap."""
    busy = set()
    for table, field in (("/proc/self/mounts", 0), ("/proc/swaps", 0)):
        for line in read_sysfs(table).splitlines():
            src = line.split()[field] if line.split() else ""
            if src.startswith("/dev/") and Path(src).exists():
                name = Path(os.path.realpath(src)).name
                if name in names:
                    busy.add(name)
    return sorted(busy)


def describe(dev, image, force, max_gib):
    """Checks the target; returns a one-line description of it. Raises Refused."""
    try:
        st = os.stat(dev)
    except OSError as e:
        raise Refused(f"{dev}: {e.strerror}")
    if not stat.S_ISBLK(st.st_mode):
        raise Refused(f"{dev}: not a block device")
    sysdir = sysfs_dir(st)
    name = sysdir.name
    if (sysdir / "partition").exists():
        raise Refused(f"{dev}: is partition {name}, not a whole disk (use /dev/"
                      f"{sysdir.parent.name})")
    busy = mounted_parts({name, *partitions(sysdir)})
    if busy:
        raise Refused(f"{dev}: in use (mounted or swap): {', '.join(busy)}; unmount first")
    size = int(read_sysfs(sysdir / "size", "0")) * 512
    if size < image.stat().st_size:
        raise Refused(f"{dev}: {size} bytes, smaller than the image "
                      f"({image.stat().st_size} bytes)")
    removable = read_sysfs(sysdir / "removable") == "1" or name.startswith("mmcblk")
    model = " ".join(filter(None, (read_sysfs(sysdir / "device" / "vendor"),
                                   read_sysfs(sysdir / "device" / "model")))) or name
    if not removable and not force:
        raise Refused(f"{dev} ({model}): not a removable disk; FORCE=1 if you are sure")
    if size > max_gib * GIB and not force:
        raise Refused(f"{dev} ({model}): {size / GIB:.1f} GiB, larger than {max_gib} GiB: "
                      "a system disk? FORCE=1 if you are sure")
    return (f"{dev} ({model}, {size / GIB:.1f} GiB, "
            f"{'removable' if removable else 'NOT removable, forced'})")


def write_and_verify(image, dev):
    total = image.stat().st_size
    with open(image, "rb") as src:
        fd = os.open(dev, os.O_WRONLY | os.O_EXCL)  # O_EXCL: fails if the kernel holds it
        try:
            while chunk := src.read(CHUNK):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
    os.sync()
    fd = os.open(dev, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # read the medium, not the cache
        with open(image, "rb") as src:
            done = 0
            while chunk := src.read(CHUNK):
                back = os.pread(fd, len(chunk), done)
                if back != chunk:
                    bad = next((i for i, (a, b) in enumerate(zip(back, chunk)) if a != b),
                               min(len(back), len(chunk)))
                    raise Refused(f"verify: {dev} differs from the image at byte {done + bad}")
                done += len(chunk)
    finally:
        os.close(fd)
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", required=True)
    ap.add_argument("--dev", default="", help="the whole-disk device, e.g. /dev/sdX")
    ap.add_argument("--force", action="store_true", help="allow non-removable / large disks")
    ap.add_argument("--yes", action="store_true", help="do not ask")
    ap.add_argument("--max-gib", type=int, default=256)
    args = ap.parse_args()
    image = Path(args.image)
    try:
        if not args.dev:
            raise Refused("no device: make BOARD=<b> flash DEV=/dev/sdX (lsblk lists disks)")
        if not image.is_file():
            raise Refused(f"{image}: no such image (make BOARD=<b> sdcard)")
        target = describe(args.dev, image, args.force, args.max_gib)
        print(f"flash: will write {image} ({image.stat().st_size >> 20} MiB: MBR, loaders if "
              f"any at sectors 64/16384, FAT from sector 32768)\n"
              f"flash: to {target}; everything on it is lost")
        if not args.yes:
            print('flash: type "yes" to continue: ', end="", flush=True)
            if sys.stdin.readline().strip() != "yes":
                raise Refused("not confirmed; nothing written")
        n = write_and_verify(image, args.dev)
        print(f"flash: wrote and verified {n} bytes on {args.dev}")
        return 0
    except Refused as e:
        print(f"flash: refused: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"flash: {args.dev}: {e.strerror or e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
