# Runner registry (each runner directory has its own module.mk).
HOST_SRCS += runners/registry.c
# What several runners share (runners/common: image, configuration, host
# checks, guest command line, capability probe), like Solo5's tenders/common.
HOST_SRCS += $(sort $(wildcard runners/common/*.c))
