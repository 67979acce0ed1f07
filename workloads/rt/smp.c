/*
 * SMP and interrupts of the guest runtime (workload.h rt_cpu_*, rt_irq_*),
 * ring 3, on every platform: what differs is rt_platform->smp_start (how
 * APs start) and rt_platform->irq (struct rt_irq_ops: the LAPIC of lapic.c
 * for hvm and Xen PVH; NULL: no interrupts, APs spin).
 *
 * Start-up (rt_smp_boot, from main.c before the harness): the BSP
 * publishes its page tables and LAPIC mode, lets the APs go, starts them
 * the platform's way (rt_platform->smp_start: smp=direct, the reference
 * core already started them at HVB_NOTE_AP_ENTRY; smp=sipi, INIT-SIPI-SIPI
 * to the trampoline of entry.S; smp=xen, VCPUOP_up) and waits up to
 * RT_SMP_CHECKIN_MS for each to check in.  One that does not is reported
 * (LOG) and the run goes on with the CPUs below it: rt_cpus() and
 * rt_cpu_note() say how many run, so the host sees the shortfall and
 * decides (a PANIC would lose every other result of the run).
 *
 * Each AP (hvb_ap_user) then sits in a loop on its mailbox: it halts with
 * interrupts on (RT_SYS_IDLE, woken by HVB_VEC_WAKE) where interrupts are
 * delivered (HVB_CAP_IRQ), else spins with pause; work runs in ring 3 on
 * the AP's own stack.  The CPU index comes from that stack (rt_cpu_self):
 * no segment base or MSR to set up, the same on every platform.
 *
 * Interrupt handlers are ring 0 (entry.S hvb_irq_common): they count per
 * CPU and stamp the TSC in hvb_irq_counts / hvb_irq_stamps, which ring 3
 * reads here.
 */
#include "harness.h"
#include "rt.h"

#define RT_SMP_CHECKIN_MS 5000 /* Xen in QEMU TCG starts APs slowly */
#define RT_KICK_WAIT_MS 1000 /* rt_kick: the host thread may be off its CPU a while under load */
#define RT_IRQ_WAIT_MS 2000 /* rt_irq_wait spinning */
#define EINVAL 22
#define EBUSY 16
#define ENODEV 19
#define ETIMEDOUT 110

#define ICR_ALL_BUT_SELF (3u << 18)
#define ICR_INIT 0x500u
#define ICR_STARTUP 0x600u
#define ICR_LEVEL_ASSERT (1u << 14)

_Static_assert(RT_MAX_CPUS == HVB_MAX_VCPUS, "rt.h out of sync with abi.h");
_Static_assert(RT_VEC_SELF == HVB_VEC_SELF && RT_VEC_PING == HVB_VEC_PING &&
		       RT_VEC_PONG == HVB_VEC_PONG && RT_VEC_STORM == HVB_VEC_STORM,
	       "rt.h out of sync with abi.h");
_Static_assert(RT_NOTE_AP_ENTRY == HVB_NOTE_AP_ENTRY, "rt.h out of sync with abi.h");
_Static_assert(RT_KSTACK_SIZE == 1 << RT_KSTACK_SHIFT, "kernel stack size is not 1 << shift");
_Static_assert(RT_AP_USTACK_SIZE == 1 << RT_AP_USTACK_SHIFT, "AP stack size is not 1 << shift");
_Static_assert(HVB_VEC_STORM - HVB_VEC_SELF < 1 << RT_IRQ_SLOTS_SHIFT, "vectors exceed the slots");

/* entry.S */
extern char hvb_ap_ustacks[], hvb_sipi_start[], hvb_sipi_end[];

/* Written by the ring-0 handlers, read here (slot = vector - HVB_VEC_SELF). */
uint64_t hvb_irq_counts[RT_MAX_CPUS << RT_IRQ_SLOTS_SHIFT];
uint64_t hvb_irq_stamps[RT_MAX_CPUS << RT_IRQ_SLOTS_SHIFT];
/* Who pinged CPU i last: where its handler sends the PONG. */
uint32_t hvb_ping_from[RT_MAX_CPUS];
/* SIPI trampoline: the next AP index, and the first one that parks. */
uint32_t hvb_sipi_ticket = 1, hvb_sipi_limit;

