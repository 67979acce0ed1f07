/*
 * Workload model and the rt_* API a workload body may use.
 *
 * A workload is a struct hvb_workload placed in the "hvb_workloads" linker
 * section with HVB_WORKLOAD(); the harness (workloads/harness.c) finds every
 * descriptor between __start_hvb_workloads and __stop_hvb_workloads, natively
 * and in the guest alike.
 *
 * Workload sources include only this header (and <stdint.h>, <stddef.h>,
 * <stdbool.h>): they are compiled ONCE with WORKLOAD_CFLAGS and the same
 * object files are linked into the native hvbench binary and into the guest
 * image, so native and virtual runs execute identical instructions.  The
 * rt_* functions below are implemented twice: hosted (workloads/native/) and
 * freestanding in the guest (workloads/rt/).
 *
 * Measurement, as in kvm-unit-tests x86/vmexit.c: the harness calls run(ctx,
 * n) which must perform exactly n operations; it calibrates n so that one
 * batch lasts about the time goal, warms up, then times `batches` batches per
 * repetition with serialized TSC reads.  From the per-batch times it derives
 * the metrics of the descriptor's kind (see enum hvb_kind).
 */
#ifndef HVB_WORKLOAD_H
#define HVB_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvb/abi.h"

struct hvb_ctx;

/* What a workload's operation count means, and hence which metrics it yields. */
enum hvb_kind {
	/* Latency-like: ns_per_op and cycles_per_op (lower is better), with
	 * ns_per_op.p50/.p90/.p99 over the batches of a repetition. */
	HVB_KIND_TIME_PER_OP = 0,
	/* Bandwidth: bandwidth in MB/s (10^6 bytes/s, higher is better) computed
	 * from bytes_per_op; plus ns_per_op. */
	HVB_KIND_BANDWIDTH = 1,
	/* Throughput: ops_per_s (higher is better); plus ns_per_op. */
	HVB_KIND_RATE = 2,
};

/*
 * The metric that stands for a workload of this kind wherever one number
 * per workload is shown (the run summary, compare's verdict counts, the
 * report's overhead tables).  Decided here only: `hvbench run` writes it
 * into meta.csv as primary.<workload> (results/FORMAT.md), and every reader
 * takes it from there.
 */
static inline const char *hvb_kind_primary(enum hvb_kind kind)
{
	switch (kind) {
	case HVB_KIND_BANDWIDTH:
		return "bandwidth";
	case HVB_KIND_RATE:
		return "ops_per_s";
	case HVB_KIND_TIME_PER_OP:
		break;
	}
	return "ns_per_op";
}

/* The boot time row every booting runner writes (workload "boot"). */
#define HVB_BOOT_WORKLOAD "boot"
#define HVB_BOOT_METRIC	  "boot_ms"

#define HVB_REQ_PARTS 2 /* parts of a request a workload may time (rt_req_part) */

/*
 * A workload parameter: an unsigned integer the user sets with `hvbench
 * run --param <short>.<name>=VALUE`, where <short> is the workload's name
 * after its family ("open-loop" for svc/open-loop).  The command checks
 * the key and the range (an error lists what the selected workloads
 * accept), records param.<short>.<name> in meta.csv (defaults included),
 * and passes the value to the harness as the word param.<short>.<name>=V;
 * the workload reads it with rt_param().  An unset parameter is `def`.
 */
#define HVB_PARAMS_MAX	   8
#define HVB_PARAM_NAME_MAX 32 /* <name> (a-z, 0-9, _), NUL included */
struct hvb_param {
	const char *name; /* NULL ends the list */
	uint64_t def, min, max;
	const char *unit; /* "req/s", "ns", "us", "requests" */
	const char *help; /* one line */
};

struct hvb_workload {
	const char *name;  /* stable "family/name", e.g. "mem/stream-triad" */
	const char *desc;  /* one line: what one operation is */
	enum hvb_kind kind;
	uint64_t bytes_per_op; /* HVB_KIND_BANDWIDTH: bytes moved per operation (may be set by setup) */

