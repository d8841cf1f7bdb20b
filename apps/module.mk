# apps/: programs built into the image. apps_main() runs when not in test mode.
SR_SRCS += apps/hello_cores.c
