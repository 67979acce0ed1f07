# hvbench: top-level build.
#
# Out of tree: every output goes under $(O) (default build/).  Each directory
# contributes a module.mk fragment that appends to the variables below; this
# file only holds the rules.  `make V=1` shows the commands.
#
#   make            hvbench command, guest image, unit tests
#   make test       build, then run every test (ends with "N passed, N failed")
#   make check      the same tests with ASan + UBSan (O=build/check)
#   make bench      install missing packages, build, run the default
#                   comparison, write a report
#   make deps       install the Debian packages the suite needs (root)
#   make install    hvbench, guest image, report scripts into $(PREFIX)
#                   (default /usr/local; DESTDIR= to stage); make uninstall

O ?= build
V ?= 0
SANITIZE ?= 0
PREFIX ?= /usr/local

ifeq ($(V),0)
Q := @
say = @printf '  %-8s %s\n' '$(1)' '$(2)';
else
Q :=
say :=
endif

HOST_CC ?= cc
GUEST_CC ?= cc
PYTHON ?= python3

HVB_VERSION := 0.1.0

# Code generation of workload bodies: ONE set of flags, one compilation, and
# the same object files linked into the native binary and the guest image.
# x86-64-v3 = AVX2/FMA/BMI2; override (e.g. WORKLOAD_ARCH=x86-64-v2) on older
# CPUs, and the guest gets the same.
WORKLOAD_ARCH ?= x86-64-v3
WORKLOAD_CGFLAGS := -O2 -march=$(WORKLOAD_ARCH) -mtune=generic -fno-pie \
	-fno-stack-protector -fcf-protection=none -fno-strict-aliasing \
	-fno-tree-loop-distribute-patterns
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
DEPFLAGS = -MMD -MP

WORKLOAD_CFLAGS := -std=gnu11 -g $(WARN) $(WORKLOAD_CGFLAGS) -Iinclude -Iworkloads

HOST_CFLAGS := -std=gnu11 -O2 -g $(WARN) -fno-pie -D_GNU_SOURCE \
	-Iinclude -I. -Isrc -Ilib -Iworkloads -Irunners -Irunners/common -Iprobes -Ihv \
	-DHVB_VERSION='"$(HVB_VERSION)"' \
	-DHVB_WORKLOAD_CGFLAGS='"$(WORKLOAD_CGFLAGS)"' \
	-DHVB_SRCDIR='"$(CURDIR)"' -DHVB_DATADIR='"$(PREFIX)/share/hvbench"'
HOST_LDFLAGS := -no-pie
HOST_LIBS := -lcsv -lhwloc -lpfm -lm -lpthread

ifeq ($(SANITIZE),1)
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
HOST_CFLAGS += $(SAN)
HOST_LDFLAGS += $(SAN)
endif

# Filled in by module.mk fragments.
HOST_SRCS :=       # host C sources linked into hvbench (the unit tests link layers of them)
HVBENCH_MAIN :=    # the file with main()
WORKLOAD_SRCS :=   # workload bodies + harness (compiled once, with WORKLOAD_CFLAGS)
UNIT_TESTS :=      # tests/unit/test_*.c: each a program linked with what its NAME_LINK lists
ALL_TARGETS :=     # extra targets built by `make` (e.g. the guest image)
TEST_DEPS :=       # extra targets built before `make test`

# Prerequisites written $$(VAR) are expanded once every module.mk is read
# (object groups below are complete only then).
.SECONDEXPANSION:

include $(sort $(wildcard */module.mk */*/module.mk))

HOST_OBJS := $(HOST_SRCS:%.c=$(O)/host/%.o)
MAIN_OBJ := $(HVBENCH_MAIN:%.c=$(O)/host/%.o)
WORKLOAD_OBJS := $(WORKLOAD_SRCS:%.c=$(O)/wl/%.o)
TEST_BINS := $(UNIT_TESTS:tests/unit/%.c=$(O)/tests/%)
HVBENCH := $(O)/hvbench

# The host objects by layer, from the top (src/ commands) down; a layer may
# use the ones below it, never one above (README.md, Layout).  The groups
# split HOST_OBJS by directory and keep its order (the order of the runner
# and workload registries).  Unit tests link groups, not everything.
SRC_OBJS := $(filter $(O)/host/src/%,$(HOST_OBJS))
RUNNER_COMMON_OBJS := $(filter $(O)/host/runners/common/%,$(HOST_OBJS))
RUNNERS_OBJS := $(filter-out $(RUNNER_COMMON_OBJS),$(filter $(O)/host/runners/%,$(HOST_OBJS)))
LIB_OBJS := $(filter $(O)/host/lib/%,$(HOST_OBJS))
HV_OBJS := $(filter $(O)/host/hv/%,$(HOST_OBJS))
PROBE_OBJS := $(filter $(O)/host/probes/%,$(HOST_OBJS))
NATIVE_RT_OBJS := $(filter $(O)/host/workloads/native/%,$(HOST_OBJS))
# (WORKLOAD_OBJS: the workload bodies, harness and console codec, in $(O)/wl/.)

# Group names a unit test's NAME_LINK may list, and their objects.
LINK_GROUPS := src runners runners-common lib hv probes workloads native-rt
LINK_OBJS_src := $(SRC_OBJS)
LINK_OBJS_runners := $(RUNNERS_OBJS)
LINK_OBJS_runners-common := $(RUNNER_COMMON_OBJS)
LINK_OBJS_lib := $(LIB_OBJS)
LINK_OBJS_hv := $(HV_OBJS)
LINK_OBJS_probes := $(PROBE_OBJS)
LINK_OBJS_workloads := $(WORKLOAD_OBJS)
LINK_OBJS_native-rt := $(NATIVE_RT_OBJS)
ungrouped := $(filter-out $(foreach g,$(LINK_GROUPS),$(LINK_OBJS_$(g))),$(HOST_OBJS))
ifneq ($(ungrouped),)
$(error $(ungrouped): in no link group; add its directory to LINK_GROUPS in the Makefile)
endif

# $(call link_entry,TEST,ENTRY): the objects of one NAME_LINK entry: a group
# name, or one source file (src/stats.c: that object alone, for a test of a
# file whose layer as a whole needs more than the file does).
link_entry = $(if $(filter $(2),$(LINK_GROUPS)),$(LINK_OBJS_$(2)),$(if \
	$(filter $(2),$(WORKLOAD_SRCS)),$(2:%.c=$(O)/wl/%.o),$(if \
	$(filter $(2),$(HOST_SRCS)),$(2:%.c=$(O)/host/%.o),$(error \
	tests/module.mk: $(1)_LINK: '$(2)' is neither a group ($(LINK_GROUPS)) nor a host source))))
# $(call test_objs,TEST): what unit test TEST links: its NAME_LINK entries
# (tests/module.mk), each object once, in hvbench's link order.
test_objs = $(if $(filter undefined,$(origin $(1)_LINK)),$(error \
	tests/module.mk: declare $(1)_LINK (the groups tests/unit/$(1).c links)),$(filter \
	$(foreach e,$($(1)_LINK),$(call link_entry,$(1),$(e))),$(HOST_OBJS) $(WORKLOAD_OBJS)))

.PHONY: all test check bench deps report install uninstall clean format FORCE
.DEFAULT_GOAL := all

all: $(HVBENCH) $(ALL_TARGETS) $(TEST_BINS)

$(O)/host/%.o: %.c
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(O)/wl/%.o: %.c
	$(call say,CC-WL,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(HOST_CC) $(WORKLOAD_CFLAGS) $(DEPFLAGS) -c $< -o $@

# The build's git commit, recompiled only when it changes.  A tree shipped
# without .git (ci/fleet's archive) names it in .hvbench-commit.
$(O)/commit.h: FORCE
	$(Q)mkdir -p $(@D)
	$(Q)c=$$(cat .hvbench-commit 2>/dev/null || git describe --always --dirty 2>/dev/null || \
	  echo unknown); \
	  printf '#define HVB_COMMIT "%s"\n' "$$c" > $@.tmp; \
	  cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(O)/host/lib/version.o: $(O)/commit.h
$(O)/host/lib/version.o: HOST_CFLAGS += -I$(O)

$(HVBENCH): $(MAIN_OBJ) $(HOST_OBJS) $(WORKLOAD_OBJS)
	$(call say,LD,$@)
	$(Q)$(HOST_CC) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LIBS)

# A unit test links only what its NAME_LINK lists (tests/module.mk), so a
# lower layer that calls into a higher one fails to link: the layering check.
# Its own source and those objects only: the prerequisites its .d file adds
# are headers, or guest sources a test includes (test_virtio_blk_driver).
$(O)/tests/%: tests/unit/%.c $$(call test_objs,$$*)
	$(call say,TEST-LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) -Itests $(DEPFLAGS) $(HOST_LDFLAGS) -o $@ $< \
		$(filter %.o,$^) $(HOST_LIBS)

test: all $(TEST_DEPS)
	$(Q)O=$(O) HVBENCH=$(HVBENCH) PYTHON=$(PYTHON) tests/run

check:
	$(Q)$(MAKE) --no-print-directory O=$(O)/check SANITIZE=1 test

deps:
	$(Q)ci/deps

# The main job: install what is missing, build, run the default comparison
# (every available non-emulated runner), write a report (hvbench report's
# default: ./hvbench-report/<run-id>/, here the top of the tree, git-ignored).
# The default comparison covers every family with one point per level of
# the memory hierarchy instead of all sixteen chase sizes, the two STREAM
# kernels most often quoted, and the io/ and net/ figures a reader asks for
# first (net/ needs root: without it those cells are skipped, with the reason);
# `make bench BENCH_WORKLOADS='micro/*,cpu/*,mem/*,io/*,net/*'` runs them all.
BENCH_MEM := mem/stream-copy,mem/stream-triad,mem/first-touch,mem/chase-32KiB,mem/chase-256KiB
BENCH_MEM := $(BENCH_MEM),mem/chase-4MiB,mem/chase-64MiB,mem/chase-512MiB
BENCH_IO := io/randread-4k-qd1,io/randwrite-4k-qd1,io/randread-4k-qd32,io/seqread-1m,io/flush
BENCH_NET := net/udp-rr-64,net/tx-pps-64,net/rx-pps-64
BENCH_WORKLOADS ?= micro/*,cpu/*,$(BENCH_MEM),$(BENCH_IO),$(BENCH_NET)
BENCH_VCPUS ?= 1
BENCH_ARGS ?= --workload '$(BENCH_WORKLOADS)' --reps 5 --vcpus $(BENCH_VCPUS)
# It builds only what the run needs (not the unit tests and tools of `all`),
# with one job per CPU unless the caller's make already has a job server.
bench: deps
	$(Q)case " $$MAKEFLAGS " in *" -j"*|*jobserver*) j= ;; \
	  *) j=-j$$(nproc 2>/dev/null || echo 1) ;; esac; \
	  $(MAKE) --no-print-directory $$j $(HVBENCH) $(GUEST_IMAGE)
	$(Q)$(HVBENCH) run $(BENCH_ARGS) --out results --latest results/latest
	$(Q)$(HVBENCH) report results/latest

# `make install [PREFIX=/usr/local] [DESTDIR=stage]`: hvbench in bin/, the
# guest image and the report scripts in share/hvbench/, where the installed
# hvbench looks for them (../share/hvbench from itself: runners/common/image.c,
# src/cmd_report.c).  Only the scripts: no rendered reports, no __pycache__.
DATADIR := $(PREFIX)/share/hvbench
REPORT_FILES := $(wildcard reports/*.py reports/README.md reports/hvbreport/*.py \
	reports/gnuplot/*.gp)
install: $(HVBENCH) $(GUEST_IMAGE)
	$(call say,INSTALL,$(DESTDIR)$(PREFIX)/bin/hvbench $(DESTDIR)$(DATADIR)/)
	$(Q)install -D -m 755 $(HVBENCH) $(DESTDIR)$(PREFIX)/bin/hvbench
	$(Q)install -D -m 644 $(GUEST_IMAGE) $(DESTDIR)$(DATADIR)/guest/hvbench-guest.elf
	$(Q)for f in $(REPORT_FILES); do \
		install -D -m 644 $$f $(DESTDIR)$(DATADIR)/$$f || exit 1; done

uninstall:
	$(call say,RM,$(DESTDIR)$(PREFIX)/bin/hvbench $(DESTDIR)$(DATADIR)/)
	$(Q)rm -f $(DESTDIR)$(PREFIX)/bin/hvbench
	$(Q)rm -rf $(DESTDIR)$(DATADIR)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(O)

FORCE:

-include $(HOST_OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(WORKLOAD_OBJS:.o=.d) $(TEST_BINS:=.d)