	/* May this workload run here?  false + *reason = recorded as skipped. NULL = always. */
	bool (*valid)(struct hvb_ctx *ctx, const char **reason);
	/* Allocate and initialise (untimed).  0 or a negative error; *reason on error. */
	int (*setup)(struct hvb_ctx *ctx, const char **reason);
	/* Perform exactly n operations (timed). */
	void (*run)(struct hvb_ctx *ctx, uint64_t n);
	/* Untimed hooks around each timed batch (NULL = none): e.g. fresh pages for first-touch. */
	void (*before_batch)(struct hvb_ctx *ctx, uint64_t n);
	void (*after_batch)(struct hvb_ctx *ctx, uint64_t n);
	void (*teardown)(struct hvb_ctx *ctx);

	uint64_t fixed_ops;   /* 0 = calibrate to the time goal; else n per batch */
	uint64_t max_ops;     /* upper bound on calibrated n (0 = none), e.g. fresh pages available */
	const char *note;     /* recorded with every sample, e.g. "native analogue: getppid()" (may be set by valid/setup) */
	/* HVB_CAP_* a guest must offer for this workload to run (data for the
	 * host: which capability probe a selection needs; valid() still
	 * decides in the guest, where a few mechanisms differ per platform). */
	uint32_t needs;
	bool per_request;     /* run() calls rt_req_time() per request (above) */
	/* per_request only: names of up to HVB_REQ_PARTS parts of a request
	 * that run() times with rt_req_part() (below), e.g. "deliver_ns";
	 * NULL = none. */
	const char *req_parts[HVB_REQ_PARTS];
	/* per_request only: name of a per-repetition count of requests that
	 * run() adds to with rt_req_count() (below), e.g. "late"; NULL = none. */
	const char *req_count;
	const char *req_count_unit; /* its unit; NULL = "requests" */
	bool counts_loss;     /* run() (or after_batch) calls rt_lost()/rt_reordered() (below) */
	/* Scales with CPUs: with rt_cpus() > 1 the harness also runs it on every
	 * CPU at once (one ctx per CPU, setup on each, batches started together
	 * by a barrier) and emits <metric>.smp<N> (aggregate over the N CPUs)
	 * and <metric>.smp<N>.per_cpu (their mean), beside the one-CPU metrics,
	 * which keep their meaning (results/FORMAT.md). */
	bool smp;
	/* Parameters (struct hvb_param above), up to HVB_PARAMS_MAX. */
	struct hvb_param params[HVB_PARAMS_MAX];
};

/* Per-run state handed to every hook.  `priv` belongs to the workload. */
struct hvb_ctx {
	const struct hvb_workload *w;
	void *priv;
	uint64_t bytes_per_op; /* copied from the descriptor; setup may change it */
	const char *note;      /* copied from the descriptor; valid/setup may change it */
	bool quick;            /* smoke run: smaller working sets are fine */
	uint32_t caps;         /* HVB_CAP_* of this environment */
	bool native;           /* running natively (not in a guest) */
	unsigned cpu;          /* the CPU this ctx runs on (smp workloads: one ctx per CPU) */
	/* Operations per batch: copied from the descriptor's fixed_ops; setup
	 * may set it (e.g. from a parameter), 0 = calibrate to the time goal. */
	uint64_t fixed_ops;
	uint64_t param[HVB_PARAMS_MAX]; /* the values of descriptor params[i] (rt_param) */
};

#define HVB_WORKLOAD(var)                                                              \
	static const struct hvb_workload *const hvb_workload_ptr_##var                 \
		__attribute__((section("hvb_workloads"), used, aligned(sizeof(void *)))) = &var

/* ---------------------------------------------------------------- timing */

