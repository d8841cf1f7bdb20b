# In-image suites: linked into every image, run when booted with "sr.test".
SR_SRCS += \
	tests/image/harness.c \
	tests/image/test_boot.c \
	tests/image/test_dt.c \
	tests/image/test_irq.c \
	tests/image/test_mmu.c \
	tests/image/test_exception.c \
	tests/image/test_smp.c \
	tests/image/test_libc.c \
	tests/image/test_sched.c \
	tests/image/test_runnext.c \
	tests/image/test_join_handoff.c \
	tests/image/test_wake_block.c \
	tests/image/test_idle_wake.c \
	tests/image/test_spawn.c \
	tests/image/test_qos.c \
	tests/image/test_migrate.c \
	tests/image/test_deadline.c \
	tests/image/test_sync.c \
	tests/image/test_task_faults.c \
	tests/image/test_uart.c \
	tests/image/test_chan.c \
	tests/image/test_async.c \
	tests/image/test_fp.c
SR_SRCS += tests/image/test_mm.c
SR_SRCS += tests/image/test_forkjoin.c
SR_SRCS += tests/image/test_actor.c tests/image/test_mailbox.c
# task_cancel and interruptible waits; structured concurrency scopes.
SR_SRCS += tests/image/test_cancel.c tests/image/test_scope.c tests/image/test_chan_cancel.c \
	tests/image/test_wait_cancel.c
# wake16: the local wake-up's common way (preemption and slice start kept).
SR_SRCS += tests/image/test_local_wake.c
# I/O model and virtio drivers (issue 5). test_io_hostile.c stays last: it
# leaves the disk and the rng failed for the rest of the boot.
SR_SRCS += tests/image/test_io.c tests/image/test_io_paths.c tests/image/test_persist.c \
	tests/image/test_net.c tests/image/test_io_hostile.c
# review14: stress of the lock hand-overs and stack-resident wait records.
SR_SRCS += tests/image/test_handover.c
# review16: the stop-16 fast paths against QoS changes, cancels, timeouts and joins on other cores.
SR_SRCS += tests/image/test_fastrace.c
# README.md's complete examples (each marked <!-- example NAME returns VALUE -->),
# generated into C files and run as the readme suite: the README's code builds
# and does what it says (scripts/readme_examples.py).
# (Before `make deps` has installed python3 there are no examples: only deps
# can run then, and every build after it has them.)
ifneq ($(shell command -v $(PYTHON)),)
README_EXAMPLES := $(shell $(PYTHON) scripts/readme_examples.py --list README.md || echo README_ERROR)
ifneq ($(filter README_ERROR,$(README_EXAMPLES)),)
$(error README.md's examples: see the readme_examples line above)
endif
endif
SR_SRCS += $(patsubst %,$(BUILD)/gen/readme/%.c,$(README_EXAMPLES))

$(BUILD)/gen/readme/%.c: README.md scripts/readme_examples.py
	@mkdir -p $(dir $@)
	$(call say,GEN     $@)
	$(Q)$(PYTHON) scripts/readme_examples.py README.md $* -o $@
