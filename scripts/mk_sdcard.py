#!/usr/bin/env python3
"""Build an SD-card (or virtio disk) image that U-Boot boots SR from.

Layout, in 512-byte sectors:

    0          MBR: one partition, type 0x0c (FAT32 LBA), bootable
    64         idbloader.img   (Rockchip boards only: TPL + SPL)
    16384      u-boot.itb      (Rockchip boards only: U-Boot + TF-A)
    32768..    partition 1, FAT32 "SR-BOOT": Image, <board>.dtb, boot.scr

boot.scr (from boot.cmd, made with mkimage) loads Image and the DTB from the
partition U-Boot found it on and runs booti with the given kernel command
line. The image is built in a temporary file next to OUT and renamed into
place only when complete.

Usage: mk_sdcard.py --out OUT --image Image --dtb B.dtb [--idbloader F --itb F]
                    [--append "sr.test"]
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SECTOR = 512
IDBLOADER_SECTOR = 64
ITB_SECTOR = 16384
PART_SECTOR = 32768
FAT_MIB = 64          # FAT32 needs at least 32 MiB; room for Image + DTB
FAT_LABEL = "SR-BOOT"
MBR_FAT32_LBA = "c"


def run(cmd, **kw):
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))}: {(res.stderr or res.stdout).strip()}")
    return res.stdout


def boot_cmd(dtb_name, append):
    """The U-Boot script: devtype/devnum/distro_bootpart are set by U-Boot's
    distro boot when it runs a boot.scr it found."""
    if '"' in append:
        raise ValueError("the kernel command line may not contain '\"'")
    part = "${devtype} ${devnum}:${distro_bootpart}"
    return (f'echo "SR: loading Image and {dtb_name} from {part}"\n'
            f'setenv bootargs "{append}"\n'
            "# QEMU's U-Boot defines no fdt_addr_r: the ramdisk slot is free\n"
            'if test -z "${fdt_addr_r}"; then setenv fdt_addr_r ${ramdisk_addr_r}; fi\n'
            f"load {part} ${{kernel_addr_r}} Image\n"
            f"load {part} ${{fdt_addr_r}} {dtb_name}\n"
            f"booti ${{kernel_addr_r}} - ${{fdt_addr_r}}\n")


def write_at(img, sector, path, limit_sector):
    """Copies file path into img at sector; it must end before limit_sector."""
    data = Path(path).read_bytes()
    end = sector * SECTOR + len(data)
    if end > limit_sector * SECTOR:
        raise ValueError(f"{path}: {len(data)} bytes at sector {sector} overrun sector "
                         f"{limit_sector}")
    with open(img, "r+b") as f:
        f.seek(sector * SECTOR)
        f.write(data)


def build(args, tmp_img, work):
    fat_sectors = FAT_MIB * 1024 * 1024 // SECTOR
    with open(tmp_img, "wb") as f:
        f.truncate((PART_SECTOR + fat_sectors) * SECTOR)
    run(["sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", str(tmp_img)],
        input=f"label: dos\nlabel-id: 0x53520001\nstart={PART_SECTOR}, size={fat_sectors}, "
              f"type={MBR_FAT32_LBA}, bootable\n")
    if args.idbloader:
        write_at(tmp_img, IDBLOADER_SECTOR, args.idbloader, ITB_SECTOR)
        write_at(tmp_img, ITB_SECTOR, args.itb, PART_SECTOR)
    run(["mkfs.vfat", "-F", "32", "-n", FAT_LABEL, "-i", "53520001", "--offset", str(PART_SECTOR),
         str(tmp_img), str(fat_sectors * SECTOR // 1024)])

    dtb_name = Path(args.dtb).name
    cmd_file, scr_file = work / "boot.cmd", work / "boot.scr"
    cmd_file.write_text(boot_cmd(dtb_name, args.append))
    run(["mkimage", "-A", "arm64", "-O", "linux", "-T", "script", "-C", "none",
         "-n", "SR boot script", "-d", str(cmd_file), str(scr_file)])
    fat = f"{tmp_img}@@{PART_SECTOR * SECTOR}"
    for src, name in ((args.image, "Image"), (args.dtb, dtb_name), (scr_file, "boot.scr"),
                      (cmd_file, "boot.cmd")):
        run(["mcopy", "-i", fat, "-o", str(src), f"::{name}"],
            env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--image", required=True, help="the arm64 Image")
    ap.add_argument("--dtb", required=True, help="the board DTB (copied under its own name)")
    ap.add_argument("--idbloader", help="Rockchip idbloader.img (needs --itb)")
    ap.add_argument("--itb", help="Rockchip u-boot.itb (needs --idbloader)")
    ap.add_argument("--append", default="", help="kernel command line, e.g. sr.test")
    args = ap.parse_args()
    if bool(args.idbloader) != bool(args.itb):
        ap.error("--idbloader and --itb go together")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".sdcard-") as tmp:
        tmp_img = Path(tmp) / "sdcard.img"
        try:
            build(args, tmp_img, Path(tmp))
        except (OSError, RuntimeError, ValueError) as e:
            sys.exit(f"mk_sdcard: {e}")
        os.replace(tmp_img, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
