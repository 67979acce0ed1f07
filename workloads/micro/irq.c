/*
 * micro/: interrupt micro-benchmarks (issue 14), after Dall et al. (ISCA
 * 2016) and kvm-unit-tests x86/vmexit.c.  One operation each:
 *
 *   micro/ipi-self       self-IPI: send -> handler (count, stamp, EOI) -> back
 *   micro/ipi            PING to CPU 1 spinning with interrupts on -> its
 *                        handler answers PONG -> back on CPU 0
 *   micro/ipi-halted     the same to CPU 1 halted (hlt / sigsuspend)
 *   micro/apic-read      one trapping interrupt-controller register read
 *   micro/eoi            one EOI with nothing in service
 *   micro/tpr-write      one TPR (CR8) write
 *   micro/tpr-read       one TPR (CR8) read
 *   micro/ipi-self-hlt   self-IPI sent with interrupts off, then sti; hlt,
 *                        which the pending interrupt ends
 *   micro/ipi-self-tpr   TPR raised, self-IPI (held back), TPR lowered:
 *                        the TPR write delivers it
 *   micro/timer-arm      one arm of the one-shot timer (far deadline)
 *   micro/timer-latency  deadline -> the timer handler's stamp
 *   micro/virq-inject    the host injects (irqfd) -> the guest handler's stamp
 *   micro/io-kick        the guest kicks (ioeventfd) -> the host's receipt stamp
 *
 * The interrupt mechanism is the platform's (workload.h rt_irq_*: LAPIC,
 * Xen event channels, native signals) and each sample's note names it
 * (rt_irq_info.mech), so one name means one operation everywhere.
 *
 * Exactly once: every interrupt sent must arrive once.  The kinds a
 * workload sends are watched: within a batch each must arrive once per
 * send, and none may arrive between batches; anything else fails the cell
 * (rt_fail) with what was counted.  A send that never arrives fails it
 * after WAIT_MS instead of hanging.
 *
 * Where the stamps allow, a request is split (rt_req_part): deliver_ns is
 * send -> the receiving handler's stamp (the TSC is one clock for every
 * CPU, and the host's under KVM: abi.h interrupt bench device).
 */
#include "workload.h"

/*
 * What the host should offer (struct hvb_workload .needs): interrupt
 * delivery, and cpuid, by which the runtime detects x2APIC and the
 * TSC-deadline timer (without it: xAPIC and the one-shot LAPIC timer).
 * So the kvm runner probes cpuid for these; valid() requires only
 * HVB_CAP_IRQ, and the note says which interface ran.
 */
#define LAPIC_NEEDS (HVB_CAP_IRQ | HVB_CAP_CPUID)

#define WAIT_MS 1000	      /* longest wait for an interrupt that was sent */
#define TIMER_FAR_MS 1000     /* micro/timer-arm's deadline: never reached in a batch */
#define TIMER_AHEAD_US 200    /* micro/timer-latency: deadline this long after the arm */
#define SETTLE_MIN_US 10      /* micro/ipi-halted: time the target has to halt again */
/* micro/ipi-self-tpr: a TPR priority class at or above every vector's of
 * the runtime (HVB_VEC_* are 0xe0-0xef, class 14), so a self-IPI waits. */
#define TPR_HOLD 15

struct watch {
	unsigned cpu;
	enum rt_irq_kind kind;
	uint64_t at; /* its count at the end of the last batch (or setup) */
};

/* One interrupt workload runs at a time: its state is here. */
static struct {
	struct rt_irq_info info;
	struct watch watch[2];
	unsigned nwatch;
	volatile uint32_t stop;	 /* CPU 1's target loop ends */
	bool target;		 /* CPU 1 runs a target loop */
	uint64_t settle;	 /* micro/ipi-halted: cycles before each send */
	uint64_t host_kicks;	 /* the bench device's totals at the last check */
	uint64_t host_injections;
	char note[HVB_TEXT_MAX];
	char why[HVB_TEXT_MAX]; /* rt_fail keeps the pointer */
} st;

static const char *const kind_name[RT_IRQ_KINDS] = {
	[RT_IRQ_SELF] = "SELF", [RT_IRQ_PING] = "PING",	  [RT_IRQ_PONG] = "PONG",
	[RT_IRQ_TIMER] = "TIMER", [RT_IRQ_VIRQ] = "VIRQ", [RT_IRQ_STORM] = "STORM",
};

static uint64_t us_cycles(uint64_t us)
{
	return us * rt_tsc_khz() / 1000;
}

static void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static void spin_cycles(uint64_t cycles)
{
	uint64_t t0 = rt_tsc_end();

	while (rt_tsc_end() - t0 < cycles)
		cpu_relax();
}

/* Spin until count(cpu, k) passes seen (interrupts on where the caller
 * turned them on); false after WAIT_MS.  The count is polled every
 * iteration, the TSC every 64th: detection stays one load away. */
static bool await(unsigned cpu, enum rt_irq_kind k, uint64_t seen)
{
	uint64_t t0 = rt_tsc_end(), limit = us_cycles(WAIT_MS * 1000ull);

	for (unsigned i = 1; rt_irq_count(cpu, k) <= seen; i++) {
		if (!(i & 63) && rt_tsc_end() - t0 > limit)
			return false;
		cpu_relax();
	}
	return true;
}

#define NO_WANT (~0ull) /* fail_text: a count with nothing to compare it to */

