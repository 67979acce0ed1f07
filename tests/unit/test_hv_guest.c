/*
 * Hostile and well-behaved tiny guests under the reference core (hv/):
 * each run must end with the right verdict, quickly, with the host intact.
 * Skips visibly when /dev/kvm is absent or unusable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tap.h"
#include "dev.h"
#include "elf_load.h"
#include "exit.h"
#include "mem.h"
#include "pvh.h"
#include "vm.h"
#include "watchdog.h"
#include "unit/hv_testimg.h"

#define RAM	 (16ull << 20)
#define DATA_OFF 0x800 /* records prepared by the test live at TIMG_LOAD + DATA_OFF */

struct boot {
	struct vm *vm;
	struct vcpu *vcpu;
	struct hv_console con;
	struct hv_hvb hvb;
	unsigned lines, records;
	char last_line[HV_CONSOLE_LINE_MAX + 1];
	struct hvb_record last_rec;
	uint64_t ms;
};

static void on_line(void *arg, const char *text)
{
	struct boot *b = arg;

	b->lines++;
	snprintf(b->last_line, sizeof(b->last_line), "%s", text);
}

static int on_record(void *arg, struct vcpu *vcpu, const struct hvb_record *rec, char *why,
		     size_t len)
{
	struct boot *b = arg;

	(void)vcpu;
	b->records++;
	b->last_rec = *rec;
	if (rec->magic != HVB_RECORD_MAGIC) {
		snprintf(why, len, "bad magic 0x%x", rec->magic);
		return -1;
	}
	return 0;
}

/* Boot code (with optional data at DATA_OFF) and run it with a timeout. */
static enum hv_outcome boot(struct boot *b, const struct asm32 *a, double timeout_s,
			    uint64_t console_budget)
{
	static uint8_t img[TIMG_MAX];
	struct timg t = {.code = a->b, .code_len = a->n};
	struct hv_image hi;
	char err[256];
	size_t len = timg_build(img, &t);
	struct hv_run_opts o = {.timeout_ns = (uint64_t)(timeout_s * 1e9)};
	uint64_t t0;

	memset(b, 0, sizeof(*b));
	if (vm_create(&b->vm, NULL) || vm_mem_add(b->vm, 0, RAM) ||
	    vcpu_create(b->vm, 0, &b->vcpu) ||
	    vm_load_elf(b->vm, img, len, &hi, err, sizeof(err)) || vm_pvh_setup(b->vm, "test") ||
	    vcpu_setup_pvh(b->vcpu, hi.entry) ||
	    dev_console_attach(b->vm, &b->con, console_budget, on_line, b))
		return HV_HOST_ERROR;
	b->hvb.record = on_record;
	b->hvb.arg = b;
	if (dev_hvb_attach(b->vm, &b->hvb))
		return HV_HOST_ERROR;
	t0 = hv_now_ns();
	vcpu_run(b->vcpu, &o);
	b->ms = (hv_now_ns() - t0) / 1000000;
	dev_console_flush(&b->con);
	printf("# verdict: %s: %s (rip 0x%llx, %llu ms)\n", hv_outcome_name(b->vm->verdict.outcome),
	       b->vm->verdict.msg, (unsigned long long)b->vm->verdict.rip,
	       (unsigned long long)b->ms);
	return b->vm->verdict.outcome;
}

static void done(struct boot *b)
{
	vm_destroy(b->vm);
	b->vm = NULL;
}

static void put_record(struct asm32 *a, uint16_t type, uint64_t u0, uint64_t u1)
{
	struct hvb_record r = {
	    .magic = HVB_RECORD_MAGIC, .version = HVB_ABI_VERSION, .type = type, .size = sizeof(r)};

	r.u64[0] = u0, r.u64[1] = u1;
	memcpy(a->b + DATA_OFF, &r, sizeof(r));
	if (a->n < DATA_OFF + sizeof(r))
		a->n = DATA_OFF + sizeof(r);
}

static void test_clean_shutdown(void)
{
	struct asm32 a = {.n = 0};
	struct boot b;

	a_shutdown(&a, 7);
	TAP_EQ_INT(boot(&b, &a, 10, 0), HV_SHUTDOWN, "guest that shuts down: verdict shutdown");
	TAP_EQ_INT(b.vm->verdict.guest_code, 7, "... with the guest's code");
	done(&b);
}

