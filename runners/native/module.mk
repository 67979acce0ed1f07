HOST_SRCS += runners/native/native.c
HOST_SRCS += runners/native/counters.c
