/*
 * KVM binary statistics reader.
 *
 * 1. Decoding, on a synthetic stats file (memfd) with every type, unit and
 *    base: runs everywhere, no /dev/kvm needed.
 * 2. A real VM and vCPU: open both stats fds, check the vCPU names, run a
 *    tiny guest doing N `out` in ring 3 (64-bit) and check each was counted
 *    exactly once; then N `out` + `hlt` in ring 0 (32-bit protected mode,
 *    flat segments, paging off: the entry that works under PVM too) and
 *    check exits and halt_exits, and io_exits where not emulated.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_stats.h"
#include "tap.h"

/* ------------------------------------------------------- synthetic layout */

#define SYN_NAME 48
struct syn_desc {
	struct kvm_stats_desc d;
	char name[SYN_NAME];
};

struct syn_file {
	struct kvm_stats_header h;
	char id[SYN_NAME];
	struct syn_desc desc[6];
	uint64_t data[2 + 1 + 1 + 4 + 4 + 1];
};

static void syn_desc(struct syn_desc *sd, const char *name, uint32_t flags, int16_t exp,
		     uint16_t size, uint32_t off_items, uint32_t bucket)
{
	sd->d.flags = flags;
	sd->d.exponent = exp;
	sd->d.size = size;
	sd->d.offset = off_items * 8;
	sd->d.bucket_size = bucket;
	snprintf(sd->name, SYN_NAME, "%s", name);
}

static int syn_write(int fd, struct syn_file *f)
{
	return pwrite(fd, f, sizeof(*f), 0) == (ssize_t)sizeof(*f) ? 0 : -1;
}

struct collect {
	char names[32][96];
	double v[32];
	char units[32][16];
	bool cum[32];
	int n;
};

static int collect_cb(void *arg, const char *name, double delta, const char *unit, bool cum)
{
	struct collect *c = arg;

	if (c->n >= 32)
		return -1;
	snprintf(c->names[c->n], sizeof(c->names[0]), "%s", name);
	snprintf(c->units[c->n], sizeof(c->units[0]), "%s", unit);
	c->v[c->n] = delta;
	c->cum[c->n] = cum;
	c->n++;
	return 0;
}

static int collect_find(const struct collect *c, const char *name)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->names[i], name))
			return i;
	return -1;
}

