# Runner registry (each runner directory has its own module.mk).
HOST_SRCS += runners/registry.c
