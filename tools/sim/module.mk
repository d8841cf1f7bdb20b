# tools/sim: the scheduling simulator, a host program linking the image's own
# policy code (kernel/sched/policy*.c). `make sim` builds and runs it: a
# markdown table on stdout, build/sim/{results.json,results.md,chart.svg}.
SIM_BUILD := build/sim
# Configurations may name a board's DTB: DT discovery links in too.
SIM_SRCS := tools/sim/sim_main.c tools/sim/sim_engine.c tools/sim/sim_policies.c \
	tools/sim/sim_load.c $(sort $(wildcard kernel/sched/policy*.c)) \
	$(sort $(wildcard kernel/platform/*.c))
SIM_OBJS := $(patsubst %,$(SIM_BUILD)/obj/%.o,$(SIM_SRCS))
SIM_CFLAGS := -std=gnu11 -O2 -g $(WARN) -Ikernel/include -MMD -MP

$(SIM_BUILD)/obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(call say,SIMCC   $<)
	$(Q)$(HOSTCC) $(SIM_CFLAGS) -c $< -o $@

$(SIM_BUILD)/sim: $(SIM_OBJS)
	$(call say,SIMLD   $@)
	$(Q)$(HOSTCC) -o $@ $^ -lfdt -lm

.PHONY: sim
sim: $(SIM_BUILD)/sim $(HOST_FIXTURES)/qemu-virt-bl.dtb
	@$(SIM_BUILD)/sim --out $(SIM_BUILD)

-include $(SIM_OBJS:.o=.d)
