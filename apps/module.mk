# apps/: programs built into the image. apps_main() runs when not in test mode.
SR_INCLUDES += apps/include
SR_SRCS += \
	apps/apps.c \
	apps/hello_cores.c \
	apps/demo.c \
	apps/ui.c \
	apps/compute.c \
	apps/crash.c \
	apps/async_million.c
