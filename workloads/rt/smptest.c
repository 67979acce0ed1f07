/*
 * selftest=smp: the runtime checks its own SMP and interrupt paths in the
 * guest, before the harness, and reports one LOG record per check
 * ("guest rt: selftest smp: NAME ok|FAILED ...") plus a summary, so a host
 * test (tests/guest/test_smp_qemu.sh) can compare counts it cannot see:
 *   work      every CPU runs work given to it, twice (the second start
 *             wakes an AP that idles in hlt), and knows its index
 *   wake      each start woke its halted AP with exactly one WAKE IPI
 *   alloc     every CPU allocates, frees and logs at once (the locks)
 *   self      each self-IPI arrives exactly once
 *   ping      PING to an idle (halted) AP: one PING there, one PONG back
 *   ping-spin the same to an AP spinning with interrupts on
 *   cross     a PING held pending at CPU 1 (interrupts off there) while
 *             CPU 0 takes interrupts of its own arrives once CPU 1 turns
 *             interrupts on: one CPU's handler never takes another's
 *             (Xen PV: the pending bitmaps are the domain's)
 *   timer     each one-shot / TSC-deadline timer fires exactly once
 *   halt-self a self-IPI sent with interrupts off ends the bounded halt
 *             (rt_irq_halt_or_timer: sti; hlt / SCHEDOP_block) before its
 *             backstop timer, exactly once each (micro/ipi-self-hlt's path)
 *   halt-lost a halt on an interrupt nobody sends ends by the backstop
 *             timer: a lost interrupt costs a bound, not a hang
 *   storm     STORM, never EOI'd, blocks its priority class until the
 *             guest EOIs by hand; the run still finishes (without a LAPIC,
 *             Xen PV event channels: later STORMs merge into the
 *             unacknowledged one, a SELF is not blocked)
 *   flood     10000 STORMs from CPU 1 to CPU 0: CPU 0 goes on
 *   kick      (HVB_CAP_KICK) each kick served once, stamped after the out
 *   virq      (HVB_CAP_VIRQ) each injection arrives once, on CPU 0 and 1
 * Only with selftest=smp on the command line: no workload pays for it.
 */
#include "harness.h"
#include "rt.h"

#define ROUNDS 8

static unsigned failures;

static void report(const char *name, bool ok, const char *what, uint64_t got, uint64_t want)
{
	char msg[HVB_TEXT_MAX], *p = msg, *end = msg + sizeof(msg) - 1;

	p = rt_put_str(p, end, "guest rt: selftest smp: ");
	p = rt_put_str(p, end, name);
	p = rt_put_str(p, end, ok ? " ok " : " FAILED ");
	p = rt_put_str(p, end, what);
	p = rt_put_str(p, end, "=");
	p = rt_put_dec(p, end, got);
	p = rt_put_str(p, end, "/");
	p = rt_put_dec(p, end, want);
	*p = '\0';
	rt_log(msg);
	failures += !ok;
}

static void settle(void)
{
	uint64_t t0 = rt_tsc_end();

	while (rt_tsc_end() - t0 < rt_smp_tsc_khz()) /* 1 ms */
		;
}

static volatile uint32_t ran[RT_MAX_CPUS];

static void note_cpu(void *arg, unsigned cpu)
{
	(void)arg;
	ran[cpu] += rt_cpu_self() == cpu ? 1 : 1000;
}

static void check_work(void)
{
	unsigned n = rt_cpus(), good = 1, woken = 0;
	uint64_t wakes = 0;
	uint64_t wake0[RT_MAX_CPUS];

	for (unsigned i = 0; i < n; i++)
		wake0[i] = rt_irq_wakeups(i);
	for (int round = 0; round < 2; round++)
		for (unsigned i = 1; i < n; i++) {
			if (rt_cpu_start(i, note_cpu, 0) < 0)
				continue;
			rt_cpu_wait(i);
		}
	for (unsigned i = 1; i < n; i++)
		good += ran[i] == 2;
	report("work", good == n, "cpus", good, n);
	if (!rt_smp_irq_up() || n < 2)
		return;
	/* Each start sent its AP exactly one HVB_VEC_WAKE.  One that came while
	 * the AP was still on its way to halting waits in the LAPIC for its
	 * next sti; hlt, which follows at once: give it that moment. */
	for (int i = 0; i < 5; i++)
		settle();
	for (unsigned i = 1; i < n; i++) {
		woken += rt_irq_wakeups(i) - wake0[i] == 2;
		wakes += rt_irq_wakeups(i) - wake0[i];
	}
	report("wake", woken == n - 1, "wakeups", wakes, 2 * (n - 1));
}

