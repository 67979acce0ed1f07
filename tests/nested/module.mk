# hvb-vhost-check (tests/nested/vhost_check.c): the core's vhost-net backend
# (hv/vhost_net.c) against a real /dev/vhost-net, the program playing the
# guest's driver; run by ci/nested/kvm-test inside a Linux under QEMU TCG
# (this machine's kernel has no vhost-net).
ALL_TARGETS += $(O)/nested/hvb-vhost-check

$(O)/nested/hvb-vhost-check: tests/nested/vhost_check.c $$(HV_OBJS)
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) $(DEPFLAGS) $(HOST_LDFLAGS) -o $@ $^ -lpthread
