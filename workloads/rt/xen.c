/*
 * The guest under Xen (PVH domU): detection, the PV console
 * transport (dev=xencons), the null hypercall of micro/hypercall, and the
 * Xen PVH platform table (rt_platform_xen_pvh, at the end).
 * See xen.h for the protocol and runners/xen/README.md for the host side.
 *
 * Everything here runs in ring 3 like the rest of the runtime; hypercalls
 * go through xen_hcall.c.
 */
#include "console_codec.h"
#include "harness.h"
#include "pv.h"
#include "rt.h"
#include "xen.h"
#include "xen_io.h"

/* Filled by Xen when its address is written to the hypercall MSR. */
uint8_t hvb_xen_hypercall_page[4096] __attribute__((aligned(4096)));
/* struct sched_shutdown for entry.S's last-resort stop (hvb_hard_stop). */
const uint32_t hvb_xen_crash = SHUTDOWN_CRASH;

static struct xencons_interface *ring;
static uint32_t ring_port;
static bool active;
static uint64_t gate_cycles; /* bare int3 gate round trip, measured at init */
static char hc_note[HVB_TEXT_MAX];

long rt_xen_hypercall_null(void)
{
	return rt_xen_hypercall(XEN_HC_XEN_VERSION, XENVER_VERSION, 0);
}

const char *rt_xen_hypercall_note(void)
{
	return hc_note;
}

const char *rt_xen_hypercall_name(void)
{
	return "xen";
}

/* ------------------------------------------------------------ detection */

static uint32_t xen_cpuid_base(void)
{
	uint32_t r[4];

	for (uint32_t base = XEN_CPUID_FIRST; base < XEN_CPUID_LAST; base += XEN_CPUID_STEP) {
		rt_cpuid(base, 0, r);
		/* "XenVMMXenVMM" in ebx, ecx, edx */
		if (r[1] == 0x566e6558u && r[2] == 0x65584d4du && r[3] == 0x4d4d566eu &&
		    r[0] >= base + 2)
			return base;
	}
	return 0;
}

long rt_xen_hvm_param(uint32_t index, uint64_t *value)
{
	struct {
		uint16_t domid;
		uint16_t pad;
		uint32_t index;
		uint64_t value;
	} p = {.domid = XEN_DOMID_SELF, .index = index};
	long rc = rt_xen_hypercall(XEN_HC_HVM_OP, HVMOP_GET_PARAM, (uintptr_t)&p);

	*value = p.value;
	return rc;
}

/*
 * Bare gate round trip (int3 + iretq) in TSC cycles, the part of
 * rt_xen_hypercall_null that is not Xen: the best of 4 runs of 256, so the
 * two TSC reads are amortised (Xen may trap rdtsc: it does under QEMU TCG).
 */
static uint64_t measure_gate(void)
{
	uint64_t best = ~0ull;

	for (int r = 0; r < 4; r++) {
		uint64_t t0 = rt_tsc_begin(), t;

		for (int i = 0; i < 256; i++)
			rt_sys(RT_SYS_NULL, 0, 0);
		t = rt_tsc_end() - t0;
		if (t < best)
			best = t;
	}
	return best / 256;
}

/* A LOG record built here, not with rt_log: the harness is compiled for
 * the workloads' ISA and may use the vector state check_xcr0 found lost. */
static void xen_log(const char *msg)
{
	struct hvb_record r;
	char *p = r.text, *end = r.text + sizeof(r.text) - 1;

	memset(&r, 0, sizeof(r));
	r.magic = HVB_RECORD_MAGIC;
	r.version = HVB_ABI_VERSION;
	r.type = HVB_REC_LOG;
	r.size = sizeof(r);
	p = rt_put_str(p, end, msg);
	*p = '\0';
	rt_xencons_emit(&r);
}

