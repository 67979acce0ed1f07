# Probes: topology/pinning, host metadata, perf counters, KVM statistics.
HOST_SRCS += $(sort $(wildcard probes/*.c))
