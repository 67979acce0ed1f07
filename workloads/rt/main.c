/*
 * Guest ring 3: start of day after entry.S, the fault reporter, and the
 * environment-specific rt_* operations of workloads/workload.h.  What
 * differs between the platforms (hvm, Xen PVH, Xen PV) is called through
 * rt_platform (rt.h: hvm.c, xen.c, pv.c); nothing here tests which one.
 *
 * Start of day: check and copy the PVH start info (command line, memory
 * map) into the image, pick the record transport (dev=), set up memory and
 * page tables (pt=), act on a fault= test word, then hand over to the
 * harness.  Nothing here runs in ring 0; privileged steps are rt_sys calls.
 */
#include "harness.h"
#include "pv.h"
#include "rt.h"

_Static_assert(RT_PORT_SHUTDOWN == HVB_PORT_SHUTDOWN, "rt.h out of sync with abi.h");
_Static_assert(RT_PORT_QEMU_EXIT == HVB_PORT_QEMU_EXIT, "rt.h out of sync with abi.h");
_Static_assert(RT_EXIT_FAULT == HVB_EXIT_FAULT, "rt.h out of sync with abi.h");
_Static_assert(RT_NOTE_ABI == HVB_NOTE_ABI, "rt.h out of sync with abi.h");
_Static_assert(RT_ABI_VERSION == HVB_ABI_VERSION, "rt.h out of sync with abi.h");

/* Xen's struct hvm_start_info (public/arch-x86/hvm/start_info.h), version 1. */
#define XEN_HVM_START_MAGIC 0x336ec578u
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

#define MEMMAP_MAX 128
#define LOW_4G (1ull << 32)

static char cmdline[HVB_CMDLINE_MAX];
static struct rt_memmap_entry memmap[MEMMAP_MAX];
static uint32_t boot_caps;
static uint64_t mmio_user = HVB_MMIO_BENCH_USER; /* mmio_user= (abi.h) */

static void panic(const char *why) __attribute__((noreturn));
static void panic(const char *why)
{
	rt_log(why);
	rt_console_text("hvbench guest: ");
	rt_console_text(why);
	rt_console_text("\n");
	rt_shutdown(HVB_EXIT_PANIC);
}

/*
 * Pointer to boot data at guest-physical [pa, pa+len), below 4 GiB as PVH
 * loaders place it, or NULL.  Page 0 is unmapped (NULL accesses fault), so
 * data there is read through the low alias (entry.S).
 */
static const void *boot_data(uint64_t pa, uint64_t len)
{
	if (!pa || pa >= LOW_4G || len > LOW_4G - pa)
		return 0;
	if (pa < 4096)
		return len <= RT_LOW_ALIAS_SIZE - pa ? (const void *)(uintptr_t)(RT_LOW_ALIAS + pa) : 0;
	return (const void *)(uintptr_t)pa;
}

static void copy_cmdline(const struct hvm_start_info *si)
{
	const char *src = boot_data(si->cmdline_paddr, sizeof(cmdline));
	size_t i;

	if (!si->cmdline_paddr)
		return; /* empty: the harness answers "bad command line" */
	if (!src)
		panic("start_info command line is not below 4 GiB");
	for (i = 0; i + 1 < sizeof(cmdline) && src[i]; i++)
		cmdline[i] = src[i];
	cmdline[i] = '\0';
}

static unsigned copy_memmap(const struct hvm_start_info *si)
{
	const struct rt_memmap_entry *src;
	unsigned n = si->memmap_entries;

	if (si->version < 1 || !si->memmap_paddr || !n)
		panic("start_info has no memory map (PVH start info version >= 1 needed)");
	if (n > MEMMAP_MAX)
		n = MEMMAP_MAX;
	src = boot_data(si->memmap_paddr, n * sizeof(*src));
	if (!src)
		panic("start_info memory map is not below 4 GiB");
	for (unsigned i = 0; i < n; i++)
		memmap[i] = src[i];
	return n;
}

