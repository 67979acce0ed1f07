/*
 * Interrupts and APs in the reference core (hv/irqchip.c, hv/smp.c,
 * hv/dev_irqbench.c) with a hand-made 32-bit guest: irqchip creation and
 * its refusals, an irqfd whose MSI route wakes a halted vCPU 0 with the
 * right vector, two vCPUs that both reach their marker (the AP at its entry
 * with %esi = 1), hostile APs (one spins at its entry and never reports:
 * the run still ends with vCPU 0; one triple-faults: the halted vCPU 0 is
 * kicked out within the watchdog's poll and the run is a crash), the
 * interrupt bench device (a kick with an injection is
 * served once and stamped; a hostile virq_cpu ends the run with a verdict
 * naming it) and no fd left behind by vm_destroy.  Skips without /dev/kvm;
 * delivery checks skip where no irqchip can be created.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "dev.h"
#include "dev_irqbench.h"
#include "exit.h"
#include "irq_probe.h"
#include "irqchip.h"
#include "mem.h"
#include "pvh.h"
#include "smp.h"
#include "watchdog.h"

#define CODE	 0x100000u
#define AP_CODE	 (CODE + 0x200)
#define H_VIRQ	 (CODE + 0x300)
#define H_OTHER	 (CODE + 0x380)
#define GDTR	 (CODE + 0x400)
#define GDT	 (CODE + 0x410)
#define IDTR	 (CODE + 0x440)
#define IDT	 (CODE + 0x800)
#define STACK	 (CODE + 0x2000)
#define APIC	 0xfee00000u
#define PORT_MARK 0x80 /* out: eax = marker */
#define PORT_END  0x81 /* out: the run ends (shutdown) */

enum { MARK_WAIT = 1, MARK_AFTER = 2, MARK_VIRQ = 0xe5, MARK_OTHER = 0xbad, MARK_AP = 0x100 };

/* ------------------------------------------------------------ guest */

struct asm32 {
	uint8_t *p;
	size_t n;
};

static void emit(struct asm32 *a, const void *b, size_t n)
{
	memcpy(a->p + a->n, b, n);
	a->n += n;
}

static void emit_u8(struct asm32 *a, uint8_t b) { emit(a, &b, 1); }
static void emit_u32(struct asm32 *a, uint32_t v) { emit(a, &v, 4); }

static void mov_mem_imm(struct asm32 *a, uint32_t addr, uint32_t v) /* mov dword [addr], v */
{
	emit(a, "\xc7\x05", 2), emit_u32(a, addr), emit_u32(a, v);
}

static void mark(struct asm32 *a, uint32_t v) /* mov eax, v; out 0x80, eax */
{
	emit_u8(a, 0xb8), emit_u32(a, v), emit(a, "\xe7\x80", 2);
}

static void jmp_abs(struct asm32 *a, uint32_t base, uint32_t to) /* jmp rel32 */
{
	emit_u8(a, 0xe9), emit_u32(a, to - (base + (uint32_t)a->n + 4));
}

enum ap_kind { AP_MARK_HALT, AP_SPIN, AP_CRASH };

struct guest_opts {
	bool kick;	   /* kick the bench device with virq_req (else: wait for the test's irqfd) */
	uint32_t virq_cpu; /* the device's target */
	enum ap_kind ap;   /* what the APs do */
};

/* vCPU 0: GDT, IDT, APIC on, [kick], mark WAIT, sti; hlt; the VIRQ
 * handler marks VIRQ, EOIs and jumps on (no iret: 32-bit iret is emulated
 * and fails under PVM, which is beside the point here) to mark AFTER, end. */