/*
 * Every CPU allocates, fills, checks and frees at once, then logs a record:
 * the allocator and the record transport under contention.  Setup-like
 * (a few blocks, freed in reverse): the allocator reclaims LIFO, so
 * endless alloc/free churn on two CPUs would leapfrog and exhaust it.
 */
static volatile uint32_t alloc_bad[RT_MAX_CPUS];

static void alloc_and_log(void *arg, unsigned cpu)
{
	char msg[64], *p = msg, *end = msg + sizeof(msg) - 1;
	uint8_t *b[4];
	size_t bytes[4];

	(void)arg;
	for (int round = 0; round < 20; round++) {
		for (int k = 0; k < 4; k++) {
			bytes[k] = 4096 * (1 + cpu + k);
			b[k] = rt_alloc(bytes[k], 64);
			if (b[k])
				rt_memset(b[k], 0x40 + (int)(cpu * 4 + k), bytes[k]);
			else
				alloc_bad[cpu] += 1000;
		}
		for (int k = 0; k < 4; k++)
			for (size_t i = 0; b[k] && i < bytes[k]; i += 256)
				alloc_bad[cpu] += b[k][i] != 0x40 + cpu * 4 + k;
		for (int k = 4; k-- > 0;)
			rt_free(b[k], bytes[k]);
	}
	p = rt_put_str(p, end, "guest rt: selftest smp: record from cpu ");
	p = rt_put_dec(p, end, cpu);
	*p = '\0';
	rt_log(msg);
}

static void check_alloc(void)
{
	unsigned n = rt_cpus(), bad = 0;

	for (unsigned i = 1; i < n; i++)
		rt_cpu_start(i, alloc_and_log, 0);
	alloc_and_log(0, 0);
	for (unsigned i = 1; i < n; i++)
		rt_cpu_wait(i);
	for (unsigned i = 0; i < n; i++)
		bad += alloc_bad[i];
	report("alloc", bad == 0, "bad", bad, 0);
}

static void check_self(void)
{
	uint64_t before = rt_irq_count(0, RT_IRQ_SELF);

	for (int i = 0; i < ROUNDS; i++) {
		uint64_t seen = rt_irq_count(0, RT_IRQ_SELF);

		rt_ipi_send(0, RT_IRQ_SELF);
		rt_irq_wait(RT_IRQ_SELF, seen, false);
	}
	report("self", rt_irq_count(0, RT_IRQ_SELF) - before == ROUNDS, "arrived",
	       rt_irq_count(0, RT_IRQ_SELF) - before, ROUNDS);
}

static void ping_rounds(const char *name)
{
	uint64_t ping0 = rt_irq_count(1, RT_IRQ_PING), pong0 = rt_irq_count(0, RT_IRQ_PONG);
	uint64_t pings, pongs;

	for (int i = 0; i < ROUNDS; i++) {
		uint64_t seen = rt_irq_count(0, RT_IRQ_PONG);

		rt_ipi_send(1, RT_IRQ_PING);
		rt_irq_wait(RT_IRQ_PONG, seen, false);
	}
	pings = rt_irq_count(1, RT_IRQ_PING) - ping0;
	pongs = rt_irq_count(0, RT_IRQ_PONG) - pong0;
	report(name, pings == ROUNDS && pongs == ROUNDS, "pongs", pongs, ROUNDS);
	if (pings != ROUNDS)
		report(name, false, "pings", pings, ROUNDS);
}

static volatile uint32_t stop_spin;

static void spin_irq_on(void *arg, unsigned cpu)
{
	(void)arg, (void)cpu;
	rt_irq_enable(true);
	while (!stop_spin)
		__asm__ volatile("pause" ::: "memory");
	rt_irq_enable(false);
}

static void check_ping(void)
{
	if (rt_cpus() < 2) {
		rt_log("guest rt: selftest smp: ping skipped (one CPU)");
		return;
	}
	ping_rounds("ping");
	stop_spin = 0;
	if (rt_cpu_start(1, spin_irq_on, 0) < 0) {
		report("ping-spin", false, "started", 0, 1);
		return;
	}
	ping_rounds("ping-spin");
	stop_spin = 1;
	rt_cpu_wait(1);
}