static uint64_t word_u64(const char *key, uint64_t def)
{
	char buf[24];
	uint64_t v;

	if (!hvb_cmdline_get(cmdline, key, buf, sizeof(buf)) || !hvb_parse_u64(buf, &v))
		return def;
	return v;
}

static bool word_is(const char *key, const char *val)
{
	char buf[16];
	size_t i;

	if (!hvb_cmdline_get(cmdline, key, buf, sizeof(buf)))
		return false;
	for (i = 0; buf[i] && buf[i] == val[i]; i++)
		;
	return buf[i] == val[i];
}

/*
 * The null hypercall instruction: hc=vmcall|vmmcall if the host says,
 * else by CPU vendor when cpuid may run, else vmmcall under PVM (measured
 * to work from ring 3 there), else vmcall.
 */
static void choose_hypercall(void)
{
	uint32_t r[4];
	bool vmmcall;

	if (word_is("hc", "vmmcall") || word_is("hc", "vmcall")) {
		vmmcall = word_is("hc", "vmmcall");
	} else if (boot_caps & HVB_CAP_CPUID) {
		rt_cpuid(0, 0, r);
		/* "AuthenticAMD" / "HygonGenuine": ebx = "Auth" / "Hygo" */
		vmmcall = r[1] == 0x68747541u || r[1] == 0x6f677948u;
	} else {
		vmmcall = (boot_caps & HVB_CAP_PVM) != 0;
	}
	rt_hvm_select_hypercall(vmmcall);
}

/* fault=WORD: fault on purpose before any workload, so hosts can test the
 * FAULT verdict (and ring 0 faults: fault=ring0); fault=hang halts for good
 * with interrupts off in ring 0 (cli; hlt), so hosts can test that their
 * timeout ends a vCPU that never exits again (with an in-kernel LAPIC the
 * halt never leaves the host kernel). */
static void test_fault(void)
{
	char what[16];
	volatile uintptr_t null_page = 0;

	if (!hvb_cmdline_get(cmdline, "fault", what, sizeof(what)))
		return;
	if (word_is("fault", "ud"))
		__asm__ volatile("ud2");
	else if (word_is("fault", "pf"))
		rt_keep(*(volatile uint64_t *)0x10000000000ull); /* 1 TiB: never mapped */
	else if (word_is("fault", "null"))
		rt_keep(*(volatile uint64_t *)null_page); /* page 0 is not mapped */
	else if (word_is("fault", "gp"))
		rt_keep(*(volatile uint64_t *)0x8000000000000000ull); /* non-canonical */
	else if (word_is("fault", "de")) {
		uint32_t zero = 0, v = 1;
		__asm__ volatile("divl %2" : "+a"(v) : "d"(0), "r"(zero));
	} else if (word_is("fault", "ring0"))
		rt_sys(RT_SYS_FAULT, 0, 0);
	else if (word_is("fault", "hang"))
		rt_sys(RT_SYS_STOP, 0, 0);
	panic("fault= must be ud, pf, null, gp, de, ring0 or hang");
}

/* One LOG record with what the runtime set up (the host keeps it with the
 * run's log): the vector state enabled, the page size, free memory, and
 * the TSC cycles from the PVH entry to ring 3 (the ring-0 part of boot). */
static void log_runtime(bool small_pages, uint64_t ring0_cycles)
{
	char msg[HVB_TEXT_MAX], *p = msg, *end = msg + sizeof(msg) - 1;

	p = rt_put_str(p, end, "guest rt: xcr0=");
	p = rt_put_hex(p, end, hvb_xcr0);
	p = rt_put_str(p, end, small_pages ? " pages=4k" : " pages=2M");
	p = rt_put_str(p, end, " free=");
	p = rt_put_dec(p, end, rt_mem_available());
	p = rt_put_str(p, end, " ring0_cycles=");
	p = rt_put_dec(p, end, ring0_cycles);
	p = rt_put_str(p, end, " hc=");
	p = rt_put_str(p, end, rt_platform->hypercall_name());
	*p = '\0';
	rt_log(msg);
}