/* "micro/x: <what> <got>/<want>": a failure text with its counts. */
static const char *fail_text(const struct hvb_ctx *c, const char *what, uint64_t got, uint64_t want)
{
	size_t at = rt_text_str(st.why, sizeof(st.why), 0, c->w->name);

	at = rt_text_str(st.why, sizeof(st.why), at, ": ");
	at = rt_text_str(st.why, sizeof(st.why), at, what);
	at = rt_text_str(st.why, sizeof(st.why), at, " ");
	at = rt_text_dec(st.why, sizeof(st.why), at, got);
	if (want != NO_WANT) {
		at = rt_text_str(st.why, sizeof(st.why), at, "/");
		rt_text_dec(st.why, sizeof(st.why), at, want);
	}
	return st.why;
}

/* "micro/x: a K to CPU n did not arrive within 1000 ms (lost)" */
static size_t lost_text(const struct hvb_ctx *c, unsigned cpu, enum rt_irq_kind k)
{
	size_t at = rt_text_str(st.why, sizeof(st.why), 0, c->w->name);

	at = rt_text_str(st.why, sizeof(st.why), at, ": a ");
	at = rt_text_str(st.why, sizeof(st.why), at, kind_name[k]);
	at = rt_text_str(st.why, sizeof(st.why), at, " to CPU ");
	at = rt_text_dec(st.why, sizeof(st.why), at, cpu);
	return rt_text_str(st.why, sizeof(st.why), at, " did not arrive within 1000 ms (lost)");
}

/* A send of kind k to cpu that did not arrive in WAIT_MS. */
static void fail_lost(struct hvb_ctx *c, unsigned cpu, enum rt_irq_kind k)
{
	lost_text(c, cpu, k);
	rt_fail(c, st.why);
}

/* A PONG that did not come back: which leg was lost (did CPU 1 count the
 * PING?) and what CPU 0's controller holds for the PONG, so a lost
 * interrupt can be told from a slow one. */
static void fail_lost_pong(struct hvb_ctx *c, uint64_t pings_before)
{
	size_t at = lost_text(c, 0, RT_IRQ_PONG);

	at = rt_text_str(st.why, sizeof(st.why), at,
			 rt_irq_count(1, RT_IRQ_PING) > pings_before ? "; CPU 1 took the PING"
								     : "; CPU 1 never took the PING");
	at = rt_text_str(st.why, sizeof(st.why), at, "; CPU 0's PONG: ");
	rt_irq_state(st.why, sizeof(st.why), at, RT_IRQ_PONG);
	rt_fail(c, st.why);
}

/* ------------------------------------------------------------ exactly once */

static void watch_reset(void)
{
	st.nwatch = 0;
}

static void watch(unsigned cpu, enum rt_irq_kind k)
{
	st.watch[st.nwatch].cpu = cpu;
	st.watch[st.nwatch].kind = k;
	st.watch[st.nwatch].at = rt_irq_count(cpu, k);
	st.nwatch++;
}

/* "CPU 1 PING arrived" + counts: which watch disagreed. */
static void fail_watch(struct hvb_ctx *c, const struct watch *w, const char *what, uint64_t got,
		       uint64_t want)
{
	char head[48];
	size_t at = rt_text_str(head, sizeof(head), 0, "CPU ");

	at = rt_text_dec(head, sizeof(head), at, w->cpu);
	at = rt_text_str(head, sizeof(head), at, " ");
	at = rt_text_str(head, sizeof(head), at, kind_name[w->kind]);
	rt_text_str(head, sizeof(head), at, what);
	rt_fail(c, fail_text(c, head, got, want));
}

/* At the start of a batch: nothing watched arrived since the last check
 * (an interrupt nobody sent, or a second delivery of one). */
static bool watch_quiet(struct hvb_ctx *c)
{
	for (unsigned i = 0; i < st.nwatch; i++) {
		struct watch *w = &st.watch[i];
		uint64_t now = rt_irq_count(w->cpu, w->kind);

		if (now != w->at) {
			fail_watch(c, w, " arrived unsent between batches:", now - w->at, NO_WANT);
			return false;
		}
	}
	return true;
}

/* Each watched kind arrived exactly `want` times since the last check. */
static void watch_check(struct hvb_ctx *c, uint64_t want)
{
	for (unsigned i = 0; i < st.nwatch; i++) {
		struct watch *w = &st.watch[i];
		uint64_t now = rt_irq_count(w->cpu, w->kind);

		if (now - w->at != want)
			fail_watch(c, w, " arrivals/sends:", now - w->at, want);
		w->at = now;
	}
}

/* As watch_check, for the watches of kind k only (the others keep their
 * mark for a later check). */
static void watch_check_kind(struct hvb_ctx *c, enum rt_irq_kind k, uint64_t want)
{
	for (unsigned i = 0; i < st.nwatch; i++) {
		struct watch *w = &st.watch[i];
		uint64_t now = rt_irq_count(w->cpu, w->kind);

		if (w->kind != k)
			continue;
		if (now - w->at != want)
			fail_watch(c, w, " arrivals/sends:", now - w->at, want);
		w->at = now;
	}
}

static bool timer_fire_now(struct hvb_ctx *c); /* the timers' section */

/* ------------------------------------------------------------ validity, notes */

/* Interrupts are delivered here (a guest needs HVB_CAP_IRQ; natively
 * signals always are) and open. */
static bool irq_valid(struct hvb_ctx *c, const char **why)
{
	if (!c->native && !rt_has(HVB_CAP_IRQ, why))
		return false;
	return rt_irq_open(&st.info, why) == 0;
}

static bool two_cpus(const char **why)
{
	if (rt_cpus() >= 2)
		return true;
	*why = "needs a second CPU to send to: run with --vcpus 2";
	return false;
}

