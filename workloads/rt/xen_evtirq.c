/*
 * Interrupts under Xen PV (rt_xen_evtchn_irq_ops, struct rt_irq_ops): a PV
 * guest has no LAPIC; its interrupts are event channels.
 *
 *   IPIs    one port per receiving vCPU and kind (SELF, PING, PONG, WAKE,
 *           STORM), EVTCHNOP_bind_ipi on that vCPU; a send is EVTCHNOP_send
 *           on the receiver's port of that kind.
 *   timer   VIRQ_TIMER bound per vCPU (EVTCHNOP_bind_virq), armed with
 *           VCPUOP_set_singleshot_timer at the Xen system time of the TSC
 *           deadline (the vCPU's vcpu_time_info); the periodic timer Xen
 *           gives a PV vCPU is stopped.
 *   upcall  the event callback (pv.S hvb_pv_upcall) runs
 *           hvb_pv_evtchn_upcall in guest kernel mode with events masked:
 *           it demultiplexes the shared-info bitmaps of its vCPU
 *           (evtchn_upcall_pending, evtchn_pending_sel, evtchn_pending,
 *           evtchn_mask), takes only its own ports (the bitmaps are the
 *           domain's: another vCPU's pending port is left to it), clears
 *           each pending bit before it counts (a send after that raises a
 *           new upcall, none is lost), stamps the TSC
 *           and counts in hvb_irq_counts / hvb_irq_stamps as entry.S's
 *           handlers do, answers PING with PONG.  STORM is never
 *           acknowledged: its port is masked with the bit left pending, so
 *           later STORMs merge into it until rt_apic_eoi acknowledges it.
 *   IF      the upcall mask of the vCPU: user mode runs with events masked
 *           (as ring 3 runs with IF=0 under PVH); RT_SYS_IRQ_IF sets the
 *           IF bit of the frame the gate's HYPERVISOR_iret returns
 *           through, which sets the mask to !IF.
 *   idle    RT_SYS_IDLE: the word test with events masked, then
 *           SCHEDOP_block, which unmasks and blocks only if nothing is
 *           pending.
 *
 * No register operations (info.apic_regs false: micro/ skips them);
 * apic_eoi only acknowledges STORM (the hostile-guest test's manual EOI).
 * Other ports (console, xenstore, blkfront, netfront: polled, their
 * notifications arrive at vCPU 0) are only acknowledged.  Layouts are
 * Xen's public xen.h (shared_info, vcpu_info, vcpu_time_info), vcpu.h and
 * event_channel.h; the definitions are ours.
 */
#include "harness.h"
#include "pv.h"
#include "rt.h"
#include "xen.h"
#include "xen_io.h"

#define EVTCHNOP_BIND_VIRQ 1
#define EVTCHNOP_BIND_IPI 7
#define EVTCHNOP_UNMASK 9
#define VIRQ_TIMER 0
#define VCPUOP_SET_SINGLESHOT_TIMER 8
#define VCPUOP_STOP_PERIODIC_TIMER 7

/* The 2-level ABI: 64 words of 64 ports; the runtime binds few. */
#define EVT_PORTS 4096
#define EVT_WORDS (EVT_PORTS / 64)
#define EVT_SLOTS (1 << RT_IRQ_SLOTS_SHIFT)

struct xen_vcpu_time_info {
	uint32_t version, pad0;
	uint64_t tsc_timestamp, system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags, pad1[2];
};

struct xen_vcpu_info {
	uint8_t evtchn_upcall_pending, evtchn_upcall_mask;
	uint8_t pad[6];
	uint64_t evtchn_pending_sel;
	uint64_t cr2, arch_pad;
	struct xen_vcpu_time_info time;
};

struct xen_shared_info {
	struct xen_vcpu_info vcpu_info[32];
	uint64_t evtchn_pending[EVT_WORDS];
	uint64_t evtchn_mask[EVT_WORDS];
};

_Static_assert(sizeof(struct xen_vcpu_info) == 64, "xen.h vcpu_info");
_Static_assert(offsetof(struct xen_vcpu_info, time) == 32, "xen.h vcpu_info");
_Static_assert(offsetof(struct xen_shared_info, evtchn_pending) == 2048, "xen.h shared_info");
_Static_assert(offsetof(struct xen_shared_info, evtchn_mask) == 2560, "xen.h shared_info");

extern uint8_t hvb_pv_shared_info[4096]; /* pv.S, mapped by pv.c */
extern char hvb_ap_kstacks[];

#define SH ((volatile struct xen_shared_info *)(uintptr_t)hvb_pv_shared_info)