/* dev=hvb|serial|xencons; without the word, serial (a person running QEMU by hand). */
static void select_console(void)
{
	static char dev[HVB_CMDLINE_MAX]; /* any length: a long word is an error, not absent */

	if (!hvb_cmdline_get(cmdline, "dev", dev, sizeof(dev)))
		rt_console_select("serial");
	else if (!rt_console_select(dev)) {
		rt_console_select("serial");
		panic("dev= must be hvb, serial or xencons");
	}
}

/* Common to PVH and PV: hypercall choice, the runtime's LOG record, the
 * fault= test word, the APs (vcpus=, smp.c: each checked in, before the
 * first workload), then the harness. */
static void __attribute__((noreturn)) start_harness(bool small_pages, uint64_t entry_tsc,
						    uint64_t ring3_tsc)
{
	const char *why;
	uint64_t t0;

	choose_hypercall();
	/* Boot time (HELLO) excludes this diagnostic record: on a console
	 * transport it costs hundreds of exits that are not part of booting. */
	t0 = rt_tsc_begin();
	log_runtime(small_pages, ring3_tsc - entry_tsc);
	entry_tsc += rt_tsc_end() - t0;
	test_fault();
	why = rt_smp_boot(cmdline, boot_caps, word_u64("tsc_khz", 0));
	if (why)
		panic(why);
	if (word_is("selftest", "smp"))
		rt_smp_selftest();
	rt_shutdown(hvb_harness_main(cmdline, entry_tsc));
}

void hvb_user_start(uint32_t start_info, uint64_t entry_tsc)
{
	uint64_t ring3_tsc = rt_tsc_begin();
	const struct hvm_start_info *si = boot_data(start_info, sizeof(*si));
	uint64_t mmio[2 + RT_PLATFORM_MMIO_MAX];
	unsigned n, nmmio;
	int err;

	if (!si || si->magic != XEN_HVM_START_MAGIC)
		panic("no PVH start info in %ebx (bad magic)");
	copy_cmdline(si);
	select_console();
	boot_caps = (uint32_t)word_u64("caps", 0);
	n = copy_memmap(si);
	if (rt_mem_init(memmap, n) < 0)
		panic("no RAM above the guest image in the memory map");
	mmio_user = word_u64("mmio_user", HVB_MMIO_BENCH_USER);
	mmio[0] = mmio_user;
	mmio[1] = HVB_MMIO_BENCH_KERN;
	/* pt=4k maps RAM and these pages only: the platform's too (Xen PVH) */
	nmmio = 2 + rt_platform->mmio_pages(cmdline, mmio + 2);
	if (word_u64("pt_root", 0) && !word_is("pt", "4k"))
		panic("pt_root= (host-built 4 KiB page tables) without pt=4k");
	err = rt_paging_init(word_is("pt", "4k"), word_u64("pt_root", 0), mmio, nmmio);
	if (err == -22)
		panic("mmio_user= must be a page-aligned non-RAM address below 512 GiB");
	if (err == -71)
		panic(rt_paging_why());
	if (err < 0)
		panic("not enough memory for the page tables");
	start_harness(word_is("pt", "4k"), entry_tsc, ring3_tsc);
}

/*
 * Xen PV: pv.c has mapped RAM and found the console in guest kernel mode;
 * here, in user mode, the rest is as under PVH.  The only transport is the
 * PV console (no port I/O: there is no TSS bitmap), RAM is what pv.c
 * mapped, and the page size is Xen's (4 KiB: PV has no large pages).
 */