static uint32_t bsp_code(uint8_t *img, const struct guest_opts *o)
{
	struct asm32 a = {img, 0};
	uint32_t after;

	emit_u8(&a, 0xbc), emit_u32(&a, STACK);		       /* mov esp, STACK */
	emit(&a, "\x0f\x01\x15", 3), emit_u32(&a, GDTR);       /* lgdt [GDTR] */
	emit(&a, "\x0f\x01\x1d", 3), emit_u32(&a, IDTR);       /* lidt [IDTR] */
	mov_mem_imm(&a, APIC + 0xf0, 0x1ff);		       /* SVR: enabled, spurious 0xff */
	if (o->kick) {
		const uint32_t sh = (uint32_t)HVB_SHARED_IRQ;
		mov_mem_imm(&a, sh + offsetof(struct hvb_irq_shared, seq), 7);
		mov_mem_imm(&a, sh + offsetof(struct hvb_irq_shared, virq_cpu), o->virq_cpu);
		mov_mem_imm(&a, sh + offsetof(struct hvb_irq_shared, virq_req), 1);
		emit(&a, "\x66\xba", 2), emit(&a, &(uint16_t){HVB_PORT_KICK}, 2); /* mov dx, KICK */
		emit_u8(&a, 0xee);					     /* out dx, al */
	}
	mark(&a, MARK_WAIT);
	emit(&a, "\xfb\xf4", 2); /* sti; hlt */
	emit_u8(&a, 0xfa);	 /* cli: woken by something else: fall through */
	after = CODE + (uint32_t)a.n;
	mark(&a, MARK_AFTER);
	emit(&a, "\xe7\x81", 2); /* out 0x81, eax: the end */
	emit(&a, "\xeb\xfe", 2);
	return after;
}

/* AP: mark 0x100 | esi, then halt with interrupts off for good; or, as a
 * hostile guest, spin at its entry forever, or fault with no IDT (a triple
 * fault: the VM crashes). */
static void ap_code(uint8_t *p, enum ap_kind kind)
{
	struct asm32 a = {p, 0};

	if (kind == AP_SPIN) {
		emit(&a, "\xeb\xfe", 2); /* jmp $ */
		return;
	}
	if (kind == AP_CRASH) {
		emit(&a, "\x0f\x0b", 2); /* ud2 */
		return;
	}

	emit(&a, "\x89\xf0", 2);			/* mov eax, esi */
	emit_u8(&a, 0x0d), emit_u32(&a, MARK_AP);	/* or eax, MARK_AP */
	emit(&a, "\xe7\x80", 2);			/* out 0x80, eax */
	emit(&a, "\xfa\xf4\xeb\xfd", 4);		/* cli; hlt; jmp hlt */
}

static void handlers(uint8_t *img, uint32_t after)
{
	struct asm32 a = {img + (H_VIRQ - CODE), 0};

	mark(&a, MARK_VIRQ);
	mov_mem_imm(&a, APIC + 0xb0, 0);  /* EOI */
	emit(&a, "\x83\xc4\x0c", 3);	  /* add esp, 12: drop the frame */
	jmp_abs(&a, H_VIRQ, after);
	a = (struct asm32){img + (H_OTHER - CODE), 0};
	mark(&a, MARK_OTHER);
	emit(&a, "\xe7\x81\xeb\xfe", 4);
}

static void tables(uint8_t *img)
{
	static const uint64_t gdt[] = {0, 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull,
				       0x00cf92000000ffffull};
	uint8_t desc[6];
	uint32_t base;

	memcpy(img + (GDT - CODE), gdt, sizeof(gdt));
	desc[0] = sizeof(gdt) - 1, desc[1] = 0, base = GDT, memcpy(desc + 2, &base, 4);
	memcpy(img + (GDTR - CODE), desc, 6);
	desc[0] = 0xff, desc[1] = 0x07, base = IDT, memcpy(desc + 2, &base, 4);
	memcpy(img + (IDTR - CODE), desc, 6);
	for (unsigned v = 0; v < 256; v++) {
		uint32_t h = v == HVB_VEC_VIRQ ? H_VIRQ : H_OTHER;
		uint8_t *e = img + (IDT - CODE) + v * 8;
		e[0] = h & 0xff, e[1] = (h >> 8) & 0xff, e[2] = 0x10, e[3] = 0;
		e[4] = 0, e[5] = 0x8e, e[6] = (h >> 16) & 0xff, e[7] = h >> 24;
	}
}

