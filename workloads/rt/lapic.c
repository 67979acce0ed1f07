/*
 * The local APIC driver of the hvm platform and of Xen PVH (whose LAPIC Xen
 * emulates): x2APIC through its MSRs if the CPU has it, else xAPIC through
 * the MMIO page at RT_LAPIC_BASE, which the runtime maps user-accessible
 * and uncached so that ring 3 touches the registers directly and each
 * access traps to the host the way a guest kernel's would.  MSRs go through
 * the int3 gate (rt_msr_read / rt_msr_write).
 *
 * Detection needs cpuid (leaf 1 ECX: bit 21 x2APIC, bit 24 TSC-deadline),
 * which the runtime runs only with HVB_CAP_CPUID (under PVM ring-0 cpuid
 * hangs; from ring 3 it works with the cap); without it: xAPIC and the
 * one-shot LAPIC timer.  apic=xapic keeps the xAPIC even where x2APIC
 * exists (so both paths can be measured on one host).  smp.c calls it
 * through rt_lapic_irq_ops (struct rt_irq_ops, rt.h).
 *
 * HVB_CAP_IRQ is the host's word that the LAPIC is there and delivers
 * interrupts: only then does the runtime touch IA32_APIC_BASE, the LAPIC
 * registers and the TSC-deadline MSR.  The ring-0 half (EOI, the PONG
 * answer) is in entry.S and reads hvb_apic_x2 and hvb_apic_ids.
 */
#include "harness.h"
#include "rt.h"

#define LAPIC_ID 0x20
#define LAPIC_VERSION 0x30
#define LAPIC_EOI RT_LAPIC_EOI
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LO RT_LAPIC_ICR_LO
#define LAPIC_ICR_HI RT_LAPIC_ICR_HI
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_TMICT RT_LAPIC_TMICT
#define LAPIC_TMCCT 0x390
#define LAPIC_TDCR 0x3e0

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_ENABLE (1ull << 11)
#define MSR_TSC_DEADLINE 0x6e0

#define SVR_ENABLE 0x100
#define LVT_MASKED (1u << 16)
#define LVT_TSC_DEADLINE (2u << 17)
#define TDCR_DIV_1 0xb

#define ICR_SELF (1u << 18)

#define CPUID1_ECX_X2APIC (1u << 21)
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)

/* Read by entry.S (ring 0): the register interface, and each CPU's APIC ID
 * (the destination of a PONG). */
uint8_t hvb_apic_x2;
uint32_t hvb_apic_ids[RT_MAX_CPUS];

static bool tsc_deadline;
/* One-shot mode: LAPIC timer ticks per TSC cycle, 32.32 fixed point (0:
 * the timer does not count). */
static uint64_t ticks_per_tsc;

static volatile uint32_t *xapic(unsigned reg)
{
	return (volatile uint32_t *)(uintptr_t)(RT_LAPIC_BASE + reg);
}

static uint32_t lapic_read(unsigned reg)
{
	if (hvb_apic_x2)
		return (uint32_t)rt_msr_read(0x800 + reg / 16);
	return *xapic(reg);
}

static void lapic_write(unsigned reg, uint32_t v)
{
	if (hvb_apic_x2)
		rt_msr_write(0x800 + reg / 16, v);
	else
		*xapic(reg) = v;
}

/* ICR: one MSR write in x2APIC mode; high then low word in xAPIC mode (not
 * atomic against a PONG the handler sends on this CPU meanwhile: nothing
 * pings a CPU while it sends, see README). */
void rt_lapic_send(uint32_t apic_id, uint32_t icr_lo)
{
	if (hvb_apic_x2) {
		rt_msr_write(RT_X2APIC_ICR, ((uint64_t)apic_id << 32) | icr_lo);
		return;
	}
	*xapic(LAPIC_ICR_HI) = apic_id << 24;
	*xapic(LAPIC_ICR_LO) = icr_lo;
}

static bool word_xapic(const char *cmdline)
{
	char apic[16];

	return hvb_cmdline_get(cmdline, "apic", apic, sizeof(apic)) && apic[0] == 'x' &&
	       apic[1] == 'a' && apic[2] == 'p' && apic[3] == 'i' && apic[4] == 'c' && !apic[5];
}

/*
 * Decide the interface once, on the BSP, before any AP sets itself up:
 * 0, or -ENODEV with *why (an xAPIC that is off or moved: nothing the
 * runtime maps answers there).
 */
