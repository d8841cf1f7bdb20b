# qemu-virt: homogeneous QEMU virt, 4 Cortex-A53 (ARMv8.0, LL/SC atomics only),
# GICv2, entered at EL1, PSCI over hvc.
BOARD_DTS       := boards/qemu-virt/qemu-virt.dts
BOARD_MARCH     := armv8-a
# Atomics pick LSE or LL/SC at run time (arch/arm64/cpu_features.c).
BOARD_CFLAGS    := -moutline-atomics
BOARD_EARLYCON  := arm,pl011:0x09000000
QEMU_MACHINE    := virt
QEMU_CPU        := cortex-a53
QEMU_SMP        := 4
QEMU_MEM        := 1G