/* TSC read ordered after all earlier instructions (start of a timed region). */
static inline uint64_t rt_tsc_begin(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

/* TSC read after all earlier instructions completed (end of a timed region). */
static inline uint64_t rt_tsc_end(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

/* TSC frequency in kHz (native: measured at start; guest: from the host). */
uint64_t rt_tsc_khz(void);

/* Keep the compiler from deleting a computed value or hoisting memory accesses. */
#define rt_keep(v) __asm__ volatile("" : : "g"(v) : "memory")
#define rt_barrier() __asm__ volatile("" ::: "memory")

/* ------------------------------------------------------------ memory */

/* Zeroed, `align`-aligned memory (align a power of two <= 2 MiB); NULL when
 * exhausted.  Freed with rt_free (sizes must match). */
void *rt_alloc(size_t bytes, size_t align);
void rt_free(void *p, size_t bytes);

/* Page-aligned memory never touched since it was obtained (first access faults
 * in the host: page fault natively, EPT/NPT violation in a VM).  NULL if none.
 * rt_fresh_release gives the backing back so the next rt_fresh_alloc faults again. */
void *rt_fresh_alloc(size_t bytes);
void rt_fresh_release(void *p, size_t bytes);

/* What pages back [p, p + bytes) of an rt_alloc/rt_fresh_alloc buffer, for
 * notes: natively what /proc/self/smaps shows (after the buffer was
 * touched), in a guest the page size of its page tables.  Never NULL. */
const char *rt_mem_page_note(const void *p, size_t bytes);

/* Bytes of memory available to workloads (for sizing working sets). */
uint64_t rt_mem_available(void);

/* ------------------------------------------------------------ misc */

void rt_memset(void *d, int c, size_t n);
void rt_memcpy(void *d, const void *s, size_t n);

/* Deterministic PRNG (xorshift64*): same sequence natively and in the guest. */
static inline uint64_t rt_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Diagnostic line to the host (not a result). */
void rt_log(const char *msg);

/* ------------------------------------------------------------ migration */
/*
 * A guest that must take part in its own migration (Xen PV: it suspends
 * itself when the toolstack asks) does so only in a workload that says
 * it expects one: rt_migrate_enable once (untimed setup), then
 * rt_migrate_point often (two loads when nothing is asked; the suspend
 * and resume, when asked, happen inside it).  Elsewhere both do nothing.
 */
void rt_migrate_enable(void);
void rt_migrate_point(void);

/* --------------------------------------------- exit primitives (micro/) */
/* Each performs the operation once; valid() must check rt_has() first. */

static inline void rt_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t rt_inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline void rt_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub)
			 : "memory");
}

/* Environment-specific operations (one implementation per environment). */
long rt_hypercall_null(void);   /* guest: null hypercall; native analogue: null syscall */
long rt_syscall_null(void);     /* guest: ring 3 -> ring 0 -> ring 3 round trip; native: null syscall */
long rt_gate_null(void);        /* guest only: empty call through the runtime's privileged (int3) gate */
const char *rt_hypercall_note(void); /* what rt_hypercall_null does here, for notes (NULL: nothing to add) */
uint64_t rt_msr_read(uint32_t msr);          /* guest only (ring 0 via the runtime) */
void rt_msr_write(uint32_t msr, uint64_t v); /* guest only */
void rt_halt_wake(void);        /* guest only: hlt until the next timer/wake event */
/* guest only, after rt_has(HVB_CAP_HLT): arm what wakes rt_halt_wake; 0 (*note: the
 * mechanism, NULL for the plain halt exit) or -errno with *why set */
int rt_halt_prepare(const char **note, const char **why);
volatile void *rt_mmio(uint64_t gpa); /* guest only: pointer to a device MMIO page */

/* ------------------------------------------------------------ block I/O (io/) */
/*
 * One block device per environment, the same calls everywhere, so io/
 * bodies are identical natively and in every guest; what differs is what
 * serves a request, which is what io/ measures:
 *   native        the run's disk file: pread/pwrite at depth 1, Linux AIO
 *                 (io_submit) deeper, fdatasync for FLUSH; O_DIRECT where
 *                 the file system allows (odirect=)
 *   hvm           (reference core, QEMU microvm) a ring-3 virtio-blk driver
 *                 on virtio-mmio (abi.h), polling the used ring
 *   xen-pvh/-pv   a ring-3 blkfront against dom0's blkback
 * valid() checks rt_has(HVB_CAP_BLK) first.  Sectors are 512 bytes.
 * Completion is polled: nothing here waits for an interrupt.
 */
#define RT_BLK_SECTOR	 512u
#define RT_BLK_MAX_DEPTH 32u	      /* outstanding requests a driver must allow */
#define RT_BLK_MAX_BYTES (1u << 20) /* bytes one request may move */

enum rt_blk_op { RT_BLK_READ = 0, RT_BLK_WRITE = 1, RT_BLK_FLUSH = 4 }; /* virtio's numbers */