static int lapic_detect(uint32_t caps, const char *cmdline, struct rt_irq_info *info,
			const char **why)
{
	uint32_t r[4] = { 0, 0, 0, 0 };
	uint64_t base;

	if (caps & HVB_CAP_CPUID)
		rt_cpuid(1, 0, r);
	hvb_apic_x2 = (r[2] & CPUID1_ECX_X2APIC) && !word_xapic(cmdline);
	tsc_deadline = (r[2] & CPUID1_ECX_TSC_DEADLINE) != 0;
	base = rt_msr_read(MSR_APIC_BASE);
	if (!(base & APIC_BASE_ENABLE) ||
	    (!(base & APIC_BASE_EXTD) && (base & ~0xfffull & 0xffffffffffull) != RT_LAPIC_BASE)) {
		*why = "no enabled LAPIC at 0xfee00000 (IA32_APIC_BASE)";
		return -19;
	}
	if ((base & APIC_BASE_EXTD) && !hvb_apic_x2) {
		*why = "the LAPIC is in x2APIC mode already, but cpuid or apic=xapic says xAPIC";
		return -19;
	}
	info->mech = hvb_apic_x2 ? "x2APIC" : "xAPIC";
	info->x2apic = hvb_apic_x2;
	return 0;
}

/*
 * On the calling CPU (cpu = its index): x2APIC mode if chosen, software
 * enable with the spurious vector, LINT0 masked (QEMU's pc firmware wires
 * the 8259 there: its timer would arrive at vector 8), the timer LVT at
 * HVB_VEC_TIMER (TSC-deadline or one-shot, divide by 1), TPR 0.
 */
void rt_lapic_cpu_init(unsigned cpu)
{
	if (hvb_apic_x2) {
		uint64_t base = rt_msr_read(MSR_APIC_BASE);

		if (!(base & APIC_BASE_EXTD))
			rt_msr_write(MSR_APIC_BASE, base | APIC_BASE_ENABLE | APIC_BASE_EXTD);
		hvb_apic_ids[cpu] = (uint32_t)rt_msr_read(0x800 + LAPIC_ID / 16);
	} else {
		hvb_apic_ids[cpu] = *xapic(LAPIC_ID) >> 24;
	}
	lapic_write(LAPIC_SVR, SVR_ENABLE | RT_VEC_SPURIOUS);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_TDCR, TDCR_DIV_1);
	lapic_write(LAPIC_LVT_TIMER, HVB_VEC_TIMER | (tsc_deadline ? LVT_TSC_DEADLINE : 0));
	rt_sys(RT_SYS_SET_CR8, 0, 0);
}

/*
 * One-shot mode: how fast the LAPIC timer counts against the TSC (its
 * frequency is the VMM's choice: 1 GHz under KVM and QEMU, 100 MHz under
 * Xen), measured over ~1 ms with the timer masked.
 */
static void lapic_timer_open(uint64_t tsc_khz, struct rt_irq_info *info)
{
	uint64_t t0, t1, ticks;
	uint32_t left;

	info->tsc_deadline = tsc_deadline;
	info->timer = true;
	info->timer_note = "TSC-deadline";
	if (tsc_deadline)
		return;
	lapic_write(LAPIC_LVT_TIMER, HVB_VEC_TIMER | LVT_MASKED);
	lapic_write(LAPIC_TMICT, 0xffffffffu);
	t0 = rt_tsc_begin();
	do
		t1 = rt_tsc_end();
	while (t1 - t0 < tsc_khz);
	left = lapic_read(LAPIC_TMCCT);
	t1 = rt_tsc_end();
	lapic_write(LAPIC_TMICT, 0);
	lapic_write(LAPIC_LVT_TIMER, HVB_VEC_TIMER);
	ticks = 0xffffffffu - left;
	ticks_per_tsc = t1 > t0 ? (ticks << 32) / (t1 - t0) : 0;
	info->timer = ticks_per_tsc != 0;
	info->timer_note = info->timer ? "LAPIC one-shot" : "none (the LAPIC timer does not count)";
}

/* Fire HVB_VEC_TIMER at TSC `deadline` on this CPU: one MSR write, or the
 * one-shot count that corresponds (at least 1: a past deadline fires at
 * once). */