struct mailbox {
	void (*fn)(void *arg, unsigned cpu);
	void *arg;
	uint64_t seq;  /* BSP: bumped for each start */
	uint64_t done; /* AP: the seq it finished */
	uint32_t up;   /* AP: checked in */
	uint32_t halts; /* AP: idles in hlt (else spins) */
} __attribute__((aligned(64)));

static struct mailbox mbox[RT_MAX_CPUS];
static uint32_t go;		/* BSP: the state below is published */
static uint64_t bsp_cr3;	/* BSP: its page tables */
static bool irq_up;		/* interrupts are delivered (HVB_CAP_IRQ, irq->detect ok) */
static const struct rt_irq_ops *irq; /* rt_platform->irq once irq_up */
static struct rt_irq_info opened;	/* what rt_irq_open reports */
static const char *irq_why = "interrupts are not set up";
static unsigned ncpus = 1, want = 1;
static uint64_t smp_tsc_khz;
static uint32_t smp_caps; /* caps= (rt_caps() is the harness's, not set yet at boot) */
static bool irq_on[RT_MAX_CPUS];
static char smp_mode[16] = "direct";
static char cpu_note[160];

static void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static bool ms_passed(uint64_t t0, uint64_t ms)
{
	return rt_tsc_end() - t0 >= ms * smp_tsc_khz;
}

unsigned rt_cpus(void)
{
	return ncpus;
}

/* From the stack pointer: AP i runs on hvb_ap_ustacks[(i-1) * size, i *
 * size); anything else (the BSP's stack, the fault reporter's) is CPU 0. */
unsigned rt_cpu_self(void)
{
	uintptr_t off = (uintptr_t)__builtin_frame_address(0) - (uintptr_t)hvb_ap_ustacks;

	if (off >= (uintptr_t)(RT_MAX_CPUS - 1) << RT_AP_USTACK_SHIFT)
		return 0;
	return 1 + (unsigned)(off >> RT_AP_USTACK_SHIFT);
}

const char *rt_cpu_note(void)
{
	return cpu_note;
}

static unsigned slot(unsigned cpu, enum rt_irq_kind k)
{
	static const uint8_t vec[RT_IRQ_KINDS] = {
		[RT_IRQ_SELF] = HVB_VEC_SELF,	[RT_IRQ_PING] = HVB_VEC_PING,
		[RT_IRQ_PONG] = HVB_VEC_PONG,	[RT_IRQ_TIMER] = HVB_VEC_TIMER,
		[RT_IRQ_VIRQ] = HVB_VEC_VIRQ,	[RT_IRQ_STORM] = HVB_VEC_STORM,
	};

	return (cpu << RT_IRQ_SLOTS_SHIFT) + (vec[k] - HVB_VEC_SELF);
}

#define SLOT_WAKE(cpu) (((cpu) << RT_IRQ_SLOTS_SHIFT) + (HVB_VEC_WAKE - HVB_VEC_SELF))

static void wake(unsigned cpu)
{
	if (mbox[cpu].halts)
		irq->send(cpu, 0, HVB_VEC_WAKE);
}

int rt_cpu_start(unsigned cpu, void (*fn)(void *arg, unsigned cpu), void *arg)
{
	struct mailbox *mb = &mbox[cpu];
	uint64_t s;

	if (cpu == 0 || cpu >= ncpus || !fn)
		return -EINVAL;
	s = mb->seq;
	if (load(&mb->done) != s)
		return -EBUSY;
	mb->fn = fn;
	mb->arg = arg;
	__atomic_store_n(&mb->seq, s + 1, __ATOMIC_RELEASE);
	wake(cpu);
	return 0;
}

void rt_cpu_wait(unsigned cpu)
{
	if (cpu == 0 || cpu >= ncpus)
		return;
	while (load(&mbox[cpu].done) != mbox[cpu].seq)
		cpu_relax();
}