struct rt_blk_info {
	uint64_t sectors;    /* capacity in RT_BLK_SECTOR units */
	unsigned max_depth;  /* requests that may be outstanding (1..RT_BLK_MAX_DEPTH) */
	uint32_t max_bytes;  /* largest request (a multiple of 4096, <= RT_BLK_MAX_BYTES) */
	bool flush;          /* RT_BLK_FLUSH reaches stable storage (else it is a no-op: say so) */
	const char *note;    /* what serves the requests, for sample notes, e.g.
			      * "virtio-blk mmio v2, polled used ring" */
};

/* Find and bring up the environment's block device (the first call; later
 * calls return the same info).  0, or -errno with *why set. */
int rt_blk_open(struct rt_blk_info *info, const char **why);
/* Request buffer: bytes a multiple of 4096, 4 KiB aligned, zeroed, usable
 * by the device (O_DIRECT-aligned natively, granted to the backend under
 * Xen); NULL when exhausted.  rt_blk_buf_free with the same size. */
void *rt_blk_buf_alloc(size_t bytes);
void rt_blk_buf_free(void *p, size_t bytes);
/* Queue one request, not yet visible to the device: READ/WRITE of `bytes`
 * (a multiple of RT_BLK_SECTOR, <= max_bytes) at `sector` from/to `buf`
 * (inside one rt_blk_buf_alloc buffer), or FLUSH (buf NULL, bytes 0).
 * 0; -EAGAIN when max_depth requests are outstanding; -EINVAL for a bad
 * argument (past the end, misaligned, too big). */
int rt_blk_submit(enum rt_blk_op op, uint64_t sector, void *buf, uint32_t bytes, uint64_t tag);
/* Make the queued requests visible and notify the device if it wants a
 * notification (it may not: event suppression, a polling backend). */
void rt_blk_kick(void);
/* Collect up to max completed requests without waiting: tags[i] as
 * submitted, status[i] 0 or -EIO.  Returns how many. */
unsigned rt_blk_poll(uint64_t *tags, int *status, unsigned max);

/* ------------------------------------------------------------ network (net/) */
/*
 * One Ethernet link per environment, the same calls everywhere, so net/
 * bodies are identical natively and in every guest; what differs is what
 * carries a frame, which is what net/ measures:
 *   native        AF_PACKET on the run's veth (netif=), whose other end is
 *                 the responder's, in hvbench's namespace
 *   hvm           (reference core, QEMU microvm) a ring-3 virtio-net driver
 *                 on virtio-mmio, polling the used rings
 *   xen-pvh/-pv   a ring-3 netfront against dom0's netback
 * Frames are whole Ethernet frames without FCS, built and checked by the
 * workload (hvb/netproto.h): no offloads, no virtio-net header visible
 * here.  valid() checks rt_has(HVB_CAP_NET) first.  Nothing here waits
 * for an interrupt.
 */
#define RT_NET_FRAME_MIN 14u   /* an Ethernet header */
#define RT_NET_FRAME_MAX 1514u /* HVB_NET_FRAME_MAX */

struct rt_net_info {
	uint8_t mac[6];		  /* ours (net.mac) */
	uint8_t peer_mac[6];	  /* the responder side's interface (net.peer_mac) */
	uint32_t ip, peer_ip;	  /* IPv4, host byte order (net.ip, net.peer_ip) */
	uint16_t port, peer_port; /* UDP (net.port, net.peer_port) */
	bool reflect;		  /* net.reflect=1: frames come back with addresses
				   * swapped, no responder (only ECHO is answered) */
	unsigned tx_depth;	  /* frames rt_net_send may queue before -EAGAIN */
	unsigned rx_depth;	  /* receive buffers the driver keeps posted */
	const char *note;	  /* what carries the frames, for sample notes, e.g.
				   * "virtio-net mmio v2, polled used rings" */
};

/* Find and bring up the environment's link (the first call; later calls
 * return the same info).  0, or -errno with *why set (no net.* words, no
 * device, the device refused). */
int rt_net_open(struct rt_net_info *info, const char **why);
/* Queue one frame of len bytes (RT_NET_FRAME_MIN..RT_NET_FRAME_MAX) for
 * sending; it is copied, so frame may be reused at once; not yet visible
 * to the device.  Frames whose sending completed are reclaimed here.  0;
 * -EAGAIN when tx_depth frames are queued or in flight (rt_net_kick, then
 * retry); -EINVAL for a bad length. */
