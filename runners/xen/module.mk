# Xen runner (runners/xen): the "xen-pvh" runner in hvbench, its libxl layer
# (xl.c), the standalone hvb-xl tool and the pvh-hello test guest.  libxl
# comes from libxen-dev (ci/deps.d/xen); without its headers the runner is
# built as a stub that says how to get it.  ci/xen/runner-test and
# tests/xen/test_xen_qemu run the real thing in a Xen dom0 under QEMU.
HOST_SRCS += runners/xen/xen.c runners/xen/trace.c runners/xen/migrate_progress.c

# HVB_LIBXL=0 builds the stub even where libxl exists (tests that build).
HVB_LIBXL ?= $(if $(wildcard /usr/include/libxl.h),1,0)
ifeq ($(HVB_LIBXL),1)
HOST_SRCS += runners/xen/xl.c runners/xen/migrate.c
HOST_LIBS += -lxenlight -lxenctrl -lxentoollog -lxenstore
$(O)/host/runners/xen/xen.o: HOST_CFLAGS += -DHVB_HAVE_LIBXL
ALL_TARGETS += $(O)/xen/hvb-xl $(O)/xen/pvh-hello.elf
# The stub must keep compiling where libxl exists too (it did not once:
# an unused function under -Werror); this object is built and thrown away.
ALL_TARGETS += $(O)/host/runners/xen/xen-stub.o
endif

$(O)/host/runners/xen/xen-stub.o: runners/xen/xen.c
	$(call say,CC,$< (stub: no libxl))
	$(Q)mkdir -p $(@D)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(O)/xen/hvb-xl: runners/xen/hvb_xl.c runners/xen/xl.c runners/xen/xl.h runners/xen/migrate.c \
		runners/xen/migrate.h runners/xen/migrate_progress.c runners/xen/migrate_progress.h
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) $(HOST_LDFLAGS) -o $@ runners/xen/hvb_xl.c runners/xen/xl.c \
		runners/xen/migrate.c runners/xen/migrate_progress.c \
		-lxenlight -lxenctrl -lxentoollog -lxenstore

# pvh-hello: 32-bit freestanding PVH guest (tests/xen/pvh-hello/hello.c) in an ELF64 file.
PVH_HELLO_CFLAGS := -m32 -ffreestanding -fno-pic -fno-pie -nostdlib -Os -Wall -Wextra -Werror \
	-fno-stack-protector -fcf-protection=none -mgeneral-regs-only -Iinclude -Iworkloads \
	-fno-tree-loop-distribute-patterns
$(O)/xen/pvh-hello.elf: tests/xen/pvh-hello/entry.S tests/xen/pvh-hello/hello.c \
		tests/xen/pvh-hello/hello.ld workloads/console_codec.c workloads/console_codec.h \
		include/hvb/abi.h
	$(call say,GUEST,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(HOST_CC) $(PVH_HELLO_CFLAGS) -c tests/xen/pvh-hello/entry.S -o $(O)/xen/pvh-hello-entry.o
	$(Q)$(HOST_CC) $(PVH_HELLO_CFLAGS) -c tests/xen/pvh-hello/hello.c -o $(O)/xen/pvh-hello.o
	$(Q)$(HOST_CC) $(PVH_HELLO_CFLAGS) -c workloads/console_codec.c -o $(O)/xen/pvh-hello-codec.o
	$(Q)$(LD) -m elf_i386 -T tests/xen/pvh-hello/hello.ld --no-warn-rwx-segments -nostdlib \
		-o $@.32 $(O)/xen/pvh-hello-entry.o $(O)/xen/pvh-hello.o $(O)/xen/pvh-hello-codec.o
	$(Q)objcopy -I elf32-i386 -O elf64-x86-64 $@.32 $@