/* Ring 3 of AP `cpu` (entry.S hvb_ap_start iretqs here). */
void hvb_ap_user(unsigned cpu) __attribute__((noreturn));
void hvb_ap_user(unsigned cpu)
{
	struct mailbox *mb = &mbox[cpu];
	uint64_t done = 0, s;

	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		cpu_relax();
	if (bsp_cr3 != (uintptr_t)hvb_boot_pml4)
		rt_sys(RT_SYS_SET_CR3, bsp_cr3, 0);
	if (irq_up) {
		irq->cpu_init(cpu);
		mb->halts = 1;
	}
	__atomic_store_n(&mb->up, 1, __ATOMIC_RELEASE);
	for (;;) {
		s = load(&mb->seq);
		if (s == done) {
			if (mb->halts)
				irq->idle(&mb->seq, s);
			else
				cpu_relax();
			continue;
		}
		mb->fn(mb->arg, cpu);
		done = s;
		__atomic_store_n(&mb->done, s, __ATOMIC_RELEASE);
	}
}

/* ------------------------------------------------------------ start-up */

static void spin_us(uint64_t us)
{
	uint64_t t0 = rt_tsc_end();

	while (rt_tsc_end() - t0 < us * smp_tsc_khz / 1000)
		cpu_relax();
}

/*
 * smp=sipi (QEMU): the trampoline to RT_SIPI_PAGE (RAM below 1 MiB, which
 * the allocator never hands out, and free once the start info is copied),
 * then INIT, SIPI, SIPI to all but self with the SDM's delays.  The APs
 * take their indices from hvb_sipi_ticket; CPUs beyond vcpus= park.
 */
int rt_smp_sipi(const char **why)
{
	size_t len = (size_t)(hvb_sipi_end - hvb_sipi_start);

	if (!rt_mem_is_ram(RT_SIPI_PAGE, 4096)) {
		*why = "smp=sipi: the trampoline page 0x8000 is not RAM in the memory map";
		return -EINVAL;
	}
	rt_memcpy((void *)(uintptr_t)RT_SIPI_PAGE, hvb_sipi_start, len);
	if (!irq_up) /* the BSP's LAPIC sends the IPIs even without HVB_CAP_IRQ */
		rt_lapic_cpu_init(0);
	rt_lapic_send(0, ICR_ALL_BUT_SELF | ICR_LEVEL_ASSERT | ICR_INIT);
	spin_us(10000);
	for (int i = 0; i < 2; i++) {
		rt_lapic_send(0, ICR_ALL_BUT_SELF | ICR_STARTUP | (RT_SIPI_PAGE >> 12));
		spin_us(200);
	}
	return 0;
}

static void log_cpu(unsigned cpu)
{
	char msg[HVB_TEXT_MAX], *p = msg, *end = msg + sizeof(msg) - 1;

	p = rt_put_str(p, end, "guest rt: cpu ");
	p = rt_put_dec(p, end, cpu);
	p = rt_put_str(p, end, " up (smp=");
	p = rt_put_str(p, end, smp_mode);
	if (irq_up && irq->cpu_id && irq->cpu_id(cpu) >= 0) {
		p = rt_put_str(p, end, ", apic id ");
		p = rt_put_dec(p, end, (uint64_t)irq->cpu_id(cpu));
	}
	p = rt_put_str(p, end, mbox[cpu].halts || (cpu == 0 && irq_up) ? ", idle: hlt)"
									  : ", idle: pause)");
	*p = '\0';
	rt_log(msg);
}

static void make_note(void)
{
	char *p = cpu_note, *end = cpu_note + sizeof(cpu_note) - 1;

	p = rt_put_dec(p, end, ncpus);
	if (ncpus < want) {
		p = rt_put_str(p, end, " of ");
		p = rt_put_dec(p, end, want);
	}
	p = rt_put_str(p, end, ncpus == 1 && want == 1 ? " vCPU" : " vCPUs");
	if (want > 1) {
		p = rt_put_str(p, end, str_eq(smp_mode, "direct") ? ", APs started by the VMM"
				   : str_eq(smp_mode, "sipi") ? ", APs started by INIT-SIPI-SIPI"
								 : ", APs started by VCPUOP_up");
		p = rt_put_str(p, end, irq_up ? ", idle in hlt (woken by IPI)" : ", idle spinning (pause)");
	}
	*p = '\0';
}