/* What each port is (written by its vCPU in cpu_init before any send can
 * reach it, read by that vCPU's upcall): slot + 1 (0: not ours), vCPU. */
static uint8_t port_slot[EVT_PORTS], port_cpu[EVT_PORTS];
/* The port of (receiving vCPU, slot), 0: none (port 0 is never bound). */
static uint32_t ports[RT_MAX_CPUS][EVT_SLOTS];
/* What a suspend must redo in the new domain (rt_xen_evtchn_resume):
 * the vCPUs whose ports cpu_init bound, the timer deadline each armed
 * (TSC, 0: none), cleared by the timer's upcall. */
static bool cpu_bound[RT_MAX_CPUS];
static uint64_t timer_armed[RT_MAX_CPUS];

static unsigned slot_of(unsigned vec)
{
	return vec - HVB_VEC_SELF;
}

/* ------------------------------------------------------------ kernel mode */

/* The vCPU whose kernel stack this runs on (as entry.S's handlers). */
static unsigned kstack_cpu(void)
{
	uintptr_t off = (uintptr_t)__builtin_frame_address(0) - (uintptr_t)hvb_ap_kstacks;

	if (off >= (uintptr_t)(RT_MAX_CPUS - 1) << RT_KSTACK_SHIFT)
		return 0;
	return 1 + (unsigned)(off >> RT_KSTACK_SHIFT);
}

static uint64_t kernel_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static void kernel_send(uint32_t port)
{
	struct {
		uint32_t port;
	} send = {port};

	if (port)
		rt_pv_kernel_hypercall(XEN_HC_EVENT_CHANNEL_OP, EVTCHNOP_SEND, (uintptr_t)&send);
}