int rt_net_send(const void *frame, uint32_t len);
/* Make the queued frames visible and notify the device if it wants it. */
void rt_net_kick(void);
/* Take the next received frame, if any, into buf (at most max bytes: a
 * longer frame is cut to max and still consumed) and post its buffer
 * again.  Returns the frame's length (before any cut), 0 if none has
 * arrived.  Never waits. */
uint32_t rt_net_recv(void *buf, uint32_t max);

struct rt_net_stats {
	uint64_t tx_frames; /* handed to the device */
	uint64_t tx_full;   /* rt_net_send calls refused with -EAGAIN */
	uint64_t rx_frames; /* taken by rt_net_recv */
	uint64_t rx_cut;    /* of those, longer than the caller's buffer */
};
/* The driver's counters since rt_net_open (zeros before it). */
void rt_net_stats(struct rt_net_stats *st);

/* ------------------------------------------------------------ loss (net/) */
/*
 * A workload whose descriptor sets counts_loss says, per batch, how many of
 * its n operations did not happen (a datagram lost in either direction, a
 * round trip that timed out) and how many arrived out of order; it may
 * call these in run() or in after_batch of the same batch.  The harness
 * counts delivered operations (n minus lost) for the kind's metrics
 * (ns_per_op, ops_per_s and bandwidth are per delivered operation), and
 * emits per repetition, over the timed batches: lost (datagrams, lower is
 * better), loss_pct (percent of the operations, lower is better) and
 * reordered (datagrams, lower is better), zeros included: a zero is a
 * measurement.  A batch that delivered nothing fails the cell (rt_fail).
 */
void rt_lost(struct hvb_ctx *ctx, uint64_t n);
void rt_reordered(struct hvb_ctx *ctx, uint64_t n);

/* ------------------------------------------------------------ per-request latency */
/*
 * A workload whose descriptor sets per_request times each request itself
 * (TSC cycles from submit to completion) and calls rt_req_time() once per
 * request inside run().  The harness keeps every value of the measured
 * batches of a repetition (calibration and warm-up are not kept; past
 * HVB_REQ_MAX values it counts the rest as dropped and says so in the
 * note) and emits, per repetition, over all of them: req_ns.p50, req_ns.p99,
 * req_ns.p999, req_ns.max (ns, lower is better), and ops_per_s (requests
 * per second over the timed batches) unless the kind already yields it.
 */
#define HVB_REQ_MAX (1u << 16)
void rt_req_time(struct hvb_ctx *ctx, uint64_t cycles);

/*
 * A part of a request the workload can time too (send -> the handler's
 * stamp inside a round trip; the host's share of a request), named by the
 * descriptor's req_parts[part] (a metric-safe word ending in "_ns"): one
 * call per request and part, beside its rt_req_time, kept like those, and
 * emitted per repetition as <name>.p50 and <name>.p99 (ns, lower is
 * better).  A part with no name is ignored.
 */
void rt_req_part(struct hvb_ctx *ctx, unsigned part, uint64_t cycles);

/*
 * A failure inside run() that the workload cannot carry on from (an I/O
 * request that completed with an error): the harness finishes the current
 * batch, emits no samples of that repetition, and ends the cell as failed
 * with `why` (static text).  The first call of a cell counts.
 */
void rt_fail(struct hvb_ctx *ctx, const char *why);

/*
 * A count of the repetition beside its request times (descriptor
 * req_count): rt_req_count adds n while a measured batch runs (calibration
 * and warm-up do not count); the harness emits the total per repetition as
 * the metric <req_count> (unit req_count_unit, "requests" by default; lower
 * is better), zero included.
 */
void rt_req_count(struct hvb_ctx *ctx, uint64_t n);

/* ------------------------------------------------------------ parameters */
/*
 * The value of the workload's parameter `name` (a descriptor params[]
 * entry) for this cell: the param.<short>.<name>= word, else its default.
 * The harness checked the word before valid() (a malformed or out-of-range
 * value fails the cell with the reason); a name the descriptor does not
 * declare is a bug in the workload: 0, and the cell fails saying so.
 */
uint64_t rt_param(struct hvb_ctx *ctx, const char *name);