static void lapic_timer_arm(uint64_t deadline)
{
	uint64_t now, ticks;

	if (tsc_deadline) { /* 0 would disarm it: 1 is as past */
		rt_msr_write(MSR_TSC_DEADLINE, deadline ? deadline : 1);
		return;
	}
	now = rt_tsc_end();
	ticks = deadline > now ? (uint64_t)(((unsigned __int128)(deadline - now) * ticks_per_tsc) >> 32)
			       : 0;
	if (!ticks)
		ticks = 1;
	if (ticks > 0xffffffffu)
		ticks = 0xffffffffu;
	lapic_write(LAPIC_TMICT, (uint32_t)ticks);
}

/* The version register: a read that traps (MMIO or MSR). */
static uint32_t lapic_apic_read(void)
{
	return lapic_read(LAPIC_VERSION);
}

static void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

/* CR8 (the TPR's priority class, 0-15), from ring 0 through the gate. */
static void lapic_tpr_write(unsigned tpr)
{
	rt_sys(RT_SYS_SET_CR8, tpr & 15, 0);
}

/* CR8 back (kvm-unit-tests mov_from_cr8), through the gate as the write. */
static unsigned lapic_tpr_read(void)
{
	return (unsigned)rt_sys(RT_SYS_GET_CR8, 0, 0) & 15;
}

/* A fixed IPI; to the caller with the self shorthand (no destination). */
static void lapic_send_vec(unsigned cpu, unsigned self, unsigned vec)
{
	if (cpu == self)
		rt_lapic_send(0, ICR_SELF | vec);
	else
		rt_lapic_send(hvb_apic_ids[cpu], vec);
}

/* entry.S RT_SYS_IDLE: the test, then sti; hlt, with interrupts off. */
static void lapic_idle(const uint64_t *word, uint64_t seen)
{
	rt_sys(RT_SYS_IDLE, (uintptr_t)word, seen);
}

/* RFLAGS.IF of ring 3, edited by the gate (ring 3 runs with IOPL 0). */
static void lapic_enable(bool on)
{
	rt_sys(RT_SYS_IRQ_IF, on, 0);
}

/* The 256-bit IRR / ISR as eight registers 16 bytes apart. */
#define LAPIC_TPR 0x80
#define LAPIC_PPR 0xa0
#define LAPIC_ISR 0x100
#define LAPIC_IRR 0x200

static unsigned lapic_bit(unsigned base, unsigned vec)
{
	return (lapic_read(base + (vec / 32) * 16) >> (vec % 32)) & 1;
}

static int lapic_highest(unsigned base)
{
	for (int w = 7; w >= 0; w--) {
		uint32_t v = lapic_read(base + (unsigned)w * 16);

		if (v)
			return w * 32 + 31 - __builtin_clz(v);
	}
	return -1;
}

/* rt_irq_state: what decides whether vec is delivered (SDM 10.8.3.1: it
 * waits in IRR while PPR's class is at or above its own). */
static size_t lapic_state(char *buf, size_t len, size_t at, unsigned vec)
{
	int isr = lapic_highest(LAPIC_ISR);

	at = rt_text_str(buf, len, at, "LAPIC TPR ");
	at = rt_text_hex(buf, len, at, lapic_read(LAPIC_TPR));
	at = rt_text_str(buf, len, at, " PPR ");
	at = rt_text_hex(buf, len, at, lapic_read(LAPIC_PPR));
	at = rt_text_str(buf, len, at, " vec ");
	at = rt_text_hex(buf, len, at, vec);
	at = rt_text_str(buf, len, at, " IRR ");
	at = rt_text_dec(buf, len, at, lapic_bit(LAPIC_IRR, vec));
	at = rt_text_str(buf, len, at, " ISR ");
	at = rt_text_dec(buf, len, at, lapic_bit(LAPIC_ISR, vec));
	at = rt_text_str(buf, len, at, " top ISR ");
	return isr < 0 ? rt_text_str(buf, len, at, "none") : rt_text_hex(buf, len, at, (unsigned)isr);
}

static long lapic_cpu_id(unsigned cpu)
{
	return cpu < RT_MAX_CPUS ? (long)hvb_apic_ids[cpu] : -1;
}

const struct rt_irq_ops rt_lapic_irq_ops = {
	.detect = lapic_detect,
	.cpu_init = rt_lapic_cpu_init,
	.send = lapic_send_vec,
	.idle = lapic_idle,
	.enable = lapic_enable,
	.timer_open = lapic_timer_open,
	.timer_arm = lapic_timer_arm,
	.apic_read = lapic_apic_read,
	.apic_eoi = lapic_eoi,
	.tpr_write = lapic_tpr_write,
	.tpr_read = lapic_tpr_read,
	.cpu_id = lapic_cpu_id,
	.state = lapic_state,
};