static void test_synthetic(void)
{
	struct syn_file f = { 0 };
	struct kvm_stats *st;
	struct kvm_stats_snap a, b;
	struct collect c = { 0 };
	int fd, r, i;

	f.h.name_size = SYN_NAME;
	f.h.num_desc = 6;
	f.h.id_offset = offsetof(struct syn_file, id);
	f.h.desc_offset = offsetof(struct syn_file, desc);
	f.h.data_offset = offsetof(struct syn_file, data);
	snprintf(f.id, SYN_NAME, "kvm-42/vcpu-0");
	/* data layout (items): exits 0, time 1, pages 2, peak 3, lin 4..7, log 8..11, a 12 */
	syn_desc(&f.desc[0], "exits", KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_NONE, 0, 1, 0, 0);
	syn_desc(&f.desc[1], "wait_ns",
		 KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_SECONDS | KVM_STATS_BASE_POW10, -6,
		 1, 1, 0);
	syn_desc(&f.desc[2], "pages_4k",
		 KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_BYTES | KVM_STATS_BASE_POW2, 12, 1, 2, 0);
	syn_desc(&f.desc[3], "peak_cycles", KVM_STATS_TYPE_PEAK | KVM_STATS_UNIT_CYCLES, 0, 1, 3,
		 0);
	syn_desc(&f.desc[4], "lin_hist",
		 KVM_STATS_TYPE_LINEAR_HIST | KVM_STATS_UNIT_SECONDS | KVM_STATS_BASE_POW10, -9,
		 4, 4, 10);
	syn_desc(&f.desc[5], "log_hist", KVM_STATS_TYPE_LOG_HIST | KVM_STATS_UNIT_NONE, 0, 4, 8,
		 0);

	fd = memfd_create("kvm-stats-syn", 0);
	if (fd < 0 || syn_write(fd, &f)) {
		TAP_OK(0, "synthetic stats file written");
		return;
	}
	r = kvm_stats_open_statsfd(fd, &st);
	if (!TAP_EQ_INT(r, 0, "synthetic layout parsed"))
		return;
	TAP_EQ_STR(kvm_stats_id(st), "kvm-42/vcpu-0", "id string read");
	TAP_EQ_INT(kvm_stats_count(st), 6, "six statistics");
	TAP_EQ_INT(kvm_stats_find(st, "pages_4k"), 2, "find by name");
	TAP_EQ_INT(kvm_stats_find(st, "nope"), -ENOENT, "unknown name is -ENOENT");
	TAP_OK(!kvm_stats_snap_init(st, &a) && !kvm_stats_snap_init(st, &b), "snapshots sized");

	kvm_stats_snapshot(st, &a);
	f.data[0] = 10;    /* exits +10 */
	f.data[1] = 7;     /* 7 us */
	f.data[2] = 3;     /* 3 pages of 4 KiB now */
	f.data[3] = 900;   /* peak */
	f.data[5] = 2;     /* lin bucket 1: [10,20) ns, +2 */
	f.data[7] = 1;     /* lin last bucket: [30,inf) */
	f.data[11] = 5;    /* log bucket 3: [4,inf) as the last one */
	f.data[9] = 4;     /* log bucket 1: value 1 */
	syn_write(fd, &f);
	r = kvm_stats_snapshot(st, &b);
	TAP_EQ_INT(r, 0, "snapshot after change");
	TAP_EQ_INT(kvm_stats_change(st, &a, &b, 0), 10, "cumulative: delta");
	TAP_OK(fabs(kvm_stats_change(st, &a, &b, 1) - 7000.0) < 1e-6,
	       "seconds with exponent -6 normalised to ns");
	TAP_EQ_STR(kvm_stats_unit(st, 1), "ns", "time unit is ns");
	TAP_EQ_INT(kvm_stats_change(st, &a, &b, 2), 3 * 4096, "instant bytes, base 2 exponent 12");
	TAP_EQ_INT(kvm_stats_change(st, &a, &b, 3), 900, "peak: the value, not a difference");

	r = kvm_stats_delta(st, &a, &b, collect_cb, &c);
	TAP_EQ_INT(r, 0, "delta walk");
	/* 4 scalars + 2 changed linear buckets + 2 changed log buckets */
	TAP_EQ_INT(c.n, 8, "unchanged histogram buckets omitted");
	i = collect_find(&c, "lin_hist[10,20)");
	TAP_OK(i >= 0 && c.v[i] == 2 && c.cum[i] && !strcmp(c.units[i], "count"),
	       "linear bucket named by its bounds, counts");
	TAP_OK(collect_find(&c, "lin_hist[30,inf)") >= 0, "last linear bucket open-ended");
	TAP_OK(collect_find(&c, "log_hist[1,2)") >= 0, "log bucket 1 holds value 1");
	TAP_OK(collect_find(&c, "log_hist[4,inf)") >= 0, "last log bucket open-ended");
	i = collect_find(&c, "pages_4k");
	TAP_OK(i >= 0 && !c.cum[i], "instant flagged not cumulative");
	i = collect_find(&c, "peak_cycles");
	TAP_OK(i >= 0 && !c.cum[i] && !strcmp(c.units[i], "cycles"), "peak cycles");

	/* A type the reader does not know is an error, not a guess. */
	f.desc[3].d.flags = 0xf;
	syn_write(fd, &f);
	kvm_stats_snap_free(&a);
	kvm_stats_snap_free(&b);
	kvm_stats_close(st);
	fd = memfd_create("kvm-stats-bad", 0);
	syn_write(fd, &f);
	TAP_EQ_INT(kvm_stats_open_statsfd(fd, &st), -EPROTO, "unknown type rejected");
	TAP_EQ_INT(kvm_stats_open(0, &st) < 0, 1, "stdin is no VM fd");
}

/* ------------------------------------------------------------ real guest */

#define GUEST_PORT  0x500
#define DONE_PORT   0x501
#define GUEST_OUTS  25
#define GUEST_ENTRY 0x1000
#define GUEST_TSS   0x4000
#define GUEST_STACK 0x9000
#define GUEST_MEM   0x10000
#define TSS_LIMIT   (104 + 8192) /* 32-bit TSS + full I/O bitmap + 0xff byte */

/*
 * Ring 0, 32-bit: mov ecx, N; mov dx, PORT; 1: mov al, cl; out dx, al;
 * dec ecx; jnz 1b; hlt
 */
