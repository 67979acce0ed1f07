HOST_SRCS += runners/native/native.c
