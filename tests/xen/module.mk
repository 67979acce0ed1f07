# hvb-fpu-check (tests/xen/fpu_check.c): run in a Xen dom0 by ci/xen/fpu-test,
# it checks that a dom0 process keeps its SSE registers while a domU computes.
ALL_TARGETS += $(O)/xen/hvb-fpu-check

$(O)/xen/hvb-fpu-check: tests/xen/fpu_check.c
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) $(HOST_LDFLAGS) -o $@ $<