static volatile uint32_t cross_ready, cross_go;

/* CPU 1 for cross: interrupts off until told, then wait for the PING. */
static void cross_target(void *arg, unsigned cpu)
{
	uint64_t seen = rt_irq_count(cpu, RT_IRQ_PING);

	(void)arg;
	rt_irq_enable(false);
	cross_ready = 1;
	while (!cross_go)
		__asm__ volatile("pause" ::: "memory");
	rt_irq_wait(RT_IRQ_PING, seen, false); /* interrupts on while it waits */
}

static void check_cross(void)
{
	uint64_t ping0 = rt_irq_count(1, RT_IRQ_PING), pong0 = rt_irq_count(0, RT_IRQ_PONG);
	uint64_t self0 = rt_irq_count(0, RT_IRQ_SELF), pings, pongs, selfs;

	if (rt_cpus() < 2)
		return;
	cross_ready = cross_go = 0;
	if (rt_cpu_start(1, cross_target, 0) < 0) {
		report("cross", false, "started", 0, 1);
		return;
	}
	while (!cross_ready)
		__asm__ volatile("pause" ::: "memory");
	rt_ipi_send(1, RT_IRQ_PING); /* held: CPU 1 has interrupts off */
	settle();
	for (int i = 0; i < ROUNDS; i++) { /* CPU 0's own upcalls meanwhile */
		uint64_t seen = rt_irq_count(0, RT_IRQ_SELF);

		rt_ipi_send(0, RT_IRQ_SELF);
		rt_irq_wait(RT_IRQ_SELF, seen, false);
	}
	cross_go = 1;
	rt_cpu_wait(1);
	rt_irq_wait(RT_IRQ_PONG, pong0, false);
	pings = rt_irq_count(1, RT_IRQ_PING) - ping0;
	pongs = rt_irq_count(0, RT_IRQ_PONG) - pong0;
	selfs = rt_irq_count(0, RT_IRQ_SELF) - self0;
	report("cross", pings == 1 && pongs == 1, "held PING answered", pongs, 1);
	if (pings != 1)
		report("cross", false, "pings", pings, 1);
	if (selfs != ROUNDS)
		report("cross", false, "selfs", selfs, ROUNDS);
}

static void check_timer(const struct rt_irq_info *info)
{
	uint64_t before = rt_irq_count(0, RT_IRQ_TIMER), step = rt_smp_tsc_khz() / 10; /* 100 us */
	uint64_t t0;

	if (!info->timer) {
		rt_log("guest rt: selftest smp: timer skipped (no timer that counts)");
		return;
	}
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t seen = rt_irq_count(0, RT_IRQ_TIMER);

		rt_timer_arm(rt_tsc_begin() + step);
		rt_irq_wait(RT_IRQ_TIMER, seen, i & 1); /* halting and spinning */
	}
	t0 = rt_tsc_end(); /* a second interrupt per arm would come now */
	while (rt_tsc_end() - t0 < 10 * step)
		;
	report("timer", rt_irq_count(0, RT_IRQ_TIMER) - before == ROUNDS, "fired",
	       rt_irq_count(0, RT_IRQ_TIMER) - before, ROUNDS);
}


/* End an armed backstop: fire it now and take it (interrupts on). */
static void timer_take_now(void)
{
	uint64_t seen = rt_irq_count(0, RT_IRQ_TIMER);

	rt_timer_arm(rt_tsc_begin());
	rt_irq_wait(RT_IRQ_TIMER, seen, false);
}