/* ------------------------------------------------------------ host side */

struct run {
	struct vm *vm;
	bool wait_ap; /* vCPU 0 waits for the AP's marker before it goes on */
	int irqfd; /* written when vCPU 0 marks WAIT (-1 = none) */
	int marks[HV_MAX_VCPUS][4];
	unsigned n_marks[HV_MAX_VCPUS];
};

static int on_port(void *opaque, struct vcpu *vcpu, uint16_t port, uint8_t *data,
		   unsigned size, bool out)
{
	struct run *r = opaque;
	uint32_t v = 0;
	uint64_t one = 1;

	(void)out;
	if (port == PORT_END)
		return vm_stop(vcpu->vm, vcpu, HV_SHUTDOWN, "guest ended");
	memcpy(&v, data, size < 4 ? size : 4);
	if (r->n_marks[vcpu->id] < 4) {
		r->marks[vcpu->id][r->n_marks[vcpu->id]] = (int)v;
		__atomic_add_fetch(&r->n_marks[vcpu->id], 1, __ATOMIC_RELEASE);
	}
	/* Two vCPUs: vCPU 0 does not end the run before the AP reported (or
	 * 2 s passed: the test then fails on the AP's marks). */
	for (uint64_t t0 = hv_now_ns(); vcpu->id == 0 && v == MARK_WAIT && r->wait_ap &&
					!__atomic_load_n(&r->n_marks[1], __ATOMIC_ACQUIRE) &&
					hv_now_ns() - t0 < 2000000000ull;)
		usleep(1000);
	/* The interrupt is pending while the guest still has IF=0: sti; hlt
	 * takes it (no timing involved). */
	if (vcpu->id == 0 && v == MARK_WAIT && r->irqfd >= 0 &&
	    write(r->irqfd, &one, sizeof(one)) != sizeof(one))
		return vm_stop(vcpu->vm, vcpu, HV_HOST_ERROR, "irqfd write failed");
	return HV_CONTINUE;
}

/* A VM with n vCPUs, the guest loaded, irqchip `mode`; NULL on failure. */
static struct vm *guest_vm(struct run *run, enum hv_irqchip mode, unsigned n,
			   const struct guest_opts *o)
{
	static uint8_t img[0x1000];
	struct vm *vm;
	struct vcpu *v;
	uint32_t after;
	int r;

	memset(img, 0, sizeof(img));
	after = bsp_code(img, o);
	ap_code(img + (AP_CODE - CODE), o->ap);
	handlers(img, after);
	tables(img);
	if (vm_create(&vm, NULL))
		return NULL;
	r = vm_irqchip_create(vm, mode);
	if (!r)
		r = vm_mem_add(vm, 0, 4u << 20);
	for (unsigned i = 0; !r && i < n; i++) {
		r = vcpu_create(vm, i, &v);
		if (!r)
			r = vcpu_cpuid_init(v);
		if (!r)
			r = vcpu_lapic_setup(v);
		if (!r)
			r = i ? vcpu_setup_ap(v, AP_CODE) : vcpu_setup_pvh(v, CODE);
	}
	if (!r)
		r = vm_gpa_write(vm, CODE, img, sizeof(img));
	if (!r)
		r = vm_pio_register(vm, PORT_MARK, PORT_END, on_port, run, "test");
	if (r) {
		vm_destroy(vm);
		return NULL;
	}
	run->vm = vm;
	run->irqfd = -1;
	run->wait_ap = n > 1 && o->ap == AP_MARK_HALT;
	return vm;
}

static const struct hv_run_opts run_opts = {.timeout_ns = 5000000000ull};

/* ------------------------------------------------------------ tests */