static void test_record(void)
{
	struct asm32 a = {.n = 0};
	struct boot b;

	a_send_record(&a, TIMG_LOAD + DATA_OFF);
	a_shutdown(&a, 0);
	put_record(&a, HVB_REC_HELLO, 11, 22);
	TAP_EQ_INT(boot(&b, &a, 10, 0), HV_SHUTDOWN, "guest sending a record shuts down");
	TAP_OK(b.records == 1 && b.last_rec.type == HVB_REC_HELLO && b.last_rec.u64[1] == 22,
	       "... and the record arrived intact");
	done(&b);
}

static void test_loop_forever(void)
{
	struct asm32 a = {.n = 0};
	struct boot b;

	a_jmp_self(&a);
	TAP_EQ_INT(boot(&b, &a, 1, 0), HV_TIMEOUT, "guest looping forever: verdict timeout");
	TAP_OK(b.vm->verdict.have_regs && b.vm->verdict.rip == TIMG_LOAD,
	       "... with the guest's rip at the loop");
	TAP_OK(b.ms < 5000, "... ends within seconds of the deadline");
	done(&b);
}

static void expect_guest_error(struct asm32 *a, const char *what, const char *needle)
{
	struct boot b;
	char desc[160];

	snprintf(desc, sizeof(desc), "%s: verdict guest error", what);
	TAP_EQ_INT(boot(&b, a, 10, 0), HV_GUEST_ERROR, desc);
	snprintf(desc, sizeof(desc), "... naming %s", needle);
	TAP_OK(strstr(b.vm->verdict.msg, needle) != NULL, desc);
	done(&b);
}

static void test_unknown_port(void)
{
	struct asm32 a = {.n = 0};

	a_mov_dx(&a, 0x1234), a_out_al(&a), a_shutdown(&a, 0);
	expect_guest_error(&a, "write to an unregistered port", "port 0x1234");
	a.n = 0;
	a_mov_dx(&a, 0x80), a_in_al(&a), a_shutdown(&a, 0);
	expect_guest_error(&a, "read from an unregistered port", "read from port 0x80");
	a.n = 0;
	a_mov_dx(&a, HVB_PORT_BENCH_USER + 1), a_out_al(&a), a_shutdown(&a, 0);
	expect_guest_error(&a, "write to an unused hvbench port", "port 0x505");
}

static void test_bad_mmio(void)
{
	struct asm32 a = {.n = 0};

	/* mov dword [0xe0000000], eax */
	a_u8(&a, 0xa3), a_u32(&a, 0xe0000000), a_shutdown(&a, 0);
	expect_guest_error(&a, "MMIO write outside any region", "0xe0000000");
	a.n = 0;
	/* mov eax, [0xe0001000] */
	a_u8(&a, 0xa1), a_u32(&a, 0xe0001000), a_shutdown(&a, 0);
	expect_guest_error(&a, "MMIO read outside any region",
			   "read 4 bytes at guest-physical 0xe0001000");
}

static void test_bench_devices(void)
{
	struct asm32 a = {.n = 0};
	struct boot b;

	a_mov_dx(&a, HVB_PORT_BENCH_USER), a_out_al(&a), a_in_al(&a);
	a_mov_dx(&a, HVB_PORT_BENCH_KERN), a_out_al(&a);
	a_u8(&a, 0xa3), a_u32(&a, (uint32_t)HVB_MMIO_BENCH_USER); /* mov [user], eax */
	a_u8(&a, 0xa1), a_u32(&a, (uint32_t)HVB_MMIO_BENCH_USER); /* mov eax, [user] */
	a_u8(&a, 0xa3), a_u32(&a, (uint32_t)HVB_MMIO_BENCH_KERN); /* mov [kern], eax */
	a_shutdown(&a, 0);
	TAP_EQ_INT(boot(&b, &a, 10, 0), HV_SHUTDOWN,
		   "bench port and MMIO no-ops (user and kernel) run to shutdown");
	if (b.hvb.kern_ioeventfds)
		TAP_EQ_INT(b.hvb.kern_fallbacks, 0,
			   "... kernel-path writes never reached userspace");
	else
		TAP_SKIP("KVM offers no ioeventfd here");
	done(&b);
}

static void test_bad_record_address(void)
{
	struct asm32 a = {.n = 0};

	a_send_record(&a, 0xf0000000), a_shutdown(&a, 0);
	expect_guest_error(&a, "record address outside RAM", "record at 0xf0000000");
	a.n = 0;
	a_send_record(&a, (uint32_t)RAM - 100), a_shutdown(&a, 0); /* straddles the end of RAM */
	expect_guest_error(&a, "record straddling the end of RAM", "not inside guest RAM");
	a.n = 0;
	/* a 16-bit write to the record port */
	a_mov_dx(&a, HVB_PORT_RECORD), a_u8(&a, 0x66), a_out_eax(&a), a_shutdown(&a, 0);
	expect_guest_error(&a, "16-bit write to the record port", "32-bit outl");
}

