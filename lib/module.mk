# lib/: the runner library: what commands and runners share below them
# (jobs, the result writer and reader, the record validator, the console
# record stream, host meta, util).  It imports only hv/, probes/,
# workloads/ and include/.
HOST_SRCS += $(sort $(wildcard lib/*.c))
