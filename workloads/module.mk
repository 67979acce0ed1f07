# Workload bodies and the harness: compiled once with WORKLOAD_CFLAGS; the
# same objects are linked into hvbench (native runner) and the guest image.
WORKLOAD_SRCS += workloads/harness.c $(sort $(wildcard workloads/cpu/*.c workloads/mem/*.c \
	workloads/micro/*.c workloads/io/*.c workloads/net/*.c workloads/svc/*.c \
	workloads/migrate/*.c))
# The hosted rt_* implementation for the native runner.
HOST_SRCS += workloads/native/rt_native.c
# rt_cpu_* natively: worker threads pinned to cpus= (vcpus=).
HOST_SRCS += workloads/native/smp.c
# rt_irq_* natively: real-time signals between the pinned threads (tgkill),
# POSIX timers (micro/ipi*, micro/timer-*).
HOST_SRCS += workloads/native/irq.c
# rt_blk_* natively: the run's disk file (disk=, odirect=; pread/pwrite, Linux AIO).
HOST_SRCS += workloads/native/blk.c
# rt_net_* natively: AF_PACKET on the run's veth (netif=).
HOST_SRCS += workloads/native/net.c
# The console record codec (console_codec.h): the guest encodes with the
# same object the host decodes with.
WORKLOAD_SRCS += workloads/console_codec.c
# The net.* words parser, shared by the guest's and the native rt_net_open.
WORKLOAD_SRCS += workloads/networds.c
# rt_sleep_until natively: clock_nanosleep(TIMER_ABSTIME) (svc/ workers).
HOST_SRCS += workloads/native/sleep.c