/* The note: the mechanism, then what this workload adds. */
static void set_note(struct hvb_ctx *c, const char *what)
{
	size_t at = rt_text_str(st.note, sizeof(st.note), 0, st.info.mech ? st.info.mech : "?");

	if (what && *what) {
		at = rt_text_str(st.note, sizeof(st.note), at, "; ");
		rt_text_str(st.note, sizeof(st.note), at, what);
	}
	c->note = st.note;
}

static bool timer_valid(struct hvb_ctx *c, const char **why)
{
	if (!irq_valid(c, why))
		return false;
	if (!st.info.timer) {
		*why = "no one-shot timer that counts here (rt_irq_info.timer)";
		return false;
	}
	set_note(c, st.info.timer_note);
	return true;
}

static bool regs_valid(struct hvb_ctx *c, const char **why, const char *what)
{
	if (!irq_valid(c, why))
		return false;
	if (!st.info.apic_regs) {
		*why = c->native ? "no native analogue: a process has no interrupt-controller registers"
				 : "this platform's interrupts have no APIC registers (rt_irq_info)";
		return false;
	}
	set_note(c, what);
	return true;
}

/* Interrupts on CPU 0 while a batch runs (off again after it). */
static void irq_on(struct hvb_ctx *c, uint64_t n)
{
	(void)c, (void)n;
	rt_irq_enable(true);
}

static void irq_off(struct hvb_ctx *c, uint64_t n)
{
	(void)c, (void)n;
	rt_irq_enable(false);
}

/* ------------------------------------------------------------ micro/ipi-self */

static bool valid_ipi_self(struct hvb_ctx *c, const char **why)
{
	if (!irq_valid(c, why))
		return false;
	set_note(c, c->native ? "tgkill to self" : "self-IPI");
	return true;
}

static int setup_ipi_self(struct hvb_ctx *c, const char **why)
{
	(void)c, (void)why;
	watch_reset();
	watch(0, RT_IRQ_SELF);
	return 0;
}

static void run_ipi_self(struct hvb_ctx *c, uint64_t n)
{
	if (!watch_quiet(c))
		return;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t seen = rt_irq_count(0, RT_IRQ_SELF), t0, t1, stamp;

		t0 = rt_tsc_begin();
		rt_ipi_send(0, RT_IRQ_SELF);
		if (!await(0, RT_IRQ_SELF, seen)) {
			fail_lost(c, 0, RT_IRQ_SELF);
			return;
		}
		t1 = rt_tsc_end();
		stamp = rt_irq_stamp(0, RT_IRQ_SELF);
		rt_req_time(c, t1 - t0);
		if (stamp >= t0)
			rt_req_part(c, 0, stamp - t0);
	}
	watch_check(c, n);
}

static const struct hvb_workload w_ipi_self = {
	.name = "micro/ipi-self",
	.desc = "self-IPI: send -> handler (count, stamp, EOI) -> back; deliver_ns: send -> handler",
	.needs = LAPIC_NEEDS,
	.valid = valid_ipi_self,
	.setup = setup_ipi_self,
	.before_batch = irq_on,
	.run = run_ipi_self,
	.after_batch = irq_off,
	.per_request = true,
	.req_parts = { "deliver_ns" },
};
HVB_WORKLOAD(w_ipi_self);

/* ------------------------------------------------------------ micro/ipi, ipi-halted */

/* CPU 1 for micro/ipi: spin with interrupts on (its PING handler answers). */
static void spin_target(void *arg, unsigned cpu)
{
	(void)arg, (void)cpu;
	rt_irq_enable(true);
	while (!st.stop)
		cpu_relax();
	rt_irq_enable(false);
}

/* CPU 1 for micro/ipi-halted: halt until each PING (hlt with interrupts
 * on; natively sigsuspend), until told to stop (and pinged once more). */
static void halt_target(void *arg, unsigned cpu)
{
	(void)arg;
	while (!st.stop)
		rt_irq_wait(RT_IRQ_PING, rt_irq_count(cpu, RT_IRQ_PING), true);
}

static bool valid_ipi(struct hvb_ctx *c, const char **why, const char *what)
{
	if (!irq_valid(c, why) || !two_cpus(why))
		return false;
	set_note(c, what);
	return true;
}

static bool valid_ipi_spin(struct hvb_ctx *c, const char **why)
{
	return valid_ipi(c, why, "CPU 1 spinning, interrupts on");
}

static bool valid_ipi_halted(struct hvb_ctx *c, const char **why)
{
	const char *how = c->native			 ? "CPU 1 in sigsuspend"
			  : (c->caps & HVB_CAP_XEN_PV) ? "CPU 1 blocked (SCHEDOP_block)"
						       : "CPU 1 halted (sti; hlt)";

	return valid_ipi(c, why, how);
}

static int start_target(void (*fn)(void *, unsigned), const char **why)
{
	st.stop = 0;
	st.target = false;
	if (rt_cpu_start(1, fn, 0) < 0) {
		*why = "CPU 1 would not take the target loop (rt_cpu_start)";
		return -1;
	}
	st.target = true;
	watch_reset();
	watch(1, RT_IRQ_PING);
	watch(0, RT_IRQ_PONG);
	return 0;
}

static int setup_ipi_spin(struct hvb_ctx *c, const char **why)
{
	(void)c;
	return start_target(spin_target, why);
}

static int setup_ipi_halted(struct hvb_ctx *c, const char **why)
{
	(void)c;
	st.settle = us_cycles(SETTLE_MIN_US);
	return start_target(halt_target, why);
}

/* One PING -> PONG round trip: req_ns, and deliver_ns = send -> CPU 1's
 * handler stamp; false (cell failed) if the PONG never came. */