static void check_halt_bounded(const struct rt_irq_info *info)
{
	uint64_t backstop = 100 * rt_smp_tsc_khz(); /* 100 ms, as micro/ipi-self-hlt */
	uint64_t self0 = rt_irq_count(0, RT_IRQ_SELF), timer0, woke = 0;
	bool arrived;

	if (!info->timer) {
		rt_log("guest rt: selftest smp: halt-self skipped (no backstop timer that counts)");
		return;
	}
	rt_irq_enable(false);
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t seen = rt_irq_count(0, RT_IRQ_SELF), tseen = rt_irq_count(0, RT_IRQ_TIMER);

		rt_timer_arm(rt_tsc_begin() + backstop);
		rt_ipi_send(0, RT_IRQ_SELF);
		woke += rt_irq_halt_or_timer(RT_IRQ_SELF, seen, tseen);
	}
	rt_irq_enable(true);
	timer_take_now();
	report("halt-self", woke == ROUNDS && rt_irq_count(0, RT_IRQ_SELF) - self0 == ROUNDS,
	       "woken by the self-IPI", woke, ROUNDS);
	timer0 = rt_irq_count(0, RT_IRQ_TIMER);
	rt_timer_arm(rt_tsc_begin() + rt_smp_tsc_khz()); /* 1 ms */
	arrived = rt_irq_halt_or_timer(RT_IRQ_PING, rt_irq_count(0, RT_IRQ_PING), timer0);
	report("halt-lost", !arrived && rt_irq_count(0, RT_IRQ_TIMER) - timer0 == 1,
	       "ended by the backstop", rt_irq_count(0, RT_IRQ_TIMER) - timer0, 1);
}

/*
 * Three STORMs: one in service (never EOI'd), one pending, one merged into
 * it; a SELF (same priority class) waits behind them.  Each manual EOI lets
 * the next in: STORM again, then SELF.
 */
static void check_storm_evtchn(void);

static void check_storm(const struct rt_irq_info *info)
{
	uint64_t s0 = rt_irq_count(0, RT_IRQ_STORM), self0 = rt_irq_count(0, RT_IRQ_SELF);
	bool blocked;

	if (!info->apic_regs) {
		check_storm_evtchn();
		return;
	}
	for (int i = 0; i < 3; i++)
		rt_ipi_send(0, RT_IRQ_STORM);
	rt_ipi_send(0, RT_IRQ_SELF);
	settle();
	blocked = rt_irq_count(0, RT_IRQ_SELF) == self0;
	report("storm", rt_irq_count(0, RT_IRQ_STORM) - s0 == 1 && blocked, "in-service",
	       rt_irq_count(0, RT_IRQ_STORM) - s0, 1);
	rt_apic_eoi();
	settle();
	rt_apic_eoi();
	settle();
	report("storm", rt_irq_count(0, RT_IRQ_STORM) - s0 == 2 &&
				rt_irq_count(0, RT_IRQ_SELF) - self0 == 1,
	       "after-eoi", rt_irq_count(0, RT_IRQ_STORM) - s0, 2);
}

/*
 * The same without a LAPIC (Xen PV event channels, no priority classes):
 * the first STORM arrives and stays unacknowledged (its port masked, its
 * bit pending), the next two merge into that bit, a SELF still arrives;
 * after the manual acknowledgement (rt_apic_eoi) nothing was left to
 * deliver, and a new STORM arrives again.
 */
static void check_storm_evtchn(void)
{
	uint64_t s0 = rt_irq_count(0, RT_IRQ_STORM), self0 = rt_irq_count(0, RT_IRQ_SELF);
	bool self_in;

	for (int i = 0; i < 3; i++)
		rt_ipi_send(0, RT_IRQ_STORM);
	rt_ipi_send(0, RT_IRQ_SELF);
	settle();
	self_in = rt_irq_count(0, RT_IRQ_SELF) - self0 == 1;
	report("storm", rt_irq_count(0, RT_IRQ_STORM) - s0 == 1 && self_in, "merged",
	       rt_irq_count(0, RT_IRQ_STORM) - s0, 1);
	rt_apic_eoi();
	settle();
	rt_ipi_send(0, RT_IRQ_STORM);
	settle();
	report("storm", rt_irq_count(0, RT_IRQ_STORM) - s0 == 2, "after-ack",
	       rt_irq_count(0, RT_IRQ_STORM) - s0, 2);
	rt_apic_eoi();
}

/*
 * An IPI flood: CPU 1 sends FLOOD STORMs to CPU 0, which runs with
 * interrupts on and never acknowledges them.  A LAPIC merges them (one in
 * service, one pending); whatever the host delivers, CPU 0 goes on, and
 * EOIs by hand drain what is left.
 */
#define FLOOD 10000

static void flood_cpu0(void *arg, unsigned cpu)
{
	(void)arg, (void)cpu;
	for (int i = 0; i < FLOOD; i++)
		rt_ipi_send(0, RT_IRQ_STORM);
}

