# tests/host: native unit tests (ASan + UBSan) of the pure code, plus the DTB
# fixtures they read: every boards/<b>/<b>.dts and tests/host/fixtures/*.dts,
# compiled into $(HOST_BUILD)/fixtures.

HOST_TEST_SRCS += \
	tests/host/main.c \
	tests/host/host_fixture.c \
	tests/host/test_dt_boards.c \
	tests/host/test_dt_topology.c \
	tests/host/test_dt_opp.c \
	tests/host/test_dt_errors.c \
	tests/host/test_dt_fuzz.c \
	tests/host/test_usable_memory.c \
	kernel/platform/dt_discover.c \
	kernel/platform/dt_util.c \
	kernel/platform/dt_address.c \
	kernel/platform/dt_memory.c \
	kernel/platform/dt_cpus.c \
	kernel/platform/dt_opp.c \
	kernel/platform/dt_gic.c \
	kernel/platform/dt_devices.c \
	kernel/platform/dt_console.c \
	kernel/platform/usable_memory.c

# Scheduler pure parts: the timer heap and the policy (also linked by tools/sim).
SCHED_POLICY_SRCS := $(sort $(wildcard kernel/sched/policy*.c))
HOST_TEST_SRCS += \
	tests/host/test_timerq.c \
	tests/host/test_sched_policy.c \
	tests/host/test_sched_model.c \
	tests/host/test_sched_energy.c \
	tests/host/test_sched_util.c \
	tests/host/test_sched_dl.c \
	tests/host/test_sched_qos.c \
	kernel/sched/timerq.c \
	$(SCHED_POLICY_SRCS)

# The scheduling simulator's engine, policies and loaders (not its main).
HOST_INCLUDES += tools/sim
HOST_LIBS += -lm
HOST_TEST_SRCS += \
	tests/host/test_sim.c \
	tools/sim/sim_engine.c \
	tools/sim/sim_policies.c \
	tools/sim/sim_load.c

# Drivers against register models (MMIO through tools/host-arch). The serial
# drivers are built with their port handlers (tests/host/port_*.c) and run
# with the port (uart_port.c) in a model of the kernel around it
# (tests/host/uart_port_model.c: one core, recorded wake-ups).
HOST_INCLUDES += drivers/serial
HOST_TEST_SRCS += \
	tests/host/test_ns16550.c \
	tests/host/test_uart_ring.c \
	tests/host/test_pl011.c \
	tests/host/port_pl011.c \
	tests/host/port_ns16550.c \
	tests/host/uart_port_model.c \
	drivers/serial/uart_port.c \
	drivers/serial/uart_ring.c \
	drivers/serial/uart_service.c \
	tests/host/test_gic_v3_layout.c \
	drivers/irq/gic_v3_layout.c \
	kernel/console_bind.c \
	tools/host-arch/mmio.c

# Memory: the pure buddy allocator core.
HOST_TEST_SRCS += \
	tests/host/test_buddy.c \
	kernel/mm/buddy.c

HOST_FIXTURES := $(HOST_BUILD)/fixtures
# Boards that keep their own DTS (the RK3399 boards use Debian's DTBs).
DTS_BOARDS := $(foreach b,$(BOARDS),$(if $(wildcard boards/$(b)/$(b).dts),$(b)))
HOST_FIXTURE_DTSI := $(wildcard tests/host/fixtures/*.dtsi)
HOST_TEST_DATA += \
	$(patsubst tests/host/fixtures/%.dts,$(HOST_FIXTURES)/%.dtb,$(wildcard tests/host/fixtures/*.dts)) \
	$(foreach b,$(DTS_BOARDS),$(HOST_FIXTURES)/$(b).dtb)

$(HOST_FIXTURES)/%.dtb: tests/host/fixtures/%.dts $(HOST_FIXTURE_DTSI)
	@mkdir -p $(dir $@)
	$(Q)dtc -q -I dts -O dtb -i tests/host/fixtures -o $@ $<

define HOST_BOARD_FIXTURE
$(HOST_FIXTURES)/$(1).dtb: boards/$(1)/$(1).dts
	@mkdir -p $$(dir $$@)
	$(Q)dtc -q -I dts -O dtb -o $$@ $$<
endef
$(foreach b,$(DTS_BOARDS),$(eval $(call HOST_BOARD_FIXTURE,$(b))))

# I/O model and virtio rings (pure parts, issue 5).
HOST_TEST_SRCS += \
	tests/host/test_ioq.c \
	kernel/io/ioq.c \
	tests/host/test_virtq.c \
	drivers/virtio/virtq.c \
	tests/host/test_blkrec.c \
	kernel/io/blkrec_format.c