/* ------------------------------------------------------------ waiting (svc/) */
/*
 * Native only: sleep until the TSC reaches `deadline` with
 * clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) (the distance converted
 * at rt_tsc_khz(), timer slack 1 ns), so an idle worker gives the CPU
 * away as a server does.  0 (also for a past deadline), or -ENOSYS in a
 * guest, which waits with its one-shot timer (rt_timer_arm + rt_irq_wait)
 * or spins.  It may return a little early or late: the caller reads the TSC.
 */
int rt_sleep_until(uint64_t deadline);

/* ------------------------------------------------------------ CPUs (SMP) */
/*
 * The CPUs of this environment: vcpus= of them (guest: vCPUs, each started
 * by the runtime at boot; native: worker threads pinned by the harness).
 * CPU 0 runs the harness; the others idle until given work: in a guest
 * with HVB_CAP_IRQ they halt with interrupts on and are woken by an IPI
 * (HVB_VEC_WAKE), otherwise they spin with `pause` (say so in notes).
 * Work runs in ring 3 (guest) with the same instructions as on CPU 0.
 */
unsigned rt_cpus(void);                 /* CPUs that run, >= 1 */
unsigned rt_cpu_self(void);             /* index of the calling CPU */
/* Run fn(arg, cpu) on CPU cpu (1..rt_cpus()-1), which must be idle: 0 or
 * -EINVAL (no such CPU) / -EBUSY (still running earlier work). */
int rt_cpu_start(unsigned cpu, void (*fn)(void *arg, unsigned cpu), void *arg);
/* Wait until CPU cpu finished its work (returns at once if idle). */
void rt_cpu_wait(unsigned cpu);
/* How the CPUs were started and idle, for notes ("core-started APs, idle in
 * hlt", "INIT-SIPI-SIPI", "VCPUOP_up", "native threads pinned to 0,1"). */
const char *rt_cpu_note(void);

/* ------------------------------------------------------------ interrupts (micro/) */
/*
 * What micro/ needs to measure interrupt costs on every platform.  Each
 * kind has one handler (ring 0 in a guest; a signal handler natively):
 * count it on the receiving CPU, stamp the TSC, EOI (except RT_IRQ_STORM),
 * return.  The mechanism differs per platform and is what is measured:
 *   hvm           LAPIC, x2APIC MSRs if the CPU has x2APIC, else xAPIC MMIO
 *                 (mapped user-accessible so ring-3 register accesses trap
 *                 like a guest kernel's would)
 *   xen-pvh       the emulated LAPIC (xAPIC/x2APIC) as hvm
 *   xen-pv        event channels: EVTCHNOP_bind_ipi, bind_virq(VIRQ_TIMER)
 *   native        analogues: signals between pinned threads (tgkill),
 *                 timerfd / POSIX timers, eventfd wakeups
 * rt_irq_info.mech says which ran; workloads copy it into their notes.
 * valid() checks rt_has(HVB_CAP_IRQ) (native: always present) first.
 */
enum rt_irq_kind {
	RT_IRQ_SELF = 0, /* HVB_VEC_SELF */
	RT_IRQ_PING,	 /* HVB_VEC_PING: answered with RT_IRQ_PONG to the sender */
	RT_IRQ_PONG,	 /* HVB_VEC_PONG */
	RT_IRQ_TIMER,	 /* HVB_VEC_TIMER */
	RT_IRQ_VIRQ,	 /* HVB_VEC_VIRQ (host-injected) */
	RT_IRQ_STORM,	 /* HVB_VEC_STORM: counted, not EOI'd (hostile-guest tests only) */
	RT_IRQ_KINDS
};

struct rt_irq_info {
	const char *mech;     /* "x2APIC", "xAPIC", "Xen event channels", "native: signals" */
	bool x2apic;	      /* register access through MSRs (else MMIO or none) */
	bool tsc_deadline;    /* rt_timer_arm uses the TSC-deadline MSR */
	bool timer;	      /* some one-shot timer exists (TSC-deadline, LAPIC, Xen) */
	bool apic_regs;	      /* rt_apic_read / rt_apic_eoi / rt_tpr_write exist here */
	bool virq, kick;      /* HVB_CAP_VIRQ / HVB_CAP_KICK (host-side stamps) */
	bool one_tsc;         /* HVB_CAP_ONE_TSC: host-side stamps compare with the guest's */
	const char *timer_note; /* "TSC-deadline", "LAPIC one-shot", "VCPUOP_set_singleshot_timer" */
};