/* Wait for APs 1..started-1 (a refused one is not waited for: its why is
 * logged already), then say how many run. */
static void wait_checkins(unsigned started)
{
	uint64_t t0 = rt_tsc_end();
	unsigned i;

	for (i = 1; i < started; i++) {
		while (!__atomic_load_n(&mbox[i].up, __ATOMIC_ACQUIRE) &&
		       !ms_passed(t0, RT_SMP_CHECKIN_MS))
			cpu_relax();
		if (!mbox[i].up)
			break;
	}
	ncpus = i;
	for (i = 0; i < ncpus; i++)
		log_cpu(i);
	if (ncpus < want) {
		char msg[HVB_TEXT_MAX], *p = msg, *end = msg + sizeof(msg) - 1;

		p = rt_put_str(p, end, "guest rt: smp: cpu ");
		p = rt_put_dec(p, end, ncpus);
		if (ncpus < started) {
			p = rt_put_str(p, end, " did not check in within ");
			p = rt_put_dec(p, end, RT_SMP_CHECKIN_MS);
			p = rt_put_str(p, end, " ms");
		} else {
			p = rt_put_str(p, end, " was not started (above)");
		}
		p = rt_put_str(p, end, " (smp=");
		p = rt_put_str(p, end, smp_mode);
		p = rt_put_str(p, end, "): running on ");
		p = rt_put_dec(p, end, ncpus);
		p = rt_put_str(p, end, " of ");
		p = rt_put_dec(p, end, want);
		p = rt_put_str(p, end, " vCPUs");
		*p = '\0';
		rt_log(msg);
	}
}

/* Interrupts on the BSP (the APs set themselves up once they go). */
static void irq_boot(const char *cmdline, uint32_t caps)
{
	if (!(caps & HVB_CAP_IRQ)) {
		irq_why = "HVB_CAP_IRQ not granted: no interrupt delivery here";
		return;
	}
	if (!rt_platform->irq) {
		irq_why = "no interrupt driver for this platform in the runtime";
		return;
	}
	if (rt_platform->irq->detect(caps, cmdline, &opened, &irq_why) < 0)
		return;
	irq = rt_platform->irq;
	irq->cpu_init(0);
	irq_up = true;
}

/*
 * vcpus=N and smp=MODE: NULL, or why the words are wrong (main.c panics).
 * Runs before the harness, so it reads tsc_khz itself (main.c passes it).
 */
const char *rt_smp_boot(const char *cmdline, uint32_t caps, uint64_t tsc_khz)
{
	char buf[24];
	uint64_t n = 1;
	const char *why = 0;
	unsigned started;
	int r;

	smp_tsc_khz = tsc_khz ? tsc_khz : 1000000;
	smp_caps = caps;
	if (hvb_cmdline_get(cmdline, "vcpus", buf, sizeof(buf)) &&
	    (!hvb_parse_u64(buf, &n) || n < 1 || n > RT_MAX_CPUS))
		return "vcpus= must be 1..8 (HVB_MAX_VCPUS)";
	if (hvb_cmdline_get(cmdline, "smp", smp_mode, sizeof(smp_mode)) &&
	    !str_eq(smp_mode, "direct") && !str_eq(smp_mode, "sipi") && !str_eq(smp_mode, "xen"))
		return "smp= must be direct, sipi or xen";
	want = (unsigned)n;
	irq_boot(cmdline, caps);
	if (want > 1) /* Xen PV's gate has no RT_SYS_GET_CR3 (nor APs of ours) */
		bsp_cr3 = rt_sys(RT_SYS_GET_CR3, 0, 0);
	hvb_sipi_limit = want;
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	started = want;
	if (want > 1) {
		if (!rt_platform->smp_start) {
			why = "this platform cannot start APs";
			started = 1;
		} else if ((r = rt_platform->smp_start(want, smp_mode, &why)) < 0 && !why) {
			why = "AP start-up failed";
		} else if (r > 0 && (unsigned)r < want) {
			started = (unsigned)r;
		}
		if (why) {
			char msg[HVB_TEXT_MAX], *p = msg, *end = msg + sizeof(msg) - 1;

			p = rt_put_str(p, end, "guest rt: smp: ");
			p = rt_put_str(p, end, why);
			*p = '\0';
			rt_log(msg);
		}
	}
	wait_checkins(started);
	make_note();
	return 0;
}

