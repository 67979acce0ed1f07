# The kvm runner: the guest image under the reference core (hv/) on /dev/kvm.
HOST_SRCS += $(sort $(wildcard runners/kvm/*.c))
