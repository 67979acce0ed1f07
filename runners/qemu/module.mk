# QEMU runners (qemu-kvm, qemu-tcg).
HOST_SRCS += runners/qemu/qemu.c