static void test_bad_release(void)
{
	struct asm32 a = {.n = 0};
	struct boot b;

	a_send_record(&a, TIMG_LOAD + DATA_OFF), a_shutdown(&a, 0);
	put_record(&a, HVB_REC_RELEASE, 0x200000, ~0ull & ~0xfffull);
	expect_guest_error(&a, "release of a huge length", "not guest RAM");
	put_record(&a, HVB_REC_RELEASE, ~0xfffull, 0x2000); /* wraps */
	expect_guest_error(&a, "release wrapping the address space", "not guest RAM");
	put_record(&a, HVB_REC_RELEASE, 0x200800, 0x1000);
	expect_guest_error(&a, "unaligned release", "not page aligned");

	/* A good release: the guest writes a page, releases it, reads zero back. */
	a.n = 0;
	a_mov_eax(&a, 0x5a5a5a5a), a_u8(&a, 0xa3), a_u32(&a, 0x300000); /* mov [0x300000], eax */
	a_send_record(&a, TIMG_LOAD + DATA_OFF);
	a_u8(&a, 0xa1), a_u32(&a, 0x300000);			       /* mov eax, [0x300000] */
	a_mov_dx(&a, HVB_PORT_SHUTDOWN), a_out_al(&a), a_jmp_self(&a); /* exit code = al */
	put_record(&a, HVB_REC_RELEASE, 0x300000, 0x1000);
	TAP_EQ_INT(boot(&b, &a, 10, 0), HV_SHUTDOWN, "valid release runs to shutdown");
	TAP_OK(b.vm->verdict.guest_code == 0 && b.hvb.n_released == 1,
	       "... and the released page reads as zero afterwards");
	done(&b);
}

static void test_console_flood(void)
{
	struct asm32 a = {.n = 0};
	struct boot b;

	/* 256 KiB from guest memory: rep outsb in chunks, then shut down */
	a_mov_ecx(&a, 1u << 18), a_mov_esi(&a, 0x400000), a_mov_dx(&a, HVB_PORT_COM1);
	a_u8(&a, 0xf3), a_u8(&a, 0x6e); /* rep outsb */
	a_shutdown(&a, 0);
	TAP_EQ_INT(boot(&b, &a, 60, 4096), HV_SHUTDOWN, "console flood (256 KiB) runs to its end");
	TAP_OK(b.con.logged <= 4096 && b.con.dropped == (1u << 18) - b.con.logged,
	       "... logging only the budget and counting the rest as dropped");
	printf("# console: %llu bytes logged in %u lines, %llu dropped\n",
	       (unsigned long long)b.con.logged, b.lines, (unsigned long long)b.con.dropped);
	done(&b);
}

static void test_triple_fault(void)
{
	struct asm32 a = {.n = 0};
	struct boot b;

	a_u8(&a, 0x0f), a_u8(&a, 0x0b); /* ud2 with no IDT: #UD -> #DF -> triple fault */
	TAP_EQ_INT(boot(&b, &a, 10, 0), HV_CRASH, "fault in ring 0 without an IDT: verdict crash");
	TAP_OK(strstr(b.vm->verdict.msg, "triple") || strstr(b.vm->verdict.msg, "internal"),
	       "... saying triple fault (or KVM internal error)");
	done(&b);
}

static void test_cpuid_ring0(void)
{
	struct asm32 a = {.n = 0};
	struct boot b;
	enum hv_outcome o;

	a_mov_eax(&a, 0), a_u8(&a, 0x0f), a_u8(&a, 0xa2), a_shutdown(&a, 0); /* cpuid */
	o = boot(&b, &a, 2, 0);
	TAP_OK(o == HV_SHUTDOWN || o == HV_TIMEOUT || o == HV_CRASH,
	       "cpuid in ring 0 ends (runs, or the watchdog stops a hung KVM_RUN)");
	TAP_OK(b.ms < 10000, "... within seconds");
	done(&b);
}

static void test_vmmcall_ring0(void)
{
	struct asm32 a = {.n = 0};
	struct boot b;
	enum hv_outcome o;

	/* vmmcall in ring 0: KVM_RUN never returns by itself under PVM */
	a_mov_eax(&a, 0), a_u8(&a, 0x0f), a_u8(&a, 0x01), a_u8(&a, 0xd9), a_shutdown(&a, 0);
	o = boot(&b, &a, 1, 0);
	TAP_OK(o == HV_SHUTDOWN || o == HV_TIMEOUT,
	       "vmmcall in ring 0 ends (answered, or the watchdog stops a KVM_RUN that hangs)");
	TAP_OK(b.ms < 10000, "... within seconds");
	if (o == HV_TIMEOUT)
		TAP_OK(b.vm->verdict.have_regs && b.vm->verdict.rip == TIMG_LOAD + 5,
		       "... with the guest's rip at the vmmcall");
	else
		TAP_SKIP("vmmcall did not hang here: no rip to check");
	done(&b);
}

