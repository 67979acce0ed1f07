/*
 * A hand-assembled 32-bit guest that dirties memory, for the dirty-log,
 * vCPU-state and migration tests of the reference core (test_hv_dirty.c,
 * test_hv_migrate.c).  Header-only (static functions).
 *
 * Two programs:
 *   known pages  writes one dword into each of a list of pages, then ends
 *                (port DG_PORT_END): the pages the dirty log must report
 *   dirtier      generation after generation (DG_GEN), fills each of
 *                DG_NPAGES pages from DG_WSS with (page << 16) ^ gen,
 *                until the host sets DG_FINISH; then checks every page
 *                against the last generation and reports (DG_PORT_OK with
 *                the generation, or DG_PORT_BAD with the first bad page)
 *                before it ends.  The generation lives in %ebp: a move that
 *                loses a register or a page fails the check.
 */
#ifndef HV_DIRTYGUEST_H
#define HV_DIRTYGUEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dev.h"
#include "dirty.h"
#include "exit.h"
#include "irqchip.h"
#include "mem.h"
#include "pvh.h"

#define DG_RAM	    (4u << 20)
#define DG_CODE	    0x100000u
#define DG_GEN	    0x101000u
#define DG_FINISH   0x101004u
#define DG_NPAGES   0x101008u
#define DG_WSS	    0x200000u
#define DG_PORT_MARK 0x80 /* eax: a marker */
#define DG_PORT_END  0x81
#define DG_PORT_OK   0x82 /* eax: the generation verified */
#define DG_PORT_BAD  0x83 /* eax: the first bad page */

struct dg_asm {
	uint8_t p[4096];
	uint32_t n;
};

static void dg_emit(struct dg_asm *a, const void *b, uint32_t n)
{
	memcpy(a->p + a->n, b, n);
	a->n += n;
}

static void dg_u32(struct dg_asm *a, uint32_t v) { dg_emit(a, &v, 4); }

/* A jcc/jmp with a rel32 to `to` (an offset in the code). */
static void dg_jump(struct dg_asm *a, const char *op, uint32_t oplen, uint32_t to)
{
	dg_emit(a, op, oplen);
	dg_u32(a, to - (a->n + 4));
}

static void dg_out(struct dg_asm *a, uint8_t port) /* out port, eax */
{
	dg_emit(a, (uint8_t[]){0xe7, port}, 2);
}

/* mov dword [addr], v for each page, then end. */
static __attribute__((unused)) uint32_t dg_known_pages(struct dg_asm *a, const uint32_t *gpas, unsigned n)
{
	a->n = 0;
	for (unsigned i = 0; i < n; i++) {
		dg_emit(a, "\xc7\x05", 2), dg_u32(a, gpas[i]), dg_u32(a, 0x5a5a0000u | i);
	}
	dg_out(a, DG_PORT_END);
	dg_emit(a, "\xeb\xfe", 2);
	return a->n;
}

/* eax = (esi << 16) ^ ebp; edi = DG_WSS + esi * 4096; ecx = 1024 */
static void dg_page_setup(struct dg_asm *a)
{
	dg_emit(a, "\x89\xf0\xc1\xe0\x10\x31\xe8", 7);	 /* mov eax,esi; shl eax,16; xor eax,ebp */
	dg_emit(a, "\x89\xf7\xc1\xe7\x0c\x81\xc7", 7);	 /* mov edi,esi; shl edi,12; add edi, */
	dg_u32(a, DG_WSS);
	dg_emit(a, "\xb9", 1), dg_u32(a, 1024);		 /* mov ecx, 1024 */
}

/* The page loop's tail: inc esi; cmp esi, [DG_NPAGES]; jb top. */
static void dg_next_page(struct dg_asm *a, uint32_t top)
{
	dg_emit(a, "\x46\x3b\x35", 3), dg_u32(a, DG_NPAGES);
	dg_jump(a, "\x0f\x82", 2, top);
}