/* ------------------------------------------------------------ interrupts */

int rt_irq_open(struct rt_irq_info *info, const char **why)
{
	static bool timer_opened;

	rt_memset(info, 0, sizeof(*info));
	if (!irq_up) {
		*why = irq_why;
		return -ENODEV;
	}
	if (!timer_opened) {
		irq->timer_open(smp_tsc_khz, &opened);
		opened.apic_regs =
			irq->apic_read && irq->apic_eoi && irq->tpr_write && irq->tpr_read;
		opened.virq = (smp_caps & HVB_CAP_VIRQ) != 0;
		opened.kick = (smp_caps & HVB_CAP_KICK) != 0;
		opened.one_tsc = (smp_caps & HVB_CAP_ONE_TSC) != 0;
		timer_opened = true;
	}
	*info = opened;
	return 0;
}

void rt_irq_enable(bool on)
{
	if (!irq_up)
		return;
	irq->enable(on);
	irq_on[rt_cpu_self()] = on;
}

uint64_t rt_irq_count(unsigned cpu, enum rt_irq_kind k)
{
	if (cpu >= RT_MAX_CPUS || (unsigned)k >= RT_IRQ_KINDS)
		return 0;
	return load(&hvb_irq_counts[slot(cpu, k)]);
}

uint64_t rt_irq_stamp(unsigned cpu, enum rt_irq_kind k)
{
	if (cpu >= RT_MAX_CPUS || (unsigned)k >= RT_IRQ_KINDS)
		return 0;
	return load(&hvb_irq_stamps[slot(cpu, k)]);
}

/* Wake-ups an AP took (not a workload's kind: for the runtime's tests). */
uint64_t rt_irq_wakeups(unsigned cpu)
{
	return cpu < RT_MAX_CPUS ? load(&hvb_irq_counts[SLOT_WAKE(cpu)]) : 0;
}

void rt_ipi_send(unsigned cpu, enum rt_irq_kind k)
{
	unsigned self = rt_cpu_self();
	uint32_t vec;

	if (!irq_up || cpu >= ncpus)
		return;
	vec = HVB_VEC_SELF + slot(0, k);
	if (k == RT_IRQ_PING)
		__atomic_store_n(&hvb_ping_from[cpu], self, __ATOMIC_RELEASE);
	irq->send(cpu, self, vec);
}

/*
 * Halting: RT_SYS_IDLE sleeps only while the count still holds the value
 * just read, so an interrupt in between is not lost; the wait ends with
 * an interrupt, and where none comes the host's watchdog ends the run.
 * Spinning: interrupts on meanwhile, bounded by RT_IRQ_WAIT_MS.
 */
void rt_irq_wait(enum rt_irq_kind k, uint64_t seen, bool halt)
{
	unsigned self = rt_cpu_self();
	uint64_t *c, t0, v;
	bool was;

	if (!irq_up || (unsigned)k >= RT_IRQ_KINDS)
		return;
	c = &hvb_irq_counts[slot(self, k)];
	was = irq_on[self];
	if (!halt && !was)
		rt_irq_enable(true);
	t0 = rt_tsc_end();
	while ((v = load(c)) <= seen) {
		if (halt) {
			irq->idle(c, v);
			continue;
		}
		if (ms_passed(t0, RT_IRQ_WAIT_MS))
			break;
		cpu_relax();
	}
	if (!halt && !was)
		rt_irq_enable(false);
}

/*
 * rt_irq_halt_or_timer: with interrupts off in the caller's context (ring
 * 3's IF, Xen PV's upcall mask) nothing is delivered between the test of
 * the counts and the gate's sti; hlt (or SCHEDOP_block), which lets the
 * pending ones in: a wake-up the gate's word test does not watch (the
 * timer's) cannot be consumed before the halt and so cannot be lost.
 */
