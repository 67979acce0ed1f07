/* The interrupt delivery probe (see irq_probe.h). */
#include "irq_probe.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dev.h"
#include "exit.h"
#include "irqchip.h"
#include "mem.h"
#include "pvh.h"

#define P_CODE	  0x100000u
#define P_H_VIRQ  (P_CODE + 0x300)
#define P_H_TIMER (P_CODE + 0x340)
#define P_H_OTHER (P_CODE + 0x380)
#define P_GDTR	  (P_CODE + 0x400)
#define P_GDT	  (P_CODE + 0x410)
#define P_IDTR	  (P_CODE + 0x440)
#define P_IDT	  (P_CODE + 0x800)
#define P_STACK	  (P_CODE + 0x2000)
#define P_APIC	  0xfee00000u
#define P_MARK	  0x80
#define P_END	  0x81
#define P_TIMEOUT_NS 2000000000ull
/* 100 us at KVM's 1 GHz APIC bus, divide by 1: quick, yet clearly later. */
#define P_TIMER_COUNT 100000u

enum { M_WAIT = 1, M_VIRQ = 2, M_TIMER = 3, M_OTHER = 4, M_MAX = 8 };

struct code {
	uint8_t *p;
	size_t n;
};

static void put(struct code *c, const void *b, size_t n)
{
	memcpy(c->p + c->n, b, n);
	c->n += n;
}

static void put32(struct code *c, uint32_t v) { put(c, &v, 4); }

static void mov_mem(struct code *c, uint32_t addr, uint32_t v) /* mov dword [addr], v */
{
	put(c, "\xc7\x05", 2), put32(c, addr), put32(c, v);
}

static void mark(struct code *c, uint32_t v) /* mov eax, v; out P_MARK, eax */
{
	put(c, "\xb8", 1), put32(c, v), put(c, "\xe7\x80", 2);
}

static void jmp_to(struct code *c, uint32_t base, uint32_t to) /* jmp rel32 */
{
	put(c, "\xe9", 1), put32(c, to - (base + (uint32_t)c->n + 4));
}

/* A handler: mark, EOI, drop the interrupt frame, jump on. */
static void handler(uint8_t *img, uint32_t at, uint32_t m, uint32_t next)
{
	struct code c = {img + (at - P_CODE), 0};

	mark(&c, m);
	mov_mem(&c, P_APIC + 0xb0, 0);
	put(&c, "\x83\xc4\x0c", 3); /* add esp, 12 */
	jmp_to(&c, at, next);
}

static void build(uint8_t *img)
{
	static const uint64_t gdt[] = {0, 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull,
				       0x00cf92000000ffffull};
	struct code c = {img, 0};
	uint32_t phase2, end, base;
	uint8_t desc[6];

	put(&c, "\xbc", 1), put32(&c, P_STACK);		/* mov esp */
	put(&c, "\x0f\x01\x15", 3), put32(&c, P_GDTR); /* lgdt */
	put(&c, "\x0f\x01\x1d", 3), put32(&c, P_IDTR); /* lidt */
	mov_mem(&c, P_APIC + 0xf0, 0x1ff);		/* SVR: APIC on */
	mark(&c, M_WAIT);
	put(&c, "\xfb\xf4\xfa", 3);			/* sti; hlt; cli */
	jmp_to(&c, P_CODE, P_H_OTHER);			/* woken by nothing of ours */
	phase2 = P_CODE + (uint32_t)c.n;
	mov_mem(&c, P_APIC + 0x3e0, 0xb);		/* divide by 1 */
	mov_mem(&c, P_APIC + 0x320, HVB_VEC_TIMER);	/* one-shot */
	mov_mem(&c, P_APIC + 0x380, P_TIMER_COUNT);
	put(&c, "\xfb\xf4\xfa", 3);
	jmp_to(&c, P_CODE, P_H_OTHER);
	end = P_CODE + (uint32_t)c.n;
	put(&c, "\xe7\x81\xeb\xfe", 4);			/* out P_END; jmp $ */
	handler(img, P_H_VIRQ, M_VIRQ, phase2);
	handler(img, P_H_TIMER, M_TIMER, end);
	c = (struct code){img + (P_H_OTHER - P_CODE), 0};
	mark(&c, M_OTHER);
	put(&c, "\xe7\x81\xeb\xfe", 4);
	memcpy(img + (P_GDT - P_CODE), gdt, sizeof(gdt));
	desc[0] = sizeof(gdt) - 1, desc[1] = 0, base = P_GDT, memcpy(desc + 2, &base, 4);
	memcpy(img + (P_GDTR - P_CODE), desc, 6);
	desc[0] = 0xff, desc[1] = 0x07, base = P_IDT, memcpy(desc + 2, &base, 4);
	memcpy(img + (P_IDTR - P_CODE), desc, 6);
	for (unsigned v = 0; v < 256; v++) {
		uint32_t h = v == HVB_VEC_VIRQ ? P_H_VIRQ : v == HVB_VEC_TIMER ? P_H_TIMER : P_H_OTHER;
		uint8_t *e = img + (P_IDT - P_CODE) + v * 8;
		e[0] = h & 0xff, e[1] = (h >> 8) & 0xff, e[2] = 0x10, e[3] = 0;
		e[4] = 0, e[5] = 0x8e, e[6] = (h >> 16) & 0xff, e[7] = h >> 24;
	}
}