static void test_create_and_refusals(void)
{
	struct vm *vm;
	struct vcpu *v;
	enum hv_irqchip got = HV_IRQCHIP_KERNEL;
	char why[200];
	int fd;

	if (vm_create(&vm, NULL)) {
		TAP_OK(0, "VM created");
		return;
	}
	TAP_EQ_INT(vm_irqchip_create(vm, HV_IRQCHIP_NONE), 0, "irqchip none is always fine");
	TAP_EQ_INT(vm_irqfd_add(vm, HVB_VEC_VIRQ, 0, &fd), -ENODEV, "no irqfd without an irqchip");
	TAP_EQ_INT(vm_irqchip_create_best(vm, HV_IRQCHIP_SPLIT, &got, why, sizeof(why)), 0,
		   "best irqchip: split, else kernel, else none");
	TAP_OK(got == vm->irqchip, "what it reports is what the VM has");
	printf("# irqchip here: %s%s%s\n", hv_irqchip_name(got), why[0] ? ": " : "", why);
	TAP_EQ_INT(vm_irqchip_create(vm, HV_IRQCHIP_KERNEL), got == HV_IRQCHIP_NONE ? 0 : -EBUSY,
		   "a second irqchip is refused");
	TAP_EQ_INT(vcpu_create(vm, 0, &v), 0, "vCPU created");
	TAP_EQ_INT(vm_irqchip_create(vm, HV_IRQCHIP_SPLIT), -EBUSY,
		   "an irqchip after the first vCPU is refused");
	if (vm->irqchip != HV_IRQCHIP_NONE) {
		TAP_EQ_INT(vm_irqfd_add(vm, 7, 0, &fd), -EINVAL, "an exception vector is refused");
		TAP_EQ_INT(vm_irqfd_add(vm, HVB_VEC_VIRQ, 1, &fd), -EINVAL,
			   "a destination beyond the vCPUs is refused");
		TAP_EQ_INT(vm_irqfd_add(vm, HVB_VEC_VIRQ, 0, &fd), 0, "irqfd with its MSI route");
		TAP_EQ_INT(vm->n_irqfds, 1, "the route is installed");
		TAP_EQ_INT(vm->routes[0].u.msi.data, HVB_VEC_VIRQ, "route carries the vector");
		TAP_EQ_INT(vcpu_lapic_setup(v), 0, "LAPIC set up (LINT0/1 masked)");
	}
	TAP_OK(hv_irqchip_parse("split", &got) && got == HV_IRQCHIP_SPLIT, "'split' parses");
	TAP_OK(!hv_irqchip_parse("ioapic", &got), "'ioapic' does not");
	vm_destroy(vm);
}

static void test_irqfd_wakes_halted_vcpu(enum hv_irqchip mode)
{
	const struct guest_opts o = {0};
	struct run run = {0};
	struct vm *vm = guest_vm(&run, mode, 1, &o);
	char what[120];

	snprintf(what, sizeof(what), "%s irqchip: guest VM built", hv_irqchip_name(mode));
	if (!vm) {
		TAP_SKIP("this KVM refuses the irqchip");
		return;
	}
	TAP_OK(vm, what);
	TAP_EQ_INT(vm_irqfd_add(vm, HVB_VEC_VIRQ, 0, &run.irqfd), 0, "irqfd to vCPU 0");
	TAP_EQ_INT(vcpu_run(vm->vcpus[0], &run_opts), HV_SHUTDOWN, "the guest ran to its end");
	TAP_EQ_INT(run.n_marks[0], 3, "three marks: wait, the handler, after");
	TAP_EQ_INT(run.marks[0][1], MARK_VIRQ, "the irqfd raised HVB_VEC_VIRQ in sti; hlt");
	TAP_EQ_INT(vm->vcpus[0]->exit_counts[KVM_EXIT_HLT], 0, "hlt handled in the kernel");
	if (run.n_marks[0] != 3)
		printf("# verdict: %s\n", vm->verdict.msg);
	vm_destroy(vm);
}

