#!/usr/bin/env bash
# Install, from Debian's packages, whatever the build and the tests need and
# is missing ("deps.sh compare": also what `make compare` needs). Idempotent and quiet: on a machine that has everything it only
# checks and returns. Output of apt is kept in build/deps/apt.log and shown
# only if something fails.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
deps_dir="$root/build/deps"
fdt_dir="$deps_dir/libfdt"
log="$deps_dir/apt.log"

pkgs=(gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu picolibc-aarch64-linux-gnu
      device-tree-compiler qemu-system-arm u-boot-qemu u-boot-tools mtools dosfstools
      fdisk gdb-multiarch gcc make python3 libfdt-dev e2fsprogs)
# make compare: Linux threads, Go and Tokio on the same emulated machine
# (Tokio: Debian's rustc/cargo, the arm64 standard library, packaged crates).
compare=0
if [ "${1:-}" = compare ]; then
    compare=1
    pkgs+=(golang-go libc6-dev-arm64-cross rustc cargo libstd-rust-dev:arm64 librust-tokio-dev)
fi

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

# apt waits for a lock another apt holds (unattended-upgrades on a fresh
# machine, another checkout's deps run) instead of failing at once:
# DPkg::Lock::Timeout covers dpkg's lock; the package lists' lock of
# "apt-get update" is not covered by it on every apt, so update retries.
apt_wait=(-o DPkg::Lock::Timeout=600)
updated=0
apt_update() {
    [ $updated -eq 1 ] && return
    local try
    for try in $(seq 1 60); do
        if "${as_root[@]}" apt-get "${apt_wait[@]}" update >>"$log" 2>&1; then
            updated=1
            return
        fi
        tail -5 "$log" | grep -q "Could not get lock" || fail "apt-get update"
        [ "$try" -eq 1 ] && echo "deps: waiting for another apt to release its lock"
        sleep 10
    done
    fail "apt-get update (lock held for 10 minutes)"
}

# Debian's arm64 packages (downloaded, or for make compare installed beside
# the host's) need the arm64 architecture known to dpkg and apt.
arm64_arch() {
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        "${as_root[@]}" dpkg --add-architecture arm64
        updated=0
    fi
}
[ $compare -eq 1 ] && arm64_arch

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    apt_update
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get "${apt_wait[@]}" install -y --no-install-recommends \
        "${missing[@]}" >>"$log" 2>&1 || fail "apt-get install"
fi

# libfdt for the bare-metal image: Debian's arm64 binary package, unpacked here
# (the static library links into a picolibc image as is).
if [ ! -f "$fdt_dir/usr/lib/aarch64-linux-gnu/libfdt.a" ]; then
    echo "deps: fetching libfdt-dev:arm64"
    arm64_arch
    apt_update
    tmp="$(mktemp -d)"
    chmod 755 "$tmp"
    (cd "$tmp" && apt-get download libfdt-dev:arm64 >>"$log" 2>&1) || fail "apt-get download libfdt-dev:arm64"
    rm -rf "$fdt_dir"
    dpkg-deb -x "$tmp"/libfdt-dev_*_arm64.deb "$fdt_dir"
    rm -rf "$tmp"
fi

# Debian arm64 packages the board images need, fetched once and cached under
# build/deps/<dir> (with the .deb, so tests can compare against it):
#   u-boot-rockchip: per-board idbloader.img + u-boot.itb (with TF-A) for RK3399
#   the arm64 kernel: the RK3399 board DTBs (only those are unpacked)
fetch_arm64() {  # <package> <dir> <tar wildcard>...
    local pkg="$1" dir="$deps_dir/$2"
    shift 2
    [ -f "$dir/.done" ] && return
    echo "deps: fetching $pkg:arm64"
    arm64_arch
    apt_update
    rm -rf "$dir"
    mkdir -p "$dir"
    chmod 755 "$dir"
    (cd "$dir" && apt-get download "$pkg:arm64" >>"$log" 2>&1) || fail "apt-get download $pkg:arm64"
    dpkg-deb --fsys-tarfile "$dir"/"$pkg"_*_arm64.deb | tar -x -C "$dir" --wildcards "$@" \
        || fail "unpacking $pkg"
    touch "$dir/.done"
}

fetch_arm64 u-boot-rockchip u-boot-rockchip \
    './usr/lib/u-boot/*-rk3399/idbloader.img' './usr/lib/u-boot/*-rk3399/u-boot.itb'

# The kernel package of the day (the linux-image-arm64 metapackage names it).
if [ ! -f "$deps_dir/linux-dtbs/.done" ]; then
    apt_update
    kpkg="$(apt-cache depends linux-image-arm64:arm64 2>>"$log" |
            sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*-arm64\).*/\1/p' | head -1)"
    [ -n "$kpkg" ] || fail "finding the arm64 kernel package"
    fetch_arm64 "$kpkg" linux-dtbs \
        './usr/lib/linux-image-*/rockchip/rk3399-rockpro64.dtb' \
        './usr/lib/linux-image-*/rockchip/rk3399-pinebook-pro.dtb' \
        './usr/lib/linux-image-*/rockchip/rk3399-rock-pi-4b.dtb'
    # Keep the three DTBs and the package's name; drop the 60 MB package.
    mv "$deps_dir"/linux-dtbs/usr/lib/linux-image-*/rockchip/*.dtb "$deps_dir/linux-dtbs/"
    echo "$kpkg" > "$deps_dir/linux-dtbs/PACKAGE"
    rm -rf "$deps_dir"/linux-dtbs/usr "$deps_dir"/linux-dtbs/*.deb
fi

# make compare: the arm64 kernel of the day, its Image kept whole.
if [ $compare -eq 1 ] && [ ! -f "$deps_dir/linux-kernel/Image" ]; then
    apt_update
    kpkg="$(apt-cache depends linux-image-arm64:arm64 2>>"$log" |
            sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*-arm64\).*/\1/p' | head -1)"
    [ -n "$kpkg" ] || fail "finding the arm64 kernel package"
    fetch_arm64 "$kpkg" linux-kernel './boot/vmlinuz-*'
    mv "$deps_dir"/linux-kernel/boot/vmlinuz-* "$deps_dir/linux-kernel/Image"
    echo "$kpkg" > "$deps_dir/linux-kernel/PACKAGE"
    rm -rf "$deps_dir"/linux-kernel/boot "$deps_dir"/linux-kernel/*.deb
fi