struct probe_run {
	int irqfd;
	unsigned n;
	uint32_t marks[M_MAX];
};

static int on_port(void *opaque, struct vcpu *vcpu, uint16_t port, uint8_t *data,
		   unsigned size, bool out)
{
	struct probe_run *p = opaque;
	uint32_t v = 0;
	uint64_t one = 1;

	(void)out;
	if (port == P_END)
		return vm_stop(vcpu->vm, vcpu, HV_SHUTDOWN, "probe guest ended");
	memcpy(&v, data, size < 4 ? size : 4);
	if (p->n < M_MAX)
		p->marks[p->n++] = v;
	/* Raised while the guest has IF=0: `sti; hlt` must take it. */
	if (v == M_WAIT && write(p->irqfd, &one, sizeof(one)) != sizeof(one))
		return vm_stop(vcpu->vm, vcpu, HV_HOST_ERROR, "irqfd write failed");
	return HV_CONTINUE;
}

static int setup(struct vm *vm, enum hv_irqchip mode, struct probe_run *p)
{
	static uint8_t img[0x1000];
	struct vcpu *v;
	int r;

	memset(img, 0, sizeof(img));
	build(img);
	r = vm_irqchip_create(vm, mode);
	if (!r)
		r = vm_mem_add(vm, 0, 4u << 20);
	if (!r)
		r = vcpu_create(vm, 0, &v);
	if (!r)
		r = vcpu_cpuid_init(v);
	if (!r)
		r = vcpu_lapic_setup(v);
	if (!r)
		r = vcpu_setup_pvh(v, P_CODE);
	if (!r)
		r = vm_gpa_write(vm, P_CODE, img, sizeof(img));
	if (!r)
		r = vm_pio_register(vm, P_MARK, P_END, on_port, p, "irq probe");
	if (!r)
		r = vm_irqfd_add(vm, HVB_VEC_VIRQ, 0, &p->irqfd);
	return r;
}

static bool judge(const struct vm *vm, const struct probe_run *p, char *why, size_t len)
{
	static const char *const names[] = {"?", "wait", "irqfd vector", "LAPIC timer", "another vector"};

	if (p->n == 3 && p->marks[1] == M_VIRQ && p->marks[2] == M_TIMER &&
	    vm->verdict.outcome == HV_SHUTDOWN)
		return true;
	if (p->n >= 2 && p->marks[p->n - 1] == M_OTHER)
		snprintf(why, len, "the probe guest got another vector instead of the %s",
			 p->n == 2 ? "irqfd's" : "LAPIC timer's");
	else
		snprintf(why, len, "the probe guest did not see the %s (%s: %s)",
			 p->n < 2 ? names[M_VIRQ] : names[M_TIMER],
			 hv_outcome_name(vm->verdict.outcome), vm->verdict.msg);
	return false;
}

bool __hv_irq_probe(enum hv_irqchip mode, char *why, size_t len)
{
	const struct hv_run_opts o = {.timeout_ns = P_TIMEOUT_NS};
	struct probe_run p = {.irqfd = -1};
	struct vm *vm;
	bool ok;
	int r;

	if (mode == HV_IRQCHIP_NONE) {
		snprintf(why, len, "no irqchip");
		return false;
	}
	r = vm_create(&vm, NULL);
	if (r) {
		snprintf(why, len, "cannot create the probe VM: %s", strerror(-r));
		return false;
	}
	r = setup(vm, mode, &p);
	if (r) {
		snprintf(why, len, "cannot set up the probe VM (%s irqchip): %s",
			 hv_irqchip_name(mode), strerror(-r));
		vm_destroy(vm);
		return false;
	}
	vcpu_run(vm->vcpus[0], &o);
	ok = judge(vm, &p, why, len);
	vm_destroy(vm);
	return ok;
}

bool hv_irq_probe(enum hv_irqchip mode, char *why, size_t len)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static int answer[3]; /* 0 = not asked, 1 = yes, -1 = no */
	static char reason[3][200];
	bool ok;

	if ((unsigned)mode >= 3)
		return false;
	pthread_mutex_lock(&lock);
	if (!answer[mode]) {
		answer[mode] = __hv_irq_probe(mode, reason[mode], sizeof(reason[mode])) ? 1 : -1;
	}
	ok = answer[mode] > 0;
	if (!ok)
		snprintf(why, len, "%s", reason[mode]);
	pthread_mutex_unlock(&lock);
	return ok;
}
