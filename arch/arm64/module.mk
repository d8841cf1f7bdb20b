# arch/arm64: entry, exceptions, MMU, PSCI, timer, semihosting.
SR_LINK_BASE := 0x40200000
SR_INCLUDES += arch/arm64/include
SR_CFLAGS += -DSR_LINK_BASE=$(SR_LINK_BASE)
SR_ASFLAGS += -DSR_LINK_BASE=$(SR_LINK_BASE)
SR_LDFLAGS += -Wl,--defsym=SR_LINK_BASE=$(SR_LINK_BASE)
SR_SRCS += \
	arch/arm64/head.S \
	arch/arm64/vectors.S \
	arch/arm64/cpu_features.c \
	arch/arm64/exception.c \
	arch/arm64/mmu.c \
	arch/arm64/psci.c \
	arch/arm64/semihost.c \
	arch/arm64/semihost_call.S \
	arch/arm64/backtrace.c \
	arch/arm64/timer.c \
	arch/arm64/cycles.c \
	arch/arm64/stacks.c \
	arch/arm64/switch.S
