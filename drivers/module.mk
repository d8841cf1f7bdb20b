# drivers/: one folder per device class; drivers bind by DT compatible.
SR_SRCS += \
	drivers/irq/gic_v2.c \
	drivers/irq/gic_v3.c \
	drivers/irq/gic_v3_layout.c \
	drivers/serial/pl011.c \
	drivers/serial/ns16550.c \
	drivers/serial/uart_ring.c \
	drivers/serial/uart_service.c \
	drivers/serial/uart_port.c
# virtio-mmio transport, split rings and device drivers (issue 5).
SR_SRCS += $(sort $(wildcard drivers/virtio/*.c))
