# qemu-virt: homogeneous QEMU virt, 4 Cortex-A53 (ARMv8.0, LL/SC atomics only),
# GICv2, entered at EL1, PSCI over hvc.
BOARD_DTS       := boards/qemu-virt/qemu-virt.dts
BOARD_MARCH     := armv8-a
BOARD_EARLYCON  := pl011,0x09000000
QEMU_MACHINE    := virt
QEMU_CPU        := cortex-a53
QEMU_SMP        := 4
QEMU_MEM        := 1G