/*
 * Does Xen know the XCR0 the runtime set at boot?  Xen keeps its own copy,
 * updated when it intercepts xsetbv, and loads it on its exit paths.  Xen
 * under QEMU TCG never sees the guest's xsetbv (measured: boot set 0x7,
 * xgetbv reads 0x3 after the first hypercalls), so AVX code then faults
 * with #UD.  Say so in the log (and in the text channel), and make
 * hvb_xcr0 tell the truth; an image built for x86-64-v2 runs regardless.
 */
static void check_xcr0(void)
{
	char msg[HVB_TEXT_MAX], *p = msg, *end = msg + sizeof(msg) - 1;
	uint32_t lo, hi;

	if (!hvb_xcr0)
		return; /* PV boot found no XSAVE (CR4.OSXSAVE refused): no xgetbv */
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if ((((uint64_t)hi << 32) | lo) == hvb_xcr0)
		return;
	p = rt_put_str(p, end, "XCR0 ");
	p = rt_put_hex(p, end, hvb_xcr0);
	p = rt_put_str(p, end, " reverted to ");
	p = rt_put_hex(p, end, lo);
	p = rt_put_str(p, end,
		    " under Xen (xsetbv not seen): AVX #UDs; build WORKLOAD_ARCH=x86-64-v2");
	*p = '\0';
	hvb_xcr0 = ((uint64_t)hi << 32) | lo;
	xen_log(msg);
	rt_xencons_text("hvbench guest: ");
	rt_xencons_text(msg);
	rt_xencons_text("\n");
}

/* One LOG record with what the runtime found (kept in the run's log). */
static void log_xen(uint32_t base)
{
	char msg[HVB_TEXT_MAX], *p = msg, *end = msg + sizeof(msg) - 1;
	long v = rt_xen_hypercall_null();

	p = rt_put_str(p, end, "guest xen: version ");
	p = rt_put_dec(p, end, (uint64_t)v >> 16 & 0xffff);
	p = rt_put_str(p, end, ".");
	p = rt_put_dec(p, end, (uint64_t)v & 0xffff);
	p = rt_put_str(p, end, " cpuid base ");
	p = rt_put_hex(p, end, base);
	p = rt_put_str(p, end, " console pfn ");
	p = rt_put_hex(p, end, (uintptr_t)ring >> 12);
	p = rt_put_str(p, end, " evtchn ");
	p = rt_put_dec(p, end, ring_port);
	p = rt_put_str(p, end, " gate ");
	p = rt_put_dec(p, end, gate_cycles);
	p = rt_put_str(p, end, " cycles");
	*p = '\0';
	xen_log(msg);
}

/* One LOG record with what the PV boot (pv.c) did. */
static void log_pv(const struct rt_pv_boot *pv)
{
	char msg[HVB_TEXT_MAX], *p = msg, *end = msg + sizeof(msg) - 1;
	long v = rt_xen_hypercall_null();

	p = rt_put_str(p, end, "guest xen pv: version ");
	p = rt_put_dec(p, end, (uint64_t)v >> 16 & 0xffff);
	p = rt_put_str(p, end, ".");
	p = rt_put_dec(p, end, (uint64_t)v & 0xffff);
	p = rt_put_str(p, end, " pages ");
	p = rt_put_dec(p, end, pv->nr_pages);
	p = rt_put_str(p, end, " xen-mapped ");
	p = rt_put_hex(p, end, pv->initial_map_end);
	p = rt_put_str(p, end, " +l1 ");
	p = rt_put_dec(p, end, pv->l1_tables);
	p = rt_put_str(p, end, " gate ");
	p = rt_put_dec(p, end, gate_cycles);
	*p = '\0';
	xen_log(msg);
}

/* Xen PV: the hypercall page was filled at build time (ELF note) and pv.c
 * found the console in start_info. */
