#!/usr/bin/env bash
# Install, from Debian's packages, whatever the build and tests need and is missing.
# Idempotent and quiet: a machine that has everything returns at once.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
fdt_dir="$root/build/deps/libfdt"

pkgs=(gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu picolibc-aarch64-linux-gnu
      device-tree-compiler qemu-system-arm u-boot-qemu u-boot-tools mtools dosfstools
      fdisk gdb-multiarch gcc make python3 libfdt-dev)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

apt_updated=0
apt_update() {
    if [ $apt_updated -eq 0 ]; then
        "${sudo_cmd[@]}" apt-get update -qq >/dev/null
        apt_updated=1
    fi
}

if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    apt_update
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

# libfdt for the bare-metal image: Debian's arm64 binary package, unpacked locally.
if [ ! -f "$fdt_dir/usr/lib/aarch64-linux-gnu/libfdt.a" ]; then
    echo "deps: fetching libfdt-dev:arm64"
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        "${sudo_cmd[@]}" dpkg --add-architecture arm64
        apt_updated=0
    fi
    apt_update
    tmp="$(mktemp -d)"; chmod 755 "$tmp"
    (cd "$tmp" && apt-get download -qq libfdt-dev:arm64 >/dev/null)
    mkdir -p "$fdt_dir"
    dpkg-deb -x "$tmp"/libfdt-dev_*_arm64.deb "$fdt_dir"
    rm -rf "$tmp"
fi