static void test_two_vcpus(void)
{
	const struct guest_opts o = {0};
	struct run run = {0};
	struct vm *vm = guest_vm(&run, HV_IRQCHIP_SPLIT, 2, &o);
	struct hv_smp smp = {0};
	int cpus[HV_MAX_VCPUS] = {-1, -1};
	uint32_t mp = 99;

	if (!vm) {
		TAP_SKIP("no split irqchip here");
		return;
	}
	TAP_EQ_INT(vcpu_mp_state_get(vm->vcpus[1], &mp), 0, "AP's MP state readable");
	TAP_EQ_INT(mp, KVM_MP_STATE_RUNNABLE, "AP made RUNNABLE (no SIPI needed)");
	TAP_EQ_INT(vm_irqfd_add(vm, HVB_VEC_VIRQ, 0, &run.irqfd), 0, "irqfd to vCPU 0");
	TAP_EQ_INT(hv_smp_start(&smp, vm, cpus, &run_opts), 0, "AP thread started");
	TAP_EQ_INT(vcpu_run(vm->vcpus[0], &run_opts), HV_SHUTDOWN, "vCPU 0 ran to its end");
	TAP_EQ_INT(hv_smp_join(&smp, 2000000000ull), 0,
		   "the halted AP was kicked out of KVM_RUN and joined");
	TAP_EQ_INT(run.n_marks[1], 1, "the AP reached its marker once");
	TAP_EQ_INT(run.marks[1][0], MARK_AP | 1, "with %esi = its index");
	TAP_OK(smp.ap[1].cpu_first >= 0, "the AP thread's CPU was read back");
	TAP_EQ_INT(vm->verdict.outcome, HV_SHUTDOWN, "the verdict is vCPU 0's shutdown");
	vm_destroy(vm);
}

/* Hostile APs: one that spins at its entry, one that crashes the VM. */
static void test_hostile_ap(enum ap_kind kind)
{
	const struct guest_opts o = {.ap = kind};
	struct run run = {0};
	struct vm *vm = guest_vm(&run, HV_IRQCHIP_SPLIT, 2, &o);
	struct hv_smp smp = {0};
	enum hv_outcome oc;
	uint64_t t0;

	if (!vm) {
		TAP_SKIP("no split irqchip here");
		return;
	}
	t0 = hv_now_ns();
	TAP_EQ_INT(hv_smp_start(&smp, vm, NULL, &run_opts), 0, "AP thread started");
	if (kind == AP_CRASH) {
		/* No irqfd: vCPU 0 halts until the AP's crash ends the run. */
		oc = vcpu_run(vm->vcpus[0], &run_opts);
		TAP_EQ_INT(oc, HV_CRASH, "an AP's triple fault ends the whole run as a crash");
		printf("# crash after %.3f s: %s\n", (hv_now_ns() - t0) / 1e9, vm->verdict.msg);
		TAP_OK(hv_now_ns() - t0 < 2000000000ull,
		       "vCPU 0, halted, was kicked out at once (not at its 5 s watchdog)");
	} else {
		TAP_EQ_INT(vm_irqfd_add(vm, HVB_VEC_VIRQ, 0, &run.irqfd), 0, "irqfd to vCPU 0");
		oc = vcpu_run(vm->vcpus[0], &run_opts);
		TAP_EQ_INT(oc, HV_SHUTDOWN, "vCPU 0 ends the run though the AP never came up");
		TAP_EQ_INT(run.n_marks[1], 0, "the AP never reported");
	}
	TAP_EQ_INT(hv_smp_join(&smp, 2000000000ull), 0, "the AP thread was joined, no hang");
	vm_destroy(vm);
}

