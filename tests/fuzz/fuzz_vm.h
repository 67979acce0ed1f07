/*
 * Shared by the virtio device fuzzers (fuzz_virtio_blk.c, fuzz_virtio_net.c):
 * header-only.  A guest without KVM: struct vm whose RAM is one heap block
 * (ASan's redzones around it catch any host access outside guest memory),
 * a vCPU that never runs, the input read as little-endian operands, and
 * the operations every device's input has (fuzz.h: FZ_MEM, FZ_WR, FZ_RD).
 */
#ifndef HVB_FUZZ_VM_H
#define HVB_FUZZ_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exit.h"
#include "fuzz.h"
#include "unit/virtio_drv.h" /* gpa_ptr, mmio_access */
#include "vm.h"

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

/* The next `bytes` bytes as a little-endian number; 0s past the end. */
static inline uint64_t fuzz_take(struct fuzz_in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && in->n; i++, in->p++, in->n--)
		v |= (uint64_t)*in->p << (8 * i);
	return v;
}

struct fuzz_guest {
	struct vm vm;
	struct vcpu vcpu;
	struct kvm_run run;
};

static inline uint8_t *fuzz_ram_alloc(size_t size)
{
	uint8_t *ram = aligned_alloc(4096, size);

	if (!ram)
		abort();
	return ram;
}

/* A fresh guest on ram (zeroed): no KVM fds, one memory region at 0. */
static inline void fuzz_guest_reset(struct fuzz_guest *g, uint8_t *ram, uint64_t size)
{
	memset(ram, 0, size);
	memset(g, 0, sizeof(*g));
	g->vm.fd = g->vm.kvm_fd = -1;
	g->vm.mem[0] = (struct vm_mem_region){.gpa = 0, .size = size, .hva = ram};
	g->vm.n_mem = 1;
	g->vm.ram_size = size;
	g->vcpu = (struct vcpu){.vm = &g->vm, .fd = -1, .run = &g->run};
}

/*
 * FZ_MEM (write guest RAM, clamped to it and to the input), FZ_WR and FZ_RD
 * (a register access in the device's window at base): *r is the access's
 * result.  False for any other opcode, which the harness decodes itself.
 */
static inline bool fuzz_guest_op(struct fuzz_guest *g, unsigned op, struct fuzz_in *in,
				 uint64_t base, int *r)
{
	uint64_t v = 0;

	switch (op) {
	case FZ_MEM: {
		uint64_t gpa = fuzz_take(in, 4) % g->vm.ram_size, n = fuzz_take(in, 1);
		if (n > g->vm.ram_size - gpa)
			n = g->vm.ram_size - gpa;
		if (n > in->n)
			n = in->n;
		memcpy(gpa_ptr(&g->vm, gpa), in->p, n);
		in->p += n, in->n -= n;
		return true;
	}
	case FZ_WR: {
		uint64_t off = fuzz_take(in, 2) % 0x1000;
		unsigned len = 1u << (fuzz_take(in, 1) & 3);
		v = fuzz_take(in, 8);
		*r = mmio_access(&g->vm, &g->vcpu, base + off, &v, len, true);
		return true;
	}
	case FZ_RD: {
		uint64_t off = fuzz_take(in, 2) % 0x1000;
		*r = mmio_access(&g->vm, &g->vcpu, base + off, &v, 1u << (fuzz_take(in, 1) & 3),
				 false);
		return true;
	}
	}
	return false;
}

/* After an operation that returned r: may the run go on?  A stop must be
 * a guest error that names the device. */
static inline bool fuzz_guest_continues(const struct fuzz_guest *g, int r, const char *device)
{
	if (r < 0)
		return false; /* crosses the window's end: hv/exit.c stops the run */
	if (r != HV_CONTINUE) {
		FUZZ_CHECK(g->vm.verdict.outcome == HV_GUEST_ERROR);
		FUZZ_CHECK(strstr(g->vm.verdict.msg, device) != NULL);
		return false;
	}
	return true;
}

#endif