static bool ping_pong(struct hvb_ctx *c, uint64_t *took)
{
	uint64_t seen = rt_irq_count(0, RT_IRQ_PONG), pings = rt_irq_count(1, RT_IRQ_PING);
	uint64_t t0, t1, stamp;

	t0 = rt_tsc_begin();
	rt_ipi_send(1, RT_IRQ_PING);
	if (!await(0, RT_IRQ_PONG, seen)) {
		fail_lost_pong(c, pings);
		return false;
	}
	t1 = rt_tsc_end();
	stamp = rt_irq_stamp(1, RT_IRQ_PING);
	rt_req_time(c, t1 - t0);
	if (stamp >= t0 && stamp <= t1) /* else the CPUs' TSCs disagree: no split */
		rt_req_part(c, 0, stamp - t0);
	*took = t1 - t0;
	return true;
}

static void run_ipi_spin(struct hvb_ctx *c, uint64_t n)
{
	uint64_t took;

	if (!watch_quiet(c))
		return;
	for (uint64_t i = 0; i < n; i++)
		if (!ping_pong(c, &took))
			return;
	watch_check(c, n);
}

/*
 * Before each send the target gets time to halt again (as kvm-unit-tests'
 * ipi_halt spins after each IPI): the last round trip, at least
 * SETTLE_MIN_US.  It is part of the batch (ns_per_op), not of req_ns.
 */
static void run_ipi_halted(struct hvb_ctx *c, uint64_t n)
{
	uint64_t took;

	if (!watch_quiet(c))
		return;
	for (uint64_t i = 0; i < n; i++) {
		spin_cycles(st.settle);
		if (!ping_pong(c, &took))
			return;
		st.settle = took > us_cycles(SETTLE_MIN_US) ? took : us_cycles(SETTLE_MIN_US);
	}
	watch_check(c, n);
}

/* The spinning target stops by itself; the halted one needs a last PING
 * to wake (its PONG taken here, so no later cell sees it). */
static void teardown_target(struct hvb_ctx *c, bool halted)
{
	uint64_t seen = rt_irq_count(0, RT_IRQ_PONG);

	(void)c;
	if (!st.target)
		return;
	st.stop = 1;
	if (halted) {
		rt_irq_enable(true);
		rt_ipi_send(1, RT_IRQ_PING);
		(void)await(0, RT_IRQ_PONG, seen);
		rt_irq_enable(false);
	}
	rt_cpu_wait(1);
	st.target = false;
}

static void teardown_ipi_spin(struct hvb_ctx *c)
{
	teardown_target(c, false);
}

static void teardown_ipi_halted(struct hvb_ctx *c)
{
	teardown_target(c, true);
}

static const struct hvb_workload w_ipi = {
	.name = "micro/ipi",
	.desc = "IPI round trip to CPU 1 spinning: PING -> its handler's PONG -> back; "
		"deliver_ns: send -> its handler",
	.needs = LAPIC_NEEDS,
	.valid = valid_ipi_spin,
	.setup = setup_ipi_spin,
	.before_batch = irq_on,
	.run = run_ipi_spin,
	.after_batch = irq_off,
	.teardown = teardown_ipi_spin,
	.per_request = true,
	.req_parts = { "deliver_ns" },
};
HVB_WORKLOAD(w_ipi);

static const struct hvb_workload w_ipi_halted = {
	.name = "micro/ipi-halted",
	.desc = "IPI round trip to CPU 1 halted: PING wakes it, its handler's PONG -> back; "
		"deliver_ns: send -> its handler",
	.needs = LAPIC_NEEDS,
	.valid = valid_ipi_halted,
	.setup = setup_ipi_halted,
	.before_batch = irq_on,
	.run = run_ipi_halted,
	.after_batch = irq_off,
	.teardown = teardown_ipi_halted,
	.per_request = true,
	.req_parts = { "deliver_ns" },
};
HVB_WORKLOAD(w_ipi_halted);

/* ------------------------------------------------------------ register access */

static bool valid_apic_read(struct hvb_ctx *c, const char **why)
{
	if (!regs_valid(c, why, 0))
		return false;
	set_note(c, st.info.x2apic ? "rdmsr 0x803 through the runtime's gate"
				   : "MMIO read of the version register, ring 3");
	return true;
}

static void run_apic_read(struct hvb_ctx *c, uint64_t n)
{
	(void)c;
	for (uint64_t i = 0; i < n; i++)
		rt_keep(rt_apic_read());
}

static const struct hvb_workload w_apic_read = {
	.name = "micro/apic-read",
	.desc = "one read of the LAPIC version register (traps: MMIO or x2APIC MSR)",
	.needs = LAPIC_NEEDS,
	.valid = valid_apic_read,
	.run = run_apic_read,
};
HVB_WORKLOAD(w_apic_read);

static bool valid_eoi(struct hvb_ctx *c, const char **why)
{
	if (!regs_valid(c, why, 0))
		return false;
	set_note(c, st.info.x2apic ? "wrmsr 0x80b through the runtime's gate"
				   : "MMIO write of EOI, ring 3");
	return true;
}

static void run_eoi(struct hvb_ctx *c, uint64_t n)
{
	(void)c;
	for (uint64_t i = 0; i < n; i++)
		rt_apic_eoi();
}

static const struct hvb_workload w_eoi = {
	.name = "micro/eoi",
	.desc = "one EOI write with nothing in service",
	.needs = LAPIC_NEEDS,
	.valid = valid_eoi,
	.run = run_eoi,
};
HVB_WORKLOAD(w_eoi);

static bool valid_tpr(struct hvb_ctx *c, const char **why)
{
	return regs_valid(c, why, "mov to CR8 through the runtime's gate (micro/gate)");
}

