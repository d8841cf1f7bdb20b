# SR top-level makefile (non-recursive).
#
#   make [BOARD=b]        build build/<b>/{sr.elf,Image,<b>.dtb}
#   make run              install what is missing, build, boot in QEMU
#   make test             install what is missing, host tests + in-image suites
#   make print-qemu       the exact QEMU command line `make run` uses
#   make host-tests       build the host unit tests (native, ASan + UBSan)
#   make host-tools       build the host tools (build/host/dtinfo)
#   make bench            microbenchmarks under QEMU icount -> build/<b>/bench.json
#   make stress-async     1,000,000 sleeping stackless tasks in 512 MiB (not in make test)
#   make sim              scheduling simulator: policies x configs x scenarios -> build/sim/
#   make sdcard           build/<b>/sdcard.img: U-Boot boots it (APPEND="..." = bootargs)
#   make flash DEV=/dev/sdX   write sdcard.img to a card, checked (FORCE=1, YES=1)
#
# Each module folder has a module.mk that appends its sources to SR_SRCS
# (image) or HOST_* (host). Outputs go under build/.

BOARD ?= qemu-virt-bl
BOARDS := $(notdir $(patsubst %/board.mk,%,$(wildcard boards/*/board.mk)))
ifeq ($(filter $(BOARD),$(BOARDS)),)
$(error unknown board '$(BOARD)'; known boards: $(BOARDS))
endif
include boards/$(BOARD)/board.mk

BUILD      := build/$(BOARD)
HOST_BUILD := build/host
FDT_DIR    := build/deps/libfdt

CROSS   ?= aarch64-linux-gnu-
CC      := $(CROSS)gcc
OBJCOPY := $(CROSS)objcopy
NM      := $(CROSS)nm
HOSTCC  ?= gcc
PYTHON  ?= python3

# Quiet by default; `make V=1` shows every command.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @echo "  $(1)"
endif

WARN := -Wall -Wextra -Werror
# Image code: position independent (the image relocates itself to wherever a
# loader put it), frame pointers for backtraces (not in leaf functions: the
# backtrace finds their caller in x30, arch/arm64/backtrace.c), TPIDR_EL1 =
# per-CPU pointer.
SR_CFLAGS := -std=gnu11 -O2 -g $(WARN) --specs=picolibc.specs \
	-march=$(BOARD_MARCH) $(BOARD_CFLAGS) -fpie -fno-omit-frame-pointer \
	-momit-leaf-frame-pointer -fno-stack-protector -ffunction-sections \
	-fdata-sections -MMD -MP -I$(FDT_DIR)/usr/include -include arch/arm64/include/arch/hidden.h
SR_ASFLAGS := -march=$(BOARD_MARCH) -g -MMD -MP -D__ASSEMBLY__
SR_LDFLAGS := --specs=picolibc.specs -nostartfiles -static-pie -Wl,--no-dynamic-linker \
	-Wl,-z,norelro -Wl,-z,noexecstack -Wl,--gc-sections -Wl,-z,max-page-size=4096 \
	-Wl,--build-id=none $(BOARD_LDFLAGS)
SR_LIBS := $(FDT_DIR)/usr/lib/aarch64-linux-gnu/libfdt.a

# SR_HOST: built for the host (tests/host, tools): headers leave out what
# needs the target (kernel/task.h's inline task_yield).
HOST_CFLAGS := -std=gnu11 -O1 -g $(WARN) -fsanitize=address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -MMD -MP -DSR_HOST
HOST_LDFLAGS := -fsanitize=address,undefined
HOST_LIBS := -lfdt

SR_SRCS :=
SR_INCLUDES :=
HOST_TEST_SRCS :=
HOST_INCLUDES :=
HOST_TOOLS :=
HOST_TOOL_OBJS :=

include arch/arm64/module.mk
include kernel/module.mk
include drivers/module.mk
include runtime/module.mk
include apps/module.mk
include tests/module.mk
include tools/module.mk
include tools/sim/module.mk

SR_CFLAGS += $(addprefix -I,$(SR_INCLUDES)) -DSR_BOARD=\"$(BOARD)\" \
	-DSR_EARLYCON=\"$(BOARD_EARLYCON)\"
SR_ASFLAGS += $(addprefix -I,$(SR_INCLUDES)) -I$(BUILD)/gen
HOST_CFLAGS += $(addprefix -I,$(HOST_INCLUDES))

SR_OBJS := $(patsubst %,$(BUILD)/obj/%.o,$(SR_SRCS))

# irqfp: arch/, kernel/ and drivers/ never touch FP/SIMD, so interrupt
# handlers run with it trapped and need not save it (arch/arm64/vectors.S).
# Not runtime/, apps/, tests/: their SIMD copies matter (chan_send_recv).
SR_NOFP_CFLAGS := -mgeneral-regs-only
SR_NOFP_OBJS := $(filter $(BUILD)/obj/arch/%.c.o $(BUILD)/obj/kernel/%.c.o \
	$(BUILD)/obj/drivers/%.c.o,$(SR_OBJS))
$(SR_NOFP_OBJS): SR_CFLAGS += $(SR_NOFP_CFLAGS)

DTB := $(BUILD)/$(BOARD).dtb

.PHONY: all image run test bench compare print-qemu host-tests host-tools deps clean sdcard flash stress-async soak
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
all: image
image: $(BUILD)/sr.elf $(BUILD)/Image $(DTB)

# --- image -------------------------------------------------------------------

# Objects depend on the flags too: changing a flag rebuilds what it affects.
FLAGS_FILE := $(BUILD)/flags.txt
SR_ALL_FLAGS := $(SR_CFLAGS) | $(SR_NOFP_CFLAGS) | $(SR_ASFLAGS) | $(SR_LDFLAGS)
$(FLAGS_FILE): FORCE
	@mkdir -p $(dir $@)
	@echo '$(SR_ALL_FLAGS)' | cmp -s - $@ || echo '$(SR_ALL_FLAGS)' > $@
.PHONY: FORCE

$(BUILD)/obj/%.c.o: %.c $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(call say,CC      $<)
	$(Q)$(CC) $(SR_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.S.o: %.S $(BUILD)/gen/asm-offsets.h $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(call say,AS      $<)
	$(Q)$(CC) $(SR_ASFLAGS) -c $< -o $@

# Structure offsets for assembly, generated from C (never hand-written).
$(BUILD)/gen/asm-offsets.h: arch/arm64/asm-offsets.c scripts/gen-asm-offsets.sh $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(call say,GEN     $@)
	$(Q)$(CC) $(SR_CFLAGS) -MF $@.d -MT $@ -S $< -o $@.s
	$(Q)sh scripts/gen-asm-offsets.sh $@.s > $@
-include $(BUILD)/gen/asm-offsets.h.d

# The image carries its own symbol table for backtraces: link once without it,
# generate the table from that link, link again. Adding the table (placed after
# .text) does not move any function, which the second step checks.
$(BUILD)/sr.stage1.elf: $(SR_OBJS) $(BUILD)/obj/ksyms-empty.o arch/arm64/sr.ld
	$(call say,LD      $@)
	$(Q)$(CC) $(SR_LDFLAGS) -T arch/arm64/sr.ld -o $@ $(SR_OBJS) $(BUILD)/obj/ksyms-empty.o $(SR_LIBS)

$(BUILD)/obj/ksyms-empty.o: scripts/gen-ksyms.py
	@mkdir -p $(dir $@)
	$(Q)$(PYTHON) scripts/gen-ksyms.py --empty > $(BUILD)/obj/ksyms-empty.S
	$(Q)$(CC) $(SR_ASFLAGS) -c $(BUILD)/obj/ksyms-empty.S -o $@

$(BUILD)/obj/ksyms.o: $(BUILD)/sr.stage1.elf scripts/gen-ksyms.py
	$(call say,KSYMS   $@)
	$(Q)$(NM) -n --defined-only $< | $(PYTHON) scripts/gen-ksyms.py > $(BUILD)/obj/ksyms.S
	$(Q)$(CC) $(SR_ASFLAGS) -c $(BUILD)/obj/ksyms.S -o $@

$(BUILD)/sr.elf: $(SR_OBJS) $(BUILD)/obj/ksyms.o arch/arm64/sr.ld scripts/check-image.py
	$(call say,LD      $@)
	$(Q)$(CC) $(SR_LDFLAGS) -T arch/arm64/sr.ld -Wl,-Map=$(BUILD)/sr.map -o $@ $(SR_OBJS) \
		$(BUILD)/obj/ksyms.o $(SR_LIBS)
	$(Q)$(PYTHON) scripts/check-image.py --nm $(NM) $(BUILD)/sr.stage1.elf $@

$(BUILD)/Image: $(BUILD)/sr.elf
	$(call say,IMAGE   $@)
	$(Q)$(OBJCOPY) -O binary $< $@
	$(Q)$(PYTHON) scripts/check-image.py --image $(NM) $@ $<

# A board either keeps a DTS or names a DTB file (BOARD_DTB_FILE, one that
# scripts/deps.sh fetches).
ifneq ($(BOARD_DTB_FILE),)
$(DTB): $(BOARD_DTB_FILE)
	@mkdir -p $(dir $@)
	$(call say,DTB     $@)
	$(Q)cp $< $@
$(BOARD_DTB_FILE):
	@bash scripts/deps.sh
else
$(DTB): $(BOARD_DTS)
	@mkdir -p $(dir $@)
	$(call say,DTC     $@)
	$(Q)dtc -q -I dts -O dtb -o $@ $<
endif

# --- host --------------------------------------------------------------------

HOST_TEST_OBJS := $(patsubst %,$(HOST_BUILD)/obj/%.o,$(HOST_TEST_SRCS))

$(HOST_BUILD)/obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(call say,HOSTCC  $<)
	$(Q)$(HOSTCC) $(HOST_CFLAGS) -c $< -o $@

$(HOST_BUILD)/unit-tests: $(HOST_TEST_OBJS)
	$(call say,HOSTLD  $@)
	$(Q)$(HOSTCC) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LIBS)

host-tests: $(HOST_BUILD)/unit-tests $(HOST_TEST_DATA)

host-tools: $(HOST_TOOLS)

# --- running -----------------------------------------------------------------

QEMU_CMD = qemu-system-aarch64 -M $(QEMU_MACHINE) -cpu $(QEMU_CPU) -smp $(QEMU_SMP) \
	-m $(QEMU_MEM) -nographic -nic none -semihosting -dtb $(DTB) -kernel $(BUILD)/Image

deps:
	@bash scripts/deps.sh

# Hardware boards (no QEMU_MACHINE) boot from an SD card instead.
need_qemu = $(if $(QEMU_MACHINE),,$(error board $(BOARD) is hardware, not QEMU: \
	make BOARD=$(BOARD) sdcard and see boards/$(BOARD)/README.md))

print-qemu:
	$(need_qemu)@echo $(QEMU_CMD)

# make run adds the demo disk (16 MiB, sparse; the sync demo app writes to a
# disk only if it starts with "SR-DEMO-DISK\n").
DEMO_DISK := $(BUILD)/demo-disk.img
RUN_ARGS = -drive if=none,format=raw,id=demodisk,file=$(DEMO_DISK) \
	-device virtio-blk-device,drive=demodisk

$(DEMO_DISK):
	@mkdir -p $(dir $@)
	@printf 'SR-DEMO-DISK\n' > $@ && truncate -s 16M $@

run: deps
	$(need_qemu)@$(MAKE) --no-print-directory BOARD=$(BOARD) image $(DEMO_DISK)
	$(QEMU_CMD) $(RUN_ARGS)

test: deps
	@$(PYTHON) scripts/run_tests.py

# A soak (not part of `make test`): every in-image configuration SOAK_ROUNDS
# times, each round logged apart, for races that show once in a while.
SOAK_ROUNDS ?= 5
soak: deps
	@$(PYTHON) scripts/run_tests.py --no-host --repeat $(SOAK_ROUNDS)

# Microbenchmarks in guest instructions (QEMU -icount shift=0,sleep=off).
bench: deps
	$(need_qemu)@$(MAKE) --no-print-directory BOARD=$(BOARD) image
	@$(PYTHON) scripts/run_bench.py $(BOARD)

# The same microbenchmarks with Linux threads and Go, in the same QEMU machine
# under the same icount (Debian's arm64 kernel; scripts/compare.py), beside
# SR's figures from bench.json (make bench runs first if it is missing).
compare: deps
	@bash scripts/deps.sh compare
	$(need_qemu)@$(MAKE) --no-print-directory BOARD=$(BOARD) image
	@$(PYTHON) scripts/compare.py $(BOARD)

# 1,000,000 concurrently sleeping stackless tasks in 512 MiB of guest RAM (not
# part of `make test`): the board's DTB with its memory cut to 512 MiB.
STRESS_DTB := $(BUILD)/stress-512m.dtb
$(STRESS_DTB): $(DTB)
	$(Q)cp $< $@
	$(Q)fdtput -t x $@ /memory@40000000 reg 0 0x40000000 0 0x20000000
stress-async: deps
	$(need_qemu)@$(MAKE) --no-print-directory BOARD=$(BOARD) image $(STRESS_DTB)
	timeout 1800 $(subst -m $(QEMU_MEM),-m 512M,$(subst -dtb $(DTB),-dtb $(STRESS_DTB),$(QEMU_CMD))) \
		-append sr.async1m

# --- SD card and flashing ------------------------------------------------------

# MBR + FAT partition from sector 32768 (Image, DTB, boot.scr); boards with
# BOARD_UBOOT also get Debian's Rockchip loaders at sectors 64 and 16384.
SDCARD := $(BUILD)/sdcard.img
UBOOT_ROCKCHIP := build/deps/u-boot-rockchip/usr/lib/u-boot/$(BOARD_UBOOT)
SDCARD_ARGS := --out $(SDCARD) --image $(BUILD)/Image --dtb $(DTB) --append "$(APPEND)" \
	$(if $(BOARD_UBOOT),--idbloader $(UBOOT_ROCKCHIP)/idbloader.img \
	--itb $(UBOOT_ROCKCHIP)/u-boot.itb)

sdcard: deps
	@$(MAKE) --no-print-directory BOARD=$(BOARD) image
	$(call say,SDCARD  $(SDCARD))
	$(Q)$(PYTHON) scripts/mk_sdcard.py $(SDCARD_ARGS)

flash: sdcard
	@$(PYTHON) scripts/flash.py --image $(SDCARD) --dev "$(DEV)" \
		$(if $(filter 1,$(FORCE)),--force) $(if $(filter 1,$(YES)),--yes)

clean:
	rm -rf build/qemu-* build/host build/sim $(foreach b,$(BOARDS),build/$(b))

-include $(SR_OBJS:.o=.d) $(HOST_TEST_OBJS:.o=.d) $(HOST_TOOL_OBJS:.o=.d)
