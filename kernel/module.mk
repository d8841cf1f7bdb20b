# kernel/: boot sequence, platform discovery, console, IRQ and SMP mechanism.
SR_INCLUDES += kernel/include
# Platform discovery: pure C over libfdt, also built for the host tests.
SR_SRCS += $(sort $(wildcard kernel/platform/*.c))
SR_SRCS += \
	kernel/main.c \
	kernel/smp.c \
	kernel/irq.c \
	kernel/clock.c \
	kernel/console.c \
	kernel/console_bind.c \
	kernel/libc.c \
	kernel/panic.c \
	kernel/fault.c \
	kernel/cmdline.c \
	kernel/ksyms.c
# Scheduler and synchronisation.
SR_SRCS += $(sort $(wildcard kernel/sched/*.c kernel/sync/*.c))
SR_SRCS += $(sort $(wildcard kernel/mm/*.c))
# Fast memset/memcpy/memmove (picolibc's are byte loops).
SR_SRCS += kernel/lib/string.c
# The I/O model: queues (pure) and the device layer (issue 5).
SR_SRCS += $(sort $(wildcard kernel/io/*.c))
