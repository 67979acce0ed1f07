# The hvbench command.
HVBENCH_MAIN += src/main.c
HOST_SRCS += $(filter-out src/main.c,$(wildcard src/*.c))