static const uint8_t guest_ring0[] = {
	0xb9, GUEST_OUTS, 0, 0, 0,                      /* mov ecx, GUEST_OUTS */
	0x66, 0xba, GUEST_PORT & 0xff, GUEST_PORT >> 8, /* mov dx, GUEST_PORT */
	0x88, 0xc8,                                     /* 1: mov al, cl */
	0xee,                                           /* out dx, al */
	0x49,                                           /* dec ecx */
	0x75, 0xfa,                                     /* jnz 1b */
	0xf4,                                           /* hlt */
};

/*
 * Ring 3, 64-bit, I/O allowed by the TSS bitmap (IOPL 0): the same loop,
 * then a write to DONE_PORT (ring 3 cannot hlt) and a spin.  64-bit because
 * PVM runs only long-mode ring 3 natively (it emulates 32-bit ring 3).
 */
static const uint8_t guest_ring3[] = {
	0xb9, GUEST_OUTS, 0, 0, 0,                      /* mov ecx, GUEST_OUTS */
	0x66, 0xba, GUEST_PORT & 0xff, GUEST_PORT >> 8, /* mov dx, GUEST_PORT */
	0x88, 0xc8,                                     /* 1: mov al, cl */
	0xee,                                           /* out dx, al */
	0xff, 0xc9,                                     /* dec ecx */
	0x75, 0xf9,                                     /* jnz 1b */
	0xff, 0xc2,                                     /* inc edx: DONE_PORT */
	0xee,                                           /* out dx, al */
	0xeb, 0xfe,                                     /* jmp . */
};

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static void flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, uint8_t dpl)
{
	*s = (struct kvm_segment){ .base = 0, .limit = 0xffffffff, .selector = sel | dpl,
				   .type = type, .present = 1, .dpl = dpl, .db = 1, .s = 1,
				   .l = 0, .g = 1 };
}

#define GUEST_PML4 0x5000
#define GUEST_PDPT 0x6000
#define GUEST_PD   0x7000

/*
 * Ring 0: enter 32-bit protected mode directly (flat segments, paging off).
 * Ring 3: enter 64-bit long mode directly (identity map of the first 2 MiB,
 * user-accessible), with the TSS at GUEST_TSS carrying an I/O bitmap that
 * lets the guest use GUEST_PORT and DONE_PORT with IOPL 0.
 */
static int vcpu_setup(int vcpu, char *ram, int cpl)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = GUEST_ENTRY, .rflags = 0x2, .rsp = GUEST_STACK };
	uint8_t *tss = (uint8_t *)ram + GUEST_TSS;
	uint64_t *pml4 = (uint64_t *)(ram + GUEST_PML4), *pdpt = (uint64_t *)(ram + GUEST_PDPT);
	uint64_t *pd = (uint64_t *)(ram + GUEST_PD);

	memset(tss, 0, 104);
	memset(tss + 104, 0xff, 8192 + 1);
	tss[102] = 104; /* I/O map base */
	tss[104 + GUEST_PORT / 8] &= (uint8_t)~(1u << (GUEST_PORT % 8));
	tss[104 + DONE_PORT / 8] &= (uint8_t)~(1u << (DONE_PORT % 8));
	pml4[0] = GUEST_PDPT | 0x7; /* present, writable, user */
	pdpt[0] = GUEST_PD | 0x7;
	pd[0] = 0x87; /* 2 MiB page at 0 */

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	flat_seg(&sregs.cs, 0x8, 0xb, (uint8_t)cpl);
	flat_seg(&sregs.ds, 0x10, 0x3, (uint8_t)cpl);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.tr = (struct kvm_segment){ .base = GUEST_TSS, .limit = TSS_LIMIT, .selector = 0x18,
					 .type = 0xb, .present = 1 }; /* busy TSS */
	sregs.cr0 = 0x11; /* PE | ET */
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (cpl) {
		sregs.cs.l = 1;
		sregs.cs.db = 0;
		sregs.cr0 |= 0x80000000u; /* PG */
		sregs.cr3 = GUEST_PML4;
		sregs.cr4 = 0x20;            /* PAE */
		sregs.efer = 0x500;          /* LME | LMA */
	}
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

/*
 * Run until hlt or a write to DONE_PORT; count the writes to GUEST_PORT,
 * which must carry the guest's loop counter N, N-1, ..., 1.  0, or -1 with
 * a diagnostic.
 */
