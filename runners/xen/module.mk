# Xen runner: libxl layer (xl.c), the hvb-xl test tool and the pvh-hello
# test guest (tests/xen/pvh-hello, a 32-bit PVH ELF).  Built only where
# libxl's headers exist (apt-get install libxen-dev); ci/xen/runner-test
# runs them inside a Xen dom0 under QEMU.
XEN_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -D_GNU_SOURCE
XEN_LIBS := -lxenlight -lxentoollog -lxenstore
PVH_HELLO_CFLAGS := -m32 -ffreestanding -fno-pic -fno-pie -nostdlib -Os -Wall -Wextra -Werror \
	-fno-stack-protector -fcf-protection=none -mgeneral-regs-only

$(O)/xen/hvb-xl: runners/xen/hvb_xl.c runners/xen/xl.c runners/xen/xl.h
	@mkdir -p $(@D)
	$(CC) $(XEN_CFLAGS) -o $@ runners/xen/hvb_xl.c runners/xen/xl.c $(XEN_LIBS)

$(O)/xen/pvh-hello.elf: tests/xen/pvh-hello/entry.S tests/xen/pvh-hello/hello.c \
		tests/xen/pvh-hello/hello.ld
	@mkdir -p $(@D)
	$(CC) $(PVH_HELLO_CFLAGS) -c tests/xen/pvh-hello/entry.S -o $(O)/xen/pvh-hello-entry.o
	$(CC) $(PVH_HELLO_CFLAGS) -c tests/xen/pvh-hello/hello.c -o $(O)/xen/pvh-hello.o
	$(LD) -m elf_i386 -T tests/xen/pvh-hello/hello.ld --no-warn-rwx-segments -nostdlib \
		-o $@ $(O)/xen/pvh-hello-entry.o $(O)/xen/pvh-hello.o