/* Between priority classes 0 and 1: no vector of the runtime is below
 * 0x20, so nothing is held back; TPR 0 again at the end. */
static void run_tpr(struct hvb_ctx *c, uint64_t n)
{
	(void)c;
	for (uint64_t i = 0; i < n; i++)
		rt_tpr_write((unsigned)(i & 1));
	rt_tpr_write(0);
}

static const struct hvb_workload w_tpr = {
	.name = "micro/tpr-write",
	.desc = "one TPR (CR8) write, alternating priority class 1 and 0",
	.needs = LAPIC_NEEDS,
	.valid = valid_tpr,
	.run = run_tpr,
};
HVB_WORKLOAD(w_tpr);

static bool valid_tpr_read(struct hvb_ctx *c, const char **why)
{
	return regs_valid(c, why, "mov from CR8 through the runtime's gate (micro/gate)");
}

static void run_tpr_read(struct hvb_ctx *c, uint64_t n)
{
	(void)c;
	for (uint64_t i = 0; i < n; i++)
		rt_keep(rt_tpr_read());
}

static const struct hvb_workload w_tpr_read = {
	.name = "micro/tpr-read",
	.desc = "one TPR (CR8) read (kvm-unit-tests mov_from_cr8)",
	.needs = LAPIC_NEEDS,
	.valid = valid_tpr_read,
	.run = run_tpr_read,
};
HVB_WORKLOAD(w_tpr_read);

/* ------------------------------------------------------------ self-IPI variants */

/*
 * micro/ipi-self-hlt (kvm-unit-tests self_ipi_sti_hlt): with interrupts
 * off the self-IPI can only be pending; rt_irq_halt_or_timer then tests the
 * count and does sti; hlt in one ring-0 step (RT_SYS_IDLE), so the hlt is
 * ended by that pending interrupt.  Natively the same shape: the signal
 * is blocked when sent, sigsuspend unblocks it.  Under Xen PV the halt is
 * SCHEDOP_block with the event pending.
 *
 * The halt is bounded: before each request (untimed for req_ns, inside
 * ns_per_op) the one-shot timer is armed BACKSTOP_MS ahead.  If it is the
 * timer that ends the halt, the self-IPI was lost and the cell fails
 * saying so (and whether it came once interrupts were on), instead of the
 * vCPU halting until the host's watchdog ends the whole run.  Each batch
 * ends its last backstop (fired at once and taken), so the timer arrives
 * exactly once per batch and the self-IPI exactly once per request.
 */
/* 100 ms.  1 s was tried against host stalls under load and broke Xen
 * PV under QEMU TCG (ci/xen/bench-test: a second TIMER in a batch, 3 of
 * 3 runs; 100 ms: 0 of 3): not understood yet, so the bound stays. */
#define BACKSTOP_MS 100
_Static_assert(BACKSTOP_MS == 100, "fail_backstop's texts say 100 ms");

static bool valid_ipi_self_hlt(struct hvb_ctx *c, const char **why)
{
	const char *how = c->native ? "tgkill to self with the signal blocked, then sigsuspend"
			  : (c->caps & HVB_CAP_XEN_PV)
				  ? "self event with events masked, then SCHEDOP_block"
				  : "self-IPI with interrupts off, then sti; hlt (ended by it)";

	if (!irq_valid(c, why))
		return false;
	if (!st.info.timer) {
		*why = "needs a one-shot timer that counts, the backstop that bounds its halt "
		       "(rt_irq_info.timer)";
		return false;
	}
	set_note(c, how);
	return true;
}

static int setup_ipi_self_hlt(struct hvb_ctx *c, const char **why)
{
	(void)c, (void)why;
	watch_reset();
	watch(0, RT_IRQ_SELF);
	watch(0, RT_IRQ_TIMER);
	return 0;
}

/* The backstop woke the CPU: say whether the self-IPI came at all once
 * interrupts were on (spinning up to WAIT_MS), which tells a lost send
 * from one that sti; hlt did not let in. */
static void fail_backstop(struct hvb_ctx *c, uint64_t seen)
{
	char line[HVB_TEXT_MAX];
	size_t at = rt_text_str(line, sizeof(line), 0, "micro/ipi-self-hlt at the backstop: ");
	bool late;

	rt_irq_state(line, sizeof(line), at, RT_IRQ_SELF); /* before interrupts go on */
	rt_log(line);
	rt_irq_enable(true);
	late = await(0, RT_IRQ_SELF, seen);
	rt_irq_enable(false);
	rt_log(late ? "micro/ipi-self-hlt: the self-IPI arrived once interrupts were on (spinning)"
		    : "micro/ipi-self-hlt: the self-IPI did not arrive in 1000 ms with interrupts on");
	rt_fail(c, late ? "micro/ipi-self-hlt: self-IPI not delivered within 100 ms by sti; hlt "
			  "(later with IF on)"
			: "micro/ipi-self-hlt: self-IPI not delivered within 100 ms by sti; hlt, "
			  "nor later");
}

static void run_ipi_self_hlt(struct hvb_ctx *c, uint64_t n)
{
	uint64_t backstop = us_cycles(BACKSTOP_MS * 1000ull);

	if (!watch_quiet(c))
		return;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t seen = rt_irq_count(0, RT_IRQ_SELF), tseen = rt_irq_count(0, RT_IRQ_TIMER);
		uint64_t t0, t1, stamp;

		rt_timer_arm(rt_tsc_begin() + backstop);
		t0 = rt_tsc_begin();
		rt_ipi_send(0, RT_IRQ_SELF);
		if (rt_irq_count(0, RT_IRQ_SELF) != seen) {
			rt_fail(c, "micro/ipi-self-hlt: the self-IPI arrived with interrupts off");
			return;
		}
		if (!rt_irq_halt_or_timer(RT_IRQ_SELF, seen, tseen)) {
			fail_backstop(c, seen);
			return;
		}
		t1 = rt_tsc_end();
		stamp = rt_irq_stamp(0, RT_IRQ_SELF);
		rt_req_time(c, t1 - t0);
		if (stamp >= t0 && stamp <= t1)
			rt_req_part(c, 0, stamp - t0);
	}
	watch_check_kind(c, RT_IRQ_SELF, n);
}