static int guest_run(int vcpu, struct kvm_run *run, int *outs)
{
	int ret = -1;

	*outs = 0;
	timed_out = 0;
	alarm(20);
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, NULL) < 0) {
			printf("# KVM_RUN: %s%s\n", strerror(errno),
			       timed_out ? " (watchdog: no exit in 20 s)" : "");
			break;
		}
		if (run->exit_reason == KVM_EXIT_HLT) {
			ret = 0;
			break;
		}
		if (run->exit_reason != KVM_EXIT_IO) {
			printf("# unexpected exit reason %u\n", run->exit_reason);
			break;
		}
		if (run->io.port == DONE_PORT) {
			ret = 0;
			break;
		}
		if (run->io.port != GUEST_PORT || run->io.direction != KVM_EXIT_IO_OUT ||
		    run->io.size != 1 || run->io.count != 1) {
			printf("# unexpected port I/O: port %#x dir %d size %d\n", run->io.port,
			       run->io.direction, run->io.size);
			break;
		}
		if (((uint8_t *)run)[run->io.data_offset] != GUEST_OUTS - *outs) {
			printf("# out #%d wrote %u\n", *outs, ((uint8_t *)run)[run->io.data_offset]);
			break;
		}
		(*outs)++;
	}
	alarm(0);
	return ret;
}

static double stat_change(struct kvm_stats *st, struct kvm_stats_snap *a,
			  struct kvm_stats_snap *b, const char *name)
{
	int i = kvm_stats_find(st, name);

	return i < 0 ? -1 : kvm_stats_change(st, a, b, (unsigned)i);
}

struct vm {
	int kvm, vm, vcpu;
	char *ram;
	struct kvm_run *run;
	size_t run_sz;
};

static int vm_create(struct vm *v, int kvm, const uint8_t *code, size_t len)
{
	struct kvm_userspace_memory_region mem;
	int sz;

	v->vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (v->vm < 0)
		return -errno;
	v->ram = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v->ram == MAP_FAILED)
		return -errno;
	memcpy(v->ram + GUEST_ENTRY, code, len);
	mem = (struct kvm_userspace_memory_region){ .slot = 0, .guest_phys_addr = 0,
						    .memory_size = GUEST_MEM,
						    .userspace_addr = (uintptr_t)v->ram };
	if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &mem) < 0)
		return -errno;
	v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
	sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (v->vcpu < 0 || sz <= 0)
		return -errno;
	v->run_sz = (size_t)sz;
	v->run = mmap(NULL, v->run_sz, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
	return v->run == MAP_FAILED ? -errno : 0;
}

static void vm_destroy(struct vm *v)
{
	if (v->run && v->run != MAP_FAILED)
		munmap(v->run, v->run_sz);
	if (v->ram && v->ram != MAP_FAILED)
		munmap(v->ram, GUEST_MEM);
	if (v->vcpu > 0)
		close(v->vcpu);
	if (v->vm > 0)
		close(v->vm);
}

/* Both stats fds and the statistic names of a fresh VM. */
static void test_open(int kvm)
{
	static const char *const vcpu_names[] = { "exits", "io_exits", "halt_exits", "hypercalls",
						  "mmio_exits" };
	struct vm v = { 0 };
	struct kvm_stats *vm_st = NULL, *vcpu_st = NULL;
	char desc[96];
	int r;

	if (!TAP_EQ_INT(vm_create(&v, kvm, guest_ring0, sizeof(guest_ring0)), 0,
			"VM with memory and a vCPU created"))
		goto out;
	r = kvm_stats_open(v.vm, &vm_st);
	if (r)
		printf("# VM stats: %s\n", kvm_stats_strerror(r));
	if (TAP_EQ_INT(r, 0, "VM stats fd opened"))
		TAP_OK(kvm_stats_count(vm_st) > 0 && !strncmp(kvm_stats_id(vm_st), "kvm-", 4),
		       "VM stats have descriptors and a kvm-<pid> id");
	r = kvm_stats_open(v.vcpu, &vcpu_st);
	if (r)
		printf("# vCPU stats: %s\n", kvm_stats_strerror(r));
	if (!TAP_EQ_INT(r, 0, "vCPU stats fd opened"))
		goto out;
	printf("# vCPU stats id %s, %u statistics\n", kvm_stats_id(vcpu_st),
	       kvm_stats_count(vcpu_st));
	for (size_t i = 0; i < sizeof(vcpu_names) / sizeof(vcpu_names[0]); i++) {
		snprintf(desc, sizeof(desc), "vCPU statistic %s present", vcpu_names[i]);
		TAP_OK(kvm_stats_find(vcpu_st, vcpu_names[i]) >= 0, desc);
	}
out:
	kvm_stats_close(vcpu_st);
	kvm_stats_close(vm_st);
	vm_destroy(&v);
}

