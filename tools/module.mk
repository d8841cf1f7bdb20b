# tools/: host programs built from the image's own pure code (make host-tools).
# tools/host-arch supplies the host's arch/io.h: MMIO goes to a register model
# a host test installs, and aborts in tools, which never touch devices. Its
# cpu.h, timer.h, switch_min.h and frame.h stand in for the arm64 ones where a
# host test builds kernel-side code (the serial port, tests/host/uart_port_model.c).
HOST_INCLUDES += tools/host-arch/include

# dtinfo FILE.dtb: the platform SR discovers, as JSON. It links the serial
# drivers' pure parts, not the interrupt-driven port (locks, scheduler).
SERIAL_KERNEL_SRCS := drivers/serial/uart_port.c
DTINFO_SRCS := \
	tools/dtinfo/dtinfo.c \
	tools/host-arch/mmio.c \
	kernel/console_bind.c \
	$(sort $(wildcard kernel/platform/*.c)) \
	$(sort $(filter-out $(SERIAL_KERNEL_SRCS),$(wildcard drivers/serial/*.c)))
DTINFO_OBJS := $(patsubst %,$(HOST_BUILD)/obj/%.o,$(DTINFO_SRCS))

$(HOST_BUILD)/dtinfo: $(DTINFO_OBJS)
	$(call say,HOSTLD  $@)
	$(Q)$(HOSTCC) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LIBS)

HOST_TOOLS += $(HOST_BUILD)/dtinfo
HOST_TOOL_OBJS += $(DTINFO_OBJS)