/* Set up interrupt delivery on every CPU (the first call; later calls return
 * the same info).  0, or -errno with *why set. */
int rt_irq_open(struct rt_irq_info *info, const char **why);
/* Let interrupts in on the calling CPU while it runs workload code (guest:
 * RFLAGS.IF in ring 3; native: unblock the signals), or keep them out. */
void rt_irq_enable(bool on);
/* Handled so far on CPU cpu, and the TSC its handler stamped last. */
uint64_t rt_irq_count(unsigned cpu, enum rt_irq_kind k);
uint64_t rt_irq_stamp(unsigned cpu, enum rt_irq_kind k);
/* Send kind k (SELF, PING, STORM) to CPU cpu (rt_cpu_self() for a self-IPI). */
void rt_ipi_send(unsigned cpu, enum rt_irq_kind k);
/* Wait with interrupts on until count(self, k) exceeds `seen`, halting
 * (hlt / SCHEDOP_block / sigsuspend) rather than spinning if halt is true. */
void rt_irq_wait(enum rt_irq_kind k, uint64_t seen, bool halt);
/* A bounded halt: the caller armed the one-shot timer (rt_timer_arm) as a
 * backstop and read count(self, RT_IRQ_TIMER) into timer_seen first.
 * Halts (sti; hlt / SCHEDOP_block / sigsuspend) until count(self, k)
 * exceeds `seen` or the timer's count exceeds timer_seen; the test runs
 * with interrupts off (turned off for it and back on if they were on), so
 * neither arrival can slip in between the test and the halt.  True if k
 * arrived, false if only the backstop did (or there are no interrupts).
 * k must not be RT_IRQ_TIMER; the timer stays armed if k won. */
bool rt_irq_halt_or_timer(enum rt_irq_kind k, uint64_t seen, uint64_t timer_seen);
/* One read of an interrupt-controller register that traps (the LAPIC version
 * register), one EOI write with nothing in service, one TPR (CR8) write
 * (the priority class 0-15), one TPR (CR8) read. */
uint32_t rt_apic_read(void);
void rt_apic_eoi(void);
void rt_tpr_write(unsigned tpr);
unsigned rt_tpr_read(void);
/* For a failure text: the interrupt controller's state of kind k on the
 * calling CPU appended to buf at `at` (LAPIC: TPR, PPR, the vector's IRR and
 * ISR bits, the highest vector in service; Xen PV: the event port's pending
 * and mask bits and the vCPU's upcall flags; natively: whether the signal
 * is pending).  Returns the new end, as rt_text_str. */
size_t rt_irq_state(char *buf, size_t len, size_t at, enum rt_irq_kind k);
/* Arm the one-shot timer of the calling CPU to fire RT_IRQ_TIMER at TSC
 * `deadline` (already past: at once). */
void rt_timer_arm(uint64_t deadline);
/* The interrupt bench device (abi.h HVB_PORT_KICK): kick the host; with
 * inject, ask it to inject RT_IRQ_VIRQ on CPU cpu afterwards.  *host gets
 * the host's stamps for this kick once it served it (rt_kick waits for
 * that, up to a bound; -ETIMEDOUT then).  0 or -errno. */
struct rt_kick_stamps {
	uint64_t rx_tsc, inject_tsc;
};
int rt_kick(bool inject, unsigned cpu, struct rt_kick_stamps *host);

/* ------------------------------------------------------------ text (no libc) */
/* Append text, a decimal, or a 0x-hex number (no leading zeros) to the
 * NUL-terminated text ending at buf[at], inside buf[len], truncating;
 * returns the new end.  For notes and reasons a workload builds itself. */
size_t rt_text_str(char *buf, size_t len, size_t at, const char *s);
size_t rt_text_dec(char *buf, size_t len, size_t at, uint64_t v);
size_t rt_text_hex(char *buf, size_t len, size_t at, uint64_t v);

/* Capabilities of this environment (HVB_CAP_*). */
uint32_t rt_caps(void);

/* true if every capability in `need` is present; else false and *reason set. */
bool rt_has(uint32_t need, const char **reason);

#endif /* HVB_WORKLOAD_H */