static int xen_init_pv(const struct rt_pv_boot *pv)
{
	char *p = hc_note, *end = hc_note + sizeof(hc_note) - 1;

	ring = pv->console;
	ring_port = pv->console_evtchn;
	active = true;
	check_xcr0();
	gate_cycles = measure_gate();
	p = rt_put_str(p, end, "Xen PV: xen_version from guest kernel via int3 bounce + "
			       "HYPERVISOR_iret (gate: ");
	p = rt_put_dec(p, end, gate_cycles);
	p = rt_put_str(p, end, " cycles)");
	*p = '\0';
	log_pv(pv);
	return 0;
}

void rt_xencons_resume(void)
{
	if (rt_pv() && active) {
		ring = rt_pv()->console;
		ring_port = rt_pv()->console_evtchn;
	}
}

int rt_xen_init(const char **why)
{
	uint32_t base, r[4];
	uint64_t pfn = 0, port = 0;
	char *p = hc_note, *end = hc_note + sizeof(hc_note) - 1;

	if (rt_pv())
		return xen_init_pv(rt_pv());
	base = xen_cpuid_base();
	if (!base) {
		*why = "dev=xencons: no Xen CPUID leaves (XenVMMXenVMM): not a Xen guest";
		return -19; /* -ENODEV */
	}
	rt_cpuid(base + 2, 0, r); /* eax: hypercall pages, ebx: the MSR */
	rt_msr_write(r[1], (uintptr_t)hvb_xen_hypercall_page);
	if (!hvb_xen_hypercall_page[0]) {
		*why = "dev=xencons: Xen did not fill the hypercall page";
		return -5; /* -EIO */
	}
	if (rt_xen_hvm_param(HVM_PARAM_CONSOLE_PFN, &pfn) ||
	    rt_xen_hvm_param(HVM_PARAM_CONSOLE_EVTCHN, &port) ||
	    !pfn) {
		*why = "dev=xencons: Xen gave no PV console (HVM_PARAM_CONSOLE_PFN/EVTCHN)";
		return -5;
	}
	if (pfn >= (1ull << 20)) {
		/* The boot map covers 0-4 GiB; libxl puts the page below. */
		*why = "dev=xencons: PV console page above 4 GiB (not mapped)";
		return -5;
	}
	ring = (struct xencons_interface *)(uintptr_t)(pfn << 12);
	ring_port = (uint32_t)port;
	active = true;
	rt_platform = &rt_platform_xen_pvh;
	check_xcr0();
	gate_cycles = measure_gate();
	p = rt_put_str(p, end, "Xen xen_version from ring 0 via the int3 gate (alone: ");
	p = rt_put_dec(p, end, gate_cycles);
	p = rt_put_str(p, end, " cycles at boot; micro/gate)");
	*p = '\0';
	log_xen(base);
	return 0;
}

/* ------------------------------------------------------------ wake-up */

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_ENABLE (1u << 11)
#define LAPIC_VERSION 0x30
#define LAPIC_SVR 0xf0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TDCR 0x3e0
#define SVR_ENABLE 0x100
#define SVR_SPURIOUS 0xff
#define TDCR_DIV_1 0xb

int rt_xen_wake_init(const char **note, const char **why)
{
	volatile uint32_t *apic = (volatile uint32_t *)(uintptr_t)RT_LAPIC_BASE;
	static bool ready;
	uint64_t base;
	uint32_t ver;

	if (rt_smp_irq_up()) /* lapic.c drives the LAPIC (HVB_CAP_IRQ): its timer */
		return rt_smp_halt_prepare(note, why);
	if (!ready) {
		base = rt_msr_read(MSR_APIC_BASE);
		if (!(base & APIC_BASE_ENABLE) || (base & ~0xfffull) != RT_LAPIC_BASE) {
			*why = "Xen PVH: no enabled xAPIC at 0xfee00000 (IA32_APIC_BASE): nothing "
			       "to wake hlt";
			return -19; /* -ENODEV */
		}
		ver = apic[LAPIC_VERSION / 4];
		if (ver == ~0u || (ver & 0xff) < 0x10) {
			*why = "Xen PVH: the LAPIC does not answer (domain without LAPIC "
			       "emulation?): nothing to wake hlt";
			return -19;
		}
		apic[LAPIC_SVR / 4] = SVR_ENABLE | SVR_SPURIOUS;
		apic[LAPIC_TDCR / 4] = TDCR_DIV_1;
		apic[LAPIC_LVT_TIMER / 4] = RT_VEC_WAKE; /* one-shot, unmasked */
		ready = true;
	}
	/* HVB_TEXT_MAX: under 96 characters */
	*note = "Xen PVH: LAPIC timer (one-shot, count 1) + sti; hlt, woken by its interrupt, EOI";
	return 0;
}