/* Untimed: the last backstop fires now and is taken (interrupts on), so
 * none is armed in a later batch or cell; it must be the batch's only
 * timer interrupt (a backstop that fired beside the self-IPI fails). */
static void after_ipi_self_hlt(struct hvb_ctx *c, uint64_t n)
{
	(void)n;
	rt_irq_enable(true);
	if (timer_fire_now(c))
		watch_check_kind(c, RT_IRQ_TIMER, 1);
	rt_irq_enable(false);
}

static const struct hvb_workload w_ipi_self_hlt = {
	.name = "micro/ipi-self-hlt",
	.desc = "self-IPI sent with interrupts off, then sti; hlt, ended by it -> back "
		"(a timer bounds the halt); deliver_ns: send -> handler",
	.needs = LAPIC_NEEDS,
	.valid = valid_ipi_self_hlt,
	.setup = setup_ipi_self_hlt,
	.before_batch = irq_off,
	.run = run_ipi_self_hlt,
	.after_batch = after_ipi_self_hlt,
	.per_request = true,
	.req_parts = { "deliver_ns" },
};
HVB_WORKLOAD(w_ipi_self_hlt);

/*
 * micro/ipi-self-tpr (kvm-unit-tests self_ipi_tpr, self_ipi_tpr_sti_nop):
 * interrupts on, TPR raised to TPR_HOLD, self-IPI sent (it must stay
 * pending: counted, it fails the cell), TPR lowered: the write delivers
 * it.  Needs a TPR: LAPIC platforms only.
 */
/*
 * A hardware-assisted guest (Xen PVH/HVM, KVM) of a hypervisor that itself
 * runs on QEMU's TCG: its SVM is QEMU's emulation.  cpuid tells: the brand
 * string QEMU gives its TCG CPUs ("QEMU TCG CPU version ..."), passed
 * through by the hypervisor, while the hypervisor leaf is not TCG's own
 * ("TCGTCGTCGTCG", what a guest directly on TCG sees).
 */
static bool guest_of_tcg_svm(const struct hvb_ctx *c)
{
	static const char tcg_brand[] = "QEMU TCG CPU";
	uint32_t r[4], brand[4];

	if (c->native || !(c->caps & HVB_CAP_CPUID))
		return false;
	rt_cpuid(0x80000000u, 0, r);
	if (r[0] < 0x80000002u)
		return false;
	rt_cpuid(0x80000002u, 0, brand);
	if (__builtin_memcmp(brand, tcg_brand, sizeof(tcg_brand) - 1) != 0)
		return false;
	rt_cpuid(0x40000000u, 0, r);
	return __builtin_memcmp(&r[1], "TCGT", 4) || __builtin_memcmp(&r[2], "CGTC", 4) ||
	       __builtin_memcmp(&r[3], "GTCG", 4);
}

static bool valid_ipi_self_tpr(struct hvb_ctx *c, const char **why)
{
	if (!irq_valid(c, why))
		return false;
	if (c->native) {
		*why = "no native analogue: a process has no task priority (TPR) to hold a "
		       "signal back";
		return false;
	}
	if (!st.info.apic_regs) {
		*why = "needs a LAPIC TPR (CR8) to hold the interrupt back; this platform's "
		       "interrupts have none (Xen PV: event channels)";
		return false;
	}
	/* QEMU 7.2's helper_write_crN: a guest-mode CR8 write that unmasks
	 * a pending virtual interrupt (V_IRQ, which Xen and KVM set while the
	 * TPR holds one back) calls cpu_interrupt() without the BQL, and QEMU
	 * aborts (tcg_handle_interrupt: assertion qemu_mutex_iothread_locked). */
	if (guest_of_tcg_svm(c)) {
		*why = "QEMU TCG's nested SVM aborts QEMU when a CR8 write unmasks a pending "
		       "virtual interrupt";
		return false;
	}
	set_note(c, "TPR 15 (CR8, gate), self-IPI held, TPR 0 delivers it");
	return true;
}

/* req_ns: TPR raised -> send -> TPR lowered -> handler ran -> back;
 * unmask_ns: the lowering TPR write -> the handler's stamp. */
static void run_ipi_self_tpr(struct hvb_ctx *c, uint64_t n)
{
	if (!watch_quiet(c))
		return;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t seen = rt_irq_count(0, RT_IRQ_SELF), t0, tl, t1, stamp;

		t0 = rt_tsc_begin();
		rt_tpr_write(TPR_HOLD);
		rt_ipi_send(0, RT_IRQ_SELF);
		if (rt_irq_count(0, RT_IRQ_SELF) != seen) {
			rt_tpr_write(0);
			rt_fail(c, "micro/ipi-self-tpr: the self-IPI arrived while the TPR held it "
				   "back");
			return;
		}
		tl = rt_tsc_begin();
		rt_tpr_write(0);
		if (!await(0, RT_IRQ_SELF, seen)) {
			fail_lost(c, 0, RT_IRQ_SELF);
			return;
		}
		t1 = rt_tsc_end();
		stamp = rt_irq_stamp(0, RT_IRQ_SELF);
		rt_req_time(c, t1 - t0);
		if (stamp >= tl && stamp <= t1)
			rt_req_part(c, 0, stamp - tl);
	}
	watch_check(c, n);
}