bool rt_irq_halt_or_timer(enum rt_irq_kind k, uint64_t seen, uint64_t timer_seen)
{
	unsigned self = rt_cpu_self();
	uint64_t *c, *t, v;
	bool was;

	if (!irq_up || (unsigned)k >= RT_IRQ_KINDS || k == RT_IRQ_TIMER)
		return false;
	c = &hvb_irq_counts[slot(self, k)];
	t = &hvb_irq_counts[slot(self, RT_IRQ_TIMER)];
	was = irq_on[self];
	if (was)
		rt_irq_enable(false);
	while ((v = load(c)) <= seen && load(t) <= timer_seen)
		irq->idle(c, v);
	if (was)
		rt_irq_enable(true);
	return load(c) > seen;
}

size_t rt_irq_state(char *buf, size_t len, size_t at, enum rt_irq_kind k)
{
	if (!irq_up || (unsigned)k >= RT_IRQ_KINDS || !irq->state)
		return at;
	return irq->state(buf, len, at, HVB_VEC_SELF + slot(0, k));
}

void rt_timer_arm(uint64_t deadline)
{
	if (irq_up)
		irq->timer_arm(deadline);
}

/* The register operations: nothing where the mechanism has none
 * (rt_irq_info.apic_regs false; micro/ skips them). */
uint32_t rt_apic_read(void)
{
	return irq_up && irq->apic_read ? irq->apic_read() : 0;
}

void rt_apic_eoi(void)
{
	if (irq_up && irq->apic_eoi)
		irq->apic_eoi();
}

void rt_tpr_write(unsigned tpr)
{
	if (irq_up && irq->tpr_write)
		irq->tpr_write(tpr);
}

unsigned rt_tpr_read(void)
{
	return irq_up && irq->tpr_read ? irq->tpr_read() : 0;
}

/*
 * micro/hlt-wake where interrupts are delivered (hvm with an in-kernel
 * irqchip, which would never wake a vCPU halted with interrupts off; Xen
 * PVH): the LAPIC timer at once, then halt with interrupts on until it
 * arrived.  Prepare: the timer must count.
 */
int rt_smp_halt_prepare(const char **note, const char **why)
{
	struct rt_irq_info info;

	if (rt_irq_open(&info, why) < 0)
		return -ENODEV;
	if (!info.timer) {
		*why = "hlt with interrupts on needs a LAPIC timer to wake it, and it does not count";
		return -ENODEV;
	}
	*note = info.tsc_deadline ? "LAPIC timer (TSC-deadline, at once) + sti; hlt, woken by its interrupt"
				  : "LAPIC timer (one-shot, count 1) + sti; hlt, woken by its interrupt";
	return 0;
}

void rt_smp_timer_halt(void)
{
	uint64_t seen = rt_irq_count(rt_cpu_self(), RT_IRQ_TIMER);

	irq->timer_arm(0);
	rt_irq_wait(RT_IRQ_TIMER, seen, true);
}

bool rt_smp_irq_up(void)
{
	return irq_up;
}

uint64_t rt_smp_tsc_khz(void)
{
	return smp_tsc_khz;
}

/*
 * The interrupt bench device (abi.h): the request in the shared page, one
 * outb to the kick port (an ioeventfd), then the host's stamps once its
 * thread has served this seq.
 */
int rt_kick(bool inject, unsigned cpu, struct rt_kick_stamps *host)
{
	volatile struct hvb_irq_shared *sh = (volatile struct hvb_irq_shared *)(uintptr_t)HVB_SHARED_IRQ;
	uint64_t seq, t0;

	if (!(smp_caps & HVB_CAP_KICK))
		return -ENODEV;
	if (inject && (!(smp_caps & HVB_CAP_VIRQ) || cpu >= ncpus))
		return -EINVAL;
	seq = sh->seq + 1;
	sh->virq_req = inject;
	sh->virq_cpu = cpu;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	sh->seq = seq;
	rt_outb(HVB_PORT_KICK, 0);
	t0 = rt_tsc_end();
	while (sh->kick_seq != seq) {
		if (ms_passed(t0, RT_KICK_WAIT_MS))
			return -ETIMEDOUT;
		cpu_relax();
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	host->rx_tsc = sh->kick_rx_tsc;
	host->inject_tsc = sh->inject_tsc;
	return 0;
}
