# rockpro64: Pine64 RockPro64, RK3399 (4 x Cortex-A53 MPIDR 0x0-0x3 + 2 x Cortex-A72
# MPIDR 0x100-0x101), GICv3, entered at EL2 from TF-A through U-Boot, PSCI smc.
# Boots from an SD card: make BOARD=rockpro64 sdcard (see README.md here).
# The DTB is Debian's (the arm64 kernel package, fetched by scripts/deps.sh).
BOARD_DTB_FILE  := build/deps/linux-dtbs/rk3399-rockpro64.dtb
BOARD_MARCH     := armv8-a
# Both cores are ARMv8.0 (LL/SC); outline atomics keep one image for all.
# RK3399's Cortex-A53 (r0p4) needs the compiler's and linker's workarounds
# for errata 835769 (multiply-accumulate) and 843419 (ADRP at page ends).
BOARD_CFLAGS    := -moutline-atomics -mfix-cortex-a53-835769 -mfix-cortex-a53-843419
BOARD_LDFLAGS   := -Wl,--fix-cortex-a53-835769 -Wl,--fix-cortex-a53-843419
# UART2, the debug console: DesignWare APB UART, 32-bit registers 4 bytes apart.
BOARD_EARLYCON  := snps,dw-apb-uart:0xff1a0000:2:4
# Debian's u-boot-rockchip build for this board: idbloader.img + u-boot.itb.
BOARD_UBOOT     := rockpro64-rk3399