static __attribute__((unused)) uint32_t dg_dirtier(struct dg_asm *a)
{
	uint32_t gen_loop, page_loop, vloop, bad_jump;

	a->n = 0;
	dg_emit(a, "\xfc", 1); /* cld */
	gen_loop = a->n;
	dg_emit(a, "\x8b\x2d", 2), dg_u32(a, DG_GEN); /* mov ebp, [GEN] */
	dg_emit(a, "\x45\x89\x2d", 3), dg_u32(a, DG_GEN); /* inc ebp; mov [GEN], ebp */
	dg_emit(a, "\x31\xf6", 2);			  /* xor esi, esi */
	page_loop = a->n;
	dg_page_setup(a);
	dg_emit(a, "\xf3\xab", 2); /* rep stosd */
	dg_next_page(a, page_loop);
	dg_emit(a, "\x83\x3d", 2), dg_u32(a, DG_FINISH), dg_emit(a, "\x00", 1); /* cmp [FINISH],0 */
	dg_jump(a, "\x0f\x84", 2, gen_loop);					  /* je */
	dg_emit(a, "\x31\xf6", 2);
	vloop = a->n;
	dg_page_setup(a);
	dg_emit(a, "\xf3\xaf", 2); /* repe scasd */
	bad_jump = a->n;
	dg_emit(a, "\x0f\x85", 2), dg_u32(a, 0); /* jne bad (patched) */
	dg_next_page(a, vloop);
	dg_emit(a, "\x89\xe8", 2); /* mov eax, ebp */
	dg_out(a, DG_PORT_OK);
	dg_out(a, DG_PORT_END);
	dg_emit(a, "\xeb\xfe", 2);
	{
		uint32_t rel = a->n - (bad_jump + 6);
		memcpy(a->p + bad_jump + 2, &rel, 4);
	}
	dg_emit(a, "\x89\xf0", 2); /* mov eax, esi */
	dg_out(a, DG_PORT_BAD);
	dg_out(a, DG_PORT_END);
	dg_emit(a, "\xeb\xfe", 2);
	return a->n;
}

/* What the guest reported through its ports. */
struct dg_result {
	int ok, bad;	 /* reports seen */
	uint32_t ok_gen, bad_page;
	uint32_t marks;
};

static int dg_on_port(void *opaque, struct vcpu *vcpu, uint16_t port, uint8_t *data,
		      unsigned size, bool out)
{
	struct dg_result *r = opaque;
	uint32_t v = 0;

	(void)out;
	memcpy(&v, data, size < 4 ? size : 4);
	if (port == DG_PORT_END)
		return vm_stop(vcpu->vm, vcpu, HV_SHUTDOWN, "guest ended");
	if (port == DG_PORT_OK)
		r->ok++, r->ok_gen = v;
	else if (port == DG_PORT_BAD)
		r->bad++, r->bad_page = v;
	else
		r->marks++;
	return HV_CONTINUE;
}

/*
 * An empty VM of the tests' shape: DG_RAM of RAM, one vCPU with CPUID and
 * (irqchip permitting, split first) a LAPIC, the report ports.  ring: the
 * dirty ring enabled before the vCPU.  NULL on failure.
 */
static struct vm *dg_vm(struct dg_result *res, bool ring)
{
	struct vm *vm;
	struct vcpu *v;
	enum hv_irqchip got;
	char why[200];
	int r;

	if (vm_create(&vm, NULL))
		return NULL;
	r = vm_irqchip_create_best(vm, HV_IRQCHIP_SPLIT, &got, why, sizeof(why));
	if (!r)
		r = vm_mem_add(vm, 0, DG_RAM);
	if (!r && ring)
		r = hv_dirty_ring_enable(vm);
	if (!r)
		r = vcpu_create(vm, 0, &v);
	if (!r)
		r = vcpu_cpuid_init(v);
	if (!r)
		r = vcpu_lapic_setup(v);
	if (!r)
		r = vm_pio_register(vm, DG_PORT_MARK, DG_PORT_BAD, dg_on_port, res, "dirtyguest");
	if (r) {
		vm_destroy(vm);
		return NULL;
	}
	return vm;
}

/* Load a program and point vCPU 0 at it. */
static int dg_load(struct vm *vm, const struct dg_asm *a)
{
	int r = vm_gpa_write(vm, DG_CODE, a->p, a->n);

	return r ? r : vcpu_setup_pvh(vm->vcpus[0], DG_CODE);
}

/* NULL when /dev/kvm can be opened; else why not, in buf (a TAP skip). */
static __attribute__((unused)) const char *dg_kvm_unusable(char *buf, size_t len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return NULL;
	}
	snprintf(buf, len, "/dev/kvm unusable: %s", strerror(errno));
	return buf;
}

#endif
