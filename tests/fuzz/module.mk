# Fuzzers (tests/fuzz/fuzz_*.c): libFuzzer + ASan + UBSan with clang, for
# the parsers that take hostile input.  Not part of `make`: the code under
# test is compiled again with clang into $(FUZZ_DIR)/obj/, the gcc build is
# left alone.
#
#   make fuzz                        every fuzzer ($(O)/fuzz/fuzz_NAME) and its
#                                    seed corpus ($(O)/fuzz/seeds/NAME/)
#   make fuzz-run [FUZZ_SECONDS=10]  run each for FUZZ_SECONDS over a scratch
#                                    copy of its seeds ($(O)/fuzz/run/NAME/);
#                                    fails on any crash, leak or UBSan report
#   make fuzz-run FUZZERS=elf        only some of them
#
# The sources each fuzzer needs are found by file name in HOST_SRCS and
# WORKLOAD_SRCS (fuzz_srcs below), so a file that moves to another
# directory is followed; a name that is no longer there stops the fuzz
# build with an error naming it (and only the fuzz build).
FUZZ_CC ?= clang
FUZZ_DIR := $(O)/fuzz
FUZZ_SECONDS ?= 10
FUZZ_ALL := elf console xentrace records run csv virtio_blk virtio_net kvm_trace
FUZZERS ?= $(FUZZ_ALL)
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# The host flags (includes, defines, warnings) at -O1, without gcc's sanitizer flags.
FUZZ_CFLAGS = $(filter-out -O2 $(SAN),$(HOST_CFLAGS)) -O1 -g -Itests/fuzz -Itests
FUZZ_LDFLAGS = $(filter-out $(SAN),$(HOST_LDFLAGS))
FUZZ_LIBS := -lcsv -lm -lpthread

# $(call fuzz_srcs,NAMES): the sources called NAMES (file names, or paths
# for files that do not move) in the build's source lists; an error for a
# name without one.  Expanded only when a fuzzer is built (second expansion:
# the lists are complete only once every module.mk is read).
fuzz_find = $(filter $(1) $(addprefix %/,$(1)),$(HOST_SRCS) $(WORKLOAD_SRCS))
fuzz_srcs = $(foreach n,$(1),$(or $(call fuzz_find,$(n)),\
	$(error tests/fuzz/module.mk: no source $(n) in HOST_SRCS or WORKLOAD_SRCS (moved or renamed?))))
fuzz_objs = $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(1))

# What each fuzzer links besides its harness.
FUZZ_SRCS_elf = $(call fuzz_srcs,hv/elf.c hv/mem.c hv/sha256.c)
FUZZ_SRCS_console = $(call fuzz_srcs,console_codec.c console_stream.c)
FUZZ_SRCS_xentrace = $(call fuzz_srcs,xentrace.c)
FUZZ_SRCS_kvm_trace = $(call fuzz_srcs,kvm_trace.c xentrace.c lathist.c)
FUZZ_SRCS_records = $(call fuzz_srcs,records.c csvfile.c util.c)
FUZZ_SRCS_run = $(call fuzz_srcs,results.c csvfile.c util.c)
FUZZ_SRCS_csv = $(FUZZ_SRCS_run)
FUZZ_SRCS_virtio_blk = $(call fuzz_srcs,hv/virtio.c hv/virtio_blk.c hv/iothread.c hv/mem.c hv/dev.c hv/exit.c hv/dirty.c \
	hv/vm.c hv/watchdog.c hv/seccomp.c)
FUZZ_SRCS_virtio_net = $(call fuzz_srcs,hv/virtio.c hv/virtio_net.c hv/iothread.c hv/vhost_net.c hv/mem.c \
	hv/dev.c hv/exit.c hv/dirty.c hv/vm.c hv/watchdog.c hv/seccomp.c)

FUZZ_BINS := $(FUZZ_ALL:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_MKSEEDS := $(FUZZ_DIR)/mkseeds

.PHONY: fuzz fuzz-run fuzz-seeds

fuzz: $(FUZZ_BINS) fuzz-seeds

$(FUZZ_DIR)/obj/%.o: %.c
	$(call say,CC-FUZZ,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(DEPFLAGS) -c $< -o $@

.SECONDEXPANSION:
$(FUZZ_BINS): $(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o \
		$$(call fuzz_objs,$$(FUZZ_SRCS_$$*))
	$(call say,LD-FUZZ,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_LDFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LIBS)

# The seed generator: the unit tests' image builder and the real console
# encoder, not instrumented.
$(FUZZ_MKSEEDS): tests/fuzz/mkseeds.c $$(call fuzz_srcs,console_codec.c) tests/fuzz/fuzz.h \
		tests/unit/hv_testimg.h include/hvb/abi.h
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_LDFLAGS) -o $@ $(filter %.c,$^)

# Seeds: regenerated every time (a fraction of a second), so they follow
# the fixtures and, when it is built, the guest image.
fuzz-seeds: $(FUZZ_MKSEEDS)
	$(Q)tests/fuzz/seeds.sh $(FUZZ_MKSEEDS) $(FUZZ_DIR)/seeds $(GUEST_IMAGE)

fuzz-run: fuzz
	$(Q)fail=0; for f in $(FUZZERS); do \
		tests/fuzz/run.sh $(FUZZ_DIR) $$f $(FUZZ_SECONDS) || fail=1; \
	done; exit $$fail

-include $(wildcard $(FUZZ_DIR)/obj/*/*.d $(FUZZ_DIR)/obj/*/*/*.d $(FUZZ_DIR)/obj/*/*/*/*.d)