void hvb_pv_user_start(uint64_t entry_tsc)
{
	uint64_t ring3_tsc = rt_tsc_begin();
	const struct rt_pv_boot *pv = rt_pv();
	size_t i;

	for (i = 0; i + 1 < sizeof(cmdline) && pv->cmdline[i]; i++)
		cmdline[i] = pv->cmdline[i];
	cmdline[i] = '\0';
	rt_console_select("xencons");
	if (!word_is("dev", "xencons"))
		panic("under Xen PV the console is dev=xencons (no port I/O for serial or hvb)");
	if (pv->why)
		panic(pv->why);
	boot_caps = (uint32_t)word_u64("caps", 0);
	memmap[0] = (struct rt_memmap_entry){ pv->ram_lo, pv->ram_hi - pv->ram_lo, RT_E820_RAM, 0 };
	if (rt_mem_init(memmap, 1) < 0)
		panic("no RAM above the guest image after the PV boot");
	if (word_is("pt", "4k"))
		panic("pt=4k: not under Xen PV (every page is 4 KiB there already)");
	start_harness(true, entry_tsc, ring3_tsc);
}

/* ------------------------------------------------------------ faults */

static const char *const vector_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO", "#TS",
	"#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

void hvb_fault_user(void)
{
	const struct rt_fault *f = &hvb_fault_info;
	struct hvb_record r;
	char *p = r.text, *end = r.text + sizeof(r.text) - 1;
	const char *name = f->vector < 32 && vector_names[f->vector] ? vector_names[f->vector]
								    : "interrupt";

	rt_memset(&r, 0, sizeof(r));
	r.magic = HVB_RECORD_MAGIC;
	r.version = HVB_ABI_VERSION;
	r.type = HVB_REC_FAULT;
	r.size = sizeof(r);
	r.status = HVB_ST_FAILED;
	r.u64[0] = f->vector;
	r.u64[1] = f->error;
	r.u64[2] = f->rip;
	r.u64[3] = f->cr2;
	p = rt_put_str(p, end, name);
	p = rt_put_str(p, end, (f->cs & 3) ? rt_platform->user_mode : rt_platform->kernel_mode);
	p = rt_put_str(p, end, " cs=");
	p = rt_put_hex(p, end, f->cs);
	p = rt_put_str(p, end, " rsp=");
	p = rt_put_hex(p, end, f->rsp);
	*p = '\0';
	rt_emit(&r);
	rt_shutdown(HVB_EXIT_FAULT);
}

/* ------------------------------------------------------------ rt_* operations */

/* syscall to hvb_syscall_entry and iretq back (see entry.S for PVM). */
long rt_syscall_null(void)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(0L) : "rcx", "r10", "r11", "memory");
	return ret;
}

/* vmcall/vmmcall from ring 3 (hvm.c), xen_version from ring 0 through the
 * gate (xen.c: Xen refuses CPL 3). */
long rt_hypercall_null(void)
{
	return rt_platform->hypercall_null();
}

long rt_gate_null(void)
{
	return (long)rt_sys(RT_SYS_NULL, 0, 0);
}

const char *rt_hypercall_note(void)
{
	return rt_platform->hypercall_note();
}

uint64_t rt_msr_read(uint32_t msr)
{
	return rt_sys(RT_SYS_RDMSR, msr, 0);
}

void rt_msr_write(uint32_t msr, uint64_t v)
{
	rt_sys(RT_SYS_WRMSR, msr, v);
}

/* hvm: hlt with interrupts off; Xen PVH: an interrupts-on hlt woken by the
 * LAPIC timer (a halt with interrupts off takes the vCPU down there); Xen
 * PV: SCHEDOP_poll (no hlt in a PV guest). */
int rt_halt_prepare(const char **note, const char **why)
{
	*note = 0;
	return rt_platform->halt_prepare(note, why);
}

void rt_halt_wake(void)
{
	rt_platform->halt_wake();
}

volatile void *rt_mmio(uint64_t gpa)
{
	if (gpa == HVB_MMIO_BENCH_USER)
		return (volatile void *)(uintptr_t)mmio_user;
	if (gpa == HVB_MMIO_BENCH_KERN)
		return (volatile void *)(uintptr_t)gpa;
	return 0;
}

/* No sleeping clock in the guest runtime: a guest worker waits with its
 * one-shot timer (rt_timer_arm + rt_irq_wait) or spins; svc/ chooses. */
int rt_sleep_until(uint64_t deadline)
{
	(void)deadline;
	return -38; /* -ENOSYS */
}
