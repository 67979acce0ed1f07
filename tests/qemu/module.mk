# Stand-in guests for tests/integration/test_qemu.sh: a PVH stub that writes
# a stream prepared by mkblob (records made with the real console codec,
# damage, floods) and then exits, hangs or repeats.  See stub.S.
QEMU_STUB_DIR := $(O)/tests/qemu
QEMU_STUBS := ok damaged hang flood proto
TEST_DEPS += $(QEMU_STUBS:%=$(QEMU_STUB_DIR)/stub-%.elf)

$(QEMU_STUB_DIR)/mkblob: tests/qemu/mkblob.c $(O)/wl/workloads/console_codec.o
	$(call say,HOST-LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) $(HOST_LDFLAGS) -o $@ $^

$(QEMU_STUB_DIR)/%.bin: $(QEMU_STUB_DIR)/mkblob
	$(Q)$< $* >$@

$(QEMU_STUB_DIR)/stub-hang.elf: STUB_AFTER := 1
$(QEMU_STUB_DIR)/stub-flood.elf: STUB_AFTER := 2
$(QEMU_STUB_DIR)/stub-%.elf: tests/qemu/stub.S tests/qemu/stub.ld $(QEMU_STUB_DIR)/%.bin
	$(call say,STUB,$@)
	$(Q)$(HOST_CC) -c -DAFTER=$(or $(STUB_AFTER),0) -DBLOB='"$*.bin"' -Wa,-I$(QEMU_STUB_DIR) \
		tests/qemu/stub.S -o $(@:.elf=.o)
	$(Q)ld -T tests/qemu/stub.ld -o $@ $(@:.elf=.o)
.PRECIOUS: $(QEMU_STUB_DIR)/%.bin
