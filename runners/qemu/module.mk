# QEMU runners (qemu-kvm, qemu-tcg) and qemu-kvm's capability probe.
HOST_SRCS += $(sort $(wildcard runners/qemu/*.c))