/* Each operation: timer count 1, sti; hlt; cli in ring 0 (entry.S). */
static void pvh_halt_wake(void)
{
	if (rt_smp_irq_up())
		rt_smp_timer_halt();
	else
		rt_sys(RT_SYS_XEN_HLT, 0, 0);
}

long rt_xen_poll_wake(void)
{
	static uint32_t no_port;
	struct {
		uint64_t ports; /* XEN_GUEST_HANDLE(evtchn_port_t) */
		uint32_t nr_ports;
		uint32_t pad;
		uint64_t timeout; /* absolute system time (ns); 0 would mean none */
	} poll = {.ports = (uintptr_t)&no_port, .nr_ports = 0, .timeout = 1};

	return rt_xen_hypercall(XEN_HC_SCHED_OP, SCHEDOP_POLL, (uintptr_t)&poll);
}

/* ------------------------------------------------------------ PV console */

static void notify(void)
{
	struct {
		uint32_t port;
	} send = {ring_port};

	rt_xen_hypercall(XEN_HC_EVENT_CHANNEL_OP, EVTCHNOP_SEND, (uintptr_t)&send);
}

/* Put all n bytes on the ring; when it is full, kick xenconsoled and give
 * it the CPU until it has consumed some. */
static void ring_write(const char *s, size_t n)
{
	while (n) {
		uint32_t cons = ring->out_cons, prod = ring->out_prod;
		size_t put;

		rt_barrier(); /* read the indexes before touching the ring */
		put = xen_ring_put(ring->out, XENCONS_OUT_SIZE, cons, &prod, s, n);
		if (!put) {
			notify();
			rt_xen_hypercall(XEN_HC_SCHED_OP, SCHEDOP_YIELD, 0);
			continue;
		}
		rt_barrier(); /* the bytes before the index (x86 keeps stores in order) */
		ring->out_prod = prod;
		s += put;
		n -= put;
	}
	notify();
}

/* Before Xen's console works (or if it never does): Xen's HVM debug port,
 * which ends up in Xen's log (xl dmesg) with guest_loglvl=all. */
static void debug_port_text(const char *s)
{
	if (rt_pv())
		return; /* no port I/O under PV (pv.c reports early failures to Xen) */
	while (*s)
		rt_outb(HVB_PORT_DEBUGCON, (uint8_t)*s++);
}

void rt_xencons_init(void)
{
	const char *why = "";

	if (rt_xen_init(&why) == 0)
		return;
	debug_port_text("hvbench guest: ");
	debug_port_text(why);
	debug_port_text("\n");
	rt_shutdown(HVB_EXIT_PANIC);
}

/* A repetition marker for xentrace in dom0 (abi.h HVB_CPUID_MARK_*), outside
 * the timed batches: one cpuid exit (PVH), or under PV, where cpuid does
 * not trap, vcpu_op(cmd = marker, vcpuid = rep), whose cmd and vcpuid Xen
 * traces (TRC_PV_HYPERCALL_V2) and which it answers with -ENOSYS/-ENOENT. */
