#!/usr/bin/env bash
# Install, from Debian's packages, whatever the build and the tests need and
# is missing. Idempotent and quiet: on a machine that has everything it only
# checks and returns. Output of apt is kept in build/deps/apt.log and shown
# only if something fails.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
deps_dir="$root/build/deps"
fdt_dir="$deps_dir/libfdt"
log="$deps_dir/apt.log"

pkgs=(gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu picolibc-aarch64-linux-gnu
      device-tree-compiler qemu-system-arm u-boot-qemu u-boot-tools mtools dosfstools
      fdisk gdb-multiarch gcc make python3 libfdt-dev)

mkdir -p "$deps_dir"
as_root=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install packages" >&2; exit 1; }
    as_root=(sudo)
fi

fail() {
    echo "deps: $1 failed; last lines of $log:" >&2
    tail -20 "$log" >&2
    exit 1
}

updated=0
apt_update() {
    [ $updated -eq 1 ] && return
    "${as_root[@]}" apt-get update >>"$log" 2>&1 || fail "apt-get update"
    updated=1
}

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    apt_update
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y --no-install-recommends \
        "${missing[@]}" >>"$log" 2>&1 || fail "apt-get install"
fi

# libfdt for the bare-metal image: Debian's arm64 binary package, unpacked here
# (the static library links into a picolibc image as is).
if [ ! -f "$fdt_dir/usr/lib/aarch64-linux-gnu/libfdt.a" ]; then
    echo "deps: fetching libfdt-dev:arm64"
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        "${as_root[@]}" dpkg --add-architecture arm64
        updated=0
    fi
    apt_update
    tmp="$(mktemp -d)"
    chmod 755 "$tmp"
    (cd "$tmp" && apt-get download libfdt-dev:arm64 >>"$log" 2>&1) || fail "apt-get download libfdt-dev:arm64"
    rm -rf "$fdt_dir"
    dpkg-deb -x "$tmp"/libfdt-dev_*_arm64.deb "$fdt_dir"
    rm -rf "$tmp"
fi