/*
 * Run the N-outs guest in ring `cpl` and check the statistics moved as the
 * exits the host saw.  KVM counts io_exits where the hardware intercepts
 * the instruction (VMX/SVM exit); an `out` that KVM's instruction emulator
 * executes is counted in insn_emulation instead.  PVM emulates every
 * trapped `out`, and all of guest ring 0, so the ring-0 guest checks
 * io_exits only when it was not emulated.
 */
static void test_guest(int kvm, int cpl)
{
	struct vm v = { 0 };
	struct kvm_stats *st = NULL;
	struct kvm_stats_snap a = { 0 }, b = { 0 };
	int outs, r;
	double io, emul, exits;
	char desc[128];

	if (!TAP_EQ_INT(vm_create(&v, kvm, cpl ? guest_ring3 : guest_ring0,
				  cpl ? sizeof(guest_ring3) : sizeof(guest_ring0)),
			0, "guest VM created"))
		goto out;
	if (!TAP_EQ_INT(kvm_stats_open(v.vcpu, &st), 0, "vCPU stats opened"))
		goto out;
	snprintf(desc, sizeof(desc), "vCPU entered in ring %d (%s)", cpl,
		 cpl ? "64-bit long mode" : "32-bit protected mode, paging off");
	if (!TAP_EQ_INT(vcpu_setup(v.vcpu, v.ram, cpl), 0, desc))
		goto out;
	kvm_stats_snap_init(st, &a);
	kvm_stats_snap_init(st, &b);
	TAP_EQ_INT(kvm_stats_snapshot(st, &a), 0, "snapshot before");
	r = guest_run(v.vcpu, v.run, &outs);
	snprintf(desc, sizeof(desc), "ring-%d guest did %d port writes then stopped", cpl,
		 GUEST_OUTS);
	TAP_OK(r == 0 && outs == GUEST_OUTS, desc);
	TAP_EQ_INT(kvm_stats_snapshot(st, &b), 0, "snapshot after");
	exits = stat_change(st, &a, &b, "exits");
	io = stat_change(st, &a, &b, "io_exits");
	emul = stat_change(st, &a, &b, "insn_emulation");
	printf("# ring %d: exits %+g io_exits %+g halt_exits %+g insn_emulation %+g\n", cpl, exits,
	       io, stat_change(st, &a, &b, "halt_exits"), emul);
	TAP_OK(exits >= GUEST_OUTS + 1, "exits grew by at least N + 1");
	if (cpl) {
		/* Hardware intercepts count io_exits; PVM traps the ring-3
		 * `out` and emulates it, counting insn_emulation instead.
		 * Either way each write is counted exactly once. */
		TAP_EQ_INT(io + (io ? 0 : emul), GUEST_OUTS + 1,
			   "ring 3: N + 1 port writes counted exactly once (io_exits, or "
			   "insn_emulation when KVM emulated them)");
		if (io == 0)
			printf("# ring 3: port writes counted as insn_emulation, not io_exits "
			       "(emulated, e.g. PVM)\n");
	} else {
		TAP_EQ_INT(stat_change(st, &a, &b, "halt_exits"), 1, "ring 0: halt_exits grew by 1");
		if (io == 0 && emul >= GUEST_OUTS)
			TAP_SKIP("ring 0: io_exits check: the outs were emulated (insn_emulation "
				 "grew), which KVM does not count as io_exits");
		else
			TAP_EQ_INT(io, GUEST_OUTS, "ring 0: io_exits grew by exactly N");
	}
out:
	kvm_stats_snap_free(&a);
	kvm_stats_snap_free(&b);
	kvm_stats_close(st);
	vm_destroy(&v);
}

static void test_real(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	char why[160];
	int kvm;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		snprintf(why, sizeof(why), "/dev/kvm: %s", strerror(errno));
		TAP_SKIP(why);
		return;
	}
	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD) <= 0) {
		TAP_SKIP("KVM_CAP_BINARY_STATS_FD not supported by this kernel");
		close(kvm);
		return;
	}
	sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART: KVM_RUN returns EINTR */
	test_open(kvm);
	test_guest(kvm, 3);
	test_guest(kvm, 0);
	close(kvm);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_synthetic();
	test_real();
	return tap_done();
}