static void test_irqbench(uint32_t virq_cpu)
{
	const struct guest_opts o = {.kick = true, .virq_cpu = virq_cpu};
	const struct hv_irqbench_config cfg = {.io_cpu = -1, .seccomp = true};
	struct run run = {0};
	struct vm *vm = guest_vm(&run, HV_IRQCHIP_SPLIT, 1, &o);
	struct hv_irqbench *d = NULL;
	struct hv_irqbench_stats st;
	const struct hvb_irq_shared *sh;
	enum hv_outcome oc;

	if (!vm) {
		TAP_SKIP("no split irqchip here");
		return;
	}
	TAP_EQ_INT(dev_irqbench_attach(vm, &cfg, &d), 0, "interrupt bench device attached");
	if (!d) {
		vm_destroy(vm);
		return;
	}
	oc = vcpu_run(vm->vcpus[0], &run_opts);
	dev_irqbench_stats(d, &st);
	sh = vm_gpa_to_hva_checked(vm, HVB_SHARED_IRQ, sizeof(*sh));
	TAP_OK(st.virq, "injections possible (irqfd per vCPU)");
	TAP_EQ_INT(st.kicks, 1, "the kick was seen exactly once");
	if (virq_cpu == 0) {
		TAP_EQ_INT(oc, HV_SHUTDOWN, "the guest ran to its end");
		TAP_EQ_INT(st.injections, 1, "one injection");
		TAP_EQ_INT(run.marks[0][1], MARK_VIRQ, "HVB_VEC_VIRQ reached the guest");
		TAP_OK(sh && sh->kick_seq == 7 && sh->kicks == 1 && sh->injections == 1,
		       "the shared page says seq 7, one kick, one injection");
		TAP_OK(sh && sh->kick_rx_tsc && sh->inject_tsc >= sh->kick_rx_tsc,
		       "stamps: receipt, then injection");
	} else {
		TAP_EQ_INT(oc, HV_GUEST_ERROR, "hostile virq_cpu: the run ends as a guest error");
		TAP_OK(strstr(vm->verdict.msg, "vCPU 5"), "the verdict names the vCPU asked for");
		TAP_EQ_INT(st.injections, 0, "nothing was injected");
		TAP_EQ_INT(st.bad_requests, 1, "the bad request was counted");
	}
	dev_irqbench_detach(d);
	vm_destroy(vm);
}

static void test_probe(void)
{
	char why[200] = "";
	bool ok = __hv_irq_probe(HV_IRQCHIP_SPLIT, why, sizeof(why));

	if (!ok)
		printf("# probe: %s\n", why);
	TAP_OK(ok, "delivery probe: irqfd vector and LAPIC timer both woke sti; hlt");
	TAP_OK(!__hv_irq_probe(HV_IRQCHIP_NONE, why, sizeof(why)) && strstr(why, "no irqchip"),
	       "no irqchip: the probe says no, and why");
	TAP_EQ_INT(hv_irq_probe(HV_IRQCHIP_SPLIT, why, sizeof(why)), ok, "cached answer agrees");
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_no_fd_leak(void)
{
	const struct guest_opts o = {.kick = true};
	const struct hv_irqbench_config cfg = {.io_cpu = -1};
	int before = count_fds(), fd;
	struct run run = {0};
	struct vm *vm = guest_vm(&run, HV_IRQCHIP_SPLIT, 2, &o);
	struct hv_irqbench *d = NULL;

	if (!vm) {
		TAP_SKIP("no split irqchip here");
		return;
	}
	vm_irqfd_add(vm, HVB_VEC_SELF, 1, &fd);
	dev_irqbench_attach(vm, &cfg, &d);
	TAP_OK(count_fds() > before, "the VM, vCPUs, irqfds and the device hold fds");
	dev_irqbench_detach(d);
	vm_destroy(vm);
	TAP_EQ_INT(count_fds(), before, "none left after detach + vm_destroy");
}

int main(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	char why[200];

	if (fd < 0) {
		snprintf(why, sizeof(why), "/dev/kvm unusable: %s", strerror(errno));
		TAP_SKIP(why);
		return tap_done();
	}
	close(fd);
	test_create_and_refusals();
	test_irqfd_wakes_halted_vcpu(HV_IRQCHIP_SPLIT);
	test_irqfd_wakes_halted_vcpu(HV_IRQCHIP_KERNEL);
	test_two_vcpus();
	test_hostile_ap(AP_SPIN);
	test_hostile_ap(AP_CRASH);
	test_irqbench(0);
	test_irqbench(5);
	test_no_fd_leak();
	test_probe();
	return tap_done();
}