static void mark_rep(uint32_t leaf, uint32_t rep)
{
	uint32_t r[4];

	if (rt_pv())
		rt_xen_hypercall(XEN_HC_VCPU_OP, leaf, rep);
	else
		rt_cpuid(leaf, rep, r);
}

void rt_xencons_emit(const struct hvb_record *rec)
{
	static char line[HVB_CONSOLE_LINE_LEN];
	static uint32_t seq;

	if (!active)
		return;
	if (rec->type == HVB_REC_REP_END)
		mark_rep(HVB_CPUID_MARK_END, rec->rep);
	ring_write(line, hvb_console_encode(rec, seq++, line));
	if (rec->type == HVB_REC_REP_BEGIN)
		mark_rep(HVB_CPUID_MARK_BEGIN, rec->rep);
}

void rt_xencons_text(const char *s)
{
	size_t n = 0;

	if (!active) {
		debug_port_text(s);
		return;
	}
	while (s[n])
		n++;
	ring_write(s, n);
}

/*
 * Wait (a bounded number of yields) until xenconsoled has taken every byte,
 * so the DONE or FAULT record is not left in the ring of a dead domain,
 * then SCHEDOP_shutdown: poweroff for HVB_EXIT_OK, crash otherwise.
 * Returns only if Xen did not stop the domain (rt_shutdown then halts).
 */
void rt_xencons_stop(int code)
{
	struct {
		uint32_t reason;
	} sd = {code == HVB_EXIT_OK ? SHUTDOWN_POWEROFF : SHUTDOWN_CRASH};

	if (!active && !hvb_xen_hypercall_page[0])
		return;
	for (int i = 0; active && i < 100000 && ring->out_cons != ring->out_prod; i++) {
		notify();
		rt_xen_hypercall(XEN_HC_SCHED_OP, SCHEDOP_YIELD, 0);
	}
	rt_xen_hypercall(XEN_HC_SCHED_OP, SCHEDOP_SHUTDOWN, (uintptr_t)&sd);
}

/* ------------------------------------------------------------ the platform */

/* With pt=4k rt_paging_init maps RAM and these pages only: the console
 * page (libxl puts it outside RAM), micro/hlt-wake's wake-up source, the
 * LAPIC (RT_SYS_XEN_HLT), and the xenstore ring (outside RAM too) that
 * blkfront talks through. */
static unsigned pvh_mmio_pages(const char *cmdline, uint64_t *page)
{
	uint64_t store = 0;

	(void)cmdline;
	page[0] = (uintptr_t)ring;
	page[1] = RT_LAPIC_BASE;
	if (rt_xen_hvm_param(HVM_PARAM_STORE_PFN, &store) || !store || store >= (1ull << 20) ||
	    rt_mem_is_ram(store << 12, 4096))
		return 2;
	page[2] = store << 12;
	return 3;
}

const struct rt_platform rt_platform_xen_pvh = {
	.name = "xen-pvh",
	.hypercall_null = rt_xen_hypercall_null, /* Xen wants ring 0: through the gate */
	.hypercall_note = rt_xen_hypercall_note,
	.hypercall_name = rt_xen_hypercall_name,
	.halt_prepare = rt_xen_wake_init,
	.halt_wake = pvh_halt_wake,
	.fresh_alloc = rt_hvm_fresh_alloc, /* memory as under hvm: the runtime's tables */
	.fresh_release = rt_hvm_fresh_release,
	.page_note = rt_paging_note,
	.mmio_pages = pvh_mmio_pages,
	.user_mode = rt_hvm_user_mode, /* an HVM guest: ring 3 and ring 0 */
	.kernel_mode = rt_hvm_kernel_mode,
	.blk = &rt_xen_blkfront,
	.net = &rt_xen_netfront,
	.smp_start = rt_xen_pvh_smp_start, /* smp=xen: VCPUOP_initialise + VCPUOP_up */
	.irq = &rt_lapic_irq_ops, /* Xen emulates a LAPIC for a PVH domU */
};
