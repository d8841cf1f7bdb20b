# qemu-virt-bl: QEMU virt as an RK3588-like big.LITTLE SoC (default board).
# 4 LITTLE (cluster0) + 4 big (cluster1), GICv3, entered at EL2, PSCI over smc.
BOARD_DTS       := boards/qemu-virt-bl/qemu-virt-bl.dts
BOARD_MARCH     := armv8.2-a
# Used only when the DTB cannot be read: where to print the error.
BOARD_EARLYCON  := arm,pl011:0x09000000
QEMU_MACHINE    := virt,gic-version=3,virtualization=on
QEMU_CPU        := cortex-a76
QEMU_SMP        := 8,clusters=2,cores=4
QEMU_MEM        := 2G