static void handle_port(unsigned port, unsigned cpu, uint64_t tsc)
{
	volatile uint64_t *pending = &SH->evtchn_pending[port / 64];
	uint64_t bit = 1ull << (port % 64);
	unsigned slot, i;

	if (port >= EVT_PORTS)
		return;
	/* The pending bitmap is the domain's, not the vCPU's: a bit of
	 * another vCPU's port is that vCPU's to take (as Linux masks the
	 * word with its per-CPU port mask).  Clearing it here lost a PING
	 * sent to CPU 1 whenever CPU 0 took an upcall before CPU 1 did. */
	if (port_slot[port] && port_cpu[port] != cpu)
		return;
	if (!port_slot[port]) {
		__atomic_fetch_and(pending, ~bit, __ATOMIC_SEQ_CST); /* a polled frontend's */
		return;
	}
	slot = port_slot[port] - 1u;
	if (slot == slot_of(HVB_VEC_STORM))
		__atomic_fetch_or(&SH->evtchn_mask[port / 64], bit, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_and(pending, ~bit, __ATOMIC_SEQ_CST);
	i = (cpu << RT_IRQ_SLOTS_SHIFT) + slot;
	__atomic_store_n(&hvb_irq_stamps[i], tsc, __ATOMIC_RELAXED);
	__atomic_fetch_add(&hvb_irq_counts[i], 1, __ATOMIC_RELEASE);
	if (slot == slot_of(HVB_VEC_TIMER))
		timer_armed[cpu] = 0;
	if (slot == slot_of(HVB_VEC_PING))
		kernel_send(ports[hvb_ping_from[cpu] & (RT_MAX_CPUS - 1)][slot_of(HVB_VEC_PONG)]);
}

/* The 2-level demultiplexer (Xen's event_channel.h): the vCPU's selector
 * word names the words of evtchn_pending with bits for it; a masked bit
 * stays pending until its port is unmasked. */
void hvb_pv_evtchn_upcall(void)
{
	uint64_t tsc = kernel_rdtsc();
	unsigned cpu = kstack_cpu();
	volatile struct xen_vcpu_info *vi = &SH->vcpu_info[cpu];

	while (vi->evtchn_upcall_pending) {
		uint64_t sel;

		vi->evtchn_upcall_pending = 0;
		sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
		while (sel) {
			unsigned w = (unsigned)__builtin_ctzll(sel);
			uint64_t bits;

			sel &= sel - 1;
			bits = SH->evtchn_pending[w] & ~SH->evtchn_mask[w];
			while (bits) {
				unsigned b = (unsigned)__builtin_ctzll(bits);

				bits &= bits - 1;
				handle_port(w * 64 + b, cpu, tsc);
			}
		}
	}
}

/* ------------------------------------------------------------ user mode */

static long evtchn_op(unsigned cmd, void *op)
{
	return rt_xen_hypercall(XEN_HC_EVENT_CHANNEL_OP, cmd, (uintptr_t)op);
}

static long vcpu_op(unsigned cmd, unsigned cpu, void *arg)
{
	return rt_xen_hypercall4(XEN_HC_VCPU_OP, cmd, cpu, (uintptr_t)arg, 0);
}

static int evt_detect(uint32_t caps, const char *cmdline, struct rt_irq_info *info,
		      const char **why)
{
	(void)caps, (void)cmdline;
	if (!rt_pv()) {
		*why = "Xen event channels: not a PV guest";
		return -19;
	}
	info->mech = "Xen event channels";
	info->x2apic = false;
	return 0;
}

static void log_bind_failure(unsigned cpu, const char *op, long rc)
{
	char msg[HVB_TEXT_MAX], *p = msg, *end = msg + sizeof(msg) - 1;

	p = rt_put_str(p, end, "guest xen pv: cpu ");
	p = rt_put_dec(p, end, cpu);
	p = rt_put_str(p, end, ": ");
	p = rt_put_str(p, end, op);
	p = rt_put_str(p, end, " failed (-");
	p = rt_put_dec(p, end, (uint64_t)-rc);
	p = rt_put_str(p, end, "): that interrupt kind never arrives there");
	*p = '\0';
	rt_log(msg);
}

/* Take port for (cpu, slot): the table first, then unmask (Xen re-raises
 * what is pending, and a new port may start masked). */
static void own_port(unsigned cpu, unsigned slot, uint32_t port)
{
	struct {
		uint32_t port;
	} unmask = {port};

	if (port >= EVT_PORTS) {
		log_bind_failure(cpu, "a port beyond the 2-level ABI's 4096", -34);
		return;
	}
	port_cpu[port] = (uint8_t)cpu;
	__atomic_store_n(&port_slot[port], (uint8_t)(slot + 1), __ATOMIC_RELEASE);
	__atomic_store_n(&ports[cpu][slot], port, __ATOMIC_RELEASE);
	evtchn_op(EVTCHNOP_UNMASK, &unmask);
}

/* On the vCPU itself (smp.c): its IPI ports, VIRQ_TIMER, no periodic tick. */
static void evt_cpu_init(unsigned cpu)
{
	static const uint8_t ipi_vecs[] = { HVB_VEC_SELF, HVB_VEC_PING, HVB_VEC_PONG, HVB_VEC_WAKE,
					    HVB_VEC_STORM };
	struct {
		uint32_t virq, vcpu, port;
	} virq = {VIRQ_TIMER, cpu, 0};
	long rc;

	if ((rc = vcpu_op(VCPUOP_STOP_PERIODIC_TIMER, cpu, 0)))
		log_bind_failure(cpu, "VCPUOP_stop_periodic_timer", rc);
	for (unsigned i = 0; i < sizeof(ipi_vecs); i++) {
		struct {
			uint32_t vcpu, port;
		} ipi = {cpu, 0};

		if ((rc = evtchn_op(EVTCHNOP_BIND_IPI, &ipi)))
			log_bind_failure(cpu, "EVTCHNOP_bind_ipi", rc);
		else
			own_port(cpu, slot_of(ipi_vecs[i]), ipi.port);
	}
	if ((rc = evtchn_op(EVTCHNOP_BIND_VIRQ, &virq)))
		log_bind_failure(cpu, "EVTCHNOP_bind_virq(VIRQ_TIMER)", rc);
	else
		own_port(cpu, slot_of(HVB_VEC_TIMER), virq.port);
	cpu_bound[cpu] = true;
}

static void evt_send(unsigned cpu, unsigned self, unsigned vec)
{
	uint32_t port = cpu < RT_MAX_CPUS ? __atomic_load_n(&ports[cpu][slot_of(vec)], __ATOMIC_ACQUIRE)
					  : 0;

	(void)self;
	if (port)
		xen_evtchn_send(port);
}

static void evt_idle(const uint64_t *word, uint64_t seen)
{
	rt_sys(RT_SYS_IDLE, (uintptr_t)word, seen);
}

static void evt_enable(bool on)
{
	rt_sys(RT_SYS_IRQ_IF, on, 0);
}

static void evt_timer_open(uint64_t tsc_khz, struct rt_irq_info *info)
{
	(void)tsc_khz;
	info->timer = true;
	info->tsc_deadline = false;
	info->timer_note = "VCPUOP_set_singleshot_timer";
}

/* Xen system time (ns) at TSC value tsc, from this vCPU's time info
 * (version odd or changed: Xen was updating it, read again).  A TSC
 * before the info's stamp gives its system time: a past deadline. */
static uint64_t system_time_at(unsigned cpu, uint64_t tsc)
{
	volatile struct xen_vcpu_time_info *t = &SH->vcpu_info[cpu].time;
	uint64_t stamp, sys;
	uint32_t version, mul;
	int8_t shift;

	do {
		version = t->version;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		stamp = t->tsc_timestamp;
		sys = t->system_time;
		mul = t->tsc_to_system_mul;
		shift = t->tsc_shift;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((version & 1) || version != t->version);
	return pv_system_time_at(stamp, sys, mul, shift, tsc);
}

/* VIRQ_TIMER at TSC `deadline` on the calling vCPU (0 or past: at once). */
static void evt_timer_arm(uint64_t deadline)
{
	unsigned cpu = rt_cpu_self();
	struct {
		uint64_t timeout_abs_ns;
		uint32_t flags, pad;
	} t = {system_time_at(cpu, deadline), 0, 0};

	timer_armed[cpu] = deadline ? deadline : 1;
	vcpu_op(VCPUOP_SET_SINGLESHOT_TIMER, cpu, &t);
}

/*
 * A new domain (after a migration) has none of the old ports: what was
 * bound is forgotten and bound again as cpu_init did (restore masks
 * every port; own_port unmasks the new ones), and a timer still armed is
 * armed again (Xen's timers are not part of the saved state).  Called on
 * vCPU 0 with the others stopped: bind_ipi and bind_virq name the vCPU.
 */
unsigned rt_xen_evtchn_resume(void)
{
	unsigned n = 0;

	for (unsigned cpu = 0; cpu < RT_MAX_CPUS; cpu++)
		for (unsigned slot = 0; slot < EVT_SLOTS; slot++) {
			uint32_t port = ports[cpu][slot];

			if (!port)
				continue;
			__atomic_store_n(&port_slot[port], 0, __ATOMIC_RELEASE);
			ports[cpu][slot] = 0;
		}
	for (unsigned cpu = 0; cpu < RT_MAX_CPUS; cpu++) {
		if (!cpu_bound[cpu])
			continue;
		evt_cpu_init(cpu);
		for (unsigned slot = 0; slot < EVT_SLOTS; slot++)
			n += ports[cpu][slot] != 0;
		if (timer_armed[cpu] && cpu == rt_cpu_self())
			evt_timer_arm(timer_armed[cpu]);
	}
	return n;
}

/* rt_apic_eoi: acknowledge this vCPU's STORM (clear its pending bit, then
 * unmask it) so the next STORM is delivered again. */
static void evt_storm_ack(void)
{
	uint32_t port = ports[rt_cpu_self()][slot_of(HVB_VEC_STORM)];
	struct {
		uint32_t port;
	} unmask = {port};

	if (!port)
		return;
	__atomic_fetch_and(&SH->evtchn_pending[port / 64], ~(1ull << (port % 64)), __ATOMIC_SEQ_CST);
	evtchn_op(EVTCHNOP_UNMASK, &unmask);
}

/* rt_irq_state: the port of vec on this vCPU, its bits, the vCPU's flags. */
static size_t evt_state(char *buf, size_t len, size_t at, unsigned vec)
{
	unsigned cpu = rt_cpu_self();
	uint32_t port = cpu < RT_MAX_CPUS ? ports[cpu][slot_of(vec)] : 0;
	uint64_t bit = 1ull << (port % 64);

	at = rt_text_str(buf, len, at, "port ");
	at = rt_text_dec(buf, len, at, port);
	if (!port)
		return rt_text_str(buf, len, at, " (not bound)");
	at = rt_text_str(buf, len, at, " pending ");
	at = rt_text_dec(buf, len, at, (SH->evtchn_pending[port / 64] & bit) != 0);
	at = rt_text_str(buf, len, at, " masked ");
	at = rt_text_dec(buf, len, at, (SH->evtchn_mask[port / 64] & bit) != 0);
	at = rt_text_str(buf, len, at, " upcall pending ");
	at = rt_text_dec(buf, len, at, SH->vcpu_info[cpu].evtchn_upcall_pending);
	at = rt_text_str(buf, len, at, " mask ");
	return rt_text_dec(buf, len, at, SH->vcpu_info[cpu].evtchn_upcall_mask);
}

static long evt_cpu_id(unsigned cpu)
{
	(void)cpu;
	return -1; /* no APIC ID: the vCPU index is the name */
}

const struct rt_irq_ops rt_xen_evtchn_irq_ops = {
	.detect = evt_detect,
	.cpu_init = evt_cpu_init,
	.send = evt_send,
	.idle = evt_idle,
	.enable = evt_enable,
	.timer_open = evt_timer_open,
	.timer_arm = evt_timer_arm,
	.apic_eoi = evt_storm_ack,
	.cpu_id = evt_cpu_id,
	.state = evt_state,
};