static void test_hlt(void)
{
	struct asm32 a = {.n = 0};
	struct boot b;

	/* hlt with interrupts off, three times: each exits and resumes */
	a_hlt(&a), a_hlt(&a), a_hlt(&a), a_shutdown(&a, 0);
	TAP_EQ_INT(boot(&b, &a, 10, 0), HV_SHUTDOWN,
		   "hlt with interrupts off resumes (halt exit + resume)");
	TAP_EQ_INT(b.vcpu ? b.vcpu->exit_counts[KVM_EXIT_HLT] : 0, 3, "... one hlt exit each");
	done(&b);
}

static void test_stop_flag(void)
{
	struct asm32 a = {.n = 0};
	static uint8_t img[TIMG_MAX];
	struct timg t;
	struct vm *vm;
	struct vcpu *vcpu;
	struct hv_image hi;
	char err[200];
	volatile int flag = 1;
	struct hv_run_opts o = {.timeout_ns = 30ull * 1000000000ull, .stop_flag = &flag};

	a_jmp_self(&a);
	t = (struct timg){.code = a.b, .code_len = a.n};
	size_t len = timg_build(img, &t);
	if (vm_create(&vm, NULL) || vm_mem_add(vm, 0, RAM) || vcpu_create(vm, 0, &vcpu) ||
	    vm_load_elf(vm, img, len, &hi, err, sizeof(err)) || vcpu_setup_pvh(vcpu, hi.entry)) {
		TAP_OK(0, "set up a VM for the stop-flag test");
		return;
	}
	TAP_EQ_INT(vcpu_run(vcpu, &o), HV_INTERRUPTED, "stop flag (SIGINT) ends a spinning guest");
	vm_destroy(vm);
}

/* The guest's IA32_TSC as KVM_GET_MSRS reads it; false if it cannot. */
static bool guest_tsc(struct vcpu *vcpu, uint64_t *tsc)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = {.hdr.nmsrs = 1, .e.index = 0x10 /* IA32_TSC */};

	if (ioctl(vcpu->fd, KVM_GET_MSRS, &m) != 1)
		return false;
	*tsc = m.e.data;
	return true;
}

/* vcpu_tsc_offset_set(0): the guest's TSC reads between two host rdtscs
 * taken around the read (KVM's default would start it near 0). */
static void test_tsc_offset(void)
{
	struct vm *vm;
	struct vcpu *vcpu;
	uint64_t before, tsc = 0, after;
	int r;

	if (vm_create(&vm, NULL) || vcpu_create(vm, 0, &vcpu)) {
		TAP_OK(0, "set up a VM for the TSC offset test");
		return;
	}
	r = vcpu_tsc_offset_set(vcpu, 0);
	if (r == -ENXIO || r == -ENOTTY) {
		TAP_SKIP("this KVM has no KVM_VCPU_TSC_OFFSET (Linux < 5.16)");
		vm_destroy(vm);
		return;
	}
	TAP_EQ_INT(r, 0, "TSC offset 0 set (KVM_VCPU_TSC_OFFSET)");
	before = __builtin_ia32_rdtsc();
	TAP_OK(guest_tsc(vcpu, &tsc), "the guest's IA32_TSC read");
	after = __builtin_ia32_rdtsc();
	TAP_OK(tsc >= before && tsc <= after, "... it is the host's TSC (between two host reads)");
	if (tsc < before || tsc > after)
		printf("# host %llu .. %llu, guest %llu\n", (unsigned long long)before,
		       (unsigned long long)after, (unsigned long long)tsc);
	vm_destroy(vm);
}

int main(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		char why[128];
		snprintf(why, sizeof(why), "/dev/kvm unusable: %s", strerror(errno));
		TAP_SKIP(why);
		return tap_done();
	}
	close(fd);
	test_clean_shutdown();
	test_record();
	test_loop_forever();
	test_unknown_port();
	test_bad_mmio();
	test_bench_devices();
	test_bad_record_address();
	test_bad_release();
	test_console_flood();
	test_triple_fault();
	test_cpuid_ring0();
	test_vmmcall_ring0();
	test_hlt();
	test_stop_flag();
	test_tsc_offset();
	return tap_done();
}
