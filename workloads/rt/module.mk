# workloads/rt/: the freestanding guest runtime and the guest image.
#
# One ELF image for every hypervisor: the runtime (ring-0 entry.S, ring-3
# C) linked with the very same workload objects as the native runner
# ($(WORKLOAD_OBJS), compiled once with WORKLOAD_CFLAGS).
GUEST_IMAGE := $(O)/guest/hvbench-guest.elf
GUEST_LDS := workloads/rt/guest.ld
GUEST_RT_SRCS := $(sort $(wildcard workloads/rt/*.c workloads/rt/*.S))
GUEST_RT_OBJS := $(patsubst workloads/rt/%,$(O)/guest/rt/%.o,$(GUEST_RT_SRCS))

# Runtime code: freestanding, no red zone (ring 0 shares the stack with
# exception frames), no vector registers (it runs before XCR0 is set and in
# ring 0, where it must not disturb the workloads' vector state).
GUEST_CFLAGS := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-pic -fno-pie -mno-red-zone \
	-fno-stack-protector -fcf-protection=none -mgeneral-regs-only -nostdlib \
	-fno-asynchronous-unwind-tables -fno-strict-aliasing -fno-tree-loop-distribute-patterns \
	-Iinclude -Iworkloads -Iworkloads/rt
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(GUEST_LDS) -Wl,--build-id=none \
	-Wl,-z,noexecstack -Wl,-z,max-page-size=4096 -Wl,--no-warn-rwx-segments

ALL_TARGETS += $(GUEST_IMAGE)

$(O)/guest/rt/%.c.o: workloads/rt/%.c
	$(call say,CC-GUEST,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(O)/guest/rt/%.S.o: workloads/rt/%.S
	$(call say,AS-GUEST,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) -D__ASSEMBLER__ $(DEPFLAGS) -c $< -o $@

# WORKLOAD_OBJS is complete only after every module.mk is read: expand late
# ($$, the Makefile's .SECONDEXPANSION).
$(GUEST_IMAGE): $(GUEST_RT_OBJS) $$(WORKLOAD_OBJS) $(GUEST_LDS)
	$(call say,LD-GUEST,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(GUEST_CC) $(GUEST_LDFLAGS) -o $@ $(GUEST_RT_OBJS) $(WORKLOAD_OBJS) -lgcc

-include $(GUEST_RT_OBJS:.o=.d)

# Console capture decoder for the guest image tests (tests/guest/).
HVB_CONSOLE_DUMP := $(O)/tests/guest/hvb-console-dump
TEST_DEPS += $(HVB_CONSOLE_DUMP)
$(HVB_CONSOLE_DUMP): tests/guest/hvb_console_dump.c $(O)/host/lib/console_stream.o $$(WORKLOAD_OBJS)
	$(call say,TEST-LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) $(DEPFLAGS) $(HOST_LDFLAGS) -o $@ $< \
		$(O)/host/lib/console_stream.o $(O)/wl/workloads/console_codec.o