static const struct hvb_workload w_ipi_self_tpr = {
	.name = "micro/ipi-self-tpr",
	.desc = "TPR raised, self-IPI held back, TPR lowered delivers it -> back; unmask_ns: "
		"the lowering write -> handler",
	.needs = LAPIC_NEEDS,
	.valid = valid_ipi_self_tpr,
	.setup = setup_ipi_self,
	.before_batch = irq_on,
	.run = run_ipi_self_tpr,
	.after_batch = irq_off,
	.per_request = true,
	.req_parts = { "unmask_ns" },
};
HVB_WORKLOAD(w_ipi_self_tpr);

/* ------------------------------------------------------------ timers */

static uint64_t far_deadline(void)
{
	return rt_tsc_begin() + us_cycles(TIMER_FAR_MS * 1000ull);
}

/* Fire the timer now and take its interrupt (interrupts on): ends an
 * armed far deadline so it cannot arrive in a later batch or cell. */
static bool timer_fire_now(struct hvb_ctx *c)
{
	uint64_t seen = rt_irq_count(0, RT_IRQ_TIMER);

	rt_timer_arm(rt_tsc_begin());
	if (await(0, RT_IRQ_TIMER, seen))
		return true;
	fail_lost(c, 0, RT_IRQ_TIMER);
	return false;
}

static int setup_timer_arm(struct hvb_ctx *c, const char **why)
{
	(void)c, (void)why;
	watch_reset();
	watch(0, RT_IRQ_TIMER);
	return 0;
}

/* Re-arming a deadline 1 s away: nothing fires in the batch. */
static void run_timer_arm(struct hvb_ctx *c, uint64_t n)
{
	uint64_t far = far_deadline();

	if (!watch_quiet(c))
		return;
	for (uint64_t i = 0; i < n; i++)
		rt_timer_arm(far + i);
	watch_check(c, 0);
}

/* Untimed: the armed deadline fires now, exactly once. */
static void after_timer_arm(struct hvb_ctx *c, uint64_t n)
{
	(void)n;
	rt_irq_enable(true);
	if (timer_fire_now(c))
		watch_check(c, 1);
	rt_irq_enable(false);
}

static const struct hvb_workload w_timer_arm = {
	.name = "micro/timer-arm",
	.desc = "one arm of the one-shot timer (TSC-deadline MSR, LAPIC count, timer_settime)",
	.needs = LAPIC_NEEDS,
	.valid = timer_valid,
	.setup = setup_timer_arm,
	.run = run_timer_arm,
	.after_batch = after_timer_arm,
};
HVB_WORKLOAD(w_timer_arm);

/*
 * The deadline lies TIMER_AHEAD_US after the arm everywhere (one
 * condition for every runner; the slowest arm measured, ~35 us under
 * nested PVM, completes well before it).  The timer must fire once at
 * once first: a timer that does not count fails here, saying so.
 */
static int setup_timer_latency(struct hvb_ctx *c, const char **why)
{
	size_t at;

	rt_irq_enable(true);
	if (!timer_fire_now(c)) {
		rt_irq_enable(false);
		*why = "the one-shot timer did not fire within 1000 ms of an arm at once";
		return -1;
	}
	rt_irq_enable(false);
	at = rt_text_str(st.note, sizeof(st.note), 0, st.info.mech);
	at = rt_text_str(st.note, sizeof(st.note), at, "; ");
	at = rt_text_str(st.note, sizeof(st.note), at, st.info.timer_note);
	at = rt_text_str(st.note, sizeof(st.note), at, "; deadline arm+");
	at = rt_text_dec(st.note, sizeof(st.note), at, TIMER_AHEAD_US);
	rt_text_str(st.note, sizeof(st.note), at, " us");
	c->note = st.note;
	watch_reset();
	watch(0, RT_IRQ_TIMER);
	return 0;
}

/* req_ns: the handler's stamp - the deadline (a fire before the deadline,
 * a one-shot count's rounding, counts as 0: never early by more). */
static void run_timer_latency(struct hvb_ctx *c, uint64_t n)
{
	if (!watch_quiet(c))
		return;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t seen = rt_irq_count(0, RT_IRQ_TIMER), deadline, stamp;

		deadline = rt_tsc_begin() + us_cycles(TIMER_AHEAD_US);
		rt_timer_arm(deadline);
		if (!await(0, RT_IRQ_TIMER, seen)) {
			fail_lost(c, 0, RT_IRQ_TIMER);
			return;
		}
		stamp = rt_irq_stamp(0, RT_IRQ_TIMER);
		rt_req_time(c, stamp > deadline ? stamp - deadline : 0);
	}
	watch_check(c, n);
}

static const struct hvb_workload w_timer_latency = {
	.name = "micro/timer-latency",
	.desc = "one-shot timer: deadline -> the handler's stamp (req_ns); ns_per_op includes "
		"the wait",
	.needs = LAPIC_NEEDS,
	.valid = timer_valid,
	.setup = setup_timer_latency,
	.before_batch = irq_on,
	.run = run_timer_latency,
	.after_batch = irq_off,
	.per_request = true,
};
HVB_WORKLOAD(w_timer_latency);

/* ------------------------------------------------------------ host <-> guest */

/* The bench device's totals (abi.h): the host's count of what it served. */
static volatile struct hvb_irq_shared *bench_page(void)
{
	return (volatile struct hvb_irq_shared *)(uintptr_t)HVB_SHARED_IRQ;
}

