# hv/: the reference hypervisor core on /dev/kvm (library linked into
# hvbench for the kvm runner), and its benchmark program.
# Its objects are the Makefile's HV_OBJS group (the tools below link it alone).
HOST_SRCS += $(sort $(wildcard hv/*.c))

# hv-bare-exit: a bare KVM_RUN loop (hv/bare_loop.c, also the kvm runner's
# bound row) vs the core on the same guest (the core's overhead per userspace
# exit).  Prints figures; asserts nothing.
# The bench tools' shared argument parser: an object of its own, linked into
# the tools only (not one of HOST_SRCS: hvbench does not need it).
HV_BENCH_ARGS := $(O)/host/hv/bench/bench_args.o
# ... and the CPU lock of the tools that pin (over probes/cpulock.c: libc
# only, the one object of another layer these programs link).
HV_BENCH_LOCK := $(O)/host/hv/bench/bench_lock.o $(O)/host/probes/cpulock.o
-include $(HV_BENCH_ARGS:.o=.d) $(O)/host/hv/bench/bench_lock.d

HV_BENCH := $(O)/hv-bare-exit
ALL_TARGETS += $(HV_BENCH)

$(HV_BENCH): hv/bench/bare_exit.c $(HV_BENCH_ARGS) $(HV_BENCH_LOCK) $$(HV_OBJS)
	$(call say,LD,$@)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) $(DEPFLAGS) $(HOST_LDFLAGS) -o $@ $^ -lpthread

# hvb-vmm: boot a guest image by hand (prints console, records, verdict).
HV_VMM := $(O)/hvb-vmm
ALL_TARGETS += $(HV_VMM)

$(HV_VMM): hv/bench/hvb_vmm.c $(HV_BENCH_ARGS) $$(HV_OBJS)
	$(call say,LD,$@)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) $(DEPFLAGS) $(HOST_LDFLAGS) -o $@ $^ -lpthread

# hv-net-frames: frames/s through the core's virtio-net (loopback, tap on a
# socket pair) with a host-side driver instead of a guest (no exits in the
# figures).  Prints figures; asserts nothing.
HV_NET_BENCH := $(O)/hv-net-frames
ALL_TARGETS += $(HV_NET_BENCH)

$(HV_NET_BENCH): hv/bench/net_frames.c $$(HV_OBJS)
	$(call say,LD,$@)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) -Itests $(DEPFLAGS) $(HOST_LDFLAGS) -o $@ $^ -lpthread

# hv-bare-boot: the kvm runner's boot_ms (`hvbench run`, one repetition)
# against a bare PVH loader of the same image (hv/ helpers + a KVM_RUN loop
# to HELLO), interleaved.  Prints figures and both breakdowns; asserts nothing.
HV_BOOT_BENCH := $(O)/hv-bare-boot
ALL_TARGETS += $(HV_BOOT_BENCH)

$(HV_BOOT_BENCH): hv/bench/bare_boot.c $(HV_BENCH_ARGS) $(HV_BENCH_LOCK) $$(HV_OBJS)
	$(call say,LD,$@)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) $(DEPFLAGS) $(HOST_LDFLAGS) -o $@ $^ -lpthread