static void check_flood(void)
{
	uint64_t s0 = rt_irq_count(0, RT_IRQ_STORM), got;

	if (rt_cpus() < 2 || rt_cpu_start(1, flood_cpu0, 0) < 0)
		return;
	rt_cpu_wait(1);
	settle();
	for (int i = 0; i < 3; i++) {
		rt_apic_eoi();
		settle();
	}
	got = rt_irq_count(0, RT_IRQ_STORM) - s0;
	report("flood", got >= 1 && got <= FLOOD, "delivered", got, FLOOD);
}

/*
 * The interrupt bench device (HVB_CAP_KICK, HVB_CAP_VIRQ): each kick is
 * served once (the host's total moves by one, its receipt stamp follows
 * the guest's TSC before the out); each injection arrives once at the CPU
 * asked for, its handler's stamp after the host's inject stamp.  The
 * stamps are compared only where they are one clock (HVB_CAP_ONE_TSC).
 */
static void check_kick(const struct rt_irq_info *info)
{
	volatile struct hvb_irq_shared *sh = (volatile struct hvb_irq_shared *)(uintptr_t)HVB_SHARED_IRQ;
	uint64_t kicks0 = sh->kicks, in_order = 0, virqs = 0;
	struct rt_kick_stamps st;

	for (int i = 0; i < ROUNDS; i++) {
		uint64_t t = rt_tsc_begin();

		if (rt_kick(false, 0, &st) == 0 && (st.rx_tsc > t || !info->one_tsc))
			in_order++;
	}
	report("kick", in_order == ROUNDS && sh->kicks - kicks0 == ROUNDS, "served", in_order,
	       ROUNDS);
	if (!info->virq)
		return;
	for (unsigned cpu = 0; cpu < rt_cpus() && cpu < 2; cpu++)
		for (int i = 0; i < ROUNDS; i++) {
			uint64_t seen = rt_irq_count(cpu, RT_IRQ_VIRQ);

			if (rt_kick(true, cpu, &st))
				continue;
			if (cpu == 0)
				rt_irq_wait(RT_IRQ_VIRQ, seen, false);
			else
				for (uint64_t t0 = rt_tsc_end();
				     rt_irq_count(cpu, RT_IRQ_VIRQ) == seen &&
				     rt_tsc_end() - t0 < 1000 * rt_smp_tsc_khz();)
					;
			virqs += rt_irq_count(cpu, RT_IRQ_VIRQ) == seen + 1 &&
				 (rt_irq_stamp(cpu, RT_IRQ_VIRQ) >= st.inject_tsc || !info->one_tsc);
		}
	report("virq", virqs == ROUNDS * (rt_cpus() < 2 ? 1 : 2), "arrived", virqs,
	       ROUNDS * (rt_cpus() < 2 ? 1 : 2));
}

void rt_smp_selftest(void)
{
	struct rt_irq_info info;
	const char *why = 0;

	check_work();
	check_alloc();
	if (rt_irq_open(&info, &why) < 0) {
		char msg[HVB_TEXT_MAX], *p = msg, *end = msg + sizeof(msg) - 1;

		p = rt_put_str(p, end, "guest rt: selftest smp: interrupts skipped: ");
		p = rt_put_str(p, end, why);
		*p = '\0';
		rt_log(msg);
	} else {
		rt_irq_enable(true);
		check_self();
		check_ping();
		check_cross();
		check_timer(&info);
		check_halt_bounded(&info);
		check_storm(&info);
		check_flood();
		if (info.kick)
			check_kick(&info);
		rt_irq_enable(false);
	}
	{
		char msg[HVB_TEXT_MAX], *p = msg, *end = msg + sizeof(msg) - 1;

		p = rt_put_str(p, end, "guest rt: selftest smp: done, failures=");
		p = rt_put_dec(p, end, failures);
		p = rt_put_str(p, end, " mech=");
		p = rt_put_str(p, end, info.mech ? info.mech : "none");
		p = rt_put_str(p, end, " timer=");
		p = rt_put_str(p, end, info.timer_note ? info.timer_note : "none");
		p = rt_put_str(p, end, " cpus: ");
		p = rt_put_str(p, end, rt_cpu_note());
		*p = '\0';
		rt_log(msg);
	}
}