static void host_totals_mark(void)
{
	st.host_kicks = bench_page()->kicks;
	st.host_injections = bench_page()->injections;
}

/* The host served (and injected) exactly n times in this batch.  Its
 * thread writes the totals before it publishes kick_seq (hv/dev_irqbench.c
 * serve_kick), so they are final once the batch's last rt_kick returned. */
static void host_totals_check(struct hvb_ctx *c, uint64_t kicks, uint64_t injections)
{
	uint64_t k = bench_page()->kicks - st.host_kicks;
	uint64_t j = bench_page()->injections - st.host_injections;

	if (k != kicks)
		rt_fail(c, fail_text(c, "host kicks/sends:", k, kicks));
	else if (j != injections)
		rt_fail(c, fail_text(c, "host injections/asked:", j, injections));
	host_totals_mark();
}

static bool no_native_host(struct hvb_ctx *c, const char **why)
{
	if (!c->native)
		return true;
	*why = "no native analogue: no host side that a process kicks or that injects into it";
	return false;
}

static bool valid_virq(struct hvb_ctx *c, const char **why)
{
	if (!no_native_host(c, why) ||
	    !rt_has(HVB_CAP_KICK | HVB_CAP_VIRQ | HVB_CAP_ONE_TSC, why) || !irq_valid(c, why))
		return false;
	if (!st.info.virq) {
		*why = "the guest runtime sees no interrupt bench device (rt_irq_info.virq)";
		return false;
	}
	set_note(c, "irqfd of the bench device (abi.h)");
	return true;
}

static int setup_virq(struct hvb_ctx *c, const char **why)
{
	(void)c, (void)why;
	watch_reset();
	watch(0, RT_IRQ_VIRQ);
	host_totals_mark();
	return 0;
}

/*
 * A kick asking for an injection on CPU 0, then its interrupt.  req_ns:
 * the host's inject stamp -> the guest handler's (Dall's I/O latency in);
 * the parts before it: kick_ns (the guest's out -> the host thread's
 * receipt) and host_ns (receipt -> inject).  An order the one clock
 * cannot give fails the cell: the TSCs are not the same.
 */
static void run_virq(struct hvb_ctx *c, uint64_t n)
{
	struct rt_kick_stamps hs;

	if (!watch_quiet(c))
		return;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t seen = rt_irq_count(0, RT_IRQ_VIRQ), t0, stamp;

		t0 = rt_tsc_begin();
		if (rt_kick(true, 0, &hs) < 0) {
			rt_fail(c, "micro/virq-inject: the host did not serve a kick (rt_kick)");
			return;
		}
		if (!await(0, RT_IRQ_VIRQ, seen)) {
			fail_lost(c, 0, RT_IRQ_VIRQ);
			return;
		}
		stamp = rt_irq_stamp(0, RT_IRQ_VIRQ);
		if (hs.rx_tsc < t0 || hs.inject_tsc < hs.rx_tsc || stamp < hs.inject_tsc) {
			rt_fail(c, "micro/virq-inject: guest and host stamps out of order "
				   "(not one TSC)");
			return;
		}
		rt_req_time(c, stamp - hs.inject_tsc);
		rt_req_part(c, 0, hs.rx_tsc - t0);
		rt_req_part(c, 1, hs.inject_tsc - hs.rx_tsc);
	}
	watch_check(c, n);
	host_totals_check(c, n, n);
}

static const struct hvb_workload w_virq = {
	.name = "micro/virq-inject",
	.desc = "host injects (irqfd) -> the guest handler's stamp; kick_ns, host_ns: the "
		"request before it",
	.needs = LAPIC_NEEDS | HVB_CAP_VIRQ | HVB_CAP_KICK | HVB_CAP_ONE_TSC,
	.valid = valid_virq,
	.setup = setup_virq,
	.before_batch = irq_on,
	.run = run_virq,
	.after_batch = irq_off,
	.per_request = true,
	.req_parts = { "kick_ns", "host_ns" },
};
HVB_WORKLOAD(w_virq);

/* Interrupts are not needed: the kick is a port write and the host's
 * stamp comes back through the shared page. */
static bool valid_kick(struct hvb_ctx *c, const char **why)
{
	if (!no_native_host(c, why) || !rt_has(HVB_CAP_KICK | HVB_CAP_ONE_TSC, why))
		return false;
	c->note = "outb to the bench device's ioeventfd; its thread stamps receipt";
	return true;
}

static int setup_kick(struct hvb_ctx *c, const char **why)
{
	(void)c, (void)why;
	host_totals_mark();
	return 0;
}

/* req_ns: the guest's TSC before the out -> the host thread's receipt
 * (Dall's I/O latency out); ns_per_op: until the guest saw the stamp. */
static void run_kick(struct hvb_ctx *c, uint64_t n)
{
	struct rt_kick_stamps hs;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = rt_tsc_begin();

		if (rt_kick(false, 0, &hs) < 0) {
			rt_fail(c, "micro/io-kick: the host did not serve a kick (rt_kick)");
			return;
		}
		if (hs.rx_tsc < t0) {
			rt_fail(c, "micro/io-kick: host receipt stamped before the kick (not one TSC)");
			return;
		}
		rt_req_time(c, hs.rx_tsc - t0);
	}
	host_totals_check(c, n, 0);
}

static const struct hvb_workload w_kick = {
	.name = "micro/io-kick",
	.desc = "guest kick (outb to an ioeventfd) -> the host thread's receipt stamp",
	.needs = HVB_CAP_KICK | HVB_CAP_ONE_TSC,
	.valid = valid_kick,
	.setup = setup_kick,
	.run = run_kick,
	.per_request = true,
};
HVB_WORKLOAD(w_kick);
